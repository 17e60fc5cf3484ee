//! capstan: the command-line tool. For now it holds `capstan up`, which runs a local cluster
//! (the API server on the embedded store) in the foreground.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "capstan",
    about = "Capstan: a declarative container orchestrator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Start a local cluster in the foreground; Ctrl-C stops it, running it again resumes it.
    Up {
        /// Where the cluster keeps its state and kubeconfig.
        #[arg(long, default_value = ".capstan")]
        data_dir: PathBuf,
        /// API server port on 127.0.0.1.
        #[arg(long, default_value_t = 6443)]
        port: u16,
    },
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
    match Cli::parse().command {
        Command::Up { data_dir, port } => capstan_cli::up::run(data_dir, port).await,
    }
    .context("capstan failed")
}
