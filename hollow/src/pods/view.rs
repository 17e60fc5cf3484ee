//! The few facts about a pod the hollow kubelet acts on, extracted from each watch event so
//! 10,000 tracked pods cost a few hundred bytes each instead of whole `Pod` objects.

use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

use crate::fleet::Fleet;

/// After this many seconds of running, the pod's containers exit (restartPolicy Never or
/// OnFailure only: with Always a real kubelet would restart them).
pub const EXIT_AFTER_ANNOTATION: &str = "hollow.capstan.dev/exit-after-seconds";
/// Exit code for `EXIT_AFTER_ANNOTATION` (default 0). Non-zero fails the pod; honoured with
/// restartPolicy Never only, since OnFailure would restart the container instead.
pub const EXIT_CODE_ANNOTATION: &str = "hollow.capstan.dev/exit-code";
/// `"false"` keeps a running pod's containers (and so the pod) not Ready, as a failing
/// readiness probe would; any other value, or none, lets them be Ready. Read on every change,
/// so removing or changing it flips a running pod either way. Lets tests exercise
/// progress deadlines, maxUnavailable and not-ready endpoints without a real probe.
pub const READY_ANNOTATION: &str = "hollow.capstan.dev/ready";

/// Ordered by progress: the hollow node never moves a pod backwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Pending,
    Running,
    Finished,
}

#[derive(Clone, Debug)]
pub struct Container {
    pub name: String,
    pub image: String,
    /// A restartable init container (sidecar): it keeps running instead of completing.
    pub sidecar: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit {
    pub after_seconds: u64,
    pub code: i32,
}

#[derive(Clone, Debug)]
pub struct PodView {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub node: usize,
    pub phase: Phase,
    pub deleting: bool,
    pub host_network: bool,
    pub containers: Vec<Container>,
    pub init_containers: Vec<Container>,
    pub exit: Option<Exit>,
    pub start_time: Option<Timestamp>,
    pub pod_ip: Option<Ipv4Addr>,
    pub has_scheduled_condition: bool,
    /// What `READY_ANNOTATION` asks for.
    pub want_ready: bool,
    /// The Ready condition as last seen on the pod.
    pub ready: bool,
}

/// Only an explicit "false" holds readiness back: a typo must not silently stall a rollout.
fn wants_ready(value: Option<&String>) -> bool {
    value.is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"))
}

impl PodView {
    /// `None` for pods not bound to one of our nodes.
    pub fn of(pod: &Pod, fleet: &Fleet) -> Option<PodView> {
        let spec = pod.spec.as_ref()?;
        let node = fleet.index(spec.node_name.as_deref()?)?;
        let meta = &pod.metadata;
        let status = pod.status.as_ref();
        let phase = match status.and_then(|s| s.phase.as_deref()) {
            Some("Running") => Phase::Running,
            Some("Succeeded" | "Failed") => Phase::Finished,
            _ => Phase::Pending,
        };
        let restart_policy = spec.restart_policy.as_deref().unwrap_or("Always");
        let annotation = |k: &str| meta.annotations.as_ref().and_then(|a| a.get(k));
        let exit = match restart_policy {
            "Never" | "OnFailure" => annotation(EXIT_AFTER_ANNOTATION)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|after_seconds| Exit {
                    after_seconds,
                    code: match restart_policy {
                        "Never" => annotation(EXIT_CODE_ANNOTATION)
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0),
                        _ => 0,
                    },
                }),
            _ => None,
        };
        Some(PodView {
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone()?,
            node,
            phase,
            deleting: meta.deletion_timestamp.is_some(),
            host_network: spec.host_network.unwrap_or(false),
            containers: spec
                .containers
                .iter()
                .map(|c| Container {
                    name: c.name.clone(),
                    image: c.image.clone().unwrap_or_default(),
                    sidecar: false,
                })
                .collect(),
            init_containers: spec
                .init_containers
                .iter()
                .flatten()
                .map(|c| Container {
                    name: c.name.clone(),
                    image: c.image.clone().unwrap_or_default(),
                    sidecar: c.restart_policy.as_deref() == Some("Always"),
                })
                .collect(),
            exit,
            start_time: status.and_then(|s| s.start_time.as_ref()).map(|t| t.0),
            pod_ip: status
                .and_then(|s| s.pod_ip.as_deref())
                .and_then(|ip| ip.parse().ok()),
            has_scheduled_condition: status
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "PodScheduled")),
            want_ready: wants_ready(annotation(READY_ANNOTATION)),
            ready: status
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_explicit_false_holds_readiness_back() {
        let v = |s: &str| Some(s.to_string());
        assert!(wants_ready(None));
        assert!(wants_ready(v("true").as_ref()));
        assert!(wants_ready(v("").as_ref()));
        assert!(wants_ready(v("no").as_ref()));
        assert!(!wants_ready(v("false").as_ref()));
        assert!(!wants_ready(v(" False ").as_ref()));
    }
}
