//! Progress lines for a person at a terminal: a green check per finished step, colour only
//! when stdout is a terminal and `NO_COLOR` is unset (https://no-color.org).

use std::io::IsTerminal;

pub struct Progress {
    color: bool,
}

impl Progress {
    pub fn stdout() -> Progress {
        Progress {
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn done(&self, what: &str) {
        println!("{} {what}", self.paint("32", "✓"));
    }

    pub fn waiting(&self, what: &str) {
        println!("{} {what}", self.paint("33", "…"));
    }

    pub fn failed(&self, what: &str) {
        println!("{} {what}", self.paint("31", "✗"));
    }

    pub fn heading(&self, what: &str) {
        println!("{}", self.paint("1", what));
    }
}
