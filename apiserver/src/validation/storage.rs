//! PersistentVolume and PersistentVolumeClaim validation, including the
//! claim spec shared with ephemeral volumes and StatefulSet templates.

use serde_json::Value;

use super::access::{self, get, list, map, s};
use super::core::parse_quantity_map;
use super::errors::{Bad, Errs, child, forbidden, invalid, key, not_supported, required};
use super::gofmt;
use super::meta::{self, IMMUTABLE_MSG, MetaRules};
use super::names::{self, NameRule};
use super::pod::diff;
use super::resources;
use super::sched;

const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];
const VOLUME_MODES: &[&str] = &["Block", "Filesystem"];
const RECLAIM_POLICIES: &[&str] = &["Delete", "Recycle", "Retain"];

/// Persistent volume sources; exactly one must be set and none may change.
const PV_SOURCES: &[&str] = &[
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "glusterfs",
    "flocker",
    "nfs",
    "rbd",
    "quobyte",
    "cephfs",
    "iscsi",
    "cinder",
    "fc",
    "flexVolume",
    "azureFile",
    "vsphereVolume",
    "photonPersistentDisk",
    "portworxVolume",
    "azureDisk",
    "scaleIO",
    "local",
    "storageos",
    "csi",
];

static NULL: Value = Value::Null;

fn validate_access_modes(spec: &Value, path: &str, errs: &mut Errs) {
    let mut rwop = false;
    let mut other = false;
    for mode in list(spec, "accessModes") {
        let mode = access::scalar_string(mode);
        if !ACCESS_MODES.contains(&mode.as_str()) {
            errs.push(not_supported(path, mode.as_str(), ACCESS_MODES));
        } else if mode == "ReadWriteOncePod" {
            rwop = true;
        } else {
            other = true;
        }
    }
    if rwop && other {
        errs.push(forbidden(
            path,
            "may not use ReadWriteOncePod with other access modes",
        ));
    }
}

pub(crate) fn validate_pv(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::cluster(NameRule::Subdomain), errs);
    let spec = get(obj, "spec").unwrap_or(&NULL);
    let path = "spec";
    if list(spec, "accessModes").is_empty() {
        errs.push(required(child(path, "accessModes"), ""));
    }
    validate_access_modes(spec, &child(path, "accessModes"), errs);
    let cap_path = child(path, "capacity");
    let capacity = map(spec, "capacity");
    if capacity.is_none_or(|c| c.is_empty()) {
        errs.push(required(&cap_path, ""));
    }
    if capacity.is_none_or(|c| !c.contains_key("storage") || c.len() > 1) {
        let rendered = capacity.map_or("core.ResourceList(nil)".to_string(), |c| {
            gofmt::json(&Value::Object(c.clone()))
        });
        errs.push(not_supported(&cap_path, Bad::Raw(rendered), &["storage"]));
    }
    for (name, q) in parse_quantity_map(capacity, &cap_path, errs) {
        let p = key(&cap_path, &name);
        if q.is_negative() {
            errs.push(invalid(
                &p,
                Bad::Raw(q.whole_units().to_string()),
                "must be a valid resource quantity",
            ));
        }
        if !q.is_positive() {
            errs.push(invalid(&p, q.canonical(), "must be greater than zero"));
        }
    }
    if let Some(p) = access::opt_s(spec, "persistentVolumeReclaimPolicy")
        && !p.is_empty()
        && !RECLAIM_POLICIES.contains(&p)
    {
        errs.push(not_supported(
            child(path, "persistentVolumeReclaimPolicy"),
            p,
            RECLAIM_POLICIES,
        ));
    }
    let affinity = get(spec, "nodeAffinity");
    if let Some(na) = affinity {
        let ap = child(path, "nodeAffinity");
        match get(na, "required") {
            Some(req) => sched::validate_node_selector(req, &child(&ap, "required"), errs),
            None => errs.push(required(
                child(&ap, "required"),
                "must specify required node constraints",
            )),
        }
    }
    let mut count = 0;
    for src in PV_SOURCES {
        let Some(v) = get(spec, src) else { continue };
        if count > 0 && *src != "flexVolume" {
            errs.push(forbidden(
                child(path, src),
                "may not specify more than 1 volume type",
            ));
            continue;
        }
        count += 1;
        validate_pv_source(src, v, &child(path, src), affinity.is_some(), errs);
    }
    if count == 0 {
        errs.push(required(path, "must specify a volume type"));
    }
    let host_root = access::at(spec, &["hostPath", "path"])
        .and_then(Value::as_str)
        .is_some_and(|p| p.trim_end_matches('/').is_empty() && !p.is_empty());
    if host_root && s(spec, "persistentVolumeReclaimPolicy") == "Recycle" {
        errs.push(forbidden(
            child(path, "persistentVolumeReclaimPolicy"),
            "may not be 'recycle' for a hostPath mount of '/'",
        ));
    }
    validate_class_name(spec, path, errs);
    if let Some(m) = access::opt_s(spec, "volumeMode").filter(|m| !VOLUME_MODES.contains(m)) {
        errs.push(not_supported(child(path, "volumeMode"), m, VOLUME_MODES));
    }
}

fn validate_pv_source(src: &str, v: &Value, path: &str, has_affinity: bool, errs: &mut Errs) {
    let require = |field: &str, errs: &mut Errs| {
        if s(v, field).is_empty() {
            errs.push(required(child(path, field), ""));
        }
    };
    match src {
        "hostPath" => {
            if s(v, "path").is_empty() {
                errs.push(required(child(path, "path"), ""));
            } else {
                super::volumes::path_no_backsteps(s(v, "path"), &child(path, "path"), errs);
            }
        }
        "nfs" => {
            require("server", errs);
            require("path", errs);
            if !s(v, "path").starts_with('/') {
                errs.push(invalid(
                    child(path, "path"),
                    s(v, "path"),
                    "must be an absolute path",
                ));
            }
        }
        "local" => {
            if s(v, "path").is_empty() {
                errs.push(required(child(path, "path"), ""));
            } else {
                super::volumes::path_no_backsteps(s(v, "path"), &child(path, "path"), errs);
            }
            if !has_affinity {
                errs.push(required(
                    "spec.nodeAffinity",
                    "Local volume requires node affinity",
                ));
            }
        }
        "csi" => {
            require("driver", errs);
            require("volumeHandle", errs);
        }
        "iscsi" => {
            require("targetPortal", errs);
            require("iqn", errs);
        }
        "glusterfs" => {
            require("endpoints", errs);
            require("path", errs);
        }
        "rbd" | "cephfs" if list(v, "monitors").is_empty() => {
            errs.push(required(child(path, "monitors"), ""));
        }
        "awsElasticBlockStore" | "cinder" | "portworxVolume" => require("volumeID", errs),
        "gcePersistentDisk" => require("pdName", errs),
        "flexVolume" => require("driver", errs),
        _ => {}
    }
}

fn validate_class_name(spec: &Value, path: &str, errs: &mut Errs) {
    let class = s(spec, "storageClassName");
    if !class.is_empty() {
        for msg in names::dns1123_subdomain(class) {
            errs.push(invalid(child(path, "storageClassName"), class, msg));
        }
    }
}

pub(crate) fn validate_pv_update(new: &Value, old: &Value, errs: &mut Errs) {
    meta::validate_object_meta_update(new, old, true, errs);
    validate_pv(new, errs);
    let (ns, os) = (
        get(new, "spec").unwrap_or(&NULL),
        get(old, "spec").unwrap_or(&NULL),
    );
    let mut changed = Vec::new();
    for src in PV_SOURCES {
        let mut n = get(ns, src).cloned();
        // Adding an expansion secret to a CSI volume is the one allowed change.
        if *src == "csi"
            && access::at(os, &["csi", "controllerExpandSecretRef"]).is_none()
            && let Some(Value::Object(o)) = n.as_mut()
        {
            o.remove("controllerExpandSecretRef");
        }
        diff(get(os, src), n.as_ref(), &child("spec", src), &mut changed);
    }
    if !changed.is_empty() {
        errs.push(forbidden(
            "spec.persistentvolumesource",
            format!(
                "spec.persistentvolumesource is immutable after creation\n{}",
                changed.join("\n")
            ),
        ));
    }
    if !access::sem_eq(get(ns, "volumeMode"), get(os, "volumeMode")) {
        errs.push(invalid("volumeMode", get(ns, "volumeMode"), IMMUTABLE_MSG));
    }
    if access::is_set(os, "nodeAffinity")
        && !access::sem_eq(get(ns, "nodeAffinity"), get(os, "nodeAffinity"))
    {
        errs.push(invalid(
            "nodeAffinity",
            get(ns, "nodeAffinity"),
            IMMUTABLE_MSG,
        ));
    }
}

pub(crate) fn validate_pvc(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::namespaced(NameRule::Subdomain), errs);
    validate_claim_spec(get(obj, "spec").unwrap_or(&NULL), "spec", errs);
}

/// `ValidatePersistentVolumeClaimSpec`.
pub(crate) fn validate_claim_spec(spec: &Value, path: &str, errs: &mut Errs) {
    if list(spec, "accessModes").is_empty() {
        errs.push(required(
            child(path, "accessModes"),
            "at least 1 access mode is required",
        ));
    }
    meta::validate_label_selector(get(spec, "selector"), &child(path, "selector"), errs);
    validate_access_modes(spec, &child(path, "accessModes"), errs);
    // Upstream reports the storage request as `resources[storage]`.
    let storage_path = key(&child(path, "resources"), "storage");
    match access::at(spec, &["resources", "requests", "storage"]) {
        None => errs.push(required(&storage_path, "")),
        Some(v) => {
            if let Some(q) = resources::parse_at(v, &storage_path, errs) {
                if !q.is_positive() {
                    errs.push(invalid(
                        &storage_path,
                        q.canonical(),
                        "must be greater than zero",
                    ));
                } else {
                    resources::validate_quantity_value("storage", &q, &storage_path, errs);
                }
            }
        }
    }
    validate_class_name(spec, path, errs);
    if let Some(m) = access::opt_s(spec, "volumeMode").filter(|m| !VOLUME_MODES.contains(m)) {
        errs.push(not_supported(child(path, "volumeMode"), m, VOLUME_MODES));
    }
    for field in ["dataSource", "dataSourceRef"] {
        let Some(ds) = get(spec, field) else { continue };
        let p = child(path, field);
        for f in ["name", "kind"] {
            if s(ds, f).is_empty() {
                errs.push(required(child(&p, f), ""));
            }
        }
        if s(ds, "apiGroup").is_empty() && s(ds, "kind") != "PersistentVolumeClaim" {
            errs.push(invalid(
                &p,
                s(ds, "kind"),
                "must be 'PersistentVolumeClaim' when referencing the default apiGroup",
            ));
        }
    }
}

pub(crate) fn validate_pvc_update(new: &Value, old: &Value, errs: &mut Errs) {
    meta::validate_object_meta_update(new, old, true, errs);
    validate_pvc(new, errs);
    let (ns, os) = (
        get(new, "spec").unwrap_or(&NULL),
        get(old, "spec").unwrap_or(&NULL),
    );
    let mut munged = ns.clone();
    if let Some(m) = munged.as_object_mut() {
        // The binder may set volumeName once; a nil class may be set once.
        if s(os, "volumeName").is_empty() {
            set_or_remove(m, "volumeName", get(os, "volumeName"));
        }
        if !access::is_set(os, "storageClassName") {
            set_or_remove(m, "storageClassName", get(os, "storageClassName"));
        }
        set_or_remove(
            m,
            "volumeAttributesClassName",
            get(os, "volumeAttributesClassName"),
        );
        let bound = access::at(new, &["status", "phase"]).and_then(Value::as_str) == Some("Bound");
        if bound
            && let Some(Value::Object(req)) = m
                .get_mut("resources")
                .and_then(|r| r.as_object_mut())
                .and_then(|r| r.get_mut("requests"))
        {
            match access::at(os, &["resources", "requests", "storage"]) {
                Some(v) => req.insert("storage".to_string(), v.clone()),
                None => req.remove("storage"),
            };
        }
    }
    if !access::sem_eq(Some(&munged), Some(os)) {
        let mut lines = Vec::new();
        diff(Some(os), Some(&munged), "spec", &mut lines);
        errs.push(forbidden(
            "spec",
            format!(
                "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n{}",
                lines.join("\n")
            ),
        ));
    }
    let size = |spec: &Value| {
        access::at(spec, &["resources", "requests", "storage"]).and_then(super::quantity::from_json)
    };
    let status_size =
        access::at(old, &["status", "capacity", "storage"]).and_then(super::quantity::from_json);
    if let (Some(n), Some(o)) = (size(ns), size(os)) {
        let below_status = status_size.is_some_and(|st| !n.cmp_value(&st).is_gt());
        if n.cmp_value(&o).is_lt() && below_status {
            errs.push(forbidden(
                "spec.resources.requests.storage",
                "field can not be less than status.capacity",
            ));
        }
    }
    if !access::sem_eq(get(ns, "volumeMode"), get(os, "volumeMode")) {
        errs.push(invalid("volumeMode", get(ns, "volumeMode"), IMMUTABLE_MSG));
    }
}

fn set_or_remove(m: &mut serde_json::Map<String, Value>, k: &str, v: Option<&Value>) {
    match v {
        Some(v) => m.insert(k.to_string(), v.clone()),
        None => m.remove(k),
    };
}
