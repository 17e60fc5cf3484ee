//! Integration tests: the real API server in-process, the controllers through the library, and
//! a simulated kubelet; behaviour is driven with kube-rs and the real kubectl.

mod deployment;
mod endpoints;
mod garbagecollector;
mod harness;
mod nodelifecycle;
mod operability;
mod replicaset;
