//! Deployment helpers shared by the strategies: annotations, the pod-template hash, surge and
//! unavailability arithmetic, and ReplicaSet counting.
//!
//! Pure functions only; must never call the API.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
const ROLLBACK_TO: &str = "deprecated.deployment.rollback.to";

/// Deployment annotations that are the Deployment's own business and are not copied to its
/// ReplicaSets (everything else, such as `kubernetes.io/change-cause`, is copied so that
/// `kubectl rollout history` can show it per revision).
pub fn skip_annotation(key: &str) -> bool {
    matches!(
        key,
        LAST_APPLIED | REVISION | REVISION_HISTORY | DESIRED_REPLICAS | MAX_REPLICAS | ROLLBACK_TO
    )
}

pub fn replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

pub fn rs_spec_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

pub fn rs_status_replicas(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().map(|s| s.replicas).unwrap_or(0)
}

pub fn rs_ready(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0)
}

pub fn rs_available(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.available_replicas)
        .unwrap_or(0)
}

/// Available pods we may rely on when deciding how far to scale down. A ReplicaSet that was
/// just scaled down reports its old availability until its controller catches up, so never
/// trust more than its spec asks for.
pub fn rs_safe_available(rs: &ReplicaSet) -> i32 {
    rs_available(rs).min(rs_spec_replicas(rs))
}

/// Pods a ReplicaSet may have right now: its spec, or more if it has not yet caught up with a
/// scale-down. Counting this instead of the spec keeps the surge limit true of real pods.
pub fn rs_pods_upper_bound(rs: &ReplicaSet) -> i32 {
    rs_spec_replicas(rs).max(rs_status_replicas(rs))
}

pub fn annotation<'a>(
    meta: &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    key: &str,
) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

/// The revision number of a ReplicaSet; 0 when unset or unparsable, as Kubernetes treats it.
pub fn revision(rs: &ReplicaSet) -> i64 {
    annotation(&rs.metadata, REVISION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

pub fn is_rolling_update(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        .is_none_or(|t| t == "RollingUpdate")
}

/// Resolves an int-or-percent against `total`; percentages round up or down as asked.
pub fn scaled_value(v: Option<&IntOrString>, default_pct: i32, total: i32, round_up: bool) -> i32 {
    match v {
        Some(IntOrString::Int(i)) => *i,
        Some(IntOrString::String(s)) => {
            let pct = s
                .trim_end_matches('%')
                .parse::<i64>()
                .unwrap_or(i64::from(default_pct));
            percent_of(pct, total, round_up)
        }
        None => percent_of(i64::from(default_pct), total, round_up),
    }
}

fn percent_of(pct: i64, total: i32, round_up: bool) -> i32 {
    let n = pct * i64::from(total);
    let v = if round_up {
        (n + 99).div_euclid(100)
    } else {
        n.div_euclid(100)
    };
    v.clamp(0, i64::from(i32::MAX)) as i32
}

/// (maxSurge, maxUnavailable) for a rolling update: surge rounds up, unavailable rounds down,
/// and if both come out zero one pod may be unavailable so the rollout can move at all
/// (Kubernetes' ResolveFenceposts).
pub fn surge_and_unavailable(d: &Deployment) -> (i32, i32) {
    let total = replicas(d);
    let ru = d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.rolling_update.as_ref());
    let surge = scaled_value(ru.and_then(|r| r.max_surge.as_ref()), 25, total, true);
    let unavailable = scaled_value(
        ru.and_then(|r| r.max_unavailable.as_ref()),
        25,
        total,
        false,
    );
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

pub fn max_surge(d: &Deployment) -> i32 {
    if is_rolling_update(d) {
        surge_and_unavailable(d).0
    } else {
        0
    }
}

/// How many pods may be unavailable; never more than the desired count.
pub fn max_unavailable(d: &Deployment) -> i32 {
    let r = replicas(d);
    if !is_rolling_update(d) || r == 0 {
        return 0;
    }
    surge_and_unavailable(d).1.min(r)
}

/// A template with the pod-template-hash label taken out, to compare a Deployment's template
/// with a ReplicaSet's.
fn without_hash(t: &PodTemplateSpec) -> PodTemplateSpec {
    let mut t = t.clone();
    if let Some(m) = t.metadata.as_mut()
        && let Some(l) = m.labels.as_mut()
    {
        l.remove(POD_TEMPLATE_HASH);
        if l.is_empty() {
            m.labels = None;
        }
    }
    t
}

pub fn templates_equal(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    without_hash(a) == without_hash(b)
}

/// The hash that names a ReplicaSet and labels its pods. Like Kubernetes: 32-bit FNV-1a over a
/// deterministic serialization of the template (here its JSON; k8s-openapi writes fields in a
/// fixed order and maps sorted), then the collision count as 4 little-endian bytes if set, and
/// the decimal number spelled in a vowel-free alphabet so it can never form words.
pub fn pod_template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let mut h = Fnv32a::new();
    h.write(&serde_json::to_vec(template).unwrap_or_default());
    if let Some(c) = collision_count {
        h.write(&(c as u32).to_le_bytes());
    }
    safe_encode(&h.finish().to_string())
}

pub fn safe_encode(s: &str) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    s.bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

struct Fnv32a(u32);

impl Fnv32a {
    fn new() -> Self {
        Fnv32a(0x811c_9dc5)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u32::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0193);
        }
    }
    fn finish(&self) -> u32 {
        self.0
    }
}

/// Adds `key=value` to a label map, creating it if needed.
pub fn with_label(
    labels: Option<BTreeMap<String, String>>,
    key: &str,
    value: &str,
) -> BTreeMap<String, String> {
    let mut l = labels.unwrap_or_default();
    l.insert(key.to_string(), value.to_string());
    l
}

/// ReplicaSets with pods wanted (spec.replicas > 0).
pub fn active<'a>(rss: impl IntoIterator<Item = &'a ReplicaSet>) -> Vec<&'a ReplicaSet> {
    rss.into_iter()
        .filter(|rs| rs_spec_replicas(rs) > 0)
        .collect()
}

pub fn creation(rs: &ReplicaSet) -> Option<k8s_openapi::jiff::Timestamp> {
    rs.metadata.creation_timestamp.as_ref().map(|t| t.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};

    fn dep(replicas: i32, surge: IntOrString, unavailable: IntOrString) -> Deployment {
        Deployment {
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                strategy: Some(DeploymentStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: Some(RollingUpdateDeployment {
                        max_surge: Some(surge),
                        max_unavailable: Some(unavailable),
                    }),
                }),
                ..DeploymentSpec::default()
            }),
            ..Deployment::default()
        }
    }

    #[test]
    fn surge_rounds_up_and_unavailable_rounds_down() {
        let s = |v: &str| IntOrString::String(v.into());
        assert_eq!(surge_and_unavailable(&dep(10, s("25%"), s("25%"))), (3, 2));
        assert_eq!(surge_and_unavailable(&dep(3, s("25%"), s("25%"))), (1, 0));
        assert_eq!(
            surge_and_unavailable(&dep(4, IntOrString::Int(2), IntOrString::Int(1))),
            (2, 1)
        );
        // Both zero would never move: one pod may go unavailable.
        assert_eq!(surge_and_unavailable(&dep(1, s("0%"), s("10%"))), (0, 1));
        assert_eq!(
            max_unavailable(&dep(2, IntOrString::Int(0), IntOrString::Int(5))),
            2
        );
    }

    #[test]
    fn hash_is_stable_and_changes_with_template_and_collisions() {
        let t = PodTemplateSpec::default();
        let a = pod_template_hash(&t, None);
        assert_eq!(a, pod_template_hash(&t, None));
        assert_ne!(a, pod_template_hash(&t, Some(1)));
        assert!(
            a.bytes()
                .all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b))
        );
        let mut labeled = t.clone();
        labeled.metadata = Some(Default::default());
        assert_ne!(a, pod_template_hash(&labeled, None));
    }

    #[test]
    fn fnv32a_matches_reference_vectors() {
        let mut h = Fnv32a::new();
        h.write(b"a");
        assert_eq!(h.finish(), 0xe40c292c);
        let mut h = Fnv32a::new();
        h.write(b"foobar");
        assert_eq!(h.finish(), 0xbf9cf968);
    }
}
