//! `capstan get TYPE[,TYPE…] [NAME…] | TYPE/NAME…`: server-side Tables by default (the
//! server decides the columns, as for kubectl), `-o wide|yaml|json|name|jsonpath=…|
//! jsonpath-file=…|custom-columns=…|custom-columns-file=…`, `-l`, `--field-selector`, `-A`,
//! `--show-labels`, `--sort-by`, `--no-headers`, `-w` (with every printer).

use futures::StreamExt;
use http::header::ACCEPT;
use kube::api::{GetParams, ListParams, WatchEvent, WatchParams};
use kube::core::Request;
use serde_json::Value;

use super::refs::{self, ObjectRef};
use super::resources::{Resource, Resources};
use super::table::{self, Options};
use super::{CliError, Target, output};

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
        "jsonpath" => {
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

/// The collection's revision now, to watch from without replaying what exists.
async fn current_revision(
    client: &kube::Client,
    r: &Resource,
    ns: Option<&str>,
    lp: &ListParams,
) -> Result<String, CliError> {
    let api = match ns {
        Some(ns) => r.api(client, ns),
        None => kube::Api::all_with(client.clone(), &r.ar),
    };
    let list = api
        .list_metadata(&lp.clone().limit(1))
        .await
        .map_err(CliError::from_kube(&format!("listing {}", r.ar.plural)))?;
    Ok(list.metadata.resource_version.unwrap_or_default())
}

/// The positions of `objects` in the order of their values at `expr` (a stable sort).
fn sorted_order(mut objects: Vec<Value>, expr: &str) -> Result<Vec<usize>, CliError> {
    // Each object carries its position through the sort; the mark never reaches output.
    for (i, o) in objects.iter_mut().enumerate() {
        if let Some(map) = o.as_object_mut() {
            map.insert(POSITION.into(), Value::from(i));
        }
    }
    capstan_jsonpath::sort_by(&mut objects, expr).map_err(|e| CliError::Input(e.to_string()))?;
    Ok(objects
        .iter()
        .map(|o| o[POSITION].as_u64().unwrap_or(0) as usize)
        .collect())
}

const POSITION: &str = "__capstanPosition";

/// Table rows in the order of the values at `expr` in each row's object.
fn sort_rows(table: &mut Value, expr: &str) -> Result<(), CliError> {
    let Some(rows) = table["rows"].as_array_mut() else {
        return Ok(());
    };
    let objects: Vec<Value> = rows.iter().map(|r| r["object"].clone()).collect();
    let order = sorted_order(objects, expr)?;
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
    let any_cluster_scoped = groups.iter().any(|(r, _)| !r.namespaced);
    let nothing = || {
        CliError::Empty(if args.all_namespaces || any_cluster_scoped {
            "No resources found".into()
        } else {
            format!("No resources found in {namespace} namespace.")
        })
    };
    if let Printer::Table { wide } = printer {
        let several = groups.len() > 1;
        let mut blocks = Vec::new();
        for (r, tables) in &mut groups {
            let opts = Options {
                wide,
                with_namespace: args.all_namespaces && r.namespaced,
                show_labels: args.show_labels,
                no_headers: args.no_headers,
                // kubectl names rows `kind/name` when several types are listed together.
                name_prefix: several.then(|| r.display_name("")),
            };
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
            return Err(nothing());
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
        let values: Vec<Value> = objects.iter().map(|(_, o)| o.clone()).collect();
        let order = sorted_order(values, expr)?;
        objects = order.into_iter().map(|i| objects[i].clone()).collect();
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
            // An empty list still gets its header line, as kubectl prints it.
            c.render(&items, args.no_headers)
                .map_err(|e| CliError::Input(e.to_string()))?
        }
    })
}

/// One object as a watching printer shows it; `count` objects came before it.
fn render_object(
    printer: &Printer,
    r: &Resource,
    obj: &Value,
    count: usize,
    no_headers: bool,
) -> Result<String, CliError> {
    let input = |e: capstan_jsonpath::TemplateError| CliError::Input(e.to_string());
    Ok(match printer {
        Printer::Table { .. } => String::new(),
        Printer::Name => {
            r.display_name(obj["metadata"]["name"].as_str().unwrap_or_default()) + "\n"
        }
        Printer::Json => serde_json::to_string_pretty(obj).unwrap_or_default() + "\n",
        Printer::Yaml => {
            let sep = if count > 0 { "---\n" } else { "" };
            format!("{sep}{}", serde_yaml::to_string(obj).unwrap_or_default())
        }
        Printer::JsonPath(t) => t.render(obj, true).map_err(input)?,
        Printer::Columns(c) => c
            .render(std::slice::from_ref(obj), no_headers || count > 0)
            .map_err(input)?,
    })
}

/// `-w`: the first answer (unless --watch-only), then a row (or, with another printer, the
/// object) per change, for as long as the
/// user wants: the server ends each watch after a while, so it is resumed from the last
/// revision seen (and the list re-read when that revision is too old).
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
    let wide = matches!(printer, Printer::Table { wide: true });
    let names: Vec<String> = refs::parse(&args.objects)?
        .into_iter()
        .filter_map(|o| o.name)
        .collect();
    if names.len() > 1 {
        return Err(CliError::Input(
            "watch is only supported on individual resources and resource collections, but 2 or more resources were found".into(),
        ));
    }

    let opts = Options {
        wide,
        with_namespace: args.all_namespaces && r.namespaced,
        show_labels: args.show_labels,
        no_headers: args.no_headers,
        name_prefix: None,
    };
    let mut widths = Vec::new();
    // The server sends column definitions with the first table only; later rows reuse them.
    let mut columns = first
        .first()
        .map(|t| t["columnDefinitions"].clone())
        .filter(|c| c.as_array().is_some_and(|a| !a.is_empty()));
    let mut rv = first
        .first()
        .and_then(|t| t["metadata"]["resourceVersion"].as_str())
        .unwrap_or_default()
        .to_string();
    let mut header_printed = args.no_headers;
    // Objects printed so far by a non-table printer (YAML separates them, columns print
    // their header once).
    let mut printed = 0usize;
    if !args.watch_only && as_table {
        let text = table::render(first, &opts, &mut widths);
        if !text.is_empty() {
            header_printed = true;
        }
        output::print(&text)?;
    } else if !args.watch_only {
        for res in first {
            let items = match res["items"].as_array() {
                Some(items) => items.clone(),
                None => vec![res.clone()],
            };
            for mut item in items {
                // List items carry no apiVersion/kind; put them back as kubectl does.
                item["apiVersion"] = Value::String(r.ar.api_version.clone());
                item["kind"] = Value::String(r.ar.kind.clone());
                output::print(&render_object(printer, r, &item, printed, args.no_headers)?)?;
                printed += 1;
            }
        }
    }
    let ns = (r.namespaced && !args.all_namespaces).then_some(namespace);
    let mut wp = WatchParams::default();
    if let Some(l) = &lp.label_selector {
        wp = wp.labels(l);
    }
    let mut fields: Vec<String> = lp.field_selector.iter().cloned().collect();
    if let [one] = names.as_slice() {
        fields.push(format!("metadata.name={one}"));
    }
    if !fields.is_empty() {
        wp = wp.fields(&fields.join(","));
    }
    loop {
        let mut req = Request::new(r.collection_path(ns))
            .watch(&wp, &rv)
            .map_err(|e| CliError::Input(e.to_string()))?;
        if as_table {
            req.headers_mut()
                .insert(ACCEPT, http::HeaderValue::from_static(TABLE));
        }
        let mut stream = match client.request_events::<Value>(req).await {
            Ok(s) => s.boxed(),
            Err(e @ kube::Error::Api(_)) => {
                return Err(CliError::from_kube(&format!("watching {}", r.ar.plural))(e));
            }
            // The connection dropped: try again shortly, as a watch would.
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        while let Some(ev) = stream.next().await {
            let mut table = match ev {
                Ok(WatchEvent::Added(t))
                | Ok(WatchEvent::Modified(t))
                | Ok(WatchEvent::Deleted(t)) => t,
                Ok(WatchEvent::Bookmark(b)) => {
                    rv = b.metadata.resource_version;
                    continue;
                }
                // Too old to resume from: go on from the present.
                Ok(WatchEvent::Error(e)) if e.code == 410 => {
                    rv = current_revision(client, r, ns, lp).await?;
                    break;
                }
                Ok(WatchEvent::Error(e)) => {
                    return Err(CliError::Api {
                        what: format!("watching {}", r.ar.plural),
                        message: e.message,
                    });
                }
                Err(_) => break,
            };
            if !as_table {
                if let Some(v) = table["metadata"]["resourceVersion"].as_str() {
                    rv = v.to_string();
                }
                output::print(&render_object(
                    printer,
                    r,
                    &table,
                    printed,
                    args.no_headers,
                )?)?;
                printed += 1;
                continue;
            }
            if let Some(v) = table["rows"][0]["object"]["metadata"]["resourceVersion"].as_str() {
                rv = v.to_string();
            }
            match &columns {
                _ if table["columnDefinitions"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty()) =>
                {
                    columns = Some(table["columnDefinitions"].clone());
                }
                Some(c) => table["columnDefinitions"] = c.clone(),
                None => {}
            }
            let row_opts = Options {
                no_headers: header_printed,
                ..opts.clone()
            };
            let text = table::render(std::slice::from_ref(&table), &row_opts, &mut widths);
            if !text.is_empty() {
                header_printed = true;
            }
            output::print(&text)?;
        }
    }
}
