//! Pieces every layout shares: the multi-line Labels/Annotations/Tolerations/Taints blocks,
//! label selectors, controller references and timestamps, each rendered as kubectl renders it.

use capstan_api_types::time::{Nanos, ZERO_TIME, format_rfc1123z, human_duration_between};
use serde_json::{Map, Value};

use crate::json::{arr_at, controller_ref, go_value, map_at, opt_int, str_at, time_at};
use crate::writer::Writer;

/// Annotations kubectl never shows: the last-applied configuration repeats the whole object.
const SKIPPED_ANNOTATIONS: [&str; 1] = ["kubectl.kubernetes.io/last-applied-configuration"];

/// Longest annotation (key, ": " and value) printed on one line before it is folded.
const MAX_ANNOTATION_LEN: usize = 140;

/// "Title:\tk=v" with one label per line, sorted by key, continuation lines starting with
/// `initial_indent` + `inner_indent`; "<none>" when empty.
pub(crate) fn labels_block(
    w: &mut Writer,
    initial_indent: &str,
    title: &str,
    inner_indent: &str,
    labels: Option<&Map<String, Value>>,
) {
    w.write(0, format_args!("{initial_indent}{title}:{inner_indent}"));
    let mut keys: Vec<&String> = labels.into_iter().flatten().map(|(k, _)| k).collect();
    if keys.is_empty() {
        w.line(0, "<none>");
        return;
    }
    keys.sort();
    for (i, key) in keys.into_iter().enumerate() {
        if i != 0 {
            w.write(0, initial_indent);
            w.write(0, inner_indent);
        }
        let value = labels
            .and_then(|m| m.get(key))
            .map(go_value)
            .unwrap_or_default();
        w.line(0, format_args!("{key}={value}"));
    }
}

/// The usual top-level "Labels:" block.
pub(crate) fn labels(w: &mut Writer, title: &str, labels: Option<&Map<String, Value>>) {
    labels_block(w, "", title, "\t", labels);
}

/// "Title:\tkey: value" per annotation, sorted, long or multi-line values folded under their key
/// and cut at 140 characters a line.
pub(crate) fn annotations(w: &mut Writer, title: &str, annotations: Option<&Map<String, Value>>) {
    w.write(0, format_args!("{title}:\t"));
    let mut keys: Vec<&String> = annotations
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .filter(|k| !SKIPPED_ANNOTATIONS.contains(&k.as_str()))
        .collect();
    if keys.is_empty() {
        w.line(0, "<none>");
        return;
    }
    keys.sort();
    for (i, key) in keys.into_iter().enumerate() {
        if i != 0 {
            w.write(0, "\t");
        }
        let raw = annotations
            .and_then(|m| m.get(key))
            .map(go_value)
            .unwrap_or_default();
        let value = raw.strip_suffix('\n').unwrap_or(&raw);
        if value.len() + key.len() + 2 > MAX_ANNOTATION_LEN || value.contains('\n') {
            w.line(0, format_args!("{key}:"));
            for part in value.split('\n') {
                w.line(
                    0,
                    format_args!("\t  {}", shorten(part, MAX_ANNOTATION_LEN - 2)),
                );
            }
        } else {
            w.line(0, format_args!("{key}: {value}"));
        }
    }
}

/// `s` cut to at most `max` bytes (on a character boundary) with "..." appended when cut.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// "Title:\tkey=value:Effect op=Exists for 300s" per toleration, sorted by key.
pub(crate) fn tolerations_block(w: &mut Writer, initial_indent: &str, title: &str, list: &[Value]) {
    w.write(0, format_args!("{initial_indent}{title}:\t"));
    if list.is_empty() {
        w.line(0, "<none>");
        return;
    }
    let mut sorted: Vec<&Value> = list.iter().collect();
    sorted.sort_by(|a, b| str_at(a, "/key").cmp(str_at(b, "/key")));
    for (i, t) in sorted.into_iter().enumerate() {
        if i != 0 {
            w.write(0, initial_indent);
            w.write(0, "\t");
        }
        let (key, value, effect) = (str_at(t, "/key"), str_at(t, "/value"), str_at(t, "/effect"));
        let mut text = key.to_string();
        if !value.is_empty() {
            text.push('=');
            text.push_str(value);
        }
        if !effect.is_empty() {
            text.push(':');
            text.push_str(effect);
        }
        // An Exists toleration without a value matches every value; one without key and effect
        // matches every taint.
        if str_at(t, "/operator") == "Exists" && value.is_empty() {
            text.push_str(if key.is_empty() && effect.is_empty() {
                "op=Exists"
            } else {
                " op=Exists"
            });
        }
        if let Some(secs) = opt_int(t, "/tolerationSeconds") {
            text.push_str(&format!(" for {secs}s"));
        }
        w.line(0, text);
    }
}

/// "Taints:\tkey=value:Effect" per taint, sorted by effect then key.
pub(crate) fn taints(w: &mut Writer, list: &[Value]) {
    w.write(0, "Taints:\t");
    if list.is_empty() {
        w.line(0, "<none>");
        return;
    }
    let mut sorted: Vec<&Value> = list.iter().collect();
    sorted.sort_by_key(|t| format!("{},{}", str_at(t, "/effect"), str_at(t, "/key")));
    for (i, t) in sorted.into_iter().enumerate() {
        if i != 0 {
            w.write(0, "\t");
        }
        w.line(0, taint_string(t));
    }
}

fn taint_string(t: &Value) -> String {
    let (key, value, effect) = (str_at(t, "/key"), str_at(t, "/value"), str_at(t, "/effect"));
    match (value.is_empty(), effect.is_empty()) {
        (true, true) => key.to_string(),
        (false, true) => format!("{key}={value}:"),
        (true, false) => format!("{key}:{effect}"),
        (false, false) => format!("{key}={value}:{effect}"),
    }
}

/// A label map as `k=v` pairs sorted and comma-joined, "<none>" when empty (labels.FormatLabels).
pub(crate) fn format_labels(labels: Option<&Map<String, Value>>) -> String {
    let mut pairs: Vec<String> = labels
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", go_value(v)))
        .collect();
    if pairs.is_empty() {
        return "<none>".into();
    }
    pairs.sort();
    pairs.join(",")
}

/// A LabelSelector as `LabelSelectorAsSelector(..).String()` renders it: requirements sorted by
/// key, comma-joined; "" for a nil or empty selector. Err for a selector that cannot be built.
pub(crate) fn selector_string(selector: Option<&Value>) -> Result<String, String> {
    let Some(sel) = selector.filter(|v| !v.is_null()) else {
        return Ok(String::new());
    };
    let mut reqs: Vec<(&str, String)> = Vec::new();
    for (key, value) in map_at(sel, "/matchLabels").into_iter().flatten() {
        reqs.push((key, format!("{key}={}", go_value(value))));
    }
    for expr in arr_at(sel, "/matchExpressions") {
        let key = str_at(expr, "/key");
        let mut values: Vec<String> = arr_at(expr, "/values").iter().map(go_value).collect();
        values.sort_unstable();
        let operator = str_at(expr, "/operator");
        let rendered = match operator {
            "In" | "NotIn" if values.is_empty() => {
                return Err(format!(
                    "for '{operator}' operator, values set can't be empty"
                ));
            }
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" | "DoesNotExist" if !values.is_empty() => {
                return Err(format!("values set must be empty for {operator}"));
            }
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            other => return Err(format!("{other:?} is not a valid label selector operator")),
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
/// everything, "<error>" when malformed.
pub(crate) fn format_label_selector(selector: Option<&Value>) -> String {
    match selector_string(selector) {
        Ok(s) if s.is_empty() => "<none>".into(),
        Ok(s) => s,
        Err(_) => "<error>".into(),
    }
}

/// "Kind/name" of the object's controller, or None.
pub(crate) fn controlled_by(obj: &Value) -> Option<String> {
    controller_ref(obj).map(|r| format!("{}/{}", str_at(r, "/kind"), str_at(r, "/name")))
}

/// The "Controlled By:" line, when the object has a controller.
pub(crate) fn controlled_by_line(w: &mut Writer, obj: &Value) {
    if let Some(c) = controlled_by(obj) {
        w.line(0, format_args!("Controlled By:\t{c}"));
    }
}

/// The timestamp at `ptr` in kubectl's describe form (RFC 1123 with numeric zone, in UTC); an
/// absent one prints as Go's zero time, as kubectl does.
pub(crate) fn timestamp(v: &Value, ptr: &str) -> String {
    format_rfc1123z(time_at(v, ptr))
}

/// Time since `t` as a human duration; "<unknown>" for the zero time.
pub(crate) fn since(t: Nanos, now: Nanos) -> String {
    if t == ZERO_TIME {
        return "<unknown>".into();
    }
    human_duration_between(t, now)
}

/// A boolean the way describe's status lines spell it.
pub(crate) fn bool_title(v: bool) -> &'static str {
    if v { "True" } else { "False" }
}

/// An optional boolean: "True"/"False", or "<unset>" when absent.
pub(crate) fn bool_ptr(v: Option<bool>) -> &'static str {
    v.map_or("<unset>", bool_title)
}

/// The non-empty string, or "<none>".
pub(crate) fn or_none(s: &str) -> &str {
    if s.is_empty() { "<none>" } else { s }
}

/// The "Name:", "Namespace:", "Labels:" and "Annotations:" lines most layouts open with.
pub(crate) fn name_namespace(w: &mut Writer, obj: &Value) {
    w.line(0, format_args!("Name:\t{}", str_at(obj, "/metadata/name")));
    w.line(
        0,
        format_args!("Namespace:\t{}", str_at(obj, "/metadata/namespace")),
    );
}

pub(crate) fn labels_and_annotations(w: &mut Writer, obj: &Value) {
    labels(w, "Labels", map_at(obj, "/metadata/labels"));
    annotations(w, "Annotations", map_at(obj, "/metadata/annotations"));
}

/// Go's `%v` of a string slice: "[a b]".
pub(crate) fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(f: impl FnOnce(&mut Writer)) -> String {
        let mut w = Writer::new();
        f(&mut w);
        w.finish()
    }

    #[test]
    fn labels_and_annotations_blocks() {
        let labels = json!({"b": "2", "a": "1"});
        let out = render(|w| {
            labels_block(w, "", "Labels", "\t", labels.as_object());
            w.line(0, "X:\ty");
        });
        assert_eq!(out, "Labels:  a=1\n         b=2\nX:       y\n");
        let long = "v".repeat(200);
        let ann = json!({
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
            "multi": "one\ntwo\n",
            "long": long,
            "short": "s",
        });
        let out = render(|w| annotations(w, "Annotations", ann.as_object()));
        let want = format!(
            "Annotations:  long:\n                {}...\n              multi:\n                one\n                two\n              short: s\n",
            "v".repeat(138)
        );
        assert_eq!(out, want);
        assert_eq!(render(|w| annotations(w, "A", None)), "A:  <none>\n");
    }

    #[test]
    fn selectors() {
        let sel = json!({
            "matchLabels": {"tier": "web", "app": "nginx"},
            "matchExpressions": [
                {"key": "env", "operator": "NotIn", "values": ["prod", "dev"]},
                {"key": "canary", "operator": "DoesNotExist"},
            ]
        });
        assert_eq!(
            selector_string(Some(&sel)).as_deref(),
            Ok("app=nginx,!canary,env notin (dev,prod),tier=web")
        );
        assert_eq!(format_label_selector(Some(&json!({}))), "<none>");
        assert_eq!(
            format_label_selector(Some(
                &json!({"matchExpressions": [{"key": "a", "operator": "In"}]})
            )),
            "<error>"
        );
        assert_eq!(shorten("ééé", 3), "é...");
    }

    #[test]
    fn tolerations_and_taints() {
        let tols = json!([
            {"operator": "Exists"},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},
        ]);
        let out = render(|w| tolerations_block(w, "", "Tolerations", arr_at(&tols, "")));
        assert_eq!(
            out,
            "Tolerations:  op=Exists\n              dedicated=gpu:NoSchedule\n              node.kubernetes.io/unreachable:NoExecute op=Exists for 300s\n"
        );
        let taint_list = json!([{"key": "b", "effect": "NoSchedule"}, {"key": "a", "value": "x", "effect": "NoExecute"}]);
        let out = render(|w| taints(w, arr_at(&taint_list, "")));
        assert_eq!(out, "Taints:  a=x:NoExecute\n         b:NoSchedule\n");
    }
}
