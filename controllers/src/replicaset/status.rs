//! ReplicaSet status: counts computed from the pods the ReplicaSet controls, written through
//! the status subresource.
//!
//! Owns: `status` of ReplicaSets. Must never write `spec` or `metadata`.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
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
        conditions: current.conditions,
        terminating_replicas: current.terminating_replicas,
    };
    (status, next)
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
