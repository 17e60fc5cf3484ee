//! The few system calls std does not offer: mknod, xattrs, statvfs.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Creates a device node or FIFO. `file_type` is `libc::S_IFCHR`, `S_IFBLK` or `S_IFIFO`.
pub(crate) fn mknod(
    path: &Path,
    file_type: libc::mode_t,
    permissions: u32,
    major: u32,
    minor: u32,
) -> io::Result<()> {
    let path = c_path(path)?;
    let dev = libc::makedev(major, minor);
    // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
    let rc = unsafe { libc::mknod(path.as_ptr(), file_type | (permissions & 0o7777), dev) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// An overlayfs whiteout: a character device 0/0 that hides the same name in lower layers.
pub(crate) fn make_whiteout(path: &Path) -> io::Result<()> {
    mknod(path, libc::S_IFCHR, 0, 0, 0)
}

/// Sets an extended attribute on the path itself (not on a symlink's target).
pub(crate) fn set_xattr(path: &Path, name: &str, value: &[u8]) -> io::Result<()> {
    let path = c_path(path)?;
    let name = CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "xattr name contains NUL"))?;
    // SAFETY: both strings are NUL-terminated and the value pointer/length describe a live slice.
    let rc = unsafe {
        libc::lsetxattr(
            path.as_ptr(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
pub(crate) fn get_xattr(path: &Path, name: &str) -> io::Result<Option<Vec<u8>>> {
    let path = c_path(path)?;
    let name = CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "xattr name contains NUL"))?;
    let mut buffer = vec![0u8; 256];
    // SAFETY: the buffer pointer and length describe a live, writable allocation.
    let rc = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            name.as_ptr(),
            buffer.as_mut_ptr().cast(),
            buffer.len(),
        )
    };
    if rc >= 0 {
        buffer.truncate(rc as usize);
        return Ok(Some(buffer));
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::ENODATA) {
        Ok(None)
    } else {
        Err(error)
    }
}

/// Percent of the filesystem in use, computed as `df` does: used / (used + available to
/// unprivileged users), so the reserved blocks count as unavailable.
pub(crate) fn disk_usage_percent(path: &Path) -> io::Result<f64> {
    let path = c_path(path)?;
    // SAFETY: statvfs is plain old data; zeroed is a valid value for it.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `stats` is a valid out-pointer.
    let rc = unsafe { libc::statvfs(path.as_ptr(), &mut stats) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let used = stats.f_blocks.saturating_sub(stats.f_bfree) as f64;
    let available = stats.f_bavail as f64;
    if used + available <= 0.0 {
        return Ok(0.0);
    }
    Ok(used * 100.0 / (used + available))
}
