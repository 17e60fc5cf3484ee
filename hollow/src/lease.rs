//! Node Leases in `kube-node-lease`: the cheap liveness signal the node lifecycle controller
//! watches. Each node's Lease is created (or taken over) at registration and its `renewTime`
//! moved forward on every renewal; a Lease deleted behind our back is recreated, like the
//! kubelet's lease controller does.

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::{Patch, PostParams};
use serde_json::json;

use crate::fleet::NodeSlot;
use crate::node::patch_params;
use crate::{FIELD_MANAGER, api_code, clock};

pub const NAMESPACE: &str = "kube-node-lease";

/// Owned by the Node so the garbage collector removes the Lease with it.
fn owner_references(node: &NodeSlot) -> Option<serde_json::Value> {
    let uid = node.uid.get().filter(|u| !u.is_empty())?;
    Some(json!([{"apiVersion": "v1", "kind": "Node", "name": node.name, "uid": uid}]))
}

fn lease_object(node: &NodeSlot, duration_seconds: i32) -> Result<Lease, serde_json::Error> {
    let mut metadata = json!({"name": node.name, "namespace": NAMESPACE});
    if let Some(refs) = owner_references(node) {
        metadata["ownerReferences"] = refs;
    }
    serde_json::from_value(json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": metadata,
        "spec": {
            "holderIdentity": node.name,
            "leaseDurationSeconds": duration_seconds,
            "renewTime": clock::micro_time(clock::now()),
        },
    }))
}

/// Moves `renewTime` to now (a patch: no read, no conflict), creating the Lease if missing.
/// `adopt` also points the owner reference at the current Node, for registration: a Lease
/// left over from an earlier Node of the same name would otherwise be garbage collected.
pub async fn renew(
    api: &Api<Lease>,
    node: &NodeSlot,
    duration_seconds: i32,
    adopt: bool,
) -> Result<(), kube::Error> {
    let mut patch = json!({"spec": {
        "holderIdentity": node.name,
        "leaseDurationSeconds": duration_seconds,
        "renewTime": clock::micro_time(clock::now()),
    }});
    if adopt && let Some(refs) = owner_references(node) {
        patch["metadata"] = json!({"ownerReferences": refs});
    }
    match api
        .patch(&node.name, &patch_params(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if api_code(&e) == Some(404) => create(api, node, duration_seconds).await,
        Err(e) => Err(e),
    }
}

async fn create(
    api: &Api<Lease>,
    node: &NodeSlot,
    duration_seconds: i32,
) -> Result<(), kube::Error> {
    let lease = lease_object(node, duration_seconds).map_err(kube::Error::SerdeError)?;
    let pp = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PostParams::default()
    };
    match api.create(&pp, &lease).await {
        Ok(_) => Ok(()),
        // Lost a race with another renewal of the same node: the Lease exists now.
        Err(e) if api_code(&e) == Some(409) => Ok(()),
        Err(e) => Err(e),
    }
}
