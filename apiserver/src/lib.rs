//! capstan-apiserver: a Kubernetes-compatible API server (REST + watch, discovery, OpenAPI,
//! patch and server-side apply, Tables) over an embedded SQLite store or etcd.

pub mod admission;
pub mod alloc_tuning;
pub mod allocator;
pub mod defaults;
pub mod discovery;
pub mod error;
pub mod handlers;
pub mod metrics;
pub mod namespaces;
pub mod object;
pub mod openapi;
pub mod patch;
pub mod printers;
pub mod protobuf;
pub mod proxy;
pub mod request;
pub mod rest;
pub mod schemas;
pub mod selectors;
pub mod server;
pub mod ssa;
pub mod stored_form;
pub mod strategy;
pub mod subresources;
pub mod table;
pub mod validation;
pub mod watch;
pub mod watch_cache;

pub use server::{Config, RunningServer, ServerError, run, start};
