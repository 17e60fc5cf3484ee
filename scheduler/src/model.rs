//! What the scheduler knows about pods and nodes, pre-digested once per object: a pod's
//! effective requests (as Kubernetes computes them, init containers and overhead included),
//! its host ports and priority; a node's allocatable resources, its pods and their sums.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Container, Node, Pod};

use crate::quantity;

/// Scheduling resources: CPU in millicores, the rest in whole units.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    pub pods: i64,
    /// Extended resources (`example.com/gpu`, hugepages-…).
    pub scalar: BTreeMap<String, i64>,
}

impl Resources {
    fn set(&mut self, name: &str, value: i64) {
        match name {
            "cpu" => self.cpu = value,
            "memory" => self.memory = value,
            "ephemeral-storage" => self.ephemeral_storage = value,
            "pods" => self.pods = value,
            other => {
                self.scalar.insert(other.to_string(), value);
            }
        }
    }

    fn get(&self, name: &str) -> i64 {
        match name {
            "cpu" => self.cpu,
            "memory" => self.memory,
            "ephemeral-storage" => self.ephemeral_storage,
            "pods" => self.pods,
            other => self.scalar.get(other).copied().unwrap_or(0),
        }
    }

    fn names(&self) -> Vec<String> {
        let mut n: Vec<String> = ["cpu", "memory", "ephemeral-storage"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        n.extend(self.scalar.keys().cloned());
        n
    }

    pub fn from_map(
        map: &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    ) -> Self {
        let mut r = Resources::default();
        for (name, q) in map {
            let v = if name == "cpu" {
                quantity::milli(&q.0)
            } else {
                quantity::units(&q.0)
            };
            r.set(name, v.unwrap_or(0));
        }
        r
    }

    pub fn add(&mut self, other: &Resources) {
        self.cpu += other.cpu;
        self.memory += other.memory;
        self.ephemeral_storage += other.ephemeral_storage;
        self.pods += other.pods;
        for (k, v) in &other.scalar {
            *self.scalar.entry(k.clone()).or_default() += v;
        }
    }

    pub fn sub(&mut self, other: &Resources) {
        self.cpu -= other.cpu;
        self.memory -= other.memory;
        self.ephemeral_storage -= other.ephemeral_storage;
        self.pods -= other.pods;
        for (k, v) in &other.scalar {
            *self.scalar.entry(k.clone()).or_default() -= v;
        }
    }

    /// Element-wise maximum (init containers run one at a time).
    fn max_with(&mut self, other: &Resources) {
        for name in other.names() {
            let v = other.get(&name).max(self.get(&name));
            self.set(&name, v);
        }
    }
}

fn container_requests(c: &Container) -> Resources {
    let Some(res) = &c.resources else {
        return Resources::default();
    };
    // Limits stand in for absent requests, as API defaulting does.
    let mut r = res
        .limits
        .as_ref()
        .map(Resources::from_map)
        .unwrap_or_default();
    if let Some(req) = &res.requests {
        let req = Resources::from_map(req);
        for name in req.names() {
            r.set(&name, req.get(&name));
        }
    }
    r
}

/// Effective pod requests: max(sum of app containers (+ restartable init sidecars), each init
/// container plus the sidecars started before it) + overhead.
pub fn pod_requests(pod: &Pod) -> Resources {
    let Some(spec) = &pod.spec else {
        return Resources::default();
    };
    let mut sum = Resources::default();
    for c in &spec.containers {
        sum.add(&container_requests(c));
    }
    let mut init_max = Resources::default();
    let mut sidecars = Resources::default();
    for c in spec.init_containers.iter().flatten() {
        let r = container_requests(c);
        if c.restart_policy.as_deref() == Some("Always") {
            sidecars.add(&r);
            sum.add(&r);
        } else {
            let mut with_sidecars = r;
            with_sidecars.add(&sidecars);
            init_max.max_with(&with_sidecars);
        }
    }
    sum.max_with(&init_max);
    if let Some(overhead) = &spec.overhead {
        sum.add(&Resources::from_map(overhead));
    }
    sum.pods = 1;
    sum
}

/// A host port in use: (protocol, host IP, port). Host IP "0.0.0.0" means every address.
pub type HostPort = (String, String, i32);

pub fn host_ports(pod: &Pod) -> Vec<HostPort> {
    let Some(spec) = &pod.spec else {
        return Vec::new();
    };
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            let port = p.host_port.filter(|p| *p > 0)?;
            let ip = p
                .host_ip
                .clone()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "0.0.0.0".into());
            Some((p.protocol.clone().unwrap_or_else(|| "TCP".into()), ip, port))
        })
        .collect()
}

#[derive(Debug)]
pub struct PodInfo {
    pub pod: Arc<Pod>,
    pub key: String,
    pub uid: String,
    pub namespace: String,
    pub requests: Resources,
    pub host_ports: Vec<HostPort>,
    pub priority: i32,
    /// Parsed pod (anti-)affinity terms.
    pub terms: crate::plugins::interpod::PodTerms,
}

impl PodInfo {
    pub fn new(pod: Arc<Pod>) -> Arc<Self> {
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let key = format!(
            "{}/{}",
            namespace,
            pod.metadata.name.as_deref().unwrap_or_default()
        );
        Arc::new(PodInfo {
            key,
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            namespace,
            requests: pod_requests(&pod),
            host_ports: host_ports(&pod),
            priority: pod.spec.as_ref().and_then(|s| s.priority).unwrap_or(0),
            terms: crate::plugins::interpod::PodTerms::of(&pod),
            pod,
        })
    }

    pub fn labels(&self) -> Option<&BTreeMap<String, String>> {
        self.pod.metadata.labels.as_ref()
    }

    pub fn node_name(&self) -> Option<&str> {
        self.pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .filter(|n| !n.is_empty())
    }

    pub fn name(&self) -> &str {
        self.pod.metadata.name.as_deref().unwrap_or_default()
    }
}

/// Nodes by name, also addressable by position: a scheduling cycle walks them by index from a
/// rotating start (no hashing or key compare per node, and entries sit in one array).
pub type Nodes = indexmap::IndexMap<String, NodeInfo, crate::fasthash::FastBuild>;

/// Topology keys nearly every constraint uses: their values are kept apart from the label map
/// so the per-node filter does one length check instead of a B-tree walk of string compares.
const HOSTNAME: &str = "kubernetes.io/hostname";
const ZONE: &str = "topology.kubernetes.io/zone";

#[derive(Debug)]
pub struct NodeInfo {
    pub node: Arc<Node>,
    pub name: String,
    pub allocatable: Resources,
    pub requested: Resources,
    /// Requests with Kubernetes' non-zero defaults (100m CPU, 200Mi memory per container
    /// without requests), used for scoring so empty pods still spread.
    pub non_zero_requested: (i64, i64),
    pub pods: HashMap<String, Arc<PodInfo>>,
    pub used_ports: HashSet<HostPort>,
    /// Image name → size in bytes, from node status.
    pub images: HashMap<String, i64>,
    hostname: Option<String>,
    zone: Option<String>,
}

pub const DEFAULT_MILLI_CPU: i64 = 100;
pub const DEFAULT_MEMORY: i64 = 200 * 1024 * 1024;

pub fn non_zero(pod: &PodInfo) -> (i64, i64) {
    let containers = pod
        .pod
        .spec
        .as_ref()
        .map(|s| s.containers.len() as i64)
        .unwrap_or(1)
        .max(1);
    let cpu = if pod.requests.cpu == 0 {
        DEFAULT_MILLI_CPU * containers
    } else {
        pod.requests.cpu
    };
    let mem = if pod.requests.memory == 0 {
        DEFAULT_MEMORY * containers
    } else {
        pod.requests.memory
    };
    (cpu, mem)
}

impl NodeInfo {
    pub fn new(node: Arc<Node>) -> Self {
        let mut n = NodeInfo {
            name: node.metadata.name.clone().unwrap_or_default(),
            allocatable: Resources::default(),
            requested: Resources::default(),
            non_zero_requested: (0, 0),
            pods: HashMap::new(),
            used_ports: HashSet::new(),
            images: HashMap::new(),
            hostname: None,
            zone: None,
            node: node.clone(),
        };
        n.set_node(node);
        n
    }

    pub fn set_node(&mut self, node: Arc<Node>) {
        let status = node.status.as_ref();
        self.allocatable = status
            .and_then(|s| s.allocatable.as_ref().or(s.capacity.as_ref()))
            .map(Resources::from_map)
            .unwrap_or_default();
        self.images = status
            .and_then(|s| s.images.as_ref())
            .map(|imgs| {
                imgs.iter()
                    .flat_map(|i| {
                        let size = i.size_bytes.unwrap_or(0);
                        i.names.iter().flatten().map(move |n| (n.clone(), size))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let labels = node.metadata.labels.as_ref();
        self.hostname = labels.and_then(|l| l.get(HOSTNAME)).cloned();
        self.zone = labels.and_then(|l| l.get(ZONE)).cloned();
        self.node = node;
    }

    pub fn labels(&self) -> Option<&BTreeMap<String, String>> {
        self.node.metadata.labels.as_ref()
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        match key {
            HOSTNAME => return self.hostname.as_deref(),
            ZONE => return self.zone.as_deref(),
            _ => {}
        }
        self.labels().and_then(|l| l.get(key)).map(String::as_str)
    }

    pub fn add_pod(&mut self, pod: Arc<PodInfo>) {
        if let Some(old) = self.pods.insert(pod.key.clone(), pod.clone()) {
            self.account(&old, -1);
        }
        self.account(&pod, 1);
    }

    pub fn remove_pod(&mut self, key: &str) -> Option<Arc<PodInfo>> {
        let old = self.pods.remove(key)?;
        self.account(&old, -1);
        Some(old)
    }

    fn account(&mut self, pod: &PodInfo, sign: i64) {
        let nz = non_zero(pod);
        if sign > 0 {
            self.requested.add(&pod.requests);
            self.non_zero_requested.0 += nz.0;
            self.non_zero_requested.1 += nz.1;
            self.used_ports.extend(pod.host_ports.iter().cloned());
        } else {
            self.requested.sub(&pod.requests);
            self.non_zero_requested.0 -= nz.0;
            self.non_zero_requested.1 -= nz.1;
            for p in &pod.host_ports {
                self.used_ports.remove(p);
            }
            // Another pod may still hold the same port (it would not have fit, but be exact).
            for other in self.pods.values() {
                self.used_ports.extend(other.host_ports.iter().cloned());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).expect("pod")
    }

    #[test]
    fn effective_requests_follow_kubernetes_rules() {
        let p = pod(json!({"metadata": {"name": "p"}, "spec": {
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                {"name": "b", "resources": {"limits": {"cpu": "200m"}}},
            ],
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "1", "memory": "1Mi"}}}],
            "overhead": {"cpu": "10m"},
        }}));
        let r = pod_requests(&p);
        assert_eq!(r.cpu, 1010);
        assert_eq!(r.memory, 64 << 20);
        assert_eq!(r.pods, 1);
    }

    #[test]
    fn host_ports_default_protocol_and_ip() {
        let p = pod(json!({"metadata": {"name": "p"}, "spec": {"containers": [
            {"name": "a", "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81}]}
        ]}}));
        assert_eq!(
            host_ports(&p),
            vec![("TCP".to_string(), "0.0.0.0".to_string(), 8080)]
        );
    }
}
