//! Errors of the kubelet library. Each variant says which part of running a pod failed, so the
//! pod worker can turn it into the matching container reason (ErrImagePull,
//! CreateContainerConfigError, CreateContainerError…).

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("container runtime: {0}")]
    Runtime(String),
    #[error("{0}")]
    Config(String),
    #[error("image: {0}")]
    Image(#[from] capstan_image::ImageError),
    #[error("API: {0}")]
    Api(#[from] kube::Error),
    #[error("volume {volume}: {message}")]
    Volume { volume: String, message: String },
}

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
