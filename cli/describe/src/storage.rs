//! PersistentVolumeClaim and PersistentVolume layouts.

use capstan_api_types::printing::access_modes;
use capstan_api_types::time::{Nanos, human_age};
use serde_json::Value;

use crate::events::write_events;
use crate::json::{arr_at, of_kind, opt_str, opt_time, str_at, strings_at};
use crate::meta::Cell::{Text, Time};
use crate::meta::{self, ConditionsTable, entry_lines, go_list};
use crate::volumes;
use crate::writer::Writer;
use crate::{Context, quantity};

/// The legacy annotation that overrides `storageClassName` when present.
const BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

/// kubectl underlines LastProbeTime as wide as the node table's LastHeartbeatTime.
const CLAIM_CONDITIONS: ConditionsTable = ConditionsTable {
    header: "Type\tStatus\tLastProbeTime\tLastTransitionTime\tReason\tMessage",
    rule: "----\t------\t-----------------\t------------------\t------\t-------",
    cells: &[
        Text("/type"),
        Text("/status"),
        Time("/lastProbeTime"),
        Time("/lastTransitionTime"),
        Text("/reason"),
        Text("/message"),
    ],
    separator: " \t",
};

pub(crate) fn describe_claim(w: &mut Writer, pvc: &Value, cx: &Context<'_>) {
    claim_fields(w, pvc, Some(cx.now));
    let users = claim_users(pvc, cx.related);
    w.write(0, "Used By:\t");
    entry_lines(w, users, |w| w.write(0, "\t"), |w, name| w.line(0, name));
    meta::conditions_table(w, arr_at(pvc, "/status/conditions"), &CLAIM_CONDITIONS);
    write_events(w, cx.events, cx.now);
}

/// The fields a claim and an ephemeral volume's claim template share. A stored claim (given the
/// time its age is measured at) adds name, namespace, status and finalizers, which a template
/// does not have.
pub(crate) fn claim_fields(w: &mut Writer, pvc: &Value, stored: Option<Nanos>) {
    let full = stored.is_some();
    if full {
        meta::name_namespace(w, pvc);
    }
    w.line(0, format_args!("StorageClass:\t{}", claim_class(pvc)));
    if let Some(now) = stored {
        status_line(w, pvc, now);
    }
    let volume = str_at(pvc, "/spec/volumeName");
    w.line(0, format_args!("Volume:\t{volume}"));
    meta::labels_and_annotations(w, pvc);
    if full {
        finalizers(w, pvc);
    }
    // Until bound, a claim has no capacity or access modes of its own to show.
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        let capacity = pvc
            .pointer("/status/capacity/storage")
            .map_or_else(|| "0".to_string(), quantity::display);
        (capacity, access_modes(arr_at(pvc, "/status/accessModes")))
    };
    w.line(0, format_args!("Capacity:\t{capacity}"));
    w.line(0, format_args!("Access Modes:\t{modes}"));
    if let Some(mode) = opt_str(pvc, "/spec/volumeMode") {
        w.line(0, format_args!("VolumeMode:\t{mode}"));
    }
    if let Some(ds) = pvc.pointer("/spec/dataSource").filter(|v| !v.is_null()) {
        w.line(0, "DataSource:");
        if let Some(group) = opt_str(ds, "/apiGroup") {
            w.line(1, format_args!("APIGroup:\t{group}"));
        }
        w.line(1, format_args!("Kind:\t{}", str_at(ds, "/kind")));
        w.line(1, format_args!("Name:\t{}", str_at(ds, "/name")));
    }
}

/// "Status:\tBound", or "Terminating (lasts 5m)" once deletion started.
fn status_line(w: &mut Writer, obj: &Value, now: Nanos) {
    match opt_time(obj, "/metadata/deletionTimestamp") {
        Some(t) => w.line(
            0,
            format_args!("Status:\tTerminating (lasts {})", human_age(t, now)),
        ),
        None => w.line(0, format_args!("Status:\t{}", str_at(obj, "/status/phase"))),
    }
}

fn finalizers(w: &mut Writer, obj: &Value) {
    w.line(
        0,
        format_args!(
            "Finalizers:\t{}",
            go_list(&strings_at(obj, "/metadata/finalizers"))
        ),
    );
}

/// The claim's storage class: the beta annotation wins over the field, as in kubectl.
pub(crate) fn claim_class(pvc: &Value) -> &str {
    match pvc.pointer(&format!(
        "/metadata/annotations/{}",
        BETA_STORAGE_CLASS.replace('/', "~1")
    )) {
        Some(Value::String(class)) => class,
        _ => str_at(pvc, "/spec/storageClassName"),
    }
}

/// Names of the pods in `related` that mount the claim or own it, sorted.
fn claim_users(pvc: &Value, related: &[Value]) -> Vec<String> {
    let name = str_at(pvc, "/metadata/name");
    let namespace = str_at(pvc, "/metadata/namespace");
    let owners: Vec<&str> = arr_at(pvc, "/metadata/ownerReferences")
        .iter()
        .filter(|r| str_at(r, "/kind") == "Pod")
        .map(|r| str_at(r, "/uid"))
        .collect();
    let mut users: Vec<String> = of_kind(related, "Pod")
        .filter(|p| {
            let pod_ns = str_at(p, "/metadata/namespace");
            pod_ns.is_empty() || namespace.is_empty() || pod_ns == namespace
        })
        .filter(|p| {
            let mounts = arr_at(p, "/spec/volumes")
                .iter()
                .any(|v| str_at(v, "/persistentVolumeClaim/claimName") == name);
            let uid = str_at(p, "/metadata/uid");
            mounts || (!uid.is_empty() && owners.contains(&uid))
        })
        .map(|p| str_at(p, "/metadata/name").to_string())
        .collect();
    users.sort();
    users.dedup();
    users
}

pub(crate) fn describe_volume(w: &mut Writer, pv: &Value, cx: &Context<'_>) {
    w.line(0, format_args!("Name:\t{}", str_at(pv, "/metadata/name")));
    meta::labels_and_annotations(w, pv);
    finalizers(w, pv);
    w.line(0, format_args!("StorageClass:\t{}", claim_class(pv)));
    status_line(w, pv, cx.now);
    let claim = match pv.pointer("/spec/claimRef").filter(|v| !v.is_null()) {
        Some(r) => format!("{}/{}", str_at(r, "/namespace"), str_at(r, "/name")),
        None => String::new(),
    };
    w.line(0, format_args!("Claim:\t{claim}"));
    w.line(
        0,
        format_args!(
            "Reclaim Policy:\t{}",
            str_at(pv, "/spec/persistentVolumeReclaimPolicy")
        ),
    );
    w.line(
        0,
        format_args!(
            "Access Modes:\t{}",
            access_modes(arr_at(pv, "/spec/accessModes"))
        ),
    );
    if let Some(mode) = opt_str(pv, "/spec/volumeMode") {
        w.line(0, format_args!("VolumeMode:\t{mode}"));
    }
    let capacity = pv
        .pointer("/spec/capacity/storage")
        .map_or_else(|| "0".to_string(), quantity::display);
    w.line(0, format_args!("Capacity:\t{capacity}"));
    node_affinity(w, pv);
    w.line(
        0,
        format_args!("Message:\t{}", str_at(pv, "/status/message")),
    );
    w.line(0, "Source:");
    if !volumes::source(w, &pv["spec"], true) {
        w.line(1, "<unknown>");
    }
    write_events(w, cx.events, cx.now);
}

fn node_affinity(w: &mut Writer, pv: &Value) {
    w.write(0, "Node Affinity:\t");
    let Some(required) = pv
        .pointer("/spec/nodeAffinity/required")
        .filter(|v| !v.is_null())
    else {
        w.line(0, "<none>");
        return;
    };
    w.line(0, "");
    w.write(1, "Required Terms:\t");
    let terms = arr_at(required, "/nodeSelectorTerms");
    if terms.is_empty() {
        w.line(0, "<none>");
        return;
    }
    w.line(0, "");
    for (i, term) in terms.iter().enumerate() {
        w.write(2, format_args!("Term {i}:\t"));
        entry_lines(
            w,
            arr_at(term, "/matchExpressions"),
            |w| w.write(2, "\t"),
            |w, req| w.line(0, node_selector_requirement(req)),
        );
    }
}

/// "key in [a, b]", as kubectl prints a node selector requirement.
fn node_selector_requirement(req: &Value) -> String {
    let mut text = format!(
        "{} {}",
        str_at(req, "/key"),
        str_at(req, "/operator").to_lowercase()
    );
    let values = strings_at(req, "/values");
    if !values.is_empty() {
        text.push_str(&format!(" [{}]", values.join(", ")));
    }
    text
}
