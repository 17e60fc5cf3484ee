//! `capstan-kubelet`: flags → `capstan_kubelet::run`.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "capstan-kubelet",
    about = "Capstan's node agent: runs the pods bound to this node"
)]
struct Args {
    /// API server URL (instead of --kubeconfig).
    #[arg(long)]
    server: Option<String>,
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    #[arg(long)]
    node_name: Option<String>,
    #[arg(long, default_value = "/var/lib/capstan-kubelet")]
    root_dir: PathBuf,
    #[arg(long, default_value_t = 110)]
    max_pods: u32,
    /// key=value,... added to the Node's labels.
    #[arg(long, default_value = "")]
    node_labels: String,
    /// key[=value]:Effect,... registered on the Node.
    #[arg(long, default_value = "")]
    register_with_taints: String,
    /// HOST:PORT of a registry that may be used over plain HTTP (repeatable).
    #[arg(long)]
    insecure_registry: Vec<String>,
    #[arg(long, default_value = "127.0.0.1")]
    node_ip: IpAddr,
    /// Port of the log/exec server (0 = any free port).
    #[arg(long, default_value_t = 10250)]
    port: u16,
    #[arg(long)]
    cgroup_root: Option<String>,
    #[arg(long, default_value_t = 85)]
    image_gc_high_threshold: u8,
    #[arg(long, default_value_t = 80)]
    image_gc_low_threshold: u8,
    /// Seconds between image garbage collection passes.
    #[arg(long, default_value_t = 60)]
    image_gc_period: u64,
    /// Images used more recently than this are never garbage collected (e.g. 2m, 90s).
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    minimum_image_ttl_duration: std::time::Duration,
    /// This node's pod range when no controller assigns `spec.podCIDR`.
    #[arg(long)]
    pod_cidr: Option<String>,
    /// CNI configuration dir (default: <root-dir>/cni/net.d).
    #[arg(long)]
    cni_conf_dir: Option<std::path::PathBuf>,
    /// CNI plugin dirs, comma separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "/usr/lib/cni,/opt/cni/bin"
    )]
    cni_bin_dir: Vec<std::path::PathBuf>,
    /// Network namespace (a path such as /var/run/netns/NAME) holding the node's pod
    /// bridge, service rules and DNS address; default: the kubelet's own.
    #[arg(long)]
    network_namespace: Option<std::path::PathBuf>,
    /// Nameserver for pods with dnsPolicy ClusterFirst; empty for the host's.
    #[arg(long, default_value = "10.96.0.10")]
    cluster_dns: String,
    #[arg(long, default_value = "cluster.local")]
    cluster_domain: String,
    /// Run the node proxy (nftables) and the cluster DNS for the node's network namespace.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    serve_services: bool,
}

/// `90`, `90s`, `2m`, `1h30m` as the kubelet's duration flags take them.
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num
            .parse()
            .map_err(|_| format!("{s:?} is not a duration"))?;
        num.clear();
        total += n * match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(format!("{s:?}: unknown unit {c:?} (use h, m or s)")),
        };
    }
    if !num.is_empty() {
        total += num
            .parse::<u64>()
            .map_err(|_| format!("{s:?} is not a duration"))?;
    }
    Ok(std::time::Duration::from_secs(total))
}

async fn client(args: &Args) -> anyhow::Result<kube::Client> {
    let config = match (&args.server, &args.kubeconfig) {
        (Some(url), _) => kube::Config::new(url.parse().context("--server")?),
        (None, Some(path)) => {
            let kc = kube::config::Kubeconfig::read_from(path).context("reading --kubeconfig")?;
            kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?
        }
        (None, None) => kube::Config::infer().await?,
    };
    Ok(kube::Client::try_from(config)?)
}

fn main() -> anyhow::Result<()> {
    // Before any thread exists: this process may be a container shim or exec helper.
    capstan_kubelet::shim::maybe_run();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async_main())
}

async fn async_main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,libcgroups=error,libcontainer=error".into()),
        )
        .with_writer(capstan_kubelet::logging::stderr_writer())
        .init();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = Args::parse();
    let node_name = match &args.node_name {
        Some(n) => n.clone(),
        None => nix::unistd::gethostname()?.to_string_lossy().to_lowercase(),
    };
    let mut config = capstan_kubelet::Config::new(&node_name, args.root_dir.clone());
    config.max_pods = args.max_pods;
    config.node_labels =
        capstan_kubelet::config::parse_labels(&args.node_labels).map_err(anyhow::Error::msg)?;
    config.register_with_taints = args
        .register_with_taints
        .split(',')
        .filter(|t| !t.is_empty())
        .map(capstan_kubelet::config::parse_taint)
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    config.insecure_registries = args.insecure_registry.clone();
    config.node_ip = args.node_ip;
    config.port = args.port;
    if let Some(c) = &args.cgroup_root {
        config.cgroup_root = c.clone();
    }
    config.image_gc_high_threshold = args.image_gc_high_threshold;
    config.image_gc_low_threshold = args.image_gc_low_threshold;
    config.image_gc_period = std::time::Duration::from_secs(args.image_gc_period.max(1));
    config.image_minimum_gc_age = args.minimum_image_ttl_duration;
    config.pod_cidr = args.pod_cidr.clone();
    if let Some(d) = &args.cni_conf_dir {
        config.cni_conf_dir = d.clone();
    }
    config.cni_bin_dirs = args.cni_bin_dir.clone();
    config.network_namespace = args.network_namespace.clone();
    config.cluster_dns = if args.cluster_dns.is_empty() {
        None
    } else {
        Some(args.cluster_dns.parse().context("--cluster-dns")?)
    };
    config.cluster_domain = args.cluster_domain.clone();
    config.serve_services = args.serve_services;
    let client = client(&args).await?;
    let shutdown = async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
    };
    capstan_kubelet::run(client, config, shutdown).await?;
    Ok(())
}
