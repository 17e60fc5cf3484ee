//! Node proxy and cluster DNS at scale (`make bench`, root): an in-process API server with
//! 1,000 Services and 10,000 endpoints (one 10-endpoint EndpointSlice each), the kubelet's
//! services module programming nftables in a network namespace made for the run.
//!
//! Prints: time from start to all 10,000 endpoints in the rules; a full-table resync; the
//! latency from an EndpointSlice write to its new endpoint being in the node's rules (200
//! sequential changes, p50/p99); and cluster DNS queries per second (UDP, 5 s, 4 clients).

use std::net::{Ipv4Addr, UdpSocket};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use capstan_kubelet::network::NodeNetns;
use capstan_kubelet::services::{self, ServicesConfig, nft};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

const SERVICES: usize = 1000;
const PER_SERVICE: usize = 10;
const CHANGES: usize = 200;
const DNS_SECONDS: u64 = 5;
const DNS_CLIENTS: usize = 4;

fn endpoint_ip(svc: usize, i: usize) -> Ipv4Addr {
    let n = (svc * PER_SERVICE + i) as u32;
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 244, 0, 0)) + 2 + n)
}

fn slice(svc: usize, ips: &[Ipv4Addr]) -> EndpointSlice {
    let endpoints: Vec<_> = ips
        .iter()
        .map(|ip| json!({"addresses": [ip.to_string()], "conditions": {"ready": true}}))
        .collect();
    serde_json::from_value(json!({
        "metadata": {"name": format!("svc-{svc}-x"), "namespace": "default",
            "labels": {"kubernetes.io/service-name": format!("svc-{svc}")}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": endpoints,
    }))
    .expect("slice")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A DNS query for `name` type A, id `id`.
fn query(id: u16, name: &str) -> Vec<u8> {
    let mut q = Vec::with_capacity(64);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

async fn wait_until(watched: &services::Watched, mut ok: impl FnMut(&nft::Ruleset) -> bool) {
    let mut rx = watched.installed.subscribe();
    loop {
        if ok(&rx.borrow_and_update()) {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

#[tokio::main]
async fn main() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("services benchmark skipped: needs root");
        return;
    }
    let ns_name = format!("capstan-bench-{}", std::process::id());
    let ok = Command::new("ip")
        .args(["netns", "add", &ns_name])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ip netns add");
    let _ = Command::new("ip")
        .args(["netns", "exec", &ns_name, "ip", "link", "set", "lo", "up"])
        .status();
    let ns_path = std::path::PathBuf::from("/var/run/netns").join(&ns_name);

    let dir = tempfile::tempdir().expect("dir");
    let server = capstan_apiserver::start(capstan_apiserver::Config {
        data_dir: dir.path().join("store"),
        port: 0,
        ..Default::default()
    })
    .await
    .expect("api server");
    let client = kube::Client::try_from(kube::Config::new(server.url().parse().expect("url")))
        .expect("client");
    let svcs: Api<Service> = Api::namespaced(client.clone(), "default");
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "default");
    let created = Instant::now();
    futures::stream::iter(0..SERVICES)
        .for_each_concurrent(32, |i| {
            let (svcs, slices) = (svcs.clone(), slices.clone());
            async move {
                let svc: Service = serde_json::from_value(json!({
                    "metadata": {"name": format!("svc-{i}")},
                    "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
                }))
                .expect("svc");
                svcs.create(&PostParams::default(), &svc)
                    .await
                    .expect("create svc");
                let ips: Vec<Ipv4Addr> = (0..PER_SERVICE).map(|e| endpoint_ip(i, e)).collect();
                slices
                    .create(&PostParams::default(), &slice(i, &ips))
                    .await
                    .expect("create slice");
            }
        })
        .await;
    println!(
        "created {SERVICES} services / {} endpoints in {:.1} s",
        SERVICES * PER_SERVICE,
        created.elapsed().as_secs_f64()
    );

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let dns_ip = Ipv4Addr::new(10, 96, 0, 10);
    let started = Instant::now();
    let watched = services::start(
        client.clone(),
        ServicesConfig {
            node: NodeNetns::new(Some(ns_path.clone())),
            dns_ip: Some(dns_ip),
            domain: "cluster.local".into(),
        },
        stop_rx,
    )
    .await;
    let total = SERVICES * PER_SERVICE;
    wait_until(&watched, |r| r.endpoint_chains() >= total).await;
    let initial = started.elapsed();
    let rules = watched.installed.borrow().clone();
    let node = NodeNetns::new(Some(ns_path.clone()));
    let script = nft::script(None, &rules);
    let mut full = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        services::proxy::apply(&node, &script)
            .await
            .expect("full resync");
        full.push(t.elapsed());
    }
    full.sort();
    println!(
        "initial sync (watch + list + rules for {total} endpoints): {:.0} ms; full resync ({} lines): median {:.0} ms",
        initial.as_secs_f64() * 1000.0,
        script.lines().count(),
        full[1].as_secs_f64() * 1000.0
    );

    let mut lat = Vec::with_capacity(CHANGES);
    for c in 0..CHANGES {
        let svc = (c * 37) % SERVICES;
        let mut ips: Vec<Ipv4Addr> = (0..PER_SERVICE).map(|e| endpoint_ip(svc, e)).collect();
        let fresh = Ipv4Addr::new(10, 245, (c / 250) as u8, (c % 250) as u8 + 1);
        ips[0] = fresh;
        let t = Instant::now();
        slices
            .patch(
                &format!("svc-{svc}-x"),
                &PatchParams::default(),
                &Patch::Merge(json!({"endpoints": slice(svc, &ips).endpoints})),
            )
            .await
            .expect("patch slice");
        let target = format!("{fresh}:8080");
        wait_until(&watched, |r| r.dnats_to(&target)).await;
        lat.push(t.elapsed());
    }
    lat.sort();
    println!(
        "endpoint change → node rules ({CHANGES} changes): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        percentile(&lat, 0.5).as_secs_f64() * 1000.0,
        percentile(&lat, 0.99).as_secs_f64() * 1000.0,
        lat[lat.len() - 1].as_secs_f64() * 1000.0
    );

    // DNS: each client is a thread inside the namespace with one query in flight.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let count = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for t in 0..DNS_CLIENTS {
        let (count, done, ns_path) = (count.clone(), done.clone(), ns_path.clone());
        threads.push(std::thread::spawn(move || {
            let f = std::fs::File::open(&ns_path).expect("netns");
            nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            let sock = UdpSocket::bind("0.0.0.0:0").expect("bind");
            sock.connect((dns_ip, 53)).expect("connect");
            sock.set_read_timeout(Some(Duration::from_secs(1))).ok();
            let mut buf = [0u8; 1500];
            let mut id: u16 = t as u16;
            while !done.load(Ordering::Relaxed) {
                id = id.wrapping_add(DNS_CLIENTS as u16);
                let name = format!("svc-{}.default.svc.cluster.local", id as usize % SERVICES);
                if sock.send(&query(id, &name)).is_err() {
                    continue;
                }
                if let Ok(n) = sock.recv(&mut buf)
                    && n > 12
                    && buf[..2] == id.to_be_bytes()
                    && buf[3] & 0x0f == 0
                {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(DNS_SECONDS)).await;
    done.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    println!(
        "cluster DNS: {:.0} answered queries/s ({DNS_CLIENTS} clients, UDP, A records of 1,000 services)",
        count.load(Ordering::Relaxed) as f64 / DNS_SECONDS as f64
    );
    stop_tx.send_replace(true);
    let _ = Command::new("ip").args(["netns", "del", &ns_name]).status();
}
