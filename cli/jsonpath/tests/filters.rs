//! `[?(…)]` filters, on node and pod conditions mostly.

mod common;

use capstan_jsonpath::Template;
use common::{error, node_list, pod_list, render};
use serde_json::json;

#[test]
fn ready_condition_per_node() {
    assert_eq!(
        render(
            r#"{range .items[*]}{.metadata.name}{"\t"}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}"#,
            &node_list()
        ),
        "node-a\tTrue\nnode-b\tFalse\n"
    );
}

#[test]
fn internal_ips() {
    assert_eq!(
        render(
            r#"{.items[*].status.addresses[?(@.type=="InternalIP")].address}"#,
            &node_list()
        ),
        "192.168.1.10 192.168.1.11"
    );
}

#[test]
fn not_equal_and_single_quotes() {
    assert_eq!(
        render(
            "{.items[?(@.status.phase!='Running')].metadata.name}",
            &pod_list()
        ),
        "db-0"
    );
    assert_eq!(
        render(
            r#"{.items[?(@.status.phase != "Running")].metadata.name}"#,
            &pod_list()
        ),
        "db-0"
    );
}

#[test]
fn numeric_comparisons() {
    let pods = pod_list();
    let names = |op: &str, n: &str| {
        render(
            &format!(
                "{{.items[?(@.status.containerStatuses[0].restartCount{op}{n})].metadata.name}}"
            ),
            &pods,
        )
    };
    assert_eq!(names(">", "2"), "db-0 cache-x2");
    assert_eq!(names(">=", "3"), "db-0 cache-x2");
    assert_eq!(names("<", "3"), "web-7d9f");
    assert_eq!(names("<=", "3"), "web-7d9f cache-x2");
    assert_eq!(names("==", "12"), "db-0");
    assert_eq!(names("!=", "12"), "web-7d9f cache-x2");
    assert_eq!(names(">", "-1"), "web-7d9f db-0 cache-x2");
    assert_eq!(names("<", "2.5"), "web-7d9f");
}

#[test]
fn string_ordering_is_lexical() {
    let doc = json!({"v": [{"n": "apple"}, {"n": "banana"}, {"n": "cherry"}]});
    assert_eq!(render(r#"{.v[?(@.n<"b")].n}"#, &doc), "apple");
    assert_eq!(render(r#"{.v[?(@.n>="banana")].n}"#, &doc), "banana cherry");
}

#[test]
fn boolean_equality() {
    assert_eq!(
        render(
            "{.items[*].status.containerStatuses[?(@.ready==true)].name}",
            &pod_list()
        ),
        "main"
    );
    assert_eq!(
        render(
            "{.items[*].status.containerStatuses[?(@.ready!=true)].restartCount}",
            &pod_list()
        ),
        "12 3"
    );
}

#[test]
fn existence() {
    assert_eq!(
        render("{.items[?(@.status.podIP)].metadata.name}", &pod_list()),
        "web-7d9f cache-x2"
    );
    assert_eq!(
        render(
            "{.items[0].status.conditions[?(@.reason)].type}",
            &node_list()
        ),
        "Ready"
    );
    // Existence never complains about missing keys, even in strict mode.
    let t = Template::parse("{.items[?(@.status.podIP)].metadata.name}").unwrap();
    assert_eq!(t.render(&pod_list(), false).unwrap(), "web-7d9f cache-x2");
    // Present-but-null and false still exist.
    let doc = json!({"v": [{"a": null}, {"a": false}, {}]});
    assert_eq!(render("{.v[?(@.a)]}", &doc), r#"{"a":null} {"a":false}"#);
}

#[test]
fn comparing_two_paths() {
    let doc = json!({"v": [{"a": 1, "b": 1, "n": "same"}, {"a": 1, "b": 2, "n": "diff"}]});
    assert_eq!(render("{.v[?(@.a==@.b)].n}", &doc), "same");
    assert_eq!(render("{.v[?(@.a<@.b)].n}", &doc), "diff");
}

#[test]
fn quoted_operands_may_contain_special_characters() {
    let doc = json!({"v": [{"k": "a)b]=c"}, {"k": "x"}]});
    assert_eq!(render(r#"{.v[?(@.k=="a)b]=c")].k}"#, &doc), "a)b]=c");
    assert_eq!(
        render(r#"{.v[?(@.k=="a\"b")].k}"#, &json!({"v": [{"k": "a\"b"}]})),
        "a\"b"
    );
}

#[test]
fn filter_then_continue_the_path() {
    assert_eq!(
        render(
            r#"{.items[?(@.metadata.name=="db-0")].spec.containers[-1].image}"#,
            &pod_list()
        ),
        "registry.local/proxy:2.1"
    );
}

#[test]
fn filter_in_range() {
    assert_eq!(
        render(
            r#"{range .items[?(@.status.phase=="Running")]}{.metadata.name} {.status.podIP}{"\n"}{end}"#,
            &pod_list()
        ),
        "web-7d9f 10.0.0.5\ncache-x2 10.0.0.7\n"
    );
}

#[test]
fn elements_lacking_the_compared_key_are_skipped_unless_strict() {
    let doc = json!({"v": [{"a": "x"}, {"b": "y"}]});
    assert_eq!(render(r#"{.v[?(@.a=="x")].a}"#, &doc), "x");
    assert_eq!(
        error(r#"{.v[?(@.a=="x")].a}"#, &doc, true),
        "a is not found"
    );
}

#[test]
fn comparison_type_errors() {
    let doc = json!({"v": [{"a": "1"}], "o": [{"a": {"x": 1}}], "b": [{"a": true}]});
    assert_eq!(
        error("{.v[?(@.a==1)]}", &doc, false),
        "incompatible types for comparison"
    );
    assert_eq!(
        error("{.o[?(@.a==1)]}", &doc, false),
        "invalid type for comparison"
    );
    assert_eq!(
        error("{.b[?(@.a<true)]}", &doc, false),
        "invalid type for comparison"
    );
    assert_eq!(
        error(
            "{.v[?(@.a==@.*)]}",
            &json!({"v": [{"a": 1, "b": 2}]}),
            false
        ),
        "can only compare one element at a time"
    );
}

#[test]
fn filtering_a_non_array_is_an_error() {
    assert_eq!(
        error(
            r#"{.items[0].metadata[?(@.name=="x")]}"#,
            &pod_list(),
            false
        ),
        "object is not array or slice and cannot be filtered"
    );
}

#[test]
fn filter_parse_errors() {
    let doc = json!({});
    assert_eq!(
        error(r#"{.v[?(@.a=="x"]}"#, &doc, false),
        r#"error parsing jsonpath {.v[?(@.a=="x"]}, unterminated filter"#
    );
    assert_eq!(
        error(r#"{.v[?(@.a=="x")}"#, &doc, false),
        r#"error parsing jsonpath {.v[?(@.a=="x")}, unclosed array expect ]"#
    );
    assert_eq!(
        error("{.v[?(@.a=~/x/)]}", &doc, false),
        "error parsing jsonpath {.v[?(@.a=~/x/)]}, unrecognized filter operator ="
    );
    assert_eq!(
        error("{.v[?(@.a===1)]}", &doc, false),
        "error parsing jsonpath {.v[?(@.a===1)]}, unrecognized filter operator ==="
    );
    assert_eq!(
        error("{.v[?(@.a==x)]}", &doc, false),
        "error parsing jsonpath {.v[?(@.a==x)]}, unrecognized identifier x"
    );
}
