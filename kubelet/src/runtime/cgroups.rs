//! The cgroup side of containers that libcontainer does not do: finding a container's cgroup
//! directories on v1 (one per controller) or v2 (one unified), reading CPU/memory stats and the
//! OOM-kill counter, and removing the pod-level parents libcontainer leaves behind.

use std::path::{Path, PathBuf};

const CGROUP_ROOT: &str = "/sys/fs/cgroup";
const CGROUP2_MAGIC: i64 = 0x6367_7270;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    V1,
    V2,
}

pub fn detect() -> Layout {
    match nix::sys::statfs::statfs(CGROUP_ROOT) {
        Ok(s) if s.filesystem_type().0 == CGROUP2_MAGIC => Layout::V2,
        _ => Layout::V1,
    }
}

const V1_CONTROLLERS: [&str; 8] = [
    "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
];

fn rel(path: &str) -> &str {
    path.trim_start_matches('/')
}

/// Every directory that makes up the cgroup `path`.
pub fn dirs(layout: Layout, path: &str) -> Vec<PathBuf> {
    match layout {
        Layout::V2 => vec![Path::new(CGROUP_ROOT).join(rel(path))],
        Layout::V1 => V1_CONTROLLERS
            .iter()
            .map(|c| Path::new(CGROUP_ROOT).join(c).join(rel(path)))
            .collect(),
    }
}

fn read(path: PathBuf) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let mut parts = l.split_whitespace();
        (parts.next() == Some(key))
            .then(|| parts.next()?.parse().ok())
            .flatten()
    })
}

fn controller(layout: Layout, name: &str, path: &str) -> PathBuf {
    match layout {
        Layout::V2 => Path::new(CGROUP_ROOT).join(rel(path)),
        Layout::V1 => Path::new(CGROUP_ROOT).join(name).join(rel(path)),
    }
}

/// Times the kernel OOM-killed a process of this cgroup.
pub fn oom_kills(layout: Layout, path: &str) -> u64 {
    match layout {
        Layout::V1 => read(controller(layout, "memory", path).join("memory.oom_control"))
            .and_then(|t| keyed(&t, "oom_kill"))
            .unwrap_or(0),
        Layout::V2 => read(controller(layout, "memory", path).join("memory.events"))
            .and_then(|t| keyed(&t, "oom_kill"))
            .unwrap_or(0),
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub cpu_usage_nanos: u64,
    pub memory_usage_bytes: u64,
    /// Usage minus inactive file pages: what Kubernetes reports and evicts on.
    pub memory_working_set_bytes: u64,
}

pub fn stats(layout: Layout, path: &str) -> Option<Stats> {
    match layout {
        Layout::V1 => {
            let mem = controller(layout, "memory", path);
            let usage: u64 = read(mem.join("memory.usage_in_bytes"))?
                .trim()
                .parse()
                .ok()?;
            let inactive = read(mem.join("memory.stat"))
                .and_then(|t| keyed(&t, "total_inactive_file"))
                .unwrap_or(0);
            let cpu = read(controller(layout, "cpuacct", path).join("cpuacct.usage"))
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(0);
            Some(Stats {
                cpu_usage_nanos: cpu,
                memory_usage_bytes: usage,
                memory_working_set_bytes: usage.saturating_sub(inactive),
            })
        }
        Layout::V2 => {
            let dir = controller(layout, "", path);
            let usage: u64 = read(dir.join("memory.current"))?.trim().parse().ok()?;
            let inactive = read(dir.join("memory.stat"))
                .and_then(|t| keyed(&t, "inactive_file"))
                .unwrap_or(0);
            let cpu = read(dir.join("cpu.stat"))
                .and_then(|t| keyed(&t, "usage_usec"))
                .unwrap_or(0);
            Some(Stats {
                cpu_usage_nanos: cpu * 1000,
                memory_usage_bytes: usage,
                memory_working_set_bytes: usage.saturating_sub(inactive),
            })
        }
    }
}

/// Removes the cgroup `path` and everything below it that is empty, leaves first. Busy
/// cgroups (a process still inside) stay and are reported.
pub fn remove_tree(layout: Layout, path: &str) -> Vec<PathBuf> {
    let mut busy = Vec::new();
    for dir in dirs(layout, path) {
        remove_dir_tree(&dir, &mut busy);
    }
    busy
}

fn remove_dir_tree(dir: &Path, busy: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            remove_dir_tree(&e.path(), busy);
        }
    }
    if let Err(e) = std::fs::remove_dir(dir)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        busy.push(dir.to_path_buf());
    }
}

/// Child cgroup names of `path` (in the memory controller on v1), e.g. the pods of a node.
pub fn children(layout: Layout, path: &str) -> Vec<String> {
    let dir = controller(layout, "memory", path);
    std::fs::read_dir(dir)
        .map(|it| {
            it.flatten()
                .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default()
}
