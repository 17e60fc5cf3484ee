//! Prometheus metrics for reconcile loops and a minimal HTTP/1.0 responder serving
//! `/metrics`, `/healthz`, `/readyz` and `/livez`.
//!
//! Owns: counters and latency histograms per controller. Must never hold a lock across an
//! await or slow a reconcile down: everything is an atomic add.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Upper bounds in seconds, as Kubernetes' workqueue and controller-runtime use.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
pub struct ControllerMetrics {
    reconciles: AtomicU64,
    errors: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    sum_micros: AtomicU64,
}

impl ControllerMetrics {
    pub fn observe(&self, took: Duration, failed: bool) {
        self.reconciles.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let secs = took.as_secs_f64();
        for (b, le) in self.buckets.iter().zip(BUCKETS) {
            if secs <= le {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.sum_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn reconciles(&self) -> u64 {
        self.reconciles.load(Ordering::Relaxed)
    }
}

/// All controllers' metrics, plus the leader flag the readiness endpoint reports.
#[derive(Default)]
pub struct Metrics {
    controllers: BTreeMap<&'static str, Arc<ControllerMetrics>>,
    pub leader: AtomicBool,
}

impl Metrics {
    pub fn new(names: &[&'static str]) -> Self {
        Metrics {
            controllers: names
                .iter()
                .map(|n| (*n, Arc::new(ControllerMetrics::default())))
                .collect(),
            leader: AtomicBool::new(false),
        }
    }

    pub fn controller(&self, name: &str) -> Arc<ControllerMetrics> {
        self.controllers.get(name).cloned().unwrap_or_default()
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP capstan_controller_reconcile_total Reconciliations run."
        );
        let _ = writeln!(out, "# TYPE capstan_controller_reconcile_total counter");
        for (name, m) in &self.controllers {
            let _ = writeln!(
                out,
                "capstan_controller_reconcile_total{{controller=\"{name}\"}} {}",
                m.reconciles.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP capstan_controller_reconcile_errors_total Reconciliations that failed."
        );
        let _ = writeln!(
            out,
            "# TYPE capstan_controller_reconcile_errors_total counter"
        );
        for (name, m) in &self.controllers {
            let _ = writeln!(
                out,
                "capstan_controller_reconcile_errors_total{{controller=\"{name}\"}} {}",
                m.errors.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP capstan_controller_reconcile_duration_seconds Time per reconciliation."
        );
        let _ = writeln!(
            out,
            "# TYPE capstan_controller_reconcile_duration_seconds histogram"
        );
        for (name, m) in &self.controllers {
            for (b, le) in m.buckets.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "capstan_controller_reconcile_duration_seconds_bucket{{controller=\"{name}\",le=\"{le}\"}} {}",
                    b.load(Ordering::Relaxed)
                );
            }
            let count = m.reconciles.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "capstan_controller_reconcile_duration_seconds_bucket{{controller=\"{name}\",le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "capstan_controller_reconcile_duration_seconds_sum{{controller=\"{name}\"}} {}",
                m.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "capstan_controller_reconcile_duration_seconds_count{{controller=\"{name}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP capstan_controller_leader 1 while this instance runs the controllers."
        );
        let _ = writeln!(out, "# TYPE capstan_controller_leader gauge");
        let _ = writeln!(
            out,
            "capstan_controller_leader {}",
            u8::from(self.leader.load(Ordering::Relaxed))
        );
        out
    }
}

/// Binds the metrics listener; the returned address is where it really listens (port 0 works).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Answers one request per connection until `shutdown` flips to true.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = crate::runtime::stopped(&mut shutdown) => return,
        };
        let Ok((mut sock, _)) = accepted else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let mut len = 0;
            // Read until the end of the request head; bodies are not expected.
            while len < buf.len() {
                let read =
                    tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf[len..])).await;
                match read {
                    Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
                    Ok(Ok(n)) => len += n,
                }
                if buf[..len].windows(4).any(|w| w == b"\r\n\r\n")
                    || buf[..len].windows(2).any(|w| w == b"\n\n")
                {
                    break;
                }
            }
            let head = String::from_utf8_lossy(&buf[..len]);
            let path = head.split_whitespace().nth(1).unwrap_or("/");
            let path = path.split('?').next().unwrap_or(path);
            let (status, ctype, body) = match path {
                "/metrics" => ("200 OK", "text/plain; version=0.0.4", metrics.render()),
                "/healthz" | "/livez" | "/readyz" => ("200 OK", "text/plain", "ok".to_string()),
                _ => ("404 Not Found", "text/plain", "not found".to_string()),
            };
            let resp = format!(
                "HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
            let _ = sock.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_counts_reconciles_errors_and_buckets() {
        let m = Metrics::new(&["replicaset"]);
        m.controller("replicaset")
            .observe(Duration::from_millis(3), false);
        m.controller("replicaset")
            .observe(Duration::from_millis(30), true);
        let text = m.render();
        assert!(text.contains("capstan_controller_reconcile_total{controller=\"replicaset\"} 2"));
        assert!(
            text.contains("capstan_controller_reconcile_errors_total{controller=\"replicaset\"} 1")
        );
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"+Inf\"} 2"));
    }
}
