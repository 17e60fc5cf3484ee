//! HTTP handlers for resource paths: turns a request into a REST operation and its result into
//! a JSON, YAML or Table response. Verb dispatch lives here; behaviour lives in `rest`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use capstan_api_types::ResourceInfo;

use crate::error::{ApiError, ApiResult};
use crate::object;
use crate::request::{self, BodyFormat, MAX_BODY_BYTES, Query, ResponseFormat};
use crate::rest::{DeleteOptions, ListOptions, Mutation, WriteOptions, WriteResult};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::server::App;
use crate::{namespaces, patch, subresources, table, watch};

pub async fn resource(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match handle(&app, &method, &uri, &headers, body).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

async fn read_body(body: Body) -> ApiResult<bytes::Bytes> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::too_large())
}

/// Default field manager: the client's program name from its User-Agent, as Kubernetes does.
fn field_manager(query: &Query, headers: &HeaderMap) -> ApiResult<String> {
    if let Some(m) = query.get("fieldManager") {
        if m.len() > 128 {
            return Err(ApiError::bad_request(
                "fieldManager: Too long: may not be more than 128 bytes",
            ));
        }
        return Ok(m.to_string());
    }
    let ua = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown");
    Ok(ua.split('/').next().unwrap_or("unknown").to_string())
}

fn write_options(query: &Query, headers: &HeaderMap) -> ApiResult<WriteOptions> {
    Ok(WriteOptions {
        dry_run: query.dry_run(),
        field_manager: field_manager(query, headers)?,
        field_validation: query.field_validation()?,
    })
}

async fn handle(
    app: &Arc<App>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let Some(rp) = request::parse_resource_path(uri.path()) else {
        return Err(ApiError::no_route());
    };
    let query = Query::parse(uri.query())?;
    let format = request::response_format(headers)?;
    let r = rp.resource;
    if let Some(sub) = &rp.subresource
        && r.subresource(sub).is_none()
    {
        return Err(ApiError::no_route());
    }
    // Object-level requests on namespaced resources need a namespace in the path.
    if r.namespaced && rp.namespace.is_none() && (rp.name.is_some() || *method != Method::GET) {
        return Err(ApiError::no_route());
    }
    let ns = rp.namespace.as_deref();
    match (
        method.clone(),
        rp.name.as_deref(),
        rp.subresource.as_deref(),
    ) {
        (Method::GET, None, None) => {
            if query.flag("watch") {
                watch::serve(app.clone(), r, rp.namespace.clone(), &query, format).await
            } else {
                list(app, r, ns, &query, format).await
            }
        }
        (Method::GET, Some(name), None | Some("status")) => {
            let obj = app.api.get(r, ns, name).await?;
            respond(r, StatusCode::OK, obj, format, &query, &[])
        }
        (Method::GET, Some(name), Some("scale")) => {
            let obj = app.api.get(r, ns, name).await?;
            respond_plain(StatusCode::OK, subresources::scale_of(r, &obj)?, format)
        }
        (Method::POST, None, None) => {
            let fmt = request::body_format(headers)?;
            let value = request::decode_body(fmt, &read_body(body).await?)?;
            let opts = write_options(&query, headers)?;
            let res = app.api.create(r, ns, value, &opts).await?;
            respond_written(r, StatusCode::CREATED, res, format, &query)
        }
        (Method::POST, Some(name), Some("binding")) => {
            let fmt = request::body_format(headers)?;
            let value = request::decode_body(fmt, &read_body(body).await?)?;
            let opts = write_options(&query, headers)?;
            subresources::bind(app, r, ns, name, value, &opts).await?;
            respond_plain(StatusCode::CREATED, success_status(None), format)
        }
        (Method::POST, Some(name), Some("eviction")) => {
            let fmt = request::body_format(headers)?;
            let value = request::decode_body(fmt, &read_body(body).await?)?;
            subresources::evict(app, r, ns, name, value).await?;
            respond_plain(StatusCode::CREATED, success_status(None), format)
        }
        (Method::PUT, Some(name), sub @ (None | Some("status"))) => {
            let fmt = request::body_format(headers)?;
            let value = request::decode_body(fmt, &read_body(body).await?)?;
            let opts = write_options(&query, headers)?;
            let res = app.api.replace(r, ns, name, value, sub, &opts).await?;
            respond_written(r, StatusCode::OK, res, format, &query)
        }
        (Method::PUT, Some(name), Some("scale")) => {
            let fmt = request::body_format(headers)?;
            let value = request::decode_body(fmt, &read_body(body).await?)?;
            let opts = write_options(&query, headers)?;
            let res =
                subresources::update_scale(app, r, ns, name, opts, move |_| Ok(value.clone()))
                    .await?;
            respond_plain(
                StatusCode::OK,
                subresources::scale_of(r, &res.object)?,
                format,
            )
        }
        (Method::PATCH, Some(name), sub @ (None | Some("status") | Some("scale"))) => {
            let fmt = request::body_format(headers)?;
            let raw = read_body(body).await?;
            let opts = write_options(&query, headers)?;
            patch_request(app, r, ns, name, sub, fmt, raw, opts, &query, format).await
        }
        (Method::DELETE, Some(name), None) => {
            let raw = read_body(body).await?;
            let opts = delete_options(headers, &raw, &query)?;
            if r.kind == "Namespace" {
                let obj = namespaces::delete(app, name, &opts).await?;
                return respond(r, StatusCode::OK, obj, format, &query, &[]);
            }
            let (obj, gone) = app.api.delete(r, ns, name, &opts).await?;
            if gone && r.kind != "Pod" {
                let details = json!({
                    "name": name, "group": r.group, "kind": r.plural,
                    "uid": object::meta_str(&obj, "uid"),
                });
                return respond_plain(StatusCode::OK, success_status(Some(details)), format);
            }
            respond(r, StatusCode::OK, obj, format, &query, &[])
        }
        (Method::DELETE, None, None) if r.kind == "Namespace" => Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource (deletecollection namespaces)",
        )),
        (Method::DELETE, None, None) => {
            let raw = read_body(body).await?;
            let opts = delete_options(headers, &raw, &query)?;
            let list_opts = list_options(r, &query)?;
            let result = app
                .api
                .list(
                    r,
                    ns,
                    &ListOptions {
                        limit: 0,
                        continue_token: None,
                        ..list_opts
                    },
                )
                .await?;
            let mut deleted = Vec::new();
            for item in result.items {
                let v: Value = serde_json::from_slice(&item).unwrap_or(Value::Null);
                let name = object::name(&v).to_string();
                let item_ns = object::meta_str(&v, "namespace").map(str::to_string);
                match app.api.delete(r, item_ns.as_deref(), &name, &opts).await {
                    Ok((obj, _)) => deleted.push(obj),
                    Err(e) if e.code == 404 => {}
                    Err(e) => return Err(e),
                }
            }
            let list = json!({
                "kind": r.list_kind, "apiVersion": r.api_version(),
                "metadata": {}, "items": deleted,
            });
            respond_plain(StatusCode::OK, list, format)
        }
        _ => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({method} {})",
            uri.path()
        ))),
    }
}

fn delete_options(headers: &HeaderMap, raw: &[u8], query: &Query) -> ApiResult<DeleteOptions> {
    let mut opts = if raw.is_empty() {
        DeleteOptions::default()
    } else {
        let fmt = request::body_format(headers)?;
        let body = request::decode_body(fmt, raw)?;
        DeleteOptions::from_body(&body)?
    };
    if let Some(g) = query.int("gracePeriodSeconds")? {
        opts.grace_period_seconds = Some(g);
    }
    if let Some(p) = query.get("propagationPolicy") {
        opts.propagation_policy = Some(p.to_string());
    }
    opts.dry_run |= query.dry_run();
    Ok(opts)
}

pub fn list_options(r: &ResourceInfo, query: &Query) -> ApiResult<ListOptions> {
    let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or_default())
        .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?;
    let fields = FieldSelector::parse(query.get("fieldSelector").unwrap_or_default(), r.kind)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let limit = query.int("limit")?.unwrap_or(0);
    if limit < 0 {
        return Err(ApiError::bad_request(
            "limit must be a non-negative integer",
        ));
    }
    let rv_match = query
        .get("resourceVersionMatch")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if let Some(m) = &rv_match
        && !matches!(m.as_str(), "Exact" | "NotOlderThan")
    {
        return Err(ApiError::bad_request(format!(
            "resourceVersionMatch {m:?} is invalid: must be Exact or NotOlderThan"
        )));
    }
    Ok(ListOptions {
        labels,
        fields,
        limit: limit as usize,
        continue_token: query
            .get("continue")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        resource_version: query.get("resourceVersion").map(str::to_string),
        resource_version_match: rv_match,
    })
}

async fn list(
    app: &Arc<App>,
    r: &'static ResourceInfo,
    ns: Option<&str>,
    query: &Query,
    format: ResponseFormat,
) -> ApiResult<Response> {
    let opts = list_options(r, query)?;
    let result = app.api.list(r, ns, &opts).await?;
    let mut meta = json!({"resourceVersion": result.revision.to_string()});
    if let Some(c) = &result.continue_token {
        meta["continue"] = json!(c);
    }
    match format {
        ResponseFormat::Table => {
            let items: Vec<Value> = result
                .items
                .iter()
                .filter_map(|b| serde_json::from_slice(b).ok())
                .collect();
            let t = table::list_table(r, &items, meta, query.get("includeObject"));
            json_response(StatusCode::OK, t.to_string().into_bytes(), &[])
        }
        ResponseFormat::Json | ResponseFormat::Yaml => {
            // Items are already-serialised JSON: splice them without re-encoding.
            let mut out =
                Vec::with_capacity(result.items.iter().map(|b| b.len() + 1).sum::<usize>() + 256);
            out.extend_from_slice(
                format!(
                    "{{\"kind\":\"{}\",\"apiVersion\":\"{}\",\"metadata\":{},\"items\":[",
                    r.list_kind,
                    r.api_version(),
                    meta
                )
                .as_bytes(),
            );
            for (i, item) in result.items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(item);
            }
            out.extend_from_slice(b"]}");
            if format == ResponseFormat::Yaml {
                let v: Value =
                    serde_json::from_slice(&out).map_err(|e| ApiError::internal(e.to_string()))?;
                return yaml_response(StatusCode::OK, &v);
            }
            json_response(StatusCode::OK, out, &[])
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn patch_request(
    app: &Arc<App>,
    r: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
    sub: Option<&str>,
    fmt: BodyFormat,
    raw: bytes::Bytes,
    opts: WriteOptions,
    query: &Query,
    format: ResponseFormat,
) -> ApiResult<Response> {
    if !matches!(
        fmt,
        BodyFormat::JsonPatch
            | BodyFormat::MergePatch
            | BodyFormat::StrategicMergePatch
            | BodyFormat::ApplyPatch
    ) {
        return Err(ApiError::unsupported_media_type(&format!("{fmt:?}")));
    }
    if fmt == BodyFormat::ApplyPatch {
        if sub == Some("scale") {
            return Err(ApiError::unsupported_media_type("apply on scale"));
        }
        let force = query.flag("force");
        if query.get("fieldManager").is_none_or(str::is_empty) {
            return Err(ApiError::bad_request(
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            ));
        }
        let config = request::decode_body(fmt, &raw)?;
        let (res, created) =
            crate::ssa::server_side_apply(app, r, ns, name, sub, config, &opts, force).await?;
        let code = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        return respond(r, code, res.object, format, query, &res.warnings);
    }
    if sub == Some("scale") {
        let res = subresources::update_scale(app, r, ns, name, opts, |scale| {
            patch::patch_object("Scale", fmt, scale, &raw)
        })
        .await?;
        return respond_plain(
            StatusCode::OK,
            subresources::scale_of(r, &res.object)?,
            format,
        );
    }
    let validation_mode = opts.field_validation;
    let api = &app.api;
    let res: WriteResult = api
        .update_with(r, ns, name, &opts, sub, |current| {
            let patched = patch::patch_object(r.kind, fmt, current, &raw)?;
            let mut warnings = Vec::new();
            let patched = if sub == Some("status") {
                api.check_patched_status(r, patched, validation_mode, &mut warnings)?
            } else {
                api.check_patched(r, patched, validation_mode, &mut warnings)?
            };
            let precondition = match (
                object::resource_version(&patched),
                object::resource_version(current),
            ) {
                (Some(p), Some(c)) if p != c => Some(p),
                _ => None,
            };
            Ok(Mutation {
                object: patched,
                precondition,
                track_fields: true,
                warnings,
            })
        })
        .await?;
    respond_written(r, StatusCode::OK, res, format, query)
}

pub fn success_status(details: Option<Value>) -> Value {
    let mut s = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"});
    if let Some(d) = details {
        s["details"] = d;
    }
    s
}

fn warning_headers(resp: &mut Response, warnings: &[String]) {
    for w in warnings {
        let text = format!("299 - \"{}\"", w.replace('"', "\\\""));
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append("warning", v);
        }
    }
}

pub fn json_response(code: StatusCode, body: Vec<u8>, warnings: &[String]) -> ApiResult<Response> {
    let mut resp = (code, body).into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    warning_headers(&mut resp, warnings);
    Ok(resp)
}

fn yaml_response(code: StatusCode, v: &Value) -> ApiResult<Response> {
    let text = serde_yaml::to_string(v).map_err(|e| ApiError::internal(e.to_string()))?;
    let mut resp = (code, text).into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml"),
    );
    Ok(resp)
}

/// The answer to a write: its JSON as the write produced it when JSON is wanted.
fn respond_written(
    r: &ResourceInfo,
    code: StatusCode,
    res: WriteResult,
    format: ResponseFormat,
    query: &Query,
) -> ApiResult<Response> {
    match (format, res.json) {
        (ResponseFormat::Json, Some(json)) => json_response(code, json, &res.warnings),
        _ => respond(r, code, res.object, format, query, &res.warnings),
    }
}

/// An object answer, as a one-row Table when asked for.
pub fn respond(
    r: &ResourceInfo,
    code: StatusCode,
    obj: Value,
    format: ResponseFormat,
    query: &Query,
    warnings: &[String],
) -> ApiResult<Response> {
    match format {
        ResponseFormat::Table => {
            let rv = object::meta_str(&obj, "resourceVersion")
                .unwrap_or_default()
                .to_string();
            let t = table::list_table(
                r,
                std::slice::from_ref(&obj),
                json!({"resourceVersion": rv}),
                query.get("includeObject"),
            );
            json_response(code, t.to_string().into_bytes(), warnings)
        }
        ResponseFormat::Yaml => yaml_response(code, &obj),
        ResponseFormat::Json => {
            let body = serde_json::to_vec(&obj).map_err(|e| ApiError::internal(e.to_string()))?;
            json_response(code, body, warnings)
        }
    }
}

/// Answers that are not objects of the resource (Status, Scale): never a Table.
pub fn respond_plain(code: StatusCode, v: Value, format: ResponseFormat) -> ApiResult<Response> {
    match format {
        ResponseFormat::Yaml => yaml_response(code, &v),
        _ => json_response(code, v.to_string().into_bytes(), &[]),
    }
}
