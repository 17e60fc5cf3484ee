//! `kubectl port-forward`: the kubelet end of `/portForward/{namespace}/{pod}`.
//!
//! kubectl speaks SPDY/3 either inside WebSocket binary messages (kubectl 1.31 and later,
//! subprotocol `SPDY/3.1+portforward.k8s.io`) or directly on a connection upgraded with
//! `Upgrade: SPDY/3.1` and `X-Stream-Protocol-Version: portforward.k8s.io` (all versions,
//! and the only form before 1.31). Either way the same session runs (`session`), built from
//! SPDY framing (`frame`), compressed header blocks (`headers`, `dictionary`), the byte pipe
//! underneath (`transport`) and a dialer that connects inside the pod's network namespace
//! (`connect`).

pub mod connect;
pub mod dictionary;
pub mod error;
pub mod frame;
pub mod headers;
pub mod session;
pub mod transport;

pub use connect::PodNetwork;
pub use error::SpdyError;

/// The WebSocket subprotocol kubectl offers, echoed exactly in the 101.
pub const WEBSOCKET_PROTOCOL: &str = "SPDY/3.1+portforward.k8s.io";
/// The `Upgrade` token of the raw SPDY handshake.
pub const SPDY_UPGRADE: &str = "SPDY/3.1";
/// The `X-Stream-Protocol-Version` of the raw SPDY handshake, also sent back in the 101.
pub const STREAM_PROTOCOL: &str = "portforward.k8s.io";

/// Serves one session over an upgraded WebSocket.
pub async fn serve_websocket(
    socket: axum::extract::ws::WebSocket,
    network: PodNetwork,
    pod: String,
) {
    let (reader, writer) = transport::websocket(socket);
    session::run(reader, writer, network, pod).await;
}

/// Serves one session over a raw byte stream (an upgraded HTTP/1.1 connection).
pub async fn serve_raw<T>(io: T, network: PodNetwork, pod: String)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (reader, writer) = transport::raw(io);
    session::run(reader, writer, network, pod).await;
}
