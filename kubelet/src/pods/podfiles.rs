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

pub fn write(pod: &Pod, dir: &Path, _ctx: &Context) -> std::io::Result<()> {
    let spec = pod.spec.clone().unwrap_or_default();
    let host = hostname(pod);
    let pod_ip = pod.status.as_ref().and_then(|s| s.pod_ip.clone());
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let fqdn = spec
        .subdomain
        .as_ref()
        .filter(|s| !s.is_empty())
        .map(|sub| format!("{host}.{sub}.{ns}.svc.cluster.local"));
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
    write_if_changed(&dir.join("resolv.conf"), &resolv_conf(pod))
}

/// Until cluster DNS exists the pod resolves like its host; dnsPolicy None and dnsConfig
/// are applied as Kubernetes does.
fn resolv_conf(pod: &Pod) -> String {
    let spec = pod.spec.clone().unwrap_or_default();
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let mut nameservers: Vec<String> = Vec::new();
    let mut searches: Vec<String> = Vec::new();
    let mut options: Vec<String> = Vec::new();
    if spec.dns_policy.as_deref() != Some("None") {
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
