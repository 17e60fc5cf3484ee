//! The one error type of the image store.

use std::io;

/// Everything that can go wrong in the image store.
///
/// Messages are meant to be shown to users as they are (the kubelet puts them in a pod's
/// `ErrImagePull` reason), so each carries its cause inline rather than only as a source.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("invalid image reference {reference:?}: {reason}")]
    InvalidReference { reference: String, reason: String },

    #[error("image {0:?} is not present on this node")]
    NotFound(String),

    /// The registry refused or could not be reached; `message` is what it (or the network) said.
    #[error("pulling {reference}: {message}")]
    Registry { reference: String, message: String },

    #[error("{context}: {error}")]
    Io { context: String, error: io::Error },

    /// A manifest, config, index or layout that is malformed or inconsistent.
    #[error("invalid {what}: {reason}")]
    Invalid { what: String, reason: String },

    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },

    #[error("layer entry {path:?} points outside the layer directory")]
    PathEscape { path: String },

    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl ImageError {
    pub(crate) fn invalid(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        ImageError::Invalid {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

/// Attaches a human description of the operation to an `io::Error`.
pub(crate) trait IoContext<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, ImageError>;
}

impl<T> IoContext<T> for Result<T, io::Error> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T, ImageError> {
        self.map_err(|error| ImageError::Io {
            context: what(),
            error,
        })
    }
}

/// Renders an error with all its sources, because reqwest hides the interesting part
/// ("Connection refused") several sources deep.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // Some layers repeat their source's text verbatim; don't print it twice.
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}
