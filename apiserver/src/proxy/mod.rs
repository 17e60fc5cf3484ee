//! Pod subresources the kubelet serves: `pods/log`, `pods/exec`, `pods/attach` and
//! `pods/portforward`.
//!
//! The API server checks a request against the stored pod (which container, whether the pod
//! is bound) so that mistakes get a `Status` before anything reaches a node, finds the
//! kubelet from the pod's Node, and relays the kubelet's answer: a streamed body for logs
//! (`logs`), a spliced HTTP/1.1 upgrade for exec and attach (`exec`) and for port-forward
//! (`portforward`).
//!
//! The kubelet is reached over plain HTTP without authentication, on the Node's
//! `status.addresses` (InternalIP first) and `status.daemonEndpoints.kubeletEndpoint.Port`.
//! That is only acceptable on loopback or a trusted node network.

pub mod exec;
pub mod logs;
pub mod portforward;

use std::net::Ipv6Addr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

use capstan_api_types::{ResourceInfo, registry};

use crate::error::{ApiError, ApiResult};
use crate::server::App;

/// The kubelet port Kubernetes assumes when a Node does not report one.
const DEFAULT_KUBELET_PORT: u16 = 10250;
/// A kubelet that does not accept a connection within this is treated as down, rather than
/// leaving `kubectl logs` hanging on the OS's much longer SYN timeout.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for the kubelet to send its response head. Streams themselves are not limited: a
/// followed log or an exec session may last as long as the client wants.
const RESPONSE_HEAD_TIMEOUT: Duration = Duration::from_secs(60);
/// Error bodies are read whole to be re-sent as a Status; a kubelet never needs more.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Node address types tried in order. InternalIP first: it is what a kubelet on the same
/// network as the API server reports for itself.
const ADDRESS_PREFERENCE: &[&str] = &["InternalIP", "Hostname", "InternalDNS", "ExternalIP"];

/// Where one container's streams are served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub host: String,
    pub port: u16,
}

impl Location {
    /// `host:port`, with IPv6 literals in brackets.
    pub fn authority(&self) -> String {
        if self.host.parse::<Ipv6Addr>().is_ok() {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The kubelet path of this container under `prefix` (`containerLogs`, `exec`, `attach`).
    /// Namespace, pod and container names are DNS labels, so they need no escaping.
    fn path(&self, prefix: &str, query: &str) -> String {
        let mut path = format!(
            "/{prefix}/{}/{}/{}",
            self.namespace, self.pod, self.container
        );
        if !query.is_empty() {
            path.push('?');
            path.push_str(query);
        }
        path
    }
}

/// Why the kubelet could not be talked to. Messages follow Go's net errors, which is what
/// users of Kubernetes see in the same situations.
#[derive(Debug, thiserror::Error)]
pub enum KubeletError {
    #[error("dial tcp {addr}: {reason}")]
    Dial { addr: String, reason: String },
    #[error("net/http: timeout awaiting response headers")]
    ResponseTimeout,
    #[error("{0}")]
    Http(#[from] hyper::Error),
}

impl KubeletError {
    fn dial(addr: String, e: &std::io::Error) -> Self {
        let reason = match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "connect: connection refused".to_string(),
            std::io::ErrorKind::TimedOut => "i/o timeout".to_string(),
            std::io::ErrorKind::HostUnreachable => "connect: no route to host".to_string(),
            std::io::ErrorKind::NetworkUnreachable => "connect: network is unreachable".to_string(),
            _ => e.to_string(),
        };
        KubeletError::Dial { addr, reason }
    }
}

/// The pod, its chosen container and its kubelet, or the Status Kubernetes answers when
/// one of them is missing.
pub async fn locate(
    app: &App,
    namespace: &str,
    name: &str,
    container: Option<&str>,
) -> ApiResult<Location> {
    let pod = get_pod(app, namespace, name).await?;
    let container = pick_container(&pod, name, container)?;
    let (host, port) = pod_kubelet(app, &pod, name).await?;
    Ok(Location {
        namespace: namespace.to_string(),
        pod: name.to_string(),
        container,
        host,
        port,
    })
}

/// The stored pod, or the NotFound Status.
pub async fn get_pod(app: &App, namespace: &str, name: &str) -> ApiResult<Value> {
    app.api.get(resource("pods")?, Some(namespace), name).await
}

/// The kubelet serving a pod: its Node's address and kubelet port.
pub async fn pod_kubelet(app: &App, pod: &Value, name: &str) -> ApiResult<(String, u16)> {
    let node_name = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(format!("pod {name} does not have a host assigned"))
        })?;
    let node = app.api.get(resource("nodes")?, None, node_name).await?;
    kubelet_endpoint(&node)
}

fn resource(plural: &str) -> ApiResult<&'static ResourceInfo> {
    registry::find("", "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("{plural} are not registered")))
}

fn container_names<'a>(pod: &'a Value, field: &str) -> Vec<&'a str> {
    pod.pointer(&format!("/spec/{field}"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// The container a request is about: the one named (any regular, init or ephemeral
/// container), or the only regular container when none is named.
pub fn pick_container(pod: &Value, name: &str, requested: Option<&str>) -> ApiResult<String> {
    let containers = container_names(pod, "containers");
    let init = container_names(pod, "initContainers");
    let ephemeral = container_names(pod, "ephemeralContainers");
    match requested.filter(|c| !c.is_empty()) {
        Some(c) => {
            if containers.contains(&c) || init.contains(&c) || ephemeral.contains(&c) {
                Ok(c.to_string())
            } else {
                Err(ApiError::bad_request(format!(
                    "container {c} is not valid for pod {name}"
                )))
            }
        }
        None => match containers.as_slice() {
            [only] => Ok(only.to_string()),
            [] => Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}"
            ))),
            many => {
                let mut message = format!(
                    "a container name must be specified for pod {name}, choose one of: [{}]",
                    many.join(" ")
                );
                if !init.is_empty() {
                    message.push_str(&format!(
                        " or one of the init containers: [{}]",
                        init.join(" ")
                    ));
                }
                if !ephemeral.is_empty() {
                    message.push_str(&format!(
                        " or one of the ephemeral containers: [{}]",
                        ephemeral.join(" ")
                    ));
                }
                Err(ApiError::bad_request(message))
            }
        },
    }
}

/// The kubelet's host and port from a Node object.
pub fn kubelet_endpoint(node: &Value) -> ApiResult<(String, u16)> {
    let addresses: Vec<(&str, &str)> = node
        .pointer("/status/addresses")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|a| {
                    let ty = a.get("type").and_then(Value::as_str)?;
                    let address = a.get("address").and_then(Value::as_str)?;
                    Some((ty, address))
                })
                .filter(|(_, address)| !address.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let host = ADDRESS_PREFERENCE
        .iter()
        .find_map(|want| addresses.iter().find(|(ty, _)| ty == want))
        .map(|(_, address)| address.to_string())
        .ok_or_else(|| {
            let known: Vec<String> = addresses
                .iter()
                .map(|(ty, a)| format!("{ty}: {a}"))
                .collect();
            ApiError::unknown(format!(
                "no preferred addresses found; known addresses: [{}]",
                known.join(" ")
            ))
        })?;
    let port = node
        .pointer("/status/daemonEndpoints/kubeletEndpoint/Port")
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
        .unwrap_or(DEFAULT_KUBELET_PORT);
    Ok((host, port))
}

async fn dial(loc: &Location) -> Result<TcpStream, KubeletError> {
    let addr = loc.authority();
    match tokio::time::timeout(
        DIAL_TIMEOUT,
        TcpStream::connect((loc.host.as_str(), loc.port)),
    )
    .await
    {
        Ok(Ok(stream)) => {
            // Log lines and keystrokes are small writes that must not wait for Nagle.
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
        Ok(Err(e)) => Err(KubeletError::dial(addr, &e)),
        Err(_) => Err(KubeletError::Dial {
            addr,
            reason: "i/o timeout".into(),
        }),
    }
}

/// Sends one request to the kubelet on a connection of its own and returns the response
/// head; the body (or the upgraded connection) follows as the kubelet produces it. A fresh
/// connection per stream keeps long-lived streams from holding up each other.
async fn send(
    loc: &Location,
    request: hyper::Request<Body>,
    upgrades: bool,
) -> Result<hyper::Response<Incoming>, KubeletError> {
    let stream = dial(loc).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    // The connection task lives until the response body ends or the upgrade hands the
    // socket over; errors there reach the caller through the body or the upgrade instead.
    if upgrades {
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(error = %e, "kubelet connection ended");
            }
        });
    } else {
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "kubelet connection ended");
            }
        });
    }
    match tokio::time::timeout(RESPONSE_HEAD_TIMEOUT, sender.send_request(request)).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(KubeletError::ResponseTimeout),
    }
}

/// A kubelet's failure answer as a Status with the kubelet's code. A kubelet sends a Status
/// already; anything else (plain text, an empty body) is wrapped so clients can print it.
async fn relay_failure(response: hyper::Response<Incoming>) -> Response {
    let status = response.status();
    let raw = match tokio::time::timeout(
        RESPONSE_HEAD_TIMEOUT,
        axum::body::to_bytes(Body::new(response.into_body()), MAX_ERROR_BODY),
    )
    .await
    {
        Ok(Ok(raw)) => raw,
        _ => bytes::Bytes::new(),
    };
    let is_status = serde_json::from_slice::<Value>(&raw)
        .is_ok_and(|v| v.get("kind").and_then(Value::as_str) == Some("Status"));
    if is_status {
        let mut resp = (status, raw).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return resp;
    }
    let text = String::from_utf8_lossy(&raw).trim().to_string();
    let message = if text.is_empty() {
        format!("the kubelet answered {status}")
    } else {
        text
    };
    ApiError::new(status.as_u16(), reason_for(status), message).into_response()
}

/// The Status reason Kubernetes gives a bare HTTP code from a backend.
fn reason_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        410 => "Expired",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "",
    }
}

/// All query pairs in order; exec repeats `command`, so a map would lose arguments.
fn query_pairs(uri: &Uri) -> ApiResult<Vec<(String, String)>> {
    match uri.query() {
        Some(q) => serde_urlencoded::from_str(q)
            .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}"))),
        None => Ok(Vec::new()),
    }
}

fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Kubernetes' query booleans: present means true unless it is `0`, `f` or `false`.
fn query_bool(pairs: &[(String, String)], key: &str) -> bool {
    match first(pairs, key) {
        None => false,
        Some(v) => !(v == "0" || v.eq_ignore_ascii_case("f") || v.eq_ignore_ascii_case("false")),
    }
}

fn query_int(pairs: &[(String, String)], key: &str) -> ApiResult<Option<i64>> {
    match first(pairs, key) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            ApiError::bad_request(format!("invalid value for {key}: {v:?}: not an integer"))
        }),
    }
}

fn path_error(e: PathRejection) -> Response {
    ApiError::bad_request(e.body_text()).into_response()
}

/// Runs `handle(namespace, name)` for a `pods/{name}/…` route and turns its error, or a bad
/// path, into a Status response.
async fn for_pod<F, Fut>(path: Result<Path<(String, String)>, PathRejection>, handle: F) -> Response
where
    F: FnOnce(String, String) -> Fut,
    Fut: std::future::Future<Output = ApiResult<Response>>,
{
    let Path((namespace, name)) = match path {
        Ok(p) => p,
        Err(e) => return path_error(e),
    };
    match handle(namespace, name).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({
            "metadata": {"name": "p"},
            "spec": {
                "containers": [{"name": "a"}, {"name": "b"}],
                "initContainers": [{"name": "init"}],
            }
        })
    }

    #[test]
    fn container_choice_follows_kubernetes() {
        let one = json!({"spec": {"containers": [{"name": "main"}]}});
        assert_eq!(
            pick_container(&one, "p", None).ok().as_deref(),
            Some("main")
        );
        assert_eq!(
            pick_container(&one, "p", Some("")).ok().as_deref(),
            Some("main")
        );
        let e = pick_container(&pod(), "p", None).err().map(|e| e.message);
        assert_eq!(
            e.as_deref(),
            Some(
                "a container name must be specified for pod p, choose one of: [a b] or one of the init containers: [init]"
            )
        );
        assert_eq!(
            pick_container(&pod(), "p", Some("init")).ok().as_deref(),
            Some("init")
        );
        let e = pick_container(&pod(), "p", Some("x")).err();
        assert_eq!(e.as_ref().map(|e| e.code), Some(400));
        assert_eq!(
            e.map(|e| e.message).as_deref(),
            Some("container x is not valid for pod p")
        );
    }

    #[test]
    fn kubelet_endpoint_prefers_internal_ip_and_defaults_the_port() {
        let node = json!({"status": {
            "addresses": [{"type": "Hostname", "address": "n1"}, {"type": "InternalIP", "address": "10.0.0.7"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10255}},
        }});
        assert_eq!(
            kubelet_endpoint(&node).ok(),
            Some(("10.0.0.7".to_string(), 10255))
        );
        let node = json!({"status": {"addresses": [{"type": "Hostname", "address": "n1"}]}});
        assert_eq!(
            kubelet_endpoint(&node).ok(),
            Some(("n1".to_string(), DEFAULT_KUBELET_PORT))
        );
        let e = kubelet_endpoint(&json!({"status": {}})).err();
        assert_eq!(e.map(|e| e.code), Some(500));
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        let loc = Location {
            namespace: "ns".into(),
            pod: "p".into(),
            container: "c".into(),
            host: "fd00::1".into(),
            port: 10250,
        };
        assert_eq!(loc.authority(), "[fd00::1]:10250");
        assert_eq!(
            loc.path("containerLogs", "follow=true"),
            "/containerLogs/ns/p/c?follow=true"
        );
        assert_eq!(loc.path("exec", ""), "/exec/ns/p/c");
    }

    #[test]
    fn query_booleans_are_go_like() {
        let pairs = |s: &str| -> Vec<(String, String)> {
            serde_urlencoded::from_str(s).unwrap_or_default()
        };
        assert!(query_bool(&pairs("follow=true"), "follow"));
        assert!(query_bool(&pairs("follow=1"), "follow"));
        assert!(!query_bool(&pairs("follow=false"), "follow"));
        assert!(!query_bool(&pairs("follow=0"), "follow"));
        assert!(!query_bool(&pairs(""), "follow"));
    }
}
