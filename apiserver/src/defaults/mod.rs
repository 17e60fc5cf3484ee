//! v1 defaulting for Capstan's built-in kinds, modelled on kube-apiserver's
//! `SetDefaults_*` functions plus the few strategy/admission steps whose
//! output users see on every object (Job selectors, Pod priority).
//!
//! All functions mutate a `serde_json::Value` in place, only fill fields
//! that are absent or null, and are idempotent, so they can run on every
//! decode of a request.

mod core;
mod pod;
pub(crate) mod service;
mod workloads;

use serde_json::{Map, Value};

/// Applies the API's v1 defaults for `(group, kind)` to `obj`.
///
/// For Jobs, the selector and its pod labels are generated only once
/// `metadata.uid` and `metadata.name` are set, so call this after the server
/// assigns the uid and resolves `generateName` (it is idempotent).
pub fn apply_defaults(group: &str, kind: &str, obj: &mut Value) {
    match (group, kind) {
        ("", "Pod") => pod::default_pod(obj),
        ("", "Service") => service::default_service(obj),
        ("", "Namespace") => core::default_namespace(obj),
        ("", "Node") => core::default_node(obj),
        ("", "Secret") => core::default_secret(obj),
        ("", "Endpoints") => core::default_endpoints(obj),
        ("", "PersistentVolume") => core::default_pv(obj),
        ("", "PersistentVolumeClaim") => core::default_pvc(obj),
        ("apps", "Deployment") => workloads::default_deployment(obj),
        ("apps", "ReplicaSet") => workloads::default_replica_set(obj),
        ("apps", "StatefulSet") => workloads::default_stateful_set(obj),
        ("apps", "DaemonSet") => workloads::default_daemon_set(obj),
        ("batch", "Job") => workloads::default_job(obj),
        ("batch", "CronJob") => workloads::default_cron_job(obj),
        ("discovery.k8s.io", "EndpointSlice") => core::default_endpoint_slice(obj),
        ("scheduling.k8s.io", "PriorityClass") => core::default_priority_class(obj),
        _ => {}
    }
}

/// Kinds whose status is owned by the `/status` subresource: writes to the
/// main resource keep the stored status, as upstream strategies do.
fn has_status_subresource(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        (
            "",
            "Pod" | "Service" | "Node" | "Namespace" | "PersistentVolume" | "PersistentVolumeClaim"
        ) | (
            "apps",
            "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet"
        ) | ("batch", "Job" | "CronJob")
            | ("policy", "PodDisruptionBudget")
    )
}

/// Strategy-level preparation of an update through the main resource, run
/// after `apply_defaults` and before `validate_update`: keeps the stored
/// status, and for Services carries over server-allocated values (cluster
/// IPs, node ports, IP families) the client omitted and drops those the new
/// type no longer uses.
pub fn prepare_for_update(group: &str, kind: &str, new: &mut Value, old: &Value) {
    if has_status_subresource(group, kind) {
        copy_field(new, old, "status");
    }
    if (group, kind) == ("", "Service") {
        service::prepare_update(new, old);
    }
}

/// Preparation of a `/status` write: the spec cannot change through it.
pub fn prepare_for_status_update(group: &str, kind: &str, new: &mut Value, old: &Value) {
    if has_status_subresource(group, kind) {
        copy_field(new, old, "spec");
    }
}

fn copy_field(new: &mut Value, old: &Value, field: &str) {
    let Some(obj) = new.as_object_mut() else {
        return;
    };
    match old.get(field) {
        Some(v) => obj.insert(field.to_string(), v.clone()),
        None => obj.remove(field),
    };
}

/// The object map at `v`, if `v` is an object.
pub(crate) fn as_map(v: &mut Value) -> Option<&mut Map<String, Value>> {
    v.as_object_mut()
}

/// The object member `k`, created as `{}` when absent or null. Returns
/// `None` when the member exists with another type, which validation reports.
pub(crate) fn child<'a>(
    m: &'a mut Map<String, Value>,
    k: &str,
) -> Option<&'a mut Map<String, Value>> {
    let slot = m.entry(k.to_string()).or_insert(Value::Null);
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

/// The existing object member `k`, without creating it.
pub(crate) fn existing<'a>(
    m: &'a mut Map<String, Value>,
    k: &str,
) -> Option<&'a mut Map<String, Value>> {
    m.get_mut(k).and_then(Value::as_object_mut)
}

/// Every object element of the array member `k`.
pub(crate) fn items<'a>(
    m: &'a mut Map<String, Value>,
    k: &str,
) -> impl Iterator<Item = &'a mut Map<String, Value>> {
    m.get_mut(k)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

/// Sets `k` to `v` when absent or null.
pub(crate) fn set_default(m: &mut Map<String, Value>, k: &str, v: Value) {
    let slot = m.entry(k.to_string()).or_insert(Value::Null);
    if slot.is_null() {
        *slot = v;
    }
}

/// Sets `k` when absent, null, or an empty string (Go's zero value).
pub(crate) fn set_default_str(m: &mut Map<String, Value>, k: &str, v: &str) {
    let empty = m
        .get(k)
        .is_none_or(|x| x.is_null() || x.as_str() == Some(""));
    if empty {
        m.insert(k.to_string(), Value::String(v.to_string()));
    }
}

/// Sets `k` when absent, null or zero (Go's zero value for integers).
pub(crate) fn set_default_int(m: &mut Map<String, Value>, k: &str, v: i64) {
    let zero = m
        .get(k)
        .is_none_or(|x| x.is_null() || crate::validation::access::as_int(x) == Some(0));
    if zero {
        m.insert(k.to_string(), Value::from(v));
    }
}

/// Rewrites every parseable quantity in the map member `k` into canonical
/// form ("1000m" becomes "1"), as upstream's serializer would.
pub(crate) fn canonicalize_quantities(m: &mut Map<String, Value>, k: &str) {
    let Some(list) = existing(m, k) else { return };
    for v in list.values_mut() {
        canonicalize_quantity(v);
    }
}

pub(crate) fn canonicalize_quantity(v: &mut Value) {
    if let Some(q) = crate::validation::quantity::from_json(v) {
        *v = Value::String(q.canonical());
    }
}

#[cfg(test)]
mod tests;
