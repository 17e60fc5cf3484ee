//! The per-pod files bind-mounted into every container: `/etc/hosts` (localhost, the pod's
//! own name, hostAliases), `/etc/resolv.conf` and `/etc/hostname`.

use std::path::Path;

use k8s_openapi::api::core::v1::Pod;

use crate::context::Context;

fn write_if_changed(path: &Path, content: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(content) {
        return Ok(());
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content)?;
    std::fs::rename(tmp, path)
}

pub fn hostname(pod: &Pod) -> String {
    let spec = pod.spec.as_ref();
    let name = spec
        .and_then(|s| s.hostname.clone())
        .filter(|h| !h.is_empty())
        .or_else(|| pod.metadata.name.clone())
        .unwrap_or_default();
    name.chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches(['-', '.'])
        .to_string()
}

/// `pod_ip` is the address CNI gave the pod (the status may not carry it yet).
pub fn write(pod: &Pod, dir: &Path, ctx: &Context, pod_ip: Option<&str>) -> std::io::Result<()> {
    let spec = pod.spec.clone().unwrap_or_default();
    let host = hostname(pod);
    let pod_ip = pod_ip
        .map(str::to_string)
        .or_else(|| pod.status.as_ref().and_then(|s| s.pod_ip.clone()));
    let domain = &ctx.config.cluster_domain;
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let fqdn = spec
        .subdomain
        .as_ref()
        .filter(|s| !s.is_empty())
        .map(|sub| format!("{host}.{sub}.{ns}.svc.{domain}"));
    let mut hosts = String::from(
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n",
    );
    let own = pod_ip.unwrap_or_else(|| "127.0.1.1".into());
    match &fqdn {
        Some(f) => hosts.push_str(&format!("{own}\t{f}\t{host}\n")),
        None => hosts.push_str(&format!("{own}\t{host}\n")),
    }
    for alias in spec.host_aliases.iter().flatten() {
        let names = alias.hostnames.clone().unwrap_or_default().join("\t");
        hosts.push_str(&format!(
            "\n# Entries added by HostAliases.\n{}\t{names}\n",
            alias.ip
        ));
    }
    write_if_changed(&dir.join("etc-hosts"), &hosts)?;
    write_if_changed(&dir.join("hostname"), &format!("{host}\n"))?;
    let host_conf = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let cluster = ctx
        .config
        .cluster_dns
        .map(|ip| (ip.to_string(), domain.as_str()));
    write_if_changed(
        &dir.join("resolv.conf"),
        &resolv_conf(pod, &host_conf, cluster),
    )
}

/// dnsPolicy as Kubernetes applies it: ClusterFirst (the default) points at the cluster DNS
/// with the namespace's search path and ndots:5 — except for hostNetwork pods, which like
/// Default use the host's file unless they ask for ClusterFirstWithHostNet; None uses only
/// dnsConfig, which every policy appends.
fn resolv_conf(pod: &Pod, host: &str, cluster: Option<(String, &str)>) -> String {
    let spec = pod.spec.clone().unwrap_or_default();
    let policy = spec.dns_policy.as_deref().unwrap_or("ClusterFirst");
    let host_network = spec.host_network.unwrap_or(false);
    let use_cluster = match policy {
        "ClusterFirstWithHostNet" => true,
        "ClusterFirst" => !host_network,
        _ => false,
    };
    let mut nameservers: Vec<String> = Vec::new();
    let mut searches: Vec<String> = Vec::new();
    let mut options: Vec<String> = Vec::new();
    if let (true, Some((dns, domain))) = (use_cluster, &cluster) {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
        nameservers.push(dns.clone());
        searches.extend([
            format!("{ns}.svc.{domain}"),
            format!("svc.{domain}"),
            domain.to_string(),
        ]);
        for l in host.lines() {
            let mut parts = l.split_whitespace();
            if parts.next() == Some("search") {
                searches.extend(parts.map(str::to_string));
            }
        }
        options.push("ndots:5".into());
    } else if policy != "None" {
        for l in host.lines() {
            let mut parts = l.split_whitespace();
            match parts.next() {
                Some("nameserver") => nameservers.extend(parts.map(str::to_string)),
                Some("search") => searches.extend(parts.map(str::to_string)),
                Some("options") => options.extend(parts.map(str::to_string)),
                _ => {}
            }
        }
    }
    if let Some(cfg) = &spec.dns_config {
        nameservers.extend(cfg.nameservers.clone().unwrap_or_default());
        searches.extend(cfg.searches.clone().unwrap_or_default());
        for o in cfg.options.iter().flatten() {
            let Some(name) = o.name.clone() else { continue };
            options.retain(|x| x.split(':').next() != Some(name.as_str()));
            options.push(match &o.value {
                Some(v) => format!("{name}:{v}"),
                None => name,
            });
        }
    }
    let mut out = String::new();
    for n in nameservers.iter().take(3) {
        out.push_str(&format!("nameserver {n}\n"));
    }
    if !searches.is_empty() {
        out.push_str(&format!("search {}\n", searches.join(" ")));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(spec: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "shop"},
            "spec": spec,
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    const HOST: &str = "nameserver 192.0.2.53\nsearch corp.example\noptions edns0\n";

    fn cluster() -> Option<(String, &'static str)> {
        Some(("10.96.0.10".into(), "cluster.local"))
    }

    #[test]
    fn cluster_first_uses_cluster_dns_and_namespace_search_path() {
        let out = resolv_conf(&pod(serde_json::json!({"containers": []})), HOST, cluster());
        assert_eq!(
            out,
            "nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example\noptions ndots:5\n"
        );
    }

    #[test]
    fn host_network_and_default_use_the_host_file() {
        let hn = pod(serde_json::json!({"containers": [], "hostNetwork": true}));
        assert!(resolv_conf(&hn, HOST, cluster()).starts_with("nameserver 192.0.2.53\n"));
        let hn2 = pod(
            serde_json::json!({"containers": [], "hostNetwork": true, "dnsPolicy": "ClusterFirstWithHostNet"}),
        );
        assert!(resolv_conf(&hn2, HOST, cluster()).starts_with("nameserver 10.96.0.10\n"));
        let def = pod(serde_json::json!({"containers": [], "dnsPolicy": "Default"}));
        assert!(resolv_conf(&def, HOST, cluster()).starts_with("nameserver 192.0.2.53\n"));
    }

    #[test]
    fn none_uses_only_dns_config() {
        let p = pod(serde_json::json!({"containers": [], "dnsPolicy": "None",
            "dnsConfig": {"nameservers": ["1.2.3.4"], "searches": ["a.b"], "options": [{"name": "ndots", "value": "2"}]}}));
        assert_eq!(
            resolv_conf(&p, HOST, cluster()),
            "nameserver 1.2.3.4\nsearch a.b\noptions ndots:2\n"
        );
    }
}
