//! Inputs kubectl would never see from a healthy API server: empty objects, missing sections,
//! fields of the wrong type. Every layout must still print something sensible and never panic.

use capstan_describe::describe;
use serde_json::{Value, json};

/// 2024-06-01T12:00:00Z
const NOW: i64 = 1_717_243_200;

const KINDS: [(&str, &str); 15] = [
    ("v1", "Pod"),
    ("v1", "Service"),
    ("v1", "Node"),
    ("v1", "Namespace"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "PersistentVolumeClaim"),
    ("v1", "PersistentVolume"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "ReplicaSet"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("example.com/v1", "Widget"),
];

/// Kinds whose kubectl describer prints an Events section.
fn has_events(kind: &str) -> bool {
    !matches!(kind, "Secret" | "Namespace")
}

#[test]
fn bare_objects_print_every_layout_with_no_events() {
    for (api_version, kind) in KINDS {
        let obj = json!({"apiVersion": api_version, "kind": kind});
        let out = describe(&obj, &[], &[], NOW);
        assert!(out.starts_with("Name:"), "{kind}: {out}");
        assert!(out.ends_with('\n'), "{kind}");
        if has_events(kind) {
            let last = out.lines().last().unwrap_or("");
            assert!(
                last.starts_with("Events:") && last.ends_with("<none>"),
                "{kind} should end with an empty Events section: {out}"
            );
        } else {
            assert!(!out.contains("Events:"), "{kind}: {out}");
        }
    }
}

#[test]
fn non_objects_fall_back_to_the_generic_layout() {
    for obj in [
        json!(null),
        json!(42),
        json!("pod"),
        json!([1, 2]),
        json!({}),
    ] {
        let out = describe(&obj, &[], &[], NOW);
        assert_eq!(
            out,
            "Name:         \nNamespace:    \nLabels:       <none>\nAnnotations:  <none>\nEvents:       <none>\n"
        );
    }
}

#[test]
fn wrong_types_everywhere_do_not_panic() {
    let odd = [
        json!(null),
        json!("x"),
        json!(-1),
        json!(1.5e300),
        json!(true),
        json!([]),
        json!([null, 3, "s", {}]),
        json!({}),
        json!({"a": {"b": []}}),
    ];
    for (api_version, kind) in KINDS {
        for v in &odd {
            let obj = json!({
                "apiVersion": api_version,
                "kind": kind,
                "metadata": v,
                "spec": v,
                "status": v,
                "data": v,
                "binaryData": v,
                "type": v,
            });
            let events = [v.clone(), json!({"count": v, "series": v, "eventTime": v})];
            let related = [v.clone(), json!({"kind": "Pod", "spec": v, "status": v})];
            let _ = describe(&obj, &events, &related, NOW);
        }
    }
}

#[test]
fn extreme_times_do_not_panic() {
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "creationTimestamp": "0001-01-01T00:00:00Z",
                     "deletionTimestamp": "9999-12-31T23:59:59Z"},
        "status": {"startTime": "not a time", "phase": "Running"},
    });
    let event = json!({"type": "Normal", "reason": "R", "count": i64::MAX,
                       "firstTimestamp": "9999-12-31T23:59:59Z", "lastTimestamp": "0001-01-01T00:00:00Z"});
    for now in [i64::MIN, -1, 0, NOW, i64::MAX] {
        let out = describe(&pod, std::slice::from_ref(&event), &[], now);
        assert!(out.contains("Status:"), "{out}");
    }
}

#[test]
fn terminal_escapes_in_user_data_are_neutralised() {
    let cm = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "evil\u{1b}[2J", "namespace": "default"},
        "data": {"k": "line\r\u{1b}]0;title\u{7}"},
    });
    let out = describe(&cm, &[], &[], NOW);
    assert!(!out.contains('\u{1b}') && !out.contains('\r'), "{out:?}");
    assert!(out.contains("evil^[[2J"), "{out}");
}

/// Replaces, one at a time, every node of every golden fixture with odd values and describes
/// the result: whatever part of an object is malformed, no layout may panic.
#[test]
fn every_fixture_node_mutated_does_not_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    let replacements = [
        json!(null),
        json!("x"),
        json!(-7),
        json!([]),
        json!({}),
        json!(0.25),
    ];
    let mut described = 0;
    for path in entries {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let fixture: Value = serde_yaml::from_str(&text).unwrap_or(Value::Null);
        let events = fixture["events"].as_array().cloned().unwrap_or_default();
        let related = fixture["related"].as_array().cloned().unwrap_or_default();
        let object = &fixture["object"];
        let mut pointers = Vec::new();
        collect_pointers(object, String::new(), &mut pointers);
        for ptr in &pointers {
            // apiVersion and kind choose the layout; mutating them only exercises the generic one.
            if ptr == "/apiVersion" || ptr == "/kind" {
                continue;
            }
            for r in &replacements {
                let mut mutated = object.clone();
                if let Some(slot) = mutated.pointer_mut(ptr) {
                    *slot = r.clone();
                }
                let _ = describe(&mutated, &events, &related, NOW);
                described += 1;
            }
        }
    }
    assert!(described > 1000, "only {described} mutations tried");
}

fn collect_pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let ptr = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(ptr.clone());
                collect_pointers(child, ptr, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let ptr = format!("{at}/{i}");
                out.push(ptr.clone());
                collect_pointers(child, ptr, out);
            }
        }
        _ => {}
    }
}

#[test]
fn deployment_without_replica_sets_omits_the_replica_set_lines() {
    let d = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "ns", "uid": "u1"},
        "spec": {"selector": {"matchLabels": {"app": "d"}}},
    });
    let out = describe(&d, &[], &[], NOW);
    assert!(!out.contains("OldReplicaSets"), "{out}");
    // An absent replica count is the API default of one.
    assert!(out.contains("1 desired | 0 updated | 0 total"), "{out}");
    let other_owner = json!({
        "kind": "ReplicaSet",
        "metadata": {"name": "x", "ownerReferences": [{"kind": "Deployment", "name": "d", "uid": "u2", "controller": true}]},
        "spec": {"replicas": 1},
    });
    let out = describe(&d, &[], &[other_owner], NOW);
    assert!(!out.contains("OldReplicaSets"), "{out}");
}

#[test]
fn service_without_slices_falls_back_to_endpoints() {
    let svc = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "s", "namespace": "ns"},
        "spec": {"ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]},
    });
    let out = describe(&svc, &[], &[], NOW);
    assert!(out.contains("Endpoints:         <none>"), "{out}");
    let endpoints = json!({
        "kind": "Endpoints",
        "metadata": {"name": "s", "namespace": "ns"},
        "subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 8080}]}],
    });
    let out = describe(&svc, &[], &[endpoints], NOW);
    assert!(
        out.contains("Endpoints:         10.0.0.1:8080,10.0.0.2:8080"),
        "{out}"
    );
}

#[test]
fn events_of_one_object_sort_oldest_first_regardless_of_input_order() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    let ev = |reason: &str, at: &str| {
        json!({"type": "Normal", "reason": reason, "message": "m", "source": {"component": "x"},
               "count": 1, "firstTimestamp": at, "lastTimestamp": at})
    };
    let events = [
        ev("Third", "2024-06-01T11:59:00Z"),
        ev("First", "2024-06-01T11:00:00Z"),
        ev("Second", "2024-06-01T11:30:00Z"),
    ];
    let out = describe(&cm, &events, &[], NOW);
    let first = out.find("First").unwrap_or(usize::MAX);
    let second = out.find("Second").unwrap_or(usize::MAX);
    let third = out.find("Third").unwrap_or(usize::MAX);
    assert!(first < second && second < third, "{out}");
}
