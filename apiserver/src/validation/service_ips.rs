//! Service cluster IP and IP family rules, on create and across updates
//! (dual-stack upgrades and downgrades keep the primary IP and family).

use serde_json::Value;

use super::access::{self, get, s};
use super::errors::{Bad, Errs, duplicate, index, invalid, not_supported, required};
use super::gofmt;
use super::names;
use super::service::{ip_slice, is_headless, strings};

pub(super) fn validate_cluster_ips(spec: &Value, errs: &mut Errs) {
    let cluster_ip = s(spec, "clusterIP");
    let ips = strings(spec, "clusterIPs");
    if !cluster_ip.is_empty() {
        if ips.is_empty() {
            errs.push(required("spec.clusterIPs", ""));
        } else if ips[0] != cluster_ip {
            errs.push(invalid(
                "spec.clusterIPs",
                ip_slice(spec),
                "first value must match `clusterIP`",
            ));
        }
    } else if !ips.is_empty() {
        errs.push(invalid(
            "spec.clusterIPs",
            ip_slice(spec),
            "must be empty when `clusterIP` is not specified",
        ));
    }
    let families = strings(spec, "ipFamilies");
    for (i, f) in families.iter().enumerate() {
        if f != "IPv4" && f != "IPv6" {
            errs.push(not_supported(
                index("spec.ipFamilies", i),
                f.as_str(),
                &["IPv4", "IPv6"],
            ));
        }
        if families[..i].contains(f) {
            errs.push(duplicate(index("spec.ipFamilies", i), f.as_str()));
        }
    }
    const POLICIES: &[&str] = &["PreferDualStack", "RequireDualStack", "SingleStack"];
    if let Some(p) = access::opt_s(spec, "ipFamilyPolicy").filter(|p| !POLICIES.contains(p)) {
        errs.push(not_supported("spec.ipFamilyPolicy", p, POLICIES));
    }
    let mut bad_ip = false;
    for (i, ip) in ips.iter().enumerate() {
        if i == 0 && ip == "None" {
            if ips.len() > 1 {
                bad_ip = true;
                errs.push(invalid(
                    "spec.clusterIPs",
                    ip_slice(spec),
                    "'None' must be the first and only value",
                ));
            }
            continue;
        }
        let e = names::valid_ip(&index("spec.clusterIPs", i), ip);
        bad_ip |= !e.is_empty();
        errs.extend(e);
    }
    if ips.len() > 2 {
        errs.push(invalid(
            "spec.clusterIPs",
            ip_slice(spec),
            "may only hold up to 2 values",
        ));
    }
    if bad_ip {
        return;
    }
    let is_v6 = |ip: &str| matches!(names::parse_ip(ip), Some(std::net::IpAddr::V6(_)));
    if ips.len() == 2 && is_v6(&ips[0]) == is_v6(&ips[1]) {
        errs.push(invalid(
            "spec.clusterIPs",
            ip_slice(spec),
            "may specify no more than one IP for each IP family",
        ));
    }
    if !is_headless(spec) {
        for (i, (ip, fam)) in ips.iter().zip(&families).enumerate() {
            let expected = match fam.as_str() {
                "IPv4" if is_v6(ip) => "IPv4",
                "IPv6" if !is_v6(ip) => "IPv6",
                _ => continue,
            };
            errs.push(invalid(
                index("spec.clusterIPs", i),
                ip.as_str(),
                format!("expected an {expected} value as indicated by `ipFamilies[{i}]`"),
            ));
        }
    }
}

/// Dual-stack upgrade/downgrade rules: the primary IP and family are fixed.
pub(super) fn validate_ip_upgrade(ns: &Value, os: &Value, errs: &mut Errs) {
    let (new_ips, old_ips) = (strings(ns, "clusterIPs"), strings(os, "clusterIPs"));
    let single = access::opt_s(ns, "ipFamilyPolicy") == Some("SingleStack");
    let policy = get(ns, "ipFamilyPolicy");
    if !(is_headless(ns) && is_headless(os)) {
        let slice = ip_slice(ns);
        if new_ips.len() == old_ips.len() {
            for (i, (o, n)) in old_ips.iter().zip(&new_ips).enumerate() {
                if o != n {
                    errs.push(invalid(
                        index("spec.clusterIPs", i),
                        slice.clone(),
                        "may not change once set",
                    ));
                }
            }
        } else if old_ips.len() > new_ips.len() {
            if new_ips.is_empty() {
                errs.push(invalid(
                    "spec.clusterIPs[0]",
                    slice.clone(),
                    "primary clusterIP can not be unset",
                ));
            } else if new_ips[0] != old_ips[0] {
                errs.push(invalid(
                    "spec.clusterIPs[0]",
                    slice.clone(),
                    "may not change once set",
                ));
            }
            if new_ips.len() == 1 && !single {
                errs.push(invalid(
                    "spec.ipFamilyPolicy",
                    policy,
                    "must be set to 'SingleStack' when releasing the secondary clusterIP",
                ));
            }
        } else if !old_ips.is_empty() && new_ips[0] != old_ips[0] {
            errs.push(invalid(
                "spec.clusterIPs[0]",
                slice,
                "may not change once set",
            ));
        }
    }
    if is_headless(ns) != is_headless(os) || is_headless(ns) {
        return;
    }
    let (nf, of) = (strings(ns, "ipFamilies"), strings(os, "ipFamilies"));
    let fams = Bad::Raw(gofmt::string_slice(get(ns, "ipFamilies")));
    if nf.len() == of.len() {
        if nf != of {
            errs.push(invalid(
                "spec.ipFamilies[0]",
                fams,
                "may not change once set",
            ));
        }
    } else if of.len() > nf.len() {
        if !nf.is_empty() && nf[0] != of[0] {
            errs.push(invalid(
                "spec.ipFamilies[0]",
                ip_slice(ns),
                "may not change once set",
            ));
        }
        if nf.len() == 1 && !single {
            errs.push(invalid(
                "spec.ipFamilyPolicy",
                policy,
                "must be set to 'SingleStack' when releasing the secondary ipFamily",
            ));
        }
    } else if !of.is_empty() && !nf.is_empty() && nf[0] != of[0] {
        errs.push(invalid(
            "spec.ipFamilies[0]",
            ip_slice(ns),
            "may not change once set",
        ));
    }
}
