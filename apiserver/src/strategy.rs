//! Per-kind rules the generic REST code consults: what happens to `status` on create and
//! update, which kinds track `metadata.generation`, and kind-specific fields the server sets.
//! Defaulting and validation proper live in `defaults` and `validation`.

use serde_json::{Value, json};

use capstan_api_types::ResourceInfo;

/// Kinds whose `metadata.generation` counts spec changes (observed by their controllers).
pub fn tracks_generation(r: &ResourceInfo) -> bool {
    matches!(
        r.kind,
        "Deployment"
            | "ReplicaSet"
            | "StatefulSet"
            | "DaemonSet"
            | "Job"
            | "CronJob"
            | "PodDisruptionBudget"
            | "Pod"
    )
}

/// Prepares `status` of a new object: clients cannot create objects with a status when the
/// kind has a status subresource, except Nodes (the kubelet registers with status).
pub fn prepare_status_on_create(r: &ResourceInfo, obj: &mut Value) {
    if !r.has_status() || r.kind == "Node" {
        return;
    }
    let status = match r.kind {
        "Pod" => json!({"phase": "Pending", "qosClass": pod_qos_class(obj)}),
        "Namespace" => json!({"phase": "Active"}),
        "PersistentVolumeClaim" => json!({"phase": "Pending"}),
        "PersistentVolume" => json!({"phase": "Pending"}),
        _ => json!({}),
    };
    obj["status"] = status;
}

/// Spec (everything but metadata and status) differs between two objects.
pub fn spec_changed(old: &Value, new: &Value) -> bool {
    !crate::stored_form::spec_equal(old, new)
}

/// Pod QoS class from container requests and limits, as the kubelet and API server compute it.
pub fn pod_qos_class(pod: &Value) -> &'static str {
    let containers = ["containers", "initContainers"]
        .iter()
        .flat_map(|f| {
            pod.pointer(&format!("/spec/{f}"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .collect::<Vec<_>>();
    let mut any_set = false;
    let mut guaranteed = true;
    for c in &containers {
        let requests = c.pointer("/resources/requests").and_then(Value::as_object);
        let limits = c.pointer("/resources/limits").and_then(Value::as_object);
        for res in ["cpu", "memory"] {
            let req = requests.and_then(|m| m.get(res));
            let lim = limits.and_then(|m| m.get(res));
            if req.is_some() || lim.is_some() {
                any_set = true;
            }
            match (req, lim) {
                (_, None) => guaranteed = false,
                (Some(r), Some(l)) if r != l => guaranteed = false,
                _ => {}
            }
        }
    }
    if !any_set {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qos_classes() {
        let be = json!({"spec": {"containers": [{"name": "a"}]}});
        assert_eq!(pod_qos_class(&be), "BestEffort");
        let g = json!({"spec": {"containers": [{"name": "a", "resources": {
            "limits": {"cpu": "1", "memory": "1Gi"}}}]}});
        assert_eq!(pod_qos_class(&g), "Guaranteed");
        let b = json!({"spec": {"containers": [{"name": "a", "resources": {
            "requests": {"cpu": "1"}}}]}});
        assert_eq!(pod_qos_class(&b), "Burstable");
    }
}
