//! Service and Endpoints validation. Services are checked after the same
//! normalisation upstream's strategy applies (clusterIP mirrored into
//! clusterIPs, allocated values carried over on update) so a client that
//! omits server-assigned fields is not rejected.

use serde_json::Value;

use super::access::{self, get, int, list, s};
use super::errors::{
    Bad, Errs, child, duplicate, forbidden, index, invalid, not_supported, required,
};
use super::gofmt;
use super::meta::{self, MetaRules};
use super::names::{self, NameRule};
use super::probes::port_num_or_name;
use super::service_ips;
use crate::defaults::service as svc_defaults;

const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const NODE_PORT_RANGE: (i64, i64) = (30000, 32767);
const KUBELET_PORT: i64 = 10250;

static NULL: Value = Value::Null;

pub(super) fn strings(v: &Value, k: &str) -> Vec<String> {
    list(v, k).iter().map(access::scalar_string).collect()
}

pub(super) fn ip_slice(v: &Value) -> Bad {
    Bad::Raw(gofmt::string_slice(get(v, "clusterIPs")))
}

pub(crate) fn validate_create(obj: &Value, errs: &mut Errs) {
    let mut svc = obj.clone();
    svc_defaults::normalize_cluster_ips(&mut svc);
    validate(&svc, errs);
}

pub(crate) fn validate_update(new: &Value, old: &Value, errs: &mut Errs) {
    meta::validate_object_meta_update(new, old, true, errs);
    let mut svc = new.clone();
    svc_defaults::normalize_cluster_ips(&mut svc);
    svc_defaults::prepare_update(&mut svc, old);
    let (ns, os) = (spec(&svc), spec(old));
    let (nt, ot) = (s(ns, "type"), s(os, "type"));
    if nt != "ExternalName" && ot != "ExternalName" {
        service_ips::validate_ip_upgrade(ns, os, errs);
    }
    if nt == "LoadBalancer"
        && ot == "LoadBalancer"
        && get(ns, "loadBalancerClass") != get(os, "loadBalancerClass")
    {
        errs.push(invalid(
            "spec.loadBalancerClass",
            get(ns, "loadBalancerClass"),
            "may not change once set",
        ));
    }
    if needs_health_check(ns)
        && needs_health_check(os)
        && int(ns, "healthCheckNodePort") != int(os, "healthCheckNodePort")
    {
        errs.push(forbidden("spec.healthCheckNodePort", "field is immutable"));
    }
    let mut rest = Errs::new();
    validate(&svc, &mut rest);
    // Identity fields were checked by the update rules above.
    errs.extend(rest.into_iter().filter(|e| e.field != "metadata.namespace"));
}

fn spec(v: &Value) -> &Value {
    get(v, "spec").unwrap_or(&NULL)
}

pub(super) fn is_headless(spec: &Value) -> bool {
    let ips = strings(spec, "clusterIPs");
    ips.len() == 1 && ips[0] == "None"
}

fn externally_accessible(spec: &Value) -> bool {
    match s(spec, "type") {
        "LoadBalancer" | "NodePort" => true,
        "ClusterIP" => !list(spec, "externalIPs").is_empty(),
        _ => false,
    }
}

fn needs_health_check(spec: &Value) -> bool {
    s(spec, "type") == "LoadBalancer" && s(spec, "externalTrafficPolicy") == "Local"
}

fn validate(svc: &Value, errs: &mut Errs) {
    meta::validate_object_meta(svc, MetaRules::namespaced(NameRule::Dns1035), errs);
    let spec = spec(svc);
    let ty = s(spec, "type");
    let headless = is_headless(spec);
    let ports = list(spec, "ports");
    if ports.is_empty() && !headless && ty != "ExternalName" {
        errs.push(required("spec.ports", ""));
    }
    match ty {
        "LoadBalancer" | "NodePort" => {
            if ty == "LoadBalancer" {
                for (i, p) in ports.iter().enumerate() {
                    if int(p, "port") == Some(KUBELET_PORT) {
                        errs.push(invalid(
                            index("spec.ports", i),
                            KUBELET_PORT,
                            format!("may not expose port {KUBELET_PORT} externally since it is used by kubelet"),
                        ));
                    }
                }
            }
            if headless {
                errs.push(invalid(
                    "spec.clusterIPs[0]",
                    "None",
                    format!("may not be set to 'None' for {ty} services"),
                ));
            }
        }
        "ExternalName" => {
            for f in ["clusterIPs", "ipFamilies"] {
                if !list(spec, f).is_empty() {
                    errs.push(forbidden(
                        child("spec", f),
                        "may not be set for ExternalName services",
                    ));
                }
            }
            if access::is_set(spec, "ipFamilyPolicy") {
                errs.push(forbidden(
                    "spec.ipFamilyPolicy",
                    "may not be set for ExternalName services",
                ));
            }
            let name = s(spec, "externalName");
            let cname = name.strip_suffix('.').unwrap_or(name);
            if cname.is_empty() {
                errs.push(required("spec.externalName", ""));
            } else {
                for msg in names::dns1123_subdomain(cname) {
                    errs.push(invalid("spec.externalName", cname, msg));
                }
            }
        }
        _ => {}
    }
    let mut port_names: Vec<&str> = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        validate_port(
            p,
            ports.len() > 1,
            &mut port_names,
            &index("spec.ports", i),
            errs,
        );
    }
    meta::validate_labels(get(spec, "selector"), "spec.selector", errs);
    validate_session_affinity(spec, errs);
    if ty != "ExternalName" {
        service_ips::validate_cluster_ips(spec, errs);
    }
    for (i, ip) in strings(spec, "externalIPs").iter().enumerate() {
        let p = index("spec.externalIPs", i);
        let e = names::valid_ip(&p, ip);
        if e.is_empty() {
            errs.extend(names::non_special_ip(&p, ip));
        } else {
            errs.extend(e);
        }
    }
    const TYPES: &[&str] = &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    if ty.is_empty() {
        errs.push(required("spec.type", ""));
    } else if !TYPES.contains(&ty) {
        errs.push(not_supported("spec.type", ty, TYPES));
    }
    validate_node_ports(spec, ports, errs);
    validate_load_balancer_fields(spec, errs);
    validate_traffic_policies(spec, errs);
}

fn validate_port<'a>(
    p: &'a Value,
    require_name: bool,
    seen: &mut Vec<&'a str>,
    path: &str,
    errs: &mut Errs,
) {
    let name = access::opt_s(p, "name").unwrap_or("");
    if require_name && name.is_empty() {
        errs.push(required(child(path, "name"), ""));
    } else if !name.is_empty() {
        for msg in names::dns1123_label(name) {
            errs.push(invalid(child(path, "name"), name, msg));
        }
        if seen.contains(&name) {
            errs.push(duplicate(child(path, "name"), name));
        } else {
            seen.push(access::opt_s(p, "name").unwrap_or(""));
        }
    }
    let port = int(p, "port").unwrap_or(0);
    for msg in names::port_num(port) {
        errs.push(invalid(child(path, "port"), port, msg));
    }
    match s(p, "protocol") {
        "" => errs.push(required(child(path, "protocol"), "")),
        proto if !PROTOCOLS.contains(&proto) => {
            errs.push(not_supported(child(path, "protocol"), proto, PROTOCOLS));
        }
        _ => {}
    }
    port_num_or_name(get(p, "targetPort"), &child(path, "targetPort"), errs);
    if let Some(ap) = access::opt_s(p, "appProtocol") {
        for msg in names::qualified_name(ap) {
            errs.push(invalid(child(path, "appProtocol"), ap, msg));
        }
    }
}

fn validate_session_affinity(spec: &Value, errs: &mut Errs) {
    let sa = s(spec, "sessionAffinity");
    match sa {
        "" => errs.push(required("spec.sessionAffinity", "")),
        "ClientIP" => {
            let msg = "when session affinity type is ClientIP";
            let base = "spec.sessionAffinityConfig";
            match get(spec, "sessionAffinityConfig") {
                None => errs.push(required(base, msg)),
                Some(cfg) => match get(cfg, "clientIP") {
                    None => errs.push(required(child(base, "clientIP"), msg)),
                    Some(cip) => match int(cip, "timeoutSeconds") {
                        None => errs.push(required(format!("{base}.clientIP.timeoutSeconds"), msg)),
                        Some(t) if t <= 0 || t > 86400 => errs.push(invalid(
                            format!("{base}.clientIP.timeoutSeconds"),
                            t,
                            "must be greater than 0 and less than 86400",
                        )),
                        Some(_) => {}
                    },
                },
            }
        }
        "None" => {
            if access::is_set(spec, "sessionAffinityConfig") {
                errs.push(forbidden(
                    "spec.sessionAffinityConfig",
                    "must not be set when session affinity is None",
                ));
            }
        }
        other => errs.push(not_supported(
            "spec.sessionAffinity",
            other,
            &["ClientIP", "None"],
        )),
    }
}

fn validate_node_ports(spec: &Value, ports: &[Value], errs: &mut Errs) {
    let ty = s(spec, "type");
    let mut seen_node: Vec<(&str, i64)> = Vec::new();
    let mut seen_port: Vec<(&str, i64)> = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let path = index("spec.ports", i);
        let proto = s(p, "protocol");
        let node_port = int(p, "nodePort").unwrap_or(0);
        if node_port != 0 {
            if ty == "ClusterIP" {
                errs.push(forbidden(
                    child(&path, "nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            } else if !(NODE_PORT_RANGE.0..=NODE_PORT_RANGE.1).contains(&node_port) {
                errs.push(invalid(
                    child(&path, "nodePort"),
                    node_port,
                    format!(
                        "provided port is not in the valid range. The range of valid ports is {}-{}",
                        NODE_PORT_RANGE.0, NODE_PORT_RANGE.1
                    ),
                ));
            }
            if seen_node.contains(&(proto, node_port)) {
                errs.push(duplicate(child(&path, "nodePort"), node_port));
            }
            seen_node.push((proto, node_port));
        }
        let port = int(p, "port").unwrap_or(0);
        if seen_port.contains(&(proto, port)) {
            let repr = format!(
                "core.ServicePort{{Name:\"\", Protocol:{}, AppProtocol:(*string)(nil), Port:{port}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}",
                gofmt::quote(proto)
            );
            errs.push(duplicate(&path, Bad::Raw(repr)));
        }
        seen_port.push((proto, port));
    }
}

fn validate_load_balancer_fields(spec: &Value, errs: &mut Errs) {
    let lb = s(spec, "type") == "LoadBalancer";
    let only_lb = "may only be used when `type` is 'LoadBalancer'";
    let ranges = strings(spec, "loadBalancerSourceRanges");
    if !ranges.is_empty() {
        let path = "spec.LoadBalancerSourceRanges";
        if !lb {
            errs.push(forbidden(path, only_lb));
        }
        for (i, r) in ranges.iter().enumerate() {
            errs.extend(names::valid_cidr(&index(path, i), r.trim()));
        }
    }
    if access::is_set(spec, "allocateLoadBalancerNodePorts") && !lb {
        errs.push(forbidden("spec.allocateLoadBalancerNodePorts", only_lb));
    }
    if lb && !access::is_set(spec, "allocateLoadBalancerNodePorts") {
        errs.push(required("allocateLoadBalancerNodePorts", ""));
    }
    if let Some(class) = access::opt_s(spec, "loadBalancerClass") {
        if lb {
            for msg in names::qualified_name(class) {
                errs.push(invalid("spec.loadBalancerClass", class, msg));
            }
        } else {
            errs.push(forbidden("spec.loadBalancerClass", only_lb));
        }
    }
}

fn validate_traffic_policies(spec: &Value, errs: &mut Errs) {
    let etp = s(spec, "externalTrafficPolicy");
    if !externally_accessible(spec) {
        if !etp.is_empty() {
            errs.push(invalid(
                "spec.externalTrafficPolicy",
                etp,
                "may only be set for externally-accessible services",
            ));
        }
    } else if etp.is_empty() {
        errs.push(required("spec.externalTrafficPolicy", ""));
    } else if etp != "Cluster" && etp != "Local" {
        errs.push(not_supported(
            "spec.externalTrafficPolicy",
            etp,
            &["Cluster", "Local"],
        ));
    }
    let hc = int(spec, "healthCheckNodePort").unwrap_or(0);
    if !needs_health_check(spec) {
        if hc != 0 {
            errs.push(invalid(
                "spec.healthCheckNodePort",
                hc,
                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            ));
        }
    } else if hc != 0 {
        for msg in names::port_num(hc) {
            errs.push(invalid("spec.healthCheckNodePort", hc, msg));
        }
    }
    match access::opt_s(spec, "internalTrafficPolicy") {
        None => {
            if matches!(s(spec, "type"), "NodePort" | "LoadBalancer" | "ClusterIP") {
                errs.push(required("spec.internalTrafficPolicy", ""));
            }
        }
        Some(p) if p != "Cluster" && p != "Local" => {
            errs.push(not_supported(
                "spec.internalTrafficPolicy",
                p,
                &["Cluster", "Local"],
            ));
        }
        Some(_) => {}
    }
    if let Some(td) = access::opt_s(spec, "trafficDistribution").filter(|t| *t != "PreferClose") {
        errs.push(not_supported(
            "spec.trafficDistribution",
            td,
            &["PreferClose"],
        ));
    }
}
