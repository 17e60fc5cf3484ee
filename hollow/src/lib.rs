//! capstan-hollow: simulated kubelets ("hollow nodes") that register Nodes, keep their Leases
//! and conditions fresh, and move pods bound to them through their lifecycle without running
//! anything: for tests and benchmarks of the scheduler and controllers at thousands of nodes.
//!
//! In-process use: [`start`] returns a [`HollowHandle`] once every node is registered (pause
//! and resume single nodes, stop); [`run`] runs until a shutdown future completes. The
//! `capstan-hollow-nodes` binary is a command-line shell over [`run`].
//!
//! Pod annotations understood: `hollow.capstan.dev/ready: "false"` keeps a running pod not
//! Ready (removing or changing it flips the pod Ready, setting it again flips it back), as a
//! failing readiness probe would. With restartPolicy Never/OnFailure,
//! `hollow.capstan.dev/exit-after-seconds: "N"` makes the containers exit N seconds after the
//! pod started (phase Succeeded), `hollow.capstan.dev/exit-code: "C"` (restartPolicy Never)
//! makes a non-zero exit fail the pod. Addressing is described in [`ipam`].

mod clock;
mod config;
mod error;
mod fleet;
mod handle;
pub mod ipam;
mod lease;
mod node;
mod pods;
mod spread;

pub use config::{HollowConfig, node_name, parse_duration, parse_labels, parse_taints};
pub use error::HollowError;
pub(crate) use error::api_code;
pub use handle::{HollowHandle, run, start};
pub use lease::NAMESPACE as LEASE_NAMESPACE;
pub use node::{KUBELET_VERSION, RUNTIME_VERSION};
pub use pods::view::{EXIT_AFTER_ANNOTATION, EXIT_CODE_ANNOTATION, READY_ANNOTATION};

/// Field manager of every write, so managedFields show who wrote what.
pub const FIELD_MANAGER: &str = "capstan-hollow";
