//! `pods/{name}/exec` and `pods/{name}/attach`: an upgrade-aware reverse proxy.
//!
//! Everything that can be wrong with the request is checked before any upgrade, because a
//! client only shows an error it receives as a plain HTTP answer (kubectl then retries over
//! SPDY, gets the same Status, and prints it). The upgrade request then goes to the kubelet
//! with the client's WebSocket (or SPDY) headers; when the kubelet switches protocols, the
//! client gets the kubelet's 101 and the two upgraded connections are spliced byte for byte.
//! The API server never parses the channel protocol: whatever version the two ends agreed
//! on passes through.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, header};
use axum::response::Response;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::sync::watch;

use crate::error::{ApiError, ApiResult};
use crate::server::App;

use super::{KubeletError, Location, first, locate, query_bool, query_pairs, relay_failure, send};

/// Which stream subresource a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Exec,
    Attach,
}

impl StreamKind {
    fn as_str(self) -> &'static str {
        match self {
            StreamKind::Exec => "exec",
            StreamKind::Attach => "attach",
        }
    }
}

/// The query of an exec or attach request (PodExecOptions, PodAttachOptions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamOptions {
    pub container: Option<String>,
    pub command: Vec<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

impl StreamOptions {
    pub fn parse(pairs: &[(String, String)]) -> Self {
        StreamOptions {
            container: first(pairs, "container")
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            command: pairs
                .iter()
                .filter(|(k, _)| k == "command")
                .map(|(_, v)| v.clone())
                .collect(),
            stdin: query_bool(pairs, "stdin"),
            stdout: query_bool(pairs, "stdout"),
            stderr: query_bool(pairs, "stderr"),
            tty: query_bool(pairs, "tty"),
        }
    }

    /// What the kubelet would refuse anyway, refused here while a plain answer can still
    /// reach the client (same messages as kubectl and the kubelet).
    pub fn validate(&self, kind: StreamKind) -> ApiResult<()> {
        if kind == StreamKind::Exec && self.command.is_empty() {
            return Err(ApiError::bad_request(
                "you must specify at least one command for the container",
            ));
        }
        if !self.stdin && !self.stdout && !self.stderr {
            return Err(ApiError::bad_request(
                "you must specify at least 1 of stdin, stdout, stderr",
            ));
        }
        Ok(())
    }

    /// The kubelet's query: `command` repeated in order, then the streams asked for.
    pub fn kubelet_query(&self, kind: StreamKind) -> String {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if kind == StreamKind::Exec {
            pairs.extend(self.command.iter().map(|c| ("command", c.as_str())));
        }
        for (key, on) in [
            ("stdin", self.stdin),
            ("stdout", self.stdout),
            ("stderr", self.stderr),
            ("tty", self.tty),
        ] {
            if on {
                pairs.push((key, "true"));
            }
        }
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }
}

pub async fn exec(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
    req: Request,
) -> Response {
    serve(app, StreamKind::Exec, path, req).await
}

pub async fn attach(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
    req: Request,
) -> Response {
    serve(app, StreamKind::Attach, path, req).await
}

async fn serve(
    app: Arc<App>,
    kind: StreamKind,
    path: Result<Path<(String, String)>, PathRejection>,
    req: Request,
) -> Response {
    super::for_pod(path, |namespace, name| async move {
        proxy(&app, kind, &namespace, &name, req).await
    })
    .await
}

async fn proxy(
    app: &Arc<App>,
    kind: StreamKind,
    namespace: &str,
    name: &str,
    req: Request,
) -> ApiResult<Response> {
    // GET is the WebSocket handshake, POST the SPDY one.
    if req.method() != Method::GET && req.method() != Method::POST {
        return Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({} pods/{})",
            req.method(),
            kind.as_str()
        )));
    }
    let opts = StreamOptions::parse(&query_pairs(req.uri())?);
    opts.validate(kind)?;
    let loc = locate(app, namespace, name, opts.container.as_deref()).await?;
    let path = loc.path(kind.as_str(), &opts.kubelet_query(kind));
    relay_upgrade(app, loc, kind.as_str(), path, req).await
}

/// Sends an upgrade request on to `path` (with its query) at the kubelet of `loc` and, once
/// the kubelet switches protocols, answers the client with the kubelet's 101 and splices the
/// two connections. A kubelet that refuses is relayed as a Status. `what` names the
/// subresource in logs.
pub(super) async fn relay_upgrade(
    app: &Arc<App>,
    loc: Location,
    what: &'static str,
    path: String,
    mut req: Request,
) -> ApiResult<Response> {
    if !is_upgrade(req.headers()) {
        return Err(ApiError::bad_request("Upgrade request required"));
    }
    // Taken now: once the handler returns the 101, hyper hands the client's socket to it.
    let client_upgrade = hyper::upgrade::on(&mut req);
    let upstream = upstream_request(&loc, path, req.method(), req.headers())?;
    let mut response = send(&loc, upstream, true).await.map_err(|e| {
        tracing::warn!(kubelet = %loc.authority(), error = %e, "kubelet unreachable for {what}");
        match e {
            KubeletError::Dial { .. } => ApiError::unknown(format!("error dialing backend: {e}")),
            other => ApiError::unknown(other.to_string()),
        }
    })?;
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Ok(relay_failure(response).await);
    }
    let kubelet_upgrade = hyper::upgrade::on(&mut response);
    let mut answer = Response::builder().status(StatusCode::SWITCHING_PROTOCOLS);
    for (k, v) in response.headers() {
        // The kubelet's handshake headers (Upgrade, Connection, Sec-WebSocket-Accept and
        // -Protocol, X-Stream-Protocol-Version) are what the client verifies.
        if k != header::CONTENT_LENGTH && k != header::TRANSFER_ENCODING {
            answer = answer.header(k, v);
        }
    }
    let answer = answer
        .body(Body::empty())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    tracing::debug!(pod = %loc.pod, container = %loc.container, "{what} stream opened");
    tokio::spawn(splice(
        client_upgrade,
        kubelet_upgrade,
        app.shutdown.subscribe(),
        loc,
    ));
    Ok(answer)
}

fn is_upgrade(headers: &HeaderMap) -> bool {
    let connection_upgrade = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    connection_upgrade && headers.contains_key(header::UPGRADE)
}

/// Headers that belong to one hop, or to the client's relationship with the API server
/// rather than with the kubelet (credentials must not travel to an unauthenticated node).
fn forwarded(name: &HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "host"
            | "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authorization"
            | "authorization"
            | "cookie"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "content-length"
    )
}

fn upstream_request(
    loc: &Location,
    path: String,
    method: &Method,
    headers: &HeaderMap,
) -> ApiResult<hyper::Request<Body>> {
    let mut request = hyper::Request::builder()
        .method(method.clone())
        .uri(path)
        .header(header::HOST, loc.authority())
        .header(header::CONNECTION, "Upgrade");
    for (k, v) in headers.iter().filter(|(k, _)| forwarded(k)) {
        request = request.header(k, v);
    }
    request
        .body(Body::empty())
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// Copies bytes both ways between the upgraded client and kubelet connections until both
/// directions end (each end's EOF is passed on as a write shutdown) or the server stops.
async fn splice(
    client: OnUpgrade,
    kubelet: OnUpgrade,
    mut shutdown: watch::Receiver<bool>,
    loc: Location,
) {
    let (client, kubelet) = match tokio::try_join!(client, kubelet) {
        Ok(pair) => pair,
        Err(e) => {
            tracing::warn!(pod = %loc.pod, error = %e, "stream upgrade failed");
            return;
        }
    };
    let mut client = TokioIo::new(client);
    let mut kubelet = TokioIo::new(kubelet);
    tokio::select! {
        result = tokio::io::copy_bidirectional(&mut client, &mut kubelet) => match result {
            Ok((to_kubelet, to_client)) => {
                tracing::debug!(pod = %loc.pod, container = %loc.container, to_kubelet, to_client, "stream closed");
            }
            Err(e) => {
                tracing::debug!(pod = %loc.pod, container = %loc.container, error = %e, "stream ended");
            }
        },
        _ = async { let _ = shutdown.wait_for(|s| *s).await; } => {
            tracing::debug!(pod = %loc.pod, "stream closed by shutdown");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> StreamOptions {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap_or_default();
        StreamOptions::parse(&pairs)
    }

    #[test]
    fn commands_keep_their_order_and_streams_follow() {
        let opts = parse(
            "command=sh&command=-c&command=echo+a%26b&container=c&stdin=true&stdout=true&tty=true",
        );
        assert_eq!(opts.container.as_deref(), Some("c"));
        assert_eq!(opts.command, ["sh", "-c", "echo a&b"]);
        assert!(opts.validate(StreamKind::Exec).is_ok());
        assert_eq!(
            opts.kubelet_query(StreamKind::Exec),
            "command=sh&command=-c&command=echo+a%26b&stdin=true&stdout=true&tty=true"
        );
        assert_eq!(
            opts.kubelet_query(StreamKind::Attach),
            "stdin=true&stdout=true&tty=true"
        );
    }

    #[test]
    fn missing_command_or_streams_are_refused() {
        let e = parse("stdout=true").validate(StreamKind::Exec).err();
        assert_eq!(e.map(|e| e.code), Some(400));
        assert!(parse("stdout=true").validate(StreamKind::Attach).is_ok());
        let e = parse("command=ls").validate(StreamKind::Exec).err();
        assert_eq!(
            e.map(|e| e.message).as_deref(),
            Some("you must specify at least 1 of stdin, stdout, stderr")
        );
    }

    #[test]
    fn upgrade_needs_both_headers() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            "keep-alive, Upgrade".parse().expect("value"),
        );
        assert!(!is_upgrade(&h));
        h.insert(header::UPGRADE, "websocket".parse().expect("value"));
        assert!(is_upgrade(&h));
        assert!(!forwarded(&header::AUTHORIZATION));
        assert!(forwarded(&HeaderName::from_static(
            "sec-websocket-protocol"
        )));
    }
}
