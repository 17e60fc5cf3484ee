//! `capstan get TYPE[,TYPE…] [NAME…]`: server-side Tables by default (the server decides
//! the columns, as for kubectl), `-o wide|yaml|json|name`, `-l`, `--field-selector`, `-A`,
//! `--show-labels`.

use http::header::ACCEPT;
use kube::api::{GetParams, ListParams};
use kube::core::Request;
use serde_json::Value;

use super::resources::{Resource, Resources};
use super::table::{self, Options};
use super::{CliError, Target};

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

#[derive(Debug, Clone, Default, clap::Args)]
pub struct GetArgs {
    /// Resource type(s), comma separated: pods, deploy, svc,ep, deployments.apps …
    pub types: String,
    pub names: Vec<String>,
    /// wide, yaml, json or name.
    #[arg(short = 'o', long)]
    pub output: Option<String>,
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    #[arg(long)]
    pub field_selector: Option<String>,
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    #[arg(long)]
    pub show_labels: bool,
}

async fn fetch(
    client: &kube::Client,
    r: &Resource,
    namespace: Option<&str>,
    name: Option<&str>,
    lp: &ListParams,
    as_table: bool,
) -> Result<Value, CliError> {
    let req = Request::new(r.collection_path(namespace));
    let mut http = match name {
        Some(n) => req.get(n, &GetParams::default()),
        None => req.list(lp),
    }
    .map_err(|e| CliError::Input(e.to_string()))?;
    if as_table {
        let accept = http::HeaderValue::from_static(TABLE);
        http.headers_mut().insert(ACCEPT, accept);
    }
    let what = match name {
        Some(n) => format!("getting {}", r.display_name(n)),
        None => format!("listing {}", r.ar.plural),
    };
    client
        .request::<Value>(http)
        .await
        .map_err(CliError::from_kube(&what))
}

pub async fn run(target: &Target, args: &GetArgs) -> Result<String, CliError> {
    let (client, namespace) = target.connect().await?;
    let resources = Resources::discover(&client).await?;
    let mut lp = ListParams::default();
    if let Some(s) = &args.selector {
        lp = lp.labels(s);
    }
    if let Some(f) = &args.field_selector {
        lp = lp.fields(f);
    }
    let output = args.output.as_deref().unwrap_or("");
    let as_table = matches!(output, "" | "wide");
    let mut tables = Vec::new();
    let mut objects = Vec::new();
    let types: Vec<&str> = args.types.split(',').filter(|t| !t.is_empty()).collect();
    for t in &types {
        let r = resources.find(t)?;
        let ns = (r.namespaced && !args.all_namespaces).then_some(namespace.as_str());
        let results = if args.names.is_empty() {
            vec![fetch(&client, r, ns, None, &lp, as_table).await?]
        } else {
            let mut v = Vec::new();
            for n in &args.names {
                v.push(fetch(&client, r, ns, Some(n), &lp, as_table).await?);
            }
            v
        };
        for res in results {
            if as_table {
                tables.push(res);
            } else if res.get("items").is_some() {
                for mut item in res["items"].as_array().cloned().unwrap_or_default() {
                    // List items carry no apiVersion/kind; put them back as kubectl does.
                    item["apiVersion"] = Value::String(r.ar.api_version.clone());
                    item["kind"] = Value::String(r.ar.kind.clone());
                    objects.push((r.clone(), item));
                }
            } else {
                objects.push((r.clone(), res));
            }
        }
    }
    let out = match output {
        "" | "wide" => {
            let opts = Options {
                wide: output == "wide",
                with_namespace: args.all_namespaces,
                show_labels: args.show_labels,
            };
            // One table per type, separated by a blank line, as kubectl prints them.
            let text = tables
                .chunks(if args.names.is_empty() {
                    1
                } else {
                    args.names.len()
                })
                .map(|t| table::render(t, &opts))
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join("\n");
            if text.is_empty() {
                return Err(CliError::Input(if args.all_namespaces {
                    "No resources found".into()
                } else {
                    format!("No resources found in {namespace} namespace.")
                }));
            }
            text
        }
        "name" => objects
            .iter()
            .map(|(r, o)| r.display_name(o["metadata"]["name"].as_str().unwrap_or_default()) + "\n")
            .collect(),
        "json" | "yaml" => {
            let doc = if objects.len() == 1 && !args.names.is_empty() {
                objects[0].1.clone()
            } else {
                serde_json::json!({
                    "apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
                    "items": objects.iter().map(|(_, o)| o.clone()).collect::<Vec<_>>(),
                })
            };
            if output == "json" {
                serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
            } else {
                serde_yaml::to_string(&doc).unwrap_or_default()
            }
        }
        other => {
            return Err(CliError::Input(format!(
                "unable to match a printer suitable for the output format \"{other}\", allowed formats are: json,name,wide,yaml"
            )));
        }
    };
    Ok(out)
}
