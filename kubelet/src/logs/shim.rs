//! The log shim: a tiny process (this same binary, re-executed with a hidden first argument)
//! that reads a container's stdout (fd 0) and stderr (fd 3) pipes and appends CRI log lines,
//! rotating by size. It is detached from the kubelet (own session, reparented to init), so a
//! kubelet restart neither closes the container's pipes (which would SIGPIPE it) nor loses
//! output. It exits when both pipes reach end of file.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

const SHIM_ARG: &str = "__capstan-log-shim";
/// Longer lines are split and marked partial (`P`), as CRI runtimes do.
const MAX_LINE: usize = 16 * 1024;

/// Call first thing in `main` of every binary that runs a kubelet: when this process was
/// started as a log shim it does that job and exits instead of returning.
pub fn maybe_run() {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(std::ffi::OsStr::new(SHIM_ARG)) {
        return;
    }
    let (Some(path), Some(max)) = (args.next(), args.next()) else {
        std::process::exit(2);
    };
    let max: u64 = max
        .to_str()
        .and_then(|m| m.parse().ok())
        .unwrap_or(super::DEFAULT_MAX_BYTES);
    daemonize();
    let code = match run(PathBuf::from(path), max) {
        Ok(()) => 0,
        Err(_) => 1,
    };
    std::process::exit(code);
}

fn daemonize() {
    // SAFETY: called before any thread exists in this process; the parent only _exits.
    unsafe {
        match libc::fork() {
            -1 => {}
            0 => {
                libc::setsid();
            }
            _ => libc::_exit(0),
        }
    }
}

struct Sink {
    path: PathBuf,
    file: std::fs::File,
    size: u64,
    max: u64,
}

impl Sink {
    fn open(path: PathBuf, max: u64) -> std::io::Result<Sink> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        let size = file.metadata()?.len();
        Ok(Sink {
            path,
            file,
            size,
            max,
        })
    }

    fn write_line(&mut self, stream: &str, partial: bool, text: &[u8]) -> std::io::Result<()> {
        let ts = k8s_openapi::jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%S%.9fZ")
            .to_string();
        let tag = if partial { "P" } else { "F" };
        let mut line = Vec::with_capacity(ts.len() + text.len() + 12);
        line.extend_from_slice(ts.as_bytes());
        line.push(b' ');
        line.extend_from_slice(stream.as_bytes());
        line.push(b' ');
        line.extend_from_slice(tag.as_bytes());
        line.push(b' ');
        line.extend_from_slice(text);
        line.push(b'\n');
        if self.size > 0 && self.size + line.len() as u64 > self.max {
            std::fs::rename(&self.path, super::rotated(&self.path))?;
            self.file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            self.size = 0;
        }
        self.file.write_all(&line)?;
        self.size += line.len() as u64;
        Ok(())
    }
}

fn pump(input: impl Read, stream: &'static str, sink: Arc<Mutex<Sink>>) {
    let mut reader = BufReader::with_capacity(64 * 1024, input);
    let mut buf = Vec::with_capacity(MAX_LINE);
    loop {
        buf.clear();
        let n = match reader
            .by_ref()
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut buf)
        {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let complete = buf[n - 1] == b'\n';
        let text = if complete { &buf[..n - 1] } else { &buf[..] };
        let Ok(mut s) = sink.lock() else { return };
        if s.write_line(stream, !complete, text).is_err() {
            return;
        }
    }
}

fn run(path: PathBuf, max: u64) -> std::io::Result<()> {
    let sink = Arc::new(Mutex::new(Sink::open(path.clone(), max)?));
    // SAFETY: fds 0 and 3 were set up by `spawn` for this process alone.
    let (out, err) = unsafe { (std::fs::File::from_raw_fd(0), std::fs::File::from_raw_fd(3)) };
    let s2 = sink.clone();
    let t = std::thread::spawn(move || pump(err, "stderr", s2));
    pump(out, "stdout", sink);
    let _ = t.join();
    std::fs::write(super::done_marker(&path), b"")
}

/// Starts a shim writing `log_path`; returns the write ends for the container's stdout and
/// stderr.
pub fn spawn(binary: &Path, log_path: &Path, max_bytes: u64) -> Result<(OwnedFd, OwnedFd)> {
    if let Some(dir) = log_path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    super::remove(log_path);
    let (out_r, out_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::Runtime(format!("pipe: {e}")))?;
    let (err_r, err_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::Runtime(format!("pipe: {e}")))?;
    let err_raw = err_r.as_raw_fd();
    let mut cmd = Command::new(binary);
    cmd.arg(SHIM_ARG)
        .arg(log_path)
        .arg(max_bytes.to_string())
        .stdin(Stdio::from(out_r))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: dup2 is async-signal-safe; it only places the stderr pipe at fd 3 of the child.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || {
            if libc::dup2(err_raw, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::Runtime(format!("starting log shim {}: {e}", binary.display())))?;
    // The direct child only forks the real shim and exits at once.
    let _ = child.wait();
    drop(err_r);
    Ok((out_w, err_w))
}
