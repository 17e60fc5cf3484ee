//! Calling CNI plugins as the CNI spec (1.0) describes: one process per plugin of a network
//! configuration list, the operation in `CNI_COMMAND`, the plugin's configuration (with
//! `name`, `cniVersion`, `prevResult` and capability `runtimeConfig` filled in) on stdin, the
//! result or a structured error on stdout. ADD runs the plugins in order, DEL in reverse.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::nodens::NodeNetns;

/// What identifies one attachment: the same values must be given to ADD, CHECK and DEL.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    pub container_id: String,
    pub netns: PathBuf,
    pub ifname: String,
    /// `K=V;K=V` as CNI_ARGS.
    pub args: String,
    /// Values for plugins that declare the matching capability (e.g. `portMappings`).
    pub capability_args: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone)]
pub struct Plugins {
    pub bin_dirs: Vec<PathBuf>,
    pub node: NodeNetns,
}

impl Plugins {
    fn find(&self, kind: &str) -> Result<PathBuf, String> {
        if kind.contains('/') || kind.is_empty() {
            return Err(format!("invalid plugin type {kind:?}"));
        }
        self.bin_dirs
            .iter()
            .map(|d| d.join(kind))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                format!(
                    "failed to find plugin {kind:?} in path {:?}",
                    self.bin_dirs
                        .iter()
                        .map(|d| d.display().to_string())
                        .collect::<Vec<_>>()
                )
            })
    }

    /// Runs one plugin; Ok carries its stdout parsed as JSON (Null when empty).
    async fn exec(&self, command: &str, conf: &Value, at: &Attachment) -> Result<Value, String> {
        let kind = conf["type"].as_str().unwrap_or_default();
        let bin = self.find(kind)?;
        let path = std::env::join_paths(&self.bin_dirs).map_err(|e| e.to_string())?;
        let mut cmd = tokio::process::Command::new(&bin);
        cmd.env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", &at.container_id)
            .env("CNI_NETNS", &at.netns)
            .env("CNI_IFNAME", &at.ifname)
            .env("CNI_ARGS", &at.args)
            .env("CNI_PATH", path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        self.node.prepare(&mut cmd).map_err(|e| e.to_string())?;
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let input = serde_json::to_vec(conf).map_err(|e| e.to_string())?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(&input)
                .await
                .map_err(|e| format!("writing to {kind}: {e}"))?;
        }
        let out =
            tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
                .await
                .map_err(|_| format!("plugin type={kind:?} timed out ({command})"))?
                .map_err(|e| format!("waiting for {kind}: {e}"))?;
        let parsed: Value = if out.stdout.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&out.stdout).map_err(|e| {
                format!(
                    "plugin type={kind:?} ({command}) printed invalid JSON: {e}: {}",
                    String::from_utf8_lossy(&out.stdout)
                )
            })?
        };
        if out.status.success() {
            return Ok(parsed);
        }
        let msg = parsed["msg"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(&out.stderr).trim().to_string());
        let details = parsed["details"]
            .as_str()
            .filter(|d| !d.is_empty())
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        Err(format!(
            "plugin type={kind:?} failed ({}): {msg}{details}",
            command.to_lowercase()
        ))
    }

    /// The configuration one plugin of `list` receives.
    fn plugin_conf(list: &Value, plugin: &Value, prev: Option<&Value>, at: &Attachment) -> Value {
        let mut conf = plugin.clone();
        conf["name"] = list["name"].clone();
        conf["cniVersion"] = list["cniVersion"].clone();
        if let Some(p) = prev.filter(|p| !p.is_null()) {
            conf["prevResult"] = p.clone();
        }
        let mut runtime = serde_json::Map::new();
        if let Some(caps) = plugin["capabilities"].as_object() {
            for (cap, on) in caps {
                if on.as_bool() == Some(true)
                    && let Some(v) = at.capability_args.get(cap)
                {
                    runtime.insert(cap.clone(), v.clone());
                }
            }
        }
        if !runtime.is_empty() {
            conf["runtimeConfig"] = Value::Object(runtime);
        }
        conf
    }

    fn plugins(list: &Value) -> Vec<Value> {
        list["plugins"].as_array().cloned().unwrap_or_default()
    }

    /// ADD through the whole list; the last plugin's result is the attachment's result.
    pub async fn add(&self, list: &Value, at: &Attachment) -> Result<Value, String> {
        let mut prev: Option<Value> = None;
        for p in Self::plugins(list) {
            let conf = Self::plugin_conf(list, &p, prev.as_ref(), at);
            let out = self.exec("ADD", &conf, at).await?;
            if !out.is_null() {
                prev = Some(out);
            }
        }
        Ok(prev.unwrap_or_else(|| json!({"cniVersion": list["cniVersion"]})))
    }

    /// CHECK with the result ADD returned.
    pub async fn check(&self, list: &Value, at: &Attachment, result: &Value) -> Result<(), String> {
        for p in Self::plugins(list) {
            let conf = Self::plugin_conf(list, &p, Some(result), at);
            self.exec("CHECK", &conf, at).await?;
        }
        Ok(())
    }

    /// DEL in reverse order. Every plugin gets its turn even if an earlier one failed, so
    /// one broken plugin cannot leak what the others hold (addresses, veths, port rules).
    pub async fn del(
        &self,
        list: &Value,
        at: &Attachment,
        result: Option<&Value>,
    ) -> Result<(), String> {
        let mut first_err = None;
        for p in Self::plugins(list).iter().rev() {
            let conf = Self::plugin_conf(list, p, result, at);
            if let Err(e) = self.exec("DEL", &conf, at).await {
                first_err.get_or_insert(e);
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The pod addresses in a CNI result (`ips[].address`, without the prefix length).
pub fn result_ips(result: &Value) -> Vec<String> {
    result["ips"]
        .as_array()
        .map(|ips| {
            ips.iter()
                .filter_map(|ip| ip["address"].as_str())
                .map(|a| a.split('/').next().unwrap_or(a).to_string())
                .collect()
        })
        .unwrap_or_default()
}

pub fn default_bin_dirs() -> Vec<PathBuf> {
    ["/usr/lib/cni", "/opt/cni/bin"]
        .iter()
        .map(PathBuf::from)
        .collect()
}

pub fn exists(dirs: &[PathBuf], kind: &str) -> bool {
    dirs.iter().any(|d| Path::new(d).join(kind).is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_conf_carries_name_version_prev_and_capabilities() {
        let list = json!({"cniVersion": "1.0.0", "name": "capstan", "plugins": []});
        let plugin =
            json!({"type": "portmap", "capabilities": {"portMappings": true, "bandwidth": false}});
        let mut caps = serde_json::Map::new();
        caps.insert("portMappings".into(), json!([{"hostPort": 8080}]));
        caps.insert("bandwidth".into(), json!({"x": 1}));
        let at = Attachment {
            container_id: "c".into(),
            netns: "/n".into(),
            ifname: "eth0".into(),
            args: String::new(),
            capability_args: caps,
        };
        let prev = json!({"ips": [{"address": "10.244.0.5/24"}]});
        let conf = Plugins::plugin_conf(&list, &plugin, Some(&prev), &at);
        assert_eq!(conf["name"], "capstan");
        assert_eq!(conf["cniVersion"], "1.0.0");
        assert_eq!(conf["prevResult"], prev);
        assert_eq!(
            conf["runtimeConfig"],
            json!({"portMappings": [{"hostPort": 8080}]})
        );
        assert_eq!(result_ips(&prev), vec!["10.244.0.5"]);
    }
}
