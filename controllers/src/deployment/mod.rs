//! Deployment controller: one ReplicaSet per pod template, rolled from old to new by the
//! RollingUpdate or Recreate strategy, with revisions, proportional scaling, history cleanup
//! and the Progressing/Available conditions `kubectl rollout status` reads.
//!
//! Owns: ReplicaSets' spec.replicas and annotations on behalf of Deployments, the creation and
//! cleanup of those ReplicaSets, and Deployment status plus its revision annotation. Must never
//! create or delete pods (the ReplicaSet controller does), change a Deployment's spec (users
//! and `kubectl rollout undo` do), or roll out while a Deployment is paused.

pub mod progress;
pub mod recreate;
pub mod rollback;
pub mod rolling;
pub mod sync;
pub mod util;

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use tokio::sync::watch;

use crate::error::Result;
use crate::runtime::informer::Change;
use crate::runtime::ownership::{self, controller_of};
use crate::{Shared, wait_synced};

pub const NAME: &str = "deployment";
pub const COMPONENT: &str = "deployment-controller";

pub struct Context {
    pub shared: Shared,
}

pub async fn run(mut shared: Shared, stop: watch::Receiver<bool>) -> Result<()> {
    shared.recorder = shared.recorder.for_component(COMPONENT);
    let ctx = Arc::new(Context {
        shared: shared.clone(),
    });
    let d_store = shared.deployments.store();
    let rs_store = shared.replicasets.store();
    let (for_rs, for_pod) = (d_store.clone(), rs_store);
    // Only pod deletions matter here: Recreate waits for the old pods to be gone.
    let pod_triggers = shared.pods.subscribe().filter_map(|c| async move {
        match c {
            Change::Deleted(p) => Some(Ok(p)),
            _ => None,
        }
    });
    let metrics = shared.metrics.controller(NAME);
    let controller = Controller::for_stream(metrics.track(shared.deployments.triggers()), d_store)
        .watches_stream(
            shared.replicasets.triggers(),
            metrics.mapped(move |rs: ReplicaSet| deployments_for_rs(&for_rs, &rs)),
        )
        .watches_stream(
            pod_triggers,
            metrics.mapped(move |pod: Pod| deployments_for_pod(&for_pod, &pod)),
        );
    let (a, b, c) = (
        shared.deployments.clone(),
        shared.replicasets.clone(),
        shared.pods.clone(),
    );
    let synced = wait_synced(
        vec![
            Box::pin(async move { a.wait_until_ready().await }),
            Box::pin(async move { b.wait_until_ready().await }),
            Box::pin(async move { c.wait_until_ready().await }),
        ],
        stop.clone(),
    )
    .await;
    if !synced {
        return Ok(());
    }
    crate::runtime::run_controller(NAME, controller, ctx, metrics, sync::sync_deployment, stop)
        .await;
    Ok(())
}

/// A ReplicaSet wakes its controlling Deployment, or — as an orphan — every Deployment in its
/// namespace whose selector matches it and could adopt it.
fn deployments_for_rs(store: &Store<Deployment>, rs: &ReplicaSet) -> Vec<ObjectRef<Deployment>> {
    let ns = rs.namespace().unwrap_or_default();
    match controller_of(&rs.metadata) {
        Some(r) if r.kind == "Deployment" => vec![ObjectRef::new(&r.name).within(&ns)],
        Some(_) => Vec::new(),
        None => {
            let labels = rs.labels();
            store
                .state()
                .iter()
                .filter(|d| d.namespace().as_deref() == Some(ns.as_str()))
                .filter(|d| {
                    d.spec
                        .as_ref()
                        .and_then(|s| ownership::selector(&s.selector))
                        .is_some_and(|sel| !sel.selects_all() && ownership::matches(&sel, labels))
                })
                .map(|d| ObjectRef::from_obj(d.as_ref()))
                .collect()
        }
    }
}

/// A deleted pod wakes the Deployment that controls its ReplicaSet.
fn deployments_for_pod(rs_store: &Store<ReplicaSet>, pod: &Pod) -> Vec<ObjectRef<Deployment>> {
    let ns = pod.namespace().unwrap_or_default();
    let Some(owner) = controller_of(&pod.metadata).filter(|r| r.kind == "ReplicaSet") else {
        return Vec::new();
    };
    let Some(rs) = rs_store.get(&ObjectRef::new(&owner.name).within(&ns)) else {
        return Vec::new();
    };
    match controller_of(&rs.metadata) {
        Some(r) if r.kind == "Deployment" => vec![ObjectRef::new(&r.name).within(&ns)],
        _ => Vec::new(),
    }
}

/// Logged by every strategy so a reader can follow one rollout in the logs.
pub(crate) fn key_of(d: &Deployment) -> String {
    format!("{}/{}", d.namespace().unwrap_or_default(), d.name_any())
}

pub(crate) fn no_requeue() -> Action {
    // A resync now and then heals anything a lost event left behind.
    Action::requeue(std::time::Duration::from_secs(300))
}
