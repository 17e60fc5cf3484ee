//! The `capstan` kubectl-like commands against `capstan up --nodes 0` (no root needed):
//! apply (created / unchanged), get (server tables, -o name|yaml, -A, unknown types), delete.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use capstan_e2e::{LineReader, bin, repo_root, spawn_control_plane, stdout_ok, wait_control_plane};

/// How long a `get -w` line may take to show.
const WATCH_LINE: Duration = Duration::from_secs(20);

fn capstan(dir: &Path, args: &[&str]) -> Output {
    // The kubeconfig flag first: after `--` (exec) it would be the remote command's.
    Command::new(bin("capstan"))
        .arg("--kubeconfig")
        .arg(dir.join("kubeconfig"))
        .args(args)
        .output()
        .expect("capstan runs")
}

#[test]
fn apply_get_and_delete() {
    let tmp = tempfile::tempdir().expect("dir");
    let dir = tmp.path();
    let (_up, port) = spawn_control_plane(dir);
    wait_control_plane(dir, port);
    let examples = repo_root().join("examples");
    let examples = examples.to_str().expect("utf-8");

    let first = stdout_ok(capstan(dir, &["apply", "-f", examples]), "apply");
    for want in [
        "namespace/shop created\n",
        "deployment.apps/web created\n",
        "service/web created\n",
        "statefulset.apps/db created\n",
        "cronjob.batch/report created\n",
    ] {
        assert!(first.contains(want), "{want:?} not in:\n{first}");
    }
    let again = stdout_ok(capstan(dir, &["apply", "-f", examples]), "apply again");
    assert!(again.contains("deployment.apps/web unchanged\n"), "{again}");
    assert!(!again.contains("created"), "{again}");

    let deploys = stdout_ok(capstan(dir, &["get", "deploy", "-n", "shop"]), "get deploy");
    let mut lines = deploys.lines();
    assert_eq!(
        lines.next(),
        Some("NAME   READY   UP-TO-DATE   AVAILABLE   AGE")
    );
    // The counters depend on how far the controllers got; the layout does not.
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("web    ") && l.contains("/3")),
        "{deploys}"
    );
    let svc = stdout_ok(
        capstan(dir, &["get", "svc", "web", "-n", "shop", "-o", "yaml"]),
        "get -o yaml",
    );
    assert!(svc.contains("nodePort: 30080"), "{svc}");
    let names = stdout_ok(capstan(dir, &["get", "ns", "-o", "name"]), "get -o name");
    assert!(names.lines().any(|l| l == "namespace/shop"), "{names}");
    let all = stdout_ok(capstan(dir, &["get", "cm", "-A"]), "get -A");
    assert!(all.starts_with("NAMESPACE   NAME"), "{all}");

    let unknown = capstan(dir, &["get", "nope"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("doesn't have a resource type \"nope\"")
    );

    let deleted = stdout_ok(
        capstan(dir, &["delete", "deploy", "web", "-n", "shop"]),
        "delete",
    );
    assert_eq!(deleted, "deployment.apps/web deleted\n");
    let gone = capstan(dir, &["get", "deploy", "web", "-n", "shop"]);
    assert_eq!(gone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("not found"));
}

fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// The commands that need only the API server: version, api-resources, explain, config,
/// diff, get templates and -w, wait, events, delete -l, completion.
#[test]
fn server_side_commands() {
    let tmp = tempfile::tempdir().expect("dir");
    let dir = tmp.path();
    let (_up, port) = spawn_control_plane(dir);
    wait_control_plane(dir, port);

    let version = stdout_ok(capstan(dir, &["version"]), "version");
    let mut lines = version.lines();
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("Client Version: v")),
        "{version}"
    );
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("Server Version: v1.")),
        "{version}"
    );
    let json = stdout_ok(capstan(dir, &["version", "-o", "json"]), "version -o json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert!(
        v["serverVersion"]["gitVersion"]
            .as_str()
            .is_some_and(|g| g.starts_with("v1."))
    );

    let resources = stdout_ok(capstan(dir, &["api-resources"]), "api-resources");
    assert!(resources.starts_with("NAME "), "{resources}");
    let deploy = resources
        .lines()
        .find(|l| l.starts_with("deployments "))
        .expect("deployments listed");
    let cols: Vec<&str> = deploy.split_whitespace().collect();
    assert_eq!(
        cols,
        ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    );
    let cluster_wide = stdout_ok(
        capstan(dir, &["api-resources", "--namespaced=false", "-o", "name"]),
        "api-resources --namespaced=false",
    );
    assert!(cluster_wide.lines().any(|l| l == "nodes"), "{cluster_wide}");
    assert!(!cluster_wide.lines().any(|l| l == "pods"), "{cluster_wide}");

    let explain = stdout_ok(
        capstan(dir, &["explain", "pods.spec.containers"]),
        "explain",
    );
    assert!(
        explain.starts_with("KIND:       Pod\nVERSION:    v1\n\nFIELD: containers <[]Container>\n"),
        "{explain}"
    );
    assert!(explain.contains("\n  image\t<string>\n"), "{explain}");
    assert!(
        explain.contains("\n  name\t<string> -required-\n"),
        "{explain}"
    );
    let nope = capstan(dir, &["explain", "pods.spec.nope"]);
    assert_eq!(nope.status.code(), Some(1));
    assert!(
        stderr_of(&nope).contains("field \"nope\" does not exist"),
        "{}",
        stderr_of(&nope)
    );

    // config: contexts listed, switched, and a namespace set on the current one.
    let contexts = stdout_ok(capstan(dir, &["config", "get-contexts"]), "get-contexts");
    assert_eq!(
        contexts,
        "CURRENT   NAME      CLUSTER   AUTHINFO   NAMESPACE\n*         capstan   capstan   capstan    default\n"
    );
    let set = stdout_ok(
        capstan(
            dir,
            &["config", "set-context", "--current", "--namespace", "shop"],
        ),
        "set-context",
    );
    assert_eq!(set, "Context \"capstan\" modified.\n");
    let view = stdout_ok(capstan(dir, &["config", "view", "--minify"]), "config view");
    assert!(view.contains("namespace: shop"), "{view}");
    assert!(
        view.contains(&format!("server: http://127.0.0.1:{port}")),
        "{view}"
    );
    let wrong = capstan(dir, &["config", "use-context", "nope"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert_eq!(
        stdout_ok(
            capstan(dir, &["config", "use-context", "capstan"]),
            "use-context"
        ),
        "Switched to context \"capstan\".\n"
    );
    assert_eq!(
        stdout_ok(
            capstan(dir, &["config", "current-context"]),
            "current-context"
        ),
        "capstan\n"
    );

    // diff: exit 1 with a unified diff for a change, 0 once applied.
    let cm = dir.join("cm.yaml");
    let write_cm = |colour: &str| {
        std::fs::write(
            &cm,
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: paint, namespace: shop, labels: {{app: paint}}}}\ndata: {{colour: {colour}}}\n"
            ),
        )
        .expect("write");
    };
    stdout_ok(
        capstan(
            dir,
            &[
                "apply",
                "-f",
                &repo_root()
                    .join("examples/00-namespace.yaml")
                    .display()
                    .to_string(),
            ],
        ),
        "namespace",
    );
    write_cm("red");
    let cm_path = cm.display().to_string();
    let new = capstan(dir, &["diff", "-f", &cm_path]);
    assert_eq!(new.status.code(), Some(1));
    let new_text = String::from_utf8_lossy(&new.stdout).to_string();
    assert!(
        new_text.contains("+++ merged/v1.ConfigMap.shop.paint"),
        "{new_text}"
    );
    assert!(new_text.contains("+  colour: red"), "{new_text}");
    stdout_ok(capstan(dir, &["apply", "-f", &cm_path]), "apply cm");
    let same = capstan(dir, &["diff", "-f", &cm_path]);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
    write_cm("blue");
    let changed = capstan(dir, &["diff", "-f", &cm_path]);
    assert_eq!(changed.status.code(), Some(1));
    let changed_text = String::from_utf8_lossy(&changed.stdout).to_string();
    assert!(
        changed_text.contains("-  colour: red\n+  colour: blue\n"),
        "{changed_text}"
    );

    // describe: kubectl's layout, exactly (the layouts' own goldens are in cli/describe).
    let described = stdout_ok(capstan(dir, &["describe", "cm", "paint"]), "describe cm");
    assert_eq!(described, DESCRIBE_PAINT, "{described}");
    let described = stdout_ok(
        capstan(dir, &["describe", "configmaps/paint", "-n", "shop"]),
        "describe TYPE/NAME",
    );
    assert_eq!(described, DESCRIBE_PAINT);

    // get: templates, custom columns, sorting, no headers, and `No resources found` on stderr.
    for name in ["b-two", "a-one"] {
        let path = dir.join(format!("{name}.yaml"));
        std::fs::write(
            &path,
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, labels: {{set: x}}}}\ndata: {{k: {name}}}\n"),
        )
        .expect("write");
        stdout_ok(
            capstan(dir, &["apply", "-f", &path.display().to_string()]),
            "apply",
        );
    }
    let jp = stdout_ok(
        capstan(
            dir,
            &[
                "get",
                "cm",
                "-l",
                "set=x",
                "-o",
                "jsonpath={range .items[*]}{.metadata.name}={.data.k}{\"\\n\"}{end}",
            ],
        ),
        "jsonpath",
    );
    assert_eq!(jp, "a-one=a-one\nb-two=b-two\n");
    let cc = stdout_ok(
        capstan(
            dir,
            &[
                "get",
                "cm",
                "-l",
                "set=x",
                "-o",
                "custom-columns=NAME:.metadata.name,VALUE:.data.k,MISSING:.data.none",
                "--sort-by=.metadata.name",
            ],
        ),
        "custom-columns",
    );
    assert_eq!(
        cc,
        "NAME    VALUE   MISSING\na-one   a-one   <none>\nb-two   b-two   <none>\n"
    );
    let table = stdout_ok(capstan(dir, &["get", "cm", "-l", "set=x"]), "get table");
    let ageless: Vec<String> = table
        .lines()
        .map(|l| {
            l.rsplit_once("   ")
                .map(|(rest, _)| rest.trim_end().to_string())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        ageless,
        ["NAME    DATA", "a-one   1", "b-two   1"],
        "{table}"
    );
    let sorted = stdout_ok(
        capstan(
            dir,
            &[
                "get",
                "cm",
                "-l",
                "set=x",
                "--sort-by={.data.k}",
                "--no-headers",
            ],
        ),
        "table --sort-by",
    );
    let first_col: Vec<&str> = sorted
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(first_col, ["a-one", "b-two"]);
    let none = capstan(dir, &["get", "cm", "-l", "set=none"]);
    assert_eq!(none.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&none.stdout), "");
    assert_eq!(stderr_of(&none), "No resources found in shop namespace.\n");
    let bad = capstan(
        dir,
        &["get", "cm", "-o", "jsonpath={.items[", "-n", "default"],
    );
    assert_eq!(bad.status.code(), Some(1));

    // get -w: the initial table, then a row per change. The server sends the column
    // definitions only with the first event, so later rows must still have their columns.
    let mut cmd = Command::new(bin("capstan"));
    cmd.arg("--kubeconfig")
        .arg(dir.join("kubeconfig"))
        .args(["get", "cm", "-w", "-l", "set=x"])
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let watch = LineReader::spawn(cmd);
    let header = watch.line(WATCH_LINE, "the get -w header");
    assert!(header.starts_with("NAME "), "{header:?}");
    let mut initial: Vec<String> = (0..2)
        .map(|_| watch.line(WATCH_LINE, "an initial get -w row"))
        .collect();
    initial.sort();
    assert!(
        initial[0].starts_with("a-one ") && initial[1].starts_with("b-two "),
        "{initial:?}"
    );
    let apply_cm = |name: &str, labels: &str, value: &str| {
        let path = dir.join(format!("{name}.yaml"));
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, labels: {{{labels}}}}}\ndata: {{k: {value}}}\n"
            ),
        )
        .expect("write");
        stdout_ok(
            capstan(dir, &["apply", "-f", &path.display().to_string()]),
            &format!("apply {name}"),
        );
    };
    let row_of = |name: &str, what: &str| {
        let row = watch.line(WATCH_LINE, what);
        assert!(
            row.starts_with(&format!("{name} ")),
            "{what}: {row:?} is not a row of {name}"
        );
    };
    apply_cm("c-three", "set: x", "v");
    row_of("c-three", "the get -w row of an added object");
    apply_cm("c-three", "set: x", "v2");
    row_of("c-three", "the get -w row of a modified object");
    apply_cm("d-four", "set: x", "v");
    row_of("d-four", "the get -w row of a second added object");
    drop(watch);

    // get -w with other printers: each object as that printer shows one, first the listed
    // ones, then one per change (custom columns print their header once).
    for (output, header, first_line, changed) in [
        ("name", None, "configmap/a-one", "configmap/d-four"),
        (
            "custom-columns=NAME:.metadata.name,K:.data.k",
            Some("NAME"),
            "a-one",
            "d-four   v3",
        ),
    ] {
        let mut cmd = Command::new(bin("capstan"));
        cmd.arg("--kubeconfig")
            .arg(dir.join("kubeconfig"))
            .args(["get", "cm", "-w", "-l", "set=x", "-o", output])
            .stdin(Stdio::null())
            .stderr(Stdio::null());
        let watch = LineReader::spawn(cmd);
        if let Some(h) = header {
            let line = watch.line(WATCH_LINE, "the custom-columns header");
            assert!(line.starts_with(h), "{output}: {line:?}");
        }
        let initial: Vec<String> = (0..4)
            .map(|_| watch.line(WATCH_LINE, "an initial get -w object"))
            .collect();
        assert!(initial[0].starts_with(first_line), "{output}: {initial:?}");
        apply_cm(
            "d-four",
            "set: x",
            if header.is_some() { "v3" } else { "v4" },
        );
        let line = watch.line(WATCH_LINE, "the object of a change");
        assert!(line.starts_with(changed), "{output}: {line:?}");
        drop(watch);
    }

    // get -w --watch-only on a selector that matches nothing yet: no output until the first
    // event, then the header and its row.
    let mut cmd = Command::new(bin("capstan"));
    cmd.arg("--kubeconfig")
        .arg(dir.join("kubeconfig"))
        .args(["get", "cm", "-w", "--watch-only", "-l", "set=later"])
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let watch = LineReader::spawn(cmd);
    // Nothing shows when the watch is established: should the first change come before it,
    // the next one (a new value) is seen instead.
    let mut first = None;
    for round in 0..4 {
        apply_cm("late-one", "set: later", &format!("v{round}"));
        first = watch.next_line(Duration::from_secs(5));
        if first.is_some() {
            break;
        }
    }
    let header = first.expect("no get -w --watch-only output after 4 changes in 20 s");
    assert!(header.starts_with("NAME "), "{header:?}");
    let row = watch.line(WATCH_LINE, "the get -w --watch-only row");
    assert!(row.starts_with("late-one "), "{row:?}");
    drop(watch);

    // wait on a condition-less object with a JSONPath, and for deletion by label.
    let waited = stdout_ok(
        capstan(
            dir,
            &[
                "wait",
                "cm/a-one",
                "--for=jsonpath={.data.k}=a-one",
                "--timeout",
                "5s",
            ],
        ),
        "wait jsonpath",
    );
    assert_eq!(waited, "configmap/a-one condition met\n");
    let timeout = capstan(
        dir,
        &[
            "wait",
            "cm/a-one",
            "--for=jsonpath={.data.k}=zzz",
            "--timeout",
            "1s",
        ],
    );
    assert_eq!(timeout.status.code(), Some(1));
    assert!(
        stderr_of(&timeout).contains("timed out waiting for the condition on configmaps/a-one")
    );
    let deleted = stdout_ok(capstan(dir, &["delete", "cm", "-l", "set=x"]), "delete -l");
    assert_eq!(
        deleted,
        "configmap/a-one deleted\nconfigmap/b-two deleted\nconfigmap/c-three deleted\nconfigmap/d-four deleted\n"
    );
    // apply --prune -l: objects applied before that left the file go; others stay.
    let stack = dir.join("stack");
    std::fs::create_dir_all(&stack).expect("dir");
    let cm = |name: &str, labels: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, labels: {{{labels}}}}}\ndata: {{k: v}}\n"
        )
    };
    std::fs::write(stack.join("a.yaml"), cm("keep", "stack: s1")).expect("write");
    std::fs::write(stack.join("b.yaml"), cm("drop", "stack: s1")).expect("write");
    let stack_dir = stack.display().to_string();
    stdout_ok(capstan(dir, &["apply", "-f", &stack_dir]), "apply stack");
    // Same label, but never applied by capstan: prune leaves it alone.
    let foreign = dir.join("foreign.json");
    std::fs::write(&foreign, r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"foreign","labels":{"stack":"s1"}}}"#).expect("write");
    let created = std::process::Command::new("kubectl")
        .args(["create", "-f", &foreign.display().to_string()])
        .env("KUBECONFIG", dir.join("kubeconfig"))
        .env("HOME", dir)
        .output()
        .expect("kubectl");
    assert!(created.status.success(), "{}", stderr_of(&created));
    std::fs::remove_file(stack.join("b.yaml")).expect("rm");
    std::fs::write(stack.join("c.yaml"), cm("other", "stack: s2")).expect("write");
    let pruned = stdout_ok(
        capstan(
            dir,
            &["apply", "-f", &stack_dir, "--prune", "-l", "stack=s1"],
        ),
        "apply --prune",
    );
    assert_eq!(pruned, "configmap/keep unchanged\nconfigmap/drop pruned\n");
    assert_eq!(capstan(dir, &["get", "cm", "drop"]).status.code(), Some(1));
    assert_eq!(
        capstan(dir, &["get", "cm", "foreign"]).status.code(),
        Some(0)
    );
    assert_eq!(
        capstan(dir, &["get", "cm", "other"]).status.code(),
        Some(1),
        "-l filters what is applied"
    );
    let no_selector = capstan(dir, &["apply", "-f", &stack_dir, "--prune"]);
    assert_ne!(no_selector.status.code(), Some(0));

    let events = capstan(dir, &["events", "-n", "kube-system", "--types", "Bogus"]);
    assert_eq!(events.status.code(), Some(1));

    // Malformed YAML: the file, document, line and column; nothing applied.
    let broken = dir.join("broken.yaml");
    std::fs::write(
        &broken,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\nkind: [unclosed\n",
    )
    .expect("write");
    let bad_yaml = capstan(dir, &["apply", "-f", &broken.display().to_string()]);
    assert_eq!(bad_yaml.status.code(), Some(1));
    assert!(
        stderr_of(&bad_yaml).contains("document 2 at line"),
        "{}",
        stderr_of(&bad_yaml)
    );
    assert_eq!(
        capstan(dir, &["get", "cm", "ok"]).status.code(),
        Some(1),
        "half applied"
    );
    let no_ns = capstan(dir, &["get", "pods", "-n", "nowhere"]);
    assert_eq!(no_ns.status.code(), Some(0));

    // A server that is down: retried with a note each time, then the hint to start one.
    // Port 1 (tcpmux) is never listened on here, so the connection is refused at once; a
    // port found free a moment ago could be taken by a parallel test meanwhile.
    let dead = dir.join("dead-kubeconfig");
    std::fs::write(
        &dead,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"http://127.0.0.1:1\"}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
    )
    .expect("write");
    let down = Command::new(bin("capstan"))
        .arg("--kubeconfig")
        .arg(&dead)
        .args(["get", "pods"])
        .output()
        .expect("capstan runs");
    assert_eq!(down.status.code(), Some(1));
    let err = stderr_of(&down);
    assert_eq!(err.matches("retrying in").count(), 2, "{err}");
    assert!(err.contains("capstan up"), "{err}");

    let completion = stdout_ok(capstan(dir, &["completion", "bash"]), "completion");
    assert!(completion.contains("_capstan()"), "bash completion script");
    assert!(
        completion.contains("rollout"),
        "subcommands in the completion"
    );
}

const DESCRIBE_PAINT: &str = "Name:         paint
Namespace:    shop
Labels:       app=paint
Annotations:  <none>

Data
====
colour:
----
red


BinaryData
====

Events:  <none>
";
