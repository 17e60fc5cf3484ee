//! Container root filesystems: the image's unpacked layers stacked read-only with overlayfs,
//! plus a writable upper dir of the container's own, so writes never leak between containers
//! or into the image store.

use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};

use crate::error::{Error, Result};

pub struct Rootfs {
    pub dir: PathBuf,
}

impl Rootfs {
    pub fn merged(&self) -> PathBuf {
        self.dir.join("merged")
    }
}

/// Mounts `layers` (bottom first) under `dir/merged`; idempotent for the same dir.
pub fn mount_overlay(dir: &Path, layers: &[PathBuf]) -> Result<Rootfs> {
    let rootfs = Rootfs {
        dir: dir.to_path_buf(),
    };
    let merged = rootfs.merged();
    if is_mountpoint(&merged) {
        return Ok(rootfs);
    }
    for sub in ["upper", "work", "merged"] {
        let p = dir.join(sub);
        std::fs::create_dir_all(&p).map_err(|e| Error::io(&p, e))?;
    }
    if layers.is_empty() {
        return Err(Error::Runtime("image has no layers".into()));
    }
    // overlayfs wants the top layer first.
    let lower: Vec<String> = layers
        .iter()
        .rev()
        .map(|l| l.display().to_string())
        .collect();
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        dir.join("upper").display(),
        dir.join("work").display()
    );
    mount(
        Some("overlay"),
        &merged,
        Some("overlay"),
        MsFlags::empty(),
        Some(options.as_str()),
    )
    .map_err(|e| Error::Runtime(format!("mounting overlay at {}: {e}", merged.display())))?;
    Ok(rootfs)
}

/// Unmounts everything below `dir` and removes it; a no-op when it is already gone.
pub fn remove(dir: &Path) -> Result<()> {
    for m in mounts_under(dir) {
        umount2(&m, MntFlags::MNT_DETACH)
            .map_err(|e| Error::Runtime(format!("unmounting {}: {e}", m.display())))?;
    }
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(dir, e)),
    }
}

/// True when `path` is the mount point of some mount (per /proc/self/mountinfo).
pub fn is_mountpoint(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let target = path.display().to_string();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|m| unescape(m) == target)
}

/// Mount points at or below `dir`, deepest first, for cleaning up after a crash.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(unescape(m)))
        .filter(|p| p.starts_with(dir))
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found.dedup();
    found
}

fn unescape(s: &str) -> String {
    // mountinfo escapes space, tab, newline and backslash as octal.
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}
