//! API types of Capstan: the official Kubernetes types (re-exported `k8s-openapi`) and the
//! resource registry — the one table that says which resources exist, how they are named on the
//! wire and which subresources they have — plus the tiny `/metrics` responder every component
//! serves (`metrics_http`), the only I/O here.

pub use k8s_openapi;
pub use schemars;

pub mod metrics_http;
pub mod printing;
pub mod quantity;
pub mod registry;
pub mod time;

pub use registry::{ResourceInfo, Subresource, registry};

/// The Kubernetes minor version whose API this server speaks (k8s-openapi feature `v1_33`).
/// kubectl's dispatcher picks its binary from it.
pub const KUBERNETES_MAJOR: &str = "1";
pub const KUBERNETES_MINOR: &str = "33";
pub const KUBERNETES_GIT_VERSION: &str = "v1.33.0-capstan";
