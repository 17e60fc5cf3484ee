//! Label and field selectors: parsing the query-string syntax (`app=web,tier!=db`,
//! `env in (a,b)`, `!canary`) and matching objects against them.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::Value;

use crate::stored_form::Projection;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Equals(String),
    NotEquals(String),
    In(BTreeSet<String>),
    NotIn(BTreeSet<String>),
    Exists,
    DoesNotExist,
    GreaterThan(i64),
    LessThan(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Op,
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn valid_label_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|l| {
                !l.is_empty()
                    && l.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            })
    });
    name_ok && prefix_ok
}

fn valid_label_value(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && v.starts_with(|c: char| c.is_ascii_alphanumeric())
            && v.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

fn parse_set(s: &str) -> Result<BTreeSet<String>, SelectorError> {
    let inner = s
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| {
            SelectorError(format!(
                "expected a parenthesised set of values, found {s:?}"
            ))
        })?;
    let mut set = BTreeSet::new();
    for v in inner.split(',') {
        let v = v.trim();
        if !valid_label_value(v) {
            return Err(SelectorError(format!("invalid label value: {v:?}")));
        }
        set.insert(v.to_string());
    }
    Ok(set)
}

fn parse_requirement(part: &str) -> Result<Requirement, SelectorError> {
    let part = part.trim();
    if part.is_empty() {
        return Err(SelectorError(
            "found '', expected: !, identifier, or 'end of string'".into(),
        ));
    }
    let check_key = |k: &str| -> Result<String, SelectorError> {
        let k = k.trim();
        if valid_label_key(k) {
            Ok(k.to_string())
        } else {
            Err(SelectorError(format!(
                "invalid label key {k:?}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
            )))
        }
    };
    if let Some(key) = part.strip_prefix('!') {
        return Ok(Requirement {
            key: check_key(key)?,
            op: Op::DoesNotExist,
        });
    }
    for (token, ctor) in [(" notin ", true), (" in ", false)] {
        if let Some(idx) = part.find(token) {
            let key = check_key(&part[..idx])?;
            let set = parse_set(&part[idx + token.len()..])?;
            let op = if ctor { Op::NotIn(set) } else { Op::In(set) };
            return Ok(Requirement { key, op });
        }
    }
    type MakeOp = fn(String) -> Result<Op, SelectorError>;
    let ops: [(&str, MakeOp); 6] = [
        ("!=", |v| Ok(Op::NotEquals(v))),
        ("==", |v| Ok(Op::Equals(v))),
        ("=", |v| Ok(Op::Equals(v))),
        (">", |v| {
            v.parse()
                .map(Op::GreaterThan)
                .map_err(|_| SelectorError(format!("invalid integer value {v:?}")))
        }),
        ("<", |v| {
            v.parse()
                .map(Op::LessThan)
                .map_err(|_| SelectorError(format!("invalid integer value {v:?}")))
        }),
        ("", |_| Ok(Op::Exists)),
    ];
    for (token, make) in ops {
        if token.is_empty() {
            return Ok(Requirement {
                key: check_key(part)?,
                op: make(String::new())?,
            });
        }
        if let Some(idx) = part.find(token) {
            let key = check_key(&part[..idx])?;
            let value = part[idx + token.len()..].trim().to_string();
            if matches!(token, "=" | "==" | "!=") && !valid_label_value(&value) {
                return Err(SelectorError(format!(
                    "invalid label value: {value:?}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
                )));
            }
            return Ok(Requirement {
                key,
                op: make(value)?,
            });
        }
    }
    Err(SelectorError(format!(
        "unable to parse requirement: {part:?}"
    )))
}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(Self::default());
        }
        let requirements = split_top_level(s)
            .into_iter()
            .map(parse_requirement)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LabelSelector { requirements })
    }

    /// Builds a selector from a `metav1.LabelSelector` object (`matchLabels`/`matchExpressions`).
    pub fn from_object(sel: &Value) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        if let Some(labels) = sel.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in labels {
                requirements.push(Requirement {
                    key: k.clone(),
                    op: Op::Equals(v.as_str().unwrap_or_default().to_string()),
                });
            }
        }
        for expr in sel
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = expr
                .get("key")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let values: BTreeSet<String> = expr
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            let op = match expr.get("operator").and_then(Value::as_str) {
                Some("In") => Op::In(values),
                Some("NotIn") => Op::NotIn(values),
                Some("Exists") => Op::Exists,
                Some("DoesNotExist") => Op::DoesNotExist,
                other => {
                    return Err(SelectorError(format!(
                        "{other:?} is not a valid label selector operator"
                    )));
                }
            };
            requirements.push(Requirement { key, op });
        }
        Ok(LabelSelector { requirements })
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Does an object's `metadata.labels` satisfy every requirement?
    pub fn matches(&self, labels: Option<&serde_json::Map<String, Value>>) -> bool {
        self.requirements.iter().all(|r| {
            let value = labels.and_then(|l| l.get(&r.key)).and_then(Value::as_str);
            match (&r.op, value) {
                (Op::Equals(want), Some(v)) => v == want,
                (Op::Equals(_), None) => false,
                (Op::NotEquals(want), v) => v != Some(want.as_str()),
                (Op::In(set), Some(v)) => set.contains(v),
                (Op::In(_), None) => false,
                (Op::NotIn(set), v) => v.is_none_or(|v| !set.contains(v)),
                (Op::Exists, v) => v.is_some(),
                (Op::DoesNotExist, v) => v.is_none(),
                (Op::GreaterThan(n), Some(v)) => v.parse::<i64>().is_ok_and(|x| x > *n),
                (Op::LessThan(n), Some(v)) => v.parse::<i64>().is_ok_and(|x| x < *n),
                (Op::GreaterThan(_) | Op::LessThan(_), None) => false,
            }
        })
    }

    pub fn matches_object(&self, obj: &Value) -> bool {
        self.is_empty() || self.matches(obj.pointer("/metadata/labels").and_then(Value::as_object))
    }
}

impl std::fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let join = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(",");
        let parts: Vec<String> = self
            .requirements
            .iter()
            .map(|r| match &r.op {
                Op::Equals(v) => format!("{}={}", r.key, v),
                Op::NotEquals(v) => format!("{}!={}", r.key, v),
                Op::In(s) => format!("{} in ({})", r.key, join(s)),
                Op::NotIn(s) => format!("{} notin ({})", r.key, join(s)),
                Op::Exists => r.key.clone(),
                Op::DoesNotExist => format!("!{}", r.key),
                Op::GreaterThan(n) => format!("{}>{}", r.key, n),
                Op::LessThan(n) => format!("{}<{}", r.key, n),
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// A parsed field selector: `field=value` / `field!=value` terms, all of which must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<(String, bool, String)>,
}

/// Fields each kind can be selected on, beyond `metadata.name` and `metadata.namespace`
/// (the same sets Kubernetes registers).
pub fn selectable_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        "Event" => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
        ],
        "Node" => &["spec.unschedulable"],
        "Secret" => &["type"],
        "Namespace" => &["status.phase"],
        "ReplicaSet" => &["status.replicas"],
        "Job" => &["status.successful"],
        "PersistentVolumeClaim" => &["spec.volumeName"],
        _ => &[],
    }
}

fn unescape_field_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl FieldSelector {
    pub fn parse(s: &str, kind: &str) -> Result<Self, SelectorError> {
        let mut terms = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, negate, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, true, v)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, false, v)
            } else {
                return Err(SelectorError(format!(
                    "invalid selector: '{part}'; can't understand '{part}'"
                )));
            };
            let field = field.trim();
            if field != "metadata.name"
                && field != "metadata.namespace"
                && !selectable_fields(kind).contains(&field)
            {
                return Err(SelectorError(format!("field label not supported: {field}")));
            }
            terms.push((
                field.to_string(),
                negate,
                unescape_field_value(value.trim()),
            ));
        }
        Ok(FieldSelector { terms })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The exact name required by `metadata.name=X`, which lets a list read one key.
    pub fn required_name(&self) -> Option<&str> {
        self.terms
            .iter()
            .find(|(f, neg, _)| f == "metadata.name" && !neg)
            .map(|(_, _, v)| v.as_str())
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.terms.iter().all(|(field, negate, want)| {
            let got = field_value(obj, field);
            (got == *want) != *negate
        })
    }
}

/// The string form of a selectable field, with Kubernetes' defaults for absent values.
fn field_value(obj: &Value, field: &str) -> String {
    let pointer = format!("/{}", field.replace('.', "/"));
    match obj.pointer(&pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Object(o)) if field == "source" => o
            .get("component")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => match field {
            "spec.unschedulable" | "spec.hostNetwork" => "false".into(),
            "status.replicas" | "status.successful" => "0".into(),
            _ => String::new(),
        },
    }
}

/// The parts of an object that selectors look at (name, namespace, labels and the kind's
/// selectable fields), kept beside cached objects so filtering never re-parses the object.
/// What `selection_view` keeps, straight from an object's JSON without parsing the rest.
pub fn selection_view_from_json(kind: &str, json: &[u8]) -> serde_json::Result<Value> {
    type Projections = std::sync::RwLock<HashMap<String, Arc<Projection>>>;
    static PROJECTIONS: std::sync::LazyLock<Projections> =
        std::sync::LazyLock::new(Default::default);
    let cached = PROJECTIONS
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(kind)
        .cloned();
    let projection = cached.unwrap_or_else(|| {
        let built = Arc::new(Projection::from_paths(
            ["metadata.name", "metadata.namespace", "metadata.labels"]
                .into_iter()
                .chain(selectable_fields(kind).iter().copied()),
        ));
        PROJECTIONS
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(kind.to_string(), built.clone());
        built
    });
    let mut view = projection.parse(json)?;
    if let Value::Object(m) = &mut view {
        m.entry("metadata")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
    }
    Ok(view)
}

pub fn selection_view(kind: &str, obj: &Value) -> Value {
    let mut view = serde_json::json!({"metadata": {}});
    for field in ["name", "namespace", "labels"] {
        if let Some(v) = obj.pointer(&format!("/metadata/{field}")) {
            view["metadata"][field] = v.clone();
        }
    }
    for field in selectable_fields(kind) {
        let mut path = field.split('.').peekable();
        let mut src = obj;
        let mut dst = &mut view;
        while let Some(seg) = path.next() {
            let Some(next) = src.get(seg) else { break };
            src = next;
            if path.peek().is_none() {
                dst[seg] = next.clone();
            } else {
                if dst.get(seg).is_none() {
                    dst[seg] = serde_json::json!({});
                }
                dst = &mut dst[seg];
            }
        }
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Value {
        json!({"metadata": {"labels": v}})
    }

    #[test]
    fn equality_and_set_based_requirements_match_like_kubernetes() {
        let obj = labels(json!({"app": "web", "tier": "front"}));
        for (sel, want) in [
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app in (web,api)", true),
            ("app notin (web)", false),
            ("tier", true),
            ("!tier", false),
            ("missing!=x", true),
            ("app=web,tier in (back)", false),
            ("", true),
        ] {
            let s = LabelSelector::parse(sel).expect("valid selector");
            assert_eq!(s.matches_object(&obj), want, "{sel}");
        }
    }

    #[test]
    fn invalid_label_selectors_are_rejected() {
        for sel in ["app=we b", "=x", "app in web", "a,,b", "Bad Key=x"] {
            assert!(LabelSelector::parse(sel).is_err(), "{sel}");
        }
    }

    #[test]
    fn label_selector_from_object_round_trips_to_string() {
        let s = LabelSelector::from_object(&json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "env", "operator": "In", "values": ["a", "b"]}]
        }))
        .expect("valid");
        assert_eq!(s.to_string(), "app=web,env in (a,b)");
    }

    #[test]
    fn field_selectors_check_supported_fields_and_match() {
        let pod = json!({"metadata": {"name": "p", "namespace": "default"},
                         "spec": {"nodeName": "node-1"}, "status": {"phase": "Running"}});
        let s =
            FieldSelector::parse("spec.nodeName=node-1,status.phase!=Failed", "Pod").expect("ok");
        assert!(s.matches(&pod));
        let s = FieldSelector::parse("spec.nodeName=", "Pod").expect("ok");
        assert!(!s.matches(&pod));
        assert!(FieldSelector::parse("spec.bogus=1", "Pod").is_err());
        let s = FieldSelector::parse("metadata.name=p", "ConfigMap").expect("ok");
        assert_eq!(s.required_name(), Some("p"));
        let ev = json!({"involvedObject": {"name": "x", "uid": "u"}});
        let s = FieldSelector::parse("involvedObject.name=x,involvedObject.uid=u", "Event")
            .expect("ok");
        assert!(s.matches(&ev));
    }
}
