//! Paths, subscripts, literals and output formatting.

mod common;

use capstan_jsonpath::Template;
use common::{node_list, pod_list, render};
use serde_json::json;

#[test]
fn nested_children() {
    assert_eq!(render("{.items[1].status.phase}", &pod_list()), "Pending");
    assert_eq!(
        render("{ .items[1] .status.phase }", &pod_list()),
        "Pending"
    );
    assert_eq!(render("{$.items[1].status.phase}", &pod_list()), "Pending");
}

#[test]
fn quoted_keys_with_escaped_dots() {
    let pods = pod_list();
    assert_eq!(
        render(
            r"{.items[0].metadata.labels['app\.kubernetes\.io/name']}",
            &pods
        ),
        "web"
    );
    assert_eq!(
        render(
            r#"{.items[0].metadata.labels["app\.kubernetes\.io/name"]}"#,
            &pods
        ),
        "web"
    );
    assert_eq!(
        render(
            r"{.items[2].metadata.labels.app\.kubernetes\.io/name}",
            &pods
        ),
        "cache"
    );
    assert_eq!(render("{['kind']}", &pods), "List");
    assert_eq!(
        render("{.items[0]['metadata']['namespace']}", &pods),
        "default"
    );
}

#[test]
fn keys_with_unusual_characters() {
    let doc = json!({"a b": 1, "x]y": 2, "c,d": 3, "": "empty", "q'uote": 4});
    assert_eq!(render("{['a b']}", &doc), "1");
    assert_eq!(render("{['x]y']}", &doc), "2");
    assert_eq!(render("{['c,d']}", &doc), "3");
    assert_eq!(render("{['']}", &doc), "empty");
    assert_eq!(render(r#"{["q'uote"]}"#, &doc), "4");
}

#[test]
fn indexes_and_slices() {
    let doc = json!({"n": [0, 1, 2, 3, 4, 5]});
    assert_eq!(render("{.n[0]}", &doc), "0");
    assert_eq!(render("{.n[5]}", &doc), "5");
    assert_eq!(render("{.n[-1]}", &doc), "5");
    assert_eq!(render("{.n[-6]}", &doc), "0");
    assert_eq!(render("{.n[0:2]}", &doc), "0 1");
    assert_eq!(render("{.n[1:]}", &doc), "1 2 3 4 5");
    assert_eq!(render("{.n[:3]}", &doc), "0 1 2");
    assert_eq!(render("{.n[::2]}", &doc), "0 2 4");
    assert_eq!(render("{.n[1::2]}", &doc), "1 3 5");
    assert_eq!(render("{.n[1:5:3]}", &doc), "1 4");
    assert_eq!(render("{.n[-2:]}", &doc), "4 5");
    assert_eq!(render("{.n[:-4]}", &doc), "0 1");
    assert_eq!(render("{.n[:]}", &doc), "0 1 2 3 4 5");
    assert_eq!(render("{.n[2:2]}", &doc), "");
    assert_eq!(render("{.n[ 1 : 3 ]}", &doc), "1 2");
    assert_eq!(render("{.n[*]}", &doc), "0 1 2 3 4 5");
}

#[test]
fn slices_of_empty_arrays() {
    let doc = json!({"n": []});
    assert_eq!(render("{.n[*]}", &doc), "");
    assert_eq!(render("{.n[:]}", &doc), "");
    assert_eq!(render("{.n[0:0]}", &doc), "");
}

#[test]
fn wildcards_over_objects_and_arrays() {
    let nodes = node_list();
    assert_eq!(
        render("{.items[0].status.capacity.*}", &nodes),
        "8 16Gi 110"
    );
    assert_eq!(
        render("{.items[0].status.capacity[*]}", &nodes),
        "8 16Gi 110"
    );
    assert_eq!(render("{.items.*.metadata.name}", &nodes), "node-a node-b");
    assert_eq!(render("{.items[0].metadata.name.*}", &nodes), "");
}

#[test]
fn recursive_descent() {
    let pods = pod_list();
    assert_eq!(
        render("{.items[0]..image}", &pods),
        "registry.local/web:1.0 registry.local/proxy:2.1 registry.local/web:1.0"
    );
    assert_eq!(render("{..containerPort}", &pods), "8080 8080 8080");
    assert_eq!(render("{.items[0].spec..['name']}", &pods), "main sidecar");
    // `..` alone lists the containers themselves; `{..}` on an array of scalars is the array.
    assert_eq!(render("{..}", &json!([1, 2, 3])), "[1,2,3]");
    assert_eq!(
        render("{.a..}", &json!({"a": {"b": {}, "c": [1]}})),
        r#"{"b":{},"c":[1]} [1]"#
    );
}

#[test]
fn unions() {
    let doc = json!({"n": [10, 11, 12, 13], "a": 1, "b": 2});
    assert_eq!(render("{.n[0,2]}", &doc), "10 12");
    assert_eq!(render("{.n[3, 0, 1:3]}", &doc), "13 10 11 12");
    assert_eq!(render("{['a','b']}", &doc), "1 2");
    assert_eq!(render(r#"{["b", 'a']}"#, &doc), "2 1");
    assert_eq!(
        render("{.items[*]['metadata.name','status.phase']}", &pod_list()),
        "web-7d9f db-0 cache-x2 Running Pending Running"
    );
}

#[test]
fn literals() {
    let doc = json!({});
    assert_eq!(render(r#"{"\n"}"#, &doc), "\n");
    assert_eq!(render(r#"{"\t"}"#, &doc), "\t");
    assert_eq!(render(r#"{"{"}x{"}"}"#, &doc), "{x}");
    assert_eq!(render("{'single'}", &doc), "single");
    assert_eq!(
        render(r#"{"quote \" and \\ and \u00e9 and \x41 and \101"}"#, &doc),
        "quote \" and \\ and é and A and A"
    );
    assert_eq!(render("{1}{-2}{3.5}{true}{false}", &doc), "1-23.5truefalse");
    assert_eq!(
        render("}plain text with } and ] and \"quotes\"", &doc),
        "}plain text with } and ] and \"quotes\""
    );
    assert_eq!(render("", &doc), "");
    assert_eq!(render("ünïcödé {'ok'} 日本", &doc), "ünïcödé ok 日本");
}

#[test]
fn scalar_and_compound_formatting() {
    let doc = json!({
        "s": "text", "i": 42, "neg": -7, "f": 1.5, "t": true, "z": null,
        "o": {"b": 1, "a": [1, "x", null]}, "arr": [{"k": "v"}, 2]
    });
    assert_eq!(
        render("{.s}|{.i}|{.neg}|{.f}|{.t}|{.z}", &doc),
        "text|42|-7|1.5|true|null"
    );
    // Objects keep the document's key order.
    assert_eq!(render("{.o}", &doc), r#"{"b":1,"a":[1,"x",null]}"#);
    assert_eq!(render("{.arr}", &doc), r#"[{"k":"v"},2]"#);
    assert_eq!(render("{.arr[*]}", &doc), r#"{"k":"v"} 2"#);
    assert_eq!(render("{.o.a[*]}", &doc), "1 x null");
}

#[test]
fn multiple_results_are_joined_by_one_space_per_action() {
    let pods = pod_list();
    assert_eq!(
        render("{.items[*].metadata.name}|{.items[*].status.phase}", &pods),
        "web-7d9f db-0 cache-x2|Running Pending Running"
    );
}

#[test]
fn nested_ranges() {
    let pods = pod_list();
    let template = r#"{range .items[*]}{.metadata.name}:{range .spec.containers[*]} {.name}={.image}{end}{"\n"}{end}"#;
    assert_eq!(
        render(template, &pods),
        "web-7d9f: main=registry.local/web:1.0 sidecar=registry.local/proxy:2.1\n\
         db-0: main=registry.local/db:1.0 sidecar=registry.local/proxy:2.1\n\
         cache-x2: main=registry.local/cache:1.0 sidecar=registry.local/proxy:2.1\n"
    );
}

#[test]
fn range_over_nothing_prints_nothing() {
    let doc = json!({"items": []});
    assert_eq!(
        render(r#"before{range .items[*]}x{.a}{"\n"}{end}after"#, &doc),
        "beforeafter"
    );
    assert_eq!(
        Template::parse(r#"{range .items[*]}{.missing}{end}"#)
            .unwrap()
            .render(&doc, false)
            .unwrap(),
        ""
    );
}

#[test]
fn range_over_object_values_and_scalars() {
    let nodes = node_list();
    assert_eq!(
        render(r#"{range .items[0].status.capacity.*}[{@}]{end}"#, &nodes),
        "[8][16Gi][110]"
    );
    assert_eq!(
        render("{range .items[0].metadata.name}<{.}>{end}", &nodes),
        "<node-a>"
    );
}

#[test]
fn range_keyword_may_touch_the_path() {
    assert_eq!(
        render("{range.items[*]}{.metadata.name};{end}", &node_list()),
        "node-a;node-b;"
    );
}

#[test]
fn empty_action_prints_the_current_object() {
    assert_eq!(
        render("{range .items[*]}{}{end}", &json!({"items": [1, "a"]})),
        "1a"
    );
}

#[test]
fn missing_keys_print_nothing_by_default() {
    let pods = pod_list();
    assert_eq!(render("[{.nope}]", &pods), "[]");
    assert_eq!(render("[{.items[1].status.podIP}]", &pods), "[]");
    assert_eq!(render("[{.items[*].nope.deeper}]", &pods), "[]");
    assert_eq!(render("[{.kind.sub}]", &pods), "[]");
}

#[test]
fn missing_keys_are_errors_when_not_allowed() {
    let pods = pod_list();
    let t = Template::parse("{.items[1].status.podIP}").unwrap();
    assert_eq!(
        t.render(&pods, false).unwrap_err().to_string(),
        "podIP is not found"
    );
    let t = Template::parse("{.metadata.nope.deeper}").unwrap();
    assert_eq!(
        t.render(&pods, false).unwrap_err().to_string(),
        "nope is not found"
    );
    // Found in some items only: not an error.
    let t = Template::parse("{.items[*].status.podIP}").unwrap();
    assert_eq!(t.render(&pods, false).unwrap(), "10.0.0.5 10.0.0.7");
    // Nothing to look in: not an error either.
    let t = Template::parse("{.items[*].metadata.name}").unwrap();
    assert_eq!(t.render(&json!({"items": []}), false).unwrap(), "");
}

#[test]
fn template_remembers_its_source() {
    let t = Template::parse("{.a}").unwrap();
    assert_eq!(t.source(), "{.a}");
}
