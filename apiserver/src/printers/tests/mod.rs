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
fn human_duration_matches_upstream_boundaries() {
    let cases = [
        (-5, "<invalid>"),
        (-2, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (5, "5s"),
        (119, "119s"),
        (120, "2m"),
        (150, "2m30s"),
        (599, "9m59s"),
        (600, "10m"),
        (10_799, "179m"),
        (10_800, "3h"),
        (3 * 3600 + 30 * 60, "3h30m"),
        (8 * 3600 + 59 * 60, "8h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (49 * 3600, "2d1h"),
        (7 * 86_400 + 23 * 3600, "7d23h"),
        (8 * 86_400, "8d"),
        (729 * 86_400, "729d"),
        (730 * 86_400, "2y"),
        (735 * 86_400, "2y5d"),
        (8 * 365 * 86_400, "8y"),
        (20 * 365 * 86_400, "20y"),
    ];
    for (secs, want) in cases {
        assert_eq!(human_duration(secs), want, "{secs}s");
    }
}

#[test]
fn rfc3339_parsing_and_formatting() {
    assert_eq!(
        parse_rfc3339("2000-01-01T00:00:00Z"),
        Some(946_684_800 * NANOS_PER_SEC)
    );
    assert_eq!(
        parse_rfc3339("2024-06-01T12:00:00Z"),
        Some(i128::from(NOW) * NANOS_PER_SEC)
    );
    assert_eq!(
        parse_rfc3339("2024-06-01T14:00:00+02:00"),
        parse_rfc3339("2024-06-01T12:00:00Z")
    );
    assert_eq!(
        parse_rfc3339("2024-06-01T12:00:00.250000Z"),
        Some(i128::from(NOW) * NANOS_PER_SEC + 250_000_000)
    );
    assert_eq!(parse_rfc3339("0001-01-01T00:00:00Z"), Some(ZERO_TIME));
    assert_eq!(parse_rfc3339("2024-02-30T00:00:00Z"), None);
    assert_eq!(parse_rfc3339("2024-06-01 12:00:00Z"), None);
    assert_eq!(parse_rfc3339("yesterday"), None);
    assert_eq!(parse_rfc3339(""), None);
    assert_eq!(format_rfc3339(ZERO_TIME), "0001-01-01T00:00:00Z");
    assert_eq!(
        format_rfc3339(i128::from(NOW) * NANOS_PER_SEC),
        "2024-06-01T12:00:00Z"
    );
    assert_eq!(
        format_rfc3339(parse_rfc3339("2024-02-29T23:59:59.9-01:00").unwrap_or(0)),
        "2024-03-01T00:59:59Z"
    );
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
fn label_selectors_render_like_upstream() {
    let sel = json!({
        "matchLabels": {"tier": "web", "app": "nginx"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "canary"]},
            {"key": "zone", "operator": "NotIn", "values": ["b"]},
            {"key": "gpu", "operator": "Exists"},
            {"key": "legacy", "operator": "DoesNotExist", "values": []}
        ]
    });
    assert_eq!(
        format_label_selector(Some(&sel)),
        "app=nginx,env in (canary,prod),gpu,!legacy,tier=web,zone notin (b)"
    );
    assert_eq!(format_label_selector(None), "<none>");
    assert_eq!(format_label_selector(Some(&json!({}))), "<none>");
    let bad = json!({"matchExpressions": [{"key": "a", "operator": "Near"}]});
    assert_eq!(format_label_selector(Some(&bad)), "<error>");
    let empty_in = json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]});
    assert_eq!(format_label_selector(Some(&empty_in)), "<error>");
    // Whole pairs sort as strings, so "a.b=1" precedes "a=1".
    let labels = json!({"a": "1", "a.b": "1"});
    assert_eq!(format_labels(labels.as_object()), "a.b=1,a=1");
    assert_eq!(format_labels(None), "<none>");
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
