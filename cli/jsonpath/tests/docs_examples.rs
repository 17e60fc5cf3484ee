//! Every example of the Kubernetes "JSONPath Support" page, with today's kubectl output:
//! several results joined by one space (the page's `[a b]` shows an old Go formatting) and
//! maps printed as JSON (the page's `map[cpu:4]` is also an old Go formatting).

mod common;

use common::{docs_input, pod_list, render};

#[test]
fn plain_text() {
    assert_eq!(render("kind is {.kind}", &docs_input()), "kind is List");
}

#[test]
fn current_object_is_the_whole_input() {
    let input = docs_input();
    let compact = serde_json::to_string(&input).unwrap();
    assert_eq!(render("{@}", &input), compact);
    assert_eq!(render("{$}", &input), compact);
    assert_eq!(render("{.}", &input), compact);
    assert!(compact.starts_with(r#"{"kind":"List","items":[{"kind":"None","metadata""#));
}

#[test]
fn child_operator() {
    let input = docs_input();
    assert_eq!(render("{.kind}", &input), "List");
    assert_eq!(render("{['kind']}", &input), "List");
    let dotted = serde_json::json!({"name.type": "dotted", "name": {"type": "nested"}});
    assert_eq!(render(r"{['name\.type']}", &dotted), "dotted");
    assert_eq!(render("{['name.type']}", &dotted), "nested");
}

#[test]
fn recursive_descent() {
    assert_eq!(
        render("{..name}", &docs_input()),
        "127.0.0.1 127.0.0.2 myself e2e"
    );
}

#[test]
fn wildcard() {
    assert_eq!(
        render("{.items[*].metadata.name}", &docs_input()),
        "127.0.0.1 127.0.0.2"
    );
}

#[test]
fn subscript() {
    assert_eq!(render("{.users[0].name}", &docs_input()), "myself");
}

#[test]
fn union() {
    assert_eq!(
        render(
            "{.items[*]['metadata.name', 'status.capacity']}",
            &docs_input()
        ),
        r#"127.0.0.1 127.0.0.2 {"cpu":"4"} {"cpu":"8"}"#
    );
}

#[test]
fn filter() {
    assert_eq!(
        render(r#"{.users[?(@.name=="e2e")].user.password}"#, &docs_input()),
        "secret"
    );
}

#[test]
fn range_end() {
    assert_eq!(
        render(
            "{range .items[*]}[{.metadata.name}, {.status.capacity}] {end}",
            &docs_input()
        ),
        r#"[127.0.0.1, {"cpu":"4"}] [127.0.0.2, {"cpu":"8"}] "#
    );
}

#[test]
fn quoted_interpreted_string() {
    assert_eq!(
        render(
            r#"{range .items[*]}{.metadata.name}{"\t"}{end}"#,
            &docs_input()
        ),
        "127.0.0.1\t127.0.0.2\t"
    );
}

#[test]
fn escaped_dots_in_label_keys() {
    assert_eq!(
        render(
            r"{.items[0].metadata.labels.kubernetes\.io/hostname}",
            &docs_input()
        ),
        "127.0.0.1"
    );
    assert_eq!(
        render(
            r"{.items[0].metadata.labels['kubernetes\.io/hostname']}",
            &docs_input()
        ),
        "127.0.0.1"
    );
}

#[test]
fn negative_index_steps_back_from_the_end() {
    assert_eq!(
        render("{.items[-1].metadata.name}", &docs_input()),
        "127.0.0.2"
    );
    assert_eq!(
        render("{.items[-2].metadata.name}", &docs_input()),
        "127.0.0.1"
    );
}

// The kubectl command examples of the page, run against a pod list.

#[test]
fn kubectl_examples_on_pods() {
    let pods = pod_list();
    assert_eq!(render("{.items[0].metadata.name}", &pods), "web-7d9f");
    assert_eq!(
        render(r#"{.items[*]['metadata.name', 'status.startTime']}"#, &pods),
        "web-7d9f db-0 cache-x2 2024-05-01T10:00:00Z 2024-04-30T08:30:00Z 2024-05-02T00:00:00Z"
    );
    assert_eq!(
        render(
            r#"{range .items[*]}{.metadata.name}{"\t"}{.status.startTime}{"\n"}{end}"#,
            &pods
        ),
        "web-7d9f\t2024-05-01T10:00:00Z\ndb-0\t2024-04-30T08:30:00Z\ncache-x2\t2024-05-02T00:00:00Z\n"
    );
    assert_eq!(
        render("{.items[*].status.podIP}", &pods),
        "10.0.0.5 10.0.0.7"
    );
    assert_eq!(
        render(r#"{range .items[*]}{.status.podIP}{"\n"}{end}"#, &pods),
        "10.0.0.5\n\n10.0.0.7\n"
    );
    assert_eq!(
        render(
            r#"{.items[?(@.metadata.labels.tier=="backend")].metadata.name}"#,
            &pods
        ),
        "web-7d9f db-0 cache-x2"
    );
    assert_eq!(
        render("{.items..metadata.name}", &pods),
        "web-7d9f db-0 cache-x2"
    );
}

#[test]
fn kubectl_example_item_as_json() {
    let pods = pod_list();
    let first = serde_json::to_string(&pods["items"][0]).unwrap();
    assert_eq!(render("{.items[0]}", &pods), first);
    assert!(first.starts_with(r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-7d9f""#));
}

#[test]
fn range_without_end_runs_to_the_end_of_the_template() {
    // Seen in the wild: `{range .items[*].spec.containers[*]}{.image}{"\n"}` with no {end}.
    let pods = pod_list();
    assert_eq!(
        render(
            r#"{range .items[0].spec.containers[*]}{.image}{"\n"}"#,
            &pods
        ),
        "registry.local/web:1.0\nregistry.local/proxy:2.1\n"
    );
}
