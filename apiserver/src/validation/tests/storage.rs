//! PersistentVolume and PersistentVolumeClaim validation.

use serde_json::{Value, json};

use super::{assert_cause, assert_only, assert_valid, create, update};

fn pvc(spec: Value) -> Value {
    json!({"metadata": {"name": "data", "namespace": "default"}, "spec": spec})
}

fn pv(spec: Value) -> Value {
    json!({"metadata": {"name": "pv-1"}, "spec": spec})
}

#[test]
fn claims() {
    assert_valid(&create(
        "",
        "PersistentVolumeClaim",
        pvc(
            json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}),
        ),
    ));
    let causes = create(
        "",
        "PersistentVolumeClaim",
        pvc(json!({"accessModes": ["ReadWriteSome"], "resources": {}})),
    );
    assert_cause(
        &causes,
        "FieldValueNotSupported",
        "spec.accessModes",
        "Unsupported value: \"ReadWriteSome\": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"",
    );
    assert_cause(
        &causes,
        "FieldValueRequired",
        "spec.resources[storage]",
        "Required value",
    );
    assert_cause(
        &create(
            "",
            "PersistentVolumeClaim",
            pvc(json!({"resources": {"requests": {"storage": "1Gi"}}})),
        ),
        "FieldValueRequired",
        "spec.accessModes",
        "Required value: at least 1 access mode is required",
    );
}

#[test]
fn claim_spec_is_mostly_immutable() {
    let old = pvc(
        json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}),
    );
    let mut new = old.clone();
    new["spec"]["accessModes"] = json!(["ReadWriteMany"]);
    let causes = update("", "PersistentVolumeClaim", new, old.clone());
    assert_eq!(causes.len(), 1);
    assert!(causes[0].message.starts_with(
        "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n"
    ));
    // The binder may fill in volumeName once.
    let mut new = old.clone();
    new["spec"]["volumeName"] = json!("pv-1");
    assert_valid(&update("", "PersistentVolumeClaim", new, old.clone()));
    // Bound claims may grow.
    let mut bound = old.clone();
    bound["status"] = json!({"phase": "Bound", "capacity": {"storage": "1Gi"}});
    let mut new = bound.clone();
    new["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
    assert_valid(&update("", "PersistentVolumeClaim", new, bound));
}

#[test]
fn volumes() {
    assert_valid(&create(
        "",
        "PersistentVolume",
        pv(
            json!({"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "5Gi"}, "hostPath": {"path": "/data"}}),
        ),
    ));
    let causes = create(
        "",
        "PersistentVolume",
        pv(json!({"capacity": {"storage": "0"}})),
    );
    assert_cause(
        &causes,
        "FieldValueRequired",
        "spec.accessModes",
        "Required value",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.capacity[storage]",
        "Invalid value: \"0\": must be greater than zero",
    );
    assert_cause(
        &causes,
        "FieldValueRequired",
        "spec",
        "Required value: must specify a volume type",
    );
    let local = pv(
        json!({"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}, "local": {"path": "/mnt"}}),
    );
    assert_only(
        &create("", "PersistentVolume", local),
        &[(
            "FieldValueRequired",
            "spec.nodeAffinity",
            "Required value: Local volume requires node affinity",
        )],
    );
}

#[test]
fn volume_source_is_immutable() {
    let old = pv(
        json!({"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "5Gi"}, "hostPath": {"path": "/data"}}),
    );
    let mut new = old.clone();
    new["spec"]["hostPath"]["path"] = json!("/other");
    let causes = update("", "PersistentVolume", new, old.clone());
    assert_eq!(causes.len(), 1);
    assert_eq!(causes[0].field, "spec.persistentvolumesource");
    let mut new = old.clone();
    new["spec"]["capacity"]["storage"] = json!("10Gi");
    assert_valid(&update("", "PersistentVolume", new, old));
}
