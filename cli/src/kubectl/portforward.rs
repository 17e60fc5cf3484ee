//! `capstan port-forward POD|TYPE/NAME [LOCAL:]REMOTE… [--address 127.0.0.1]`: listens
//! locally and carries each accepted connection to the pod over its own WebSocket
//! port-forward session (the channel protocol kube-rs speaks).

use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::Api;
use tokio::net::TcpListener;

use super::{CliError, Target, output, pods};

#[derive(Debug, Clone, clap::Args)]
pub struct PortForwardArgs {
    /// POD, or TYPE/NAME (deploy/web, svc/web …): one of its pods is used.
    pub object: String,
    /// [LOCAL:]REMOTE; LOCAL 0 or empty (`:80`) picks a free port.
    #[arg(required = true)]
    pub ports: Vec<String>,
    /// Local address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub address: String,
}

/// `8080:80` → (8080, "80"); `80` → (80, "80"); `:80` → (0, "80").
pub fn parse_mapping(s: &str) -> Result<(u16, String), CliError> {
    let bad = || {
        CliError::Input(format!(
            "invalid port mapping \"{s}\" (want [LOCAL:]REMOTE)"
        ))
    };
    let (local, remote) = match s.split_once(':') {
        Some((l, r)) => (l, r),
        None => (s, s),
    };
    if remote.is_empty() {
        return Err(bad());
    }
    let local = if local.is_empty() {
        0
    } else {
        local.parse::<u16>().map_err(|_| bad())?
    };
    Ok((local, remote.to_string()))
}

/// A remote port given as a number, a pod's named container port, or (for svc/NAME) a
/// service port translated to its target.
async fn remote_port(
    client: &kube::Client,
    ns: &str,
    object: &str,
    pod: &Pod,
    remote: &str,
) -> Result<u16, CliError> {
    let named = |name: &str| -> Option<u16> {
        pod.spec
            .as_ref()?
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().flatten())
            .find(|p| p.name.as_deref() == Some(name))
            .and_then(|p| u16::try_from(p.container_port).ok())
    };
    if let Some(svc) = object
        .strip_prefix("svc/")
        .or_else(|| object.strip_prefix("service/"))
        .or_else(|| object.strip_prefix("services/"))
    {
        let number: i32 = remote
            .parse()
            .map_err(|_| CliError::Input(format!("service port {remote} must be a number")))?;
        let s = Api::<Service>::namespaced(client.clone(), ns)
            .get(svc)
            .await
            .map_err(CliError::from_kube(&format!("getting service/{svc}")))?;
        let port = s
            .spec
            .and_then(|sp| sp.ports)
            .unwrap_or_default()
            .into_iter()
            .find(|p| p.port == number)
            .ok_or_else(|| {
                CliError::Input(format!(
                    "Service {svc} does not have a service port {number}"
                ))
            })?;
        use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
        return match port.target_port {
            Some(IntOrString::Int(i)) => {
                u16::try_from(i).map_err(|_| CliError::Input(format!("bad targetPort {i}")))
            }
            Some(IntOrString::String(n)) => named(&n)
                .ok_or_else(|| CliError::Input(format!("the pod has no container port named {n}"))),
            None => {
                u16::try_from(number).map_err(|_| CliError::Input(format!("bad port {number}")))
            }
        };
    }
    match remote.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => named(remote).ok_or_else(|| {
            CliError::Input(format!("the pod has no container port named {remote}"))
        }),
    }
}

pub async fn run(target: &Target, args: &PortForwardArgs) -> Result<String, CliError> {
    let (client, ns) = target.connect().await?;
    let list = pods::resolve(&client, &ns, &args.object).await?;
    let Some(pod) = list.into_iter().next() else {
        return Err(CliError::Input(format!("no pod found for {}", args.object)));
    };
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_default();
    if phase != "Running" {
        return Err(CliError::Input(format!(
            "unable to forward port because pod is not running. Current status={phase}"
        )));
    }
    let name = pod.metadata.name.clone().unwrap_or_default();
    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let mut tasks = Vec::new();
    for m in &args.ports {
        let (local, remote) = parse_mapping(m)?;
        let remote = remote_port(&client, &ns, &args.object, &pod, &remote).await?;
        let listener = TcpListener::bind((args.address.as_str(), local))
            .await
            .map_err(|e| CliError::Input(format!("unable to listen on port {local}: {e}")))?;
        let bound = listener
            .local_addr()
            .map_err(|e| CliError::Input(e.to_string()))?;
        output::print(&format!("Forwarding from {bound} -> {remote}\n"))?;
        let api = api.clone();
        let name = name.clone();
        tasks.push(tokio::spawn(async move {
            let mut pause = std::time::Duration::from_millis(100);
            loop {
                let mut conn = match listener.accept().await {
                    Ok((c, _)) => {
                        pause = std::time::Duration::from_millis(100);
                        c
                    }
                    // Out of file descriptors and the like: say so and back off, not spin.
                    Err(e) => {
                        eprintln!("E: accepting a connection on {bound}: {e}");
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(std::time::Duration::from_secs(1));
                        continue;
                    }
                };
                if output::print(&format!("Handling connection for {}\n", bound.port())).is_err() {
                    return;
                }
                let api = api.clone();
                let name = name.clone();
                tokio::spawn(async move {
                    if let Err(e) = forward_one(&api, &name, remote, &mut conn).await {
                        eprintln!(
                            "E: an error occurred forwarding {} -> {remote}: {e}",
                            bound.port()
                        );
                    }
                });
            }
        }));
    }
    // Until Ctrl-C, as kubectl.
    let _ = tokio::signal::ctrl_c().await;
    for t in tasks {
        t.abort();
    }
    Ok(String::new())
}

async fn forward_one(
    api: &Api<Pod>,
    pod: &str,
    port: u16,
    conn: &mut tokio::net::TcpStream,
) -> Result<(), String> {
    let mut pf = api
        .portforward(pod, &[port])
        .await
        .map_err(|e| e.to_string())?;
    let mut upstream = pf.take_stream(port).ok_or("no stream for the port")?;
    let error = pf.take_error(port);
    let copied = tokio::io::copy_bidirectional(conn, &mut upstream).await;
    drop(upstream);
    if let Some(err) = error
        && let Some(text) = err.await
    {
        return Err(text);
    }
    copied.map(|_| ()).map_err(|e| e.to_string())?;
    pf.join().await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::parse_mapping;

    #[test]
    fn mappings() {
        assert_eq!(parse_mapping("8080:80").unwrap(), (8080, "80".into()));
        assert_eq!(parse_mapping("80").unwrap(), (80, "80".into()));
        assert_eq!(parse_mapping(":http").unwrap(), (0, "http".into()));
        assert!(parse_mapping("x:80").is_err());
        assert!(parse_mapping("80:").is_err());
    }
}
