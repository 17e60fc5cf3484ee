//! apps/v1 layouts: Deployment, ReplicaSet, StatefulSet, DaemonSet.

use capstan_api_types::printing::{format_label_selector, format_labels, selector_string};
use serde_json::Value;

use crate::events::write_events;
use crate::json::{
    arr_at, int_at, is_controlled_by, label_text, map_at, of_kind, opt_int, str_at, time_at,
};
use crate::meta;
use crate::pod::{describe_template, pods_status};
use crate::storage::claim_class;
use crate::writer::Writer;
use crate::{Context, quantity};

/// The label the Deployment controller adds to each ReplicaSet's template; it differs between
/// otherwise identical templates.
const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// A selector as `LabelSelectorAsSelector(..).String()`, or the reason it cannot be built.
fn selector(obj: &Value) -> String {
    match selector_string(obj.pointer("/spec/selector"), label_text) {
        Ok(s) => s,
        Err(e) => format!("<error: {e}>"),
    }
}

/// `*spec.replicas`; the API server defaults an absent count to 1.
fn desired_replicas(obj: &Value) -> i64 {
    opt_int(obj, "/spec/replicas").unwrap_or(1)
}

/// The "Type Status Reason" conditions table of Deployments and ReplicaSets.
fn conditions(w: &mut Writer, obj: &Value) {
    let list = arr_at(obj, "/status/conditions");
    if list.is_empty() {
        return;
    }
    w.line(0, "Conditions:\n  Type\tStatus\tReason");
    w.line(1, "----\t------\t------");
    for c in list {
        w.line(
            1,
            format_args!(
                "{} \t{}\t{}",
                str_at(c, "/type"),
                str_at(c, "/status"),
                str_at(c, "/reason")
            ),
        );
    }
}

/// An IntOrString pointer's `String()`: the number or percentage, "<nil>" when absent.
fn int_or_percent(v: &Value, ptr: &str) -> String {
    match v.pointer(ptr) {
        None | Some(Value::Null) => "<nil>".into(),
        Some(x) => crate::json::go_value(x),
    }
}

pub(crate) fn describe_deployment(w: &mut Writer, d: &Value, cx: &Context<'_>) {
    meta::name_namespace(w, d);
    meta::creation_timestamp_line(w, d);
    meta::labels_and_annotations(w, d);
    w.line(0, format_args!("Selector:\t{}", selector(d)));
    w.line(
        0,
        format_args!(
            "Replicas:\t{} desired | {} updated | {} total | {} available | {} unavailable",
            desired_replicas(d),
            int_at(d, "/status/updatedReplicas"),
            int_at(d, "/status/replicas"),
            int_at(d, "/status/availableReplicas"),
            int_at(d, "/status/unavailableReplicas"),
        ),
    );
    w.line(
        0,
        format_args!("StrategyType:\t{}", str_at(d, "/spec/strategy/type")),
    );
    w.line(
        0,
        format_args!("MinReadySeconds:\t{}", int_at(d, "/spec/minReadySeconds")),
    );
    if let Some(ru) = d
        .pointer("/spec/strategy/rollingUpdate")
        .filter(|v| !v.is_null())
    {
        w.line(
            0,
            format_args!(
                "RollingUpdateStrategy:\t{} max unavailable, {} max surge",
                int_or_percent(ru, "/maxUnavailable"),
                int_or_percent(ru, "/maxSurge")
            ),
        );
    }
    describe_template(w, &d["spec"]["template"]);
    conditions(w, d);
    let (old, new) = replica_sets(d, cx.related);
    if !old.is_empty() || new.is_some() {
        w.line(
            0,
            format_args!("OldReplicaSets:\t{}", replica_set_list(&old)),
        );
        w.line(
            0,
            format_args!("NewReplicaSet:\t{}", replica_set_list(new.as_slice())),
        );
    }
    write_events(w, cx.events, cx.now);
}

/// The Deployment's ReplicaSets among `related`, split as `kubectl describe` shows them: the new
/// one (oldest whose template matches the Deployment's) and the old ones still asked to run pods.
fn replica_sets<'a>(d: &Value, related: &'a [Value]) -> (Vec<&'a Value>, Option<&'a Value>) {
    let mut owned: Vec<&Value> = of_kind(related, "ReplicaSet")
        .filter(|rs| is_controlled_by(rs, d))
        .collect();
    owned.sort_by(|a, b| {
        time_at(a, "/metadata/creationTimestamp")
            .cmp(&time_at(b, "/metadata/creationTimestamp"))
            .then_with(|| str_at(a, "/metadata/name").cmp(str_at(b, "/metadata/name")))
    });
    let wanted = normalized_template(&d["spec"]["template"]);
    let new = owned
        .iter()
        .copied()
        .find(|rs| normalized_template(&rs["spec"]["template"]) == wanted);
    let old = owned
        .into_iter()
        .filter(|rs| !new.is_some_and(|n| std::ptr::eq(n, *rs)))
        .filter(|rs| desired_replicas(rs) != 0)
        .collect();
    (old, new)
}

/// A pod template without the hash label and without empty or null fields, so that templates
/// Go would call semantically equal compare equal here too.
fn normalized_template(template: &Value) -> Value {
    let mut t = prune(template).unwrap_or(Value::Null);
    if let Some(labels) = t
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(POD_TEMPLATE_HASH);
    }
    prune(&t).unwrap_or(Value::Null)
}

fn prune(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Array(items) if items.is_empty() => None,
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .map(|i| prune(i).unwrap_or(Value::Null))
                .collect(),
        )),
        Value::Object(map) => {
            let kept: serde_json::Map<String, Value> = map
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), prune(v)?)))
                .collect();
            (!kept.is_empty()).then_some(Value::Object(kept))
        }
        other => Some(other.clone()),
    }
}

/// "name (2/3 replicas created), ..." or "<none>".
fn replica_set_list(list: &[&Value]) -> String {
    if list.is_empty() {
        return "<none>".into();
    }
    list.iter()
        .map(|rs| {
            format!(
                "{} ({}/{} replicas created)",
                str_at(rs, "/metadata/name"),
                int_at(rs, "/status/replicas"),
                desired_replicas(rs)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn describe_replica_set(w: &mut Writer, rs: &Value, cx: &Context<'_>) {
    meta::name_namespace(w, rs);
    w.line(
        0,
        format_args!(
            "Selector:\t{}",
            format_label_selector(rs.pointer("/spec/selector"), label_text)
        ),
    );
    meta::labels_and_annotations(w, rs);
    meta::controlled_by_line(w, rs);
    w.line(
        0,
        format_args!(
            "Replicas:\t{} current / {} desired",
            int_at(rs, "/status/replicas"),
            desired_replicas(rs)
        ),
    );
    w.line(
        0,
        format_args!("Pods Status:\t{}", pods_status(rs, cx.related)),
    );
    describe_template(w, &rs["spec"]["template"]);
    conditions(w, rs);
    write_events(w, cx.events, cx.now);
}

pub(crate) fn describe_stateful_set(w: &mut Writer, ss: &Value, cx: &Context<'_>) {
    meta::name_namespace(w, ss);
    meta::creation_timestamp_line(w, ss);
    w.line(0, format_args!("Selector:\t{}", selector(ss)));
    meta::labels_and_annotations(w, ss);
    w.line(
        0,
        format_args!(
            "Replicas:\t{} desired | {} total",
            desired_replicas(ss),
            int_at(ss, "/status/replicas")
        ),
    );
    w.line(
        0,
        format_args!(
            "Update Strategy:\t{}",
            str_at(ss, "/spec/updateStrategy/type")
        ),
    );
    if let Some(ru) = ss
        .pointer("/spec/updateStrategy/rollingUpdate")
        .filter(|v| !v.is_null())
        && let Some(partition) = opt_int(ru, "/partition")
    {
        w.line(1, format_args!("Partition:\t{partition}"));
        if ru.get("maxUnavailable").is_some_and(|v| !v.is_null()) {
            w.line(
                1,
                format_args!("MaxUnavailable:\t{}", int_or_percent(ru, "/maxUnavailable")),
            );
        }
    }
    w.line(
        0,
        format_args!("Pods Status:\t{}", pods_status(ss, cx.related)),
    );
    describe_template(w, &ss["spec"]["template"]);
    claim_templates(w, arr_at(ss, "/spec/volumeClaimTemplates"));
    write_events(w, cx.events, cx.now);
}

fn claim_templates(w: &mut Writer, templates: &[Value]) {
    if templates.is_empty() {
        w.line(0, "Volume Claims:\t<none>");
        return;
    }
    w.line(0, "Volume Claims:");
    for pvc in templates {
        w.line(1, format_args!("Name:\t{}", str_at(pvc, "/metadata/name")));
        w.line(1, format_args!("StorageClass:\t{}", claim_class(pvc)));
        // kubectl prints both maps in label form here, annotations included.
        meta::labels_block(w, "  ", "Labels", "\t", map_at(pvc, "/metadata/labels"));
        meta::labels_block(
            w,
            "  ",
            "Annotations",
            "\t",
            map_at(pvc, "/metadata/annotations"),
        );
        let capacity = pvc
            .pointer("/spec/resources/requests/storage")
            .map_or_else(|| "<default>".to_string(), quantity::display);
        w.line(1, format_args!("Capacity:\t{capacity}"));
        let modes = crate::json::strings_at(pvc, "/spec/accessModes");
        w.line(1, format_args!("Access Modes:\t{}", meta::go_list(&modes)));
    }
}

pub(crate) fn describe_daemon_set(w: &mut Writer, ds: &Value, cx: &Context<'_>) {
    meta::name_namespace(w, ds);
    w.line(0, format_args!("Selector:\t{}", selector(ds)));
    w.line(
        0,
        format_args!(
            "Node-Selector:\t{}",
            format_labels(map_at(ds, "/spec/template/spec/nodeSelector"), label_text)
        ),
    );
    meta::labels_and_annotations(w, ds);
    for (title, field) in [
        (
            "Desired Number of Nodes Scheduled",
            "desiredNumberScheduled",
        ),
        (
            "Current Number of Nodes Scheduled",
            "currentNumberScheduled",
        ),
        (
            "Number of Nodes Scheduled with Up-to-date Pods",
            "updatedNumberScheduled",
        ),
        (
            "Number of Nodes Scheduled with Available Pods",
            "numberAvailable",
        ),
        ("Number of Nodes Misscheduled", "numberMisscheduled"),
    ] {
        // These lines have no tab in kubectl, so they stay out of the column alignment.
        w.line(
            0,
            format_args!("{title}: {}", int_at(ds, &format!("/status/{field}"))),
        );
    }
    w.line(
        0,
        format_args!("Pods Status:\t{}", pods_status(ds, cx.related)),
    );
    describe_template(w, &ds["spec"]["template"]);
    write_events(w, cx.events, cx.now);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_compare_without_hash_label_and_empty_fields() {
        let a = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "env": []}]}});
        let b = json!({"metadata": {"labels": {"app": "x", "pod-template-hash": "123"}, "annotations": {}},
                       "spec": {"containers": [{"name": "c"}], "volumes": null}});
        assert_eq!(normalized_template(&a), normalized_template(&b));
        let c = json!({"metadata": {"labels": {"app": "y"}}});
        assert_ne!(normalized_template(&a), normalized_template(&c));
    }
}
