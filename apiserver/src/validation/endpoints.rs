//! Endpoints validation: addresses, hostnames and ports of each subset.

use serde_json::Value;

use super::access::{self, int, list, s};
use super::errors::{Errs, child, index, invalid, not_supported, required};
use super::meta::{self, MetaRules};
use super::names::{self, NameRule};

const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

pub(crate) fn validate_endpoints(obj: &Value, errs: &mut Errs) {
    meta::validate_object_meta(obj, MetaRules::namespaced(NameRule::Subdomain), errs);
    for (i, ss) in list(obj, "subsets").iter().enumerate() {
        let p = index("subsets", i);
        if list(ss, "addresses").is_empty() && list(ss, "notReadyAddresses").is_empty() {
            errs.push(required(
                &p,
                "must specify `addresses` or `notReadyAddresses`",
            ));
        }
        for field in ["addresses", "notReadyAddresses"] {
            for (j, addr) in list(ss, field).iter().enumerate() {
                let ap = index(&child(&p, field), j);
                let ip = s(addr, "ip");
                errs.extend(names::valid_ip(&child(&ap, "ip"), ip));
                let host = s(addr, "hostname");
                if !host.is_empty() {
                    for msg in names::dns1123_label(host) {
                        errs.push(invalid(child(&ap, "hostname"), host, msg));
                    }
                }
                if let Some(node) = access::opt_s(addr, "nodeName") {
                    for msg in names::dns1123_subdomain(node) {
                        errs.push(invalid(child(&ap, "nodeName"), node, msg));
                    }
                }
                errs.extend(names::non_special_ip(&child(&ap, "ip"), ip));
            }
        }
        let ports = list(ss, "ports");
        for (j, port) in ports.iter().enumerate() {
            let pp = index(&child(&p, "ports"), j);
            let name = s(port, "name");
            if ports.len() > 1 && name.is_empty() {
                errs.push(required(child(&pp, "name"), ""));
            } else if !name.is_empty() {
                for msg in names::dns1123_label(name) {
                    errs.push(invalid(child(&pp, "name"), name, msg));
                }
            }
            let n = int(port, "port").unwrap_or(0);
            for msg in names::port_num(n) {
                errs.push(invalid(child(&pp, "port"), n, msg));
            }
            match s(port, "protocol") {
                "" => errs.push(required(child(&pp, "protocol"), "")),
                proto if !PROTOCOLS.contains(&proto) => {
                    errs.push(not_supported(child(&pp, "protocol"), proto, PROTOCOLS));
                }
                _ => {}
            }
            if let Some(ap) = access::opt_s(port, "appProtocol") {
                for msg in names::qualified_name(ap) {
                    errs.push(invalid(child(&pp, "appProtocol"), ap, msg));
                }
            }
        }
    }
}
