//! `capstan wait --for=condition=C[=V] | --for=delete | --for=jsonpath='{…}'=V
//! (TYPE/NAME… | TYPE -l SEL | TYPE --all) [--timeout 30s]`.

use std::time::Duration;

use kube::api::{DynamicObject, ListParams};
use serde_json::Value;

use super::refs;
use super::resources::{Resource, Resources};
use super::{CliError, Target};

#[derive(Debug, Clone, clap::Args)]
pub struct WaitArgs {
    pub objects: Vec<String>,
    /// condition=NAME[=VALUE], delete, or jsonpath='{.path}'=VALUE.
    #[arg(long = "for", required = true)]
    pub for_: String,
    /// How long to wait (30s, 5m); 0 checks once.
    #[arg(long, default_value = "30s")]
    pub timeout: String,
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Delete,
    /// Type (case-insensitive, as kubectl) and wanted status.
    Status(String, String),
    /// A template and the wanted text.
    JsonPath(String, String),
}

pub fn parse_for(s: &str) -> Result<Condition, CliError> {
    if s == "delete" {
        return Ok(Condition::Delete);
    }
    if let Some(rest) = s.strip_prefix("condition=") {
        let (name, value) = rest.split_once('=').unwrap_or((rest, "true"));
        if name.is_empty() {
            return Err(CliError::Input(
                "--for=condition needs a condition name".into(),
            ));
        }
        return Ok(Condition::Status(name.to_string(), value.to_string()));
    }
    if let Some(rest) = s.strip_prefix("jsonpath=") {
        // The path is in braces; what follows `}=` is the value.
        let Some(end) = rest.rfind('}') else {
            return Err(CliError::Input(format!(
                "jsonpath wait format must be --for=jsonpath='{{.status.readyReplicas}}'=3: {rest}"
            )));
        };
        let (path, value) = rest.split_at(end + 1);
        let value = value.strip_prefix('=').unwrap_or_default();
        capstan_jsonpath::Template::parse(path)
            .map_err(|e| CliError::Input(format!("--for={s}: {e}")))?;
        return Ok(Condition::JsonPath(path.to_string(), value.to_string()));
    }
    Err(CliError::Input(format!(
        "unrecognized condition: \"{s}\" (use condition=NAME[=VALUE], delete or jsonpath='{{…}}'=VALUE)"
    )))
}

/// Whether `obj` meets `cond` (Delete is decided by the object's absence, not here).
pub fn met(obj: &Value, cond: &Condition) -> bool {
    match cond {
        Condition::Delete => false,
        Condition::Status(name, want) => {
            // A condition written for an older generation says nothing about this one.
            let generation = obj["metadata"]["generation"].as_i64().unwrap_or(0);
            obj["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| {
                    let observed = c["observedGeneration"]
                        .as_i64()
                        .or_else(|| obj["status"]["observedGeneration"].as_i64())
                        .unwrap_or(generation);
                    c["type"]
                        .as_str()
                        .is_some_and(|t| t.eq_ignore_ascii_case(name))
                        && c["status"]
                            .as_str()
                            .is_some_and(|s| s.eq_ignore_ascii_case(want))
                        && observed >= generation
                })
        }
        Condition::JsonPath(path, want) => capstan_jsonpath::Template::parse(path)
            .and_then(|t| t.render(obj, true))
            .is_ok_and(|got| got == *want || (want.is_empty() && !got.is_empty())),
    }
}

pub async fn run(target: &Target, args: &WaitArgs) -> Result<String, CliError> {
    let cond = parse_for(&args.for_)?;
    let timeout = super::duration::parse(&args.timeout)?;
    let (client, ns) = target.connect().await?;
    let resources = Resources::discover(&client).await?;
    let mut todo: Vec<(Resource, String)> = Vec::new();
    for r in refs::parse(&args.objects)? {
        let res = resources.find(&r.kind)?;
        match r.name {
            Some(n) => todo.push((res.clone(), n)),
            None if args.selector.is_some() || args.all => {
                let mut lp = ListParams::default();
                if let Some(s) = &args.selector {
                    lp = lp.labels(s);
                }
                let list = res
                    .api(&client, &ns)
                    .list(&lp)
                    .await
                    .map_err(CliError::from_kube(&format!("listing {}", res.ar.plural)))?;
                for o in list.items {
                    todo.push((res.clone(), o.metadata.name.unwrap_or_default()));
                }
            }
            None => {
                return Err(CliError::Input(
                    "resource name may not be empty (give NAME, -l SELECTOR or --all)".into(),
                ));
            }
        }
    }
    if todo.is_empty() {
        // Nothing left is what --for=delete waits for; anything else needs an object.
        if cond == Condition::Delete {
            return Ok(String::new());
        }
        return Err(CliError::Input("no matching resources found".into()));
    }
    let deadline = tokio::time::Instant::now() + timeout;
    for (r, name) in &todo {
        let api = r.api(&client, &ns);
        let shown = r.display_name(name);
        loop {
            let current: Option<DynamicObject> = api
                .get_opt(name)
                .await
                .map_err(CliError::from_kube(&format!("getting {shown}")))?;
            let done = match (&cond, &current) {
                (Condition::Delete, None) => true,
                (Condition::Delete, Some(_)) => false,
                (_, None) => {
                    return Err(CliError::Api {
                        what: format!("waiting for {shown}"),
                        message: format!("{} \"{name}\" not found", r.ar.plural),
                    });
                }
                (c, Some(o)) => met(&serde_json::to_value(o).unwrap_or_default(), c),
            };
            if done {
                super::output::print(&format!("{shown} condition met\n"))?;
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(CliError::Input(format!(
                    "timed out waiting for the condition on {}/{name}",
                    r.ar.plural
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    Ok(String::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conditions() {
        let pod = json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        assert!(met(&pod, &parse_for("condition=Ready").unwrap()));
        assert!(met(&pod, &parse_for("condition=ready=true").unwrap()));
        assert!(!met(&pod, &parse_for("condition=Ready=False").unwrap()));
        assert!(!met(&pod, &parse_for("condition=Available").unwrap()));
        let stale = json!({"metadata": {"generation": 3}, "status": {"observedGeneration": 2,
            "conditions": [{"type": "Available", "status": "True"}]}});
        assert!(!met(&stale, &parse_for("condition=Available").unwrap()));
        assert_eq!(parse_for("delete").unwrap(), Condition::Delete);
        assert!(parse_for("bogus").is_err());
    }
}
