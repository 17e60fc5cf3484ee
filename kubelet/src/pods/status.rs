//! The pod status the kubelet reports: phase, conditions and one status per container,
//! derived from the checkpointed state with Kubernetes' rules.

use k8s_openapi::api::core::v1::{Container, Pod};
use serde_json::{Value, json};

use super::state::{ContainerState, Exit, PodState};

pub fn restart_policy(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Always")
}

/// Whether a container that ended with `code` runs again under the pod's restart policy.
pub fn restarts(policy: &str, code: i32) -> bool {
    match policy {
        "Never" => false,
        "OnFailure" => code != 0,
        _ => true,
    }
}

fn terminated(e: &Exit) -> Value {
    let mut t = json!({
        "exitCode": e.exit_code,
        "reason": e.reason,
        "startedAt": e.started_at,
        "finishedAt": e.finished_at,
        "containerID": format!("capstan://{}", e.container_id),
    });
    if let Some(s) = e.signal {
        t["signal"] = json!(s);
    }
    if let Some(m) = e.message.as_ref().filter(|m| !m.is_empty()) {
        t["message"] = json!(m);
    }
    json!({"terminated": t})
}

pub fn container_status(c: &Container, cs: Option<&ContainerState>, default_wait: &str) -> Value {
    let empty = ContainerState::default();
    let cs = cs.unwrap_or(&empty);
    let (state, last) = if let Some(r) = &cs.running {
        (
            json!({"running": {"startedAt": r.started_at}}),
            cs.last_exit.as_ref().map(terminated),
        )
    } else if let Some(w) = &cs.waiting {
        let mut wv = json!({"reason": w.reason});
        if let Some(m) = &w.message {
            wv["message"] = json!(m);
        }
        (
            json!({"waiting": wv}),
            cs.last_exit.as_ref().map(terminated),
        )
    } else if let Some(e) = &cs.last_exit {
        (terminated(e), cs.prev_exit.as_ref().map(terminated))
    } else {
        (json!({"waiting": {"reason": default_wait}}), None)
    };
    let current = cs.running.as_ref().map(|r| (&r.id, &r.image_id)).or(cs
        .last_exit
        .as_ref()
        .map(|e| (&e.container_id, &e.image_id)));
    let mut v = json!({
        "name": c.name,
        "image": c.image.clone().unwrap_or_default(),
        "imageID": current.map(|(_, i)| i.clone()).unwrap_or_default(),
        "ready": cs.running.is_some() && cs.ready,
        "started": cs.running.is_some() && cs.started,
        "restartCount": cs.restart_count,
        "state": state,
        "lastState": last.unwrap_or_else(|| json!({})),
    });
    if let Some((id, _)) = current {
        v["containerID"] = json!(format!("capstan://{id}"));
    }
    v
}

pub struct Phase {
    pub phase: &'static str,
    pub reason: Option<String>,
    pub message: Option<String>,
}

pub fn phase(pod: &Pod, st: &PodState) -> Phase {
    if let Some((reason, message)) = &st.rejected {
        return Phase {
            phase: "Failed",
            reason: Some(reason.clone()),
            message: Some(message.clone()),
        };
    }
    let Some(spec) = pod.spec.as_ref() else {
        return Phase {
            phase: "Pending",
            reason: None,
            message: None,
        };
    };
    let policy = restart_policy(pod);
    let init_failed = spec.init_containers.iter().flatten().any(|c| {
        st.containers
            .get(&c.name)
            .is_some_and(|cs| cs.done && cs.last_exit.as_ref().is_some_and(|e| e.exit_code != 0))
    });
    if init_failed && policy == "Never" {
        return Phase {
            phase: "Failed",
            reason: None,
            message: None,
        };
    }
    if !st.initialized {
        return Phase {
            phase: "Pending",
            reason: None,
            message: None,
        };
    }
    let states: Vec<Option<&ContainerState>> = spec
        .containers
        .iter()
        .map(|c| st.containers.get(&c.name))
        .collect();
    if states.iter().any(|s| s.is_none_or(|s| s.attempts == 0)) {
        return Phase {
            phase: "Pending",
            reason: None,
            message: None,
        };
    }
    let all_done = states
        .iter()
        .flatten()
        .all(|s| s.done && s.running.is_none());
    if all_done {
        let ok = states
            .iter()
            .flatten()
            .all(|s| s.last_exit.as_ref().is_some_and(|e| e.exit_code == 0));
        return Phase {
            phase: if ok { "Succeeded" } else { "Failed" },
            reason: None,
            message: None,
        };
    }
    Phase {
        phase: "Running",
        reason: None,
        message: None,
    }
}

fn condition(kind: &str, ok: bool, since: &str, reason: Option<&str>) -> Value {
    let mut c = json!({
        "type": kind,
        "status": if ok { "True" } else { "False" },
        "lastProbeTime": null,
        "lastTransitionTime": since,
    });
    if let Some(r) = reason.filter(|_| !ok) {
        c["reason"] = json!(r);
    }
    c
}

/// The whole `status` object.
pub fn build(pod: &Pod, st: &PodState, host_ip: &str, pod_ip: Option<&str>) -> Value {
    let p = phase(pod, st);
    let spec = pod.spec.clone().unwrap_or_default();
    let init_statuses: Vec<Value> = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| container_status(c, st.containers.get(&c.name), "PodInitializing"))
        .collect();
    let wait = if st.initialized {
        "ContainerCreating"
    } else {
        "PodInitializing"
    };
    let statuses: Vec<Value> = spec
        .containers
        .iter()
        .map(|c| container_status(c, st.containers.get(&c.name), wait))
        .collect();
    let all_ready = spec.containers.iter().all(|c| {
        st.containers
            .get(&c.name)
            .is_some_and(|cs| cs.running.is_some() && cs.ready)
    });
    let terminal = matches!(p.phase, "Succeeded" | "Failed");
    let ready = all_ready && !terminal;
    let start = st
        .start_time
        .clone()
        .unwrap_or_else(super::state::rfc3339_now);
    let ready_since = st.ready_since.clone().unwrap_or_else(|| start.clone());
    let scheduled = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled"))
        .and_then(|c| serde_json::to_value(c).ok())
        .unwrap_or_else(|| condition("PodScheduled", true, &start, None));
    let init_since = st.initialized_at.clone().unwrap_or_else(|| start.clone());
    let mut conditions = vec![
        condition(
            "PodReadyToStartContainers",
            st.rejected.is_none(),
            &start,
            None,
        ),
        condition(
            "Initialized",
            st.initialized,
            &init_since,
            Some("ContainersNotInitialized"),
        ),
        condition("Ready", ready, &ready_since, Some("ContainersNotReady")),
        condition(
            "ContainersReady",
            ready,
            &ready_since,
            Some("ContainersNotReady"),
        ),
        scheduled,
    ];
    if st.rejected.is_some() {
        conditions.truncate(0);
        conditions.push(
            pod.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled"))
                .and_then(|c| serde_json::to_value(c).ok())
                .unwrap_or_else(|| condition("PodScheduled", true, &start, None)),
        );
    }
    let mut status = json!({
        "phase": p.phase,
        "conditions": conditions,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "startTime": start,
        "containerStatuses": statuses,
    });
    if !init_statuses.is_empty() {
        status["initContainerStatuses"] = Value::Array(init_statuses);
    }
    if let Some(ip) = pod_ip {
        status["podIP"] = json!(ip);
        status["podIPs"] = json!([{"ip": ip}]);
    }
    if let Some(r) = p.reason {
        status["reason"] = json!(r);
    }
    if let Some(m) = p.message {
        status["message"] = json!(m);
    }
    if let Some(q) = pod.status.as_ref().and_then(|s| s.qos_class.clone()) {
        status["qosClass"] = json!(q);
    }
    status
}
