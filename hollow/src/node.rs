//! The Node objects: what a hollow node looks like (labels, taints, podCIDR, capacity, node
//! info, addresses, conditions), registering it (create, or take over an existing Node of the
//! same name) and the periodic heartbeat that refreshes `lastHeartbeatTime`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::config::HollowConfig;
use crate::fleet::NodeSlot;
use crate::{FIELD_MANAGER, api_code, clock, ipam};

pub const KUBELET_VERSION: &str = "v1.33.0-hollow";
pub const RUNTIME_VERSION: &str = "hollow://0.1";

pub fn labels(config: &HollowConfig, node: &NodeSlot) -> BTreeMap<String, String> {
    let mut l = BTreeMap::from([
        ("kubernetes.io/hostname".to_string(), node.name.clone()),
        ("kubernetes.io/os".to_string(), "linux".to_string()),
        ("kubernetes.io/arch".to_string(), "amd64".to_string()),
        (
            "node.kubernetes.io/instance-type".to_string(),
            "hollow".to_string(),
        ),
    ]);
    if config.zones > 0 {
        l.insert(
            "topology.kubernetes.io/zone".into(),
            format!("zone-{}", node.index % config.zones),
        );
    }
    l.extend(config.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    l
}

/// The parts of the Node the hollow node owns outside `status`. No taints is `null`, which a
/// merge patch reads as "remove", and creation as "absent".
fn spec(config: &HollowConfig, node: &NodeSlot) -> Value {
    let cidr = ipam::pod_cidr(node.index);
    json!({
        "podCIDR": cidr,
        "podCIDRs": [cidr],
        "providerID": format!("hollow://{}", node.name),
        "taints": (!config.taints.is_empty()).then_some(&config.taints),
    })
}

fn node_object(config: &HollowConfig, node: &NodeSlot) -> Result<Node, serde_json::Error> {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": node.name, "labels": labels(config, node)},
        "spec": spec(config, node),
    }))
}

/// The four conditions a healthy kubelet reports, stamped with this heartbeat.
fn conditions(node: &NodeSlot) -> Value {
    let beat = clock::time(clock::now());
    let since = node.ready_since();
    let c = |type_: &str, status: &str, reason: &str, message: &str| {
        json!({
            "type": type_, "status": status, "reason": reason, "message": message,
            "lastHeartbeatTime": beat, "lastTransitionTime": since,
        })
    };
    json!([
        c(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available"
        ),
        c(
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure"
        ),
        c(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available"
        ),
        c(
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status"
        ),
    ])
}

fn full_status(config: &HollowConfig, node: &NodeSlot) -> Value {
    let resources = json!({
        "cpu": config.cpu,
        "memory": config.memory,
        "pods": config.max_pods.to_string(),
        "ephemeral-storage": config.ephemeral_storage,
    });
    json!({"status": {
        "capacity": resources,
        "allocatable": resources,
        "conditions": conditions(node),
        "addresses": [
            {"type": "InternalIP", "address": node.internal_ip.to_string()},
            {"type": "Hostname", "address": node.name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": format!("hollow-machine-{}", node.index),
            "systemUUID": format!("hollow-uuid-{}", node.index),
            "bootID": format!("hollow-boot-{}", node.index),
            "kernelVersion": "6.1.0-hollow",
            "osImage": "Hollow Linux",
            "containerRuntimeVersion": RUNTIME_VERSION,
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": KUBELET_VERSION,
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    }})
}

pub fn patch_params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    }
}

/// Creates the Node, or takes over an existing one of the same name (our labels merged in,
/// our taints and podCIDR set), then writes the full status. Returns the Node's uid.
pub async fn register(
    api: &Api<Node>,
    config: &HollowConfig,
    node: &NodeSlot,
) -> Result<String, kube::Error> {
    let obj = node_object(config, node).map_err(kube::Error::SerdeError)?;
    let pp = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PostParams::default()
    };
    let created = match api.create(&pp, &obj).await {
        Ok(n) => n,
        Err(e) if api_code(&e) == Some(409) => {
            tracing::debug!(node = %node.name, "taking over existing node");
            let patch = json!({
                "metadata": {"labels": labels(config, node)},
                "spec": spec(config, node),
            });
            api.patch(&node.name, &patch_params(), &Patch::Merge(&patch))
                .await?
        }
        Err(e) => return Err(e),
    };
    api.patch_status(
        &node.name,
        &patch_params(),
        &Patch::Strategic(full_status(config, node)),
    )
    .await?;
    Ok(created.metadata.uid.unwrap_or_default())
}

/// Refreshes the conditions' heartbeat. A Node deleted behind our back stays deleted, as with
/// a real kubelet (which registers only at start).
pub async fn heartbeat(api: &Api<Node>, node: &NodeSlot) -> Result<(), kube::Error> {
    let patch = json!({"status": {"conditions": conditions(node)}});
    api.patch_status(&node.name, &patch_params(), &Patch::Strategic(patch))
        .await
        .map(drop)
}
