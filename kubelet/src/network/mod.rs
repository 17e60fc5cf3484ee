//! Pod networking through CNI. The network configuration is the first `.conflist`/`.conf`
//! file (by name) in the conf dir, as containerd and CRI-O pick it, so Calico or Flannel can
//! replace the default; when the dir holds none and the node has a pod CIDR, the kubelet
//! writes `10-capstan.conflist`: a `bridge` per node (gateway, hairpin, no masquerade) with
//! `host-local` addresses from the node's pod CIDR, then `portmap` for hostPorts.
//!
//! Every ADD is cached (config, arguments, result) under `<root>/cni/cache/<pod uid>.json`
//! before the pod runs, so DEL gets exactly what ADD got, even after a kubelet restart or a
//! config change; the cache entry goes only after DEL succeeded.

pub mod cni;
pub mod nodens;

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use cni::{Attachment, Plugins};
pub use nodens::NodeNetns;

pub const DEFAULT_CONF_NAME: &str = "10-capstan.conflist";
pub const NETWORK_NAME: &str = "capstan";

/// Why pods cannot get a network yet; also the node's Ready message.
pub const NOT_READY: &str = "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized";

pub struct Network {
    conf_dir: PathBuf,
    cache_dir: PathBuf,
    ipam_dir: PathBuf,
    plugins: Plugins,
    bridge: String,
    pod_cidr: RwLock<Option<String>>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Cached {
    config: Value,
    attachment: Attachment,
    result: Option<Value>,
}

impl Network {
    pub fn new(
        root: &Path,
        conf_dir: PathBuf,
        bin_dirs: Vec<PathBuf>,
        node: NodeNetns,
        node_name: &str,
    ) -> Network {
        Network {
            conf_dir,
            cache_dir: root.join("cni/cache"),
            ipam_dir: root.join("cni/ipam"),
            plugins: Plugins { bin_dirs, node },
            bridge: bridge_name(node_name),
            pod_cidr: RwLock::new(None),
        }
    }

    pub fn node_netns(&self) -> &NodeNetns {
        &self.plugins.node
    }

    pub fn bridge(&self) -> &str {
        &self.bridge
    }

    pub fn pod_cidr(&self) -> Option<String> {
        self.pod_cidr.read().ok().and_then(|c| c.clone())
    }

    /// Records the node's pod CIDR and writes the default config if the dir has none (or
    /// only an older default for another range).
    pub fn set_pod_cidr(&self, cidr: &str) -> Result<(), String> {
        // Recorded only once the config is in place, so a failed write is tried again.
        self.write_default(cidr)?;
        if let Ok(mut c) = self.pod_cidr.write() {
            *c = Some(cidr.to_string());
        }
        Ok(())
    }

    fn write_default(&self, cidr: &str) -> Result<(), String> {
        let chosen = self.config_file();
        if chosen
            .as_ref()
            .is_some_and(|p| !p.ends_with(DEFAULT_CONF_NAME))
        {
            return Ok(());
        }
        let conf = default_conflist(&self.bridge, cidr, &self.ipam_dir);
        let target = self.conf_dir.join(DEFAULT_CONF_NAME);
        if std::fs::read(&target)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .is_some_and(|old| old == conf)
        {
            return Ok(());
        }
        std::fs::create_dir_all(&self.conf_dir).map_err(|e| e.to_string())?;
        let tmp = self.conf_dir.join(".capstan.conflist.tmp");
        let bytes = serde_json::to_vec_pretty(&conf).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &target).map_err(|e| format!("{}: {e}", target.display()))?;
        tracing::info!(cidr, file = %target.display(), "wrote the default CNI configuration");
        Ok(())
    }

    fn config_file(&self) -> Option<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.conf_dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| ["conflist", "conf", "json"].contains(&e))
            })
            .collect();
        files.sort();
        files.into_iter().next()
    }

    /// The network configuration list in force, or why there is none.
    pub fn config(&self) -> Result<Value, String> {
        let Some(file) = self.config_file() else {
            return Err(NOT_READY.to_string());
        };
        let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: invalid JSON: {e}", file.display()))?;
        // A single-plugin `.conf` is a list of one.
        let list = if v.get("plugins").is_some() {
            v
        } else {
            let mut plugin = v.clone();
            if let Some(o) = plugin.as_object_mut() {
                o.remove("name");
                o.remove("cniVersion");
            }
            json!({"cniVersion": v["cniVersion"], "name": v["name"], "plugins": [plugin]})
        };
        if list["plugins"].as_array().is_none_or(|p| p.is_empty()) {
            return Err(format!("{}: no plugins", file.display()));
        }
        for p in list["plugins"].as_array().into_iter().flatten() {
            let kind = p["type"].as_str().unwrap_or_default();
            if !cni::exists(&self.plugins.bin_dirs, kind) {
                return Err(format!(
                    "network plugin {kind:?} of {} is not installed in {:?}",
                    file.display(),
                    self.plugins.bin_dirs
                ));
            }
        }
        Ok(list)
    }

    pub fn ready(&self) -> bool {
        self.config().is_ok()
    }

    fn cache_path(&self, uid: &str) -> PathBuf {
        self.cache_dir.join(format!("{uid}.json"))
    }

    fn write_cache(&self, uid: &str, c: &Cached) -> Result<(), String> {
        std::fs::create_dir_all(&self.cache_dir).map_err(|e| e.to_string())?;
        let path = self.cache_path(uid);
        let tmp = path.with_extension("tmp");
        let bytes = serde_json::to_vec(c).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Attaches the pod's namespace to the network; returns the pod's IPs. On failure what
    /// was set up is deleted again, so a retry starts clean.
    pub async fn add(&self, pod: &Pod, netns: &Path) -> Result<Vec<String>, String> {
        let list = self.config()?;
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let attachment = attachment(pod, netns);
        // Cached before ADD: a crash half way still leaves what DEL needs.
        let mut cached = Cached {
            config: list.clone(),
            attachment,
            result: None,
        };
        self.write_cache(&uid, &cached)?;
        match self.plugins.add(&list, &cached.attachment).await {
            Ok(result) => {
                let ips = cni::result_ips(&result);
                cached.result = Some(result);
                self.write_cache(&uid, &cached)?;
                if ips.is_empty() {
                    return Err("the network plugins returned no IP address".into());
                }
                Ok(ips)
            }
            Err(e) => {
                if let Err(d) = self.plugins.del(&list, &cached.attachment, None).await {
                    tracing::warn!(pod = %uid, error = %d, "cleaning up after a failed CNI ADD");
                }
                Err(e)
            }
        }
    }

    /// CHECK of an existing attachment (after a kubelet restart).
    pub async fn check(&self, uid: &str) -> Result<(), String> {
        let c = self.load(uid)?;
        match &c.result {
            Some(r) => self.plugins.check(&c.config, &c.attachment, r).await,
            None => Err("no cached CNI result".into()),
        }
    }

    fn load(&self, uid: &str) -> Result<Cached, String> {
        let path = self.cache_path(uid);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn has_attachment(&self, uid: &str) -> bool {
        self.cache_path(uid).exists()
    }

    /// Detaches the pod (nothing to do if it never got attached); the cache entry goes
    /// only when every plugin's DEL succeeded.
    pub async fn del(&self, uid: &str) -> Result<(), String> {
        let c = match self.load(uid) {
            Ok(c) => c,
            Err(_) if !self.cache_path(uid).exists() => return Ok(()),
            Err(e) => return Err(e),
        };
        self.plugins
            .del(&c.config, &c.attachment, c.result.as_ref())
            .await?;
        let _ = std::fs::remove_file(self.cache_path(uid));
        Ok(())
    }

    /// Pod uids with a cached attachment (for cleaning up after pods deleted while down).
    pub fn attached(&self) -> Vec<String> {
        std::fs::read_dir(&self.cache_dir)
            .map(|it| {
                it.flatten()
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter_map(|n| n.strip_suffix(".json").map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn attachment(pod: &Pod, netns: &Path) -> Attachment {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let mut caps = serde_json::Map::new();
    let ports: Vec<Value> = pod
        .spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            let host = p.host_port.filter(|h| *h > 0)?;
            let mut m = json!({
                "hostPort": host,
                "containerPort": p.container_port,
                "protocol": p.protocol.as_deref().unwrap_or("TCP").to_lowercase(),
            });
            if let Some(ip) = p.host_ip.as_ref().filter(|i| !i.is_empty()) {
                m["hostIP"] = json!(ip);
            }
            Some(m)
        })
        .collect();
    if !ports.is_empty() {
        caps.insert("portMappings".into(), Value::Array(ports));
    }
    Attachment {
        container_id: uid.clone(),
        netns: netns.to_path_buf(),
        ifname: "eth0".into(),
        args: format!(
            "IgnoreUnknown=1;K8S_POD_NAMESPACE={ns};K8S_POD_NAME={name};K8S_POD_INFRA_CONTAINER_ID={uid};K8S_POD_UID={uid}"
        ),
        capability_args: caps,
    }
}

/// Interface names are at most 15 bytes; node names are not, so the bridge is named by a
/// hash of the node name (stable across restarts, distinct per node sharing a namespace).
pub fn bridge_name(node: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in node.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    format!("cbr{h:08x}")
}

pub fn default_conflist(bridge: &str, cidr: &str, ipam_dir: &Path) -> Value {
    json!({
        "cniVersion": "1.0.0",
        "name": NETWORK_NAME,
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": true,
                "ipMasq": false,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": cidr}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": ipam_dir,
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": true}},
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_names_fit_and_differ() {
        let a = bridge_name("node-1");
        assert!(a.len() <= 15);
        assert_ne!(a, bridge_name("node-2"));
        assert_eq!(a, bridge_name("node-1"));
    }

    #[test]
    fn default_config_is_written_once_and_yields_to_others() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let net = Network::new(
            dir.path(),
            dir.path().join("net.d"),
            vec![PathBuf::from("/nonexistent")],
            NodeNetns::default(),
            "n1",
        );
        assert!(net.config().is_err());
        net.set_pod_cidr("10.244.1.0/24")
            .unwrap_or_else(|e| panic!("{e}"));
        let written = dir.path().join("net.d").join(DEFAULT_CONF_NAME);
        assert!(written.exists());
        // The plugins are not installed in the fake bin dir, so the config is not usable.
        let err = net.config().err().unwrap_or_default();
        assert!(err.contains("not installed"), "{err}");
        // A user's config sorting first wins and the default is left alone.
        std::fs::write(
            dir.path().join("net.d/05-user.conf"),
            r#"{"cniVersion":"1.0.0","name":"u","type":"ptp"}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            net.config_file(),
            Some(dir.path().join("net.d/05-user.conf"))
        );
    }
}
