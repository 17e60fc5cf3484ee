//! The byte pipe a SPDY session runs over: either WebSocket binary messages (kubectl 1.31+,
//! subprotocol `SPDY/3.1+portforward.k8s.io`, where message boundaries mean nothing) or the
//! raw upgraded connection of the older `Upgrade: SPDY/3.1` handshake.

use axum::extract::ws::{Message, WebSocket};
use bytes::Bytes;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Bytes read from a raw connection at a time.
const READ_CHUNK: usize = 64 * 1024;

pub type BoxedRead = Box<dyn AsyncRead + Send + Unpin>;
pub type BoxedWrite = Box<dyn AsyncWrite + Send + Unpin>;

pub enum Reader {
    WebSocket(SplitStream<WebSocket>),
    Raw(BoxedRead),
}

pub enum Writer {
    WebSocket(SplitSink<WebSocket, Message>),
    Raw(BoxedWrite),
}

/// Splits an upgraded WebSocket into the session's two ends.
pub fn websocket(socket: WebSocket) -> (Reader, Writer) {
    let (sink, stream) = socket.split();
    (Reader::WebSocket(stream), Writer::WebSocket(sink))
}

/// Splits any raw duplex connection (an upgraded HTTP connection, or a test pipe).
pub fn raw<T>(io: T) -> (Reader, Writer)
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (r, w) = tokio::io::split(io);
    (Reader::Raw(Box::new(r)), Writer::Raw(Box::new(w)))
}

impl Reader {
    /// The next piece of the peer's byte stream; None once the peer has closed.
    pub async fn next(&mut self) -> std::io::Result<Option<Bytes>> {
        match self {
            Reader::WebSocket(stream) => loop {
                match stream.next().await {
                    Some(Ok(Message::Binary(b))) => return Ok(Some(b)),
                    Some(Ok(Message::Close(_))) | None => return Ok(None),
                    // Pings are answered by the WebSocket layer; text is not part of the
                    // protocol and carries nothing for SPDY.
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(std::io::Error::other(e)),
                }
            },
            Reader::Raw(r) => {
                let mut buf = vec![0u8; READ_CHUNK];
                let n = r.read(&mut buf).await?;
                if n == 0 {
                    return Ok(None);
                }
                buf.truncate(n);
                Ok(Some(Bytes::from(buf)))
            }
        }
    }
}

impl Writer {
    /// Sends serialised frames (one or several concatenated) and flushes them.
    pub async fn send(&mut self, bytes: Bytes) -> std::io::Result<()> {
        match self {
            Writer::WebSocket(sink) => sink
                .send(Message::Binary(bytes))
                .await
                .map_err(std::io::Error::other),
            Writer::Raw(w) => {
                w.write_all(&bytes).await?;
                w.flush().await
            }
        }
    }

    /// Ends the connection from this side: a normal close frame, or a write shutdown.
    pub async fn close(&mut self) {
        let _ = match self {
            Writer::WebSocket(sink) => sink
                .send(Message::Close(Some(axum::extract::ws::CloseFrame {
                    code: 1000,
                    reason: "".into(),
                })))
                .await
                .map_err(std::io::Error::other),
            Writer::Raw(w) => w.shutdown().await,
        };
    }
}
