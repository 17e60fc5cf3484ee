//! Integration tests of capstan-apiserver with real clients: kubectl (several versions),
//! kube-rs, the Python client, raw HTTP for bad input, real etcd, kill -9 recovery, and the
//! pod streams (logs, exec, attach) proxied to a stand-in kubelet.

mod bad_input;
mod crash;
mod etcd;
mod harness;
mod kube_client;
mod kubectl;
mod lifecycle;
mod operability;
mod python;
mod streams;
