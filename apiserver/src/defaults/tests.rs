//! Unit tests for defaulting.

use serde_json::{Value, json};

use super::{apply_defaults, prepare_for_update};

fn defaulted(group: &str, kind: &str, mut obj: Value) -> Value {
    apply_defaults(group, kind, &mut obj);
    obj
}

fn pod_spec() -> Value {
    json!({"containers": [{"name": "app", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]})
}

#[test]
fn pod_defaults() {
    let pod = defaulted(
        "",
        "Pod",
        json!({"metadata": {"name": "p"}, "spec": pod_spec()}),
    );
    let spec = &pod["spec"];
    assert_eq!(spec["restartPolicy"], "Always");
    assert_eq!(spec["dnsPolicy"], "ClusterFirst");
    assert_eq!(spec["schedulerName"], "default-scheduler");
    assert_eq!(spec["terminationGracePeriodSeconds"], 30);
    assert_eq!(spec["securityContext"], json!({}));
    assert_eq!(spec["enableServiceLinks"], true);
    assert_eq!(spec["priority"], 0);
    assert_eq!(spec["preemptionPolicy"], "PreemptLowerPriority");
    let c = &spec["containers"][0];
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(c["terminationMessagePolicy"], "File");
    assert_eq!(c["ports"][0]["protocol"], "TCP");
    assert_eq!(c["resources"], json!({}));
}

#[test]
fn image_pull_policy_follows_the_tag() {
    let policy = |image: &str| {
        let spec = json!({"containers": [{"name": "a", "image": image}]});
        defaulted("", "Pod", json!({"spec": spec}))["spec"]["containers"][0]["imagePullPolicy"]
            .clone()
    };
    assert_eq!(policy("nginx"), "Always");
    assert_eq!(policy("nginx:latest"), "Always");
    assert_eq!(policy("registry:5000/nginx"), "Always");
    assert_eq!(policy("registry:5000/nginx:1.2"), "IfNotPresent");
    assert_eq!(policy("nginx@sha256:abcd"), "IfNotPresent");
}

#[test]
fn pod_requests_default_to_limits_and_are_canonical() {
    let spec = json!({"containers": [{"name": "a", "image": "x:1", "resources": {"limits": {"cpu": "1000m", "memory": "0.5Gi"}}}]});
    let pod = defaulted("", "Pod", json!({"spec": spec}));
    let res = &pod["spec"]["containers"][0]["resources"];
    assert_eq!(res["limits"], json!({"cpu": "1", "memory": "512Mi"}));
    assert_eq!(res["requests"], json!({"cpu": "1", "memory": "512Mi"}));
}

#[test]
fn volumes_and_probes() {
    let spec = json!({
        "containers": [{
            "name": "a", "image": "x:1",
            "livenessProbe": {"httpGet": {"port": 8080}},
            "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
        }],
        "volumes": [
            {"name": "scratch"},
            {"name": "s", "secret": {"secretName": "s"}},
            {"name": "c", "configMap": {"name": "c"}},
            {"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}
        ]
    });
    let pod = defaulted("", "Pod", json!({"spec": spec}));
    let vols = &pod["spec"]["volumes"];
    assert_eq!(vols[0]["emptyDir"], json!({}));
    assert_eq!(vols[1]["secret"]["defaultMode"], 420);
    assert_eq!(vols[2]["configMap"]["defaultMode"], 420);
    assert_eq!(
        vols[3]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
        3600
    );
    let c = &pod["spec"]["containers"][0];
    assert_eq!(
        c["livenessProbe"],
        json!({"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
    );
    assert_eq!(c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
}

#[test]
fn templates_do_not_get_pod_only_defaults() {
    let d = defaulted(
        "apps",
        "Deployment",
        json!({"spec": {"template": {"spec": pod_spec()}}}),
    );
    let spec = &d["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["progressDeadlineSeconds"], 600);
    assert_eq!(
        spec["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    let tspec = &spec["template"]["spec"];
    assert_eq!(tspec["restartPolicy"], "Always");
    assert!(tspec.get("enableServiceLinks").is_none());
    assert!(tspec.get("priority").is_none());
}

#[test]
fn recreate_deployments_get_no_rolling_update() {
    let d = defaulted(
        "apps",
        "Deployment",
        json!({"spec": {"strategy": {"type": "Recreate"}}}),
    );
    assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
}

#[test]
fn stateful_and_daemon_sets() {
    let ss = defaulted(
        "apps",
        "StatefulSet",
        json!({"spec": {"volumeClaimTemplates": [{"metadata": {"name": "d"}, "spec": {}}]}}),
    );
    let spec = &ss["spec"];
    assert_eq!(spec["podManagementPolicy"], "OrderedReady");
    assert_eq!(
        spec["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    );
    assert_eq!(
        spec["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    assert_eq!(spec["replicas"], 1);
    assert_eq!(
        spec["volumeClaimTemplates"][0]["spec"]["volumeMode"],
        "Filesystem"
    );
    assert_eq!(
        spec["volumeClaimTemplates"][0]["status"]["phase"],
        "Pending"
    );
    let ds = defaulted("apps", "DaemonSet", json!({"spec": {}}));
    assert_eq!(
        ds["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    );
    assert_eq!(ds["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(
        defaulted("apps", "ReplicaSet", json!({"spec": {}}))["spec"]["replicas"],
        1
    );
}

#[test]
fn job_defaults() {
    let job = defaulted(
        "batch",
        "Job",
        json!({"metadata": {"name": "pi"}, "spec": {"template": {"metadata": {"labels": {"app": "pi"}}, "spec": pod_spec()}}}),
    );
    let spec = &job["spec"];
    assert_eq!(spec["completions"], 1);
    assert_eq!(spec["parallelism"], 1);
    assert_eq!(spec["backoffLimit"], 6);
    assert_eq!(spec["completionMode"], "NonIndexed");
    assert_eq!(spec["suspend"], false);
    assert_eq!(spec["podReplacementPolicy"], "TerminatingOrFailed");
    assert_eq!(job["metadata"]["labels"], json!({"app": "pi"}));
    // Without a uid there is nothing to select by yet.
    assert!(spec.get("selector").is_none());
    let parallel = defaulted("batch", "Job", json!({"spec": {"parallelism": 3}}));
    assert!(parallel["spec"].get("completions").is_none());
}

#[test]
fn cron_job_defaults() {
    let cj = defaulted(
        "batch",
        "CronJob",
        json!({"spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": {"spec": pod_spec()}}}}}),
    );
    let spec = &cj["spec"];
    assert_eq!(spec["concurrencyPolicy"], "Allow");
    assert_eq!(spec["suspend"], false);
    assert_eq!(spec["successfulJobsHistoryLimit"], 3);
    assert_eq!(spec["failedJobsHistoryLimit"], 1);
    assert_eq!(
        spec["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"],
        "ClusterFirst"
    );
    // Job-level defaults are not applied inside the template.
    assert!(spec["jobTemplate"]["spec"].get("backoffLimit").is_none());
}

#[test]
fn service_defaults() {
    let svc = defaulted(
        "",
        "Service",
        json!({"spec": {"ports": [{"port": 80}, {"port": 443, "targetPort": "https"}]}}),
    );
    let spec = &svc["spec"];
    assert_eq!(spec["type"], "ClusterIP");
    assert_eq!(spec["sessionAffinity"], "None");
    assert_eq!(spec["internalTrafficPolicy"], "Cluster");
    assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
    assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
    assert_eq!(
        spec["ports"][0],
        json!({"port": 80, "protocol": "TCP", "targetPort": 80})
    );
    assert_eq!(spec["ports"][1]["targetPort"], "https");
    assert!(spec.get("externalTrafficPolicy").is_none());

    let lb = defaulted(
        "",
        "Service",
        json!({"spec": {"type": "LoadBalancer", "sessionAffinity": "ClientIP"}}),
    );
    assert_eq!(lb["spec"]["externalTrafficPolicy"], "Cluster");
    assert_eq!(lb["spec"]["allocateLoadBalancerNodePorts"], true);
    assert_eq!(
        lb["spec"]["sessionAffinityConfig"],
        json!({"clientIP": {"timeoutSeconds": 10800}})
    );

    let headless = defaulted("", "Service", json!({"spec": {"clusterIP": "None"}}));
    assert_eq!(headless["spec"]["clusterIPs"], json!(["None"]));
    let ext = defaulted(
        "",
        "Service",
        json!({"spec": {"type": "ExternalName", "externalName": "x.example"}}),
    );
    assert!(ext["spec"].get("ipFamilies").is_none());
    assert!(ext["spec"].get("internalTrafficPolicy").is_none());
}

#[test]
fn core_kind_defaults() {
    assert_eq!(
        defaulted("", "Namespace", json!({}))["status"]["phase"],
        "Active"
    );
    assert_eq!(defaulted("", "Secret", json!({}))["type"], "Opaque");
    let pv = defaulted(
        "",
        "PersistentVolume",
        json!({"spec": {"capacity": {"storage": "1024Mi"}}}),
    );
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    assert_eq!(pv["spec"]["volumeMode"], "Filesystem");
    assert_eq!(pv["spec"]["capacity"]["storage"], "1Gi");
    let pvc = defaulted("", "PersistentVolumeClaim", json!({"spec": {}}));
    assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
    assert_eq!(pvc["status"]["phase"], "Pending");
    let node = defaulted("", "Node", json!({"status": {"capacity": {"cpu": "4"}}}));
    assert_eq!(node["status"]["allocatable"], json!({"cpu": "4"}));
    let slice = defaulted(
        "discovery.k8s.io",
        "EndpointSlice",
        json!({"ports": [{"port": 80}]}),
    );
    assert_eq!(
        slice["ports"][0],
        json!({"port": 80, "name": "", "protocol": "TCP"})
    );
    let pc = defaulted("scheduling.k8s.io", "PriorityClass", json!({"value": 1}));
    assert_eq!(pc["preemptionPolicy"], "PreemptLowerPriority");
    let ep = defaulted(
        "",
        "Endpoints",
        json!({"subsets": [{"ports": [{"port": 1}]}]}),
    );
    assert_eq!(ep["subsets"][0]["ports"][0]["protocol"], "TCP");
}

#[test]
fn defaulting_is_idempotent() {
    let once = defaulted(
        "",
        "Pod",
        json!({"metadata": {"name": "p"}, "spec": pod_spec()}),
    );
    let twice = defaulted("", "Pod", once.clone());
    assert_eq!(once, twice);
    let job = json!({"metadata": {"name": "pi", "uid": "u"}, "spec": {"template": {"metadata": {"labels": {"a": "b"}}, "spec": pod_spec()}}});
    let once = defaulted("batch", "Job", job);
    assert_eq!(once["metadata"]["labels"]["controller-uid"], "u");
    assert_eq!(once.clone(), defaulted("batch", "Job", once));
}

#[test]
fn updates_keep_status_and_allocations() {
    let old = json!({
        "spec": {"type": "NodePort", "clusterIP": "10.0.0.5", "clusterIPs": ["10.0.0.5"], "ports": [{"name": "h", "port": 80, "nodePort": 30100}]},
        "status": {"loadBalancer": {}}
    });
    let mut new = json!({"spec": {"type": "NodePort", "ports": [{"name": "h", "port": 80}]}});
    prepare_for_update("", "Service", &mut new, &old);
    assert_eq!(new["spec"]["clusterIP"], "10.0.0.5");
    assert_eq!(new["spec"]["ports"][0]["nodePort"], 30100);
    assert_eq!(new["status"], json!({}));

    let old_pod = json!({"spec": {}, "status": {"phase": "Running"}});
    let mut new_pod = json!({"spec": {}});
    prepare_for_update("", "Pod", &mut new_pod, &old_pod);
    assert_eq!(new_pod["status"]["phase"], "Running");
}
