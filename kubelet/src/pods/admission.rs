//! Whether this node can take a pod, checked once when the pod first arrives, as the kubelet's
//! admission handlers do: node selector and required node affinity against the node's labels,
//! pod count, CPU and memory requests against allocatable, and host ports.

use std::collections::{BTreeMap, HashSet};

use capstan_api_types::quantity;
use k8s_openapi::api::core::v1::{NodeSelectorRequirement, Pod};

pub struct NodeFacts {
    pub labels: BTreeMap<String, String>,
    pub cpu_milli: i64,
    pub memory: i64,
    pub max_pods: usize,
}

fn requests(pod: &Pod) -> (i64, i64) {
    let Some(spec) = &pod.spec else { return (0, 0) };
    let sum = |name: &str, parse: fn(&str) -> Option<i64>| -> i64 {
        let app: i64 = spec
            .containers
            .iter()
            .filter_map(|c| c.resources.as_ref()?.requests.as_ref()?.get(name))
            .filter_map(|q| parse(&q.0))
            .sum();
        let init = spec
            .init_containers
            .iter()
            .flatten()
            .filter_map(|c| c.resources.as_ref()?.requests.as_ref()?.get(name))
            .filter_map(|q| parse(&q.0))
            .max()
            .unwrap_or(0);
        app.max(init)
    };
    (sum("cpu", quantity::milli), sum("memory", quantity::units))
}

fn host_ports(pod: &Pod) -> Vec<(String, i32)> {
    pod.spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            p.host_port
                .filter(|h| *h > 0)
                .map(|h| (p.protocol.clone().unwrap_or_else(|| "TCP".into()), h))
        })
        .collect()
}

fn matches(req: &NodeSelectorRequirement, labels: &BTreeMap<String, String>) -> bool {
    let v = labels.get(&req.key);
    let values = req.values.clone().unwrap_or_default();
    match req.operator.as_str() {
        "In" => v.is_some_and(|v| values.contains(v)),
        "NotIn" => v.is_none_or(|v| !values.contains(v)),
        "Exists" => v.is_some(),
        "DoesNotExist" => v.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), Some(want)) = (
                v.and_then(|v| v.parse::<i64>().ok()),
                values.first().and_then(|w| w.parse::<i64>().ok()),
            ) else {
                return false;
            };
            if req.operator == "Gt" {
                v > want
            } else {
                v < want
            }
        }
        _ => false,
    }
}

/// Err((reason, message)) when the pod must be rejected. `others` are the pods already
/// admitted and not finished.
pub fn admit(pod: &Pod, node: &NodeFacts, others: &[Pod]) -> Result<(), (String, String)> {
    let spec = pod.spec.clone().unwrap_or_default();
    for (k, v) in spec.node_selector.iter().flatten() {
        if node.labels.get(k) != Some(v) {
            return Err((
                "NodeAffinity".into(),
                "Pod was rejected: Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector".into(),
            ));
        }
    }
    if let Some(terms) = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
    {
        let ok = terms.node_selector_terms.iter().any(|t| {
            t.match_expressions
                .iter()
                .flatten()
                .all(|r| matches(r, &node.labels))
        });
        if !ok {
            return Err((
                "NodeAffinity".into(),
                "Pod was rejected: Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector".into(),
            ));
        }
    }
    if others.len() + 1 > node.max_pods {
        return Err((
            "OutOfpods".into(),
            format!(
                "Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: {}, capacity: {}",
                others.len(),
                node.max_pods
            ),
        ));
    }
    let (cpu, mem) = requests(pod);
    let (used_cpu, used_mem) = others
        .iter()
        .map(requests)
        .fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
    if cpu > 0 && used_cpu + cpu > node.cpu_milli {
        return Err((
            "OutOfcpu".into(),
            format!(
                "Pod was rejected: Node didn't have enough resource: cpu, requested: {cpu}, used: {used_cpu}, capacity: {}",
                node.cpu_milli
            ),
        ));
    }
    if mem > 0 && used_mem + mem > node.memory {
        return Err((
            "OutOfmemory".into(),
            format!(
                "Pod was rejected: Node didn't have enough resource: memory, requested: {mem}, used: {used_mem}, capacity: {}",
                node.memory
            ),
        ));
    }
    let taken: HashSet<(String, i32)> = others.iter().flat_map(host_ports).collect();
    if let Some((proto, port)) = host_ports(pod).into_iter().find(|p| taken.contains(p)) {
        return Err((
            "NodePorts".into(),
            format!(
                "Pod was rejected: Predicate NodePorts failed: host port {port}/{proto} is already in use"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn rejects_what_does_not_fit() {
        let node = NodeFacts {
            labels: BTreeMap::from([("disk".into(), "ssd".into())]),
            cpu_milli: 2000,
            memory: 1 << 30,
            max_pods: 2,
        };
        let big = pod(
            json!({"spec": {"containers": [{"name": "a", "resources": {"requests": {"cpu": "3"}}}]}}),
        );
        assert_eq!(admit(&big, &node, &[]).unwrap_err().0, "OutOfcpu");
        let sel =
            pod(json!({"spec": {"nodeSelector": {"disk": "hdd"}, "containers": [{"name": "a"}]}}));
        assert_eq!(admit(&sel, &node, &[]).unwrap_err().0, "NodeAffinity");
        let hp = pod(
            json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80, "hostPort": 8080}]}]}}),
        );
        assert!(admit(&hp, &node, &[]).is_ok());
        assert_eq!(
            admit(&hp, &node, std::slice::from_ref(&hp)).unwrap_err().0,
            "NodePorts"
        );
        let small = pod(json!({"spec": {"containers": [{"name": "a"}]}}));
        assert_eq!(
            admit(&small, &node, &[small.clone(), small.clone()])
                .unwrap_err()
                .0,
            "OutOfpods"
        );
    }
}
