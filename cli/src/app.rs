//! The `capstan` command line: its arguments and the dispatch to each command.

use std::path::PathBuf;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};

use crate::kubectl::{self, CliError};

#[derive(Parser, Debug)]
#[command(
    name = "capstan",
    about = "Capstan: a declarative container orchestrator"
)]
pub struct Cli {
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
    Get(kubectl::get::GetArgs),
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
        /// Delete objects applied before that match -l but are no longer in the files.
        #[arg(long, requires = "selector")]
        prune: bool,
        /// Label selector for --prune.
        #[arg(short = 'l', long)]
        selector: Option<String>,
    },
    /// Delete objects by type and name, by label, or those in files.
    Delete {
        /// TYPE NAME…, TYPE/NAME…, or TYPE with -l / --all (when no -f is given).
        args: Vec<String>,
        #[arg(short = 'l', long)]
        selector: Option<String>,
        /// Every object of the type in the namespace.
        #[arg(long)]
        all: bool,
        #[arg(short = 'f', long = "filename")]
        files: Vec<PathBuf>,
        #[arg(short = 'R', long)]
        recursive: bool,
        /// background, foreground or orphan.
        #[arg(long)]
        cascade: Option<String>,
        /// Wait until the objects are gone (`--wait=false`: return at once).
        #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
        wait: bool,
        /// How long to wait (30s, 5m; 0: a week, as kubectl).
        #[arg(long, default_value = "0s")]
        timeout: String,
    },
    /// Show objects in detail, with their Events, as kubectl describe does.
    Describe(kubectl::describe::DescribeArgs),
    /// Print (or follow) a container's logs.
    Logs(kubectl::logs::LogsArgs),
    /// Run a command in a container; its exit code becomes capstan's.
    Exec(kubectl::exec::ExecArgs),
    /// Forward local ports to a pod.
    PortForward(kubectl::portforward::PortForwardArgs),
    /// Set the replica count of a Deployment, ReplicaSet or StatefulSet.
    Scale(kubectl::scale::ScaleArgs),
    /// Watch, list, undo, restart, pause or resume rollouts.
    Rollout {
        #[command(subcommand)]
        command: kubectl::rollout::RolloutCommand,
    },
    /// Wait until objects meet a condition or are deleted.
    Wait(kubectl::wait::WaitArgs),
    /// Events, oldest first.
    Events(kubectl::events::EventsArgs),
    /// CPU and memory use (needs a metrics.k8s.io server).
    Top {
        #[command(subcommand)]
        command: kubectl::top::TopCommand,
    },
    /// Mark nodes unschedulable.
    Cordon { nodes: Vec<String> },
    /// Mark nodes schedulable again.
    Uncordon { nodes: Vec<String> },
    /// Cordon a node and evict its pods.
    Drain(kubectl::nodes::DrainArgs),
    /// What `apply -f` would change (exit 1 when something would).
    Diff {
        #[arg(short = 'f', long = "filename", required = true)]
        files: Vec<PathBuf>,
        #[arg(short = 'R', long)]
        recursive: bool,
    },
    /// Document a type or one of its fields (pods.spec.containers).
    Explain(kubectl::info::ExplainArgs),
    /// The resource types the server offers.
    ApiResources(kubectl::info::ApiResourcesArgs),
    /// Client and server versions.
    Version {
        #[arg(short = 'o', long)]
        output: Option<String>,
    },
    /// Read and change kubeconfig files.
    Config {
        #[command(subcommand)]
        command: kubectl::config::ConfigCommand,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completion { shell: clap_complete::Shell },
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

/// Prints a command's output, or fails kubectl's way: `error: <message>` on stderr, exit 1
/// (an empty result is said on stderr with exit 0).
fn print_or_fail(r: Result<String, kubectl::CliError>) -> anyhow::Result<()> {
    match r {
        Ok(text) => match kubectl::output::print(&text) {
            Ok(()) => Ok(()),
            Err(e) => print_or_fail(Err(e)),
        },
        Err(CliError::Empty(text)) => {
            eprintln!("{text}");
            Ok(())
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

async fn compose(command: ComposeCommand, target: &kubectl::Target) -> anyhow::Result<()> {
    use crate::compose;
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

/// Runs one parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let target = kubectl::Target {
        kubeconfig: cli.kubeconfig.clone(),
        context: cli.context.clone(),
        namespace: cli.namespace.clone(),
    };
    match cli.command {
        Command::Get(args) => print_or_fail(kubectl::get::run(&target, &args).await),
        Command::Apply {
            files,
            recursive,
            force_conflicts,
            prune,
            selector,
        } => {
            let run = async {
                let objects = kubectl::apply::read_objects(&files, recursive)?;
                let prune = if prune { selector.as_deref() } else { None };
                kubectl::apply::apply(&target, &objects, force_conflicts, prune).await
            };
            print_or_fail(run.await)
        }
        Command::Delete {
            args,
            selector,
            all,
            files,
            recursive,
            cascade,
            wait,
            timeout,
        } => {
            let run = async {
                use kubectl::apply;
                let objects = apply::read_objects(&files, recursive)?;
                let by_type = if args.is_empty() {
                    if objects.is_empty() {
                        return Err(CliError::Input(
                            "you must provide one or more resources by argument or filename".into(),
                        ));
                    }
                    Vec::new()
                } else {
                    kubectl::refs::parse(&args)?
                };
                let opts = apply::DeleteArgs {
                    cascade,
                    wait,
                    timeout: Some(kubectl::duration::parse(&timeout)?)
                        .filter(|t| !t.is_zero())
                        .unwrap_or(kubectl::duration::A_WEEK),
                    selector,
                    all,
                };
                apply::delete(&target, &by_type, &objects, &opts).await
            };
            print_or_fail(run.await)
        }
        Command::Describe(args) => print_or_fail(kubectl::describe::run(&target, &args).await),
        Command::Logs(args) => print_or_fail(kubectl::logs::run(&target, &args).await),
        Command::Exec(args) => match kubectl::exec::run(&target, &args).await {
            Ok(code) => std::process::exit(code),
            Err(e) => print_or_fail(Err(e)),
        },
        Command::PortForward(args) => {
            print_or_fail(kubectl::portforward::run(&target, &args).await)
        }
        Command::Scale(args) => print_or_fail(kubectl::scale::run(&target, &args).await),
        Command::Rollout { command } => {
            print_or_fail(kubectl::rollout::run(&target, &command).await)
        }
        Command::Wait(args) => print_or_fail(kubectl::wait::run(&target, &args).await),
        Command::Events(args) => print_or_fail(kubectl::events::run(&target, &args).await),
        Command::Top { command } => print_or_fail(kubectl::top::run(&target, &command).await),
        Command::Cordon { nodes } => {
            print_or_fail(kubectl::nodes::cordon(&target, &nodes, true).await)
        }
        Command::Uncordon { nodes } => {
            print_or_fail(kubectl::nodes::cordon(&target, &nodes, false).await)
        }
        Command::Drain(args) => print_or_fail(kubectl::nodes::drain(&target, &args).await),
        Command::Diff { files, recursive } => {
            let run = async {
                let objects = kubectl::apply::read_objects(&files, recursive)?;
                kubectl::diff::run(&target, &objects).await
            };
            match run.await {
                Ok((text, differs)) => {
                    print!("{text}");
                    std::process::exit(i32::from(differs));
                }
                // kubectl diff: 1 means "differences", so failures exit with more.
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::exit(2);
                }
            }
        }
        Command::Explain(args) => print_or_fail(kubectl::info::explain(&target, &args).await),
        Command::ApiResources(args) => {
            print_or_fail(kubectl::info::api_resources(&target, &args).await)
        }
        Command::Version { output } => {
            print_or_fail(kubectl::info::version(&target, output.as_deref()).await)
        }
        Command::Config { command } => {
            print_or_fail(kubectl::config::run(target.kubeconfig.as_ref(), &command))
        }
        Command::Completion { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "capstan",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Up {
            data_dir,
            port,
            nodes,
            network_namespace,
        } => {
            crate::up::run(crate::up::UpOptions {
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
                for (r, _) in crate::demo::build(&dir)? {
                    println!("built {r}");
                }
                Ok(())
            }
        },
    }
    .context("capstan failed")
}

/// Logs go to stderr (through the kubelet's writer, which `capstan up` shares).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,libcgroups=error,libcontainer=error")
            }),
        )
        .with_writer(capstan_kubelet::logging::stderr_writer())
        .init();
}
