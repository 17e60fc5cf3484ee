//! What every part of one kubelet shares: settings, the API client, the runtime, the image
//! store, the event recorder, the on-disk layout, and a view of its pods for the log/exec
//! server.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU16, Ordering};

use capstan_controllers::runtime::events::Recorder;
use capstan_image::ImageStore;
use kube::Client;

use crate::config::Config;
use crate::runtime::{Runtime, cgroups};

/// A running (or last) container of a pod, as the log/exec server needs it.
#[derive(Debug, Clone, Default)]
pub struct ContainerView {
    pub running_id: Option<String>,
    pub log_dir: PathBuf,
    /// Runs started so far: the current (or last) run's log is `attempts - 1`.
    pub attempts: u32,
    pub env: Vec<String>,
    /// The current run, for exec as the container's user in its working directory.
    pub run: Option<crate::pods::state::Run>,
}

#[derive(Debug, Clone, Default)]
pub struct PodView {
    pub uid: String,
    pub containers: HashMap<String, ContainerView>,
}

pub struct Context {
    pub config: Config,
    pub client: Client,
    pub runtime: Runtime,
    pub images: ImageStore,
    pub recorder: Recorder,
    pub cgroups: cgroups::Layout,
    pub shim: PathBuf,
    pub server_port: AtomicU16,
    pub registered: tokio::sync::Notify,
    pub admission: tokio::sync::Mutex<()>,
    /// (namespace, name) → the pod's containers.
    pub pods: RwLock<HashMap<(String, String), PodView>>,
    /// uid → the latest copy of every pod bound here, for admission and image GC.
    pub known: RwLock<HashMap<String, std::sync::Arc<k8s_openapi::api::core::v1::Pod>>>,
    pub network: crate::network::Network,
    /// Woken when the network becomes ready, so the node reports Ready at once.
    pub network_changed: tokio::sync::Notify,
}

impl Context {
    pub fn server_port(&self) -> u16 {
        self.server_port.load(Ordering::Relaxed)
    }

    pub fn pods_dir(&self) -> PathBuf {
        self.config.root_dir.join("pods")
    }

    pub fn pod_dir(&self, uid: &str) -> PathBuf {
        self.pods_dir().join(uid)
    }

    pub fn containers_dir(&self) -> PathBuf {
        self.config.root_dir.join("containers")
    }

    pub fn netns_dir(&self) -> PathBuf {
        self.config.root_dir.join("netns")
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.config.root_dir.join("logs")
    }

    pub fn pod_log_dir(&self, namespace: &str, name: &str, uid: &str) -> PathBuf {
        self.logs_dir().join(format!("{namespace}_{name}_{uid}"))
    }

    pub fn pod_cgroup(&self, uid: &str) -> String {
        format!("{}/pod{uid}", self.config.cgroup_root.trim_end_matches('/'))
    }

    pub fn view(&self, namespace: &str, name: &str) -> Option<PodView> {
        self.pods
            .read()
            .ok()?
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }

    pub fn set_view(&self, namespace: &str, name: &str, view: Option<PodView>) {
        if let Ok(mut m) = self.pods.write() {
            let key = (namespace.to_string(), name.to_string());
            match view {
                Some(v) => {
                    m.insert(key, v);
                }
                None => {
                    m.remove(&key);
                }
            }
        }
    }
}
