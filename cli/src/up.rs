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
    let progress = crate::progress::Progress::stdout();
    progress.done(&format!(
        "API server at {} (state in {})",
        server.url(),
        data_dir.join("store").display()
    ));
    progress.done("scheduler and controllers started");
    println!("Point kubectl at it with:");
    println!("  export KUBECONFIG={}", kubeconfig.display());
    if nodes > 0 {
        progress.waiting(&format!("waiting for {nodes} node(s) to be Ready"));
        let client = kube::Client::try_from(kube::Config::new(server.url().parse()?))
            .context("building the in-process API client")?;
        tokio::spawn(report_nodes(client, nodes, kubeconfig.clone()));
    }
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

/// Reports each node as it becomes Ready (with its pod range), then what to try next.
async fn report_nodes(client: kube::Client, count: u32, kubeconfig: PathBuf) {
    use k8s_openapi::api::core::v1::Node;
    let progress = crate::progress::Progress::stdout();
    let api: kube::Api<Node> = kube::Api::all(client);
    let mut reported = std::collections::BTreeSet::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    while reported.len() < count as usize {
        if tokio::time::Instant::now() > deadline {
            progress.failed("not every node became Ready within 2 minutes; see the log above");
            return;
        }
        if let Ok(list) = api.list(&Default::default()).await {
            for n in list.items {
                let name = n.metadata.name.clone().unwrap_or_default();
                let ready = n
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
                if ready && reported.insert(name.clone()) {
                    let cidr = n.spec.and_then(|s| s.pod_cidr).unwrap_or_default();
                    progress.done(&format!("{name} Ready, pods get addresses from {cidr}"));
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    progress.heading("Try this:");
    println!("  export KUBECONFIG={}", kubeconfig.display());
    // The binary that is running now, so the lines work from any checkout or target dir.
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.to_path_buf()))
    {
        println!("  export PATH={}:$PATH", dir.display());
    }
    println!("  capstan apply -f examples/ && capstan rollout status -n shop deploy/web");
    println!("  curl 127.0.0.1:30080/hostname      # the web Service's NodePort");
    println!("  capstan logs -n shop deploy/web && capstan exec -it -n shop deploy/web -- sh");
    println!("  (kubectl works as well: same KUBECONFIG)");
}
