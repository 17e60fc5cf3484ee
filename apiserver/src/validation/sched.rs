//! Scheduling-related pod spec fields: tolerations, node and pod
//! (anti-)affinity, and topology spread constraints.

use serde_json::Value;

use super::access::{self, get, int, list, s};
use super::errors::{
    Bad, Errs, child, duplicate, forbidden, index, invalid, not_supported, required,
};
use super::gofmt;
use super::meta;
use super::names;

const EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// Renders a toleration the way Go prints the internal struct.
fn toleration_repr(t: &Value) -> Bad {
    if access::is_set(t, "tolerationSeconds") {
        return Bad::Raw(gofmt::json(t));
    }
    Bad::Raw(format!(
        "core.Toleration{{Key:{}, Operator:{}, Value:{}, Effect:{}, TolerationSeconds:(*int64)(nil)}}",
        gofmt::quote(s(t, "key")),
        gofmt::quote(s(t, "operator")),
        gofmt::quote(s(t, "value")),
        gofmt::quote(s(t, "effect"))
    ))
}

pub(crate) fn validate_taint_effect(effect: &str, allow_empty: bool, path: &str, errs: &mut Errs) {
    if effect.is_empty() && !allow_empty {
        errs.push(required(path, ""));
        return;
    }
    if !EFFECTS.contains(&effect) {
        errs.push(not_supported(path, effect, EFFECTS));
    }
}

pub(crate) fn validate_tolerations(tolerations: &[Value], path: &str, errs: &mut Errs) {
    for (i, t) in tolerations.iter().enumerate() {
        let p = index(path, i);
        let key = s(t, "key");
        let op = s(t, "operator");
        let effect = s(t, "effect");
        if !key.is_empty() {
            meta::validate_label_name(key, &child(&p, "key"), errs);
        }
        if key.is_empty() && op != "Exists" {
            errs.push(invalid(
                child(&p, "operator"),
                op,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if access::is_set(t, "tolerationSeconds") && effect != "NoExecute" {
            errs.push(invalid(
                child(&p, "effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match op {
            "Equal" | "" => {
                let value = s(t, "value");
                let msgs = names::label_value(value);
                if !msgs.is_empty() {
                    errs.push(invalid(child(&p, "operator"), value, msgs.join(";")));
                }
            }
            "Exists" => {
                if !s(t, "value").is_empty() {
                    errs.push(invalid(
                        child(&p, "operator"),
                        toleration_repr(t),
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => errs.push(not_supported(
                child(&p, "operator"),
                other,
                &["Equal", "Exists"],
            )),
        }
        if !effect.is_empty() {
            validate_taint_effect(effect, true, &child(&p, "effect"), errs);
        }
    }
}

pub(crate) fn validate_affinity(aff: &Value, path: &str, errs: &mut Errs) {
    if let Some(na) = get(aff, "nodeAffinity") {
        let p = child(path, "nodeAffinity");
        if let Some(req) = get(na, "requiredDuringSchedulingIgnoredDuringExecution") {
            validate_node_selector(
                req,
                &child(&p, "requiredDuringSchedulingIgnoredDuringExecution"),
                errs,
            );
        }
        let pref = child(&p, "preferredDuringSchedulingIgnoredDuringExecution");
        for (i, term) in list(na, "preferredDuringSchedulingIgnoredDuringExecution")
            .iter()
            .enumerate()
        {
            let tp = index(&pref, i);
            check_weight(term, &tp, errs);
            let preference = get(term, "preference").unwrap_or(&Value::Null);
            validate_node_selector_term(preference, &child(&tp, "preference"), errs);
        }
    }
    for kind in ["podAffinity", "podAntiAffinity"] {
        let Some(pa) = get(aff, kind) else { continue };
        let p = child(path, kind);
        let req = child(&p, "requiredDuringSchedulingIgnoredDuringExecution");
        for (i, term) in list(pa, "requiredDuringSchedulingIgnoredDuringExecution")
            .iter()
            .enumerate()
        {
            validate_pod_affinity_term(term, &index(&req, i), errs);
        }
        let pref = child(&p, "preferredDuringSchedulingIgnoredDuringExecution");
        for (i, wt) in list(pa, "preferredDuringSchedulingIgnoredDuringExecution")
            .iter()
            .enumerate()
        {
            let tp = index(&pref, i);
            check_weight(wt, &tp, errs);
            let term = get(wt, "podAffinityTerm").unwrap_or(&Value::Null);
            validate_pod_affinity_term(term, &child(&tp, "podAffinityTerm"), errs);
        }
    }
}

fn check_weight(term: &Value, path: &str, errs: &mut Errs) {
    let w = int(term, "weight").unwrap_or(0);
    if !(1..=100).contains(&w) {
        errs.push(invalid(
            child(path, "weight"),
            w,
            "must be in the range 1-100",
        ));
    }
}

/// A `NodeSelector` (required node affinity, PV node affinity).
pub(crate) fn validate_node_selector(sel: &Value, path: &str, errs: &mut Errs) {
    let terms_path = child(path, "nodeSelectorTerms");
    let terms = list(sel, "nodeSelectorTerms");
    if terms.is_empty() {
        errs.push(required(
            terms_path,
            "must have at least one node selector term",
        ));
        return;
    }
    for (i, term) in terms.iter().enumerate() {
        validate_node_selector_term(term, &index(&terms_path, i), errs);
    }
}

fn validate_node_selector_term(term: &Value, path: &str, errs: &mut Errs) {
    let exprs = child(path, "matchExpressions");
    for (j, req) in list(term, "matchExpressions").iter().enumerate() {
        let p = index(&exprs, j);
        let n = list(req, "values").len();
        let vp = child(&p, "values");
        match s(req, "operator") {
            "In" | "NotIn" if n == 0 => errs.push(required(
                vp,
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "Exists" | "DoesNotExist" if n > 0 => errs.push(forbidden(
                vp,
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "Gt" | "Lt" if n != 1 => errs.push(required(
                vp,
                "must be specified single value when `operator` is 'Lt' or 'Gt'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt" => {}
            other => errs.push(invalid(
                child(&p, "operator"),
                other,
                "not a valid selector operator",
            )),
        }
        meta::validate_label_name(s(req, "key"), &child(&p, "key"), errs);
    }
    let fields = child(path, "matchFields");
    for (j, req) in list(term, "matchFields").iter().enumerate() {
        let p = index(&fields, j);
        let values = list(req, "values");
        match s(req, "operator") {
            "In" | "NotIn" => {
                if values.len() != 1 {
                    errs.push(required(
                        child(&p, "values"),
                        "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
                    ));
                }
            }
            other => errs.push(invalid(
                child(&p, "operator"),
                other,
                "not a valid selector operator",
            )),
        }
        let key = s(req, "key");
        if key != "metadata.name" {
            errs.push(invalid(
                child(&p, "key"),
                key,
                "not a valid field selector key",
            ));
        } else {
            for (k, v) in values.iter().enumerate() {
                let v = access::scalar_string(v);
                for msg in names::dns1123_subdomain(&v) {
                    errs.push(invalid(index(&child(&p, "values"), k), v.as_str(), msg));
                }
            }
        }
    }
}

fn validate_pod_affinity_term(term: &Value, path: &str, errs: &mut Errs) {
    meta::validate_label_selector(
        get(term, "labelSelector"),
        &child(path, "labelSelector"),
        errs,
    );
    meta::validate_label_selector(
        get(term, "namespaceSelector"),
        &child(path, "namespaceSelector"),
        errs,
    );
    for ns in list(term, "namespaces") {
        let ns = access::scalar_string(ns);
        for msg in names::dns1123_label(&ns) {
            errs.push(invalid(child(path, "namespace"), ns.as_str(), msg));
        }
    }
    for field in ["matchLabelKeys", "mismatchLabelKeys"] {
        let keys = list(term, field);
        if keys.is_empty() {
            continue;
        }
        let fp = child(path, field);
        if !access::is_set(term, "labelSelector") {
            errs.push(forbidden(
                fp,
                "must not be specified when labelSelector is not set",
            ));
            continue;
        }
        for (i, k) in keys.iter().enumerate() {
            meta::validate_label_name(&access::scalar_string(k), &index(&fp, i), errs);
        }
    }
    let tk = s(term, "topologyKey");
    if tk.is_empty() {
        errs.push(required(child(path, "topologyKey"), "can not be empty"));
    }
    meta::validate_label_name(tk, &child(path, "topologyKey"), errs);
}

pub(crate) fn validate_topology_spread(constraints: &[Value], path: &str, errs: &mut Errs) {
    for (i, c) in constraints.iter().enumerate() {
        let p = index(path, i);
        let skew = int(c, "maxSkew").unwrap_or(0);
        if skew <= 0 {
            errs.push(invalid(
                child(&p, "maxSkew"),
                skew,
                "must be greater than zero",
            ));
        }
        let key = s(c, "topologyKey");
        if key.is_empty() {
            errs.push(required(child(&p, "topologyKey"), "can not be empty"));
        }
        let when = s(c, "whenUnsatisfiable");
        const ACTIONS: &[&str] = &["DoNotSchedule", "ScheduleAnyway"];
        if !ACTIONS.contains(&when) {
            errs.push(not_supported(child(&p, "whenUnsatisfiable"), when, ACTIONS));
        }
        let repeated = constraints[i + 1..]
            .iter()
            .any(|o| s(o, "topologyKey") == key && s(o, "whenUnsatisfiable") == when);
        if repeated {
            errs.push(duplicate(
                child(&p, "{topologyKey, whenUnsatisfiable}"),
                format!("{{{key}, {when}}}"),
            ));
        }
        if let Some(md) = int(c, "minDomains") {
            if md <= 0 {
                errs.push(invalid(
                    child(&p, "minDomains"),
                    md,
                    "must be greater than zero",
                ));
            }
            if when != "DoNotSchedule" {
                errs.push(invalid(
                    child(&p, "minDomains"),
                    md,
                    format!(
                        "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {when}"
                    ),
                ));
            }
        }
        for policy in ["nodeAffinityPolicy", "nodeTaintsPolicy"] {
            if let Some(v) = access::opt_s(c, policy).filter(|v| *v != "Honor" && *v != "Ignore") {
                errs.push(not_supported(child(&p, policy), v, &["Honor", "Ignore"]));
            }
        }
        let mlk = list(c, "matchLabelKeys");
        if !mlk.is_empty() && !access::is_set(c, "labelSelector") {
            errs.push(forbidden(
                child(&p, "matchLabelKeys"),
                "must not be specified when labelSelector is not set",
            ));
        }
        meta::validate_label_selector(get(c, "labelSelector"), &child(&p, "labelSelector"), errs);
    }
}
