//! Container logs in the CRI format (`<RFC3339Nano> <stream> <P|F> <text>` per line), the
//! format every Kubernetes log tool reads. A small shim process per container writes them
//! (see `shim`), so log pipes outlive kubelet restarts; `reader` serves `kubectl logs`.

pub mod reader;

use std::path::{Path, PathBuf};

/// Default size at which a container's log file is rotated (the kubelet's default is 10 MiB).
pub const DEFAULT_MAX_BYTES: u64 = 10 << 20;

/// `<dir>/<attempt>.log`: one file per container run, so `--previous` is the attempt before.
pub fn path(dir: &Path, attempt: u32) -> PathBuf {
    dir.join(format!("{attempt}.log"))
}

/// Where a rotated file goes; one generation is kept.
pub fn rotated(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".1");
    PathBuf::from(p)
}

/// Written by the shim once both streams are closed: followers stop after it.
pub fn done_marker(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".done");
    PathBuf::from(p)
}

pub fn remove(path: &Path) {
    for p in [path.to_path_buf(), rotated(path), done_marker(path)] {
        let _ = std::fs::remove_file(p);
    }
}
