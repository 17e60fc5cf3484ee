//! capstan: the command-line tool (see `capstan --help`); everything lives in the library.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    // `capstan up` runs kubelets in this process; their log shims are this binary too.
    capstan_kubelet::shim::maybe_run();
    capstan_apiserver::alloc_tuning::limit_malloc_arenas();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            capstan_cli::app::init_logging();
            capstan_cli::app::run(capstan_cli::app::Cli::parse()).await
        })
}
