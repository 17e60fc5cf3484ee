//! The library's error type.

#[derive(Debug, thiserror::Error)]
pub enum HollowError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("registering node {node}: {source}")]
    Register {
        node: String,
        #[source]
        source: kube::Error,
    },
    #[error("no hollow node named {0:?}")]
    UnknownNode(String),
    #[error("the pod watch ended")]
    WatchEnded,
    #[error("hollow node task failed: {0}")]
    Task(String),
}

/// The HTTP status of an API error, for the few codes that mean "already done".
pub(crate) fn api_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}
