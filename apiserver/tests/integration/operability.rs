//! Health endpoints, Prometheus metrics, Warning headers and `Cache-Control` on every answer.

use crate::harness::{TestServer, raw_request_text};

#[tokio::test]
async fn health_endpoints_and_metrics() {
    let t = TestServer::start().await;
    for path in ["/healthz", "/livez", "/readyz"] {
        let (status, body) = raw_request_text(t.addr, "GET", path, None, b"").await;
        assert_eq!((status, body.as_str()), (200, "ok"), "{path}");
    }
    t.kubectl_ok(&["create", "configmap", "m", "--from-literal=a=b"])
        .await;
    t.kubectl_ok(&["get", "configmaps"]).await;
    let addr = t.addr;
    let open_watch = tokio::spawn(async move {
        raw_request_text(
            addr,
            "GET",
            "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=3",
            None,
            b"",
        )
        .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (status, metrics) = raw_request_text(t.addr, "GET", "/metrics", None, b"").await;
    assert_eq!(status, 200);
    assert!(
        metrics
            .contains(r#"apiserver_request_total{verb="create",resource="configmaps",code="201"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"apiserver_request_duration_seconds_count{verb="list",resource="configmaps"}"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"apiserver_storage_duration_seconds_count{operation="create"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"apiserver_registered_watchers{resource="configmaps"} 1"#),
        "{metrics}"
    );
    open_watch.await.expect("watch ends at its timeout");
    t.stop().await;
}

#[tokio::test]
async fn unknown_fields_warn_by_default_and_answers_are_not_cacheable() {
    let t = TestServer::start().await;
    let manifest =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: w\ndata:\n  a: b\nextra: 1\n";
    let out = t
        .kubectl_stdin(&["apply", "--validate=warn", "-f", "-"], manifest)
        .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("unknown field") && stderr.contains("extra"),
        "{stderr}"
    );
    let mut stream = tokio::net::TcpStream::connect(t.addr)
        .await
        .expect("connect");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(
            format!(
                "GET /version HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                t.addr
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    let mut buf = String::new();
    stream.read_to_string(&mut buf).await.expect("read");
    assert!(
        buf.to_ascii_lowercase()
            .contains("cache-control: no-cache, private"),
        "{buf}"
    );
    assert!(buf.contains(r#""minor":"33""#), "{buf}");
    t.stop().await;
}
