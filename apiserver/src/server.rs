//! Assembles the API server: store backend, watch cache, compactor, router with its layers,
//! built-in namespaces, and graceful shutdown. `start` runs it in the background (tests, the
//! `capstan up` command); `run` runs it until a shutdown signal.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use capstan_store::{Store, StoreError};

use crate::error::ApiError;
use crate::handlers::{self, json_response};
use crate::metrics::{MeteredStore, Metrics};
use crate::openapi::OpenApi;
use crate::rest::Api;
use crate::schemas::Schemas;
use crate::watch_cache::WatchCache;
use crate::{discovery, namespaces, proxy, request};

/// History kept before compaction (~5 minutes, as the design asks).
const COMPACTION_KEEP: Duration = Duration::from_secs(300);
const COMPACTION_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct Config {
    /// Embedded SQLite store in this directory (used when `etcd_servers` is empty).
    pub data_dir: PathBuf,
    pub etcd_servers: Vec<String>,
    pub bind_address: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    /// Events kept per resource in the watch cache window.
    pub watch_cache_events: usize,
    /// tolerationSeconds of the not-ready/unreachable tolerations added to pods.
    pub default_toleration_seconds: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("capstan-data"),
            etcd_servers: Vec::new(),
            bind_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 6443,
            watch_cache_events: 10_000,
            default_toleration_seconds: crate::admission::DEFAULT_TOLERATION_SECONDS,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("start-up: {0}")]
    Startup(String),
}

/// Shared state of the running server.
pub struct App {
    pub api: Api,
    pub metrics: Arc<Metrics>,
    pub openapi: OpenApi,
    pub shutdown: watch::Sender<bool>,
    pub address: String,
}

pub struct RunningServer {
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<Result<(), ServerError>>,
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting requests, ends watches, and waits for in-flight requests.
    pub async fn stop(self) -> Result<(), ServerError> {
        self.shutdown.send_replace(true);
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(ServerError::Startup(e.to_string())),
        }
    }

    /// Resolves when the server stops by itself (or is stopped).
    pub async fn wait(self) -> Result<(), ServerError> {
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(ServerError::Startup(e.to_string())),
        }
    }

    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

async fn open_store(config: &Config) -> Result<Arc<dyn Store>, ServerError> {
    if config.etcd_servers.is_empty() {
        std::fs::create_dir_all(&config.data_dir)?;
        let path = config.data_dir.join("capstan.db");
        let store = capstan_store::sqlite::SqliteStore::open(&path)?;
        tracing::info!(path = %path.display(), "using embedded SQLite store");
        Ok(Arc::new(store))
    } else {
        let store = capstan_store::etcd::EtcdStore::connect(&config.etcd_servers).await?;
        tracing::info!(endpoints = ?config.etcd_servers, "using etcd store");
        Ok(Arc::new(store))
    }
}

/// Starts the server in the background and returns once it accepts requests.
pub async fn start(config: Config) -> Result<RunningServer, ServerError> {
    let metrics = Metrics::new();
    let raw_store = open_store(&config).await?;
    capstan_store::compaction::spawn_compactor(
        raw_store.clone(),
        COMPACTION_KEEP,
        COMPACTION_INTERVAL,
    );
    let store: Arc<dyn Store> = Arc::new(MeteredStore {
        inner: raw_store,
        metrics: metrics.clone(),
    });
    let cache = WatchCache::new(capstan_api_types::registry(), config.watch_cache_events);
    tokio::spawn(cache.clone().run(store.clone()));
    tokio::time::timeout(Duration::from_secs(60), cache.wait_ready())
        .await
        .map_err(|_| ServerError::Startup("watch cache did not load within 60s".into()))?;

    let listener = tokio::net::TcpListener::bind((config.bind_address, config.port)).await?;
    let addr = listener.local_addr()?;
    let schemas = Arc::new(Schemas::build());
    let openapi = OpenApi::build(&schemas);
    let (shutdown, _) = watch::channel(false);
    let app = Arc::new(App {
        api: Api {
            store,
            cache,
            schemas,
            default_toleration_seconds: config.default_toleration_seconds,
        },
        metrics: metrics.clone(),
        openapi,
        shutdown: shutdown.clone(),
        address: addr.to_string(),
    });
    namespaces::bootstrap(&app)
        .await
        .map_err(|e| ServerError::Startup(format!("creating built-in namespaces: {e}")))?;

    let router = router(app.clone());
    let mut stop = shutdown.subscribe();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
            .map_err(ServerError::from)
    });
    tracing::info!(%addr, "capstan-apiserver listening");
    Ok(RunningServer {
        addr,
        shutdown,
        task,
    })
}

/// Runs until `signal` resolves, then shuts down gracefully.
pub async fn run(
    config: Config,
    signal: impl std::future::Future<Output = ()>,
) -> Result<(), ServerError> {
    let server = start(config).await?;
    let handle = server.shutdown_handle();
    tokio::select! {
        _ = signal => {
            tracing::info!("shutting down");
            handle.send_replace(true);
        }
        _ = async { let mut rx = handle.subscribe(); let _ = rx.wait_for(|s| *s).await; } => {}
    }
    server.wait().await
}

fn router(app: Arc<App>) -> Router {
    let metrics = app.metrics.clone();
    Router::new()
        .route("/version", get(version))
        .route("/healthz", get(health))
        .route("/livez", get(health))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics_text))
        .route("/api", get(api_root))
        .route("/apis", get(apis_root))
        .route("/api/{version}", get(core_resources))
        .route("/apis/{group}", get(group))
        .route("/apis/{group}/{version}", get(group_resources))
        .route("/openapi/v2", get(openapi_v2))
        .route("/openapi/v3", get(openapi_index))
        .route("/openapi/v3/{*path}", get(openapi_doc))
        .route(
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            post(self_subject_access_review),
        )
        .route(
            "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            post(self_subject_rules_review),
        )
        // Served by the pod's kubelet, not by storage (proxy/).
        .route(
            "/api/v1/namespaces/{namespace}/pods/{name}/log",
            any(proxy::logs::serve),
        )
        .route(
            "/api/v1/namespaces/{namespace}/pods/{name}/exec",
            any(proxy::exec::exec),
        )
        .route(
            "/api/v1/namespaces/{namespace}/pods/{name}/attach",
            any(proxy::exec::attach),
        )
        .route(
            "/api/v1/namespaces/{namespace}/pods/{name}/portforward",
            any(proxy::portforward::portforward),
        )
        .fallback(handlers::resource)
        .with_state(app)
        .layer(middleware::from_fn(no_cache))
        .layer(middleware::from_fn_with_state(
            metrics,
            crate::metrics::track,
        ))
}

/// kubectl caches `/version` and discovery by HTTP semantics; answers must not be reused.
async fn no_cache(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    resp
}

fn json_value(code: StatusCode, v: &Value) -> Response {
    json_response(code, v.to_string().into_bytes(), &[]).unwrap_or_else(|e| e.into_response())
}

async fn version() -> Response {
    json_value(
        StatusCode::OK,
        &json!({
            "major": capstan_api_types::KUBERNETES_MAJOR,
            "minor": capstan_api_types::KUBERNETES_MINOR,
            "gitVersion": capstan_api_types::KUBERNETES_GIT_VERSION,
            "gitCommit": "",
            "gitTreeState": "clean",
            "buildDate": "",
            "goVersion": "",
            "compiler": "rustc",
            "platform": format!("{}/{}", std::env::consts::OS, if cfg!(target_arch = "x86_64") { "amd64" } else { std::env::consts::ARCH }),
            "emulationMajor": capstan_api_types::KUBERNETES_MAJOR,
            "emulationMinor": capstan_api_types::KUBERNETES_MINOR,
        }),
    )
}

fn text(code: StatusCode, body: &str) -> Response {
    let mut resp = (code, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

async fn health() -> Response {
    text(StatusCode::OK, "ok")
}

async fn ready(State(app): State<Arc<App>>) -> Response {
    match tokio::time::timeout(Duration::from_secs(2), app.api.store.current_revision()).await {
        Ok(Ok(_)) => text(StatusCode::OK, "ok"),
        Ok(Err(e)) => text(StatusCode::SERVICE_UNAVAILABLE, &format!("store: {e}")),
        Err(_) => text(StatusCode::SERVICE_UNAVAILABLE, "store: timeout"),
    }
}

async fn metrics_text(State(app): State<Arc<App>>) -> Response {
    let mut resp = (StatusCode::OK, app.metrics.render()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    resp
}

fn discovery_response(headers: &HeaderMap, core: bool, legacy: Value) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match discovery::wants_aggregated(accept) {
        Some(content_type) => {
            let body = discovery::aggregated(core, content_type).to_string();
            let mut resp = (StatusCode::OK, body).into_response();
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            resp
        }
        None => json_value(StatusCode::OK, &legacy),
    }
}

async fn api_root(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    discovery_response(&headers, true, discovery::api_versions(&app.address))
}

async fn apis_root(headers: HeaderMap) -> Response {
    discovery_response(&headers, false, discovery::group_list())
}

async fn core_resources(Path(version): Path<String>) -> Response {
    match discovery::resource_list("", &version) {
        Some(v) => json_value(StatusCode::OK, &v),
        None => ApiError::no_route().into_response(),
    }
}

async fn group(Path(group): Path<String>) -> Response {
    match discovery::group(&group) {
        Some(v) => json_value(StatusCode::OK, &v),
        None => ApiError::no_route().into_response(),
    }
}

async fn group_resources(Path((group, version)): Path<(String, String)>) -> Response {
    match discovery::resource_list(&group, &version) {
        Some(v) => json_value(StatusCode::OK, &v),
        None => ApiError::no_route().into_response(),
    }
}

/// kubectl before 1.30 fetches the protobuf OpenAPI v2 document before it validates or
/// applies. An empty Swagger 2.0 document (only `swagger: "2.0"`) tells it no schema is known
/// client-side, so it leaves validation to the server (`fieldValidation`, driven by v3).
async fn openapi_v2() -> Response {
    const EMPTY_SWAGGER_2: &[u8] = &[0x0a, 0x03, b'2', b'.', b'0'];
    let mut resp = (StatusCode::OK, EMPTY_SWAGGER_2.to_vec()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/com.github.proto-openapi.spec.v2.v1.0+protobuf"),
    );
    resp
}

async fn openapi_index(State(app): State<Arc<App>>) -> Response {
    json_value(StatusCode::OK, &app.openapi.index())
}

async fn openapi_doc(State(app): State<Arc<App>>, Path(path): Path<String>) -> Response {
    match app.openapi.document(&path) {
        Some(doc) => json_response(StatusCode::OK, doc.as_bytes().to_vec(), &[])
            .unwrap_or_else(|e| e.into_response()),
        None => ApiError::no_route().into_response(),
    }
}

async fn decode_review(headers: &HeaderMap, body: Body) -> Result<Value, ApiError> {
    let raw = axum::body::to_bytes(body, request::MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::too_large())?;
    let review = request::decode_body(request::body_format(headers)?, &raw)?;
    if !review.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    Ok(review)
}

/// There is no authorization yet: every authenticated request is allowed, and the review says
/// so truthfully rather than pretending to evaluate rules.
async fn self_subject_access_review(headers: HeaderMap, body: Body) -> Response {
    match decode_review(&headers, body).await {
        Ok(mut review) => {
            review["apiVersion"] = json!("authorization.k8s.io/v1");
            review["kind"] = json!("SelfSubjectAccessReview");
            review["status"] = json!({"allowed": true, "reason": "capstan has no authorization layer; all requests are allowed"});
            json_value(StatusCode::CREATED, &review)
        }
        Err(e) => e.into_response(),
    }
}

async fn self_subject_rules_review(headers: HeaderMap, body: Body) -> Response {
    match decode_review(&headers, body).await {
        Ok(mut review) => {
            review["apiVersion"] = json!("authorization.k8s.io/v1");
            review["kind"] = json!("SelfSubjectRulesReview");
            review["status"] = json!({
                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                "incomplete": false,
            });
            json_value(StatusCode::CREATED, &review)
        }
        Err(e) => e.into_response(),
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
