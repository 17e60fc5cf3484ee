//! One task per pod: brings the pod's containers to what its spec and restart policy ask
//! (init containers in order, then app containers), reacts to container exits and probe
//! results, reports status, and on deletion stops everything gracefully and finishes the
//! deletion. Every decision is checkpointed so a kubelet restart continues where it stopped.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Container, Pod};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::probes::{self, Kind, Tracker};
use super::start::{self, Plan, StartError};
use super::state::{self, Exit, PodState, Waiting, rfc3339_now, unix_now};
use super::status::{self, restart_policy, restarts};
use super::{exec, volumes};
use crate::context::{ContainerView, Context, PodView};
use crate::node::FIELD_MANAGER;
use crate::runtime::exit::{self, ExitStatus};
use crate::runtime::{cgroups, netns, rootfs};

#[derive(Debug)]
pub enum Msg {
    Update(Arc<Pod>),
    Exited {
        name: String,
        id: String,
        status: ExitStatus,
    },
    /// The pod object is gone from the API (force-deleted, or deleted while we were down).
    Removed,
}

const RESYNC: Duration = Duration::from_secs(10);
const VOLUME_REFRESH: Duration = Duration::from_secs(10);

pub struct Worker {
    ctx: Arc<Context>,
    pod: Arc<Pod>,
    st: PodState,
    dir: PathBuf,
    tx: mpsc::UnboundedSender<Msg>,
    last_status: Option<Value>,
    probes: HashMap<(String, Kind), Tracker>,
    volumes: Option<volumes::Prepared>,
    volumes_at: Option<Instant>,
    env: HashMap<String, (Vec<String>, String)>,
    removed: bool,
    node_allocatable: BTreeMap<String, String>,
    /// The CNI attachment was verified (CHECK) or made by this kubelet process.
    network_checked: bool,
}

enum Next {
    Wait(Duration),
    Finished,
}

/// Resolves once the pod is being deleted or gone, per the manager's latest view.
async fn deletion_requested(ctx: &Context, uid: &str) {
    loop {
        let deleting = ctx
            .known
            .read()
            .map(|k| {
                k.get(uid)
                    .is_none_or(|p| p.metadata.deletion_timestamp.is_some())
            })
            .unwrap_or(false);
        if deleting {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn uid_of(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

pub async fn run(
    ctx: Arc<Context>,
    pod: Arc<Pod>,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    tx: mpsc::UnboundedSender<Msg>,
) {
    let mut w = Worker::new(ctx, pod, tx).await;
    loop {
        let next = w.sync().await;
        let wait = match next {
            Next::Finished => return,
            Next::Wait(d) => d,
        };
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(m) => w.handle(m).await,
                None => return,
            },
            _ = tokio::time::sleep(wait) => {}
        }
        while let Ok(m) = rx.try_recv() {
            w.handle(m).await;
        }
    }
}

impl Worker {
    async fn new(ctx: Arc<Context>, pod: Arc<Pod>, tx: mpsc::UnboundedSender<Msg>) -> Worker {
        let uid = uid_of(&pod);
        let dir = ctx.pod_dir(&uid);
        let st = state::load(&dir).unwrap_or_else(|| PodState {
            uid: uid.clone(),
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            ..Default::default()
        });
        let (_, alloc) = crate::node::capacity(&ctx);
        let node_allocatable = alloc
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let mut w = Worker {
            ctx,
            pod,
            st,
            dir,
            tx,
            last_status: None,
            probes: HashMap::new(),
            volumes: None,
            volumes_at: None,
            env: HashMap::new(),
            removed: false,
            node_allocatable,
            network_checked: false,
        };
        w.adopt().await;
        w
    }

    /// Re-attaches to runs recorded as running: the same pid with the same start time is our
    /// container; anything else ended while we were away.
    async fn adopt(&mut self) {
        // A start interrupted by a crash (after libcontainer created it, before the checkpoint)
        // left a container nobody knows: remove it rather than run a duplicate.
        let known: Vec<String> = self
            .st
            .containers
            .values()
            .filter_map(|c| c.running.as_ref().map(|r| r.id.clone()))
            .collect();
        let prefix = format!("{}-", self.st.uid);
        for id in self.ctx.runtime.list() {
            if id.starts_with(&prefix) && !known.contains(&id) {
                tracing::info!(container = %id, "removing a container whose start was interrupted");
                if let Err(e) = start::cleanup_run(&self.ctx, &id).await {
                    tracing::warn!(container = %id, error = %e, "removing an interrupted container");
                }
            }
        }
        let names: Vec<String> = self.st.containers.keys().cloned().collect();
        for name in names {
            let Some(run) = self
                .st
                .containers
                .get(&name)
                .and_then(|c| c.running.clone())
            else {
                continue;
            };
            let same = exit::alive(run.pid) && exit::start_ticks(run.pid) == Some(run.start_ticks);
            if same {
                tracing::info!(pod = %self.st.name, container = %name, pid = run.pid, "re-attached to running container");
                if let Some(c) = self.spec_container(&name) {
                    for kind in [Kind::Startup, Kind::Liveness, Kind::Readiness] {
                        if let Some(p) = kind.of(&c) {
                            self.probes
                                .insert((name.clone(), kind), Tracker::new(p, Instant::now()));
                        }
                    }
                }
                self.env
                    .insert(name.clone(), (run.env.clone(), run.cwd.clone()));
                self.watch_exit(&name, &run.id, run.pid);
            } else {
                // Ended while we were away: its shim recorded how.
                let status = crate::shim::read_exit(&self.ctx.runtime.exit_file(&run.id))
                    .unwrap_or(ExitStatus::Unknown);
                self.record_exit(&name, &run.id, status).await;
            }
        }
        self.save();
    }

    fn spec_container(&self, name: &str) -> Option<Container> {
        super::env::find_container(&self.pod, name).cloned()
    }

    fn watch_exit(&self, name: &str, id: &str, pid: i32) {
        let tx = self.tx.clone();
        let runtime = self.ctx.runtime.clone();
        let (name, id) = (name.to_string(), id.to_string());
        tokio::spawn(async move {
            let status = runtime.wait(&id, pid).await;
            let _ = tx.send(Msg::Exited { name, id, status });
        });
    }

    fn save(&self) {
        if let Err(e) = state::save(&self.dir, &self.st) {
            tracing::error!(pod = %self.st.name, error = %e, "checkpointing pod state");
        }
    }

    async fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Update(p) => self.pod = p,
            Msg::Exited { name, id, status } => {
                self.record_exit(&name, &id, status).await;
                self.save();
            }
            Msg::Removed => self.removed = true,
        }
    }

    async fn record_exit(&mut self, name: &str, id: &str, status: ExitStatus) {
        let fallback = self
            .spec_container(name)
            .and_then(|c| c.termination_message_policy)
            .as_deref()
            == Some("FallbackToLogsOnError");
        let Some(cs) = self.st.containers.get_mut(name) else {
            return;
        };
        let Some(run) = cs.running.clone().filter(|r| r.id == id) else {
            return;
        };
        let oom = cgroups::oom_kills(self.ctx.cgroups, &run.cgroup) > 0;
        let (code, reason, mut message) = match status.code() {
            // An OOM kill of some helper process does not make a clean exit an OOMKilled one.
            Some(137) | None if oom => (137, "OOMKilled".to_string(), None),
            Some(0) => (0, "Completed".to_string(), None),
            Some(c) => (c, "Error".to_string(), None),
            None => (
                137,
                "ContainerStatusUnknown".to_string(),
                Some("The container ended while the kubelet was not running; its exit status was lost".to_string()),
            ),
        };
        let term = start::termination_log(&self.dir, name, cs.attempts.saturating_sub(1));
        if let Ok(text) = std::fs::read_to_string(&term) {
            let text: String = text.chars().take(4096).collect();
            if !text.is_empty() {
                message = Some(text);
            }
        }
        if message.is_none() && fallback && code != 0 {
            let (bytes, _) = crate::logs::reader::snapshot(
                &run.log,
                &crate::logs::reader::LogOptions {
                    tail_lines: Some(80),
                    limit_bytes: Some(2048),
                    ..Default::default()
                },
            );
            message = Some(String::from_utf8_lossy(&bytes).into_owned());
        }
        let exit = Exit {
            exit_code: code,
            signal: match status {
                ExitStatus::Signaled(s) => Some(s),
                _ => None,
            },
            reason: reason.clone(),
            message,
            started_at: run.started_at.clone(),
            finished_at: rfc3339_now(),
            container_id: run.id.clone(),
            image: run.image.clone(),
            image_id: run.image_id.clone(),
        };
        let ran_for = run
            .started_at
            .parse::<k8s_openapi::jiff::Timestamp>()
            .map(|t| {
                (k8s_openapi::jiff::Timestamp::now().as_second() - t.as_second()).max(0) as u64
            })
            .unwrap_or(0);
        cs.prev_exit = cs.last_exit.take();
        cs.last_exit = Some(exit);
        cs.running = None;
        cs.ready = false;
        cs.started = false;
        let delay = if ran_for >= 600 {
            0
        } else {
            cs.backoff_seconds
        };
        cs.backoff_seconds = state::next_backoff(delay, ran_for);
        cs.backoff_until = unix_now() + delay;
        self.probes.retain(|(n, _), _| n != name);
        if reason == "OOMKilled" {
            tracing::info!(pod = %self.st.name, container = %name, "container OOM-killed");
        }
        if let Err(e) = start::cleanup_run(&self.ctx, id).await {
            tracing::warn!(container = %id, error = %e, "cleaning up a finished container");
        }
    }

    async fn sync(&mut self) -> Next {
        if self.removed {
            self.terminate(0).await;
            self.teardown().await;
            return Next::Finished;
        }
        if self.pod.metadata.deletion_timestamp.is_some() {
            let grace = self
                .pod
                .metadata
                .deletion_grace_period_seconds
                .or(self
                    .pod
                    .spec
                    .as_ref()
                    .and_then(|s| s.termination_grace_period_seconds))
                .unwrap_or(30);
            self.terminate(grace).await;
            self.teardown().await;
            self.finish_deletion().await;
            return Next::Finished;
        }
        if !self.st.admitted && self.st.rejected.is_none() {
            // One admission at a time, so concurrent pods cannot overcommit the node.
            let ctx = self.ctx.clone();
            let _one_at_a_time = ctx.admission.lock().await;
            match self.admit().await {
                Some(Ok(())) => {
                    self.st.admitted = true;
                    self.st.start_time = Some(rfc3339_now());
                }
                Some(Err((reason, message))) => {
                    self.ctx
                        .recorder
                        .warning(&*self.pod, &reason, message.clone());
                    self.st.rejected = Some((reason, message));
                }
                // The Node is not readable yet: decide later rather than reject wrongly.
                None => return Next::Wait(Duration::from_secs(1)),
            }
            self.save();
        }
        if self.st.rejected.is_some() {
            self.report().await;
            return Next::Wait(Duration::from_secs(3600));
        }
        let mut wake = RESYNC;
        match self.setup().await {
            Ok(()) => {
                if let Some(d) = self.run_containers().await {
                    wake = wake.min(d);
                }
                if let Some(d) = self.run_probes().await {
                    wake = wake.min(d);
                }
                self.release_network_if_finished().await;
            }
            Err((reason, message)) => {
                self.ctx.recorder.warning(&*self.pod, reason, message);
                wake = Duration::from_secs(2);
            }
        }
        self.publish_view();
        self.report().await;
        Next::Wait(wake)
    }

    async fn admit(&self) -> Option<Result<(), (String, String)>> {
        let ctx = &self.ctx;
        let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(ctx.client.clone());
        let labels = nodes
            .get_opt(&ctx.config.node_name)
            .await
            .ok()
            .flatten()?
            .metadata
            .labels
            .unwrap_or_default();
        let facts = super::admission::NodeFacts {
            labels,
            cpu_milli: crate::machine::cpus() as i64 * 1000,
            memory: crate::machine::memory_total().saturating_sub(ctx.config.reserved_memory)
                as i64,
            max_pods: ctx.config.max_pods as usize,
        };
        let others: Vec<Pod> = super::manager::admitted_pods(ctx, &uid_of(&self.pod)).await;
        Some(super::admission::admit(&self.pod, &facts, &others))
    }

    /// Pod-level setup, idempotent: directories, network namespace, volumes, pod files.
    /// Errors carry the Event reason.
    async fn setup(&mut self) -> Result<(), (&'static str, String)> {
        const SANDBOX: &str = "FailedCreatePodSandBox";
        std::fs::create_dir_all(&self.dir).map_err(|e| (SANDBOX, e.to_string()))?;
        if !self.host_network() {
            self.setup_network().await?;
        }
        self.setup_volumes().await.map_err(|e| ("FailedMount", e))?;
        let pod_ip = self.st.pod_ips.first().map(String::as_str);
        super::podfiles::write(&self.pod, &self.dir, &self.ctx, pod_ip)
            .map_err(|e| (SANDBOX, e.to_string()))?;
        Ok(())
    }

    /// The pod's network namespace and its CNI attachment. A namespace that is pinned and
    /// attached (a kubelet restart) is kept as it is.
    async fn setup_network(&mut self) -> Result<(), (&'static str, String)> {
        let ns = self.netns_path();
        let fresh = !netns::is_pinned(&ns);
        if fresh && !self.st.pod_ips.is_empty() {
            // The namespace is gone (host reboot): its old attachment is stale.
            if let Err(e) = self.ctx.network.del(&self.st.uid).await {
                tracing::warn!(pod = %self.st.name, error = %e, "removing a stale network attachment");
            }
            self.st.pod_ips.clear();
        }
        netns::ensure(&ns).map_err(|e| ("FailedCreatePodSandBox", e.to_string()))?;
        if !self.st.pod_ips.is_empty() && !self.network_checked && !self.st.network_released {
            // An attachment made before a kubelet restart is CHECKed once and reported when
            // broken, but kept: attaching again would change the pod's IP under its running
            // containers (and Debian's portmap 1.1.1 fails CHECK of any hostPort on
            // IPv4-only nodes, looking for an ip6tables chain it never made).
            if let Err(e) = self.ctx.network.check(&self.st.uid).await {
                tracing::warn!(pod = %self.st.name, error = %e, "pod network failed CNI CHECK");
                self.ctx.recorder.warning(
                    &*self.pod,
                    "NetworkCheckFailed",
                    format!("CNI CHECK of the pod network failed: {e}"),
                );
            }
            self.network_checked = true;
        }
        if !self.st.pod_ips.is_empty() {
            return Ok(());
        }
        if !self.ctx.network.ready() {
            return Err((
                "NetworkNotReady",
                format!("network is not ready: {}", crate::network::NOT_READY),
            ));
        }
        match self.ctx.network.add(&self.pod, &ns).await {
            Ok(ips) => {
                tracing::debug!(pod = %self.st.name, ?ips, "pod network attached");
                self.network_checked = true;
                self.st.pod_ips = ips;
                self.save();
                Ok(())
            }
            Err(e) => Err((
                "FailedCreatePodSandBox",
                format!(
                    "Failed to create pod sandbox: failed to setup network for sandbox {:?}: {e}",
                    self.st.uid
                ),
            )),
        }
    }

    /// A pod that has finished for good gives its address back at once, as Kubernetes stops
    /// the sandbox of a Succeeded or Failed pod: Jobs with many completions must not exhaust
    /// the node's range while their pods wait to be deleted.
    async fn release_network_if_finished(&mut self) {
        if self.st.network_released || self.st.pod_ips.is_empty() {
            return;
        }
        let phase = super::status::phase(&self.pod, &self.st).phase;
        if !matches!(phase, "Succeeded" | "Failed") {
            return;
        }
        match self.ctx.network.del(&self.st.uid).await {
            Ok(()) => {
                self.st.network_released = true;
                self.save();
            }
            Err(e) => {
                tracing::warn!(pod = %self.st.name, error = %e, "releasing the network of a finished pod")
            }
        }
    }

    async fn setup_volumes(&mut self) -> Result<(), String> {
        let due = self
            .volumes_at
            .is_none_or(|t| t.elapsed() >= VOLUME_REFRESH);
        if self.volumes.is_none() || due {
            let vctx = volumes::VolumeContext {
                pod: &self.pod,
                pod_dir: &self.dir,
                client: self.ctx.client.clone(),
                node_allocatable: &self.node_allocatable,
            };
            match volumes::prepare(&vctx).await {
                Ok(v) => {
                    self.volumes = Some(v);
                    self.volumes_at = Some(Instant::now());
                }
                // Keep running with the last good content when a refresh fails.
                Err(e) if self.volumes.is_some() => {
                    tracing::warn!(pod = %self.st.name, error = %e, "refreshing volumes");
                    self.volumes_at = Some(Instant::now());
                }
                Err(e) => return Err(format!("MountVolume.SetUp failed for {e}")),
            }
        }
        Ok(())
    }

    fn host_network(&self) -> bool {
        self.pod
            .spec
            .as_ref()
            .and_then(|s| s.host_network)
            .unwrap_or(false)
    }

    fn netns_path(&self) -> PathBuf {
        netns::path_for(&self.ctx.netns_dir(), &self.st.uid)
    }

    /// Starts what should run now; returns when to look again for back-offs.
    async fn run_containers(&mut self) -> Option<Duration> {
        let spec = self.pod.spec.clone().unwrap_or_default();
        let policy = restart_policy(&self.pod).to_string();
        let mut wake: Option<Duration> = None;
        let mut soonest = |d: Duration| {
            wake = Some(wake.map_or(d, |w: Duration| w.min(d)));
        };
        if !self.st.initialized {
            for c in spec.init_containers.iter().flatten() {
                let cs = self
                    .st
                    .containers
                    .entry(c.name.clone())
                    .or_default()
                    .clone();
                if cs.running.is_some() {
                    return wake;
                }
                if let Some(e) = &cs.last_exit {
                    if e.exit_code == 0 {
                        continue;
                    }
                    // Init containers restart unless the pod's policy is Never.
                    if policy == "Never" {
                        if let Some(s) = self.st.containers.get_mut(&c.name) {
                            s.done = true;
                        }
                        self.mark_all_done();
                        return wake;
                    }
                }
                if let Some(d) = self.try_start(c).await {
                    soonest(d);
                }
                return wake;
            }
            self.st.initialized = true;
            self.st.initialized_at = Some(rfc3339_now());
            self.save();
        }
        for c in &spec.containers {
            let cs = self
                .st
                .containers
                .entry(c.name.clone())
                .or_default()
                .clone();
            if let Some(run) = &cs.running
                && !run.spec_hash.is_empty()
                && run.spec_hash != start::spec_hash(c)
            {
                self.ctx.recorder.normal(
                    &*self.pod,
                    "Killing",
                    format!("Container {} definition changed, will be restarted", c.name),
                );
                let grace = spec.termination_grace_period_seconds.unwrap_or(30);
                let (id, pid) = (run.id.clone(), run.pid);
                self.stop_container(c, &id, pid, grace).await;
                // The exit arrives as a message; the restart follows the restart policy.
                continue;
            }
            if cs.running.is_some() || cs.done {
                continue;
            }
            if let Some(e) = &cs.last_exit
                && !restarts(&policy, e.exit_code)
            {
                if let Some(s) = self.st.containers.get_mut(&c.name) {
                    s.done = true;
                    s.waiting = None;
                }
                self.save();
                continue;
            }
            if let Some(d) = self.try_start(c).await {
                soonest(d);
            }
        }
        wake
    }

    fn mark_all_done(&mut self) {
        for s in self.st.containers.values_mut() {
            if s.running.is_none() {
                s.done = true;
                s.waiting = None;
            }
        }
        self.save();
    }

    /// One start attempt honouring crash and pull back-off; returns the back-off left.
    async fn try_start(&mut self, c: &Container) -> Option<Duration> {
        let now = unix_now();
        let cs = self.st.containers.get(&c.name).cloned().unwrap_or_default();
        let pod_name = self.st.name.clone();
        if cs.last_exit.is_some() && now < cs.backoff_until {
            let left = cs.backoff_until - now;
            self.set_waiting(
                &c.name,
                "CrashLoopBackOff",
                Some(format!(
                    "back-off {}s restarting failed container={} pod={pod_name}_{}({})",
                    cs.backoff_seconds.max(10) / 2 * 2,
                    c.name,
                    self.st.namespace,
                    self.st.uid
                )),
            );
            return Some(Duration::from_secs(left));
        }
        if now < cs.pull_backoff_until {
            self.set_waiting(
                &c.name,
                "ImagePullBackOff",
                Some(format!(
                    "Back-off pulling image {:?}",
                    c.image.clone().unwrap_or_default()
                )),
            );
            return Some(Duration::from_secs(cs.pull_backoff_until - now));
        }
        // A pull can take long: a deletion meanwhile abandons it and is handled at once.
        let pulled = tokio::select! {
            r = start::ensure_image(&self.ctx, &self.pod, c) => Some(r),
            _ = deletion_requested(&self.ctx, &self.st.uid) => None,
        };
        let Some(pulled) = pulled else {
            return Some(Duration::from_millis(10));
        };
        let image = match pulled {
            Ok(i) => {
                if let Some(s) = self.st.containers.get_mut(&c.name) {
                    s.pull_backoff_seconds = 0;
                }
                i
            }
            Err(e) => return self.start_failed(c, e),
        };
        let attempt = cs.attempts;
        let netns = (!self.host_network()).then(|| self.netns_path());
        let empty = volumes::Prepared::new();
        let plan = Plan {
            ctx: &self.ctx,
            pod: &self.pod,
            container: c,
            attempt,
            pod_dir: &self.dir,
            volumes: self.volumes.as_ref().unwrap_or(&empty),
            netns,
            node_allocatable: &self.node_allocatable,
        };
        match start::start(&plan, &image).await {
            Ok(started) => {
                let run = started.run;
                self.ctx.recorder.normal(
                    &*self.pod,
                    "Created",
                    format!("Created container {}", c.name),
                );
                self.ctx.recorder.normal(
                    &*self.pod,
                    "Started",
                    format!("Started container {}", c.name),
                );
                let (id, pid) = (run.id.clone(), run.pid);
                self.env
                    .insert(c.name.clone(), (started.env.clone(), started.cwd.clone()));
                if let Some(s) = self.st.containers.get_mut(&c.name) {
                    if s.attempts > 0 {
                        s.restart_count += 1;
                    }
                    s.attempts += 1;
                    s.running = Some(run);
                    s.waiting = None;
                    s.ready = c.readiness_probe.is_none();
                    s.started = c.startup_probe.is_none();
                }
                for kind in [Kind::Startup, Kind::Liveness, Kind::Readiness] {
                    match kind.of(c) {
                        Some(p) => {
                            self.probes
                                .insert((c.name.clone(), kind), Tracker::new(p, Instant::now()));
                        }
                        None => {
                            self.probes.remove(&(c.name.clone(), kind));
                        }
                    }
                }
                self.save();
                self.watch_exit(&c.name, &id, pid);
                self.post_start(c, &id).await;
                None
            }
            Err(e) => self.start_failed(c, e),
        }
    }

    fn start_failed(&mut self, c: &Container, e: StartError) -> Option<Duration> {
        let (reason, message, pull) = match e {
            StartError::Pull(m) => ("ErrImagePull", m, true),
            StartError::NeverPull(m) => ("ErrImageNeverPull", m, false),
            StartError::Config(m) => ("CreateContainerConfigError", m, false),
            StartError::Create(m) => ("CreateContainerError", m, false),
        };
        tracing::info!(pod = %self.st.name, container = %c.name, reason, message = %message, "container start failed");
        self.ctx
            .recorder
            .warning(&*self.pod, "Failed", format!("Error: {reason}: {message}"));
        let now = unix_now();
        let s = self.st.containers.entry(c.name.clone()).or_default();
        if reason == "CreateContainerError" {
            // The process could not be started (bad command, missing binary): a run that
            // ended at once with 128, as Kubernetes reports it, so the restart policy and
            // the crash back-off apply instead of retrying forever.
            let at = rfc3339_now();
            s.prev_exit = s.last_exit.take();
            s.last_exit = Some(Exit {
                exit_code: 128,
                reason: "StartError".into(),
                message: Some(message),
                started_at: at.clone(),
                finished_at: at,
                container_id: super::start::container_id(&self.st.uid, &c.name, s.attempts),
                image: c.image.clone().unwrap_or_default(),
                ..Default::default()
            });
            if s.attempts > 0 {
                s.restart_count += 1;
            }
            s.attempts += 1;
            s.waiting = None;
            let delay = s.backoff_seconds;
            s.backoff_seconds = state::next_backoff(delay, 0);
            s.backoff_until = now + delay;
            self.save();
            return Some(Duration::from_secs(delay.max(1)));
        }
        s.waiting = Some(Waiting {
            reason: reason.into(),
            message: Some(message),
        });
        let retry = if pull {
            // 10 s, 20 s, 40 s … 5 min between pulls of an image that fails.
            let this = s.pull_backoff_seconds.clamp(10, 300);
            s.pull_backoff_seconds = (this * 2).min(300);
            s.pull_backoff_until = now + this;
            this
        } else {
            // Configuration errors are retried soon: the missing object may appear.
            2
        };
        self.save();
        Some(Duration::from_secs(retry))
    }

    fn set_waiting(&mut self, name: &str, reason: &str, message: Option<String>) {
        let s = self.st.containers.entry(name.to_string()).or_default();
        let w = Some(Waiting {
            reason: reason.into(),
            message,
        });
        if s.waiting != w {
            if reason == "CrashLoopBackOff" {
                self.ctx.recorder.warning(
                    &*self.pod,
                    "BackOff",
                    "Back-off restarting failed container".into(),
                );
            }
            s.waiting = w;
            self.save();
        }
    }

    async fn post_start(&mut self, c: &Container, id: &str) {
        let Some(cmd) = c
            .lifecycle
            .as_ref()
            .and_then(|l| l.post_start.as_ref())
            .and_then(|h| h.exec.as_ref())
            .and_then(|e| e.command.clone())
        else {
            return;
        };
        let env = self
            .env
            .get(&c.name)
            .map(|(e, _)| exec::env_map(e))
            .unwrap_or_default();
        let Some(run) = self
            .st
            .containers
            .get(&c.name)
            .and_then(|cs| cs.running.clone())
            .filter(|r| r.id == id)
        else {
            return;
        };
        let out = exec::run(&self.ctx.runtime, &run, cmd, env, Duration::from_secs(30)).await;
        let failed = match &out {
            Ok(o) => o.exit_code != Some(0),
            Err(_) => true,
        };
        if failed {
            let detail = match out {
                Ok(o) => format!("exit code {:?}: {}", o.exit_code, o.output.trim()),
                Err(e) => e.to_string(),
            };
            self.ctx.recorder.warning(
                &*self.pod,
                "FailedPostStartHook",
                format!("PostStartHook failed: {detail}"),
            );
            let _ = self.ctx.runtime.kill(id, Signal::SIGKILL, true).await;
        }
    }

    async fn run_probes(&mut self) -> Option<Duration> {
        let now = Instant::now();
        let mut wake: Option<Duration> = None;
        let keys: Vec<(String, Kind)> = self.probes.keys().cloned().collect();
        for (name, kind) in keys {
            let Some(c) = self.spec_container(&name) else {
                continue;
            };
            let Some(probe) = kind.of(&c).cloned() else {
                continue;
            };
            let Some(cs) = self.st.containers.get(&name).cloned() else {
                continue;
            };
            let Some(run) = cs.running.clone() else {
                continue;
            };
            // Liveness and readiness wait for the startup probe.
            if kind != Kind::Startup && !cs.started {
                continue;
            }
            if kind == Kind::Startup && cs.started {
                continue;
            }
            let Some(due) = self.probes.get(&(name.clone(), kind)).map(|t| t.next) else {
                continue;
            };
            if due > now {
                let d = due - now;
                wake = Some(wake.map_or(d, |w| w.min(d)));
                continue;
            }
            let (env, _) = self.env.get(&name).cloned().unwrap_or_default();
            let target = probes::Target {
                runtime: &self.ctx.runtime,
                run: &run,
                container: &c,
                env: &env,
                netns: (!self.host_network()).then(|| self.netns_path()),
                pod_ip: self.st.pod_ips.first().cloned(),
            };
            let result = probes::run(&probe, &target).await;
            let Some(tracker) = self.probes.get_mut(&(name.clone(), kind)) else {
                continue;
            };
            let verdict = tracker.record(&probe, result.is_ok(), Instant::now());
            let d = tracker.next.saturating_duration_since(Instant::now());
            wake = Some(wake.map_or(d, |w| w.min(d)));
            if let Err(msg) = &result {
                self.ctx.recorder.warning(
                    &*self.pod,
                    "Unhealthy",
                    format!("{} probe failed: {msg}", kind.name()),
                );
            }
            let Some(ok) = verdict else { continue };
            match (kind, ok) {
                (Kind::Readiness, ok) => {
                    if let Some(s) = self.st.containers.get_mut(&name) {
                        s.ready = ok;
                    }
                }
                (Kind::Startup, true) => {
                    if let Some(s) = self.st.containers.get_mut(&name) {
                        s.started = true;
                        s.ready = c.readiness_probe.is_none();
                    }
                    // Liveness and readiness start counting from now.
                    for k in [Kind::Liveness, Kind::Readiness] {
                        if let Some(p) = k.of(&c) {
                            self.probes
                                .insert((name.clone(), k), Tracker::new(p, Instant::now()));
                        }
                    }
                }
                (Kind::Startup | Kind::Liveness, false) => {
                    let what = if kind == Kind::Startup {
                        "startup"
                    } else {
                        "liveness"
                    };
                    self.ctx.recorder.normal(
                        &*self.pod,
                        "Killing",
                        format!("Container {name} failed {what} probe, will be restarted"),
                    );
                    let grace = self
                        .pod
                        .spec
                        .as_ref()
                        .and_then(|s| s.termination_grace_period_seconds)
                        .unwrap_or(30);
                    let id = run.id.clone();
                    self.stop_container(&c, &id, run.pid, grace).await;
                }
                _ => {}
            }
            self.save();
        }
        wake
    }

    /// preStop, SIGTERM, up to `grace` seconds, SIGKILL.
    async fn stop_container(&self, c: &Container, id: &str, pid: i32, grace: i64) {
        let deadline = Instant::now() + Duration::from_secs(grace.max(0) as u64);
        if grace > 0
            && let Some(cmd) = c
                .lifecycle
                .as_ref()
                .and_then(|l| l.pre_stop.as_ref())
                .and_then(|h| h.exec.as_ref())
                .and_then(|e| e.command.clone())
        {
            let env = self
                .env
                .get(&c.name)
                .map(|(e, _)| exec::env_map(e))
                .unwrap_or_default();
            let left = deadline.saturating_duration_since(Instant::now());
            if let Some(run) = self
                .st
                .containers
                .get(&c.name)
                .and_then(|cs| cs.running.clone())
                .filter(|r| r.id == id)
            {
                let _ = exec::run(&self.ctx.runtime, &run, cmd, env, left).await;
            }
        }
        if grace > 0 {
            let _ = self.ctx.runtime.kill(id, Signal::SIGTERM, false).await;
            while exit::alive(pid) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        if exit::alive(pid) {
            let _ = self.ctx.runtime.kill(id, Signal::SIGKILL, true).await;
            let until = Instant::now() + Duration::from_secs(5);
            while exit::alive(pid) && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// Stops every running container of the pod in parallel.
    async fn terminate(&mut self, grace: i64) {
        let running: Vec<(Container, String, i32)> = self
            .st
            .containers
            .iter()
            .filter_map(|(n, cs)| {
                let r = cs.running.as_ref()?;
                Some((
                    self.spec_container(n).unwrap_or_else(|| Container {
                        name: n.clone(),
                        ..Default::default()
                    }),
                    r.id.clone(),
                    r.pid,
                ))
            })
            .collect();
        if !running.is_empty() {
            for (c, _, _) in &running {
                self.ctx.recorder.normal(
                    &*self.pod,
                    "Killing",
                    format!("Stopping container {}", c.name),
                );
            }
        }
        let this = &*self;
        futures::future::join_all(
            running
                .iter()
                .map(|(c, id, pid)| this.stop_container(c, id, *pid, grace)),
        )
        .await;
        for (c, id, _) in running {
            self.record_exit(&c.name, &id, ExitStatus::Signaled(15))
                .await;
        }
        self.save();
    }

    /// Removes everything of the pod on this node: containers, mounts, netns, cgroups, logs.
    async fn teardown(&mut self) {
        let mut ids: Vec<String> = self
            .ctx
            .runtime
            .list()
            .into_iter()
            .filter(|id| id.starts_with(&self.st.uid))
            .collect();
        // Overlays of starts that crashed before libcontainer had state for them.
        if let Ok(entries) = std::fs::read_dir(self.ctx.containers_dir()) {
            for e in entries.flatten() {
                if let Ok(name) = e.file_name().into_string()
                    && name.starts_with(&self.st.uid)
                    && !ids.contains(&name)
                {
                    ids.push(name);
                }
            }
        }
        for id in ids {
            if let Err(e) = start::cleanup_run(&self.ctx, &id).await {
                tracing::warn!(container = %id, error = %e, "removing container");
            }
        }
        if let Err(e) = volumes::teardown(&self.dir) {
            tracing::warn!(pod = %self.st.name, error = %e, "tearing down volumes");
        }
        if let Err(e) = self.ctx.network.del(&self.st.uid).await {
            // The cache entry stays; the orphan sweep retries the DEL later.
            tracing::warn!(pod = %self.st.name, error = %e, "detaching the pod network");
        }
        self.st.pod_ips.clear();
        if let Err(e) = netns::remove(&self.netns_path()) {
            tracing::warn!(pod = %self.st.name, error = %e, "removing network namespace");
        }
        let busy = cgroups::remove_tree(self.ctx.cgroups, &self.ctx.pod_cgroup(&self.st.uid));
        if !busy.is_empty() {
            tracing::warn!(pod = %self.st.name, ?busy, "pod cgroups still busy");
        }
        for m in rootfs::mounts_under(&self.dir) {
            let _ = nix::mount::umount2(&m, nix::mount::MntFlags::MNT_DETACH);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(self.ctx.pod_log_dir(
            &self.st.namespace,
            &self.st.name,
            &self.st.uid,
        ));
        if self
            .ctx
            .view(&self.st.namespace, &self.st.name)
            .is_some_and(|v| v.uid == self.st.uid)
        {
            self.ctx.set_view(&self.st.namespace, &self.st.name, None);
        }
    }

    async fn finish_deletion(&self) {
        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &self.st.namespace);
        let dp = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(self.st.uid.clone()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        // Until it lands: a pod whose final delete is lost would stay Terminating forever.
        let mut wait = Duration::from_millis(200);
        loop {
            match api.delete(&self.st.name, &dp).await {
                Ok(_) => return,
                Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => return,
                Err(e) => {
                    tracing::warn!(pod = %self.st.name, error = %e, "finishing pod deletion; retrying")
                }
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(10));
        }
    }

    fn publish_view(&self) {
        let log_base = self
            .ctx
            .pod_log_dir(&self.st.namespace, &self.st.name, &self.st.uid);
        let containers = self
            .st
            .containers
            .iter()
            .map(|(n, cs)| {
                let env = self.env.get(n).map(|(e, _)| e.clone()).unwrap_or_default();
                (
                    n.clone(),
                    ContainerView {
                        running_id: cs.running.as_ref().map(|r| r.id.clone()),
                        log_dir: log_base.join(n),
                        attempts: cs.attempts,
                        env,
                        run: cs.running.clone(),
                    },
                )
            })
            .collect();
        self.ctx.set_view(
            &self.st.namespace,
            &self.st.name,
            Some(PodView {
                uid: self.st.uid.clone(),
                containers,
            }),
        );
    }

    async fn report(&mut self) {
        let host_ip = self.ctx.config.node_ip.to_string();
        let pod_ip = if self.host_network() {
            Some(host_ip.as_str())
        } else {
            self.st.pod_ips.first().map(String::as_str)
        };
        let status = status::build(&self.pod, &self.st, &host_ip, pod_ip);
        let ready = status["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
            .is_some_and(|c| c["status"] == "True");
        if ready && self.st.ready_since.is_none() {
            self.st.ready_since = Some(rfc3339_now());
            self.save();
        } else if !ready && self.st.ready_since.is_some() {
            self.st.ready_since = None;
            self.save();
        }
        if self.last_status.as_ref() == Some(&status) {
            return;
        }
        let api: Api<Pod> = Api::namespaced(self.ctx.client.clone(), &self.st.namespace);
        let pp = PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        };
        let patch = json!({"status": status});
        match api
            .patch_status(&self.st.name, &pp, &Patch::Merge(&patch))
            .await
        {
            Ok(_) => self.last_status = Some(status),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => tracing::warn!(pod = %self.st.name, error = %e, "updating pod status"),
        }
    }
}
