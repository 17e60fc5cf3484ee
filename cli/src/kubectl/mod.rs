//! The kubectl-like commands of `capstan`. Errors carry the API server's message verbatim
//! plus a hint where one helps; exit codes follow kubectl (1 for any failure, a remote
//! command's own code for `exec`, 1 from `diff` when something differs).

pub mod apply;
pub mod config;
pub mod describe;
pub mod diff;
pub mod duration;
pub mod events;
pub mod exec;
pub mod get;
pub mod info;
pub mod logs;
pub mod nodes;
pub mod output;
pub mod pods;
pub mod portforward;
pub mod prune;
pub mod refs;
pub mod resources;
pub mod rollout;
pub mod scale;
pub mod selector;
pub mod table;
pub mod top;
pub mod wait;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{what}: {message}")]
    Api { what: String, message: String },
    #[error(
        "the server doesn't have a resource type \"{what}\"{}",
        if near.is_empty() { String::new() } else { format!(" (did you mean one of: {near}?)") }
    )]
    UnknownResource { what: String, near: String },
    #[error("{0}")]
    Input(String),
    /// An empty answer, not a failure: kubectl says so on stderr and still exits 0.
    #[error("{0}")]
    Empty(String),
}

impl CliError {
    /// Maps a kube error, adding how to start a cluster when nothing answers.
    pub fn from_kube(what: &str) -> impl Fn(kube::Error) -> CliError + '_ {
        move |e| {
            let message = match &e {
                kube::Error::Api(s) => s.message.clone(),
                other => {
                    let text = other.to_string();
                    if text.to_lowercase().contains("connect") {
                        format!(
                            "{text} — is a cluster running? `capstan up` starts one and prints the KUBECONFIG line"
                        )
                    } else {
                        text
                    }
                }
            };
            CliError::Api {
                what: what.to_string(),
                message,
            }
        }
    }
}

/// Where to connect and which namespace applies.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
}

impl Target {
    /// The client and the namespace to use (flag, else the context's, else `default`).
    pub async fn connect(&self) -> Result<(kube::Client, String), CliError> {
        let opts = kube::config::KubeConfigOptions {
            context: self.context.clone(),
            ..Default::default()
        };
        let config = match &self.kubeconfig {
            Some(path) => {
                let kc = kube::config::Kubeconfig::read_from(path)
                    .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
                kube::Config::from_custom_kubeconfig(kc, &opts).await
            }
            None => kube::Config::from_kubeconfig(&opts).await,
        }
        .map_err(|e| {
            CliError::Input(format!(
                "no usable kubeconfig ({e}); set KUBECONFIG (capstan up prints the line) or pass --kubeconfig"
            ))
        })?;
        // A dead address fails fast; reads keep kube's long default, which `logs -f`,
        // `get -w` and `rollout status` need while nothing happens.
        let mut config = config;
        config.connect_timeout = Some(std::time::Duration::from_secs(10));
        let namespace = self
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let client = kube::Client::try_from(config)
            .map_err(|e| CliError::Input(format!("building the client: {e}")))?;
        Ok((client, namespace))
    }
}
