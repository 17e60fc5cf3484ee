//! Port-forward over the WebSocket channel protocol, as kube-rs and the other non-kubectl
//! clients speak it. The ports are fixed for the whole connection by the `ports` query;
//! port number i (in query order) owns channel 2i for data, both ways, and 2i+1 for errors,
//! kubelet to client only. Every binary message starts with its channel byte; the base64
//! variants send text messages instead: the character `'0' + channel`, then the payload in
//! base64.
//!
//! Clients check, before anything else, that each channel's first message is its port (two
//! bytes, little endian), so those go out first. After that, data-channel messages from the
//! client are bytes for the pod, without any prefix. One connection per port is dialled in
//! the pod's network namespace; a failed dial or a broken connection is reported once, as
//! text, on the port's error channel. The client has no way to end a single port (except
//! v5's close signal, which only ends its input), so the pod decides: the WebSocket closes
//! once every port's connection has ended, and a client that closes first ends them all.

use std::io;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use futures::{Sink, SinkExt, Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use super::connect::{PodNetwork, dial};

/// The channel subprotocols, in the kubelet's order of preference. The Kubernetes kubelet
/// offers only the v4 names; kube-rs offers v5 before v4 and gets v4, as it would there.
pub const PROTOCOLS: [&str; 6] = [
    "v4.channel.k8s.io",
    "channel.k8s.io",
    "portforward.k8s.io",
    "v5.channel.k8s.io",
    "v4.base64.channel.k8s.io",
    "base64.channel.k8s.io",
];

/// With v5, `[255, channel]` from the client says it will send nothing more on `channel`.
const CLOSE_CHANNEL: u8 = 255;
/// Messages waiting for the writer. A full queue makes the pod relays wait.
const OUTGOING_QUEUE: usize = 64;
/// Client payloads waiting to be written to one pod connection. A full queue stops this
/// side from reading the WebSocket.
const TO_POD_QUEUE: usize = 16;
/// Bytes read from the pod per message.
const FROM_POD_CHUNK: usize = 32 * 1024;
/// How long a closing WebSocket may take to finish its close handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Binary,
    Base64,
}

/// What a negotiated subprotocol means for the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protocol {
    pub encoding: Encoding,
    /// Whether the client may half-close a port with the v5 close signal.
    pub close_signal: bool,
}

impl Protocol {
    /// A WebSocket opened without any subprotocol: binary, as the Kubernetes kubelet has it.
    pub const UNNAMED: Protocol = Protocol {
        encoding: Encoding::Binary,
        close_signal: false,
    };

    /// The meaning of one of `PROTOCOLS`.
    pub fn named(name: &str) -> Option<Protocol> {
        let encoding = match name {
            "v4.channel.k8s.io" | "channel.k8s.io" | "portforward.k8s.io" | "v5.channel.k8s.io" => {
                Encoding::Binary
            }
            "v4.base64.channel.k8s.io" | "base64.channel.k8s.io" => Encoding::Base64,
            _ => return None,
        };
        Some(Protocol {
            encoding,
            close_signal: name == "v5.channel.k8s.io",
        })
    }

    /// Ports one connection can carry. Binary channels must stay below the reserved 255;
    /// base64 channel characters must stay ASCII, as clients decode them byte-wise.
    pub fn max_ports(self) -> usize {
        match self.encoding {
            Encoding::Binary => 127,
            Encoding::Base64 => 40,
        }
    }
}

/// The ports of the `ports` query, each value possibly a comma-separated list, in order. The
/// error is the message of a 400 answer.
pub fn parse_ports<'a>(
    values: impl IntoIterator<Item = &'a str>,
    max: usize,
) -> Result<Vec<u16>, String> {
    let mut ports = Vec::new();
    for value in values {
        if value.is_empty() {
            return Err("query parameter \"ports\" cannot be empty".into());
        }
        for item in value.split(',') {
            let port = item
                .trim()
                .parse::<u16>()
                .map_err(|e| format!("unable to parse {item:?} as a port: {e}"))?;
            if port == 0 {
                return Err(format!("port {item:?} must be > 0"));
            }
            ports.push(port);
        }
    }
    if ports.is_empty() {
        return Err("query parameter \"ports\" is required".into());
    }
    if ports.len() > max {
        return Err(format!(
            "{} ports requested; at most {max} can be forwarded over one connection",
            ports.len()
        ));
    }
    Ok(ports)
}

/// A WebSocket message as the session sees it; pings are the transport's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsMessage {
    Binary(Bytes),
    Text(String),
    Close,
}

/// What to forward, and where.
#[derive(Debug, Clone)]
pub struct Target {
    /// In channel order. Ports beyond the protocol's `max_ports` are not served.
    pub ports: Vec<u16>,
    pub network: PodNetwork,
    /// `namespace/name`, for messages and logs.
    pub pod: String,
}

/// Serves one session over an upgraded WebSocket.
pub async fn serve_websocket(socket: WebSocket, protocol: Protocol, target: Target) {
    let (sink, stream) = socket.split();
    let incoming = stream.filter_map(|m| std::future::ready(from_axum(m)));
    let outgoing = sink
        .sink_map_err(io::Error::other)
        .with(|m| std::future::ready(Ok::<_, io::Error>(to_axum(m))));
    run(incoming, outgoing, protocol, target).await;
}

fn from_axum(message: Result<Message, axum::Error>) -> Option<io::Result<WsMessage>> {
    match message {
        Ok(Message::Binary(b)) => Some(Ok(WsMessage::Binary(b))),
        Ok(Message::Text(t)) => Some(Ok(WsMessage::Text(t.as_str().to_owned()))),
        Ok(Message::Close(_)) => Some(Ok(WsMessage::Close)),
        // The WebSocket layer answers pings itself.
        Ok(Message::Ping(_) | Message::Pong(_)) => None,
        Err(e) => Some(Err(io::Error::other(e))),
    }
}

fn to_axum(message: WsMessage) -> Message {
    match message {
        WsMessage::Binary(b) => Message::Binary(b),
        WsMessage::Text(t) => Message::Text(t.into()),
        WsMessage::Close => Message::Close(Some(CloseFrame {
            code: 1000,
            reason: "".into(),
        })),
    }
}

/// How the serving loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// The client closed, went away or broke the connection.
    ByClient,
    /// Every port's pod connection is over.
    PodsDone,
}

/// Runs a session until every port is done or the client closes.
pub async fn run<I, O>(mut incoming: I, outgoing: O, protocol: Protocol, target: Target)
where
    I: Stream<Item = io::Result<WsMessage>> + Unpin,
    O: Sink<WsMessage, Error = io::Error> + Send + Unpin + 'static,
{
    let (out, out_rx) = mpsc::channel(OUTGOING_QUEUE);
    // Kept until the end: dropping it would stop the writer as surely as sending.
    let (stop, stop_rx) = oneshot::channel();
    let writer = tokio::spawn(write_loop(outgoing, out_rx, stop_rx, protocol.encoding));
    let (mut relays, to_pod) = start(&target, protocol.max_ports(), out).await;
    let mut session = Session { protocol, to_pod };
    let ended = session.serve(&mut incoming, &mut relays).await;
    tracing::debug!(pod = %target.pod, ?ended, "port-forward WebSocket session over");
    match ended {
        Ended::PodsDone => close_after_pods(&mut incoming, writer, stop).await,
        Ended::ByClient => close_after_client(session, relays, writer, stop).await,
    }
}

/// Announces every port on its two channels, then dials them all.
async fn start(
    target: &Target,
    max_ports: usize,
    out: mpsc::Sender<(u8, Bytes)>,
) -> (JoinSet<usize>, Vec<Option<mpsc::Sender<ToPod>>>) {
    let ports = &target.ports[..target.ports.len().min(max_ports)];
    for (index, port) in ports.iter().enumerate() {
        let (data, error) = channels(index);
        let prefix = Bytes::copy_from_slice(&port.to_le_bytes());
        // A writer that is already gone fails the relays' sends too; they then just end.
        let _ = out.send((data, prefix.clone())).await;
        let _ = out.send((error, prefix)).await;
    }
    let mut relays = JoinSet::new();
    let mut to_pod = Vec::with_capacity(ports.len());
    for (index, &port) in ports.iter().enumerate() {
        let (tx, rx) = mpsc::channel(TO_POD_QUEUE);
        to_pod.push(Some(tx));
        let relay = Relay {
            index,
            port,
            network: target.network.clone(),
            pod: target.pod.clone(),
            out: out.clone(),
        };
        relays.spawn(relay.run(rx));
    }
    (relays, to_pod)
}

/// The data and error channel of the port at `index` (below `Protocol::max_ports`).
fn channels(index: usize) -> (u8, u8) {
    let data = u8::try_from(index * 2).unwrap_or(u8::MAX - 1);
    (data, data + 1)
}

struct Session {
    protocol: Protocol,
    /// Per port index: where the client's bytes go, until the pod connection ends.
    to_pod: Vec<Option<mpsc::Sender<ToPod>>>,
}

/// What the session hands a relay for its pod connection. Dropping the sender means the
/// session is over.
enum ToPod {
    Bytes(Bytes),
    /// The v5 close signal: the client sends nothing more, but the pod still may.
    End,
}

impl Session {
    async fn serve<I>(&mut self, incoming: &mut I, relays: &mut JoinSet<usize>) -> Ended
    where
        I: Stream<Item = io::Result<WsMessage>> + Unpin,
    {
        while !relays.is_empty() {
            tokio::select! {
                message = incoming.next() => match message {
                    Some(Ok(WsMessage::Binary(raw))) => self.deliver(raw).await,
                    Some(Ok(WsMessage::Text(raw))) => self.deliver(Bytes::from(raw)).await,
                    Some(Ok(WsMessage::Close)) | None => return Ended::ByClient,
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "port-forward WebSocket failed");
                        return Ended::ByClient;
                    }
                },
                Some(done) = relays.join_next() => {
                    if let Ok(index) = done
                        && let Some(slot) = self.to_pod.get_mut(index)
                    {
                        *slot = None;
                    }
                }
            }
        }
        Ended::PodsDone
    }

    /// One client message. Like the Kubernetes kubelet, anything that is not data for a
    /// known port (error channels are one-way, unknown channels, undecodable base64) is
    /// dropped rather than ending the session.
    async fn deliver(&mut self, raw: Bytes) {
        let Some((channel, payload)) = decode(self.protocol.encoding, raw) else {
            return;
        };
        if channel == CLOSE_CHANNEL && self.protocol.close_signal {
            if let Some(&closed) = payload.first()
                && closed % 2 == 0
                && let Some(slot) = self.to_pod.get_mut(usize::from(closed / 2))
                && let Some(tx) = slot.take()
            {
                // A relay that is already over has nothing left to end.
                let _ = tx.send(ToPod::End).await;
            }
            return;
        }
        if channel % 2 != 0 || payload.is_empty() {
            return;
        }
        let Some(slot) = self.to_pod.get_mut(usize::from(channel / 2)) else {
            return;
        };
        if let Some(tx) = slot.as_ref()
            && tx.send(ToPod::Bytes(payload)).await.is_err()
        {
            // The relay is over; its completion is handled in `serve`.
            *slot = None;
        }
    }
}

/// A client message as (channel, payload).
fn decode(encoding: Encoding, raw: Bytes) -> Option<(u8, Bytes)> {
    let (&first, rest) = raw.split_first()?;
    match encoding {
        Encoding::Binary => Some((first, raw.slice(1..))),
        Encoding::Base64 => {
            let payload = STANDARD.decode(rest).ok()?;
            Some((first.wrapping_sub(b'0'), Bytes::from(payload)))
        }
    }
}

fn encode(encoding: Encoding, channel: u8, payload: &[u8]) -> WsMessage {
    match encoding {
        Encoding::Binary => {
            let mut message = Vec::with_capacity(payload.len() + 1);
            message.push(channel);
            message.extend_from_slice(payload);
            WsMessage::Binary(Bytes::from(message))
        }
        Encoding::Base64 => {
            let mut message = String::with_capacity(payload.len().div_ceil(3) * 4 + 1);
            message.push(char::from(b'0'.wrapping_add(channel)));
            STANDARD.encode_string(payload, &mut message);
            WsMessage::Text(message)
        }
    }
}

/// Sends queued (channel, payload) pairs until every sender is gone or `stop` fires, then
/// closes the WebSocket.
async fn write_loop<O>(
    mut outgoing: O,
    mut queue: mpsc::Receiver<(u8, Bytes)>,
    mut stop: oneshot::Receiver<()>,
    encoding: Encoding,
) where
    O: Sink<WsMessage, Error = io::Error> + Unpin,
{
    loop {
        let next = tokio::select! {
            biased;
            _ = &mut stop => None,
            next = queue.recv() => next,
        };
        let Some((channel, payload)) = next else {
            break;
        };
        // Flushing only when the queue runs dry lets a burst go out in fewer writes.
        let mut result = outgoing.feed(encode(encoding, channel, &payload)).await;
        if result.is_ok() && queue.is_empty() {
            result = outgoing.flush().await;
        }
        if let Err(e) = result {
            tracing::debug!(error = %e, "port-forward write failed");
            return;
        }
    }
    // After the client's own close, sending ours fails; closing the sink still flushes the
    // reply the WebSocket layer queued for it.
    let _ = outgoing.send(WsMessage::Close).await;
    let _ = outgoing.close().await;
}

/// Which side of a closing session finished first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closing {
    Writer,
    Client,
}

/// Every pod connection is over: what they sent is delivered, then the WebSocket closes.
async fn close_after_pods<I>(
    incoming: &mut I,
    mut writer: JoinHandle<()>,
    stop: oneshot::Sender<()>,
) where
    I: Stream<Item = io::Result<WsMessage>> + Unpin,
{
    let first = tokio::select! {
        _ = &mut writer => Closing::Writer,
        _ = client_closed(incoming) => Closing::Client,
    };
    match first {
        // Reading on lets the WebSocket layer complete the close handshake.
        Closing::Writer => {
            let _ = tokio::time::timeout(CLOSE_GRACE, client_closed(incoming)).await;
        }
        // A client that closes first no longer wants the rest.
        Closing::Client => stop_writer(writer, stop).await,
    }
}

/// The client closed: nothing more is sent to it, and every pod connection closes once what
/// the client sent before closing has reached the pod.
async fn close_after_client(
    session: Session,
    mut relays: JoinSet<usize>,
    writer: JoinHandle<()>,
    stop: oneshot::Sender<()>,
) {
    // First, so that relays do not wait on a queue nobody reads.
    stop_writer(writer, stop).await;
    drop(session);
    let drained = async { while relays.join_next().await.is_some() {} };
    if tokio::time::timeout(CLOSE_GRACE, drained).await.is_err() {
        relays.abort_all();
    }
}

async fn stop_writer(mut writer: JoinHandle<()>, stop: oneshot::Sender<()>) {
    let _ = stop.send(());
    if tokio::time::timeout(CLOSE_GRACE, &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
}

/// Waits for the client's close (or the connection's end), ignoring anything before it.
async fn client_closed<I>(incoming: &mut I)
where
    I: Stream<Item = io::Result<WsMessage>> + Unpin,
{
    while let Some(Ok(message)) = incoming.next().await {
        if message == WsMessage::Close {
            return;
        }
    }
}

/// One port's pod connection.
struct Relay {
    index: usize,
    port: u16,
    network: PodNetwork,
    pod: String,
    out: mpsc::Sender<(u8, Bytes)>,
}

impl Relay {
    /// Dials and relays until the pod's side ends; returns the port's index.
    async fn run(self, from_client: mpsc::Receiver<ToPod>) -> usize {
        let outcome = match dial(&self.network, self.port).await {
            Ok(conn) => self.relay(conn, from_client).await,
            Err(message) => Err(message),
        };
        if let Err(message) = outcome {
            tracing::debug!(pod = %self.pod, port = self.port, error = %message, "port-forward failed");
            // The Kubernetes kubelet's wording, which clients show as is.
            let text = format!(
                "error forwarding port {} to pod {}: {message}",
                self.port, self.pod
            );
            let (_, error) = channels(self.index);
            let _ = self.out.send((error, Bytes::from(text))).await;
        }
        self.index
    }

    async fn relay(
        &self,
        conn: TcpStream,
        from_client: mpsc::Receiver<ToPod>,
    ) -> Result<(), String> {
        let (read, write) = conn.into_split();
        tokio::select! {
            result = self.pod_to_client(read) => result,
            result = to_pod(from_client, write) => result,
        }
    }

    /// Pod → client until the pod closes its side; Ok too when the session is going away.
    async fn pod_to_client(&self, mut pod: OwnedReadHalf) -> Result<(), String> {
        let (data, _) = channels(self.index);
        let mut buf = vec![0u8; FROM_POD_CHUNK];
        loop {
            let n = pod
                .read(&mut buf)
                .await
                .map_err(|e| format!("reading from the pod: {e}"))?;
            if n == 0 {
                return Ok(());
            }
            if self
                .out
                .send((data, Bytes::copy_from_slice(&buf[..n])))
                .await
                .is_err()
            {
                return Ok(());
            }
        }
    }
}

/// Client → pod. After the v5 close signal the pod sees end of input and the connection
/// stays open until the pod closes its side; once the session is over, the connection ends
/// as soon as what the client sent before has been written.
async fn to_pod(
    mut from_client: mpsc::Receiver<ToPod>,
    mut pod: OwnedWriteHalf,
) -> Result<(), String> {
    loop {
        match from_client.recv().await {
            Some(ToPod::Bytes(chunk)) => pod
                .write_all(&chunk)
                .await
                .map_err(|e| format!("writing to the pod: {e}"))?,
            Some(ToPod::End) => {
                let _ = pod.shutdown().await;
                return std::future::pending().await;
            }
            None => {
                let _ = pod.shutdown().await;
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::channel::mpsc as fmpsc;
    use tokio::net::TcpListener;

    const WAIT: Duration = Duration::from_secs(10);
    const BINARY: Protocol = Protocol::UNNAMED;

    /// The client's side of a session, over in-memory channels instead of a WebSocket.
    struct Client {
        to_session: fmpsc::Sender<io::Result<WsMessage>>,
        from_session: fmpsc::Receiver<WsMessage>,
        session: JoinHandle<()>,
    }

    impl Client {
        fn start(protocol: Protocol, ports: &[u16]) -> Client {
            let (to_session, incoming) = fmpsc::channel(16);
            let (outgoing, from_session) = fmpsc::channel(16);
            let target = Target {
                ports: ports.to_vec(),
                network: PodNetwork::Host,
                pod: "test/web".into(),
            };
            let outgoing = outgoing.sink_map_err(io::Error::other);
            let session = tokio::spawn(run(incoming, outgoing, protocol, target));
            Client {
                to_session,
                from_session,
                session,
            }
        }

        async fn send(&mut self, message: WsMessage) {
            self.to_session.send(Ok(message)).await.expect("send");
        }

        async fn send_on(&mut self, channel: u8, payload: &[u8]) {
            let mut raw = vec![channel];
            raw.extend_from_slice(payload);
            self.send(WsMessage::Binary(raw.into())).await;
        }

        async fn recv(&mut self) -> WsMessage {
            tokio::time::timeout(WAIT, self.from_session.next())
                .await
                .expect("message in time")
                .expect("session still open")
        }

        /// The next binary message, as (channel, payload).
        async fn recv_on(&mut self) -> (u8, Vec<u8>) {
            match self.recv().await {
                WsMessage::Binary(b) => (b[0], b[1..].to_vec()),
                other => panic!("expected a binary message, got {other:?}"),
            }
        }

        async fn expect_prefixes(&mut self, ports: &[u16]) {
            for (i, port) in ports.iter().enumerate() {
                let channel = u8::try_from(i * 2).expect("channel");
                assert_eq!(self.recv_on().await, (channel, port.to_le_bytes().to_vec()));
                assert_eq!(
                    self.recv_on().await,
                    (channel + 1, port.to_le_bytes().to_vec())
                );
            }
        }

        /// Everything on `channel` until the session's close; other channels must be silent.
        async fn collect_until_close(&mut self, channel: u8) -> Vec<u8> {
            let mut got = Vec::new();
            loop {
                match self.recv().await {
                    WsMessage::Close => return got,
                    WsMessage::Binary(b) => {
                        assert_eq!(b[0], channel, "unexpected message {b:?}");
                        got.extend_from_slice(&b[1..]);
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        }

        /// Answers the session's close the way a WebSocket client does, and waits for it.
        async fn finish(mut self) {
            self.send(WsMessage::Close).await;
            tokio::time::timeout(WAIT, self.session)
                .await
                .expect("session ends in time")
                .expect("session task");
        }
    }

    /// A pod port that reads `request`, answers `reply` and closes.
    async fn answering(request: &'static [u8], reply: &'static [u8]) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.expect("accept");
            let mut got = vec![0u8; request.len()];
            conn.read_exact(&mut got).await.expect("request");
            assert_eq!(got, request);
            conn.write_all(reply).await.expect("reply");
        });
        port
    }

    fn refused_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    }

    #[tokio::test]
    async fn ports_are_announced_first_then_bytes_flow_both_ways() {
        let port = answering(b"ping", b"pong").await;
        let mut client = Client::start(BINARY, &[port]);
        client.expect_prefixes(&[port]).await;
        // Split across messages, and preceded by noise the session must ignore: the error
        // channel is one-way, channel 9 does not exist, empty messages carry nothing.
        client.send_on(1, b"ignored").await;
        client.send_on(9, b"ignored").await;
        client.send(WsMessage::Binary(Bytes::new())).await;
        client.send_on(0, b"pi").await;
        client.send_on(0, b"ng").await;
        assert_eq!(client.collect_until_close(0).await, b"pong");
        client.finish().await;
    }

    #[tokio::test]
    async fn a_refused_port_is_reported_as_text_on_its_error_channel() {
        let port = refused_port();
        let mut client = Client::start(BINARY, &[port]);
        client.expect_prefixes(&[port]).await;
        let (channel, text) = client.recv_on().await;
        assert_eq!(channel, 1);
        let text = String::from_utf8(text).expect("utf-8");
        assert!(
            text.starts_with(&format!(
                "error forwarding port {port} to pod test/web: failed to connect to localhost:{port}"
            )),
            "{text}"
        );
        assert!(text.contains("connection refused"), "{text}");
        assert_eq!(client.recv().await, WsMessage::Close);
        client.finish().await;
    }

    #[tokio::test]
    async fn two_ports_share_one_session_and_it_closes_after_both() {
        let first = answering(b"one", b"first reply").await;
        let second = answering(b"two", b"second reply").await;
        let mut client = Client::start(BINARY, &[first, second]);
        client.expect_prefixes(&[first, second]).await;
        client.send_on(2, b"two").await;
        let mut replies: [Vec<u8>; 2] = Default::default();
        let expect = |r: &[Vec<u8>; 2]| r[1] == b"second reply";
        while !expect(&replies) {
            let (channel, payload) = client.recv_on().await;
            assert_eq!(channel, 2, "only the second port has spoken");
            replies[1].extend(payload);
        }
        client.send_on(0, b"one").await;
        replies[0] = client.collect_until_close(0).await;
        assert_eq!(replies[0], b"first reply");
        client.finish().await;
    }

    #[tokio::test]
    async fn a_client_close_closes_the_pod_connections() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (eof_tx, eof_rx) = oneshot::channel();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.expect("accept");
            let mut rest = Vec::new();
            let _ = conn.read_to_end(&mut rest).await;
            let _ = eof_tx.send(rest);
        });
        let mut client = Client::start(BINARY, &[port]);
        client.expect_prefixes(&[port]).await;
        client.send_on(0, b"partial").await;
        client.send(WsMessage::Close).await;
        let seen = tokio::time::timeout(WAIT, eof_rx)
            .await
            .expect("the pod connection closes")
            .expect("pod task");
        assert_eq!(seen, b"partial");
        // The session answers the close and ends.
        assert_eq!(client.recv().await, WsMessage::Close);
        tokio::time::timeout(WAIT, client.session)
            .await
            .expect("session ends")
            .expect("session task");
    }

    #[tokio::test]
    async fn a_broken_pod_connection_is_reported_on_the_error_channel() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.expect("accept");
            // Only once the dial is surely complete: a reset during it is a dial failure.
            let mut byte = [0u8; 1];
            conn.read_exact(&mut byte).await.expect("read");
            // Closing with a zero linger resets the connection instead of ending it.
            conn.set_zero_linger().expect("linger");
        });
        let mut client = Client::start(BINARY, &[port]);
        client.expect_prefixes(&[port]).await;
        client.send_on(0, b"x").await;
        let (channel, text) = client.recv_on().await;
        assert_eq!(channel, 1);
        let text = String::from_utf8(text).expect("utf-8");
        assert!(
            text.starts_with(&format!(
                "error forwarding port {port} to pod test/web: reading from the pod:"
            )),
            "{text}"
        );
        assert_eq!(client.recv().await, WsMessage::Close);
        client.finish().await;
    }

    #[tokio::test]
    async fn the_v5_close_signal_ends_the_pods_input_only() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.expect("accept");
            let mut got = Vec::new();
            conn.read_to_end(&mut got).await.expect("read");
            conn.write_all(&[b"got ", &got[..]].concat())
                .await
                .expect("write");
        });
        let v5 = Protocol::named("v5.channel.k8s.io").expect("v5");
        let mut client = Client::start(v5, &[port]);
        client.expect_prefixes(&[port]).await;
        client.send_on(0, b"all of it").await;
        client.send_on(CLOSE_CHANNEL, &[0]).await;
        assert_eq!(client.collect_until_close(0).await, b"got all of it");
        client.finish().await;
    }

    #[tokio::test]
    async fn base64_sessions_use_text_messages_with_a_channel_digit() {
        let port = answering(b"hi", b"ho").await;
        let base64 = Protocol::named("v4.base64.channel.k8s.io").expect("base64");
        let mut client = Client::start(base64, &[port]);
        let prefix = STANDARD.encode(port.to_le_bytes());
        assert_eq!(client.recv().await, WsMessage::Text(format!("0{prefix}")));
        assert_eq!(client.recv().await, WsMessage::Text(format!("1{prefix}")));
        client
            .send(WsMessage::Text(format!("0{}", STANDARD.encode(b"hi"))))
            .await;
        assert_eq!(
            client.recv().await,
            WsMessage::Text(format!("0{}", STANDARD.encode(b"ho")))
        );
        assert_eq!(client.recv().await, WsMessage::Close);
        client.finish().await;
    }

    #[test]
    fn protocol_names() {
        for name in PROTOCOLS {
            assert!(Protocol::named(name).is_some(), "{name}");
        }
        assert_eq!(Protocol::named("v4.channel.k8s.io"), Some(BINARY));
        assert!(
            Protocol::named("v5.channel.k8s.io")
                .expect("v5")
                .close_signal
        );
        assert_eq!(
            Protocol::named("base64.channel.k8s.io").map(|p| p.encoding),
            Some(Encoding::Base64)
        );
        assert_eq!(Protocol::named("SPDY/3.1+portforward.k8s.io"), None);
    }

    #[test]
    fn ports_come_from_repeated_or_comma_separated_values() {
        assert_eq!(
            parse_ports(["80", "443,8080"], 127),
            Ok(vec![80, 443, 8080])
        );
        assert_eq!(parse_ports([" 80 , 81"], 127), Ok(vec![80, 81]));
        let error = |values: &[&str], max| parse_ports(values.iter().copied(), max).err();
        assert_eq!(
            error(&[], 127).as_deref(),
            Some("query parameter \"ports\" is required")
        );
        assert_eq!(
            error(&[""], 127).as_deref(),
            Some("query parameter \"ports\" cannot be empty")
        );
        assert!(error(&["http"], 127).is_some_and(|e| e.contains("\"http\"")));
        assert!(error(&["70000"], 127).is_some());
        assert!(error(&["80,"], 127).is_some());
        assert_eq!(
            error(&["0"], 127).as_deref(),
            Some("port \"0\" must be > 0")
        );
        assert!(error(&["1,2,3"], 2).is_some_and(|e| e.contains("at most 2")));
    }

    #[test]
    fn channel_numbers_follow_the_port_index() {
        assert_eq!(channels(0), (0, 1));
        assert_eq!(channels(3), (6, 7));
        assert_eq!(channels(126), (252, 253));
        assert_eq!(BINARY.max_ports(), 127);
    }
}
