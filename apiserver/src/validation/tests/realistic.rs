//! Manifests as real clients send them (kubectl generators, controllers,
//! injected service-account volumes) must pass without complaint.

use serde_json::json;

use super::{assert_valid, create};

#[test]
fn kubectl_style_workloads_pass() {
    let deploy = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"creationTimestamp": null, "labels": {"app": "web"}, "name": "web", "namespace": "default"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {},
            "template": {
                "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                "spec": {"containers": [{
                    "image": "nginx", "name": "nginx", "resources": {},
                    "ports": [{"containerPort": 80, "name": "http"}],
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                    "livenessProbe": {"tcpSocket": {"port": 80}, "initialDelaySeconds": 5}
                }]}
            }
        },
        "status": {}
    });
    assert_valid(&create("apps", "Deployment", deploy));

    let sts = json!({
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {
            "serviceName": "db", "replicas": 2,
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{
                "name": "pg", "image": "postgres:16",
                "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "pg", "key": "password"}}}],
                "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql/data"}]
            }]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}
            }}]
        }
    });
    assert_valid(&create("apps", "StatefulSet", sts));

    let job = json!({
        "metadata": {"name": "pi", "namespace": "default", "uid": "5f0c"},
        "spec": {"template": {"spec": {"containers": [{"name": "pi", "image": "perl:5.34",
            "command": ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]}], "restartPolicy": "Never"}},
            "backoffLimit": 4}
    });
    assert_valid(&create("batch", "Job", job));

    let cron = json!({
        "metadata": {"name": "hello", "namespace": "default"},
        "spec": {"schedule": "*/1 * * * *", "jobTemplate": {"metadata": {"creationTimestamp": null}, "spec": {
            "template": {"metadata": {"creationTimestamp": null}, "spec": {"containers": [{"name": "hello", "image": "busybox", "resources": {}}], "restartPolicy": "OnFailure"}}
        }}}
    });
    assert_valid(&create("batch", "CronJob", cron));
}

#[test]
fn injected_service_account_volume_passes() {
    let pod = json!({
        "metadata": {"name": "web-7d4b9c", "namespace": "default", "generateName": "web-",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9", "uid": "abc", "controller": true, "blockOwnerDeletion": true}]},
        "spec": {
            "serviceAccountName": "default",
            "containers": [{"name": "app", "image": "nginx", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
                "volumeMounts": [{"name": "kube-api-access-x7k2p", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}]}],
            "volumes": [{"name": "kube-api-access-x7k2p", "projected": {"sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
            ]}}],
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            ],
            "nodeSelector": {"kubernetes.io/os": "linux"}
        }
    });
    assert_valid(&create("", "Pod", pod));
}

#[test]
fn common_services_pass() {
    let svc = json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}, {"name": "https", "port": 443, "targetPort": 8443}]}
    });
    assert_valid(&create("", "Service", svc));
    let dns = json!({
        "metadata": {"name": "kube-dns", "namespace": "kube-system"},
        "spec": {"clusterIP": "10.96.0.10", "selector": {"k8s-app": "kube-dns"},
            "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}
    });
    assert_valid(&create("", "Service", dns));
}
