//! Pod status patches the hollow kubelet writes: running, finished (exit-after annotation) and
//! rejected at admission. Strategic merge patches, like the kubelet's: conditions merge by
//! type, so conditions other components own survive. `metadata.uid` in the patch makes the
//! API server refuse it for a newer pod that reuses the name.

use std::net::Ipv4Addr;

use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::view::{Container, PodView};
use crate::clock;

fn container_id(view: &PodView, c: &Container) -> String {
    format!("hollow://{}/{}", view.uid, c.name)
}

fn image_id(c: &Container) -> String {
    format!("hollow://image/{}", c.image)
}

fn condition(type_: &str, status: &str, reason: Option<&str>, at: &str) -> Value {
    let mut c = json!({"type": type_, "status": status, "lastTransitionTime": at});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    c
}

fn running_container(view: &PodView, c: &Container, at: &str) -> Value {
    json!({
        "name": c.name, "image": c.image, "imageID": image_id(c),
        "containerID": container_id(view, c),
        "ready": true, "started": true, "restartCount": 0,
        "state": {"running": {"startedAt": at}},
    })
}

fn terminated_container(view: &PodView, c: &Container, code: i32, from: &str, to: &str) -> Value {
    let id = container_id(view, c);
    json!({
        "name": c.name, "image": c.image, "imageID": image_id(c),
        "containerID": id,
        "ready": false, "started": false, "restartCount": 0,
        "state": {"terminated": {
            "exitCode": code,
            "reason": if code == 0 { "Completed" } else { "Error" },
            "startedAt": from, "finishedAt": to, "containerID": id,
        }},
    })
}

/// Every container started and ready; init containers completed (sidecars running).
pub fn running(view: &PodView, host_ip: Ipv4Addr, pod_ip: Ipv4Addr, now: Timestamp) -> Value {
    let at = clock::time(now);
    let mut conditions = vec![
        condition("PodReadyToStartContainers", "True", None, &at),
        condition("Initialized", "True", None, &at),
        condition("ContainersReady", "True", None, &at),
        condition("Ready", "True", None, &at),
    ];
    if !view.has_scheduled_condition {
        conditions.push(condition("PodScheduled", "True", None, &at));
    }
    let containers: Vec<Value> = view
        .containers
        .iter()
        .map(|c| running_container(view, c, &at))
        .collect();
    let inits: Vec<Value> = view
        .init_containers
        .iter()
        .map(|c| {
            if c.sidecar {
                running_container(view, c, &at)
            } else {
                terminated_container(view, c, 0, &at, &at)
            }
        })
        .collect();
    let mut status = json!({
        "phase": "Running",
        "conditions": conditions,
        "hostIP": host_ip.to_string(),
        "hostIPs": [{"ip": host_ip.to_string()}],
        "podIP": pod_ip.to_string(),
        "podIPs": [{"ip": pod_ip.to_string()}],
        "startTime": at,
        "containerStatuses": containers,
    });
    if !inits.is_empty() {
        status["initContainerStatuses"] = json!(inits);
    }
    json!({"metadata": {"uid": view.uid}, "status": status})
}

/// The containers exited with `code`: Succeeded for 0, Failed otherwise.
pub fn finished(view: &PodView, code: i32, started: Timestamp, now: Timestamp) -> Value {
    let (from, to) = (clock::time(started), clock::time(now));
    let (phase, reason) = if code == 0 {
        ("Succeeded", "PodCompleted")
    } else {
        ("Failed", "PodFailed")
    };
    let containers: Vec<Value> = view
        .containers
        .iter()
        .map(|c| terminated_container(view, c, code, &from, &to))
        .collect();
    let mut status = json!({
        "phase": phase,
        "conditions": [
            condition("PodReadyToStartContainers", "False", None, &to),
            condition("ContainersReady", "False", Some(reason), &to),
            condition("Ready", "False", Some(reason), &to),
        ],
        "containerStatuses": containers,
    });
    if view.init_containers.iter().any(|c| c.sidecar) {
        let inits: Vec<Value> = view
            .init_containers
            .iter()
            .map(|c| terminated_container(view, c, 0, &from, &to))
            .collect();
        status["initContainerStatuses"] = json!(inits);
    }
    json!({"metadata": {"uid": view.uid}, "status": status})
}

/// Admission failure, as the kubelet reports a pod bound to a full node.
pub fn rejected(view: &PodView) -> Value {
    json!({"metadata": {"uid": view.uid}, "status": {
        "phase": "Failed",
        "reason": "OutOfpods",
        "message": "Pod was rejected: Node didn't have enough resource: pods",
    }})
}
