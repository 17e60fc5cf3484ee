//! Node IPAM controller: gives every Node without one a `spec.podCIDR` carved from the
//! cluster CIDR (`--cluster-cidr`, /24s by default), so each kubelet can hand out pod
//! addresses that no other node uses.
//!
//! Owns: empty `podCIDR`/`podCIDRs` fields, and nothing else. Must never change a CIDR once
//! set (the API server refuses that too); a deleted node's range becomes free again because
//! the set of used ranges is always recomputed from the nodes that exist.

pub mod cidr;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use k8s_openapi::api::core::v1::Node;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use serde_json::json;
use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::runtime::informer::Informer;
use crate::{Shared, wait_synced};
use cidr::Ipv4Cidr;

pub const NAME: &str = "nodeipam";

#[derive(Debug, Clone)]
pub struct NodeIpamConfig {
    pub cluster_cidr: Ipv4Cidr,
    /// Prefix length of each node's range (`--node-cidr-mask-size`).
    pub node_mask: u8,
}

impl Default for NodeIpamConfig {
    fn default() -> Self {
        NodeIpamConfig {
            cluster_cidr: Ipv4Cidr::new([10, 244, 0, 0].into(), 16),
            node_mask: 24,
        }
    }
}

pub struct Context {
    shared: Shared,
    config: NodeIpamConfig,
    nodes: Informer<Node>,
    /// Ranges this controller handed out that its cache may not show yet; without it two
    /// nodes added together could get the same range.
    given: Mutex<BTreeMap<String, Ipv4Cidr>>,
}

pub async fn run(
    shared: Shared,
    config: NodeIpamConfig,
    stop: watch::Receiver<bool>,
) -> Result<()> {
    if config.node_mask < config.cluster_cidr.prefix || config.node_mask > 30 {
        return Err(Error::Config(format!(
            "node CIDR mask /{} does not fit in cluster CIDR {}",
            config.node_mask, config.cluster_cidr
        )));
    }
    let nodes: Informer<Node> = Informer::spawn(Api::all(shared.client.clone()), stop.clone());
    let ctx = Arc::new(Context {
        shared: shared.clone(),
        config,
        nodes: nodes.clone(),
        given: Mutex::default(),
    });
    let metrics = shared.metrics.controller(NAME);
    let controller = Controller::for_stream(metrics.track(nodes.triggers()), nodes.store());
    let n = nodes.clone();
    if !wait_synced(
        vec![Box::pin(async move { n.wait_until_ready().await })],
        stop.clone(),
    )
    .await
    {
        return Ok(());
    }
    crate::runtime::run_controller(NAME, controller, ctx, metrics, reconcile, stop).await;
    Ok(())
}

fn pod_cidr(node: &Node) -> Option<String> {
    node.spec
        .as_ref()
        .and_then(|s| s.pod_cidr.clone())
        .filter(|c| !c.is_empty())
}

async fn reconcile(node: Arc<Node>, ctx: Arc<Context>) -> Result<Action> {
    if pod_cidr(&node).is_some() {
        return Ok(Action::await_change());
    }
    let name = node.name_any();
    let cidr = {
        let existing = ctx.nodes.store().state();
        let mut given = ctx.given.lock().unwrap_or_else(PoisonError::into_inner);
        given.retain(|n, _| existing.iter().any(|e| e.name_any() == *n));
        if let Some(c) = given.get(&name) {
            *c
        } else {
            let used: Vec<Ipv4Cidr> = existing
                .iter()
                .filter_map(|n| pod_cidr(n))
                .filter_map(|c| c.parse().ok())
                .chain(given.values().copied())
                .collect();
            let Some(free) = cidr::first_free(ctx.config.cluster_cidr, ctx.config.node_mask, &used)
            else {
                ctx.shared.recorder.warning(
                    node.as_ref(),
                    "CIDRNotAvailable",
                    format!(
                        "Node {name} status is now: CIDRNotAvailable (no /{} left in {})",
                        ctx.config.node_mask, ctx.config.cluster_cidr
                    ),
                );
                return Ok(Action::requeue(std::time::Duration::from_secs(30)));
            };
            given.insert(name.clone(), free);
            free
        }
    };
    let api: Api<Node> = Api::all(ctx.shared.client.clone());
    let patch = json!({
        "metadata": {"resourceVersion": node.resource_version()},
        "spec": {"podCIDR": cidr.to_string(), "podCIDRs": [cidr.to_string()]},
    });
    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    tracing::info!(node = %name, cidr = %cidr, "assigned pod CIDR");
    ctx.shared.recorder.normal(
        node.as_ref(),
        "CIDRAssignmentSucceeded",
        format!("Node {name} was assigned pod CIDR {cidr}"),
    );
    Ok(Action::await_change())
}
