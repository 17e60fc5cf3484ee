//! Golden tests: one per layout. Each `tests/fixtures/<name>.yaml` holds the described `object`,
//! its `events` and the `related` objects; `describe` at `NOW` must print exactly
//! `tests/golden/<name>.txt`.
//!
//! To accept new output, run with `UPDATE_GOLDEN=1` (e.g.
//! `UPDATE_GOLDEN=1 cargo test -p capstan-describe --test golden`): the golden files are
//! rewritten instead of compared. Review the diff against what real `kubectl describe` prints
//! before committing it; matching kubectl is the point of these files.

use std::path::PathBuf;

use serde_json::Value;

/// 2024-06-01T12:00:00Z, the instant every fixture is described at.
const NOW: i64 = 1_717_243_200;

fn dir(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(sub)
}

fn list(fixture: &Value, key: &str) -> Vec<Value> {
    fixture
        .get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn check(name: &str) {
    let fixture_path = dir("fixtures").join(format!("{name}.yaml"));
    let text = std::fs::read_to_string(&fixture_path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", fixture_path.display()));
    let fixture: Value = serde_yaml::from_str(&text)
        .unwrap_or_else(|e| panic!("parsing {}: {e}", fixture_path.display()));
    let got = capstan_describe::describe(
        &fixture["object"],
        &list(&fixture, "events"),
        &list(&fixture, "related"),
        NOW,
    );
    let golden_path = dir("golden").join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::write(&golden_path, &got)
            .unwrap_or_else(|e| panic!("writing {}: {e}", golden_path.display()));
        return;
    }
    let want = std::fs::read_to_string(&golden_path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            golden_path.display()
        )
    });
    if got != want {
        let first_diff = got
            .lines()
            .zip(want.lines())
            .position(|(g, w)| g != w)
            .unwrap_or_else(|| got.lines().count().min(want.lines().count()));
        panic!(
            "{name}: output differs from {} at line {}\n--- got ---\n{got}--- want ---\n{want}",
            golden_path.display(),
            first_diff + 1
        );
    }
}

macro_rules! golden {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name));
            }
        )*
    };
}

golden!(
    pod,
    pod_pending,
    deployment,
    replica_set,
    stateful_set,
    daemon_set,
    job,
    cron_job,
    service,
    node,
    namespace,
    config_map,
    secret,
    persistent_volume_claim,
    persistent_volume,
    generic_custom_resource,
);
