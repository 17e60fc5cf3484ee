//! VolumeZone / the node-affinity part of VolumeBinding for claims that are already bound:
//! a pod whose PersistentVolumeClaim is bound to a PersistentVolume with `spec.nodeAffinity`
//! (local volumes) or a zone label may only go where that volume can be reached. Unbound claims
//! are not judged here (Capstan has no volume binding controller yet; the kubelet reports
//! them).

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{NodeSelector, PersistentVolume, PersistentVolumeClaim};

use super::node_affinity::term_matches;
use crate::model::{NodeInfo, PodInfo};

const ZONE_LABELS: [&str; 2] = [
    "topology.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/zone",
];

/// What a bound volume demands of a node.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    pub required: Option<NodeSelector>,
    /// (zone label key, allowed zones) from the volume's own labels.
    pub zones: Vec<(String, Vec<String>)>,
}

impl Placement {
    pub fn of(pv: &PersistentVolume) -> Placement {
        let labels = pv.metadata.labels.clone().unwrap_or_default();
        Placement {
            required: pv
                .spec
                .as_ref()
                .and_then(|s| s.node_affinity.as_ref())
                .and_then(|a| a.required.clone()),
            zones: ZONE_LABELS
                .iter()
                .filter_map(|k| {
                    // Multi-zone volumes list their zones joined by "__".
                    labels
                        .get(*k)
                        .map(|v| (k.to_string(), v.split("__").map(str::to_string).collect()))
                })
                .collect(),
        }
    }
}

/// Claims (namespace/name → bound volume name) and volumes (name → placement).
#[derive(Debug, Default)]
pub struct Volumes {
    claims: HashMap<String, String>,
    volumes: HashMap<String, Placement>,
}

impl Volumes {
    pub fn upsert_claim(&mut self, pvc: &PersistentVolumeClaim) {
        let key = format!(
            "{}/{}",
            pvc.metadata.namespace.as_deref().unwrap_or_default(),
            pvc.metadata.name.as_deref().unwrap_or_default()
        );
        match pvc
            .spec
            .as_ref()
            .and_then(|s| s.volume_name.clone())
            .filter(|v| !v.is_empty())
        {
            Some(v) => {
                self.claims.insert(key, v);
            }
            None => {
                self.claims.remove(&key);
            }
        }
    }

    pub fn remove_claim(&mut self, namespace: &str, name: &str) {
        self.claims.remove(&format!("{namespace}/{name}"));
    }

    pub fn upsert_volume(&mut self, pv: &PersistentVolume) {
        self.volumes.insert(
            pv.metadata.name.clone().unwrap_or_default(),
            Placement::of(pv),
        );
    }

    pub fn remove_volume(&mut self, name: &str) {
        self.volumes.remove(name);
    }

    /// The placements of the pod's bound claims.
    pub fn for_pod(&self, pod: &PodInfo) -> Vec<Placement> {
        pod.pod
            .spec
            .iter()
            .flat_map(|s| s.volumes.iter().flatten())
            .filter_map(|v| v.persistent_volume_claim.as_ref())
            .filter_map(|c| {
                self.claims
                    .get(&format!("{}/{}", pod.namespace, c.claim_name))
            })
            .filter_map(|pv| self.volumes.get(pv).cloned())
            .collect()
    }
}

/// The reason `node` cannot reach one of the pod's volumes, if any.
pub fn filter(placements: &[Placement], node: &NodeInfo) -> Option<&'static str> {
    for p in placements {
        if let Some(sel) = &p.required {
            let ok = sel
                .node_selector_terms
                .iter()
                .any(|t| term_matches(t, node).unwrap_or(false));
            if !ok {
                return Some("node(s) had volume node affinity conflict");
            }
        }
        for (key, zones) in &p.zones {
            if !node
                .label(key)
                .is_some_and(|z| zones.iter().any(|a| a == z))
            {
                return Some("node(s) had no available volume zone");
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use k8s_openapi::api::core::v1::{Node, Pod};
    use serde_json::json;

    use super::*;

    fn node(name: &str, zone: &str) -> NodeInfo {
        let n: Node = serde_json::from_value(json!({"metadata": {"name": name,
            "labels": {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone}}}))
        .unwrap_or_else(|e| panic!("{e}"));
        NodeInfo::new(Arc::new(n))
    }

    #[test]
    fn bound_local_and_zonal_volumes_restrict_nodes() {
        let mut v = Volumes::default();
        let pvc: PersistentVolumeClaim = serde_json::from_value(json!({
            "metadata": {"name": "data", "namespace": "d"},
            "spec": {"volumeName": "pv-1"}}))
        .unwrap_or_else(|e| panic!("{e}"));
        v.upsert_claim(&pvc);
        let pv: PersistentVolume = serde_json::from_value(json!({
            "metadata": {"name": "pv-1", "labels": {"topology.kubernetes.io/zone": "a__b"}},
            "spec": {"nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1", "n3"]}]}]}}}}))
        .unwrap_or_else(|e| panic!("{e}"));
        v.upsert_volume(&pv);
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "d"},
            "spec": {"containers": [], "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "data"}}]}}))
        .unwrap_or_else(|e| panic!("{e}"));
        let pod = PodInfo::new(Arc::new(pod));
        let placements = v.for_pod(&pod);
        assert_eq!(placements.len(), 1);
        assert_eq!(filter(&placements, &node("n1", "a")), None);
        assert_eq!(
            filter(&placements, &node("n2", "a")),
            Some("node(s) had volume node affinity conflict")
        );
        assert_eq!(
            filter(&placements, &node("n3", "c")),
            Some("node(s) had no available volume zone")
        );
        // An unbound claim restricts nothing.
        v.remove_claim("d", "data");
        assert!(v.for_pod(&pod).is_empty());
    }
}
