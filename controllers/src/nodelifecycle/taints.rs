//! Pure decisions of the node lifecycle controller: which managed taints a node should carry,
//! and when (if ever) a pod must leave a node because of its NoExecute taints.
//!
//! Owns: toleration matching and the default-toleration rule. Must never talk to the API
//! server, so every rule here is testable without a cluster.

use k8s_openapi::api::core::v1::{Node, Pod, Taint, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
pub const NO_EXECUTE: &str = "NoExecute";
pub const NO_SCHEDULE: &str = "NoSchedule";

/// The `(key, effect)` pairs this controller adds and removes; every other taint is left
/// exactly as users or other components wrote it.
const MANAGED: [(&str, &str); 5] = [
    (NOT_READY, NO_SCHEDULE),
    (NOT_READY, NO_EXECUTE),
    (UNREACHABLE, NO_SCHEDULE),
    (UNREACHABLE, NO_EXECUTE),
    (UNSCHEDULABLE, NO_SCHEDULE),
];

/// The managed taints a node with this Ready status and cordon state should carry.
/// `ready` is the Ready condition's status; a missing condition counts as Unknown, as a
/// kubelet that never reported is indistinguishable from one that cannot be reached.
pub fn wanted(ready: Option<&str>, unschedulable: bool) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    match ready {
        Some("True") => {}
        Some("False") => out.extend([(NOT_READY, NO_SCHEDULE), (NOT_READY, NO_EXECUTE)]),
        _ => out.extend([(UNREACHABLE, NO_SCHEDULE), (UNREACHABLE, NO_EXECUTE)]),
    }
    if unschedulable {
        out.push((UNSCHEDULABLE, NO_SCHEDULE));
    }
    out
}

/// The node's taint list with managed taints reconciled to `wanted`; None when nothing
/// changes. Kept taints keep their `timeAdded`, since eviction deadlines count from it.
pub fn reconcile(
    node: &Node,
    wanted: &[(&'static str, &'static str)],
    now: Timestamp,
) -> Option<Vec<Taint>> {
    let current: Vec<Taint> = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let is_managed = |t: &Taint| MANAGED.contains(&(t.key.as_str(), t.effect.as_str()));
    let is_wanted = |t: &Taint| wanted.contains(&(t.key.as_str(), t.effect.as_str()));
    let mut next: Vec<Taint> = current
        .iter()
        .filter(|t| !is_managed(t) || is_wanted(t))
        .cloned()
        .collect();
    for (key, effect) in wanted {
        if !next.iter().any(|t| t.key == *key && t.effect == *effect) {
            next.push(Taint {
                key: (*key).to_string(),
                effect: (*effect).to_string(),
                value: None,
                time_added: Some(Time(now)),
            });
        }
    }
    (next != current).then_some(next)
}

/// Kubernetes' `Toleration.ToleratesTaint`.
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if let Some(effect) = t.effect.as_deref()
        && !effect.is_empty()
        && effect != taint.effect
    {
        return false;
    }
    let key = t.key.as_deref().unwrap_or_default();
    match t.operator.as_deref() {
        Some("Exists") => key.is_empty() || key == taint.key,
        // Equal is the default operator.
        _ => {
            key == taint.key
                && t.value.as_deref().unwrap_or_default()
                    == taint.value.as_deref().unwrap_or_default()
        }
    }
}

/// What the taint manager should do with one pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No NoExecute taint applies, or every one is tolerated forever.
    Keep,
    /// Delete at this instant (the earliest expiring toleration); may already be past.
    EvictAt(Timestamp),
    /// A NoExecute taint is not tolerated at all.
    EvictNow,
}

/// Decides a pod's fate under a node's NoExecute taints.
///
/// The API server does not (yet) run Kubernetes' DefaultTolerationSeconds admission, so the
/// rule is applied here instead: a pod with no toleration for the not-ready or unreachable
/// NoExecute taint is treated as tolerating it for `default_toleration_seconds`. That keeps
/// pods through short blips exactly as on Kubernetes, where the admission plugin would have
/// added those tolerations at creation.
///
/// `added` gives each taint's start; taints without `timeAdded` need the caller's record of
/// when it first saw them.
pub fn verdict(
    pod: &Pod,
    taints: &[(Taint, Timestamp)],
    default_toleration_seconds: i64,
) -> Verdict {
    let tolerations: &[Toleration] = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or_default();
    let mut earliest: Option<Timestamp> = None;
    for (taint, added) in taints.iter().filter(|(t, _)| t.effect == NO_EXECUTE) {
        let matching: Vec<&Toleration> =
            tolerations.iter().filter(|t| tolerates(t, taint)).collect();
        let seconds = if matching.is_empty() {
            if taint.key == NOT_READY || taint.key == UNREACHABLE {
                Some(default_toleration_seconds)
            } else {
                return Verdict::EvictNow;
            }
        } else if matching.iter().any(|t| t.toleration_seconds.is_none()) {
            // Kubernetes: any matching toleration without a limit tolerates forever.
            None
        } else {
            matching.iter().filter_map(|t| t.toleration_seconds).min()
        };
        if let Some(secs) = seconds {
            let deadline = Timestamp::from_millisecond(
                added
                    .as_millisecond()
                    .saturating_add(secs.max(0).saturating_mul(1000)),
            )
            .unwrap_or(*added);
            earliest = Some(earliest.map_or(deadline, |e| e.min(deadline)));
        }
    }
    match earliest {
        Some(t) => Verdict::EvictAt(t),
        None => Verdict::Keep,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeSpec, PodSpec};

    fn taint(key: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            effect: effect.into(),
            ..Taint::default()
        }
    }

    fn pod(tolerations: Vec<Toleration>) -> Pod {
        Pod {
            spec: Some(PodSpec {
                tolerations: Some(tolerations),
                ..PodSpec::default()
            }),
            ..Pod::default()
        }
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap_or_default()
    }

    #[test]
    fn wanted_taints_follow_ready_and_cordon() {
        assert!(wanted(Some("True"), false).is_empty());
        assert_eq!(
            wanted(Some("False"), true),
            vec![
                (NOT_READY, NO_SCHEDULE),
                (NOT_READY, NO_EXECUTE),
                (UNSCHEDULABLE, NO_SCHEDULE)
            ]
        );
        assert_eq!(wanted(None, false).len(), 2);
        assert_eq!(wanted(Some("Unknown"), false)[0].0, UNREACHABLE);
    }

    #[test]
    fn reconcile_keeps_foreign_taints_and_time_added() {
        let mut kept = taint(UNREACHABLE, NO_EXECUTE);
        kept.time_added = Some(Time(at(5)));
        let node = Node {
            spec: Some(NodeSpec {
                taints: Some(vec![
                    taint("user", NO_EXECUTE),
                    kept.clone(),
                    taint(NOT_READY, NO_SCHEDULE),
                ]),
                ..NodeSpec::default()
            }),
            ..Node::default()
        };
        let next = reconcile(&node, &wanted(Some("Unknown"), false), at(10)).unwrap_or_default();
        assert_eq!(next.len(), 3);
        assert_eq!(next[0].key, "user");
        assert_eq!(next[1], kept);
        assert_eq!(
            (next[2].key.as_str(), next[2].effect.as_str()),
            (UNREACHABLE, NO_SCHEDULE)
        );
        let mut same = node.clone();
        if let Some(s) = same.spec.as_mut() {
            s.taints = Some(next);
        }
        assert!(reconcile(&same, &wanted(Some("Unknown"), false), at(20)).is_none());
    }

    #[test]
    fn verdicts_follow_tolerations_and_defaults() {
        let unreachable = [(taint(UNREACHABLE, NO_EXECUTE), at(100))];
        // No toleration: the default applies.
        assert_eq!(
            verdict(&pod(vec![]), &unreachable, 300),
            Verdict::EvictAt(at(400))
        );
        let limited = Toleration {
            key: Some(UNREACHABLE.into()),
            operator: Some("Exists".into()),
            effect: Some(NO_EXECUTE.into()),
            toleration_seconds: Some(7),
            ..Toleration::default()
        };
        assert_eq!(
            verdict(&pod(vec![limited.clone()]), &unreachable, 300),
            Verdict::EvictAt(at(107))
        );
        let forever = Toleration {
            toleration_seconds: None,
            ..limited
        };
        assert_eq!(
            verdict(&pod(vec![forever]), &unreachable, 300),
            Verdict::Keep
        );
        let custom = [(taint("dedicated", NO_EXECUTE), at(100))];
        assert_eq!(verdict(&pod(vec![]), &custom, 300), Verdict::EvictNow);
        let everything = Toleration {
            operator: Some("Exists".into()),
            ..Toleration::default()
        };
        assert_eq!(verdict(&pod(vec![everything]), &custom, 300), Verdict::Keep);
        let no_schedule = [(taint("dedicated", NO_SCHEDULE), at(100))];
        assert_eq!(verdict(&pod(vec![]), &no_schedule, 300), Verdict::Keep);
    }
}
