//! ObjectMeta rules shared by every kind (name, namespace, labels,
//! annotations, owner references, finalizers), update immutability of
//! identity fields, and label selectors: their validation and matching.

use serde_json::Value;

use super::access::{self, get, list, s};
use super::errors::{Errs, child, forbidden, index, invalid, required, too_long};
use super::gofmt;
use super::names::{self, NameRule};

pub(crate) const NEGATIVE_MSG: &str = "must be greater than or equal to 0";
pub(crate) const IMMUTABLE_MSG: &str = "field is immutable";
const ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;
const STANDARD_FINALIZERS: [&str; 3] = ["kubernetes", "orphan", "foregroundDeletion"];

static NULL: Value = Value::Null;

/// How a kind's metadata is validated.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MetaRules {
    pub(crate) namespaced: bool,
    pub(crate) name: NameRule,
    /// Built-in kinds also require unqualified finalizer names to be well known.
    pub(crate) kube_finalizers: bool,
}

impl MetaRules {
    pub(crate) const fn namespaced(name: NameRule) -> Self {
        MetaRules {
            namespaced: true,
            name,
            kube_finalizers: true,
        }
    }

    pub(crate) const fn cluster(name: NameRule) -> Self {
        MetaRules {
            namespaced: false,
            name,
            kube_finalizers: true,
        }
    }
}

pub(crate) fn metadata(obj: &Value) -> &Value {
    get(obj, "metadata").unwrap_or(&NULL)
}

/// Reports a negative integer the way `ValidateNonnegativeField` does.
pub(crate) fn nonneg(errs: &mut Errs, path: &str, value: Option<i64>) {
    if let Some(v) = value.filter(|v| *v < 0) {
        errs.push(invalid(path, v, NEGATIVE_MSG));
    }
}

/// Reports any change between two optional values as "field is immutable".
pub(crate) fn immutable(errs: &mut Errs, path: &str, new: Option<&Value>, old: Option<&Value>) {
    if !access::sem_eq(new, old) {
        errs.push(invalid(path, new, IMMUTABLE_MSG));
    }
}

/// Create-time metadata validation.
pub(crate) fn validate_object_meta(obj: &Value, rules: MetaRules, errs: &mut Errs) {
    let meta = metadata(obj);
    let name = s(meta, "name");
    if name.is_empty() {
        errs.push(required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        for msg in names::name_errors(rules.name, name) {
            errs.push(invalid("metadata.name", name, msg));
        }
    }
    let ns = s(meta, "namespace");
    if rules.namespaced {
        if ns.is_empty() {
            errs.push(required("metadata.namespace", ""));
        } else {
            for msg in names::dns1123_label(ns) {
                errs.push(invalid("metadata.namespace", ns, msg));
            }
        }
    } else if !ns.is_empty() {
        errs.push(forbidden("metadata.namespace", "not allowed on this type"));
    }
    nonneg(errs, "metadata.generation", access::int(meta, "generation"));
    validate_meta_contents(meta, rules.kube_finalizers, errs);
}

/// Labels, annotations, owners and finalizers; checked on create and update.
fn validate_meta_contents(meta: &Value, kube_finalizers: bool, errs: &mut Errs) {
    validate_labels(get(meta, "labels"), "metadata.labels", errs);
    validate_annotations(get(meta, "annotations"), "metadata.annotations", errs);
    validate_owner_references(list(meta, "ownerReferences"), errs);
    validate_finalizers(list(meta, "finalizers"), kube_finalizers, errs);
}

/// Update-time metadata validation: identity fields are immutable.
///
/// `resourceVersion`, `generation` and the timestamps are owned by the
/// server, so they are not compared here. An empty `uid` or `namespace` in
/// the new object means "unchanged" because the server fills them in.
pub(crate) fn validate_object_meta_update(
    new: &Value,
    old: &Value,
    kube_finalizers: bool,
    errs: &mut Errs,
) {
    let (nm, om) = (metadata(new), metadata(old));
    if access::is_set(om, "deletionTimestamp") {
        let old_f: Vec<&str> = list(om, "finalizers")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut extra: Vec<&str> = list(nm, "finalizers")
            .iter()
            .filter_map(Value::as_str)
            .filter(|f| !old_f.contains(f))
            .collect();
        extra.sort_unstable();
        extra.dedup();
        if !extra.is_empty() {
            let rendered: Vec<String> = extra.iter().map(|f| gofmt::quote(f)).collect();
            errs.push(forbidden(
                "metadata.finalizers",
                format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    rendered.join(", ")
                ),
            ));
        }
    }
    for (field, lenient) in [("name", false), ("namespace", true), ("uid", true)] {
        let n = s(nm, field);
        let o = s(om, field);
        if n != o && !(lenient && n.is_empty()) {
            errs.push(invalid(format!("metadata.{field}"), n, IMMUTABLE_MSG));
        }
    }
    validate_meta_contents(nm, kube_finalizers, errs);
}

pub(crate) fn validate_labels(m: Option<&Value>, path: &str, errs: &mut Errs) {
    for (k, v) in access::string_pairs(m.and_then(Value::as_object)) {
        validate_label_name(&k, path, errs);
        for msg in names::label_value(&v) {
            errs.push(invalid(path, v.as_str(), msg));
        }
    }
}

pub(crate) fn validate_label_name(k: &str, path: &str, errs: &mut Errs) {
    for msg in names::qualified_name(k) {
        errs.push(invalid(path, k, msg));
    }
}

pub(crate) fn validate_annotations(m: Option<&Value>, path: &str, errs: &mut Errs) {
    let pairs = access::string_pairs(m.and_then(Value::as_object));
    let mut total = 0usize;
    for (k, v) in &pairs {
        // Annotation keys are case-insensitive in the name part.
        for msg in names::qualified_name(&k.to_ascii_lowercase()) {
            errs.push(invalid(path, k.as_str(), msg));
        }
        total += k.len() + v.len();
    }
    if total > ANNOTATION_SIZE_LIMIT {
        errs.push(too_long(path, ANNOTATION_SIZE_LIMIT));
    }
}

fn validate_owner_references(refs: &[Value], errs: &mut Errs) {
    let path = "metadata.ownerReferences";
    let mut first_controller: Option<String> = None;
    for r in refs {
        let api_version = s(r, "apiVersion");
        let kind = s(r, "kind");
        let version = api_version.rsplit('/').next().unwrap_or("");
        if version.is_empty() {
            errs.push(invalid(
                child(path, "apiVersion"),
                api_version,
                "version must not be empty",
            ));
        }
        if kind.is_empty() {
            errs.push(invalid(child(path, "kind"), kind, "must not be empty"));
        }
        for f in ["name", "uid"] {
            if s(r, f).is_empty() {
                errs.push(invalid(child(path, f), "", "must not be empty"));
            }
        }
        if api_version == "v1" && kind == "Event" {
            errs.push(invalid(
                path,
                super::errors::Bad::Raw(gofmt::json(r)),
                "/v1, Kind=Event is disallowed from being an owner",
            ));
        }
        if access::boolean(r, "controller") == Some(true) {
            let this = format!("{}/{}", kind, s(r, "name"));
            match &first_controller {
                Some(first) => errs.push(invalid(
                    path,
                    super::errors::Bad::Raw(gofmt::json(&Value::Array(refs.to_vec()))),
                    format!(
                        "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {this}"
                    ),
                )),
                None => first_controller = Some(this),
            }
        }
    }
}

fn validate_finalizers(finalizers: &[Value], kube: bool, errs: &mut Errs) {
    let path = "metadata.finalizers";
    let names: Vec<&str> = finalizers.iter().filter_map(Value::as_str).collect();
    for f in &names {
        for msg in names::qualified_name(f) {
            errs.push(invalid(path, *f, msg));
        }
    }
    if names.contains(&"orphan") && names.contains(&"foregroundDeletion") {
        errs.push(invalid(
            path,
            super::errors::Bad::Raw(gofmt::string_slice(Some(&Value::Array(
                finalizers.to_vec(),
            )))),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    if kube {
        for (i, f) in names.iter().enumerate() {
            validate_kube_finalizer(f, &index(path, i), errs);
        }
    }
}

/// Unqualified finalizer names must be one of the well-known ones.
pub(crate) fn validate_kube_finalizer(f: &str, path: &str, errs: &mut Errs) {
    if !f.contains('/') && !STANDARD_FINALIZERS.contains(&f) {
        errs.push(invalid(
            path,
            f,
            "name is neither a standard finalizer name nor is it fully qualified",
        ));
    }
}

/// `ValidateLabelSelector`: syntax of matchLabels and matchExpressions.
pub(crate) fn validate_label_selector(sel: Option<&Value>, path: &str, errs: &mut Errs) {
    let Some(sel) = sel else { return };
    validate_labels(get(sel, "matchLabels"), &child(path, "matchLabels"), errs);
    for (i, expr) in list(sel, "matchExpressions").iter().enumerate() {
        let p = index(&child(path, "matchExpressions"), i);
        let values = list(expr, "values");
        match s(expr, "operator") {
            "In" | "NotIn" => {
                if values.is_empty() {
                    errs.push(required(
                        child(&p, "values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    errs.push(forbidden(
                        child(&p, "values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            other => errs.push(invalid(
                child(&p, "operator"),
                other,
                "not a valid selector operator",
            )),
        }
        validate_label_name(s(expr, "key"), &child(&p, "key"), errs);
        for (j, v) in values.iter().enumerate() {
            let v = access::scalar_string(v);
            for msg in names::label_value(&v) {
                errs.push(invalid(index(&child(&p, "values"), j), v.as_str(), msg));
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

#[derive(Debug, Clone)]
pub(crate) struct Requirement {
    key: String,
    op: Op,
    values: Vec<String>,
}

/// A compiled label selector (`metav1.LabelSelectorAsSelector`).
#[derive(Debug, Clone)]
pub(crate) enum Selector {
    /// A nil selector selects nothing.
    Nothing,
    /// All requirements must hold; an empty list selects everything.
    All(Vec<Requirement>),
}

impl Selector {
    /// True for the "everything" selector, which upstream skips when
    /// checking template labels.
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Selector::All(r) if r.is_empty())
    }

    pub(crate) fn matches(&self, labels: Option<&Value>) -> bool {
        let pairs = access::string_pairs(labels.and_then(Value::as_object));
        let lookup = |k: &str| {
            pairs
                .iter()
                .find(|(pk, _)| pk == k)
                .map(|(_, v)| v.as_str())
        };
        match self {
            Selector::Nothing => false,
            Selector::All(reqs) => reqs.iter().all(|r| {
                let v = lookup(&r.key);
                match r.op {
                    Op::Equals | Op::In => v.is_some_and(|v| r.values.iter().any(|x| x == v)),
                    Op::NotIn => v.is_none_or(|v| !r.values.iter().any(|x| x == v)),
                    Op::Exists => v.is_some(),
                    Op::DoesNotExist => v.is_none(),
                }
            }),
        }
    }
}

/// Compiles a selector; `Err` when upstream's conversion would fail.
pub(crate) fn selector_from(sel: Option<&Value>) -> Result<Selector, ()> {
    let Some(sel) = sel.filter(|s| s.is_object()) else {
        return Ok(Selector::Nothing);
    };
    let mut reqs = Vec::new();
    let mut labels = access::string_pairs(access::map(sel, "matchLabels"));
    labels.sort();
    for (k, v) in labels {
        reqs.push(requirement(k, Op::Equals, vec![v])?);
    }
    for expr in list(sel, "matchExpressions") {
        let op = match s(expr, "operator") {
            "In" => Op::In,
            "NotIn" => Op::NotIn,
            "Exists" => Op::Exists,
            "DoesNotExist" => Op::DoesNotExist,
            _ => return Err(()),
        };
        let values = list(expr, "values")
            .iter()
            .map(access::scalar_string)
            .collect();
        reqs.push(requirement(s(expr, "key").to_string(), op, values)?);
    }
    Ok(Selector::All(reqs))
}

fn requirement(key: String, op: Op, values: Vec<String>) -> Result<Requirement, ()> {
    let values_ok = match op {
        Op::Equals => values.len() == 1,
        Op::In | Op::NotIn => !values.is_empty(),
        Op::Exists | Op::DoesNotExist => values.is_empty(),
    };
    if !values_ok
        || !names::qualified_name(&key).is_empty()
        || values.iter().any(|v| !names::label_value(v).is_empty())
    {
        return Err(());
    }
    Ok(Requirement { key, op, values })
}
