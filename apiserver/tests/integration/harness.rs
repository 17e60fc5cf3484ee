//! Test support: an API server on a random loopback port with a temp data dir, kubectl bound
//! to it through its own kubeconfig and cache directory, a kube-rs client, and a raw HTTP/1.1
//! client for requests no well-behaved client would send.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use capstan_apiserver::{Config, RunningServer};
use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub struct TestServer {
    pub server: Option<RunningServer>,
    pub dir: TempDir,
    pub url: String,
    pub addr: std::net::SocketAddr,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config {
            data_dir: dir.path().join("store"),
            port: 0,
            ..Config::default()
        };
        tweak(&mut config);
        let server = capstan_apiserver::start(config)
            .await
            .expect("server starts");
        let url = server.url();
        let addr = server.addr;
        write_kubeconfig(dir.path(), &url);
        TestServer {
            server: Some(server),
            dir,
            url,
            addr,
        }
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await.expect("clean shutdown");
        }
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    pub async fn kubectl(&self, args: &[&str]) -> Output {
        kubectl_at(self.dir.path(), "kubectl", args, None).await
    }

    pub async fn kubectl_stdin(&self, args: &[&str], stdin: &str) -> Output {
        kubectl_at(self.dir.path(), "kubectl", args, Some(stdin)).await
    }

    /// Runs kubectl and fails the test unless it exits 0; returns stdout.
    pub async fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args).await;
        assert_ok(args, &out)
    }

    pub async fn client(&self) -> kube::Client {
        let config = kube::Config::new(self.url.parse().expect("url"));
        kube::Client::try_from(config).expect("kube client")
    }

    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> (u16, Value) {
        raw_request(self.addr, method, path, content_type, body).await
    }
}

pub fn assert_ok(args: &[&str], out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "kubectl {args:?} failed: {}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

pub fn write_kubeconfig(dir: &Path, url: &str) {
    let k = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: {url}\nusers:\n- name: t\n  user: {{}}\ncontexts:\n- name: t\n  context:\n    cluster: t\n    user: t\n    namespace: default\ncurrent-context: t\n"
    );
    std::fs::write(dir.join("kubeconfig"), k).expect("write kubeconfig");
    std::fs::create_dir_all(dir.join("home")).expect("home");
}

/// Runs a kubectl binary with this server's kubeconfig and a private HOME (discovery cache).
pub async fn kubectl_at(dir: &Path, binary: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = tokio::process::Command::new(binary);
    cmd.args(args)
        .env("KUBECONFIG", dir.join("kubeconfig"))
        .env("HOME", dir.join("home"))
        .env("KUBECACHEDIR", dir.join("home/cache"))
        .stdin(if stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("kubectl runs");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).await.expect("stdin");
        drop(pipe);
    }
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("kubectl finished within 60s")
        .expect("kubectl output")
}

/// One HTTP/1.1 request with `Connection: close`; returns the status and the JSON body
/// (Value::Null when the body is not JSON).
pub async fn raw_request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, Value) {
    let (status, text) = raw_request_text(addr, method, path, content_type, body).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub async fn raw_request_text(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, String) {
    try_raw_request_text(addr, method, path, content_type, body)
        .await
        .expect("the server answered with a status line")
}

/// Like `raw_request_text`, but None when the connection fails or closes before a status
/// line arrives — what a test that kills the server mid-request must expect.
pub async fn try_raw_request_text(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.ok()?;
    // A server may answer (413) before reading a large body; ignore write errors then.
    let _ = stream.write_all(body).await;
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf).to_string();
    let (headers, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = headers.split_whitespace().nth(1)?.parse().ok()?;
    let body = if headers
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Some((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Free loopback port (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Whether tests that need an optional tool must run (CI) rather than skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}
