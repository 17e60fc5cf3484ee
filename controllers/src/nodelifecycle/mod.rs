//! Node lifecycle controller: notices nodes whose kubelet stopped heartbeating (Lease in
//! `kube-node-lease` and the Ready condition), marks their conditions Unknown, keeps the
//! `not-ready`, `unreachable` and `unschedulable` taints in line with node health and cordon
//! state, and evicts pods that do not (or no longer) tolerate a node's NoExecute taints.
//!
//! Owns: those managed taints, the Unknown conditions it writes, and taint-based pod
//! deletion. Must never touch taints it does not manage, or write a node's conditions while
//! the kubelet is heartbeating. Default tolerations (Kubernetes' DefaultTolerationSeconds
//! admission) are applied in the eviction decision, see [`taints::verdict`].

pub mod taints;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, NodeCondition, Pod, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use serde_json::json;
use tokio::sync::watch;

use crate::error::{Result, api_code};
use crate::runtime::informer::Informer;
use crate::{Shared, wait_synced};
use taints::Verdict;

pub const NAME: &str = "node-lifecycle";
pub const COMPONENT: &str = "node-controller";
pub const LEASE_NAMESPACE: &str = "kube-node-lease";
const UNKNOWN_REASON: &str = "NodeStatusUnknown";
const UNKNOWN_MESSAGE: &str = "Kubelet stopped posting node status.";

/// Kubernetes' `--node-monitor-period`, `--node-monitor-grace-period` and
/// `--default-not-ready-toleration-seconds` / `--default-unreachable-toleration-seconds`.
#[derive(Debug, Clone)]
pub struct NodeLifecycleConfig {
    /// How often each node is re-examined even without events: a silent kubelet produces
    /// no events, so going stale can only be noticed by looking again.
    pub monitor_period: Duration,
    /// A heartbeat older than this marks the node's conditions Unknown.
    pub grace_period: Duration,
    /// How long pods without their own not-ready/unreachable tolerations stay on a node.
    pub default_toleration_seconds: i64,
}

impl Default for NodeLifecycleConfig {
    fn default() -> Self {
        NodeLifecycleConfig {
            monitor_period: Duration::from_secs(5),
            grace_period: Duration::from_secs(40),
            default_toleration_seconds: 300,
        }
    }
}

pub struct Context {
    pub shared: Shared,
    pub config: NodeLifecycleConfig,
    pub nodes: Informer<Node>,
    pub leases: Informer<Lease>,
    /// When this controller first saw a NoExecute taint that has no `timeAdded`; eviction
    /// deadlines need a start, and the taint manager's own observation is the best there is.
    first_seen: Mutex<HashMap<(String, String, String), Timestamp>>,
}

pub async fn run(
    mut shared: Shared,
    config: NodeLifecycleConfig,
    stop: watch::Receiver<bool>,
) -> Result<()> {
    shared.recorder = shared.recorder.for_component(COMPONENT);
    let nodes: Informer<Node> = Informer::spawn(Api::all(shared.client.clone()), stop.clone());
    let leases: Informer<Lease> = Informer::spawn(
        Api::namespaced(shared.client.clone(), LEASE_NAMESPACE),
        stop.clone(),
    );
    let ctx = Arc::new(Context {
        shared: shared.clone(),
        config,
        nodes: nodes.clone(),
        leases: leases.clone(),
        first_seen: Mutex::default(),
    });
    let node_store = nodes.store();
    let metrics = shared.metrics.controller(NAME);
    let controller = Controller::for_stream(metrics.track(nodes.triggers()), node_store.clone())
        .watches_stream(
            leases.triggers(),
            metrics.mapped(|lease: Lease| {
                // The kubelet names its Lease after its Node.
                vec![ObjectRef::new(&lease.name_any())]
            }),
        )
        .watches_stream(
            shared.pods.subscribe().map(|c| Ok(c.into_object())),
            metrics.mapped(node_for_pod),
        );
    let (p, n, l) = (shared.pods.clone(), nodes.clone(), leases.clone());
    let synced = wait_synced(
        vec![
            Box::pin(async move { p.wait_until_ready().await }),
            Box::pin(async move { n.wait_until_ready().await }),
            Box::pin(async move { l.wait_until_ready().await }),
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

/// A pod matters to the node it is bound to: a newly bound pod may already be evictable.
fn node_for_pod(pod: Pod) -> Vec<ObjectRef<Node>> {
    pod.spec
        .and_then(|s| s.node_name)
        .filter(|n| !n.is_empty())
        .map(|n| vec![ObjectRef::new(&n)])
        .unwrap_or_default()
}

fn ready_condition(node: &Node) -> Option<&NodeCondition> {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
}

/// The newer of the Lease renewal and the Ready heartbeat; a node that never reported
/// either counts from its creation, so it gets one grace period to start.
fn last_heartbeat(node: &Node, leases: &Store<Lease>) -> Option<Timestamp> {
    let lease = leases
        .get(&ObjectRef::new(&node.name_any()).within(LEASE_NAMESPACE))
        .and_then(|l| l.spec.as_ref().and_then(|s| s.renew_time.clone()))
        .map(|t| t.0);
    let ready = ready_condition(node)
        .and_then(|c| c.last_heartbeat_time.clone())
        .map(|t| t.0);
    lease
        .max(ready)
        .or_else(|| node.metadata.creation_timestamp.clone().map(|t| t.0))
}

fn millis_between(from: Timestamp, to: Timestamp) -> i64 {
    to.as_millisecond().saturating_sub(from.as_millisecond())
}

async fn reconcile(node: Arc<Node>, ctx: Arc<Context>) -> Result<Action> {
    let name = node.name_any();
    let api: Api<Node> = Api::all(ctx.shared.client.clone());
    let now = Timestamp::now();
    let grace_ms = i64::try_from(ctx.config.grace_period.as_millis()).unwrap_or(i64::MAX);
    let mut next = ctx.config.monitor_period;

    let heartbeat = last_heartbeat(&node, &ctx.leases.store());
    let stale = heartbeat.is_some_and(|h| millis_between(h, now) > grace_ms);
    let mut ready = ready_condition(&node).map(|c| c.status.clone());
    if stale {
        if mark_unknown(&api, &node, now).await? {
            tracing::info!(node = %name, ?heartbeat, "node stopped heartbeating; conditions set Unknown");
            ctx.shared.recorder.normal(
                node.as_ref(),
                "NodeNotReady",
                format!("Node {name} status is now: NodeNotReady"),
            );
        }
        ready = Some("Unknown".to_string());
    } else if let Some(h) = heartbeat {
        // Look again right when the heartbeat would expire, not a monitor period later.
        let left = grace_ms.saturating_sub(millis_between(h, now)).max(0) as u64;
        next = next.min(Duration::from_millis(left + 50));
    }

    let unschedulable = node
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false);
    // A node that has not reported Ready yet gets the grace period (counted from its creation)
    // before it is treated as unreachable, as Kubernetes' node startup grace period does.
    if ready.is_none() && !stale {
        ready = Some("True".to_string());
    }
    let wanted = taints::wanted(ready.as_deref(), unschedulable);
    let mut node_taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    if let Some(new_taints) = taints::reconcile(&node, &wanted, now) {
        // The resourceVersion makes this a compare-and-swap: a concurrent taint edit by a
        // user becomes a conflict and a retry instead of being overwritten.
        let patch = json!({
            "metadata": {"resourceVersion": node.resource_version()},
            "spec": {"taints": new_taints},
        });
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        tracing::info!(node = %name, taints = ?wanted, "updated managed taints");
        node_taints = new_taints;
    }

    if let Some(wait) = evict(&ctx, &name, &node_taints, now).await? {
        next = next.min(wait);
    }
    Ok(Action::requeue(next.max(Duration::from_millis(50))))
}

/// Sets every condition to Unknown through the status subresource, as Kubernetes does for
/// a node whose kubelet went silent. Returns whether anything was written.
async fn mark_unknown(api: &Api<Node>, node: &Node, now: Timestamp) -> Result<bool> {
    let mut conditions: Vec<NodeCondition> = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    if !conditions.iter().any(|c| c.type_ == "Ready") {
        conditions.push(NodeCondition {
            type_: "Ready".into(),
            ..NodeCondition::default()
        });
    }
    let mut changed = false;
    for c in conditions.iter_mut().filter(|c| c.status != "Unknown") {
        c.status = "Unknown".into();
        c.reason = Some(UNKNOWN_REASON.into());
        c.message = Some(UNKNOWN_MESSAGE.into());
        c.last_transition_time = Some(Time(now));
        changed = true;
    }
    if !changed {
        return Ok(false);
    }
    let patch = json!({
        "metadata": {"resourceVersion": node.resource_version()},
        "status": {"conditions": conditions},
    });
    api.patch_status(
        &node.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(true)
}

/// The taint manager for one node: deletes pods whose NoExecute taints are not (or no
/// longer) tolerated. Returns how long until the next toleration runs out, if any does.
async fn evict(
    ctx: &Context,
    node: &str,
    node_taints: &[Taint],
    now: Timestamp,
) -> Result<Option<Duration>> {
    let no_execute: Vec<(Taint, Timestamp)> = {
        let mut seen = ctx
            .first_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        seen.retain(|(n, k, e), _| {
            n != node || node_taints.iter().any(|t| &t.key == k && &t.effect == e)
        });
        node_taints
            .iter()
            .filter(|t| t.effect == taints::NO_EXECUTE)
            .map(|t| {
                let added = match &t.time_added {
                    Some(a) => a.0,
                    None => *seen
                        .entry((node.to_string(), t.key.clone(), t.effect.clone()))
                        .or_insert(now),
                };
                (t.clone(), added)
            })
            .collect()
    };
    if no_execute.is_empty() {
        return Ok(None);
    }
    let mut next: Option<Duration> = None;
    for pod in ctx.shared.pods.store().state() {
        let bound_here = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node);
        if !bound_here || pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        match taints::verdict(&pod, &no_execute, ctx.config.default_toleration_seconds) {
            Verdict::Keep => {}
            Verdict::EvictAt(at) if at > now => {
                let wait = Duration::from_millis(millis_between(now, at).max(0) as u64);
                next = Some(next.map_or(wait, |n| n.min(wait)));
            }
            Verdict::EvictAt(_) | Verdict::EvictNow => delete_pod(ctx, &pod).await?,
        }
    }
    Ok(next)
}

async fn delete_pod(ctx: &Context, pod: &Pod) -> Result<()> {
    let ns = pod.namespace().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(ctx.shared.client.clone(), &ns);
    // The uid precondition keeps a stale cache from deleting a same-named successor.
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: pod.uid(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(&pod.name_any(), &params).await {
        Ok(_) => {
            tracing::info!(pod = %format!("{ns}/{}", pod.name_any()), "evicted pod for NoExecute taint");
            ctx.shared.recorder.normal(
                pod,
                "TaintManagerEviction",
                format!("Marking for deletion Pod {ns}/{}", pod.name_any()),
            );
            Ok(())
        }
        // Already gone, or replaced by a pod with the same name: nothing of ours to do.
        Err(e) if matches!(api_code(&e), Some(404) | Some(409)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
