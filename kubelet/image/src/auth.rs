//! Registry credentials, including the ones found in `imagePullSecrets`.

use std::collections::BTreeMap;

use base64::Engine;
use serde::Deserialize;

/// How to authenticate to a registry.
#[derive(Clone, PartialEq, Eq)]
pub enum RegistryAuth {
    Anonymous,
    Basic { username: String, password: String },
}

// Hand-written so a password never lands in a log line.
impl std::fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegistryAuth::Anonymous => f.write_str("Anonymous"),
            RegistryAuth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

impl RegistryAuth {
    pub(crate) fn to_oci(&self) -> oci_client::secrets::RegistryAuth {
        match self {
            RegistryAuth::Anonymous => oci_client::secrets::RegistryAuth::Anonymous,
            RegistryAuth::Basic { username, password } => {
                oci_client::secrets::RegistryAuth::Basic(username.clone(), password.clone())
            }
        }
    }
}

#[derive(Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, DockerAuthEntry>,
}

#[derive(Deserialize)]
struct DockerAuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// Finds the credentials for `registry_host` in a `.dockerconfigjson` secret's content.
///
/// Keys in `auths` come in many spellings (`https://index.docker.io/v1/`, `registry:5000`,
/// `http://host:port/path`); they are reduced to a bare host before comparing.
pub fn auth_from_docker_config(
    dockerconfigjson: &[u8],
    registry_host: &str,
) -> Option<RegistryAuth> {
    let config: DockerConfig = serde_json::from_slice(dockerconfigjson).ok()?;
    let wanted = canonical_host(registry_host);
    config
        .auths
        .iter()
        .filter(|(key, _)| canonical_host(key) == wanted)
        .find_map(|(_, entry)| entry_credentials(entry))
}

fn entry_credentials(entry: &DockerAuthEntry) -> Option<RegistryAuth> {
    if let (Some(username), Some(password)) = (&entry.username, &entry.password)
        && !username.is_empty()
    {
        return Some(RegistryAuth::Basic {
            username: username.clone(),
            password: password.clone(),
        });
    }
    let encoded = entry.auth.as_deref()?.trim();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (username, password) = decoded.split_once(':')?;
    Some(RegistryAuth::Basic {
        username: username.to_string(),
        password: password.to_string(),
    })
}

/// `https://index.docker.io/v1/` → `docker.io`, `http://Host:5000/x` → `host:5000`.
fn canonical_host(key: &str) -> String {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = without_scheme
        .split('/')
        .next()
        .unwrap_or(without_scheme)
        .to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_string()
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(u: &str, p: &str) -> Option<RegistryAuth> {
        Some(RegistryAuth::Basic {
            username: u.into(),
            password: p.into(),
        })
    }

    #[test]
    fn reads_base64_auth_and_matches_by_host() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("alice:s3cr:et");
        let json = format!(
            r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{encoded}"}},
                "127.0.0.1:5000":{{"username":"bob","password":"pw"}}}}}}"#
        );
        assert_eq!(
            auth_from_docker_config(json.as_bytes(), "docker.io"),
            basic("alice", "s3cr:et")
        );
        assert_eq!(
            auth_from_docker_config(json.as_bytes(), "127.0.0.1:5000"),
            basic("bob", "pw")
        );
        assert_eq!(auth_from_docker_config(json.as_bytes(), "quay.io"), None);
    }

    #[test]
    fn accepts_scheme_and_path_in_keys() {
        let json =
            br#"{"auths":{"http://Registry.Example:5000/v2/":{"username":"u","password":"p"}}}"#;
        assert_eq!(
            auth_from_docker_config(json, "registry.example:5000"),
            basic("u", "p")
        );
    }

    #[test]
    fn garbage_gives_none() {
        assert_eq!(auth_from_docker_config(b"not json", "docker.io"), None);
        assert_eq!(
            auth_from_docker_config(br#"{"auths":{"docker.io":{"auth":"!!"}}}"#, "docker.io"),
            None
        );
    }

    #[test]
    fn debug_hides_the_password() {
        let auth = RegistryAuth::Basic {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{auth:?}").contains("hunter2"));
    }
}
