//! apps/v1 workloads: Deployment, ReplicaSet, StatefulSet, DaemonSet and
//! ControllerRevision, including selector/template consistency and the
//! update restrictions enforced for the apps/v1 API.

use serde_json::Value;

use super::access::{self, get, int, s};
use super::errors::{Bad, Errs, child, forbidden, invalid, not_supported, required};
use super::gofmt;
use super::meta::{self, IMMUTABLE_MSG, MetaRules, Selector};
use super::names::{self, NameRule};
use super::podspec;

static NULL: Value = Value::Null;

fn spec(obj: &Value) -> &Value {
    get(obj, "spec").unwrap_or(&NULL)
}

fn selector_repr(sel: Option<&Value>) -> Bad {
    Bad::Raw(gofmt::label_selector(sel))
}

/// Required, non-empty and syntactically valid `spec.selector`; returns the
/// compiled selector when it converts.
fn validate_selector(spec: &Value, kind: &str, errs: &mut Errs) -> Option<Selector> {
    let sel = get(spec, "selector");
    match sel {
        None => errs.push(required("spec.selector", "")),
        Some(v) => {
            meta::validate_label_selector(Some(v), "spec.selector", errs);
            let empty = access::map(v, "matchLabels").is_none_or(|m| m.is_empty())
                && access::list(v, "matchExpressions").is_empty();
            if empty {
                errs.push(invalid(
                    "spec.selector",
                    selector_repr(sel),
                    format!("empty selector is invalid for {kind}"),
                ));
            }
        }
    }
    meta::selector_from(sel).ok()
}

/// Template labels must be selected by the workload's selector.
fn check_template_labels(selector: &Selector, spec: &Value, errs: &mut Errs) {
    let labels = access::at(spec, &["template", "metadata", "labels"]);
    if !selector.is_empty() && !selector.matches(labels) {
        errs.push(invalid(
            "spec.template.metadata.labels",
            Bad::Raw(gofmt::string_map(labels)),
            "`selector` does not match template `labels`",
        ));
    }
}

/// Controllers restart pods forever, so only `restartPolicy: Always` fits.
fn check_template_restart(spec: &Value, kind: &str, errs: &mut Errs) {
    let tspec = access::at(spec, &["template", "spec"]).unwrap_or(&NULL);
    let rp = s(tspec, "restartPolicy");
    if rp != "Always" {
        errs.push(not_supported(
            "spec.template.spec.restartPolicy",
            rp,
            &["Always"],
        ));
    }
    if access::is_set(tspec, "activeDeadlineSeconds") {
        errs.push(forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            format!("activeDeadlineSeconds in {kind} is not Supported"),
        ));
    }
}

fn validate_replica_template(spec: &Value, selector: Option<&Selector>, errs: &mut Errs) {
    let Some(selector) = selector else {
        errs.push(invalid(
            "spec.selector",
            selector_repr(get(spec, "selector")),
            "invalid label selector",
        ));
        return;
    };
    check_template_labels(selector, spec, errs);
    let tmpl = get(spec, "template").unwrap_or(&NULL);
    podspec::validate_pod_template(tmpl, "spec.template", errs);
    check_template_restart(spec, "ReplicaSet", errs);
}

fn int_or_percent(v: Option<&Value>, path: &str, errs: &mut Errs) {
    let Some(v) = v else { return };
    match v {
        Value::String(s) => {
            for msg in names::percent(s) {
                errs.push(invalid(path, Bad::Raw(s.clone()), msg));
            }
        }
        other => meta::nonneg(errs, path, access::as_int(other)),
    }
}

fn percent_value(v: Option<&Value>) -> Option<i64> {
    let s = v?.as_str()?;
    if !names::percent(s).is_empty() {
        return None;
    }
    s.trim_end_matches('%').parse().ok()
}

fn int_or_percent_value(v: Option<&Value>) -> i64 {
    percent_value(v).unwrap_or_else(|| v.and_then(access::as_int).unwrap_or(0))
}

fn not_more_than_100(v: Option<&Value>, path: &str, errs: &mut Errs) {
    if percent_value(v).is_some_and(|p| p > 100) {
        let raw = v.map(access::scalar_string).unwrap_or_default();
        errs.push(invalid(
            path,
            Bad::Raw(raw),
            "must not be greater than 100%",
        ));
    }
}

fn raw_int_or_string(v: Option<&Value>) -> Bad {
    Bad::Raw(
        v.map(gofmt::int_or_string)
            .unwrap_or_else(|| "0".to_string()),
    )
}

pub(crate) fn validate_deployment(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::namespaced(NameRule::Subdomain), errs);
    let spec = spec(obj);
    meta::nonneg(errs, "spec.replicas", int(spec, "replicas"));
    let selector = validate_selector(spec, "deployment", errs);
    validate_replica_template(spec, selector.as_ref(), errs);
    validate_deployment_strategy(spec, errs);
    meta::nonneg(errs, "spec.minReadySeconds", int(spec, "minReadySeconds"));
    meta::nonneg(
        errs,
        "spec.revisionHistoryLimit",
        int(spec, "revisionHistoryLimit"),
    );
    if let Some(pds) = int(spec, "progressDeadlineSeconds") {
        meta::nonneg(errs, "spec.progressDeadlineSeconds", Some(pds));
        if pds <= int(spec, "minReadySeconds").unwrap_or(0) {
            errs.push(invalid(
                "spec.progressDeadlineSeconds",
                pds,
                "must be greater than minReadySeconds",
            ));
        }
    }
}

fn validate_deployment_strategy(spec: &Value, errs: &mut Errs) {
    let strategy = get(spec, "strategy").unwrap_or(&NULL);
    let path = "spec.strategy";
    match s(strategy, "type") {
        "Recreate" => {
            if access::is_set(strategy, "rollingUpdate") {
                errs.push(forbidden(
                    child(path, "rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => match get(strategy, "rollingUpdate") {
            None => errs.push(required(
                child(path, "rollingUpdate"),
                "this should be defaulted and never be nil",
            )),
            Some(ru) => {
                let p = child(path, "rollingUpdate");
                let (mu, ms) = (get(ru, "maxUnavailable"), get(ru, "maxSurge"));
                int_or_percent(mu, &child(&p, "maxUnavailable"), errs);
                int_or_percent(ms, &child(&p, "maxSurge"), errs);
                if int_or_percent_value(mu) == 0 && int_or_percent_value(ms) == 0 {
                    errs.push(invalid(
                        child(&p, "maxUnavailable"),
                        raw_int_or_string(mu),
                        "may not be 0 when `maxSurge` is 0",
                    ));
                }
                not_more_than_100(mu, &child(&p, "maxUnavailable"), errs);
            }
        },
        _ => errs.push(not_supported(
            path,
            Bad::Raw(gofmt::json(strategy)),
            &["Recreate", "RollingUpdate"],
        )),
    }
}

/// apps/v1 forbids changing the selector of an existing workload.
fn selector_immutable(new: &Value, old: &Value, errs: &mut Errs) {
    let (n, o) = (get(spec(new), "selector"), get(spec(old), "selector"));
    if !access::sem_eq(n, o) {
        errs.push(invalid("spec.selector", selector_repr(n), IMMUTABLE_MSG));
    }
}

pub(crate) fn validate_deployment_update(new: &Value, old: &Value, errs: &mut Errs) {
    meta::validate_object_meta_update(new, old, true, errs);
    let mut rest = Errs::new();
    validate_deployment(new, &mut rest);
    errs.extend(
        rest.into_iter()
            .filter(|e| !e.field.starts_with("metadata.")),
    );
    selector_immutable(new, old, errs);
}

pub(crate) fn validate_replica_set(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::namespaced(NameRule::Subdomain), errs);
    let spec = spec(obj);
    meta::nonneg(errs, "spec.replicas", int(spec, "replicas"));
    meta::nonneg(errs, "spec.minReadySeconds", int(spec, "minReadySeconds"));
    let selector = validate_selector(spec, "deployment", errs);
    validate_replica_template(spec, selector.as_ref(), errs);
}

pub(crate) fn validate_replica_set_update(new: &Value, old: &Value, errs: &mut Errs) {
    meta::validate_object_meta_update(new, old, true, errs);
    let mut rest = Errs::new();
    validate_replica_set(new, &mut rest);
    errs.extend(
        rest.into_iter()
            .filter(|e| !e.field.starts_with("metadata.")),
    );
    selector_immutable(new, old, errs);
}

pub(crate) fn validate_stateful_set(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::namespaced(NameRule::Label), errs);
    validate_stateful_set_spec(spec(obj), errs);
}

fn validate_stateful_set_spec(spec: &Value, errs: &mut Errs) {
    match s(spec, "podManagementPolicy") {
        "" => errs.push(required("spec.podManagementPolicy", "")),
        "OrderedReady" | "Parallel" => {}
        other => errs.push(invalid(
            "spec.podManagementPolicy",
            other,
            "must be 'OrderedReady' or 'Parallel'",
        )),
    }
    let strategy = get(spec, "updateStrategy").unwrap_or(&NULL);
    let ru = get(strategy, "rollingUpdate");
    match s(strategy, "type") {
        "" => errs.push(required("spec.updateStrategy", "")),
        "OnDelete" => {
            if let Some(ru) = ru {
                errs.push(invalid(
                    "spec.updateStrategy.rollingUpdate",
                    Bad::Raw(gofmt::json(ru)),
                    "only allowed for updateStrategy 'RollingUpdate'",
                ));
            }
        }
        "RollingUpdate" => {
            if let Some(ru) = ru {
                let p = "spec.updateStrategy.rollingUpdate";
                meta::nonneg(errs, &child(p, "partition"), int(ru, "partition"));
                if let Some(mu) = get(ru, "maxUnavailable") {
                    let mp = child(p, "maxUnavailable");
                    int_or_percent(Some(mu), &mp, errs);
                    if int_or_percent_value(Some(mu)) == 0 {
                        errs.push(invalid(&mp, raw_int_or_string(Some(mu)), "cannot be 0"));
                    }
                    not_more_than_100(Some(mu), &mp, errs);
                }
            }
        }
        _ => errs.push(invalid(
            "spec.updateStrategy",
            Bad::Raw(gofmt::json(strategy)),
            "must be 'RollingUpdate' or 'OnDelete'",
        )),
    }
    if let Some(policy) = get(spec, "persistentVolumeClaimRetentionPolicy") {
        for f in ["whenDeleted", "whenScaled"] {
            let v = s(policy, f);
            if v != "Retain" && v != "Delete" {
                errs.push(not_supported(
                    format!("spec.persistentVolumeClaimRetentionPolicy.{f}"),
                    v,
                    &["Retain", "Delete"],
                ));
            }
        }
    }
    meta::nonneg(errs, "spec.replicas", int(spec, "replicas"));
    meta::nonneg(errs, "spec.minReadySeconds", int(spec, "minReadySeconds"));
    if let Some(ord) = get(spec, "ordinals") {
        meta::nonneg(errs, "spec.ordinals.start", int(ord, "start"));
    }
    let selector = validate_selector(spec, "statefulset", errs);
    match selector {
        None => errs.push(invalid(
            "spec.selector",
            selector_repr(get(spec, "selector")),
            "",
        )),
        Some(sel) => {
            check_template_labels(&sel, spec, errs);
            // Upstream validates only the template's metadata for StatefulSets.
            let md = access::at(spec, &["template", "metadata"]).unwrap_or(&NULL);
            meta::validate_labels(get(md, "labels"), "spec.template.labels", errs);
            meta::validate_annotations(get(md, "annotations"), "spec.template.annotations", errs);
        }
    }
    check_template_restart(spec, "StatefulSet", errs);
}

pub(crate) fn validate_stateful_set_update(new: &Value, old: &Value, errs: &mut Errs) {
    meta::validate_object_meta_update(new, old, true, errs);
    validate_stateful_set_spec(spec(new), errs);
    let mut clone = spec(new).clone();
    if let Some(obj) = clone.as_object_mut() {
        for f in [
            "replicas",
            "template",
            "updateStrategy",
            "minReadySeconds",
            "ordinals",
            "persistentVolumeClaimRetentionPolicy",
        ] {
            match get(spec(old), f) {
                Some(v) => obj.insert(f.to_string(), v.clone()),
                None => obj.remove(f),
            };
        }
    }
    // An embedded claim template's apiVersion/kind is type information, not spec: one write
    // path fills it in and another (server-side apply) may leave it out.
    let without_type_meta = |spec: &Value| -> Value {
        let mut spec = spec.clone();
        if let Some(items) = spec
            .get_mut("volumeClaimTemplates")
            .and_then(Value::as_array_mut)
        {
            for t in items.iter_mut().filter_map(Value::as_object_mut) {
                t.remove("apiVersion");
                t.remove("kind");
            }
        }
        spec
    };
    let old_spec = get(old, "spec").map(without_type_meta);
    if !access::sem_eq(Some(&without_type_meta(&clone)), old_spec.as_ref()) {
        errs.push(forbidden(
            "spec",
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ));
    }
}

pub(crate) fn validate_daemon_set(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::namespaced(NameRule::Subdomain), errs);
    let spec = spec(obj);
    let sel = get(spec, "selector");
    meta::validate_label_selector(sel, "spec.selector", errs);
    if let Ok(selector) = meta::selector_from(sel) {
        let labels = access::at(spec, &["template", "metadata", "labels"]);
        if !selector.matches(labels) {
            errs.push(invalid(
                "spec.template.metadata.labels",
                Bad::Raw(gofmt::string_map(labels)),
                "`selector` does not match template `labels`",
            ));
        }
    }
    if let Some(v) = sel {
        let empty = access::map(v, "matchLabels").is_none_or(|m| m.is_empty())
            && access::list(v, "matchExpressions").is_empty();
        if empty {
            errs.push(invalid(
                "spec.selector",
                selector_repr(sel),
                "empty selector is invalid for daemonset",
            ));
        }
    }
    let tmpl = get(spec, "template").unwrap_or(&NULL);
    podspec::validate_pod_template(tmpl, "spec.template", errs);
    check_template_restart(spec, "DaemonSet", errs);
    meta::nonneg(errs, "spec.minReadySeconds", int(spec, "minReadySeconds"));
    meta::nonneg(
        errs,
        "spec.templateGeneration",
        int(spec, "templateGeneration"),
    );
    validate_daemon_strategy(spec, errs);
    meta::nonneg(
        errs,
        "spec.revisionHistoryLimit",
        int(spec, "revisionHistoryLimit"),
    );
}

fn validate_daemon_strategy(spec: &Value, errs: &mut Errs) {
    let strategy = get(spec, "updateStrategy").unwrap_or(&NULL);
    let path = "spec.updateStrategy";
    match s(strategy, "type") {
        "OnDelete" => {}
        "RollingUpdate" => {
            let Some(ru) = get(strategy, "rollingUpdate") else {
                errs.push(required(child(path, "rollingUpdate"), ""));
                return;
            };
            let p = child(path, "rollingUpdate");
            let (mu, ms) = (get(ru, "maxUnavailable"), get(ru, "maxSurge"));
            int_or_percent(mu, &child(&p, "maxUnavailable"), errs);
            int_or_percent(ms, &child(&p, "maxSurge"), errs);
            not_more_than_100(mu, &child(&p, "maxUnavailable"), errs);
            not_more_than_100(ms, &child(&p, "maxSurge"), errs);
            let has_unavailable = int_or_percent_value(mu) != 0;
            let has_surge = int_or_percent_value(ms) != 0;
            if has_unavailable && has_surge {
                errs.push(invalid(
                    child(&p, "maxSurge"),
                    raw_int_or_string(ms),
                    "may not be set when maxUnavailable is non-zero",
                ));
            } else if !has_unavailable && !has_surge {
                errs.push(required(
                    child(&p, "maxUnavailable"),
                    "cannot be 0 when maxSurge is 0",
                ));
            }
        }
        _ => errs.push(not_supported(
            path,
            Bad::Raw(gofmt::json(strategy)),
            &["RollingUpdate", "OnDelete"],
        )),
    }
}

pub(crate) fn validate_daemon_set_update(new: &Value, old: &Value, errs: &mut Errs) {
    meta::validate_object_meta_update(new, old, true, errs);
    let mut rest = Errs::new();
    validate_daemon_set(new, &mut rest);
    errs.extend(
        rest.into_iter()
            .filter(|e| !e.field.starts_with("metadata.")),
    );
    selector_immutable(new, old, errs);
}

pub(crate) fn validate_controller_revision(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::namespaced(NameRule::Subdomain), errs);
    if !access::is_set(obj, "data") {
        errs.push(required("data", "data is mandatory"));
    }
    meta::nonneg(errs, "revision", int(obj, "revision"));
}

pub(crate) fn validate_controller_revision_update(new: &Value, old: &Value, errs: &mut Errs) {
    meta::validate_object_meta_update(new, old, true, errs);
    let mut rest = Errs::new();
    validate_controller_revision(new, &mut rest);
    errs.extend(
        rest.into_iter()
            .filter(|e| !e.field.starts_with("metadata.")),
    );
    meta::immutable(errs, "data", get(new, "data"), get(old, "data"));
}
