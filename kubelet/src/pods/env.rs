//! A container's command line and environment, as Kubernetes builds them: `command` replaces
//! the image Entrypoint (and drops its Cmd), `args` replaces Cmd; env comes from the image,
//! then `envFrom`, then `env` (later wins), with `valueFrom` references and `$(VAR)` expansion.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use capstan_api_types::quantity;
use k8s_openapi::api::core::v1::{ConfigMap, Container, EnvVar, Pod, Secret};
use kube::{Api, Client};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Why a container cannot be configured: shown as CreateContainerConfigError.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError(pub String);

/// The two kinds of object env and volumes read keys from.
#[derive(Debug, Clone, Copy)]
pub enum SourceKind {
    ConfigMap,
    Secret,
}

impl SourceKind {
    pub fn title(self) -> &'static str {
        match self {
            SourceKind::ConfigMap => "ConfigMap",
            SourceKind::Secret => "Secret",
        }
    }

    /// Kubernetes' message for a missing object.
    pub fn not_found(self, name: &str) -> ConfigError {
        ConfigError(format!(
            "{} \"{name}\" not found",
            self.title().to_lowercase()
        ))
    }
}

/// `configMapKeyRef` / `secretKeyRef` of an env var: (kind, object, key, optional).
fn key_ref(
    from: &k8s_openapi::api::core::v1::EnvVarSource,
) -> Option<(SourceKind, &str, &str, bool)> {
    if let Some(r) = &from.config_map_key_ref {
        return Some((
            SourceKind::ConfigMap,
            &r.name,
            &r.key,
            r.optional.unwrap_or(false),
        ));
    }
    from.secret_key_ref.as_ref().map(|r| {
        (
            SourceKind::Secret,
            r.name.as_str(),
            r.key.as_str(),
            r.optional.unwrap_or(false),
        )
    })
}

/// Fetches ConfigMaps and Secrets once per container start.
pub struct Sources {
    client: Client,
    namespace: String,
    config_maps: HashMap<String, Option<ConfigMap>>,
    secrets: HashMap<String, Option<Secret>>,
}

impl Sources {
    pub fn new(client: Client, namespace: &str) -> Sources {
        Sources {
            client,
            namespace: namespace.to_string(),
            config_maps: HashMap::new(),
            secrets: HashMap::new(),
        }
    }

    pub async fn config_map(&mut self, name: &str) -> Result<Option<&ConfigMap>, ConfigError> {
        if !self.config_maps.contains_key(name) {
            let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.namespace);
            let got = api
                .get_opt(name)
                .await
                .map_err(|e| ConfigError(format!("reading configmap {name:?}: {e}")))?;
            self.config_maps.insert(name.to_string(), got);
        }
        Ok(self.config_maps.get(name).and_then(|c| c.as_ref()))
    }

    pub async fn secret(&mut self, name: &str) -> Result<Option<&Secret>, ConfigError> {
        if !self.secrets.contains_key(name) {
            let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
            let got = api
                .get_opt(name)
                .await
                .map_err(|e| ConfigError(format!("reading secret {name:?}: {e}")))?;
            self.secrets.insert(name.to_string(), got);
        }
        Ok(self.secrets.get(name).and_then(|c| c.as_ref()))
    }

    /// The keys of a ConfigMap or Secret, or None when it does not exist.
    pub async fn data(
        &mut self,
        kind: SourceKind,
        name: &str,
    ) -> Result<Option<BTreeMap<String, Vec<u8>>>, ConfigError> {
        Ok(match kind {
            SourceKind::ConfigMap => self.config_map(name).await?.map(config_map_data),
            SourceKind::Secret => self.secret(name).await?.map(secret_data),
        })
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }
}

pub fn config_map_data(cm: &ConfigMap) -> BTreeMap<String, Vec<u8>> {
    let mut out: BTreeMap<String, Vec<u8>> = cm
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
        .collect();
    for (k, v) in cm.binary_data.iter().flatten() {
        out.insert(k.clone(), v.0.clone());
    }
    out
}

pub fn secret_data(s: &Secret) -> BTreeMap<String, Vec<u8>> {
    let mut out: BTreeMap<String, Vec<u8>> = s
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    // stringData is write-only in the API, but a stored object may still carry it.
    for (k, v) in s.string_data.iter().flatten() {
        out.insert(k.clone(), v.clone().into_bytes());
    }
    out
}

/// `$(VAR)` expansion: known names are replaced, `$$` escapes, unknown references stay as
/// written.
pub fn expand(input: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(input.len());
    let bytes = input.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 1 < bytes.len() {
            if bytes[i + 1] == b'$' {
                out.push('$');
                i += 2;
                continue;
            }
            if bytes[i + 1] == b'('
                && let Some(close) = input[i + 2..].find(')')
            {
                let name = &input[i + 2..i + 2 + close];
                if let Some(v) = vars.get(name) {
                    out.push_str(v);
                } else {
                    out.push_str(&input[i..i + 3 + close]);
                }
                i += 3 + close;
                continue;
            }
        }
        let ch = input[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn field_value(pod: &Pod, path: &str, host_ip: &str) -> Result<String, ConfigError> {
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let quoted = |prefix: &str| -> Option<String> {
        path.strip_prefix(prefix)?
            .strip_suffix("']")
            .map(|s| s.to_string())
    };
    Ok(match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
        "spec.serviceAccountName" => spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_default(),
        "status.hostIP" => host_ip.to_string(),
        "status.hostIPs" => host_ip.to_string(),
        "status.podIP" => status.and_then(|s| s.pod_ip.clone()).unwrap_or_default(),
        "status.podIPs" => status
            .and_then(|s| s.pod_ips.as_ref())
            .map(|ips| {
                ips.iter()
                    .map(|i| i.ip.clone())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default(),
        "metadata.labels" => render_map(meta.labels.as_ref()),
        "metadata.annotations" => render_map(meta.annotations.as_ref()),
        _ => {
            if let Some(k) = quoted("metadata.labels['") {
                meta.labels
                    .as_ref()
                    .and_then(|l| l.get(&k).cloned())
                    .unwrap_or_default()
            } else if let Some(k) = quoted("metadata.annotations['") {
                meta.annotations
                    .as_ref()
                    .and_then(|l| l.get(&k).cloned())
                    .unwrap_or_default()
            } else {
                return Err(ConfigError(format!("unsupported fieldRef {path:?}")));
            }
        }
    })
}

/// `key="value"` lines, as the downward API renders label and annotation maps.
pub fn render_map(m: Option<&BTreeMap<String, String>>) -> String {
    m.into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `limits.cpu` etc. with a divisor; a missing limit falls back to the node's allocatable.
pub fn resource_value(
    container: &Container,
    resource: &str,
    divisor: Option<&str>,
    node_allocatable: &BTreeMap<String, String>,
) -> Result<String, ConfigError> {
    let res = container.resources.as_ref();
    let (kind, name) = resource
        .split_once('.')
        .ok_or_else(|| ConfigError(format!("unsupported resource {resource:?}")))?;
    let map = match kind {
        "limits" => res.and_then(|r| r.limits.as_ref()),
        "requests" => res.and_then(|r| r.requests.as_ref()),
        _ => return Err(ConfigError(format!("unsupported resource {resource:?}"))),
    };
    let text = map
        .and_then(|m| m.get(name))
        .map(|q| q.0.clone())
        .or_else(|| node_allocatable.get(name).cloned())
        .unwrap_or_else(|| "0".into());
    let is_cpu = name == "cpu";
    let scale = |t: &str| {
        if is_cpu {
            quantity::milli(t)
        } else {
            quantity::units(t)
        }
    };
    let value = scale(&text).ok_or_else(|| ConfigError(format!("bad quantity {text:?}")))?;
    let div = match divisor.filter(|d| !d.is_empty() && *d != "0") {
        Some(d) => scale(d).ok_or_else(|| ConfigError(format!("bad divisor {d:?}")))?,
        None => {
            if is_cpu {
                1000
            } else {
                1
            }
        }
    }
    .max(1);
    // Kubernetes rounds up: a 250m limit is "1" CPU with the default divisor.
    Ok(((value + div - 1) / div).to_string())
}

pub struct EnvInputs<'a> {
    pub pod: &'a Pod,
    pub container: &'a Container,
    pub image_env: &'a [String],
    pub host_ip: &'a str,
    pub node_allocatable: &'a BTreeMap<String, String>,
}

fn valid_env_name(n: &str) -> bool {
    !n.is_empty()
        && !n.as_bytes()[0].is_ascii_digit()
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

/// The container's final environment as `NAME=value`, image variables first.
pub async fn resolve(
    inputs: &EnvInputs<'_>,
    sources: &mut Sources,
) -> Result<Vec<String>, ConfigError> {
    let mut order: Vec<String> = Vec::new();
    let mut vars: HashMap<String, String> = HashMap::new();
    let set =
        |order: &mut Vec<String>, vars: &mut HashMap<String, String>, k: String, v: String| {
            if !vars.contains_key(&k) {
                order.push(k.clone());
            }
            vars.insert(k, v);
        };
    for kv in inputs.image_env {
        if let Some((k, v)) = kv.split_once('=') {
            set(&mut order, &mut vars, k.to_string(), v.to_string());
        }
    }
    let ns = sources.namespace().to_string();
    for from in inputs.container.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        let refs = [
            (
                SourceKind::ConfigMap,
                from.config_map_ref.as_ref().map(|r| (&r.name, r.optional)),
            ),
            (
                SourceKind::Secret,
                from.secret_ref.as_ref().map(|r| (&r.name, r.optional)),
            ),
        ];
        for (kind, r) in refs {
            let Some((obj, optional)) = r else { continue };
            match sources.data(kind, obj).await? {
                Some(data) => {
                    for (k, v) in data {
                        let name = format!("{prefix}{k}");
                        if valid_env_name(&name) {
                            set(
                                &mut order,
                                &mut vars,
                                name,
                                String::from_utf8_lossy(&v).into(),
                            );
                        }
                    }
                }
                None if optional.unwrap_or(false) => {}
                None => return Err(kind.not_found(obj)),
            }
        }
    }
    for EnvVar {
        name,
        value,
        value_from,
    } in inputs.container.env.iter().flatten()
    {
        let v = if let Some(from) = value_from {
            if let Some(f) = &from.field_ref {
                field_value(inputs.pod, &f.field_path, inputs.host_ip)?
            } else if let Some(r) = &from.resource_field_ref {
                let target = match r.container_name.as_deref().filter(|n| !n.is_empty()) {
                    Some(n) => find_container(inputs.pod, n)
                        .ok_or_else(|| ConfigError(format!("container {n:?} not found")))?,
                    None => inputs.container,
                };
                resource_value(
                    target,
                    &r.resource,
                    r.divisor.as_ref().map(|d| d.0.as_str()),
                    inputs.node_allocatable,
                )?
            } else if let Some((kind, obj, key, optional)) = key_ref(from) {
                match sources.data(kind, obj).await? {
                    Some(data) => match data.get(key) {
                        Some(v) => String::from_utf8_lossy(v).into(),
                        None if optional => continue,
                        None => {
                            return Err(ConfigError(format!(
                                "couldn't find key {key} in {} {ns}/{obj}",
                                kind.title()
                            )));
                        }
                    },
                    None if optional => continue,
                    None => return Err(kind.not_found(obj)),
                }
            } else {
                String::new()
            }
        } else {
            expand(value.as_deref().unwrap_or(""), &vars)
        };
        set(&mut order, &mut vars, name.clone(), v);
    }
    if !vars.contains_key("PATH") {
        // As containerd does: libcontainer refuses a process without PATH.
        order.insert(0, "PATH".into());
        vars.insert("PATH".into(), DEFAULT_PATH.into());
    }
    Ok(order
        .into_iter()
        .filter_map(|k| vars.get(&k).map(|v| format!("{k}={v}")))
        .collect())
}

pub fn find_container<'a>(pod: &'a Pod, name: &str) -> Option<&'a Container> {
    let spec = pod.spec.as_ref()?;
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == name)
}

/// The process arguments: Kubernetes' rules for command/args against the image config.
pub fn command_line(
    container: &Container,
    entrypoint: &[String],
    cmd: &[String],
    env: &[String],
) -> Vec<String> {
    let vars: HashMap<String, String> = env
        .iter()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ex = |v: &Vec<String>| v.iter().map(|a| expand(a, &vars)).collect::<Vec<_>>();
    match (&container.command, &container.args) {
        (Some(c), Some(a)) if !c.is_empty() => [ex(c), ex(a)].concat(),
        (Some(c), _) if !c.is_empty() => ex(c),
        (_, Some(a)) if !a.is_empty() => [entrypoint.to_vec(), ex(a)].concat(),
        _ => [entrypoint, cmd].concat(),
    }
}

/// For base64 in tests and volume code.
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_rules() {
        let vars = HashMap::from([("A".to_string(), "1".to_string())]);
        assert_eq!(expand("x$(A)y", &vars), "x1y");
        assert_eq!(expand("$$(A)", &vars), "$(A)");
        assert_eq!(expand("$(B)", &vars), "$(B)");
        assert_eq!(expand("$", &vars), "$");
    }

    #[test]
    fn command_rules() {
        let e = vec!["/ep".to_string()];
        let c = vec!["cmd".to_string()];
        let mut k = Container::default();
        assert_eq!(command_line(&k, &e, &c, &[]), vec!["/ep", "cmd"]);
        k.args = Some(vec!["a".into()]);
        assert_eq!(command_line(&k, &e, &c, &[]), vec!["/ep", "a"]);
        k.command = Some(vec!["sh".into()]);
        assert_eq!(command_line(&k, &e, &c, &[]), vec!["sh", "a"]);
        k.args = None;
        assert_eq!(command_line(&k, &e, &c, &["X=1".to_string()]), vec!["sh"]);
    }

    #[test]
    fn resource_rounding() {
        let k = Container {
            resources: Some(
                serde_json::from_value(
                    serde_json::json!({"limits": {"cpu": "250m", "memory": "64Mi"}}),
                )
                .unwrap(),
            ),
            ..Default::default()
        };
        let alloc = BTreeMap::new();
        assert_eq!(resource_value(&k, "limits.cpu", None, &alloc).unwrap(), "1");
        assert_eq!(
            resource_value(&k, "limits.cpu", Some("1m"), &alloc).unwrap(),
            "250"
        );
        assert_eq!(
            resource_value(&k, "limits.memory", Some("1Mi"), &alloc).unwrap(),
            "64"
        );
    }
}
