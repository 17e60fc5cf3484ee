//! networking.k8s.io NetworkPolicy: the fields a node turns into packet filters must parse —
//! CIDRs (and their exceptions inside them), protocols, port numbers and ranges.

use std::net::IpAddr;

use serde_json::Value;

use super::access::{get, list, s};
use super::errors::{Errs, child, index, invalid, not_supported, required};
use super::meta::{self, MetaRules};
use super::names::NameRule;

const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

/// (address, prefix length) of `a.b.c.d/n` or `x::y/n`.
fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, len) = s.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((ip, len))
}

/// Whether `inner` is a strictly smaller range inside `outer` (same address family).
fn contains(outer: (IpAddr, u8), inner: (IpAddr, u8)) -> bool {
    let (obits, width) = bits(outer.0);
    let (ibits, iwidth) = bits(inner.0);
    if width != iwidth || inner.1 <= outer.1 {
        return false;
    }
    let shift = width - u32::from(outer.1);
    obits.checked_shr(shift).unwrap_or(0) == ibits.checked_shr(shift).unwrap_or(0)
}

fn bits(ip: IpAddr) -> (u128, u32) {
    match ip {
        IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
        IpAddr::V6(v) => (u128::from(v), 128),
    }
}

fn peers(path: &str, items: &[Value], errs: &mut Errs) {
    for (i, peer) in items.iter().enumerate() {
        let p = index(path, i);
        let Some(block) = get(peer, "ipBlock") else {
            continue;
        };
        let bp = child(&p, "ipBlock");
        let cidr = s(block, "cidr");
        let Some(outer) = parse_cidr(cidr) else {
            if cidr.is_empty() {
                errs.push(required(child(&bp, "cidr"), ""));
            } else {
                errs.push(invalid(child(&bp, "cidr"), cidr, "must be a valid CIDR"));
            }
            continue;
        };
        for (j, ex) in list(block, "except").iter().enumerate() {
            let ep = index(&child(&bp, "except"), j);
            let text = ex.as_str().unwrap_or_default();
            match parse_cidr(text) {
                None => errs.push(invalid(&ep, text, "must be a valid CIDR")),
                Some(inner) if !contains(outer, inner) => {
                    errs.push(invalid(&ep, text, "must be a strict subset of `cidr`"))
                }
                Some(_) => {}
            }
        }
    }
}

fn ports(path: &str, items: &[Value], errs: &mut Errs) {
    for (i, port) in items.iter().enumerate() {
        let p = index(path, i);
        let proto = s(port, "protocol");
        if !proto.is_empty() && !PROTOCOLS.contains(&proto) {
            errs.push(not_supported(child(&p, "protocol"), proto, PROTOCOLS));
        }
        let number = get(port, "port").and_then(Value::as_i64);
        match get(port, "port") {
            Some(Value::Number(_)) => {
                if let Some(n) = number.filter(|n| !(1..=65535).contains(n)) {
                    errs.push(invalid(
                        child(&p, "port"),
                        n,
                        "must be between 1 and 65535, inclusive",
                    ));
                }
            }
            Some(Value::String(name)) if name.is_empty() || name.len() > 15 => {
                errs.push(invalid(
                    child(&p, "port"),
                    name.as_str(),
                    "must be a valid port name",
                ));
            }
            _ => {}
        }
        if let Some(end) = get(port, "endPort").and_then(Value::as_i64) {
            match number {
                None => errs.push(required(
                    child(&p, "port"),
                    "when endPort is set, port must be a number",
                )),
                Some(start) if end < start || end > 65535 => errs.push(invalid(
                    child(&p, "endPort"),
                    end,
                    "must be greater than or equal to `port` and at most 65535",
                )),
                _ => {}
            }
        }
    }
}

pub(crate) fn validate_network_policy(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::namespaced(NameRule::Subdomain), errs);
    let spec = get(obj, "spec").unwrap_or(&Value::Null);
    for (i, rule) in list(spec, "ingress").iter().enumerate() {
        let p = index("spec.ingress", i);
        peers(&child(&p, "from"), list(rule, "from"), errs);
        ports(&child(&p, "ports"), list(rule, "ports"), errs);
    }
    for (i, rule) in list(spec, "egress").iter().enumerate() {
        let p = index("spec.egress", i);
        peers(&child(&p, "to"), list(rule, "to"), errs);
        ports(&child(&p, "ports"), list(rule, "ports"), errs);
    }
    for (i, t) in list(spec, "policyTypes").iter().enumerate() {
        let v = t.as_str().unwrap_or_default();
        if !["Ingress", "Egress"].contains(&v) {
            errs.push(not_supported(
                index("spec.policyTypes", i),
                v,
                &["Egress", "Ingress"],
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> (IpAddr, u8) {
        parse_cidr(s).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn cidr_containment() {
        assert!(contains(c("10.0.0.0/8"), c("10.1.0.0/16")));
        assert!(!contains(c("10.0.0.0/8"), c("11.0.0.0/16")));
        assert!(!contains(c("10.0.0.0/8"), c("10.0.0.0/8")));
        assert!(contains(c("0.0.0.0/0"), c("192.168.0.0/16")));
        assert!(contains(c("::/0"), c("fd00::/8")));
        assert!(!contains(c("::/0"), c("10.0.0.0/8")));
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(parse_cidr("0.0.0.0/0 return; } flush ruleset").is_none());
    }

    #[test]
    fn bad_cidrs_protocols_and_ranges_are_refused() {
        let obj = serde_json::json!({
            "metadata": {"name": "p", "namespace": "n"},
            "spec": {"ingress": [{
                "from": [{"ipBlock": {"cidr": "0.0.0.0/0 return; }", "except": []}},
                         {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/8"]}}],
                "ports": [{"protocol": "ICMP", "port": 80}, {"port": 9000, "endPort": 80}],
            }]},
        });
        let mut errs = Errs::new();
        validate_network_policy(&obj, &mut errs);
        let fields: Vec<String> = errs.iter().map(|e| e.field.clone()).collect();
        for want in [
            "spec.ingress[0].from[0].ipBlock.cidr",
            "spec.ingress[0].from[1].ipBlock.except[0]",
            "spec.ingress[0].ports[0].protocol",
            "spec.ingress[0].ports[1].endPort",
        ] {
            assert!(fields.iter().any(|f| f == want), "{want} not in {fields:?}");
        }
    }
}
