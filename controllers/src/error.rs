//! The one error type of the library. Reconcilers return it; the harness turns it into a
//! requeue with backoff. It must never carry anything that only makes sense to a binary
//! (exit codes, CLI wording).

use kube::runtime::watcher;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("watch: {0}")]
    Watch(#[from] watcher::Error),
    #[error("serialization: {0}")]
    Json(#[from] serde_json::Error),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The object is not in a shape a controller can act on (no selector, no template, …).
    #[error("invalid object {object}: {reason}")]
    Invalid { object: String, reason: String },
    /// A condition that will resolve by itself (a hash collision, a cache not yet caught up).
    #[error("retry: {0}")]
    Retry(String),
    #[error("configuration: {0}")]
    Config(String),
    /// Another instance holds the leader lease, or we lost it.
    #[error("leader election: {0}")]
    LeaderElection(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A write raced another writer (409) — the next reconcile will see fresh state.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Kube(kube::Error::Api(s)) if s.code == 409)
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Kube(kube::Error::Api(s)) if s.code == 404)
    }
}

/// True when a kube error is an API status with this code.
/// Whether a failed write may still have happened: the connection broke after the request
/// left (no answer from the server), or the server said it timed out while still working
/// (504). A controller must then wait to see the outcome instead of assuming a failure.
pub fn outcome_unknown(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => s.code == 504,
        _ => true,
    }
}

pub fn api_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}
