//! SPDY/3 frames (draft 3, section 2.2): parsing from a byte stream that arrives in arbitrary
//! pieces, and serialising.
//!
//! Every frame starts with 8 bytes. Control frames: `1 | version(15) | type(16)`, then
//! `flags(8) | length(24)`. Data frames: `0 | stream id(31)`, then `flags(8) | length(24)`.
//! All integers are big-endian. kubectl's framer labels its frames version 3 (it speaks
//! SPDY/3 framing inside the "SPDY/3.1" upgrade), so that is what is written and accepted.

use bytes::{Buf, Bytes, BytesMut};

use super::error::SpdyError;
use super::headers::{HeaderDecoder, HeaderEncoder, Headers};

pub const VERSION: u16 = 3;
const HEADER_LEN: usize = 8;
/// The largest payload accepted. kubectl copies in 32 KiB pieces and its control frames are
/// tiny; anything far larger is a broken or hostile peer, and the decode buffer never has to
/// hold more than one such frame.
pub const MAX_PAYLOAD: usize = 1024 * 1024;

pub const FLAG_FIN: u8 = 0x01;
pub const FLAG_UNIDIRECTIONAL: u8 = 0x02;

const TYPE_SYN_STREAM: u16 = 1;
const TYPE_SYN_REPLY: u16 = 2;
const TYPE_RST_STREAM: u16 = 3;
const TYPE_SETTINGS: u16 = 4;
const TYPE_PING: u16 = 6;
const TYPE_GOAWAY: u16 = 7;
const TYPE_HEADERS: u16 = 8;
const TYPE_WINDOW_UPDATE: u16 = 9;

/// RST_STREAM status codes used here.
pub mod rst {
    pub const PROTOCOL_ERROR: u32 = 1;
    pub const INVALID_STREAM: u32 = 2;
    pub const REFUSED_STREAM: u32 = 3;
    pub const CANCEL: u32 = 5;
}

/// GOAWAY status codes.
pub mod goaway {
    pub const OK: u32 = 0;
    pub const PROTOCOL_ERROR: u32 = 1;
}

const STREAM_ID_MASK: u32 = 0x7fff_ffff;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    SynStream {
        stream_id: u32,
        associated_to: u32,
        priority: u8,
        flags: u8,
        headers: Headers,
    },
    SynReply {
        stream_id: u32,
        flags: u8,
        headers: Headers,
    },
    RstStream {
        stream_id: u32,
        status: u32,
    },
    Settings {
        flags: u8,
        /// (flags, id, value) per entry.
        entries: Vec<(u8, u32, u32)>,
    },
    Ping {
        id: u32,
    },
    GoAway {
        last_good_stream_id: u32,
        status: u32,
    },
    Headers {
        stream_id: u32,
        flags: u8,
        headers: Headers,
    },
    WindowUpdate {
        stream_id: u32,
        delta: u32,
    },
    Data {
        stream_id: u32,
        flags: u8,
        data: Bytes,
    },
    /// A control frame type this side does not use (NOOP, CREDENTIAL, future types); the
    /// spec says to ignore those.
    Unknown {
        kind: u16,
    },
}

impl Frame {
    pub fn fin(&self) -> bool {
        match self {
            Frame::SynStream { flags, .. }
            | Frame::SynReply { flags, .. }
            | Frame::Headers { flags, .. }
            | Frame::Data { flags, .. } => flags & FLAG_FIN != 0,
            _ => false,
        }
    }
}

/// Turns incoming bytes into frames. One per session direction: it owns that direction's
/// header decompression context, which every header block must pass through in order.
pub struct FrameDecoder {
    buf: BytesMut,
    headers: HeaderDecoder,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    pub fn new() -> Self {
        FrameDecoder {
            buf: BytesMut::with_capacity(16 * 1024),
            headers: HeaderDecoder::new(),
        }
    }

    /// Appends bytes as they arrived (any fragment of any frame).
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete frame, or None until more bytes arrive. An error poisons the
    /// session: the stream position (and the header context) can no longer be trusted.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, SpdyError> {
        if self.buf.len() < HEADER_LEN {
            return Ok(None);
        }
        let word = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
        let flags = self.buf[4];
        let len = u32::from_be_bytes([0, self.buf[5], self.buf[6], self.buf[7]]) as usize;
        if len > MAX_PAYLOAD {
            return Err(SpdyError::FrameTooLarge(len));
        }
        if self.buf.len() < HEADER_LEN + len {
            // Room for the rest now, so the remaining pieces append without regrowing.
            self.buf.reserve(HEADER_LEN + len - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(HEADER_LEN);
        let payload = self.buf.split_to(len).freeze();
        if word & 0x8000_0000 == 0 {
            return Ok(Some(Frame::Data {
                stream_id: word & STREAM_ID_MASK,
                flags,
                data: payload,
            }));
        }
        let version = ((word >> 16) & 0x7fff) as u16;
        if version != VERSION {
            return Err(SpdyError::Protocol(format!(
                "unsupported SPDY version {version}"
            )));
        }
        let kind = (word & 0xffff) as u16;
        self.control(kind, flags, payload).map(Some)
    }

    fn control(&mut self, kind: u16, flags: u8, mut p: Bytes) -> Result<Frame, SpdyError> {
        let need = |n: usize, p: &Bytes| -> Result<(), SpdyError> {
            if p.len() < n {
                Err(SpdyError::Protocol(format!(
                    "control frame type {kind} is {} bytes, needs {n}",
                    p.len()
                )))
            } else {
                Ok(())
            }
        };
        Ok(match kind {
            TYPE_SYN_STREAM => {
                need(10, &p)?;
                let stream_id = p.get_u32() & STREAM_ID_MASK;
                let associated_to = p.get_u32() & STREAM_ID_MASK;
                let priority = p.get_u8() >> 5;
                let _slot = p.get_u8();
                let headers = self.headers.decode(&p)?;
                Frame::SynStream {
                    stream_id,
                    associated_to,
                    priority,
                    flags,
                    headers,
                }
            }
            TYPE_SYN_REPLY | TYPE_HEADERS => {
                need(4, &p)?;
                let stream_id = p.get_u32() & STREAM_ID_MASK;
                // Decoded even when unused: the context must see every block.
                let headers = if p.is_empty() {
                    Headers::new()
                } else {
                    self.headers.decode(&p)?
                };
                if kind == TYPE_SYN_REPLY {
                    Frame::SynReply {
                        stream_id,
                        flags,
                        headers,
                    }
                } else {
                    Frame::Headers {
                        stream_id,
                        flags,
                        headers,
                    }
                }
            }
            TYPE_RST_STREAM => {
                need(8, &p)?;
                Frame::RstStream {
                    stream_id: p.get_u32() & STREAM_ID_MASK,
                    status: p.get_u32(),
                }
            }
            TYPE_SETTINGS => {
                need(4, &p)?;
                let count = p.get_u32() as usize;
                if p.len() != count.saturating_mul(8) {
                    return Err(SpdyError::Protocol("SETTINGS length mismatch".into()));
                }
                let mut entries = Vec::with_capacity(count);
                for _ in 0..count {
                    let head = p.get_u32();
                    entries.push(((head >> 24) as u8, head & 0x00ff_ffff, p.get_u32()));
                }
                Frame::Settings { flags, entries }
            }
            TYPE_PING => {
                need(4, &p)?;
                Frame::Ping { id: p.get_u32() }
            }
            TYPE_GOAWAY => {
                // SPDY/2 GOAWAY had no status; tolerate its shorter form.
                need(4, &p)?;
                let last_good_stream_id = p.get_u32() & STREAM_ID_MASK;
                let status = if p.len() >= 4 {
                    p.get_u32()
                } else {
                    goaway::OK
                };
                Frame::GoAway {
                    last_good_stream_id,
                    status,
                }
            }
            TYPE_WINDOW_UPDATE => {
                need(8, &p)?;
                Frame::WindowUpdate {
                    stream_id: p.get_u32() & STREAM_ID_MASK,
                    delta: p.get_u32() & STREAM_ID_MASK,
                }
            }
            other => Frame::Unknown { kind: other },
        })
    }
}

/// Serialises frames. One per session direction: it owns the outgoing header compression
/// context, so frames with header blocks must be encoded in the order they are sent.
pub struct FrameEncoder {
    headers: HeaderEncoder,
}

impl FrameEncoder {
    pub fn new() -> Result<Self, SpdyError> {
        Ok(FrameEncoder {
            headers: HeaderEncoder::new()?,
        })
    }

    pub fn encode(&mut self, frame: &Frame) -> Result<Vec<u8>, SpdyError> {
        match frame {
            Frame::SynStream {
                stream_id,
                associated_to,
                priority,
                flags,
                headers,
            } => {
                let block = self.headers.encode(headers)?;
                let mut p = Vec::with_capacity(10 + block.len());
                p.extend_from_slice(&(stream_id & STREAM_ID_MASK).to_be_bytes());
                p.extend_from_slice(&(associated_to & STREAM_ID_MASK).to_be_bytes());
                p.push((priority & 0x07) << 5);
                p.push(0);
                p.extend_from_slice(&block);
                control(TYPE_SYN_STREAM, *flags, &p)
            }
            Frame::SynReply {
                stream_id,
                flags,
                headers,
            }
            | Frame::Headers {
                stream_id,
                flags,
                headers,
            } => {
                let kind = if matches!(frame, Frame::SynReply { .. }) {
                    TYPE_SYN_REPLY
                } else {
                    TYPE_HEADERS
                };
                let block = self.headers.encode(headers)?;
                let mut p = Vec::with_capacity(4 + block.len());
                p.extend_from_slice(&(stream_id & STREAM_ID_MASK).to_be_bytes());
                p.extend_from_slice(&block);
                control(kind, *flags, &p)
            }
            other => plain(other),
        }
    }
}

/// Frames without a header block need no compression context, so any task may build them.
pub fn plain(frame: &Frame) -> Result<Vec<u8>, SpdyError> {
    match frame {
        Frame::RstStream { stream_id, status } => control(
            TYPE_RST_STREAM,
            0,
            &two_words(*stream_id & STREAM_ID_MASK, *status),
        ),
        Frame::Settings { flags, entries } => {
            let mut p = Vec::with_capacity(4 + entries.len() * 8);
            p.extend_from_slice(&(entries.len() as u32).to_be_bytes());
            for (f, id, value) in entries {
                p.extend_from_slice(&((u32::from(*f) << 24) | (id & 0x00ff_ffff)).to_be_bytes());
                p.extend_from_slice(&value.to_be_bytes());
            }
            control(TYPE_SETTINGS, *flags, &p)
        }
        Frame::Ping { id } => control(TYPE_PING, 0, &id.to_be_bytes()),
        Frame::GoAway {
            last_good_stream_id,
            status,
        } => control(
            TYPE_GOAWAY,
            0,
            &two_words(*last_good_stream_id & STREAM_ID_MASK, *status),
        ),
        Frame::WindowUpdate { stream_id, delta } => Ok(window_update(*stream_id, *delta)),
        Frame::Data {
            stream_id,
            flags,
            data,
        } => data_frame(*stream_id, *flags & FLAG_FIN != 0, data),
        Frame::Unknown { kind } => Err(SpdyError::Protocol(format!(
            "cannot encode unknown control frame type {kind}"
        ))),
        Frame::SynStream { .. } | Frame::SynReply { .. } | Frame::Headers { .. } => Err(
            SpdyError::Protocol("frames with header blocks need a FrameEncoder".into()),
        ),
    }
}

/// A DATA frame; `fin` half-closes the stream from this side.
pub fn data_frame(stream_id: u32, fin: bool, data: &[u8]) -> Result<Vec<u8>, SpdyError> {
    if data.len() > MAX_PAYLOAD {
        return Err(SpdyError::FrameTooLarge(data.len()));
    }
    let mut out = Vec::with_capacity(HEADER_LEN + data.len());
    out.extend_from_slice(&(stream_id & STREAM_ID_MASK).to_be_bytes());
    out.extend_from_slice(&length_word(if fin { FLAG_FIN } else { 0 }, data.len()));
    out.extend_from_slice(data);
    Ok(out)
}

pub fn window_update(stream_id: u32, delta: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + 8);
    out.extend_from_slice(&control_word(TYPE_WINDOW_UPDATE));
    out.extend_from_slice(&length_word(0, 8));
    out.extend_from_slice(&two_words(
        stream_id & STREAM_ID_MASK,
        delta & STREAM_ID_MASK,
    ));
    out
}

fn control(kind: u16, flags: u8, payload: &[u8]) -> Result<Vec<u8>, SpdyError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(SpdyError::FrameTooLarge(payload.len()));
    }
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&control_word(kind));
    out.extend_from_slice(&length_word(flags, payload.len()));
    out.extend_from_slice(payload);
    Ok(out)
}

fn control_word(kind: u16) -> [u8; 4] {
    (0x8000_0000 | (u32::from(VERSION) << 16) | u32::from(kind)).to_be_bytes()
}

/// Flags in the top byte, length in the low 24 bits (callers keep it under MAX_PAYLOAD).
fn length_word(flags: u8, len: usize) -> [u8; 4] {
    ((u32::from(flags) << 24) | (len as u32 & 0x00ff_ffff)).to_be_bytes()
}

fn two_words(a: u32, b: u32) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&a.to_be_bytes());
    out[4..].copy_from_slice(&b.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What kubectl v1.27 and v1.32 sent on the wire for their first local connection of
    /// `kubectl port-forward pod/web 18081:8080` (recorded from a fake API server): SYN_STREAM
    /// 1 with `streamtype=error, port=8080, requestid=0`, then a PING with id 1.
    const KUBECTL_FIRST_BYTES: &[u8] = &[
        0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3e, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x78, 0xf9, 0xe3, 0xc6, 0xa7, 0xc2, 0x02, 0x25, 0x3a, 0x70, 0x3a, 0x2b,
        0x29, 0x4a, 0x4d, 0xcc, 0x85, 0x16, 0x25, 0xac, 0xa9, 0xa0, 0x80, 0x86, 0x14, 0xcb, 0x45,
        0xe0, 0x1c, 0x60, 0x61, 0x60, 0x61, 0xc0, 0xc0, 0xc0, 0xc0, 0x59, 0x04, 0x89, 0xc6, 0x4c,
        0x50, 0xf2, 0x66, 0x34, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x80, 0x03, 0x00, 0x06, 0x00,
        0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01,
    ];

    fn expected_error_stream() -> Frame {
        Frame::SynStream {
            stream_id: 1,
            associated_to: 0,
            priority: 0,
            flags: 0,
            headers: Headers::new()
                .with("streamtype", "error")
                .with("port", "8080")
                .with("requestid", "0"),
        }
    }

    #[test]
    fn decodes_kubectls_recorded_syn_stream_in_any_fragmentation() {
        // kubectl's WebSocket tunnel split these bytes into messages of 2, 2, 4, 4, 4, 1, 1
        // and 52 bytes; the decoder must not care where the cuts are.
        for piece in [1, 2, 3, 7, 52, KUBECTL_FIRST_BYTES.len()] {
            let mut dec = FrameDecoder::new();
            let mut frames = Vec::new();
            for chunk in KUBECTL_FIRST_BYTES.chunks(piece) {
                dec.push(chunk);
                while let Some(f) = dec.next_frame().expect("decode") {
                    frames.push(f);
                }
            }
            assert_eq!(frames, vec![expected_error_stream(), Frame::Ping { id: 1 }]);
        }
    }

    #[test]
    fn every_frame_type_round_trips() {
        let frames = vec![
            Frame::SynStream {
                stream_id: 3,
                associated_to: 0,
                priority: 2,
                flags: FLAG_FIN,
                headers: Headers::new().with("streamtype", "data").with("port", "80"),
            },
            Frame::SynReply {
                stream_id: 3,
                flags: 0,
                headers: Headers::new(),
            },
            Frame::Headers {
                stream_id: 3,
                flags: 0,
                headers: Headers::new().with("x", "y\0z"),
            },
            Frame::RstStream {
                stream_id: 5,
                status: rst::CANCEL,
            },
            Frame::Settings {
                flags: 0,
                entries: vec![(0, 7, 65536), (1, 4, 100)],
            },
            Frame::Ping { id: 2 },
            Frame::GoAway {
                last_good_stream_id: 7,
                status: goaway::OK,
            },
            Frame::WindowUpdate {
                stream_id: 3,
                delta: 32768,
            },
            Frame::Data {
                stream_id: 3,
                flags: FLAG_FIN,
                data: Bytes::from_static(b"hello"),
            },
            Frame::Data {
                stream_id: 1,
                flags: 0,
                data: Bytes::new(),
            },
        ];
        let mut enc = FrameEncoder::new().expect("encoder");
        let mut wire = Vec::new();
        for f in &frames {
            wire.extend(enc.encode(f).expect("encode"));
        }
        let mut dec = FrameDecoder::new();
        dec.push(&wire);
        let mut back = Vec::new();
        while let Some(f) = dec.next_frame().expect("decode") {
            back.push(f);
        }
        assert_eq!(back, frames);
        assert!(back[0].fin() && !back[1].fin());
    }

    #[test]
    fn empty_syn_reply_is_a_compressed_zero_count_block() {
        let mut enc = FrameEncoder::new().expect("encoder");
        let wire = enc
            .encode(&Frame::SynReply {
                stream_id: 1,
                flags: 0,
                headers: Headers::new(),
            })
            .expect("encode");
        assert_eq!(&wire[..4], &[0x80, 0x03, 0x00, 0x02]);
        let len = u32::from_be_bytes([0, wire[5], wire[6], wire[7]]) as usize;
        assert_eq!(len, wire.len() - 8);
        // stream id, then a zlib stream with the SPDY dictionary's id.
        assert_eq!(&wire[8..12], &[0, 0, 0, 1]);
        assert_eq!(&wire[14..18], &[0xe3, 0xc6, 0xa7, 0xc2]);
    }

    #[test]
    fn oversized_and_foreign_frames_are_refused() {
        let mut dec = FrameDecoder::new();
        dec.push(&[0x00, 0x00, 0x00, 0x01, 0x00, 0xff, 0xff, 0xff]);
        assert!(matches!(
            dec.next_frame(),
            Err(SpdyError::FrameTooLarge(0x00ff_ffff))
        ));
        let mut dec = FrameDecoder::new();
        dec.push(&[0x80, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1]);
        assert!(matches!(dec.next_frame(), Err(SpdyError::Protocol(_))));
        // Unknown control types are skipped, not fatal.
        let mut dec = FrameDecoder::new();
        dec.push(&[0x80, 0x03, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00]);
        assert_eq!(
            dec.next_frame().expect("decode"),
            Some(Frame::Unknown { kind: 5 })
        );
    }
}
