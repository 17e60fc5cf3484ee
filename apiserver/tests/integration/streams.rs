//! `pods/log`, `pods/exec` and `pods/attach` through the real kubectl. The API server proxies
//! them to the kubelet of the pod's node; here that kubelet is a small stand-in served by the
//! test on a loopback port, registered through a Node's InternalIP and kubeletEndpoint.Port.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::Notify;

use crate::harness::{TestServer, free_port};

/// What the stand-in kubelet saw and a latch that holds followed logs open.
#[derive(Clone, Default)]
struct Kubelet {
    /// `<path>?<query>` of every request, in arrival order.
    requests: Arc<Mutex<Vec<String>>>,
    /// A followed log sends its first line, then waits for this before the rest.
    release: Arc<Notify>,
    /// Signalled when an endless log finds its reader gone.
    reader_gone: Arc<Notify>,
}

impl Kubelet {
    fn record(&self, uri: &Uri) {
        if let Ok(mut r) = self.requests.lock() {
            r.push(uri.to_string());
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

async fn start_kubelet() -> (Kubelet, SocketAddr) {
    let kubelet = Kubelet::default();
    let router = Router::new()
        .route("/containerLogs/{ns}/{pod}/{container}", get(container_logs))
        .route("/exec/{ns}/{pod}/{container}", any(exec))
        .route("/attach/{ns}/{pod}/{container}", any(attach))
        .with_state(kubelet.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind stand-in kubelet");
    let addr = listener.local_addr().expect("kubelet addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (kubelet, addr)
}

fn status(code: u16, reason: &str, message: &str) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code});
    let mut resp = (
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body.to_string(),
    )
        .into_response();
    resp.headers_mut().insert(
        "content-type",
        "application/json".parse().expect("header value"),
    );
    resp
}

/// Echoes the request (so tests see which options arrived), then three lines; when
/// following, the first line goes out at once and the rest only after `release`.
async fn container_logs(
    State(k): State<Kubelet>,
    Path((_, pod, container)): Path<(String, String, String)>,
    uri: Uri,
) -> Response {
    k.record(&uri);
    if container == "waiting" {
        return status(
            400,
            "BadRequest",
            &format!(
                "container \"waiting\" in pod \"{pod}\" is waiting to start: ContainerCreating"
            ),
        );
    }
    if container == "endless" {
        return endless_log(k.reader_gone.clone());
    }
    let follow = uri.query().unwrap_or("").contains("follow=true");
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Bytes, std::io::Error>>();
    let release = k.release.clone();
    let first = if follow {
        "line 1\n".to_string()
    } else {
        format!("{container}: {uri}\nline 1\n")
    };
    tokio::spawn(async move {
        let _ = tx.unbounded_send(Ok(Bytes::from(first)));
        if follow {
            let _ = tokio::time::timeout(Duration::from_secs(20), release.notified()).await;
        }
        for line in ["line 2\n", "line 3\n"] {
            let _ = tx.unbounded_send(Ok(Bytes::from_static(line.as_bytes())));
        }
    });
    let mut resp = Body::from_stream(rx).into_response();
    resp.headers_mut()
        .insert("content-type", "text/plain".parse().expect("header value"));
    resp
}

/// A line every 50ms for as long as somebody reads them.
fn endless_log(reader_gone: Arc<Notify>) -> Response {
    let (tx, rx) = futures::channel::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    tokio::spawn(async move {
        let mut tx = tx;
        for n in 0.. {
            let line = Bytes::from(format!("tick {n}\n"));
            if futures::SinkExt::send(&mut tx, Ok(line)).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        reader_gone.notify_one();
    });
    Body::from_stream(rx).into_response()
}

fn frame(channel: u8, data: &[u8]) -> Message {
    let mut out = Vec::with_capacity(data.len() + 1);
    out.push(channel);
    out.extend_from_slice(data);
    Message::Binary(Bytes::from(out))
}

async fn finish(socket: &mut WebSocket, exit_code: i32) {
    let status = if exit_code == 0 {
        json!({"metadata": {}, "status": "Success"})
    } else {
        json!({"metadata": {}, "status": "Failure",
            "message": format!("command terminated with non-zero exit code: exit status {exit_code}"),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": exit_code.to_string()}]}})
    };
    let _ = socket.send(frame(3, status.to_string().as_bytes())).await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: 1000,
            reason: Utf8Bytes::from_static(""),
        })))
        .await;
}

/// Copies stdin (channel 0) to stdout (channel 1) until stdin is closed (v5's `\xff\x00`)
/// or the client goes away.
async fn echo_stdin(socket: &mut WebSocket) {
    while let Some(Ok(msg)) = socket.recv().await {
        match msg {
            Message::Binary(data) if data.first() == Some(&0) => {
                let _ = socket.send(frame(1, &data[1..])).await;
            }
            Message::Binary(data) if data.as_ref() == [255, 0] => break,
            Message::Close(_) => break,
            _ => {}
        }
    }
}

/// The commands the stand-in runs: `fail` (exit 3), `cat` (echo stdin), `echo ARGS`.
async fn exec(
    State(k): State<Kubelet>,
    uri: Uri,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    k.record(&uri);
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => return status(400, "BadRequest", &format!("not a WebSocket request: {e}")),
    };
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default();
    let command: Vec<String> = pairs
        .into_iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v)
        .collect();
    ws.protocols(["v5.channel.k8s.io", "v4.channel.k8s.io"])
        .on_upgrade(move |mut socket| async move {
            match command.first().map(String::as_str) {
                Some("fail") => finish(&mut socket, 3).await,
                Some("cat") => {
                    echo_stdin(&mut socket).await;
                    finish(&mut socket, 0).await;
                }
                Some("echo") => {
                    let text = format!("{}\n", command[1..].join(" "));
                    let _ = socket.send(frame(1, text.as_bytes())).await;
                    finish(&mut socket, 0).await;
                }
                _ => {
                    let _ = socket.send(frame(2, b"command not found\n")).await;
                    finish(&mut socket, 127).await;
                }
            }
        })
}

/// Attaching to the stand-in's "process" echoes what is typed.
async fn attach(
    State(k): State<Kubelet>,
    uri: Uri,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    k.record(&uri);
    match ws {
        Ok(ws) => ws
            .protocols(["v5.channel.k8s.io", "v4.channel.k8s.io"])
            .on_upgrade(|mut socket| async move {
                echo_stdin(&mut socket).await;
                finish(&mut socket, 0).await;
            }),
        Err(e) => status(400, "BadRequest", &format!("not a WebSocket request: {e}")),
    }
}

/// A server with node-1 (the stand-in kubelet), node-2 (nothing listening) and pods:
/// `web` (one container, on node-1), `multi` (a, b, waiting + init, on node-1),
/// `chatty` (an endless log, on node-1), `pending` (unbound) and `ghost` (on node-2).
async fn cluster() -> (TestServer, Kubelet, u16) {
    let t = TestServer::start().await;
    let (kubelet, addr) = start_kubelet().await;
    let dead_port = free_port();
    for (node, port) in [("node-1", addr.port()), ("node-2", dead_port)] {
        let body = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node},
            "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                                     {"type": "Hostname", "address": node}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}});
        let (code, v) = t
            .raw(
                "POST",
                "/api/v1/nodes",
                Some("application/json"),
                body.to_string().as_bytes(),
            )
            .await;
        assert_eq!(code, 201, "node {node}: {v}");
    }
    let container = |name: &str| json!({"name": name, "image": "busybox"});
    let pods = [
        ("web", json!([container("main")]), json!([]), Some("node-1")),
        (
            "multi",
            json!([container("a"), container("b"), container("waiting")]),
            json!([container("init")]),
            Some("node-1"),
        ),
        (
            "chatty",
            json!([container("endless")]),
            json!([]),
            Some("node-1"),
        ),
        ("pending", json!([container("main")]), json!([]), None),
        (
            "ghost",
            json!([container("main")]),
            json!([]),
            Some("node-2"),
        ),
    ];
    for (name, containers, init, node) in pods {
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": containers}});
        if init.as_array().is_some_and(|a| !a.is_empty()) {
            pod["spec"]["initContainers"] = init;
        }
        if let Some(n) = node {
            pod["spec"]["nodeName"] = json!(n);
        }
        let (code, v) = t
            .raw(
                "POST",
                "/api/v1/namespaces/default/pods",
                Some("application/json"),
                pod.to_string().as_bytes(),
            )
            .await;
        assert_eq!(code, 201, "pod {name}: {v}");
    }
    (t, kubelet, dead_port)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

#[tokio::test]
async fn kubectl_logs_reads_the_container_log_from_the_kubelet() {
    let (t, kubelet, dead_port) = cluster().await;

    let out = t.kubectl_ok(&["logs", "web"]).await;
    assert_eq!(
        out,
        "main: /containerLogs/default/web/main\nline 1\nline 2\nline 3\n"
    );

    let out = t
        .kubectl_ok(&[
            "logs",
            "web",
            "-c",
            "main",
            "--tail=2",
            "--timestamps",
            "--since=10s",
            "--limit-bytes=100",
            "--previous",
        ])
        .await;
    let first = out.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        "main: /containerLogs/default/web/main?limitBytes=100&previous=true&sinceSeconds=10&tailLines=2&timestamps=true"
    );
    let out = t
        .kubectl_ok(&["logs", "web", "--since-time=2024-05-06T07:08:09Z"])
        .await;
    assert!(
        out.starts_with(
            "main: /containerLogs/default/web/main?sinceTime=2024-05-06T07%3A08%3A09Z\n"
        ),
        "{out}"
    );

    // kubectl picks the first container of a multi-container pod itself and says so.
    let out = t.kubectl(&["logs", "multi"]).await;
    assert!(out.status.success());
    assert!(text(&out.stdout).starts_with("a: /containerLogs/default/multi/a\n"));
    assert!(
        text(&out.stderr).contains("Defaulted container \"a\" out of: a, b, waiting, init (init)")
    );
    let out = t.kubectl_ok(&["logs", "multi", "-c", "init"]).await;
    assert!(out.starts_with("init: "), "{out}");

    // A kubelet's own Status comes through with its code and reason.
    let out = t.kubectl(&["logs", "multi", "-c", "waiting"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim(),
        "Error from server (BadRequest): container \"waiting\" in pod \"multi\" is waiting to start: ContainerCreating"
    );

    // kubectl checks -c against the pod before asking; the server checks again.
    let out = t.kubectl(&["logs", "web", "-c", "nope"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("container nope is not valid for pod web"));

    // A node nobody listens on: Kubernetes' 500 with the failed request in the message.
    let out = t.kubectl(&["logs", "ghost"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "Error from server: Get \"http://127.0.0.1:{dead_port}/containerLogs/default/ghost/main\": dial tcp 127.0.0.1:{dead_port}: connect: connection refused"
        )),
        "{stderr}"
    );

    // Only the expected requests reached the kubelet: nothing for rejected ones.
    let seen = kubelet.requests();
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert!(seen.iter().all(|r| !r.contains("/nope")));
    t.stop().await;
}

#[tokio::test]
async fn log_requests_are_checked_like_kubernetes() {
    let (t, kubelet, _) = cluster().await;
    let log = |pod: &str, query: &str| format!("/api/v1/namespaces/default/pods/{pod}/log{query}");

    let (code, s) = t.raw("GET", &log("multi", ""), None, b"").await;
    assert_eq!(code, 400);
    assert_eq!(s["reason"], "BadRequest");
    assert_eq!(
        s["message"],
        "a container name must be specified for pod multi, choose one of: [a b waiting] or one of the init containers: [init]"
    );
    let (code, s) = t.raw("GET", &log("web", "?container=x"), None, b"").await;
    assert_eq!(
        (code, s["message"].as_str()),
        (400, Some("container x is not valid for pod web"))
    );
    let (code, s) = t.raw("GET", &log("pending", ""), None, b"").await;
    assert_eq!(
        (code, s["message"].as_str()),
        (400, Some("pod pending does not have a host assigned"))
    );
    let (code, s) = t.raw("GET", &log("absent", ""), None, b"").await;
    assert_eq!(
        (code, s["message"].as_str()),
        (404, Some("pods \"absent\" not found"))
    );
    let (code, s) = t.raw("GET", &log("web", "?tailLines=-1"), None, b"").await;
    assert_eq!(code, 422);
    assert_eq!(s["reason"], "Invalid");
    assert_eq!(
        s["message"],
        "PodLogOptions \"web\" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0"
    );
    let (code, _) = t
        .raw("GET", &log("web", "?limitBytes=abc"), None, b"")
        .await;
    assert_eq!(code, 400);
    let (code, s) = t.raw("DELETE", &log("web", ""), None, b"").await;
    assert_eq!(
        (code, s["reason"].as_str()),
        (405, Some("MethodNotAllowed"))
    );
    let (code, s) = t.raw("GET", &log("ghost", ""), None, b"").await;
    assert_eq!(code, 500);
    assert!(s.get("reason").is_none(), "{s}");
    assert!(kubelet.requests().is_empty());

    // Discovery lists the stream subresources with kube-apiserver's kinds and verbs.
    let (_, list) = t.raw("GET", "/api/v1", None, b"").await;
    let find = |name: &str| {
        list["resources"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["name"] == name).cloned())
            .unwrap_or(Value::Null)
    };
    assert_eq!(find("pods/log")["verbs"], json!(["get"]));
    assert_eq!(find("pods/exec")["kind"], "PodExecOptions");
    assert_eq!(find("pods/exec")["verbs"], json!(["create", "get"]));
    assert_eq!(find("pods/attach")["kind"], "PodAttachOptions");
    t.stop().await;
}

/// `kubectl logs -f POD` running in the background, its stdout piped.
fn follow(t: &TestServer, pod: &str) -> tokio::process::Child {
    let dir = t.dir.path();
    tokio::process::Command::new("kubectl")
        .args(["logs", "-f", pod])
        .env("KUBECONFIG", dir.join("kubeconfig"))
        .env("HOME", dir.join("home"))
        .env("KUBECACHEDIR", dir.join("home/cache"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("kubectl runs")
}

async fn next_line(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
) -> Option<String> {
    tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("a line within 30s")
        .expect("read stdout")
}

#[tokio::test]
async fn kubectl_logs_follow_prints_lines_as_they_arrive() {
    let (t, kubelet, _) = cluster().await;
    let mut child = follow(&t, "web");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    // The kubelet holds the rest back until released: this line can only have come through
    // while the stream was still open.
    assert_eq!(next_line(&mut lines).await.as_deref(), Some("line 1"));
    assert_eq!(
        kubelet.requests(),
        ["/containerLogs/default/web/main?follow=true"]
    );
    kubelet.release.notify_one();
    assert_eq!(next_line(&mut lines).await.as_deref(), Some("line 2"));
    assert_eq!(next_line(&mut lines).await.as_deref(), Some("line 3"));
    assert_eq!(next_line(&mut lines).await, None);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("kubectl exits")
        .expect("status");
    assert!(status.success());
    t.stop().await;
}

#[tokio::test]
async fn a_reader_that_goes_away_ends_the_kubelet_stream() {
    let (t, kubelet, _) = cluster().await;
    let mut child = follow(&t, "chatty");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    assert_eq!(next_line(&mut lines).await.as_deref(), Some("tick 0"));
    assert_eq!(next_line(&mut lines).await.as_deref(), Some("tick 1"));
    child.start_kill().expect("kill kubectl");
    let _ = child.wait().await;
    tokio::time::timeout(Duration::from_secs(10), kubelet.reader_gone.notified())
        .await
        .expect("the kubelet saw its reader go within 10s");

    // An endless followed log does not hold up a graceful shutdown either.
    let mut child = follow(&t, "chatty");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    assert_eq!(next_line(&mut lines).await.as_deref(), Some("tick 0"));
    tokio::time::timeout(Duration::from_secs(10), t.stop())
        .await
        .expect("shutdown within 10s");
    let _ = child.wait().await;
}

#[tokio::test]
async fn kubectl_exec_and_attach_run_through_the_kubelet() {
    let (t, kubelet, dead_port) = cluster().await;

    let out = t.kubectl(&["exec", "web", "--", "fail"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("command terminated with exit code 3"));

    let out = t
        .kubectl_stdin(&["exec", "-i", "web", "--", "cat"], "hi\n")
        .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hi\n");

    let out = t
        .kubectl_ok(&["exec", "multi", "-c", "b", "--", "echo", "a&b", "c d"])
        .await;
    assert_eq!(out, "a&b c d\n");

    let seen = kubelet.requests();
    assert_eq!(
        seen,
        [
            "/exec/default/web/main?command=fail&stdout=true&stderr=true",
            "/exec/default/web/main?command=cat&stdin=true&stdout=true&stderr=true",
            "/exec/default/multi/b?command=echo&command=a%26b&command=c+d&stdout=true&stderr=true",
        ]
    );

    // An unknown container: refused before any upgrade, so kubectl prints the Status.
    let out = t.kubectl(&["exec", "web", "-c", "nope", "--", "ls"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("container nope is not valid for pod web"),
        "{}",
        text(&out.stderr)
    );
    let out = t.kubectl(&["exec", "ghost", "--", "ls"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&format!(
            "error dialing backend: dial tcp 127.0.0.1:{dead_port}: connect: connection refused"
        )),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(kubelet.requests().len(), 3);

    // attach needs a running pod on kubectl's side.
    t.kubectl_ok(&[
        "patch",
        "pod",
        "web",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Running"}}"#,
    ])
    .await;
    let out = t.kubectl_stdin(&["attach", "-i", "web"], "typed\n").await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "typed\n");
    assert_eq!(
        kubelet.requests().last().map(String::as_str),
        Some("/attach/default/web/main?stdin=true&stdout=true&stderr=true")
    );
    t.stop().await;
}

/// One upgrade request on a raw socket; returns the status code and the body.
async fn raw_upgrade(addr: SocketAddr, path: &str, upgrade: bool) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n");
    if upgrade {
        head.push_str(
            "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n",
        );
    } else {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    let read = async {
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some((headers, body)) = text.split_once("\r\n\r\n") {
                let length = headers
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().to_string())
                    })
                    .and_then(|v| v.parse::<usize>().ok());
                if length.is_none_or(|len| body.len() >= len) {
                    break;
                }
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
    let text = String::from_utf8_lossy(&buf).to_string();
    let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = headers
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (code, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn exec_errors_are_answered_before_any_upgrade() {
    let (t, kubelet, _) = cluster().await;
    let exec =
        |pod: &str, query: &str| format!("/api/v1/namespaces/default/pods/{pod}/exec?{query}");

    let (code, s) = raw_upgrade(
        t.addr,
        &exec("web", "command=ls&container=nope&stdout=true"),
        true,
    )
    .await;
    assert_eq!(code, 400, "{s}");
    assert_eq!(s["kind"], "Status");
    assert_eq!(s["reason"], "BadRequest");
    assert_eq!(s["message"], "container nope is not valid for pod web");

    let (code, s) = raw_upgrade(t.addr, &exec("multi", "command=ls&stdout=true"), true).await;
    assert_eq!(code, 400);
    assert!(
        s["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("a container name must be specified for pod multi"))
    );
    let (code, s) = raw_upgrade(t.addr, &exec("web", "stdout=true"), true).await;
    assert_eq!(
        (code, s["message"].as_str()),
        (
            400,
            Some("you must specify at least one command for the container")
        )
    );
    let (code, s) = raw_upgrade(t.addr, &exec("web", "command=ls"), true).await;
    assert_eq!(
        (code, s["message"].as_str()),
        (
            400,
            Some("you must specify at least 1 of stdin, stdout, stderr")
        )
    );
    let (code, s) = raw_upgrade(t.addr, &exec("pending", "command=ls&stdout=true"), true).await;
    assert_eq!(
        (code, s["message"].as_str()),
        (400, Some("pod pending does not have a host assigned"))
    );
    let (code, s) = raw_upgrade(t.addr, &exec("absent", "command=ls&stdout=true"), true).await;
    assert_eq!(code, 404, "{s}");
    let (code, s) = raw_upgrade(t.addr, &exec("web", "command=ls&stdout=true"), false).await;
    assert_eq!(
        (code, s["message"].as_str()),
        (400, Some("Upgrade request required"))
    );
    let (code, _) = raw_upgrade(
        t.addr,
        "/api/v1/namespaces/default/pods/web/attach?container=nope&stdout=true",
        true,
    )
    .await;
    assert_eq!(code, 400);
    assert!(kubelet.requests().is_empty(), "{:?}", kubelet.requests());
    t.stop().await;
}
