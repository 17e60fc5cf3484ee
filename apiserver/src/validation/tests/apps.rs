//! apps/v1 workloads.

use serde_json::{Value, json};

use super::{assert_cause, assert_only, assert_valid, create, template, update};

fn deployment(spec: Value) -> Value {
    json!({"metadata": {"name": "web", "namespace": "default"}, "spec": spec})
}

fn good_spec() -> Value {
    json!({"selector": {"matchLabels": {"app": "web"}}, "template": template(json!({"app": "web"}))})
}

#[test]
fn deployments() {
    assert_valid(&create("apps", "Deployment", deployment(good_spec())));
    let mut spec = good_spec();
    spec["selector"] = json!({"matchLabels": {"app": "api"}});
    assert_only(
        &create("apps", "Deployment", deployment(spec)),
        &[(
            "FieldValueInvalid",
            "spec.template.metadata.labels",
            "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
        )],
    );
    let mut spec = good_spec();
    spec["selector"] = json!({});
    assert_cause(
        &create("apps", "Deployment", deployment(spec)),
        "FieldValueInvalid",
        "spec.selector",
        "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment",
    );
}

#[test]
fn deployment_template_rules() {
    let mut spec = good_spec();
    spec["template"]["spec"]["restartPolicy"] = json!("Never");
    spec["replicas"] = json!(-1);
    spec["strategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}});
    let causes = create("apps", "Deployment", deployment(spec));
    assert_cause(
        &causes,
        "FieldValueNotSupported",
        "spec.template.spec.restartPolicy",
        "Unsupported value: \"Never\": supported values: \"Always\"",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.replicas",
        "Invalid value: -1: must be greater than or equal to 0",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.strategy.rollingUpdate.maxUnavailable",
        "Invalid value: 0: may not be 0 when `maxSurge` is 0",
    );
    let mut spec = good_spec();
    spec["template"]["spec"]["containers"][0]["image"] = json!("");
    assert_only(
        &create("apps", "Deployment", deployment(spec)),
        &[(
            "FieldValueRequired",
            "spec.template.spec.containers[0].image",
            "Required value",
        )],
    );
}

#[test]
fn deployment_selector_is_immutable() {
    let old = deployment(good_spec());
    let mut spec = good_spec();
    spec["selector"] = json!({"matchLabels": {"app": "web", "v": "2"}});
    spec["template"]["metadata"]["labels"] = json!({"app": "web", "v": "2"});
    assert_only(
        &update("apps", "Deployment", deployment(spec), old.clone()),
        &[(
            "FieldValueInvalid",
            "spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"v\":\"2\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
        )],
    );
    let mut spec = good_spec();
    spec["replicas"] = json!(5);
    assert_valid(&update("apps", "Deployment", deployment(spec), old));
}

#[test]
fn replica_sets_and_daemon_sets() {
    assert_valid(&create("apps", "ReplicaSet", deployment(good_spec())));
    assert_valid(&create("apps", "DaemonSet", deployment(good_spec())));
    let mut spec = good_spec();
    spec["updateStrategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}});
    assert_only(
        &create("apps", "DaemonSet", deployment(spec)),
        &[(
            "FieldValueInvalid",
            "spec.updateStrategy.rollingUpdate.maxSurge",
            "Invalid value: 1: may not be set when maxUnavailable is non-zero",
        )],
    );
}

#[test]
fn stateful_sets() {
    let mut spec = good_spec();
    spec["serviceName"] = json!("web");
    assert_valid(&create("apps", "StatefulSet", deployment(spec.clone())));
    let old = deployment(spec.clone());
    let mut changed = spec.clone();
    changed["serviceName"] = json!("other");
    assert_only(
        &update("apps", "StatefulSet", deployment(changed), old.clone()),
        &[(
            "FieldValueForbidden",
            "spec",
            "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        )],
    );
    let mut scaled = spec;
    scaled["replicas"] = json!(3);
    scaled["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.27");
    assert_valid(&update("apps", "StatefulSet", deployment(scaled), old));
}

#[test]
fn controller_revisions() {
    let cr = json!({"metadata": {"name": "web-1", "namespace": "default"}, "data": {"a": 1}, "revision": 1});
    assert_valid(&create("apps", "ControllerRevision", cr.clone()));
    let mut changed = cr.clone();
    changed["data"] = json!({"a": 2});
    assert_only(
        &update("apps", "ControllerRevision", changed, cr),
        &[(
            "FieldValueInvalid",
            "data",
            "Invalid value: {\"a\":2}: field is immutable",
        )],
    );
    let missing = json!({"metadata": {"name": "web-1", "namespace": "default"}, "revision": 1});
    assert_only(
        &create("apps", "ControllerRevision", missing),
        &[(
            "FieldValueRequired",
            "data",
            "Required value: data is mandatory",
        )],
    );
}
