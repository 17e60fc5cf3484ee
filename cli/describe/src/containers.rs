//! The per-container blocks of Pods and pod templates: image, ports, command, state, resources,
//! probes, environment and mounts.

use std::collections::HashMap;

use serde_json::Value;

use crate::json::{
    arr_at, bool_at, go_value, int_at, map_at, opt_str, present, sorted_entries, str_at, strings_at,
};
use crate::meta::{bool_title, go_list, or_none, timestamp};
use crate::quantity::{self, Quantity};
use crate::writer::Writer;

/// Where the containers come from: a running Pod (statuses known, field references resolvable)
/// or a pod template (neither).
pub(crate) enum Source<'a> {
    Pod(&'a Value),
    Template,
}

/// Writes "Containers:" (or `label`) and one block per container. `space` is the extra indent of
/// a pod template, which also shifts the container names by one space, as kubectl prints them.
pub(crate) fn describe_containers(
    w: &mut Writer,
    label: &str,
    containers: &[Value],
    statuses: &[Value],
    source: &Source<'_>,
    space: &str,
) {
    let statuses: HashMap<&str, &Value> =
        statuses.iter().map(|s| (str_at(s, "/name"), s)).collect();
    let none = if containers.is_empty() { " <none>" } else { "" };
    w.line(0, format_args!("{space}{label}:{none}"));
    let name_indent = if space.is_empty() { "" } else { " " };
    for c in containers {
        let status = statuses.get(str_at(c, "/name")).copied();
        w.line(1, format_args!("{name_indent}{}:", str_at(c, "/name")));
        basic_info(w, c, status);
        command(w, c);
        if let Some(status) = status {
            state(w, "State", &status["state"]);
            if present(status, "/lastState/terminated") {
                state(w, "Last State", &status["lastState"]);
            }
            w.line(
                2,
                format_args!("Ready:\t{}", bool_title(bool_at(status, "/ready"))),
            );
            w.line(
                2,
                format_args!("Restart Count:\t{}", int_at(status, "/restartCount")),
            );
        }
        resources(w, &c["resources"], 2);
        probes(w, c);
        if !arr_at(c, "/envFrom").is_empty() {
            env_from(w, c);
        }
        env(w, c, source);
        mounts(w, c);
    }
}

fn basic_info(w: &mut Writer, c: &Value, status: Option<&Value>) {
    if let Some(s) = status {
        w.line(
            2,
            format_args!("Container ID:\t{}", str_at(s, "/containerID")),
        );
    }
    w.line(2, format_args!("Image:\t{}", str_at(c, "/image")));
    if let Some(s) = status {
        w.line(2, format_args!("Image ID:\t{}", str_at(s, "/imageID")));
    }
    let ports = arr_at(c, "/ports");
    let list = |field: &str| {
        ports
            .iter()
            .map(|p| format!("{}/{}", int_at(p, field), str_at(p, "/protocol")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (container_ports, host_ports) = (list("/containerPort"), list("/hostPort"));
    if container_ports.contains(',') {
        w.line(2, format_args!("Ports:\t{container_ports}"));
    } else {
        w.line(2, format_args!("Port:\t{}", or_none(&container_ports)));
    }
    if host_ports.contains(',') {
        w.line(2, format_args!("Host Ports:\t{host_ports}"));
    } else {
        w.line(2, format_args!("Host Port:\t{}", or_none(&host_ports)));
    }
    seccomp(w, c, 2);
}

/// The "SeccompProfile:" line (and its localhost profile) of a pod or container security context.
pub(crate) fn seccomp(w: &mut Writer, owner: &Value, level: usize) {
    let Some(profile) = owner
        .pointer("/securityContext/seccompProfile")
        .filter(|p| !p.is_null())
    else {
        return;
    };
    let kind = str_at(profile, "/type");
    w.line(level, format_args!("SeccompProfile:\t{kind}"));
    if kind == "Localhost" {
        // The container's localhost profile sits one level deeper than the pod's.
        let sub = if level == 0 { 0 } else { level + 1 };
        w.line(
            sub,
            format_args!(
                "LocalhostProfile:\t{}",
                str_at(profile, "/localhostProfile")
            ),
        );
    }
}

fn command(w: &mut Writer, c: &Value) {
    for (title, field) in [("Command:", "/command"), ("Args:", "/args")] {
        let items = arr_at(c, field);
        if items.is_empty() {
            continue;
        }
        w.line(2, title);
        for item in items {
            for line in go_value(item).split('\n') {
                w.line(3, line);
            }
        }
    }
}

fn state(w: &mut Writer, title: &str, state: &Value) {
    if let Some(running) = state.get("running").filter(|v| !v.is_null()) {
        w.line(2, format_args!("{title}:\tRunning"));
        w.line(
            3,
            format_args!("Started:\t{}", timestamp(running, "/startedAt")),
        );
    } else if let Some(waiting) = state.get("waiting").filter(|v| !v.is_null()) {
        w.line(2, format_args!("{title}:\tWaiting"));
        if let Some(reason) = opt_str(waiting, "/reason").filter(|r| !r.is_empty()) {
            w.line(3, format_args!("Reason:\t{reason}"));
        }
    } else if let Some(t) = state.get("terminated").filter(|v| !v.is_null()) {
        w.line(2, format_args!("{title}:\tTerminated"));
        if let Some(reason) = opt_str(t, "/reason").filter(|r| !r.is_empty()) {
            w.line(3, format_args!("Reason:\t{reason}"));
        }
        if let Some(message) = opt_str(t, "/message").filter(|m| !m.is_empty()) {
            w.line(3, format_args!("Message:\t{message}"));
        }
        w.line(3, format_args!("Exit Code:\t{}", int_at(t, "/exitCode")));
        let signal = int_at(t, "/signal");
        if signal > 0 {
            w.line(3, format_args!("Signal:\t{signal}"));
        }
        w.line(3, format_args!("Started:\t{}", timestamp(t, "/startedAt")));
        w.line(
            3,
            format_args!("Finished:\t{}", timestamp(t, "/finishedAt")),
        );
    } else {
        w.line(2, format_args!("{title}:\tWaiting"));
    }
}

/// "Limits:" and "Requests:" with one sorted resource per line, at `level`.
pub(crate) fn resources(w: &mut Writer, requirements: &Value, level: usize) {
    resource_lists(
        w,
        requirements,
        &[("Limits:", "/limits"), ("Requests:", "/requests")],
        level,
    );
}

/// For each `(title, pointer)` naming a non-empty resource list of `owner`: the title at
/// `level`, then one "name:\tquantity" line per resource, sorted by name, a level deeper.
pub(crate) fn resource_lists(w: &mut Writer, owner: &Value, lists: &[(&str, &str)], level: usize) {
    for (title, ptr) in lists {
        let list = map_at(owner, ptr).filter(|m| !m.is_empty());
        if list.is_none() {
            continue;
        }
        w.line(level, title);
        for (name, q) in sorted_entries(list) {
            w.line(level + 1, format_args!("{name}:\t{}", quantity::display(q)));
        }
    }
}

fn probes(w: &mut Writer, c: &Value) {
    for (title, field) in [
        ("Liveness", "livenessProbe"),
        ("Readiness", "readinessProbe"),
        ("Startup", "startupProbe"),
    ] {
        if let Some(probe) = c.get(field).filter(|p| !p.is_null()) {
            w.line(2, format_args!("{title}:\t{}", describe_probe(probe)));
        }
    }
}

/// "http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1 #failure=3".
pub(crate) fn describe_probe(p: &Value) -> String {
    let attrs = format!(
        "delay={}s timeout={}s period={}s #success={} #failure={}",
        int_at(p, "/initialDelaySeconds"),
        int_at(p, "/timeoutSeconds"),
        int_at(p, "/periodSeconds"),
        int_at(p, "/successThreshold"),
        int_at(p, "/failureThreshold"),
    );
    if present(p, "/exec") {
        return format!("exec {} {attrs}", go_list(&strings_at(p, "/exec/command")));
    }
    if let Some(get) = p.get("httpGet").filter(|v| !v.is_null()) {
        let scheme = str_at(get, "/scheme").to_lowercase();
        let port = int_or_string(&get["port"]);
        let host = str_at(get, "/host");
        let authority = if port.is_empty() {
            host.to_string()
        } else {
            join_host_port(host, &port)
        };
        return format!(
            "http-get {} {attrs}",
            url(&scheme, &authority, str_at(get, "/path"))
        );
    }
    if let Some(tcp) = p.get("tcpSocket").filter(|v| !v.is_null()) {
        return format!(
            "tcp-socket {}:{} {attrs}",
            str_at(tcp, "/host"),
            int_or_string(&tcp["port"])
        );
    }
    if let Some(grpc) = p.get("grpc").filter(|v| !v.is_null()) {
        return format!(
            "grpc <pod>:{} {} {attrs}",
            int_at(grpc, "/port"),
            str_at(grpc, "/service")
        );
    }
    format!("unknown {attrs}")
}

/// An IntOrString as its `String()`: the number or the name.
pub(crate) fn int_or_string(v: &Value) -> String {
    match v {
        Value::Null => "0".into(),
        other => go_value(other),
    }
}

/// host:port, bracketing IPv6 hosts, as Go's `net.JoinHostPort`.
pub(crate) fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A URL as Go's `url.URL.String()` assembles it from scheme, host and an unescaped path.
fn url(scheme: &str, host: &str, path: &str) -> String {
    let mut out = String::new();
    if !scheme.is_empty() {
        out.push_str(scheme);
        out.push(':');
    }
    if !scheme.is_empty() || !host.is_empty() {
        out.push_str("//");
        out.push_str(host);
    }
    if !path.is_empty() && !path.starts_with('/') && !host.is_empty() {
        out.push('/');
    }
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-_.~$&+,/:;=@".contains(&b);
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn env_from(w: &mut Writer, c: &Value) {
    w.line(2, "Environment Variables from:");
    for e in arr_at(c, "/envFrom") {
        let (from, reference) = if present(e, "/configMapRef") {
            ("ConfigMap", &e["configMapRef"])
        } else if present(e, "/secretRef") {
            ("Secret", &e["secretRef"])
        } else {
            ("", &Value::Null)
        };
        let name = str_at(reference, "/name");
        let optional = bool_at(reference, "/optional");
        match str_at(e, "/prefix") {
            "" => w.line(3, format_args!("{name}\t{from}\tOptional: {optional}")),
            prefix => w.line(
                3,
                format_args!("{name}\t{from} with prefix '{prefix}'\tOptional: {optional}"),
            ),
        }
    }
}

fn env(w: &mut Writer, c: &Value, source: &Source<'_>) {
    let vars = arr_at(c, "/env");
    let none = if vars.is_empty() { "\t<none>" } else { "" };
    w.line(2, format_args!("Environment:{none}"));
    for e in vars {
        let name = str_at(e, "/name");
        let Some(from) = e.get("valueFrom").filter(|v| !v.is_null()) else {
            for (i, line) in str_at(e, "/value").split('\n').enumerate() {
                if i == 0 {
                    w.line(3, format_args!("{name}:\t{line}"));
                } else {
                    w.line(3, format_args!("\t{line}"));
                }
            }
            continue;
        };
        if let Some(field) = from.get("fieldRef").filter(|v| !v.is_null()) {
            let value = match source {
                Source::Pod(pod) => field_ref_value(pod, str_at(field, "/fieldPath")),
                Source::Template => String::new(),
            };
            w.line(
                3,
                format_args!(
                    "{name}:\t{value} ({}:{})",
                    str_at(field, "/apiVersion"),
                    str_at(field, "/fieldPath")
                ),
            );
        } else if let Some(res) = from.get("resourceFieldRef").filter(|v| !v.is_null()) {
            let resource = str_at(res, "/resource");
            let mut value = resource_field_value(res, c).unwrap_or_default();
            if value == "0" && matches!(resource, "limits.cpu" | "limits.memory") {
                value = "node allocatable".into();
            }
            w.line(3, format_args!("{name}:\t{value} ({resource})"));
        } else if let Some(key) = from.get("secretKeyRef").filter(|v| !v.is_null()) {
            w.line(
                3,
                format_args!(
                    "{name}:\t<set to the key '{}' in secret '{}'>\tOptional: {}",
                    str_at(key, "/key"),
                    str_at(key, "/name"),
                    bool_at(key, "/optional")
                ),
            );
        } else if let Some(key) = from.get("configMapKeyRef").filter(|v| !v.is_null()) {
            w.line(
                3,
                format_args!(
                    "{name}:\t<set to the key '{}' of config map '{}'>\tOptional: {}",
                    str_at(key, "/key"),
                    str_at(key, "/name"),
                    bool_at(key, "/optional")
                ),
            );
        }
    }
}

/// kubectl resolves a field reference through its client scheme, which only knows the metadata
/// fields every kind has; anything else shows as empty, exactly as there.
fn field_ref_value(pod: &Value, path: &str) -> String {
    match path {
        "metadata.name" => str_at(pod, "/metadata/name").into(),
        "metadata.namespace" => str_at(pod, "/metadata/namespace").into(),
        _ => String::new(),
    }
}

/// The value a resourceFieldRef exposes: the container's request or limit divided by the
/// divisor, rounded up. None for resources kubectl cannot resolve.
fn resource_field_value(selector: &Value, c: &Value) -> Option<String> {
    let resource = str_at(selector, "/resource");
    let (kind, name) = resource.split_once('.')?;
    if !matches!(kind, "limits" | "requests") {
        return None;
    }
    let supported =
        matches!(name, "cpu" | "memory" | "ephemeral-storage") || name.starts_with("hugepages-");
    if !supported {
        return None;
    }
    let divisor = selector
        .get("divisor")
        .and_then(quantity::parse)
        .filter(|d| !d.is_zero())
        .or_else(|| Quantity::parse("1"))?;
    let amount = c
        .pointer(&format!("/resources/{kind}/{name}"))
        .and_then(quantity::parse)
        .unwrap_or_default();
    let (num, den) = if name == "cpu" {
        (amount.milli_value(), divisor.milli_value())
    } else {
        (amount.whole_units(), divisor.whole_units())
    };
    if den == 0 {
        return None;
    }
    Some((num.div_euclid(den) + i128::from(num.rem_euclid(den) != 0)).to_string())
}

fn mounts(w: &mut Writer, c: &Value) {
    let list = arr_at(c, "/volumeMounts");
    let none = if list.is_empty() { "\t<none>" } else { "" };
    w.line(2, format_args!("Mounts:{none}"));
    let mut sorted: Vec<&Value> = list.iter().collect();
    sorted.sort_by(|a, b| str_at(a, "/mountPath").cmp(str_at(b, "/mountPath")));
    for m in sorted {
        let mut flags = vec![if bool_at(m, "/readOnly") { "ro" } else { "rw" }.to_string()];
        if let Some(sub) = opt_str(m, "/subPath").filter(|s| !s.is_empty()) {
            flags.push(format!("path={sub:?}"));
        }
        w.line(
            3,
            format_args!(
                "{} from {} ({})",
                str_at(m, "/mountPath"),
                str_at(m, "/name"),
                flags.join(",")
            ),
        );
    }
    let devices = arr_at(c, "/volumeDevices");
    if !devices.is_empty() {
        // kubectl reuses the mounts' "<none>" marker here.
        w.line(2, format_args!("Devices:{none}"));
        let mut sorted: Vec<&Value> = devices.iter().collect();
        sorted.sort_by(|a, b| str_at(a, "/devicePath").cmp(str_at(b, "/devicePath")));
        for d in sorted {
            w.line(
                3,
                format_args!("{} from {}", str_at(d, "/devicePath"), str_at(d, "/name")),
            );
        }
    }
}

/// The pod's effective requests and limits as the scheduler counts them: the sum over app
/// containers and sidecars, at least the largest init-container need, plus overhead.
pub(crate) fn pod_requests_and_limits(
    pod: &Value,
) -> (quantity::ResourceList, quantity::ResourceList) {
    (pod_resources(pod, "requests"), pod_resources(pod, "limits"))
}

fn pod_resources(pod: &Value, kind: &str) -> quantity::ResourceList {
    let field = format!("/resources/{kind}");
    let container_list = |c: &Value| quantity::resource_list(map_at(c, &field));
    let statuses: HashMap<&str, &Value> = arr_at(pod, "/status/containerStatuses")
        .iter()
        .chain(arr_at(pod, "/status/initContainerStatuses"))
        .map(|s| (str_at(s, "/name"), s))
        .collect();
    // An in-place resize may leave more allocated than the spec asks for; requests count the
    // larger of the two.
    let effective = |c: &Value| {
        let mut list = container_list(c);
        if kind == "requests"
            && let Some(status) = statuses
                .get(str_at(c, "/name"))
                .filter(|s| present(s, "/resources"))
        {
            let actual = quantity::resource_list(map_at(status, "/resources/requests"));
            let allocated = quantity::resource_list(map_at(status, "/allocatedResources"));
            if str_at(pod, "/status/resize") == "Infeasible" {
                list = actual;
            } else {
                quantity::max_into(&mut list, &actual);
            }
            quantity::max_into(&mut list, &allocated);
        }
        list
    };
    let mut total = quantity::ResourceList::new();
    for c in arr_at(pod, "/spec/containers") {
        quantity::add_into(&mut total, &effective(c));
    }
    let mut sidecars = quantity::ResourceList::new();
    let mut init_peak = quantity::ResourceList::new();
    for c in arr_at(pod, "/spec/initContainers") {
        let own = effective(c);
        let need = if str_at(c, "/restartPolicy") == "Always" {
            quantity::add_into(&mut total, &own);
            quantity::add_into(&mut sidecars, &own);
            sidecars.clone()
        } else {
            let mut need = quantity::ResourceList::new();
            quantity::add_into(&mut need, &own);
            quantity::add_into(&mut need, &sidecars);
            need
        };
        quantity::max_into(&mut init_peak, &need);
    }
    quantity::max_into(&mut total, &init_peak);
    let overhead = quantity::resource_list(map_at(pod, "/spec/overhead"));
    for (name, q) in &overhead {
        match total.get_mut(name) {
            Some(current) if kind == "limits" && !current.is_zero() => current.add(q),
            Some(current) if kind == "requests" => current.add(q),
            None if kind == "requests" => {
                total.insert(name.clone(), *q);
            }
            _ => {}
        }
    }
    total
}
