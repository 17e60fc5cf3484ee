//! The per-container shim, and the one-shot exec helper: this same binary re-executed with a
//! hidden first argument (`maybe_run` dispatches before anything else starts).
//!
//! Why processes of their own: libcontainer clones the calling process to build a container,
//! and a clone of a multi-threaded process can inherit a lock another thread held at that
//! instant (allocator, logging) and hang forever — observed with 30 concurrent starts in the
//! kubelet. A freshly executed, single-threaded process has no such locks.
//!
//! The container shim (as conmon does for CRI-O) creates and starts the container, reports its
//! pid, then stays its parent: it writes the container's stdout/stderr as CRI log lines with
//! size rotation, reaps it and records the exit status in a file. It is detached from the
//! kubelet (own session), so a kubelet restart neither closes the container's pipes nor loses
//! its exit code.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::syscall::syscall::SyscallType;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::logs;
use crate::runtime::ExecRequest;
use crate::runtime::exit::ExitStatus;

pub const SHIM_ARG: &str = "__capstan-shim";
pub const EXEC_ARG: &str = "__capstan-exec";
/// Longer lines are split and marked partial (`P`), as CRI runtimes do.
const MAX_LINE: usize = 16 * 1024;
/// Output still arriving from a container's orphaned children after it exited is kept for
/// this long, then the shim leaves.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

/// Call first thing in `main` (before any thread exists) of every binary that runs a kubelet.
pub fn maybe_run() {
    let args: Vec<OsString> = std::env::args_os().collect();
    let code = match args.get(1).and_then(|a| a.to_str()) {
        Some(SHIM_ARG) => container_main(&args[2..]),
        Some(EXEC_ARG) => exec_main(&args[2..]),
        _ => return,
    };
    std::process::exit(code);
}

fn daemonize() {
    // SAFETY: called while this process has a single thread; the parent only _exits.
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

/// fd 3: the report pipe to the kubelet.
fn report() -> std::fs::File {
    // SAFETY: the kubelet placed the report pipe at fd 3 for this process alone.
    unsafe { std::fs::File::from_raw_fd(3) }
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from)
}

fn arg(args: &[OsString], i: usize) -> PathBuf {
    args.get(i).map(PathBuf::from).unwrap_or_default()
}

/// argv: STATE_ROOT ID BUNDLE LOG_PATH LOG_MAX_BYTES EXIT_FILE
fn container_main(args: &[OsString]) -> i32 {
    daemonize();
    let mut rep = report();
    let (root, id, bundle, log, exit_file) = (
        arg(args, 0),
        arg(args, 1),
        arg(args, 2),
        arg(args, 3),
        arg(args, 5),
    );
    let max: u64 = args
        .get(4)
        .and_then(|m| m.to_str())
        .and_then(|m| m.parse().ok())
        .unwrap_or(logs::DEFAULT_MAX_BYTES);
    let id = id.display().to_string();
    let sink = match Sink::open(log.clone(), max) {
        Ok(s) => Arc::new(Mutex::new(s)),
        Err(e) => {
            let _ = writeln!(rep, "error opening log {}: {e}", log.display());
            return 1;
        }
    };
    let started = (|| -> Result<(i32, OwnedFd, OwnedFd), String> {
        let (out_r, out_w) = pipe().map_err(|e| format!("pipe: {e}"))?;
        let (err_r, err_w) = pipe().map_err(|e| format!("pipe: {e}"))?;
        let stdin: OwnedFd = std::fs::File::open("/dev/null")
            .map_err(|e| e.to_string())?
            .into();
        let mut container = ContainerBuilder::new(id.clone(), SyscallType::default())
            .with_root_path(root)
            .map_err(|e| e.to_string())?
            .with_stdin(stdin)
            .with_stdout(out_w)
            .with_stderr(err_w)
            .as_init(bundle)
            .with_systemd(false)
            .with_detach(true)
            .build()
            .map_err(|e| format!("creating: {e}"))?;
        container.start().map_err(|e| format!("starting: {e}"))?;
        let pid = container
            .pid()
            .map(|p| p.as_raw())
            .ok_or("started without a pid")?;
        Ok((pid, out_r, err_r))
    })();
    let (pid, out_r, err_r) = match started {
        Ok(v) => v,
        Err(e) => {
            let _ = writeln!(rep, "error {e}");
            return 1;
        }
    };
    let _ = writeln!(rep, "pid {pid}");
    drop(rep);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    for (fd, stream) in [(out_r, "stdout"), (err_r, "stderr")] {
        let (sink, done) = (sink.clone(), done_tx.clone());
        std::thread::spawn(move || {
            pump(std::fs::File::from(fd), stream, sink);
            let _ = done.send(());
        });
    }
    drop(done_tx);
    let status = loop {
        match waitpid(Pid::from_raw(pid), None) {
            Ok(WaitStatus::Exited(_, c)) => break ExitStatus::Exited(c),
            Ok(WaitStatus::Signaled(_, s, _)) => break ExitStatus::Signaled(s as i32),
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break ExitStatus::Unknown,
        }
    };
    // The status first: the kubelet is waiting for it; the log drain can follow.
    write_exit(&exit_file, status);
    let deadline = std::time::Instant::now() + DRAIN_AFTER_EXIT;
    for _ in 0..2 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if done_rx.recv_timeout(left).is_err() {
            break;
        }
    }
    let _ = std::fs::write(logs::done_marker(&log), b"");
    0
}

fn write_exit(path: &Path, status: ExitStatus) {
    let text = match status {
        ExitStatus::Exited(c) => format!("exited {c}\n"),
        ExitStatus::Signaled(s) => format!("signaled {s}\n"),
        ExitStatus::Unknown => "unknown\n".to_string(),
    };
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, text).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

pub fn read_exit(path: &Path) -> Option<ExitStatus> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut parts = text.split_whitespace();
    match (parts.next()?, parts.next().and_then(|n| n.parse().ok())) {
        ("exited", Some(c)) => Some(ExitStatus::Exited(c)),
        ("signaled", Some(s)) => Some(ExitStatus::Signaled(s)),
        _ => Some(ExitStatus::Unknown),
    }
}

/// argv: STATE_ROOT ID REQUEST_JSON; fds 0-2 are the process's stdio, fd 3 the report pipe
/// ("pid N", then "exited N" / "signaled N").
fn exec_main(args: &[OsString]) -> i32 {
    let mut rep = report();
    let (root, id) = (arg(args, 0), arg(args, 1).display().to_string());
    let req: ExecRequest = match args
        .get(2)
        .and_then(|j| j.to_str())
        .map(serde_json::from_str)
    {
        Some(Ok(r)) => r,
        _ => {
            let _ = writeln!(rep, "error malformed exec request");
            return 1;
        }
    };
    // libcontainer dup2()s these onto 0-2 of the new process and then closes its copies: handing
    // it fds 0-2 themselves would close the very descriptors it just placed. Move them up.
    let moved = (|| -> std::io::Result<(OwnedFd, OwnedFd, OwnedFd)> {
        use std::os::fd::BorrowedFd;
        // SAFETY: fds 0-2 are open for the whole life of this process.
        let dup = |fd: i32| unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned();
        Ok((dup(0)?, dup(1)?, dup(2)?))
    })();
    let (i, o, e) = match moved {
        Ok(v) => v,
        Err(err) => {
            let _ = writeln!(rep, "error duplicating stdio: {err}");
            return 1;
        }
    };
    // Our own 0-2 must not keep the streams open once the process has ended.
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for fd in 0..3 {
            // SAFETY: dup2 onto our own standard descriptors.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
    let built = ContainerBuilder::new(id, SyscallType::default())
        .with_root_path(root)
        .map_err(|e| e.to_string())
        .and_then(|b| {
            b.with_stdin(i)
                .with_stdout(o)
                .with_stderr(e)
                .as_tenant()
                .with_container_args(req.args)
                .with_env(req.env)
                .with_cwd(req.cwd)
                .with_user(req.uid)
                .with_group(req.gid)
                .with_additional_gids(req.additional_gids)
                .with_detach(true)
                .build()
                .map_err(|e| e.to_string())
        });
    let pid = match built {
        Ok(p) => p.as_raw(),
        Err(e) => {
            let _ = writeln!(rep, "error {e}");
            return 1;
        }
    };
    let _ = writeln!(rep, "pid {pid}");
    let status = loop {
        match waitpid(Pid::from_raw(pid), None) {
            Ok(WaitStatus::Exited(_, c)) => break format!("exited {c}"),
            Ok(WaitStatus::Signaled(_, s, _)) => break format!("signaled {}", s as i32),
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break "unknown".into(),
        }
    };
    let _ = writeln!(rep, "{status}");
    0
}

/// Starts `binary` in one of the modes with the report pipe at fd 3; returns the child and
/// the read end of the report pipe.
pub fn spawn(
    binary: &Path,
    mode: &str,
    args: &[OsString],
    stdio: Option<crate::runtime::Stdio>,
) -> std::io::Result<(std::process::Child, std::fs::File)> {
    use std::os::unix::process::CommandExt;
    let (rep_r, rep_w) = pipe()?;
    let raw = rep_w.as_raw_fd();
    let mut cmd = std::process::Command::new(binary);
    cmd.arg(mode).args(args);
    match stdio {
        Some(s) => {
            cmd.stdin(std::process::Stdio::from(s.stdin))
                .stdout(std::process::Stdio::from(s.stdout))
                .stderr(std::process::Stdio::from(s.stderr));
        }
        None => {
            cmd.stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
        }
    }
    // SAFETY: dup2 is async-signal-safe; it only places the report pipe at fd 3.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(raw, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    drop(rep_w);
    Ok((child, std::fs::File::from(rep_r)))
}

/// Reads the "pid N" (or "error …") line.
pub fn read_pid(reader: &mut BufReader<std::fs::File>) -> Result<i32, String> {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) => Err("the runtime shim ended without reporting".into()),
        Ok(_) => {
            let line = line.trim();
            match line.strip_prefix("pid ") {
                Some(p) => p.parse().map_err(|_| format!("bad report {line:?}")),
                None => Err(line.strip_prefix("error ").unwrap_or(line).to_string()),
            }
        }
        Err(e) => Err(e.to_string()),
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
            std::fs::rename(&self.path, logs::rotated(&self.path))?;
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
        // On a write error (disk full) keep draining: a container must never block on its
        // stdout because its log cannot be written.
        if let Ok(mut s) = sink.lock() {
            let _ = s.write_line(stream, !complete, text);
        }
    }
}
