//! Pod volume validation: one source type per volume, the commonly used
//! sources' required fields, file modes and projected/downward-API items.
//! Rarely used in-tree cloud sources are counted but only lightly checked.

use serde_json::Value;

use super::access::{self, get, int, list, s};
use super::downward;
use super::errors::{
    Bad, Errs, child, duplicate, forbidden, index, invalid, not_supported, required,
};
use super::names;
use super::quantity;

const FILE_MODE_MSG: &str = "must be a number between 0 and 0777 (octal), both inclusive";
const MORE_THAN_ONE: &str = "may not specify more than 1 volume type";

/// JSON key of each volume source and the path segment upstream reports
/// when it is one source too many (two of them carry upstream's spelling).
const SOURCES: &[(&str, &str)] = &[
    ("emptyDir", "emptyDir"),
    ("hostPath", "hostPath"),
    ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"),
    ("nfs", "nfs"),
    ("iscsi", "iscsi"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd"),
    ("cinder", "cinder"),
    ("cephfs", "cephFS"),
    ("quobyte", "quobyte"),
    ("downwardAPI", "downwarAPI"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("configMap", "configMap"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("storageos", "storageos"),
    ("projected", "projected"),
    ("scaleIO", "scaleIO"),
    ("csi", "csi"),
    ("ephemeral", "ephemeral"),
    ("image", "image"),
];

/// A volume that passed validation, as seen by volume mounts.
pub(crate) struct KnownVolume {
    pub(crate) name: String,
    /// PVC-backed volumes may be used as block devices.
    pub(crate) is_claim: bool,
}

/// Validates `spec.volumes` and returns the volumes mounts may refer to.
pub(crate) fn validate_volumes(
    volumes: &[Value],
    path: &str,
    pod_name: Option<&str>,
    errs: &mut Errs,
) -> Vec<KnownVolume> {
    let mut known: Vec<KnownVolume> = Vec::new();
    for (i, vol) in volumes.iter().enumerate() {
        let idx = index(path, i);
        let name = s(vol, "name");
        let mut el = Errs::new();
        validate_source(vol, &idx, name, pod_name, &mut el);
        let name_path = child(&idx, "name");
        if name.is_empty() {
            el.push(required(&name_path, ""));
        } else {
            for msg in names::dns1123_label(name) {
                el.push(invalid(&name_path, name, msg));
            }
        }
        if known.iter().any(|k| k.name == name) {
            el.push(duplicate(&name_path, name));
        }
        if el.is_empty() {
            known.push(KnownVolume {
                name: name.to_string(),
                is_claim: access::is_set(vol, "persistentVolumeClaim")
                    || access::is_set(vol, "ephemeral"),
            });
        } else {
            errs.extend(el);
        }
    }
    known
}

fn validate_source(
    vol: &Value,
    path: &str,
    vol_name: &str,
    pod_name: Option<&str>,
    errs: &mut Errs,
) {
    let mut count = 0;
    for (key, forbidden_name) in SOURCES {
        let Some(src) = get(vol, key) else { continue };
        if count > 0 {
            errs.push(forbidden(child(path, forbidden_name), MORE_THAN_ONE));
            continue;
        }
        count += 1;
        let p = child(path, key);
        match *key {
            "emptyDir" => validate_empty_dir(src, &p, errs),
            "hostPath" => validate_host_path(src, &p, errs),
            "gitRepo" => {
                require_str(src, &p, "repository", errs);
                local_descending_path(s(src, "directory"), &child(&p, "directory"), errs);
            }
            "gcePersistentDisk" => require_str(src, &child(path, "persistentDisk"), "pdName", errs),
            "awsElasticBlockStore" | "cinder" | "portworxVolume" => {
                require_str(src, &p, "volumeID", errs)
            }
            "secret" => {
                require_str(src, &p, "secretName", errs);
                validate_mode(src, "defaultMode", &p, errs);
                validate_items(src, &p, errs);
            }
            "configMap" => {
                require_str(src, &p, "name", errs);
                validate_mode(src, "defaultMode", &p, errs);
                validate_items(src, &p, errs);
            }
            "nfs" => validate_nfs(src, &p, errs),
            "iscsi" => {
                require_str(src, &p, "targetPortal", errs);
                require_str(src, &p, "iqn", errs);
                lun_range(src, &p, errs);
            }
            "glusterfs" => {
                require_str(src, &p, "endpoints", errs);
                require_str(src, &p, "path", errs);
            }
            "persistentVolumeClaim" => require_str(src, &p, "claimName", errs),
            "rbd" => {
                require_list(src, &p, "monitors", errs);
                require_str(src, &p, "image", errs);
            }
            "cephfs" => require_list(src, &child(path, "cephfs"), "monitors", errs),
            "downwardAPI" => {
                validate_mode(src, "defaultMode", &p, errs);
                for item in list(src, "items") {
                    downward::validate_downward_file(item, &p, errs);
                }
            }
            "flexVolume" | "csi" => require_str(src, &p, "driver", errs),
            "azureFile" => {
                require_str(src, &p, "secretName", errs);
                require_str(src, &p, "shareName", errs);
            }
            "vsphereVolume" => require_str(src, &p, "volumePath", errs),
            "azureDisk" => {
                require_str(src, &p, "diskName", errs);
                require_str(src, &p, "diskURI", errs);
            }
            "projected" => validate_projected(src, &p, errs),
            "ephemeral" => validate_ephemeral(src, &p, path, vol_name, pod_name, errs),
            _ => {}
        }
    }
    if count == 0 {
        errs.push(required(path, "must specify a volume type"));
    }
}

fn require_str(src: &Value, path: &str, field: &str, errs: &mut Errs) {
    if s(src, field).is_empty() {
        errs.push(required(child(path, field), ""));
    }
}

fn require_list(src: &Value, path: &str, field: &str, errs: &mut Errs) {
    if list(src, field).is_empty() {
        errs.push(required(child(path, field), ""));
    }
}

fn lun_range(src: &Value, path: &str, errs: &mut Errs) {
    if let Some(lun) = int(src, "lun").filter(|l| !(0..=255).contains(l)) {
        errs.push(invalid(
            child(path, "lun"),
            lun,
            names::inclusive_range_error(0, 255),
        ));
    }
}

fn validate_empty_dir(src: &Value, path: &str, errs: &mut Errs) {
    let Some(limit) = get(src, "sizeLimit") else {
        return;
    };
    match quantity::from_json(limit) {
        Some(q) if q.is_negative() => errs.push(forbidden(
            child(path, "sizeLimit"),
            "SizeLimit field must be a valid resource quantity",
        )),
        Some(_) => {}
        None => errs.push(invalid(
            child(path, "sizeLimit"),
            limit,
            quantity::QUANTITY_ERROR,
        )),
    }
}

fn validate_host_path(src: &Value, path: &str, errs: &mut Errs) {
    let p = s(src, "path");
    if p.is_empty() {
        errs.push(required(child(path, "path"), ""));
        return;
    }
    path_no_backsteps(p, &child(path, "path"), errs);
    const TYPES: [&str; 8] = [
        "",
        "BlockDevice",
        "CharDevice",
        "Directory",
        "DirectoryOrCreate",
        "File",
        "FileOrCreate",
        "Socket",
    ];
    if let Some(t) = access::opt_s(src, "type").filter(|t| !TYPES.contains(t)) {
        errs.push(not_supported(child(path, "type"), t, &TYPES));
    }
}

fn validate_nfs(src: &Value, path: &str, errs: &mut Errs) {
    require_str(src, path, "server", errs);
    let p = s(src, "path");
    if p.is_empty() {
        errs.push(required(child(path, "path"), ""));
    }
    if !p.starts_with('/') {
        errs.push(invalid(child(path, "path"), p, "must be an absolute path"));
    }
}

pub(crate) fn validate_mode(src: &Value, field: &str, path: &str, errs: &mut Errs) {
    if let Some(mode) = int(src, field).filter(|m| !(0..=0o777).contains(m)) {
        errs.push(invalid(child(path, field), mode, FILE_MODE_MSG));
    }
}

fn validate_items(src: &Value, path: &str, errs: &mut Errs) {
    let items_path = child(path, "items");
    for (i, kp) in list(src, "items").iter().enumerate() {
        validate_key_to_path(kp, &index(&items_path, i), errs);
    }
}

fn validate_key_to_path(kp: &Value, path: &str, errs: &mut Errs) {
    require_str(kp, path, "key", errs);
    let p = s(kp, "path");
    if p.is_empty() {
        errs.push(required(child(path, "path"), ""));
    }
    local_non_reserved_path(p, &child(path, "path"), errs);
    validate_mode(kp, "mode", path, errs);
}

/// Relative paths only, with no `..` element.
pub(crate) fn local_descending_path(p: &str, path: &str, errs: &mut Errs) {
    if p.starts_with('/') {
        errs.push(invalid(path, p, "must be a relative path"));
    }
    path_no_backsteps(p, path, errs);
}

pub(crate) fn path_no_backsteps(p: &str, path: &str, errs: &mut Errs) {
    if p.split('/').any(|seg| seg == "..") {
        errs.push(invalid(path, p, "must not contain '..'"));
    }
}

pub(crate) fn local_non_reserved_path(p: &str, path: &str, errs: &mut Errs) {
    local_descending_path(p, path, errs);
    if p.starts_with("..") && !p.starts_with("../") {
        errs.push(invalid(path, p, "must not start with '..'"));
    }
}

fn validate_projected(src: &Value, path: &str, errs: &mut Errs) {
    validate_mode(src, "defaultMode", path, errs);
    let mut seen: Vec<String> = Vec::new();
    let mut note_path = |p: &str, bad: Bad, errs: &mut Errs| {
        if p.is_empty() {
            return;
        }
        if seen.iter().any(|x| x == p) {
            errs.push(invalid(path, bad, "conflicting duplicate paths"));
        } else {
            seen.push(p.to_string());
        }
    };
    for (i, source) in list(src, "sources").iter().enumerate() {
        let src_path = index(&child(path, "sources"), i);
        let mut n = 0;
        for kind in ["secret", "configMap"] {
            let Some(obj) = get(source, kind) else {
                continue;
            };
            n += 1;
            let p = child(&src_path, kind);
            require_str(obj, &p, "name", errs);
            let items = child(&p, "items");
            for (j, kp) in list(obj, "items").iter().enumerate() {
                validate_key_to_path(kp, &index(&items, j), errs);
                note_path(s(kp, "path"), Bad::from(s(obj, "name")), errs);
            }
        }
        if let Some(obj) = get(source, "downwardAPI") {
            n += 1;
            let p = child(&src_path, "downwardAPI");
            for file in list(obj, "items") {
                downward::validate_downward_file(file, &p, errs);
                note_path(s(file, "path"), Bad::from(s(file, "path")), errs);
            }
        }
        if let Some(tok) = get(source, "serviceAccountToken") {
            n += 1;
            let p = child(&src_path, "serviceAccountToken");
            let exp = int(tok, "expirationSeconds").unwrap_or(0);
            if exp < 600 {
                errs.push(invalid(
                    child(&p, "expirationSeconds"),
                    exp,
                    "may not specify a duration less than 10 minutes",
                ));
            } else if exp > 1 << 32 {
                errs.push(invalid(
                    child(&p, "expirationSeconds"),
                    exp,
                    "may not specify a duration larger than 2^32 seconds",
                ));
            }
            let tp = s(tok, "path");
            if tp.is_empty() {
                errs.push(required(child(path, "path"), ""));
            } else {
                local_non_reserved_path(tp, &child(path, "path"), errs);
            }
        }
        if access::is_set(source, "clusterTrustBundle") {
            n += 1;
        }
        if n > 1 {
            errs.push(forbidden(&src_path, MORE_THAN_ONE));
        }
    }
}

fn validate_ephemeral(
    src: &Value,
    path: &str,
    vol_path: &str,
    vol_name: &str,
    pod_name: Option<&str>,
    errs: &mut Errs,
) {
    let Some(tmpl) = get(src, "volumeClaimTemplate") else {
        errs.push(required(child(path, "volumeClaimTemplate"), ""));
        return;
    };
    let tp = child(path, "volumeClaimTemplate");
    let meta = get(tmpl, "metadata").unwrap_or(&Value::Null);
    super::meta::validate_labels(get(meta, "labels"), &child(&tp, "metadata.labels"), errs);
    super::meta::validate_annotations(
        get(meta, "annotations"),
        &child(&tp, "metadata.annotations"),
        errs,
    );
    let spec = get(tmpl, "spec").unwrap_or(&Value::Null);
    super::storage::validate_claim_spec(spec, &child(&tp, "spec"), errs);
    if let Some(pod) = pod_name.filter(|p| !p.is_empty() && !vol_name.is_empty()) {
        let claim = format!("{pod}-{vol_name}");
        for msg in names::dns1123_subdomain(&claim) {
            errs.push(invalid(
                child(vol_path, "name"),
                vol_name,
                format!("PVC name {}: {msg}", super::gofmt::quote(&claim)),
            ));
        }
    }
}
