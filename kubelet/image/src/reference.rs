//! Image references, normalised the way Docker and the kubelet do it.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::ImageError;

const DEFAULT_REGISTRY: &str = "docker.io";
const DEFAULT_TAG: &str = "latest";

/// Turns a user-written reference into its full form:
/// `busybox` → `docker.io/library/busybox:latest`, `localhost:5000/a/b:1` unchanged,
/// `x@sha256:…` → `docker.io/library/x@sha256:…` (no tag added next to a digest).
pub fn normalize(reference: &str) -> Result<String, ImageError> {
    let fail = |reason: &str| ImageError::InvalidReference {
        reference: reference.to_string(),
        reason: reason.to_string(),
    };
    if reference.is_empty() {
        return Err(fail("empty"));
    }
    if reference
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(fail("contains whitespace"));
    }

    let (name_and_tag, digest) = match reference.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (reference, None),
    };
    if let Some(digest) = digest {
        validate_digest(digest).map_err(|reason| fail(&reason))?;
    }

    // A ':' after the last '/' separates the tag; one before it belongs to a registry port.
    let last_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
        Some(i) => (
            &name_and_tag[..last_slash + i],
            Some(&name_and_tag[last_slash + i + 1..]),
        ),
        None => (name_and_tag, None),
    };
    if let Some(tag) = tag {
        validate_tag(tag).map_err(|reason| fail(&reason))?;
    }

    let (registry, path) = split_registry(name);
    let registry = if registry == "index.docker.io" {
        DEFAULT_REGISTRY
    } else {
        registry
    };
    if registry.is_empty() || registry.starts_with('-') || registry.ends_with('-') {
        return Err(fail("bad registry host"));
    }
    if path.is_empty() {
        return Err(fail("missing repository name"));
    }
    for component in path.split('/') {
        validate_path_component(component).map_err(|reason| fail(&reason))?;
    }
    // Docker Hub's official images live under "library/".
    let path = if registry == DEFAULT_REGISTRY && !path.contains('/') {
        format!("library/{path}")
    } else {
        path.to_string()
    };

    let mut full = format!("{registry}/{path}");
    match (tag, digest) {
        (Some(tag), _) => {
            full.push(':');
            full.push_str(tag);
        }
        (None, None) => {
            full.push(':');
            full.push_str(DEFAULT_TAG);
        }
        (None, Some(_)) => {}
    }
    if let Some(digest) = digest {
        full.push('@');
        full.push_str(digest);
    }
    Ok(full)
}

/// The registry part of a normalised reference: `docker.io`, `127.0.0.1:5000`, ….
pub fn registry_host(normalized_reference: &str) -> &str {
    match normalized_reference.split_once('/') {
        Some((host, _)) => host,
        None => DEFAULT_REGISTRY,
    }
}

/// `registry/path` without tag or digest.
pub(crate) fn repository(normalized_reference: &str) -> &str {
    let without_digest = normalized_reference
        .split_once('@')
        .map_or(normalized_reference, |(name, _)| name);
    let last_slash = without_digest.rfind('/').map_or(0, |i| i + 1);
    match without_digest[last_slash..].rfind(':') {
        Some(i) => &without_digest[..last_slash + i],
        None => without_digest,
    }
}

/// The digest of a `name@sha256:…` reference.
pub(crate) fn digest_of(normalized_reference: &str) -> Option<&str> {
    normalized_reference
        .split_once('@')
        .map(|(_, digest)| digest)
}

/// Whether a registry host (with optional port) is on this machine. Docker allows plain
/// HTTP to those without configuration, and so do we.
pub(crate) fn is_loopback_host(host_and_port: &str) -> bool {
    let host = if let Some(rest) = host_and_port.strip_prefix('[') {
        // "[::1]:5000"
        rest.split_once(']').map_or(rest, |(h, _)| h)
    } else {
        host_and_port
            .rsplit_once(':')
            .map_or(host_and_port, |(h, _)| h)
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return ip.is_loopback();
    }
    host.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// Splits `host[:port]/path` from a name. The first component is a registry only if it looks
/// like a host name, which is Docker's rule: it has a dot or a port, or is `localhost`.
fn split_registry(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first, rest)
        }
        _ => (DEFAULT_REGISTRY, name),
    }
}

fn validate_digest(digest: &str) -> Result<(), String> {
    match digest.split_once(':') {
        Some(("sha256", hex)) if is_sha256_hex(hex) => Ok(()),
        Some(("sha256", _)) => Err("a sha256 digest needs 64 lowercase hex digits".into()),
        Some((algorithm, _)) => Err(format!(
            "digest algorithm {algorithm:?} is not supported (only sha256)"
        )),
        None => Err("digest must look like sha256:<hex>".into()),
    }
}

pub(crate) fn is_sha256_hex(hex: &str) -> bool {
    hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn validate_tag(tag: &str) -> Result<(), String> {
    let mut bytes = tag.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if first_ok && rest_ok && tag.len() <= 128 {
        Ok(())
    } else {
        Err(format!("bad tag {tag:?}"))
    }
}

/// A repository path component: lowercase alphanumerics joined by `.`, `_`, `__` or dashes.
fn validate_path_component(component: &str) -> Result<(), String> {
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let ok = !bytes.is_empty()
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
        && bytes
            .iter()
            .all(|b| alnum(b) || matches!(b, b'.' | b'_' | b'-'))
        && !component.contains("..")
        && !component.contains("___")
        && !component.contains("._")
        && !component.contains("_.");
    if ok {
        Ok(())
    } else if component.bytes().any(|b| b.is_ascii_uppercase()) {
        Err("repository name must be lowercase".into())
    } else {
        Err(format!("bad repository path component {component:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn normalizes_like_docker() {
        let cases = [
            ("busybox", "docker.io/library/busybox:latest"),
            ("busybox:1.35", "docker.io/library/busybox:1.35"),
            ("library/busybox", "docker.io/library/busybox:latest"),
            ("docker.io/busybox", "docker.io/library/busybox:latest"),
            (
                "index.docker.io/busybox",
                "docker.io/library/busybox:latest",
            ),
            ("bitnami/redis:7", "docker.io/bitnami/redis:7"),
            ("localhost/a", "localhost/a:latest"),
            ("localhost:5000/a/b:1", "localhost:5000/a/b:1"),
            (
                "127.0.0.1:5000/demo/busybox:1.35",
                "127.0.0.1:5000/demo/busybox:1.35",
            ),
            ("quay.io/coreos/etcd:v3.5.0", "quay.io/coreos/etcd:v3.5.0"),
            ("capstan.local/busybox:1.35", "capstan.local/busybox:1.35"),
            ("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9"),
            ("my-org/my_app__x.y", "docker.io/my-org/my_app__x.y:latest"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input).unwrap(), expected, "{input}");
        }
    }

    #[test]
    fn keeps_digests() {
        assert_eq!(
            normalize(&format!("x@{DIGEST}")).unwrap(),
            format!("docker.io/library/x@{DIGEST}")
        );
        assert_eq!(
            normalize(&format!("localhost:5000/x:1@{DIGEST}")).unwrap(),
            format!("localhost:5000/x:1@{DIGEST}")
        );
    }

    #[test]
    fn normalizing_twice_changes_nothing() {
        for input in ["busybox", "localhost:5000/a/b:1", "quay.io/x/y"] {
            let once = normalize(input).unwrap();
            assert_eq!(normalize(&once).unwrap(), once);
        }
    }

    #[test]
    fn rejects_bad_references() {
        for bad in [
            "",
            "Busybox",
            "busybox:",
            "busybox:-x",
            "a b",
            "x@sha256:abc",
            "x@md5:0123",
            "/busybox",
            "busybox/",
            "a//b",
            "registry:5000/",
        ] {
            assert!(normalize(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn splits_hosts_and_repositories() {
        assert_eq!(
            registry_host("docker.io/library/busybox:latest"),
            "docker.io"
        );
        assert_eq!(registry_host("127.0.0.1:5000/a:1"), "127.0.0.1:5000");
        assert_eq!(repository("127.0.0.1:5000/a/b:1"), "127.0.0.1:5000/a/b");
        assert_eq!(
            repository(&format!("localhost:5000/x:1@{DIGEST}")),
            "localhost:5000/x"
        );
        assert_eq!(repository("localhost:5000/x"), "localhost:5000/x");
        assert_eq!(digest_of(&format!("a/b@{DIGEST}")), Some(DIGEST));
    }

    #[test]
    fn recognizes_loopback_registries() {
        for host in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.3.4.5",
            "[::1]:5000",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "docker.io",
            "10.0.0.1:5000",
            "localhost.example.com",
            "[::2]:1",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
