//! Smaller API groups: coordination.k8s.io Lease, discovery.k8s.io
//! EndpointSlice, events.k8s.io Event, scheduling.k8s.io PriorityClass and
//! policy PodDisruptionBudget.

use serde_json::Value;

use super::access::{self, get, int, list, s};
use super::core;
use super::errors::{
    Bad, Errs, child, duplicate, forbidden, index, invalid, not_supported, required, too_many,
};
use super::gofmt;
use super::meta::{self, IMMUTABLE_MSG, MetaRules};
use super::names::{self, NameRule};
use super::podspec;

static NULL: Value = Value::Null;
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const HIGHEST_USER_PRIORITY: i64 = 1_000_000_000;

fn spec(obj: &Value) -> &Value {
    get(obj, "spec").unwrap_or(&NULL)
}

pub(crate) fn validate_lease(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::namespaced(NameRule::Subdomain), errs);
    let spec = spec(obj);
    if let Some(d) = int(spec, "leaseDurationSeconds").filter(|d| *d <= 0) {
        errs.push(invalid(
            "spec.leaseDurationSeconds",
            d,
            "must be greater than 0",
        ));
    }
    if let Some(t) = int(spec, "leaseTransitions").filter(|t| *t < 0) {
        errs.push(invalid("spec.leaseTransitions", t, meta::NEGATIVE_MSG));
    }
}

pub(crate) fn validate_endpoint_slice(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::namespaced(NameRule::Subdomain), errs);
    let addr_type = s(obj, "addressType");
    const TYPES: &[&str] = &["FQDN", "IPv4", "IPv6"];
    if addr_type.is_empty() {
        errs.push(required("addressType", ""));
    } else if !TYPES.contains(&addr_type) {
        errs.push(not_supported("addressType", addr_type, TYPES));
    }
    let endpoints = list(obj, "endpoints");
    if endpoints.len() > 1000 {
        errs.push(too_many("endpoints", endpoints.len(), 1000));
    }
    for (i, ep) in endpoints.iter().enumerate() {
        let p = index("endpoints", i);
        let ap = child(&p, "addresses");
        let addrs = list(ep, "addresses");
        if addrs.is_empty() {
            errs.push(required(&ap, "must contain at least 1 address"));
        } else if addrs.len() > 100 {
            errs.push(too_many(&ap, addrs.len(), 100));
        }
        for (j, a) in addrs.iter().enumerate() {
            let a = access::scalar_string(a);
            let path = index(&ap, j);
            match addr_type {
                "IPv4" | "IPv6" => {
                    let family_ok = match names::parse_ip(&a) {
                        Some(std::net::IpAddr::V4(_)) => addr_type == "IPv4",
                        Some(std::net::IpAddr::V6(_)) => addr_type == "IPv6",
                        None => false,
                    };
                    if family_ok {
                        errs.extend(names::non_special_ip(&path, &a));
                    } else {
                        errs.push(invalid(
                            &path,
                            a.as_str(),
                            format!("must be a valid {addr_type} address"),
                        ));
                    }
                }
                "FQDN" => validate_fqdn(&a, &path, errs),
                _ => {}
            }
        }
        if let Some(node) = access::opt_s(ep, "nodeName") {
            for msg in names::dns1123_subdomain(node) {
                errs.push(invalid(child(&p, "nodeName"), node, msg));
            }
        }
        meta::validate_labels(
            get(ep, "deprecatedTopology"),
            &child(&p, "deprecatedTopology"),
            errs,
        );
        if let Some(host) = access::opt_s(ep, "hostname") {
            for msg in names::dns1123_label(host) {
                errs.push(invalid(child(&p, "hostname"), host, msg));
            }
        }
    }
    let ports = list(obj, "ports");
    if ports.len() > 20000 {
        errs.push(too_many("ports", ports.len(), 20000));
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let p = index("ports", i);
        let name = s(port, "name");
        if !name.is_empty() {
            for msg in names::dns1123_label(name) {
                errs.push(invalid(child(&p, "name"), name, msg));
            }
        }
        if seen.contains(&name) {
            errs.push(duplicate(child(&p, "name"), name));
        } else {
            seen.push(name);
        }
        match access::opt_s(port, "protocol") {
            None => errs.push(required(child(&p, "protocol"), "")),
            Some(proto) if !PROTOCOLS.contains(&proto) => {
                errs.push(not_supported(child(&p, "protocol"), proto, PROTOCOLS));
            }
            Some(_) => {}
        }
        if let Some(n) = int(port, "port") {
            for msg in names::port_num(n) {
                errs.push(invalid(child(&p, "port"), n, msg));
            }
        }
        if let Some(ap) = access::opt_s(port, "appProtocol") {
            for msg in names::qualified_name(ap) {
                errs.push(invalid(child(&p, "appProtocol"), ap, msg));
            }
        }
    }
}

fn validate_fqdn(name: &str, path: &str, errs: &mut Errs) {
    if name.is_empty() {
        errs.push(required(path, ""));
        return;
    }
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    let msgs = names::dns1123_subdomain(trimmed);
    if !msgs.is_empty() {
        errs.push(invalid(path, trimmed, msgs.join(",")));
        return;
    }
    if trimmed.split('.').count() < 2 {
        errs.push(invalid(
            path,
            trimmed,
            "should be a domain with at least two segments separated by dots",
        ));
        return;
    }
    for label in trimmed.split('.') {
        let msgs = names::dns1123_label(label);
        if !msgs.is_empty() {
            errs.push(invalid(path, label, msgs.join(",")));
            return;
        }
    }
}

pub(crate) fn validate_endpoint_slice_update(new: &Value, old: &Value, errs: &mut Errs) {
    meta::validate_object_meta_update(new, old, true, errs);
    let mut rest = Errs::new();
    validate_endpoint_slice(new, &mut rest);
    errs.extend(
        rest.into_iter()
            .filter(|e| !e.field.starts_with("metadata.")),
    );
    let old_type = s(old, "addressType");
    if ["FQDN", "IPv4", "IPv6"].contains(&old_type) && s(new, "addressType") != old_type {
        errs.push(invalid("addressType", s(new, "addressType"), IMMUTABLE_MSG));
    }
}

/// events.k8s.io/v1 Event: strict validation of "new style" events.
pub(crate) fn validate_events_event(obj: &Value, errs: &mut Errs) {
    let md = meta::metadata(obj);
    let ns = s(md, "namespace");
    let regarding_ns = access::at(obj, &["regarding", "namespace"])
        .and_then(Value::as_str)
        .unwrap_or("");
    if access::is_set(obj, "eventTime")
        && regarding_ns.is_empty()
        && ns != "default"
        && ns != "kube-system"
    {
        errs.push(invalid(
            "involvedObject.namespace",
            regarding_ns,
            "does not match event.namespace",
        ));
    }
    if access::is_set(obj, "eventTime") {
        core::validate_reporting_fields(obj, "reportingController", "note", errs);
    }
    for msg in names::dns1123_subdomain(ns) {
        errs.push(invalid("namespace", ns, msg));
    }
    meta::validate_object_meta(obj, MetaRules::namespaced(NameRule::Subdomain), errs);
    if let Some(series) = get(obj, "series") {
        let count = int(series, "count").unwrap_or(0);
        if count < 2 {
            errs.push(invalid("series.count", "", "should be at least 2"));
        }
        if !access::is_set(series, "lastObservedTime") {
            errs.push(required("series.lastObservedTime", ""));
        }
    }
    if !access::is_set(obj, "eventTime") {
        errs.push(required("eventTime", ""));
    }
    let ty = s(obj, "type");
    if ty != "Normal" && ty != "Warning" {
        errs.push(invalid("type", "", format!("has invalid value: {ty}")));
    }
    for (json, field) in [
        ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"),
    ] {
        if access::is_set(obj, json) {
            errs.push(invalid(field, "", "needs to be unset"));
        }
    }
    if int(obj, "deprecatedCount").unwrap_or(0) != 0 {
        errs.push(invalid("count", "", "needs to be unset"));
    }
    let src = get(obj, "deprecatedSource").unwrap_or(&NULL);
    if !s(src, "component").is_empty() || !s(src, "host").is_empty() {
        errs.push(invalid("source", "", "needs to be unset"));
    }
}

pub(crate) fn validate_events_event_update(new: &Value, old: &Value, errs: &mut Errs) {
    let mut rest = Errs::new();
    validate_events_event(new, &mut rest);
    errs.extend(
        rest.into_iter()
            .filter(|e| !e.field.starts_with("metadata.")),
    );
    meta::validate_object_meta_update(new, old, true, errs);
    for (json, field) in [
        ("regarding", "involvedObject"),
        ("reason", "reason"),
        ("note", "message"),
        ("deprecatedSource", "source"),
        ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"),
        ("deprecatedCount", "count"),
        ("type", "type"),
        ("eventTime", "eventTime"),
        ("action", "action"),
        ("related", "related"),
        ("reportingController", "reportingController"),
        ("reportingInstance", "reportingInstance"),
    ] {
        meta::immutable(errs, field, get(new, json), get(old, json));
    }
}

pub(crate) fn validate_priority_class(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::cluster(NameRule::Subdomain), errs);
    let name = access::at(obj, &["metadata", "name"])
        .and_then(Value::as_str)
        .unwrap_or("");
    let value = int(obj, "value").unwrap_or(0);
    if name.starts_with("system-") {
        let known = match name {
            "system-node-critical" => Some(2_000_001_000),
            "system-cluster-critical" => Some(2_000_000_000),
            _ => None,
        };
        let problem = match known {
            None => Some(format!("{name} is not a known system priority class")),
            Some(v) if v != value => Some(format!("value of {name} PriorityClass must be {v}")),
            Some(_) if access::boolean(obj, "globalDefault") == Some(true) => Some(format!(
                "globalDefault of {name} PriorityClass must be false"
            )),
            Some(_) => None,
        };
        if let Some(p) = problem {
            errs.push(forbidden(
                "metadata.name",
                format!("priority class names with 'system-' prefix are reserved for system use only. error: {p}"),
            ));
        }
    } else if value > HIGHEST_USER_PRIORITY {
        errs.push(forbidden(
            "value",
            format!("maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}"),
        ));
    }
    if let Some(pp) = access::opt_s(obj, "preemptionPolicy") {
        podspec::validate_preemption_policy(pp, "preemptionPolicy", errs);
    }
}

pub(crate) fn validate_priority_class_update(new: &Value, old: &Value, errs: &mut Errs) {
    meta::validate_object_meta_update(new, old, true, errs);
    if int(new, "value") != int(old, "value") {
        errs.push(forbidden("value", "may not be changed in an update."));
    }
    meta::immutable(
        errs,
        "preemptionPolicy",
        get(new, "preemptionPolicy"),
        get(old, "preemptionPolicy"),
    );
}

pub(crate) fn validate_pdb(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::namespaced(NameRule::Subdomain), errs);
    let spec = spec(obj);
    let (min, max) = (get(spec, "minAvailable"), get(spec, "maxUnavailable"));
    if min.is_some() && max.is_some() {
        errs.push(invalid(
            "spec",
            Bad::Raw(gofmt::json(spec)),
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    for (v, f) in [(min, "minAvailable"), (max, "maxUnavailable")] {
        let Some(v) = v else { continue };
        let p = format!("spec.{f}");
        match v {
            Value::String(s) => {
                let msgs = names::percent(s);
                for msg in &msgs {
                    errs.push(invalid(&p, Bad::Raw(s.clone()), msg.clone()));
                }
                let pct: Option<i64> = if msgs.is_empty() {
                    s.trim_end_matches('%').parse().ok()
                } else {
                    None
                };
                if pct.is_some_and(|p| p > 100) {
                    errs.push(invalid(
                        &p,
                        Bad::Raw(s.clone()),
                        "must not be greater than 100%",
                    ));
                }
            }
            other => meta::nonneg(errs, &p, access::as_int(other)),
        }
    }
    meta::validate_label_selector(get(spec, "selector"), "spec.selector", errs);
    if let Some(p) = access::opt_s(spec, "unhealthyPodEvictionPolicy") {
        let allowed = ["AlwaysAllow", "IfHealthyBudget"];
        if !allowed.contains(&p) {
            errs.push(not_supported(
                "spec.unhealthyPodEvictionPolicy",
                p,
                &allowed,
            ));
        }
    }
}
