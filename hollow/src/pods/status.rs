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

fn running_container(view: &PodView, c: &Container, at: &str, ready: bool) -> Value {
    json!({
        "name": c.name, "image": c.image, "imageID": image_id(c),
        "containerID": container_id(view, c),
        "ready": ready, "started": true, "restartCount": 0,
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

/// ContainersReady and Ready, worded like the kubelet's. Going Ready sets reason and message
/// to null: conditions merge by type, so stale not-ready wording would otherwise stay.
fn readiness_conditions(view: &PodView, ready: bool, at: &str) -> [Value; 2] {
    let (status, reason, message) = if ready {
        ("True", Value::Null, Value::Null)
    } else {
        let names: Vec<&str> = view.containers.iter().map(|c| c.name.as_str()).collect();
        (
            "False",
            json!("ContainersNotReady"),
            json!(format!(
                "containers with unready status: [{}]",
                names.join(" ")
            )),
        )
    };
    let c = |type_: &str| {
        json!({"type": type_, "status": status, "reason": reason, "message": message,
               "lastTransitionTime": at})
    };
    [c("ContainersReady"), c("Ready")]
}

/// Container and init container statuses of a pod running since `since`. The API server
/// replaces these lists whole, so every readiness change rewrites all of them.
fn running_statuses(view: &PodView, since: &str, ready: bool) -> (Vec<Value>, Vec<Value>) {
    let containers = view
        .containers
        .iter()
        .map(|c| running_container(view, c, since, ready))
        .collect();
    let inits = view
        .init_containers
        .iter()
        .map(|c| {
            if c.sidecar {
                running_container(view, c, since, ready)
            } else {
                terminated_container(view, c, 0, since, since)
            }
        })
        .collect();
    (containers, inits)
}

/// Every container started (ready unless the ready annotation says otherwise); init
/// containers completed (sidecars running).
pub fn running(view: &PodView, host_ip: Ipv4Addr, pod_ip: Ipv4Addr, now: Timestamp) -> Value {
    let at = clock::time(now);
    let mut conditions = vec![
        condition("PodReadyToStartContainers", "True", None, &at),
        condition("Initialized", "True", None, &at),
    ];
    conditions.extend(readiness_conditions(view, view.want_ready, &at));
    if !view.has_scheduled_condition {
        conditions.push(condition("PodScheduled", "True", None, &at));
    }
    let (containers, inits) = running_statuses(view, &at, view.want_ready);
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

/// A running pod's readiness flips (the ready annotation changed).
pub fn readiness(view: &PodView, ready: bool, started: Timestamp, now: Timestamp) -> Value {
    let (since, at) = (clock::time(started), clock::time(now));
    let (containers, inits) = running_statuses(view, &since, ready);
    let mut status = json!({
        "conditions": readiness_conditions(view, ready, &at),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pods::view::Phase;

    fn view(want_ready: bool) -> PodView {
        let c = |name: &str, sidecar| Container {
            name: name.into(),
            image: "img".into(),
            sidecar,
        };
        PodView {
            namespace: "default".into(),
            name: "p".into(),
            uid: "u".into(),
            node: 0,
            phase: Phase::Pending,
            deleting: false,
            host_network: false,
            containers: vec![c("app", false), c("side", false)],
            init_containers: vec![c("setup", false), c("proxy", true)],
            exit: None,
            start_time: None,
            pod_ip: None,
            has_scheduled_condition: false,
            want_ready,
            ready: false,
        }
    }

    fn condition<'a>(patch: &'a Value, type_: &str) -> &'a Value {
        let conditions = patch["status"]["conditions"].as_array();
        conditions
            .and_then(|c| c.iter().find(|c| c["type"] == type_))
            .unwrap_or(&Value::Null)
    }

    #[test]
    fn running_follows_the_ready_annotation() {
        let ip = Ipv4Addr::new(10, 64, 0, 2);
        let now = clock::now();
        let ready = running(&view(true), ip, ip, now);
        assert_eq!(condition(&ready, "Ready")["status"], "True");
        assert_eq!(ready["status"]["containerStatuses"][0]["ready"], true);

        let held = running(&view(false), ip, ip, now);
        assert_eq!(held["status"]["phase"], "Running");
        assert_eq!(condition(&held, "Initialized")["status"], "True");
        for t in ["ContainersReady", "Ready"] {
            let c = condition(&held, t);
            assert_eq!(c["status"], "False", "{t}");
            assert_eq!(c["reason"], "ContainersNotReady");
            assert_eq!(c["message"], "containers with unready status: [app side]");
        }
        assert_eq!(held["status"]["containerStatuses"][1]["ready"], false);
        assert_eq!(held["status"]["initContainerStatuses"][1]["ready"], false);
    }

    #[test]
    fn readiness_rewrites_conditions_and_every_container_status() {
        let started = clock::now();
        let patch = readiness(&view(true), true, started, clock::now());
        assert_eq!(patch["metadata"]["uid"], "u");
        assert!(patch["status"].get("phase").is_none());
        let ready = condition(&patch, "Ready");
        assert_eq!(ready["status"], "True");
        // Null removes the not-ready wording the merge would otherwise keep.
        assert!(ready["reason"].is_null() && ready.get("reason").is_some());
        let containers = patch["status"]["containerStatuses"].as_array();
        assert_eq!(containers.map(Vec::len), Some(2));
        let app = &patch["status"]["containerStatuses"][0];
        assert_eq!(app["ready"], true);
        assert_eq!(
            app["state"]["running"]["startedAt"],
            json!(clock::time(started))
        );
        let inits = &patch["status"]["initContainerStatuses"];
        assert_eq!(inits[0]["state"]["terminated"]["exitCode"], 0);
        assert_eq!(inits[1]["ready"], true);

        let patch = readiness(&view(false), false, started, clock::now());
        assert_eq!(condition(&patch, "ContainersReady")["status"], "False");
        assert_eq!(patch["status"]["containerStatuses"][0]["ready"], false);
    }
}
