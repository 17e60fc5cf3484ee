//! Why a port-forward session (or one frame of it) failed.

#[derive(Debug, thiserror::Error)]
pub enum SpdyError {
    /// The peer broke the SPDY/3 framing rules; the session answers with GOAWAY.
    #[error("SPDY protocol error: {0}")]
    Protocol(String),
    /// A frame announced more payload than this side accepts.
    #[error("SPDY frame of {0} bytes exceeds the limit")]
    FrameTooLarge(usize),
    #[error("SPDY header compression: {0}")]
    Compression(String),
    #[error("port-forward transport: {0}")]
    Io(#[from] std::io::Error),
}
