//! The scheduler's view of the cluster: nodes with their placed pods and sums, plus *assumed*
//! pods — placed by this scheduler but not yet seen bound in a watch event — which count against
//! their node at once so two pods are never scheduled into the same free space.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::counts::MatchIndex;
use crate::model::{NodeInfo, Nodes, PodInfo};
use crate::plugins::interpod::{NamespaceLabels, has_affinity};

/// An assumed pod that no watch event confirms within this time is forgotten (its binding must
/// have failed in a way we did not see).
const ASSUME_TTL: Duration = Duration::from_secs(30);

#[derive(Default)]
pub struct Cache {
    pub nodes: Nodes,
    /// Placed pods (bound or assumed): key → (pod, node name).
    pods: HashMap<String, (Arc<PodInfo>, String)>,
    /// Pods per node name, including nodes not (yet) known.
    by_node: HashMap<String, HashSet<String>>,
    assumed: HashMap<String, Instant>,
    /// Placed pods that carry pod (anti-)affinity, for the symmetric affinity checks.
    pub with_affinity: HashSet<String>,
    /// Placed pods with preferred pod (anti-)affinity terms: the one symmetric check the index
    /// does not cover (rare, so scanned per cycle).
    with_preferred: HashSet<String>,
    /// Incremental match counts per topology domain (see `counts`).
    pub index: MatchIndex,
    pub ns_labels: NamespaceLabels,
    /// Where the next scheduling cycle starts looking (rotates like kube-scheduler).
    pub next_start: usize,
    /// PodDisruptionBudgets by namespace/name, for choosing preemption victims.
    pub pdbs: HashMap<String, Pdb>,
    /// Bound claims and their volumes' node constraints.
    pub volumes: crate::plugins::volumes::Volumes,
    /// How many nodes hold each image (ImageLocality's spread), kept as nodes change so a
    /// scheduling cycle never walks every node for it.
    image_nodes: crate::fasthash::FastMap<String, usize>,
    /// Service and controller selectors for the system default spread constraints.
    pub spread_defaults: crate::plugins::spread_defaults::SpreadDefaults,
}

/// What preemption needs of a PodDisruptionBudget.
#[derive(Debug, Clone)]
pub struct Pdb {
    pub namespace: String,
    pub selector: Option<LabelSelector>,
    /// `status.disruptionsAllowed`: evictions that keep the budget.
    pub allowed: i32,
}

impl Cache {
    pub fn upsert_pdb(&mut self, pdb: &PodDisruptionBudget) {
        let ns = pdb.metadata.namespace.clone().unwrap_or_default();
        let key = format!("{ns}/{}", pdb.metadata.name.clone().unwrap_or_default());
        self.pdbs.insert(
            key,
            Pdb {
                namespace: ns,
                selector: pdb.spec.as_ref().and_then(|s| s.selector.clone()),
                allowed: pdb
                    .status
                    .as_ref()
                    .map(|s| s.disruptions_allowed)
                    .unwrap_or(0),
            },
        );
    }

    pub fn remove_pdb(&mut self, namespace: &str, name: &str) {
        self.pdbs.remove(&format!("{namespace}/{name}"));
    }
}

fn count_images(counts: &mut crate::fasthash::FastMap<String, usize>, node: &NodeInfo, add: bool) {
    for image in node.images.keys() {
        if add {
            *counts.entry(image.clone()).or_default() += 1;
        } else if let Some(n) = counts.get_mut(image) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(image);
            }
        }
    }
}

fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

impl Cache {
    pub fn upsert_node(&mut self, node: Node) {
        let name = node.metadata.name.clone().unwrap_or_default();
        let node = Arc::new(node);
        match self.nodes.get_mut(&name) {
            Some(info) => {
                // Counts are kept per node label value; a relabelled node invalidates them.
                if info.labels() != node.metadata.labels.as_ref() {
                    self.index.invalidate();
                }
                count_images(&mut self.image_nodes, info, false);
                info.set_node(node);
                count_images(&mut self.image_nodes, info, true);
            }
            None => {
                self.index.invalidate();
                let mut info = NodeInfo::new(node);
                for key in self.by_node.get(&name).into_iter().flatten() {
                    if let Some((p, _)) = self.pods.get(key) {
                        info.add_pod(p.clone());
                    }
                }
                count_images(&mut self.image_nodes, &info, true);
                self.nodes.insert(name, info);
            }
        }
    }

    pub fn remove_node(&mut self, name: &str) {
        // Shifting keeps the others' order, so sampling's rotation stays fair.
        if let Some(info) = self.nodes.shift_remove(name) {
            count_images(&mut self.image_nodes, &info, false);
            self.index.invalidate();
        }
    }

    pub fn upsert_namespace(&mut self, ns: &Namespace) {
        let name = ns.metadata.name.clone().unwrap_or_default();
        self.ns_labels
            .insert(name, ns.metadata.labels.clone().unwrap_or_default());
    }

    /// Fraction of the known nodes that hold `image` (a normalized image name).
    pub fn image_spread(&self, image: &str) -> Option<f64> {
        if self.image_nodes.is_empty() {
            return None;
        }
        let have = self.image_nodes.get(image).copied().unwrap_or(0);
        Some(have as f64 / self.nodes.len().max(1) as f64)
    }

    pub fn remove_namespace(&mut self, name: &str) {
        self.ns_labels.remove(name);
    }

    fn place(&mut self, info: Arc<PodInfo>, node: &str) {
        self.remove_pod(&info.key);
        if has_affinity(&info.pod) {
            self.with_affinity.insert(info.key.clone());
            let t = &info.terms;
            if !(t.preferred_affinity.is_empty() && t.preferred_anti.is_empty()) {
                self.with_preferred.insert(info.key.clone());
            }
        }
        self.by_node
            .entry(node.to_string())
            .or_default()
            .insert(info.key.clone());
        if let Some(n) = self.nodes.get_mut(node) {
            n.add_pod(info.clone());
        }
        self.index.update(&info, self.nodes.get(node), 1);
        self.pods.insert(info.key.clone(), (info, node.to_string()));
    }

    /// A pod as seen in a watch event. Bound, non-terminal pods are placed on their node;
    /// anything else is not (or no longer) placed.
    pub fn upsert_pod(&mut self, pod: Arc<Pod>) {
        let info = PodInfo::new(pod.clone());
        match info.node_name().map(str::to_string) {
            Some(node) if !is_terminal(&pod) => {
                self.assumed.remove(&info.key);
                self.place(info, &node);
            }
            _ => {
                // Unbound: keep an assumed placement until the binding shows up.
                if !self.assumed.contains_key(&info.key) {
                    self.remove_pod(&info.key);
                }
            }
        }
    }

    pub fn remove_pod(&mut self, key: &str) {
        self.assumed.remove(key);
        self.with_affinity.remove(key);
        self.with_preferred.remove(key);
        if let Some((info, node)) = self.pods.remove(key) {
            self.index.update(&info, self.nodes.get(&node), -1);
            if let Some(set) = self.by_node.get_mut(&node) {
                set.remove(key);
                if set.is_empty() {
                    self.by_node.remove(&node);
                }
            }
            if let Some(n) = self.nodes.get_mut(&node) {
                n.remove_pod(key);
            }
        }
    }

    pub fn assume(&mut self, info: Arc<PodInfo>, node: &str) {
        let key = info.key.clone();
        self.place(info, node);
        self.assumed.insert(key, Instant::now());
    }

    /// Drops an assumed placement (binding failed).
    pub fn forget(&mut self, key: &str) {
        if self.assumed.contains_key(key) {
            self.remove_pod(key);
        }
    }

    pub fn is_assumed(&self, key: &str) -> bool {
        self.assumed.contains_key(key)
    }

    /// Forgets assumed pods whose binding was never confirmed.
    pub fn expire_assumed(&mut self) {
        let now = Instant::now();
        let expired: Vec<String> = self
            .assumed
            .iter()
            .filter(|(_, t)| now.duration_since(**t) > ASSUME_TTL)
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            tracing::warn!(pod = %key, "assumed pod expired without a confirmed binding");
            self.remove_pod(&key);
        }
    }

    /// Placed pods with pod (anti-)affinity, with their nodes.
    pub fn affinity_pods(&self) -> impl Iterator<Item = (&PodInfo, &NodeInfo)> {
        self.with_affinity.iter().filter_map(|k| {
            let (p, node) = self.pods.get(k)?;
            Some((p.as_ref(), self.nodes.get(node)?))
        })
    }

    /// Placed pods with preferred pod (anti-)affinity terms, with their nodes.
    pub fn preferred_pods(&self) -> impl Iterator<Item = (&PodInfo, &NodeInfo)> {
        self.with_preferred.iter().filter_map(|k| {
            let (p, node) = self.pods.get(k)?;
            Some((p.as_ref(), self.nodes.get(node)?))
        })
    }

    /// Readies the index for `matchers` and the anti-affinity terms; returns whether all of
    /// `matchers` could be indexed.
    pub fn ensure_index(&mut self, matchers: &[crate::counts::Matcher]) -> bool {
        self.index.ensure_anti(&self.nodes, &self.with_affinity);
        let mut all = true;
        for m in matchers {
            if m.skip_deleting {
                // Spread constraints also need their number of domains.
                self.index.ensure_domains(&m.topology_key, &self.nodes);
            }
            all &= self.index.ensure(m, &self.nodes).is_some();
        }
        all
    }

    pub fn placed(&self, key: &str) -> Option<&str> {
        self.pods.get(key).map(|(_, n)| n.as_str())
    }

    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }
}
