//! `capstan events [--for TYPE/NAME] [--types Warning] [-A] [-w]`: Events oldest first, in
//! kubectl's columns (LAST SEEN, TYPE, REASON, OBJECT, MESSAGE).

use super::resources::Resources;
use super::table::align;
use super::{CliError, Target, refs};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use serde_json::Value;

#[derive(Debug, Clone, clap::Args)]
pub struct EventsArgs {
    /// Only events about this object (TYPE/NAME).
    #[arg(long = "for")]
    pub for_: Option<String>,
    /// Only these types, comma separated (Normal, Warning).
    #[arg(long)]
    pub types: Option<String>,
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Keep printing events as they happen.
    #[arg(short = 'w', long)]
    pub watch: bool,
    #[arg(long)]
    pub no_headers: bool,
}

/// When the event last happened, in unix seconds (series, lastTimestamp, eventTime, first).
pub fn last_seen(e: &Value) -> i64 {
    [
        &e["series"]["lastObservedTime"],
        &e["lastTimestamp"],
        &e["eventTime"],
        &e["firstTimestamp"],
        &e["metadata"]["creationTimestamp"],
    ]
    .into_iter()
    .find_map(|v| v.as_str().and_then(parse_time))
    .unwrap_or(0)
}

pub fn parse_time(s: &str) -> Option<i64> {
    s.parse::<k8s_openapi::jiff::Timestamp>()
        .ok()
        .map(|t| t.as_second())
}

fn first_seen(e: &Value) -> i64 {
    ["firstTimestamp", "eventTime"]
        .iter()
        .find_map(|k| e[*k].as_str().and_then(parse_time))
        .unwrap_or_else(|| last_seen(e))
}

/// kubectl's `5m`, or `5m (x3 over 10m)` for a repeated event.
pub fn age_column(e: &Value, now: i64) -> String {
    let last = capstan_api_types::time::human_duration(now - last_seen(e));
    let count = e["series"]["count"]
        .as_i64()
        .or_else(|| e["count"].as_i64())
        .unwrap_or(1);
    if count > 1 {
        let over = capstan_api_types::time::human_duration(now - first_seen(e));
        format!("{last} (x{count} over {over})")
    } else {
        last
    }
}

fn row(e: &Value, now: i64, with_ns: bool) -> Vec<String> {
    let obj = &e["involvedObject"];
    let mut r = Vec::new();
    if with_ns {
        r.push(
            e["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    r.push(age_column(e, now));
    r.push(e["type"].as_str().unwrap_or_default().to_string());
    r.push(e["reason"].as_str().unwrap_or_default().to_string());
    r.push(format!(
        "{}/{}",
        obj["kind"].as_str().unwrap_or_default().to_lowercase(),
        obj["name"].as_str().unwrap_or_default()
    ));
    r.push(
        e["message"]
            .as_str()
            .unwrap_or_default()
            .trim_end()
            .replace('\n', " "),
    );
    r
}

fn header(with_ns: bool) -> Vec<String> {
    let mut h: Vec<String> = Vec::new();
    if with_ns {
        h.push("NAMESPACE".into());
    }
    for c in ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"] {
        h.push(c.into());
    }
    h
}

/// The sorted table of `events` at `now`.
pub fn render(events: &[Value], now: i64, with_ns: bool, headers: bool) -> String {
    let mut sorted: Vec<&Value> = events.iter().collect();
    sorted.sort_by_key(|e| last_seen(e));
    let mut rows = Vec::new();
    if headers {
        rows.push(header(with_ns));
    }
    rows.extend(sorted.into_iter().map(|e| row(e, now, with_ns)));
    align(&rows)
}

pub async fn run(target: &Target, args: &EventsArgs) -> Result<String, CliError> {
    let (client, ns) = target.connect().await?;
    let api: Api<Event> = if args.all_namespaces {
        Api::all(client.clone())
    } else {
        Api::namespaced(client.clone(), &ns)
    };
    let mut fields = Vec::new();
    if let Some(f) = &args.for_ {
        let r = refs::parse_one(std::slice::from_ref(f), "--for")?;
        let resources = Resources::discover(&client).await?;
        let res = resources.find(&r.kind)?;
        fields.push(format!("involvedObject.kind={}", res.ar.kind));
        fields.push(format!(
            "involvedObject.name={}",
            r.name.unwrap_or_default()
        ));
    }
    let wanted_types: Vec<String> = args
        .types
        .as_deref()
        .map(|t| t.split(',').map(|x| x.trim().to_lowercase()).collect())
        .unwrap_or_default();
    for t in &wanted_types {
        if t != "normal" && t != "warning" {
            return Err(CliError::Input(format!(
                "valid --types are Normal or Warning, not {t}"
            )));
        }
    }
    let keep = |e: &Value| {
        wanted_types.is_empty()
            || e["type"]
                .as_str()
                .is_some_and(|t| wanted_types.contains(&t.to_lowercase()))
    };
    let lp = ListParams::default().fields(&fields.join(","));
    let list = api
        .list(&lp)
        .await
        .map_err(CliError::from_kube("listing events"))?;
    let rv = list.metadata.resource_version.clone().unwrap_or_default();
    let events: Vec<Value> = list
        .items
        .iter()
        .filter_map(|e| serde_json::to_value(e).ok())
        .filter(|e| keep(e))
        .collect();
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    if !args.watch {
        if events.is_empty() {
            return Err(CliError::Empty(if args.all_namespaces {
                "No events found.".into()
            } else {
                format!("No events found in {ns} namespace.")
            }));
        }
        return Ok(render(&events, now, args.all_namespaces, !args.no_headers));
    }
    let text = render(&events, now, args.all_namespaces, !args.no_headers);
    super::output::print(&text)?;
    let wp = WatchParams::default().fields(&fields.join(","));
    let mut rv = rv;
    // The server ends each watch after a while: resume from the last revision seen, and
    // from the present when that revision has left the server's window.
    loop {
        let mut stream = match api.watch(&wp, &rv).await {
            Ok(s) => s.boxed(),
            Err(e @ kube::Error::Api(_)) => return Err(CliError::from_kube("watching events")(e)),
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(WatchEvent::Added(e)) | Ok(WatchEvent::Modified(e)) => {
                    rv = e.metadata.resource_version.clone().unwrap_or_default();
                    let v = serde_json::to_value(&e).unwrap_or_default();
                    if !keep(&v) {
                        continue;
                    }
                    let now = k8s_openapi::jiff::Timestamp::now().as_second();
                    super::output::print(&align(&[row(&v, now, args.all_namespaces)]))?;
                }
                Ok(WatchEvent::Bookmark(b)) => rv = b.metadata.resource_version,
                Ok(WatchEvent::Error(e)) if e.code == 410 => {
                    rv = api
                        .list_metadata(&ListParams::default().fields(&fields.join(",")).limit(1))
                        .await
                        .map_err(CliError::from_kube("listing events"))?
                        .metadata
                        .resource_version
                        .unwrap_or_default();
                    break;
                }
                Ok(WatchEvent::Error(e)) => {
                    return Err(CliError::Api {
                        what: "watching events".into(),
                        message: e.message,
                    });
                }
                Ok(WatchEvent::Deleted(_)) => {}
                Err(_) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorted_with_repeats() {
        let now = parse_time("2026-01-01T00:10:00Z").unwrap();
        let events = vec![
            json!({"type": "Warning", "reason": "BackOff", "message": "Back-off restarting failed container",
                   "involvedObject": {"kind": "Pod", "name": "web-1"}, "count": 4,
                   "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:09:00Z"}),
            json!({"type": "Normal", "reason": "Scheduled", "message": "Successfully assigned default/web-1 to node-1",
                   "involvedObject": {"kind": "Pod", "name": "web-1"},
                   "eventTime": "2026-01-01T00:00:00.000000Z"}),
        ];
        assert_eq!(
            render(&events, now, false, true),
            "LAST SEEN           TYPE      REASON      OBJECT      MESSAGE\n\
             10m                 Normal    Scheduled   pod/web-1   Successfully assigned default/web-1 to node-1\n\
             60s (x4 over 10m)   Warning   BackOff     pod/web-1   Back-off restarting failed container\n"
        );
    }
}
