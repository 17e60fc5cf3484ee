//! Shared fixtures: the document from the Kubernetes "JSONPath Support" page, and small but
//! realistic pod and node lists.
#![allow(dead_code)]

use capstan_jsonpath::Template;
use serde_json::{Value, json};

/// The input document used throughout the Kubernetes "JSONPath Support" page.
pub fn docs_input() -> Value {
    json!({
      "kind": "List",
      "items": [
        {
          "kind": "None",
          "metadata": {
            "name": "127.0.0.1",
            "labels": {"kubernetes.io/hostname": "127.0.0.1"}
          },
          "status": {
            "capacity": {"cpu": "4"},
            "addresses": [{"type": "LegacyHostIP", "address": "127.0.0.1"}]
          }
        },
        {
          "kind": "None",
          "metadata": {"name": "127.0.0.2"},
          "status": {
            "capacity": {"cpu": "8"},
            "addresses": [
              {"type": "LegacyHostIP", "address": "127.0.0.2"},
              {"type": "another", "address": "127.0.0.3"}
            ]
          }
        }
      ],
      "users": [
        {"name": "myself", "user": {}},
        {"name": "e2e", "user": {"username": "admin", "password": "secret"}}
      ]
    })
}

fn pod(
    name: &str,
    app: &str,
    phase: &str,
    ready: &str,
    restarts: i64,
    ip: Option<&str>,
    start: &str,
) -> Value {
    let mut status = json!({
        "phase": phase,
        "conditions": [
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": ready},
            {"type": "PodScheduled", "status": "True"}
        ],
        "containerStatuses": [
            {"name": "main", "ready": ready == "True", "restartCount": restarts, "image": format!("registry.local/{app}:1.0")}
        ],
        "startTime": start
    });
    if let (Some(ip), Some(map)) = (ip, status.as_object_mut()) {
        map.insert("podIP".to_string(), json!(ip));
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "default",
            "labels": {"app.kubernetes.io/name": app, "tier": "backend"}
        },
        "spec": {
            "nodeName": "node-a",
            "containers": [
                {"name": "main", "image": format!("registry.local/{app}:1.0"), "ports": [{"containerPort": 8080}]},
                {"name": "sidecar", "image": "registry.local/proxy:2.1"}
            ]
        },
        "status": status
    })
}

/// Three pods: one running, one pending without an IP, one running but not ready.
pub fn pod_list() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": [
            pod("web-7d9f", "web", "Running", "True", 0, Some("10.0.0.5"), "2024-05-01T10:00:00Z"),
            pod("db-0", "db", "Pending", "False", 12, None, "2024-04-30T08:30:00Z"),
            pod("cache-x2", "cache", "Running", "False", 3, Some("10.0.0.7"), "2024-05-02T00:00:00Z")
        ]
    })
}

/// A node with `cpu` and `memory` capacity, an internal IP and a Ready condition.
fn node(name: &str, cpu: &str, memory: &str, ip: &str, ready: bool) -> Value {
    let (status, reason) = if ready {
        ("True", "KubeletReady")
    } else {
        ("False", "KubeletNotReady")
    };
    json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {
            "capacity": {"cpu": cpu, "memory": memory, "pods": "110"},
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "Hostname", "address": name}
            ],
            "conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": status, "reason": reason}
            ]
        }
    })
}

/// Two nodes: node-a ready and larger, node-b not ready.
pub fn node_list() -> Value {
    json!({
        "kind": "List",
        "items": [
            node("node-a", "8", "16Gi", "192.168.1.10", true),
            node("node-b", "4", "8Gi", "192.168.1.11", false)
        ]
    })
}

/// Parses and renders with missing keys allowed (kubectl's default), panicking on errors.
pub fn render(template: &str, data: &Value) -> String {
    let parsed = Template::parse(template).unwrap_or_else(|e| panic!("parse {template:?}: {e}"));
    parsed
        .render(data, true)
        .unwrap_or_else(|e| panic!("render {template:?}: {e}"))
}

/// The error message of parsing or rendering (missing keys allowed unless `strict`).
pub fn error(template: &str, data: &Value, strict: bool) -> String {
    match Template::parse(template) {
        Err(e) => e.to_string(),
        Ok(parsed) => match parsed.render(data, !strict) {
            Ok(out) => panic!("{template:?} unexpectedly rendered {out:?}"),
            Err(e) => e.to_string(),
        },
    }
}
