//! Unit tests, one file per group of kinds, over realistic objects.

mod core_kinds;
mod pods;
mod workloads;

use serde_json::{Value, json};

use super::*;

/// 2024-06-01T12:00:00Z
const NOW: i64 = 1_717_243_200;

/// An RFC 3339 timestamp `secs` before NOW.
fn ago(secs: i64) -> String {
    format_rfc3339(i128::from(NOW - secs) * NANOS_PER_SEC)
}

/// Row cells, checked to line up with the kind's columns.
fn cells(group: &str, kind: &str, obj: Value) -> Vec<Value> {
    let row = row_cells(group, kind, &obj, NOW);
    assert_eq!(
        row.len(),
        columns(group, kind).len(),
        "{group}/{kind} row width"
    );
    row
}

fn meta(name: &str, age_secs: i64) -> Value {
    json!({"name": name, "namespace": "default", "creationTimestamp": ago(age_secs)})
}

#[test]
fn ages_round_like_upstream() {
    // Fractions of a second are truncated, and a small clock skew reads "0s".
    let obj = json!({"metadata": {"creationTimestamp": "2024-06-01T11:59:54.900Z"}});
    assert_eq!(age(&obj, i128::from(NOW) * NANOS_PER_SEC), json!("5s"));
    let future = json!({"metadata": {"creationTimestamp": ago(-1)}});
    assert_eq!(age(&future, i128::from(NOW) * NANOS_PER_SEC), json!("0s"));
    let far_future = json!({"metadata": {"creationTimestamp": ago(-30)}});
    assert_eq!(
        age(&far_future, i128::from(NOW) * NANOS_PER_SEC),
        json!("<invalid>")
    );
    assert_eq!(age(&json!({}), 0), json!("<unknown>"));
}

#[test]
fn column_definitions_have_table_shape() {
    let defs = column_definitions_json(columns("", "Pod"));
    let first = &defs[0];
    assert_eq!(first["name"], "Name");
    assert_eq!(first["type"], "string");
    assert_eq!(first["format"], "name");
    assert_eq!(first["priority"], 0);
    assert!(
        first["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Name must be unique"))
    );
    let names: Vec<&str> = defs
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| d["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        [
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP",
            "Node",
            "Nominated Node",
            "Readiness Gates"
        ]
    );
    assert_eq!(defs[5]["priority"], 1);
    assert_eq!(defs[3]["type"], "string");
    let keys: Vec<&String> = first
        .as_object()
        .into_iter()
        .flat_map(|m| m.keys())
        .collect();
    assert_eq!(keys, ["name", "type", "format", "description", "priority"]);
}

#[test]
fn every_kind_prints_empty_objects_without_panicking() {
    let kinds = [
        ("", "Namespace"),
        ("", "Node"),
        ("", "Pod"),
        ("", "Service"),
        ("", "Endpoints"),
        ("", "ConfigMap"),
        ("", "Secret"),
        ("", "ServiceAccount"),
        ("", "Event"),
        ("", "PersistentVolume"),
        ("", "PersistentVolumeClaim"),
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "StatefulSet"),
        ("apps", "DaemonSet"),
        ("apps", "ControllerRevision"),
        ("batch", "Job"),
        ("batch", "CronJob"),
        ("coordination.k8s.io", "Lease"),
        ("discovery.k8s.io", "EndpointSlice"),
        ("events.k8s.io", "Event"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("policy", "PodDisruptionBudget"),
        ("example.com", "Widget"),
    ];
    // Wrong types everywhere must degrade to zero values, not panics.
    let garbage = json!({
        "metadata": {"name": 7, "creationTimestamp": 12, "labels": [], "deletionTimestamp": null},
        "spec": "nope",
        "status": {"conditions": "x", "containerStatuses": [1, null, {"state": 3}]}
    });
    for (group, kind) in kinds {
        for obj in [json!({}), json!(null), json!([]), garbage.clone()] {
            cells(group, kind, obj);
        }
        let cols = columns(group, kind);
        let name_cols = cols.iter().filter(|c| c.name == "Name").count();
        assert_eq!(name_cols, 1, "{group}/{kind}");
        assert!(cols.iter().all(|c| c.name != "Name" || c.format == "name"));
    }
    assert_eq!(columns("core", "Pod"), columns("", "Pod"));
}

#[test]
fn unknown_kinds_use_the_generic_columns() {
    let cols = columns("example.com", "Widget");
    assert_eq!(cols.len(), 2);
    assert_eq!((cols[1].name, cols[1].kind), ("Created At", "date"));
    let row = cells("example.com", "Widget", json!({"metadata": meta("w", 90)}));
    assert_eq!(row, [json!("w"), json!("2024-06-01T11:58:30Z")]);
    let row = cells("example.com", "Widget", json!({"metadata": {"name": "w"}}));
    assert_eq!(row, [json!("w"), json!("0001-01-01T00:00:00Z")]);
    // Pods in another group are not core pods.
    assert_eq!(columns("example.com", "Pod").len(), 2);
}
