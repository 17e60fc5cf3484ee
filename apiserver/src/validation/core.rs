//! Core/v1 kinds other than Pod, Service and storage: Namespace, Node,
//! ConfigMap, Secret, ServiceAccount and the legacy core Event.

use serde_json::{Map, Value};

use super::access::{self, get, list, map, s};
use super::errors::{
    Bad, Errs, child, duplicate_detail, forbidden, index, invalid, key, required, too_long,
};
use super::gofmt;
use super::meta::{self, IMMUTABLE_MSG, MetaRules};
use super::names::{self, NameRule};
use super::quantity;
use super::resources;
use super::sched;

/// Upstream's `MaxSecretSize`, shared by Secrets and ConfigMaps.
const MAX_DATA_SIZE: usize = 1024 * 1024;

pub(crate) fn validate_namespace(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::cluster(NameRule::Label), errs);
    let spec = get(obj, "spec").unwrap_or(&Value::Null);
    for f in list(spec, "finalizers") {
        let f = access::scalar_string(f);
        for msg in names::qualified_name(&f) {
            errs.push(invalid("spec.finalizers", f.as_str(), msg));
        }
        meta::validate_kube_finalizer(&f, "spec.finalizers", errs);
    }
}

pub(crate) fn validate_namespace_status(new: &Value, errs: &mut Errs) {
    let phase = access::at(new, &["status", "phase"])
        .and_then(Value::as_str)
        .unwrap_or("");
    let deleting = access::at(new, &["metadata", "deletionTimestamp"]).is_some();
    if !deleting && phase != "Active" {
        errs.push(invalid(
            "status.Phase",
            phase,
            "may only be 'Active' if `deletionTimestamp` is empty",
        ));
    } else if deleting && phase != "Terminating" {
        errs.push(invalid(
            "status.Phase",
            phase,
            "may only be 'Terminating' if `deletionTimestamp` is not empty",
        ));
    }
}

pub(crate) fn validate_node(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::cluster(NameRule::Subdomain), errs);
    let spec = get(obj, "spec").unwrap_or(&Value::Null);
    validate_taints(list(spec, "taints"), errs);
    validate_node_resources(obj, errs);
    let cidrs = list(spec, "podCIDRs");
    for (i, c) in cidrs.iter().enumerate() {
        errs.extend(names::valid_cidr(
            &index("spec.podCIDRs", i),
            &access::scalar_string(c),
        ));
    }
    let mut seen: Vec<&Value> = Vec::new();
    for (i, c) in cidrs.iter().enumerate() {
        if seen.contains(&c) {
            errs.push(super::errors::duplicate(index("spec.podCIDRs", i), c));
        }
        seen.push(c);
    }
}

pub(crate) fn validate_node_update(new: &Value, old: &Value, errs: &mut Errs) {
    meta::validate_object_meta_update(new, old, true, errs);
    validate_node_resources(new, errs);
    let (ns, os) = (
        get(new, "spec").unwrap_or(&Value::Null),
        get(old, "spec").unwrap_or(&Value::Null),
    );
    let (nc, oc) = (list(ns, "podCIDRs"), list(os, "podCIDRs"));
    if !oc.is_empty() && (nc.len() != oc.len() || nc.iter().zip(oc).any(|(a, b)| a != b)) {
        errs.push(forbidden(
            "spec.podCIDRs",
            "node updates may not change podCIDR except from \"\" to valid",
        ));
    }
    let old_provider = s(os, "providerID");
    if !old_provider.is_empty() && old_provider != s(ns, "providerID") {
        errs.push(forbidden(
            "spec.providerID",
            "node updates may not change providerID except from \"\" to valid",
        ));
    }
    validate_taints(list(ns, "taints"), errs);
    if s(ns, "externalID") != s(os, "externalID") {
        errs.push(forbidden("spec.externalID", "may not be updated"));
    }
}

/// Upstream reports node taints under `metadata.taints`; kept for fidelity.
fn validate_taints(taints: &[Value], errs: &mut Errs) {
    let path = "metadata.taints";
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (i, t) in taints.iter().enumerate() {
        let p = index(path, i);
        let (k, effect) = (s(t, "key"), s(t, "effect"));
        meta::validate_label_name(k, &child(&p, "key"), errs);
        let msgs = names::label_value(s(t, "value"));
        if !msgs.is_empty() {
            errs.push(invalid(child(&p, "value"), s(t, "value"), msgs.join(";")));
        }
        sched::validate_taint_effect(effect, false, &child(&p, "effect"), errs);
        if seen.contains(&(k, effect)) {
            let repr = format!(
                "core.Taint{{Key:{}, Value:{}, Effect:{}, TimeAdded:<nil>}}",
                gofmt::quote(k),
                gofmt::quote(s(t, "value")),
                gofmt::quote(effect)
            );
            errs.push(duplicate_detail(
                &p,
                Bad::Raw(repr),
                "taints must be unique by key and effect pair",
            ));
            continue;
        }
        seen.push((k, effect));
    }
}

fn validate_node_resources(obj: &Value, errs: &mut Errs) {
    for field in ["capacity", "allocatable"] {
        let m = access::at(obj, &["status", field]).and_then(Value::as_object);
        for (name, v) in m.into_iter().flatten() {
            let p = format!("status.{field}.{name}");
            if let Some(q) = resources::parse_at(v, &p, errs) {
                resources::validate_quantity_value(name, &q, &p, errs);
            }
        }
    }
}

pub(crate) fn validate_config_map(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::namespaced(NameRule::Subdomain), errs);
    let data = map(obj, "data");
    let binary = map(obj, "binaryData");
    let mut total = 0usize;
    for (k, v) in data.into_iter().flatten() {
        let p = key("data", k);
        for msg in names::config_map_key(k) {
            errs.push(invalid(&p, k.as_str(), msg));
        }
        if binary.is_some_and(|b| b.contains_key(k)) {
            errs.push(invalid(
                &p,
                k.as_str(),
                "duplicate of key present in binaryData",
            ));
        }
        total += access::scalar_string(v).len();
    }
    for (k, v) in binary.into_iter().flatten() {
        let p = key("binaryData", k);
        for msg in names::config_map_key(k) {
            errs.push(invalid(&p, k.as_str(), msg));
        }
        match base64_decoded_len(&access::scalar_string(v)) {
            Ok(n) => total += n,
            Err(pos) => errs.push(invalid(
                &p,
                "<binary data redacted>",
                format!("illegal base64 data at input byte {pos}"),
            )),
        }
    }
    if total > MAX_DATA_SIZE {
        errs.push(too_long("", MAX_DATA_SIZE));
    }
}

pub(crate) fn validate_config_map_update(new: &Value, old: &Value, errs: &mut Errs) {
    meta::validate_object_meta_update(new, old, true, errs);
    validate_immutable_data(new, old, &["data", "binaryData"], errs);
    validate_config_map(new, errs);
}

/// `immutable: true` freezes the payload and cannot be undone.
fn validate_immutable_data(new: &Value, old: &Value, fields: &[&str], errs: &mut Errs) {
    if access::boolean(old, "immutable") != Some(true) {
        return;
    }
    const MSG: &str = "field is immutable when `immutable` is set";
    if access::boolean(new, "immutable") != Some(true) {
        errs.push(forbidden("immutable", MSG));
    }
    for f in fields {
        if !maps_equal(map(new, f), map(old, f)) {
            errs.push(forbidden(*f, MSG));
        }
    }
}

fn maps_equal(a: Option<&Map<String, Value>>, b: Option<&Map<String, Value>>) -> bool {
    let empty = Map::new();
    let (a, b) = (a.unwrap_or(&empty), b.unwrap_or(&empty));
    a.len() == b.len() && a.iter().all(|(k, v)| b.get(k) == Some(v))
}

/// Decoded size of standard base64, or the offset of the first bad byte.
pub(crate) fn base64_decoded_len(s: &str) -> Result<usize, usize> {
    let bytes: Vec<u8> = s.bytes().filter(|b| *b != b'\r' && *b != b'\n').collect();
    let mut padding = 0usize;
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' if padding == 0 => {}
            b'=' if padding < 2 => padding += 1,
            _ => return Err(i),
        }
    }
    if !bytes.len().is_multiple_of(4) {
        return Err(bytes.len() / 4 * 4);
    }
    Ok(bytes.len() / 4 * 3 - padding)
}

pub(crate) fn validate_secret(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::namespaced(NameRule::Subdomain), errs);
    let mut total = 0usize;
    let mut decoded: Vec<(String, Option<Vec<u8>>)> = Vec::new();
    for (k, v) in map(obj, "data").into_iter().flatten() {
        let p = key("data", k);
        for msg in names::config_map_key(k) {
            errs.push(invalid(&p, k.as_str(), msg));
        }
        let raw = access::scalar_string(v);
        match base64_decoded_len(&raw) {
            Ok(n) => {
                total += n;
                decoded.push((k.clone(), decode_base64(&raw)));
            }
            Err(pos) => errs.push(invalid(
                &p,
                "<secret contents redacted>",
                format!("illegal base64 data at input byte {pos}"),
            )),
        }
    }
    // stringData is merged into data by the server; count and check it too.
    for (k, v) in map(obj, "stringData").into_iter().flatten() {
        for msg in names::config_map_key(k) {
            errs.push(invalid(key("data", k), k.as_str(), msg));
        }
        let bytes = access::scalar_string(v).into_bytes();
        total += bytes.len();
        decoded.push((k.clone(), Some(bytes)));
    }
    if total > MAX_DATA_SIZE {
        errs.push(too_long("data", MAX_DATA_SIZE));
    }
    let has = |k: &str| decoded.iter().any(|(dk, _)| dk == k);
    let value = |k: &str| {
        decoded
            .iter()
            .find(|(dk, _)| dk == k)
            .and_then(|(_, v)| v.clone())
    };
    match s(obj, "type") {
        "kubernetes.io/service-account-token" => {
            let name = access::at(
                obj,
                &[
                    "metadata",
                    "annotations",
                    "kubernetes.io/service-account.name",
                ],
            );
            if name.and_then(Value::as_str).unwrap_or("").is_empty() {
                errs.push(required(
                    key("metadata.annotations", "kubernetes.io/service-account.name"),
                    "",
                ));
            }
        }
        "kubernetes.io/dockercfg" => require_json_key(".dockercfg", has, value, errs),
        "kubernetes.io/dockerconfigjson" => require_json_key(".dockerconfigjson", has, value, errs),
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            errs.push(required(key("data", "username"), ""));
            errs.push(required(key("data", "password"), ""));
        }
        "kubernetes.io/ssh-auth" if value("ssh-privatekey").is_none_or(|v| v.is_empty()) => {
            errs.push(required(key("data", "ssh-privatekey"), ""));
        }
        "kubernetes.io/tls" => {
            for k in ["tls.crt", "tls.key"] {
                if !has(k) {
                    errs.push(required(key("data", k), ""));
                }
            }
        }
        _ => {}
    }
}

fn require_json_key(
    k: &str,
    has: impl Fn(&str) -> bool,
    value: impl Fn(&str) -> Option<Vec<u8>>,
    errs: &mut Errs,
) {
    if !has(k) {
        errs.push(required(key("data", k), ""));
        return;
    }
    let bytes = value(k).unwrap_or_default();
    if let Err(e) = serde_json::from_slice::<Map<String, Value>>(&bytes) {
        errs.push(invalid(
            key("data", k),
            "<secret contents redacted>",
            e.to_string(),
        ));
    }
}

pub(crate) fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((buf >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

pub(crate) fn validate_secret_update(new: &Value, old: &Value, errs: &mut Errs) {
    meta::validate_object_meta_update(new, old, true, errs);
    let (nt, ot) = (s(new, "type"), s(old, "type"));
    if nt != ot {
        errs.push(invalid("type", nt, IMMUTABLE_MSG));
    }
    validate_immutable_data(new, old, &["data"], errs);
    validate_secret(new, errs);
}

pub(crate) fn validate_service_account(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::namespaced(NameRule::Subdomain), errs);
}

/// Legacy core/v1 Event checks; names are not validated for this API.
pub(crate) fn validate_core_event(obj: &Value, errs: &mut Errs) {
    let md = meta::metadata(obj);
    let ns = s(md, "namespace");
    let involved_ns = access::at(obj, &["involvedObject", "namespace"])
        .and_then(Value::as_str)
        .unwrap_or("");
    let event_time_set = access::is_set(obj, "eventTime");
    let mismatch = if !event_time_set {
        if involved_ns.is_empty() {
            !ns.is_empty() && ns != "default"
        } else {
            ns != involved_ns
        }
    } else {
        involved_ns.is_empty() && ns != "default" && ns != "kube-system"
    };
    if mismatch {
        errs.push(invalid(
            "involvedObject.namespace",
            involved_ns,
            "does not match event.namespace",
        ));
    }
    if event_time_set {
        validate_reporting_fields(obj, "reportingComponent", "message", errs);
    }
    for msg in names::dns1123_subdomain(ns) {
        errs.push(invalid("namespace", ns, msg));
    }
}

/// Fields every "new style" event (one with eventTime) must carry.
pub(crate) fn validate_reporting_fields(
    obj: &Value,
    controller_field: &str,
    note_field: &str,
    errs: &mut Errs,
) {
    let controller = s(obj, controller_field);
    if controller.is_empty() {
        errs.push(required(controller_field, ""));
    }
    for msg in names::qualified_name(controller) {
        errs.push(invalid(controller_field, controller, msg));
    }
    for (field, limit) in [
        ("reportingInstance", 128usize),
        ("action", 128),
        ("reason", 128),
    ] {
        let v = s(obj, field);
        if v.is_empty() {
            errs.push(required(field, ""));
        }
        if v.len() > limit {
            errs.push(invalid(
                field,
                "",
                format!("can have at most {limit} characters"),
            ));
        }
    }
    if s(obj, note_field).len() > 1024 {
        errs.push(invalid("message", "", "can have at most 1024 characters"));
    }
}

/// Quantities in a map (PV capacity, PVC requests) must parse.
pub(crate) fn parse_quantity_map(
    m: Option<&Map<String, Value>>,
    path: &str,
    errs: &mut Errs,
) -> Vec<(String, quantity::Quantity)> {
    let mut out = Vec::new();
    for (name, v) in m.into_iter().flatten() {
        if let Some(q) = resources::parse_at(v, &key(path, name), errs) {
            out.push((name.clone(), q));
        }
    }
    out
}
