//! Defaults for core/v1 kinds other than Pod and Service, plus
//! discovery.k8s.io EndpointSlice and scheduling.k8s.io PriorityClass.

use serde_json::{Map, Value, json};

use super::{
    as_map, canonicalize_quantities, child, existing, items, set_default, set_default_str,
};

pub(crate) fn default_namespace(obj: &mut Value) {
    // Every namespace carries its own name as a label, so NetworkPolicy namespaceSelectors
    // can pick namespaces by name (Kubernetes does the same, and overrides any user value).
    if let Some(name) = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(str::to_string)
        && let Some(meta) = as_map(obj).and_then(|m| child(m, "metadata"))
        && let Some(labels) = child(meta, "labels")
    {
        labels.insert("kubernetes.io/metadata.name".into(), json!(name));
    }
    let Some(status) = as_map(obj).and_then(|m| child(m, "status")) else {
        return;
    };
    set_default_str(status, "phase", "Active");
}

pub(crate) fn default_node(obj: &mut Value) {
    let Some(status) = as_map(obj).and_then(|m| existing(m, "status")) else {
        return;
    };
    canonicalize_quantities(status, "capacity");
    canonicalize_quantities(status, "allocatable");
    if let Some(cap) = status.get("capacity").filter(|c| c.is_object()).cloned() {
        set_default(status, "allocatable", cap);
    }
}

/// Sets the type, and folds the write-only `stringData` into `data` the way
/// upstream's conversion does, so the stored object never contains it.
pub(crate) fn default_secret(obj: &mut Value) {
    let Some(m) = as_map(obj) else { return };
    set_default_str(m, "type", "Opaque");
    let Some(Value::Object(string_data)) = m.remove("stringData") else {
        return;
    };
    let Some(data) = child(m, "data") else { return };
    for (k, v) in string_data {
        let text = match v {
            Value::String(s) => s,
            other => other.to_string(),
        };
        data.insert(k, Value::String(base64_encode(text.as_bytes())));
    }
}

/// Standard padded base64.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub(crate) fn default_endpoints(obj: &mut Value) {
    let Some(m) = as_map(obj) else { return };
    for subset in items(m, "subsets") {
        for port in items(subset, "ports") {
            set_default_str(port, "protocol", "TCP");
        }
    }
}

pub(crate) fn default_pv(obj: &mut Value) {
    let Some(m) = as_map(obj) else { return };
    if let Some(spec) = child(m, "spec") {
        set_default_str(spec, "persistentVolumeReclaimPolicy", "Retain");
        set_default(spec, "volumeMode", json!("Filesystem"));
        canonicalize_quantities(spec, "capacity");
    }
    if let Some(status) = child(m, "status") {
        set_default_str(status, "phase", "Pending");
    }
}

pub(crate) fn default_pvc(obj: &mut Value) {
    let Some(m) = as_map(obj) else { return };
    if let Some(spec) = child(m, "spec") {
        default_claim_spec(spec);
    }
    if let Some(status) = child(m, "status") {
        set_default_str(status, "phase", "Pending");
    }
}

/// `SetDefaults_PersistentVolumeClaimSpec`, shared with claim templates.
pub(crate) fn default_claim_spec(spec: &mut Map<String, Value>) {
    set_default(spec, "volumeMode", json!("Filesystem"));
    if let Some(res) = existing(spec, "resources") {
        canonicalize_quantities(res, "requests");
        canonicalize_quantities(res, "limits");
    }
}

pub(crate) fn default_endpoint_slice(obj: &mut Value) {
    let Some(m) = as_map(obj) else { return };
    for port in items(m, "ports") {
        set_default(port, "name", json!(""));
        set_default(port, "protocol", json!("TCP"));
    }
}

pub(crate) fn default_priority_class(obj: &mut Value) {
    let Some(m) = as_map(obj) else { return };
    set_default(m, "preemptionPolicy", json!("PreemptLowerPriority"));
}
