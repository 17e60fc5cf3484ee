//! ReplicaSet controller: keeps `spec.replicas` active pods matching the selector, adopting
//! matching orphans and releasing pods that stopped matching, and reports what it sees in
//! `status`.
//!
//! Owns: pods' existence and controller references on behalf of ReplicaSets, and ReplicaSet
//! status. Must never change a ReplicaSet's spec (the Deployment controller and users own
//! it), manage pods while its own writes are still in flight (expectations), or create pods
//! for a ReplicaSet that is being deleted.

pub mod manage;
pub mod pods;
pub mod status;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use tokio::sync::watch;

use crate::error::{Error, Result, api_code};
use crate::runtime::expectations::Expectations;
use crate::runtime::informer::Change;
use crate::runtime::ownership::{self, Claim, controller_of};
use crate::{Shared, wait_synced};

pub const NAME: &str = "replicaset";
pub const COMPONENT: &str = "replicaset-controller";
/// A resync now and then heals anything a lost event left behind.
const RESYNC: Duration = Duration::from_secs(300);
const EXPECTATIONS_RECHECK: Duration = Duration::from_secs(2);

pub struct Context {
    pub shared: Shared,
    pub expectations: std::sync::Arc<Expectations>,
}

pub async fn run(mut shared: Shared, stop: watch::Receiver<bool>) -> Result<()> {
    shared.recorder = shared.recorder.for_component(COMPONENT);
    let ctx = Arc::new(Context {
        shared: shared.clone(),
        expectations: std::sync::Arc::default(),
    });
    let rs_store = shared.replicasets.store();
    let observer = ctx.clone();
    let pod_triggers = shared.pods.subscribe().map(move |change| {
        observe_pod(&observer.expectations, &change);
        Ok(change.into_object())
    });
    let forgetter = ctx.clone();
    let rs_triggers = shared.replicasets.subscribe().map(move |change| {
        if let Change::Deleted(rs) = &change {
            forgetter.expectations.forget(&key_of(rs));
        }
        Ok(change.into_object())
    });
    let mapper_store = rs_store.clone();
    let metrics = shared.metrics.controller(NAME);
    let controller = Controller::for_stream(metrics.track(rs_triggers), rs_store).watches_stream(
        pod_triggers,
        metrics.mapped(move |pod: Pod| replicasets_for_pod(&mapper_store, &pod)),
    );
    let (pods, rss) = (shared.pods.clone(), shared.replicasets.clone());
    let synced = wait_synced(
        vec![
            Box::pin(async move { pods.wait_until_ready().await }),
            Box::pin(async move { rss.wait_until_ready().await }),
        ],
        stop.clone(),
    )
    .await;
    if !synced {
        return Ok(());
    }
    crate::runtime::run_controller(NAME, controller, ctx, metrics, reconcile, stop).await;
    Ok(())
}

pub fn key_of(rs: &ReplicaSet) -> String {
    format!("{}/{}", rs.namespace().unwrap_or_default(), rs.name_any())
}

/// Lowers expectations when a pod's creation or deletion comes back through the watch.
fn observe_pod(exp: &Expectations, change: &Change<Pod>) {
    let pod = change.object();
    let Some(owner) = controller_of(&pod.metadata).filter(|r| r.kind == "ReplicaSet") else {
        return;
    };
    let key = format!("{}/{}", pod.namespace().unwrap_or_default(), owner.name);
    match change {
        Change::Added(p) if p.metadata.deletion_timestamp.is_none() => exp.creation_observed(&key),
        Change::Added(p) | Change::Modified(p) | Change::Deleted(p) => {
            if p.metadata.deletion_timestamp.is_some() || matches!(change, Change::Deleted(_)) {
                exp.deletion_observed(&key, &manage::pod_id(p));
            }
        }
    }
}

/// A pod wakes its controlling ReplicaSet, or — if it is an orphan — every ReplicaSet in its
/// namespace that could adopt it.
fn replicasets_for_pod(store: &Store<ReplicaSet>, pod: &Pod) -> Vec<ObjectRef<ReplicaSet>> {
    let ns = pod.namespace().unwrap_or_default();
    match controller_of(&pod.metadata) {
        Some(r) if r.kind == "ReplicaSet" => vec![ObjectRef::new(&r.name).within(&ns)],
        Some(_) => Vec::new(),
        None => {
            let labels = pod.labels();
            store
                .state()
                .iter()
                .filter(|rs| rs.namespace().as_deref() == Some(ns.as_str()))
                .filter(|rs| {
                    rs.spec
                        .as_ref()
                        .and_then(|s| ownership::selector(&s.selector))
                        .is_some_and(|sel| !sel.selects_all() && ownership::matches(&sel, labels))
                })
                .map(|rs| ObjectRef::from_obj(rs.as_ref()))
                .collect()
        }
    }
}

async fn reconcile(rs: Arc<ReplicaSet>, ctx: Arc<Context>) -> Result<Action> {
    let key = key_of(&rs);
    let ns = rs.namespace().unwrap_or_default();
    let uid = rs.uid().unwrap_or_default();
    let Some(sel) = rs
        .spec
        .as_ref()
        .and_then(|s| ownership::selector(&s.selector))
        .filter(|s| !s.selects_all())
    else {
        // Validation should have refused it; there is nothing safe to manage.
        tracing::warn!(replicaset = %key, "invalid or empty selector; ignoring");
        return Ok(Action::await_change());
    };
    let deleting = rs.metadata.deletion_timestamp.is_some();
    let pod_api: Api<Pod> = Api::namespaced(ctx.shared.client.clone(), &ns);

    let all = ctx.shared.pods.store().state();
    let mut claimed: Vec<Arc<Pod>> = Vec::new();
    let mut fresh_checked: Option<bool> = None;
    for pod in all
        .iter()
        .filter(|p| p.namespace().as_deref() == Some(ns.as_str()))
    {
        if !pods::is_active(pod) {
            continue;
        }
        match ownership::claim(&uid, deleting, &sel, &pod.metadata) {
            Claim::Owned => claimed.push(pod.clone()),
            Claim::Ignore => {}
            Claim::Release => {
                tracing::info!(replicaset = %key, pod = %pod.name_any(), "releasing pod that no longer matches");
                ownership::release(&pod_api, pod, &uid).await?;
            }
            Claim::Adopt => {
                // The cache may be stale: only adopt for an owner that still exists as this
                // uid and is not being deleted (Kubernetes' RecheckDeletionTimestamp).
                let can = match fresh_checked {
                    Some(c) => c,
                    None => {
                        let c = can_adopt(&ctx, &rs).await?;
                        fresh_checked = Some(c);
                        c
                    }
                };
                if !can {
                    continue;
                }
                match ownership::adopt(
                    &pod_api,
                    pod.as_ref(),
                    ownership::controller_ref(rs.as_ref()),
                )
                .await
                {
                    Ok(()) => {
                        tracing::info!(replicaset = %key, pod = %pod.name_any(), "adopted pod");
                        claimed.push(pod.clone());
                    }
                    // Gone or changed under us; the next sync decides again.
                    Err(e) if e.is_conflict() || e.is_not_found() => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }

    let pods: Vec<&Pod> = claimed.iter().map(|p| p.as_ref()).collect();
    let satisfied = ctx.expectations.satisfied(&key);
    let manage_result = if satisfied && !deleting {
        manage::manage_replicas(&ctx, &rs, &key, &pods).await
    } else {
        Ok(())
    };

    let rs_api: Api<ReplicaSet> = Api::namespaced(ctx.shared.client.clone(), &ns);
    let desired = rs
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1)
        .max(0) as usize;
    let failure = manage_result.as_ref().err().map(|e| {
        let reason = if pods.len() < desired {
            "FailedCreate"
        } else {
            "FailedDelete"
        };
        (reason, e.to_string())
    });
    let (new_status, next_available) = status::calculate(&rs, &pods, failure, Timestamp::now());
    match status::update(&rs_api, &rs, new_status).await {
        Ok(()) => {}
        Err(e) if e.is_not_found() => return Ok(Action::await_change()),
        Err(e) => return Err(e),
    }
    manage_result?;
    // Expectations are usually met by watch events, which wake this ReplicaSet anyway; ones
    // settled by a timer (writes with an unknown outcome) wake nothing, so look again soon.
    let recheck = (!satisfied).then_some(EXPECTATIONS_RECHECK);
    let next = next_available.map(|secs| Duration::from_secs(secs.max(1) as u64));
    Ok(Action::requeue(
        [recheck, next]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(RESYNC),
    ))
}

async fn can_adopt(ctx: &Context, rs: &ReplicaSet) -> Result<bool> {
    let api: Api<ReplicaSet> = Api::namespaced(
        ctx.shared.client.clone(),
        &rs.namespace().unwrap_or_default(),
    );
    match api.get(&rs.name_any()).await {
        Ok(fresh) => Ok(
            fresh.metadata.uid == rs.metadata.uid && fresh.metadata.deletion_timestamp.is_none()
        ),
        Err(e) if api_code(&e) == Some(404) => Ok(false),
        Err(e) => Err(Error::from(e)),
    }
}
