//! Incremental per-topology match counts, so a scheduling cycle for a pod with pod
//! (anti-)affinity or topology spread looks up a few maps instead of rescanning every placed pod.
//!
//! Two indexes live in the cache:
//! - per *signature* (namespaces + label selector + topology key), the number of placed pods
//!   matching it per topology value. Created by one scan when a cycle first needs it, then
//!   updated in O(#signatures) as pods are placed, assumed or removed;
//! - the distinct required anti-affinity terms of placed pods, with how many owners sit in each
//!   topology value (for the symmetric check an incoming pod must pass).
//!
//! Both count a pod under its node's label value, so any change to the node set or to node
//! labels drops them (they are rebuilt lazily): nodes rarely change, pods constantly do.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::fasthash::FastMap;
use crate::model::{NodeInfo, Nodes, PodInfo};
use crate::plugins::interpod::Term;
use crate::plugins::selector::{is_valid, matches};

/// Topology value → count. Values whose count drops to zero are removed, so an empty map means
/// "no matching pod anywhere" (required pod affinity relies on that). Shared with the cycle
/// state through an `Arc`; updates copy only if a cycle still holds it (never in practice).
pub type Counts = FastMap<String, i64>;

/// Signatures kept at most; beyond that the index starts over, because selectors that embed
/// per-revision labels (`matchLabelKeys`) would otherwise accumulate forever.
const MAX_SIGNATURES: usize = 256;

/// What to count: pods in one of `namespaces` whose labels match `selector`, per value of their
/// node's `topology_key`.
#[derive(Clone)]
pub struct Matcher {
    pub namespaces: Vec<String>,
    pub selector: Option<LabelSelector>,
    pub topology_key: String,
    /// Topology spread ignores pods being deleted; pod affinity does not.
    pub skip_deleting: bool,
}

impl Matcher {
    /// The map key; `None` when the selector could fail to match (the caller then scans, which
    /// reports the error exactly as before).
    pub fn signature(&self) -> Option<String> {
        if !is_valid(self.selector.as_ref()) {
            return None;
        }
        // Deterministic: matchLabels is a BTreeMap and expressions keep their order.
        let sel = serde_json::to_string(&self.selector).ok()?;
        Some(format!(
            "{}\u{0}{sel}\u{0}{}\u{0}{}",
            self.namespaces.join(","),
            self.topology_key,
            self.skip_deleting
        ))
    }

    fn matches(&self, pod: &PodInfo) -> bool {
        self.namespaces.contains(&pod.namespace)
            && !(self.skip_deleting && pod.pod.metadata.deletion_timestamp.is_some())
            // Validated in `signature`, so an error cannot occur here.
            && matches(self.selector.as_ref(), pod.labels()).unwrap_or(false)
    }
}

fn bump(counts: &mut Arc<Counts>, value: &str, by: i64) {
    let c = Arc::make_mut(counts);
    match c.get_mut(value) {
        Some(n) => {
            *n += by;
            if *n == 0 {
                c.remove(value);
            }
        }
        None if by != 0 => {
            c.insert(value.to_string(), by);
        }
        None => {}
    }
}

struct Entry {
    matcher: Matcher,
    counts: Arc<Counts>,
}

/// A required anti-affinity term of placed pods and how many of them sit in each value.
pub struct AntiEntry {
    pub term: Term,
    pub counts: Arc<Counts>,
}

#[derive(Default)]
pub struct MatchIndex {
    selectors: HashMap<String, Entry>,
    anti: HashMap<String, AntiEntry>,
    /// The anti index is built on first use (and again after nodes change).
    anti_ready: bool,
    /// Topology key → number of distinct values among all nodes.
    domains: HashMap<String, usize>,
}

impl MatchIndex {
    /// Drops everything derived from node labels.
    pub fn invalidate(&mut self) {
        self.selectors.clear();
        self.anti.clear();
        self.anti_ready = false;
        self.domains.clear();
    }

    /// `pod` was placed on (`sign` 1) or removed from (`sign` -1) `node`; pods on nodes not yet
    /// known are not counted (a full scan would not see them either).
    pub fn update(&mut self, pod: &PodInfo, node: Option<&NodeInfo>, sign: i64) {
        let Some(node) = node else {
            return;
        };
        for e in self.selectors.values_mut() {
            if let Some(v) = node.label(&e.matcher.topology_key)
                && e.matcher.matches(pod)
            {
                bump(&mut e.counts, v, sign);
            }
        }
        if self.anti_ready {
            for t in &pod.terms.anti {
                if let Some(v) = node.label(&t.topology_key) {
                    add_anti(&mut self.anti, t, v, sign);
                }
            }
        }
    }

    /// Makes sure counts for `matcher` exist (one scan of the placed pods the first time);
    /// returns its signature, or `None` when it cannot be counted incrementally.
    pub fn ensure(&mut self, matcher: &Matcher, nodes: &Nodes) -> Option<String> {
        let sig = matcher.signature()?;
        if self.selectors.contains_key(&sig) {
            return Some(sig);
        }
        if self.selectors.len() >= MAX_SIGNATURES {
            self.selectors.clear();
        }
        let mut counts = Arc::new(Counts::default());
        for node in nodes.values() {
            let Some(v) = node.label(&matcher.topology_key) else {
                continue;
            };
            for p in node.pods.values() {
                if matcher.matches(p) {
                    bump(&mut counts, v, 1);
                }
            }
        }
        self.selectors.insert(
            sig.clone(),
            Entry {
                matcher: matcher.clone(),
                counts,
            },
        );
        Some(sig)
    }

    pub fn counts(&self, sig: &str) -> Option<Arc<Counts>> {
        self.selectors.get(sig).map(|e| e.counts.clone())
    }

    /// Builds the anti-affinity index from the placed pods if needed.
    pub fn ensure_anti(&mut self, nodes: &Nodes, with_affinity: &HashSet<String>) {
        if self.anti_ready {
            return;
        }
        self.anti.clear();
        for node in nodes.values() {
            for p in node
                .pods
                .values()
                .filter(|p| with_affinity.contains(&p.key))
            {
                for t in &p.terms.anti {
                    if let Some(v) = node.label(&t.topology_key) {
                        add_anti(&mut self.anti, t, v, 1);
                    }
                }
            }
        }
        self.anti_ready = true;
    }

    /// The distinct anti-affinity terms of placed pods; `None` until `ensure_anti` ran.
    pub fn anti(&self) -> Option<impl Iterator<Item = &AntiEntry>> {
        self.anti_ready.then(|| self.anti.values())
    }

    /// Makes sure the number of distinct `key` values among nodes is known.
    pub fn ensure_domains(&mut self, key: &str, nodes: &Nodes) {
        if !self.domains.contains_key(key) {
            let values: HashSet<&str> = nodes.values().filter_map(|n| n.label(key)).collect();
            self.domains.insert(key.to_string(), values.len());
        }
    }

    pub fn domains(&self, key: &str) -> Option<usize> {
        self.domains.get(key).copied()
    }
}

fn add_anti(anti: &mut HashMap<String, AntiEntry>, t: &Term, value: &str, sign: i64) {
    // Look up by &str first: placing a pod must not allocate a key per term.
    if !anti.contains_key(t.signature()) {
        anti.insert(
            t.signature().to_string(),
            AntiEntry {
                term: t.clone(),
                counts: Arc::default(),
            },
        );
    }
    let Some(entry) = anti.get_mut(t.signature()) else {
        return;
    };
    bump(&mut entry.counts, value, sign);
    if entry.counts.is_empty() {
        anti.remove(t.signature());
    }
}

#[cfg(test)]
mod tests {
    //! The incremental counts must always give the same cycle state as a full rescan.

    use std::sync::Arc;

    use k8s_openapi::api::core::v1::{Node, Pod};
    use serde_json::{Value, json};

    use crate::cache::Cache;
    use crate::model::PodInfo;
    use crate::plugins::{interpod, spread};

    fn node(name: &str, zone: &str) -> Node {
        serde_json::from_value(json!({"metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone}}}))
        .expect("node")
    }

    fn pod(name: &str, ns: &str, node: Option<&str>, labels: Value, extra: Value) -> Arc<Pod> {
        let mut spec = json!({"containers": [{"name": "c"}]});
        if let Some(n) = node {
            spec["nodeName"] = json!(n);
        }
        for (k, v) in extra.as_object().into_iter().flatten() {
            spec[k] = v.clone();
        }
        Arc::new(
            serde_json::from_value(json!({"metadata": {"name": name, "namespace": ns,
                "uid": format!("uid-{ns}-{name}"), "labels": labels}, "spec": spec}))
            .expect("pod"),
        )
    }

    fn anti() -> Value {
        json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"color": "anti"}}, "topologyKey": "kubernetes.io/hostname"}]}}})
    }

    fn preferred() -> Value {
        json!({"affinity": {
            "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "topology.kubernetes.io/zone"}]},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 5, "podAffinityTerm": {"labelSelector": {"matchExpressions": [
                    {"key": "color", "operator": "In", "values": ["anti", "spread"]}]},
                 "topologyKey": "kubernetes.io/hostname"}}]}}})
    }

    fn spread_spec() -> Value {
        json!({"topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
             "labelSelector": {"matchLabels": {"color": "spread"}}, "minDomains": 5},
            {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
             "labelSelector": {"matchLabels": {"color": "spread"}}, "matchLabelKeys": ["app"]}]})
    }

    /// Compares the indexed and scanned cycle state for a few kinds of incoming pods.
    fn check(cache: &mut Cache) {
        let incoming = [
            pod("in-anti", "default", None, json!({"color": "anti"}), anti()),
            pod(
                "in-spread",
                "default",
                None,
                json!({"color": "spread", "app": "web"}),
                spread_spec(),
            ),
            pod(
                "in-pref",
                "default",
                None,
                json!({"app": "web"}),
                preferred(),
            ),
            pod(
                "in-plain",
                "default",
                None,
                json!({"color": "anti"}),
                json!({}),
            ),
        ];
        for p in incoming {
            let p = PodInfo::new(p);
            let m = interpod::matchers(&p).expect("indexable terms");
            assert!(cache.ensure_index(&m));
            let fast = interpod::prepare_indexed(
                &p,
                &cache.index,
                cache.preferred_pods(),
                &cache.ns_labels,
            )
            .expect("index answers")
            .expect("valid");
            let slow = interpod::prepare(&p, &cache.nodes, cache.affinity_pods(), &cache.ns_labels)
                .expect("valid");
            assert_eq!(fast.summary(), slow.summary(), "interpod for {}", p.key);
            let list = spread::own(&p);
            let m = spread::matchers(&p, list).expect("indexable constraints");
            assert!(cache.ensure_index(&m));
            let fast = spread::prepare_indexed(&p, list, &cache.index)
                .expect("index answers")
                .expect("valid");
            let slow = spread::prepare(&p, list, &cache.nodes).expect("valid");
            assert_eq!(fast.summary(), slow.summary(), "spread for {}", p.key);
        }
    }

    #[test]
    fn add_remove_assume_forget_and_node_changes_keep_counts_equal_to_a_rescan() {
        let mut cache = Cache::default();
        for i in 0..6 {
            cache.upsert_node(node(&format!("n{i}"), &format!("z{}", i % 3)));
        }
        check(&mut cache);
        // Bound pods of every kind, after the index exists (incremental path).
        for i in 0..12 {
            let n = format!("n{}", i % 6);
            let (labels, extra) = match i % 4 {
                0 => (json!({"color": "anti"}), anti()),
                1 => (json!({"color": "spread", "app": "web"}), json!({})),
                2 => (json!({"app": "web", "color": "anti"}), preferred()),
                _ => (json!({"color": "spread", "app": "db"}), json!({})),
            };
            cache.upsert_pod(pod(&format!("p{i}"), "default", Some(&n), labels, extra));
            check(&mut cache);
        }
        // Same labels in another namespace, and a pod being deleted.
        cache.upsert_pod(pod(
            "other",
            "other",
            Some("n1"),
            json!({"color": "spread"}),
            anti(),
        ));
        let mut deleting = (*pod(
            "del",
            "default",
            Some("n2"),
            json!({"color": "spread"}),
            json!({}),
        ))
        .clone();
        deleting.metadata.deletion_timestamp =
            Some(serde_json::from_value(json!("2026-11-23T00:00:00Z")).expect("time"));
        cache.upsert_pod(Arc::new(deleting));
        check(&mut cache);
        // Assume, then forget; assume, then confirm by a watch event.
        let a = PodInfo::new(pod("a1", "default", None, json!({"color": "anti"}), anti()));
        cache.assume(a, "n3");
        check(&mut cache);
        cache.forget("default/a1");
        check(&mut cache);
        let a = PodInfo::new(pod(
            "a2",
            "default",
            None,
            json!({"color": "spread"}),
            anti(),
        ));
        cache.assume(a, "n4");
        cache.upsert_pod(pod(
            "a2",
            "default",
            Some("n4"),
            json!({"color": "spread"}),
            anti(),
        ));
        check(&mut cache);
        // Relabel (a pod update changing labels), removals.
        cache.upsert_pod(pod(
            "p1",
            "default",
            Some("n1"),
            json!({"color": "anti"}),
            json!({}),
        ));
        check(&mut cache);
        cache.remove_pod("default/p0");
        cache.remove_pod("default/p2");
        check(&mut cache);
        // A pod on a node not known yet, then the node; a node relabelled; a node removed.
        cache.upsert_pod(pod(
            "early",
            "default",
            Some("n9"),
            json!({"color": "anti"}),
            anti(),
        ));
        check(&mut cache);
        cache.upsert_node(node("n9", "z9"));
        check(&mut cache);
        cache.upsert_node(node("n3", "z1"));
        check(&mut cache);
        cache.remove_node("n4");
        check(&mut cache);
        // Terminal pods leave the counts.
        let mut done = (*pod(
            "p5",
            "default",
            Some("n5"),
            json!({"color": "spread"}),
            json!({}),
        ))
        .clone();
        done.status = Some(k8s_openapi::api::core::v1::PodStatus {
            phase: Some("Succeeded".into()),
            ..Default::default()
        });
        cache.upsert_pod(Arc::new(done));
        check(&mut cache);
    }
}
