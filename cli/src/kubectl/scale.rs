//! `capstan scale TYPE/NAME --replicas=N [--current-replicas=M]`: through the `scale`
//! subresource, as kubectl does, so it works for every kind that has one.

use kube::api::{Patch, PatchParams};
use serde_json::json;

use super::refs::{self, ObjectRef};
use super::resources::Resources;
use super::{CliError, Target};

#[derive(Debug, Clone, clap::Args)]
pub struct ScaleArgs {
    /// TYPE/NAME… or TYPE NAME…
    #[arg(required = true)]
    pub objects: Vec<String>,
    /// The new desired number of replicas.
    #[arg(long)]
    pub replicas: i64,
    /// Precondition: only scale when the current replica count is this.
    #[arg(long)]
    pub current_replicas: Option<i64>,
}

pub async fn run(target: &Target, args: &ScaleArgs) -> Result<String, CliError> {
    if args.replicas < 0 {
        return Err(CliError::Input(
            "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0"
                .into(),
        ));
    }
    let (client, ns) = target.connect().await?;
    let resources = Resources::discover(&client).await?;
    for ObjectRef { kind, name } in refs::parse(&args.objects)? {
        let Some(name) = name else {
            return Err(CliError::Input(format!(
                "scale needs names: {kind}/NAME or {kind} NAME"
            )));
        };
        let r = resources.find(&kind)?;
        let api = r.api(&client, &ns);
        let what = format!("scaling {}", r.display_name(&name));
        if let Some(expected) = args.current_replicas {
            let scale = api
                .get_subresource("scale", &name)
                .await
                .map_err(CliError::from_kube(&what))?;
            let current = scale.data["spec"]["replicas"].as_i64().unwrap_or(0);
            if current != expected {
                return Err(CliError::Input(format!(
                    "Expected replicas to be {expected}, was {current}"
                )));
            }
        }
        let patch = json!({"spec": {"replicas": args.replicas}});
        api.patch_subresource(
            "scale",
            &name,
            &PatchParams {
                field_manager: Some("capstan-scale".into()),
                ..PatchParams::default()
            },
            &Patch::Merge(&patch),
        )
        .await
        .map_err(CliError::from_kube(&what))?;
        super::output::print(&format!("{} scaled\n", r.display_name(&name)))?;
    }
    Ok(String::new())
}
