//! Namespace, Node, ConfigMap, Secret, ServiceAccount and core Event.

use serde_json::json;

use super::{LABEL_MSG, assert_cause, assert_only, assert_valid, create, update};

#[test]
fn namespaces() {
    assert_valid(&create(
        "",
        "Namespace",
        json!({"metadata": {"name": "team-a"}}),
    ));
    assert_only(
        &create("", "Namespace", json!({"metadata": {"name": "team.a"}})),
        &[(
            "FieldValueInvalid",
            "metadata.name",
            "Invalid value: \"team.a\": must not contain dots",
        )],
    );
    assert_cause(
        &create("", "Namespace", json!({"metadata": {"name": "Team"}})),
        "FieldValueInvalid",
        "metadata.name",
        &format!("Invalid value: \"Team\": {LABEL_MSG}"),
    );
}

#[test]
fn nodes_and_taints() {
    let node = json!({
        "metadata": {"name": "node-1"},
        "spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]},
        "status": {"capacity": {"cpu": "4", "memory": "8Gi"}}
    });
    assert_valid(&create("", "Node", node));
    let bad = json!({
        "metadata": {"name": "node-1"},
        "spec": {"taints": [
            {"key": "a", "effect": "Sometimes"},
            {"key": "b", "effect": "NoSchedule"},
            {"key": "b", "effect": "NoSchedule"}
        ]}
    });
    let causes = create("", "Node", bad);
    assert_cause(
        &causes,
        "FieldValueNotSupported",
        "metadata.taints[0].effect",
        "Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
    );
    assert_cause(
        &causes,
        "FieldValueDuplicate",
        "metadata.taints[2]",
        "Duplicate value: core.Taint{Key:\"b\", Value:\"\", Effect:\"NoSchedule\", TimeAdded:<nil>}: taints must be unique by key and effect pair",
    );
}

#[test]
fn node_provider_id_is_fixed_once_set() {
    let old = json!({"metadata": {"name": "n"}, "spec": {"providerID": "aws://1"}});
    let new = json!({"metadata": {"name": "n"}, "spec": {"providerID": "aws://2"}});
    assert_only(
        &update("", "Node", new, old),
        &[(
            "FieldValueForbidden",
            "spec.providerID",
            "Forbidden: node updates may not change providerID except from \"\" to valid",
        )],
    );
}

#[test]
fn config_maps() {
    let cm =
        json!({"metadata": {"name": "cfg", "namespace": "default"}, "data": {"app.conf": "x"}});
    assert_valid(&create("", "ConfigMap", cm.clone()));
    let bad = json!({
        "metadata": {"name": "cfg", "namespace": "default"},
        "data": {"bad key": "x", "dup": "y"},
        "binaryData": {"dup": "eQ=="}
    });
    let causes = create("", "ConfigMap", bad);
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "data[bad key]",
        "Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "data[dup]",
        "Invalid value: \"dup\": duplicate of key present in binaryData",
    );
    let big = json!({"metadata": {"name": "cfg", "namespace": "default"}, "data": {"a": "x".repeat(1024 * 1024 + 1)}});
    assert_only(
        &create("", "ConfigMap", big),
        &[(
            "FieldValueTooLong",
            "",
            "Too long: must have at most 1048576 bytes",
        )],
    );
}

#[test]
fn immutable_config_maps_and_secrets() {
    let old = json!({"metadata": {"name": "cfg", "namespace": "default"}, "data": {"a": "1"}, "immutable": true});
    let mut new = old.clone();
    new["data"]["a"] = json!("2");
    assert_only(
        &update("", "ConfigMap", new, old),
        &[(
            "FieldValueForbidden",
            "data",
            "Forbidden: field is immutable when `immutable` is set",
        )],
    );
    let old = json!({"metadata": {"name": "s", "namespace": "default"}, "data": {"a": "MQ=="}, "immutable": true});
    let mut new = old.clone();
    new["immutable"] = json!(false);
    assert_only(
        &update("", "Secret", new, old),
        &[(
            "FieldValueForbidden",
            "immutable",
            "Forbidden: field is immutable when `immutable` is set",
        )],
    );
}

#[test]
fn secrets() {
    let ok = json!({
        "metadata": {"name": "tls", "namespace": "default"},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5"}
    });
    assert_valid(&create("", "Secret", ok));
    let missing = json!({"metadata": {"name": "tls", "namespace": "default"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "Y2VydA=="}});
    assert_only(
        &create("", "Secret", missing),
        &[("FieldValueRequired", "data[tls.key]", "Required value")],
    );
    let bad64 =
        json!({"metadata": {"name": "s", "namespace": "default"}, "data": {"a": "not base64!"}});
    assert_only(
        &create("", "Secret", bad64),
        &[(
            "FieldValueInvalid",
            "data[a]",
            "Invalid value: \"<secret contents redacted>\": illegal base64 data at input byte 3",
        )],
    );
    let old = json!({"metadata": {"name": "s", "namespace": "default"}});
    let new = json!({"metadata": {"name": "s", "namespace": "default"}, "type": "kubernetes.io/basic-auth", "data": {"username": "dQ=="}});
    assert_only(
        &update("", "Secret", new, old),
        &[(
            "FieldValueInvalid",
            "type",
            "Invalid value: \"kubernetes.io/basic-auth\": field is immutable",
        )],
    );
}

#[test]
fn string_data_is_merged_and_validated() {
    let s = json!({"metadata": {"name": "s", "namespace": "default"}, "stringData": {"password": "hunter2"}});
    let d = super::defaulted("", "Secret", s);
    assert_eq!(d["data"]["password"], json!("aHVudGVyMg=="));
    assert!(d.get("stringData").is_none());
    assert_valid(&crate::validation::validate_create("", "Secret", &d));
}

#[test]
fn service_accounts() {
    assert_valid(&create(
        "",
        "ServiceAccount",
        json!({"metadata": {"name": "builder", "namespace": "ci"}}),
    ));
    assert_eq!(
        create(
            "",
            "ServiceAccount",
            json!({"metadata": {"name": "Builder", "namespace": "ci"}})
        )
        .len(),
        1
    );
}

#[test]
fn core_events() {
    let ev = json!({
        "metadata": {"name": "web.17a", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
        "reason": "Started"
    });
    assert_valid(&create("", "Event", ev));
    let bad = json!({
        "metadata": {"name": "x", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "other"}
    });
    assert_only(
        &create("", "Event", bad),
        &[(
            "FieldValueInvalid",
            "involvedObject.namespace",
            "Invalid value: \"other\": does not match event.namespace",
        )],
    );
}
