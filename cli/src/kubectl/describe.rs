//! `capstan describe TYPE [NAME…] | TYPE/NAME… [-l SEL]`: fetches each object, its Events
//! and the objects its layout mentions (a Deployment's ReplicaSets, a Node's pods, a
//! Service's endpoints), and renders them with capstan-describe.

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use super::resources::{Resource, Resources, api_of, owned_by, typed};
use super::{CliError, Target, refs};

#[derive(Debug, Clone, clap::Args)]
pub struct DescribeArgs {
    /// TYPE [NAME…] or TYPE/NAME…; a NAME also matches objects whose name starts with it.
    #[arg(required = true)]
    pub objects: Vec<String>,
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Include the Events section (`--show-events=false` leaves it out).
    #[arg(long = "show-events", default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub show_events: bool,
}

fn to_value(o: &DynamicObject) -> Value {
    serde_json::to_value(o).unwrap_or_default()
}

pub async fn run(target: &Target, args: &DescribeArgs) -> Result<String, CliError> {
    let (client, ns) = target.connect().await?;
    let resources = Resources::discover(&client).await?;
    let mut found: Vec<(Resource, Value)> = Vec::new();
    for r in refs::parse(&args.objects)? {
        let res = resources.find(&r.kind)?;
        let api = if args.all_namespaces && res.namespaced {
            kube::Api::all_with(client.clone(), &res.ar)
        } else {
            res.api(&client, &ns)
        };
        match r.name {
            Some(name) => match api.get_opt(&name).await {
                Ok(Some(o)) => found.push((res.clone(), with_type(res, to_value(&o)))),
                Ok(None) => {
                    // kubectl also describes every object whose name starts with NAME.
                    let list = api
                        .list(&ListParams::default())
                        .await
                        .map_err(CliError::from_kube(&format!("listing {}", res.ar.plural)))?;
                    let matching: Vec<Value> = list
                        .items
                        .iter()
                        .filter(|o| {
                            o.metadata
                                .name
                                .as_deref()
                                .is_some_and(|n| n.starts_with(&name))
                        })
                        .map(|o| with_type(res, to_value(o)))
                        .collect();
                    if matching.is_empty() {
                        return Err(CliError::Api {
                            what: format!("describing {}", res.display_name(&name)),
                            message: format!("{} \"{name}\" not found", res.ar.plural),
                        });
                    }
                    found.extend(matching.into_iter().map(|o| (res.clone(), o)));
                }
                Err(e) => {
                    return Err(CliError::from_kube(&format!(
                        "describing {}",
                        res.display_name(&name)
                    ))(e));
                }
            },
            None => {
                let mut lp = ListParams::default();
                if let Some(s) = &args.selector {
                    lp = lp.labels(s);
                }
                let list = api
                    .list(&lp)
                    .await
                    .map_err(CliError::from_kube(&format!("listing {}", res.ar.plural)))?;
                found.extend(
                    list.items
                        .iter()
                        .map(|o| (res.clone(), with_type(res, to_value(o)))),
                );
            }
        }
    }
    if found.is_empty() {
        return Err(CliError::Empty(if args.all_namespaces {
            "No resources found".into()
        } else {
            format!("No resources found in {ns} namespace.")
        }));
    }
    let now = k8s_openapi::jiff::Timestamp::now().as_second();
    let mut sections = Vec::new();
    for (res, obj) in &found {
        let events = if args.show_events {
            events_for(&client, obj).await?
        } else {
            Vec::new()
        };
        let related = related(&client, res, obj).await?;
        let mut text = capstan_describe::describe(obj, &events, &related, now);
        if !args.show_events {
            // The layouts always end with the Events section; drop it when asked.
            if let Some(i) = text.rfind("\nEvents:") {
                text.truncate(i + 1);
            }
        }
        sections.push(text);
    }
    Ok(sections.join("\n\n"))
}

/// List items carry no apiVersion/kind; the layouts choose by kind.
fn with_type(res: &Resource, mut v: Value) -> Value {
    v["apiVersion"] = Value::String(res.ar.api_version.clone());
    v["kind"] = Value::String(res.ar.kind.clone());
    v
}

async fn events_for(client: &kube::Client, obj: &Value) -> Result<Vec<Value>, CliError> {
    let uid = obj["metadata"]["uid"].as_str().unwrap_or_default();
    let ns = obj["metadata"]["namespace"].as_str();
    let api: Api<Event> = match ns {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let list = api
        .list(&ListParams::default().fields(&format!("involvedObject.uid={uid}")))
        .await
        .map_err(CliError::from_kube("listing events"))?;
    Ok(list
        .items
        .iter()
        .filter_map(|e| serde_json::to_value(e).ok())
        .collect())
}

async fn related(
    client: &kube::Client,
    res: &Resource,
    obj: &Value,
) -> Result<Vec<Value>, CliError> {
    let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let list = |api: Api<DynamicObject>, lp: ListParams, what: &'static str| async move {
        api.list(&lp)
            .await
            .map(|l| l.items)
            .map_err(CliError::from_kube(what))
    };
    match (res.ar.group.as_str(), res.ar.kind.as_str()) {
        ("apps", "Deployment") => {
            let (api, ar) = api_of(client, Some(ns), ("apps", "v1", "ReplicaSet"));
            let uid = obj["metadata"]["uid"].as_str().unwrap_or_default();
            let items = list(api, ListParams::default(), "listing replicasets").await?;
            Ok(typed(&owned_by(items, uid, false), &ar))
        }
        ("", "Service") => {
            let (api, ar) = api_of(
                client,
                Some(ns),
                ("discovery.k8s.io", "v1", "EndpointSlice"),
            );
            let lp = ListParams::default().labels(&format!("kubernetes.io/service-name={name}"));
            Ok(typed(&list(api, lp, "listing endpointslices").await?, &ar))
        }
        ("", "Node") => {
            let fields =
                format!("spec.nodeName={name},status.phase!=Succeeded,status.phase!=Failed");
            let mut out = pods(client, None, ListParams::default().fields(&fields)).await?;
            let (leases, ar) = api_of(
                client,
                Some("kube-node-lease"),
                ("coordination.k8s.io", "v1", "Lease"),
            );
            if let Ok(Some(lease)) = leases.get_opt(name).await {
                out.extend(typed(&[lease], &ar));
            }
            Ok(out)
        }
        ("apps", "ReplicaSet" | "StatefulSet" | "DaemonSet") => {
            let query = super::selector::to_query(&obj["spec"]["selector"]);
            pods(client, Some(ns), ListParams::default().labels(&query)).await
        }
        ("", "PersistentVolumeClaim") => pods(client, Some(ns), ListParams::default()).await,
        ("", "Namespace") => {
            let mut out = Vec::new();
            for kind in ["ResourceQuota", "LimitRange"] {
                let (api, ar) = api_of(client, Some(name), ("", "v1", kind));
                // Not every server serves these; the layout then shows none.
                if let Ok(items) = list(api, ListParams::default(), "listing").await {
                    out.extend(typed(&items, &ar));
                }
            }
            Ok(out)
        }
        _ => Ok(Vec::new()),
    }
}

/// Pods as JSON objects, in `ns` or everywhere.
async fn pods(
    client: &kube::Client,
    ns: Option<&str>,
    lp: ListParams,
) -> Result<Vec<Value>, CliError> {
    let (api, ar) = api_of(client, ns, ("", "v1", "Pod"));
    let items = api
        .list(&lp)
        .await
        .map_err(CliError::from_kube("listing pods"))?
        .items;
    Ok(typed(&items, &ar))
}
