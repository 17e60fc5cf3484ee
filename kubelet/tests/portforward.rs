//! The kubelet's port-forward session driven the way kubectl drives it: a SPDY/3 client over
//! an in-memory pipe (what the raw `Upgrade: SPDY/3.1` path hands the session), forwarding to
//! a server on this host's loopback (the hostNetwork case, so no root or namespace needed).

use std::time::Duration;

use bytes::Bytes;
use capstan_kubelet::portforward::frame::{self, Frame, FrameDecoder, FrameEncoder};
use capstan_kubelet::portforward::headers::Headers;
use capstan_kubelet::portforward::{PodNetwork, serve_raw};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::net::TcpListener;

const WAIT: Duration = Duration::from_secs(10);

/// kubectl's side of the session.
struct Client {
    io: DuplexStream,
    enc: FrameEncoder,
    dec: FrameDecoder,
}

impl Client {
    fn start() -> Client {
        let (ours, theirs) = tokio::io::duplex(256 * 1024);
        tokio::spawn(serve_raw(theirs, PodNetwork::Host, "test/web".into()));
        Client {
            io: ours,
            enc: FrameEncoder::new().expect("encoder"),
            dec: FrameDecoder::new(),
        }
    }

    /// Writes a frame in 3-byte pieces, as a tunnel may cut it anywhere.
    async fn send(&mut self, f: Frame) {
        let bytes = self.enc.encode(&f).expect("encode");
        for piece in bytes.chunks(3) {
            self.io.write_all(piece).await.expect("write");
        }
    }

    async fn recv(&mut self) -> Frame {
        loop {
            if let Some(f) = self.dec.next_frame().expect("decode") {
                return f;
            }
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout(WAIT, self.io.read(&mut buf))
                .await
                .expect("frame in time")
                .expect("read");
            assert!(n > 0, "session closed the connection");
            self.dec.push(&buf[..n]);
        }
    }

    async fn open(&mut self, id: u32, kind: &str, port: u16, request: &str) {
        self.send(Frame::SynStream {
            stream_id: id,
            associated_to: 0,
            priority: 0,
            flags: 0,
            headers: Headers::new()
                .with("streamtype", kind)
                .with("port", &port.to_string())
                .with("requestid", request),
        })
        .await;
        match self.recv().await {
            Frame::SynReply { stream_id, .. } => assert_eq!(stream_id, id),
            other => panic!("expected SYN_REPLY for {id}, got {other:?}"),
        }
    }

    async fn data(&mut self, id: u32, fin: bool, data: &[u8]) {
        self.send(Frame::Data {
            stream_id: id,
            flags: if fin { frame::FLAG_FIN } else { 0 },
            data: Bytes::copy_from_slice(data),
        })
        .await;
    }

    /// Collects DATA per stream until both streams have FINed; other frames are returned too.
    async fn until_both_fin(
        &mut self,
        error_id: u32,
        data_id: u32,
    ) -> (Vec<u8>, Vec<u8>, Vec<Frame>) {
        let (mut err, mut data, mut other) = (Vec::new(), Vec::new(), Vec::new());
        let (mut err_fin, mut data_fin) = (false, false);
        while !(err_fin && data_fin) {
            match self.recv().await {
                Frame::Data {
                    stream_id,
                    flags,
                    data: d,
                } => {
                    let fin = flags & frame::FLAG_FIN != 0;
                    if stream_id == error_id {
                        err.extend_from_slice(&d);
                        err_fin |= fin;
                    } else if stream_id == data_id {
                        assert!(!err_fin, "error stream must finish after the data stream");
                        data.extend_from_slice(&d);
                        data_fin |= fin;
                    } else {
                        panic!("data on unexpected stream {stream_id}");
                    }
                }
                f => other.push(f),
            }
        }
        (err, data, other)
    }
}

/// A server that answers every connection with "hello " + everything it read, then closes.
async fn greeter() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut got = Vec::new();
                let _ = conn.read_to_end(&mut got).await;
                let _ = conn.write_all(b"hello ").await;
                let _ = conn.write_all(&got).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn forwards_a_connection_like_kubectl() {
    let port = greeter().await;
    let mut c = Client::start();
    c.open(1, "error", port, "0").await;
    // kubectl half-closes the error stream at once: it never writes to it.
    c.data(1, true, &[]).await;
    c.open(3, "data", port, "0").await;
    c.send(Frame::Ping { id: 1 }).await;
    assert_eq!(c.recv().await, Frame::Ping { id: 1 });
    // 40 KiB crosses the WINDOW_UPDATE threshold.
    let payload: Vec<u8> = (0..40 * 1024).map(|i| (i % 251) as u8).collect();
    for piece in payload.chunks(8 * 1024) {
        c.data(3, false, piece).await;
    }
    c.data(3, true, &[]).await;
    let (err, data, other) = c.until_both_fin(1, 3).await;
    assert!(err.is_empty(), "{}", String::from_utf8_lossy(&err));
    assert_eq!(&data[..6], b"hello ");
    assert_eq!(&data[6..], &payload[..]);
    assert!(
        other.iter().any(
            |f| matches!(f, Frame::WindowUpdate { stream_id: 3, delta } if *delta >= 32 * 1024)
        ),
        "{other:?}"
    );
    // kubectl resets both streams when done; a second connection on the session still works.
    c.send(Frame::RstStream {
        stream_id: 3,
        status: frame::rst::CANCEL,
    })
    .await;
    c.open(5, "error", port, "1").await;
    c.open(7, "data", port, "1").await;
    c.data(7, true, b"again").await;
    let (err, data, _) = c.until_both_fin(5, 7).await;
    assert!(err.is_empty());
    assert_eq!(data, b"hello again");
}

#[tokio::test]
async fn a_closed_port_is_reported_on_the_error_stream() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let mut c = Client::start();
    c.open(1, "error", port, "0").await;
    c.open(3, "data", port, "0").await;
    let (err, data, _) = c.until_both_fin(1, 3).await;
    assert!(data.is_empty());
    let text = String::from_utf8_lossy(&err);
    assert!(
        text.starts_with(&format!("failed to connect to localhost:{port}")),
        "{text}"
    );
    assert!(text.contains("connection refused"), "{text}");
}

#[tokio::test]
async fn malformed_streams_are_reset_and_garbage_ends_the_session() {
    let mut c = Client::start();
    // Even ids belong to the server.
    c.send(Frame::SynStream {
        stream_id: 2,
        associated_to: 0,
        priority: 0,
        flags: 0,
        headers: Headers::new().with("streamtype", "data"),
    })
    .await;
    assert_eq!(
        c.recv().await,
        Frame::RstStream {
            stream_id: 2,
            status: frame::rst::PROTOCOL_ERROR
        }
    );
    // A control frame of another SPDY version is a session error: GOAWAY, then close.
    c.io.write_all(&[0x80, 0x02, 0x00, 0x06, 0, 0, 0, 4, 0, 0, 0, 1])
        .await
        .expect("write");
    assert!(matches!(c.recv().await, Frame::GoAway { status: 1, .. }));
    let mut rest = Vec::new();
    let n = tokio::time::timeout(WAIT, c.io.read_to_end(&mut rest))
        .await
        .expect("closed in time")
        .expect("read");
    assert_eq!(n, 0);
}
