//! Integration tests: the real API server, controllers, scheduler and hollow nodes in-process
//! (the last three through their libraries); behaviour is driven with kube-rs and the real
//! kubectl.

mod deployment;
mod endpoints;
mod garbagecollector;
mod harness;
mod nodelifecycle;
mod operability;
mod replicaset;
