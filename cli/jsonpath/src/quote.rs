//! Quoted text inside actions: `{"\n"}`, `{'\t'}`, filter operands like `"Ready"`.
//! Escapes follow Go string literals, which is what kubectl users write.

use crate::cursor::Cursor;

/// Splits `text` on the commas outside single or double quotes (a backslash escapes the
/// character after it) and, when `nested`, outside `[…]`.
pub(crate) fn split_commas(text: &str, nested: bool) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (c, quote) {
            ('\\', _) => escaped = true,
            (c, Some(q)) if c == q => quote = None,
            (_, Some(_)) => {}
            ('\'' | '"', None) => quote = Some(c),
            ('[', None) if nested => depth += 1,
            (']', None) if nested => depth = depth.saturating_sub(1),
            (',', None) if depth == 0 => {
                parts.push(text.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(text.get(start..).unwrap_or_default());
    parts
}

/// Reads a quoted string; the cursor is just past the opening `quote`.
pub(crate) fn parse_quoted(cur: &mut Cursor, quote: char) -> Result<String, String> {
    let mut out = String::new();
    loop {
        match cur.bump() {
            None | Some('\n') => return Err("unterminated quoted string".to_string()),
            Some(c) if c == quote => return Ok(out),
            Some('\\') => out.push(parse_escape(cur)?),
            Some(c) => out.push(c),
        }
    }
}

fn parse_escape(cur: &mut Cursor) -> Result<char, String> {
    let Some(c) = cur.bump() else {
        return Err("unterminated quoted string".to_string());
    };
    let decoded = match c {
        'a' => '\u{07}',
        'b' => '\u{08}',
        'f' => '\u{0c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\u{0b}',
        '\\' | '\'' | '"' => c,
        'x' => hex_char(cur, 2)?,
        'u' => hex_char(cur, 4)?,
        'U' => hex_char(cur, 8)?,
        '0'..='7' => octal_char(cur, c)?,
        other => {
            return Err(format!(
                "invalid escape sequence \\{other} in quoted string"
            ));
        }
    };
    Ok(decoded)
}

fn hex_char(cur: &mut Cursor, digits: usize) -> Result<char, String> {
    let mut value: u32 = 0;
    for _ in 0..digits {
        let digit = cur
            .bump()
            .and_then(|c| c.to_digit(16))
            .ok_or_else(|| "invalid hexadecimal escape in quoted string".to_string())?;
        value = value * 16 + digit;
    }
    char::from_u32(value)
        .ok_or_else(|| format!("invalid unicode code point {value:#x} in quoted string"))
}

/// Go's `\NNN`: exactly three octal digits, at most 0o377.
fn octal_char(cur: &mut Cursor, first: char) -> Result<char, String> {
    let mut value = first.to_digit(8).unwrap_or(0);
    for _ in 0..2 {
        let digit = cur
            .bump()
            .and_then(|c| c.to_digit(8))
            .ok_or_else(|| "invalid octal escape in quoted string".to_string())?;
        value = value * 8 + digit;
    }
    if value > 0o377 {
        return Err("octal escape value > 255 in quoted string".to_string());
    }
    char::from_u32(value).ok_or_else(|| "invalid octal escape in quoted string".to_string())
}
