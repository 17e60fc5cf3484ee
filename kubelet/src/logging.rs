//! Where the kubelet's own logs go. libcontainer forks container processes from the kubelet
//! and logs from inside them after their stdio has been replaced, so a subscriber writing to
//! fd 1 or 2 would print into the container's output. Writing to a duplicate of the original
//! stderr, at a descriptor number the container setup never touches, keeps them apart.

use std::fs::File;
use std::os::fd::AsFd;
use std::sync::Mutex;

/// A writer for `tracing_subscriber::fmt().with_writer(..)`; falls back to a plain stderr
/// handle if the descriptor cannot be duplicated.
pub fn stderr_writer() -> Mutex<File> {
    let dup = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(File::from);
    match dup {
        Ok(f) => Mutex::new(f),
        Err(_) => match File::options().append(true).open("/dev/null") {
            Ok(f) => Mutex::new(f),
            // Nothing else to write to: this process cannot open files at all.
            Err(_) => std::process::abort(),
        },
    }
}
