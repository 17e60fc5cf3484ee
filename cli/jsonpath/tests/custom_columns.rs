//! `-o custom-columns` and `-o custom-columns-file`.

mod common;

use capstan_jsonpath::{CustomColumns, TemplateError};
use common::{node_list, pod_list};
use serde_json::{Value, json};

fn items(list: &Value) -> Vec<Value> {
    list["items"].as_array().cloned().unwrap_or_default()
}

fn table(spec: &str, list: &Value, no_headers: bool) -> String {
    CustomColumns::parse(spec)
        .unwrap()
        .render(&items(list), no_headers)
        .unwrap()
}

#[test]
fn aligned_table_with_none_for_missing_values() {
    let spec = r#"NAME:.metadata.name,IP:.status.podIP,READY:.status.conditions[?(@.type=="Ready")].status"#;
    assert_eq!(
        table(spec, &pod_list(), false),
        "NAME       IP         READY\n\
         web-7d9f   10.0.0.5   True\n\
         db-0       <none>     False\n\
         cache-x2   10.0.0.7   False\n"
    );
}

#[test]
fn no_headers() {
    assert_eq!(
        table("NAME:.metadata.name,PHASE:.status.phase", &pod_list(), true),
        "web-7d9f   Running\n\
         db-0       Pending\n\
         cache-x2   Running\n"
    );
}

#[test]
fn columns_are_at_least_six_wide() {
    let rows = [json!({"a": "x", "b": "y"}), json!({"a": "zz", "b": "w"})];
    let columns = CustomColumns::parse("A:.a,B:.b,C:.c").unwrap();
    assert_eq!(
        columns.render(&rows, false).unwrap(),
        "A     B     C\n\
         x     y     <none>\n\
         zz    w     <none>\n"
    );
}

#[test]
fn multiple_matches_are_joined_with_commas() {
    assert_eq!(
        table(
            "NAME:.metadata.name,IMAGES:.spec.containers[*].image",
            &pod_list(),
            false
        ),
        "NAME       IMAGES\n\
         web-7d9f   registry.local/web:1.0,registry.local/proxy:2.1\n\
         db-0       registry.local/db:1.0,registry.local/proxy:2.1\n\
         cache-x2   registry.local/cache:1.0,registry.local/proxy:2.1\n"
    );
}

#[test]
fn numbers_objects_and_nulls() {
    let rows = [json!({"n": 3, "f": 0.25, "o": {"cpu": "4"}, "z": null, "b": false})];
    assert_eq!(
        CustomColumns::parse("N:.n,F:.f,O:.o,Z:.z,B:.b")
            .unwrap()
            .render(&rows, true)
            .unwrap(),
        "3     0.25   {\"cpu\":\"4\"}   <nil>   false\n"
    );
}

#[test]
fn relaxed_path_forms() {
    let expected = "web-7d9f\ndb-0\ncache-x2\n";
    for path in [
        "metadata.name",
        ".metadata.name",
        "{metadata.name}",
        "{.metadata.name}",
    ] {
        assert_eq!(
            table(&format!("NAME:{path}"), &pod_list(), true),
            expected,
            "{path}"
        );
    }
    let columns = CustomColumns::parse("NAME:metadata.name,WHOLE:.").unwrap();
    assert_eq!(columns.columns()[0].header(), "NAME");
    assert_eq!(columns.columns()[0].expression(), "{.metadata.name}");
    assert_eq!(columns.columns()[1].expression(), "{.}");
}

#[test]
fn header_is_printed_as_given() {
    // A single column is the last column: nothing to pad.
    assert_eq!(
        table("name:.metadata.name", &node_list(), false),
        "name\nnode-a\nnode-b\n"
    );
}

#[test]
fn quoted_keys_and_unions_keep_their_commas() {
    assert_eq!(
        table(
            r"APP:.metadata.labels['app\.kubernetes\.io/name'],BOTH:.metadata.labels['tier','app\.kubernetes\.io/name']",
            &pod_list(),
            false
        ),
        "APP     BOTH\n\
         web     backend,web\n\
         db      backend,db\n\
         cache   backend,cache\n"
    );
}

#[test]
fn node_table() {
    let spec = r#"NODE:.metadata.name,CPU:.status.capacity.cpu,MEMORY:.status.capacity.memory,INTERNAL-IP:.status.addresses[?(@.type=="InternalIP")].address"#;
    assert_eq!(
        table(spec, &node_list(), false),
        "NODE     CPU   MEMORY   INTERNAL-IP\n\
         node-a   8     16Gi     192.168.1.10\n\
         node-b   4     8Gi      192.168.1.11\n"
    );
}

#[test]
fn width_counts_characters_not_bytes() {
    let rows = [json!({"a": "héllo", "b": 1}), json!({"a": "x", "b": 2})];
    assert_eq!(
        CustomColumns::parse("A:.a,B:.b")
            .unwrap()
            .render(&rows, false)
            .unwrap(),
        "A       B\nhéllo   1\nx       2\n"
    );
}

#[test]
fn control_characters_cannot_break_the_table() {
    let rows = [json!({"a": "two\nlines\tand\u{1b}[31mred\r", "b": 1})];
    assert_eq!(
        CustomColumns::parse("A:.a,B:.b")
            .unwrap()
            .render(&rows, true)
            .unwrap(),
        "two\\nlines\\tand^[[31mred\\r   1\n"
    );
}

#[test]
fn empty_item_list() {
    let columns = CustomColumns::parse("NAME:.metadata.name,IP:.status.podIP").unwrap();
    assert_eq!(columns.render(&[], false).unwrap(), "NAME   IP\n");
    assert_eq!(columns.render(&[], true).unwrap(), "");
}

#[test]
fn file_form() {
    let spec = "NAME          IP\n.metadata.name   {.status.podIP}\n";
    let columns = CustomColumns::parse_file(spec).unwrap();
    assert_eq!(
        columns.render(&items(&pod_list()), false).unwrap(),
        "NAME       IP\n\
         web-7d9f   10.0.0.5\n\
         db-0       <none>\n\
         cache-x2   10.0.0.7\n"
    );
    let crlf = CustomColumns::parse_file("NAME\tPHASE\r\nmetadata.name\tstatus.phase\r\n").unwrap();
    assert_eq!(
        crlf.render(&items(&pod_list()), true).unwrap(),
        "web-7d9f   Running\ndb-0       Pending\ncache-x2   Running\n"
    );
}

#[test]
fn spec_errors() {
    let message = |spec: &str| CustomColumns::parse(spec).unwrap_err().to_string();
    assert_eq!(
        message(""),
        "custom-columns format specified but no custom columns given"
    );
    assert_eq!(
        message("NAME:.metadata.name,IP"),
        "unexpected custom-columns spec: IP, expected <header>:<json-path-expr>"
    );
    assert_eq!(
        message("NAME:{.metadata.name"),
        "unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'"
    );
    assert_eq!(
        message("NAME:.items["),
        "error parsing jsonpath {.items[}, unterminated array"
    );
    assert!(matches!(
        CustomColumns::parse("X"),
        Err(TemplateError::InvalidColumns(_))
    ));
}

#[test]
fn file_errors() {
    let message = |text: &str| CustomColumns::parse_file(text).unwrap_err().to_string();
    assert_eq!(
        message(""),
        "invalid template, missing header line. Expected format is one line of space separated headers, one line of space separated column specs."
    );
    assert_eq!(
        message("NAME IP\n"),
        "invalid template, missing spec line. Expected format is one line of space separated headers, one line of space separated column specs."
    );
    assert_eq!(
        message("A B\n.a\n"),
        "number of headers (2) and field specifications (1) don't match"
    );
    assert_eq!(
        message("\n\n"),
        "custom-columns format specified but no custom columns given"
    );
}

#[test]
fn execution_errors_propagate() {
    let columns = CustomColumns::parse("X:.metadata[0]").unwrap();
    assert_eq!(
        columns
            .render(&items(&pod_list()), false)
            .unwrap_err()
            .to_string(),
        "object is not array or slice"
    );
}
