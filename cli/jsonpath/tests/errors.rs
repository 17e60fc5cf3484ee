//! Parse and execution errors, with kubectl's wording.

mod common;

use capstan_jsonpath::{Template, TemplateError};
use common::{error, pod_list};
use serde_json::json;

fn parse_error(template: &str) -> String {
    match Template::parse(template) {
        Ok(_) => panic!("{template:?} parsed"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn unclosed_and_unterminated() {
    assert_eq!(
        parse_error("{.items["),
        "error parsing jsonpath {.items[, unterminated array"
    );
    assert_eq!(
        parse_error("{.items[0}"),
        "error parsing jsonpath {.items[0}, unterminated array"
    );
    assert_eq!(
        parse_error("{.kind"),
        "error parsing jsonpath {.kind, unclosed action"
    );
    assert_eq!(
        parse_error("text {"),
        "error parsing jsonpath text {, unclosed action"
    );
    assert_eq!(
        parse_error("{.kind\n}"),
        "error parsing jsonpath {.kind\n}, unclosed action"
    );
    assert_eq!(
        parse_error(r#"{"abc}"#),
        r#"error parsing jsonpath {"abc}, unterminated quoted string"#
    );
    assert_eq!(
        parse_error("{'abc\n'}"),
        "error parsing jsonpath {'abc\n'}, unterminated quoted string"
    );
}

#[test]
fn unmatched_end() {
    assert_eq!(
        parse_error("{end}"),
        "error parsing jsonpath {end}, not in range, nothing to end"
    );
    assert_eq!(
        parse_error("{range .items[*]}{end}{end}"),
        "error parsing jsonpath {range .items[*]}{end}{end}, not in range, nothing to end"
    );
    assert_eq!(
        parse_error("{end .x}"),
        "error parsing jsonpath {end .x}, end must stand alone in its action: {end}"
    );
    assert_eq!(
        parse_error("{.items range}"),
        "error parsing jsonpath {.items range}, range is only allowed at the start of an action"
    );
}

#[test]
fn unknown_words_and_characters() {
    assert_eq!(
        parse_error("{metadata.name}"),
        "error parsing jsonpath {metadata.name}, unrecognized identifier metadata"
    );
    assert_eq!(
        parse_error("{#}"),
        "error parsing jsonpath {#}, unrecognized character in action: U+0023 '#'"
    );
    assert_eq!(
        parse_error("{*}"),
        "error parsing jsonpath {*}, unrecognized character in action: U+002A '*'"
    );
    assert_eq!(
        parse_error("{\u{7}}"),
        "error parsing jsonpath {\u{7}}, unrecognized character in action: U+0007"
    );
    assert_eq!(
        parse_error("{....a}"),
        "error parsing jsonpath {....a}, invalid multiple recursive descent"
    );
    assert_eq!(
        parse_error("{-}"),
        "error parsing jsonpath {-}, cannot parse number -"
    );
    assert_eq!(
        parse_error("{1.2.3}"),
        "error parsing jsonpath {1.2.3}, cannot parse number 1.2.3"
    );
    assert_eq!(
        parse_error(r#"{"\q"}"#),
        r#"error parsing jsonpath {"\q"}, invalid escape sequence \q in quoted string"#
    );
}

#[test]
fn bad_subscripts() {
    assert_eq!(
        parse_error("{.n[a]}"),
        "error parsing jsonpath {.n[a]}, invalid array index a"
    );
    assert_eq!(
        parse_error("{.n[1:2:3:4]}"),
        "error parsing jsonpath {.n[1:2:3:4]}, invalid array index 1:2:3:4"
    );
    assert_eq!(
        parse_error("{.n[+1]}"),
        "error parsing jsonpath {.n[+1]}, invalid array index +1"
    );
    assert_eq!(
        parse_error("{.n[-]}"),
        "error parsing jsonpath {.n[-]}, array index - is not a number"
    );
    assert_eq!(
        parse_error("{.n[99999999999999999999]}"),
        "error parsing jsonpath {.n[99999999999999999999]}, array index 99999999999999999999 is not a number"
    );
    assert_eq!(
        parse_error("{.n[]}"),
        "error parsing jsonpath {.n[]}, empty array subscript []"
    );
    assert_eq!(
        parse_error("{.n[0,]}"),
        "error parsing jsonpath {.n[0,]}, empty array subscript []"
    );
    assert_eq!(
        parse_error("{.n['a'b']}"),
        "error parsing jsonpath {.n['a'b']}, unterminated array"
    );
}

#[test]
fn parse_errors_are_the_parse_variant() {
    match Template::parse("{.a[") {
        Err(TemplateError::Parse { template, reason }) => {
            assert_eq!(template, "{.a[");
            assert_eq!(reason, "unterminated array");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn missing_key_is_the_key_not_found_variant() {
    let err = Template::parse("{.spec}")
        .unwrap()
        .render(&json!({}), false)
        .unwrap_err();
    assert_eq!(
        err,
        TemplateError::KeyNotFound {
            key: "spec".to_string()
        }
    );
    assert_eq!(err.to_string(), "spec is not found");
}

#[test]
fn out_of_bounds_is_an_error_even_when_missing_keys_are_allowed() {
    let doc = json!({"n": [0, 1], "e": []});
    assert_eq!(
        error("{.n[5]}", &doc, false),
        "array index out of bounds: index 5, length 2"
    );
    assert_eq!(
        error("{.n[-3]}", &doc, false),
        "array index out of bounds: index -1, length 2"
    );
    assert_eq!(
        error("{.n[0:5]}", &doc, false),
        "array index out of bounds: index 4, length 2"
    );
    assert_eq!(
        error("{.n[2:1]}", &doc, false),
        "array index out of bounds: index 2, length 2"
    );
    assert_eq!(
        error("{.n[1:0]}", &doc, false),
        "starting index 1 is greater than ending index 0"
    );
    assert_eq!(error("{.n[::0]}", &doc, false), "step must be > 0");
    assert_eq!(error("{.n[::-1]}", &doc, false), "step must be > 0");
    assert_eq!(
        error("{.e[0]}", &doc, false),
        "array index out of bounds: index 0, length 0"
    );
    assert!(matches!(
        Template::parse("{.n[5]}").unwrap().render(&doc, true),
        Err(TemplateError::Execution(_))
    ));
}

#[test]
fn indexing_a_non_array() {
    let pods = pod_list();
    assert_eq!(
        error("{.kind[0]}", &pods, false),
        "string is not array or slice"
    );
    assert_eq!(
        error("{.kind[*]}", &pods, false),
        "string is not array or slice"
    );
    assert_eq!(
        error("{.metadata[0]}", &pods, false),
        "object is not array or slice"
    );
    // null is treated as absent, not as a wrong type.
    assert_eq!(common::render("{.z[0]}{.z[*]}", &json!({"z": null})), "");
}

#[test]
fn extreme_indexes_do_not_overflow() {
    let doc = json!({"n": [0, 1]});
    assert_eq!(
        error("{.n[9223372036854775807]}", &doc, false),
        "array index out of bounds: index 9223372036854775807, length 2"
    );
    assert_eq!(
        error("{.n[-9223372036854775808]}", &doc, false),
        "array index out of bounds: index -9223372036854775806, length 2"
    );
    assert_eq!(
        error("{.n[0:9223372036854775807]}", &doc, false),
        "array index out of bounds: index 9223372036854775806, length 2"
    );
    assert_eq!(common::render("{.n[::9223372036854775807]}", &doc), "0");
}
