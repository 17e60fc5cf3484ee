//! Prometheus metrics for reconcile loops and a minimal HTTP/1.0 responder serving
//! `/metrics`, `/healthz`, `/readyz` and `/livez`.
//!
//! Owns: counters and latency histograms per controller. Must never hold a lock across an
//! await or slow a reconcile down: everything is an atomic add.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

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
    /// Objects a watch event asked to reconcile that no reconcile has picked up yet — the
    /// work queue's depth as Kubernetes counts it (one entry per object, delayed retries
    /// not included). kube-runtime keeps its queue private, so the triggers feeding it are
    /// counted on the way in ([`ControllerMetrics::queued`]) and out (`dequeued`).
    pending: Mutex<HashSet<String>>,
    adds: AtomicU64,
}

impl ControllerMetrics {
    /// Records that `key` (an `ObjectRef` rendered with `to_string`) was triggered.
    pub fn queued(&self, key: String) {
        self.adds.fetch_add(1, Ordering::Relaxed);
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key);
    }

    /// Records that a reconcile of `key` started.
    pub fn dequeued(&self, key: &str) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    pub fn queue_depth(&self) -> usize {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Wraps a primary trigger stream so every object it yields counts as queued.
    pub fn track<K, E>(
        self: &Arc<Self>,
        triggers: impl futures::Stream<Item = Result<K, E>> + Send + 'static,
    ) -> impl futures::Stream<Item = Result<K, E>> + Send + 'static
    where
        K: kube::Resource + 'static,
        K::DynamicType: Default + Eq + std::hash::Hash + Clone,
    {
        use futures::StreamExt;
        let me = self.clone();
        triggers.inspect(move |item| {
            if let Ok(obj) = item {
                me.queued(kube::runtime::reflector::ObjectRef::from_obj(obj).to_string());
            }
        })
    }

    /// Wraps a `watches_stream` mapper so every object it maps to counts as queued.
    pub fn mapped<T, K, I>(
        self: &Arc<Self>,
        mapper: impl Fn(T) -> I + Send + Sync + 'static,
    ) -> impl Fn(T) -> Vec<kube::runtime::reflector::ObjectRef<K>> + Send + Sync + 'static
    where
        K: kube::Resource + 'static,
        K::DynamicType: Eq + std::hash::Hash + Clone,
        I: IntoIterator<Item = kube::runtime::reflector::ObjectRef<K>>,
    {
        let me = self.clone();
        move |obj| {
            let refs: Vec<_> = mapper(obj).into_iter().collect();
            for r in &refs {
                me.queued(r.to_string());
            }
            refs
        }
    }

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
            "# HELP capstan_controller_workqueue_depth Objects waiting for a reconcile."
        );
        let _ = writeln!(out, "# TYPE capstan_controller_workqueue_depth gauge");
        for (name, m) in &self.controllers {
            let _ = writeln!(
                out,
                "capstan_controller_workqueue_depth{{controller=\"{name}\"}} {}",
                m.queue_depth()
            );
        }
        let _ = writeln!(
            out,
            "# HELP capstan_controller_workqueue_adds_total Reconcile requests from watch events."
        );
        let _ = writeln!(
            out,
            "# TYPE capstan_controller_workqueue_adds_total counter"
        );
        for (name, m) in &self.controllers {
            let _ = writeln!(
                out,
                "capstan_controller_workqueue_adds_total{{controller=\"{name}\"}} {}",
                m.adds.load(Ordering::Relaxed)
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

/// Serves `/metrics` and the health endpoints until `shutdown` flips to true.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let render: capstan_api_types::metrics_http::Render = Arc::new(move || metrics.render());
    tokio::select! {
        _ = capstan_api_types::metrics_http::serve(listener, render) => {}
        _ = crate::runtime::stopped(&mut shutdown) => {}
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

    #[tokio::test]
    async fn queue_depth_counts_distinct_triggered_objects_until_reconciled() {
        use futures::StreamExt;
        use k8s_openapi::api::core::v1::{Node, Pod};
        use kube::runtime::reflector::ObjectRef;
        let m = Metrics::new(&["nodes"]);
        let c = m.controller("nodes");
        let node = |n: &str| -> Node {
            serde_json::from_value(serde_json::json!({"metadata": {"name": n}}))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let triggers = futures::stream::iter(vec![
            Ok::<_, std::convert::Infallible>(node("a")),
            Ok(node("a")),
            Ok(node("b")),
        ]);
        let seen: Vec<_> = c.track(triggers).collect().await;
        assert_eq!(seen.len(), 3);
        let map = c.mapped(|_pod: Pod| vec![ObjectRef::<Node>::new("c")]);
        assert_eq!(map(Pod::default()).len(), 1);
        assert_eq!(c.queue_depth(), 3, "a, b and c wait; a counted once");
        c.dequeued(&ObjectRef::<Node>::new("a").to_string());
        assert_eq!(c.queue_depth(), 2);
        let text = m.render();
        assert!(
            text.contains("capstan_controller_workqueue_depth{controller=\"nodes\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("capstan_controller_workqueue_adds_total{controller=\"nodes\"} 4"),
            "{text}"
        );
    }
}
