//! Prometheus metrics: request counts and latency per verb/resource/code, open watches per
//! resource, and store latency per operation (via `MeteredStore`, a `Store` wrapper).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use capstan_store::{KeyValue, ListPage, Result as StoreResult, Store, WatchStream};

use crate::request::parse_resource_path;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    verb: String,
    resource: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    verb: String,
    resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResourceLabel {
    resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily<LatencyLabels>,
    watches: Family<ResourceLabel, Gauge>,
    store_latency: HistogramFamily<OperationLabel>,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily<LatencyLabels> =
            Family::new_with_constructor(latency_histogram);
        let watches = Family::<ResourceLabel, Gauge>::default();
        let store_latency: HistogramFamily<OperationLabel> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "apiserver_request",
            "API requests by verb, resource and code",
            requests.clone(),
        );
        registry.register(
            "apiserver_request_duration_seconds",
            "API request latency by verb and resource (watches: time to first byte)",
            latency.clone(),
        );
        registry.register(
            "apiserver_registered_watchers",
            "Open watches by resource",
            watches.clone(),
        );
        registry.register(
            "apiserver_storage_duration_seconds",
            "Store operation latency by operation",
            store_latency.clone(),
        );
        Arc::new(Metrics {
            registry,
            requests,
            latency,
            watches,
            store_latency,
        })
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    pub fn watch_started(&self, resource: &str) {
        self.watches
            .get_or_create(&ResourceLabel {
                resource: resource.into(),
            })
            .inc();
    }

    pub fn watch_ended(&self, resource: &str) {
        self.watches
            .get_or_create(&ResourceLabel {
                resource: resource.into(),
            })
            .dec();
    }

    fn observe_store(&self, operation: &str, started: Instant) {
        self.store_latency
            .get_or_create(&OperationLabel {
                operation: operation.into(),
            })
            .observe(started.elapsed().as_secs_f64());
    }
}

/// The Kubernetes verb of a request, from method, path shape and `watch`.
fn verb_and_resource(method: &Method, path: &str, query: Option<&str>) -> (String, String) {
    let Some(rp) = parse_resource_path(path) else {
        return (method.as_str().to_ascii_lowercase(), "nonresource".into());
    };
    let watch = query.is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"));
    let verb = match (method.as_str(), rp.name.is_some()) {
        ("GET", true) => "get",
        ("GET", false) if watch => "watch",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "other",
    };
    let resource = match &rp.subresource {
        Some(s) => format!("{}/{}", rp.resource.plural, s),
        None => rp.resource.plural.to_string(),
    };
    (verb.into(), resource)
}

/// Middleware recording every request.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let (verb, resource) = verb_and_resource(req.method(), req.uri().path(), req.uri().query());
    let started = Instant::now();
    let resp = next.run(req).await;
    let code = resp.status().as_u16();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    if code >= 500 {
        tracing::warn!(%verb, %resource, code, elapsed_ms, "request failed");
    } else {
        tracing::debug!(%verb, %resource, code, elapsed_ms, "request");
    }
    metrics
        .latency
        .get_or_create(&LatencyLabels {
            verb: verb.clone(),
            resource: resource.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            verb,
            resource,
            code: code.to_string(),
        })
        .inc();
    resp
}

/// A `Store` that times every operation.
pub struct MeteredStore {
    pub inner: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
}

#[async_trait]
impl Store for MeteredStore {
    async fn create(&self, key: &str, value: Vec<u8>) -> StoreResult<KeyValue> {
        let t = Instant::now();
        let r = self.inner.create(key, value).await;
        self.metrics.observe_store("create", t);
        r
    }
    async fn update(&self, key: &str, value: Vec<u8>, expected: i64) -> StoreResult<KeyValue> {
        let t = Instant::now();
        let r = self.inner.update(key, value, expected).await;
        self.metrics.observe_store("update", t);
        r
    }
    async fn delete(&self, key: &str, expected: Option<i64>) -> StoreResult<(KeyValue, i64)> {
        let t = Instant::now();
        let r = self.inner.delete(key, expected).await;
        self.metrics.observe_store("delete", t);
        r
    }
    async fn get(&self, key: &str) -> StoreResult<Option<KeyValue>> {
        let t = Instant::now();
        let r = self.inner.get(key).await;
        self.metrics.observe_store("get", t);
        r
    }
    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
        revision: Option<i64>,
    ) -> StoreResult<ListPage> {
        let t = Instant::now();
        let r = self.inner.list(prefix, start_after, limit, revision).await;
        self.metrics.observe_store("list", t);
        r
    }
    async fn count(&self, prefix: &str) -> StoreResult<i64> {
        self.inner.count(prefix).await
    }
    async fn current_revision(&self) -> StoreResult<i64> {
        let t = Instant::now();
        let r = self.inner.current_revision().await;
        self.metrics.observe_store("current_revision", t);
        r
    }
    async fn watch(&self, prefix: &str, after: i64) -> StoreResult<WatchStream> {
        self.inner.watch(prefix, after).await
    }
    async fn compact(&self, revision: i64) -> StoreResult<()> {
        self.inner.compact(revision).await
    }
    async fn compacted_revision(&self) -> StoreResult<i64> {
        self.inner.compacted_revision().await
    }
}
