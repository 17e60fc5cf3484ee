//! Turning desired endpoints into writes with as little churn as possible: every proxy in
//! the cluster watches slices, so a slice that does not change must not be written, an
//! endpoint stays in the slice it is already in, and a slice that would be deleted is reused
//! for one that would be created.
//!
//! Pure functions only; must never call the API.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::discovery::v1::Endpoint;

use super::desired::{MAX_ENDPOINTS_PER_SLICE, PortSet};

/// A slice this controller already wrote for the Service.
#[derive(Debug, Clone)]
pub struct Existing {
    pub name: String,
    pub ports: PortSet,
    pub endpoints: Vec<Endpoint>,
    /// IPv4 and controlled by this very Service (not a deleted namesake): may be rewritten.
    pub reusable: bool,
    /// Its labels are what they should be.
    pub labels_current: bool,
}

/// What one slice should contain.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    pub ports: PortSet,
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub create: Vec<Content>,
    /// Existing slice name → its new content.
    pub update: Vec<(String, Content)>,
    pub delete: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.update.is_empty() && self.delete.is_empty()
    }
}

/// The identity of an endpoint across syncs: its pod, or its address if it has none.
fn identity(e: &Endpoint) -> Option<&str> {
    e.target_ref
        .as_ref()
        .and_then(|r| r.uid.as_deref())
        .or_else(|| e.addresses.first().map(String::as_str))
}

pub fn plan(desired: BTreeMap<PortSet, Vec<Endpoint>>, mut existing: Vec<Existing>) -> Plan {
    existing.sort_by(|a, b| a.name.cmp(&b.name));
    let mut plan = Plan::default();
    let (usable, foreign): (Vec<Existing>, Vec<Existing>) =
        existing.into_iter().partition(|s| s.reusable);
    plan.delete.extend(foreign.into_iter().map(|s| s.name));
    if desired.values().all(Vec::is_empty) {
        placeholder(usable, &mut plan);
        plan.delete.sort();
        return plan;
    }

    let mut by_ports: BTreeMap<PortSet, Vec<Existing>> = BTreeMap::new();
    for s in usable {
        by_ports.entry(s.ports.clone()).or_default().push(s);
    }
    let mut spare: Vec<Existing> = Vec::new();
    let mut fresh: Vec<Content> = Vec::new();
    for (ports, wanted) in desired {
        let slices = by_ports.remove(&ports).unwrap_or_default();
        fill(&ports, wanted, slices, &mut plan, &mut spare, &mut fresh);
    }
    spare.extend(by_ports.into_values().flatten());
    spare.sort_by(|a, b| a.name.cmp(&b.name));

    let mut spare = spare.into_iter();
    for content in fresh {
        match spare.next() {
            Some(s) => plan.update.push((s.name, content)),
            None => plan.create.push(content),
        }
    }
    plan.delete.extend(spare.map(|s| s.name));
    plan.delete.sort();
    plan
}

/// Plans one port set: keeps endpoints where they are, tops up slices that are being written
/// anyway before touching unchanged ones, and puts the rest in new slices. Slices left empty
/// go to `spare`, new slices' contents to `fresh`.
fn fill(
    ports: &PortSet,
    wanted: Vec<Endpoint>,
    slices: Vec<Existing>,
    plan: &mut Plan,
    spare: &mut Vec<Existing>,
    fresh: &mut Vec<Content>,
) {
    let index: HashMap<String, usize> = wanted
        .iter()
        .enumerate()
        .filter_map(|(i, e)| identity(e).map(|id| (id.to_string(), i)))
        .collect();
    let mut unplaced: Vec<Option<Endpoint>> = wanted.into_iter().map(Some).collect();

    // (name, endpoints, must be written)
    let mut kept: Vec<(String, Vec<Endpoint>, bool)> = Vec::new();
    for s in slices {
        let mut eps = Vec::new();
        for e in &s.endpoints {
            if eps.len() == MAX_ENDPOINTS_PER_SLICE {
                break;
            }
            if let Some(d) = identity(e)
                .and_then(|id| index.get(id))
                .and_then(|&i| unplaced.get_mut(i))
                .and_then(Option::take)
            {
                eps.push(d);
            }
        }
        if eps.is_empty() {
            spare.push(s);
            continue;
        }
        let changed = !s.labels_current || eps != s.endpoints;
        kept.push((s.name, eps, changed));
    }

    let mut rest = unplaced.into_iter().flatten();
    for written_anyway in [true, false] {
        for (_, eps, changed) in kept.iter_mut().filter(|k| k.2 == written_anyway) {
            while eps.len() < MAX_ENDPOINTS_PER_SLICE {
                let Some(e) = rest.next() else { break };
                eps.push(e);
                *changed = true;
            }
        }
    }
    let rest: Vec<Endpoint> = rest.collect();
    fresh.extend(rest.chunks(MAX_ENDPOINTS_PER_SLICE).map(|c| Content {
        ports: ports.clone(),
        endpoints: c.to_vec(),
    }));
    plan.update.extend(
        kept.into_iter()
            .filter(|k| k.2)
            .map(|(name, endpoints, _)| {
                (
                    name,
                    Content {
                        ports: ports.clone(),
                        endpoints,
                    },
                )
            }),
    );
}

/// A Service with no endpoints keeps one empty slice, as in Kubernetes, so consumers can tell
/// "no endpoints" from "not yet processed". An existing empty slice is kept as it is.
fn placeholder(mut usable: Vec<Existing>, plan: &mut Plan) {
    let empty = Content {
        ports: PortSet::default(),
        endpoints: Vec::new(),
    };
    let keep = usable
        .iter()
        .position(|s| s.ports.is_empty() && s.endpoints.is_empty())
        .or((!usable.is_empty()).then_some(0));
    match keep.map(|i| usable.remove(i)) {
        Some(s) => {
            if !(s.labels_current && s.ports.is_empty() && s.endpoints.is_empty()) {
                plan.update.push((s.name, empty));
            }
        }
        None => plan.create.push(empty),
    }
    plan.delete.extend(usable.into_iter().map(|s| s.name));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::ports::ResolvedPort;
    use k8s_openapi::api::core::v1::ObjectReference;
    use k8s_openapi::api::discovery::v1::EndpointConditions;

    fn ports(port: i32) -> PortSet {
        PortSet::new(vec![ResolvedPort {
            name: "http".into(),
            protocol: "TCP".into(),
            port,
            app_protocol: None,
        }])
    }

    fn ep(n: usize, ready: bool) -> Endpoint {
        Endpoint {
            addresses: vec![format!("10.0.{}.{}", n / 250, n % 250)],
            conditions: Some(EndpointConditions {
                ready: Some(ready),
                serving: Some(ready),
                terminating: Some(false),
            }),
            target_ref: Some(ObjectReference {
                kind: Some("Pod".into()),
                uid: Some(format!("uid-{n}")),
                ..ObjectReference::default()
            }),
            ..Endpoint::default()
        }
    }

    fn eps(range: std::ops::Range<usize>) -> Vec<Endpoint> {
        range.map(|n| ep(n, true)).collect()
    }

    fn existing(name: &str, ports: PortSet, endpoints: Vec<Endpoint>) -> Existing {
        Existing {
            name: name.into(),
            ports,
            endpoints,
            reusable: true,
            labels_current: true,
        }
    }

    fn desired(groups: Vec<(PortSet, Vec<Endpoint>)>) -> BTreeMap<PortSet, Vec<Endpoint>> {
        groups.into_iter().collect()
    }

    #[test]
    fn new_services_get_slices_of_at_most_100_endpoints() {
        let p = plan(desired(vec![(ports(80), eps(0..250))]), Vec::new());
        let sizes: Vec<usize> = p.create.iter().map(|c| c.endpoints.len()).collect();
        assert_eq!(sizes, [100, 100, 50]);
        assert!(p.update.is_empty() && p.delete.is_empty());
    }

    #[test]
    fn unchanged_slices_are_not_written() {
        let p = plan(
            desired(vec![(ports(80), eps(0..150))]),
            vec![
                existing("a", ports(80), eps(0..100)),
                existing("b", ports(80), eps(100..150)),
            ],
        );
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn a_changed_endpoint_rewrites_only_its_slice() {
        let mut want = eps(0..150);
        want[120] = ep(120, false);
        let p = plan(
            desired(vec![(ports(80), want)]),
            vec![
                existing("a", ports(80), eps(0..100)),
                existing("b", ports(80), eps(100..150)),
            ],
        );
        assert!(p.create.is_empty() && p.delete.is_empty());
        assert_eq!(p.update.len(), 1);
        assert_eq!(p.update[0].0, "b");
        assert_eq!(p.update[0].1.endpoints[20], ep(120, false));
    }

    #[test]
    fn new_endpoints_go_to_a_slice_being_written_before_an_untouched_one() {
        // "a" has room but is unchanged; "b" loses an endpoint and is written anyway.
        let mut want = eps(0..60);
        want.remove(55);
        want.push(ep(999, true));
        let p = plan(
            desired(vec![(ports(80), want)]),
            vec![
                existing("a", ports(80), eps(0..50)),
                existing("b", ports(80), eps(50..60)),
            ],
        );
        assert_eq!(p.update.len(), 1);
        assert_eq!(p.update[0].0, "b");
        assert!(p.update[0].1.endpoints.contains(&ep(999, true)));
        assert!(p.create.is_empty() && p.delete.is_empty());
    }

    #[test]
    fn new_endpoints_fill_an_untouched_slice_with_room_before_a_new_one_is_created() {
        let p = plan(
            desired(vec![(ports(80), eps(0..51))]),
            vec![existing("a", ports(80), eps(0..50))],
        );
        assert_eq!(p.update.len(), 1);
        assert_eq!(p.update[0].1.endpoints, eps(0..51));
        assert!(p.create.is_empty() && p.delete.is_empty());
    }

    #[test]
    fn an_emptied_slice_is_reused_for_endpoints_that_need_a_new_one() {
        let p = plan(
            desired(vec![(ports(80), eps(0..101))]),
            vec![
                existing("a", ports(80), eps(0..100)),
                existing("b", ports(80), eps(500..510)),
            ],
        );
        assert_eq!(p.update.len(), 1);
        assert_eq!(p.update[0].0, "b");
        assert_eq!(p.update[0].1.endpoints, eps(100..101));
        assert!(p.create.is_empty() && p.delete.is_empty());
    }

    #[test]
    fn a_slice_whose_port_set_is_gone_is_reused_rather_than_deleted_and_recreated() {
        let p = plan(
            desired(vec![(ports(8080), eps(0..3))]),
            vec![existing("a", ports(80), eps(0..3))],
        );
        assert_eq!(
            p,
            Plan {
                update: vec![(
                    "a".into(),
                    Content {
                        ports: ports(8080),
                        endpoints: eps(0..3)
                    }
                )],
                ..Plan::default()
            }
        );
    }

    #[test]
    fn surplus_and_foreign_slices_are_deleted() {
        let mut old_owner = existing("z", ports(80), eps(0..1));
        old_owner.reusable = false;
        let p = plan(
            desired(vec![(ports(80), eps(0..1))]),
            vec![
                existing("a", ports(80), eps(0..1)),
                existing("b", ports(80), eps(1..2)),
                old_owner,
            ],
        );
        assert!(p.create.is_empty() && p.update.is_empty());
        assert_eq!(p.delete, ["b", "z"]);
    }

    #[test]
    fn stale_labels_force_a_write() {
        let mut a = existing("a", ports(80), eps(0..2));
        a.labels_current = false;
        let p = plan(desired(vec![(ports(80), eps(0..2))]), vec![a]);
        assert_eq!(p.update.len(), 1);
    }

    #[test]
    fn a_service_without_endpoints_keeps_exactly_one_empty_slice() {
        let p = plan(BTreeMap::new(), Vec::new());
        assert_eq!(p.create.len(), 1);
        assert!(p.create[0].endpoints.is_empty() && p.create[0].ports.is_empty());

        let p = plan(
            BTreeMap::new(),
            vec![
                existing("a", ports(80), eps(0..2)),
                existing("b", PortSet::default(), Vec::new()),
            ],
        );
        assert_eq!(p.delete, ["a"]);
        assert!(p.create.is_empty() && p.update.is_empty());

        let p = plan(BTreeMap::new(), vec![existing("a", ports(80), eps(0..2))]);
        assert_eq!(p.update.len(), 1);
        assert!(p.update[0].1.endpoints.is_empty());
        assert!(p.create.is_empty() && p.delete.is_empty());
    }
}
