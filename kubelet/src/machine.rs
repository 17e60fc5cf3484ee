//! Facts about the machine the node reports: CPUs, memory, disk, kernel and OS, ids.

use std::path::Path;

pub fn cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn meminfo(key: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        let kib: u64 = rest.trim().trim_end_matches(" kB").trim().parse().ok()?;
        Some(kib * 1024)
    })
}

pub fn memory_total() -> u64 {
    meminfo("MemTotal").unwrap_or(0)
}

pub fn memory_available() -> u64 {
    meminfo("MemAvailable").unwrap_or(0)
}

/// (total, available) bytes of the filesystem holding `path`.
pub fn disk(path: &Path) -> (u64, u64) {
    match nix::sys::statvfs::statvfs(path) {
        Ok(s) => {
            let frag = s.fragment_size();
            (s.blocks() * frag, s.blocks_available() * frag)
        }
        Err(_) => (0, 0),
    }
}

pub fn kernel_version() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub fn os_image() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_string())
            })
        })
        .unwrap_or_else(|| "Linux".into())
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

pub fn machine_id() -> String {
    read_trim("/etc/machine-id")
}

pub fn boot_id() -> String {
    read_trim("/proc/sys/kernel/random/boot_id")
}

/// (running processes, pid_max), for PIDPressure.
pub fn pids() -> (u64, u64) {
    let max = read_trim("/proc/sys/kernel/pid_max")
        .parse()
        .unwrap_or(32768);
    let running = std::fs::read_dir("/proc")
        .map(|it| {
            it.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                })
                .count() as u64
        })
        .unwrap_or(0);
    (running, max)
}
