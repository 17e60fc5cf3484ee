//! `capstan get TYPE[,TYPE…] [NAME…] | TYPE/NAME…`: server-side Tables by default (the
//! server decides the columns, as for kubectl), `-o wide|yaml|json|name|jsonpath=…|
//! jsonpath-file=…|custom-columns=…|custom-columns-file=…`, `-l`, `--field-selector`, `-A`,
//! `--show-labels`, `--sort-by`, `--no-headers`, `-w`.

use std::io::Write;

use futures::StreamExt;
use http::header::ACCEPT;
use kube::api::{GetParams, ListParams, WatchEvent, WatchParams};
use kube::core::Request;
use serde_json::Value;

use super::refs::{self, ObjectRef};
use super::resources::{Resource, Resources};
use super::table::{self, Options};
use super::{CliError, Target};

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

#[derive(Debug, Clone, Default, clap::Args)]
pub struct GetArgs {
    /// TYPE[,TYPE…] [NAME…] or TYPE/NAME…: pods, deploy, svc,ep, deployments.apps …
    #[arg(required = true)]
    pub objects: Vec<String>,
    /// wide, yaml, json, name, jsonpath=TEMPLATE, jsonpath-file=FILE,
    /// custom-columns=SPEC or custom-columns-file=FILE.
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
    /// Sort by a JSONPath expression (e.g. .metadata.creationTimestamp).
    #[arg(long)]
    pub sort_by: Option<String>,
    #[arg(long)]
    pub no_headers: bool,
    /// After listing, print changes as they happen.
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// With -w: only the changes, not the initial list.
    #[arg(long)]
    pub watch_only: bool,
}

/// The printer an `-o` value asks for.
enum Printer {
    Table { wide: bool },
    Name,
    Json,
    Yaml,
    JsonPath(capstan_jsonpath::Template),
    Columns(capstan_jsonpath::CustomColumns),
}

fn read_file(path: &str) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| CliError::Input(format!("{path}: {e}")))
}

fn printer(output: &str) -> Result<Printer, CliError> {
    let template_err = |e: capstan_jsonpath::TemplateError| CliError::Input(e.to_string());
    let (kind, arg) = output.split_once('=').unwrap_or((output, ""));
    Ok(match kind {
        "" => Printer::Table { wide: false },
        "wide" => Printer::Table { wide: true },
        "name" => Printer::Name,
        "json" => Printer::Json,
        "yaml" => Printer::Yaml,
        "jsonpath" | "jsonpath-as-json" => {
            Printer::JsonPath(capstan_jsonpath::Template::parse(arg).map_err(template_err)?)
        }
        "jsonpath-file" => Printer::JsonPath(
            capstan_jsonpath::Template::parse(&read_file(arg)?).map_err(template_err)?,
        ),
        "custom-columns" => {
            Printer::Columns(capstan_jsonpath::CustomColumns::parse(arg).map_err(template_err)?)
        }
        "custom-columns-file" => Printer::Columns(
            capstan_jsonpath::CustomColumns::parse_file(&read_file(arg)?).map_err(template_err)?,
        ),
        other => {
            return Err(CliError::Input(format!(
                "unable to match a printer suitable for the output format \"{other}\", allowed formats are: custom-columns,custom-columns-file,json,jsonpath,jsonpath-file,name,wide,yaml"
            )));
        }
    })
}

async fn fetch(
    client: &kube::Client,
    r: &Resource,
    namespace: Option<&str>,
    name: Option<&str>,
    lp: &ListParams,
    as_table: bool,
    whole_rows: bool,
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
    if whole_rows {
        let uri = http.uri().to_string();
        let sep = if uri.contains('?') { '&' } else { '?' };
        *http.uri_mut() = format!("{uri}{sep}includeObject=Object")
            .parse()
            .map_err(|e: http::uri::InvalidUri| CliError::Input(e.to_string()))?;
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

/// Table rows in the order of the values at `expr` in each row's object.
fn sort_rows(table: &mut Value, expr: &str) -> Result<(), CliError> {
    let Some(rows) = table["rows"].as_array_mut() else {
        return Ok(());
    };
    let mut objects: Vec<Value> = rows.iter().map(|r| r["object"].clone()).collect();
    let mut order: Vec<usize> = (0..objects.len()).collect();
    for (i, o) in objects.iter_mut().enumerate() {
        o["__row"] = Value::from(i);
    }
    capstan_jsonpath::sort_by(&mut objects, expr).map_err(|e| CliError::Input(e.to_string()))?;
    for (slot, o) in order.iter_mut().zip(&objects) {
        *slot = o["__row"].as_u64().unwrap_or(0) as usize;
    }
    let sorted: Vec<Value> = order.iter().map(|&i| rows[i].clone()).collect();
    *rows = sorted;
    Ok(())
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
    let printer = printer(args.output.as_deref().unwrap_or(""))?;
    let as_table = matches!(printer, Printer::Table { .. });
    // Rows carry whole objects only when asked, and sorting needs them.
    let whole_rows = as_table && args.sort_by.is_some();
    let wanted = refs::parse(&args.objects)?;
    let named = wanted.iter().any(|r| r.name.is_some());
    // One table (or object list) per type, kept in the order asked.
    let mut groups: Vec<(Resource, Vec<Value>)> = Vec::new();
    for ObjectRef { kind, name } in &wanted {
        let r = resources.find(kind)?;
        let ns = (r.namespaced && !args.all_namespaces).then_some(namespace.as_str());
        let res = fetch(&client, r, ns, name.as_deref(), &lp, as_table, whole_rows).await?;
        let pos = match groups.iter().position(|(g, _)| g.ar == r.ar) {
            Some(p) => p,
            None => {
                groups.push((r.clone(), Vec::new()));
                groups.len() - 1
            }
        };
        groups[pos].1.push(res);
    }
    if args.watch || args.watch_only {
        let [(r, first)] = groups.as_slice() else {
            return Err(CliError::Input(
                "you may only specify a single resource type with --watch".into(),
            ));
        };
        return watch(&client, r, first, args, &namespace, as_table, &printer, &lp).await;
    }
    if let Printer::Table { wide } = printer {
        let opts = Options {
            wide,
            with_namespace: args.all_namespaces,
            show_labels: args.show_labels,
            no_headers: args.no_headers,
        };
        let mut blocks = Vec::new();
        for (_, tables) in &mut groups {
            if let Some(expr) = &args.sort_by {
                for t in tables.iter_mut() {
                    sort_rows(t, expr)?;
                }
            }
            let text = table::render(tables, &opts, &mut Vec::new());
            if !text.is_empty() {
                blocks.push(text);
            }
        }
        if blocks.is_empty() {
            return Err(CliError::NotFound(if args.all_namespaces {
                "No resources found".into()
            } else {
                format!("No resources found in {namespace} namespace.")
            }));
        }
        return Ok(blocks.join("\n"));
    }
    let mut objects: Vec<(Resource, Value)> = Vec::new();
    for (r, results) in groups {
        for res in results {
            if res.get("items").is_some() {
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
    if let Some(expr) = &args.sort_by {
        let mut values: Vec<Value> = objects.iter().map(|(_, o)| o.clone()).collect();
        capstan_jsonpath::sort_by(&mut values, expr).map_err(|e| CliError::Input(e.to_string()))?;
        let mut sorted = Vec::new();
        for v in values {
            if let Some(i) = objects.iter().position(|(_, o)| *o == v) {
                sorted.push(objects.remove(i));
            }
        }
        objects = sorted;
    }
    let single = objects.len() == 1 && named && wanted.len() == 1;
    let doc = || {
        if single {
            objects[0].1.clone()
        } else {
            serde_json::json!({
                "apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
                "items": objects.iter().map(|(_, o)| o.clone()).collect::<Vec<_>>(),
            })
        }
    };
    Ok(match printer {
        Printer::Table { .. } => String::new(),
        Printer::Name => objects
            .iter()
            .map(|(r, o)| r.display_name(o["metadata"]["name"].as_str().unwrap_or_default()) + "\n")
            .collect(),
        Printer::Json => serde_json::to_string_pretty(&doc()).unwrap_or_default() + "\n",
        Printer::Yaml => serde_yaml::to_string(&doc()).unwrap_or_default(),
        Printer::JsonPath(t) => t
            .render(&doc(), true)
            .map_err(|e| CliError::Input(e.to_string()))?,
        Printer::Columns(c) => {
            let items: Vec<Value> = objects.into_iter().map(|(_, o)| o).collect();
            if items.is_empty() {
                return Err(CliError::NotFound(format!(
                    "No resources found in {namespace} namespace."
                )));
            }
            c.render(&items, args.no_headers)
                .map_err(|e| CliError::Input(e.to_string()))?
        }
    })
}

/// `-w`: the first answer (unless --watch-only), then one line (or document) per change.
#[allow(clippy::too_many_arguments)]
async fn watch(
    client: &kube::Client,
    r: &Resource,
    first: &[Value],
    args: &GetArgs,
    namespace: &str,
    as_table: bool,
    printer: &Printer,
    lp: &ListParams,
) -> Result<String, CliError> {
    let mut out = std::io::stdout();
    let Printer::Table { wide } = printer else {
        return Err(CliError::Input(
            "--watch is supported with the table output (default, -o wide) only".into(),
        ));
    };
    let opts = Options {
        wide: *wide,
        with_namespace: args.all_namespaces,
        show_labels: args.show_labels,
        no_headers: args.no_headers,
    };
    let mut widths = Vec::new();
    let rv = first
        .first()
        .and_then(|t| t["metadata"]["resourceVersion"].as_str())
        .unwrap_or_default()
        .to_string();
    if !args.watch_only {
        let text = table::render(first, &opts, &mut widths);
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
    let ns = (r.namespaced && !args.all_namespaces).then_some(namespace);
    let mut wp = WatchParams::default();
    if let Some(l) = &lp.label_selector {
        wp = wp.labels(l);
    }
    if let Some(f) = &lp.field_selector {
        wp = wp.fields(f);
    }
    let names: Vec<String> = refs::parse(&args.objects)?
        .into_iter()
        .filter_map(|o| o.name)
        .collect();
    if let [one] = names.as_slice() {
        wp = wp.fields(&format!("metadata.name={one}"));
    }
    let mut req = Request::new(r.collection_path(ns))
        .watch(&wp, &rv)
        .map_err(|e| CliError::Input(e.to_string()))?;
    if as_table {
        req.headers_mut()
            .insert(ACCEPT, http::HeaderValue::from_static(TABLE));
    }
    let mut stream = client
        .request_events::<Value>(req)
        .await
        .map_err(CliError::from_kube(&format!("watching {}", r.ar.plural)))?
        .boxed();
    let mut header_done = !args.watch_only || args.no_headers;
    while let Some(ev) = stream.next().await {
        let table = match ev {
            Ok(WatchEvent::Added(t)) | Ok(WatchEvent::Modified(t)) | Ok(WatchEvent::Deleted(t)) => {
                t
            }
            Ok(WatchEvent::Bookmark(_)) => continue,
            Ok(WatchEvent::Error(e)) => {
                return Err(CliError::Api {
                    what: format!("watching {}", r.ar.plural),
                    message: e.message,
                });
            }
            Err(e) => return Err(CliError::Input(format!("watching {}: {e}", r.ar.plural))),
        };
        let row_opts = Options {
            no_headers: header_done,
            ..opts.clone()
        };
        header_done = true;
        let text = table::render(std::slice::from_ref(&table), &row_opts, &mut widths);
        if out.write_all(text.as_bytes()).is_err() {
            break;
        }
        let _ = out.flush();
    }
    Ok(String::new())
}
