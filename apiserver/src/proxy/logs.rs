//! `GET pods/{name}/log`: checks the PodLogOptions and the pod, then relays the kubelet's
//! `/containerLogs/{namespace}/{pod}/{container}` answer chunk by chunk, so a followed log
//! reaches the client as the container writes it.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use crate::error::{ApiError, ApiResult, StatusCause, Target};
use crate::object;
use crate::server::App;
use crate::validation::{Cause, full_message};

use super::{Location, first, locate, query_bool, query_int, query_pairs, relay_failure, send};

/// The query of a log request (Kubernetes' PodLogOptions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    pub container: Option<String>,
    pub follow: bool,
    pub previous: bool,
    pub timestamps: bool,
    pub since_seconds: Option<i64>,
    /// Unix seconds.
    pub since_time: Option<i64>,
    pub tail_lines: Option<i64>,
    pub limit_bytes: Option<i64>,
}

impl LogOptions {
    /// Decodes the query. `insecureSkipTLSVerifyBackend` is accepted and has nothing to do:
    /// the kubelet link is plain HTTP.
    pub fn parse(pairs: &[(String, String)]) -> ApiResult<Self> {
        let since_time = match first(pairs, "sinceTime") {
            None | Some("") => None,
            Some(t) => Some(object::parse_rfc3339(t).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "invalid value for sinceTime: {t:?}: not an RFC 3339 time"
                ))
            })?),
        };
        Ok(LogOptions {
            container: first(pairs, "container")
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            follow: query_bool(pairs, "follow"),
            previous: query_bool(pairs, "previous"),
            timestamps: query_bool(pairs, "timestamps"),
            since_seconds: query_int(pairs, "sinceSeconds")?,
            since_time,
            tail_lines: query_int(pairs, "tailLines")?,
            limit_bytes: query_int(pairs, "limitBytes")?,
        })
    }

    /// The same checks as Kubernetes, answered the same way: 422 Invalid on PodLogOptions.
    pub fn validate(&self, pod: &str) -> ApiResult<()> {
        let mut causes = Vec::new();
        let mut invalid = |field: &str, value: i64, why: &str| {
            causes.push(Cause {
                reason: "FieldValueInvalid".into(),
                message: format!("Invalid value: {value}: {why}"),
                field: field.into(),
            })
        };
        if let Some(n) = self.tail_lines.filter(|n| *n < 0) {
            invalid("tailLines", n, "must be greater than or equal to 0");
        }
        if let Some(n) = self.limit_bytes.filter(|n| *n < 1) {
            invalid("limitBytes", n, "must be greater than 0");
        }
        if let Some(n) = self.since_seconds.filter(|n| *n < 1) {
            invalid("sinceSeconds", n, "must be greater than 0");
        }
        if self.since_seconds.is_some() && self.since_time.is_some() {
            causes.push(Cause {
                reason: "FieldValueForbidden".into(),
                message: "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"
                    .into(),
                field: "sinceSeconds".into(),
            });
        }
        if causes.is_empty() {
            return Ok(());
        }
        let message = full_message("PodLogOptions", pod, &causes);
        let causes = causes
            .into_iter()
            .map(|c| StatusCause {
                reason: c.reason,
                message: c.message,
                field: c.field,
            })
            .collect();
        let target = Target {
            resource: "pods",
            group: "",
            plural: "pods",
            name: pod,
        };
        Err(ApiError::invalid("PodLogOptions", &target, message, causes))
    }

    /// The kubelet's query: only what is set, keys sorted as Go's `url.Values` encodes them.
    pub fn kubelet_query(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if self.follow {
            pairs.push(("follow", "true".into()));
        }
        if let Some(n) = self.limit_bytes {
            pairs.push(("limitBytes", n.to_string()));
        }
        if self.previous {
            pairs.push(("previous", "true".into()));
        }
        if let Some(n) = self.since_seconds {
            pairs.push(("sinceSeconds", n.to_string()));
        }
        if let Some(t) = self.since_time {
            pairs.push(("sinceTime", object::rfc3339(t)));
        }
        if let Some(n) = self.tail_lines {
            pairs.push(("tailLines", n.to_string()));
        }
        if self.timestamps {
            pairs.push(("timestamps", "true".into()));
        }
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    }
}

pub async fn serve(
    State(app): State<Arc<App>>,
    path: Result<Path<(String, String)>, PathRejection>,
    req: Request,
) -> Response {
    super::for_pod(path, |namespace, name| async move {
        logs(&app, &namespace, &name, req).await
    })
    .await
}

async fn logs(app: &Arc<App>, namespace: &str, name: &str, req: Request) -> ApiResult<Response> {
    if req.method() != Method::GET {
        return Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({} pods/log)",
            req.method()
        )));
    }
    let opts = LogOptions::parse(&query_pairs(req.uri())?)?;
    opts.validate(name)?;
    let loc = locate(app, namespace, name, opts.container.as_deref()).await?;
    let path = loc.path("containerLogs", &opts.kubelet_query());
    let url = format!("http://{}{path}", loc.authority());
    let request = hyper::Request::get(path)
        .header(header::HOST, loc.authority())
        .header(header::USER_AGENT, "capstan-apiserver")
        .body(Body::empty())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let response = send(&loc, request, false).await.map_err(|e| {
        tracing::warn!(%url, error = %e, "kubelet unreachable for logs");
        // Kubernetes reports the failed Go request verbatim: `Get "<url>": dial tcp ...`.
        ApiError::unknown(format!("Get {url:?}: {e}"))
    })?;
    if !response.status().is_success() {
        return Ok(relay_failure(response).await);
    }
    Ok(stream(app, &loc, response))
}

/// Relays the kubelet's body as it arrives, until it ends or the server shuts down (an
/// endless followed log must not hold up a graceful shutdown).
fn stream(app: &App, loc: &Location, response: hyper::Response<hyper::body::Incoming>) -> Response {
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("text/plain"));
    let mut shutdown = app.shutdown.subscribe();
    let stopped = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    tracing::debug!(pod = %loc.pod, container = %loc.container, "streaming logs");
    let body = Body::new(response.into_body())
        .into_data_stream()
        .take_until(stopped);
    let mut resp = (status, Body::from_stream(body)).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> ApiResult<LogOptions> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap_or_default();
        LogOptions::parse(&pairs)
    }

    #[test]
    fn options_round_trip_to_the_kubelet_query() {
        let opts = parse(
            "container=c&follow=true&tailLines=2&timestamps=true&limitBytes=10&previous=true&sinceTime=2024-01-02T03:04:05Z",
        )
        .expect("valid");
        assert_eq!(opts.container.as_deref(), Some("c"));
        assert!(opts.validate("p").is_ok());
        assert_eq!(
            opts.kubelet_query(),
            "follow=true&limitBytes=10&previous=true&sinceTime=2024-01-02T03%3A04%3A05Z&tailLines=2&timestamps=true"
        );
        let opts = parse("sinceSeconds=10").expect("valid");
        assert_eq!(opts.kubelet_query(), "sinceSeconds=10");
        assert_eq!(parse("").expect("valid").kubelet_query(), "");
    }

    #[test]
    fn bad_options_are_rejected_like_kubernetes() {
        assert_eq!(parse("tailLines=x").err().map(|e| e.code), Some(400));
        assert_eq!(
            parse("sinceTime=yesterday").err().map(|e| e.code),
            Some(400)
        );
        let e = parse("tailLines=-1")
            .expect("parses")
            .validate("p")
            .expect_err("invalid");
        assert_eq!(e.code, 422);
        assert_eq!(
            e.message,
            "PodLogOptions \"p\" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0"
        );
        let e = parse("limitBytes=0&sinceSeconds=0")
            .expect("parses")
            .validate("p")
            .expect_err("invalid");
        assert_eq!(
            e.message,
            "PodLogOptions \"p\" is invalid: [limitBytes: Invalid value: 0: must be greater than 0, sinceSeconds: Invalid value: 0: must be greater than 0]"
        );
        let both = parse("sinceSeconds=5&sinceTime=2024-01-02T03:04:05Z").expect("parses");
        assert_eq!(both.validate("p").err().map(|e| e.code), Some(422));
    }
}
