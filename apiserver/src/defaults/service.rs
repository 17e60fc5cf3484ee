//! Service defaults and the strategy steps upstream applies around them:
//! mirroring `clusterIP` into `clusterIPs`, and on update carrying over
//! allocated values and dropping fields the new service type cannot use.

use serde_json::{Map, Value, json};

use super::{as_map, child, items, set_default, set_default_str};
use crate::validation::access;

/// Upstream's `DefaultClientIPServiceAffinitySeconds` (three hours).
const CLIENT_IP_TIMEOUT: i64 = 10800;

fn ty(spec: &Map<String, Value>) -> &str {
    spec.get("type").and_then(Value::as_str).unwrap_or("")
}

fn externally_accessible(spec: &Map<String, Value>) -> bool {
    match ty(spec) {
        "LoadBalancer" | "NodePort" => true,
        "ClusterIP" => spec
            .get("externalIPs")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty()),
        _ => false,
    }
}

pub(crate) fn default_service(obj: &mut Value) {
    normalize_cluster_ips(obj);
    let Some(spec) = as_map(obj).and_then(|m| child(m, "spec")) else {
        return;
    };
    set_default_str(spec, "sessionAffinity", "None");
    match spec.get("sessionAffinity").and_then(Value::as_str) {
        Some("None") => {
            spec.remove("sessionAffinityConfig");
        }
        Some("ClientIP") => {
            let has_timeout = spec
                .get("sessionAffinityConfig")
                .and_then(|c| access::at(c, &["clientIP", "timeoutSeconds"]))
                .is_some();
            if !has_timeout {
                spec.insert(
                    "sessionAffinityConfig".to_string(),
                    json!({ "clientIP": { "timeoutSeconds": CLIENT_IP_TIMEOUT } }),
                );
            }
        }
        _ => {}
    }
    set_default_str(spec, "type", "ClusterIP");
    for port in items(spec, "ports") {
        set_default_str(port, "protocol", "TCP");
        let target_unset = match port.get("targetPort") {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(other) => access::as_int(other) == Some(0),
        };
        if target_unset {
            let p = port.get("port").cloned().unwrap_or(json!(0));
            port.insert("targetPort".to_string(), p);
        }
    }
    if externally_accessible(spec) {
        set_default_str(spec, "externalTrafficPolicy", "Cluster");
    }
    if matches!(ty(spec), "NodePort" | "LoadBalancer" | "ClusterIP") {
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if ty(spec) == "LoadBalancer" {
        set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if ty(spec) != "ExternalName" {
        // The IP allocator would fill these; single-stack IPv4 unless the
        // assigned addresses say otherwise.
        set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
        let first_v6 = spec
            .get("clusterIPs")
            .and_then(Value::as_array)
            .and_then(|ips| ips.first())
            .and_then(Value::as_str)
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok());
        set_default(
            spec,
            "ipFamilies",
            json!([if first_v6 { "IPv6" } else { "IPv4" }]),
        );
    }
}

/// Keeps `clusterIP` and `clusterIPs` in sync when the client set only one.
pub(crate) fn normalize_cluster_ips(obj: &mut Value) {
    let Some(spec) = as_map(obj)
        .and_then(|m| m.get_mut("spec"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let ip = spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let ips_empty = spec
        .get("clusterIPs")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if !ip.is_empty() && ips_empty {
        spec.insert("clusterIPs".to_string(), json!([ip]));
    } else if ip.is_empty() && !ips_empty {
        let first = spec
            .get("clusterIPs")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .cloned()
            .unwrap_or(Value::Null);
        spec.insert("clusterIP".to_string(), first);
    }
}

fn needs_cluster_ip(spec: &Value) -> bool {
    access::s(spec, "type") != "ExternalName"
}

fn needs_node_port(spec: &Value) -> bool {
    matches!(access::s(spec, "type"), "NodePort" | "LoadBalancer")
}

fn needs_hc_node_port(spec: &Value) -> bool {
    access::s(spec, "type") == "LoadBalancer" && access::s(spec, "externalTrafficPolicy") == "Local"
}

/// Carries over allocated values the client omitted and wipes values the
/// new type no longer uses (only when the client left them unchanged).
pub(crate) fn prepare_update(new: &mut Value, old: &Value) {
    normalize_cluster_ips(new);
    let os = access::get(old, "spec").cloned().unwrap_or(Value::Null);
    let Some(spec) = as_map(new).and_then(|m| child(m, "spec")) else {
        return;
    };
    let snapshot = Value::Object(spec.clone());
    let same = |k: &str| access::sem_eq(snapshot.get(k), os.get(k));
    if needs_cluster_ip(&os) && needs_cluster_ip(&snapshot) {
        for k in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            if access::get(&snapshot, k)
                .is_none_or(|v| v.as_str() == Some("") || v.as_array().is_some_and(Vec::is_empty))
                && let Some(v) = access::get(&os, k)
            {
                spec.insert(k.to_string(), v.clone());
            }
        }
    }
    if needs_node_port(&os) && needs_node_port(&snapshot) {
        let old_ports = access::list(&os, "ports");
        let used: Vec<i64> = access::list(&snapshot, "ports")
            .iter()
            .filter_map(|p| access::int(p, "nodePort"))
            .filter(|n| *n != 0)
            .collect();
        for port in items(spec, "ports") {
            let current = port.get("nodePort").and_then(access::as_int).unwrap_or(0);
            if current != 0 {
                continue;
            }
            let name = port.get("name").and_then(Value::as_str).unwrap_or("");
            let old_np = old_ports
                .iter()
                .find(|p| access::s(p, "name") == name)
                .and_then(|p| access::int(p, "nodePort"))
                .filter(|n| *n != 0 && !used.contains(n));
            if let Some(n) = old_np {
                port.insert("nodePort".to_string(), json!(n));
            }
        }
    }
    if needs_hc_node_port(&os)
        && needs_hc_node_port(&snapshot)
        && access::int(&snapshot, "healthCheckNodePort").unwrap_or(0) == 0
        && let Some(v) = access::get(&os, "healthCheckNodePort")
    {
        spec.insert("healthCheckNodePort".to_string(), v.clone());
    }
    let snapshot = Value::Object(spec.clone());
    if needs_cluster_ip(&os) && !needs_cluster_ip(&snapshot) {
        if same("clusterIPs") && same("clusterIP") {
            spec.remove("clusterIP");
            spec.remove("clusterIPs");
        }
        for k in ["ipFamilies", "ipFamilyPolicy"] {
            if same(k) {
                spec.remove(k);
            }
        }
    }
    let node_ports = |v: &Value| -> Vec<i64> {
        access::list(v, "ports")
            .iter()
            .map(|p| access::int(p, "nodePort").unwrap_or(0))
            .collect()
    };
    if needs_node_port(&os)
        && !needs_node_port(&snapshot)
        && node_ports(&os) == node_ports(&snapshot)
    {
        for port in items(spec, "ports") {
            port.remove("nodePort");
        }
    }
    if needs_hc_node_port(&os) && !needs_hc_node_port(&snapshot) && same("healthCheckNodePort") {
        spec.remove("healthCheckNodePort");
    }
    let was_lb = access::s(&os, "type") == "LoadBalancer";
    let is_lb = access::s(&snapshot, "type") == "LoadBalancer";
    if was_lb && !is_lb {
        for k in ["allocateLoadBalancerNodePorts", "loadBalancerClass"] {
            if same(k) {
                spec.remove(k);
            }
        }
    }
    let was_external = os.as_object().is_some_and(externally_accessible);
    if was_external && !externally_accessible(spec) && same("externalTrafficPolicy") {
        spec.remove("externalTrafficPolicy");
    }
    if !is_lb
        && let Some(status) = as_map(new)
            .and_then(|m| m.get_mut("status"))
            .and_then(Value::as_object_mut)
    {
        status.remove("loadBalancer");
    }
}
