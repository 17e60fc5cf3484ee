//! Service address allocation: ClusterIPs from the service CIDR (10.96.0.0/12) and NodePorts
//! from 30000–32767. What is in use is read from the watch cache; candidates are random, so two
//! concurrent creates colliding is a one-in-a-million event rather than a lock on every create.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use rand::Rng;
use serde_json::{Value, json};

use crate::rest::Api;
use crate::validation::Cause;

const SERVICE_CIDR_BASE: u32 = u32::from_be_bytes([10, 96, 0, 0]);
const SERVICE_CIDR_BITS: u32 = 12;
/// 10.96.0.1 is the `kubernetes` service and 10.96.0.10 cluster DNS; they are only handed out
/// when asked for by name.
const RESERVED: [u32; 2] = [SERVICE_CIDR_BASE + 1, SERVICE_CIDR_BASE + 10];
const NODE_PORT_RANGE: std::ops::RangeInclusive<i64> = 30000..=32767;

fn in_cidr(ip: Ipv4Addr) -> bool {
    let mask = u32::MAX << (32 - SERVICE_CIDR_BITS);
    u32::from(ip) & mask == SERVICE_CIDR_BASE
}

/// Addresses and ports held by Services other than `svc` itself.
fn used(api: &Api, svc: &Value) -> (HashSet<String>, HashSet<i64>) {
    let me = (
        svc.pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        svc.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    );
    let mut ips = HashSet::new();
    let mut ports = HashSet::new();
    let Some(res) = capstan_api_types::registry::find("", "v1", "services") else {
        return (ips, ports);
    };
    if let Some(cache) = api.cache.resource(res) {
        for o in cache.read().objects.values() {
            let v = o.value();
            let them = (
                v.pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                v.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            );
            if them.0 == me.0 && them.1 == me.1 {
                continue;
            }
            if let Some(ip) = v.pointer("/spec/clusterIP").and_then(Value::as_str) {
                ips.insert(ip.to_string());
            }
            for p in v
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(n) = p.get("nodePort").and_then(Value::as_i64) {
                    ports.insert(n);
                }
            }
        }
    }
    (ips, ports)
}

fn invalid(field: &str, value: &str, why: &str) -> Cause {
    Cause {
        reason: "FieldValueInvalid".into(),
        message: format!("Invalid value: \"{value}\": {why}"),
        field: field.into(),
    }
}

/// Fills `spec.clusterIP(s)` and node ports a Service lacks, and checks the ones it asks for
/// against other Services. `old` is the stored Service on update: what it already holds stays
/// its own.
pub fn allocate_service(api: &Api, svc: &mut Value, old: Option<&Value>) -> Result<(), Cause> {
    let ty = svc
        .pointer("/spec/type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    let (used_ips, used_ports) = used(api, svc);
    if ty != "ExternalName" {
        let requested = svc
            .pointer("/spec/clusterIP")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let ip = match requested.as_str() {
            "None" => "None".to_string(),
            "" => {
                let mut rng = rand::rng();
                let size = 1u32 << (32 - SERVICE_CIDR_BITS);
                let mut found = None;
                for _ in 0..1000 {
                    let candidate = SERVICE_CIDR_BASE + rng.random_range(2..size - 1);
                    let s = Ipv4Addr::from(candidate).to_string();
                    if !RESERVED.contains(&candidate) && !used_ips.contains(&s) {
                        found = Some(s);
                        break;
                    }
                }
                found.ok_or_else(|| {
                    invalid(
                        "spec.clusterIPs",
                        "",
                        "failed to allocate IP: range is full",
                    )
                })?
            }
            other
                if old
                    .and_then(|o| o.pointer("/spec/clusterIP"))
                    .and_then(Value::as_str)
                    == Some(other) =>
            {
                other.to_string()
            }
            other => {
                let parsed: Ipv4Addr = other.parse().map_err(|_| {
                    invalid("spec.clusterIPs[0]", other, "must be a valid IP address")
                })?;
                if !in_cidr(parsed) {
                    return Err(invalid(
                        "spec.clusterIPs",
                        other,
                        "failed to allocate IP: the provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12",
                    ));
                }
                if used_ips.contains(other) {
                    return Err(invalid(
                        "spec.clusterIPs",
                        other,
                        "failed to allocate IP: provided IP is already allocated",
                    ));
                }
                other.to_string()
            }
        };
        svc["spec"]["clusterIP"] = json!(ip);
        svc["spec"]["clusterIPs"] = json!([ip]);
    }
    if ty == "NodePort" || ty == "LoadBalancer" {
        let mut taken = used_ports;
        let mut rng = rand::rng();
        if let Some(ports) = svc.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
            for (i, p) in ports.iter_mut().enumerate() {
                match p.get("nodePort").and_then(Value::as_i64) {
                    Some(n) if n != 0 => {
                        if !NODE_PORT_RANGE.contains(&n) {
                            return Err(invalid(
                                &format!("spec.ports[{i}].nodePort"),
                                &n.to_string(),
                                "provided port is not in the valid range. The range of valid ports is 30000-32767",
                            ));
                        }
                        if !taken.insert(n) {
                            return Err(invalid(
                                &format!("spec.ports[{i}].nodePort"),
                                &n.to_string(),
                                "provided port is already allocated",
                            ));
                        }
                    }
                    _ => {
                        let mut chosen = None;
                        for _ in 0..10_000 {
                            let c = rng.random_range(NODE_PORT_RANGE);
                            if taken.insert(c) {
                                chosen = Some(c);
                                break;
                            }
                        }
                        let c = chosen.ok_or_else(|| {
                            invalid(&format!("spec.ports[{i}].nodePort"), "", "range is full")
                        })?;
                        p["nodePort"] = json!(c);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Updates keep the allocated ClusterIP and node ports when the client left them out.
pub fn carry_service_allocations(old: &Value, new: &mut Value) {
    if new.pointer("/spec/type").and_then(Value::as_str) == Some("ExternalName") {
        return;
    }
    for f in ["clusterIP", "clusterIPs"] {
        let new_empty = new
            .pointer(&format!("/spec/{f}"))
            .is_none_or(|v| v.is_null() || v == "");
        if new_empty && let Some(v) = old.pointer(&format!("/spec/{f}")) {
            new["spec"][f] = v.clone();
        }
    }
    let old_ports: Vec<Value> = old
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let keeps_node_ports = matches!(
        new.pointer("/spec/type").and_then(Value::as_str),
        Some("NodePort" | "LoadBalancer")
    );
    if !keeps_node_ports {
        return;
    }
    if let Some(ports) = new.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
        for p in ports {
            if p.get("nodePort")
                .is_some_and(|v| v.as_i64().unwrap_or(0) != 0)
            {
                continue;
            }
            let same = old_ports
                .iter()
                .find(|o| o.get("port") == p.get("port") && o.get("protocol") == p.get("protocol"));
            if let Some(n) = same.and_then(|o| o.get("nodePort")) {
                p["nodePort"] = n.clone();
            }
        }
    }
}
