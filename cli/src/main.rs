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
    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true)]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, global = true)]
    context: Option<String>,
    /// Namespace (default: the context's, else `default`).
    #[arg(short = 'n', long, global = true)]
    namespace: Option<String>,
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
    /// Show resources as the server's tables, or as YAML, JSON or names.
    Get(capstan_cli::kubectl::get::GetArgs),
    /// Create or update objects from files with server-side apply (field manager `capstan`).
    Apply {
        /// File, directory or `-` (stdin); repeatable.
        #[arg(short = 'f', long = "filename", required = true)]
        files: Vec<PathBuf>,
        /// Descend into subdirectories of directories given with -f.
        #[arg(short = 'R', long)]
        recursive: bool,
        /// Take over fields other managers own.
        #[arg(long)]
        force_conflicts: bool,
    },
    /// Delete objects by type and name, or those in files.
    Delete {
        /// TYPE NAME… (when no -f is given).
        args: Vec<String>,
        #[arg(short = 'f', long = "filename")]
        files: Vec<PathBuf>,
        #[arg(short = 'R', long)]
        recursive: bool,
        /// background, foreground or orphan.
        #[arg(long)]
        cascade: Option<String>,
        /// Wait until the objects are gone.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        wait: bool,
        /// How long to wait, in seconds.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
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

/// Prints a command's output, or fails kubectl's way: `error: <message>` on stderr, exit 1.
fn print_or_fail(r: Result<String, capstan_cli::kubectl::CliError>) -> anyhow::Result<()> {
    match r {
        Ok(text) => {
            print!("{text}");
            Ok(())
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

async fn compose(
    command: ComposeCommand,
    target: &capstan_cli::kubectl::Target,
) -> anyhow::Result<()> {
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
            let (client, _) = target.connect().await?;
            compose::apply(&client, &converted.objects).await?;
            compose::wait_ready(&client, &converted.namespace, timeout).await?;
            println!("project {} is up", converted.namespace);
            Ok(())
        }
        _ => {
            let (client, _) = target.connect().await?;
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
    let cli = Cli::parse();
    let target = capstan_cli::kubectl::Target {
        kubeconfig: cli.kubeconfig.clone(),
        context: cli.context.clone(),
        namespace: cli.namespace.clone(),
    };
    match cli.command {
        Command::Get(args) => print_or_fail(capstan_cli::kubectl::get::run(&target, &args).await),
        Command::Apply {
            files,
            recursive,
            force_conflicts,
        } => {
            let run = async {
                let objects = capstan_cli::kubectl::apply::read_objects(&files, recursive)?;
                capstan_cli::kubectl::apply::apply(&target, &objects, force_conflicts).await
            };
            print_or_fail(run.await)
        }
        Command::Delete {
            args,
            files,
            recursive,
            cascade,
            wait,
            timeout,
        } => {
            let run = async {
                use capstan_cli::kubectl::{CliError, apply};
                let objects = apply::read_objects(&files, recursive)?;
                let by_type = match args.split_first() {
                    Some((t, names)) if !names.is_empty() => Some((t.as_str(), names)),
                    Some(_) => {
                        return Err(CliError::Input(
                            "resource(s) were provided, but no name was specified".into(),
                        ));
                    }
                    None if objects.is_empty() => {
                        return Err(CliError::Input(
                            "you must provide one or more resources by argument or filename".into(),
                        ));
                    }
                    None => None,
                };
                let opts = apply::DeleteArgs {
                    cascade,
                    wait,
                    timeout: std::time::Duration::from_secs(timeout),
                };
                apply::delete(&target, by_type, &objects, &opts).await
            };
            print_or_fail(run.await)
        }
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
        Command::Compose { command } => compose(command, &target).await,
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
