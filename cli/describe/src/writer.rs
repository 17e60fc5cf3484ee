//! The text sink every layout writes into: indentation levels of two spaces, and tab-separated
//! cells aligned into columns when the text is finished.
//!
//! Alignment follows Go's `text/tabwriter` as kubectl configures it (minimum width 0, padding 2,
//! spaces), because the exact column widths are part of what users recognise in `kubectl
//! describe` output: a tab ends a cell, the text after a line's last tab belongs to no column, and
//! a column's width is set by the longest cell among the consecutive lines that have that column.
//! So `Name:\tfoo` lines line up with each other, while a line without tabs (a section title)
//! starts a fresh block.

use std::fmt::{Display, Write as _};

/// Cells are padded to the longest cell of their column block plus this many spaces.
const PADDING: usize = 2;

#[derive(Default)]
pub(crate) struct Writer {
    text: String,
    /// Levels added to every write, for sections kubectl prints through a nested prefix writer.
    base: usize,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Appends `text` after `level` indentation steps, without ending the line, so a caller can
    /// build a line from several pieces as kubectl's describers do.
    pub(crate) fn write(&mut self, level: usize, text: impl Display) {
        for _ in 0..self.base + level {
            self.text.push_str("  ");
        }
        let start = self.text.len();
        // Formatting into a String cannot fail.
        let _ = write!(self.text, "{text}");
        escape_terminal(&mut self.text, start);
    }

    /// Appends `text` after `level` indentation steps and ends the line.
    pub(crate) fn line(&mut self, level: usize, text: impl Display) {
        self.write(level, text);
        self.text.push('\n');
    }

    /// Runs `f` with every write indented `levels` further.
    pub(crate) fn nested(&mut self, levels: usize, f: impl FnOnce(&mut Self)) {
        self.base += levels;
        f(self);
        self.base -= levels;
    }

    /// The text with every column block aligned.
    pub(crate) fn finish(self) -> String {
        align(&self.text)
    }
}

/// Neutralises the characters that could drive the user's terminal, as kubectl does for every
/// describe write: an object's fields are user data and may hold escape sequences.
fn escape_terminal(text: &mut String, from: usize) {
    let Some(tail) = text.get(from..) else {
        return;
    };
    if !tail.contains(['\x1b', '\r']) {
        return;
    }
    let escaped = tail.replace('\x1b', "^[").replace('\r', "\\r");
    text.truncate(from);
    text.push_str(&escaped);
}

/// Pads every tab-terminated cell to the width of its column block.
fn align(text: &str) -> String {
    // A trailing newline ends the last line rather than starting an empty one.
    let body = text.strip_suffix('\n').unwrap_or(text);
    if body.is_empty() {
        return text.to_string();
    }
    let lines: Vec<Vec<&str>> = body.split('\n').map(|l| l.split('\t').collect()).collect();
    // Column c of line i exists when the line has more than c tab-terminated cells (all but its
    // last piece). A run of consecutive lines that all have column c shares one width; such a run
    // always lies inside a run for column c - 1, which is how nested tables keep outer alignment.
    let max_columns = lines.iter().map(|l| l.len() - 1).max().unwrap_or(0);
    let mut widths: Vec<Vec<usize>> = lines.iter().map(|l| vec![0; l.len() - 1]).collect();
    for column in 0..max_columns {
        let mut i = 0;
        while i < lines.len() {
            if lines[i].len() - 1 <= column {
                i += 1;
                continue;
            }
            let start = i;
            let mut width = 0;
            while i < lines.len() && lines[i].len() - 1 > column {
                width = width.max(lines[i][column].chars().count() + PADDING);
                i += 1;
            }
            for row in &mut widths[start..i] {
                row[column] = width;
            }
        }
    }
    let mut out = String::with_capacity(text.len() * 2);
    for (cells, widths) in lines.iter().zip(&widths) {
        for (cell, width) in cells.iter().zip(widths) {
            out.push_str(cell);
            let pad = width.saturating_sub(cell.chars().count());
            out.extend(std::iter::repeat_n(' ', pad));
        }
        if let Some(last) = cells.last() {
            out.push_str(last);
        }
        out.push('\n');
    }
    if !text.ends_with('\n') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(parts: &[(usize, &str)]) -> String {
        let mut w = Writer::new();
        for (level, text) in parts {
            w.write(*level, text);
        }
        w.finish()
    }

    #[test]
    fn aligns_consecutive_lines_only() {
        let out = render(&[
            (0, "Name:\tweb\n"),
            (0, "Namespace:\tdefault\n"),
            (0, "Containers:\n"),
            (1, "a:\tb\n"),
        ]);
        assert_eq!(
            out,
            "Name:       web\nNamespace:  default\nContainers:\n  a:  b\n"
        );
    }

    #[test]
    fn inner_columns_align_within_outer_blocks() {
        let out = render(&[
            (1, "Type\tReason\tAge\n"),
            (1, "----\t------\t---\n"),
            (1, "Normal\tScheduled\t5m\n"),
            (0, "Last:\tx\n"),
        ]);
        assert_eq!(
            out,
            "  Type    Reason     Age\n  ----    ------     ---\n  Normal  Scheduled  5m\nLast:     x\n"
        );
    }

    #[test]
    fn counts_characters_not_bytes_and_escapes_terminal_codes() {
        let out = render(&[(0, "é:\tx\n"), (0, "ab:\t\x1b[31mred\r\n")]);
        assert_eq!(out, "é:   x\nab:  ^[[31mred\\r\n");
    }

    #[test]
    fn empty_and_unterminated_text() {
        assert_eq!(Writer::new().finish(), "");
        assert_eq!(render(&[(0, "a\tb")]), "a  b");
        assert_eq!(render(&[(0, "\t\t\n")]), "    \n");
    }
}
