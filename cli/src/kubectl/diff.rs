//! `capstan diff -f FILE|DIR|-`: what `apply` would change, as a unified diff of the live
//! object against the server's dry-run of the apply. Exit 0: no differences, 1: some.

use kube::api::{Patch, PatchParams};
use serde_json::Value;

use super::resources::Resources;
use super::{CliError, Target};

/// Fields that change on every write and would only add noise.
fn clean(mut v: Value) -> Value {
    if let Some(m) = v["metadata"].as_object_mut() {
        m.remove("managedFields");
    }
    v
}

/// kubectl's masking of Secret values: `***` where both sides agree, `*** (before)` and
/// `*** (after)` where a value changed, so a diff never prints a secret.
pub fn mask_secrets(live: &mut Value, merged: &mut Value) {
    for field in ["data", "stringData"] {
        let before = live[field].as_object().cloned().unwrap_or_default();
        let after = merged[field].as_object().cloned().unwrap_or_default();
        for (k, v) in &before {
            let same = after.get(k) == Some(v);
            live[field][k] = Value::String(if same { "***" } else { "*** (before)" }.into());
        }
        for (k, v) in &after {
            let same = before.get(k) == Some(v);
            merged[field][k] = Value::String(if same { "***" } else { "*** (after)" }.into());
        }
    }
}

/// A unified diff of two YAML texts with kubectl diff's file labels.
pub fn unified(label: &str, live: &str, merged: &str) -> String {
    similar::TextDiff::from_lines(live, merged)
        .unified_diff()
        .context_radius(3)
        .header(&format!("live/{label}"), &format!("merged/{label}"))
        .to_string()
}

/// The diff text and whether anything differs.
pub async fn run(target: &Target, objects: &[Value]) -> Result<(String, bool), CliError> {
    let (client, default_ns) = target.connect().await?;
    let resources = Resources::discover(&client).await?;
    let pp = PatchParams::apply(super::apply::MANAGER).dry_run().force();
    let mut out = String::new();
    for obj in objects {
        let (r, name, ns) = resources.locate(obj, &default_ns)?;
        let (name, ns) = (name.as_str(), ns.as_str());
        let api = r.api(&client, ns);
        let what = format!("diffing {}", r.display_name(name));
        let live = api
            .get_opt(name)
            .await
            .map_err(CliError::from_kube(&what))?;
        let merged = api
            .patch(name, &pp, &Patch::Apply(obj))
            .await
            .map_err(CliError::from_kube(&what))?;
        let mut live_value = live
            .as_ref()
            .map(|o| clean(serde_json::to_value(o).unwrap_or_default()));
        let mut merged_value = clean(serde_json::to_value(&merged).unwrap_or_default());
        if r.ar.group.is_empty() && r.ar.kind == "Secret" {
            let mut empty = Value::Null;
            mask_secrets(live_value.as_mut().unwrap_or(&mut empty), &mut merged_value);
        }
        let to_yaml = |v: &Value| serde_yaml::to_string(v).unwrap_or_default();
        let live_text = live_value.as_ref().map(to_yaml).unwrap_or_default();
        let merged_text = to_yaml(&merged_value);
        let label = format!(
            "{}.{}.{}.{}",
            if r.ar.group.is_empty() {
                ""
            } else {
                &r.ar.group
            },
            r.ar.version,
            r.ar.kind,
            if r.namespaced {
                format!("{ns}.{name}")
            } else {
                name.to_string()
            }
        )
        .trim_start_matches('.')
        .to_string();
        out.push_str(&unified(&label, &live_text, &merged_text));
    }
    let differs = !out.is_empty();
    Ok((out, differs))
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_masked() {
        use serde_json::json;
        let mut live = json!({"data": {"a": "eA==", "b": "eQ=="}});
        let mut merged = json!({"data": {"a": "eA==", "b": "eg==", "c": "dw=="}});
        super::mask_secrets(&mut live, &mut merged);
        assert_eq!(live, json!({"data": {"a": "***", "b": "*** (before)"}}));
        assert_eq!(
            merged,
            json!({"data": {"a": "***", "b": "*** (after)", "c": "*** (after)"}})
        );
    }

    #[test]
    fn shows_changed_lines() {
        let d = super::unified(
            "apps.v1.Deployment.default.web",
            "a: 1\nb: 2\n",
            "a: 1\nb: 3\n",
        );
        assert!(d.starts_with(
            "--- live/apps.v1.Deployment.default.web\n+++ merged/apps.v1.Deployment.default.web\n"
        ));
        assert!(d.contains("-b: 2\n+b: 3\n"));
        assert_eq!(super::unified("x", "a\n", "a\n"), "");
    }
}
