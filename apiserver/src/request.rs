//! Turning an HTTP request into what the REST layer needs: which resource, namespace, name and
//! subresource a path names; the query options; the decoded body; and the response format.

use axum::http::HeaderMap;
use serde_json::Value;

use capstan_api_types::{ResourceInfo, registry};

use crate::error::{ApiError, ApiResult};

/// Bodies above this are refused with 413, as kube-apiserver does (3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// What a resource path names.
#[derive(Debug, Clone)]
pub struct ResourcePath {
    pub resource: &'static ResourceInfo,
    /// Namespace from the path (`/namespaces/{ns}/...`); None for cluster-wide requests.
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// Parses `/api/v1/...` and `/apis/{group}/{version}/...` resource paths.
/// Returns None when the path names no served resource.
pub fn parse_resource_path(path: &str) -> Option<ResourcePath> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let find = |plural: &str| registry::find(group, version, plural);
    let owned = |s: &&str| Some(s.to_string());
    match rest {
        ["namespaces", ns, plural, tail @ ..]
            if find(plural).is_some_and(|r| r.namespaced) && tail.len() <= 2 =>
        {
            Some(ResourcePath {
                resource: find(plural)?,
                namespace: Some(ns.to_string()),
                name: tail.first().and_then(owned),
                subresource: tail.get(1).and_then(owned),
            })
        }
        [plural, tail @ ..] if tail.len() <= 2 => Some(ResourcePath {
            resource: find(plural)?,
            namespace: None,
            name: tail.first().and_then(owned),
            subresource: tail.get(1).and_then(owned),
        }),
        _ => None,
    }
}

/// Query options shared by the verbs.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> ApiResult<Self> {
        let pairs: Vec<(String, String)> = match raw {
            Some(q) => serde_urlencoded::from_str(q)
                .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}")))?,
            None => Vec::new(),
        };
        Ok(Query { pairs })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1" | "True"))
    }

    pub fn int(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("invalid value for {key}: {v:?}"))),
        }
    }

    pub fn dry_run(&self) -> bool {
        self.pairs.iter().any(|(k, v)| k == "dryRun" && v == "All")
    }

    pub fn field_validation(&self) -> ApiResult<FieldValidation> {
        match self.get("fieldValidation") {
            None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation {other:?} is invalid: valid values are Ignore, Warn, Strict"
            ))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

/// Body formats a request can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    Json,
    Yaml,
    Protobuf,
    JsonPatch,
    MergePatch,
    StrategicMergePatch,
    ApplyPatch,
}

pub fn body_format(headers: &HeaderMap) -> ApiResult<BodyFormat> {
    let Some(ct) = headers.get(axum::http::header::CONTENT_TYPE) else {
        // kubectl's PUT on /scale carries no Content-Type; Kubernetes reads it as JSON.
        return Ok(BodyFormat::Json);
    };
    let ct = ct.to_str().unwrap_or_default();
    let media = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    Ok(match media.as_str() {
        "" | "application/json" | "*/*" => BodyFormat::Json,
        "application/yaml" | "application/x-yaml" | "text/yaml" => BodyFormat::Yaml,
        "application/vnd.kubernetes.protobuf" => BodyFormat::Protobuf,
        "application/json-patch+json" => BodyFormat::JsonPatch,
        "application/merge-patch+json" => BodyFormat::MergePatch,
        "application/strategic-merge-patch+json" => BodyFormat::StrategicMergePatch,
        "application/apply-patch+yaml" | "application/apply-patch+cbor"
            if media.ends_with("yaml") =>
        {
            BodyFormat::ApplyPatch
        }
        _ => return Err(ApiError::unsupported_media_type(ct)),
    })
}

/// Decodes a body to JSON; `format` must not be a patch format other than apply.
pub fn decode_body(format: BodyFormat, body: &[u8]) -> ApiResult<Value> {
    if body.is_empty() {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    let value = match format {
        BodyFormat::Protobuf => crate::protobuf::decode(body).map_err(|e| match e {
            crate::protobuf::ProtobufError::UnsupportedKind { .. } => {
                ApiError::new(415, "UnsupportedMediaType", e.to_string())
            }
            other => ApiError::bad_request(other.to_string()),
        })?,
        BodyFormat::Yaml | BodyFormat::ApplyPatch => parse_yaml(body)?,
        _ => serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("error decoding request body as JSON: {e}"))
        })?,
    };
    Ok(value)
}

fn parse_yaml(body: &[u8]) -> ApiResult<Value> {
    // JSON is YAML, but serde_json reads JSON far faster and with clearer errors.
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return Ok(v);
    }
    let yaml: serde_yaml::Value = serde_yaml::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    serde_json::to_value(yaml)
        .map_err(|e| ApiError::bad_request(format!("error converting YAML to JSON: {e}")))
}

/// How the client wants the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormat {
    Json,
    Yaml,
    Table,
}

pub fn response_format(headers: &HeaderMap) -> ApiResult<ResponseFormat> {
    let Some(accept) = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(ResponseFormat::Json);
    };
    for item in accept.split(',') {
        let mut parts = item.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let params: Vec<&str> = parts.collect();
        let is_table = params.iter().any(|p| p.eq_ignore_ascii_case("as=Table"));
        match media.as_str() {
            "application/json" if is_table && params.contains(&"g=meta.k8s.io") => {
                return Ok(ResponseFormat::Table);
            }
            "application/json" | "*/*" | "application/*"
                if params.iter().all(|p| !p.starts_with("as=")) =>
            {
                return Ok(ResponseFormat::Json);
            }
            "application/yaml" => return Ok(ResponseFormat::Yaml),
            "" => return Ok(ResponseFormat::Json),
            // Protobuf answers are not produced; clients that accept it also list JSON.
            _ => {}
        }
    }
    Err(ApiError::not_acceptable(accept))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_namespaced_and_cluster_paths() {
        let p = parse_resource_path("/api/v1/namespaces/default/pods/web/status").expect("pod");
        assert_eq!(p.resource.plural, "pods");
        assert_eq!(p.namespace.as_deref(), Some("default"));
        assert_eq!(p.name.as_deref(), Some("web"));
        assert_eq!(p.subresource.as_deref(), Some("status"));

        let p = parse_resource_path("/api/v1/namespaces/kube-system").expect("namespace");
        assert_eq!(p.resource.plural, "namespaces");
        assert_eq!(p.name.as_deref(), Some("kube-system"));

        let p = parse_resource_path("/api/v1/namespaces/x/status").expect("ns status");
        assert_eq!(p.resource.plural, "namespaces");
        assert_eq!(p.subresource.as_deref(), Some("status"));

        let p = parse_resource_path("/apis/apps/v1/deployments").expect("all deployments");
        assert!(p.namespace.is_none() && p.name.is_none());

        assert!(parse_resource_path("/apis/apps/v1/namespaces/d/widgets").is_none());
        assert!(parse_resource_path("/api/v1/namespaces/d/pods/a/b/c").is_none());
    }

    #[test]
    fn table_accept_is_recognised() {
        let mut h = HeaderMap::new();
        h.insert(
            "accept",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
                .parse()
                .expect("header"),
        );
        assert_eq!(response_format(&h).expect("ok"), ResponseFormat::Table);
        h.insert(
            "accept",
            "application/vnd.kubernetes.protobuf,application/json"
                .parse()
                .expect("header"),
        );
        assert_eq!(response_format(&h).expect("ok"), ResponseFormat::Json);
    }
}
