//! Standard output for commands that print as they go: a reader that went away (`| head`)
//! ends the command quietly instead of a panic from `print!`.

use std::io::Write;

use super::CliError;

/// Writes and flushes `text`; a closed pipe exits 0, as kubectl does.
pub fn print(text: &str) -> Result<(), CliError> {
    if text.is_empty() {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(CliError::Input(format!("writing output: {e}"))),
    }
}
