//! Compose file → Kubernetes objects. Each service becomes a Deployment (and a Service when it
//! publishes or exposes ports); named volumes become PersistentVolumeClaims, bind mounts
//! hostPath volumes; `depends_on` becomes an init container that waits until the dependency's
//! Service accepts connections; `healthcheck` becomes readiness and liveness exec probes.
//! What has no Kubernetes equivalent is reported, never silently dropped.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};
use serde_yaml::Value as Y;

use super::ComposeError;

/// The result of a conversion: objects in apply order, and what could not be mapped.
#[derive(Debug, Default)]
pub struct Converted {
    pub namespace: String,
    pub objects: Vec<Value>,
    pub unmapped: Vec<String>,
}

pub struct Options<'a> {
    /// Directory relative paths (bind mounts, env_file) are resolved against.
    pub base_dir: &'a Path,
    pub project: String,
    /// Image of the init containers that wait for dependencies (needs `sh` and `nc`).
    pub wait_image: String,
    /// Where named volumes live on the node: `<dir>/<project>/<volume>`.
    pub volumes_dir: &'a Path,
}

/// Keys of a service this converter understands; anything else is reported.
const KNOWN: &[&str] = &[
    "image",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "depends_on",
    "deploy",
    "healthcheck",
    "restart",
    "working_dir",
    "user",
    "container_name",
    "hostname",
    "labels",
];

fn str_of(v: &Y) -> Option<String> {
    match v {
        Y::String(s) => Some(s.clone()),
        Y::Number(n) => Some(n.to_string()),
        Y::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `command: "a b"` or `command: [a, b]`; the string form is split into words the way a
/// shell would (quotes and backslashes), as Compose does, without running a shell.
fn words(v: &Y) -> Vec<String> {
    match v {
        Y::Sequence(items) => items.iter().filter_map(str_of).collect(),
        other => str_of(other).map(|s| shell_words(&s)).unwrap_or_default(),
    }
}

fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    cur.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                cur.push(n);
                            }
                        }
                        _ => cur.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// Kubernetes names: lowercase RFC 1123 labels.
pub fn dns_name(s: &str) -> String {
    let mut out: String = s
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    out = out.trim_matches('-').to_string();
    out.truncate(63);
    out.trim_end_matches('-').to_string()
}

fn env_list(
    svc: &Y,
    base: &Path,
    unmapped: &mut Vec<String>,
    name: &str,
) -> Result<Vec<Value>, ComposeError> {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    let files = match &svc["env_file"] {
        Y::Null => Vec::new(),
        Y::Sequence(items) => items.iter().filter_map(str_of).collect(),
        other => str_of(other).into_iter().collect(),
    };
    for f in files {
        let path = base.join(&f);
        let text = std::fs::read_to_string(&path).map_err(|e| ComposeError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                env.insert(k.trim().to_string(), v.trim().trim_matches('"').to_string());
            }
        }
    }
    match &svc["environment"] {
        Y::Mapping(m) => {
            for (k, v) in m {
                if let Some(k) = str_of(k) {
                    match str_of(v) {
                        Some(v) => {
                            env.insert(k, v);
                        }
                        None => unmapped.push(format!(
                            "{name}: environment {k} takes its value from the host; set it explicitly"
                        )),
                    }
                }
            }
        }
        Y::Sequence(items) => {
            for item in items.iter().filter_map(str_of) {
                match item.split_once('=') {
                    Some((k, v)) => {
                        env.insert(k.to_string(), v.to_string());
                    }
                    None => unmapped.push(format!(
                        "{name}: environment {item} takes its value from the host; set it explicitly"
                    )),
                }
            }
        }
        _ => {}
    }
    Ok(env
        .into_iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect())
}

#[derive(Debug, Clone, PartialEq)]
pub struct PortMap {
    pub target: u16,
    pub published: Option<u16>,
    pub protocol: String,
}

/// Short (`"8080:80/udp"`, `"127.0.0.1:8080:80"`, `"80"`) and long (`{target, published,
/// protocol}`) port syntax.
pub fn parse_port(v: &Y) -> Option<PortMap> {
    if let Y::Mapping(_) = v {
        return Some(PortMap {
            target: str_of(&v["target"])?.parse().ok()?,
            published: str_of(&v["published"]).and_then(|p| p.parse().ok()),
            protocol: str_of(&v["protocol"]).unwrap_or_else(|| "tcp".into()),
        });
    }
    let s = str_of(v)?;
    let (spec, protocol) = match s.split_once('/') {
        Some((a, p)) => (a.to_string(), p.to_string()),
        None => (s.clone(), "tcp".to_string()),
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let (published, target) = match parts.as_slice() {
        [t] => (None, *t),
        [p, t] => (Some(*p), *t),
        [_ip, p, t] => (Some(*p), *t),
        _ => return None,
    };
    // Ranges ("8000-8010:8000-8010") are not mapped.
    Some(PortMap {
        target: target.parse().ok()?,
        published: match published {
            Some(p) => Some(p.parse().ok()?),
            None => None,
        },
        protocol,
    })
}

/// Compose durations (`1m30s`, `10s`, `500ms`) in whole seconds, at least 1.
fn seconds(v: &Y) -> Option<i64> {
    let s = str_of(v)?;
    let mut total_ms: i64 = 0;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let mut unit = c.to_string();
        if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            unit = "ms".into();
        }
        let n: f64 = num.parse().ok()?;
        num.clear();
        total_ms += match unit.as_str() {
            "h" => n * 3_600_000.0,
            "m" => n * 60_000.0,
            "s" => n * 1000.0,
            "ms" => n,
            "us" => n / 1000.0,
            _ => return None,
        } as i64;
    }
    if !num.is_empty() {
        total_ms += (num.parse::<f64>().ok()? * 1000.0) as i64;
    }
    Some((total_ms / 1000).max(1))
}

fn probe(hc: &Y) -> Option<Value> {
    if hc["disable"].as_bool() == Some(true) {
        return None;
    }
    let command: Vec<String> = match &hc["test"] {
        Y::Sequence(items) => {
            let w: Vec<String> = items.iter().filter_map(str_of).collect();
            match w.first().map(String::as_str) {
                Some("NONE") => return None,
                Some("CMD") => w[1..].to_vec(),
                Some("CMD-SHELL") => vec!["sh".into(), "-c".into(), w[1..].join(" ")],
                _ => w,
            }
        }
        Y::String(s) => vec!["sh".into(), "-c".into(), s.clone()],
        _ => return None,
    };
    let mut p = json!({"exec": {"command": command}});
    if let Some(s) = seconds(&hc["interval"]) {
        p["periodSeconds"] = json!(s);
    }
    if let Some(s) = seconds(&hc["timeout"]) {
        p["timeoutSeconds"] = json!(s);
    }
    if let Some(r) = hc["retries"].as_i64() {
        p["failureThreshold"] = json!(r.max(1));
    }
    if let Some(s) = seconds(&hc["start_period"]) {
        p["initialDelaySeconds"] = json!(s);
    }
    Some(p)
}

/// Compose CPU (`"0.5"`) and memory (`"512M"`, `"1g"`, `"100mb"`) into Kubernetes quantities.
fn quantity(kind: &str, v: &Y) -> Option<String> {
    let s = str_of(v)?.trim().to_string();
    if kind == "cpu" {
        let f: f64 = s.parse().ok()?;
        return Some(format!("{}m", (f * 1000.0).round() as i64));
    }
    let lower = s.to_lowercase();
    let digits: String = lower.chars().take_while(|c| c.is_ascii_digit()).collect();
    let unit = lower[digits.len()..].trim_end_matches('b');
    let suffix = match unit {
        "" => "",
        "k" => "Ki",
        "m" => "Mi",
        "g" => "Gi",
        _ => return None,
    };
    Some(format!("{digits}{suffix}"))
}

fn resources(deploy: &Y) -> Option<Value> {
    let mut out = json!({});
    for (section, key) in [("limits", "limits"), ("reservations", "requests")] {
        let r = &deploy["resources"][section];
        let mut m = serde_json::Map::new();
        if let Some(q) = quantity("cpu", &r["cpus"]) {
            m.insert("cpu".into(), json!(q));
        }
        if let Some(q) = quantity("memory", &r["memory"]) {
            m.insert("memory".into(), json!(q));
        }
        if !m.is_empty() {
            out[key] = Value::Object(m);
        }
    }
    out.as_object()
        .is_some_and(|o| !o.is_empty())
        .then_some(out)
}

/// The first port a service listens on, as seen by those that depend on it.
fn first_port(svc: &Y) -> Option<u16> {
    svc["ports"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(parse_port)
        .map(|p| p.target)
        .chain(
            svc["expose"]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(|e| str_of(e)?.split('/').next()?.parse().ok()),
        )
        .next()
}

fn dependencies(svc: &Y) -> Vec<String> {
    match &svc["depends_on"] {
        Y::Sequence(items) => items.iter().filter_map(str_of).collect(),
        Y::Mapping(m) => m.keys().filter_map(str_of).collect(),
        _ => Vec::new(),
    }
}

pub fn convert(doc: &Y, opts: &Options) -> Result<Converted, ComposeError> {
    let project = dns_name(&str_of(&doc["name"]).unwrap_or_else(|| opts.project.clone()));
    if project.is_empty() {
        return Err(ComposeError::Invalid("the project name is empty".into()));
    }
    let Some(services) = doc["services"].as_mapping() else {
        return Err(ComposeError::Invalid("no `services:` section".into()));
    };
    let mut out = Converted {
        namespace: project.clone(),
        ..Converted::default()
    };
    out.objects.push(json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": project, "labels": {"app.kubernetes.io/part-of": project}},
    }));
    for key in ["networks", "secrets", "configs"] {
        if !doc[key].is_null() {
            out.unmapped.push(format!(
                "top-level `{key}`: not mapped (every service shares the cluster network; use Secrets/ConfigMaps)"
            ));
        }
    }
    let mut claims: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut deployments = Vec::new();
    let mut services_out = Vec::new();
    for (name, svc) in services {
        let Some(raw_name) = str_of(name) else {
            continue;
        };
        let name = dns_name(&raw_name);
        let labels = json!({"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": project});
        if let Some(m) = svc.as_mapping() {
            for k in m.keys().filter_map(str_of) {
                if !KNOWN.contains(&k.as_str()) {
                    out.unmapped
                        .push(format!("{raw_name}: `{k}` is not mapped"));
                }
            }
        }
        let Some(image) = str_of(&svc["image"]) else {
            out.unmapped.push(format!(
                "{raw_name}: no `image` (Capstan does not build images; `build:` is not mapped) — skipped"
            ));
            continue;
        };
        let mut container = json!({"name": name, "image": image});
        let entry = words(&svc["entrypoint"]);
        let cmd = words(&svc["command"]);
        if !entry.is_empty() {
            container["command"] = json!(entry);
        }
        if !cmd.is_empty() {
            container["args"] = json!(cmd);
        }
        let env = env_list(svc, opts.base_dir, &mut out.unmapped, &raw_name)?;
        if !env.is_empty() {
            container["env"] = json!(env);
        }
        if let Some(w) = str_of(&svc["working_dir"]) {
            container["workingDir"] = json!(w);
        }
        if let Some(u) = str_of(&svc["user"]) {
            match u.split(':').next().and_then(|x| x.parse::<i64>().ok()) {
                Some(uid) => container["securityContext"] = json!({"runAsUser": uid}),
                None => out
                    .unmapped
                    .push(format!("{raw_name}: user {u:?} is not numeric; not mapped")),
            }
        }
        // Ports: container ports, and one Service per compose service.
        let ports: Vec<PortMap> = svc["ports"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let parsed = parse_port(p);
                if parsed.is_none() {
                    out.unmapped
                        .push(format!("{raw_name}: port {p:?} (ranges are not mapped)"));
                }
                parsed
            })
            .collect();
        let exposed: Vec<PortMap> = svc["expose"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                Some(PortMap {
                    target: str_of(e)?.split('/').next()?.parse().ok()?,
                    published: None,
                    protocol: "tcp".into(),
                })
            })
            .collect();
        let all_ports: Vec<&PortMap> = ports.iter().chain(exposed.iter()).collect();
        if !all_ports.is_empty() {
            container["ports"] = json!(
                all_ports
                    .iter()
                    .map(|p| json!({"containerPort": p.target, "protocol": p.protocol.to_uppercase()}))
                    .collect::<Vec<_>>()
            );
            let node_port = ports
                .iter()
                .any(|p| p.published.is_some_and(|n| (30000..=32767).contains(&n)));
            let svc_ports: Vec<Value> = all_ports
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let port = p.published.unwrap_or(p.target);
                    let mut sp = json!({
                        "name": format!("p{i}-{}", p.target),
                        "port": port, "targetPort": p.target,
                        "protocol": p.protocol.to_uppercase(),
                    });
                    match p.published {
                        Some(n) if node_port && (30000..=32767).contains(&n) => {
                            sp["nodePort"] = json!(n);
                        }
                        Some(n) if !(30000..=32767).contains(&n) => out.unmapped.push(format!(
                            "{raw_name}: host port {n} → in the cluster as {name}:{n}; the node exposes only 30000-32767 (use `kubectl port-forward svc/{name} {n}:{n}`)"
                        )),
                        _ => {}
                    }
                    sp
                })
                .collect();
            let mut spec =
                json!({"selector": {"app.kubernetes.io/name": name}, "ports": svc_ports});
            if node_port {
                spec["type"] = json!("NodePort");
            }
            services_out.push(json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": project, "labels": labels},
                "spec": spec,
            }));
        }
        // Volumes.
        let mut volumes = Vec::new();
        let mut mounts = Vec::new();
        for (i, v) in svc["volumes"]
            .as_sequence()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let (source, target, read_only) = match v {
                Y::Mapping(_) => (
                    str_of(&v["source"]).unwrap_or_default(),
                    str_of(&v["target"]).unwrap_or_default(),
                    v["read_only"].as_bool().unwrap_or(false),
                ),
                other => {
                    let s = str_of(other).unwrap_or_default();
                    let parts: Vec<&str> = s.split(':').collect();
                    match parts.as_slice() {
                        [t] => (String::new(), t.to_string(), false),
                        [s, t] => (s.to_string(), t.to_string(), false),
                        [s, t, mode] => (s.to_string(), t.to_string(), mode.contains("ro")),
                        _ => {
                            out.unmapped
                                .push(format!("{raw_name}: volume {s:?} not understood"));
                            continue;
                        }
                    }
                }
            };
            if target.is_empty() {
                continue;
            }
            let vol_name = format!("v{i}");
            if source.is_empty() {
                volumes.push(json!({"name": vol_name, "emptyDir": {}}));
            } else if source.starts_with('.') || source.starts_with('/') || source.starts_with('~')
            {
                let path = if source.starts_with('/') {
                    source.clone()
                } else {
                    opts.base_dir.join(&source).display().to_string()
                };
                volumes.push(json!({"name": vol_name, "hostPath": {"path": path}}));
            } else {
                let claim = dns_name(&source);
                let pv = format!("{project}-{claim}");
                let path = opts.volumes_dir.join(&project).join(&claim);
                // Compose's named volumes are local to the host and outlive `down`: a hostPath
                // volume pre-bound to the claim, kept (Retain) when the namespace goes.
                claims.entry(claim.clone()).or_insert_with(|| {
                    vec![
                        json!({
                            "apiVersion": "v1", "kind": "PersistentVolume",
                            "metadata": {"name": pv, "labels": {"app.kubernetes.io/part-of": project}},
                            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
                                "hostPath": {"path": path.display().to_string(), "type": "DirectoryOrCreate"},
                                "claimRef": {"namespace": project, "name": claim}},
                        }),
                        json!({
                            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                            "metadata": {"name": claim, "namespace": project,
                                "labels": {"app.kubernetes.io/part-of": project}},
                            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "",
                                "volumeName": pv, "resources": {"requests": {"storage": "1Gi"}}},
                        }),
                    ]
                });
                volumes
                    .push(json!({"name": vol_name, "persistentVolumeClaim": {"claimName": claim}}));
            }
            mounts.push(json!({"name": vol_name, "mountPath": target, "readOnly": read_only}));
        }
        if !mounts.is_empty() {
            container["volumeMounts"] = json!(mounts);
        }
        if let Some(p) = probe(&svc["healthcheck"]) {
            container["readinessProbe"] = p.clone();
            container["livenessProbe"] = p;
        }
        if let Some(r) = resources(&svc["deploy"]) {
            container["resources"] = r;
        }
        // depends_on: wait for each dependency's first port before starting.
        let mut init = Vec::new();
        for dep in dependencies(svc) {
            let dep_svc = &doc["services"][dep.as_str()];
            let dep_name = dns_name(&dep);
            match first_port(dep_svc) {
                Some(port) => init.push(json!({
                    "name": format!("wait-for-{dep_name}"),
                    "image": opts.wait_image,
                    "command": ["sh", "-c", format!(
                        "until nc -w 2 {dep_name} {port} </dev/null >/dev/null 2>&1; do echo waiting for {dep_name}:{port}; sleep 1; done"
                    )],
                })),
                None => out.unmapped.push(format!(
                    "{raw_name}: depends_on {dep} has no port to wait for; start order not enforced"
                )),
            }
        }
        match str_of(&svc["restart"]).as_deref() {
            None | Some("always") | Some("unless-stopped") => {}
            Some(other) => out.unmapped.push(format!(
                "{raw_name}: restart {other:?} — a Deployment always restarts its pods"
            )),
        }
        let replicas = svc["deploy"]["replicas"].as_i64().unwrap_or(1);
        let mut pod_spec = json!({"containers": [container]});
        if !init.is_empty() {
            pod_spec["initContainers"] = json!(init);
        }
        if !volumes.is_empty() {
            pod_spec["volumes"] = json!(volumes);
        }
        if let Some(h) = str_of(&svc["hostname"]) {
            pod_spec["hostname"] = json!(dns_name(&h));
        }
        deployments.push(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": project, "labels": labels},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                "template": {"metadata": {"labels": labels}, "spec": pod_spec},
            },
        }));
    }
    out.objects.extend(claims.into_values().flatten());
    out.objects.extend(services_out);
    out.objects.extend(deployments);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert_str(yaml: &str) -> Converted {
        let doc: Y = serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{e}"));
        convert(
            &doc,
            &Options {
                base_dir: Path::new("/srv/app"),
                project: "My App".into(),
                wait_image: "busybox".into(),
                volumes_dir: Path::new("/vols"),
            },
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn find<'a>(c: &'a Converted, kind: &str, name: &str) -> &'a Value {
        c.objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind}/{name} in {:#?}", c.objects))
    }

    #[test]
    fn ports_parse_in_short_and_long_form() {
        let p = |s: &str| parse_port(&serde_yaml::from_str(s).unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(
            p("\"8080:80\"").map(|p| (p.published, p.target)),
            Some((Some(8080), 80))
        );
        assert_eq!(
            p("\"127.0.0.1:53:53/udp\"").map(|p| p.protocol),
            Some("udp".into())
        );
        assert_eq!(
            p("\"80\"").map(|p| (p.published, p.target)),
            Some((None, 80))
        );
        assert_eq!(
            p("{target: 80, published: 30080}").map(|p| p.published),
            Some(Some(30080))
        );
        assert!(p("\"8000-8010:8000-8010\"").is_none());
    }

    #[test]
    fn service_maps_to_deployment_service_and_volumes() {
        let c = convert_str(
            r#"
services:
  web:
    image: nginx:1.25
    entrypoint: /docker-entrypoint.sh
    command: ["nginx", "-g", "daemon off;"]
    ports: ["30080:80", "8443:443"]
    environment: {MODE: prod, FROM_HOST: null}
    volumes: ["data:/var/www", "./conf:/etc/nginx/conf.d:ro", "/tmp"]
    depends_on: {api: {condition: service_healthy}}
    deploy: {replicas: 3, resources: {limits: {cpus: "1.5", memory: 256m}}}
    healthcheck: {test: ["CMD-SHELL", "curl -f localhost"], interval: 1m30s, retries: 5}
    privileged: true
  api:
    image: api:1
    expose: ["9000"]
networks: {front: {}}
"#,
        );
        assert_eq!(c.namespace, "my-app");
        let d = find(&c, "Deployment", "web");
        assert_eq!(d["metadata"]["namespace"], "my-app");
        assert_eq!(d["spec"]["replicas"], 3);
        let ct = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(ct["command"], json!(["/docker-entrypoint.sh"]));
        assert_eq!(ct["args"], json!(["nginx", "-g", "daemon off;"]));
        assert_eq!(ct["env"], json!([{"name": "MODE", "value": "prod"}]));
        assert_eq!(
            ct["resources"]["limits"],
            json!({"cpu": "1500m", "memory": "256Mi"})
        );
        assert_eq!(
            ct["readinessProbe"]["exec"]["command"],
            json!(["sh", "-c", "curl -f localhost"])
        );
        assert_eq!(ct["readinessProbe"]["periodSeconds"], 90);
        assert_eq!(ct["livenessProbe"]["failureThreshold"], 5);
        let vols = &d["spec"]["template"]["spec"]["volumes"];
        assert_eq!(vols[0]["persistentVolumeClaim"]["claimName"], "data");
        assert_eq!(vols[1]["hostPath"]["path"], "/srv/app/./conf");
        assert!(vols[2]["emptyDir"].is_object());
        assert_eq!(ct["volumeMounts"][1]["readOnly"], true);
        let init = &d["spec"]["template"]["spec"]["initContainers"][0];
        assert_eq!(init["name"], "wait-for-api");
        assert!(
            init["command"][2]
                .as_str()
                .unwrap_or_default()
                .contains("nc -w 2 api 9000")
        );
        let s = find(&c, "Service", "web");
        assert_eq!(s["spec"]["type"], "NodePort");
        assert_eq!(s["spec"]["ports"][0]["nodePort"], 30080);
        assert_eq!(s["spec"]["ports"][1]["port"], 8443);
        let pv = find(&c, "PersistentVolume", "my-app-data");
        assert_eq!(pv["spec"]["hostPath"]["path"], "/vols/my-app/data");
        assert_eq!(
            find(&c, "PersistentVolumeClaim", "data")["spec"]["volumeName"],
            "my-app-data"
        );
        let notes = c.unmapped.join("\n");
        for want in ["`privileged`", "FROM_HOST", "host port 8443", "`networks`"] {
            assert!(notes.contains(want), "{want} missing from:\n{notes}");
        }
    }

    #[test]
    fn services_without_image_are_reported_and_skipped() {
        let c = convert_str("services:\n  app:\n    build: .\n");
        assert!(c.objects.iter().all(|o| o["kind"] != "Deployment"));
        assert!(c.unmapped.iter().any(|u| u.contains("no `image`")));
    }

    #[test]
    fn string_commands_split_like_a_shell() {
        assert_eq!(
            shell_words(r#"sh -c "echo 'a b' \"q\"; exit 1" x\ y ''"#),
            vec!["sh", "-c", "echo 'a b' \"q\"; exit 1", "x y", ""]
        );
    }

    #[test]
    fn durations_and_quantities() {
        let y = |s: &str| Y::String(s.into());
        assert_eq!(seconds(&y("1m30s")), Some(90));
        assert_eq!(seconds(&y("500ms")), Some(1));
        assert_eq!(seconds(&y("2h")), Some(7200));
        assert_eq!(quantity("memory", &y("1g")).as_deref(), Some("1Gi"));
        assert_eq!(quantity("memory", &y("100mb")).as_deref(), Some("100Mi"));
        assert_eq!(quantity("cpu", &y("0.25")).as_deref(), Some("250m"));
    }
}
