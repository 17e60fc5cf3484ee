//! What a Service's EndpointSlices should say: one discovery endpoint per backend, grouped by
//! the set of ports it serves (a slice has one port list for all its endpoints), and the
//! labels that tie a slice to its Service and to this controller.
//!
//! Pure functions only; must never call the API.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort};
use kube::ResourceExt;

use crate::backends::ports::ResolvedPort;
use crate::backends::{self, Backend, SERVICE_NAME_LABEL};

pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";
/// Kubernetes' default `--max-endpoints-per-slice`.
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;

/// A slice's ports, sorted and without duplicates, so equal sets compare equal.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortSet(Vec<ResolvedPort>);

impl PortSet {
    pub fn new(mut ports: Vec<ResolvedPort>) -> Self {
        ports.sort();
        ports.dedup();
        PortSet(ports)
    }

    /// The set a stored slice carries, reading absent fields as the API server defaults them.
    pub fn of_slice(ports: Option<&Vec<EndpointPort>>) -> Self {
        Self::new(
            ports
                .into_iter()
                .flatten()
                .map(|p| ResolvedPort {
                    name: p.name.clone().unwrap_or_default(),
                    protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                    port: p.port.unwrap_or_default(),
                    app_protocol: p.app_protocol.clone(),
                })
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn to_api(&self) -> Vec<EndpointPort> {
        self.0
            .iter()
            .map(|p| EndpointPort {
                name: Some(p.name.clone()),
                port: Some(p.port),
                protocol: Some(p.protocol.clone()),
                app_protocol: p.app_protocol.clone(),
            })
            .collect()
    }
}

pub fn endpoint(b: &Backend) -> Endpoint {
    Endpoint {
        addresses: vec![b.ip.clone()],
        conditions: Some(EndpointConditions {
            ready: Some(b.ready),
            serving: Some(b.serving),
            terminating: Some(b.terminating),
        }),
        hostname: b.hostname.clone(),
        node_name: b.node_name.clone(),
        target_ref: Some(b.pod.clone()),
        zone: b.zone.clone(),
        ..Endpoint::default()
    }
}

/// Endpoints by the port set they serve, each group in backend order.
pub fn group(backends: &[Backend]) -> BTreeMap<PortSet, Vec<Endpoint>> {
    let mut groups: BTreeMap<PortSet, Vec<Endpoint>> = BTreeMap::new();
    for b in backends {
        groups
            .entry(PortSet::new(b.ports.clone()))
            .or_default()
            .push(endpoint(b));
    }
    groups
}

/// The labels every slice of `svc` carries. The two identifying labels win over any the
/// Service itself has, or the slice would be attributed elsewhere.
pub fn labels(svc: &Service) -> BTreeMap<String, String> {
    let mut labels = backends::inherited_labels(svc);
    labels.insert(SERVICE_NAME_LABEL.into(), svc.name_any());
    labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
    labels
}

/// Whether this controller manages `labels`' slice, and for which Service.
pub fn managed_service(labels: &BTreeMap<String, String>) -> Option<&str> {
    if labels.get(MANAGED_BY_LABEL).map(String::as_str) != Some(MANAGED_BY) {
        return None;
    }
    labels.get(SERVICE_NAME_LABEL).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::tests::{pod, service, web};
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;
    use std::sync::Arc;

    fn port(name: &str, port: i32) -> ResolvedPort {
        ResolvedPort {
            name: name.into(),
            protocol: "TCP".into(),
            port,
            app_protocol: None,
        }
    }

    #[test]
    fn pods_whose_named_ports_differ_go_to_different_groups() {
        let svc = service(json!({"selector": {"app": "web"}, "ports": [
            {"name": "http", "port": 80, "targetPort": "http"},
            {"name": "metrics", "port": 9090}]}));
        let mut other = pod("c", "10.0.0.3", true);
        if let Some(c) = other.spec.as_mut().and_then(|s| s.containers.first_mut())
            && let Some(p) = c.ports.as_mut().and_then(|p| p.first_mut())
        {
            p.container_port = 8081;
        }
        let mut unnamed = pod("d", "10.0.0.4", true);
        if let Some(c) = unnamed.spec.as_mut().and_then(|s| s.containers.first_mut()) {
            c.ports = None;
        }
        let pods: Vec<Arc<Pod>> = [
            pod("a", "10.0.0.1", true),
            pod("b", "10.0.0.2", true),
            other,
            unnamed,
        ]
        .into_iter()
        .map(Arc::new)
        .collect();
        let groups = group(&crate::backends::backends(&svc, &pods, &|_| None));
        let ips = |set: PortSet| -> Vec<String> {
            groups
                .get(&set)
                .into_iter()
                .flatten()
                .flat_map(|e| e.addresses.clone())
                .collect()
        };
        assert_eq!(groups.len(), 3);
        assert_eq!(
            ips(PortSet::new(vec![
                port("metrics", 9090),
                port("http", 8080)
            ])),
            ["10.0.0.1", "10.0.0.2"]
        );
        assert_eq!(
            ips(PortSet::new(vec![
                port("http", 8081),
                port("metrics", 9090)
            ])),
            ["10.0.0.3"]
        );
        // A pod without the named port still serves the numeric one.
        assert_eq!(ips(PortSet::new(vec![port("metrics", 9090)])), ["10.0.0.4"]);
    }

    #[test]
    fn endpoints_carry_conditions_node_zone_hostname_and_pod() {
        let svc = web();
        let mut p = pod("web-0", "10.0.0.1", true);
        if let Some(s) = p.spec.as_mut() {
            s.hostname = Some("web-0".into());
            s.subdomain = Some("web".into());
        }
        let zone = |n: &str| (n == "node-a").then(|| "zone-1".to_string());
        let b = crate::backends::backend(&svc, &p, &zone);
        let e = endpoint(&b.unwrap_or_else(|| panic!("backend")));
        let v = serde_json::to_value(&e).unwrap_or_default();
        assert_eq!(
            v,
            json!({
                "addresses": ["10.0.0.1"],
                "conditions": {"ready": true, "serving": true, "terminating": false},
                "hostname": "web-0",
                "nodeName": "node-a",
                "zone": "zone-1",
                "targetRef": {"kind": "Pod", "namespace": "ns", "name": "web-0", "uid": "uid-web-0"},
            })
        );
    }

    #[test]
    fn port_sets_read_from_slices_use_server_defaults() {
        let stored = vec![EndpointPort {
            name: None,
            port: Some(80),
            protocol: None,
            app_protocol: None,
        }];
        assert_eq!(
            PortSet::of_slice(Some(&stored)),
            PortSet::new(vec![port("", 80)])
        );
        assert_eq!(
            PortSet::of_slice(Some(&PortSet::new(vec![port("", 80)]).to_api())),
            PortSet::new(vec![port("", 80)])
        );
    }

    #[test]
    fn identifying_labels_override_the_services_own() {
        let mut svc = web();
        svc.metadata.labels = Some(
            [
                ("team".to_string(), "a".to_string()),
                (MANAGED_BY_LABEL.to_string(), "someone".to_string()),
            ]
            .into(),
        );
        let l = labels(&svc);
        assert_eq!(managed_service(&l), Some("web"));
        assert_eq!(l.get("team").map(String::as_str), Some("a"));
    }
}
