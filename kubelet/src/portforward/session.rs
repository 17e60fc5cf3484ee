//! One port-forward connection: a SPDY/3 session in which kubectl opens, for every local
//! connection it accepts, an error stream and a data stream (headers `streamtype`, `port`
//! and `requestid`), and the kubelet joins the data stream to `localhost:<port>` in the pod.
//!
//! Tasks: this loop reads and answers frames and owns both header compression contexts;
//! one writer task owns the outgoing side of the connection, fed in order by a bounded
//! queue; one relay task per forwarded connection moves bytes to and from the pod.
//!
//! Flow control: the kubelet sends WINDOW_UPDATE for every 32 KiB it has delivered to the
//! pod, so a peer that honours windows never stalls. It does not hold its own sends to the
//! peer's window: kubectl's SPDY library neither sends WINDOW_UPDATE nor enforces windows,
//! so honouring one would stop every transfer after 64 KiB. Memory stays bounded anyway,
//! because every queue is bounded and a full one stops this side from reading.

use std::collections::HashMap;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use super::connect::{PodNetwork, dial};
use super::error::SpdyError;
use super::frame::{self, Frame, FrameDecoder, FrameEncoder, goaway, rst};
use super::headers::Headers;
use super::transport::{Reader, Writer};

/// Open streams per session (each forwarded connection uses two). kubectl opens them one
/// local connection at a time; the limit only stops a runaway peer.
const MAX_STREAMS: usize = 512;
/// Serialised frames waiting for the writer. A full queue makes relays wait.
const OUTGOING_QUEUE: usize = 64;
/// The writer coalesces queued frames into one write up to this size.
const MAX_BATCH: usize = 64 * 1024;
/// DATA payloads waiting to be written to one pod connection.
const TO_POD_QUEUE: usize = 16;
/// Bytes read from the pod per DATA frame (kubectl's own copy size).
const FROM_POD_CHUNK: usize = 32 * 1024;
/// Delivered bytes that trigger a WINDOW_UPDATE: half of SPDY's initial 64 KiB window.
const WINDOW_UPDATE_AFTER: u32 = 32 * 1024;

/// What the kubelet reads from kubectl's stream headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamType {
    Error,
    Data,
}

struct StreamState {
    kind: StreamType,
    /// The stream's partner once the pair is complete (data ↔ error).
    partner: Option<u32>,
    /// Data streams being relayed: where the peer's bytes go. Dropped on the peer's FIN.
    to_pod: Option<mpsc::Sender<Bytes>>,
    /// Data streams being relayed: dropping or firing it stops the relay.
    cancel: Option<oneshot::Sender<()>>,
}

/// Half of a forwarded connection waiting for its other half.
#[derive(Default)]
struct Pending {
    error: Option<u32>,
    data: Option<(u32, String)>,
}

/// Runs a session until the peer closes the connection or breaks the protocol.
pub async fn run(mut reader: Reader, writer: Writer, network: PodNetwork, pod: String) {
    let (out, out_rx) = mpsc::channel::<Bytes>(OUTGOING_QUEUE);
    let writer_task = tokio::spawn(write_loop(writer, out_rx));
    let encoder = match FrameEncoder::new() {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(%pod, error = %e, "port-forward session could not start");
            return;
        }
    };
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    let mut session = Session {
        encoder,
        out,
        network,
        pod,
        streams: HashMap::new(),
        pending: HashMap::new(),
        last_stream_id: 0,
        going_away: false,
        done: done_tx,
    };
    let mut done_rx = done_rx;
    let mut decoder = FrameDecoder::new();
    let result: Result<(), SpdyError> = async {
        loop {
            tokio::select! {
                chunk = reader.next() => {
                    let Some(chunk) = chunk? else { return Ok(()) };
                    decoder.push(&chunk);
                    while let Some(frame) = decoder.next_frame()? {
                        session.handle(frame).await?;
                    }
                }
                Some(data_id) = done_rx.recv() => session.finished(data_id),
            }
        }
    }
    .await;
    match result {
        Ok(()) => tracing::debug!(pod = %session.pod, "port-forward session closed"),
        Err(SpdyError::Io(e)) => {
            tracing::debug!(pod = %session.pod, error = %e, "port-forward connection ended")
        }
        Err(e) => {
            tracing::warn!(pod = %session.pod, error = %e, "port-forward session aborted");
            let status = goaway::PROTOCOL_ERROR;
            let last = session.last_stream_id;
            let _ = session
                .send(Frame::GoAway {
                    last_good_stream_id: last,
                    status,
                })
                .await;
        }
    }
    // Dropping the streams cancels every relay; the writer then drains what is queued and
    // closes the connection once the last sender is gone.
    drop(session);
    let _ = writer_task.await;
}

struct Session {
    encoder: FrameEncoder,
    out: mpsc::Sender<Bytes>,
    network: PodNetwork,
    pod: String,
    streams: HashMap<u32, StreamState>,
    /// requestid → the half of a pair seen so far.
    pending: HashMap<String, Pending>,
    last_stream_id: u32,
    going_away: bool,
    done: mpsc::UnboundedSender<u32>,
}

impl Session {
    async fn send(&mut self, frame: Frame) -> Result<(), SpdyError> {
        let bytes = self.encoder.encode(&frame)?;
        self.queue(bytes).await
    }

    async fn queue(&self, bytes: Vec<u8>) -> Result<(), SpdyError> {
        self.out
            .send(Bytes::from(bytes))
            .await
            .map_err(|_| SpdyError::Io(std::io::ErrorKind::BrokenPipe.into()))
    }

    async fn reset(&mut self, stream_id: u32, status: u32) -> Result<(), SpdyError> {
        self.send(Frame::RstStream { stream_id, status }).await
    }

    async fn handle(&mut self, frame: Frame) -> Result<(), SpdyError> {
        match frame {
            // A FIN on SYN_STREAM only says the peer will send nothing on it (kubectl's error
            // stream ends with an empty DATA+FIN instead); nothing to track either way.
            Frame::SynStream {
                stream_id, headers, ..
            } => self.open(stream_id, &headers).await,
            Frame::Data {
                stream_id,
                flags,
                data,
            } => {
                self.data(stream_id, flags & frame::FLAG_FIN != 0, data)
                    .await
            }
            Frame::RstStream { stream_id, .. } => {
                // Dropping the state cancels a relay; the partner goes too, since kubectl
                // resets both streams of a connection it is done with.
                if let Some(state) = self.streams.remove(&stream_id)
                    && let Some(partner) = state.partner
                    && state.kind == StreamType::Data
                {
                    self.streams.remove(&partner);
                }
                self.forget_pending(stream_id);
                Ok(())
            }
            // Odd ids are the client's pings, to be echoed; even ones would answer ours.
            Frame::Ping { id } if id % 2 == 1 => self.send(Frame::Ping { id }).await,
            Frame::GoAway { .. } => {
                self.going_away = true;
                Ok(())
            }
            // See the module comment on flow control; SETTINGS only tune windows and limits.
            Frame::WindowUpdate { .. } | Frame::Settings { .. } => Ok(()),
            Frame::Ping { .. }
            | Frame::SynReply { .. }
            | Frame::Headers { .. }
            | Frame::Unknown { .. } => Ok(()),
        }
    }

    async fn open(&mut self, id: u32, headers: &Headers) -> Result<(), SpdyError> {
        // Client streams are odd and increasing; anything else is not a stream we can serve.
        if id == 0 || id.is_multiple_of(2) || id <= self.last_stream_id {
            return self.reset(id, rst::PROTOCOL_ERROR).await;
        }
        self.last_stream_id = id;
        if self.going_away || self.streams.len() >= MAX_STREAMS {
            return self.reset(id, rst::REFUSED_STREAM).await;
        }
        let kind = match headers.get("streamtype") {
            Some("error") => StreamType::Error,
            Some("data") => StreamType::Data,
            other => {
                tracing::debug!(pod = %self.pod, stream = id, streamtype = ?other, "unknown port-forward stream type");
                return self.reset(id, rst::PROTOCOL_ERROR).await;
            }
        };
        // kubectl waits for the reply before it creates the next stream or writes.
        self.send(Frame::SynReply {
            stream_id: id,
            flags: 0,
            headers: Headers::new(),
        })
        .await?;
        self.streams.insert(
            id,
            StreamState {
                kind,
                partner: None,
                to_pod: None,
                cancel: None,
            },
        );
        let request = headers
            .get("requestid")
            .map(str::to_string)
            // Clients before requestid pair an error stream with the data stream after it.
            .unwrap_or_else(|| match kind {
                StreamType::Error => id.to_string(),
                StreamType::Data => id.saturating_sub(2).to_string(),
            });
        let pending = self.pending.entry(request.clone()).or_default();
        match kind {
            StreamType::Error => pending.error = Some(id),
            StreamType::Data => {
                pending.data = Some((id, headers.get("port").unwrap_or_default().to_string()))
            }
        }
        if let Some(Pending {
            error: Some(error_id),
            data: Some((data_id, port)),
        }) = self.pending.get(&request)
        {
            let (error_id, data_id, port) = (*error_id, *data_id, port.clone());
            self.pending.remove(&request);
            self.start(error_id, data_id, &port);
        }
        Ok(())
    }

    /// Both streams of a forwarded connection exist: dial the pod and relay.
    fn start(&mut self, error_id: u32, data_id: u32, port: &str) {
        let (to_pod, from_peer) = mpsc::channel(TO_POD_QUEUE);
        let (cancel, cancelled) = oneshot::channel();
        if let Some(s) = self.streams.get_mut(&data_id) {
            s.partner = Some(error_id);
            s.to_pod = Some(to_pod);
            s.cancel = Some(cancel);
        }
        if let Some(s) = self.streams.get_mut(&error_id) {
            s.partner = Some(data_id);
        }
        let relay = Relay {
            error_id,
            data_id,
            port: port.to_string(),
            network: self.network.clone(),
            pod: self.pod.clone(),
            out: self.out.clone(),
        };
        let done = self.done.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = relay.run(from_peer) => {}
                // Fired or dropped: the peer reset the stream or the session is over.
                _ = cancelled => {}
            }
            let _ = done.send(data_id);
        });
    }

    async fn data(&mut self, id: u32, fin: bool, data: Bytes) -> Result<(), SpdyError> {
        let Some(state) = self.streams.get_mut(&id) else {
            // Late frames for a connection that already finished here are expected (the
            // peer's FIN crosses ours); frames for streams never opened are not.
            if id > self.last_stream_id {
                return self.reset(id, rst::INVALID_STREAM).await;
            }
            return Ok(());
        };
        match state.kind {
            // kubectl writes nothing on the error stream; it only half-closes it.
            StreamType::Error => Ok(()),
            StreamType::Data => {
                if state.cancel.is_none() {
                    // Data before its error stream arrived: kubectl never does this.
                    self.streams.remove(&id);
                    self.forget_pending(id);
                    return self.reset(id, rst::REFUSED_STREAM).await;
                }
                if !data.is_empty()
                    && let Some(tx) = &state.to_pod
                {
                    // A relay that stopped writing dropped its receiver; its data is moot.
                    let _ = tx.send(data).await;
                }
                if fin && let Some(s) = self.streams.get_mut(&id) {
                    s.to_pod = None;
                }
                Ok(())
            }
        }
    }

    /// Drops a half-formed pair that includes `stream_id`.
    fn forget_pending(&mut self, stream_id: u32) {
        self.pending.retain(|_, p| {
            p.error != Some(stream_id) && p.data.as_ref().map(|d| d.0) != Some(stream_id)
        });
    }

    /// A relay ended: forget both of its streams.
    fn finished(&mut self, data_id: u32) {
        if let Some(state) = self.streams.remove(&data_id)
            && let Some(error_id) = state.partner
        {
            self.streams.remove(&error_id);
        }
    }
}

/// One forwarded connection.
struct Relay {
    error_id: u32,
    data_id: u32,
    port: String,
    network: PodNetwork,
    pod: String,
    out: mpsc::Sender<Bytes>,
}

impl Relay {
    async fn run(self, from_peer: mpsc::Receiver<Bytes>) {
        let conn = match self.port.parse::<u16>() {
            Ok(port) if port > 0 => dial(&self.network, port).await,
            _ => Err(format!("invalid port {:?}", self.port)),
        };
        let conn = match conn {
            Ok(c) => c,
            Err(message) => {
                tracing::debug!(pod = %self.pod, port = %self.port, error = %message, "port-forward dial failed");
                // kubectl prints the error stream's text, and ends the local connection
                // once both streams are finished.
                self.emit(frame::data_frame(self.error_id, false, message.as_bytes()))
                    .await;
                self.finish().await;
                return;
            }
        };
        tracing::debug!(pod = %self.pod, port = %self.port, stream = self.data_id, "port-forward connection opened");
        let (pod_read, pod_write) = conn.into_split();
        tokio::join!(
            self.peer_to_pod(from_peer, pod_write),
            self.pod_to_peer(pod_read)
        );
        tracing::debug!(pod = %self.pod, port = %self.port, stream = self.data_id, "port-forward connection closed");
    }

    async fn emit(&self, frame: Result<Vec<u8>, SpdyError>) -> bool {
        match frame {
            Ok(bytes) => self.out.send(Bytes::from(bytes)).await.is_ok(),
            Err(_) => false,
        }
    }

    /// FIN on the data stream, then on the error stream: kubectl waits for both.
    async fn finish(&self) {
        if self.emit(frame::data_frame(self.data_id, true, &[])).await {
            self.emit(frame::data_frame(self.error_id, true, &[])).await;
        }
    }

    /// Peer → pod, acknowledging delivered bytes with WINDOW_UPDATE; the peer's FIN becomes
    /// a write shutdown so the pod sees end of input.
    async fn peer_to_pod(
        &self,
        mut from_peer: mpsc::Receiver<Bytes>,
        mut pod: tokio::net::tcp::OwnedWriteHalf,
    ) {
        let mut unacknowledged = 0u32;
        while let Some(chunk) = from_peer.recv().await {
            if pod.write_all(&chunk).await.is_err() {
                // Returning drops the receiver, so the session stops queueing for it.
                return;
            }
            unacknowledged = unacknowledged.saturating_add(chunk.len() as u32);
            if unacknowledged >= WINDOW_UPDATE_AFTER {
                let update = frame::window_update(self.data_id, unacknowledged);
                if self.out.send(Bytes::from(update)).await.is_err() {
                    return;
                }
                unacknowledged = 0;
            }
        }
        let _ = pod.shutdown().await;
    }

    /// Pod → peer until the pod closes its side (or the connection fails), then FIN both
    /// streams.
    async fn pod_to_peer(&self, mut pod: tokio::net::tcp::OwnedReadHalf) {
        let mut buf = vec![0u8; FROM_POD_CHUNK];
        loop {
            match pod.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => {
                    if !self
                        .emit(frame::data_frame(self.data_id, false, &buf[..n]))
                        .await
                    {
                        return;
                    }
                }
                Err(e) => {
                    tracing::debug!(pod = %self.pod, port = %self.port, error = %e, "reading from the pod failed");
                    break;
                }
            }
        }
        self.finish().await;
    }
}

/// Drains the outgoing queue onto the connection, coalescing what is already queued into
/// one write, until every sender is gone or the connection fails.
async fn write_loop(mut writer: Writer, mut rx: mpsc::Receiver<Bytes>) {
    while let Some(first) = rx.recv().await {
        let bytes = if rx.is_empty() {
            first
        } else {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            batch.extend_from_slice(&first);
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(more) => batch.extend_from_slice(&more),
                    Err(_) => break,
                }
            }
            Bytes::from(batch)
        };
        if let Err(e) = writer.send(bytes).await {
            tracing::debug!(error = %e, "port-forward write failed");
            return;
        }
    }
    writer.close().await;
}
