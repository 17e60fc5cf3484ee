//! Pods on this node: the manager routes API events to one worker per pod; the rest are the
//! pieces a worker uses.

pub mod admission;
pub mod env;
pub mod exec;
pub mod manager;
pub mod podfiles;
pub mod probes;
pub mod start;
pub mod state;
pub mod status;
pub mod volumes;
pub mod worker;
