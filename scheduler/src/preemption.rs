//! Preemption: when a pod fits nowhere, find the node where evicting the fewest, least
//! important lower-priority pods makes it fit (kube-scheduler's ordering: lowest highest-victim
//! priority, then smallest priority sum, then fewest victims).

use std::sync::Arc;

use crate::cache::Cache;
use crate::framework::{CycleState, filter};
use crate::model::{NodeInfo, PodInfo};

pub struct Candidate {
    pub node: String,
    pub victims: Vec<Arc<PodInfo>>,
}

fn may_preempt(pod: &PodInfo) -> bool {
    pod.pod
        .spec
        .as_ref()
        .and_then(|s| s.preemption_policy.as_deref())
        != Some("Never")
}

/// Node with `keep` as its only pods.
fn node_with(node: &NodeInfo, keep: &[Arc<PodInfo>]) -> NodeInfo {
    let mut n = NodeInfo::new(node.node.clone());
    for p in keep {
        n.add_pod(p.clone());
    }
    n
}

pub fn find(cache: &Cache, pod: &PodInfo, state: &CycleState) -> Option<Candidate> {
    if !may_preempt(pod) {
        return None;
    }
    let mut best: Option<(Candidate, (i32, i64, usize))> = None;
    for node in cache.nodes.values() {
        let (mut lower, higher): (Vec<Arc<PodInfo>>, Vec<Arc<PodInfo>>) = node
            .pods
            .values()
            .filter(|p| p.pod.metadata.deletion_timestamp.is_none())
            .cloned()
            .partition(|p| p.priority < pod.priority);
        if lower.is_empty() {
            continue;
        }
        if !filter(pod, &node_with(node, &higher), state).is_empty() {
            continue;
        }
        // Reprieve: give back as many victims as possible, most important first.
        lower.sort_by_key(|p| std::cmp::Reverse(p.priority));
        let mut kept = higher.clone();
        let mut victims = Vec::new();
        for p in lower {
            kept.push(p.clone());
            if !filter(pod, &node_with(node, &kept), state).is_empty() {
                kept.pop();
                victims.push(p);
            }
        }
        if victims.is_empty() {
            continue;
        }
        let key = (
            victims.iter().map(|v| v.priority).max().unwrap_or(0),
            victims.iter().map(|v| v.priority as i64).sum::<i64>(),
            victims.len(),
        );
        if best.as_ref().is_none_or(|(_, k)| key < *k) {
            best = Some((
                Candidate {
                    node: node.name.clone(),
                    victims,
                },
                key,
            ));
        }
    }
    best.map(|(c, _)| c)
}
