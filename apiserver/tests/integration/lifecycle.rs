//! Deletion lifecycles: graceful pod deletion, finalizers, namespace termination; and Service
//! allocations on update. These are the places where a write must *not* happen too early.

use serde_json::{Value, json};

use crate::harness::TestServer;

async fn post(t: &TestServer, path: &str, body: Value) -> (u16, Value) {
    t.raw(
        "POST",
        path,
        Some("application/json"),
        body.to_string().as_bytes(),
    )
    .await
}

async fn patch(t: &TestServer, path: &str, body: Value) -> (u16, Value) {
    t.raw(
        "PATCH",
        path,
        Some("application/merge-patch+json"),
        body.to_string().as_bytes(),
    )
    .await
}

#[tokio::test]
async fn a_terminating_bound_pod_survives_updates_until_its_grace_period_is_over() {
    let t = TestServer::start().await;
    let pods = "/api/v1/namespaces/default/pods";
    let (code, _) = post(
        &t,
        pods,
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}}),
    )
    .await;
    assert_eq!(code, 201);
    let (code, _) = post(
        &t,
        &format!("{pods}/p/binding"),
        json!({"apiVersion": "v1", "kind": "Binding",
        "metadata": {"name": "p"}, "target": {"kind": "Node", "name": "node-1"}}),
    )
    .await;
    assert_eq!(code, 201);
    let (code, pod) = t.raw("DELETE", &format!("{pods}/p"), None, b"").await;
    assert_eq!(code, 200);
    assert!(pod["metadata"]["deletionTimestamp"].is_string(), "{pod}");
    assert_eq!(pod["metadata"]["deletionGracePeriodSeconds"], 30);
    // The kubelet's status updates while the containers stop must not remove the pod.
    let (code, _) = t
        .raw(
            "PATCH",
            &format!("{pods}/p/status"),
            Some("application/merge-patch+json"),
            br#"{"status":{"phase":"Running"}}"#,
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = t.raw("GET", &format!("{pods}/p"), None, b"").await;
    assert_eq!(code, 200, "pod must still exist during its grace period");
    // The kubelet's final delete with grace 0 removes it.
    let (code, _) = t
        .raw(
            "DELETE",
            &format!("{pods}/p"),
            Some("application/json"),
            br#"{"gracePeriodSeconds":0}"#,
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = t.raw("GET", &format!("{pods}/p"), None, b"").await;
    assert_eq!(code, 404);
    t.stop().await;
}

#[tokio::test]
async fn finalizers_hold_objects_and_namespaces_until_removed() {
    let t = TestServer::start().await;
    t.kubectl_ok(&["create", "namespace", "held"]).await;
    let cms = "/api/v1/namespaces/held/configmaps";
    let (code, _) = post(
        &t,
        cms,
        json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "finalizers": ["example.com/hold"]}}),
    )
    .await;
    assert_eq!(code, 201);
    t.kubectl_ok(&["delete", "namespace", "held", "--wait=false"])
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (code, ns) = t.raw("GET", "/api/v1/namespaces/held", None, b"").await;
    assert_eq!(
        (code, ns["status"]["phase"].as_str()),
        (200, Some("Terminating")),
        "{ns}"
    );
    // Updating a terminating namespace must not complete its deletion early.
    t.kubectl_ok(&["label", "namespace", "held", "touched=yes"])
        .await;
    let (code, _) = t.raw("GET", "/api/v1/namespaces/held", None, b"").await;
    assert_eq!(code, 200);
    let (code, cm) = t.raw("GET", &format!("{cms}/c"), None, b"").await;
    assert_eq!(code, 200);
    assert!(cm["metadata"]["deletionTimestamp"].is_string(), "{cm}");
    // No new finalizers once deleting; removing the last one completes the delete.
    let (code, _) = patch(
        &t,
        &format!("{cms}/c"),
        json!({"metadata": {"finalizers": ["example.com/hold", "x.io/new"]}}),
    )
    .await;
    assert_eq!(code, 403);
    let (code, _) = patch(
        &t,
        &format!("{cms}/c"),
        json!({"metadata": {"finalizers": null}}),
    )
    .await;
    assert_eq!(code, 200);
    t.kubectl_ok(&["wait", "--for=delete", "namespace/held", "--timeout=30s"])
        .await;
    let (code, _) = t.raw("DELETE", "/api/v1/namespaces", None, b"").await;
    assert_eq!(code, 405, "namespaces have no deletecollection");
    let (code, _) = t
        .raw("DELETE", "/api/v1/namespaces/default", None, b"")
        .await;
    assert_eq!(code, 403);
    t.stop().await;
}

#[tokio::test]
async fn service_updates_allocate_and_check_node_ports() {
    let t = TestServer::start().await;
    let svcs = "/api/v1/namespaces/default/services";
    for name in ["a", "b"] {
        let (code, _) = post(
            &t,
            svcs,
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"ports": [{"port": 80}]}}),
        )
        .await;
        assert_eq!(code, 201);
    }
    let (code, a) = patch(
        &t,
        &format!("{svcs}/a"),
        json!({"spec": {"type": "NodePort"}}),
    )
    .await;
    assert_eq!(code, 200, "{a}");
    let node_port = a["spec"]["ports"][0]["nodePort"]
        .as_i64()
        .expect("nodePort allocated on update");
    assert!((30000..=32767).contains(&node_port));
    let (code, b) = patch(
        &t,
        &format!("{svcs}/b"),
        json!({"spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": node_port}]}}),
    )
    .await;
    assert_eq!(code, 422, "a node port cannot be shared: {b}");
    t.stop().await;
}

#[tokio::test]
async fn odd_requests_get_clean_errors() {
    let t = TestServer::start().await;
    let (code, body) = t
        .raw(
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            Some("application/json"),
            b"[]",
        )
        .await;
    assert_eq!((code, body["reason"].as_str()), (400, Some("BadRequest")));
    let (code, body) = t
        .raw("GET", "/api/v1/namespaces/default/configmaps?resourceVersion=99999999&resourceVersionMatch=Exact", None, b"")
        .await;
    assert_eq!(
        (code, body["reason"].as_str()),
        (504, Some("Timeout")),
        "{body}"
    );
    // A huge timeoutSeconds is clamped, not an overflow: the watch stays open.
    let watch = crate::harness::raw_request_text(
        t.addr,
        "GET",
        "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=9223372036854775807&resourceVersion=0",
        None,
        b"",
    );
    assert!(
        tokio::time::timeout(std::time::Duration::from_secs(1), watch)
            .await
            .is_err()
    );
    t.stop().await;
}

/// Writes to `status` keep the user metadata they change, as Kubernetes' status strategies do,
/// except what the kind resets (a Pod's ownerReferences, a Deployment's labels); spec never
/// changes there, and bad metadata is refused.
#[tokio::test]
async fn status_writes_keep_the_metadata_kubernetes_keeps() {
    let t = TestServer::start().await;
    let pods = "/api/v1/namespaces/default/pods";
    let (code, _) = post(
        &t,
        pods,
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "1"}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}}),
    )
    .await;
    assert_eq!(code, 201);
    let (code, pod) = patch(
        &t,
        &format!("{pods}/p/status"),
        json!({"metadata": {"labels": {"a": "2"}, "annotations": {"note": "x"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o",
                "uid": "u-1"}]},
            "spec": {"activeDeadlineSeconds": 5},
            "status": {"phase": "Running"}}),
    )
    .await;
    assert_eq!(code, 200, "{pod}");
    assert_eq!(pod["metadata"]["labels"], json!({"a": "2"}));
    assert_eq!(pod["metadata"]["annotations"], json!({"note": "x"}));
    assert!(pod["metadata"]["ownerReferences"].is_null(), "{pod}");
    assert!(pod["spec"]["activeDeadlineSeconds"].is_null(), "{pod}");
    assert_eq!(pod["status"]["phase"], "Running");
    let (_, stored) = t.raw("GET", &format!("{pods}/p"), None, b"").await;
    assert_eq!(stored["metadata"]["labels"], json!({"a": "2"}));
    let (code, status) = patch(
        &t,
        &format!("{pods}/p/status"),
        json!({"metadata": {"labels": {"bad key!": "v"}}}),
    )
    .await;
    assert_eq!(code, 422, "{status}");
    let (code, status) = patch(
        &t,
        &format!("{pods}/p/status"),
        json!({"metadata": {"annotations": {"n": 5}}}),
    )
    .await;
    assert_eq!(code, 400, "{status}");
    assert_eq!(status["kind"], "Status");

    let deployments = "/apis/apps/v1/namespaces/default/deployments";
    let (code, _) = post(
        &t,
        deployments,
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d", "labels": {"a": "1"}},
        "spec": {"selector": {"matchLabels": {"app": "d"}},
            "template": {"metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}),
    )
    .await;
    assert_eq!(code, 201);
    let (code, d) = patch(
        &t,
        &format!("{deployments}/d/status"),
        json!({"metadata": {"labels": {"a": "2"}, "annotations": {"note": "y"}},
            "status": {"replicas": 0}}),
    )
    .await;
    assert_eq!(code, 200, "{d}");
    assert_eq!(d["metadata"]["labels"], json!({"a": "1"}));
    assert_eq!(d["metadata"]["annotations"], json!({"note": "y"}));
    t.stop().await;
}
