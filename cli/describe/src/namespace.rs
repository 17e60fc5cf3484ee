//! The Namespace layout, with the ResourceQuotas and LimitRanges that constrain it.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::json::{arr_at, map_at, of_kind, str_at, strings_at};
use crate::meta::Cell::{Text, Time};
use crate::meta::{self, ConditionsTable};
use crate::quantity;
use crate::writer::Writer;

const CONDITIONS: ConditionsTable = ConditionsTable {
    header: "Type\tStatus\tLastTransitionTime\tReason\tMessage",
    rule: "----\t------\t------------------\t------\t-------",
    cells: &[
        Text("/type"),
        Text("/status"),
        Time("/lastTransitionTime"),
        Text("/reason"),
        Text("/message"),
    ],
    separator: "\t",
};

/// kubectl's describer shows no Events for namespaces, only quotas and limit ranges, so
/// neither does this one.
pub(crate) fn describe_namespace(w: &mut Writer, ns: &Value, related: &[Value]) {
    let name = str_at(ns, "/metadata/name");
    w.line(0, format_args!("Name:\t{name}"));
    meta::labels_and_annotations(w, ns);
    w.line(0, format_args!("Status:\t{}", str_at(ns, "/status/phase")));
    meta::conditions_table(w, arr_at(ns, "/status/conditions"), &CONDITIONS);
    let in_namespace = |o: &&Value| {
        let ns = str_at(o, "/metadata/namespace");
        ns.is_empty() || ns == name
    };
    let mut quotas: Vec<&Value> = of_kind(related, "ResourceQuota")
        .filter(in_namespace)
        .collect();
    quotas.sort_by(|a, b| str_at(a, "/metadata/name").cmp(str_at(b, "/metadata/name")));
    w.line(0, "");
    resource_quotas(w, &quotas);
    let limits: Vec<&Value> = of_kind(related, "LimitRange")
        .filter(in_namespace)
        .collect();
    w.line(0, "");
    limit_ranges(w, &limits);
}

fn scope_help(scope: &str) -> &'static str {
    match scope {
        "Terminating" => {
            "Matches all pods that have an active deadline. These pods have a limited lifespan on a node before being actively terminated by the system."
        }
        "NotTerminating" => {
            "Matches all pods that do not have an active deadline. These pods usually include long running pods whose container command is not expected to terminate."
        }
        "BestEffort" => {
            "Matches all pods that do not have resource requirements set. These pods have a best effort quality of service."
        }
        "NotBestEffort" => {
            "Matches all pods that have at least one resource requirement set. These pods have a burstable or guaranteed quality of service."
        }
        _ => "",
    }
}

fn resource_quotas(w: &mut Writer, quotas: &[&Value]) {
    if quotas.is_empty() {
        w.line(0, "No resource quota.");
        return;
    }
    w.line(0, "Resource Quotas");
    for q in quotas {
        w.line(1, format_args!("Name:\t{}", str_at(q, "/metadata/name")));
        let mut scopes = strings_at(q, "/spec/scopes");
        if !scopes.is_empty() {
            scopes.sort();
            w.line(1, format_args!("Scopes:\t{}", scopes.join(", ")));
            for scope in &scopes {
                let help = scope_help(scope);
                if !help.is_empty() {
                    w.line(1, format_args!("* {help}"));
                }
            }
        }
        w.line(1, "Resource\tUsed\tHard");
        w.line(1, "--------\t---\t---");
        let hard = map_at(q, "/status/hard");
        let mut names: Vec<&String> = hard.into_iter().flatten().map(|(k, _)| k).collect();
        names.sort();
        for name in names {
            let used = q
                .pointer(&format!(
                    "/status/used/{}",
                    name.replace('~', "~0").replace('/', "~1")
                ))
                .map_or_else(|| "0".to_string(), quantity::display);
            let hard_value = hard
                .and_then(|m| m.get(name))
                .map(quantity::display)
                .unwrap_or_default();
            w.line(1, format_args!("{name}\t{used}\t{hard_value}"));
        }
    }
}

fn limit_ranges(w: &mut Writer, ranges: &[&Value]) {
    if ranges.is_empty() {
        w.line(0, "No LimitRange resource.");
        return;
    }
    w.line(
        0,
        "Resource Limits\n Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio",
    );
    w.line(
        0,
        " ----\t--------\t---\t---\t---------------\t-------------\t-----------------------",
    );
    const COLUMNS: [&str; 5] = [
        "min",
        "max",
        "defaultRequest",
        "default",
        "maxLimitRequestRatio",
    ];
    for range in ranges {
        for item in arr_at(range, "/spec/limits") {
            let names: BTreeSet<&String> = COLUMNS
                .iter()
                .flat_map(|c| {
                    map_at(item, &format!("/{c}"))
                        .into_iter()
                        .flatten()
                        .map(|(k, _)| k)
                })
                .collect();
            for name in names {
                let cells: Vec<String> = COLUMNS
                    .iter()
                    .map(|c| {
                        map_at(item, &format!("/{c}"))
                            .and_then(|m| m.get(name))
                            .map_or_else(|| "-".to_string(), quantity::display)
                    })
                    .collect();
                w.line(
                    0,
                    format_args!(" {}\t{name}\t{}", str_at(item, "/type"), cells.join("\t")),
                );
            }
        }
    }
}
