//! Downward API references: `fieldRef` and `resourceFieldRef` in env vars,
//! downward-API volume files and projected volumes.

use serde_json::Value;

use super::access::{self, get, s};
use super::errors::{Errs, child, invalid, not_supported, required};
use super::names;
use super::volumes::{local_non_reserved_path, validate_mode};

/// Field paths a downward-API volume file may reference.
pub(crate) const VOLUME_FIELD_PATHS: &[&str] = &[
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
];

/// Resources a resourceFieldRef may reference (sorted as upstream lists them).
pub(crate) const RESOURCE_FIELD_PATHS: &[&str] = &[
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

pub(crate) fn validate_downward_file(file: &Value, path: &str, errs: &mut Errs) {
    let p = s(file, "path");
    if p.is_empty() {
        errs.push(required(child(path, "path"), ""));
    }
    local_non_reserved_path(p, &child(path, "path"), errs);
    if let Some(fr) = get(file, "fieldRef") {
        validate_field_selector(fr, VOLUME_FIELD_PATHS, &child(path, "fieldRef"), errs);
        if access::is_set(file, "resourceFieldRef") {
            errs.push(invalid(
                path,
                "resource",
                "fieldRef and resourceFieldRef can not be specified simultaneously",
            ));
        }
    } else if let Some(rf) = get(file, "resourceFieldRef") {
        validate_resource_selector(rf, &child(path, "resourceFieldRef"), true, errs);
    } else {
        errs.push(required(
            path,
            "one of fieldRef and resourceFieldRef is required",
        ));
    }
    validate_mode(file, "mode", path, errs);
}

/// Downward-API `fieldRef` checks shared by env vars and volume files.
pub(crate) fn validate_field_selector(fs: &Value, allowed: &[&str], path: &str, errs: &mut Errs) {
    let api_version = s(fs, "apiVersion");
    if api_version.is_empty() {
        errs.push(required(child(path, "apiVersion"), ""));
        return;
    }
    let fp = s(fs, "fieldPath");
    if fp.is_empty() {
        errs.push(required(child(path, "fieldPath"), ""));
        return;
    }
    const CONVERTIBLE: &[&str] = &[
        "metadata.annotations",
        "metadata.labels",
        "metadata.name",
        "metadata.namespace",
        "metadata.uid",
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.serviceAccountName",
        "spec.schedulerName",
        "status.phase",
        "status.hostIP",
        "status.hostIPs",
        "status.podIP",
        "status.podIPs",
        "spec.host",
    ];
    let subscript = fp.strip_suffix("']").and_then(|head| head.split_once("['"));
    let conversion_error = if api_version != "v1" {
        Some(format!("unsupported pod version: {api_version}"))
    } else if let Some((base, _)) = subscript {
        (!matches!(base, "metadata.annotations" | "metadata.labels"))
            .then(|| format!("field label does not support subscript: {fp}"))
    } else {
        (!CONVERTIBLE.contains(&fp)).then(|| format!("field label not supported: {fp}"))
    };
    if let Some(e) = conversion_error {
        errs.push(invalid(
            child(path, "fieldPath"),
            fp,
            format!("error converting fieldPath: {e}"),
        ));
        return;
    }
    match subscript {
        Some((base, key)) => {
            let key = if base == "metadata.annotations" {
                key.to_ascii_lowercase()
            } else {
                key.to_string()
            };
            for msg in names::qualified_name(&key) {
                errs.push(invalid(path, key.as_str(), msg));
            }
        }
        None => {
            let fp = if fp == "spec.host" {
                "spec.nodeName"
            } else {
                fp
            };
            if !allowed.contains(&fp) {
                errs.push(not_supported(child(path, "fieldPath"), fp, allowed));
            }
        }
    }
}

/// Downward-API `resourceFieldRef` checks.
pub(crate) fn validate_resource_selector(rf: &Value, path: &str, volume: bool, errs: &mut Errs) {
    let resource = s(rf, "resource");
    if volume && s(rf, "containerName").is_empty() {
        errs.push(required(child(path, "containerName"), ""));
    } else if resource.is_empty() {
        errs.push(required(child(path, "resource"), ""));
    } else if !RESOURCE_FIELD_PATHS.contains(&resource)
        && !resource.starts_with("requests.hugepages-")
        && !resource.starts_with("limits.hugepages-")
    {
        errs.push(not_supported(
            child(path, "resource"),
            resource,
            RESOURCE_FIELD_PATHS,
        ));
    }
}
