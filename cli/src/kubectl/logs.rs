//! `capstan logs POD|TYPE/NAME [-c C] [-f] [--previous] [--tail N] [--since 5m]
//! [--timestamps] [--all-containers] [--prefix] [-l SELECTOR]`, streamed as it arrives.

use std::io::Write;

use futures::AsyncBufReadExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};

use super::{CliError, Target, pods};

#[derive(Debug, Clone, clap::Args)]
pub struct LogsArgs {
    /// POD, or TYPE/NAME of a workload (one of its pods is used).
    pub object: Option<String>,
    /// Container (default: the pod's default container).
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Keep streaming new lines.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// The previous, terminated instance of the container.
    #[arg(short = 'p', long)]
    pub previous: bool,
    /// Last N lines only (-1: all).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub tail: i64,
    /// Only lines newer than this (5s, 2m, 3h).
    #[arg(long)]
    pub since: Option<String>,
    #[arg(long)]
    pub timestamps: bool,
    /// Every container of the pod(s).
    #[arg(long)]
    pub all_containers: bool,
    /// Start each line with [pod/NAME/CONTAINER] (several streams are otherwise unmarked, as
    /// with kubectl).
    #[arg(long)]
    pub prefix: bool,
    /// Logs of every pod the selector matches.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// At most this many concurrent streams with -l / --all-containers -f.
    #[arg(long, default_value_t = 5)]
    pub max_log_requests: usize,
}

pub async fn run(target: &Target, args: &LogsArgs) -> Result<String, CliError> {
    let (client, ns) = target.connect().await?;
    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let chosen: Vec<Pod> = match (&args.object, &args.selector) {
        (Some(what), None) => {
            let list = pods::resolve(&client, &ns, what).await?;
            if list.len() > 1 {
                eprintln!(
                    "Found {} pods, using pod/{}",
                    list.len(),
                    list[0].metadata.name.clone().unwrap_or_default()
                );
            }
            list.into_iter().take(1).collect()
        }
        (None, Some(sel)) => {
            let list = api
                .list(&ListParams::default().labels(sel))
                .await
                .map_err(CliError::from_kube("listing pods"))?
                .items;
            if list.is_empty() {
                return Err(CliError::Empty(format!(
                    "No resources found in {ns} namespace."
                )));
            }
            list
        }
        _ => {
            return Err(CliError::Input(
                "expected POD or TYPE/NAME, or -l SELECTOR (not both)".into(),
            ));
        }
    };
    let mut streams = Vec::new();
    for pod in &chosen {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let containers = if args.all_containers {
            pods::container_names(pod)
        } else {
            vec![pods::container(pod, args.container.as_deref())?]
        };
        for c in containers {
            streams.push((name.clone(), c));
        }
    }
    if args.follow && streams.len() > args.max_log_requests {
        return Err(CliError::Input(format!(
            "you are attempting to follow {} log streams, but maximum allowed concurrency is {}, use --max-log-requests to increase the limit",
            streams.len(),
            args.max_log_requests
        )));
    }
    let since_seconds = args
        .since
        .as_deref()
        .map(super::duration::seconds)
        .transpose()?;
    let lp = |container: &str| LogParams {
        container: Some(container.to_string()),
        follow: args.follow,
        previous: args.previous,
        // kubectl shows the last 10 lines per pod when a selector picks the pods.
        tail_lines: match (args.tail, &args.selector) {
            (t, _) if t >= 0 => Some(t),
            (_, Some(_)) => Some(10),
            _ => None,
        },
        since_seconds,
        timestamps: args.timestamps,
        ..LogParams::default()
    };
    let prefix = args.prefix;
    if args.follow {
        // Every stream at once; each line goes out whole so lines never interleave mid-way.
        let tasks = streams.iter().map(|(pod, c)| {
            let api = api.clone();
            let params = lp(c);
            let label = prefix.then(|| format!("[pod/{pod}/{c}] "));
            async move { copy_stream(&api, pod, &params, label.as_deref()).await }
        });
        futures::future::try_join_all(tasks).await?;
    } else {
        for (pod, c) in &streams {
            let label = prefix.then(|| format!("[pod/{pod}/{c}] "));
            copy_stream(&api, pod, &lp(c), label.as_deref()).await?;
        }
    }
    Ok(String::new())
}

async fn copy_stream(
    api: &Api<Pod>,
    pod: &str,
    params: &LogParams,
    label: Option<&str>,
) -> Result<(), CliError> {
    let what = format!("logs of pod/{pod}");
    let reader = api
        .log_stream(pod, params)
        .await
        .map_err(CliError::from_kube(&what))?;
    let mut reader = reader;
    let out = std::io::stdout();
    let mut line = Vec::new();
    loop {
        line.clear();
        // Bytes, not text: a container may write anything, and it is passed on unchanged.
        let n = reader
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| CliError::Input(format!("{what}: {e}")))?;
        if n == 0 {
            return Ok(());
        }
        // Whole lines under the lock, so concurrent streams never interleave mid-line.
        let mut locked = out.lock();
        let written = locked
            .write_all(label.unwrap_or_default().as_bytes())
            .and_then(|()| locked.write_all(&line))
            .and_then(|()| locked.flush());
        if written.is_err() {
            // The reader of our output went away (`| head`): stop quietly, as kubectl does.
            return Ok(());
        }
    }
}
