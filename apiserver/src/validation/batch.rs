//! batch/v1 Job and CronJob validation: pod template restart policy,
//! completion modes, selector generation, cron schedules, and the fields
//! that freeze once a Job exists.

use serde_json::Value;

use super::access::{self, get, int, s};
use super::cron;
use super::errors::{Bad, Errs, child, invalid, not_supported, required};
use super::gofmt;
use super::meta::{self, IMMUTABLE_MSG, MetaRules};
use super::names::{self, NameRule};
use super::podspec;

static NULL: Value = Value::Null;

/// The label the Job controller stamps on pods and selects by.
pub(crate) const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
pub(crate) const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";

fn spec(obj: &Value) -> &Value {
    get(obj, "spec").unwrap_or(&NULL)
}

fn manual_selector(spec: &Value) -> bool {
    access::boolean(spec, "manualSelector") == Some(true)
}

/// Job spec checks shared with CronJob's `jobTemplate.spec`.
fn validate_job_spec_common(spec: &Value, path: &str, errs: &mut Errs) {
    for f in [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
    ] {
        meta::nonneg(errs, &child(path, f), int(spec, f));
    }
    if let Some(mode) = access::opt_s(spec, "completionMode") {
        match mode {
            "NonIndexed" => {}
            "Indexed" => {
                if int(spec, "completions").is_none() {
                    errs.push(required(
                        child(path, "completions"),
                        "when completion mode is Indexed",
                    ));
                }
                if let Some(p) = int(spec, "parallelism").filter(|p| *p > 100_000) {
                    errs.push(invalid(
                        child(path, "parallelism"),
                        p,
                        "must be less than or equal to 100000 when completion mode is Indexed",
                    ));
                }
            }
            other => errs.push(not_supported(
                child(path, "completionMode"),
                other,
                &["NonIndexed", "Indexed"],
            )),
        }
    }
    if let Some(p) = access::opt_s(spec, "podReplacementPolicy") {
        let allowed = ["TerminatingOrFailed", "Failed"];
        if !allowed.contains(&p) {
            errs.push(not_supported(
                child(path, "podReplacementPolicy"),
                p,
                &allowed,
            ));
        }
    }
    let tmpl = get(spec, "template").unwrap_or(&NULL);
    let tpath = child(path, "template");
    podspec::validate_pod_template(tmpl, &tpath, errs);
    let rp = access::at(tmpl, &["spec", "restartPolicy"])
        .and_then(Value::as_str)
        .unwrap_or("");
    if rp != "OnFailure" && rp != "Never" {
        errs.push(not_supported(
            child(&tpath, "spec.restartPolicy"),
            rp,
            &["OnFailure", "Never"],
        ));
    }
}

pub(crate) fn validate_job(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::namespaced(NameRule::Subdomain), errs);
    let spec = spec(obj);
    validate_generated_selector(obj, errs);
    validate_job_spec(spec, errs);
    let name = access::at(obj, &["metadata", "name"])
        .and_then(Value::as_str)
        .unwrap_or("");
    if s(spec, "completionMode") == "Indexed"
        && let Some(c) = int(spec, "completions").filter(|c| *c > 0)
    {
        // Indexed pods get `<name>-<index>` hostnames, which must be DNS labels.
        let host = format!("{name}-{}", c - 1);
        if !names::dns1123_label(&host).is_empty() {
            errs.push(invalid(
                "metadata.name",
                name,
                format!("will not able to create pod with invalid DNS label: {host}"),
            ));
        }
    }
}

/// Selector presence and template match. A missing selector is tolerated when
/// it will be generated (manualSelector unset), because generation needs the
/// uid the server assigns.
fn validate_job_spec(spec: &Value, errs: &mut Errs) {
    validate_job_spec_common(spec, "spec", errs);
    let sel = get(spec, "selector");
    if sel.is_none() {
        if manual_selector(spec) {
            errs.push(required("spec.selector", ""));
        }
        return;
    }
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
}

/// With a generated selector the template must carry the generated labels.
fn validate_generated_selector(obj: &Value, errs: &mut Errs) {
    let spec = spec(obj);
    if manual_selector(spec) || !access::is_set(spec, "selector") {
        return;
    }
    let uid = access::at(obj, &["metadata", "uid"])
        .and_then(Value::as_str)
        .unwrap_or("");
    if uid.is_empty() {
        return;
    }
    let name = access::at(obj, &["metadata", "name"])
        .and_then(Value::as_str)
        .unwrap_or("");
    let labels = access::at(spec, &["template", "metadata", "labels"]);
    for (label, expected) in [(CONTROLLER_UID_LABEL, uid), (JOB_NAME_LABEL, name)] {
        let path = format!("spec.template.metadata.labels[{label}]");
        match labels.and_then(|l| get(l, label)).and_then(Value::as_str) {
            None => errs.push(required(path, &format!("must be '{expected}'"))),
            Some(v) if v != expected => errs.push(invalid(
                path,
                Bad::Raw(gofmt::string_map(labels)),
                format!("must be '{expected}'"),
            )),
            Some(_) => {}
        }
    }
    let expected = serde_json::json!({ CONTROLLER_UID_LABEL: uid, JOB_NAME_LABEL: name });
    let matches =
        meta::selector_from(get(spec, "selector")).is_ok_and(|sel| sel.matches(Some(&expected)));
    if !matches {
        errs.push(invalid(
            "spec.selector",
            Bad::Raw(gofmt::label_selector(get(spec, "selector"))),
            "`selector` not auto-generated",
        ));
    }
}

pub(crate) fn validate_job_update(new: &Value, old: &Value, errs: &mut Errs) {
    meta::validate_object_meta_update(new, old, true, errs);
    let (ns, os) = (spec(new), spec(old));
    validate_job_spec(ns, errs);
    let (nc, oc) = (get(ns, "completions"), get(os, "completions"));
    if !access::sem_eq(nc, oc) {
        if s(ns, "completionMode") != "Indexed" {
            errs.push(invalid("spec.completions", nc, IMMUTABLE_MSG));
        } else if nc.is_some() && int(ns, "completions") != int(ns, "parallelism") {
            // Elastic Indexed Jobs scale completions and parallelism together.
            errs.push(invalid(
                "spec.completions",
                nc,
                "can only be modified in tandem with spec.parallelism",
            ));
        }
    }
    let (nsel, osel) = (get(ns, "selector"), get(os, "selector"));
    // A selector the server generates after creation is not a user change.
    if osel.is_some() && !access::sem_eq(nsel, osel) {
        errs.push(invalid(
            "spec.selector",
            Bad::Raw(gofmt::label_selector(nsel)),
            IMMUTABLE_MSG,
        ));
    }
    validate_template_update(new, old, errs);
    for f in [
        "completionMode",
        "podFailurePolicy",
        "backoffLimitPerIndex",
        "managedBy",
        "successPolicy",
    ] {
        meta::immutable(errs, &format!("spec.{f}"), get(ns, f), get(os, f));
    }
}

/// The pod template is frozen, except that a suspended Job which never
/// started may change its scheduling directives.
fn validate_template_update(new: &Value, old: &Value, errs: &mut Errs) {
    let (ns, os) = (spec(new), spec(old));
    let mut old_tmpl = get(os, "template").cloned().unwrap_or(Value::Null);
    let new_tmpl = get(ns, "template").cloned().unwrap_or(Value::Null);
    let suspended_unstarted = access::boolean(os, "suspend") == Some(true)
        && access::at(old, &["status", "startTime"]).is_none();
    if suspended_unstarted {
        for path in [
            ["spec", "nodeSelector"],
            ["spec", "tolerations"],
            ["spec", "schedulingGates"],
            ["spec", "affinity"],
            ["metadata", "labels"],
            ["metadata", "annotations"],
        ] {
            copy_path(&mut old_tmpl, &new_tmpl, &path);
        }
    }
    if !access::sem_eq(Some(&new_tmpl), Some(&old_tmpl)) {
        errs.push(invalid(
            "spec.template",
            Bad::Raw(gofmt::json(&new_tmpl)),
            IMMUTABLE_MSG,
        ));
    }
}

fn copy_path(dst: &mut Value, src: &Value, path: &[&str]) {
    let [parent, field] = path else { return };
    let value = access::at(src, path).cloned();
    if !dst.is_object() {
        return;
    }
    let Some(container) = dst
        .as_object_mut()
        .map(|o| {
            o.entry(parent.to_string())
                .or_insert_with(|| Value::Object(Default::default()))
        })
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    match value {
        Some(v) => container.insert(field.to_string(), v),
        None => container.remove(*field),
    };
}

pub(crate) fn validate_cron_job(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::namespaced(NameRule::Subdomain), errs);
    let name = access::at(obj, &["metadata", "name"])
        .and_then(Value::as_str)
        .unwrap_or("");
    // Jobs are named `<cronjob>-<11 chars>` and must fit in 63 characters.
    if name.len() > 52 {
        errs.push(invalid(
            "metadata.name",
            name,
            "must be no more than 52 characters",
        ));
    }
    validate_cron_job_spec(spec(obj), false, errs);
}

pub(crate) fn validate_cron_job_update(new: &Value, old: &Value, errs: &mut Errs) {
    meta::validate_object_meta_update(new, old, true, errs);
    let old_tz = s(spec(old), "schedule").contains("TZ");
    validate_cron_job_spec(spec(new), old_tz, errs);
}

fn validate_cron_job_spec(spec: &Value, allow_tz_in_schedule: bool, errs: &mut Errs) {
    let schedule = s(spec, "schedule");
    let time_zone = access::opt_s(spec, "timeZone");
    if schedule.is_empty() {
        errs.push(required("spec.schedule", ""));
    } else {
        if let Err(e) = cron::parse_standard(schedule) {
            errs.push(invalid("spec.schedule", schedule, e));
        }
        if schedule.contains("TZ") {
            if !allow_tz_in_schedule {
                errs.push(invalid(
                    "spec.schedule",
                    schedule,
                    "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
                ));
            } else if time_zone.is_some() {
                errs.push(invalid(
                    "spec.schedule",
                    schedule,
                    "cannot use both timeZone field and TZ or CRON_TZ in schedule",
                ));
            }
        }
    }
    if let Some(tz) = time_zone {
        if tz.is_empty() {
            errs.push(invalid(
                "spec.timeZone",
                tz,
                "timeZone must be nil or non-empty string",
            ));
        } else if tz.eq_ignore_ascii_case("local") {
            errs.push(invalid(
                "spec.timeZone",
                tz,
                "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
            ));
        }
    }
    meta::nonneg(
        errs,
        "spec.startingDeadlineSeconds",
        int(spec, "startingDeadlineSeconds"),
    );
    match s(spec, "concurrencyPolicy") {
        "Allow" | "Forbid" | "Replace" => {}
        "" => errs.push(required("spec.concurrencyPolicy", "")),
        other => errs.push(not_supported(
            "spec.concurrencyPolicy",
            other,
            &["Allow", "Forbid", "Replace"],
        )),
    }
    let jt = access::at(spec, &["jobTemplate", "spec"]).unwrap_or(&NULL);
    let jpath = "spec.jobTemplate.spec";
    validate_job_spec_common(jt, jpath, errs);
    if let Some(sel) = get(jt, "selector") {
        errs.push(invalid(
            child(jpath, "selector"),
            Bad::Raw(gofmt::label_selector(Some(sel))),
            "`selector` will be auto-generated",
        ));
    }
    if manual_selector(jt) {
        errs.push(not_supported(
            child(jpath, "manualSelector"),
            true,
            &["nil", "false"],
        ));
    }
    for f in ["successfulJobsHistoryLimit", "failedJobsHistoryLimit"] {
        meta::nonneg(errs, &format!("spec.{f}"), int(spec, f));
    }
}
