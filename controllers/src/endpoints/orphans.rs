//! Endpoints whose Service is gone. They carry no ownerReference, so the garbage collector
//! never removes them: this does, on every Service deletion and once at start for Services
//! deleted while the controller was down (Kubernetes' leftover-endpoints check).
//!
//! Owns: deleting Endpoints that have no Service of the same name. Must never delete the
//! Endpoints of a Service that exists, nor a leader-election record kept in an Endpoints.

use std::sync::Arc;

use futures::Stream;
use k8s_openapi::api::core::v1::{Endpoints, Service};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Preconditions};
use kube::runtime::reflector::ObjectRef;
use tokio::sync::watch;

use super::Context;
use crate::error::api_code;
use crate::runtime::informer::Change;

/// Old leader election wrote its lock into an Endpoints object with no Service behind it.
const LEADER_ANNOTATION: &str = "control-plane.alpha.kubernetes.io/leader";

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

/// Deletes Endpoints without a Service, all of them or the one named by `only`.
async fn sweep(ctx: &Context, only: Option<(&str, &str)>) {
    let services = ctx.services.store();
    for ep in ctx.endpoints.store().state() {
        let (ns, name) = (ep.namespace().unwrap_or_default(), ep.name_any());
        if only.is_some_and(|o| o != (ns.as_str(), name.as_str()))
            || ep.annotations().contains_key(LEADER_ANNOTATION)
            || services.get(&ObjectRef::new(&name).within(&ns)).is_some()
        {
            continue;
        }
        let api: Api<Endpoints> = Api::namespaced(ctx.shared.client.clone(), &ns);
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: ep.uid(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(&name, &dp).await {
            Ok(_) => {
                tracing::info!(namespace = %ns, endpoints = %name, "deleted endpoints of deleted service");
            }
            Err(e) if matches!(api_code(&e), Some(404 | 409)) => {}
            Err(e) => {
                tracing::warn!(namespace = %ns, endpoints = %name, error = %e, "deleting orphaned endpoints");
            }
        }
    }
}
