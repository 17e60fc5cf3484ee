//! Text forms that the API server's table printers and `capstan describe` both print: label maps
//! (`labels.FormatLabels`), label selectors (`LabelSelectorAsSelector(..).String()`,
//! `metav1.FormatLabelSelector`) and abbreviated access modes.
//!
//! Objects come in their JSON form. Label values are strings in the API; each caller says how a
//! value that is not one reads (`label_text`): [`string_label`] rejects it, a lenient caller may
//! render it instead.

use std::fmt;

use serde_json::{Map, Value};

/// The access modes in the fixed order they print in, with their abbreviations.
const ACCESS_MODES: [(&str, &str); 4] = [
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
];

/// Why a label selector cannot be built into a selector, in `labels.NewRequirement`'s words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectorError {
    /// `In` or `NotIn` with no values.
    NoValues(String),
    /// `Exists` or `DoesNotExist` with values.
    UnexpectedValues(String),
    /// An operator other than those four.
    InvalidOperator(String),
    /// A label value that is not text.
    NotText,
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoValues(op) => write!(f, "for '{op}' operator, values set can't be empty"),
            Self::UnexpectedValues(op) => write!(f, "values set must be empty for {op}"),
            Self::InvalidOperator(op) => write!(f, "{op:?} is not a valid label selector operator"),
            Self::NotText => f.write_str("label values must be strings"),
        }
    }
}

impl std::error::Error for SelectorError {}

/// A label value as the API types it: its text, None when it is not a string.
pub fn string_label(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// `k=v` pairs sorted as whole strings and comma-joined, or "<none>" (labels.FormatLabels). A
/// value `label_text` cannot read prints as "".
pub fn format_labels(
    labels: Option<&Map<String, Value>>,
    label_text: impl Fn(&Value) -> Option<String>,
) -> String {
    let mut pairs: Vec<String> = labels
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", label_text(v).unwrap_or_default()))
        .collect();
    if pairs.is_empty() {
        return "<none>".into();
    }
    pairs.sort();
    pairs.join(",")
}

/// A LabelSelector as `LabelSelectorAsSelector(..).String()` renders it: requirements sorted by
/// key and comma-joined; "" for a nil or empty selector.
pub fn selector_string(
    selector: Option<&Value>,
    label_text: impl Fn(&Value) -> Option<String>,
) -> Result<String, SelectorError> {
    let Some(sel) = selector.filter(|v| !v.is_null()) else {
        return Ok(String::new());
    };
    let text = |v: &Value| label_text(v).ok_or(SelectorError::NotText);
    let mut reqs: Vec<(&str, String)> = Vec::new();
    for (key, value) in sel
        .pointer("/matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        reqs.push((key, format!("{key}={}", text(value)?)));
    }
    for expr in array_at(sel, "/matchExpressions") {
        let key = expr.pointer("/key").and_then(Value::as_str).unwrap_or("");
        let mut values = array_at(expr, "/values")
            .iter()
            .map(text)
            .collect::<Result<Vec<_>, _>>()?;
        values.sort_unstable();
        let operator = expr
            .pointer("/operator")
            .and_then(Value::as_str)
            .unwrap_or("");
        let rendered = match operator {
            "In" | "NotIn" if values.is_empty() => {
                return Err(SelectorError::NoValues(operator.into()));
            }
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" | "DoesNotExist" if !values.is_empty() => {
                return Err(SelectorError::UnexpectedValues(operator.into()));
            }
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            other => return Err(SelectorError::InvalidOperator(other.into())),
        };
        reqs.push((key, rendered));
    }
    reqs.sort_by(|a, b| a.0.cmp(b.0));
    Ok(reqs
        .into_iter()
        .map(|(_, r)| r)
        .collect::<Vec<_>>()
        .join(","))
}

/// A LabelSelector as metav1.FormatLabelSelector shows it: "<none>" when it selects nothing or
/// everything, "<error>" when it is malformed.
pub fn format_label_selector(
    selector: Option<&Value>,
    label_text: impl Fn(&Value) -> Option<String>,
) -> String {
    match selector_string(selector, label_text) {
        Ok(s) if s.is_empty() => "<none>".into(),
        Ok(s) => s,
        Err(_) => "<error>".into(),
    }
}

/// Access modes abbreviated in the fixed order RWO, ROX, RWX, RWOP and comma-joined.
pub fn access_modes(modes: &[Value]) -> String {
    ACCESS_MODES
        .iter()
        .filter(|(mode, _)| modes.iter().any(|v| v.as_str() == Some(mode)))
        .map(|(_, short)| *short)
        .collect::<Vec<_>>()
        .join(",")
}

fn array_at<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors_render_like_upstream() {
        let sel = json!({
            "matchLabels": {"tier": "web", "app": "nginx"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod", "canary"]},
                {"key": "zone", "operator": "NotIn", "values": ["b"]},
                {"key": "gpu", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist", "values": []}
            ]
        });
        assert_eq!(
            format_label_selector(Some(&sel), string_label),
            "app=nginx,env in (canary,prod),gpu,!legacy,tier=web,zone notin (b)"
        );
        assert_eq!(format_label_selector(None, string_label), "<none>");
        assert_eq!(
            format_label_selector(Some(&json!({})), string_label),
            "<none>"
        );
        for (bad, why) in [
            (
                json!({"matchExpressions": [{"key": "a", "operator": "Near"}]}),
                "\"Near\" is not a valid label selector operator",
            ),
            (
                json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}),
                "for 'In' operator, values set can't be empty",
            ),
            (
                json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
                "values set must be empty for Exists",
            ),
            (
                json!({"matchLabels": {"a": 1}}),
                "label values must be strings",
            ),
        ] {
            let err = selector_string(Some(&bad), string_label).map_err(|e| e.to_string());
            assert_eq!(err, Err(why.to_string()));
            assert_eq!(format_label_selector(Some(&bad), string_label), "<error>");
        }
        let lenient = |v: &Value| Some(v.to_string());
        assert_eq!(
            selector_string(Some(&json!({"matchLabels": {"a": 1}})), lenient),
            Ok("a=1".to_string())
        );
    }

    #[test]
    fn labels_sort_as_whole_pairs() {
        // Whole pairs sort as strings, so "a.b=1" precedes "a=1".
        let labels = json!({"a": "1", "a.b": "1", "n": 2});
        assert_eq!(
            format_labels(labels.as_object(), string_label),
            "a.b=1,a=1,n="
        );
        assert_eq!(format_labels(None, string_label), "<none>");
    }

    #[test]
    fn access_modes_abbreviate_in_fixed_order() {
        let modes = json!(["ReadWriteOncePod", "ReadWriteOnce", "Bogus", "ReadOnlyMany"]);
        assert_eq!(
            access_modes(modes.as_array().map_or(&[], Vec::as_slice)),
            "RWO,ROX,RWOP"
        );
        assert_eq!(access_modes(&[]), "");
    }
}
