//! Preemption: when a pod fits nowhere, find the node where evicting the fewest, least
//! important lower-priority pods makes it fit (kube-scheduler's ordering: fewest
//! PodDisruptionBudget violations, then lowest highest-victim priority, then smallest priority
//! sum, then fewest victims). As kube-scheduler does, victims whose eviction would break a
//! budget are the first to be given back when the pod fits without them.

use std::sync::Arc;

use crate::cache::{Cache, Pdb};
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

fn budget_covers(b: &Pdb, pod: &PodInfo) -> bool {
    b.namespace == pod.namespace
        && crate::plugins::selector::matches(b.selector.as_ref(), pod.labels()).unwrap_or(false)
}

fn covered(budgets: &[Pdb], pod: &PodInfo) -> bool {
    budgets.iter().any(|b| budget_covers(b, pod))
}

/// Spends one allowed disruption of every budget covering `pod`; true when one of them had
/// none left (evicting it breaks that budget).
fn take_disruption(budgets: &mut [Pdb], pod: &PodInfo) -> bool {
    let mut violates = false;
    for b in budgets.iter_mut().filter(|b| budget_covers(b, pod)) {
        b.allowed -= 1;
        violates |= b.allowed < 0;
    }
    violates
}

pub fn find(cache: &Cache, pod: &PodInfo, state: &CycleState) -> Option<Candidate> {
    if !may_preempt(pod) {
        return None;
    }
    let mut best: Option<(Candidate, (usize, i32, i64, usize))> = None;
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
        // Reprieve: give back as many victims as possible — those a budget protects first,
        // then the most important.
        let mut budgets: Vec<Pdb> = cache.pdbs.values().cloned().collect();
        let (mut protected, mut free): (Vec<Arc<PodInfo>>, Vec<Arc<PodInfo>>) =
            lower.drain(..).partition(|p| covered(&budgets, p));
        protected.sort_by_key(|p| std::cmp::Reverse(p.priority));
        free.sort_by_key(|p| std::cmp::Reverse(p.priority));
        let mut kept = higher.clone();
        let mut victims = Vec::new();
        let mut violations = 0usize;
        for p in protected.into_iter().chain(free) {
            kept.push(p.clone());
            if !filter(pod, &node_with(node, &kept), state).is_empty() {
                kept.pop();
                if take_disruption(&mut budgets, &p) {
                    violations += 1;
                }
                victims.push(p);
            }
        }
        if victims.is_empty() {
            continue;
        }
        let key = (
            violations,
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use k8s_openapi::api::core::v1::{Node, Pod};
    use k8s_openapi::api::policy::v1::PodDisruptionBudget;
    use serde_json::json;

    use super::*;
    use crate::framework;

    fn node(name: &str) -> Node {
        serde_json::from_value(json!({"metadata": {"name": name,
            "labels": {"kubernetes.io/hostname": name}},
            "status": {"allocatable": {"cpu": "1", "memory": "1Gi", "pods": "10"}}}))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn pod(name: &str, node: Option<&str>, app: &str, priority: i32) -> Arc<Pod> {
        let mut spec = json!({"priority": priority, "containers": [{"name": "c",
            "resources": {"requests": {"cpu": "800m"}}}]});
        if let Some(n) = node {
            spec["nodeName"] = json!(n);
        }
        Arc::new(
            serde_json::from_value(json!({"metadata": {"name": name, "namespace": "d",
                "uid": format!("uid-{name}"), "labels": {"app": app}}, "spec": spec}))
            .unwrap_or_else(|e| panic!("{e}")),
        )
    }

    #[test]
    fn victims_protected_by_a_budget_are_spared_when_another_node_will_do() {
        let mut cache = Cache::default();
        cache.upsert_node(node("n1"));
        cache.upsert_node(node("n2"));
        // Without a budget the cheaper victim is db-0 (lower priority); the budget protects it.
        cache.upsert_pod(pod("db-0", Some("n1"), "db", 5));
        cache.upsert_pod(pod("batch-0", Some("n2"), "batch", 10));
        let budget: PodDisruptionBudget = serde_json::from_value(json!({
            "metadata": {"name": "db", "namespace": "d"},
            "spec": {"selector": {"matchLabels": {"app": "db"}}},
            "status": {"disruptionsAllowed": 0, "currentHealthy": 1, "desiredHealthy": 1,
                "expectedPods": 1}}))
        .unwrap_or_else(|e| panic!("{e}"));
        cache.upsert_pdb(&budget);
        let incoming = PodInfo::new(pod("urgent", None, "web", 1000));
        let state = framework::prepare(&mut cache, &incoming).unwrap_or_else(|_| panic!("prepare"));
        let c = find(&cache, &incoming, &state).unwrap_or_else(|| panic!("no candidate"));
        assert_eq!(c.node, "n2");
        assert_eq!(c.victims.len(), 1);
        assert_eq!(c.victims[0].pod.metadata.name.as_deref(), Some("batch-0"));
        cache.remove_pdb("d", "db");
        let state = framework::prepare(&mut cache, &incoming).unwrap_or_else(|_| panic!("prepare"));
        let c = find(&cache, &incoming, &state).unwrap_or_else(|| panic!("no candidate"));
        assert_eq!(
            c.node, "n1",
            "without the budget the lower-priority victim goes"
        );
    }
}
