//! capstan-kubelet: the node agent. Registers the node and keeps its Lease and status fresh,
//! runs the pods bound to it as OCI containers through youki's libcontainer (from a shim
//! process per container),
//! pulls and garbage-collects images, serves logs and exec for the API server's proxy, and
//! survives its own restarts without touching running containers.
//!
//! `run` is the whole program as a library call (`capstan up` runs several in one process);
//! `main.rs` only parses flags.

pub mod config;
pub mod context;
pub mod error;
pub mod logging;
pub mod logs;
pub mod machine;
pub mod network;
pub mod node;
pub mod pods;
pub mod portforward;
pub mod runtime;
pub mod server;
pub mod services;
pub mod shim;

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicU16;

use capstan_controllers::runtime::events::Recorder;
use capstan_image::ImageStore;
use kube::Client;

pub use config::Config;
pub use error::{Error, Result};

use context::Context;

/// Preflight: what the kubelet needs from the machine, with a clear error otherwise.
pub fn check_host() -> Result<()> {
    if !nix::unistd::geteuid().is_root() {
        return Err(Error::Config(
            "capstan-kubelet must run as root (it mounts overlays, creates namespaces and cgroups)"
                .into(),
        ));
    }
    Ok(())
}

/// Runs the kubelet until `shutdown` resolves. Containers keep running after it returns; a
/// later `run` with the same root dir adopts them.
pub async fn run(client: Client, config: Config, shutdown: impl Future<Output = ()>) -> Result<()> {
    check_host()?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let root = config.root_dir.clone();
    std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
    let images = ImageStore::open(&root.join("images"))?;
    let shim = match &config.shim_binary {
        Some(p) => p.clone(),
        None => std::env::current_exe()
            .map_err(|e| Error::io(std::path::Path::new("/proc/self/exe"), e))?,
    };
    let runtime = runtime::Runtime::new(&root.join("runtime"), &shim)?;
    let network = network::Network::new(
        &root,
        config.cni_conf_dir.clone(),
        config.cni_bin_dirs.clone(),
        network::NodeNetns::new(config.network_namespace.clone()),
        &config.node_name,
    );
    if let Some(cidr) = &config.pod_cidr {
        network.set_pod_cidr(cidr).map_err(Error::Config)?;
    }
    let ctx = Arc::new(Context {
        network,
        network_changed: tokio::sync::Notify::new(),
        recorder: Recorder::spawn(client.clone(), "kubelet"),
        client,
        runtime,
        images,
        cgroups: runtime::cgroups::detect(),
        shim,
        server_port: AtomicU16::new(0),
        registered: tokio::sync::Notify::new(),
        admission: tokio::sync::Mutex::new(()),
        pods: Default::default(),
        known: Default::default(),
        config,
    });
    for d in [
        ctx.pods_dir(),
        ctx.containers_dir(),
        ctx.netns_dir(),
        ctx.logs_dir(),
    ] {
        std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
    }
    let server = server::start(ctx.clone()).await.map_err(|e| {
        Error::Config(format!(
            "starting the kubelet server on {}:{}: {e}",
            ctx.config.node_ip, ctx.config.port
        ))
    })?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    if ctx.config.serve_services {
        let dns_ip = match ctx.config.cluster_dns {
            Some(std::net::IpAddr::V4(ip)) => Some(ip),
            _ => None,
        };
        services::start(
            ctx.client.clone(),
            services::ServicesConfig {
                node: ctx.network.node_netns().clone(),
                dns_ip,
                domain: ctx.config.cluster_domain.clone(),
            },
            stop_rx.clone(),
        )
        .await;
    }
    let node = tokio::spawn(node::run(ctx.clone(), stop_rx.clone()));
    let pods = tokio::spawn(pods::manager::run(ctx.clone(), stop_rx.clone()));
    let gc = tokio::spawn(image_gc(ctx.clone(), stop_rx));
    tracing::info!(node = %ctx.config.node_name, port = ctx.server_port(), "kubelet started");
    shutdown.await;
    let _ = stop_tx.send(true);
    server.abort();
    let _ = tokio::join!(node, pods, gc);
    tracing::info!(node = %ctx.config.node_name, "kubelet stopped; containers keep running");
    Ok(())
}

/// Resolves once the stop flag is set (the guard `wait_for` returns is not `Send`).
pub(crate) async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

/// Images referenced by any pod on this node, normalised.
fn images_in_use(ctx: &Context) -> HashSet<String> {
    let known = ctx.known.read().map(|k| k.clone()).unwrap_or_default();
    known
        .values()
        .flat_map(|p| {
            let spec = p.spec.clone().unwrap_or_default();
            spec.containers
                .into_iter()
                .chain(spec.init_containers.unwrap_or_default())
                .filter_map(|c| c.image)
                .collect::<Vec<_>>()
        })
        .filter_map(|i| ImageStore::normalize(&i).ok())
        .collect()
}

async fn image_gc(ctx: Arc<Context>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(ctx.config.image_gc_period);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = crate::stopped(&mut stop) => return,
        }
        let in_use = images_in_use(&ctx);
        let (store, high, low) = (
            ctx.images.clone(),
            ctx.config.image_gc_high_threshold,
            ctx.config.image_gc_low_threshold,
        );
        let min_age = ctx.config.image_minimum_gc_age;
        match tokio::task::spawn_blocking(move || {
            store.garbage_collect_older_than(&in_use, high, low, min_age)
        })
        .await
        {
            Ok(Ok(report)) if !report.removed.is_empty() => {
                tracing::info!(removed = ?report.removed, freed = report.freed_bytes, "image garbage collection");
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "image garbage collection"),
            Err(e) => tracing::warn!(error = %e, "image garbage collection task"),
        }
    }
}
