//! The Pod layout, and the "Pod Template:" section workloads embed.

use capstan_api_types::printing::format_label_selector;
use capstan_api_types::time::human_age;
use serde_json::Value;

use crate::Context;
use crate::containers::{Source, describe_containers, resources, seccomp};
use crate::events::write_events;
use crate::json::{
    arr_at, int_at, label_text, map_at, opt_int, opt_str, opt_time, present, str_at,
};
use crate::meta::{self, entry_lines, labels_block, timestamp, tolerations_block};
use crate::quantity;
use crate::volumes::describe_volumes;
use crate::writer::Writer;

pub(crate) fn describe_pod(w: &mut Writer, pod: &Value, cx: &Context<'_>) {
    meta::name_namespace(w, pod);
    if let Some(priority) = opt_int(pod, "/spec/priority") {
        w.line(0, format_args!("Priority:\t{priority}"));
    }
    optional_line(
        w,
        0,
        "Priority Class Name",
        str_at(pod, "/spec/priorityClassName"),
    );
    optional_line(
        w,
        0,
        "Runtime Class Name",
        str_at(pod, "/spec/runtimeClassName"),
    );
    optional_line(
        w,
        0,
        "Service Account",
        str_at(pod, "/spec/serviceAccountName"),
    );
    match str_at(pod, "/spec/nodeName") {
        "" => w.line(0, "Node:\t<none>"),
        node => w.line(
            0,
            format_args!("Node:\t{node}/{}", str_at(pod, "/status/hostIP")),
        ),
    }
    if present(pod, "/status/startTime") {
        w.line(
            0,
            format_args!("Start Time:\t{}", timestamp(pod, "/status/startTime")),
        );
    }
    meta::labels_and_annotations(w, pod);
    let phase = str_at(pod, "/status/phase");
    match opt_time(pod, "/metadata/deletionTimestamp") {
        Some(t) if !matches!(phase, "Failed" | "Succeeded") => {
            w.line(
                0,
                format_args!("Status:\tTerminating (lasts {})", human_age(t, cx.now)),
            );
            // The server always sets the grace period along with the deletion timestamp; the
            // pod's own setting is the best stand-in for an object that lacks it.
            let grace = opt_int(pod, "/metadata/deletionGracePeriodSeconds")
                .or_else(|| opt_int(pod, "/spec/terminationGracePeriodSeconds"))
                .unwrap_or(30);
            w.line(0, format_args!("Termination Grace Period:\t{grace}s"));
        }
        _ => w.line(0, format_args!("Status:\t{phase}")),
    }
    optional_line(w, 0, "Reason", str_at(pod, "/status/reason"));
    optional_line(w, 0, "Message", str_at(pod, "/status/message"));
    seccomp(w, &pod["spec"], 0);
    w.line(0, format_args!("IP:\t{}", str_at(pod, "/status/podIP")));
    let ips = arr_at(pod, "/status/podIPs");
    if ips.is_empty() {
        w.line(0, "IPs:\t<none>");
    } else {
        w.line(0, "IPs:");
        for ip in ips {
            w.line(1, format_args!("IP:\t{}", str_at(ip, "/ip")));
        }
    }
    meta::controlled_by_line(w, pod);
    optional_line(
        w,
        0,
        "NominatedNodeName",
        str_at(pod, "/status/nominatedNodeName"),
    );
    if let Some(res) = pod.pointer("/spec/resources").filter(|v| !v.is_null()) {
        w.line(0, "Resources:");
        resources(w, res, 1);
    }
    let source = Source::Pod(pod);
    let init = arr_at(pod, "/spec/initContainers");
    if !init.is_empty() {
        let statuses = arr_at(pod, "/status/initContainerStatuses");
        describe_containers(w, "Init Containers", init, statuses, &source, "");
    }
    let statuses = arr_at(pod, "/status/containerStatuses");
    describe_containers(
        w,
        "Containers",
        arr_at(pod, "/spec/containers"),
        statuses,
        &source,
        "",
    );
    let ephemeral = arr_at(pod, "/spec/ephemeralContainers");
    if !ephemeral.is_empty() {
        let statuses = arr_at(pod, "/status/ephemeralContainerStatuses");
        describe_containers(w, "Ephemeral Containers", ephemeral, statuses, &source, "");
    }
    conditions(w, pod);
    describe_volumes(w, arr_at(pod, "/spec/volumes"), "");
    w.line(0, format_args!("QoS Class:\t{}", qos_class(pod)));
    labels_block(
        w,
        "",
        "Node-Selectors",
        "\t",
        map_at(pod, "/spec/nodeSelector"),
    );
    tolerations_block(w, "", "Tolerations", arr_at(pod, "/spec/tolerations"));
    topology_spread(w, arr_at(pod, "/spec/topologySpreadConstraints"), "");
    write_events(w, cx.events, cx.now);
}

/// "Title:\tvalue" only when the value is set, as kubectl does for optional strings.
fn optional_line(w: &mut Writer, level: usize, title: &str, value: &str) {
    if !value.is_empty() {
        w.line(level, format_args!("{title}:\t{value}"));
    }
}

/// Readiness gates and conditions; kubectl pads both status columns with a trailing space.
fn conditions(w: &mut Writer, pod: &Value) {
    let conditions = arr_at(pod, "/status/conditions");
    let gates = arr_at(pod, "/spec/readinessGates");
    if !gates.is_empty() {
        w.line(0, "Readiness Gates:\n  Type\tStatus");
        for g in gates {
            let kind = str_at(g, "/conditionType");
            let status = conditions
                .iter()
                .find(|c| str_at(c, "/type") == kind)
                .map_or("<none>", |c| str_at(c, "/status"));
            w.line(1, format_args!("{kind} \t{status} "));
        }
    }
    if !conditions.is_empty() {
        w.line(0, "Conditions:\n  Type\tStatus");
        for c in conditions {
            w.line(
                1,
                format_args!("{} \t{} ", str_at(c, "/type"), str_at(c, "/status")),
            );
        }
    }
}

/// "topology.kubernetes.io/zone:DoNotSchedule when max skew 1 is exceeded for selector app=web",
/// one constraint per line, sorted by topology key.
fn topology_spread(w: &mut Writer, constraints: &[Value], space: &str) {
    if constraints.is_empty() {
        return;
    }
    let mut sorted: Vec<&Value> = constraints.iter().collect();
    sorted.sort_by(|a, b| str_at(a, "/topologyKey").cmp(str_at(b, "/topologyKey")));
    w.write(0, format_args!("{space}Topology Spread Constraints:\t"));
    let indent = |w: &mut Writer| {
        w.write(0, space);
        w.write(0, "\t");
    };
    entry_lines(w, sorted, indent, |w, c| w.line(0, spread_constraint(c)));
}

/// "zone:DoNotSchedule when max skew 1 is exceeded for selector app=web".
fn spread_constraint(c: &Value) -> String {
    let mut text = format!(
        "{}:{} when max skew {} is exceeded",
        str_at(c, "/topologyKey"),
        str_at(c, "/whenUnsatisfiable"),
        int_at(c, "/maxSkew")
    );
    if let Some(sel) = c.get("labelSelector").filter(|s| !s.is_null()) {
        text.push_str(&format!(
            " for selector {}",
            format_label_selector(Some(sel), label_text)
        ));
    }
    text
}

/// The pod's QoS class: the one the kubelet recorded, else computed from cpu and memory
/// requests and limits the way the kubelet does.
pub(crate) fn qos_class(pod: &Value) -> String {
    if let Some(class) = opt_str(pod, "/status/qosClass").filter(|c| !c.is_empty()) {
        return class.to_string();
    }
    let mut requests = quantity::ResourceList::new();
    let mut limits = quantity::ResourceList::new();
    let mut guaranteed = true;
    let positive = |list: Option<&serde_json::Map<String, Value>>| -> quantity::ResourceList {
        quantity::resource_list(list)
            .into_iter()
            .filter(|(name, q)| matches!(name.as_str(), "cpu" | "memory") && q.milli_value() > 0)
            .collect()
    };
    let mut account = |resources: &Value| {
        let own_limits = positive(map_at(resources, "/limits"));
        quantity::add_into(&mut requests, &positive(map_at(resources, "/requests")));
        quantity::add_into(&mut limits, &own_limits);
        if !(own_limits.contains_key("cpu") && own_limits.contains_key("memory")) {
            guaranteed = false;
        }
    };
    if let Some(pod_level) = pod.pointer("/spec/resources").filter(|v| !v.is_null()) {
        account(pod_level);
    } else {
        for c in arr_at(pod, "/spec/containers")
            .iter()
            .chain(arr_at(pod, "/spec/initContainers"))
        {
            account(&c["resources"]);
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort".into();
    }
    let matches = requests
        .iter()
        .all(|(name, req)| limits.get(name).is_some_and(|l| l == req));
    if guaranteed && matches && requests.len() == limits.len() {
        return "Guaranteed".into();
    }
    "Burstable".into()
}

/// The "Pod Template:" section of workloads: a pod spec without status, indented one level.
pub(crate) fn describe_template(w: &mut Writer, template: &Value) {
    w.line(0, "Pod Template:");
    labels_block(
        w,
        "",
        "  Labels",
        "\t",
        map_at(template, "/metadata/labels"),
    );
    if map_at(template, "/metadata/annotations").is_some_and(|m| !m.is_empty()) {
        meta::annotations(
            w,
            "  Annotations",
            map_at(template, "/metadata/annotations"),
        );
    }
    let spec = &template["spec"];
    optional_line(w, 1, "Service Account", str_at(spec, "/serviceAccountName"));
    let init = arr_at(spec, "/initContainers");
    if !init.is_empty() {
        describe_containers(w, "Init Containers", init, &[], &Source::Template, "  ");
    }
    let containers = arr_at(spec, "/containers");
    describe_containers(w, "Containers", containers, &[], &Source::Template, "  ");
    describe_volumes(w, arr_at(spec, "/volumes"), "  ");
    topology_spread(w, arr_at(spec, "/topologySpreadConstraints"), "  ");
    optional_line(
        w,
        1,
        "Priority Class Name",
        str_at(spec, "/priorityClassName"),
    );
    labels_block(
        w,
        "",
        "  Node-Selectors",
        "\t",
        map_at(spec, "/nodeSelector"),
    );
    tolerations_block(w, "", "  Tolerations", arr_at(spec, "/tolerations"));
}

/// Phase counts of the pods in `related` controlled by `owner`, as the
/// "Pods Status:\tN Running / N Waiting / N Succeeded / N Failed" line reports them.
pub(crate) fn pods_status(owner: &Value, related: &[Value]) -> String {
    let (mut running, mut waiting, mut succeeded, mut failed) = (0, 0, 0, 0);
    for pod in crate::json::of_kind(related, "Pod") {
        if !crate::json::is_controlled_by(pod, owner) {
            continue;
        }
        match str_at(pod, "/status/phase") {
            "Running" => running += 1,
            "Pending" => waiting += 1,
            "Succeeded" => succeeded += 1,
            "Failed" => failed += 1,
            _ => {}
        }
    }
    format!("{running} Running / {waiting} Waiting / {succeeded} Succeeded / {failed} Failed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(containers: Value) -> Value {
        json!({"spec": {"containers": containers}})
    }

    #[test]
    fn qos_classes() {
        assert_eq!(qos_class(&pod(json!([{"name": "a"}]))), "BestEffort");
        let guaranteed = pod(json!([{"resources": {
            "limits": {"cpu": "1", "memory": "1Gi"},
            "requests": {"cpu": "1000m", "memory": "1024Mi"}}}]));
        assert_eq!(qos_class(&guaranteed), "Guaranteed");
        let burstable = pod(json!([{"resources": {"requests": {"cpu": "100m"}}}]));
        assert_eq!(qos_class(&burstable), "Burstable");
        let recorded = json!({"status": {"qosClass": "Guaranteed"}});
        assert_eq!(qos_class(&recorded), "Guaranteed");
    }
}
