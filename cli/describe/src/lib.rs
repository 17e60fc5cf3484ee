//! `capstan describe`: the text layouts kubectl users know, rendered from objects and their Events.
//!
//! Everything here is pure: the caller fetches the object, its Events and whatever related
//! objects a layout needs, and gets back the text `kubectl describe` (v1.33) would print for
//! them. Layouts follow kubectl's field order, labels, indentation and column alignment; see
//! [`describe`] for which kinds have one.

mod batch;
mod config;
mod containers;
mod events;
mod generic;
mod json;
mod meta;
mod namespace;
mod node;
mod pod;
mod quantity;
mod service;
mod storage;
mod volumes;
mod workloads;
mod writer;

use capstan_api_types::time::{NANOS_PER_SEC, Nanos};
use serde_json::Value;

use crate::json::str_at;
use crate::writer::Writer;

/// What a layout needs besides the object itself.
pub(crate) struct Context<'a> {
    /// Events about the object, in any order.
    events: &'a [Value],
    /// Other objects some layouts draw on.
    related: &'a [Value],
    /// The instant ages are measured against.
    now: Nanos,
}

/// Renders `obj` (any Kubernetes object as JSON, as the API server returns it, with apiVersion
/// and kind) plus the Events whose involvedObject is it (core/v1 Event objects, unsorted), at
/// wall-clock time `now_unix` (seconds since the epoch; ages such as "5m" or "2d3h" are measured
/// against it).
///
/// Dedicated layouts exist for Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job,
/// CronJob, Service, Node, Namespace, ConfigMap, Secret, PersistentVolumeClaim and
/// PersistentVolume; any other kind gets kubectl's generic layout (metadata header, then every
/// field as indented "Field Name: value" lines). Layouts end with the Events section, except
/// Secret and Namespace, for which kubectl prints none.
///
/// `related` carries the extra objects (each with its `kind`) some layouts show; others are
/// ignored:
/// - Deployment: its ReplicaSets, for "OldReplicaSets" / "NewReplicaSet".
/// - ReplicaSet, StatefulSet, DaemonSet: their Pods, for "Pods Status".
/// - Node: the Pods bound to it, for "Non-terminated Pods" and "Allocated resources", and its
///   Lease from `kube-node-lease`, for "Lease".
/// - Service: its EndpointSlices (or, on clusters without them, its Endpoints), for "Endpoints".
/// - PersistentVolumeClaim: the Pods of its namespace, for "Used By".
/// - Namespace: its ResourceQuotas and LimitRanges.
///
/// Ownership is checked by controller owner reference, so passing more objects than needed is
/// harmless. Missing or malformed fields print as kubectl prints Go zero values; no input
/// panics.
pub fn describe(obj: &Value, events: &[Value], related: &[Value], now_unix: i64) -> String {
    let cx = Context {
        events,
        related,
        now: Nanos::from(now_unix) * NANOS_PER_SEC,
    };
    let mut w = Writer::new();
    let group = str_at(obj, "/apiVersion")
        .rsplit_once('/')
        .map_or("", |(group, _)| group);
    match (group, str_at(obj, "/kind")) {
        ("", "Pod") => pod::describe_pod(&mut w, obj, &cx),
        ("", "Service") => service::describe_service(&mut w, obj, &cx),
        ("", "Node") => node::describe_node(&mut w, obj, &cx),
        ("", "Namespace") => namespace::describe_namespace(&mut w, obj, related),
        ("", "ConfigMap") => config::describe_config_map(&mut w, obj, &cx),
        ("", "Secret") => config::describe_secret(&mut w, obj),
        ("", "PersistentVolumeClaim") => storage::describe_claim(&mut w, obj, &cx),
        ("", "PersistentVolume") => storage::describe_volume(&mut w, obj, &cx),
        ("apps", "Deployment") => workloads::describe_deployment(&mut w, obj, &cx),
        ("apps", "ReplicaSet") => workloads::describe_replica_set(&mut w, obj, &cx),
        ("apps", "StatefulSet") => workloads::describe_stateful_set(&mut w, obj, &cx),
        ("apps", "DaemonSet") => workloads::describe_daemon_set(&mut w, obj, &cx),
        ("batch", "Job") => batch::describe_job(&mut w, obj, &cx),
        ("batch", "CronJob") => batch::describe_cron_job(&mut w, obj, &cx),
        _ => generic::describe_generic(&mut w, obj, &cx),
    }
    w.finish()
}
