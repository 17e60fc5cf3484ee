//! Rows for apps/v1 and batch/v1 workloads.

use serde_json::Value;

use super::{
    Nanos, age, arr_at, container_cells, count, elapsed, format_label_selector, format_labels,
    human_age, int_at, map_at, name, opt_time_at, present, selector_string, str_at, string_label,
};

fn int_or(obj: &Value, ptr: &str, default: i64) -> Value {
    int_at(obj, ptr).unwrap_or(default).into()
}

/// apps/v1 defaults an unset `spec.replicas` to one.
fn desired_replicas(obj: &Value) -> i64 {
    int_at(obj, "/spec/replicas").unwrap_or(1)
}

fn template_containers(obj: &Value) -> [Value; 2] {
    container_cells(arr_at(obj, "/spec/template/spec/containers"))
}

pub(super) fn deployment(obj: &Value, now: Nanos) -> Vec<Value> {
    let ready = int_at(obj, "/status/readyReplicas").unwrap_or(0);
    // Unlike the other workloads, a deployment's selector is printed bare:
    // empty rather than "<none>", "<invalid>" rather than "<error>".
    let selector = selector_string(obj.pointer("/spec/selector"), string_label)
        .unwrap_or_else(|_| "<invalid>".to_string());
    let [names, images] = template_containers(obj);
    vec![
        name(obj),
        format!("{ready}/{}", desired_replicas(obj)).into(),
        int_or(obj, "/status/updatedReplicas", 0),
        int_or(obj, "/status/availableReplicas", 0),
        age(obj, now),
        names,
        images,
        selector.into(),
    ]
}

pub(super) fn replica_set(obj: &Value, now: Nanos) -> Vec<Value> {
    let [names, images] = template_containers(obj);
    vec![
        name(obj),
        desired_replicas(obj).into(),
        int_or(obj, "/status/replicas", 0),
        int_or(obj, "/status/readyReplicas", 0),
        age(obj, now),
        names,
        images,
        format_label_selector(obj.pointer("/spec/selector"), string_label).into(),
    ]
}

pub(super) fn stateful_set(obj: &Value, now: Nanos) -> Vec<Value> {
    let ready = int_at(obj, "/status/readyReplicas").unwrap_or(0);
    let [names, images] = template_containers(obj);
    vec![
        name(obj),
        format!("{ready}/{}", desired_replicas(obj)).into(),
        age(obj, now),
        names,
        images,
    ]
}

pub(super) fn daemon_set(obj: &Value, now: Nanos) -> Vec<Value> {
    let [names, images] = template_containers(obj);
    vec![
        name(obj),
        int_or(obj, "/status/desiredNumberScheduled", 0),
        int_or(obj, "/status/currentNumberScheduled", 0),
        int_or(obj, "/status/numberReady", 0),
        int_or(obj, "/status/updatedNumberScheduled", 0),
        int_or(obj, "/status/numberAvailable", 0),
        format_labels(
            map_at(obj, "/spec/template/spec/nodeSelector"),
            string_label,
        )
        .into(),
        age(obj, now),
        names,
        images,
        format_label_selector(obj.pointer("/spec/selector"), string_label).into(),
    ]
}

pub(super) fn controller_revision(obj: &Value, now: Nanos) -> Vec<Value> {
    let owner = arr_at(obj, "/metadata/ownerReferences")
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true));
    let controller = match owner {
        None => "<none>".to_string(),
        Some(owner) => {
            let owner_name = str_at(owner, "/name");
            let kind = str_at(owner, "/kind");
            // The group is what precedes the "/" of apiVersion; a bare
            // version ("v1") is the core group.
            let group = str_at(owner, "/apiVersion")
                .rsplit_once('/')
                .map_or("", |(g, _)| g);
            match (group, kind) {
                ("", "") => owner_name.to_string(),
                ("", kind) => format!("{}/{owner_name}", kind.to_lowercase()),
                (group, kind) => {
                    format!("{}/{owner_name}", format!("{kind}.{group}").to_lowercase())
                }
            }
        }
    };
    vec![
        name(obj),
        controller.into(),
        int_or(obj, "/revision", 0),
        age(obj, now),
    ]
}

/// Whether the job has a condition of this type and, for the first such
/// condition, its status is True.
fn job_condition(obj: &Value, kind: &str) -> bool {
    arr_at(obj, "/status/conditions")
        .iter()
        .find(|c| str_at(c, "/type") == kind)
        .is_some_and(|c| str_at(c, "/status") == "True")
}

pub(super) fn job(obj: &Value, now: Nanos) -> Vec<Value> {
    let succeeded = int_at(obj, "/status/succeeded").unwrap_or(0);
    let completions = match int_at(obj, "/spec/completions") {
        Some(want) => format!("{succeeded}/{want}"),
        // Without completions, any one success finishes the job.
        None => match int_at(obj, "/spec/parallelism").unwrap_or(0) {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let duration = match (
        opt_time_at(obj, "/status/startTime"),
        opt_time_at(obj, "/status/completionTime"),
    ) {
        (None, _) => String::new(),
        (Some(start), None) => elapsed(start, now),
        (Some(start), Some(end)) => elapsed(start, end),
    };
    let status = if job_condition(obj, "Complete") {
        "Complete"
    } else if job_condition(obj, "Failed") {
        "Failed"
    } else if present(obj, "/metadata/deletionTimestamp") {
        "Terminating"
    } else if job_condition(obj, "Suspended") {
        "Suspended"
    } else if job_condition(obj, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let [names, images] = template_containers(obj);
    vec![
        name(obj),
        status.into(),
        completions.into(),
        duration.into(),
        age(obj, now),
        names,
        images,
        format_label_selector(obj.pointer("/spec/selector"), string_label).into(),
    ]
}

pub(super) fn cron_job(obj: &Value, now: Nanos) -> Vec<Value> {
    let last_schedule = match opt_time_at(obj, "/status/lastScheduleTime") {
        Some(t) => human_age(t, now),
        None => "<none>".to_string(),
    };
    // batch/v1 defaults suspend to false; upstream prints the flag as text.
    let suspend = match obj.pointer("/spec/suspend").and_then(Value::as_bool) {
        Some(true) => "True",
        _ => "False",
    };
    let [names, images] = container_cells(arr_at(
        obj,
        "/spec/jobTemplate/spec/template/spec/containers",
    ));
    vec![
        name(obj),
        str_at(obj, "/spec/schedule").into(),
        obj.pointer("/spec/timeZone")
            .and_then(Value::as_str)
            .unwrap_or("<none>")
            .into(),
        suspend.into(),
        count(arr_at(obj, "/status/active").len()),
        last_schedule.into(),
        age(obj, now),
        names,
        images,
        format_label_selector(obj.pointer("/spec/jobTemplate/spec/selector"), string_label).into(),
    ]
}
