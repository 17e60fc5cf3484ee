//! The Node layout, with the pods running on it and what they have claimed of its capacity.

use capstan_api_types::time::human_age;
use serde_json::Value;

use crate::Context;
use crate::containers::{pod_requests_and_limits, resource_lists};
use crate::events::write_events;
use crate::json::{arr_at, bool_at, map_at, of_kind, opt_str, str_at, time_at};
use crate::meta::Cell::{Text, Time};
use crate::meta::{self, ConditionsTable, timestamp};
use crate::quantity::{self, Quantity, ResourceList};
use crate::writer::Writer;

const ROLE_LABEL_PREFIX: &str = "node-role.kubernetes.io/";
const LEGACY_ROLE_LABEL: &str = "kubernetes.io/role";

/// The namespace kubelets keep their heartbeat Leases in.
const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";

const CONDITIONS: ConditionsTable = ConditionsTable {
    header: "Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage",
    rule: "----\t------\t-----------------\t------------------\t------\t-------",
    cells: &[
        Text("/type"),
        Text("/status"),
        Time("/lastHeartbeatTime"),
        Time("/lastTransitionTime"),
        Text("/reason"),
        Text("/message"),
    ],
    separator: " \t",
};

pub(crate) fn describe_node(w: &mut Writer, node: &Value, cx: &Context<'_>) {
    let name = str_at(node, "/metadata/name");
    w.line(0, format_args!("Name:\t{name}"));
    let roles = roles(node);
    w.line(
        0,
        format_args!("Roles:\t{}", meta::or_none(&roles.join(","))),
    );
    meta::labels_and_annotations(w, node);
    meta::creation_timestamp_line(w, node);
    meta::taints(w, arr_at(node, "/spec/taints"));
    w.line(
        0,
        format_args!("Unschedulable:\t{}", bool_at(node, "/spec/unschedulable")),
    );
    lease(w, node, cx.related);
    meta::conditions_table(w, arr_at(node, "/status/conditions"), &CONDITIONS);
    w.line(0, "Addresses:");
    for a in arr_at(node, "/status/addresses") {
        w.line(
            1,
            format_args!("{}:\t{}", str_at(a, "/type"), str_at(a, "/address")),
        );
    }
    resource_lists(
        w,
        node,
        &[
            ("Capacity:", "/status/capacity"),
            ("Allocatable:", "/status/allocatable"),
        ],
        0,
    );
    w.line(0, "System Info:");
    for (title, field) in [
        ("Machine ID", "machineID"),
        ("System UUID", "systemUUID"),
        ("Boot ID", "bootID"),
        ("Kernel Version", "kernelVersion"),
        ("OS Image", "osImage"),
        ("Operating System", "operatingSystem"),
        ("Architecture", "architecture"),
        ("Container Runtime Version", "containerRuntimeVersion"),
        ("Kubelet Version", "kubeletVersion"),
        ("Kube-Proxy Version", "kubeProxyVersion"),
    ] {
        let value = str_at(node, &format!("/status/nodeInfo/{field}"));
        w.line(0, format_args!("  {title}:\t{value}"));
    }
    if let Some(cidr) = opt_str(node, "/spec/podCIDR").filter(|s| !s.is_empty()) {
        w.line(0, format_args!("PodCIDR:\t{cidr}"));
    }
    let cidrs = crate::json::strings_at(node, "/spec/podCIDRs");
    if !cidrs.is_empty() {
        w.line(0, format_args!("PodCIDRs:\t{}", cidrs.join(",")));
    }
    if let Some(id) = opt_str(node, "/spec/providerID").filter(|s| !s.is_empty()) {
        w.line(0, format_args!("ProviderID:\t{id}"));
    }
    let pods = node_pods(name, cx.related);
    node_resources(w, node, &pods, cx);
    write_events(w, cx.events, cx.now);
}

/// Roles from `node-role.kubernetes.io/<role>` labels and the legacy `kubernetes.io/role`,
/// sorted and deduplicated.
fn roles(node: &Value) -> Vec<String> {
    let mut roles: Vec<String> = map_at(node, "/metadata/labels")
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            if let Some(role) = k.strip_prefix(ROLE_LABEL_PREFIX) {
                return (!role.is_empty()).then(|| role.to_string());
            }
            let value = v.as_str().unwrap_or("");
            (k == LEGACY_ROLE_LABEL && !value.is_empty()).then(|| value.to_string())
        })
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

/// The node's heartbeat Lease from `related`; without one the fields read "<unset>", as kubectl
/// shows a Lease that carries none of them.
fn lease(w: &mut Writer, node: &Value, related: &[Value]) {
    let name = str_at(node, "/metadata/name");
    let lease = of_kind(related, "Lease").find(|l| {
        str_at(l, "/metadata/name") == name
            && matches!(str_at(l, "/metadata/namespace"), "" | NODE_LEASE_NAMESPACE)
    });
    let spec = lease.map_or(&Value::Null, |l| &l["spec"]);
    w.line(0, "Lease:");
    let holder = opt_str(spec, "/holderIdentity").unwrap_or("<unset>");
    w.line(1, format_args!("HolderIdentity:\t{holder}"));
    for (title, field) in [("AcquireTime", "/acquireTime"), ("RenewTime", "/renewTime")] {
        let value = if opt_str(spec, field).is_some() {
            timestamp(spec, field)
        } else {
            "<unset>".into()
        };
        w.line(1, format_args!("{title}:\t{value}"));
    }
}

/// The pods in `related` bound to the node that have not terminated, in the order the API lists
/// them (namespace, then name).
fn node_pods<'a>(node: &str, related: &'a [Value]) -> Vec<&'a Value> {
    let mut pods: Vec<&Value> = of_kind(related, "Pod")
        .filter(|p| str_at(p, "/spec/nodeName") == node)
        .filter(|p| !matches!(str_at(p, "/status/phase"), "Succeeded" | "Failed"))
        .collect();
    pods.sort_by(|a, b| {
        (
            str_at(a, "/metadata/namespace"),
            str_at(a, "/metadata/name"),
        )
            .cmp(&(
                str_at(b, "/metadata/namespace"),
                str_at(b, "/metadata/name"),
            ))
    });
    pods
}

/// `part` as a whole percentage of `whole`, truncated; 0 when the node reports no capacity.
fn percent(part: i128, whole: i128) -> i64 {
    if whole == 0 {
        return 0;
    }
    // Float division, as kubectl computes it, so rounding matches at the edges.
    (part as f64 / whole as f64 * 100.0) as i64
}

fn node_resources(w: &mut Writer, node: &Value, pods: &[&Value], cx: &Context<'_>) {
    w.line(
        0,
        format_args!("Non-terminated Pods:\t({} in total)", pods.len()),
    );
    w.line(
        1,
        "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge",
    );
    w.line(
        1,
        "---------\t----\t\t------------\t----------\t---------------\t-------------\t---",
    );
    let capacity = quantity::resource_list(map_at(node, "/status/capacity"));
    let allocatable = match quantity::resource_list(map_at(node, "/status/allocatable")) {
        list if list.is_empty() => capacity,
        list => list,
    };
    let alloc_cpu = quantity::get(&allocatable, "cpu").milli_value();
    let alloc_mem = quantity::get(&allocatable, "memory").whole_units();
    let mut total_requests = ResourceList::new();
    let mut total_limits = ResourceList::new();
    for pod in pods {
        let (requests, limits) = pod_requests_and_limits(pod);
        let cell = |q: Quantity, whole: i128, milli: bool| {
            let part = if milli {
                q.milli_value()
            } else {
                q.whole_units()
            };
            format!("{q} ({}%)", percent(part, whole))
        };
        w.line(
            1,
            format_args!(
                "{}\t{}\t\t{}\t{}\t{}\t{}\t{}",
                str_at(pod, "/metadata/namespace"),
                str_at(pod, "/metadata/name"),
                cell(quantity::get(&requests, "cpu"), alloc_cpu, true),
                cell(quantity::get(&limits, "cpu"), alloc_cpu, true),
                cell(quantity::get(&requests, "memory"), alloc_mem, false),
                cell(quantity::get(&limits, "memory"), alloc_mem, false),
                human_age(time_at(pod, "/metadata/creationTimestamp"), cx.now),
            ),
        );
        quantity::add_into(&mut total_requests, &requests);
        quantity::add_into(&mut total_limits, &limits);
    }
    w.line(
        0,
        "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)",
    );
    w.line(1, "Resource\tRequests\tLimits");
    w.line(1, "--------\t--------\t------");
    let mut row = |name: &str, milli: bool| {
        let (req, lim) = (
            quantity::get(&total_requests, name),
            quantity::get(&total_limits, name),
        );
        let whole = quantity::get(&allocatable, name);
        let (req_part, lim_part, whole) = if milli {
            (req.milli_value(), lim.milli_value(), whole.milli_value())
        } else {
            (req.whole_units(), lim.whole_units(), whole.whole_units())
        };
        w.line(
            1,
            format_args!(
                "{name}\t{req} ({}%)\t{lim} ({}%)",
                percent(req_part, whole),
                percent(lim_part, whole)
            ),
        );
    };
    row("cpu", true);
    row("memory", false);
    row("ephemeral-storage", false);
    let hugepages = allocatable.keys().filter(|n| n.starts_with("hugepages-"));
    for name in hugepages.collect::<Vec<_>>() {
        row(name, false);
    }
    let extended: Vec<&String> = allocatable
        .keys()
        .filter(|n| !is_standard_resource(n) && n.as_str() != "pods")
        .collect();
    for name in extended {
        w.line(
            1,
            format_args!(
                "{name}\t{}\t{}",
                quantity::get(&total_requests, name),
                quantity::get(&total_limits, name)
            ),
        );
    }
}

fn is_standard_resource(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage") || name.starts_with("hugepages-")
}
