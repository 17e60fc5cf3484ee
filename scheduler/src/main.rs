//! capstan-scheduler: flags in, scheduler out.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "capstan-scheduler", about = "Capstan's pod scheduler")]
struct Args {
    /// Kubeconfig file to reach the API server.
    #[arg(long, conflicts_with = "server")]
    kubeconfig: Option<PathBuf>,
    /// API server URL (plain http on loopback, e.g. http://127.0.0.1:6443).
    #[arg(long)]
    server: Option<String>,
    /// Take part in leader election through the kube-system/capstan-scheduler Lease.
    #[arg(long)]
    leader_elect: bool,
    /// Schedule pods whose spec.schedulerName is this.
    #[arg(long, default_value = "default-scheduler")]
    scheduler_name: String,
    /// Name of this replica in the leader Lease (default: capstan-scheduler-<pid>).
    #[arg(long)]
    identity: Option<String>,
    /// Port for /metrics and /healthz; 0 disables.
    #[arg(long, default_value_t = 10251)]
    metrics_port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    metrics_bind_address: std::net::IpAddr,
}

async fn client(args: &Args) -> anyhow::Result<kube::Client> {
    let config = match (&args.server, &args.kubeconfig) {
        (Some(url), _) => kube::Config::new(url.parse().context("--server is not a URL")?),
        (None, Some(path)) => {
            let kc = kube::config::Kubeconfig::read_from(path).context("reading --kubeconfig")?;
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await?
        }
        (None, None) => kube::Config::infer()
            .await
            .context("no --server or --kubeconfig")?,
    };
    Ok(kube::Client::try_from(config)?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let client = client(&args).await?;
    let mut config = capstan_scheduler::Config {
        scheduler_name: args.scheduler_name.clone(),
        leader_elect: args.leader_elect,
        metrics_address: (args.metrics_port != 0)
            .then(|| std::net::SocketAddr::new(args.metrics_bind_address, args.metrics_port)),
        ..Default::default()
    };
    if let Some(id) = args.identity {
        config.identity = id;
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    capstan_scheduler::run(client, config, shutdown)
        .await
        .context("scheduler stopped")
}
