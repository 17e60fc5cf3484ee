//! Routes the API's view of this node's pods to per-pod workers, and cleans up what belongs
//! to no pod: on the first full list after a (re)start, containers, mounts, namespaces,
//! cgroups and directories of pods deleted while the kubelet was down or left by a crash.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::watcher::{self, Event};
use tokio::sync::mpsc;

use super::state;
use super::worker::{self, Msg};
use crate::context::Context;
use crate::runtime::{cgroups, netns, rootfs};

fn uid_of(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

fn terminal(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded") | Some("Failed")
    )
}

/// Pods admitted on this node that still hold resources, except `except_uid`.
pub async fn admitted_pods(ctx: &Context, except_uid: &str) -> Vec<Pod> {
    let known = match ctx.known.read() {
        Ok(k) => k.clone(),
        Err(_) => return Vec::new(),
    };
    known
        .into_iter()
        .filter(|(uid, p)| uid != except_uid && !terminal(p))
        .filter(|(uid, _)| state::load(&ctx.pod_dir(uid)).is_some_and(|s| s.admitted))
        .map(|(_, p)| (*p).clone())
        .collect()
}

struct Workers {
    ctx: Arc<Context>,
    senders: HashMap<String, mpsc::UnboundedSender<Msg>>,
    finished: HashSet<String>,
}

impl Workers {
    fn dispatch(&mut self, pod: Pod) {
        let uid = uid_of(&pod);
        if uid.is_empty() || self.finished.contains(&uid) {
            return;
        }
        let pod = Arc::new(pod);
        if let Ok(mut k) = self.ctx.known.write() {
            k.insert(uid.clone(), pod.clone());
        }
        if let Some(tx) = self.senders.get(&uid) {
            if tx.send(Msg::Update(pod.clone())).is_ok() {
                return;
            }
            self.senders.remove(&uid);
            self.finished.insert(uid);
            return;
        }
        let has_state = state::load(&self.ctx.pod_dir(&uid)).is_some();
        if terminal(&pod) && !has_state && pod.metadata.deletion_timestamp.is_none() {
            return;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        self.senders.insert(uid, tx.clone());
        tokio::spawn(worker::run(self.ctx.clone(), pod, rx, tx));
    }

    fn removed(&mut self, uid: &str) {
        if let Ok(mut k) = self.ctx.known.write() {
            k.remove(uid);
        }
        if let Some(tx) = self.senders.remove(uid) {
            let _ = tx.send(Msg::Removed);
            self.finished.insert(uid.to_string());
        }
    }
}

pub async fn run(ctx: Arc<Context>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let api: Api<Pod> = Api::all(ctx.client.clone());
    let cfg = watcher::Config::default().fields(&format!("spec.nodeName={}", ctx.config.node_name));
    let mut stream = watcher::watcher(api, cfg).boxed();
    let mut workers = Workers {
        ctx: ctx.clone(),
        senders: HashMap::new(),
        finished: HashSet::new(),
    };
    let mut listing: HashSet<String> = HashSet::new();
    let mut cleaned = false;
    tokio::spawn(retry_detach(ctx.clone(), stop.clone()));
    loop {
        let ev = tokio::select! {
            ev = stream.next() => ev,
            _ = crate::stopped(&mut stop) => return,
        };
        match ev {
            Some(Ok(Event::Init)) => listing.clear(),
            Some(Ok(Event::InitApply(p))) => {
                listing.insert(uid_of(&p));
                workers.dispatch(p);
            }
            Some(Ok(Event::InitDone)) => {
                let gone: Vec<String> = workers
                    .senders
                    .keys()
                    .filter(|u| !listing.contains(*u))
                    .cloned()
                    .collect();
                for uid in gone {
                    workers.removed(&uid);
                }
                if !cleaned {
                    cleaned = true;
                    let live: HashSet<String> = listing.clone();
                    let c = ctx.clone();
                    tokio::spawn(async move { cleanup_orphans(&c, &live).await });
                }
            }
            Some(Ok(Event::Apply(p))) => workers.dispatch(p),
            Some(Ok(Event::Delete(p))) => workers.removed(&uid_of(&p)),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "watching pods");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            None => return,
        }
    }
}

/// Retries CNI DELs that failed when their pod was torn down (a timed-out plugin, a busy
/// IPAM store): attachments of pods this node no longer runs are detached every minute, so a
/// lease never leaks until the next kubelet restart.
async fn retry_detach(ctx: Arc<Context>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = crate::stopped(&mut stop) => return,
        }
        for uid in ctx.network.attached() {
            let live = ctx
                .known
                .read()
                .map(|k| k.contains_key(&uid))
                .unwrap_or(true);
            if !live && let Err(e) = ctx.network.del(&uid).await {
                tracing::warn!(pod = %uid, error = %e, "detaching the network of a removed pod; will retry");
            }
        }
    }
}

const UID_LEN: usize = 36;

fn uid_prefix(id: &str) -> &str {
    id.get(..UID_LEN).unwrap_or(id)
}

/// Removes every trace of pods the API no longer has. Pods that arrived after the list
/// (`ctx.known`) count as live too.
pub async fn cleanup_orphans(ctx: &Context, listed: &HashSet<String>) {
    let mut live = listed.clone();
    if let Ok(k) = ctx.known.read() {
        live.extend(k.keys().cloned());
    }
    // A pod can arrive while this runs (the sweep kills, deletes and detaches for seconds):
    // each destructive step looks at the live set of that moment, not of the start.
    let is_live = |uid: &str| {
        live.contains(uid)
            || ctx
                .known
                .read()
                .map(|k| k.contains_key(uid))
                .unwrap_or(true)
    };
    let dead_pod_dirs: Vec<String> = std::fs::read_dir(ctx.pods_dir())
        .map(|it| {
            it.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|u| !is_live(u))
                .collect()
        })
        .unwrap_or_default();
    for uid in &dead_pod_dirs {
        let dir = ctx.pod_dir(uid);
        if let Some(st) = state::load(&dir) {
            for cs in st.containers.values() {
                if let Some(r) = &cs.running
                    && crate::runtime::exit::start_ticks(r.pid) == Some(r.start_ticks)
                {
                    let _ = ctx
                        .runtime
                        .kill(&r.id, nix::sys::signal::Signal::SIGKILL, true)
                        .await;
                }
            }
            let _ = std::fs::remove_dir_all(ctx.pod_log_dir(&st.namespace, &st.name, uid));
            tracing::info!(pod = %st.name, namespace = %st.namespace, "cleaning up a pod deleted while the kubelet was away");
        }
    }
    for id in ctx.runtime.list() {
        if !is_live(uid_prefix(&id)) {
            let _ = ctx.runtime.delete(&id).await;
        }
    }
    let containers: Vec<String> = std::fs::read_dir(ctx.containers_dir())
        .map(|it| {
            it.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    for id in containers {
        if !is_live(uid_prefix(&id)) {
            let _ = rootfs::remove(&ctx.containers_dir().join(&id));
        }
    }
    for uid in &dead_pod_dirs {
        let dir = ctx.pod_dir(uid);
        let _ = super::volumes::teardown(&dir);
        for m in rootfs::mounts_under(&dir) {
            let _ = nix::mount::umount2(&m, nix::mount::MntFlags::MNT_DETACH);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    let netns_files: Vec<String> = std::fs::read_dir(ctx.netns_dir())
        .map(|it| {
            it.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    // Detach before the namespaces go: DEL frees the address and the veth's host end.
    for uid in ctx.network.attached() {
        if !is_live(&uid)
            && let Err(e) = ctx.network.del(&uid).await
        {
            tracing::warn!(pod = %uid, error = %e, "detaching the network of a removed pod");
        }
    }
    for uid in netns_files {
        if !is_live(&uid) {
            let _ = netns::remove(&netns::path_for(&ctx.netns_dir(), &uid));
        }
    }
    for child in cgroups::children(ctx.cgroups, &ctx.config.cgroup_root) {
        let uid = child.trim_start_matches("pod");
        if !is_live(uid) {
            let path = format!("{}/{child}", ctx.config.cgroup_root.trim_end_matches('/'));
            cgroups::remove_tree(ctx.cgroups, &path);
        }
    }
    // Log dirs are named ns_name_uid.
    let logs: Vec<String> = std::fs::read_dir(ctx.logs_dir())
        .map(|it| {
            it.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    for l in logs {
        let uid = l.rsplit('_').next().unwrap_or_default();
        if !is_live(uid) {
            let _ = std::fs::remove_dir_all(ctx.logs_dir().join(&l));
        }
    }
}
