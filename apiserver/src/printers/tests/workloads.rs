//! Rows for apps, batch and the smaller API groups.

use serde_json::{Value, json};

use super::{ago, cells, columns, meta};

fn template(containers: Value) -> Value {
    json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}})
}

#[test]
fn deployments() {
    let dep = json!({
        "metadata": meta("web", 2 * 86_400 + 5 * 3600),
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"},
                 "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe"]}]},
                 "template": template(json!([{"name": "app", "image": "nginx:1.27"}, {"name": "log", "image": "busybox"}]))},
        "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
    });
    assert_eq!(
        cells("apps", "Deployment", dep),
        [
            json!("web"),
            json!("2/3"),
            json!(3),
            json!(2),
            json!("2d5h"),
            json!("app,log"),
            json!("nginx:1.27,busybox"),
            json!("app=web,tier in (fe)")
        ]
    );
    // replicas defaults to 1; a missing selector prints empty, a broken one
    // "<invalid>".
    let bare = json!({"metadata": meta("x", 1), "spec": {}});
    assert_eq!(
        cells("apps", "Deployment", bare)[1..],
        [
            json!("0/1"),
            json!(0),
            json!(0),
            json!("1s"),
            json!(""),
            json!(""),
            json!("")
        ]
    );
    let broken =
        json!({"spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Is"}]}}});
    assert_eq!(cells("apps", "Deployment", broken)[7], "<invalid>");
    let cols = columns("apps", "Deployment");
    assert_eq!(
        cols.iter()
            .filter(|c| c.priority == 1)
            .map(|c| c.name)
            .collect::<Vec<_>>(),
        ["Containers", "Images", "Selector"]
    );
}

#[test]
fn replica_sets_stateful_sets_daemon_sets() {
    let rs = json!({"metadata": meta("web-5d", 60),
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d"}},
                 "template": template(json!([{"name": "app", "image": "nginx"}]))},
        "status": {"replicas": 0}});
    assert_eq!(
        cells("apps", "ReplicaSet", rs),
        [
            json!("web-5d"),
            json!(0),
            json!(0),
            json!(0),
            json!("60s"),
            json!("app"),
            json!("nginx"),
            json!("app=web,pod-template-hash=5d")
        ]
    );

    let sts = json!({"metadata": meta("db", 60), "spec": {"replicas": 3, "template": template(json!([{"name": "pg", "image": "postgres:16"}]))},
                     "status": {"readyReplicas": 1}});
    assert_eq!(
        cells("apps", "StatefulSet", sts),
        [
            json!("db"),
            json!("1/3"),
            json!("60s"),
            json!("pg"),
            json!("postgres:16")
        ]
    );

    let ds = json!({"metadata": meta("proxy", 60),
        "spec": {"selector": {"matchLabels": {"k8s-app": "proxy"}},
                 "template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"},
                                       "containers": [{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.33.0"}]}}},
        "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
                   "updatedNumberScheduled": 3, "numberAvailable": 2}});
    assert_eq!(
        cells("apps", "DaemonSet", ds),
        [
            json!("proxy"),
            json!(3),
            json!(3),
            json!(2),
            json!(3),
            json!(2),
            json!("kubernetes.io/os=linux"),
            json!("60s"),
            json!("kube-proxy"),
            json!("registry.k8s.io/kube-proxy:v1.33.0"),
            json!("k8s-app=proxy")
        ]
    );
    let bare = cells("apps", "DaemonSet", json!({}));
    assert_eq!((&bare[6], &bare[10]), (&json!("<none>"), &json!("<none>")));
}

#[test]
fn controller_revisions() {
    let owned = |api_version: &str, kind: &str| {
        json!({"metadata": {"name": "web-7c9", "creationTimestamp": ago(60),
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Pod", "name": "not-controller"},
                {"apiVersion": api_version, "kind": kind, "name": "web", "controller": true}
            ]}, "revision": 4})
    };
    assert_eq!(
        cells(
            "apps",
            "ControllerRevision",
            owned("apps/v1", "StatefulSet")
        ),
        [
            json!("web-7c9"),
            json!("statefulset.apps/web"),
            json!(4),
            json!("60s")
        ]
    );
    assert_eq!(
        cells("apps", "ControllerRevision", owned("v1", "Pod"))[1],
        "pod/web"
    );
    assert_eq!(cells("apps", "ControllerRevision", owned("", ""))[1], "web");
    assert_eq!(
        cells("apps", "ControllerRevision", json!({}))[1..3],
        [json!("<none>"), json!(0)]
    );
}

fn job(spec: Value, status: Value) -> Value {
    json!({"metadata": meta("pi", 600), "spec": spec, "status": status})
}

#[test]
fn jobs() {
    let spec = json!({"completions": 1, "parallelism": 1,
                      "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "abc"}},
                      "template": {"spec": {"containers": [{"name": "pi", "image": "perl:5.34"}]}}});
    let complete = job(
        spec.clone(),
        json!({"succeeded": 1, "startTime": ago(600), "completionTime": ago(450),
               "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}),
    );
    assert_eq!(
        cells("batch", "Job", complete),
        [
            json!("pi"),
            json!("Complete"),
            json!("1/1"),
            json!("2m30s"),
            json!("10m"),
            json!("pi"),
            json!("perl:5.34"),
            json!("batch.kubernetes.io/controller-uid=abc")
        ]
    );

    let running = job(spec.clone(), json!({"active": 1, "startTime": ago(45)}));
    assert_eq!(
        cells("batch", "Job", running)[1..4],
        [json!("Running"), json!("0/1"), json!("45s")]
    );

    let failed = job(
        json!({"completions": 5}),
        json!({"failed": 7, "succeeded": 2, "startTime": ago(3600), "completionTime": ago(60),
               "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}),
    );
    assert_eq!(
        cells("batch", "Job", failed)[1..4],
        [json!("Failed"), json!("2/5"), json!("59m")]
    );

    let work_queue = job(json!({"parallelism": 3}), json!({"succeeded": 1}));
    assert_eq!(
        cells("batch", "Job", work_queue)[1..4],
        [json!("Running"), json!("1/1 of 3"), json!("")]
    );

    let suspended = job(
        json!({"suspend": true}),
        json!({"conditions": [{"type": "Suspended", "status": "True"}]}),
    );
    assert_eq!(
        cells("batch", "Job", suspended)[1..3],
        [json!("Suspended"), json!("0/1")]
    );

    let doomed = job(
        json!({}),
        json!({"conditions": [{"type": "FailureTarget", "status": "True"}]}),
    );
    assert_eq!(cells("batch", "Job", doomed)[1], "FailureTarget");

    let mut deleting = job(
        json!({}),
        json!({"conditions": [{"type": "Suspended", "status": "True"}]}),
    );
    deleting["metadata"]["deletionTimestamp"] = json!(ago(1));
    assert_eq!(cells("batch", "Job", deleting)[1], "Terminating");

    let not_yet = job(
        json!({}),
        json!({"conditions": [{"type": "Complete", "status": "False"}]}),
    );
    assert_eq!(cells("batch", "Job", not_yet)[1], "Running");
}

#[test]
fn cron_jobs() {
    let cj = json!({
        "metadata": meta("backup", 40 * 86_400),
        "spec": {"schedule": "0 */3 * * *", "timeZone": "Europe/Berlin", "suspend": true,
                 "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "dump", "image": "pg:16"}]}}}}},
        "status": {"active": [{"name": "backup-1"}, {"name": "backup-2"}], "lastScheduleTime": ago(3 * 3600)}
    });
    assert_eq!(
        cells("batch", "CronJob", cj),
        [
            json!("backup"),
            json!("0 */3 * * *"),
            json!("Europe/Berlin"),
            json!("True"),
            json!(2),
            json!("3h"),
            json!("40d"),
            json!("dump"),
            json!("pg:16"),
            json!("<none>")
        ]
    );
    let fresh = json!({"metadata": meta("hourly", 30), "spec": {"schedule": "@hourly"}});
    assert_eq!(
        cells("batch", "CronJob", fresh)[1..7],
        [
            json!("@hourly"),
            json!("<none>"),
            json!("False"),
            json!(0),
            json!("<none>"),
            json!("30s")
        ]
    );
    let col = columns("batch", "CronJob")[3];
    assert_eq!((col.name, col.kind), ("Suspend", "boolean"));
}

#[test]
fn leases_slices_priority_classes_budgets() {
    let lease =
        json!({"metadata": meta("kube-scheduler", 3600), "spec": {"holderIdentity": "cp-1_0f3a"}});
    assert_eq!(
        cells("coordination.k8s.io", "Lease", lease),
        [json!("kube-scheduler"), json!("cp-1_0f3a"), json!("60m")]
    );
    assert_eq!(cells("coordination.k8s.io", "Lease", json!({}))[1], "");

    let slice = json!({"metadata": meta("web-abc12", 60), "addressType": "IPv4",
        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}, {"name": "metrics"}, {}, {"port": 9000}],
        "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3"]}, {"addresses": ["10.0.0.4"]}]});
    assert_eq!(
        cells("discovery.k8s.io", "EndpointSlice", slice),
        [
            json!("web-abc12"),
            json!("IPv4"),
            json!("80,metrics,* + 1 more..."),
            json!("10.0.0.1,10.0.0.2,10.0.0.3 + 1 more..."),
            json!("60s")
        ]
    );
    let empty = json!({"addressType": "IPv6", "ports": [], "endpoints": []});
    assert_eq!(
        cells("discovery.k8s.io", "EndpointSlice", empty)[2..4],
        [json!("<unset>"), json!("<unset>")]
    );

    let pc = json!({"metadata": {"name": "system-cluster-critical", "creationTimestamp": ago(100 * 86_400)},
                    "value": 2_000_000_000, "globalDefault": false, "preemptionPolicy": "Never"});
    assert_eq!(
        cells("scheduling.k8s.io", "PriorityClass", pc),
        [
            json!("system-cluster-critical"),
            json!(2_000_000_000),
            json!(false),
            json!("100d"),
            json!("Never")
        ]
    );
    let default_pc = json!({"metadata": {"name": "low"}, "value": -10, "globalDefault": true});
    assert_eq!(
        cells("scheduling.k8s.io", "PriorityClass", default_pc)[1..],
        [
            json!(-10),
            json!(true),
            json!("<unknown>"),
            json!("PreemptLowerPriority")
        ]
    );

    let pdb = json!({"metadata": meta("web", 60), "spec": {"minAvailable": 2}, "status": {"disruptionsAllowed": 1}});
    assert_eq!(
        cells("policy", "PodDisruptionBudget", pdb),
        [
            json!("web"),
            json!("2"),
            json!("N/A"),
            json!(1),
            json!("60s")
        ]
    );
    let pct = json!({"metadata": meta("db", 60), "spec": {"maxUnavailable": "25%"}});
    assert_eq!(
        cells("policy", "PodDisruptionBudget", pct)[1..4],
        [json!("N/A"), json!("25%"), json!(0)]
    );
}
