//! Rendering the API server's `meta.k8s.io/v1` Table the way kubectl prints it: upper-case
//! headers, columns padded to the widest cell plus three spaces, priority > 0 columns only
//! with `-o wide`, an optional leading NAMESPACE column.

use serde_json::Value;

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub wide: bool,
    pub with_namespace: bool,
    pub show_labels: bool,
    pub no_headers: bool,
    /// Put before each row's first cell (`pod/`), when several types share one output.
    pub name_prefix: Option<String>,
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<none>".into(),
        Value::Array(a) if a.is_empty() => "<none>".into(),
        other => other.to_string().trim_matches('"').to_string(),
    }
}

fn labels(row: &Value) -> String {
    let Some(map) = row["object"]["metadata"]["labels"].as_object() else {
        return "<none>".into();
    };
    if map.is_empty() {
        return "<none>".into();
    }
    let mut pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    pairs.sort();
    pairs.join(",")
}

/// The rows of `tables` (one per request: several when listing several types), aligned.
/// `widths` carries column widths between calls, so rows printed later (`-w`) line up
/// with earlier ones; it only grows.
pub fn render(tables: &[Value], opts: &Options, widths: &mut Vec<usize>) -> String {
    let Some(first) = tables.first() else {
        return String::new();
    };
    let columns: Vec<(usize, String)> = first["columnDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, c)| opts.wide || c["priority"].as_i64().unwrap_or(0) == 0)
        .map(|(i, c)| (i, c["name"].as_str().unwrap_or_default().to_uppercase()))
        .collect();
    let mut lines: Vec<Vec<String>> = Vec::new();
    let mut header: Vec<String> = Vec::new();
    if opts.with_namespace {
        header.push("NAMESPACE".into());
    }
    header.extend(columns.iter().map(|(_, n)| n.clone()));
    if opts.show_labels {
        header.push("LABELS".into());
    }
    for t in tables {
        for row in t["rows"].as_array().into_iter().flatten() {
            let cells = row["cells"].as_array().cloned().unwrap_or_default();
            let mut line = Vec::new();
            if opts.with_namespace {
                line.push(
                    row["object"]["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
            for (n, (i, _)) in columns.iter().enumerate() {
                let text = cells.get(*i).map(cell).unwrap_or_default();
                match (&opts.name_prefix, n) {
                    (Some(p), 0) => line.push(format!("{p}{text}")),
                    _ => line.push(text),
                }
            }
            if opts.show_labels {
                line.push(labels(row));
            }
            lines.push(line);
        }
    }
    if lines.is_empty() {
        return String::new();
    }
    widths.resize(header.len().max(widths.len()), 0);
    for l in std::iter::once(&header).chain(lines.iter()) {
        for (w, c) in widths.iter_mut().zip(l) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let shown_header = (!opts.no_headers).then_some(&header);
    for l in shown_header.into_iter().chain(lines.iter()) {
        let last = l.len().saturating_sub(1);
        for (i, (c, w)) in l.iter().zip(widths.iter()).enumerate() {
            if i == last {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<width$}   ", width = w));
            }
        }
        out.push('\n');
    }
    out
}

/// Columns padded to the widest cell plus three spaces; the last one unpadded.
pub fn align(rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if widths.len() <= i {
                widths.push(0);
            }
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let last = r.len().saturating_sub(1);
        for (i, c) in r.iter().enumerate() {
            if i == last {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}   ", w = widths[i]));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table() -> Value {
        json!({
            "columnDefinitions": [
                {"name": "Name", "priority": 0}, {"name": "Ready", "priority": 0},
                {"name": "IP", "priority": 1}, {"name": "Age", "priority": 0}],
            "rows": [
                {"cells": ["web-1", "1/1", "10.244.0.5", "5m"],
                 "object": {"metadata": {"namespace": "shop", "labels": {"app": "web"}}}},
                {"cells": ["db", "0/1", null, "12s"],
                 "object": {"metadata": {"namespace": "shop"}}}]
        })
    }

    #[test]
    fn aligns_like_kubectl() {
        let out = render(&[table()], &Options::default(), &mut Vec::new());
        assert_eq!(
            out,
            "NAME    READY   AGE\nweb-1   1/1     5m\ndb      0/1     12s\n"
        );
    }

    #[test]
    fn wide_namespace_and_labels() {
        let out = render(
            &[table()],
            &Options {
                wide: true,
                with_namespace: true,
                show_labels: true,
                no_headers: false,
                name_prefix: None,
            },
            &mut Vec::new(),
        );
        assert_eq!(
            out,
            "NAMESPACE   NAME    READY   IP           AGE   LABELS\nshop        web-1   1/1     10.244.0.5   5m    app=web\nshop        db      0/1     <none>       12s   <none>\n"
        );
    }
}
