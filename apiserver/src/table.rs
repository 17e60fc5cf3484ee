//! `meta.k8s.io/v1 Table` answers for `kubectl get`: column definitions and cells from
//! `printers`, each row carrying the object's metadata (or the whole object when asked).

use serde_json::{Value, json};

use capstan_api_types::ResourceInfo;

use crate::object;
use crate::printers;

fn row_object(obj: &Value, include: Option<&str>) -> Option<Value> {
    match include {
        Some("None") => None,
        Some("Object") => Some(obj.clone()),
        _ => Some(json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
        })),
    }
}

pub fn list_table(
    r: &ResourceInfo,
    items: &[Value],
    metadata: Value,
    include: Option<&str>,
) -> Value {
    let now = object::unix_now();
    let columns = printers::columns(r.group, r.kind);
    let rows: Vec<Value> = items
        .iter()
        .map(|obj| {
            let mut row = json!({"cells": printers::row_cells(r.group, r.kind, obj, now)});
            if let Some(o) = row_object(obj, include) {
                row["object"] = o;
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": printers::column_definitions_json(columns),
        "rows": rows,
    })
}
