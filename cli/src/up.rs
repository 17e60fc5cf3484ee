//! `capstan up`: the local cluster. Starts the API server on the embedded store in DIR and the
//! scheduler and controllers beside it, writes DIR/kubeconfig and prints how to use it, then runs until Ctrl-C.

use std::path::PathBuf;

use anyhow::Context;

#[derive(Debug, Clone)]
pub struct UpOptions {
    pub data_dir: PathBuf,
    pub port: u16,
    pub nodes: u32,
    pub network_namespace: Option<PathBuf>,
}

pub async fn run(opts: UpOptions) -> anyhow::Result<()> {
    let UpOptions {
        data_dir,
        port,
        nodes,
        network_namespace,
    } = opts;
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let data_dir = data_dir.canonicalize()?;
    let config = capstan_apiserver::Config {
        data_dir: data_dir.join("store"),
        port,
        ..capstan_apiserver::Config::default()
    };
    let server = capstan_apiserver::start(config)
        .await
        .context("starting the API server")?;
    let kubeconfig = data_dir.join("kubeconfig");
    crate::kubeconfig::write(&kubeconfig, &server.url())
        .with_context(|| format!("writing {}", kubeconfig.display()))?;
    let client = kube::Client::try_from(kube::Config::new(server.url().parse()?))
        .context("building the in-process API client")?;
    let scheduler_stop = server.shutdown_handle();
    let scheduler = tokio::spawn(async move {
        let mut stop = scheduler_stop.subscribe();
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) =
            capstan_scheduler::run(client, capstan_scheduler::Config::default(), shutdown).await
        {
            tracing::error!(error = %e, "scheduler stopped");
        }
    });
    let controllers_client = kube::Client::try_from(kube::Config::new(server.url().parse()?))
        .context("building the in-process API client")?;
    let controllers_stop = server.shutdown_handle();
    let controllers = tokio::spawn(async move {
        let mut stop = controllers_stop.subscribe();
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        let config = capstan_controllers::Config {
            metrics_address: None,
            ..Default::default()
        };
        if let Err(e) = capstan_controllers::run(controllers_client, config, shutdown).await {
            tracing::error!(error = %e, "controllers stopped");
        }
    });
    let mut kubelets = Vec::new();
    if nodes > 0 {
        let layouts = crate::demo::build(&data_dir.join("demo-images"))
            .context("building the demo images")?;
        for i in 1..=nodes {
            let name = format!("node-{i}");
            let root = data_dir.join("nodes").join(&name);
            let store = capstan_image::ImageStore::open(&root.join("images"))?;
            for (reference, layout) in &layouts {
                if store.lookup(reference).is_none() {
                    store
                        .import(layout)
                        .with_context(|| format!("preloading {reference} on {name}"))?;
                }
            }
            let mut config = capstan_kubelet::Config::new(&name, root);
            config.port = 0;
            config.network_namespace = network_namespace.clone();
            // All nodes share one network namespace here, and one proxy and DNS serve it.
            config.serve_services = i == 1;
            let client = kube::Client::try_from(kube::Config::new(server.url().parse()?))
                .context("building the in-process API client")?;
            let stop = server.shutdown_handle();
            kubelets.push(tokio::spawn(async move {
                let mut stop = stop.subscribe();
                let shutdown = async move {
                    let _ = stop.wait_for(|s| *s).await;
                };
                if let Err(e) = capstan_kubelet::run(client, config, shutdown).await {
                    tracing::error!(node = %name, error = %e, "kubelet stopped");
                }
            }));
        }
    }
    println!(
        "Capstan is running: API server at {}, scheduler, controllers and {nodes} node(s) started",
        server.url()
    );
    println!("Point kubectl at it with:");
    println!("  export KUBECONFIG={}", kubeconfig.display());
    println!(
        "Press Ctrl-C to stop; run `capstan up --data-dir {}` again to resume.",
        data_dir.display()
    );
    let handle = server.shutdown_handle();
    tokio::select! {
        _ = capstan_apiserver::server::shutdown_signal() => { handle.send_replace(true); }
        _ = async { let mut rx = handle.subscribe(); let _ = rx.wait_for(|s| *s).await; } => {}
    }
    for k in kubelets {
        let _ = k.await;
    }
    let _ = scheduler.await;
    let _ = controllers.await;
    server
        .wait()
        .await
        .context("API server stopped with an error")?;
    println!("Capstan stopped.");
    Ok(())
}
