//! The kubelet's HTTP server, reached through the API server's pods/log, pods/exec and
//! pods/portforward proxy: `/containerLogs/{ns}/{pod}/{container}`,
//! `/exec/{ns}/{pod}/{container}` (WebSocket, `v5.channel.k8s.io`/`v4.channel.k8s.io`),
//! `/portForward/{ns}/{pod}` (SPDY/3 over WebSocket or a raw upgrade, or the WebSocket
//! channel protocol; see `portforward`),
//! `/stats/summary` and `/healthz`.
//!
//! Plain HTTP without authentication: meant for loopback and trusted node networks.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio::sync::mpsc;

use crate::context::Context;
use crate::logs;
use crate::portforward::{self, PodNetwork};
use crate::runtime::{ExecRequest, Stdio, cgroups, netns};

fn status(code: StatusCode, reason: &str, message: String) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code.as_u16(),
    });
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn query_pairs(raw: Option<String>) -> Vec<(String, String)> {
    raw.map(|q| {
        q.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect()
    })
    .unwrap_or_default()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn flag(q: &[(String, String)], key: &str) -> bool {
    q.iter().any(|(k, v)| k == key && (v == "true" || v == "1"))
}

fn value<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub async fn start(ctx: Arc<Context>) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let addr = SocketAddr::new(ctx.config.node_ip, ctx.config.port);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    ctx.server_port
        .store(listener.local_addr()?.port(), Ordering::Relaxed);
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/containerLogs/{ns}/{pod}/{container}", get(container_logs))
        .route("/exec/{ns}/{pod}/{container}", get(exec).post(exec))
        .route(
            "/portForward/{ns}/{pod}",
            get(port_forward).post(port_forward),
        )
        .route("/stats/summary", get(stats))
        .with_state(ctx);
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "kubelet server stopped");
        }
    }))
}

async fn container_logs(
    State(ctx): State<Arc<Context>>,
    Path((ns, pod, container)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = query_pairs(raw);
    let Some(view) = ctx.view(&ns, &pod) else {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("pod {ns}/{pod} is not running on this node"),
        );
    };
    let Some(c) = view.containers.get(&container) else {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!(
                "container \"{container}\" in pod \"{pod}\" is waiting to start: ContainerCreating"
            ),
        );
    };
    let previous = flag(&q, "previous");
    let attempt = if previous {
        if c.attempts < 2 {
            return status(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("previous terminated container \"{container}\" in pod \"{pod}\" not found"),
            );
        }
        c.attempts - 2
    } else {
        if c.attempts == 0 {
            return status(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!(
                    "container \"{container}\" in pod \"{pod}\" is waiting to start: ContainerCreating"
                ),
            );
        }
        c.attempts - 1
    };
    let since = if let Some(t) = value(&q, "sinceTime") {
        match t.parse() {
            Ok(t) => Some(t),
            Err(_) => {
                return status(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    format!("invalid sinceTime {t:?}"),
                );
            }
        }
    } else if let Some(s) = value(&q, "sinceSeconds").and_then(|s| s.parse::<i64>().ok()) {
        k8s_openapi::jiff::Timestamp::now()
            .checked_sub(k8s_openapi::jiff::SignedDuration::from_secs(s))
            .ok()
    } else {
        None
    };
    let opts = logs::reader::LogOptions {
        // Following a previous run makes no sense: it has ended.
        follow: flag(&q, "follow") && !previous,
        tail_lines: value(&q, "tailLines").and_then(|v| v.parse().ok()),
        since,
        timestamps: flag(&q, "timestamps"),
        limit_bytes: value(&q, "limitBytes").and_then(|v| v.parse().ok()),
    };
    let path = logs::path(&c.log_dir, attempt);
    let stream = logs::reader::stream(path, opts);
    Response::builder()
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn stats(State(ctx): State<Arc<Context>>) -> Response {
    let pods: Vec<(String, String, crate::context::PodView)> = match ctx.pods.read() {
        Ok(m) => m
            .iter()
            .map(|((ns, n), v)| (ns.clone(), n.clone(), v.clone()))
            .collect(),
        Err(_) => Vec::new(),
    };
    let mut out = Vec::new();
    for (ns, name, view) in pods {
        let mut containers = Vec::new();
        for (cname, c) in &view.containers {
            let Some(_) = &c.running_id else { continue };
            let cg = format!(
                "{}/{cname}-{}",
                ctx.pod_cgroup(&view.uid),
                c.attempts.saturating_sub(1)
            );
            if let Some(s) = cgroups::stats(ctx.cgroups, &cg) {
                containers.push(json!({
                    "name": cname,
                    "cpu": {"usageCoreNanoSeconds": s.cpu_usage_nanos},
                    "memory": {"usageBytes": s.memory_usage_bytes, "workingSetBytes": s.memory_working_set_bytes},
                }));
            }
        }
        out.push(json!({"podRef": {"name": name, "namespace": ns, "uid": view.uid}, "containers": containers}));
    }
    axum::Json(json!({"node": {"nodeName": ctx.config.node_name}, "pods": out})).into_response()
}

/// Comma-separated tokens of every `name` header, trimmed.
fn header_tokens<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

/// `kubectl port-forward` and other clients, through the API server's pods/portforward
/// proxy. With SPDY the forwarded ports come from each stream's headers; with the WebSocket
/// channel protocol (kube-rs) from the `ports` query.
async fn port_forward(
    State(ctx): State<Arc<Context>>,
    Path((ns, pod)): Path<(String, String)>,
    mut req: Request,
) -> Response {
    let Some(view) = ctx.view(&ns, &pod) else {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("pod {ns}/{pod} is not running on this node"),
        );
    };
    let host_network = ctx
        .known
        .read()
        .ok()
        .and_then(|known| known.get(&view.uid).cloned())
        .and_then(|p| p.spec.as_ref().and_then(|s| s.host_network))
        .unwrap_or(false);
    let network = if host_network {
        PodNetwork::Host
    } else {
        let path = netns::path_for(&ctx.netns_dir(), &view.uid);
        if !netns::is_pinned(&path) {
            return status(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("pod {ns}/{pod} has no network namespace yet: its sandbox is not ready"),
            );
        }
        PodNetwork::Namespace(path)
    };
    let label = format!("{ns}/{pod}");
    let upgrade = header_tokens(req.headers(), header::UPGRADE.as_str())
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if upgrade == "websocket" {
        let ports: Vec<String> = query_pairs(req.uri().query().map(str::to_owned))
            .into_iter()
            .filter(|(k, _)| k == "ports")
            .map(|(_, v)| v)
            .collect();
        let (mut parts, _) = req.into_parts();
        let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
            Ok(ws) => ws,
            Err(rejection) => return rejection.into_response(),
        };
        // A plain error (no subprotocol in common, or bad ports) also makes kubectl fall
        // back to the raw SPDY upgrade.
        return portforward::accept_websocket(ws, &ports, network, label)
            .unwrap_or_else(|message| status(StatusCode::BAD_REQUEST, "BadRequest", message));
    }
    if !upgrade.eq_ignore_ascii_case(portforward::SPDY_UPGRADE) {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Upgrade request required".into(),
        );
    }
    if !header_tokens(req.headers(), "x-stream-protocol-version")
        .any(|p| p == portforward::STREAM_PROTOCOL)
    {
        return status(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(
                "unable to upgrade: unable to negotiate protocol: client supports {:?}, server supports [{}]",
                header_tokens(req.headers(), "x-stream-protocol-version").collect::<Vec<_>>(),
                portforward::STREAM_PROTOCOL
            ),
        );
    }
    // Taken before answering: hyper hands the connection over once the 101 is written.
    let upgraded = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match upgraded.await {
            Ok(io) => {
                portforward::serve_raw(hyper_util::rt::TokioIo::new(io), network, label).await
            }
            Err(e) => tracing::debug!(pod = %label, error = %e, "port-forward upgrade failed"),
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, portforward::SPDY_UPGRADE)
        .header("X-Stream-Protocol-Version", portforward::STREAM_PROTOCOL)
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

const PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

async fn exec(
    State(ctx): State<Arc<Context>>,
    Path((ns, pod, container)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let q = query_pairs(raw);
    let command: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.clone())
        .collect();
    if command.is_empty() {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "you must specify at least 1 command".into(),
        );
    }
    let Some(view) = ctx.view(&ns, &pod) else {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("pod {ns}/{pod} is not running on this node"),
        );
    };
    let Some(c) = view.containers.get(&container).cloned() else {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("container {container} is not valid for pod {pod}"),
        );
    };
    let Some(id) = c.running_id.clone() else {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("unable to upgrade connection: container not found (\"{container}\")"),
        );
    };
    let Ok(ws) = ws else {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "exec needs a WebSocket upgrade (v5.channel.k8s.io)".into(),
        );
    };
    let opts = ExecOpts {
        stdin: flag(&q, "stdin"),
        tty: flag(&q, "tty"),
        command,
    };
    ws.protocols(PROTOCOLS)
        .on_upgrade(move |socket| async move {
            let v5 = socket.protocol().and_then(|p| p.to_str().ok()) == Some(PROTOCOLS[0]);
            if let Err(e) = session(ctx, id, c, opts, socket, v5).await {
                tracing::debug!(error = %e, "exec session ended");
            }
        })
}

/// kubectl treats a close without a status code as an error.
fn normal_close() -> Message {
    Message::Close(Some(axum::extract::ws::CloseFrame {
        code: 1000,
        reason: "".into(),
    }))
}

struct ExecOpts {
    stdin: bool,
    tty: bool,
    command: Vec<String>,
}

fn reader_thread(fd: OwnedFd, channel: u8, tx: mpsc::UnboundedSender<(u8, Vec<u8>)>) {
    std::thread::spawn(move || {
        let mut f = std::fs::File::from(fd);
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match f.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send((channel, buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });
}

/// The client went away: the process must not outlive its session.
fn kill(pid: i32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
}

/// Stdin is written on a thread of its own: a process that does not read its input must not
/// block the async runtime. Dropping the sender closes stdin.
fn writer_thread(file: std::fs::File) -> std::sync::mpsc::Sender<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut file = file;
        while let Ok(data) = rx.recv() {
            if file.write_all(&data).is_err() {
                break;
            }
        }
    });
    tx
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from)
}

fn resize(master: &OwnedFd, payload: &[u8]) {
    #[derive(serde::Deserialize)]
    struct Size {
        #[serde(rename = "Width")]
        width: u16,
        #[serde(rename = "Height")]
        height: u16,
    }
    if let Ok(s) = serde_json::from_slice::<Size>(payload) {
        let ws = libc::winsize {
            ws_row: s.height,
            ws_col: s.width,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize struct we own.
        unsafe {
            libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws);
        }
    }
}

async fn session(
    ctx: Arc<Context>,
    id: String,
    c: crate::context::ContainerView,
    opts: ExecOpts,
    mut socket: WebSocket,
    v5: bool,
) -> std::io::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<(u8, Vec<u8>)>();
    let mut stdin_writer: Option<std::sync::mpsc::Sender<Vec<u8>>> = None;
    let mut master: Option<OwnedFd> = None;
    let stdio = if opts.tty {
        let pty = nix::pty::openpty(None, None).map_err(std::io::Error::from)?;
        let slave = pty.slave;
        let s2 = slave.try_clone()?;
        let s3 = slave.try_clone()?;
        let m_read = pty.master.try_clone()?;
        reader_thread(m_read, 1, tx.clone());
        stdin_writer = Some(writer_thread(std::fs::File::from(pty.master.try_clone()?)));
        master = Some(pty.master);
        Stdio {
            stdin: slave,
            stdout: s2,
            stderr: s3,
        }
    } else {
        let (in_r, in_w) = pipe()?;
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        reader_thread(out_r, 1, tx.clone());
        reader_thread(err_r, 2, tx.clone());
        if opts.stdin {
            stdin_writer = Some(writer_thread(std::fs::File::from(in_w)));
        }
        Stdio {
            stdin: in_r,
            stdout: out_w,
            stderr: err_w,
        }
    };
    drop(tx);
    let env: HashMap<String, String> = c
        .env
        .iter()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut env = env;
    if opts.tty {
        env.entry("TERM".into()).or_insert_with(|| "xterm".into());
    }
    let run = c.run.clone().unwrap_or_default();
    let req = ExecRequest {
        args: opts.command.clone(),
        env,
        cwd: (!run.cwd.is_empty()).then(|| run.cwd.clone().into()),
        uid: Some(run.uid),
        gid: Some(run.gid),
        additional_gids: run.additional_gids.clone(),
    };
    let process = match ctx.runtime.exec(&id, req, stdio).await {
        Ok(p) => p,
        Err(e) => {
            let msg = json!({"metadata": {}, "status": "Failure", "message": e.to_string(), "reason": "InternalError"});
            let mut frame = vec![3u8];
            frame.extend_from_slice(msg.to_string().as_bytes());
            let _ = socket.send(Message::Binary(frame.into())).await;
            let _ = socket.send(normal_close()).await;
            return Ok(());
        }
    };
    let pid = process.pid;
    let mut exited = Box::pin(process.wait());
    let mut exit_status = None;
    let mut outputs_open = true;
    loop {
        tokio::select! {
            out = rx.recv(), if outputs_open => match out {
                Some((ch, data)) => {
                    let mut frame = Vec::with_capacity(data.len() + 1);
                    frame.push(ch);
                    frame.extend_from_slice(&data);
                    if socket.send(Message::Binary(frame.into())).await.is_err() {
                        kill(pid);
                        break;
                    }
                }
                None => outputs_open = false,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Binary(b))) if !b.is_empty() => match b[0] {
                    0 => {
                        if let Some(w) = &stdin_writer {
                            let _ = w.send(b[1..].to_vec());
                        }
                    }
                    4 => {
                        if let Some(m) = &master {
                            resize(m, &b[1..]);
                        }
                    }
                    255 if v5 && b.get(1) == Some(&0) => {
                        stdin_writer = None;
                    }
                    _ => {}
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    kill(pid);
                    break;
                }
                _ => {}
            },
            s = &mut exited, if exit_status.is_none() => {
                exit_status = Some(s);
                // With a tty the pty master never reports EOF while we hold the slave's peer.
                if opts.tty {
                    outputs_open = false;
                    while let Ok((ch, data)) = rx.try_recv() {
                        let mut frame = vec![ch];
                        frame.extend_from_slice(&data);
                        let _ = socket.send(Message::Binary(frame.into())).await;
                    }
                }
            },
        }
        if exit_status.is_some() && !outputs_open {
            break;
        }
    }
    let code = match exit_status {
        Some(s) => s.code().unwrap_or(0),
        None => exited.await.code().unwrap_or(0),
    };
    let status = if code == 0 {
        json!({"metadata": {}, "status": "Success"})
    } else {
        json!({
            "metadata": {}, "status": "Failure",
            "message": format!("command terminated with non-zero exit code: exit status {code}"),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
        })
    };
    let mut frame = vec![3u8];
    frame.extend_from_slice(status.to_string().as_bytes());
    let _ = socket.send(Message::Binary(frame.into())).await;
    let _ = socket.send(normal_close()).await;
    Ok(())
}
