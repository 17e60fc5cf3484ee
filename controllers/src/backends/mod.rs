//! The pods behind a Service, as both endpoint controllers (EndpointSlice and the legacy
//! Endpoints) see them: which pods a Service selects, the address, readiness and hostname each
//! contributes, the target port every Service port resolves to in it, and which Services a pod
//! change concerns.
//!
//! Pure functions over cached objects; must never call the API.

pub mod ports;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ObjectReference, Pod, Service};
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};

use crate::replicaset::pods::is_ready;
use ports::ResolvedPort;

/// Label naming the Service an EndpointSlice belongs to.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// Label Kubernetes puts on the endpoints of a Service with `clusterIP: None`.
pub const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";

/// One pod's contribution to a Service's endpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct Backend {
    pub ip: String,
    pub node_name: Option<String>,
    pub zone: Option<String>,
    /// Set only when the pod asked for DNS under this Service (hostname + matching
    /// subdomain), which is how StatefulSet pods get stable names.
    pub hostname: Option<String>,
    pub pod: ObjectReference,
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
    /// The Service's ports that resolve in this pod, in the Service's order.
    pub ports: Vec<ResolvedPort>,
}

/// The selector of a Service whose endpoints the controllers manage. Services without one
/// (their endpoints are written by users) and ExternalName Services (DNS only) get None.
pub fn selector(svc: &Service) -> Option<&BTreeMap<String, String>> {
    let spec = svc.spec.as_ref()?;
    if spec.type_.as_deref() == Some("ExternalName") {
        return None;
    }
    spec.selector.as_ref().filter(|s| !s.is_empty())
}

pub fn selects(selector: &BTreeMap<String, String>, pod: &Pod) -> bool {
    let labels = pod.labels();
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

pub fn is_headless(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None")
}

/// Labels shared by a Service's EndpointSlices and Endpoints: the Service's own, plus the
/// headless marker proxies use to skip it.
pub fn inherited_labels(svc: &Service) -> BTreeMap<String, String> {
    let mut labels = svc.labels().clone();
    if is_headless(svc) {
        labels.insert(HEADLESS_LABEL.into(), String::new());
    } else {
        labels.remove(HEADLESS_LABEL);
    }
    labels
}

/// The pod's IPv4 address: slices here are IPv4 only, and a dual-stack pod lists it in
/// `podIPs` even when `podIP` is the IPv6 one.
fn ipv4(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    status
        .pod_ip
        .iter()
        .chain(status.pod_ips.iter().flatten().map(|p| &p.ip))
        .find(|ip| ip.parse::<Ipv4Addr>().is_ok())
        .cloned()
}

fn is_terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// What `pod` contributes to `svc`, or None when it contributes nothing: no address yet, or
/// finished. A terminating pod stays, flagged, so proxies can drain it while it still serves.
pub fn backend(
    svc: &Service,
    pod: &Pod,
    zone_of: &dyn Fn(&str) -> Option<String>,
) -> Option<Backend> {
    if is_terminal(pod) {
        return None;
    }
    let ip = ipv4(pod)?;
    let spec = pod.spec.as_ref();
    let node_name = spec
        .and_then(|s| s.node_name.clone())
        .filter(|n| !n.is_empty());
    let hostname = spec
        .filter(|s| s.subdomain.as_deref() == Some(svc.name_any().as_str()))
        .and_then(|s| s.hostname.clone())
        .filter(|h| !h.is_empty());
    let serving = is_ready(pod);
    let terminating = pod.metadata.deletion_timestamp.is_some();
    let publish_not_ready = svc
        .spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false);
    let ports = svc
        .spec
        .iter()
        .flat_map(|s| s.ports.iter().flatten())
        .filter_map(|p| ports::resolve(p, pod))
        .collect();
    Some(Backend {
        ip,
        zone: node_name.as_deref().and_then(zone_of),
        node_name,
        hostname,
        pod: ObjectReference {
            kind: Some("Pod".into()),
            namespace: pod.namespace(),
            name: Some(pod.name_any()),
            uid: pod.uid(),
            ..ObjectReference::default()
        },
        ready: publish_not_ready || (serving && !terminating),
        serving,
        terminating,
        ports,
    })
}

/// Every backend of `svc` among `pods` (any namespace; others are skipped), ordered by pod
/// name so that what is written does not depend on cache order.
pub fn backends(
    svc: &Service,
    pods: &[Arc<Pod>],
    zone_of: &dyn Fn(&str) -> Option<String>,
) -> Vec<Backend> {
    let Some(sel) = selector(svc) else {
        return Vec::new();
    };
    let ns = svc.namespace();
    let mut out: Vec<Backend> = pods
        .iter()
        .filter(|p| p.namespace() == ns && selects(sel, p))
        .filter_map(|p| backend(svc, p, zone_of))
        .collect();
    out.sort_by(|a, b| a.pod.name.cmp(&b.pod.name));
    out
}

/// The Services a pod change concerns: those that select the pod now, and those whose
/// endpoints still list it (`listed`: names of Services in the pod's namespace) — a pod that
/// stopped matching or was deleted has to be taken out of them.
pub fn services_for_pod(
    services: &Store<Service>,
    pod: &Pod,
    listed: &BTreeSet<String>,
) -> Vec<ObjectRef<Service>> {
    let ns = pod.namespace().unwrap_or_default();
    services
        .state()
        .iter()
        .filter(|s| s.namespace().as_deref() == Some(ns.as_str()))
        .filter(|s| {
            listed.contains(&s.name_any()) || selector(s).is_some_and(|sel| selects(sel, pod))
        })
        .map(|s| ObjectRef::from_obj(s.as_ref()))
        .collect()
}

/// Calls `sweep(None)` once, then `sweep(Some((namespace, name)))` for every Service
/// deletion, until `stop`: the shape of both controllers' cleanup of objects left behind by
/// deleted Services.
pub async fn on_service_deletion<F, Fut>(
    services: impl futures::Stream<Item = crate::runtime::informer::Change<Service>> + Send + 'static,
    mut stop: tokio::sync::watch::Receiver<bool>,
    mut sweep: F,
) where
    F: FnMut(Option<(String, String)>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use futures::StreamExt;
    sweep(None).await;
    let mut services = Box::pin(services);
    loop {
        let change = tokio::select! {
            c = services.next() => c,
            _ = crate::runtime::stopped(&mut stop) => None,
        };
        match change {
            None => break,
            Some(crate::runtime::informer::Change::Deleted(svc)) => {
                sweep(Some((svc.namespace().unwrap_or_default(), svc.name_any()))).await;
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;
    use serde_json::{Value, json};

    pub fn service(spec: Value) -> Service {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "ns", "uid": "svc-uid"},
            "spec": spec,
        }))
        .unwrap_or_else(|e| panic!("service: {e}"))
    }

    /// A running pod `name` with IP `ip`, labelled app=web, with container port http:8080.
    pub fn pod(name: &str, ip: &str, ready: bool) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"),
                         "labels": {"app": "web"}},
            "spec": {"nodeName": "node-a", "containers": [{"name": "c", "image": "i",
                     "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIP": ip,
                       "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]},
        }))
        .unwrap_or_else(|e| panic!("pod: {e}"))
    }

    pub fn mark_deleted(pod: &mut Pod) {
        pod.metadata.deletion_timestamp = Some(Time(Timestamp::default()));
    }

    pub fn web() -> Service {
        service(json!({"selector": {"app": "web"},
                       "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}))
    }

    fn no_zone(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn ready_serving_and_terminating_follow_kubernetes() {
        let svc = web();
        let b = backend(&svc, &pod("a", "10.0.0.1", true), &no_zone);
        let b = b.unwrap_or_else(|| panic!("backend"));
        assert!(b.ready && b.serving && !b.terminating);

        let mut p = pod("a", "10.0.0.1", true);
        mark_deleted(&mut p);
        let b = backend(&svc, &p, &no_zone).unwrap_or_else(|| panic!("backend"));
        assert!(!b.ready && b.serving && b.terminating, "{b:?}");

        let b = backend(&svc, &pod("a", "10.0.0.1", false), &no_zone);
        let b = b.unwrap_or_else(|| panic!("backend"));
        assert!(!b.ready && !b.serving);
    }

    #[test]
    fn publish_not_ready_addresses_makes_every_endpoint_ready() {
        let svc = service(json!({"selector": {"app": "web"}, "publishNotReadyAddresses": true}));
        let mut p = pod("a", "10.0.0.1", false);
        mark_deleted(&mut p);
        let b = backend(&svc, &p, &no_zone).unwrap_or_else(|| panic!("backend"));
        assert!(b.ready && !b.serving && b.terminating);
    }

    #[test]
    fn pods_without_address_finished_or_elsewhere_are_left_out() {
        let svc = web();
        let mut finished = pod("done", "10.0.0.2", true);
        if let Some(s) = finished.status.as_mut() {
            s.phase = Some("Succeeded".into());
        }
        let mut unlabelled = pod("other", "10.0.0.3", true);
        unlabelled.metadata.labels = None;
        let mut elsewhere = pod("far", "10.0.0.4", true);
        elsewhere.metadata.namespace = Some("other".into());
        let pods: Vec<Arc<Pod>> = [
            pod("b", "10.0.0.5", true),
            pod("no-ip", "", true),
            finished,
            unlabelled,
            elsewhere,
            pod("a", "10.0.0.6", true),
        ]
        .into_iter()
        .map(Arc::new)
        .collect();
        let names: Vec<_> = backends(&svc, &pods, &no_zone)
            .into_iter()
            .filter_map(|b| b.pod.name)
            .collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn hostname_only_when_the_subdomain_is_this_service() {
        let svc = web();
        let mut p = pod("web-0", "10.0.0.1", true);
        if let Some(s) = p.spec.as_mut() {
            s.hostname = Some("web-0".into());
            s.subdomain = Some("web".into());
        }
        let b = backend(&svc, &p, &no_zone).unwrap_or_else(|| panic!("backend"));
        assert_eq!(b.hostname.as_deref(), Some("web-0"));
        if let Some(s) = p.spec.as_mut() {
            s.subdomain = Some("db".into());
        }
        let b = backend(&svc, &p, &no_zone).unwrap_or_else(|| panic!("backend"));
        assert_eq!(b.hostname, None);
    }

    #[test]
    fn services_without_selector_or_external_name_are_not_managed() {
        assert!(selector(&web()).is_some());
        assert!(selector(&service(json!({"ports": [{"port": 80}]}))).is_none());
        assert!(selector(&service(json!({"selector": {}}))).is_none());
        let ext = service(json!({"type": "ExternalName", "externalName": "x.example",
                                 "selector": {"app": "web"}}));
        assert!(selector(&ext).is_none());
    }
}
