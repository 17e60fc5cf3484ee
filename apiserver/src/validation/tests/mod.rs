//! Unit tests for validation, one module per API area. Objects are run
//! through `apply_defaults` first, as the server does before validating.

mod apps;
mod batch;
mod core;
mod meta;
mod other;
mod pod;
mod primitives;
mod realistic;
mod service;
mod storage;

use serde_json::{Value, json};

use crate::validation::{Cause, validate_create, validate_update};

pub(super) const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
pub(super) const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

pub(super) fn defaulted(group: &str, kind: &str, mut obj: Value) -> Value {
    crate::defaults::apply_defaults(group, kind, &mut obj);
    obj
}

pub(super) fn create(group: &str, kind: &str, obj: Value) -> Vec<Cause> {
    validate_create(group, kind, &defaulted(group, kind, obj))
}

pub(super) fn update(group: &str, kind: &str, new: Value, old: Value) -> Vec<Cause> {
    let old = defaulted(group, kind, old);
    let mut new = defaulted(group, kind, new);
    crate::defaults::prepare_for_update(group, kind, &mut new, &old);
    validate_update(group, kind, &new, &old)
}

#[track_caller]
pub(super) fn assert_valid(causes: &[Cause]) {
    assert!(causes.is_empty(), "expected no causes, got {causes:#?}");
}

#[track_caller]
pub(super) fn assert_cause(causes: &[Cause], reason: &str, field: &str, message: &str) {
    let found = causes
        .iter()
        .any(|c| c.reason == reason && c.field == field && c.message == message);
    assert!(
        found,
        "missing cause {reason} at {field}: {message}\ngot: {causes:#?}"
    );
}

/// Asserts the causes are exactly the given (reason, field, message) triples.
#[track_caller]
pub(super) fn assert_only(causes: &[Cause], expected: &[(&str, &str, &str)]) {
    let got: Vec<(&str, &str, &str)> = causes
        .iter()
        .map(|c| (c.reason.as_str(), c.field.as_str(), c.message.as_str()))
        .collect();
    assert_eq!(got, expected);
}

pub(super) fn container(name: &str, image: &str) -> Value {
    json!({ "name": name, "image": image })
}

pub(super) fn pod(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": name, "namespace": "default" },
        "spec": { "containers": [container("app", "nginx:1.25")] }
    })
}

pub(super) fn template(labels: Value) -> Value {
    json!({
        "metadata": { "labels": labels },
        "spec": { "containers": [container("app", "nginx:1.25")] }
    })
}
