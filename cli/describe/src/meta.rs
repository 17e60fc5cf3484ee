//! Pieces every layout shares: the multi-line Labels/Annotations/Tolerations/Taints blocks,
//! controller references and timestamps, each rendered as kubectl renders it. Label selectors
//! and label maps print through `capstan_api_types::printing`, with [`crate::json::label_text`].

use capstan_api_types::time::format_rfc1123z;
use serde_json::{Map, Value};

use crate::json::{controller_ref, go_value, map_at, opt_int, sorted_entries, str_at, time_at};
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
    entry_lines(
        w,
        sorted_entries(labels),
        |w| {
            w.write(0, initial_indent);
            w.write(0, inner_indent);
        },
        |w, (key, value)| w.line(0, format_args!("{key}={}", go_value(value))),
    );
}

/// Writes `entries` after a title the caller has just written: "<none>" when there are none,
/// otherwise one a line, the first on the title's line and each further one after `indent` has
/// lined it up under the first. kubectl writes that indentation as separate pieces, each taking
/// the nesting prefix, which is why it is a function rather than a string.
pub(crate) fn entry_lines<T>(
    w: &mut Writer,
    entries: impl IntoIterator<Item = T>,
    indent: impl Fn(&mut Writer),
    mut entry: impl FnMut(&mut Writer, T),
) {
    let mut none = true;
    for item in entries {
        if !none {
            indent(w);
        }
        none = false;
        entry(w, item);
    }
    if none {
        w.line(0, "<none>");
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
    let shown = sorted_entries(annotations)
        .into_iter()
        .filter(|(key, _)| !SKIPPED_ANNOTATIONS.contains(&key.as_str()));
    entry_lines(
        w,
        shown,
        |w| w.write(0, "\t"),
        |w, (key, value)| {
            let raw = go_value(value);
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
        },
    );
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
    let mut sorted: Vec<&Value> = list.iter().collect();
    sorted.sort_by(|a, b| str_at(a, "/key").cmp(str_at(b, "/key")));
    let indent = |w: &mut Writer| {
        w.write(0, initial_indent);
        w.write(0, "\t");
    };
    entry_lines(w, sorted, indent, |w, t| w.line(0, toleration_string(t)));
}

fn toleration_string(t: &Value) -> String {
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
    text
}

/// "Taints:\tkey=value:Effect" per taint, sorted by effect then key.
pub(crate) fn taints(w: &mut Writer, list: &[Value]) {
    w.write(0, "Taints:\t");
    let mut sorted: Vec<&Value> = list.iter().collect();
    sorted.sort_by_key(|t| format!("{},{}", str_at(t, "/effect"), str_at(t, "/key")));
    entry_lines(
        w,
        sorted,
        |w| w.write(0, "\t"),
        |w, t| w.line(0, taint_string(t)),
    );
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

/// How a condition's field shows in a "Conditions:" table.
#[derive(Clone, Copy)]
pub(crate) enum Cell {
    /// The text at this pointer.
    Text(&'static str),
    /// The timestamp at this pointer, in describe's form.
    Time(&'static str),
}

/// The layout of a "Conditions:" table: kubectl's header and dashes lines (which do not always
/// match in width), the fields of a row and what kubectl puts between them.
pub(crate) struct ConditionsTable {
    pub(crate) header: &'static str,
    pub(crate) rule: &'static str,
    pub(crate) cells: &'static [Cell],
    pub(crate) separator: &'static str,
}

/// Writes "Conditions:" and a row per condition as `table` lays them out; nothing when there
/// are none.
pub(crate) fn conditions_table(w: &mut Writer, conditions: &[Value], table: &ConditionsTable) {
    if conditions.is_empty() {
        return;
    }
    w.line(0, "Conditions:");
    w.line(1, table.header);
    w.line(1, table.rule);
    for c in conditions {
        let cells: Vec<String> = table
            .cells
            .iter()
            .map(|cell| match cell {
                Cell::Text(ptr) => str_at(c, ptr).to_string(),
                Cell::Time(ptr) => timestamp(c, ptr),
            })
            .collect();
        w.line(1, cells.join(table.separator));
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

/// The "CreationTimestamp:" line.
pub(crate) fn creation_timestamp_line(w: &mut Writer, obj: &Value) {
    w.line(
        0,
        format_args!(
            "CreationTimestamp:\t{}",
            timestamp(obj, "/metadata/creationTimestamp")
        ),
    );
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
    use crate::json::arr_at;
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
    fn shortens_on_character_boundaries() {
        assert_eq!(shorten("ééé", 3), "é...");
        assert_eq!(shorten("abc", 3), "abc");
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
