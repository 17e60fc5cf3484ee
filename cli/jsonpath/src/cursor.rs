//! A position in template text that only ever moves by whole characters, so slicing by it
//! can never split a UTF-8 sequence.

pub(crate) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str) -> Cursor<'a> {
        Cursor { text, pos: 0 }
    }

    pub(crate) fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("")
    }

    pub(crate) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(crate) fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// Consumes `prefix` if the text continues with it.
    pub(crate) fn eat(&mut self, prefix: &str) -> bool {
        if self.rest().starts_with(prefix) {
            self.pos += prefix.len();
            true
        } else {
            false
        }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn since(&self, start: usize) -> &'a str {
        self.text.get(start..self.pos).unwrap_or("")
    }

    /// Consumes the text up to and including the first `close` outside single or double quotes
    /// (inside them a backslash escapes the next character) and returns it without `close`;
    /// None when a newline or the end of the text comes first.
    pub(crate) fn until_unquoted(&mut self, close: char) -> Option<&'a str> {
        let start = self.pos;
        let mut quote: Option<char> = None;
        loop {
            let before = self.pos;
            match self.bump() {
                None | Some('\n') => return None,
                Some('\\') if quote.is_some() => {
                    self.bump();
                }
                Some(c) if Some(c) == quote => quote = None,
                Some(c @ ('"' | '\'')) if quote.is_none() => quote = Some(c),
                Some(c) if c == close && quote.is_none() => {
                    return Some(self.text.get(start..before).unwrap_or(""));
                }
                Some(_) => {}
            }
        }
    }
}
