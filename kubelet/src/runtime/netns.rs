//! Pod network namespaces. Each pod gets a namespace of its own, pinned by a bind mount on a
//! file so it outlives every container (restarts keep the pod's network) and the kubelet
//! (restarts re-find it by path). Until CNI is plugged in it holds only a loopback that is up.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};

use crate::error::{Error, Result};

pub fn path_for(dir: &Path, pod_uid: &str) -> PathBuf {
    dir.join(pod_uid)
}

/// Creates (or keeps, if already pinned) the namespace at `path`.
pub fn ensure(path: &Path) -> Result<()> {
    if is_pinned(path) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let target = path.to_path_buf();
    // unshare() moves only the calling thread, so a throwaway thread does it and the
    // runtime's threads keep the host namespace.
    let joined = std::thread::spawn(move || -> Result<()> {
        unshare(CloneFlags::CLONE_NEWNET)
            .map_err(|e| Error::Runtime(format!("unshare(CLONE_NEWNET): {e}")))?;
        loopback_up()?;
        mount(
            Some("/proc/thread-self/ns/net"),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| Error::Runtime(format!("pinning netns at {}: {e}", target.display())))
    })
    .join();
    match joined {
        Ok(r) => r,
        Err(_) => Err(Error::Runtime("netns thread panicked".into())),
    }
}

pub fn is_pinned(path: &Path) -> bool {
    // A pinned namespace file is an nsfs inode; a plain leftover file is not.
    nix::sys::statfs::statfs(path)
        .map(|s| s.filesystem_type().0 == 0x6e73_6673)
        .unwrap_or(false)
}

pub fn remove(path: &Path) -> Result<()> {
    if is_pinned(path) {
        umount2(path, MntFlags::MNT_DETACH)
            .map_err(|e| Error::Runtime(format!("unmounting {}: {e}", path.display())))?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn loopback_up() -> Result<()> {
    let sock = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| Error::Runtime(format!("socket: {e}")))?;
    // SAFETY: ifreq is plain data; the ioctls read and write only within it.
    unsafe {
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) < 0 {
            return Err(Error::Runtime(format!(
                "SIOCGIFFLAGS lo: {}",
                std::io::Error::last_os_error()
            )));
        }
        req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) < 0 {
            return Err(Error::Runtime(format!(
                "SIOCSIFFLAGS lo: {}",
                std::io::Error::last_os_error()
            )));
        }
    }
    Ok(())
}

/// Runs `f` on a thread that has joined the namespace at `path` (for probes that connect to
/// the pod's own addresses).
pub fn run_in<T: Send + 'static>(path: &Path, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    std::thread::spawn(move || -> Result<T> {
        nix::sched::setns(&file, CloneFlags::CLONE_NEWNET)
            .map_err(|e| Error::Runtime(format!("setns: {e}")))?;
        Ok(f())
    })
    .join()
    .map_err(|_| Error::Runtime("netns thread panicked".into()))?
}
