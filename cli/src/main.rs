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
        /// Kubelets to run on this machine (node-1…node-N); needs root. 0 runs no nodes.
        #[arg(long, default_value_t = 1)]
        nodes: u32,
        /// Network namespace (e.g. /var/run/netns/NAME) for every node's pod network,
        /// service rules and DNS address; default: this process's own.
        #[arg(long)]
        network_namespace: Option<PathBuf>,
    },
    /// Run a Compose project on the cluster: its services as Deployments and Services in a
    /// namespace named after the project.
    Compose {
        #[command(subcommand)]
        command: ComposeCommand,
    },
    /// Images on a node.
    Image {
        #[command(subcommand)]
        command: ImageCommand,
    },
}

#[derive(clap::Args, Debug)]
struct ComposeArgs {
    /// The Compose file.
    #[arg(short = 'f', long = "file", default_value = "compose.yaml")]
    file: PathBuf,
    /// Kubeconfig (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Image of the init containers that wait for `depends_on` services (needs sh and nc).
    #[arg(long, default_value = "capstan.local/busybox:1.35")]
    wait_image: String,
    /// Where named volumes are kept on the node (`DIR/<project>/<volume>`).
    #[arg(long, default_value = "/var/lib/capstan/volumes")]
    volumes_dir: PathBuf,
    /// How long `up` waits for every service, and `down` for the namespace to go, in seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

#[derive(Subcommand, Debug)]
enum ComposeCommand {
    /// Print the Kubernetes objects (YAML) and what could not be mapped.
    Convert(ComposeArgs),
    /// Apply the objects and wait until every service is available.
    Up(ComposeArgs),
    /// Delete the project's namespace and everything in it.
    Down(ComposeArgs),
}

#[derive(Subcommand, Debug)]
enum ImageCommand {
    /// Load every image of an OCI image layout (a directory or a .tar of one) into a node's store.
    Import {
        file: PathBuf,
        /// The kubelet's --root-dir.
        #[arg(long, default_value = "/var/lib/capstan-kubelet")]
        root_dir: PathBuf,
    },
    /// List a node's images.
    List {
        #[arg(long, default_value = "/var/lib/capstan-kubelet")]
        root_dir: PathBuf,
    },
    /// Write the demo images (busybox, and testapp when built) as OCI layouts under DIR.
    BuildDemo { dir: PathBuf },
}

async fn client(kubeconfig: Option<&PathBuf>) -> anyhow::Result<kube::Client> {
    let config = match kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?
        }
        None => kube::Config::infer().await.context(
            "no cluster configured: set KUBECONFIG (capstan up prints the line) or pass --kubeconfig",
        )?,
    };
    Ok(kube::Client::try_from(config)?)
}

async fn compose(command: ComposeCommand) -> anyhow::Result<()> {
    use capstan_cli::compose;
    let (args, action) = match command {
        ComposeCommand::Convert(a) => (a, "convert"),
        ComposeCommand::Up(a) => (a, "up"),
        ComposeCommand::Down(a) => (a, "down"),
    };
    let converted = compose::load(&args.file, &args.wait_image, &args.volumes_dir)?;
    for note in &converted.unmapped {
        eprintln!("not mapped: {note}");
    }
    let timeout = std::time::Duration::from_secs(args.timeout);
    match action {
        "convert" => {
            print!("{}", compose::to_yaml(&converted.objects));
            Ok(())
        }
        "up" => {
            let client = client(args.kubeconfig.as_ref()).await?;
            compose::apply(&client, &converted.objects).await?;
            compose::wait_ready(&client, &converted.namespace, timeout).await?;
            println!("project {} is up", converted.namespace);
            Ok(())
        }
        _ => {
            let client = client(args.kubeconfig.as_ref()).await?;
            compose::down(&client, &converted.namespace, timeout).await?;
            Ok(())
        }
    }
}

fn main() -> anyhow::Result<()> {
    // `capstan up` runs kubelets in this process; their log shims are this binary too.
    capstan_kubelet::shim::maybe_run();
    capstan_apiserver::alloc_tuning::limit_malloc_arenas();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async_main())
}

async fn async_main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,libcgroups=error,libcontainer=error")
            }),
        )
        .with_writer(capstan_kubelet::logging::stderr_writer())
        .init();
    match Cli::parse().command {
        Command::Up {
            data_dir,
            port,
            nodes,
            network_namespace,
        } => {
            capstan_cli::up::run(capstan_cli::up::UpOptions {
                data_dir,
                port,
                nodes,
                network_namespace,
            })
            .await
        }
        Command::Compose { command } => compose(command).await,
        Command::Image { command } => match command {
            ImageCommand::Import { file, root_dir } => {
                let store = capstan_image::ImageStore::open(&root_dir.join("images"))?;
                for r in store.import(&file)? {
                    println!("imported {r}");
                }
                Ok(())
            }
            ImageCommand::List { root_dir } => {
                let store = capstan_image::ImageStore::open(&root_dir.join("images"))?;
                for i in store.list() {
                    println!("{}\t{}\t{}", i.reference, i.digest, i.size);
                }
                Ok(())
            }
            ImageCommand::BuildDemo { dir } => {
                for (r, _) in capstan_cli::demo::build(&dir)? {
                    println!("built {r}");
                }
                Ok(())
            }
        },
    }
    .context("capstan failed")
}
