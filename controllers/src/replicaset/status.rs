//! ReplicaSet status: counts computed from the pods the ReplicaSet controls, written through
//! the status subresource.
//!
//! Owns: `status` of ReplicaSets. Must never write `spec` or `metadata`.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use super::pods::{is_available, is_ready, seconds_until_available};
use crate::error::Result;

/// Status for `rs` given the active pods it controls, and the seconds until the next pod turns
/// available (so the caller can requeue instead of waiting for an event that never comes).
pub fn calculate(
    rs: &ReplicaSet,
    pods: &[&Pod],
    failure: Option<(&str, String)>,
    now: Timestamp,
) -> (ReplicaSetStatus, Option<i64>) {
    let spec = rs.spec.as_ref();
    let min_ready = spec.and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let template_labels: BTreeMap<String, String> = spec
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let fully_labeled = pods
        .iter()
        .filter(|p| {
            let labels = p.labels();
            template_labels
                .iter()
                .all(|(k, v)| labels.get(k) == Some(v))
        })
        .count();
    let ready = pods.iter().filter(|p| is_ready(p)).count();
    let available = pods
        .iter()
        .filter(|p| is_available(p, min_ready, now))
        .count();
    let next = pods
        .iter()
        .filter_map(|p| seconds_until_available(p, min_ready, now))
        .min();
    let current = rs.status.clone().unwrap_or_default();
    let status = ReplicaSetStatus {
        replicas: pods.len() as i32,
        fully_labeled_replicas: Some(fully_labeled as i32),
        ready_replicas: Some(ready as i32),
        available_replicas: Some(available as i32),
        observed_generation: rs.metadata.generation,
        conditions: conditions(current.conditions, failure, now),
        terminating_replicas: current.terminating_replicas,
    };
    (status, next)
}

/// The `ReplicaFailure` condition, as Kubernetes keeps it: set (reason FailedCreate or
/// FailedDelete, the API's error as message) when creating or deleting pods failed, kept while
/// it keeps failing, removed once a sync manages its pods without error.
fn conditions(
    current: Option<Vec<ReplicaSetCondition>>,
    failure: Option<(&str, String)>,
    now: Timestamp,
) -> Option<Vec<ReplicaSetCondition>> {
    let mut conds = current.unwrap_or_default();
    let existing = conds.iter().position(|c| c.type_ == "ReplicaFailure");
    match (failure, existing) {
        (Some((reason, message)), None) => conds.push(ReplicaSetCondition {
            type_: "ReplicaFailure".into(),
            status: "True".into(),
            reason: Some(reason.into()),
            message: Some(message),
            last_transition_time: Some(Time(now)),
        }),
        (None, Some(i)) => {
            conds.remove(i);
        }
        _ => {}
    }
    (!conds.is_empty()).then_some(conds)
}

/// Writes `status` unless it is what the object already says.
pub async fn update(
    api: &Api<ReplicaSet>,
    rs: &ReplicaSet,
    status: ReplicaSetStatus,
) -> Result<()> {
    if rs.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let patch = json!({ "status": status });
    api.patch_status(
        &rs.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod failure_tests {
    use super::*;

    #[test]
    fn replica_failure_is_set_kept_and_cleared() {
        let now = Timestamp::now();
        let set = conditions(None, Some(("FailedCreate", "forbidden".into())), now).unwrap();
        assert_eq!(set[0].type_, "ReplicaFailure");
        assert_eq!(set[0].reason.as_deref(), Some("FailedCreate"));
        let kept = conditions(
            Some(set.clone()),
            Some(("FailedCreate", "again".into())),
            now,
        )
        .unwrap();
        assert_eq!(kept, set, "an ongoing failure keeps its first transition");
        assert!(conditions(Some(set), None, now).is_none());
    }
}
