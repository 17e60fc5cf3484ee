//! Pod facts the ReplicaSet controller (and the Deployment controller's Recreate strategy)
//! judges by: active, ready, available, and which pod is least valuable to delete.
//!
//! Pure functions only; must never call the API.

use std::cmp::Ordering;

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::jiff::Timestamp;

/// Not finished and not being deleted: the pods a ReplicaSet counts.
pub fn is_active(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    pod.metadata.deletion_timestamp.is_none() && !matches!(phase, Some("Succeeded" | "Failed"))
}

/// The time the pod's Ready condition became true, if it is true.
pub fn ready_since(pod: &Pod) -> Option<Option<Timestamp>> {
    let cond = pod
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?;
    (cond.status == "True").then(|| cond.last_transition_time.as_ref().map(|t| t.0))
}

pub fn is_ready(pod: &Pod) -> bool {
    ready_since(pod).is_some()
}

/// Ready for at least `min_ready_seconds` as of `now`. A Ready condition without a transition
/// time counts as ready long enough: there is nothing better to go on.
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    match ready_since(pod) {
        None => false,
        Some(_) if min_ready_seconds <= 0 => true,
        Some(None) => true,
        Some(Some(since)) => since.as_second() + i64::from(min_ready_seconds) <= now.as_second(),
    }
}

/// Seconds until a ready pod becomes available, for requeueing.
pub fn seconds_until_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> Option<i64> {
    let since = ready_since(pod)??;
    let left = since.as_second() + i64::from(min_ready_seconds) - now.as_second();
    (left > 0).then_some(left)
}

fn phase_rank(pod: &Pod) -> u8 {
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Pending") | None => 0,
        Some("Unknown") => 1,
        Some("Running") => 2,
        _ => 3,
    }
}

fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|cs| cs.iter().map(|c| c.restart_count).max().unwrap_or(0))
        .unwrap_or(0)
}

/// Orders pods least valuable first, the order a ReplicaSet deletes surplus pods in:
/// unassigned before assigned, Pending before Unknown before Running, not ready before ready,
/// ready for less time before longer, more restarts before fewer, newer before older.
pub fn deletion_order(a: &Pod, b: &Pod) -> Ordering {
    let assigned = |p: &Pod| {
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| !n.is_empty())
    };
    assigned(a)
        .cmp(&assigned(b))
        .then_with(|| phase_rank(a).cmp(&phase_rank(b)))
        .then_with(|| is_ready(a).cmp(&is_ready(b)))
        .then_with(|| {
            // Both ready: the one ready more recently goes first.
            match (ready_since(a).flatten(), ready_since(b).flatten()) {
                (Some(x), Some(y)) => y.cmp(&x),
                _ => Ordering::Equal,
            }
        })
        .then_with(|| restarts(b).cmp(&restarts(a)))
        .then_with(|| {
            let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
            created(b).cmp(&created(a))
        })
}

/// The pod a ReplicaSet creates from its template.
pub fn pod_from_template(
    template: &PodTemplateSpec,
    namespace: &str,
    owner_name: &str,
    owner: OwnerReference,
) -> Pod {
    let tmeta = template.metadata.clone().unwrap_or_default();
    // generateName prefixes are cut so the server's random suffix still fits in 63 characters.
    let mut prefix = format!("{owner_name}-");
    if prefix.len() > 58 {
        prefix.truncate(57);
        prefix.push('-');
    }
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(prefix),
            namespace: Some(namespace.to_string()),
            labels: tmeta.labels,
            annotations: tmeta.annotations,
            finalizers: tmeta.finalizers,
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        spec: template.spec.clone(),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodCondition, PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn pod(name: &str, node: Option<&str>, phase: &str, ready: bool, created: i64) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                creation_timestamp: Some(Time(Timestamp::from_second(created).unwrap_or_default())),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                node_name: node.map(String::from),
                ..PodSpec::default()
            }),
            status: Some(PodStatus {
                phase: Some(phase.into()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    ..PodCondition::default()
                }]),
                ..PodStatus::default()
            }),
        }
    }

    #[test]
    fn least_valuable_pods_sort_first() {
        let mut pods = [
            pod("running-ready-old", Some("n"), "Running", true, 100),
            pod("running-ready-new", Some("n"), "Running", true, 200),
            pod("running-unready", Some("n"), "Running", false, 50),
            pod("pending-assigned", Some("n"), "Pending", false, 10),
            pod("unassigned", None, "Pending", false, 10),
        ];
        pods.sort_by(deletion_order);
        let names: Vec<_> = pods
            .iter()
            .filter_map(|p| p.metadata.name.clone())
            .collect();
        assert_eq!(
            names,
            [
                "unassigned",
                "pending-assigned",
                "running-unready",
                "running-ready-new",
                "running-ready-old"
            ]
        );
    }

    #[test]
    fn availability_waits_for_min_ready_seconds() {
        let mut p = pod("a", Some("n"), "Running", true, 0);
        if let Some(c) = p
            .status
            .as_mut()
            .and_then(|s| s.conditions.as_mut())
            .and_then(|c| c.first_mut())
        {
            c.last_transition_time = Some(Time(Timestamp::from_second(1000).unwrap_or_default()));
        }
        let at = |s| Timestamp::from_second(s).unwrap_or_default();
        assert!(is_available(&p, 0, at(1000)));
        assert!(!is_available(&p, 10, at(1005)));
        assert!(is_available(&p, 10, at(1010)));
        assert_eq!(seconds_until_available(&p, 10, at(1005)), Some(5));
    }
}
