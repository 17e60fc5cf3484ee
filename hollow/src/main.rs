//! `capstan-hollow-nodes`: the command-line shell over `capstan_hollow::run`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;

use capstan_hollow::{HollowConfig, parse_duration, parse_labels, parse_taints};

/// Simulated kubelets that register Nodes, renew their Leases and report pods bound to them
/// as running, without running anything.
#[derive(Parser, Debug)]
#[command(name = "capstan-hollow-nodes", version)]
struct Args {
    /// API server URL (plain http), e.g. http://127.0.0.1:6443.
    #[arg(long, conflicts_with = "kubeconfig")]
    server: Option<String>,
    /// Kubeconfig file (default without --server: $KUBECONFIG or ~/.kube/config).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Number of nodes.
    #[arg(long)]
    count: usize,
    /// Node name prefix: nodes are <prefix>0 .. <prefix><count-1>.
    #[arg(long, default_value = "hollow-")]
    prefix: String,
    /// CPU capacity per node.
    #[arg(long, default_value = "4")]
    cpu: String,
    /// Memory capacity per node.
    #[arg(long, default_value = "16Gi")]
    memory: String,
    /// Pod capacity per node (at most 253).
    #[arg(long, default_value_t = 110)]
    max_pods: u32,
    /// Spread nodes over Z zones: topology.kubernetes.io/zone=zone-<i mod Z>.
    #[arg(long, default_value_t = 0)]
    zones: usize,
    /// Extra labels for every node: k=v,k2=v2.
    #[arg(long, default_value = "")]
    labels: String,
    /// Taints for every node: key=value:Effect,key:Effect.
    #[arg(long, default_value = "")]
    taints: String,
    /// Lease renewal interval per node.
    #[arg(long, default_value = "10s", value_parser = duration)]
    lease_interval: Duration,
    /// Node condition heartbeat interval per node.
    #[arg(long, default_value = "60s", value_parser = duration)]
    status_interval: Duration,
    /// Requests in flight per activity (registration, leases, heartbeats, pods).
    #[arg(long, default_value_t = 32)]
    max_in_flight: usize,
}

fn duration(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

async fn client(args: &Args) -> anyhow::Result<kube::Client> {
    let config = match (&args.server, &args.kubeconfig) {
        (Some(url), _) => kube::Config::new(url.parse().context("--server is not a URL")?),
        (None, Some(path)) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await
                .context("loading the kubeconfig")?
        }
        (None, None) => kube::Config::infer()
            .await
            .context("no --server or --kubeconfig, and no kubeconfig to infer")?,
    };
    kube::Client::try_from(config).context("building the API client")
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let config = HollowConfig {
        count: args.count,
        prefix: args.prefix.clone(),
        cpu: args.cpu.clone(),
        memory: args.memory.clone(),
        max_pods: args.max_pods,
        zones: args.zones,
        labels: parse_labels(&args.labels)?,
        taints: parse_taints(&args.taints)?,
        lease_interval: args.lease_interval,
        status_interval: args.status_interval,
        max_in_flight: args.max_in_flight,
        ..HollowConfig::default()
    };
    let client = client(&args).await?;
    capstan_hollow::run(client, config, shutdown_signal()).await?;
    Ok(())
}
