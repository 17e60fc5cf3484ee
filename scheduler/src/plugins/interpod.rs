//! InterPodAffinity: required affinity and anti-affinity of the incoming pod, the required
//! anti-affinity of pods already placed (symmetry), and preferred terms for scoring. The counts
//! per topology value come from the cache's incremental index (`prepare_indexed`) or, when it
//! cannot answer, from one scan of the placed pods (`prepare`); either way once per scheduling
//! cycle, so checking a node is a few map lookups.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, PodAffinityTerm};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::selector::{InvalidSelector, matches};
use crate::counts::{Counts, MatchIndex, Matcher};
use crate::model::{NodeInfo, Nodes, PodInfo};

/// Namespace labels, for `namespaceSelector`.
pub type NamespaceLabels = HashMap<String, BTreeMap<String, String>>;

#[derive(Clone)]
pub struct Term {
    /// Identity of the term for the cache's anti-affinity index (weight excluded).
    signature: String,
    selector: Option<LabelSelector>,
    /// Usually one namespace: a short list compares faster than hashing.
    namespaces: Vec<String>,
    namespace_selector: Option<LabelSelector>,
    pub topology_key: String,
    weight: i64,
}

impl Term {
    fn new(t: &PodAffinityTerm, owner_namespace: &str, weight: i64) -> Self {
        let mut namespaces: Vec<String> = t.namespaces.iter().flatten().cloned().collect();
        if namespaces.is_empty() && t.namespace_selector.is_none() {
            namespaces.push(owner_namespace.to_string());
        }
        // Serialising a LabelSelector (strings, maps and lists only) cannot fail.
        let json = |s: &Option<LabelSelector>| serde_json::to_string(s).unwrap_or_default();
        Term {
            signature: format!(
                "{}\u{0}{}\u{0}{}\u{0}{}",
                namespaces.join(","),
                json(&t.label_selector),
                json(&t.namespace_selector),
                t.topology_key
            ),
            selector: t.label_selector.clone(),
            namespaces,
            namespace_selector: t.namespace_selector.clone(),
            topology_key: t.topology_key.clone(),
            weight,
        }
    }

    pub fn signature(&self) -> &str {
        &self.signature
    }

    /// What the cache counts for this term; `None` with a namespace selector, whose answer
    /// depends on namespace labels that may change under the counts.
    fn matcher(&self) -> Option<Matcher> {
        if self.namespace_selector.is_some() {
            return None;
        }
        Some(Matcher {
            namespaces: self.namespaces.clone(),
            selector: self.selector.clone(),
            topology_key: self.topology_key.clone(),
            skip_deleting: false,
        })
    }

    pub fn matches_pod(
        &self,
        pod: &PodInfo,
        ns_labels: &NamespaceLabels,
    ) -> Result<bool, InvalidSelector> {
        let ns_ok = self.namespaces.contains(&pod.namespace)
            || match &self.namespace_selector {
                Some(sel) => matches(Some(sel), ns_labels.get(&pod.namespace))?,
                None => false,
            };
        Ok(ns_ok && matches(self.selector.as_ref(), pod.labels())?)
    }
}

/// A pod's parsed affinity terms, computed once when the pod enters the cache.
#[derive(Default)]
pub struct PodTerms {
    pub affinity: Vec<Term>,
    pub anti: Vec<Term>,
    pub preferred_affinity: Vec<Term>,
    pub preferred_anti: Vec<Term>,
}

impl PodTerms {
    pub fn of(pod: &Pod) -> Self {
        PodTerms {
            affinity: terms(pod, false, true),
            anti: terms(pod, true, true),
            preferred_affinity: terms(pod, false, false),
            preferred_anti: terms(pod, true, false),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.affinity.is_empty()
            && self.anti.is_empty()
            && self.preferred_affinity.is_empty()
            && self.preferred_anti.is_empty()
    }
}

impl std::fmt::Debug for PodTerms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PodTerms({} required, {} anti)",
            self.affinity.len(),
            self.anti.len()
        )
    }
}

fn terms(pod: &Pod, anti: bool, required: bool) -> Vec<Term> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    let Some(aff) = pod.spec.as_ref().and_then(|s| s.affinity.as_ref()) else {
        return Vec::new();
    };
    let (req, pref) = if anti {
        match &aff.pod_anti_affinity {
            Some(a) => (
                &a.required_during_scheduling_ignored_during_execution,
                &a.preferred_during_scheduling_ignored_during_execution,
            ),
            None => return Vec::new(),
        }
    } else {
        match &aff.pod_affinity {
            Some(a) => (
                &a.required_during_scheduling_ignored_during_execution,
                &a.preferred_during_scheduling_ignored_during_execution,
            ),
            None => return Vec::new(),
        }
    };
    if required {
        req.iter().flatten().map(|t| Term::new(t, ns, 1)).collect()
    } else {
        pref.iter()
            .flatten()
            .map(|w| Term::new(&w.pod_affinity_term, ns, w.weight as i64))
            .collect()
    }
}

/// Whether a pod carries any pod (anti-)affinity, so the cache can keep a short list of them.
pub fn has_affinity(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .is_some_and(|a| a.pod_affinity.is_some() || a.pod_anti_affinity.is_some())
}

/// topology key → topology value → number (or weight) of matching pods.
type ByTopology = HashMap<String, Counts>;

fn bump(map: &mut ByTopology, key: &str, value: &str, by: i64) {
    *map.entry(key.to_string())
        .or_default()
        .entry(value.to_string())
        .or_default() += by;
}

fn lookup(map: &ByTopology, node: &NodeInfo) -> i64 {
    map.iter()
        .filter_map(|(key, values)| values.get(node.label(key)?))
        .sum()
}

/// Per topology key, matching pods per value (shared with the cache's index, not copied).
type Keyed = Vec<(String, Arc<Counts>)>;

fn lookup_keyed(list: &Keyed, node: &NodeInfo) -> i64 {
    list.iter()
        .filter_map(|(key, values)| values.get(node.label(key)?))
        .sum()
}

fn keyed(map: ByTopology) -> Keyed {
    map.into_iter().map(|(k, v)| (k, Arc::new(v))).collect()
}

#[derive(Default)]
pub struct State {
    /// Per required affinity term: its topology key and matching pods per value.
    affinity: Keyed,
    anti: Keyed,
    forbidden: Keyed,
    self_affinity_ok: bool,
    preferred: ByTopology,
    pub active: bool,
    pub has_preferred: bool,
}

/// What the cache must count for the incoming pod's own terms; `None` if some term cannot be
/// counted incrementally (the cycle then scans).
pub fn matchers(pod: &PodInfo) -> Option<Vec<Matcher>> {
    let own = &pod.terms;
    own.affinity
        .iter()
        .chain(&own.anti)
        .chain(&own.preferred_affinity)
        .chain(&own.preferred_anti)
        .map(Term::matcher)
        .collect()
}

/// Counts for one of the pod's own terms, from the index.
fn indexed(index: &MatchIndex, t: &Term) -> Option<Arc<Counts>> {
    index.counts(&t.matcher()?.signature()?)
}

/// The same answer as `prepare` from the cache's incremental counts: a few lookups per term
/// instead of a scan of every placed pod. `None` when the index lacks something (the caller
/// scans). `with_preferred` are the placed pods with preferred terms (still scanned: rare).
pub fn prepare_indexed<'a>(
    pod: &PodInfo,
    index: &MatchIndex,
    with_preferred: impl Iterator<Item = (&'a PodInfo, &'a NodeInfo)>,
    ns_labels: &NamespaceLabels,
) -> Option<Result<State, InvalidSelector>> {
    let own = &pod.terms;
    let mut state = State::default();
    let own_terms = !own.is_empty();
    state.has_preferred = !(own.preferred_affinity.is_empty() && own.preferred_anti.is_empty());
    if own_terms {
        let mut self_ok = true;
        for t in &own.affinity {
            match t.matches_pod(pod, ns_labels) {
                Ok(m) => self_ok &= m,
                Err(e) => return Some(Err(e)),
            }
        }
        state.self_affinity_ok = self_ok;
        for t in &own.affinity {
            state
                .affinity
                .push((t.topology_key.clone(), indexed(index, t)?));
        }
        for t in &own.anti {
            state
                .anti
                .push((t.topology_key.clone(), indexed(index, t)?));
        }
        for (terms, sign) in [(&own.preferred_affinity, 1), (&own.preferred_anti, -1)] {
            for t in terms.iter() {
                for (v, n) in indexed(index, t)?.iter() {
                    bump(
                        &mut state.preferred,
                        &t.topology_key,
                        v,
                        sign * t.weight * n,
                    );
                }
            }
        }
    }
    for e in index.anti()? {
        match e.term.matches_pod(pod, ns_labels) {
            Ok(true) => state
                .forbidden
                .push((e.term.topology_key.clone(), e.counts.clone())),
            Ok(false) => {}
            Err(e) => return Some(Err(e)),
        }
    }
    for (existing, node) in with_preferred {
        let theirs = &existing.terms;
        for (terms, sign) in [
            (&theirs.preferred_affinity, 1),
            (&theirs.preferred_anti, -1),
        ] {
            for t in terms.iter() {
                if let Some(v) = node.label(&t.topology_key) {
                    match t.matches_pod(pod, ns_labels) {
                        Ok(true) => {
                            state.has_preferred = true;
                            bump(&mut state.preferred, &t.topology_key, v, sign * t.weight);
                        }
                        Ok(false) => {}
                        Err(e) => return Some(Err(e)),
                    }
                }
            }
        }
    }
    state.active = own_terms || !state.forbidden.is_empty() || state.has_preferred;
    Some(Ok(state))
}

/// Scans placed pods once for the incoming pod. `with_affinity` are the placed pods that carry
/// any pod affinity (for the symmetric checks). Used when the index cannot answer (namespace
/// selectors, the pod itself already placed) and as the reference in tests.
pub fn prepare<'a>(
    pod: &PodInfo,
    nodes: &'a Nodes,
    with_affinity: impl Iterator<Item = (&'a PodInfo, &'a NodeInfo)>,
    ns_labels: &NamespaceLabels,
) -> Result<State, InvalidSelector> {
    let own = &pod.terms;
    let mut state = State::default();
    let own_terms = !own.is_empty();
    state.has_preferred = !(own.preferred_affinity.is_empty() && own.preferred_anti.is_empty());
    let mut affinity: Vec<(String, Counts)> = Vec::new();
    let mut anti = ByTopology::new();
    let mut forbidden = ByTopology::new();
    if own_terms {
        affinity = own
            .affinity
            .iter()
            .map(|t| (t.topology_key.clone(), Counts::default()))
            .collect();
        let mut self_ok = true;
        for t in &own.affinity {
            self_ok &= t.matches_pod(pod, ns_labels)?;
        }
        state.self_affinity_ok = self_ok;
        for node in nodes.values() {
            for existing in node.pods.values() {
                if existing.uid == pod.uid {
                    continue;
                }
                for (i, t) in own.affinity.iter().enumerate() {
                    if let Some(v) = node.label(&t.topology_key)
                        && t.matches_pod(existing, ns_labels)?
                    {
                        *affinity[i].1.entry(v.to_string()).or_default() += 1;
                    }
                }
                for t in &own.anti {
                    if let Some(v) = node.label(&t.topology_key)
                        && t.matches_pod(existing, ns_labels)?
                    {
                        bump(&mut anti, &t.topology_key, v, 1);
                    }
                }
                for (terms, sign) in [(&own.preferred_affinity, 1), (&own.preferred_anti, -1)] {
                    for t in terms.iter() {
                        if let Some(v) = node.label(&t.topology_key)
                            && t.matches_pod(existing, ns_labels)?
                        {
                            bump(&mut state.preferred, &t.topology_key, v, sign * t.weight);
                        }
                    }
                }
            }
        }
    }
    for (existing, node) in with_affinity {
        if existing.uid == pod.uid {
            continue;
        }
        let theirs = &existing.terms;
        for t in &theirs.anti {
            if let Some(v) = node.label(&t.topology_key)
                && t.matches_pod(pod, ns_labels)?
            {
                bump(&mut forbidden, &t.topology_key, v, 1);
            }
        }
        for (terms, sign) in [
            (&theirs.preferred_affinity, 1),
            (&theirs.preferred_anti, -1),
        ] {
            for t in terms.iter() {
                if let Some(v) = node.label(&t.topology_key)
                    && t.matches_pod(pod, ns_labels)?
                {
                    state.has_preferred = true;
                    bump(&mut state.preferred, &t.topology_key, v, sign * t.weight);
                }
            }
        }
    }
    state.affinity = affinity
        .into_iter()
        .map(|(k, v)| (k, Arc::new(v)))
        .collect();
    state.anti = keyed(anti);
    state.forbidden = keyed(forbidden);
    state.active = own_terms || !state.forbidden.is_empty() || state.has_preferred;
    Ok(state)
}

/// Topology key → value → sum, zero sums dropped: equal for equal filter/score answers.
#[cfg(test)]
pub type Summary = BTreeMap<String, BTreeMap<String, i64>>;

#[cfg(test)]
fn summarize<'a>(entries: impl Iterator<Item = (&'a String, &'a Counts)>) -> Summary {
    let mut out = Summary::new();
    for (k, values) in entries {
        for (v, n) in values {
            *out.entry(k.clone())
                .or_default()
                .entry(v.clone())
                .or_default() += n;
        }
    }
    for values in out.values_mut() {
        values.retain(|_, n| *n != 0);
    }
    out.retain(|_, values| !values.is_empty());
    out
}

#[cfg(test)]
impl State {
    /// Everything `filter` and `score` read, normalised so the index and the scan compare.
    pub fn summary(&self) -> (Vec<(String, Summary)>, Summary, Summary, Summary, [bool; 3]) {
        let affinity = self
            .affinity
            .iter()
            .map(|(k, c)| (k.clone(), summarize(std::iter::once((k, c.as_ref())))))
            .collect();
        (
            affinity,
            summarize(self.anti.iter().map(|(k, c)| (k, c.as_ref()))),
            summarize(self.forbidden.iter().map(|(k, c)| (k, c.as_ref()))),
            summarize(self.preferred.iter()),
            [self.self_affinity_ok, self.active, self.has_preferred],
        )
    }
}

/// The reason a node fails, if it does.
pub fn filter(state: &State, node: &NodeInfo) -> Option<&'static str> {
    if !state.active {
        return None;
    }
    let nobody_matches = state.affinity.iter().all(|(_, counts)| counts.is_empty());
    for (key, counts) in &state.affinity {
        let ok = match node.label(key) {
            Some(v) => {
                counts.get(v).is_some_and(|c| *c > 0) || (nobody_matches && state.self_affinity_ok)
            }
            None => false,
        };
        if !ok {
            return Some("node(s) didn't match pod affinity rules");
        }
    }
    if lookup_keyed(&state.anti, node) > 0 {
        return Some("node(s) didn't match pod anti-affinity rules");
    }
    if lookup_keyed(&state.forbidden, node) > 0 {
        return Some("node(s) didn't satisfy existing pods anti-affinity rules");
    }
    None
}

/// Raw preferred-affinity score (normalized across nodes by the caller).
pub fn score(state: &State, node: &NodeInfo) -> i64 {
    if !state.has_preferred {
        return 0;
    }
    lookup(&state.preferred, node)
}
