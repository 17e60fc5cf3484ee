//! Which port of a pod a Service port sends traffic to: `targetPort` as a number, as the name
//! of a container port, or absent (the Service port itself).

use k8s_openapi::api::core::v1::{ContainerPort, Pod, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// A Service port with its target resolved in one pod. Ordered so that port sets can be
/// compared and used as map keys whatever order they were listed in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResolvedPort {
    /// The Service port's name; "" for a single unnamed port.
    pub name: String,
    pub protocol: String,
    pub port: i32,
    pub app_protocol: Option<String>,
}

/// `svc_port` in `pod`, or None when it names a container port the pod does not have (with
/// the same protocol), so the pod cannot serve it.
pub fn resolve(svc_port: &ServicePort, pod: &Pod) -> Option<ResolvedPort> {
    let protocol = svc_port.protocol.clone().unwrap_or_else(|| "TCP".into());
    let port = match &svc_port.target_port {
        Some(IntOrString::Int(n)) if *n != 0 => *n,
        Some(IntOrString::String(name)) => match name.parse::<i32>() {
            Ok(n) => n,
            Err(_) => named_port(pod, name, &protocol)?,
        },
        _ => svc_port.port,
    };
    Some(ResolvedPort {
        name: svc_port.name.clone().unwrap_or_default(),
        protocol,
        port,
        app_protocol: svc_port.app_protocol.clone(),
    })
}

fn named_port(pod: &Pod, name: &str, protocol: &str) -> Option<i32> {
    let spec = pod.spec.as_ref()?;
    // Sidecars (restartable init containers) serve for the pod's whole life, so their ports
    // count like those of ordinary containers.
    let sidecars = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() == Some("Always"));
    spec.containers
        .iter()
        .chain(sidecars)
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p: &&ContainerPort| {
            p.name.as_deref() == Some(name) && p.protocol.as_deref().unwrap_or("TCP") == protocol
        })
        .map(|p| p.container_port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn svc_port(v: serde_json::Value) -> ServicePort {
        serde_json::from_value(v).unwrap_or_else(|e| panic!("port: {e}"))
    }

    fn pod() -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {
                "containers": [{"name": "c", "image": "i", "ports": [
                    {"name": "http", "containerPort": 8080},
                    {"name": "dns", "containerPort": 5353, "protocol": "UDP"}]}],
                "initContainers": [{"name": "proxy", "image": "i", "restartPolicy": "Always",
                    "ports": [{"name": "admin", "containerPort": 15000}]}],
            },
        }))
        .unwrap_or_else(|e| panic!("pod: {e}"))
    }

    fn port_of(v: serde_json::Value) -> Option<i32> {
        resolve(&svc_port(v), &pod()).map(|p| p.port)
    }

    #[test]
    fn target_ports_resolve_by_number_name_or_default() {
        assert_eq!(port_of(json!({"port": 80, "targetPort": 9376})), Some(9376));
        assert_eq!(port_of(json!({"port": 80})), Some(80));
        assert_eq!(
            port_of(json!({"port": 80, "targetPort": "http"})),
            Some(8080)
        );
        assert_eq!(
            port_of(json!({"port": 80, "targetPort": "admin"})),
            Some(15000)
        );
        // The name must exist with the Service port's protocol.
        assert_eq!(port_of(json!({"port": 53, "targetPort": "dns"})), None);
        assert_eq!(
            port_of(json!({"port": 53, "targetPort": "dns", "protocol": "UDP"})),
            Some(5353)
        );
        assert_eq!(port_of(json!({"port": 80, "targetPort": "missing"})), None);
    }

    #[test]
    fn resolved_ports_keep_name_protocol_and_app_protocol() {
        let p = resolve(
            &svc_port(json!({"name": "web", "port": 80, "appProtocol": "http"})),
            &pod(),
        );
        assert_eq!(
            p,
            Some(ResolvedPort {
                name: "web".into(),
                protocol: "TCP".into(),
                port: 80,
                app_protocol: Some("http".into()),
            })
        );
    }
}
