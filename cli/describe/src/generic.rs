//! The layout for every kind without a dedicated one: the metadata header, then the whole object
//! as nested "Field Name:\tvalue" lines, as kubectl's generic describer prints custom resources.

use serde_json::{Map, Value};

use crate::Context;
use crate::events::write_events;
use crate::json::go_value;
use crate::meta;
use crate::writer::Writer;

/// Fields already shown in the header, or too noisy to show at all.
const SKIPPED: [&str; 5] = [
    ".metadata.managedFields",
    ".metadata.name",
    ".metadata.namespace",
    ".metadata.labels",
    ".metadata.annotations",
];

/// Words kept in capitals when field names are turned into labels.
const ACRONYMS: [&str; 5] = ["API", "URL", "UID", "OSB", "GUID"];

pub(crate) fn describe_generic(w: &mut Writer, obj: &Value, cx: &Context<'_>) {
    meta::name_namespace(w, obj);
    meta::labels_and_annotations(w, obj);
    if let Some(map) = obj.as_object() {
        content(w, 0, map, "");
    }
    write_events(w, cx.events, cx.now);
}

fn content(w: &mut Writer, level: usize, map: &Map<String, Value>, path: &str) {
    let mut fields: Vec<&String> = map.keys().collect();
    fields.sort();
    for field in fields {
        let value = &map[field];
        let child_path = format!("{path}.{field}");
        if SKIPPED.contains(&child_path.as_str()) {
            continue;
        }
        let label = smart_label(field);
        match value {
            Value::Object(child) => {
                w.line(level, format_args!("{label}:"));
                content(w, level + 1, child, &child_path);
            }
            Value::Array(items) => {
                w.line(level, format_args!("{label}:"));
                for item in items {
                    match item {
                        // Items of a list of objects follow one another with no separator.
                        Value::Object(child) => content(w, level + 1, child, &child_path),
                        other => w.line(level + 1, go_value(other)),
                    }
                }
            }
            other => w.line(level, format_args!("{label}:\t{}", go_value(other))),
        }
    }
}

/// "apiVersion" → "API Version", "podCIDR" → "Pod CIDR"; names with anything but letters and
/// dashes stay as they are.
fn smart_label(field: &str) -> String {
    if field.chars().any(|c| !c.is_alphabetic() && c != '-') {
        return field.to_string();
    }
    camel_case_split(field)
        .into_iter()
        .filter(|part| part != "_")
        .map(|part| {
            let upper = part.to_uppercase();
            if ACRONYMS.contains(&upper.as_str()) {
                upper
            } else {
                title(&part)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn title(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Splits at changes between lower case, upper case, digits and other characters, keeping an
/// upper-case run's last letter with the lower-case word after it ("PDFLoader" → "PDF",
/// "Loader").
fn camel_case_split(s: &str) -> Vec<String> {
    fn class(c: char) -> u8 {
        if c.is_lowercase() {
            1
        } else if c.is_uppercase() {
            2
        } else if c.is_numeric() {
            3
        } else {
            4
        }
    }
    let mut runs: Vec<Vec<char>> = Vec::new();
    let mut last = 0;
    for c in s.chars() {
        let k = class(c);
        match runs.last_mut() {
            Some(run) if k == last => run.push(c),
            _ => runs.push(vec![c]),
        }
        last = k;
    }
    for i in 0..runs.len().saturating_sub(1) {
        let upper_then_lower = runs[i].first().is_some_and(|c| c.is_uppercase())
            && runs[i + 1].first().is_some_and(|c| c.is_lowercase());
        if upper_then_lower && let Some(moved) = runs[i].pop() {
            runs[i + 1].insert(0, moved);
        }
    }
    runs.into_iter()
        .filter(|r| !r.is_empty())
        .map(|r| r.into_iter().collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_from_field_names() {
        for (field, want) in [
            ("apiVersion", "API Version"),
            ("kind", "Kind"),
            ("uid", "UID"),
            ("creationTimestamp", "Creation Timestamp"),
            ("podCIDR", "Pod CIDR"),
            ("PDFLoader", "PDF Loader"),
            ("replicas2", "replicas2"),
            ("my-field", "My - Field"),
            ("x.y", "x.y"),
            ("", ""),
        ] {
            assert_eq!(smart_label(field), want, "{field}");
        }
    }
}
