//! What the node proxy and the cluster DNS need from Services and EndpointSlices, reduced to
//! plain values: one entry per service port with its virtual addresses and its endpoints.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Endpoint {
    pub ip: Ipv4Addr,
    pub port: u16,
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
    /// Set for pods with hostname + subdomain (StatefulSets): `<hostname>.<svc>.<ns>.svc…`.
    pub hostname: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    pub namespace: String,
    pub service: String,
    /// The port's name ("" for a single unnamed port).
    pub name: String,
    /// "tcp", "udp" or "sctp".
    pub protocol: String,
    pub cluster_ip: Option<Ipv4Addr>,
    pub port: u16,
    pub node_port: Option<u16>,
    /// Seconds a client sticks to its endpoint (sessionAffinity ClientIP).
    pub affinity_seconds: Option<u32>,
    pub endpoints: Vec<Endpoint>,
}

impl ServicePort {
    /// Stable identity of this port across updates.
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.namespace, self.service, self.protocol, self.name
        )
    }

    /// Endpoints traffic goes to: ready ones; when none is ready, the serving terminating
    /// ones, so a rolling restart does not drop connections (Kubernetes' fallback).
    pub fn usable(&self) -> Vec<&Endpoint> {
        let ready: Vec<&Endpoint> = self.endpoints.iter().filter(|e| e.ready).collect();
        if !ready.is_empty() {
            return ready;
        }
        self.endpoints
            .iter()
            .filter(|e| e.serving && e.terminating)
            .collect()
    }
}

fn parse_v4(s: &str) -> Option<Ipv4Addr> {
    s.parse().ok()
}

/// Every proxied port of `svc` with its endpoints taken from `slices` (the slices labelled
/// with the service's name, in its namespace).
pub fn service_ports(svc: &Service, slices: &[&EndpointSlice]) -> Vec<ServicePort> {
    let Some(spec) = &svc.spec else {
        return Vec::new();
    };
    let namespace = svc.metadata.namespace.clone().unwrap_or_default();
    let service = svc.metadata.name.clone().unwrap_or_default();
    let ty = spec.type_.as_deref().unwrap_or("ClusterIP");
    if ty == "ExternalName" {
        return Vec::new();
    }
    let cluster_ip = spec
        .cluster_ip
        .as_deref()
        .filter(|ip| *ip != "None")
        .and_then(parse_v4);
    let affinity_seconds = (spec.session_affinity.as_deref() == Some("ClientIP")).then(|| {
        spec.session_affinity_config
            .as_ref()
            .and_then(|c| c.client_ip.as_ref())
            .and_then(|c| c.timeout_seconds)
            .and_then(|t| u32::try_from(t).ok())
            .unwrap_or(10_800)
    });
    let mut out = Vec::new();
    for p in spec.ports.iter().flatten() {
        let name = p.name.clone().unwrap_or_default();
        let protocol = p.protocol.as_deref().unwrap_or("TCP").to_lowercase();
        let Ok(port) = u16::try_from(p.port) else {
            continue;
        };
        let mut endpoints: BTreeSet<Endpoint> = BTreeSet::new();
        for slice in slices {
            if slice.address_type != "IPv4" {
                continue;
            }
            // The slice port with the same name (and protocol) carries the target port.
            let Some(target) = slice.ports.iter().flatten().find(|sp| {
                sp.name.clone().unwrap_or_default() == name
                    && sp.protocol.as_deref().unwrap_or("TCP").to_lowercase() == protocol
            }) else {
                continue;
            };
            let Some(target_port) = target.port.and_then(|p| u16::try_from(p).ok()) else {
                continue;
            };
            for ep in &slice.endpoints {
                let c = ep.conditions.as_ref();
                // Absent conditions mean ready (the API's documented default).
                let ready = c.and_then(|c| c.ready).unwrap_or(true);
                let serving = c.and_then(|c| c.serving).unwrap_or(ready);
                let terminating = c.and_then(|c| c.terminating).unwrap_or(false);
                for a in &ep.addresses {
                    if let Some(ip) = parse_v4(a) {
                        endpoints.insert(Endpoint {
                            ip,
                            port: target_port,
                            ready,
                            serving,
                            terminating,
                            hostname: ep.hostname.clone(),
                        });
                    }
                }
            }
        }
        out.push(ServicePort {
            namespace: namespace.clone(),
            service: service.clone(),
            name,
            protocol,
            cluster_ip,
            port,
            node_port: p
                .node_port
                .and_then(|n| u16::try_from(n).ok())
                .filter(|_| ty == "NodePort" || ty == "LoadBalancer"),
            affinity_seconds,
            endpoints: endpoints.into_iter().collect(),
        });
    }
    out
}

/// Every IPv4 endpoint address of `slices`, whatever their ports (port 0).
pub fn slice_endpoints(slices: &[&EndpointSlice]) -> Vec<Endpoint> {
    let mut out: BTreeSet<Endpoint> = BTreeSet::new();
    for slice in slices.iter().filter(|s| s.address_type == "IPv4") {
        for ep in &slice.endpoints {
            let c = ep.conditions.as_ref();
            let ready = c.and_then(|c| c.ready).unwrap_or(true);
            for ip in ep.addresses.iter().filter_map(|a| parse_v4(a)) {
                out.insert(Endpoint {
                    ip,
                    port: 0,
                    ready,
                    serving: c.and_then(|c| c.serving).unwrap_or(ready),
                    terminating: c.and_then(|c| c.terminating).unwrap_or(false),
                    hostname: ep.hostname.clone(),
                });
            }
        }
    }
    out.into_iter().collect()
}

/// Slices grouped by (namespace, service name).
pub fn slices_by_service(
    slices: &[std::sync::Arc<EndpointSlice>],
) -> BTreeMap<(String, String), Vec<&EndpointSlice>> {
    let mut m: BTreeMap<(String, String), Vec<&EndpointSlice>> = BTreeMap::new();
    for s in slices {
        let Some(svc) = s
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(SERVICE_NAME_LABEL))
        else {
            continue;
        };
        let ns = s.metadata.namespace.clone().unwrap_or_default();
        m.entry((ns, svc.clone())).or_default().push(s.as_ref());
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub fn svc(v: serde_json::Value) -> Service {
        serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn slice(v: serde_json::Value) -> EndpointSlice {
        serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn ports_take_target_ports_and_conditions_from_slices() {
        let s = svc(json!({
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"type": "NodePort", "clusterIP": "10.96.0.20", "sessionAffinity": "ClientIP",
                "ports": [{"name": "http", "port": 80, "nodePort": 30080}, {"name": "dns", "port": 53, "protocol": "UDP"}]}
        }));
        let sl = slice(json!({
            "metadata": {"name": "web-x", "namespace": "shop", "labels": {SERVICE_NAME_LABEL: "web"}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [
                {"addresses": ["10.244.0.5"], "conditions": {"ready": true}},
                {"addresses": ["10.244.1.7"], "conditions": {"ready": false, "serving": true, "terminating": true}}
            ]
        }));
        let ports = service_ports(&s, &[&sl]);
        assert_eq!(ports.len(), 2);
        let http = &ports[0];
        assert_eq!(http.key(), "shop/web/tcp/http");
        assert_eq!(http.node_port, Some(30080));
        assert_eq!(http.affinity_seconds, Some(10_800));
        assert_eq!(http.endpoints.len(), 2);
        assert!(http.endpoints.iter().all(|e| e.port == 8080));
        assert_eq!(http.usable().len(), 1);
        // The UDP port has no slice port, so no endpoints.
        assert!(ports[1].endpoints.is_empty());
    }

    #[test]
    fn terminating_serving_endpoints_are_the_fallback() {
        let s = svc(json!({"metadata": {"name": "a", "namespace": "n"},
            "spec": {"clusterIP": "10.96.0.3", "ports": [{"port": 80}]}}));
        let sl = slice(json!({
            "metadata": {"name": "a-1", "namespace": "n"},
            "addressType": "IPv4",
            "ports": [{"port": 80}],
            "endpoints": [{"addresses": ["10.244.0.9"], "conditions": {"ready": false, "serving": true, "terminating": true}}]
        }));
        let ports = service_ports(&s, &[&sl]);
        assert_eq!(ports[0].usable().len(), 1);
    }

    #[test]
    fn external_name_and_headless_have_no_virtual_ip() {
        let ext = svc(json!({"metadata": {"name": "e", "namespace": "n"},
            "spec": {"type": "ExternalName", "externalName": "db.example.com"}}));
        assert!(service_ports(&ext, &[]).is_empty());
        let headless = svc(json!({"metadata": {"name": "h", "namespace": "n"},
            "spec": {"clusterIP": "None", "ports": [{"port": 80}]}}));
        assert_eq!(service_ports(&headless, &[])[0].cluster_ip, None);
    }
}
