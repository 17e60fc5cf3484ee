//! Odd and random input must give a result or an error, never a panic or a hang.

mod common;

use capstan_jsonpath::{CustomColumns, Template, sort_by};
use common::{docs_input, pod_list};
use serde_json::{Value, json};

/// Exercises every entry point with one piece of text.
fn exercise(text: &str, data: &[Value]) {
    if let Ok(template) = Template::parse(text) {
        for doc in data {
            let _ = template.render(doc, true);
            let _ = template.render(doc, false);
        }
    }
    if let Ok(columns) = CustomColumns::parse(text) {
        let _ = columns.render(data, false);
    }
    if let Ok(columns) = CustomColumns::parse_file(text) {
        let _ = columns.render(data, true);
    }
    let mut items = data.to_vec();
    let _ = sort_by(&mut items, text);
}

fn documents() -> Vec<Value> {
    vec![
        pod_list(),
        docs_input(),
        json!(null),
        json!("scalar"),
        json!([1, [2, [3, []]], {}, {"a": null}]),
        json!({"": {"": [""]}, "a.b": {"c": -0.0}, "é": "ü"}),
    ]
}

#[test]
fn hand_picked_oddities() {
    let cases = [
        "",
        "{",
        "}",
        "{}",
        "{{}}",
        "}{",
        "{{",
        "{.}",
        "{..}",
        "{...}",
        "{....}",
        "{@@$$}",
        "{[}",
        "{]}",
        "{[]}",
        "{[[]]}",
        "{[?(}",
        "{[?()]}",
        "{[?()}",
        "{[?(@)]}",
        "{[?(@==)]}",
        "{[?(==@)]}",
        "{[?(@.a=)]}",
        "{[?(@.a<>1)]}",
        "{[?(\"\\\")]}",
        "{.a[?(@.b[?(@.c)])]}",
        "{range}",
        "{range}{end}",
        "{end}",
        "{range .items[*]}",
        "{range .items[*]}{range .}{end}",
        "{'\\",
        "{'\\x4'}",
        "{'\\u12'}",
        "{'\\ud800'}",
        "{'\\777'}",
        "{'\\U0010ffff'}",
        "{'\\UFFFFFFFF'}",
        "{.a\\}",
        "{.a\\",
        "{\\}",
        "{1.}",
        "{.5}",
        "{+}",
        "{+-1}",
        "{--1}",
        "{1e5}",
        "{.items[-0]}",
        "{.items[0:-0]}",
        "{.items[-1:-2]}",
        "{.items[::]}",
        "{.items[:::]}",
        "{.items[*][*][*]}",
        "{.items[0,]}",
        "{.items[,0]}",
        "{.items[',']}",
        "{.items[\"]}",
        "{.items['\\'']}",
        "{.*.*.*.*}",
        "{..*}",
        "{..[*]}",
        "{..[0]}",
        "{..[?(@)]}",
        "{ }",
        "{\t}",
        "{\r}",
        "{é}",
        "{.é}",
        "{日本}",
        "{\u{0}}",
        "\u{0}",
        "{'\u{0}'}",
        "{true.a}",
        "A:",
        ":",
        ":.",
        "A:.a,",
        ",",
        ",,",
        "A:.a\nB",
        "A B\n.a .b",
        "A\n{",
        "A:{}",
        "A:{.}",
        "{.metadata.labels['app\\.kubernetes\\.io/name']}",
        "{range .items[*]}{@}{\"\\n\"}{end}",
    ];
    let data = documents();
    for case in cases {
        exercise(case, &data);
    }
}

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let index = usize::try_from(self.next() % items.len() as u64).unwrap_or(0);
        items[index]
    }
}

#[test]
fn random_token_soup() {
    let tokens = [
        "{",
        "}",
        "[",
        "]",
        "(",
        ")",
        "?",
        "@",
        "$",
        ".",
        "..",
        "*",
        ",",
        ":",
        "'",
        "\"",
        "\\",
        "=",
        "==",
        "!=",
        "<",
        ">=",
        "-",
        "0",
        "1",
        "-1",
        "2:",
        "::2",
        " ",
        "\n",
        "\t",
        "é",
        "日",
        "range",
        "end",
        "true",
        "items",
        "metadata",
        "name",
        "status",
        "[?(",
        ")]",
        "{range .items[*]}",
        "{end}",
        "{.items[*].metadata.name}",
        "['a.b']",
        "\\.",
        "{\"\\n\"}",
        "<none>",
    ];
    let data = documents();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let len = rng.next() % 24;
        let text: String = (0..len).map(|_| rng.pick(&tokens)).collect();
        exercise(&text, &data);
    }
}

#[test]
fn deep_range_nesting_is_refused_not_overflowed() {
    let deep = format!("{}x{}", "{range .}".repeat(10_000), "{end}".repeat(10_000));
    let err = Template::parse(&deep).unwrap_err().to_string();
    assert!(
        err.ends_with("range nested more than 64 levels deep"),
        "{err}"
    );

    let ok = format!("{}x{}", "{range .}".repeat(64), "{end}".repeat(64));
    assert_eq!(
        Template::parse(&ok)
            .unwrap()
            .render(&json!({}), true)
            .unwrap(),
        "x"
    );
}

#[test]
fn deeply_nested_documents() {
    // Built by hand: `json!({"child": [doc]})` would deep-copy `doc` recursively each time.
    let mut doc = json!({"name": "bottom"});
    for i in 0..3_000 {
        let mut level = serde_json::Map::new();
        level.insert("name".to_string(), json!(i));
        level.insert("child".to_string(), Value::Array(vec![doc]));
        doc = Value::Object(level);
    }
    let out = Template::parse("{..name}")
        .unwrap()
        .render(&doc, true)
        .unwrap();
    assert!(out.starts_with("2999 2998 "), "{}", &out[..20]);
    assert!(out.ends_with(" 0 bottom"));
}

#[test]
fn long_templates_parse_in_reasonable_time() {
    let long = "{.items[*].metadata.name}{\"\\n\"}".repeat(5_000);
    let out = Template::parse(&long)
        .unwrap()
        .render(&pod_list(), true)
        .unwrap();
    assert_eq!(out.lines().count(), 5_000);
    let filter = format!(
        "{{.items[?(@.metadata.name==\"{}\")]}}",
        "x".repeat(100_000)
    );
    assert_eq!(
        Template::parse(&filter)
            .unwrap()
            .render(&pod_list(), true)
            .unwrap(),
        ""
    );
}
