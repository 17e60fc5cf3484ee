//! Pod spec validation shared by Pods and every pod template: volumes,
//! containers, policies, DNS, security context and scheduling fields.

use serde_json::Value;

use super::access::{self, get, int, list, s};
use super::container::{self, MAX_ID, PodContext};
use super::errors::{Errs, child, duplicate, forbidden, index, invalid, not_supported, required};
use super::meta;
use super::names;
use super::sched;
use super::volumes;

/// Options that differ between a Pod and an embedded pod template.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SpecOptions<'a> {
    /// Some checks (hostNetwork ports) are stricter for real Pods.
    pub(crate) is_pod: bool,
    /// Needed to derive the names of ephemeral volume claims.
    pub(crate) pod_name: Option<&'a str>,
}

pub(crate) fn validate_pod_spec(spec: &Value, path: &str, opts: SpecOptions, errs: &mut Errs) {
    let grace = get(spec, "terminationGracePeriodSeconds");
    if grace.is_none() {
        errs.push(required(child(path, "terminationGracePeriodSeconds"), ""));
    }
    let known = volumes::validate_volumes(
        list(spec, "volumes"),
        &child(path, "volumes"),
        opts.pod_name,
        errs,
    );
    let ctx = PodContext {
        volumes: &known,
        grace_period: grace.and_then(access::as_int),
    };
    let containers = list(spec, "containers");
    container::validate_containers(containers, &ctx, &child(path, "containers"), errs);
    container::validate_init_containers(
        list(spec, "initContainers"),
        containers,
        &ctx,
        &child(path, "initContainers"),
        errs,
    );
    validate_host_network_ports(spec, path, opts.is_pod, errs);
    match s(spec, "restartPolicy") {
        "Always" | "OnFailure" | "Never" => {}
        "" => errs.push(required(child(path, "restartPolicy"), "")),
        other => errs.push(not_supported(
            child(path, "restartPolicy"),
            other,
            &["Always", "OnFailure", "Never"],
        )),
    }
    match s(spec, "dnsPolicy") {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => {}
        "" => errs.push(required(child(path, "dnsPolicy"), "")),
        other => errs.push(not_supported(
            child(path, "dnsPolicy"),
            other,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )),
    }
    meta::validate_labels(
        get(spec, "nodeSelector"),
        &child(path, "nodeSelector"),
        errs,
    );
    validate_pod_security_context(spec, &child(path, "securityContext"), errs);
    for (i, secret) in list(spec, "imagePullSecrets").iter().enumerate() {
        let only_name = secret
            .as_object()
            .is_some_and(|o| o.keys().all(|k| k == "name"));
        if !only_name {
            errs.push(invalid(
                index(&child(path, "imagePullSecrets"), i),
                secret,
                "only name may be set",
            ));
        }
    }
    if let Some(aff) = get(spec, "affinity") {
        sched::validate_affinity(aff, &child(path, "affinity"), errs);
    }
    validate_dns_config(spec, &child(path, "dnsConfig"), errs);
    for (i, gate) in list(spec, "readinessGates").iter().enumerate() {
        let p = child(&index(&child(path, "readinessGates"), i), "conditionType");
        let ct = s(gate, "conditionType");
        for msg in names::qualified_name(ct) {
            errs.push(invalid(&p, ct, msg));
        }
    }
    validate_scheduling_gates(
        list(spec, "schedulingGates"),
        &child(path, "schedulingGates"),
        errs,
    );
    sched::validate_topology_spread(
        list(spec, "topologySpreadConstraints"),
        &child(path, "topologySpreadConstraints"),
        errs,
    );
    for (field, rule) in [
        ("serviceAccountName", names::NameRule::Subdomain),
        ("nodeName", names::NameRule::Subdomain),
    ] {
        let v = s(spec, field);
        if !v.is_empty() {
            for msg in names::name_errors(rule, v) {
                errs.push(invalid(child(path, field), v, msg));
            }
        }
    }
    if let Some(ads) = int(spec, "activeDeadlineSeconds").filter(|v| !(1..=MAX_ID).contains(v)) {
        errs.push(invalid(
            child(path, "activeDeadlineSeconds"),
            ads,
            names::inclusive_range_error(1, MAX_ID),
        ));
    }
    for field in ["hostname", "subdomain"] {
        let v = s(spec, field);
        if !v.is_empty() {
            for msg in names::dns1123_label(v) {
                errs.push(invalid(child(path, field), v, msg));
            }
        }
    }
    sched::validate_tolerations(list(spec, "tolerations"), &child(path, "tolerations"), errs);
    validate_host_aliases(list(spec, "hostAliases"), &child(path, "hostAliases"), errs);
    for field in ["priorityClassName", "runtimeClassName"] {
        let v = s(spec, field);
        if !v.is_empty() {
            for msg in names::dns1123_subdomain(v) {
                errs.push(invalid(child(path, field), v, msg));
            }
        }
    }
    if let Some(pp) = access::opt_s(spec, "preemptionPolicy") {
        validate_preemption_policy(pp, &child(path, "preemptionPolicy"), errs);
    }
    if let Some(os) = get(spec, "os") {
        let name = s(os, "name");
        if name.is_empty() {
            errs.push(required(
                child(&child(path, "os"), "name"),
                "cannot be empty",
            ));
        } else if name != "linux" && name != "windows" {
            errs.push(not_supported(
                child(path, "os"),
                name,
                &["linux", "windows"],
            ));
        }
    }
}

pub(crate) fn validate_preemption_policy(pp: &str, path: &str, errs: &mut Errs) {
    match pp {
        "PreemptLowerPriority" | "Never" => {}
        "" => errs.push(required(path, "")),
        other => errs.push(not_supported(
            path,
            other,
            &["PreemptLowerPriority", "Never"],
        )),
    }
}

fn validate_host_network_ports(spec: &Value, path: &str, is_pod: bool, errs: &mut Errs) {
    if access::boolean(spec, "hostNetwork") != Some(true) {
        return;
    }
    let cpath = child(path, "containers");
    for (i, c) in list(spec, "containers").iter().enumerate() {
        let ports = child(&index(&cpath, i), "ports");
        for (j, port) in list(c, "ports").iter().enumerate() {
            let hp = int(port, "hostPort").unwrap_or(0);
            let cp = int(port, "containerPort").unwrap_or(0);
            // Templates may leave hostPort unset; it is defaulted on the Pod.
            if (is_pod || hp != 0) && hp != cp {
                errs.push(invalid(
                    child(&index(&ports, j), "hostPort"),
                    hp,
                    "must match `containerPort` when `hostNetwork` is true",
                ));
            }
        }
    }
}

fn validate_pod_security_context(spec: &Value, path: &str, errs: &mut Errs) {
    let Some(sc) = get(spec, "securityContext") else {
        return;
    };
    for f in ["fsGroup", "runAsUser", "runAsGroup"] {
        if let Some(id) = int(sc, f).filter(|id| !(0..=MAX_ID).contains(id)) {
            errs.push(invalid(
                child(path, f),
                id,
                names::inclusive_range_error(0, MAX_ID),
            ));
        }
    }
    for (i, g) in list(sc, "supplementalGroups").iter().enumerate() {
        if let Some(id) = access::as_int(g).filter(|id| !(0..=MAX_ID).contains(id)) {
            errs.push(invalid(
                index(&child(path, "supplementalGroups"), i),
                id,
                names::inclusive_range_error(0, MAX_ID),
            ));
        }
    }
    if access::boolean(spec, "shareProcessNamespace") == Some(true)
        && access::boolean(spec, "hostPID") == Some(true)
    {
        errs.push(invalid(
            child(path, "shareProcessNamespace"),
            true,
            "ShareProcessNamespace and HostPID cannot both be enabled",
        ));
    }
    validate_sysctls(list(sc, "sysctls"), &child(path, "sysctls"), errs);
    if let Some(p) = access::opt_s(sc, "fsGroupChangePolicy")
        && p != "Always"
        && p != "OnRootMismatch"
    {
        errs.push(not_supported(
            child(path, "fsGroupChangePolicy"),
            p,
            &["Always", "OnRootMismatch"],
        ));
    }
    validate_seccomp(
        get(sc, "seccompProfile"),
        &child(path, "seccompProfile"),
        errs,
    );
    if let Some(p) = access::opt_s(sc, "supplementalGroupsPolicy")
        && p != "Merge"
        && p != "Strict"
    {
        errs.push(not_supported(
            child(path, "supplementalGroupsPolicy"),
            p,
            &["Merge", "Strict"],
        ));
    }
}

fn is_sysctl_segment(seg: &str) -> bool {
    let (Some(first), Some(last)) = (seg.chars().next(), seg.chars().last()) else {
        return false;
    };
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    ok(first) && ok(last) && seg.chars().all(|c| ok(c) || c == '-' || c == '_')
}

fn validate_sysctls(sysctls: &[Value], path: &str, errs: &mut Errs) {
    let mut seen: Vec<&str> = Vec::new();
    for (i, sc) in sysctls.iter().enumerate() {
        let p = child(&index(path, i), "name");
        let name = s(sc, "name");
        if name.is_empty() {
            errs.push(required(&p, ""));
        } else if name.len() > 253 || !name.split(['.', '/']).all(is_sysctl_segment) {
            errs.push(invalid(
                &p,
                name,
                "must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$",
            ));
        } else if seen.contains(&name) {
            errs.push(duplicate(&p, name));
        }
        seen.push(name);
    }
}

/// A `seccompProfile` on a pod or container security context.
pub(crate) fn validate_seccomp(sp: Option<&Value>, path: &str, errs: &mut Errs) {
    let Some(sp) = sp else { return };
    let t = s(sp, "type");
    match t {
        "Localhost" | "RuntimeDefault" | "Unconfined" => {}
        "" => errs.push(required(
            child(path, "type"),
            "type is required when seccompProfile is set",
        )),
        other => errs.push(not_supported(
            child(path, "type"),
            other,
            &["Localhost", "RuntimeDefault", "Unconfined"],
        )),
    }
    let lp = access::opt_s(sp, "localhostProfile");
    if t == "Localhost" {
        match lp {
            None => errs.push(required(
                child(path, "localhostProfile"),
                "must be set when seccomp type is Localhost",
            )),
            Some(p) => volumes::local_descending_path(p, &child(path, "localhostProfile"), errs),
        }
    } else if lp.is_some() {
        errs.push(invalid(
            child(path, "localhostProfile"),
            sp,
            "can only be set when seccomp type is Localhost",
        ));
    }
}

fn validate_dns_config(spec: &Value, path: &str, errs: &mut Errs) {
    let cfg = get(spec, "dnsConfig");
    if s(spec, "dnsPolicy") == "None" {
        match cfg {
            None => {
                errs.push(required(
                    path,
                    "must provide `dnsConfig` when `dnsPolicy` is None",
                ));
                return;
            }
            Some(c) if list(c, "nameservers").is_empty() => {
                errs.push(required(
                    child(path, "nameservers"),
                    "must provide at least one DNS nameserver when `dnsPolicy` is None",
                ));
                return;
            }
            Some(_) => {}
        }
    }
    let Some(cfg) = cfg else { return };
    let ns = list(cfg, "nameservers");
    if ns.len() > 3 {
        errs.push(invalid(
            child(path, "nameservers"),
            super::errors::Bad::Raw(super::gofmt::string_slice(get(cfg, "nameservers"))),
            "must not have more than 3 nameservers",
        ));
    }
    for (i, n) in ns.iter().enumerate() {
        errs.extend(names::valid_ip(
            &index(&child(path, "nameservers"), i),
            &access::scalar_string(n),
        ));
    }
    let searches: Vec<String> = list(cfg, "searches")
        .iter()
        .map(access::scalar_string)
        .collect();
    let rendered = || super::errors::Bad::Raw(super::gofmt::string_slice(get(cfg, "searches")));
    if searches.len() > 32 {
        errs.push(invalid(
            child(path, "searches"),
            rendered(),
            "must not have more than 32 search paths",
        ));
    }
    if searches.join(" ").len() > 2048 {
        errs.push(invalid(
            child(path, "searches"),
            rendered(),
            "must not have more than 2048 characters (including spaces) in the search list",
        ));
    }
    for (i, search) in searches.iter().enumerate() {
        let trimmed = search.strip_suffix('.').unwrap_or(search);
        for msg in names::dns1123_subdomain(trimmed) {
            errs.push(invalid(index(&child(path, "searches"), i), trimmed, msg));
        }
    }
    for (i, opt) in list(cfg, "options").iter().enumerate() {
        if s(opt, "name").is_empty() {
            errs.push(required(
                index(&child(path, "options"), i),
                "must not be empty",
            ));
        }
    }
}

fn validate_scheduling_gates(gates: &[Value], path: &str, errs: &mut Errs) {
    let mut seen: Vec<&str> = Vec::new();
    for (i, g) in gates.iter().enumerate() {
        let p = index(path, i);
        let name = s(g, "name");
        for msg in names::qualified_name(name) {
            errs.push(invalid(&p, name, msg));
        }
        if seen.contains(&name) {
            errs.push(duplicate(&p, name));
        }
        seen.push(name);
    }
}

fn validate_host_aliases(aliases: &[Value], path: &str, errs: &mut Errs) {
    for (i, alias) in aliases.iter().enumerate() {
        let p = index(path, i);
        errs.extend(names::valid_ip(&child(&p, "ip"), s(alias, "ip")));
        for (j, h) in list(alias, "hostnames").iter().enumerate() {
            let h = access::scalar_string(h);
            for msg in names::dns1123_subdomain(&h) {
                errs.push(invalid(index(&child(&p, "hostnames"), j), h.as_str(), msg));
            }
        }
    }
}

/// A pod template embedded in a workload: template metadata plus the spec.
/// Upstream reports template labels at `<path>.labels`, without `metadata`.
pub(crate) fn validate_pod_template(tmpl: &Value, path: &str, errs: &mut Errs) {
    let md = meta::metadata(tmpl);
    meta::validate_labels(get(md, "labels"), &child(path, "labels"), errs);
    meta::validate_annotations(get(md, "annotations"), &child(path, "annotations"), errs);
    let spec = get(tmpl, "spec").unwrap_or(&Value::Null);
    validate_pod_spec(spec, &child(path, "spec"), SpecOptions::default(), errs);
    if !list(spec, "ephemeralContainers").is_empty() {
        errs.push(forbidden(
            child(&child(path, "spec"), "ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
}
