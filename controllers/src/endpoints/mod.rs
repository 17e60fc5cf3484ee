//! Endpoints controller: keeps the legacy core/v1 Endpoints object of every Service with a
//! selector (same name as the Service) listing its pods' addresses, ready or not, by port
//! set. Superseded by EndpointSlices for routing, but `kubectl describe service` and older
//! clients still read it.
//!
//! Owns: the Endpoints of Services with a selector, and deleting the Endpoints of Services
//! that are gone. Must never write the Endpoints of a Service without a selector (users own
//! those), nor write one whose content did not change.

pub mod orphans;
pub mod subsets;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use tokio::sync::watch;

use crate::backends;
use crate::error::{Result, api_code};
use crate::runtime::informer::Informer;
use crate::{Shared, wait_synced};

/// kube-controller-manager's name for it.
pub const NAME: &str = "endpoint";
pub const COMPONENT: &str = "endpoint-controller";
/// A resync now and then heals anything a lost event left behind.
const RESYNC: Duration = Duration::from_secs(300);

pub struct Context {
    pub shared: Shared,
    pub services: Informer<Service>,
    pub endpoints: Informer<Endpoints>,
}

pub async fn run(mut shared: Shared, stop: watch::Receiver<bool>) -> Result<()> {
    shared.recorder = shared.recorder.for_component(COMPONENT);
    let client = shared.client.clone();
    let services: Informer<Service> = Informer::spawn(Api::all(client.clone()), stop.clone());
    let endpoints: Informer<Endpoints> = Informer::spawn(Api::all(client), stop.clone());
    let ctx = Arc::new(Context {
        shared: shared.clone(),
        services: services.clone(),
        endpoints: endpoints.clone(),
    });
    let (service_store, endpoints_store) = (services.store(), endpoints.store());
    let metrics = shared.metrics.controller(NAME);
    let controller = Controller::for_stream(metrics.track(services.triggers()), services.store())
        .watches_stream(
            shared.pods.triggers(),
            metrics.mapped(move |pod: Pod| {
                let listed = services_listing(&endpoints_store, &pod);
                backends::services_for_pod(&service_store, &pod, &listed)
            }),
        )
        // Someone else's edit or delete of the object is undone by a sync of its Service.
        .watches_stream(
            endpoints.triggers(),
            metrics.mapped(|ep: Endpoints| {
                Some(
                    ObjectRef::<Service>::new(&ep.name_any())
                        .within(&ep.namespace().unwrap_or_default()),
                )
            }),
        );
    let service_changes = services.subscribe();

    let (p, s, e) = (shared.pods.clone(), services, endpoints);
    let synced = wait_synced(
        vec![
            Box::pin(async move { p.wait_until_ready().await }),
            Box::pin(async move { s.wait_until_ready().await }),
            Box::pin(async move { e.wait_until_ready().await }),
        ],
        stop.clone(),
    )
    .await;
    if !synced {
        return Ok(());
    }
    tokio::spawn(orphans::collect(ctx.clone(), service_changes, stop.clone()));
    crate::runtime::run_controller(NAME, controller, ctx, metrics, reconcile, stop).await;
    Ok(())
}

/// Names of the Services whose Endpoints list `pod`.
fn services_listing(endpoints: &Store<Endpoints>, pod: &Pod) -> BTreeSet<String> {
    let (ns, uid) = (pod.namespace(), pod.uid());
    endpoints
        .state()
        .iter()
        .filter(|e| e.namespace() == ns)
        .filter(|e| {
            e.subsets
                .iter()
                .flatten()
                .flat_map(|s| s.addresses.iter().chain(s.not_ready_addresses.iter()))
                .flatten()
                .any(|a| a.target_ref.as_ref().and_then(|r| r.uid.as_ref()) == uid.as_ref())
        })
        .map(|e| e.name_any())
        .collect()
}

async fn reconcile(svc: Arc<Service>, ctx: Arc<Context>) -> Result<Action> {
    if backends::selector(&svc).is_none() {
        return Ok(Action::await_change());
    }
    let ns = svc.namespace().unwrap_or_default();
    let name = svc.name_any();
    let pods = ctx.shared.pods.store().state();
    let subsets = subsets::subsets(&svc, &backends::backends(&svc, &pods, &|_| None));
    let labels = backends::inherited_labels(&svc);
    let current = ctx
        .endpoints
        .store()
        .get(&ObjectRef::new(&name).within(&ns));
    let api: Api<Endpoints> = Api::namespaced(ctx.shared.client.clone(), &ns);
    let written = match current {
        Some(cur)
            if cur.labels() == &labels
                && subsets::normalize(cur.subsets.clone().unwrap_or_default()) == subsets =>
        {
            return Ok(Action::requeue(RESYNC));
        }
        Some(cur) => {
            let mut ep = Endpoints::clone(&cur);
            ep.metadata.labels = Some(labels);
            ep.subsets = Some(subsets);
            // The cached resourceVersion makes this a compare-and-swap; a stale cache costs a
            // conflict and a retry.
            api.replace(&name, &PostParams::default(), &ep).await
        }
        None => {
            let ep = Endpoints {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(ns.clone()),
                    labels: Some(labels),
                    ..ObjectMeta::default()
                },
                subsets: Some(subsets),
            };
            api.create(&PostParams::default(), &ep).await
        }
    };
    match written {
        Ok(_) => {
            tracing::debug!(service = %format!("{ns}/{name}"), "endpoints updated");
            Ok(Action::requeue(RESYNC))
        }
        Err(e) => {
            // Conflicts and vanished objects are a stale cache, fixed by the retry; not news.
            if !matches!(api_code(&e), Some(404 | 409)) {
                ctx.shared.recorder.warning(
                    svc.as_ref(),
                    "FailedToUpdateEndpoint",
                    format!("Failed to update endpoint {ns}/{name}: {e}"),
                );
            }
            Err(e.into())
        }
    }
}
