//! Waiting for a container's init process to end without a thread per container: a pidfd
//! becomes readable when the process exits. A container started by this kubelet process is
//! its child and is reaped here for its exit status; one adopted after a kubelet restart is
//! not, and its status is unknowable (`ExitStatus::Unknown`).

use std::os::fd::{FromRawFd, OwnedFd};

use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use tokio::io::unix::AsyncFd;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(i32),
    Unknown,
}

impl ExitStatus {
    /// The exit code Kubernetes shows: 128+n for a signal.
    pub fn code(self) -> Option<i32> {
        match self {
            ExitStatus::Exited(c) => Some(c),
            ExitStatus::Signaled(s) => Some(128 + s),
            ExitStatus::Unknown => None,
        }
    }
}

fn pidfd_open(pid: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: a plain syscall with integer arguments; the returned fd is owned by us.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn reap(pid: i32) -> Option<ExitStatus> {
    match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::Exited(_, code)) => Some(ExitStatus::Exited(code)),
        Ok(WaitStatus::Signaled(_, sig, _)) => Some(ExitStatus::Signaled(sig as i32)),
        Ok(_) => None,
        Err(_) => Some(ExitStatus::Unknown),
    }
}

/// Resolves when container `pid` has ended, with the status its shim recorded in
/// `exit_file` (the shim, not the kubelet, is the container's parent).
pub async fn wait_container(pid: i32, exit_file: &std::path::Path) -> ExitStatus {
    let _ = wait(pid).await;
    // The shim reaps the container and writes the file right after.
    for i in 0..400 {
        if let Some(s) = crate::shim::read_exit(exit_file) {
            return s;
        }
        // Usually there within a millisecond or two; back off if the machine is busy.
        let ms = if i < 50 { 1 } else { 10 };
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    ExitStatus::Unknown
}

/// Resolves when `pid` has ended.
pub async fn wait(pid: i32) -> ExitStatus {
    let fd = match pidfd_open(pid) {
        Ok(fd) => fd,
        // Already gone and reaped by someone else, or a zombie child we can still reap.
        Err(_) => return reap(pid).unwrap_or(ExitStatus::Unknown),
    };
    // SAFETY: the pidfd is owned by the AsyncFd for its whole life and never closed elsewhere.
    let Ok(afd) = (unsafe { AsyncFd::register(fd) }) else {
        return poll_wait(pid).await;
    };
    loop {
        match afd.readable().await {
            Ok(mut guard) => {
                guard.clear_ready();
                if let Some(s) = reap(pid) {
                    return s;
                }
                // Readable means exited; a child whose status isn't reapable yet is racing.
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                if let Some(s) = reap(pid) {
                    return s;
                }
                if !alive(pid) {
                    return ExitStatus::Unknown;
                }
            }
            Err(_) => return poll_wait(pid).await,
        }
    }
}

async fn poll_wait(pid: i32) -> ExitStatus {
    loop {
        if let Some(s) = reap(pid).filter(|s| *s != ExitStatus::Unknown) {
            return s;
        }
        if !alive(pid) {
            return ExitStatus::Unknown;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// True while `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}

/// The process start time in clock ticks since boot (field 22 of /proc/PID/stat): with the
/// pid it names a process uniquely, so an adopted pid reused by another process is noticed.
pub fn start_ticks(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    rest.split(' ').nth(19)?.parse().ok()
}
