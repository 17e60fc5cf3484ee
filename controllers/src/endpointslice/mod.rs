//! EndpointSlice controller: for every Service with a selector, keeps discovery.k8s.io/v1
//! EndpointSlices listing the pods it selects — address, readiness, node, zone, and the port
//! each Service port reaches in that pod — which is what proxies and cluster DNS route by.
//!
//! Owns: EndpointSlices labelled `endpointslice.kubernetes.io/managed-by:
//! endpointslice-controller.k8s.io`. Must never touch a slice managed by anyone else (users
//! write the slices of Services without a selector), nor write a slice whose content did not
//! change: every node watches them.

pub mod apply;
pub mod desired;
pub mod orphans;
pub mod plan;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use tokio::sync::watch;

use crate::backends;
use crate::error::Result;
use crate::runtime::expectations::Expectations;
use crate::runtime::informer::{Change, Informer};
use crate::runtime::ownership::controller_of;
use crate::{Shared, wait_synced};
use desired::{PortSet, managed_service};

pub const NAME: &str = "endpointslice";
pub const COMPONENT: &str = "endpoint-slice-controller";
const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// A resync now and then heals anything a lost event left behind.
const RESYNC: Duration = Duration::from_secs(300);

pub struct Context {
    pub shared: Shared,
    pub services: Informer<Service>,
    pub slices: Informer<EndpointSlice>,
    nodes: Informer<Node>,
    /// Slices this controller created or deleted that its cache may not show yet; planning
    /// against such a cache would create a second set of slices.
    pub expectations: Expectations,
}

pub async fn run(mut shared: Shared, stop: watch::Receiver<bool>) -> Result<()> {
    shared.recorder = shared.recorder.for_component(COMPONENT);
    let client = shared.client.clone();
    let services: Informer<Service> = Informer::spawn(Api::all(client.clone()), stop.clone());
    let slices: Informer<EndpointSlice> = Informer::spawn(Api::all(client.clone()), stop.clone());
    let nodes: Informer<Node> = Informer::spawn(Api::all(client), stop.clone());
    let ctx = Arc::new(Context {
        shared: shared.clone(),
        services: services.clone(),
        slices: slices.clone(),
        nodes: nodes.clone(),
        expectations: Expectations::default(),
    });

    let forgetter = ctx.clone();
    let service_triggers = services.subscribe().map(move |change| {
        if let Change::Deleted(svc) = &change {
            forgetter.expectations.forget(&key_of(svc));
        }
        Ok(change.into_object())
    });
    let observer = ctx.clone();
    let slice_triggers = slices.subscribe().map(move |change| {
        observe_slice(&observer.expectations, &change);
        Ok(change.into_object())
    });
    let (service_store, slice_store) = (services.store(), slices.store());
    let metrics = shared.metrics.controller(NAME);
    let controller = Controller::for_stream(metrics.track(service_triggers), services.store())
        .watches_stream(
            shared.pods.triggers(),
            metrics.mapped(move |pod: Pod| {
                let listed = services_listing(&slice_store, &pod);
                backends::services_for_pod(&service_store, &pod, &listed)
            }),
        )
        .watches_stream(
            slice_triggers,
            metrics.mapped(|slice: EndpointSlice| service_of(&slice)),
        );
    let service_changes = services.subscribe();

    let (p, s, e, n) = (shared.pods.clone(), services, slices, nodes);
    let synced = wait_synced(
        vec![
            Box::pin(async move { p.wait_until_ready().await }),
            Box::pin(async move { s.wait_until_ready().await }),
            Box::pin(async move { e.wait_until_ready().await }),
            Box::pin(async move { n.wait_until_ready().await }),
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

pub fn key_of(svc: &Service) -> String {
    format!("{}/{}", svc.namespace().unwrap_or_default(), svc.name_any())
}

fn service_of(slice: &EndpointSlice) -> Option<ObjectRef<Service>> {
    let name = managed_service(slice.labels())?;
    Some(ObjectRef::new(name).within(&slice.namespace().unwrap_or_default()))
}

/// Lowers expectations when the controller's own creates and deletes come back.
fn observe_slice(exp: &Expectations, change: &Change<EndpointSlice>) {
    let Some(svc) = service_of(change.object()) else {
        return;
    };
    let key = format!("{}/{}", svc.namespace.unwrap_or_default(), svc.name);
    match change {
        Change::Added(_) => exp.creation_observed(&key),
        Change::Deleted(s) => exp.deletion_observed(
            &key,
            &format!("{}/{}", s.namespace().unwrap_or_default(), s.name_any()),
        ),
        Change::Modified(_) => {}
    }
}

/// Names of the Services whose slices list `pod`.
fn services_listing(slices: &Store<EndpointSlice>, pod: &Pod) -> BTreeSet<String> {
    let (ns, uid) = (pod.namespace(), pod.uid());
    slices
        .state()
        .iter()
        .filter(|s| s.namespace() == ns)
        .filter(|s| {
            s.endpoints
                .iter()
                .any(|e| e.target_ref.as_ref().and_then(|r| r.uid.as_ref()) == uid.as_ref())
        })
        .filter_map(|s| managed_service(s.labels()).map(String::from))
        .collect()
}

async fn reconcile(svc: Arc<Service>, ctx: Arc<Context>) -> Result<Action> {
    // The garbage collector removes a deleting Service's slices; rewriting them meanwhile
    // would only race it.
    if svc.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let key = key_of(&svc);
    if !ctx.expectations.satisfied(&key) {
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let ns = svc.namespace().unwrap_or_default();
    let name = svc.name_any();
    let current: Vec<Arc<EndpointSlice>> = ctx
        .slices
        .store()
        .state()
        .into_iter()
        .filter(|s| s.namespace().as_deref() == Some(ns.as_str()))
        .filter(|s| managed_service(s.labels()) == Some(name.as_str()))
        .collect();
    let labels = desired::labels(&svc);
    let existing: Vec<plan::Existing> = current
        .iter()
        .map(|s| plan::Existing {
            name: s.name_any(),
            ports: PortSet::of_slice(s.ports.as_ref()),
            endpoints: s.endpoints.clone(),
            reusable: s.address_type == "IPv4"
                && controller_of(&s.metadata).is_some_and(|r| Some(&r.uid) == svc.uid().as_ref()),
            labels_current: s.labels() == &labels,
        })
        .collect();
    let plan = if backends::selector(&svc).is_none() {
        // Lost its selector or became ExternalName: what this controller wrote is stale.
        plan::Plan {
            delete: existing.into_iter().map(|s| s.name).collect(),
            ..plan::Plan::default()
        }
    } else {
        let pods = ctx.shared.pods.store().state();
        let nodes = ctx.nodes.store();
        let zone_of = |node: &str| {
            nodes
                .get(&ObjectRef::new(node))
                .and_then(|n| n.labels().get(ZONE_LABEL).cloned())
        };
        let backends = backends::backends(&svc, &pods, &zone_of);
        plan::plan(desired::group(&backends), existing)
    };
    if !plan.is_empty() {
        apply::apply(&ctx, &svc, &key, &current, &labels, plan).await?;
    }
    Ok(Action::requeue(RESYNC))
}
