//! What a fleet of hollow nodes looks like: `HollowConfig`, its validation, node naming and
//! the parsers the command line shares with library users (labels, taints, durations).

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Taint;

use crate::HollowError;
use crate::ipam;

/// How many hollow nodes to run and what they report.
#[derive(Clone, Debug)]
pub struct HollowConfig {
    /// Number of nodes, named `node_name(prefix, 0..count)`.
    pub count: usize,
    pub prefix: String,
    /// Capacity (and allocatable) as Kubernetes quantities.
    pub cpu: String,
    pub memory: String,
    pub ephemeral_storage: String,
    /// Capacity `pods`; also the admission limit (more bound pods fail with `OutOfpods`).
    pub max_pods: u32,
    /// With `zones > 0`, node `i` gets `topology.kubernetes.io/zone=zone-<i % zones>`.
    pub zones: usize,
    /// Extra labels for every node; they win over the built-in ones.
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    /// How often each node renews its Lease.
    pub lease_interval: Duration,
    pub lease_duration_seconds: i32,
    /// How often each node refreshes `lastHeartbeatTime` of its conditions.
    pub status_interval: Duration,
    /// Requests in flight per activity (lease renewals, heartbeats, pod updates, registration).
    pub max_in_flight: usize,
}

impl Default for HollowConfig {
    fn default() -> Self {
        HollowConfig {
            count: 1,
            prefix: "hollow-".into(),
            cpu: "4".into(),
            memory: "16Gi".into(),
            ephemeral_storage: "100Gi".into(),
            max_pods: 110,
            zones: 0,
            labels: BTreeMap::new(),
            taints: Vec::new(),
            lease_interval: Duration::from_secs(10),
            lease_duration_seconds: 40,
            status_interval: Duration::from_secs(60),
            max_in_flight: 32,
        }
    }
}

impl HollowConfig {
    pub(crate) fn validate(&self) -> Result<(), HollowError> {
        let bad = |m: String| Err(HollowError::Config(m));
        if self.count > ipam::MAX_NODES {
            return bad(format!(
                "count {} exceeds {} (the pod CIDR scheme runs out)",
                self.count,
                ipam::MAX_NODES
            ));
        }
        if self.max_pods == 0 || self.max_pods > ipam::POD_IPS_PER_NODE {
            return bad(format!(
                "max-pods must be 1..={} (pod IPs of a /24)",
                ipam::POD_IPS_PER_NODE
            ));
        }
        for (what, q) in [
            ("cpu", &self.cpu),
            ("memory", &self.memory),
            ("ephemeral-storage", &self.ephemeral_storage),
        ] {
            if !looks_like_quantity(q) {
                return bad(format!("{what}: {q:?} is not a quantity"));
            }
        }
        if self.lease_interval.is_zero() || self.status_interval.is_zero() {
            return bad("intervals must be positive".into());
        }
        if self.lease_duration_seconds <= 0 {
            return bad("lease duration must be positive".into());
        }
        if self.max_in_flight == 0 {
            return bad("max in-flight must be positive".into());
        }
        Ok(())
    }
}

/// The name of node `i`: names are stable so a restarted fleet takes over the same Nodes.
pub fn node_name(prefix: &str, i: usize) -> String {
    format!("{prefix}{i}")
}

/// A cheap shape check; the API server does the real quantity validation on registration,
/// this only turns typos into an error before thousands of requests fail the same way.
fn looks_like_quantity(q: &str) -> bool {
    let digits = q.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &q[digits.len()..];
    !digits.is_empty()
        && digits.parse::<f64>().is_ok_and(|v| v >= 0.0)
        && matches!(
            suffix,
            "" | "m" | "k" | "M" | "G" | "T" | "P" | "E" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"
        )
}

/// Parses `k=v,k2=v2` (empty input = no labels).
pub fn parse_labels(s: &str) -> Result<BTreeMap<String, String>, HollowError> {
    let mut out = BTreeMap::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(HollowError::Config(format!(
                "label {part:?}: want key=value"
            )));
        };
        if k.is_empty() {
            return Err(HollowError::Config(format!("label {part:?}: empty key")));
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// Parses `key=value:Effect,key:Effect` like `kubectl taint`.
pub fn parse_taints(s: &str) -> Result<Vec<Taint>, HollowError> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = |why: &str| HollowError::Config(format!("taint {part:?}: {why}"));
        let (kv, effect) = part
            .rsplit_once(':')
            .ok_or_else(|| bad("want key=value:Effect"))?;
        if !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
            return Err(bad(
                "effect must be NoSchedule, PreferNoSchedule or NoExecute",
            ));
        }
        let (key, value) = match kv.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (kv, None),
        };
        if key.is_empty() {
            return Err(bad("empty key"));
        }
        out.push(Taint {
            key: key.to_string(),
            value,
            effect: effect.to_string(),
            time_added: None,
        });
    }
    Ok(out)
}

/// Parses `10s`, `500ms`, `2m`, `1h` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, HollowError> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let bad = || HollowError::Config(format!("duration {s:?}: want e.g. 10s, 500ms, 1m"));
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_labels_taints_durations() {
        let l = parse_labels("a=b, c=").unwrap();
        assert_eq!(l["a"], "b");
        assert_eq!(l["c"], "");
        assert!(parse_labels("nope").is_err());

        let t = parse_taints("dedicated=gpu:NoSchedule,spot:PreferNoSchedule").unwrap();
        assert_eq!(t[0].key, "dedicated");
        assert_eq!(t[0].value.as_deref(), Some("gpu"));
        assert_eq!(t[1].key, "spot");
        assert_eq!(t[1].value, None);
        assert_eq!(t[1].effect, "PreferNoSchedule");
        assert!(parse_taints("a=b:Sometimes").is_err());
        assert!(parse_taints("a=b").is_err());

        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("1d").is_err());
    }

    #[test]
    fn validates() {
        assert!(HollowConfig::default().validate().is_ok());
        let c = HollowConfig {
            memory: "16GB".into(),
            ..Default::default()
        };
        assert!(c.validate().is_err());
        let c = HollowConfig {
            max_pods: 300,
            ..Default::default()
        };
        assert!(c.validate().is_err());
        let c = HollowConfig {
            cpu: "500m".into(),
            memory: "1.5Gi".into(),
            ..Default::default()
        };
        assert!(c.validate().is_ok());
        assert_eq!(node_name("hollow-", 7), "hollow-7");
    }
}
