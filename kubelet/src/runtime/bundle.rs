//! The OCI runtime bundle of one container: `config.json` built the way a CRI runtime builds
//! it (containerd's default capability set, the runtime-spec default mounts and masked paths,
//! the pod's network namespace, cgroup limits), next to the overlay rootfs.
//!
//! Starts from oci-spec's defaults (serialised) so the mounts and masked paths stay the ones the
//! runtime spec recommends, and edits the JSON: the typed builders would triple the code.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// What containerd grants a non-privileged container.
pub const DEFAULT_CAPABILITIES: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability the kernel knows, for privileged containers.
pub const ALL_CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

#[derive(Debug, Clone, PartialEq)]
pub enum MountSource {
    /// A bind mount of a host path (a volume's directory or file).
    Bind(PathBuf),
    /// A fresh tmpfs, for `emptyDir.medium: Memory` without a shared directory.
    Tmpfs { size_bytes: Option<u64> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mount {
    pub destination: String,
    pub source: MountSource,
    pub readonly: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    pub cpu_shares: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub memory_limit: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
}

/// Everything the kubelet decided about one container run.
#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub user: User,
    pub hostname: String,
    pub rootfs: PathBuf,
    pub readonly_rootfs: bool,
    pub mounts: Vec<Mount>,
    /// The pod's network namespace, shared by all its containers.
    pub netns: Option<PathBuf>,
    pub cgroups_path: String,
    pub capabilities: Vec<String>,
    pub privileged: bool,
    pub no_new_privileges: bool,
    pub resources: Resources,
}

pub fn default_capabilities() -> Vec<String> {
    DEFAULT_CAPABILITIES.iter().map(|s| s.to_string()).collect()
}

/// Applies `securityContext.capabilities` to the default set; "ALL" works in both lists.
pub fn capabilities(add: &[String], drop: &[String]) -> Vec<String> {
    let norm = |c: &String| {
        let up = c.to_ascii_uppercase();
        if up.starts_with("CAP_") {
            up
        } else {
            format!("CAP_{up}")
        }
    };
    let mut caps: Vec<String> = if add.iter().any(|c| c.eq_ignore_ascii_case("ALL")) {
        ALL_CAPABILITIES.iter().map(|s| s.to_string()).collect()
    } else {
        let mut c = default_capabilities();
        for a in add.iter().map(norm) {
            if !c.contains(&a) {
                c.push(a);
            }
        }
        c
    };
    if drop.iter().any(|c| c.eq_ignore_ascii_case("ALL")) {
        let added: Vec<String> = add.iter().map(norm).collect();
        caps.retain(|c| added.contains(c));
    } else {
        let dropped: Vec<String> = drop.iter().map(norm).collect();
        caps.retain(|c| !dropped.contains(c));
    }
    caps
}

/// Containers inherit the kubelet's hard open-files limit (as with containerd): raising it
/// above that from inside libcontainer's intermediate process fails with EPERM.
fn nofile_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0;
    if ok { lim.rlim_max } else { 1024 }
}

pub fn config_json(spec: &ContainerSpec) -> Result<Value> {
    let mut v = serde_json::to_value(Spec::default())
        .map_err(|e| Error::Runtime(format!("default OCI spec: {e}")))?;
    let caps = if spec.privileged {
        ALL_CAPABILITIES.iter().map(|s| s.to_string()).collect()
    } else {
        spec.capabilities.clone()
    };
    v["root"] = json!({"path": spec.rootfs, "readonly": spec.readonly_rootfs});
    v["hostname"] = json!(spec.hostname);
    v["process"] = json!({
        "terminal": false,
        "user": {
            "uid": spec.user.uid,
            "gid": spec.user.gid,
            "additionalGids": spec.user.additional_gids,
        },
        "args": spec.args,
        "env": spec.env,
        "cwd": if spec.cwd.is_empty() { "/" } else { spec.cwd.as_str() },
        "capabilities": {
            "bounding": caps, "effective": caps, "permitted": caps,
        },
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": nofile_limit(), "soft": nofile_limit()}],
        "noNewPrivileges": spec.no_new_privileges && !spec.privileged,
    });
    let mut mounts = v["mounts"].as_array().cloned().unwrap_or_default();
    if spec.privileged {
        // Privileged containers see sysfs and cgroupfs writable, as with Docker.
        for m in mounts.iter_mut() {
            if let Some(opts) = m["options"].as_array_mut() {
                opts.retain(|o| o != "ro");
            }
        }
    }
    for m in &spec.mounts {
        mounts.push(match &m.source {
            MountSource::Bind(src) => {
                let mut opts = vec!["rbind", "rprivate"];
                if m.readonly {
                    opts.push("ro");
                }
                json!({"destination": m.destination, "type": "bind", "source": src, "options": opts})
            }
            MountSource::Tmpfs { size_bytes } => {
                let mut opts = vec![
                    "nosuid".to_string(),
                    "nodev".to_string(),
                    "mode=1777".to_string(),
                ];
                if let Some(size) = size_bytes {
                    opts.push(format!("size={size}"));
                }
                if m.readonly {
                    opts.push("ro".into());
                }
                json!({"destination": m.destination, "type": "tmpfs", "source": "tmpfs", "options": opts})
            }
        });
    }
    v["mounts"] = Value::Array(mounts);
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
        json!({"type": "cgroup"}),
    ];
    // No path means the host's network (hostNetwork pods): no network namespace, and the
    // host's UTS namespace so the hostname is the node's.
    match &spec.netns {
        Some(path) => namespaces.push(json!({"type": "network", "path": path})),
        None => {
            namespaces.retain(|n| n["type"] != "uts");
            if let Some(obj) = v.as_object_mut() {
                obj.remove("hostname");
            }
        }
    }
    let linux = &mut v["linux"];
    linux["namespaces"] = Value::Array(namespaces);
    linux["cgroupsPath"] = json!(spec.cgroups_path);
    // Built without libcontainer's libseccomp feature: say so by asking for no profile,
    // rather than having one silently ignored.
    if let Some(l) = linux.as_object_mut() {
        l.remove("seccomp");
    }
    let mut resources = json!({
        "devices": [{"allow": spec.privileged, "access": "rwm"}],
    });
    let mut cpu = serde_json::Map::new();
    if let Some(s) = spec.resources.cpu_shares {
        cpu.insert("shares".into(), json!(s));
    }
    if let Some(q) = spec.resources.cpu_quota {
        cpu.insert("quota".into(), json!(q));
        cpu.insert(
            "period".into(),
            json!(spec.resources.cpu_period.unwrap_or(100_000)),
        );
    }
    if !cpu.is_empty() {
        resources["cpu"] = Value::Object(cpu);
    }
    if let Some(limit) = spec.resources.memory_limit {
        // Swap equal to the limit means "no swap on top": the OOM killer fires at the limit.
        resources["memory"] = json!({"limit": limit, "swap": limit});
    }
    linux["resources"] = resources;
    if spec.privileged {
        linux["maskedPaths"] = json!([]);
        linux["readonlyPaths"] = json!([]);
    }
    Ok(v)
}

pub fn write(bundle: &Path, spec: &ContainerSpec) -> Result<()> {
    std::fs::create_dir_all(bundle).map_err(|e| Error::io(bundle, e))?;
    let config = config_json(spec)?;
    let path = bundle.join("config.json");
    let bytes = serde_json::to_vec(&config).map_err(|e| Error::Runtime(e.to_string()))?;
    std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_edits() {
        let c = capabilities(&["NET_ADMIN".into()], &["KILL".into()]);
        assert!(c.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(!c.contains(&"CAP_KILL".to_string()));
        let c = capabilities(&["CHOWN".into()], &["ALL".into()]);
        assert_eq!(c, vec!["CAP_CHOWN".to_string()]);
        assert_eq!(
            capabilities(&["ALL".into()], &[]).len(),
            ALL_CAPABILITIES.len()
        );
    }

    #[test]
    fn config_has_limits_netns_and_mounts() {
        let spec = ContainerSpec {
            args: vec!["sh".into()],
            netns: Some("/run/x".into()),
            cgroups_path: "/capstan/pod1/c".into(),
            resources: Resources {
                memory_limit: Some(64 << 20),
                cpu_shares: Some(512),
                cpu_quota: Some(50_000),
                cpu_period: None,
            },
            mounts: vec![Mount {
                destination: "/data".into(),
                source: MountSource::Bind("/tmp".into()),
                readonly: true,
            }],
            ..Default::default()
        };
        let v = config_json(&spec).unwrap();
        assert_eq!(v["linux"]["resources"]["memory"]["limit"], 64 << 20);
        assert_eq!(v["linux"]["resources"]["cpu"]["period"], 100_000);
        assert!(
            v["linux"]["namespaces"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["path"] == "/run/x")
        );
        let data = v["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["destination"] == "/data")
            .unwrap();
        assert!(data["options"].as_array().unwrap().contains(&json!("ro")));
        // The result must be a spec libcontainer accepts.
        let _: Spec = serde_json::from_value(v).unwrap();
    }
}
