//! ObjectMeta rules, update immutability and the aggregate message format.

use serde_json::json;

use super::{
    LABEL_MSG, SUBDOMAIN_MSG, assert_cause, assert_only, assert_valid, create, pod, update,
};
use crate::validation::{full_message, qualified_kind, validate_create, validate_status_update};

#[test]
fn name_is_required_and_checked() {
    let mut p = pod("x");
    p["metadata"]["name"] = json!("");
    assert_cause(
        &create("", "Pod", p),
        "FieldValueRequired",
        "metadata.name",
        "Required value: name or generateName is required",
    );
    assert_cause(
        &create("", "Pod", pod("Foo")),
        "FieldValueInvalid",
        "metadata.name",
        &format!("Invalid value: \"Foo\": {SUBDOMAIN_MSG}"),
    );
}

#[test]
fn namespace_rules() {
    let mut p = pod("x");
    p["metadata"].as_object_mut().map(|m| m.remove("namespace"));
    assert_cause(
        &create("", "Pod", p),
        "FieldValueRequired",
        "metadata.namespace",
        "Required value",
    );
    let ns = json!({"metadata": {"name": "team-a", "namespace": "default"}});
    assert_cause(
        &create("", "Namespace", ns),
        "FieldValueForbidden",
        "metadata.namespace",
        "Forbidden: not allowed on this type",
    );
}

#[test]
fn labels_and_annotations() {
    let mut p = pod("x");
    p["metadata"]["labels"] = json!({"app": "-bad", "a/b/c": "x"});
    let causes = create("", "Pod", p);
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "metadata.labels",
        "Invalid value: \"-bad\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    );
    assert!(causes.iter().any(|c| {
        c.message
            .starts_with("Invalid value: \"a/b/c\": a qualified name")
    }));

    let mut p = pod("x");
    p["metadata"]["annotations"] = json!({"Example.COM/Key": "v", "big": "x".repeat(256 * 1024)});
    assert_only(
        &create("", "Pod", p),
        &[(
            "FieldValueTooLong",
            "metadata.annotations",
            "Too long: must have at most 262144 bytes",
        )],
    );
}

#[test]
fn owner_references_and_finalizers() {
    let mut p = pod("x");
    p["metadata"]["ownerReferences"] =
        json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs"}]);
    p["metadata"]["finalizers"] = json!(["custom", "example.com/ok"]);
    let causes = create("", "Pod", p);
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "metadata.ownerReferences.uid",
        "Invalid value: \"\": must not be empty",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "metadata.finalizers[0]",
        "Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified",
    );
    assert_eq!(causes.len(), 2);
}

#[test]
fn identity_is_immutable_on_update() {
    let old = {
        let mut p = pod("web");
        p["metadata"]["uid"] = json!("u1");
        p
    };
    let mut new = old.clone();
    new["metadata"]["uid"] = json!("u2");
    assert_cause(
        &update("", "Pod", new, old.clone()),
        "FieldValueInvalid",
        "metadata.uid",
        "Invalid value: \"u2\": field is immutable",
    );
    // An omitted uid means "unchanged": the server fills it in.
    let mut new = old.clone();
    new["metadata"].as_object_mut().map(|m| m.remove("uid"));
    assert_valid(&update("", "Pod", new, old));
}

#[test]
fn status_updates_check_metadata_only() {
    let old = json!({"metadata": {"name": "n1"}, "status": {"phase": "Active"}});
    let new = json!({"metadata": {"name": "n1"}, "status": {"phase": "Terminating"}});
    assert_cause(
        &validate_status_update("", "Namespace", &new, &old),
        "FieldValueInvalid",
        "status.Phase",
        "Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty",
    );
}

#[test]
fn unknown_kinds_get_generic_checks() {
    let obj = json!({"metadata": {"name": "Bad_Name", "namespace": "x"}});
    let causes = validate_create("example.com", "Widget", &obj);
    assert_eq!(causes.len(), 1);
    assert_eq!(causes[0].field, "metadata.name");
}

#[test]
fn full_message_matches_upstream_format() {
    let mut p = pod("mypod");
    p["spec"]["containers"][0]["image"] = json!("");
    let causes = validate_create("", "Pod", &super::defaulted("", "Pod", p));
    assert_eq!(
        full_message(&qualified_kind("", "Pod"), "mypod", &causes),
        "Pod \"mypod\" is invalid: spec.containers[0].image: Required value"
    );
    let deploy = json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"template": super::template(json!({"app": "x"}))}
    });
    let causes = create("apps", "Deployment", deploy);
    assert_eq!(
        full_message(&qualified_kind("apps", "Deployment"), "web", &causes),
        "Deployment.apps \"web\" is invalid: [spec.selector: Required value, spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match template `labels`]"
    );
    assert_eq!(full_message("Pod", "p", &[]), "Pod \"p\" is invalid");
}

#[test]
fn service_names_are_dns1035_and_namespaces_labels() {
    let svc = json!({
        "metadata": {"name": "1svc", "namespace": "Bad"},
        "spec": {"ports": [{"port": 80}]}
    });
    let causes = create("", "Service", svc);
    assert!(
        causes
            .iter()
            .any(|c| c.field == "metadata.name" && c.message.contains("DNS-1035"))
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "metadata.namespace",
        &format!("Invalid value: \"Bad\": {LABEL_MSG}"),
    );
}
