//! Bad input gets the right Status and never a partial write.

use serde_json::Value;

use crate::harness::TestServer;

const CM_PATH: &str = "/api/v1/namespaces/default/configmaps";

fn assert_status(got: &(u16, Value), code: u16, reason: &str) {
    let (status, body) = got;
    assert_eq!(*status, code, "{body}");
    assert_eq!(body["kind"], "Status", "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["reason"], reason, "{body}");
}

async fn configmap_count(t: &TestServer) -> usize {
    let (status, list) = t.raw("GET", CM_PATH, None, b"").await;
    assert_eq!(status, 200);
    list["items"].as_array().map(Vec::len).unwrap_or(0)
}

#[tokio::test]
async fn malformed_and_mismatched_bodies_are_rejected_without_writes() {
    let t = TestServer::start().await;
    let json = Some("application/json");
    assert_status(
        &t.raw("POST", CM_PATH, json, b"{not json").await,
        400,
        "BadRequest",
    );
    assert_status(
        &t.raw("POST", CM_PATH, Some("application/yaml"), b"a: [b")
            .await,
        400,
        "BadRequest",
    );
    assert_status(
        &t.raw("POST", CM_PATH, json, b"[1,2]").await,
        400,
        "BadRequest",
    );
    let wrong_kind = br#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}"#;
    assert_status(
        &t.raw("POST", CM_PATH, json, wrong_kind).await,
        400,
        "BadRequest",
    );
    let wrong_version = br#"{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"x"}}"#;
    assert_status(
        &t.raw("POST", CM_PATH, json, wrong_version).await,
        400,
        "BadRequest",
    );
    let wrong_type = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":7}"#;
    assert_status(
        &t.raw("POST", CM_PATH, json, wrong_type).await,
        400,
        "BadRequest",
    );
    let other_ns = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"kube-system"}}"#;
    assert_status(
        &t.raw("POST", CM_PATH, json, other_ns).await,
        400,
        "BadRequest",
    );
    assert_status(
        &t.raw("POST", CM_PATH, Some("text/csv"), b"a,b").await,
        415,
        "UnsupportedMediaType",
    );
    let big = format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"big"}},"data":{{"a":"{}"}}}}"#,
        "x".repeat(3 * 1024 * 1024 + 10)
    );
    let (status, _) = t.raw("POST", CM_PATH, json, big.as_bytes()).await;
    assert_eq!(status, 413);
    let strict = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"dataa":{}}"#;
    let got = t
        .raw(
            "POST",
            &format!("{CM_PATH}?fieldValidation=Strict"),
            json,
            strict,
        )
        .await;
    assert_status(&got, 400, "BadRequest");
    assert!(
        got.1["message"]
            .as_str()
            .is_some_and(|m| m.contains("dataa"))
    );
    assert_eq!(
        configmap_count(&t).await,
        0,
        "no failed request wrote anything"
    );
    t.stop().await;
}

#[tokio::test]
async fn invalid_names_and_fields_are_422_with_causes() {
    let t = TestServer::start().await;
    let json = Some("application/json");
    let bad_name = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Not_Valid"}}"#;
    let got = t.raw("POST", CM_PATH, json, bad_name).await;
    assert_status(&got, 422, "Invalid");
    assert_eq!(got.1["details"]["causes"][0]["field"], "metadata.name");
    let no_name = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}"#;
    assert_status(&t.raw("POST", CM_PATH, json, no_name).await, 422, "Invalid");
    let pod = br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c"}]}}"#;
    let got = t
        .raw("POST", "/api/v1/namespaces/default/pods", json, pod)
        .await;
    assert_status(&got, 422, "Invalid");
    assert!(
        got.1["message"]
            .as_str()
            .is_some_and(|m| m.contains("spec.containers[0].image")),
        "{}",
        got.1
    );
    assert_eq!(configmap_count(&t).await, 0);
    t.stop().await;
}

#[tokio::test]
async fn unknown_resources_selectors_and_missing_objects() {
    let t = TestServer::start().await;
    assert_status(
        &t.raw("GET", "/api/v1/namespaces/default/widgets", None, b"")
            .await,
        404,
        "NotFound",
    );
    assert_status(
        &t.raw("GET", "/apis/nope.io/v1/things", None, b"").await,
        404,
        "NotFound",
    );
    assert_status(
        &t.raw("GET", &format!("{CM_PATH}/missing"), None, b"").await,
        404,
        "NotFound",
    );
    assert_status(
        &t.raw(
            "GET",
            &format!("{CM_PATH}?labelSelector=a%20in%20b"),
            None,
            b"",
        )
        .await,
        400,
        "BadRequest",
    );
    assert_status(
        &t.raw(
            "GET",
            &format!("{CM_PATH}?fieldSelector=spec.nope%3D1"),
            None,
            b"",
        )
        .await,
        400,
        "BadRequest",
    );
    assert_status(
        &t.raw("GET", &format!("{CM_PATH}?continue=garbage"), None, b"")
            .await,
        400,
        "BadRequest",
    );
    assert_status(
        &t.raw(
            "POST",
            "/api/v1/namespaces/nowhere/configmaps",
            Some("application/json"),
            br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}"#,
        )
        .await,
        404,
        "NotFound",
    );
    t.stop().await;
}

#[tokio::test]
async fn stale_resource_versions_conflict_and_old_watches_expire() {
    let t = TestServer::start_with(|c| c.watch_cache_events = 5).await;
    let json = Some("application/json");
    let (status, created) = t
        .raw(
            "POST",
            CM_PATH,
            json,
            br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"1"}}"#,
        )
        .await;
    assert_eq!(status, 201);
    let rv = created["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .to_string();
    let mut update = created.clone();
    update["data"]["a"] = "2".into();
    let (status, _) = t
        .raw(
            "PUT",
            &format!("{CM_PATH}/c"),
            json,
            update.to_string().as_bytes(),
        )
        .await;
    assert_eq!(status, 200);
    // Same (now stale) resourceVersion again: 409 Conflict, and the value is unchanged.
    update["data"]["a"] = "3".into();
    assert_status(
        &t.raw(
            "PUT",
            &format!("{CM_PATH}/c"),
            json,
            update.to_string().as_bytes(),
        )
        .await,
        409,
        "Conflict",
    );
    let (_, now) = t.raw("GET", &format!("{CM_PATH}/c"), None, b"").await;
    assert_eq!(now["data"]["a"], "2");
    let precondition = format!(r#"{{"preconditions":{{"resourceVersion":"{rv}"}}}}"#);
    assert_status(
        &t.raw(
            "DELETE",
            &format!("{CM_PATH}/c"),
            json,
            precondition.as_bytes(),
        )
        .await,
        409,
        "Conflict",
    );
    // Push the first revision out of the (tiny) watch window, then watch from it.
    for i in 0..10 {
        let body =
            format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"n{i}"}}}}"#);
        t.raw("POST", CM_PATH, json, body.as_bytes()).await;
    }
    let (status, text) = crate::harness::raw_request_text(
        t.addr,
        "GET",
        &format!("{CM_PATH}?watch=true&resourceVersion={rv}&timeoutSeconds=2"),
        None,
        b"",
    )
    .await;
    assert_eq!(status, 200);
    let first: Value =
        serde_json::from_str(text.lines().next().unwrap_or("{}")).expect("event json");
    assert_eq!(first["type"], "ERROR", "{text}");
    assert_eq!(first["object"]["code"], 410);
    assert_eq!(first["object"]["reason"], "Expired");
    t.stop().await;
}
