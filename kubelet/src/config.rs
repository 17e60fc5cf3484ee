//! The kubelet's settings: the `capstan-kubelet` flags, also used by `capstan up` to run
//! several kubelets in one process.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    pub node_name: String,
    pub root_dir: PathBuf,
    pub max_pods: u32,
    pub node_labels: BTreeMap<String, String>,
    /// `key[=value]:Effect` as kubelet's `--register-with-taints`.
    pub register_with_taints: Vec<serde_json::Value>,
    pub insecure_registries: Vec<String>,
    /// The address other components reach this node (and its log/exec server) on.
    pub node_ip: IpAddr,
    /// Port of the log/exec server; 0 picks a free one.
    pub port: u16,
    /// Parent of every pod cgroup of this kubelet.
    pub cgroup_root: String,
    pub image_gc_high_threshold: u8,
    pub image_gc_low_threshold: u8,
    pub image_gc_period: Duration,
    /// Images used more recently than this are never collected
    /// (`--minimum-image-ttl-duration`).
    pub image_minimum_gc_age: Duration,
    pub lease_duration_seconds: i32,
    pub status_update_period: Duration,
    /// The executable started as each container's log shim (this binary by default).
    pub shim_binary: Option<PathBuf>,
    pub log_max_bytes: u64,
    /// Memory held back from pods (`--system-reserved memory=`), in bytes.
    pub reserved_memory: u64,
    /// `--pod-cidr`: this node's pod range when no controller assigns one.
    pub pod_cidr: Option<String>,
    /// Where the CNI network configuration is read from (and the default one written).
    pub cni_conf_dir: PathBuf,
    pub cni_bin_dirs: Vec<PathBuf>,
    /// The network namespace the node's networking lives in; None is the kubelet's own.
    pub network_namespace: Option<PathBuf>,
    /// Nameserver written into pods' resolv.conf for dnsPolicy ClusterFirst.
    pub cluster_dns: Option<IpAddr>,
    pub cluster_domain: String,
    /// Run the node proxy and the cluster DNS for the node's network namespace (one
    /// kubelet per namespace should).
    pub serve_services: bool,
}

impl Config {
    pub fn new(node_name: &str, root_dir: PathBuf) -> Config {
        Config {
            node_name: node_name.to_string(),
            cni_conf_dir: root_dir.join("cni/net.d"),
            root_dir,
            max_pods: 110,
            node_labels: BTreeMap::new(),
            register_with_taints: Vec::new(),
            insecure_registries: Vec::new(),
            node_ip: IpAddr::from([127, 0, 0, 1]),
            port: 10250,
            cgroup_root: format!("/capstan/{node_name}"),
            image_gc_high_threshold: 85,
            image_gc_low_threshold: 80,
            image_gc_period: Duration::from_secs(60),
            image_minimum_gc_age: Duration::from_secs(120),
            lease_duration_seconds: 40,
            status_update_period: Duration::from_secs(10),
            shim_binary: None,
            log_max_bytes: crate::logs::DEFAULT_MAX_BYTES,
            reserved_memory: 100 << 20,
            pod_cidr: None,
            cni_bin_dirs: crate::network::cni::default_bin_dirs(),
            network_namespace: None,
            cluster_dns: Some(IpAddr::from([10, 96, 0, 10])),
            cluster_domain: "cluster.local".into(),
            serve_services: false,
        }
    }
}

/// Parses `key=value:Effect` / `key:Effect` into a Node taint.
pub fn parse_taint(s: &str) -> Result<serde_json::Value, String> {
    let (kv, effect) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("taint {s:?}: expected key[=value]:Effect"))?;
    if !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
        return Err(format!("taint {s:?}: unknown effect {effect:?}"));
    }
    let (key, value) = match kv.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (kv, None),
    };
    if key.is_empty() {
        return Err(format!("taint {s:?}: empty key"));
    }
    let mut t = serde_json::json!({"key": key, "effect": effect});
    if let Some(v) = value {
        t["value"] = serde_json::json!(v);
    }
    Ok(t)
}

/// Parses `a=b,c=d`.
pub fn parse_labels(s: &str) -> Result<BTreeMap<String, String>, String> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| format!("label {p:?}: expected key=value"))
        })
        .collect()
}
