//! Renders values the way Go's `fmt` verbs do inside upstream error messages:
//! `%q` for strings and `%#v` for maps, slices and label selectors. Anything
//! without a faithful Go rendering falls back to compact JSON.

use serde_json::Value;

use super::access;

/// Go's `strconv.Quote`.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => {
                let n = c as u32;
                if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `map[string]string{"a":"b", ...}` with sorted keys, or the nil form.
pub(crate) fn string_map(m: Option<&Value>) -> String {
    let Some(obj) = m.and_then(Value::as_object) else {
        return "map[string]string(nil)".to_string();
    };
    let mut pairs = access::string_pairs(Some(obj));
    pairs.sort();
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}:{}", quote(k), quote(v)))
        .collect();
    format!("map[string]string{{{}}}", body.join(", "))
}

/// `[]string{"a", "b"}`, or the nil form.
pub(crate) fn string_slice(v: Option<&Value>) -> String {
    let Some(items) = v.and_then(Value::as_array) else {
        return "[]string(nil)".to_string();
    };
    let body: Vec<String> = items
        .iter()
        .map(|i| quote(&access::scalar_string(i)))
        .collect();
    format!("[]string{{{}}}", body.join(", "))
}

/// `v1.LabelSelector{MatchLabels:..., MatchExpressions:...}` as upstream prints
/// a dereferenced `*metav1.LabelSelector`; a nil selector prints as "null".
pub(crate) fn label_selector(sel: Option<&Value>) -> String {
    let Some(sel) = sel.filter(|s| s.is_object()) else {
        return quote("null");
    };
    let exprs = match access::get(sel, "matchExpressions").and_then(Value::as_array) {
        None => "[]v1.LabelSelectorRequirement(nil)".to_string(),
        Some(items) => {
            let body: Vec<String> = items
                .iter()
                .map(|e| {
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                        quote(access::s(e, "key")),
                        quote(access::s(e, "operator")),
                        string_slice(access::get(e, "values"))
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", body.join(", "))
        }
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{}}}",
        string_map(access::get(sel, "matchLabels")),
        exprs
    )
}

/// An `intstr.IntOrString`, which upstream prints through its `String()` method.
pub(crate) fn int_or_string(v: &Value) -> String {
    access::scalar_string(v)
}

/// Compact JSON, used where Go would print an internal struct.
pub(crate) fn json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
