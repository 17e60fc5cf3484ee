//! capstan-scheduler: assigns pending pods to nodes with kube-scheduler's default placement
//! rules (filters, scores, preemption), watching and binding through the API server only.

pub mod cache;
pub mod counts;
pub mod events;
pub mod fasthash;
pub mod framework;
pub mod leader;
pub mod metrics;
pub mod model;
pub mod plugins;
pub mod preemption;
pub use capstan_api_types::quantity;
pub mod queue;
pub mod scheduler;

pub use scheduler::{Config, SchedulerError, run};
