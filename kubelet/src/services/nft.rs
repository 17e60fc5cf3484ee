//! The node proxy's nftables program, in the shape kube-proxy's nftables mode uses: one
//! verdict map from (virtual IP, protocol, port) to a chain per service port, one from
//! (protocol, node port) for NodePorts on every local address (127.0.0.1 included), a chain
//! per endpoint that DNATs, random spread with `numgen`, ClientIP affinity with per-endpoint
//! timeout sets, and a reject for services that have no endpoints (a refused connection
//! rather than one that hangs).
//!
//! [`Ruleset`] is the desired state as plain data; [`script`] turns the difference between
//! what is installed and what is wanted into one `nft -f` transaction, so an endpoint change
//! rewrites one or two chains instead of the table.

use std::collections::{BTreeMap, BTreeSet};

use super::model::ServicePort;

pub const TABLE: &str = "capstan-proxy";
/// Marks packets to be masqueraded on the way out (hairpin, NodePort).
const MASQ_MARK: &str = "0x4000";

const SERVICE_IPS: &str = "service-ips";
const NODE_PORTS: &str = "service-nodeports";
const NO_EP_IPS: &str = "no-endpoint-services";
const NO_EP_NODE_PORTS: &str = "no-endpoint-nodeports";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ruleset {
    /// Service, endpoint and NodePort chains: name → rules.
    pub chains: BTreeMap<String, Vec<String>>,
    /// Verdict map → key → verdict.
    pub maps: BTreeMap<&'static str, BTreeMap<String, String>>,
    /// ClientIP affinity sets: name → timeout seconds.
    pub sets: BTreeMap<String, u32>,
}

fn hash(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

impl Ruleset {
    pub fn build(ports: &[ServicePort]) -> Ruleset {
        let mut r = Ruleset::default();
        for m in [SERVICE_IPS, NODE_PORTS, NO_EP_IPS, NO_EP_NODE_PORTS] {
            r.maps.insert(m, BTreeMap::new());
        }
        for p in ports {
            r.add_port(p);
        }
        r
    }

    fn map(&mut self, name: &'static str) -> &mut BTreeMap<String, String> {
        self.maps.entry(name).or_default()
    }

    fn add_port(&mut self, p: &ServicePort) {
        let key = p.key();
        let id = hash(&key);
        let proto = p.protocol.as_str();
        let endpoints = p.usable();
        if endpoints.is_empty() {
            if let Some(ip) = p.cluster_ip {
                self.map(NO_EP_IPS).insert(
                    format!("{ip} . {proto} . {}", p.port),
                    "goto reject-chain".into(),
                );
            }
            if let Some(np) = p.node_port {
                self.map(NO_EP_NODE_PORTS)
                    .insert(format!("{proto} . {np}"), "goto reject-chain".into());
            }
            return;
        }
        let svc_chain = format!("svc-{id}");
        let mut svc_rules = Vec::new();
        let mut targets = Vec::new();
        for ep in &endpoints {
            let ep_id = hash(&format!("{key}|{}:{}", ep.ip, ep.port));
            let ep_chain = format!("ep-{ep_id}");
            let mut rules = vec![format!("ip saddr {} jump mark-for-masquerade", ep.ip)];
            if let Some(timeout) = p.affinity_seconds {
                let set = format!("affinity-{ep_id}");
                self.sets.insert(set.clone(), timeout.max(1));
                svc_rules.push(format!("ip saddr @{set} goto {ep_chain}"));
                rules.push(format!("update @{set} {{ ip saddr }}"));
            }
            rules.push(format!(
                "meta l4proto {proto} dnat to {}:{}",
                ep.ip, ep.port
            ));
            self.chains.insert(ep_chain.clone(), rules);
            targets.push(ep_chain);
        }
        let spread = targets
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{i} : goto {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        svc_rules.push(format!(
            "numgen random mod {} vmap {{ {spread} }}",
            targets.len()
        ));
        self.chains.insert(svc_chain.clone(), svc_rules);
        if let Some(ip) = p.cluster_ip {
            self.map(SERVICE_IPS).insert(
                format!("{ip} . {proto} . {}", p.port),
                format!("goto {svc_chain}"),
            );
        }
        if let Some(np) = p.node_port {
            let ext = format!("nodeport-{id}");
            // Traffic from outside the pod network (and from 127.0.0.1, which cannot leave
            // the loopback otherwise) is masqueraded so replies come back through this node.
            self.chains.insert(
                ext.clone(),
                vec![
                    "jump mark-for-masquerade".into(),
                    format!("goto {svc_chain}"),
                ],
            );
            self.map(NODE_PORTS)
                .insert(format!("{proto} . {np}"), format!("goto {ext}"));
        }
    }

    /// Whether some endpoint chain DNATs to `target` (`ip:port`).
    pub fn dnats_to(&self, target: &str) -> bool {
        let want = format!("dnat to {target}");
        self.chains
            .values()
            .any(|rules| rules.iter().any(|r| r.ends_with(&want)))
    }

    pub fn endpoint_chains(&self) -> usize {
        self.chains.keys().filter(|c| c.starts_with("ep-")).count()
    }
}

/// The fixed part of the table: hooks, maps and helper chains. `route_localnet` (needed for
/// NodePorts on 127.0.0.1) would also let pods and neighbours reach services bound to the
/// node's loopback; the first prerouting rule drops such packets (CVE-2020-8558).
fn base() -> String {
    format!(
        "table ip {TABLE} {{
  map {SERVICE_IPS} {{ type ipv4_addr . inet_proto . inet_service : verdict; }}
  map {NODE_PORTS} {{ type inet_proto . inet_service : verdict; }}
  map {NO_EP_IPS} {{ type ipv4_addr . inet_proto . inet_service : verdict; }}
  map {NO_EP_NODE_PORTS} {{ type inet_proto . inet_service : verdict; }}
  chain reject-chain {{ reject; }}
  chain endpoints-check {{
    ip daddr . meta l4proto . th dport vmap @{NO_EP_IPS};
    fib daddr type local meta l4proto . th dport vmap @{NO_EP_NODE_PORTS};
  }}
  chain filter-prerouting {{
    type filter hook prerouting priority -110; policy accept;
    ip daddr 127.0.0.0/8 ip saddr != 127.0.0.0/8 drop;
    ct state new jump endpoints-check;
  }}
  chain filter-output {{ type filter hook output priority -110; policy accept; ct state new jump endpoints-check; }}
  chain mark-for-masquerade {{ meta mark set meta mark | {MASQ_MARK}; }}
  chain masquerading {{
    meta mark & {MASQ_MARK} == 0 return;
    meta mark set meta mark ^ {MASQ_MARK};
    masquerade fully-random;
  }}
  chain services {{
    ip daddr . meta l4proto . th dport vmap @{SERVICE_IPS};
    fib daddr type local meta l4proto . th dport vmap @{NODE_PORTS};
  }}
  chain nat-prerouting {{ type nat hook prerouting priority -100; policy accept; jump services; }}
  chain nat-output {{ type nat hook output priority -100; policy accept; jump services; }}
  chain nat-postrouting {{ type nat hook postrouting priority 100; policy accept; jump masquerading; }}
}}
"
    )
}

/// One transaction taking the table from `from` to `to`; `None` for `from` rebuilds the
/// whole table (first sync, or after a failure left its state unknown).
pub fn script(from: Option<&Ruleset>, to: &Ruleset) -> String {
    let empty = Ruleset::default();
    let mut out = String::new();
    let from = match from {
        Some(f) => f,
        None => {
            // `add` first so `delete` cannot fail on a missing table.
            out.push_str(&format!("add table ip {TABLE}\ndelete table ip {TABLE}\n"));
            out.push_str(&base());
            &empty
        }
    };
    let t = TABLE;
    for (set, timeout) in &to.sets {
        if from.sets.get(set) != Some(timeout) {
            if from.sets.contains_key(set) {
                // Timeouts cannot be changed in place; a new set forgets affinities, which
                // is what a changed timeout asks for anyway.
                out.push_str(&format!("delete set ip {t} {set}\n"));
            }
            out.push_str(&format!(
                "add set ip {t} {set} {{ type ipv4_addr; flags dynamic,timeout; timeout {timeout}s; }}\n"
            ));
        }
    }
    for name in to.chains.keys() {
        if !from.chains.contains_key(name) {
            out.push_str(&format!("add chain ip {t} {name}\n"));
        }
    }
    for (name, rules) in &to.chains {
        if from.chains.get(name) == Some(rules) {
            continue;
        }
        if from.chains.contains_key(name) {
            out.push_str(&format!("flush chain ip {t} {name}\n"));
        }
        for r in rules {
            out.push_str(&format!("add rule ip {t} {name} {r}\n"));
        }
    }
    let no_map = BTreeMap::new();
    let map_names: BTreeSet<&&str> = from.maps.keys().chain(to.maps.keys()).collect();
    for m in &map_names {
        let old = from.maps.get(**m).unwrap_or(&no_map);
        let new = to.maps.get(**m).unwrap_or(&no_map);
        for (k, v) in old {
            if new.get(k) != Some(v) {
                out.push_str(&format!("delete element ip {t} {m} {{ {k} }}\n"));
            }
        }
    }
    for m in &map_names {
        let old = from.maps.get(**m).unwrap_or(&no_map);
        let new = to.maps.get(**m).unwrap_or(&no_map);
        for (k, v) in new {
            if old.get(k) != Some(v) {
                out.push_str(&format!("add element ip {t} {m} {{ {k} : {v} }}\n"));
            }
        }
    }
    let gone: Vec<&String> = from
        .chains
        .keys()
        .filter(|c| !to.chains.contains_key(*c))
        .collect();
    for name in &gone {
        out.push_str(&format!("flush chain ip {t} {name}\n"));
    }
    for name in &gone {
        out.push_str(&format!("delete chain ip {t} {name}\n"));
    }
    for set in from.sets.keys() {
        if !to.sets.contains_key(set) {
            out.push_str(&format!("delete set ip {t} {set}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::model::Endpoint;

    fn port(eps: &[(&str, bool)], node_port: Option<u16>, affinity: Option<u32>) -> ServicePort {
        ServicePort {
            namespace: "shop".into(),
            service: "web".into(),
            name: "http".into(),
            protocol: "tcp".into(),
            cluster_ip: Some("10.96.0.20".parse().unwrap_or_else(|e| panic!("{e}"))),
            port: 80,
            node_port,
            affinity_seconds: affinity,
            endpoints: eps
                .iter()
                .map(|(ip, ready)| Endpoint {
                    ip: ip.parse().unwrap_or_else(|e| panic!("{e}")),
                    port: 8080,
                    ready: *ready,
                    serving: *ready,
                    terminating: false,
                    hostname: None,
                })
                .collect(),
        }
    }

    #[test]
    fn full_script_builds_table_and_service_chains() {
        let r = Ruleset::build(&[port(
            &[("10.244.0.5", true), ("10.244.1.6", true)],
            Some(30080),
            None,
        )]);
        let s = script(None, &r);
        assert!(s.starts_with("add table ip capstan-proxy\ndelete table ip capstan-proxy\n"));
        assert!(s.contains("numgen random mod 2 vmap { 0 : goto ep-"), "{s}");
        assert!(s.contains("meta l4proto tcp dnat to 10.244.0.5:8080"));
        assert!(s.contains(
            "add element ip capstan-proxy service-ips { 10.96.0.20 . tcp . 80 : goto svc-"
        ));
        assert!(s.contains(
            "add element ip capstan-proxy service-nodeports { tcp . 30080 : goto nodeport-"
        ));
        assert_eq!(r.endpoint_chains(), 2);
    }

    #[test]
    fn endpoint_change_touches_only_its_chains() {
        let a = Ruleset::build(&[port(&[("10.244.0.5", true)], None, None)]);
        let b = Ruleset::build(&[port(
            &[("10.244.0.5", true), ("10.244.1.6", true)],
            None,
            None,
        )]);
        let s = script(Some(&a), &b);
        assert!(!s.contains("table"), "{s}");
        assert_eq!(s.matches("add chain").count(), 1, "{s}");
        assert_eq!(s.matches("flush chain").count(), 1, "{s}");
        assert!(!s.contains("element"), "map entry is unchanged: {s}");
        assert!(script(Some(&b), &b).is_empty());
        let back = script(Some(&b), &a);
        assert!(back.contains("delete chain ip capstan-proxy ep-"), "{back}");
    }

    #[test]
    fn no_ready_endpoints_rejects() {
        let a = Ruleset::build(&[port(&[("10.244.0.5", true)], Some(30080), None)]);
        let b = Ruleset::build(&[port(&[("10.244.0.5", false)], Some(30080), None)]);
        let s = script(Some(&a), &b);
        assert!(s.contains("add element ip capstan-proxy no-endpoint-services { 10.96.0.20 . tcp . 80 : goto reject-chain }"), "{s}");
        assert!(s.contains("add element ip capstan-proxy no-endpoint-nodeports { tcp . 30080 : goto reject-chain }"), "{s}");
        assert!(
            s.contains("delete element ip capstan-proxy service-ips"),
            "{s}"
        );
    }

    #[test]
    fn client_ip_affinity_uses_timeout_sets() {
        let r = Ruleset::build(&[port(&[("10.244.0.5", true)], None, Some(60))]);
        let s = script(None, &r);
        assert!(s.contains("flags dynamic,timeout; timeout 60s;"), "{s}");
        assert!(s.contains("update @affinity-"), "{s}");
        assert!(s.contains("ip saddr @affinity-"), "{s}");
    }
}
