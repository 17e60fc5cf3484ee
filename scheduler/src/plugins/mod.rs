//! Filter and score plugins, each a pure function of (pod, node, per-cycle state). They follow
//! kube-scheduler's default plugins and their failure messages, so users see familiar reasons.

pub mod images;
pub mod interpod;
pub mod node_affinity;
pub mod ports;
pub mod resources;
pub mod selector;
pub mod spread;
pub mod spread_defaults;
pub mod taints;
pub mod volumes;
