//! Writing a kubeconfig that points kubectl and client libraries at a local API server.

use std::path::Path;

/// A kubeconfig with one cluster, user and context named `capstan`.
pub fn render(server_url: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: capstan
  cluster:
    server: {server_url}
users:
- name: capstan
  user: {{}}
contexts:
- name: capstan
  context:
    cluster: capstan
    user: capstan
    namespace: default
current-context: capstan
preferences: {{}}
"
    )
}

pub fn write(path: &Path, server_url: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, render(server_url))
}

#[cfg(test)]
mod tests {
    #[test]
    fn kubeconfig_names_the_server() {
        let k = super::render("http://127.0.0.1:6443");
        assert!(k.contains("server: http://127.0.0.1:6443"));
        assert!(k.contains("current-context: capstan"));
    }
}
