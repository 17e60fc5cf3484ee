//! Pod rows: readiness, the status summary, restarts and wide columns.

use serde_json::{Value, json};

use super::{ago, cells, meta};

fn pod(spec: Value, status: Value) -> Value {
    json!({"metadata": meta("web-0", 300), "spec": spec, "status": status})
}

fn one_container() -> Value {
    json!({"containers": [{"name": "app", "image": "nginx"}], "nodeName": "node-1"})
}

#[test]
fn running_pod_wide() {
    let row = cells(
        "",
        "Pod",
        pod(
            one_container(),
            json!({
                "phase": "Running",
                "podIP": "10.0.0.5",
                "podIPs": [{"ip": "10.0.0.5"}, {"ip": "fd00::5"}],
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{
                    "name": "app", "ready": true, "restartCount": 0,
                    "state": {"running": {"startedAt": ago(290)}}
                }]
            }),
        ),
    );
    assert_eq!(
        row,
        [
            json!("web-0"),
            json!("1/1"),
            json!("Running"),
            json!("0"),
            json!("5m"),
            json!("10.0.0.5"),
            json!("node-1"),
            json!("<none>"),
            json!("<none>")
        ]
    );
}

#[test]
fn pending_pod_without_statuses() {
    let row = cells(
        "",
        "Pod",
        json!({"metadata": meta("p", 5), "spec": {"containers": [{"name": "a"}, {"name": "b"}]}, "status": {"phase": "Pending"}}),
    );
    assert_eq!(
        &row[1..],
        [
            json!("0/2"),
            json!("Pending"),
            json!("0"),
            json!("5s"),
            json!("<none>"),
            json!("<none>"),
            json!("<none>"),
            json!("<none>")
        ]
    );
    // Nothing at all still prints upstream's zero values.
    assert_eq!(
        cells("", "Pod", json!({})),
        [
            json!(""),
            json!("0/0"),
            json!("Pending"),
            json!("0"),
            json!("<unknown>"),
            json!("<none>"),
            json!("<none>"),
            json!("<none>"),
            json!("<none>")
        ]
    );
}

#[test]
fn waiting_and_crashing_pods() {
    let creating = pod(
        one_container(),
        json!({"phase": "Pending", "containerStatuses": [{
            "name": "app", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ContainerCreating"}}
        }]}),
    );
    assert_eq!(cells("", "Pod", creating)[2], "ContainerCreating");

    let crashing = pod(
        one_container(),
        json!({"phase": "Running", "containerStatuses": [{
            "name": "app", "ready": false, "restartCount": 5,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(300)}}
        }]}),
    );
    let row = cells("", "Pod", crashing);
    assert_eq!(
        (&row[1], &row[2], &row[3]),
        (
            &json!("0/1"),
            &json!("CrashLoopBackOff"),
            &json!("5 (5m ago)")
        )
    );

    // Without a known termination time the suffix is left off.
    let restarted = pod(
        one_container(),
        json!({"phase": "Running", "containerStatuses": [{
            "name": "app", "ready": true, "restartCount": 2, "state": {"running": {}}
        }]}),
    );
    assert_eq!(cells("", "Pod", restarted)[3], "2");
}

#[test]
fn terminated_pods() {
    let completed = pod(
        one_container(),
        json!({"phase": "Succeeded", "containerStatuses": [{
            "name": "app", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}
        }]}),
    );
    assert_eq!(
        cells("", "Pod", completed)[1..3],
        [json!("0/1"), json!("Completed")]
    );

    let exit_code = pod(
        one_container(),
        json!({"phase": "Failed", "containerStatuses": [{
            "name": "app", "state": {"terminated": {"exitCode": 137}}
        }]}),
    );
    assert_eq!(cells("", "Pod", exit_code)[2], "ExitCode:137");

    let signal = pod(
        one_container(),
        json!({"phase": "Failed", "containerStatuses": [{
            "name": "app", "state": {"terminated": {"exitCode": 0, "signal": 9}}
        }]}),
    );
    assert_eq!(cells("", "Pod", signal)[2], "Signal:9");

    let evicted = pod(
        one_container(),
        json!({"phase": "Failed", "reason": "Evicted"}),
    );
    assert_eq!(cells("", "Pod", evicted)[2], "Evicted");
}

#[test]
fn completed_container_beside_running_one() {
    let spec = json!({"containers": [{"name": "a"}, {"name": "b"}]});
    let statuses = json!([
        {"name": "a", "ready": false, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
        {"name": "b", "ready": true, "state": {"running": {}}}
    ]);
    let ready = pod(
        spec.clone(),
        json!({"phase": "Running", "containerStatuses": statuses,
               "conditions": [{"type": "Ready", "status": "True"}]}),
    );
    assert_eq!(
        cells("", "Pod", ready)[1..3],
        [json!("1/2"), json!("Running")]
    );
    let not_ready = pod(
        spec,
        json!({"phase": "Running", "containerStatuses": statuses}),
    );
    assert_eq!(cells("", "Pod", not_ready)[2], "NotReady");
}

#[test]
fn initializing_pods() {
    let spec = json!({
        "initContainers": [{"name": "migrate"}, {"name": "seed"}],
        "containers": [{"name": "app"}]
    });
    let waiting = pod(
        spec.clone(),
        json!({"phase": "Pending",
            "initContainerStatuses": [
                {"name": "migrate", "restartCount": 0, "state": {"running": {}}},
                {"name": "seed", "state": {"waiting": {"reason": "PodInitializing"}}}
            ],
            "containerStatuses": [{"name": "app", "state": {"waiting": {"reason": "PodInitializing"}}}]
        }),
    );
    assert_eq!(
        cells("", "Pod", waiting)[1..4],
        [json!("0/1"), json!("Init:0/2"), json!("0")]
    );

    let second = pod(
        spec.clone(),
        json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "migrate", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            {"name": "seed", "state": {"waiting": {"reason": "PodInitializing"}}}
        ]}),
    );
    assert_eq!(cells("", "Pod", second)[2], "Init:1/2");

    let crashing = pod(
        spec.clone(),
        json!({"phase": "Pending", "initContainerStatuses": [{
            "name": "migrate", "restartCount": 3,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(40)}}
        }]}),
    );
    assert_eq!(
        cells("", "Pod", crashing)[2..4],
        [json!("Init:CrashLoopBackOff"), json!("3 (40s ago)")]
    );

    let failed = pod(
        spec.clone(),
        json!({"phase": "Failed", "initContainerStatuses": [{
            "name": "migrate", "state": {"terminated": {"exitCode": 2, "reason": "Error"}}
        }]}),
    );
    assert_eq!(cells("", "Pod", failed)[2], "Init:Error");

    let no_reason = pod(
        spec,
        json!({"phase": "Failed", "initContainerStatuses": [{
            "name": "migrate", "state": {"terminated": {"exitCode": 2}}
        }]}),
    );
    assert_eq!(cells("", "Pod", no_reason)[2], "Init:ExitCode:2");
}

#[test]
fn sidecar_init_containers_count_as_containers() {
    let spec = json!({
        "initContainers": [{"name": "proxy", "restartPolicy": "Always"}],
        "containers": [{"name": "app"}]
    });
    let row = cells(
        "",
        "Pod",
        pod(
            spec,
            json!({"phase": "Running",
                "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
                "initContainerStatuses": [{
                    "name": "proxy", "started": true, "ready": true, "restartCount": 1,
                    "state": {"running": {}},
                    "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(3 * 3600)}}
                }],
                "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}}]
            }),
        ),
    );
    assert_eq!(
        row[1..4],
        [json!("2/2"), json!("Running"), json!("1 (3h ago)")]
    );
}

#[test]
fn deleted_pods() {
    let mut running = pod(
        one_container(),
        json!({"phase": "Running", "containerStatuses": [{"name": "app", "ready": true, "state": {"running": {}}}]}),
    );
    running["metadata"]["deletionTimestamp"] = json!(ago(1));
    assert_eq!(cells("", "Pod", running.clone())[2], "Terminating");

    let mut lost = running.clone();
    lost["status"]["reason"] = json!("NodeLost");
    assert_eq!(cells("", "Pod", lost)[2], "Unknown");

    // Terminal pods keep their final status while being deleted.
    let mut done = pod(
        one_container(),
        json!({"phase": "Succeeded", "containerStatuses": [{"name": "app", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
    );
    done["metadata"]["deletionTimestamp"] = json!(ago(1));
    assert_eq!(cells("", "Pod", done)[2], "Completed");
}

#[test]
fn gated_pod_and_readiness_gates() {
    let row = cells(
        "",
        "Pod",
        pod(
            json!({"containers": [{"name": "app"}],
                   "readinessGates": [{"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}]}),
            json!({"phase": "Pending",
            "nominatedNodeName": "node-2",
            "podIP": "10.1.1.1",
            "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"},
                {"type": "example.com/lb", "status": "True"},
                {"type": "example.com/dns", "status": "False"}
            ]}),
        ),
    );
    assert_eq!(row[2], "SchedulingGated");
    // podIP alone counts, as converting from v1 fills podIPs from it.
    assert_eq!(
        row[5..],
        [
            json!("10.1.1.1"),
            json!("<none>"),
            json!("node-2"),
            json!("1/2")
        ]
    );
}
