//! Name syntax, quantities, cron schedules and Go-style value rendering.

use crate::validation::{cron, gofmt, names, quantity};

#[test]
fn dns_names() {
    assert!(names::dns1123_subdomain("my.app-1").is_empty());
    assert_eq!(
        names::dns1123_subdomain("My_App"),
        vec![super::SUBDOMAIN_MSG.to_string()]
    );
    assert!(names::dns1123_label("web").is_empty());
    assert_eq!(
        names::dns1123_label("a.b"),
        vec!["must not contain dots".to_string()]
    );
    assert_eq!(
        names::dns1123_label(&"a".repeat(64)),
        vec!["must be no more than 63 characters".to_string()]
    );
    assert!(names::dns1035_label("svc-1").is_empty());
    assert_eq!(
        names::dns1035_label("1svc"),
        vec!["a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".to_string()]
    );
}

#[test]
fn qualified_names_and_label_values() {
    assert!(names::qualified_name("app.kubernetes.io/name").is_empty());
    assert_eq!(
        names::qualified_name("/x"),
        vec!["prefix part must be non-empty".to_string()]
    );
    assert_eq!(
        names::qualified_name("a/b/c"),
        vec!["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')".to_string()]
    );
    assert!(names::label_value("").is_empty());
    assert_eq!(
        names::label_value("-bad"),
        vec!["a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')".to_string()]
    );
}

#[test]
fn port_names() {
    assert!(names::port_name("http").is_empty());
    assert_eq!(
        names::port_name("80"),
        vec!["must contain at least one letter (a-z)".to_string()]
    );
    assert_eq!(
        names::port_name("a--b"),
        vec!["must not contain consecutive hyphens".to_string()]
    );
}

#[test]
fn quantities_canonicalise_like_upstream() {
    let canon = |s: &str| quantity::parse(s).map(|q| q.canonical());
    assert_eq!(canon("1000m").as_deref(), Some("1"));
    assert_eq!(canon("0.5").as_deref(), Some("500m"));
    assert_eq!(canon("1.5Gi").as_deref(), Some("1536Mi"));
    assert_eq!(canon("2000").as_deref(), Some("2k"));
    assert_eq!(canon("128Mi").as_deref(), Some("128Mi"));
    assert_eq!(canon("1e3").as_deref(), Some("1e3"));
    assert_eq!(canon("100m").as_deref(), Some("100m"));
    assert_eq!(canon("0").as_deref(), Some("0"));
    assert_eq!(canon("abc"), None);
    assert_eq!(canon("1.2.3"), None);
    let a = quantity::parse("500m");
    let b = quantity::parse("1");
    assert!(a.zip(b).is_some_and(|(a, b)| a.cmp_value(&b).is_lt()));
}

#[test]
fn cron_schedules() {
    assert!(cron::parse_standard("*/5 * * * *").is_ok());
    assert!(cron::parse_standard("0 0 * jan-mar mon").is_ok());
    assert!(cron::parse_standard("@hourly").is_ok());
    assert!(cron::parse_standard("@every 1h30m").is_ok());
    assert_eq!(
        cron::parse_standard("* * * *"),
        Err("expected exactly 5 fields, found 4: [* * * *]".to_string())
    );
    assert_eq!(
        cron::parse_standard("60 * * * *"),
        Err("end of range (60) above maximum (59): 60".to_string())
    );
    assert_eq!(
        cron::parse_standard("x * * * *"),
        Err("failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax".to_string())
    );
    assert_eq!(
        cron::parse_standard("@daily2"),
        Err("unrecognized descriptor: @daily2".to_string())
    );
}

#[test]
fn go_rendering() {
    assert_eq!(gofmt::quote("a\"b\n"), "\"a\\\"b\\n\"");
    let m = serde_json::json!({"b": "2", "a": "1"});
    assert_eq!(
        gofmt::string_map(Some(&m)),
        "map[string]string{\"a\":\"1\", \"b\":\"2\"}"
    );
    assert_eq!(gofmt::string_map(None), "map[string]string(nil)");
    let sel = serde_json::json!({"matchLabels": {"app": "x"}});
    assert_eq!(
        gofmt::label_selector(Some(&sel)),
        "v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"x\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"
    );
}
