//! capstan-controllers: flags in, `capstan_controllers::run` out.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use capstan_controllers::runtime::leader::{LeaderConfig, default_identity};
use capstan_controllers::{Config, run};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "capstan-controllers", about = "Capstan controller manager")]
struct Flags {
    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// API server URL; overrides the kubeconfig's server.
    #[arg(long)]
    server: Option<String>,
    /// Controllers to run: `*` for all, `name` to enable, `-name` to disable
    /// (replicaset, deployment, garbagecollector, node-lifecycle, nodeipam, endpointslice,
    /// endpoint).
    #[arg(long, value_delimiter = ',', default_value = "*")]
    controllers: Vec<String>,
    /// Run controllers only while holding the `kube-system/capstan-controllers` Lease.
    #[arg(long, default_value_t = false)]
    leader_elect: bool,
    #[arg(long, default_value = "kube-system")]
    leader_elect_namespace: String,
    #[arg(long, default_value = "capstan-controllers")]
    leader_elect_name: String,
    /// Port for /metrics and /healthz; 0 disables.
    #[arg(long, default_value_t = 10257)]
    metrics_port: u16,
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    metrics_bind_address: IpAddr,
    /// How often the node lifecycle controller re-examines every node, in seconds.
    #[arg(long, default_value_t = 5)]
    node_monitor_period: u64,
    /// Heartbeat age, in seconds, after which a node's conditions become Unknown.
    #[arg(long, default_value_t = 40)]
    node_monitor_grace_period: u64,
    /// How long pods without their own not-ready/unreachable tolerations stay, in seconds.
    #[arg(long, default_value_t = 300)]
    default_toleration_seconds: i64,
    /// Range node pod CIDRs are carved from by the nodeipam controller.
    #[arg(long, default_value = "10.244.0.0/16")]
    cluster_cidr: capstan_controllers::nodeipam::cidr::Ipv4Cidr,
    /// Prefix length of each node's pod CIDR.
    #[arg(long, default_value_t = 24)]
    node_cidr_mask_size: u8,
}

async fn client(flags: &Flags) -> anyhow::Result<kube::Client> {
    let mut config = match &flags.kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await?
        }
        None => match &flags.server {
            Some(url) => kube::Config::new(url.parse().context("--server")?),
            None => kube::Config::infer().await?,
        },
    };
    if let Some(url) = &flags.server {
        config.cluster_url = url.parse().context("--server")?;
    }
    Ok(kube::Client::try_from(config)?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let flags = Flags::parse();
    let client = client(&flags).await?;
    let leader_election = flags.leader_elect.then(|| LeaderConfig {
        namespace: flags.leader_elect_namespace.clone(),
        name: flags.leader_elect_name.clone(),
        ..LeaderConfig::new(default_identity())
    });
    let config = Config {
        controllers: flags.controllers.clone(),
        leader_election,
        metrics_address: (flags.metrics_port != 0)
            .then(|| SocketAddr::new(flags.metrics_bind_address, flags.metrics_port)),
        node_lifecycle: capstan_controllers::nodelifecycle::NodeLifecycleConfig {
            monitor_period: Duration::from_secs(flags.node_monitor_period.max(1)),
            grace_period: Duration::from_secs(flags.node_monitor_grace_period),
            default_toleration_seconds: flags.default_toleration_seconds,
        },
        node_ipam: capstan_controllers::nodeipam::NodeIpamConfig {
            cluster_cidr: flags.cluster_cidr,
            node_mask: flags.node_cidr_mask_size,
        },
    };
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
    };
    run(client, config, shutdown).await?;
    Ok(())
}
