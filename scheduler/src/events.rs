//! Events users read in `kubectl describe pod`: `Scheduled`, `FailedScheduling`, `Preempted`.
//! Written asynchronously and bounded, so a slow API server never stalls scheduling.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Event, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use kube::api::{Api, PostParams};
use tokio::sync::Semaphore;

use crate::model::PodInfo;

pub const COMPONENT: &str = "default-scheduler";

#[derive(Clone)]
pub struct Recorder {
    client: kube::Client,
    limit: Arc<Semaphore>,
}

impl Recorder {
    pub fn new(client: kube::Client) -> Self {
        Recorder {
            client,
            limit: Arc::new(Semaphore::new(32)),
        }
    }

    pub fn record(&self, pod: &PodInfo, type_: &str, reason: &str, message: String) {
        let Ok(permit) = self.limit.clone().try_acquire_owned() else {
            // Too many events in flight: drop this one rather than slow scheduling down.
            tracing::debug!(pod = %pod.key, reason, "event dropped (backlog)");
            return;
        };
        let now = jiff_now();
        let event = Event {
            metadata: ObjectMeta {
                generate_name: Some(format!("{}.", pod.name())),
                namespace: Some(pod.namespace.clone()),
                ..Default::default()
            },
            involved_object: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: Some(pod.name().to_string()),
                namespace: Some(pod.namespace.clone()),
                uid: Some(pod.uid.clone()),
                ..Default::default()
            },
            reason: Some(reason.into()),
            message: Some(message),
            type_: Some(type_.into()),
            count: Some(1),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: Some(MicroTime(now)),
            reporting_component: Some(COMPONENT.into()),
            reporting_instance: Some(COMPONENT.into()),
            action: Some(
                if reason == "Scheduled" {
                    "Binding"
                } else {
                    "Scheduling"
                }
                .into(),
            ),
            source: Some(k8s_openapi::api::core::v1::EventSource {
                component: Some(COMPONENT.into()),
                host: None,
            }),
            ..Default::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &pod.namespace);
        tokio::spawn(async move {
            if let Err(e) = api.create(&PostParams::default(), &event).await {
                tracing::debug!(error = %e, "could not record event");
            }
            drop(permit);
        });
    }
}

fn jiff_now() -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::now()
}
