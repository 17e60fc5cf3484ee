//! Server-side printing: the `meta.k8s.io/v1` Table column definitions and row
//! cells that `kubectl get` renders, for every kind this server serves.
//!
//! Columns and cell rules follow kube-apiserver's built-in printers (v1.33).
//! The real server always generates tables in wide mode and leaves hiding the
//! priority-1 columns to the client, so every row carries a cell for every
//! column, wide ones included.
//!
//! Objects arrive in their versioned JSON shape and may lack fields. Upstream
//! prints from internal objects that went through scheme defaulting when they
//! were written, so a field with a scheme default (a Service's type, a port's
//! protocol, a Deployment's replicas, a PV's phase) prints as that default when
//! absent; any other absent field prints as upstream prints the Go zero value.

mod columns;
mod core_v1;
mod others;
#[cfg(test)]
mod tests;
mod workloads;

use std::cmp::Ordering;

use capstan_api_types::printing::{
    access_modes, format_label_selector, format_labels, selector_string, string_label,
};
use capstan_api_types::time::{
    NANOS_PER_SEC, Nanos, ZERO_TIME, format_rfc3339, human_age, human_duration_between as elapsed,
    parse_rfc3339,
};
use serde_json::{Map, Value, json};

/// Re-exported from `capstan_api_types::time`, where the rules live since `capstan describe`
/// shares them.
pub use capstan_api_types::time::human_duration;

/// One entry of a Table's `columnDefinitions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    /// The OpenAPI type of the cells: "string", "integer", "boolean", "date".
    pub kind: &'static str,
    pub format: &'static str,
    pub description: &'static str,
    /// 0 for columns `kubectl get` always shows, 1 for `-o wide` only.
    pub priority: i32,
}

/// The columns for `kind` in API group `group` ("" or "core" for the core
/// group); kinds without a dedicated printer get Name and Created At.
pub fn columns(group: &str, kind: &str) -> &'static [Column] {
    match (normalize_group(group), kind) {
        ("", "Namespace") => columns::NAMESPACE,
        ("", "Node") => columns::NODE,
        ("", "Pod") => columns::POD,
        ("", "Service") => columns::SERVICE,
        ("", "Endpoints") => columns::ENDPOINTS,
        ("", "ConfigMap") => columns::CONFIG_MAP,
        ("", "Secret") => columns::SECRET,
        ("", "ServiceAccount") => columns::SERVICE_ACCOUNT,
        ("", "Event") | ("events.k8s.io", "Event") => columns::EVENT,
        ("", "PersistentVolume") => columns::PERSISTENT_VOLUME,
        ("", "PersistentVolumeClaim") => columns::PERSISTENT_VOLUME_CLAIM,
        ("apps", "Deployment") => columns::DEPLOYMENT,
        ("apps", "ReplicaSet") => columns::REPLICA_SET,
        ("apps", "StatefulSet") => columns::STATEFUL_SET,
        ("apps", "DaemonSet") => columns::DAEMON_SET,
        ("apps", "ControllerRevision") => columns::CONTROLLER_REVISION,
        ("batch", "Job") => columns::JOB,
        ("batch", "CronJob") => columns::CRON_JOB,
        ("coordination.k8s.io", "Lease") => columns::LEASE,
        ("discovery.k8s.io", "EndpointSlice") => columns::ENDPOINT_SLICE,
        ("scheduling.k8s.io", "PriorityClass") => columns::PRIORITY_CLASS,
        ("policy", "PodDisruptionBudget") => columns::POD_DISRUPTION_BUDGET,
        _ => columns::DEFAULT,
    }
}

/// The cells of `obj`'s row, one per entry of `columns(group, kind)`.
/// `now_unix_secs` is the instant ages and durations are measured against.
pub fn row_cells(group: &str, kind: &str, obj: &Value, now_unix_secs: i64) -> Vec<Value> {
    let now = i128::from(now_unix_secs) * NANOS_PER_SEC;
    match (normalize_group(group), kind) {
        ("", "Namespace") => core_v1::namespace(obj, now),
        ("", "Node") => core_v1::node(obj, now),
        ("", "Pod") => core_v1::pod(obj, now),
        ("", "Service") => core_v1::service(obj, now),
        ("", "Endpoints") => core_v1::endpoints(obj, now),
        ("", "ConfigMap") => core_v1::config_map(obj, now),
        ("", "Secret") => core_v1::secret(obj, now),
        ("", "ServiceAccount") => core_v1::service_account(obj, now),
        ("", "Event") => core_v1::core_event(obj, now),
        ("events.k8s.io", "Event") => core_v1::events_event(obj, now),
        ("", "PersistentVolume") => core_v1::persistent_volume(obj, now),
        ("", "PersistentVolumeClaim") => core_v1::persistent_volume_claim(obj, now),
        ("apps", "Deployment") => workloads::deployment(obj, now),
        ("apps", "ReplicaSet") => workloads::replica_set(obj, now),
        ("apps", "StatefulSet") => workloads::stateful_set(obj, now),
        ("apps", "DaemonSet") => workloads::daemon_set(obj, now),
        ("apps", "ControllerRevision") => workloads::controller_revision(obj, now),
        ("batch", "Job") => workloads::job(obj, now),
        ("batch", "CronJob") => workloads::cron_job(obj, now),
        ("coordination.k8s.io", "Lease") => others::lease(obj, now),
        ("discovery.k8s.io", "EndpointSlice") => others::endpoint_slice(obj, now),
        ("scheduling.k8s.io", "PriorityClass") => others::priority_class(obj, now),
        ("policy", "PodDisruptionBudget") => others::pod_disruption_budget(obj, now),
        // The generic table convertor prints an absolute timestamp, not an age.
        _ => vec![
            name(obj),
            format_rfc3339(time_at(obj, "/metadata/creationTimestamp")).into(),
        ],
    }
}

/// The Table `columnDefinitions` array for `cols`.
pub fn column_definitions_json(cols: &[Column]) -> Value {
    Value::Array(
        cols.iter()
            .map(|c| {
                json!({
                    "name": c.name,
                    "type": c.kind,
                    "format": c.format,
                    "description": c.description,
                    "priority": c.priority,
                })
            })
            .collect(),
    )
}

fn normalize_group(group: &str) -> &str {
    if group == "core" { "" } else { group }
}

// ---- JSON access -----------------------------------------------------------

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// The string at `ptr`, or `default` when absent or empty; the default is
/// either what scheme defaulting would have stored or upstream's placeholder.
fn str_or<'a>(v: &'a Value, ptr: &str, default: &'a str) -> &'a str {
    match str_at(v, ptr) {
        "" => default,
        s => s,
    }
}

fn int_at(v: &Value, ptr: &str) -> Option<i64> {
    v.pointer(ptr).and_then(Value::as_i64)
}

fn arr_at<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn map_at<'a>(v: &'a Value, ptr: &str) -> Option<&'a Map<String, Value>> {
    v.pointer(ptr).and_then(Value::as_object)
}

fn map_len(v: &Value, ptr: &str) -> usize {
    map_at(v, ptr).map_or(0, Map::len)
}

/// Whether `ptr` holds a value; JSON null decodes to a nil pointer upstream.
fn present(v: &Value, ptr: &str) -> bool {
    v.pointer(ptr).is_some_and(|x| !x.is_null())
}

fn name(obj: &Value) -> Value {
    str_at(obj, "/metadata/name").into()
}

fn count(n: usize) -> Value {
    Value::from(i64::try_from(n).unwrap_or(i64::MAX))
}

/// A resource quantity or int-or-string as upstream's `String()` shows it.
fn scalar_string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

// ---- time -------------------------------------------------------------------

/// The timestamp at `ptr`, or the zero time when absent or malformed.
fn time_at(v: &Value, ptr: &str) -> Nanos {
    opt_time_at(v, ptr).unwrap_or(ZERO_TIME)
}

/// The timestamp at `ptr`, or None where upstream would hold a nil pointer.
fn opt_time_at(v: &Value, ptr: &str) -> Option<Nanos> {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .and_then(parse_rfc3339)
}

fn age(obj: &Value, now: Nanos) -> Value {
    human_age(time_at(obj, "/metadata/creationTimestamp"), now).into()
}

// ---- shared cell builders -------------------------------------------------------

/// Container names and images, each comma-joined (the wide Containers and
/// Images columns).
fn container_cells(containers: &[Value]) -> [Value; 2] {
    let join = |field: &str| {
        containers
            .iter()
            .map(|c| str_at(c, field))
            .collect::<Vec<_>>()
            .join(",")
    };
    [join("/name").into(), join("/image").into()]
}

/// Joins up to three entries, then summarises the rest as " + N more...".
fn list_with_more(list: &[String], total: usize) -> String {
    const MAX: usize = 3;
    let shown = list[..list.len().min(MAX)].join(",");
    match total.cmp(&MAX) {
        Ordering::Greater => format!("{shown} + {} more...", total - MAX),
        _ => shown,
    }
}
