//! NetworkPolicy (networking.k8s.io/v1) enforced with nftables in the node namespace.
//!
//! Pod traffic crosses the node namespace's forward hook — routed between node bridges, and
//! bridged within one because br_netfilter hands bridged IPv4 to the same hooks — after any
//! service DNAT, so rules see real pod addresses. A pod selected by a policy of a type is
//! isolated in that direction: its packets must match one rule of one such policy, else they
//! are dropped; pods no policy selects are untouched (default allow). Replies of allowed
//! connections pass by conntrack state. Traffic the node itself originates (probes run
//! inside the pod namespace anyway, NodePorts from 127.0.0.1) is not subject to policy.
//!
//! Egress rules with named ports resolve the name against every pod that could be a
//! destination, since the destination is not known when the rule is written.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::core::{Selector, SelectorExt};

pub const TABLE: &str = "capstan-policy";

/// The facts about one pod that policies look at.
#[derive(Debug, Clone)]
pub struct PodInfo {
    pub ip: Ipv4Addr,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    /// Container port name → (protocol, number).
    pub ports: Vec<(String, String, u16)>,
}

impl PodInfo {
    pub fn from_pod(p: &Pod) -> Option<PodInfo> {
        let spec = p.spec.as_ref()?;
        if spec.host_network.unwrap_or(false) {
            return None;
        }
        let status = p.status.as_ref()?;
        if matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
            return None;
        }
        let ip: Ipv4Addr = status.pod_ip.as_deref()?.parse().ok()?;
        let ports = spec
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().flatten())
            .filter_map(|cp| {
                let name = cp.name.clone()?;
                let proto = cp.protocol.as_deref().unwrap_or("TCP").to_lowercase();
                Some((name, proto, u16::try_from(cp.container_port).ok()?))
            })
            .collect();
        Some(PodInfo {
            ip,
            namespace: p.metadata.namespace.clone().unwrap_or_default(),
            labels: p.metadata.labels.clone().unwrap_or_default(),
            ports,
        })
    }
}

/// `a.b.c.d/n` re-rendered from its parsed parts, or None.
fn ipv4_cidr(s: &str) -> Option<String> {
    let (ip, len) = s.split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
    Some(format!("{ip}/{len}"))
}

fn selects(sel: Option<&LabelSelector>, labels: &BTreeMap<String, String>) -> bool {
    let Some(sel) = sel else {
        return true;
    };
    // A selector that cannot be parsed selects nothing rather than everything.
    Selector::try_from(sel.clone()).is_ok_and(|s| s.matches(labels))
}

enum Peer {
    Anyone,
    Ips(BTreeSet<Ipv4Addr>),
    Block { cidr: String, except: Vec<String> },
}

struct World<'a> {
    pods: &'a [PodInfo],
    ns_labels: BTreeMap<String, BTreeMap<String, String>>,
}

impl World<'_> {
    fn peer(&self, policy_ns: &str, p: &NetworkPolicyPeer) -> Peer {
        if let Some(b) = &p.ip_block {
            // Only what parses as an IPv4 network reaches the nft script; an IPv6 block cannot
            // match IPv4 pods, and anything else allows nothing.
            let Some(cidr) = ipv4_cidr(&b.cidr) else {
                return Peer::Ips(BTreeSet::new());
            };
            let except: Option<Vec<String>> =
                b.except.iter().flatten().map(|e| ipv4_cidr(e)).collect();
            return match except {
                Some(except) => Peer::Block { cidr, except },
                None => Peer::Ips(BTreeSet::new()),
            };
        }
        let empty = BTreeMap::new();
        let ips = self
            .pods
            .iter()
            .filter(|pod| match &p.namespace_selector {
                Some(ns_sel) => selects(
                    Some(ns_sel),
                    self.ns_labels.get(&pod.namespace).unwrap_or(&empty),
                ),
                None => pod.namespace == policy_ns,
            })
            .filter(|pod| selects(p.pod_selector.as_ref(), &pod.labels))
            .map(|pod| pod.ip)
            .collect();
        Peer::Ips(ips)
    }
}

/// `tcp dport 80`-style matches for a rule's ports; `candidates` resolve named ports.
fn port_matches(ports: Option<&Vec<NetworkPolicyPort>>, candidates: &[&PodInfo]) -> Vec<String> {
    let Some(ports) = ports.filter(|p| !p.is_empty()) else {
        return vec![String::new()];
    };
    let mut out = BTreeSet::new();
    for p in ports {
        let proto = p.protocol.as_deref().unwrap_or("TCP").to_lowercase();
        if !["tcp", "udp", "sctp"].contains(&proto.as_str()) {
            continue;
        }
        match &p.port {
            None => {
                out.insert(format!("meta l4proto {proto}"));
            }
            Some(IntOrString::Int(n)) => match p.end_port {
                Some(end) if end >= *n => {
                    out.insert(format!("{proto} dport {n}-{end}"));
                }
                _ => {
                    out.insert(format!("{proto} dport {n}"));
                }
            },
            Some(IntOrString::String(name)) => {
                for pod in candidates {
                    for (pname, pproto, num) in &pod.ports {
                        if pname == name && *pproto == proto {
                            out.insert(format!("{proto} dport {num}"));
                        }
                    }
                }
            }
        }
    }
    // Named ports that resolve to nothing allow nothing.
    out.into_iter().collect()
}

fn ip_set(ips: &BTreeSet<Ipv4Addr>) -> String {
    let list: Vec<String> = ips.iter().map(Ipv4Addr::to_string).collect();
    format!("{{ {} }}", list.join(", "))
}

/// The accept rules (as `return`s) for one direction of one pod.
fn rules(dir: &str, peers: Vec<Peer>, ports: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    for peer in peers {
        let m = match peer {
            Peer::Anyone => String::new(),
            Peer::Ips(ips) if ips.is_empty() => continue,
            Peer::Ips(ips) => format!("ip {dir} {} ", ip_set(&ips)),
            Peer::Block { cidr, except } if except.is_empty() => format!("ip {dir} {cidr} "),
            Peer::Block { cidr, except } => {
                format!("ip {dir} {cidr} ip {dir} != {{ {} }} ", except.join(", "))
            }
        };
        for p in &ports {
            out.push(
                format!("{m}{p} return")
                    .replace("  ", " ")
                    .trim()
                    .to_string(),
            );
        }
    }
    out
}

/// The whole policy table, replaced atomically each time (policies are few and small).
pub fn script(
    policies: &[Arc<NetworkPolicy>],
    pods: &[PodInfo],
    namespaces: &[Arc<Namespace>],
) -> String {
    let world = World {
        pods,
        ns_labels: namespaces
            .iter()
            .map(|n| {
                (
                    n.metadata.name.clone().unwrap_or_default(),
                    n.metadata.labels.clone().unwrap_or_default(),
                )
            })
            .collect(),
    };
    // Target pod IP → rules, per direction; presence means isolated.
    let mut ingress: BTreeMap<Ipv4Addr, Vec<String>> = BTreeMap::new();
    let mut egress: BTreeMap<Ipv4Addr, Vec<String>> = BTreeMap::new();
    let all: Vec<&PodInfo> = pods.iter().collect();
    for pol in policies {
        let (Some(ns), Some(spec)) = (pol.metadata.namespace.as_deref(), pol.spec.as_ref()) else {
            continue;
        };
        // Kubernetes' defaulting: Ingress always, Egress when there are egress rules.
        let types: Vec<String> = spec
            .policy_types
            .clone()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| {
                let mut t = vec!["Ingress".to_string()];
                if spec.egress.as_ref().is_some_and(|e| !e.is_empty()) {
                    t.push("Egress".into());
                }
                t
            });
        let targets: Vec<&PodInfo> = pods
            .iter()
            .filter(|p| p.namespace == ns && selects(spec.pod_selector.as_ref(), &p.labels))
            .collect();
        for t in &targets {
            if types.iter().any(|x| x == "Ingress") {
                let entry = ingress.entry(t.ip).or_default();
                for rule in spec.ingress.iter().flatten() {
                    let peers = match rule.from.as_ref().filter(|f| !f.is_empty()) {
                        None => vec![Peer::Anyone],
                        Some(from) => from.iter().map(|p| world.peer(ns, p)).collect(),
                    };
                    let ports = port_matches(rule.ports.as_ref(), &[*t]);
                    entry.extend(rules("saddr", peers, ports));
                }
            }
            if types.iter().any(|x| x == "Egress") {
                let entry = egress.entry(t.ip).or_default();
                for rule in spec.egress.iter().flatten() {
                    let peers = match rule.to.as_ref().filter(|f| !f.is_empty()) {
                        None => vec![Peer::Anyone],
                        Some(to) => to.iter().map(|p| world.peer(ns, p)).collect(),
                    };
                    let ports = port_matches(rule.ports.as_ref(), &all);
                    entry.extend(rules("daddr", peers, ports));
                }
            }
        }
    }
    let mut chains = String::new();
    let mut dispatch = Vec::new();
    for (dir, key, map) in [("egress", "saddr", &egress), ("ingress", "daddr", &ingress)] {
        if map.is_empty() {
            continue;
        }
        let mut verdicts = Vec::new();
        for (i, (ip, rules)) in map.iter().enumerate() {
            let name = format!("{dir}-{i}");
            chains.push_str(&format!("  chain {name} {{\n"));
            let mut unique = BTreeSet::new();
            for r in rules {
                if unique.insert(r) {
                    chains.push_str(&format!("    {r};\n"));
                }
            }
            chains.push_str("    drop;\n  }\n");
            verdicts.push(format!("{ip} : jump {name}"));
        }
        dispatch.push(format!(
            "    ip {key} vmap {{ {} }};\n",
            verdicts.join(", ")
        ));
    }
    format!(
        "add table ip {TABLE}\ndelete table ip {TABLE}\ntable ip {TABLE} {{\n{chains}  chain forward {{\n    type filter hook forward priority 0; policy accept;\n    ct state established,related accept;\n{}  }}\n}}\n",
        dispatch.concat()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(ip: &str, ns: &str, labels: serde_json::Value) -> PodInfo {
        PodInfo {
            ip: ip.parse().unwrap_or_else(|e| panic!("{e}")),
            namespace: ns.into(),
            labels: serde_json::from_value(labels).unwrap_or_else(|e| panic!("{e}")),
            ports: vec![("http".into(), "tcp".into(), 8080)],
        }
    }

    fn policy(v: serde_json::Value) -> Arc<NetworkPolicy> {
        Arc::new(serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}")))
    }

    fn ns(name: &str, labels: serde_json::Value) -> Arc<Namespace> {
        Arc::new(
            serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}}))
                .unwrap_or_else(|e| panic!("{e}")),
        )
    }

    #[test]
    fn no_policy_isolates_nothing() {
        let s = script(&[], &[pod("10.244.0.2", "a", json!({}))], &[]);
        assert!(!s.contains("vmap"), "{s}");
        assert!(s.contains("policy accept"));
    }

    #[test]
    fn deny_all_then_allow_from_selected_pods_on_a_named_port() {
        let pods = vec![
            pod("10.244.0.2", "a", json!({"app": "db"})),
            pod("10.244.0.3", "a", json!({"app": "web"})),
            pod("10.244.1.4", "b", json!({"app": "web"})),
        ];
        let deny = policy(json!({"metadata": {"name": "deny", "namespace": "a"},
            "spec": {"podSelector": {"matchLabels": {"app": "db"}}}}));
        let s = script(std::slice::from_ref(&deny), &pods, &[]);
        assert!(
            s.contains("ip daddr vmap { 10.244.0.2 : jump ingress-0 }"),
            "{s}"
        );
        assert!(s.contains("chain ingress-0 {\n    drop;\n  }"), "{s}");
        let allow = policy(json!({"metadata": {"name": "allow", "namespace": "a"},
            "spec": {"podSelector": {"matchLabels": {"app": "db"}},
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}},
                                      {"namespaceSelector": {"matchLabels": {"team": "b"}}}],
                             "ports": [{"port": "http"}]}]}}));
        let s = script(
            &[deny, allow],
            &pods,
            &[ns("a", json!({})), ns("b", json!({"team": "b"}))],
        );
        assert!(
            s.contains("ip saddr { 10.244.0.3 } tcp dport 8080 return;"),
            "{s}"
        );
        assert!(
            s.contains("ip saddr { 10.244.1.4 } tcp dport 8080 return;"),
            "{s}"
        );
    }

    #[test]
    fn egress_with_ip_block_except() {
        let pods = vec![pod("10.244.0.2", "a", json!({"app": "job"}))];
        let p = policy(json!({"metadata": {"name": "out", "namespace": "a"},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"],
                "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.96.0.0/12"]}}],
                            "ports": [{"protocol": "UDP", "port": 53}, {"port": 8000, "endPort": 8080}]}]}}));
        let s = script(&[p], &pods, &[]);
        assert!(
            s.contains("ip saddr vmap { 10.244.0.2 : jump egress-0 }"),
            "{s}"
        );
        assert!(
            s.contains("ip daddr 10.0.0.0/8 ip daddr != { 10.96.0.0/12 } udp dport 53 return;"),
            "{s}"
        );
        assert!(s.contains("tcp dport 8000-8080 return;"), "{s}");
        assert!(!s.contains("ingress-"), "{s}");
    }

    #[test]
    fn malformed_or_ipv6_blocks_and_odd_protocols_allow_nothing() {
        let pods = vec![pod("10.244.0.2", "a", json!({"app": "db"}))];
        let p = policy(json!({"metadata": {"name": "x", "namespace": "a"},
            "spec": {"podSelector": {}, "ingress": [
                {"from": [{"ipBlock": {"cidr": "0.0.0.0/0 return; } } flush ruleset; table ip x { chain y {"}},
                          {"ipBlock": {"cidr": "::/0"}},
                          {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["bogus"]}}]},
                {"ports": [{"protocol": "ICMP; flush ruleset", "port": 1}]}]}}));
        let s = script(&[p], &pods, &[]);
        assert!(!s.contains("flush ruleset"), "{s}");
        assert!(!s.contains("::/0") && !s.contains("10.0.0.0/8"), "{s}");
        assert!(s.contains("chain ingress-0 {\n    drop;\n  }"), "{s}");
    }
}
