//! `pods/{name}/portforward`: kubectl port-forward, proxied to the kubelet's
//! `/portForward/{namespace}/{pod}` like exec (see `exec`): checked here, then the upgrade
//! (WebSocket with subprotocol `SPDY/3.1+portforward.k8s.io`, or the older `POST` with
//! `Upgrade: SPDY/3.1`) goes to the kubelet and the two connections are spliced byte for
//! byte. The ports to forward travel inside the SPDY streams; the optional `ports` query is
//! only validated and passed on.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::Method;
use axum::response::Response;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::server::App;

use super::exec::relay_upgrade;
use super::{Location, get_pod, pod_kubelet, query_pairs};

pub async fn portforward(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
    req: Request,
) -> Response {
    super::for_pod(path, |namespace, name| async move {
        proxy(&app, &namespace, &name, req).await
    })
    .await
}

async fn proxy(app: &Arc<App>, namespace: &str, name: &str, req: Request) -> ApiResult<Response> {
    // GET is the WebSocket handshake, POST the SPDY one.
    if req.method() != Method::GET && req.method() != Method::POST {
        return Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({} pods/portforward)",
            req.method()
        )));
    }
    let ports = parse_ports(&query_pairs(req.uri())?)?;
    let pod = get_pod(app, namespace, name).await?;
    check_running(&pod)?;
    let (host, port) = pod_kubelet(app, &pod, name).await?;
    let loc = Location {
        namespace: namespace.to_string(),
        pod: name.to_string(),
        container: String::new(),
        host,
        port,
    };
    let path = kubelet_path(namespace, name, &ports);
    relay_upgrade(app, loc, "portforward", path, req).await
}

/// The `ports` query (repeated, or comma-separated as some clients send it), each 1–65535.
pub fn parse_ports(pairs: &[(String, String)]) -> ApiResult<Vec<u16>> {
    pairs
        .iter()
        .filter(|(k, _)| k == "ports")
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| match v.parse::<u16>() {
            Ok(p) if p > 0 => Ok(p),
            _ => Err(ApiError::bad_request(format!(
                "invalid port {v:?}: must be an integer between 1 and 65535"
            ))),
        })
        .collect()
}

/// A pod that is not running has nothing listening; say so (in kubectl's own words) rather
/// than letting the kubelet fail the first connection.
fn check_running(pod: &Value) -> ApiResult<()> {
    let phase = pod
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("Pending");
    if phase == "Running" {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "unable to forward port because pod is not running. Current status={phase}"
        )))
    }
}

/// The kubelet's path (its capitalisation is the real kubelet's), with the ports if given.
/// Namespace and pod names are DNS labels, so they need no escaping.
fn kubelet_path(namespace: &str, name: &str, ports: &[u16]) -> String {
    let mut path = format!("/portForward/{namespace}/{name}");
    for (i, p) in ports.iter().enumerate() {
        path.push(if i == 0 { '?' } else { '&' });
        path.push_str(&format!("ports={p}"));
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(q: &str) -> Vec<(String, String)> {
        serde_urlencoded::from_str(q).unwrap_or_default()
    }

    #[test]
    fn ports_may_repeat_or_be_comma_separated() {
        assert_eq!(
            parse_ports(&pairs("ports=8080&ports=80,443")).ok(),
            Some(vec![8080, 80, 443])
        );
        assert_eq!(parse_ports(&pairs("")).ok(), Some(vec![]));
        for bad in ["ports=0", "ports=70000", "ports=http"] {
            let e = parse_ports(&pairs(bad)).err();
            assert_eq!(e.map(|e| e.code), Some(400), "{bad}");
        }
    }

    #[test]
    fn only_running_pods_are_forwarded() {
        assert!(check_running(&json!({"status": {"phase": "Running"}})).is_ok());
        let e = check_running(&json!({"status": {"phase": "Pending"}})).err();
        assert_eq!(
            e.map(|e| e.message).as_deref(),
            Some("unable to forward port because pod is not running. Current status=Pending")
        );
        assert!(check_running(&json!({})).is_err());
    }

    #[test]
    fn kubelet_path_uses_the_kubelets_spelling() {
        assert_eq!(kubelet_path("ns", "web", &[]), "/portForward/ns/web");
        assert_eq!(
            kubelet_path("ns", "web", &[80, 8080]),
            "/portForward/ns/web?ports=80&ports=8080"
        );
    }
}
