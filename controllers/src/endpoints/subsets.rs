//! What a Service's legacy Endpoints object should say: addresses grouped into subsets by
//! identical port set, ready ones under `addresses` and the rest under `notReadyAddresses`.
//!
//! Pure functions only; must never call the API.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EndpointAddress, EndpointPort, EndpointSubset, Service};

use crate::backends::ports::ResolvedPort;
use crate::backends::{Backend, is_headless};

/// The subsets for `backends` of `svc`, in the canonical order `normalize` produces.
pub fn subsets(svc: &Service, backends: &[Backend]) -> Vec<EndpointSubset> {
    let spec = svc.spec.as_ref();
    let publish_not_ready = spec
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false);
    let has_ports = spec
        .and_then(|s| s.ports.as_ref())
        .is_some_and(|p| !p.is_empty());
    let mut groups: BTreeMap<Vec<ResolvedPort>, (Vec<EndpointAddress>, Vec<EndpointAddress>)> =
        BTreeMap::new();
    for b in backends {
        // Unlike slices, this API has no way to say "terminating", so such pods are left out.
        if b.terminating && !publish_not_ready {
            continue;
        }
        // An address without ports is meaningful only for headless Services (DNS records).
        if (has_ports && b.ports.is_empty()) || (!has_ports && !is_headless(svc)) {
            continue;
        }
        let mut ports = b.ports.clone();
        ports.sort();
        let address = EndpointAddress {
            ip: b.ip.clone(),
            hostname: b.hostname.clone(),
            node_name: b.node_name.clone(),
            target_ref: Some(b.pod.clone()),
        };
        let (ready, not_ready) = groups.entry(ports).or_default();
        if b.ready {
            ready.push(address);
        } else {
            not_ready.push(address);
        }
    }
    let subsets = groups
        .into_iter()
        .map(|(ports, (ready, not_ready))| EndpointSubset {
            addresses: Some(ready),
            not_ready_addresses: Some(not_ready),
            ports: Some(
                ports
                    .into_iter()
                    .map(|p| EndpointPort {
                        name: Some(p.name),
                        port: p.port,
                        protocol: Some(p.protocol),
                        app_protocol: p.app_protocol,
                    })
                    .collect(),
            ),
        })
        .collect();
    normalize(subsets)
}

type PortKey = (String, i32, String, Option<String>);

fn port_key(p: &EndpointPort) -> PortKey {
    (
        p.name.clone().unwrap_or_default(),
        p.port,
        p.protocol.clone().unwrap_or_default(),
        p.app_protocol.clone(),
    )
}

/// Subsets in one canonical form — sorted, empty lists and names absent, protocols explicit —
/// so that a stored object can be compared with a computed one without false differences.
pub fn normalize(subsets: Vec<EndpointSubset>) -> Vec<EndpointSubset> {
    let addresses = |list: Option<Vec<EndpointAddress>>| {
        let mut list = list.unwrap_or_default();
        list.sort_by(|a, b| a.ip.cmp(&b.ip).then_with(|| a.hostname.cmp(&b.hostname)));
        (!list.is_empty()).then_some(list)
    };
    let mut out: Vec<EndpointSubset> = subsets
        .into_iter()
        .map(|s| {
            let mut ports: Vec<EndpointPort> = s
                .ports
                .unwrap_or_default()
                .into_iter()
                .map(|p| EndpointPort {
                    name: p.name.filter(|n| !n.is_empty()),
                    protocol: Some(p.protocol.unwrap_or_else(|| "TCP".into())),
                    ..p
                })
                .collect();
            ports.sort_by_key(port_key);
            EndpointSubset {
                addresses: addresses(s.addresses),
                not_ready_addresses: addresses(s.not_ready_addresses),
                ports: (!ports.is_empty()).then_some(ports),
            }
        })
        .filter(|s| s.addresses.is_some() || s.not_ready_addresses.is_some())
        .collect();
    out.sort_by_cached_key(|s| s.ports.iter().flatten().map(port_key).collect::<Vec<_>>());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::backends;
    use crate::backends::tests::{mark_deleted, pod, service};
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;
    use std::sync::Arc;

    fn render(svc: &Service, pods: Vec<Pod>) -> serde_json::Value {
        let pods: Vec<Arc<Pod>> = pods.into_iter().map(Arc::new).collect();
        serde_json::to_value(subsets(svc, &backends(svc, &pods, &|_| None))).unwrap_or_default()
    }

    fn addr(name: &str, ip: &str) -> serde_json::Value {
        json!({"ip": ip, "nodeName": "node-a",
               "targetRef": {"kind": "Pod", "namespace": "ns", "name": name, "uid": format!("uid-{name}")}})
    }

    #[test]
    fn ready_and_not_ready_addresses_are_grouped_by_port_set() {
        let svc = service(json!({"selector": {"app": "web"}, "ports": [
            {"name": "http", "port": 80, "targetPort": "http"},
            {"name": "metrics", "port": 9090}]}));
        let mut no_http = pod("c", "10.0.0.3", true);
        if let Some(c) = no_http.spec.as_mut().and_then(|s| s.containers.first_mut()) {
            c.ports = None;
        }
        let mut terminating = pod("d", "10.0.0.4", true);
        mark_deleted(&mut terminating);
        let got = render(
            &svc,
            vec![
                pod("b", "10.0.0.2", false),
                pod("a", "10.0.0.1", true),
                no_http,
                terminating,
            ],
        );
        assert_eq!(
            got,
            json!([
                {"addresses": [addr("a", "10.0.0.1")],
                 "notReadyAddresses": [addr("b", "10.0.0.2")],
                 "ports": [{"name": "http", "port": 8080, "protocol": "TCP"},
                           {"name": "metrics", "port": 9090, "protocol": "TCP"}]},
                {"addresses": [addr("c", "10.0.0.3")],
                 "ports": [{"name": "metrics", "port": 9090, "protocol": "TCP"}]},
            ])
        );
    }

    #[test]
    fn publish_not_ready_addresses_keeps_every_pod_ready() {
        let svc = service(
            json!({"selector": {"app": "web"}, "publishNotReadyAddresses": true,
                                 "ports": [{"port": 80}]}),
        );
        let got = render(&svc, vec![pod("a", "10.0.0.1", false)]);
        assert_eq!(
            got,
            json!([{"addresses": [addr("a", "10.0.0.1")], "ports": [{"port": 80, "protocol": "TCP"}]}])
        );
    }

    #[test]
    fn portless_services_list_addresses_only_when_headless() {
        let headless = service(json!({"selector": {"app": "web"}, "clusterIP": "None"}));
        let mut p = pod("web-0", "10.0.0.1", true);
        if let Some(s) = p.spec.as_mut() {
            s.hostname = Some("web-0".into());
            s.subdomain = Some("web".into());
        }
        let mut expected = addr("web-0", "10.0.0.1");
        expected["hostname"] = json!("web-0");
        assert_eq!(
            render(&headless, vec![p.clone()]),
            json!([{"addresses": [expected]}])
        );
        let plain = service(json!({"selector": {"app": "web"}}));
        assert_eq!(render(&plain, vec![p]), json!([]));
    }

    #[test]
    fn stored_subsets_compare_equal_after_server_defaults() {
        let svc = service(json!({"selector": {"app": "web"}, "ports": [{"port": 80}]}));
        let pods = vec![Arc::new(pod("a", "10.0.0.1", true))];
        let computed = subsets(&svc, &backends(&svc, &pods, &|_| None));
        // What comes back from the server: the empty name dropped, lists as written.
        let stored: Vec<EndpointSubset> = serde_json::from_value(json!([
            {"addresses": [addr("a", "10.0.0.1")], "notReadyAddresses": [],
             "ports": [{"port": 80, "protocol": "TCP"}]}
        ]))
        .unwrap_or_default();
        assert_eq!(normalize(stored), computed);
    }
}
