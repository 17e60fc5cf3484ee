//! Carrying out a plan: creates and updates first, deletes last, so an endpoint moving from
//! one slice to another is never missing from both.
//!
//! Owns: the API writes of the EndpointSlice controller and its expectations around them.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};

use super::Context;
use super::plan::{Content, Plan};
use crate::error::{Result, api_code};
use crate::runtime::ownership::controller_ref;

pub fn new_slice(
    svc: &Service,
    labels: &BTreeMap<String, String>,
    content: Content,
) -> EndpointSlice {
    EndpointSlice {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", svc.name_any())),
            namespace: svc.namespace(),
            labels: Some(labels.clone()),
            owner_references: Some(vec![controller_ref(svc)]),
            ..ObjectMeta::default()
        },
        address_type: "IPv4".into(),
        endpoints: content.endpoints,
        ports: Some(content.ports.to_api()),
    }
}

/// Writes `plan` for `svc`; `current` are the slices it was made from. Every write is tried;
/// the first failure is returned so the Service is retried.
pub async fn apply(
    ctx: &Context,
    svc: &Service,
    key: &str,
    current: &[Arc<EndpointSlice>],
    labels: &BTreeMap<String, String>,
    plan: Plan,
) -> Result<()> {
    let ns = svc.namespace().unwrap_or_default();
    let api: Api<EndpointSlice> = Api::namespaced(ctx.shared.client.clone(), &ns);
    let id = |name: &str| format!("{ns}/{name}");
    ctx.expectations
        .expect(key, plan.create.len(), plan.delete.iter().map(|n| id(n)));
    let mut first_err: Option<kube::Error> = None;

    for content in plan.create {
        let slice = new_slice(svc, labels, content);
        if let Err(e) = api.create(&PostParams::default(), &slice).await {
            ctx.expectations.creation_observed(key);
            first_err.get_or_insert(e);
        }
    }
    for (name, content) in plan.update {
        let Some(old) = current.iter().find(|s| s.name_any() == name) else {
            continue;
        };
        let mut slice = EndpointSlice::clone(old);
        slice.metadata.labels = Some(labels.clone());
        slice.ports = Some(content.ports.to_api());
        slice.endpoints = content.endpoints;
        // The cached resourceVersion makes this a compare-and-swap: a stale cache costs a
        // conflict and a retry, never someone else's write.
        if let Err(e) = api.replace(&name, &PostParams::default(), &slice).await {
            first_err.get_or_insert(e);
        }
    }
    for name in plan.delete {
        let uid = current
            .iter()
            .find(|s| s.name_any() == name)
            .and_then(|s| s.uid());
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid,
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        if let Err(e) = api.delete(&name, &dp).await {
            // Already gone or replaced by a namesake: no deletion will be observed.
            ctx.expectations.deletion_observed(key, &id(&name));
            if api_code(&e) != Some(404) {
                first_err.get_or_insert(e);
            }
        }
    }

    let Some(e) = first_err else {
        tracing::debug!(service = %key, "endpoint slices updated");
        return Ok(());
    };
    // Conflicts and vanished objects are a stale cache, fixed by the retry; not news.
    if !matches!(api_code(&e), Some(404 | 409)) {
        ctx.shared.recorder.warning(
            svc,
            "FailedToUpdateEndpointSlices",
            format!("Error updating Endpoint Slices for Service {key}: {e}"),
        );
    }
    Err(e.into())
}
