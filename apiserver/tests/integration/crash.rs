//! kill -9 of the API server in the middle of a write burst: after a restart on the same store,
//! every acknowledged write is there and the store is consistent (list works, writes continue).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use capstan_store::testing::EtcdServer;

use crate::harness::{free_port, raw_request, try_raw_request_text};

const BIN: &str = env!("CARGO_BIN_EXE_capstan-apiserver");
const CM_PATH: &str = "/api/v1/namespaces/default/configmaps";

struct Proc(std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn spawn_server(args: &[String]) -> (Proc, SocketAddr) {
    let port = free_port();
    let child = std::process::Command::new(BIN)
        .args(args)
        .args(["--port", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("apiserver starts");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        // A server still starting may accept and close a connection without an answer.
        if let Some((200, _)) = try_raw_request_text(addr, "GET", "/readyz", None, b"").await {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "apiserver did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (Proc(child), addr)
}

async fn burst_then_kill(args: Vec<String>) {
    let (mut proc_, addr) = spawn_server(&args).await;
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let mut writers = Vec::new();
    for w in 0..16 {
        let acked = acked.clone();
        writers.push(tokio::spawn(async move {
            // Bounded: at most 2,000 writes per writer, and the server dies long before.
            for i in 0..2000 {
                let name = format!("w{w}-{i}");
                let body = format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}"}},"data":{{"i":"{i}"}}}}"#);
                let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr)).await else {
                    return;
                };
                drop(stream);
                let res = tokio::time::timeout(
                    Duration::from_secs(5),
                    raw_request_checked(addr, &body),
                )
                .await;
                match res {
                    Ok(Some(201)) => {
                        acked.lock().expect("lock").insert(name);
                    }
                    Ok(Some(_)) => {}
                    _ => return,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // SIGKILL: no chance to flush anything.
    proc_.0.kill().expect("kill -9");
    let _ = proc_.0.wait();
    for w in writers {
        let _ = w.await;
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() > 20,
        "the burst acknowledged writes before the kill ({})",
        acked.len()
    );

    let (_proc2, addr2) = spawn_server(&args).await;
    let (status, list) = raw_request(addr2, "GET", CM_PATH, None, b"").await;
    assert_eq!(status, 200);
    let present: BTreeSet<String> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    let missing: Vec<&String> = acked.difference(&present).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged writes lost, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    // The store keeps working after recovery.
    let (status, _) = raw_request(
        addr2,
        "POST",
        CM_PATH,
        Some("application/json"),
        br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"after-restart"}}"#,
    )
    .await;
    assert_eq!(status, 201);
}

/// Sends one create and returns its status, or None when the connection broke.
async fn raw_request_checked(addr: SocketAddr, body: &str) -> Option<u16> {
    try_raw_request_text(
        addr,
        "POST",
        CM_PATH,
        Some("application/json"),
        body.as_bytes(),
    )
    .await
    .map(|(status, _)| status)
}

#[tokio::test]
async fn kill_9_mid_burst_loses_no_acknowledged_write_sqlite() {
    let dir = tempfile::tempdir().expect("dir");
    burst_then_kill(vec!["--data-dir".into(), dir.path().display().to_string()]).await;
}

#[tokio::test]
async fn kill_9_mid_burst_loses_no_acknowledged_write_etcd() {
    let Some(etcd) = EtcdServer::start_or_skip().await.expect("etcd starts") else {
        return;
    };
    burst_then_kill(vec!["--etcd-servers".into(), etcd.endpoint().to_string()]).await;
}
