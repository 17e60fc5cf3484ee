//! kube-scheduler's system default spreading (PodTopologySpread `defaultingType: System`): a
//! pod without topology spread constraints of its own, selected by a Service or controlled by a
//! ReplicaSet or StatefulSet, is spread softly across hostnames (maxSkew 3) and zones
//! (maxSkew 5), counting the pods that the union of those selectors matches. This is what makes
//! a Deployment's replicas land on different nodes and zones even when resources alone would
//! stack them.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{Service, TopologySpreadConstraint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::model::PodInfo;

/// The workload controllers whose selector joins the default one, as kube-scheduler's
/// `DefaultSelector` (ReplicationControllers too there; Capstan does not serve them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Controller {
    ReplicaSet,
    StatefulSet,
}

impl Controller {
    fn of(api_version: &str, kind: &str) -> Option<Controller> {
        match (api_version, kind) {
            ("apps/v1", "ReplicaSet") => Some(Controller::ReplicaSet),
            ("apps/v1", "StatefulSet") => Some(Controller::StatefulSet),
            _ => None,
        }
    }
}

/// (hostname, maxSkew 3) and (zone, maxSkew 5), both ScheduleAnyway.
const SYSTEM: [(&str, i32); 2] = [
    ("kubernetes.io/hostname", 3),
    ("topology.kubernetes.io/zone", 5),
];

#[derive(Default)]
pub struct SpreadDefaults {
    /// Non-empty Service selectors by namespace, then Service name.
    services: HashMap<String, HashMap<String, BTreeMap<String, String>>>,
    /// Controller selectors by kind, namespace and name.
    controllers: HashMap<(Controller, String, String), LabelSelector>,
}

impl SpreadDefaults {
    pub fn upsert_service(&mut self, svc: &Service) {
        let ns = svc.metadata.namespace.clone().unwrap_or_default();
        let name = svc.metadata.name.clone().unwrap_or_default();
        // A Service without a selector selects no pod (its endpoints are managed by hand).
        match svc.spec.as_ref().and_then(|s| s.selector.clone()) {
            Some(sel) if !sel.is_empty() => {
                self.services.entry(ns).or_default().insert(name, sel);
            }
            _ => self.remove_service(&ns, &name),
        }
    }

    pub fn remove_service(&mut self, namespace: &str, name: &str) {
        if let Some(by_name) = self.services.get_mut(namespace) {
            by_name.remove(name);
            if by_name.is_empty() {
                self.services.remove(namespace);
            }
        }
    }

    pub fn upsert_controller(
        &mut self,
        kind: Controller,
        namespace: &str,
        name: &str,
        selector: Option<LabelSelector>,
    ) {
        let key = (kind, namespace.to_string(), name.to_string());
        match selector {
            Some(sel) => {
                self.controllers.insert(key, sel);
            }
            None => {
                self.controllers.remove(&key);
            }
        }
    }

    pub fn remove_controller(&mut self, kind: Controller, namespace: &str, name: &str) {
        self.controllers
            .remove(&(kind, namespace.to_string(), name.to_string()));
    }

    /// The selector of the pods to spread this pod against: every selecting Service's labels,
    /// plus its controller's selector; `None` when nothing selects the pod.
    fn selector(&self, pod: &PodInfo) -> Option<LabelSelector> {
        let labels = pod.labels();
        let mut match_labels = BTreeMap::new();
        for sel in self
            .services
            .get(&pod.namespace)
            .into_iter()
            .flat_map(|m| m.values())
        {
            let selects = sel
                .iter()
                .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v));
            if selects {
                match_labels.extend(sel.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        let mut match_expressions = Vec::new();
        let owner = pod
            .pod
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true));
        if let Some(owner) = owner
            && let Some(kind) = Controller::of(&owner.api_version, &owner.kind)
            && let Some(sel) =
                self.controllers
                    .get(&(kind, pod.namespace.clone(), owner.name.clone()))
        {
            // Both select this pod, so equal keys carry equal values: merging loses nothing.
            match_labels.extend(
                sel.match_labels
                    .iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
            match_expressions.extend(sel.match_expressions.iter().flatten().cloned());
        }
        if match_labels.is_empty() && match_expressions.is_empty() {
            return None;
        }
        Some(LabelSelector {
            match_labels: (!match_labels.is_empty()).then_some(match_labels),
            match_expressions: (!match_expressions.is_empty()).then_some(match_expressions),
        })
    }

    /// The system default constraints for a pod that has none of its own (empty when nothing
    /// selects it, or when it has its own).
    pub fn constraints(&self, pod: &PodInfo) -> Vec<TopologySpreadConstraint> {
        let own = pod
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.topology_spread_constraints.as_ref())
            .is_some_and(|c| !c.is_empty());
        if own {
            return Vec::new();
        }
        let Some(selector) = self.selector(pod) else {
            return Vec::new();
        };
        SYSTEM
            .iter()
            .map(|(key, skew)| TopologySpreadConstraint {
                topology_key: key.to_string(),
                max_skew: *skew,
                when_unsatisfiable: "ScheduleAnyway".into(),
                label_selector: Some(selector.clone()),
                ..Default::default()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;

    fn pod(
        labels: serde_json::Value,
        owner: Option<(&str, &str)>,
        own: bool,
    ) -> std::sync::Arc<PodInfo> {
        let mut p = json!({"metadata": {"name": "p", "namespace": "ns", "labels": labels},
            "spec": {"containers": []}});
        if let Some((kind, name)) = owner {
            p["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": kind,
                "name": name, "uid": "u", "controller": true}]);
        }
        if own {
            p["spec"]["topologySpreadConstraints"] = json!([{"maxSkew": 1,
                "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}]);
        }
        let p: Pod = serde_json::from_value(p).unwrap_or_default();
        PodInfo::new(std::sync::Arc::new(p))
    }

    fn service(ns: &str, name: &str, selector: serde_json::Value) -> Service {
        serde_json::from_value(json!({"metadata": {"name": name, "namespace": ns},
            "spec": {"selector": selector}}))
        .unwrap_or_default()
    }

    #[test]
    fn services_and_the_controller_make_the_selector() {
        let mut d = SpreadDefaults::default();
        d.upsert_service(&service("ns", "web", json!({"app": "web"})));
        d.upsert_service(&service("ns", "all-web", json!({"tier": "front"})));
        d.upsert_service(&service("ns", "db", json!({"app": "db"})));
        d.upsert_service(&service("other", "web", json!({"zone": "x"})));
        let sel: LabelSelector = serde_json::from_value(json!({
            "matchLabels": {"app": "web", "pod-template-hash": "h1"},
            "matchExpressions": [{"key": "track", "operator": "NotIn", "values": ["canary"]}]}))
        .unwrap_or_default();
        d.upsert_controller(Controller::ReplicaSet, "ns", "web-h1", Some(sel));
        let p = pod(
            json!({"app": "web", "tier": "front", "pod-template-hash": "h1"}),
            Some(("ReplicaSet", "web-h1")),
            false,
        );
        let c = d.constraints(&p);
        assert_eq!(c.len(), 2);
        assert_eq!(
            (c[0].topology_key.as_str(), c[0].max_skew),
            ("kubernetes.io/hostname", 3)
        );
        assert_eq!(
            (c[1].topology_key.as_str(), c[1].max_skew),
            ("topology.kubernetes.io/zone", 5)
        );
        assert!(c.iter().all(|c| c.when_unsatisfiable == "ScheduleAnyway"));
        let got = serde_json::to_value(&c[0].label_selector).unwrap_or_default();
        assert_eq!(
            got,
            json!({"matchLabels": {"app": "web", "tier": "front", "pod-template-hash": "h1"},
                "matchExpressions": [{"key": "track", "operator": "NotIn", "values": ["canary"]}]})
        );
        // Its own constraints win; nothing selecting it means no defaults.
        assert!(
            d.constraints(&pod(json!({"app": "web"}), None, true))
                .is_empty()
        );
        assert!(
            d.constraints(&pod(json!({"app": "cache"}), None, false))
                .is_empty()
        );
        // An owner Capstan does not know about (or a non-controller kind) adds nothing.
        assert!(
            d.constraints(&pod(
                json!({"app": "x"}),
                Some(("ReplicaSet", "gone")),
                false
            ))
            .is_empty()
        );
        // Removing the Service removes its part.
        d.remove_service("ns", "all-web");
        let c = d.constraints(&p);
        let got = serde_json::to_value(&c[0].label_selector).unwrap_or_default();
        assert_eq!(
            got["matchLabels"],
            json!({"app": "web", "pod-template-hash": "h1"})
        );
        // A selector-less Service selects nothing.
        d.upsert_service(&service("ns", "web", json!({})));
        d.remove_controller(Controller::ReplicaSet, "ns", "web-h1");
        assert!(d.constraints(&p).is_empty());
    }
}
