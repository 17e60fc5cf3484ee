//! The API calls behind each pod decision, run concurrently by the pod loop, and the
//! rate-limited log of their failures.

use std::net::Ipv4Addr;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use kube::{Api, Client};
use tokio::time::Instant;

use super::status;
use super::view::PodView;
use crate::clock;
use crate::node::patch_params;

const FAILURE_LOG_EVERY: Duration = Duration::from_secs(10);

pub enum Action {
    Start(Ipv4Addr),
    /// The ready annotation changed on a running pod.
    Ready {
        ready: bool,
        started: Timestamp,
    },
    Finish {
        code: i32,
        started: Timestamp,
    },
    Reject,
    Delete,
}

pub enum Done {
    Started { at: Timestamp, ready: bool },
    Readied(bool),
    Finished,
    Rejected,
    Deleted,
}

/// The pod (by uid) and how its action went.
pub type Completion = (String, Result<Done, kube::Error>);

/// Logs failed pod updates at most every `FAILURE_LOG_EVERY`, so an unreachable API server
/// does not turn 10,000 retrying pods into 10,000 log lines.
pub struct FailureLog {
    count: u64,
    next: Instant,
}

impl FailureLog {
    pub fn new() -> Self {
        FailureLog {
            count: 0,
            next: Instant::now(),
        }
    }

    pub fn record(&mut self, pod: &PodView, err: &kube::Error) {
        self.count += 1;
        tracing::debug!(pod = %pod.name, namespace = %pod.namespace, error = %err, "pod update failed");
        if Instant::now() >= self.next {
            tracing::warn!(failures = self.count, last = %err, "pod updates failing; retrying");
            self.count = 0;
            self.next = Instant::now() + FAILURE_LOG_EVERY;
        }
    }
}

/// Performs one decision. Owns its inputs so it can run beside the loop that made it.
pub async fn execute(
    client: Client,
    view: PodView,
    host_ip: Ipv4Addr,
    action: Action,
) -> Completion {
    let pp = patch_params();
    let result = match action {
        Action::Start(ip) => {
            let now = clock::now();
            let patch = status::running(&view, host_ip, ip, now);
            patch_status(&client, &view, &pp, patch)
                .await
                .map(|_| Done::Started {
                    at: now,
                    ready: view.want_ready,
                })
        }
        Action::Ready { ready, started } => {
            let patch = status::readiness(&view, ready, started, clock::now());
            patch_status(&client, &view, &pp, patch)
                .await
                .map(|_| Done::Readied(ready))
        }
        Action::Finish { code, started } => {
            let patch = status::finished(&view, code, started, clock::now());
            patch_status(&client, &view, &pp, patch)
                .await
                .map(|_| Done::Finished)
        }
        Action::Reject => patch_status(&client, &view, &pp, status::rejected(&view))
            .await
            .map(|_| Done::Rejected),
        Action::Delete => {
            // The containers "stopped" instantly: finish the deletion the API server started.
            let dp = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions {
                    uid: Some(view.uid.clone()),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            Api::<Pod>::namespaced(client, &view.namespace)
                .delete(&view.name, &dp)
                .await
                .map(|_| Done::Deleted)
        }
    };
    (view.uid, result)
}

/// A strategic-merge PATCH of `pods/NAME/status` whose answer is not decoded: a hollow node
/// never reads it, and decoding every updated pod was a quarter of the CPU of a process
/// running 5,000 hollow nodes.
async fn patch_status(
    client: &Client,
    view: &PodView,
    pp: &PatchParams,
    patch: serde_json::Value,
) -> Result<(), kube::Error> {
    let url = <Pod as kube::Resource>::url_path(&(), Some(&view.namespace));
    let request = kube::core::Request::new(url)
        .patch_subresource("status", &view.name, pp, &Patch::Strategic(patch))
        .map_err(kube::Error::BuildRequest)?;
    client.request_text(request).await.map(|_| ())
}
