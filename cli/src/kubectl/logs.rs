//! `capstan logs POD|TYPE/NAME [-c C] [-f] [--previous] [--tail N] [--since 5m]
//! [--timestamps] [--all-containers] [--prefix] [-l SELECTOR]`, streamed as it arrives.

use std::io::Write;

use futures::{AsyncBufReadExt, TryStreamExt};
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
    /// Start each line with [pod/NAME/CONTAINER].
    #[arg(long)]
    pub prefix: bool,
    /// Logs of every pod the selector matches.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// At most this many concurrent streams with -l / --all-containers -f.
    #[arg(long, default_value_t = 5)]
    pub max_log_requests: usize,
}

/// A Go-style duration (`90s`, `5m`, `1h30m`) in seconds.
pub fn parse_duration(s: &str) -> Result<i64, CliError> {
    let bad = || CliError::Input(format!("invalid duration \"{s}\" (use e.g. 30s, 5m, 2h)"));
    let mut total: i64 = 0;
    let mut num = String::new();
    let mut any = false;
    for ch in s.chars() {
        if ch.is_ascii_digit() {
            num.push(ch);
            continue;
        }
        let n: i64 = num.parse().map_err(|_| bad())?;
        num.clear();
        total += n * match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
        any = true;
    }
    if !num.is_empty() || !any {
        return Err(bad());
    }
    Ok(total)
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
                return Err(CliError::Input(format!(
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
    let since_seconds = args.since.as_deref().map(parse_duration).transpose()?;
    let lp = |container: &str| LogParams {
        container: Some(container.to_string()),
        follow: args.follow,
        previous: args.previous,
        tail_lines: (args.tail >= 0).then_some(args.tail),
        since_seconds,
        timestamps: args.timestamps,
        ..LogParams::default()
    };
    let prefix = args.prefix || (streams.len() > 1 && args.follow);
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
    let mut lines = reader.lines();
    let out = std::io::stdout();
    while let Some(line) = lines
        .try_next()
        .await
        .map_err(|e| CliError::Input(format!("{what}: {e}")))?
    {
        let text = format!("{}{line}\n", label.unwrap_or_default());
        // Whole lines under the lock, so concurrent streams never interleave mid-line.
        let mut locked = out.lock();
        if locked.write_all(text.as_bytes()).is_err() {
            // The reader of our output went away (`| head`): stop quietly, as kubectl does.
            return Ok(());
        }
        let _ = locked.flush();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), 90);
        assert_eq!(parse_duration("1h30m").unwrap(), 5400);
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("").is_err());
    }
}
