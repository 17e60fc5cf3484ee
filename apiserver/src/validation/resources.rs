//! Compute resource requirements: resource names, quantity syntax and sign,
//! requests not exceeding limits, and the stricter rules for hugepages and
//! extended resources, which cannot be overcommitted.

use serde_json::{Map, Value};

use super::access::map;
use super::errors::{Bad, Errs, child, forbidden, invalid, key, required};
use super::meta::NEGATIVE_MSG;
use super::names;
use super::quantity::{self, Quantity};

const STANDARD_RESOURCES: &[&str] = &[
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "storage",
    "requests.storage",
    "services.nodeports",
    "services.loadbalancers",
];
const INTEGER_RESOURCES: &[&str] = &[
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
];

fn is_hugepage(name: &str) -> bool {
    name.starts_with("hugepages-")
}

fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

fn is_extended(name: &str) -> bool {
    !is_native(name)
        && !name.starts_with("requests.")
        && names::qualified_name(&format!("requests.{name}")).is_empty()
}

/// Native resources other than hugepages may be requested below their limit.
pub(crate) fn overcommit_allowed(name: &str) -> bool {
    is_native(name) && !is_hugepage(name)
}

/// Parses a quantity, reporting syntax errors at `path`.
pub(crate) fn parse_at(v: &Value, path: &str, errs: &mut Errs) -> Option<Quantity> {
    let q = quantity::from_json(v);
    if q.is_none() {
        errs.push(invalid(path, v, quantity::QUANTITY_ERROR));
    }
    q
}

/// `ValidateResourceQuantityValue`: non-negative, whole for countable resources.
pub(crate) fn validate_quantity_value(name: &str, q: &Quantity, path: &str, errs: &mut Errs) {
    if q.is_negative() {
        errs.push(invalid(path, q.canonical(), NEGATIVE_MSG));
    }
    let integer = INTEGER_RESOURCES.contains(&name) || is_extended(name);
    if integer && q.nanos() % 1_000_000_000 != 0 {
        errs.push(invalid(path, Bad::Raw(q.canonical()), "must be an integer"));
    }
}

fn validate_resource_name(name: &str, path: &str, errs: &mut Errs) {
    let msgs = names::qualified_name(name);
    if !msgs.is_empty() {
        for msg in msgs {
            errs.push(invalid(path, name, msg));
        }
        return;
    }
    if !name.contains('/')
        && !STANDARD_RESOURCES.contains(&name)
        && !is_hugepage(name)
        && !name.starts_with("requests.hugepages-")
    {
        errs.push(invalid(
            path,
            name,
            "must be a standard resource type or fully qualified",
        ));
    }
}

fn validate_container_resource_name(name: &str, path: &str, errs: &mut Errs) {
    validate_resource_name(name, path, errs);
    if !name.contains('/') {
        if !["cpu", "memory", "ephemeral-storage"].contains(&name) && !is_hugepage(name) {
            errs.push(invalid(
                path,
                name,
                "must be a standard resource for containers",
            ));
        }
    } else if !is_native(name) && !is_extended(name) {
        errs.push(invalid(
            path,
            name,
            "doesn't follow extended resource name standard",
        ));
    }
}

fn hugepage_divisible(name: &str, q: &Quantity) -> bool {
    let Some(page) = name.strip_prefix("hugepages-").and_then(quantity::parse) else {
        return false;
    };
    let page_nanos = page.nanos();
    if page_nanos <= 0 || page_nanos % 1_000_000_000 != 0 {
        return false;
    }
    let whole = q.whole_units() * 1_000_000_000;
    whole % page_nanos == 0
}

struct Scan {
    cpu_or_memory: bool,
    hugepages: bool,
}

fn scan(list: Option<&Map<String, Value>>, path: &str, errs: &mut Errs) -> Scan {
    let mut out = Scan {
        cpu_or_memory: false,
        hugepages: false,
    };
    for (name, v) in list.into_iter().flatten() {
        let p = key(path, name);
        validate_container_resource_name(name, &p, errs);
        let Some(q) = parse_at(v, &p, errs) else {
            continue;
        };
        validate_quantity_value(name, &q, &p, errs);
        if is_hugepage(name) {
            out.hugepages = true;
            if !hugepage_divisible(name, &q) {
                errs.push(invalid(
                    &p,
                    q.canonical(),
                    format!(
                        "{} is not positive integer multiple of {name}",
                        q.canonical()
                    ),
                ));
            }
        }
        if name == "cpu" || name == "memory" {
            out.cpu_or_memory = true;
        }
    }
    out
}

/// `ValidateResourceRequirements` for a container's `resources`.
pub(crate) fn validate_requirements(r: &Value, path: &str, errs: &mut Errs) {
    let lim_path = child(path, "limits");
    let req_path = child(path, "requests");
    let limits = map(r, "limits");
    let requests = map(r, "requests");
    let lim = scan(limits, &lim_path, errs);
    // Requests are re-scanned separately so their errors follow the limits'.
    let req = scan(requests, &req_path, errs);
    for (name, v) in requests.into_iter().flatten() {
        let Some(q) = quantity::from_json(v) else {
            continue;
        };
        match limits
            .and_then(|l| l.get(name))
            .and_then(quantity::from_json)
        {
            Some(limit) => {
                if q != limit && !overcommit_allowed(name) {
                    errs.push(invalid(
                        &req_path,
                        q.canonical(),
                        format!("must be equal to {name} limit of {}", limit.canonical()),
                    ));
                } else if q.cmp_value(&limit).is_gt() {
                    errs.push(invalid(
                        &req_path,
                        q.canonical(),
                        format!(
                            "must be less than or equal to {name} limit of {}",
                            limit.canonical()
                        ),
                    ));
                }
            }
            None if !overcommit_allowed(name) => errs.push(required(
                &lim_path,
                "Limit must be set for non overcommitable resources",
            )),
            None => {}
        }
    }
    if !lim.cpu_or_memory && !req.cpu_or_memory && (lim.hugepages || req.hugepages) {
        errs.push(forbidden(path, "HugePages require cpu or memory"));
    }
}
