//! Pod create and update validation. Updates may only touch container
//! images, activeDeadlineSeconds (downwards), tolerations (additions),
//! scheduling gates (removals) and a negative grace period (to 1).

use serde_json::Value;

use super::access::{self, get, int, list, s};
use super::container::MAX_ID;
use super::errors::{Bad, Errs, child, forbidden, index, invalid, key, required};
use super::meta::{self, MetaRules};
use super::names::{self, NameRule};
use super::podspec::{self, SpecOptions};

const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";
const DELETION_COST_ANNOTATION: &str = "controller.kubernetes.io/pod-deletion-cost";
const UPDATABLE_FIELDS: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

static NULL: Value = Value::Null;

fn spec(obj: &Value) -> &Value {
    get(obj, "spec").unwrap_or(&NULL)
}

pub(crate) fn validate_create(obj: &Value, errs: &mut Errs) {
    validate_metadata_and_spec(obj, errs);
    let spec = spec(obj);
    if !list(spec, "ephemeralContainers").is_empty() {
        errs.push(forbidden(
            "spec.ephemeralContainers",
            "cannot be set on create",
        ));
    }
    if !s(spec, "nodeName").is_empty() && !list(spec, "schedulingGates").is_empty() {
        errs.push(forbidden(
            "spec.nodeName",
            "cannot be set until all schedulingGates have been cleared",
        ));
    }
}

fn validate_metadata_and_spec(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::namespaced(NameRule::Subdomain), errs);
    let md = meta::metadata(obj);
    let spec = spec(obj);
    validate_pod_annotations(md, spec, errs);
    let opts = SpecOptions {
        is_pod: true,
        pod_name: access::opt_s(md, "name"),
    };
    podspec::validate_pod_spec(spec, "spec", opts, errs);
    for field in ["containers", "initContainers"] {
        for (i, c) in list(spec, field).iter().enumerate() {
            let image = s(c, "image");
            if image.len() != image.trim().len() {
                errs.push(invalid(
                    child(&index(&child("spec", field), i), "image"),
                    image,
                    "must not have leading or trailing whitespace",
                ));
            }
        }
    }
}

fn validate_pod_annotations(md: &Value, spec: &Value, errs: &mut Errs) {
    let Some(ann) = get(md, "annotations") else {
        return;
    };
    let path = "metadata.annotations";
    if let Some(v) = access::opt_s(ann, MIRROR_ANNOTATION)
        && s(spec, "nodeName").is_empty()
    {
        errs.push(invalid(
            key(path, MIRROR_ANNOTATION),
            v,
            "must set spec.nodeName if mirror pod annotation is set",
        ));
    }
    if let Some(v) = access::opt_s(ann, DELETION_COST_ANNOTATION)
        && v.parse::<i32>().is_err()
    {
        errs.push(invalid(
            key(path, DELETION_COST_ANNOTATION),
            v,
            "must be a 32bit integer",
        ));
    }
}

pub(crate) fn validate_update(new: &Value, old: &Value, errs: &mut Errs) {
    meta::validate_object_meta_update(new, old, true, errs);
    let mut rest = Errs::new();
    validate_metadata_and_spec(new, &mut rest);
    // The namespace is checked by the update rules (an omitted one is kept).
    errs.extend(rest.into_iter().filter(|e| e.field != "metadata.namespace"));
    validate_mirror_annotation_update(new, old, errs);
    let (ns, os) = (spec(new), spec(old));
    for field in ["containers", "initContainers"] {
        let (nc, oc) = (list(ns, field), list(os, field));
        let p = child("spec", field);
        if nc.len() != oc.len() {
            errs.push(forbidden(p, "pod updates may not add or remove containers"));
            return;
        }
        for (i, c) in nc.iter().enumerate() {
            if s(c, "image").is_empty() {
                errs.push(required(child(&index(&p, i), "image"), ""));
            }
        }
    }
    if !validate_deadline_update(ns, os, errs) {
        return;
    }
    validate_toleration_update(ns, os, errs);
    validate_gate_update(ns, os, errs);
    if access::sem_eq(Some(ns), Some(os)) {
        return;
    }
    let munged = munge_updatable(ns, os);
    if !access::sem_eq(Some(&munged), Some(os)) {
        let mut lines = Vec::new();
        diff(Some(os), Some(&munged), "spec", &mut lines);
        errs.push(forbidden(
            "spec",
            format!(
                "pod updates may not change fields other than {UPDATABLE_FIELDS}\n{}",
                lines.join("\n")
            ),
        ));
    }
}

fn validate_mirror_annotation_update(new: &Value, old: &Value, errs: &mut Errs) {
    let n = access::at(new, &["metadata", "annotations", MIRROR_ANNOTATION]);
    let o = access::at(old, &["metadata", "annotations", MIRROR_ANNOTATION]);
    let p = key("metadata.annotations", MIRROR_ANNOTATION);
    match (o, n) {
        (Some(o), n) if n != Some(o) => errs.push(forbidden(
            p,
            "may not remove or update mirror pod annotation",
        )),
        (None, Some(_)) => errs.push(forbidden(p, "may not add mirror pod annotation")),
        _ => {}
    }
}

/// Returns false when upstream stops validating after this error.
fn validate_deadline_update(ns: &Value, os: &Value, errs: &mut Errs) -> bool {
    let path = "spec.activeDeadlineSeconds";
    match (
        int(ns, "activeDeadlineSeconds"),
        int(os, "activeDeadlineSeconds"),
    ) {
        (Some(n), _) if !(0..=MAX_ID).contains(&n) => {
            errs.push(invalid(path, n, names::inclusive_range_error(0, MAX_ID)));
            false
        }
        (Some(n), Some(o)) if o < n => {
            errs.push(invalid(
                path,
                n,
                "must be less than or equal to previous value",
            ));
            false
        }
        (None, Some(_)) => {
            errs.push(invalid(
                path,
                Bad::Null,
                "must not update from a positive integer to nil value",
            ));
            true
        }
        _ => true,
    }
}

fn validate_toleration_update(ns: &Value, os: &Value, errs: &mut Errs) {
    let new_tols = list(ns, "tolerations");
    for old_tol in list(os, "tolerations") {
        let found = new_tols.iter().any(|nt| {
            let mut clone = old_tol.clone();
            if let Some(obj) = clone.as_object_mut() {
                // tolerationSeconds is the one mutable part of an existing toleration.
                match get(nt, "tolerationSeconds") {
                    Some(v) => obj.insert("tolerationSeconds".to_string(), v.clone()),
                    None => obj.remove("tolerationSeconds"),
                };
            }
            access::sem_eq(Some(&clone), Some(nt))
        });
        if !found {
            errs.push(forbidden(
                "spec.tolerations",
                "existing toleration can not be modified except its tolerationSeconds",
            ));
            return;
        }
    }
}

fn validate_gate_update(ns: &Value, os: &Value, errs: &mut Errs) {
    let old_names: Vec<&str> = list(os, "schedulingGates")
        .iter()
        .map(|g| s(g, "name"))
        .collect();
    for (i, g) in list(ns, "schedulingGates").iter().enumerate() {
        let name = s(g, "name");
        if !old_names.contains(&name) {
            errs.push(forbidden(
                child(&index("spec.schedulingGates", i), "name"),
                format!("only deletion is allowed, but found new scheduling gate '{name}'"),
            ));
        }
    }
}

/// Copies every field a pod update may change from the old spec, so that
/// any remaining difference is a forbidden change.
fn munge_updatable(ns: &Value, os: &Value) -> Value {
    let mut munged = ns.clone();
    let Some(obj) = munged.as_object_mut() else {
        return munged;
    };
    for field in ["containers", "initContainers"] {
        if let Some(Value::Array(items)) = obj.get_mut(field) {
            for (c, oc) in items.iter_mut().zip(list(os, field)) {
                if let Some(co) = c.as_object_mut() {
                    match get(oc, "image") {
                        Some(img) => co.insert("image".to_string(), img.clone()),
                        None => co.remove("image"),
                    };
                }
            }
        }
    }
    for field in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
        match get(os, field) {
            Some(v) => obj.insert(field.to_string(), v.clone()),
            None => obj.remove(field),
        };
    }
    let old_grace = int(os, "terminationGracePeriodSeconds");
    if old_grace.is_some_and(|g| g < 0)
        && int(ns, "terminationGracePeriodSeconds") == Some(1)
        && let Some(g) = get(os, "terminationGracePeriodSeconds")
    {
        obj.insert("terminationGracePeriodSeconds".to_string(), g.clone());
    }
    munged
}

/// A short, line-per-field rendering of what changed (upstream prints a
/// `cmp.Diff` of internal structs, which cannot be reproduced from JSON).
pub(crate) fn diff(old: Option<&Value>, new: Option<&Value>, path: &str, out: &mut Vec<String>) {
    if access::sem_eq(old, new) {
        return;
    }
    match (old, new) {
        (Some(Value::Object(o)), Some(Value::Object(n))) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.extend(n.keys().filter(|k| !o.contains_key(*k)));
            for k in keys {
                diff(o.get(k), n.get(k), &child(path, k), out);
            }
        }
        (Some(Value::Array(o)), Some(Value::Array(n))) if o.len() == n.len() => {
            for (i, (a, b)) in o.iter().zip(n).enumerate() {
                diff(Some(a), Some(b), &index(path, i), out);
            }
        }
        _ => {
            let show = |v: Option<&Value>| v.map_or("<unset>".to_string(), super::gofmt::json);
            out.push(format!("  - {path}: {}", show(old)));
            out.push(format!("  + {path}: {}", show(new)));
        }
    }
}
