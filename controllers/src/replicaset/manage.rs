//! Creating and deleting pods to reach `spec.replicas`: slow-start batches for creation,
//! least-valuable-first for deletion, expectations around both.
//!
//! Owns: pod creates and deletes on behalf of a ReplicaSet. Must never touch a pod the
//! ReplicaSet does not control.

use futures::future::join_all;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};

use super::Context;
use super::pods::{deletion_order, pod_from_template};
use crate::error::{Error, Result, api_code, outcome_unknown};
use crate::runtime::ownership::controller_ref;

/// Kubernetes' burstReplicas: at most this many creates or deletes per sync.
pub const BURST_REPLICAS: usize = 500;
/// How long a write whose outcome is unknown is awaited in the watch before it is counted as
/// failed: long enough for an informer to relist after an API server restart.
const UNKNOWN_OUTCOME_SETTLE: std::time::Duration = std::time::Duration::from_secs(10);

/// The first batch of a slow start; each successful batch doubles the next.
const SLOW_START_INITIAL_BATCH: usize = 1;

/// Creates or deletes pods so that `pods` (the active pods `rs` controls) reaches the desired
/// count. Returns an error when some write failed, so the ReplicaSet is retried with backoff.
pub async fn manage_replicas(
    ctx: &Context,
    rs: &ReplicaSet,
    key: &str,
    pods: &[&Pod],
) -> Result<()> {
    let desired = rs
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1)
        .max(0) as usize;
    let ns = rs.namespace().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(ctx.shared.client.clone(), &ns);
    if pods.len() < desired {
        let want = (desired - pods.len()).min(BURST_REPLICAS);
        let Some(template) = rs.spec.as_ref().and_then(|s| s.template.as_ref()) else {
            return Err(Error::Invalid {
                object: key.to_string(),
                reason: "spec.template is missing".into(),
            });
        };
        let pod = pod_from_template(template, &ns, &rs.name_any(), controller_ref(rs));
        // Expect all of them up front: a watch event for the first pod may arrive before the
        // last create returns.
        ctx.expectations.expect_creations(key, want);
        let (created, errors) = slow_start_batch(want, SLOW_START_INITIAL_BATCH, |_| {
            let api = api.clone();
            let pod = pod.clone();
            async move { api.create(&PostParams::default(), &pod).await }
        })
        .await;
        let unknown = errors.iter().filter(|e| outcome_unknown(e)).count();
        for p in &created {
            ctx.shared.recorder.normal(
                rs,
                "SuccessfulCreate",
                format!("Created pod: {}", p.name_any()),
            );
        }
        // Creates that failed or were never tried will not show up in the informer; those
        // that may have happened despite the error are given time to show up.
        for _ in created.len() + unknown..want {
            ctx.expectations.creation_observed(key);
        }
        if unknown > 0 {
            ctx.expectations.observe_later(
                key,
                unknown,
                Vec::new(),
                UNKNOWN_OUTCOME_SETTLE,
                ctx.shared.pods.health(),
            );
        }
        if let Some(e) = errors.into_iter().next() {
            ctx.shared
                .recorder
                .warning(rs, "FailedCreate", format!("Error creating: {e}"));
            return Err(e.into());
        }
    } else if pods.len() > desired {
        let surplus = (pods.len() - desired).min(BURST_REPLICAS);
        let mut ranked: Vec<&Pod> = pods.to_vec();
        ranked.sort_by(|a, b| deletion_order(a, b));
        let victims: Vec<&Pod> = ranked.into_iter().take(surplus).collect();
        let ids: Vec<String> = victims.iter().map(|p| pod_id(p)).collect();
        ctx.expectations.expect_deletions(key, ids);
        let results = join_all(victims.iter().map(|p| {
            let api = api.clone();
            let name = p.name_any();
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: p.metadata.uid.clone(),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            async move { api.delete(&name, &dp).await }
        }))
        .await;
        let mut first_err = None;
        for (p, r) in victims.iter().zip(results) {
            match r {
                Ok(_) => ctx.shared.recorder.normal(
                    rs,
                    "SuccessfulDelete",
                    format!("Deleted pod: {}", p.name_any()),
                ),
                // Already gone (or replaced by a namesake): nothing more will be observed.
                Err(e) if matches!(api_code(&e), Some(404 | 409)) => {
                    ctx.expectations.deletion_observed(key, &pod_id(p));
                }
                Err(e) => {
                    if outcome_unknown(&e) {
                        ctx.expectations.observe_later(
                            key,
                            0,
                            vec![pod_id(p)],
                            UNKNOWN_OUTCOME_SETTLE,
                            ctx.shared.pods.health(),
                        );
                    } else {
                        ctx.expectations.deletion_observed(key, &pod_id(p));
                    }
                    ctx.shared.recorder.warning(
                        rs,
                        "FailedDelete",
                        format!("Error deleting pod {}: {e}", p.name_any()),
                    );
                    first_err.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_err {
            return Err(e.into());
        }
    }
    Ok(())
}

pub fn pod_id(p: &Pod) -> String {
    format!("{}/{}", p.namespace().unwrap_or_default(), p.name_any())
}

/// Runs `count` calls of `op` in batches of 1, 2, 4, … and stops at the first batch with a
/// failure, so a quota or admission error costs one request instead of hundreds. Returns the
/// successes and the errors of the batch that failed (calls never made are neither).
pub async fn slow_start_batch<T, E, F, Fut>(count: usize, initial: usize, op: F) -> (Vec<T>, Vec<E>)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, E>>,
{
    let mut done = Vec::new();
    let mut batch = initial.max(1).min(count);
    let mut started = 0;
    while started < count {
        let results = join_all((started..started + batch).map(&op)).await;
        started += batch;
        let mut errors = Vec::new();
        for r in results {
            match r {
                Ok(t) => done.push(t),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return (done, errors);
        }
        batch = (batch * 2).min(count - started);
    }
    (done, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn slow_start_doubles_batches_and_stops_at_the_first_failing_batch() {
        let calls = Mutex::new(Vec::new());
        let (ok, err) = slow_start_batch(10, 1, |i| {
            calls.lock().map(|mut c| c.push(i)).ok();
            async move { if i == 4 { Err("boom") } else { Ok(i) } }
        })
        .await;
        // Batches: [0], [1,2], [3,4,5,6] — the third fails, so 7..10 are never tried.
        assert_eq!(calls.lock().map(|c| c.len()).unwrap_or(0), 7);
        assert_eq!(ok.len(), 6);
        assert_eq!(err, vec!["boom"]);
        let (ok, err) = slow_start_batch(5, 1, |i| async move { Ok::<_, ()>(i) }).await;
        assert_eq!(ok.len(), 5);
        assert!(err.is_empty());
    }
}
