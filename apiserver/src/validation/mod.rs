//! API validation for Capstan's built-in kinds, modelled on kube-apiserver.
//!
//! Objects are validated as `serde_json::Value`s in their v1 JSON shape,
//! after defaulting (see `crate::defaults`). Every failure is reported as a
//! [`Cause`] carrying upstream's cause type, field path and message text, so
//! clients such as kubectl render familiar errors. Fields the server assigns
//! itself (uid, resourceVersion, creationTimestamp, generation) are ignored.

pub(crate) mod access;
mod apps;
mod batch;
mod container;
mod core;
mod cron;
mod downward;
mod endpoints;
mod errors;
mod gofmt;
mod meta;
mod names;
mod networking;
mod other;
mod pod;
mod podspec;
mod probes;
pub(crate) mod quantity;
mod resources;
mod sched;
mod service;
mod service_ips;
mod storage;
mod volumes;

#[cfg(test)]
mod tests;

use serde_json::Value;

use errors::{Errs, FieldError};
use meta::MetaRules;
use names::NameRule;

/// One validation failure, shaped like `metav1.StatusCause`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// Upstream's cause type, e.g. `FieldValueRequired`.
    pub reason: String,
    /// The message without the field path, e.g. `Required value`.
    pub message: String,
    /// The offending field, e.g. `spec.containers[0].image`.
    pub field: String,
}

impl From<FieldError> for Cause {
    fn from(e: FieldError) -> Self {
        Cause {
            reason: e.kind.reason().to_string(),
            message: e.body(),
            field: e.field,
        }
    }
}

/// Converts errors to causes, dropping exact repeats (several checks, like
/// label syntax on update, can report the same problem twice).
fn into_causes(errs: Errs) -> Vec<Cause> {
    let mut out: Vec<Cause> = Vec::with_capacity(errs.len());
    for cause in errs.into_iter().map(Cause::from) {
        if !out.contains(&cause) {
            out.push(cause);
        }
    }
    out
}

/// Validates an object about to be created.
pub fn validate_create(group: &str, kind: &str, obj: &Value) -> Vec<Cause> {
    let mut errs = Errs::new();
    create_errors(group, kind, obj, &mut errs);
    into_causes(errs)
}

fn create_errors(group: &str, kind: &str, obj: &Value, errs: &mut Errs) {
    match (group, kind) {
        ("", "Namespace") => core::validate_namespace(obj, errs),
        ("", "Node") => core::validate_node(obj, errs),
        ("", "Pod") => pod::validate_create(obj, errs),
        ("", "Service") => service::validate_create(obj, errs),
        ("", "Endpoints") => endpoints::validate_endpoints(obj, errs),
        ("", "ConfigMap") => core::validate_config_map(obj, errs),
        ("", "Secret") => core::validate_secret(obj, errs),
        ("", "ServiceAccount") => core::validate_service_account(obj, errs),
        ("", "Event") => core::validate_core_event(obj, errs),
        ("", "PersistentVolume") => storage::validate_pv(obj, errs),
        ("", "PersistentVolumeClaim") => storage::validate_pvc(obj, errs),
        ("apps", "Deployment") => apps::validate_deployment(obj, errs),
        ("apps", "ReplicaSet") => apps::validate_replica_set(obj, errs),
        ("apps", "StatefulSet") => apps::validate_stateful_set(obj, errs),
        ("apps", "DaemonSet") => apps::validate_daemon_set(obj, errs),
        ("apps", "ControllerRevision") => apps::validate_controller_revision(obj, errs),
        ("batch", "Job") => batch::validate_job(obj, errs),
        ("batch", "CronJob") => batch::validate_cron_job(obj, errs),
        ("coordination.k8s.io", "Lease") => other::validate_lease(obj, errs),
        ("discovery.k8s.io", "EndpointSlice") => other::validate_endpoint_slice(obj, errs),
        ("events.k8s.io", "Event") => other::validate_events_event(obj, errs),
        ("scheduling.k8s.io", "PriorityClass") => other::validate_priority_class(obj, errs),
        ("policy", "PodDisruptionBudget") => other::validate_pdb(obj, errs),
        ("networking.k8s.io", "NetworkPolicy") => networking::validate_network_policy(obj, errs),
        _ => validate_generic(obj, errs),
    }
}

/// Unknown kinds (e.g. custom resources) get name and label checks only,
/// since their scope is not known here.
fn validate_generic(obj: &Value, errs: &mut Errs) {
    let mut all = Errs::new();
    let rules = MetaRules {
        namespaced: false,
        name: NameRule::Subdomain,
        kube_finalizers: false,
    };
    meta::validate_object_meta(obj, rules, &mut all);
    errs.extend(all.into_iter().filter(|e| e.field != "metadata.namespace"));
}

/// Validates a replacement of `old` by `new` through the main resource,
/// including the immutability rules of each kind.
pub fn validate_update(group: &str, kind: &str, new: &Value, old: &Value) -> Vec<Cause> {
    let mut errs = Errs::new();
    match (group, kind) {
        ("", "Pod") => pod::validate_update(new, old, &mut errs),
        ("", "Service") => service::validate_update(new, old, &mut errs),
        ("", "Node") => core::validate_node_update(new, old, &mut errs),
        ("", "ConfigMap") => core::validate_config_map_update(new, old, &mut errs),
        ("", "Secret") => core::validate_secret_update(new, old, &mut errs),
        ("", "PersistentVolume") => storage::validate_pv_update(new, old, &mut errs),
        ("", "PersistentVolumeClaim") => storage::validate_pvc_update(new, old, &mut errs),
        ("", "Event") => core::validate_core_event(new, &mut errs),
        ("apps", "Deployment") => apps::validate_deployment_update(new, old, &mut errs),
        ("apps", "ReplicaSet") => apps::validate_replica_set_update(new, old, &mut errs),
        ("apps", "StatefulSet") => apps::validate_stateful_set_update(new, old, &mut errs),
        ("apps", "DaemonSet") => apps::validate_daemon_set_update(new, old, &mut errs),
        ("apps", "ControllerRevision") => {
            apps::validate_controller_revision_update(new, old, &mut errs)
        }
        ("batch", "Job") => batch::validate_job_update(new, old, &mut errs),
        ("batch", "CronJob") => batch::validate_cron_job_update(new, old, &mut errs),
        ("discovery.k8s.io", "EndpointSlice") => {
            other::validate_endpoint_slice_update(new, old, &mut errs)
        }
        ("events.k8s.io", "Event") => other::validate_events_event_update(new, old, &mut errs),
        ("scheduling.k8s.io", "PriorityClass") => {
            other::validate_priority_class_update(new, old, &mut errs)
        }
        _ => validate_update_generic(group, kind, new, old, &mut errs),
    }
    into_causes(errs)
}

/// Kinds whose update rules are "metadata rules plus create-time checks".
fn validate_update_generic(group: &str, kind: &str, new: &Value, old: &Value, errs: &mut Errs) {
    let builtin = is_builtin(group, kind);
    meta::validate_object_meta_update(new, old, builtin, errs);
    let mut create = Errs::new();
    create_errors(group, kind, new, &mut create);
    // Metadata was covered by the update rules above (names may predate
    // today's stricter rules, and must not be re-checked).
    errs.extend(
        create
            .into_iter()
            .filter(|e| !e.field.starts_with("metadata.")),
    );
}

fn is_builtin(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        (
            "",
            "Namespace"
                | "Node"
                | "Pod"
                | "Service"
                | "Endpoints"
                | "ConfigMap"
                | "Secret"
                | "ServiceAccount"
                | "Event"
                | "PersistentVolume"
                | "PersistentVolumeClaim"
        ) | ("apps", _)
            | ("batch", _)
            | ("coordination.k8s.io", "Lease")
            | ("discovery.k8s.io", "EndpointSlice")
            | ("events.k8s.io", "Event")
            | ("scheduling.k8s.io", "PriorityClass")
            | ("policy", "PodDisruptionBudget")
            | ("networking.k8s.io", "NetworkPolicy")
    )
}

/// Validates a write to the `/status` subresource: only metadata rules and a
/// few status invariants apply, the spec is not re-validated.
pub fn validate_status_update(group: &str, kind: &str, new: &Value, old: &Value) -> Vec<Cause> {
    let mut errs = Errs::new();
    meta::validate_object_meta_update(new, old, is_builtin(group, kind), &mut errs);
    match (group, kind) {
        ("", "Namespace") => core::validate_namespace_status(new, &mut errs),
        ("", "Pod") => {
            let n = access::at(new, &["spec", "nodeName"]);
            let o = access::at(old, &["spec", "nodeName"]);
            if n != o {
                errs.push(errors::forbidden(
                    "status.nodeName",
                    "may not be changed directly",
                ));
            }
        }
        ("apps", "Deployment" | "ReplicaSet" | "StatefulSet") => {
            let status = access::get(new, "status").unwrap_or(&Value::Null);
            for f in [
                "replicas",
                "updatedReplicas",
                "readyReplicas",
                "availableReplicas",
                "observedGeneration",
            ] {
                meta::nonneg(&mut errs, &format!("status.{f}"), access::int(status, f));
            }
        }
        _ => {}
    }
    into_causes(errs)
}

/// The kind as upstream prints it in messages: `Pod`, `Deployment.apps`.
pub fn qualified_kind(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    }
}

/// The `Status.message` of a 422 Invalid response, e.g.
/// `Pod "web" is invalid: spec.containers[0].image: Required value`.
/// `kind` should already be qualified (see [`qualified_kind`]).
pub fn full_message(kind: &str, name: &str, causes: &[Cause]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for c in causes {
        let msg = format!("{}: {}", c.field, c.message);
        // Upstream's aggregate drops repeated messages.
        if !seen.contains(&msg) {
            seen.push(msg);
        }
    }
    let head = format!("{kind} {} is invalid", gofmt::quote(name));
    match seen.len() {
        0 => head,
        1 => format!("{head}: {}", seen[0]),
        _ => format!("{head}: [{}]", seen.join(", ")),
    }
}
