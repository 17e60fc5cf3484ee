//! Container validation: names, images, ports, env, mounts, probes,
//! lifecycle hooks, resources and security contexts, for regular and init
//! containers alike.

use serde_json::Value;

use super::access::{self, get, int, list, s};
use super::downward;
use super::errors::{
    Errs, child, duplicate, forbidden, index, invalid, not_found, not_supported, required,
};
use super::names;
use super::probes;
use super::resources;
use super::volumes::{self, KnownVolume};

const ENV_FIELD_PATHS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
pub(crate) const MAX_ID: i64 = 2_147_483_647;

/// What container validation needs to know about the surrounding pod spec.
pub(crate) struct PodContext<'a> {
    pub(crate) volumes: &'a [KnownVolume],
    pub(crate) grace_period: Option<i64>,
}

/// `spec.containers`: at least one, unique names, no host port clashes.
pub(crate) fn validate_containers(
    containers: &[Value],
    ctx: &PodContext,
    path: &str,
    errs: &mut Errs,
) {
    if containers.is_empty() {
        errs.push(required(path, ""));
        return;
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, c) in containers.iter().enumerate() {
        let p = index(path, i);
        validate_common(c, ctx, &p, errs);
        let name = s(c, "name");
        if seen.contains(&name) {
            errs.push(duplicate(child(&p, "name"), name));
        } else {
            seen.push(name);
        }
        if let Some(lc) = get(c, "lifecycle") {
            probes::validate_lifecycle(lc, ctx.grace_period, &child(&p, "lifecycle"), errs);
        }
        probes::validate_probes(c, ctx.grace_period, &p, errs);
        if access::is_set(c, "restartPolicy") {
            errs.push(forbidden(
                child(&p, "restartPolicy"),
                "may not be set for non-init containers",
            ));
        }
    }
    check_host_ports(containers, path, errs);
}

/// `spec.initContainers`: names unique across regular and init containers;
/// probes and hooks only for restartable (sidecar) init containers.
pub(crate) fn validate_init_containers(
    inits: &[Value],
    regular: &[Value],
    ctx: &PodContext,
    path: &str,
    errs: &mut Errs,
) {
    let mut seen: Vec<&str> = regular.iter().map(|c| s(c, "name")).collect();
    for (i, c) in inits.iter().enumerate() {
        let p = index(path, i);
        validate_common(c, ctx, &p, errs);
        let mut sidecar = false;
        if let Some(rp) = access::opt_s(c, "restartPolicy") {
            if rp == "Always" {
                sidecar = true;
            } else {
                errs.push(not_supported(child(&p, "restartPolicy"), rp, &["Always"]));
            }
        }
        let name = s(c, "name");
        if seen.contains(&name) {
            errs.push(duplicate(child(&p, "name"), name));
        } else if !name.is_empty() {
            seen.push(name);
        }
        // Init containers run one at a time, so host ports only clash within one.
        check_host_ports(std::slice::from_ref(c), path, errs);
        if sidecar {
            if let Some(lc) = get(c, "lifecycle") {
                probes::validate_lifecycle(lc, ctx.grace_period, &child(&p, "lifecycle"), errs);
            }
            probes::validate_probes(c, ctx.grace_period, &p, errs);
        } else {
            for f in [
                "lifecycle",
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
            ] {
                if access::is_set(c, f) {
                    errs.push(forbidden(
                        child(&p, f),
                        "may not be set for init containers without restartPolicy=Always",
                    ));
                }
            }
        }
        if !list(c, "resizePolicy").is_empty() {
            errs.push(invalid(
                child(&p, "resizePolicy"),
                get(c, "resizePolicy"),
                "must not be set for init containers",
            ));
        }
    }
}

fn validate_common(c: &Value, ctx: &PodContext, path: &str, errs: &mut Errs) {
    let name = s(c, "name");
    let name_path = child(path, "name");
    if name.is_empty() {
        errs.push(required(&name_path, ""));
    } else {
        for msg in names::dns1123_label(name) {
            errs.push(invalid(&name_path, name, msg));
        }
    }
    if s(c, "image").is_empty() {
        errs.push(required(child(path, "image"), ""));
    }
    match s(c, "terminationMessagePolicy") {
        "File" | "FallbackToLogsOnError" => {}
        "" => errs.push(required(child(path, "terminationMessagePolicy"), "")),
        other => errs.push(not_supported(
            child(path, "terminationMessagePolicy"),
            other,
            &["File", "FallbackToLogsOnError"],
        )),
    }
    validate_ports(list(c, "ports"), &child(path, "ports"), errs);
    validate_env(list(c, "env"), &child(path, "env"), errs);
    validate_env_from(list(c, "envFrom"), &child(path, "envFrom"), errs);
    validate_mounts(c, ctx.volumes, &child(path, "volumeMounts"), errs);
    validate_devices(c, ctx.volumes, &child(path, "volumeDevices"), errs);
    match s(c, "imagePullPolicy") {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => errs.push(required(child(path, "imagePullPolicy"), "")),
        other => errs.push(not_supported(
            child(path, "imagePullPolicy"),
            other,
            &["Always", "IfNotPresent", "Never"],
        )),
    }
    if let Some(r) = get(c, "resources") {
        resources::validate_requirements(r, &child(path, "resources"), errs);
    }
    if let Some(sc) = get(c, "securityContext") {
        validate_security_context(sc, &child(path, "securityContext"), errs);
    }
}

fn validate_ports(ports: &[Value], path: &str, errs: &mut Errs) {
    let mut names_seen: Vec<&str> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let p = index(path, i);
        let name = s(port, "name");
        if !name.is_empty() {
            let msgs = names::port_name(name);
            if !msgs.is_empty() {
                for msg in msgs {
                    errs.push(invalid(child(&p, "name"), name, msg));
                }
            } else if names_seen.contains(&name) {
                errs.push(duplicate(child(&p, "name"), name));
            } else {
                names_seen.push(name);
            }
        }
        match int(port, "containerPort").unwrap_or(0) {
            0 => errs.push(required(child(&p, "containerPort"), "")),
            cp => {
                for msg in names::port_num(cp) {
                    errs.push(invalid(child(&p, "containerPort"), cp, msg));
                }
            }
        }
        if let Some(hp) = int(port, "hostPort").filter(|h| *h != 0) {
            for msg in names::port_num(hp) {
                errs.push(invalid(child(&p, "hostPort"), hp, msg));
            }
        }
        match s(port, "protocol") {
            "" => errs.push(required(child(&p, "protocol"), "")),
            proto if !PROTOCOLS.contains(&proto) => {
                errs.push(not_supported(child(&p, "protocol"), proto, PROTOCOLS));
            }
            _ => {}
        }
    }
}

fn check_host_ports(containers: &[Value], path: &str, errs: &mut Errs) {
    let mut seen: Vec<String> = Vec::new();
    for (ci, c) in containers.iter().enumerate() {
        let ports_path = child(&index(path, ci), "ports");
        for (pi, port) in list(c, "ports").iter().enumerate() {
            let hp = int(port, "hostPort").unwrap_or(0);
            if hp == 0 {
                continue;
            }
            let key = format!("{}/{}/{}", s(port, "protocol"), s(port, "hostIP"), hp);
            if seen.contains(&key) {
                errs.push(duplicate(child(&index(&ports_path, pi), "hostPort"), key));
            } else {
                seen.push(key);
            }
        }
    }
}

fn validate_env(vars: &[Value], path: &str, errs: &mut Errs) {
    for (i, ev) in vars.iter().enumerate() {
        let p = index(path, i);
        let name = s(ev, "name");
        if name.is_empty() {
            errs.push(required(child(&p, "name"), ""));
        } else {
            for msg in names::env_var_name(name) {
                errs.push(invalid(child(&p, "name"), name, msg));
            }
        }
        let Some(from) = get(ev, "valueFrom") else {
            continue;
        };
        let fp = child(&p, "valueFrom");
        let mut n = 0;
        if let Some(fr) = get(from, "fieldRef") {
            n += 1;
            downward::validate_field_selector(fr, ENV_FIELD_PATHS, &child(&fp, "fieldRef"), errs);
        }
        if let Some(rf) = get(from, "resourceFieldRef") {
            n += 1;
            downward::validate_resource_selector(rf, &child(&fp, "resourceFieldRef"), false, errs);
        }
        for kind in ["configMapKeyRef", "secretKeyRef"] {
            if let Some(sel) = get(from, kind) {
                n += 1;
                validate_key_selector(sel, &child(&fp, kind), errs);
            }
        }
        if n == 0 {
            errs.push(invalid(
                &fp,
                "",
                "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            ));
        } else if !s(ev, "value").is_empty() {
            errs.push(invalid(
                &fp,
                "",
                "may not be specified when `value` is not empty",
            ));
        } else if n > 1 {
            errs.push(invalid(
                &fp,
                "",
                "may not have more than one field specified at a time",
            ));
        }
    }
}

fn validate_key_selector(sel: &Value, path: &str, errs: &mut Errs) {
    let name = s(sel, "name");
    for msg in names::dns1123_subdomain(name) {
        errs.push(invalid(child(path, "name"), name, msg));
    }
    let key = s(sel, "key");
    if key.is_empty() {
        errs.push(required(child(path, "key"), ""));
    } else {
        for msg in names::config_map_key(key) {
            errs.push(invalid(child(path, "key"), key, msg));
        }
    }
}

fn validate_env_from(sources: &[Value], path: &str, errs: &mut Errs) {
    for (i, ev) in sources.iter().enumerate() {
        let p = index(path, i);
        let prefix = s(ev, "prefix");
        if !prefix.is_empty() {
            for msg in names::env_var_name(prefix) {
                errs.push(invalid(child(&p, "prefix"), prefix, msg));
            }
        }
        let mut n = 0;
        for kind in ["configMapRef", "secretRef"] {
            let Some(r) = get(ev, kind) else { continue };
            n += 1;
            let name = s(r, "name");
            let np = child(&child(&p, kind), "name");
            if name.is_empty() {
                errs.push(required(np, ""));
            } else {
                for msg in names::subdomain_prefix(name) {
                    errs.push(invalid(&np, name, msg));
                }
            }
        }
        if n == 0 {
            errs.push(invalid(
                path,
                "",
                "must specify one of: `configMapRef` or `secretRef`",
            ));
        } else if n > 1 {
            errs.push(invalid(
                path,
                "",
                "may not have more than one field specified at a time",
            ));
        }
    }
}

fn validate_mounts(c: &Value, known: &[KnownVolume], path: &str, errs: &mut Errs) {
    let privileged =
        access::at(c, &["securityContext", "privileged"]).and_then(Value::as_bool) == Some(true);
    let mut mount_points: Vec<&str> = Vec::new();
    for (i, m) in list(c, "volumeMounts").iter().enumerate() {
        let p = index(path, i);
        let name = s(m, "name");
        if name.is_empty() {
            errs.push(required(child(&p, "name"), ""));
        }
        if !known.iter().any(|k| k.name == name) {
            errs.push(not_found(child(&p, "name"), name));
        }
        let mp = s(m, "mountPath");
        if mp.is_empty() {
            errs.push(required(child(&p, "mountPath"), ""));
        }
        if mount_points.contains(&mp) {
            errs.push(invalid(child(&p, "mountPath"), mp, "must be unique"));
        }
        mount_points.push(mp);
        // Upstream reports sub-path problems against the list, not the item.
        let sub_path = s(m, "subPath");
        if !sub_path.is_empty() {
            volumes::local_descending_path(sub_path, &child(path, "subPath"), errs);
        }
        let sub_expr = s(m, "subPathExpr");
        if !sub_expr.is_empty() {
            if !sub_path.is_empty() {
                errs.push(invalid(
                    child(&p, "subPathExpr"),
                    sub_expr,
                    "subPathExpr and subPath are mutually exclusive",
                ));
            }
            volumes::local_descending_path(sub_expr, &child(path, "subPathExpr"), errs);
        }
        if let Some(mode) = access::opt_s(m, "mountPropagation") {
            let pp = child(path, "mountPropagation");
            const MODES: &[&str] = &["Bidirectional", "HostToContainer", "None"];
            if !MODES.contains(&mode) {
                errs.push(not_supported(&pp, mode, MODES));
            }
            if mode == "Bidirectional" && !privileged {
                errs.push(forbidden(
                    &pp,
                    "Bidirectional mount propagation is available only to privileged containers",
                ));
            }
        }
    }
}

/// Raw block devices must come from claims and not collide with mounts.
fn validate_devices(c: &Value, known: &[KnownVolume], path: &str, errs: &mut Errs) {
    let mounts = list(c, "volumeMounts");
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (i, d) in list(c, "volumeDevices").iter().enumerate() {
        let p = index(path, i);
        let (name, dev_path) = (s(d, "name"), s(d, "devicePath"));
        if name.is_empty() {
            errs.push(required(child(&p, "name"), ""));
        }
        if seen.iter().any(|(n, _)| *n == name) {
            errs.push(invalid(child(&p, "name"), name, "must be unique"));
        }
        match known.iter().find(|k| k.name == name) {
            Some(k) if !k.is_claim => errs.push(invalid(
                child(&p, "name"),
                name,
                "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode",
            )),
            Some(_) => {}
            None => errs.push(not_found(child(&p, "name"), name)),
        }
        if dev_path.is_empty() {
            errs.push(required(child(&p, "devicePath"), ""));
        }
        if seen.iter().any(|(_, dp)| *dp == dev_path) {
            errs.push(invalid(child(&p, "devicePath"), dev_path, "must be unique"));
        }
        if dev_path.split('/').any(|seg| seg == "..") {
            errs.push(invalid(
                child(&p, "devicePath"),
                dev_path,
                "can not contain backsteps ('..')",
            ));
        }
        if mounts.iter().any(|m| s(m, "name") == name) {
            errs.push(invalid(
                child(&p, "name"),
                name,
                "must not already exist in volumeMounts",
            ));
        }
        if mounts.iter().any(|m| s(m, "mountPath") == dev_path) {
            errs.push(invalid(
                child(&p, "devicePath"),
                dev_path,
                "must not already exist as a path in volumeMounts",
            ));
        }
        seen.push((name, dev_path));
    }
}

fn validate_security_context(sc: &Value, path: &str, errs: &mut Errs) {
    for f in ["runAsUser", "runAsGroup"] {
        if let Some(id) = int(sc, f).filter(|id| !(0..=MAX_ID).contains(id)) {
            errs.push(invalid(
                child(path, f),
                id,
                names::inclusive_range_error(0, MAX_ID),
            ));
        }
    }
    if let Some(pm) = access::opt_s(sc, "procMount")
        && pm != "Default"
        && pm != "Unmasked"
    {
        errs.push(not_supported(
            child(path, "procMount"),
            pm,
            &["Default", "Unmasked"],
        ));
    }
    super::podspec::validate_seccomp(
        get(sc, "seccompProfile"),
        &child(path, "seccompProfile"),
        errs,
    );
    if access::boolean(sc, "allowPrivilegeEscalation") == Some(false) {
        if access::boolean(sc, "privileged") == Some(true) {
            errs.push(invalid(
                path,
                sc,
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
            ));
        }
        let caps = access::at(sc, &["capabilities", "add"])
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        if caps.iter().any(|c| c.as_str() == Some("CAP_SYS_ADMIN")) {
            errs.push(invalid(
                path,
                sc,
                "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
            ));
        }
    }
}
