//! Probes, lifecycle hooks and their handlers, plus IntOrString ports.

use serde_json::Value;

use super::access::{self, get, int, list, s};
use super::errors::{Errs, child, forbidden, invalid, not_supported, required};
use super::names;

#[derive(Clone, Copy, PartialEq, Eq)]
enum ProbeKind {
    Liveness,
    Readiness,
    Startup,
}

pub(crate) fn validate_probes(c: &Value, grace: Option<i64>, path: &str, errs: &mut Errs) {
    for (field, kind) in [
        ("livenessProbe", ProbeKind::Liveness),
        ("readinessProbe", ProbeKind::Readiness),
        ("startupProbe", ProbeKind::Startup),
    ] {
        if let Some(probe) = get(c, field) {
            validate_probe(probe, kind, grace, &child(path, field), errs);
        }
    }
}

fn validate_probe(probe: &Value, kind: ProbeKind, grace: Option<i64>, path: &str, errs: &mut Errs) {
    validate_handler(probe, false, grace, path, errs);
    for f in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        super::meta::nonneg(errs, &child(path, f), int(probe, f));
    }
    let tgps = get(probe, "terminationGracePeriodSeconds");
    if let Some(t) = tgps.and_then(access::as_int).filter(|t| *t <= 0) {
        errs.push(invalid(
            child(path, "terminationGracePeriodSeconds"),
            t,
            "must be greater than 0",
        ));
    }
    match kind {
        ProbeKind::Readiness => {
            if let Some(t) = tgps {
                errs.push(invalid(
                    child(path, "terminationGracePeriodSeconds"),
                    t,
                    "must not be set for readinessProbes",
                ));
            }
        }
        ProbeKind::Liveness | ProbeKind::Startup => {
            let st = int(probe, "successThreshold").unwrap_or(0);
            if st != 1 {
                errs.push(invalid(child(path, "successThreshold"), st, "must be 1"));
            }
        }
    }
}

pub(crate) fn validate_lifecycle(lc: &Value, grace: Option<i64>, path: &str, errs: &mut Errs) {
    for hook in ["postStart", "preStop"] {
        if let Some(h) = get(lc, hook) {
            validate_handler(h, true, grace, &child(path, hook), errs);
        }
    }
}

/// Exactly one handler type; `sleep` only exists on lifecycle hooks and
/// `grpc` only on probes.
fn validate_handler(h: &Value, lifecycle: bool, grace: Option<i64>, path: &str, errs: &mut Errs) {
    let kinds: &[&str] = if lifecycle {
        &["exec", "httpGet", "tcpSocket", "sleep"]
    } else {
        &["exec", "httpGet", "tcpSocket", "grpc"]
    };
    let mut n = 0;
    for kind in kinds {
        let Some(v) = get(h, kind) else { continue };
        let p = child(path, kind);
        if n > 0 {
            errs.push(forbidden(p, "may not specify more than 1 handler type"));
            continue;
        }
        n += 1;
        match *kind {
            "exec" => {
                if list(v, "command").is_empty() {
                    errs.push(required(child(&p, "command"), ""));
                }
            }
            "httpGet" => {
                if s(v, "path").is_empty() {
                    errs.push(required(child(&p, "path"), ""));
                }
                port_num_or_name(get(v, "port"), &child(&p, "port"), errs);
                let scheme = s(v, "scheme");
                if !["HTTP", "HTTPS"].contains(&scheme) {
                    errs.push(not_supported(
                        child(&p, "scheme"),
                        scheme,
                        &["HTTP", "HTTPS"],
                    ));
                }
                for hdr in list(v, "httpHeaders") {
                    for msg in names::http_header_name(s(hdr, "name")) {
                        errs.push(invalid(child(&p, "httpHeaders"), s(hdr, "name"), msg));
                    }
                }
            }
            "tcpSocket" => port_num_or_name(get(v, "port"), &child(&p, "port"), errs),
            "grpc" => {
                let port = int(v, "port").unwrap_or(0);
                for msg in names::port_num(port) {
                    errs.push(invalid(child(&p, "port"), port, msg));
                }
            }
            _ => {
                let secs = int(v, "seconds").unwrap_or(0);
                let g = grace.unwrap_or(0);
                if secs <= 0 || secs > g {
                    errs.push(invalid(
                        &p,
                        secs,
                        format!(
                            "must be greater than 0 and less than terminationGracePeriodSeconds ({g})"
                        ),
                    ));
                }
            }
        }
    }
    if n == 0 {
        errs.push(required(path, "must specify a handler type"));
    }
}

/// An IntOrString port: numbers must be in range, strings must be IANA names.
pub(crate) fn port_num_or_name(port: Option<&Value>, path: &str, errs: &mut Errs) {
    match port {
        Some(Value::String(name)) => {
            for msg in names::port_name(name) {
                errs.push(invalid(path, name.as_str(), msg));
            }
        }
        other => {
            let n = other.and_then(access::as_int).unwrap_or(0);
            for msg in names::port_num(n) {
                errs.push(invalid(path, n, msg));
            }
        }
    }
}
