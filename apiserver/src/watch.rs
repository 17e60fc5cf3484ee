//! Watch streams: chunked JSON events (one per line) served from the watch cache, with
//! label/field/namespace filtering, bookmarks, `sendInitialEvents`, `timeoutSeconds`, 410 when
//! the requested revision has left the cache window, and one-row Tables for `kubectl get -w`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use capstan_api_types::ResourceInfo;

use crate::error::{ApiError, ApiResult};
use crate::handlers::list_options;
use crate::request::{Query, ResponseFormat};
use crate::rest::ListOptions;
use crate::server::App;
use crate::table;
use crate::watch_cache::{CacheEvent, CachedObject, EventType};

const BOOKMARK_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

struct Filter {
    namespace: Option<String>,
    opts: ListOptions,
}

impl Filter {
    fn matches(&self, o: &CachedObject) -> bool {
        if let Some(ns) = &self.namespace
            && o.namespace() != Some(ns.as_str())
        {
            return false;
        }
        self.opts.labels.matches_object(&o.view) && self.opts.fields.matches(&o.view)
    }
}

struct Encoder {
    resource: &'static ResourceInfo,
    table: bool,
    include_object: Option<String>,
    sent_columns: bool,
}

impl Encoder {
    fn event(&mut self, kind: &str, obj: &CachedObject) -> Bytes {
        if self.table {
            let value: Value = obj.value();
            let rv = value
                .pointer("/metadata/resourceVersion")
                .cloned()
                .unwrap_or(json!(""));
            let mut t = table::list_table(
                self.resource,
                std::slice::from_ref(&value),
                json!({"resourceVersion": rv}),
                self.include_object.as_deref(),
            );
            if self.sent_columns {
                t["columnDefinitions"] = json!([]);
            }
            self.sent_columns = true;
            let mut line = json!({"type": kind, "object": t}).to_string();
            line.push('\n');
            return Bytes::from(line);
        }
        let mut out = Vec::with_capacity(obj.json.len() + 32);
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\",\"object\":");
        out.extend_from_slice(&obj.json);
        out.extend_from_slice(b"}\n");
        Bytes::from(out)
    }

    fn bookmark(&self, revision: i64, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": revision.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj = json!({"kind": self.resource.kind, "apiVersion": self.resource.api_version(), "metadata": meta});
        let mut line = json!({"type": "BOOKMARK", "object": obj}).to_string();
        line.push('\n');
        Bytes::from(line)
    }
}

fn error_line(err: &ApiError) -> Bytes {
    let mut line = json!({"type": "ERROR", "object": err.status_json()}).to_string();
    line.push('\n');
    Bytes::from(line)
}

fn expired(revision: i64) -> ApiError {
    ApiError::gone(format!("too old resource version: {revision}"))
}

/// Translates a cache event into what this watcher sees, given its filter: objects moving
/// into the selection appear as ADDED, out of it as DELETED.
fn visible(e: &CacheEvent, f: &Filter) -> Option<&'static str> {
    let now = f.matches(&e.object);
    let before = e.prev.as_ref().is_some_and(|p| f.matches(p));
    match e.kind {
        EventType::Added => now.then_some("ADDED"),
        EventType::Deleted => (now || before).then_some("DELETED"),
        EventType::Modified => match (before, now) {
            (true, true) => Some("MODIFIED"),
            (false, true) => Some("ADDED"),
            (true, false) => Some("DELETED"),
            (false, false) => None,
        },
    }
}

pub async fn serve(
    app: Arc<App>,
    r: &'static ResourceInfo,
    namespace: Option<String>,
    query: &Query,
    format: ResponseFormat,
) -> ApiResult<Response> {
    let opts = list_options(r, query)?;
    let filter = Filter {
        namespace: namespace.filter(|_| r.namespaced),
        opts,
    };
    let allow_bookmarks = query.flag("allowWatchBookmarks");
    let send_initial = query.flag("sendInitialEvents");
    let timeout = query
        .int("timeoutSeconds")?
        .filter(|t| *t > 0)
        .map(|t| Duration::from_secs(t as u64).min(MAX_TIMEOUT))
        .unwrap_or(DEFAULT_TIMEOUT);
    let rv = filter.opts.resource_version.clone().unwrap_or_default();
    let requested: Option<i64> = match rv.as_str() {
        "" => None,
        v => Some(
            v.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {v:?}")))?,
        ),
    };
    if send_initial && query.get("resourceVersionMatch") != Some("NotOlderThan") {
        return Err(ApiError::bad_request(
            "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ));
    }
    let with_state = send_initial || requested.is_none() || requested == Some(0);
    if requested.is_none() {
        // "Most recent" means at least what the store holds now.
        let current = app.api.store.current_revision().await?;
        app.api
            .cache
            .wait_for(current, Duration::from_secs(3))
            .await;
    } else if let Some(v) = requested.filter(|v| *v > 0) {
        app.api.cache.wait_for(v, Duration::from_secs(3)).await;
    }
    let cache = app
        .api
        .cache
        .resource(r)
        .cloned()
        .ok_or_else(|| ApiError::internal("no watch cache for resource"))?;

    let mut encoder = Encoder {
        resource: r,
        table: format == ResponseFormat::Table,
        include_object: query.get("includeObject").map(str::to_string),
        sent_columns: false,
    };
    let mut initial: Vec<Bytes> = Vec::new();
    let start = {
        let state = cache.read();
        let revision = state.revision.max(app.api.cache.synced_revision());
        if with_state {
            for o in state.objects.values() {
                if filter.matches(o) {
                    initial.push(encoder.event("ADDED", o));
                }
            }
            if send_initial && allow_bookmarks {
                initial.push(encoder.bookmark(revision, true));
            }
            revision
        } else {
            let from = requested.unwrap_or(revision);
            if from < state.oldest {
                // Kubernetes answers a too-old watch with 200 and a single ERROR event.
                initial.push(error_line(&expired(from)));
                return Ok(stream_response(initial, None));
            }
            from
        }
    };
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let mut shutdown = app.shutdown.subscribe();
    app.metrics.watch_started(r.plural);
    let metrics = app.metrics.clone();
    let mut changed = cache.subscribe();
    let synced = app.api.cache.clone();
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last = start;
        let mut ticker = tokio::time::interval(BOOKMARK_INTERVAL);
        ticker.tick().await;
        'outer: loop {
            let batch = {
                let state = cache.read();
                match state.events_after(last) {
                    Some(events) => Ok(events),
                    None => Err(expired(last)),
                }
            };
            match batch {
                Err(e) => {
                    let _ = send_line(&tx, error_line(&e), deadline, &mut shutdown).await;
                    break;
                }
                Ok(events) => {
                    for e in events {
                        last = e.revision;
                        if let Some(kind) = visible(&e, &filter)
                            && !send_line(
                                &tx,
                                encoder.event(kind, &e.object),
                                deadline,
                                &mut shutdown,
                            )
                            .await
                        {
                            break 'outer;
                        }
                    }
                }
            }
            tokio::select! {
                res = changed.changed() => if res.is_err() { break },
                _ = tokio::time::sleep_until(deadline) => break,
                _ = ticker.tick() => {
                    if allow_bookmarks {
                        let (pending, rev) = {
                            let state = cache.read();
                            let pending = state.events_after(last).is_none_or(|e| !e.is_empty());
                            (pending, state.revision.max(synced.synced_revision()))
                        };
                        if !pending && rev > last {
                            last = rev;
                        }
                        if !pending && !send_line(&tx, encoder.bookmark(last, false), deadline, &mut shutdown).await {
                            break;
                        }
                    }
                }
                _ = async { let _ = shutdown.wait_for(|s| *s).await; } => break,
                _ = tx.closed() => break,
            }
        }
        metrics.watch_ended(r.plural);
    });
    Ok(stream_response(initial, Some(rx)))
}

/// Sends one line unless the watch has to end first: its deadline passed, the server is
/// shutting down, or the client went away. A client that stops reading cannot hold the task.
async fn send_line(
    tx: &mpsc::Sender<Bytes>,
    line: Bytes,
    deadline: tokio::time::Instant,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        res = tx.send(line) => res.is_ok(),
        _ = tokio::time::sleep_until(deadline) => false,
        _ = async { let _ = shutdown.wait_for(|s| *s).await; } => false,
    }
}

fn stream_response(initial: Vec<Bytes>, rx: Option<mpsc::Receiver<Bytes>>) -> Response {
    let head = futures::stream::iter(initial.into_iter().map(Ok::<Bytes, Infallible>));
    let body = match rx {
        Some(rx) => {
            let tail = futures::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|b| (Ok::<Bytes, Infallible>(b), rx))
            });
            Body::from_stream(futures::StreamExt::chain(head, tail))
        }
        None => Body::from_stream(head),
    };
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
