//! Rows for the core group: namespaces, nodes, pods, services, endpoints,
//! config maps, secrets, service accounts, events and persistent volumes.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{
    Nanos, ZERO_TIME, access_modes, age, arr_at, count, format_labels, human_age, int_at,
    list_with_more, map_at, map_len, name, present, scalar_string, str_at, str_or, string_label,
    time_at,
};

/// Pods whose node stopped reporting get this status reason from the node
/// lifecycle controller; upstream prints such pods as "Unknown" once deleted.
const NODE_UNREACHABLE_REASON: &str = "NodeLost";

/// The legacy annotation that overrides `storageClassName` when present.
const BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

pub(super) fn namespace(obj: &Value, now: Nanos) -> Vec<Value> {
    vec![
        name(obj),
        str_or(obj, "/status/phase", "Active").into(),
        age(obj, now),
    ]
}

pub(super) fn node(obj: &Value, now: Nanos) -> Vec<Value> {
    // Only the Ready condition is summarised; the last one listed wins, as
    // upstream collects conditions into a map by type.
    let ready = arr_at(obj, "/status/conditions")
        .iter()
        .rev()
        .find(|c| str_at(c, "/type") == "Ready");
    let mut status = vec![match ready {
        Some(c) if str_at(c, "/status") == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if obj.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled");
    }

    let mut roles = BTreeSet::new();
    for (key, value) in map_at(obj, "/metadata/labels").into_iter().flatten() {
        if let Some(role) = key.strip_prefix("node-role.kubernetes.io/") {
            if !role.is_empty() {
                roles.insert(role.to_string());
            }
        } else if key == "kubernetes.io/role"
            && let Some(role) = value.as_str().filter(|r| !r.is_empty())
        {
            roles.insert(role.to_string());
        }
    }
    let roles = if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.into_iter().collect::<Vec<_>>().join(",")
    };

    let address = |kind: &str| {
        arr_at(obj, "/status/addresses")
            .iter()
            .find(|a| str_at(a, "/type") == kind)
            .map_or("<none>", |a| str_at(a, "/address"))
    };
    let info = |field: &str| str_or(obj, &format!("/status/nodeInfo/{field}"), "<unknown>");
    vec![
        name(obj),
        status.join(",").into(),
        roles.into(),
        age(obj, now),
        str_at(obj, "/status/nodeInfo/kubeletVersion").into(),
        address("InternalIP").into(),
        address("ExternalIP").into(),
        info("osImage").into(),
        info("kernelVersion").into(),
        info("containerRuntimeVersion").into(),
    ]
}

fn condition_true(obj: &Value, kind: &str) -> bool {
    arr_at(obj, "/status/conditions")
        .iter()
        .find(|c| str_at(c, "/type") == kind)
        .is_some_and(|c| str_at(c, "/status") == "True")
}

/// The state object (`waiting`, `running`, `terminated`) a container status
/// is in, if that state is set.
fn state<'a>(status: &'a Value, which: &str) -> Option<&'a Value> {
    status.get("state")?.get(which).filter(|v| v.is_object())
}

/// When the container last terminated, if it ever did.
fn last_terminated(status: &Value) -> Option<Nanos> {
    let terminated = status.pointer("/lastState/terminated")?;
    terminated
        .is_object()
        .then(|| time_at(terminated, "/finishedAt"))
}

/// The reason shown for a terminated container that reported none.
fn exit_description(terminated: &Value) -> String {
    match int_at(terminated, "/signal").unwrap_or(0) {
        0 => format!("ExitCode:{}", int_at(terminated, "/exitCode").unwrap_or(0)),
        signal => format!("Signal:{signal}"),
    }
}

pub(super) fn pod(obj: &Value, now: Nanos) -> Vec<Value> {
    let containers = arr_at(obj, "/spec/containers");
    let init_containers = arr_at(obj, "/spec/initContainers");
    let is_sidecar = |c: &Value| str_at(c, "/restartPolicy") == "Always";
    let sidecar_named = |name: &str| {
        init_containers
            .iter()
            .rev()
            .find(|c| str_at(c, "/name") == name)
            .is_some_and(is_sidecar)
    };

    let mut restarts: i64 = 0;
    let mut sidecar_restarts: i64 = 0;
    let total = containers.len() + init_containers.iter().filter(|c| is_sidecar(c)).count();
    let mut ready: usize = 0;
    let mut last_restart = ZERO_TIME;
    let mut last_sidecar_restart = ZERO_TIME;

    let phase = str_or(obj, "/status/phase", "Pending");
    let mut reason = str_or(obj, "/status/reason", phase).to_string();
    let gated = arr_at(obj, "/status/conditions")
        .iter()
        .any(|c| str_at(c, "/type") == "PodScheduled" && str_at(c, "/reason") == "SchedulingGated");
    if gated {
        reason = "SchedulingGated".into();
    }

    // Init containers run in order, so the first one not yet done explains
    // the pod's state; sidecars (restartable init containers) count as done
    // once started.
    let mut initializing = false;
    let init_statuses = arr_at(obj, "/status/initContainerStatuses");
    for (i, status) in init_statuses.iter().enumerate() {
        let restart_count = int_at(status, "/restartCount").unwrap_or(0);
        restarts += restart_count;
        let terminated_at = last_terminated(status);
        if let Some(t) = terminated_at {
            last_restart = last_restart.max(t);
        }
        let sidecar = sidecar_named(str_at(status, "/name"));
        if sidecar {
            sidecar_restarts += restart_count;
            if let Some(t) = terminated_at {
                last_sidecar_restart = last_sidecar_restart.max(t);
            }
        }

        let terminated = state(status, "terminated");
        if terminated.is_some_and(|t| int_at(t, "/exitCode").unwrap_or(0) == 0) {
            continue;
        }
        if sidecar && status.get("started").and_then(Value::as_bool) == Some(true) {
            if status.get("ready").and_then(Value::as_bool) == Some(true) {
                ready += 1;
            }
            continue;
        }
        let waiting_reason = state(status, "waiting").map_or("", |w| str_at(w, "/reason"));
        reason = if let Some(t) = terminated {
            match str_at(t, "/reason") {
                "" => format!("Init:{}", exit_description(t)),
                r => format!("Init:{r}"),
            }
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{i}/{}", init_containers.len())
        };
        initializing = true;
        break;
    }

    if !initializing || condition_true(obj, "Initialized") {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        // Walked backwards so the first container's state, reported last,
        // determines the status shown.
        for status in arr_at(obj, "/status/containerStatuses").iter().rev() {
            restarts += int_at(status, "/restartCount").unwrap_or(0);
            if let Some(t) = last_terminated(status) {
                last_restart = last_restart.max(t);
            }
            let waiting_reason = state(status, "waiting").map_or("", |w| str_at(w, "/reason"));
            let terminated = state(status, "terminated");
            if !waiting_reason.is_empty() {
                reason = waiting_reason.into();
            } else if let Some(t) = terminated {
                reason = match str_at(t, "/reason") {
                    "" => exit_description(t),
                    r => r.into(),
                };
            } else if status.get("ready").and_then(Value::as_bool) == Some(true)
                && state(status, "running").is_some()
            {
                has_running = true;
                ready += 1;
            }
        }
        // One finished container must not hide others that still run.
        if reason == "Completed" && has_running {
            reason = if condition_true(obj, "Ready") {
                "Running"
            } else {
                "NotReady"
            }
            .into();
        }
    }

    if present(obj, "/metadata/deletionTimestamp") {
        if str_at(obj, "/status/reason") == NODE_UNREACHABLE_REASON {
            reason = "Unknown".into();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".into();
        }
    }

    let restarts = if restarts != 0 && last_restart != ZERO_TIME {
        format!("{restarts} ({} ago)", human_age(last_restart, now))
    } else {
        restarts.to_string()
    };

    // Internal objects carry only podIPs; converting from v1 fills it from
    // podIP when the list is empty.
    let ip = match arr_at(obj, "/status/podIPs").first() {
        Some(first) => str_at(first, "/ip"),
        None => str_at(obj, "/status/podIP"),
    };
    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_string()
        } else {
            s.to_string()
        }
    };
    let gates = arr_at(obj, "/spec/readinessGates");
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let passed = gates
            .iter()
            .filter(|g| condition_true(obj, str_at(g, "/conditionType")))
            .count();
        format!("{passed}/{}", gates.len())
    };

    vec![
        name(obj),
        format!("{ready}/{total}").into(),
        reason.into(),
        restarts.into(),
        age(obj, now),
        or_none(ip).into(),
        or_none(str_at(obj, "/spec/nodeName")).into(),
        or_none(str_at(obj, "/status/nominatedNodeName")).into(),
        readiness_gates.into(),
    ]
}

pub(super) fn service(obj: &Value, now: Nanos) -> Vec<Value> {
    let svc_type = str_or(obj, "/spec/type", "ClusterIP");
    // Like podIPs, clusterIPs is what internal objects carry; v1 objects
    // written before dual-stack may only have clusterIP.
    let cluster_ip = match arr_at(obj, "/spec/clusterIPs").first() {
        Some(ip) => ip.as_str().unwrap_or(""),
        None => str_or(obj, "/spec/clusterIP", "<none>"),
    };
    let external_ips: Vec<&str> = arr_at(obj, "/spec/externalIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let external_ip = match svc_type {
        "ClusterIP" | "NodePort" if external_ips.is_empty() => "<none>".to_string(),
        "ClusterIP" | "NodePort" => external_ips.join(","),
        "LoadBalancer" => {
            // Sorted and de-duplicated, and not truncated: the server always
            // renders the wide form.
            let ingress: BTreeSet<&str> = arr_at(obj, "/status/loadBalancer/ingress")
                .iter()
                .map(|i| str_or(i, "/ip", str_at(i, "/hostname")))
                .filter(|s| !s.is_empty())
                .collect();
            let mut all: Vec<&str> = ingress.into_iter().collect();
            all.extend(&external_ips);
            if all.is_empty() {
                "<pending>".to_string()
            } else {
                all.join(",")
            }
        }
        "ExternalName" => str_at(obj, "/spec/externalName").to_string(),
        _ => "<unknown>".to_string(),
    };
    let ports: Vec<String> = arr_at(obj, "/spec/ports")
        .iter()
        .map(|p| {
            let port = int_at(p, "/port").unwrap_or(0);
            let protocol = str_or(p, "/protocol", "TCP");
            match int_at(p, "/nodePort").unwrap_or(0) {
                n if n > 0 => format!("{port}:{n}/{protocol}"),
                _ => format!("{port}/{protocol}"),
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        "<none>".to_string()
    } else {
        ports.join(",")
    };
    vec![
        name(obj),
        svc_type.into(),
        cluster_ip.into(),
        external_ip.into(),
        ports.into(),
        age(obj, now),
        format_labels(map_at(obj, "/spec/selector"), string_label).into(),
    ]
}

fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

pub(super) fn endpoints(obj: &Value, now: Nanos) -> Vec<Value> {
    let subsets = arr_at(obj, "/subsets");
    let summary = if subsets.is_empty() {
        "<none>".to_string()
    } else {
        let mut list = Vec::new();
        for subset in subsets {
            let ips = arr_at(subset, "/addresses")
                .iter()
                .map(|a| str_at(a, "/ip"));
            let ports = arr_at(subset, "/ports");
            // Headless services may publish addresses without ports.
            if ports.is_empty() {
                list.extend(ips.map(str::to_string));
            } else {
                for port in ports {
                    let port = int_at(port, "/port").unwrap_or(0);
                    list.extend(ips.clone().map(|ip| join_host_port(ip, port)));
                }
            }
        }
        list_with_more(&list, list.len())
    };
    vec![name(obj), summary.into(), age(obj, now)]
}

pub(super) fn config_map(obj: &Value, now: Nanos) -> Vec<Value> {
    let keys = map_len(obj, "/data") + map_len(obj, "/binaryData");
    vec![name(obj), count(keys), age(obj, now)]
}

pub(super) fn secret(obj: &Value, now: Nanos) -> Vec<Value> {
    // Converting to the internal form folds stringData into data.
    let keys: BTreeSet<&String> = ["/data", "/stringData"]
        .iter()
        .filter_map(|p| map_at(obj, p))
        .flat_map(|m| m.keys())
        .collect();
    vec![
        name(obj),
        str_or(obj, "/type", "Opaque").into(),
        count(keys.len()),
        age(obj, now),
    ]
}

pub(super) fn service_account(obj: &Value, now: Nanos) -> Vec<Value> {
    vec![
        name(obj),
        count(arr_at(obj, "/secrets").len()),
        age(obj, now),
    ]
}

/// The fields an event row needs, in the internal (core) shape that both
/// `v1` and `events.k8s.io/v1` events convert to upstream.
struct EventFields<'a> {
    name: Value,
    first: Nanos,
    last: Nanos,
    event_time: Nanos,
    /// `series.count` and `series.lastObservedTime`, when a series is set.
    series: Option<(i64, Nanos)>,
    count: i64,
    kind: &'a str,
    object_name: &'a str,
    field_path: &'a str,
    component: &'a str,
    host: &'a str,
    reporting_controller: &'a str,
    reporting_instance: &'a str,
    event_type: &'a str,
    reason: &'a str,
    message: &'a str,
}

fn series(obj: &Value) -> Option<(i64, Nanos)> {
    let series = obj.get("series").filter(|s| s.is_object())?;
    Some((
        int_at(series, "/count").unwrap_or(0),
        time_at(series, "/lastObservedTime"),
    ))
}

pub(super) fn core_event(obj: &Value, now: Nanos) -> Vec<Value> {
    event_row(
        EventFields {
            name: name(obj),
            first: time_at(obj, "/firstTimestamp"),
            last: time_at(obj, "/lastTimestamp"),
            event_time: time_at(obj, "/eventTime"),
            series: series(obj),
            count: int_at(obj, "/count").unwrap_or(0),
            kind: str_at(obj, "/involvedObject/kind"),
            object_name: str_at(obj, "/involvedObject/name"),
            field_path: str_at(obj, "/involvedObject/fieldPath"),
            component: str_at(obj, "/source/component"),
            host: str_at(obj, "/source/host"),
            reporting_controller: str_at(obj, "/reportingComponent"),
            reporting_instance: str_at(obj, "/reportingInstance"),
            event_type: str_at(obj, "/type"),
            reason: str_at(obj, "/reason"),
            message: str_at(obj, "/message"),
        },
        now,
    )
}

/// events.k8s.io/v1 renames most fields; they map back one to one.
pub(super) fn events_event(obj: &Value, now: Nanos) -> Vec<Value> {
    event_row(
        EventFields {
            name: name(obj),
            first: time_at(obj, "/deprecatedFirstTimestamp"),
            last: time_at(obj, "/deprecatedLastTimestamp"),
            event_time: time_at(obj, "/eventTime"),
            series: series(obj),
            count: int_at(obj, "/deprecatedCount").unwrap_or(0),
            kind: str_at(obj, "/regarding/kind"),
            object_name: str_at(obj, "/regarding/name"),
            field_path: str_at(obj, "/regarding/fieldPath"),
            component: str_at(obj, "/deprecatedSource/component"),
            host: str_at(obj, "/deprecatedSource/host"),
            reporting_controller: str_at(obj, "/reportingController"),
            reporting_instance: str_at(obj, "/reportingInstance"),
            event_type: str_at(obj, "/type"),
            reason: str_at(obj, "/reason"),
            message: str_at(obj, "/note"),
        },
        now,
    )
}

fn first_non_empty<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() { b } else { a }
}

fn event_row(e: EventFields<'_>, now: Nanos) -> Vec<Value> {
    // Events recorded through the newer API set eventTime and series rather
    // than the first/last timestamps and count.
    let first = if e.first == ZERO_TIME {
        human_age(e.event_time, now)
    } else {
        human_age(e.first, now)
    };
    let mut last = if e.last == ZERO_TIME {
        first.clone()
    } else {
        human_age(e.last, now)
    };
    let count = match e.series {
        Some((series_count, observed)) => {
            last = human_age(observed, now);
            series_count
        }
        None if e.count == 0 => 1,
        None => e.count,
    };
    let kind = e.kind.to_lowercase();
    let target = if e.object_name.is_empty() {
        kind
    } else {
        format!("{kind}/{}", e.object_name)
    };
    let component = first_non_empty(e.component, e.reporting_controller);
    let instance = first_non_empty(e.host, e.reporting_instance);
    let source = if instance.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {instance}")
    };
    vec![
        last.into(),
        e.event_type.into(),
        e.reason.into(),
        target.into(),
        e.field_path.into(),
        source.into(),
        e.message.trim().into(),
        first.into(),
        count.into(),
        e.name,
    ]
}

/// The storage class: the beta annotation when set (even to ""), else the
/// spec field.
fn storage_class(obj: &Value) -> &str {
    match map_at(obj, "/metadata/annotations").and_then(|a| a.get(BETA_STORAGE_CLASS)) {
        Some(class) => class.as_str().unwrap_or(""),
        None => str_at(obj, "/spec/storageClassName"),
    }
}

fn storage_quantity(obj: &Value, ptr: &str) -> String {
    scalar_string(obj.pointer(ptr)).unwrap_or_else(|| "0".into())
}

/// Deleted volumes and claims show "Terminating" while finalizers hold them.
fn volume_phase(obj: &Value) -> &str {
    if present(obj, "/metadata/deletionTimestamp") {
        "Terminating"
    } else {
        str_or(obj, "/status/phase", "Pending")
    }
}

pub(super) fn persistent_volume(obj: &Value, now: Nanos) -> Vec<Value> {
    let claim = if obj.pointer("/spec/claimRef").is_some_and(Value::is_object) {
        format!(
            "{}/{}",
            str_at(obj, "/spec/claimRef/namespace"),
            str_at(obj, "/spec/claimRef/name")
        )
    } else {
        String::new()
    };
    vec![
        name(obj),
        storage_quantity(obj, "/spec/capacity/storage").into(),
        access_modes(arr_at(obj, "/spec/accessModes")).into(),
        str_or(obj, "/spec/persistentVolumeReclaimPolicy", "Retain").into(),
        volume_phase(obj).into(),
        claim.into(),
        storage_class(obj).into(),
        str_or(obj, "/spec/volumeAttributesClassName", "<unset>").into(),
        str_at(obj, "/status/reason").into(),
        age(obj, now),
        str_or(obj, "/spec/volumeMode", "Filesystem").into(),
    ]
}

pub(super) fn persistent_volume_claim(obj: &Value, now: Nanos) -> Vec<Value> {
    let volume = str_at(obj, "/spec/volumeName");
    // Capacity and modes describe the bound volume, so an unbound claim
    // leaves them blank.
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (
            storage_quantity(obj, "/status/capacity/storage"),
            access_modes(arr_at(obj, "/status/accessModes")),
        )
    };
    vec![
        name(obj),
        volume_phase(obj).into(),
        volume.into(),
        capacity.into(),
        modes.into(),
        storage_class(obj).into(),
        str_or(obj, "/spec/volumeAttributesClassName", "<unset>").into(),
        age(obj, now),
        str_or(obj, "/spec/volumeMode", "Filesystem").into(),
    ]
}
