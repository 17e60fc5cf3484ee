//! capstan-apiserver: flags in, server out. Everything else lives in the library.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "capstan-apiserver",
    about = "Kubernetes-compatible API server for Capstan"
)]
struct Args {
    /// Directory of the embedded SQLite store (used unless --etcd-servers is given).
    #[arg(long, default_value = "capstan-data")]
    data_dir: PathBuf,
    /// Comma-separated etcd v3 endpoints, e.g. http://127.0.0.1:2379.
    #[arg(long, value_delimiter = ',')]
    etcd_servers: Vec<String>,
    #[arg(long, default_value = "127.0.0.1")]
    bind_address: IpAddr,
    #[arg(long, default_value_t = 6443)]
    port: u16,
    /// Events kept per resource in the watch cache window.
    #[arg(long, default_value_t = 10_000)]
    watch_cache_events: usize,
    /// tolerationSeconds of the not-ready/unreachable tolerations added to every pod.
    #[arg(long, default_value_t = capstan_apiserver::admission::DEFAULT_TOLERATION_SECONDS)]
    default_toleration_seconds: i64,
}

fn main() -> anyhow::Result<()> {
    capstan_apiserver::alloc_tuning::limit_malloc_arenas();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async_main())
}

async fn async_main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let config = capstan_apiserver::Config {
        data_dir: args.data_dir,
        etcd_servers: args.etcd_servers,
        bind_address: args.bind_address,
        port: args.port,
        watch_cache_events: args.watch_cache_events,
        default_toleration_seconds: args.default_toleration_seconds,
    };
    capstan_apiserver::run(config, capstan_apiserver::server::shutdown_signal())
        .await
        .context("capstan-apiserver failed")
}
