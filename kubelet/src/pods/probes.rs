//! Liveness, readiness and startup probes: exec inside the container, tcpSocket and httpGet
//! from inside the pod's network namespace (so they work before pod networking exists, and
//! for any pod address), with Kubernetes' timing (initialDelay, period, timeout, success and
//! failure thresholds).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::exec;
use crate::runtime::{Runtime, netns};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Startup,
    Liveness,
    Readiness,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Startup => "Startup",
            Kind::Liveness => "Liveness",
            Kind::Readiness => "Readiness",
        }
    }

    pub fn of(self, c: &Container) -> Option<&Probe> {
        match self {
            Kind::Startup => c.startup_probe.as_ref(),
            Kind::Liveness => c.liveness_probe.as_ref(),
            Kind::Readiness => c.readiness_probe.as_ref(),
        }
    }
}

/// Per container run and probe kind.
#[derive(Debug, Clone)]
pub struct Tracker {
    pub next: Instant,
    pub successes: i32,
    pub failures: i32,
    /// The last verdict after thresholds: Some(true) passing, Some(false) failing.
    pub verdict: Option<bool>,
}

impl Tracker {
    pub fn new(probe: &Probe, started: Instant) -> Tracker {
        Tracker {
            next: started
                + Duration::from_secs(probe.initial_delay_seconds.unwrap_or(0).max(0) as u64),
            successes: 0,
            failures: 0,
            verdict: None,
        }
    }

    /// Records one result; returns the verdict when it changed.
    pub fn record(&mut self, probe: &Probe, ok: bool, now: Instant) -> Option<bool> {
        self.next = now + Duration::from_secs(probe.period_seconds.unwrap_or(10).max(1) as u64);
        if ok {
            self.failures = 0;
            self.successes += 1;
            if self.successes >= probe.success_threshold.unwrap_or(1).max(1)
                && self.verdict != Some(true)
            {
                self.verdict = Some(true);
                return Some(true);
            }
        } else {
            self.successes = 0;
            self.failures += 1;
            if self.failures >= probe.failure_threshold.unwrap_or(3).max(1)
                && self.verdict != Some(false)
            {
                self.verdict = Some(false);
                return Some(false);
            }
        }
        None
    }
}

pub struct Target<'a> {
    pub runtime: &'a Runtime,
    pub run: &'a super::state::Run,
    pub container: &'a Container,
    pub env: &'a [String],
    /// None for hostNetwork pods: probes connect from the host.
    pub netns: Option<PathBuf>,
    pub pod_ip: Option<String>,
}

fn port_of(c: &Container, port: &IntOrString) -> Option<u16> {
    match port {
        IntOrString::Int(p) => u16::try_from(*p).ok(),
        IntOrString::String(name) => c
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .and_then(|p| u16::try_from(p.container_port).ok())
            .or_else(|| name.parse().ok()),
    }
}

/// Runs the probe once: Ok(()) passes, Err(message) fails.
pub async fn run(probe: &Probe, t: &Target<'_>) -> Result<(), String> {
    let timeout = Duration::from_secs(probe.timeout_seconds.unwrap_or(1).max(1) as u64);
    if let Some(e) = &probe.exec {
        let args = e.command.clone().unwrap_or_default();
        let out = exec::run(t.runtime, t.run, args, exec::env_map(t.env), timeout)
            .await
            .map_err(|e| e.to_string())?;
        return match out.exit_code {
            Some(0) => Ok(()),
            Some(code) => Err(format!(
                "command exited with code {code}: {}",
                out.output.trim()
            )),
            None => Err(format!("command timed out after {}s", timeout.as_secs())),
        };
    }
    let (host, port, http) = if let Some(h) = &probe.http_get {
        let port = port_of(t.container, &h.port).ok_or("unknown probe port")?;
        let path = h.path.clone().unwrap_or_else(|| "/".into());
        let headers: Vec<(String, String)> = h
            .http_headers
            .iter()
            .flatten()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect();
        (
            h.host.clone(),
            port,
            Some((
                path,
                headers,
                h.scheme.clone().unwrap_or_else(|| "HTTP".into()),
            )),
        )
    } else if let Some(s) = &probe.tcp_socket {
        let port = port_of(t.container, &s.port).ok_or("unknown probe port")?;
        (s.host.clone(), port, None)
    } else if probe.grpc.is_some() {
        return Err("grpc probes are not supported by this kubelet".into());
    } else {
        return Err("probe has no handler".into());
    };
    if http
        .as_ref()
        .is_some_and(|(_, _, scheme)| scheme.eq_ignore_ascii_case("HTTPS"))
    {
        return Err("HTTPS probes are not supported by this kubelet".into());
    }
    let host = host
        .filter(|h| !h.is_empty())
        .or(t.pod_ip.clone())
        .unwrap_or_else(|| "127.0.0.1".into());
    let check = move || connect_and_check(&host, port, http, timeout);
    match &t.netns {
        Some(ns) => {
            let ns = ns.clone();
            // run_in joins its thread: keep that off the async workers.
            tokio::task::spawn_blocking(move || netns::run_in(&ns, check))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?
        }
        None => tokio::task::spawn_blocking(check)
            .await
            .map_err(|e| e.to_string())?,
    }
}

type HttpCheck = Option<(String, Vec<(String, String)>, String)>;

fn connect_and_check(
    host: &str,
    port: u16,
    http: HttpCheck,
    timeout: Duration,
) -> Result<(), String> {
    let addr: SocketAddr = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("resolving {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("no address for {host}"))?;
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("dial tcp {addr}: {e}"))?;
    let Some((path, headers, _)) = http else {
        return Ok(());
    };
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: kube-probe/1.33\r\nAccept: */*\r\nConnection: close\r\n"
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream
        .write_all(req.as_bytes())
        .map_err(|e| format!("HTTP probe write: {e}"))?;
    let mut head = [0u8; 64];
    let n = stream
        .read(&mut head)
        .map_err(|e| format!("HTTP probe read: {e}"))?;
    let line = String::from_utf8_lossy(&head[..n]);
    let code: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("malformed HTTP response {line:?}"))?;
    if (200..400).contains(&code) {
        Ok(())
    } else {
        Err(format!("HTTP probe failed with statuscode: {code}"))
    }
}
