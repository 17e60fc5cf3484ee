//! `kubectl port-forward` and other port-forward clients: the kubelet end of
//! `/portForward/{namespace}/{pod}`.
//!
//! kubectl speaks SPDY/3 either inside WebSocket binary messages (kubectl 1.31 and later,
//! subprotocol `SPDY/3.1+portforward.k8s.io`) or directly on a connection upgraded with
//! `Upgrade: SPDY/3.1` and `X-Stream-Protocol-Version: portforward.k8s.io` (all versions,
//! and the only form before 1.31). Either way the same session runs (`session`), built from
//! SPDY framing (`frame`), compressed header blocks (`headers`, `dictionary`) and the byte
//! pipe underneath (`transport`).
//!
//! Clients such as kube-rs instead use the WebSocket channel protocol (`channels`:
//! `v4.channel.k8s.io` and relatives), where the ports come from the `ports` query and each
//! has a data and an error channel. SPDY stays the preferred subprotocol when a client
//! offers both, so kubectl is unaffected. Both dial the pod's ports with `connect`, inside
//! the pod's network namespace.

pub mod channels;
pub mod connect;
pub mod dictionary;
pub mod error;
pub mod frame;
pub mod headers;
pub mod session;
pub mod transport;

use axum::extract::ws::WebSocketUpgrade;
use axum::response::Response;

pub use connect::PodNetwork;
pub use error::SpdyError;

/// The WebSocket subprotocol kubectl offers, echoed exactly in the 101.
pub const WEBSOCKET_PROTOCOL: &str = "SPDY/3.1+portforward.k8s.io";
/// The `Upgrade` token of the raw SPDY handshake.
pub const SPDY_UPGRADE: &str = "SPDY/3.1";
/// The `X-Stream-Protocol-Version` of the raw SPDY handshake, also sent back in the 101.
pub const STREAM_PROTOCOL: &str = "portforward.k8s.io";

/// Largest WebSocket message or frame accepted. SPDY frames from kubectl are at most 32 KiB
/// and change, channel messages from kube-rs 4 KiB and a byte; this only stops a runaway
/// peer.
pub const MAX_WEBSOCKET_MESSAGE: usize = 2 * 1024 * 1024;

/// Every WebSocket subprotocol served, in order of preference.
pub fn websocket_protocols() -> impl Iterator<Item = &'static str> {
    std::iter::once(WEBSOCKET_PROTOCOL).chain(channels::PROTOCOLS)
}

/// Answers a WebSocket upgrade with the best subprotocol the client offers. `ports` are the
/// values of the `ports` query parameters, which only the channel protocols need. The error
/// is the message of a 400 answer.
pub fn accept_websocket(
    ws: WebSocketUpgrade,
    ports: &[String],
    network: PodNetwork,
    pod: String,
) -> Result<Response, String> {
    let offered_any = ws.requested_protocols().next().is_some();
    let ws = ws
        .protocols(websocket_protocols())
        .max_message_size(MAX_WEBSOCKET_MESSAGE)
        .max_frame_size(MAX_WEBSOCKET_MESSAGE);
    let selected = ws
        .selected_protocol()
        .and_then(|p| p.to_str().ok())
        .map(str::to_owned);
    let protocol = match selected.as_deref() {
        Some(WEBSOCKET_PROTOCOL) => {
            return Ok(ws.on_upgrade(move |socket| serve_websocket(socket, network, pod)));
        }
        Some(name) => channels::Protocol::named(name),
        // The Kubernetes kubelet reads a WebSocket without subprotocol as binary channels.
        None if !offered_any => Some(channels::Protocol::UNNAMED),
        None => None,
    };
    let Some(protocol) = protocol else {
        return Err(format!(
            "port-forward over WebSocket needs one of the subprotocols {}",
            websocket_protocols().collect::<Vec<_>>().join(", ")
        ));
    };
    let ports = channels::parse_ports(ports.iter().map(String::as_str), protocol.max_ports())?;
    let target = channels::Target {
        ports,
        network,
        pod,
    };
    Ok(ws.on_upgrade(move |socket| channels::serve_websocket(socket, protocol, target)))
}

/// Serves one SPDY session over an upgraded WebSocket.
pub async fn serve_websocket(
    socket: axum::extract::ws::WebSocket,
    network: PodNetwork,
    pod: String,
) {
    let (reader, writer) = transport::websocket(socket);
    session::run(reader, writer, network, pod).await;
}

/// Serves one SPDY session over a raw byte stream (an upgraded HTTP/1.1 connection).
pub async fn serve_raw<T>(io: T, network: PodNetwork, pod: String)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (reader, writer) = transport::raw(io);
    session::run(reader, writer, network, pod).await;
}

#[cfg(test)]
mod tests {
    //! The upgrade as a client sees it, on a real socket: axum serving `accept_websocket` the
    //! way the kubelet's `/portForward` route does (minus the pod lookup), for kube-rs itself
    //! and for hand-written handshakes.

    use std::net::SocketAddr;
    use std::time::Duration;

    use axum::Router;
    use axum::extract::{Path, Query};
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use axum::routing::get;
    use k8s_openapi::api::core::v1::Pod;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    const WAIT: Duration = Duration::from_secs(10);

    async fn handler(
        Path((ns, name)): Path<(String, String)>,
        Query(query): Query<Vec<(String, String)>>,
        ws: WebSocketUpgrade,
    ) -> Response {
        let ports: Vec<String> = query
            .into_iter()
            .filter(|(k, _)| k == "ports")
            .map(|(_, v)| v)
            .collect();
        accept_websocket(ws, &ports, PodNetwork::Host, format!("{ns}/{name}"))
            .unwrap_or_else(|message| (StatusCode::BAD_REQUEST, message).into_response())
    }

    /// Serves kube-rs's pods/portforward path (the API server passes it on unchanged).
    async fn serve() -> SocketAddr {
        let app = Router::new().route(
            "/api/v1/namespaces/{ns}/pods/{name}/portforward",
            get(handler),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    async fn echo_once() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let (conn, _) = listener.accept().await.expect("accept");
            let (mut r, mut w) = conn.into_split();
            let _ = tokio::io::copy(&mut r, &mut w).await;
        });
        port
    }

    fn refused_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    }

    #[tokio::test]
    async fn kube_rs_port_forwards_unchanged() {
        let echo = echo_once().await;
        let refused = refused_port();
        let addr = serve().await;
        let config = kube::Config::new(format!("http://{addr}").parse().expect("url"));
        let client = kube::Client::try_from(config).expect("client");
        let pods: kube::Api<Pod> = kube::Api::namespaced(client, "default");
        let mut forwarder = tokio::time::timeout(WAIT, pods.portforward("web", &[echo, refused]))
            .await
            .expect("upgrade in time")
            .expect("upgrade");

        let error = forwarder.take_error(refused).expect("error future");
        let message = tokio::time::timeout(WAIT, error)
            .await
            .expect("error in time")
            .expect("an error message");
        assert!(
            message.starts_with(&format!(
                "error forwarding port {refused} to pod default/web:"
            )),
            "{message}"
        );
        assert!(message.contains("connection refused"), "{message}");

        let mut stream = forwarder.take_stream(echo).expect("stream");
        stream.write_all(b"hello").await.expect("write");
        let mut got = [0u8; 5];
        tokio::time::timeout(WAIT, stream.read_exact(&mut got))
            .await
            .expect("echo in time")
            .expect("read");
        assert_eq!(&got, b"hello");
        drop(stream);
        tokio::time::timeout(WAIT, forwarder.join())
            .await
            .expect("closes in time")
            .expect("closes cleanly");
    }

    /// A bare WebSocket handshake: the status and the chosen subprotocol.
    async fn handshake(
        addr: SocketAddr,
        query: &str,
        offer: Option<&str>,
    ) -> (u16, Option<String>) {
        let mut conn = TcpStream::connect(addr).await.expect("connect");
        let mut request = format!(
            "GET /api/v1/namespaces/default/pods/web/portforward{query} HTTP/1.1\r\n\
             Host: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        );
        if let Some(offer) = offer {
            request.push_str(&format!("Sec-WebSocket-Protocol: {offer}\r\n"));
        }
        request.push_str("\r\n");
        conn.write_all(request.as_bytes()).await.expect("write");
        let mut head = Vec::new();
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let mut buf = [0u8; 1024];
            let n = tokio::time::timeout(WAIT, conn.read(&mut buf))
                .await
                .expect("answer in time")
                .expect("read");
            assert!(n > 0, "connection closed before the answer");
            head.extend_from_slice(&buf[..n]);
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_default();
        let protocol = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-protocol")
                .then(|| value.trim().to_string())
        });
        (status, protocol)
    }

    #[tokio::test]
    async fn subprotocol_negotiation() {
        let addr = serve().await;
        let ports = format!("?ports={}", refused_port());
        let chosen = |p: &str| (101, Some(p.to_string()));
        // kube-rs: v4, as the Kubernetes kubelet would choose.
        assert_eq!(
            handshake(addr, &ports, Some("v5.channel.k8s.io, v4.channel.k8s.io")).await,
            chosen("v4.channel.k8s.io")
        );
        assert_eq!(
            handshake(addr, &ports, Some("v5.channel.k8s.io")).await,
            chosen("v5.channel.k8s.io")
        );
        assert_eq!(
            handshake(addr, &ports, Some("base64.channel.k8s.io")).await,
            chosen("base64.channel.k8s.io")
        );
        // SPDY wins whenever offered, and needs no ports query.
        assert_eq!(
            handshake(
                addr,
                "",
                Some("v4.channel.k8s.io, SPDY/3.1+portforward.k8s.io")
            )
            .await,
            chosen(WEBSOCKET_PROTOCOL)
        );
        assert_eq!(handshake(addr, &ports, None).await, (101, None));
        assert_eq!(handshake(addr, "", Some("v4.channel.k8s.io")).await.0, 400);
        assert_eq!(handshake(addr, "?ports=0", None).await.0, 400);
        assert_eq!(handshake(addr, &ports, Some("chat")).await.0, 400);
    }
}
