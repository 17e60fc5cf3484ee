//! Workload defaults: apps/v1 controllers and batch/v1 Jobs and CronJobs,
//! including their pod templates and the Job selector generated from the
//! object's uid.

use serde_json::{Map, Value, json};

use super::pod::default_pod_template;
use super::{as_map, child, existing, items, set_default, set_default_str};
use crate::validation::access;

fn spec_of(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    child(as_map(obj)?, "spec")
}

fn default_template(spec: &mut Map<String, Value>) {
    if let Some(tmpl) = child(spec, "template") {
        default_pod_template(tmpl);
    }
}

pub(crate) fn default_deployment(obj: &mut Value) {
    let Some(spec) = spec_of(obj) else { return };
    set_default(spec, "replicas", json!(1));
    if let Some(strategy) = child(spec, "strategy") {
        set_default_str(strategy, "type", "RollingUpdate");
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(ru) = child(strategy, "rollingUpdate")
        {
            set_default(ru, "maxUnavailable", json!("25%"));
            set_default(ru, "maxSurge", json!("25%"));
        }
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(spec, "progressDeadlineSeconds", json!(600));
    default_template(spec);
}

pub(crate) fn default_replica_set(obj: &mut Value) {
    let Some(spec) = spec_of(obj) else { return };
    set_default(spec, "replicas", json!(1));
    default_template(spec);
}

pub(crate) fn default_stateful_set(obj: &mut Value) {
    let Some(spec) = spec_of(obj) else { return };
    set_default_str(spec, "podManagementPolicy", "OrderedReady");
    if let Some(strategy) = child(spec, "updateStrategy") {
        let unset = strategy
            .get("type")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if unset {
            strategy.insert("type".to_string(), json!("RollingUpdate"));
            set_default(strategy, "rollingUpdate", json!({}));
        }
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(ru) = existing(strategy, "rollingUpdate")
        {
            set_default(ru, "partition", json!(0));
        }
    }
    if let Some(policy) = child(spec, "persistentVolumeClaimRetentionPolicy") {
        set_default_str(policy, "whenDeleted", "Retain");
        set_default_str(policy, "whenScaled", "Retain");
    }
    set_default(spec, "replicas", json!(1));
    set_default(spec, "revisionHistoryLimit", json!(10));
    default_template(spec);
    for claim in items(spec, "volumeClaimTemplates") {
        if let Some(cs) = child(claim, "spec") {
            super::core::default_claim_spec(cs);
        }
        if let Some(status) = child(claim, "status") {
            set_default_str(status, "phase", "Pending");
        }
    }
}

pub(crate) fn default_daemon_set(obj: &mut Value) {
    let Some(spec) = spec_of(obj) else { return };
    if let Some(strategy) = child(spec, "updateStrategy") {
        set_default_str(strategy, "type", "RollingUpdate");
        if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
            && let Some(ru) = child(strategy, "rollingUpdate")
        {
            set_default(ru, "maxUnavailable", json!(1));
            set_default(ru, "maxSurge", json!(0));
        }
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    default_template(spec);
}

pub(crate) fn default_job(obj: &mut Value) {
    let Some(m) = as_map(obj) else { return };
    let template_labels = m
        .get("spec")
        .and_then(|s| access::at(s, &["template", "metadata", "labels"]))
        .cloned();
    let Some(spec) = child(m, "spec") else { return };
    let unset = |spec: &Map<String, Value>, k: &str| spec.get(k).is_none_or(Value::is_null);
    if unset(spec, "completions") && unset(spec, "parallelism") {
        spec.insert("completions".to_string(), json!(1));
        spec.insert("parallelism".to_string(), json!(1));
    }
    set_default(spec, "parallelism", json!(1));
    let per_index = !unset(spec, "backoffLimitPerIndex");
    set_default(
        spec,
        "backoffLimit",
        json!(if per_index { i64::from(i32::MAX) } else { 6 }),
    );
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    let failure_policy = !unset(spec, "podFailurePolicy");
    set_default(
        spec,
        "podReplacementPolicy",
        json!(if failure_policy {
            "Failed"
        } else {
            "TerminatingOrFailed"
        }),
    );
    if let Some(pfp) = existing(spec, "podFailurePolicy") {
        for rule in items(pfp, "rules") {
            for pattern in items(rule, "onPodConditions") {
                set_default_str(pattern, "status", "True");
            }
        }
    }
    default_template(spec);
    // A Job without labels shares its template's label map upstream, so it
    // also ends up with the generated selector labels.
    let adopt_labels = template_labels.is_some_and(|l| l.is_object())
        && m.get("metadata")
            .and_then(|md| md.get("labels"))
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty);
    generate_job_selector(m);
    if adopt_labels {
        let labels = m
            .get("spec")
            .and_then(|s| access::at(s, &["template", "metadata", "labels"]))
            .cloned();
        if let (Some(labels), Some(md)) = (labels, child(m, "metadata")) {
            md.insert("labels".to_string(), labels);
        }
    }
}

/// Upstream's `generateSelector`: unless `manualSelector` is true, select the
/// Job's pods by its uid and label the template accordingly.
fn generate_job_selector(m: &mut Map<String, Value>) {
    let md = m.get("metadata").cloned().unwrap_or(Value::Null);
    let uid = access::s(&md, "uid").to_string();
    let name = access::s(&md, "name").to_string();
    let Some(spec) = child(m, "spec") else { return };
    // Both the uid and the (possibly generated) name must be known first.
    let manual = spec.get("manualSelector").and_then(Value::as_bool) == Some(true);
    if uid.is_empty() || name.is_empty() || manual {
        return;
    }
    if let Some(labels) = child(spec, "template")
        .and_then(|t| child(t, "metadata"))
        .and_then(|md| child(md, "labels"))
    {
        for key in ["job-name", "batch.kubernetes.io/job-name"] {
            labels.entry(key.to_string()).or_insert_with(|| json!(name));
        }
        for key in ["controller-uid", "batch.kubernetes.io/controller-uid"] {
            labels.entry(key.to_string()).or_insert_with(|| json!(uid));
        }
    }
    if let Some(ml) = child(spec, "selector").and_then(|s| child(s, "matchLabels")) {
        ml.entry("batch.kubernetes.io/controller-uid".to_string())
            .or_insert_with(|| json!(uid));
    }
}

pub(crate) fn default_cron_job(obj: &mut Value) {
    let Some(spec) = spec_of(obj) else { return };
    set_default_str(spec, "concurrencyPolicy", "Allow");
    set_default(spec, "suspend", json!(false));
    set_default(spec, "successfulJobsHistoryLimit", json!(3));
    set_default(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(job_spec) = child(spec, "jobTemplate").and_then(|jt| child(jt, "spec")) {
        default_template(job_spec);
    }
}
