//! `--sort-by`.

mod common;

use capstan_jsonpath::{TemplateError, sort_by};
use common::{node_list, pod_list};
use serde_json::{Value, json};

fn items(list: &Value) -> Vec<Value> {
    list["items"].as_array().cloned().unwrap_or_default()
}

fn names(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|item| item["metadata"]["name"].as_str().unwrap_or("?").to_string())
        .collect()
}

fn sorted_names(list: &Value, expr: &str) -> Vec<String> {
    let mut items = items(list);
    sort_by(&mut items, expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    names(&items)
}

fn sorted_values(values: Value) -> Value {
    let mut items: Vec<Value> = values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| json!({"v": v}))
        .collect();
    sort_by(&mut items, ".v").unwrap();
    Value::Array(items.into_iter().map(|item| item["v"].clone()).collect())
}

#[test]
fn strings_sort_lexically() {
    assert_eq!(
        sorted_names(&pod_list(), ".metadata.name"),
        ["cache-x2", "db-0", "web-7d9f"]
    );
    assert_eq!(
        sorted_values(json!(["b10", "b9", "a", "B"])),
        json!(["B", "a", "b10", "b9"])
    );
}

#[test]
fn numbers_sort_numerically() {
    // Lexically "12" < "3"; numerically 0 < 3 < 12.
    assert_eq!(
        sorted_names(&pod_list(), ".status.containerStatuses[0].restartCount"),
        ["web-7d9f", "cache-x2", "db-0"]
    );
    assert_eq!(sorted_values(json!([10, 2, -1, 1])), json!([-1, 1, 2, 10]));
    assert_eq!(
        sorted_values(json!([1.5, 1, 2, 0.5])),
        json!([0.5, 1, 1.5, 2])
    );
    assert_eq!(
        sorted_values(json!([18446744073709551615u64, 0, -9223372036854775808i64])),
        json!([-9223372036854775808i64, 0, 18446744073709551615u64])
    );
}

#[test]
fn timestamps_sort_as_strings() {
    assert_eq!(
        sorted_names(&pod_list(), "{.status.startTime}"),
        ["db-0", "web-7d9f", "cache-x2"]
    );
}

#[test]
fn quantities_sort_by_magnitude_when_all_values_are_quantities() {
    assert_eq!(
        sorted_names(&node_list(), ".status.capacity.memory"),
        ["node-b", "node-a"]
    );
    assert_eq!(
        sorted_values(json!(["10", "9", "100m", "1Ki"])),
        json!(["100m", "9", "10", "1Ki"])
    );
    // One non-quantity makes them all plain strings.
    assert_eq!(
        sorted_values(json!(["10", "9", "x"])),
        json!(["10", "9", "x"])
    );
}

#[test]
fn missing_values_come_first_and_ties_keep_their_order() {
    assert_eq!(
        sorted_names(&pod_list(), ".status.podIP"),
        ["db-0", "web-7d9f", "cache-x2"]
    );
    let mut items = vec![
        json!({"id": 1, "k": "b"}),
        json!({"id": 2}),
        json!({"id": 3, "k": "a"}),
        json!({"id": 4, "k": null}),
        json!({"id": 5, "k": "a"}),
        json!({"id": 6, "k": "b"}),
    ];
    sort_by(&mut items, "k").unwrap();
    let ids: Vec<i64> = items.iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [2, 4, 3, 5, 1, 6]);
}

#[test]
fn all_path_forms_are_accepted() {
    for expr in [
        ".metadata.name",
        "metadata.name",
        "{.metadata.name}",
        "{metadata.name}",
    ] {
        assert_eq!(
            sorted_names(&pod_list(), expr),
            ["cache-x2", "db-0", "web-7d9f"],
            "{expr}"
        );
    }
    assert_eq!(
        sorted_names(
            &node_list(),
            r#".status.conditions[?(@.type=="Ready")].reason"#
        ),
        ["node-b", "node-a"],
        "KubeletNotReady < KubeletReady"
    );
}

#[test]
fn a_path_matching_several_values_is_an_error() {
    let mut pods = items(&pod_list());
    let err = sort_by(&mut pods, ".spec.containers[*].name").unwrap_err();
    assert_eq!(
        err.to_string(),
        "sort-by expression {.spec.containers[*].name} matched 2 values in item 0; it must match at most one"
    );
    assert!(matches!(err, TemplateError::Sort(_)));
    assert_eq!(
        names(&pods),
        ["web-7d9f", "db-0", "cache-x2"],
        "left untouched on error"
    );
}

#[test]
fn a_path_found_nowhere_is_an_error() {
    let mut pods = items(&pod_list());
    assert_eq!(
        sort_by(&mut pods, ".spec.nope").unwrap_err().to_string(),
        "couldn't find any field with path \"{.spec.nope}\" in the list of objects"
    );
}

#[test]
fn unsortable_values_are_errors() {
    let mut mixed = vec![json!({"v": 1}), json!({"v": "1"})];
    assert_eq!(
        sort_by(&mut mixed, ".v").unwrap_err().to_string(),
        "cannot sort by {.v}: it matches both numbers and strings"
    );
    let mut bools = vec![json!({"v": true}), json!({"v": false})];
    assert_eq!(
        sort_by(&mut bools, ".v").unwrap_err().to_string(),
        "cannot sort by {.v}: boolean values are not sortable"
    );
    let mut objects = vec![json!({"v": {}}), json!({"v": {"a": 1}})];
    assert_eq!(
        sort_by(&mut objects, ".v").unwrap_err().to_string(),
        "cannot sort by {.v}: object values are not sortable"
    );
}

#[test]
fn bad_expressions_are_errors_even_for_empty_lists() {
    let mut empty: Vec<Value> = Vec::new();
    assert_eq!(
        sort_by(&mut empty, ".items[").unwrap_err().to_string(),
        "error parsing jsonpath {.items[}, unterminated array"
    );
    assert_eq!(
        sort_by(&mut empty, "{.a").unwrap_err().to_string(),
        "unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'"
    );
    assert!(sort_by(&mut empty, ".metadata.name").is_ok());
}
