//! Slices whose Service is gone. The garbage collector removes them through their
//! ownerReference, but only if it runs and only eventually; deleting them here at once keeps
//! proxies from routing for a Service that no longer exists. Runs once at start (Services
//! deleted while the controller was down) and on every Service deletion.
//!
//! Owns: deleting this controller's slices of missing Services. Must never delete a slice of
//! a Service that exists — that one is the reconciler's.

use std::sync::Arc;

use futures::Stream;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Preconditions};
use kube::runtime::reflector::ObjectRef;
use tokio::sync::watch;

use super::Context;
use super::desired::managed_service;
use crate::error::api_code;
use crate::runtime::informer::Change;

pub async fn collect(
    ctx: Arc<Context>,
    services: impl Stream<Item = Change<Service>> + Send + 'static,
    stop: watch::Receiver<bool>,
) {
    crate::backends::on_service_deletion(services, stop, |only| {
        let ctx = ctx.clone();
        async move {
            let only = only.as_ref().map(|(ns, name)| (ns.as_str(), name.as_str()));
            sweep(&ctx, only).await;
        }
    })
    .await;
}

/// Deletes managed slices without a Service, all of them or those of `only` (namespace, name).
async fn sweep(ctx: &Context, only: Option<(&str, &str)>) {
    let services = ctx.services.store();
    for slice in ctx.slices.store().state() {
        let Some(svc) = managed_service(slice.labels()) else {
            continue;
        };
        let ns = slice.namespace().unwrap_or_default();
        if only.is_some_and(|o| o != (ns.as_str(), svc)) {
            continue;
        }
        if services.get(&ObjectRef::new(svc).within(&ns)).is_some() {
            continue;
        }
        let api: Api<EndpointSlice> = Api::namespaced(ctx.shared.client.clone(), &ns);
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: slice.uid(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(&slice.name_any(), &dp).await {
            Ok(_) => {
                tracing::info!(namespace = %ns, slice = %slice.name_any(), service = svc, "deleted endpoint slice of deleted service");
            }
            Err(e) if matches!(api_code(&e), Some(404 | 409)) => {}
            // The garbage collector remains as a backstop.
            Err(e) => {
                tracing::warn!(namespace = %ns, slice = %slice.name_any(), error = %e, "deleting orphaned endpoint slice");
            }
        }
    }
}
