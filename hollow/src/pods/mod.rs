//! The hollow kubelet's pod side: one watch over every bound pod, and for pods on our nodes
//! the status a kubelet would write (Running with an address from the node's pool, Ready or
//! not as the ready annotation says, finished after the exit-after annotation, rejected when
//! the node is full) and the final DELETE of pods being deleted.
//!
//! Everything runs in one task: watch events update a compact per-pod record and queue the
//! pod's uid; a dispatcher decides what the pod needs at that moment and keeps at most
//! `max_in_flight` API calls running. Timed work (exit-after, retries) sits in one timer heap,
//! so no pod ever owns a sleeping task.

mod actions;
mod status;
pub mod view;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::fleet::Fleet;
use crate::ipam::IpPool;
use crate::{HollowError, api_code, clock};
use actions::{Action, Completion, Done, FailureLog, execute};
use view::{Phase, PodView};

const RETRY_MIN: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(30);
const MAX_TIMER: Duration = Duration::from_secs(86_400);

/// What a pod holds on its node while it runs: an address, or nothing for host-network pods
/// and for running pods whose address is not ours to manage (counted against max-pods all
/// the same).
#[derive(Clone, Copy, Debug)]
enum Slot {
    Ip(Ipv4Addr),
    Shared,
}

struct Tracked {
    view: PodView,
    /// Progress we wrote ourselves; the watch may still be showing an older state.
    written: Phase,
    /// When we started it (more precise than the second-resolution `status.startTime`).
    started: Option<Timestamp>,
    /// Readiness we wrote ourselves, for the same reason as `written`.
    ready: Option<bool>,
    slot: Option<Slot>,
    busy: bool,
    queued: bool,
    /// Deleted by us, or the API server said it no longer exists: only the watch's delete
    /// event is left to come.
    gone: bool,
    timer_at: Option<Instant>,
    failures: u32,
}

impl Tracked {
    fn phase(&self) -> Phase {
        self.view.phase.max(self.written)
    }

    fn ready(&self) -> bool {
        self.ready.unwrap_or(self.view.ready)
    }

    /// When the containers started: ours if we started them, else what the pod says.
    fn started_at(&mut self) -> Timestamp {
        *self
            .started
            .get_or_insert_with(|| self.view.start_time.unwrap_or_else(clock::now))
    }
}

/// When timed work (the exit-after annotation) is due.
enum Due {
    Now(Action),
    Later(Instant),
}

struct NodePods {
    pool: IpPool,
    /// Pods holding a slot, the kubelet's admission count.
    active: u32,
    uids: HashSet<String>,
}

pub struct PodLoop {
    client: Client,
    fleet: Arc<Fleet>,
    max_pods: u32,
    limit: usize,
    tracked: HashMap<String, Tracked>,
    nodes: Vec<NodePods>,
    queue: VecDeque<String>,
    timers: BinaryHeap<Reverse<(Instant, String)>>,
    /// Uids seen since the watcher (re)started listing; the rest vanished meanwhile.
    relist: Option<HashSet<String>>,
    /// Nothing starts before the first full list: a pod already running may hold the address
    /// a pending pod would otherwise be given.
    synced: bool,
    failures: FailureLog,
}

impl PodLoop {
    pub fn new(client: Client, fleet: Arc<Fleet>, max_pods: u32, limit: usize) -> Self {
        let nodes = fleet
            .nodes
            .iter()
            .map(|n| NodePods {
                pool: IpPool::new(n.pod_cidr_base),
                active: 0,
                uids: HashSet::new(),
            })
            .collect();
        PodLoop {
            client,
            fleet,
            max_pods,
            limit,
            tracked: HashMap::new(),
            nodes,
            queue: VecDeque::new(),
            timers: BinaryHeap::new(),
            relist: None,
            synced: false,
            failures: FailureLog::new(),
        }
    }

    /// Runs until shutdown. `kicks` carries nodes that resumed: their pods get another look.
    pub async fn run(
        mut self,
        mut kicks: mpsc::UnboundedReceiver<usize>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), HollowError> {
        let api: Api<Pod> = Api::all(self.client.clone());
        // Only bound pods concern a kubelet; the server filters out the unscheduled backlog.
        let config = watcher::Config::default().fields("spec.nodeName!=");
        let mut events = watcher(api, config).default_backoff().boxed();
        let mut running: FuturesUnordered<BoxFuture<'static, Completion>> = FuturesUnordered::new();
        loop {
            self.dispatch(&mut running);
            let next_timer = self.timers.peek().map(|Reverse((at, _))| *at);
            tokio::select! {
                _ = shutdown.changed() => return Ok(()),
                ev = events.next() => match ev {
                    Some(Ok(ev)) => self.on_event(ev),
                    Some(Err(e)) => tracing::warn!(error = %e, "pod watch failed; retrying"),
                    None => return Err(HollowError::WatchEnded),
                },
                Some((uid, result)) = running.next(), if !running.is_empty() => {
                    self.complete(&uid, result);
                }
                _ = tokio::time::sleep_until(next_timer.unwrap_or_else(Instant::now)),
                    if next_timer.is_some() => self.fire_timers(),
                Some(i) = kicks.recv() => self.enqueue_node(i),
            }
        }
    }

    fn on_event(&mut self, ev: watcher::Event<Pod>) {
        match ev {
            watcher::Event::Init => self.relist = Some(HashSet::new()),
            watcher::Event::InitApply(pod) => {
                if let Some(uid) = self.observe(&pod)
                    && let Some(seen) = &mut self.relist
                {
                    seen.insert(uid);
                }
            }
            watcher::Event::InitDone => {
                if let Some(seen) = self.relist.take() {
                    let gone: Vec<String> = self
                        .tracked
                        .keys()
                        .filter(|uid| !seen.contains(*uid))
                        .cloned()
                        .collect();
                    for uid in gone {
                        self.forget(&uid);
                    }
                }
                if !self.synced {
                    self.synced = true;
                    tracing::info!(pods = self.tracked.len(), "pod watch synced");
                }
            }
            watcher::Event::Apply(pod) => {
                self.observe(&pod);
            }
            watcher::Event::Delete(pod) => {
                if let Some(uid) = pod.metadata.uid.as_deref() {
                    self.forget(uid);
                }
            }
        }
    }

    /// Records the latest state of a pod on one of our nodes and queues it for a decision.
    fn observe(&mut self, pod: &Pod) -> Option<String> {
        let view = PodView::of(pod, &self.fleet)?;
        let uid = view.uid.clone();
        let node = view.node;
        let t = self.tracked.entry(uid.clone()).or_insert_with(|| Tracked {
            view: view.clone(),
            written: Phase::Pending,
            started: None,
            ready: None,
            slot: None,
            busy: false,
            queued: false,
            gone: false,
            timer_at: None,
            failures: 0,
        });
        t.view = view;
        self.nodes[node].uids.insert(uid.clone());
        self.claim_existing(&uid);
        self.enqueue(&uid);
        Some(uid)
    }

    /// A running pod we did not start in this process (the fleet restarted) keeps its address.
    fn claim_existing(&mut self, uid: &str) {
        let Some(t) = self.tracked.get_mut(uid) else {
            return;
        };
        if t.slot.is_some() || t.view.phase != Phase::Running {
            return;
        }
        let pods = &mut self.nodes[t.view.node];
        let slot = match t.view.pod_ip {
            Some(ip) if !t.view.host_network && pods.pool.reserve(ip) => Slot::Ip(ip),
            _ => Slot::Shared,
        };
        t.slot = Some(slot);
        pods.active += 1;
    }

    fn release(nodes: &mut [NodePods], t: &mut Tracked) {
        if let Some(slot) = t.slot.take() {
            let pods = &mut nodes[t.view.node];
            if let Slot::Ip(ip) = slot {
                pods.pool.release(ip);
            }
            pods.active = pods.active.saturating_sub(1);
        }
    }

    fn forget(&mut self, uid: &str) {
        if let Some(mut t) = self.tracked.remove(uid) {
            Self::release(&mut self.nodes, &mut t);
            self.nodes[t.view.node].uids.remove(uid);
        }
    }

    fn enqueue(&mut self, uid: &str) {
        if let Some(t) = self.tracked.get_mut(uid)
            && !t.queued
        {
            t.queued = true;
            self.queue.push_back(uid.to_string());
        }
    }

    fn enqueue_node(&mut self, node: usize) {
        let uids: Vec<String> = match self.nodes.get(node) {
            Some(p) => p.uids.iter().cloned().collect(),
            None => return,
        };
        for uid in uids {
            self.enqueue(&uid);
        }
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, _))) = self.timers.peek()
            && *at <= now
        {
            let Some(Reverse((at, uid))) = self.timers.pop() else {
                break;
            };
            if let Some(t) = self.tracked.get_mut(&uid)
                && t.timer_at == Some(at)
            {
                t.timer_at = None;
                self.enqueue(&uid);
            }
        }
    }

    fn set_timer(&mut self, uid: &str, at: Instant) {
        if let Some(t) = self.tracked.get_mut(uid)
            && t.timer_at.is_none_or(|old| at < old)
        {
            t.timer_at = Some(at);
            self.timers.push(Reverse((at, uid.to_string())));
        }
    }

    fn dispatch(&mut self, running: &mut FuturesUnordered<BoxFuture<'static, Completion>>) {
        if !self.synced {
            return;
        }
        while running.len() < self.limit
            && let Some(uid) = self.queue.pop_front()
        {
            if let Some(t) = self.tracked.get_mut(&uid) {
                t.queued = false;
            }
            if let Some(action) = self.decide(&uid)
                && let Some(t) = self.tracked.get_mut(&uid)
            {
                t.busy = true;
                let host_ip = self.fleet.nodes[t.view.node].internal_ip;
                running.push(execute(self.client.clone(), t.view.clone(), host_ip, action).boxed());
            }
        }
    }

    /// What the pod needs now, if anything; takes a slot for a pod about to start.
    fn decide(&mut self, uid: &str) -> Option<Action> {
        let t = self.tracked.get_mut(uid)?;
        // A paused node is dead to the cluster: its pods stay exactly as they are.
        if t.busy || t.gone || self.fleet.paused(t.view.node) {
            return None;
        }
        if t.view.deleting {
            return Some(Action::Delete);
        }
        match t.phase() {
            Phase::Pending => {
                let pods = &mut self.nodes[t.view.node];
                if t.slot.is_none() {
                    if pods.active >= self.max_pods {
                        return Some(Action::Reject);
                    }
                    let slot = if t.view.host_network {
                        Slot::Shared
                    } else {
                        match pods.pool.allocate() {
                            Some(ip) => Slot::Ip(ip),
                            None => return Some(Action::Reject),
                        }
                    };
                    t.slot = Some(slot);
                    pods.active += 1;
                }
                let ip = match t.slot {
                    Some(Slot::Ip(ip)) => ip,
                    _ => self.fleet.nodes[t.view.node].internal_ip,
                };
                Some(Action::Start(ip))
            }
            Phase::Running => {
                if t.view.want_ready != t.ready() {
                    let started = t.started_at();
                    return Some(Action::Ready {
                        ready: t.view.want_ready,
                        started,
                    });
                }
                match Self::exit_due(t)? {
                    Due::Now(action) => Some(action),
                    Due::Later(at) => {
                        self.set_timer(uid, at);
                        None
                    }
                }
            }
            Phase::Finished => {
                Self::release(&mut self.nodes, t);
                None
            }
        }
    }

    /// For a running pod with an exit-after annotation: finish it if its time has come, or
    /// the instant to look again.
    fn exit_due(t: &mut Tracked) -> Option<Due> {
        let exit = t.view.exit?;
        let started = t.started_at();
        let after_ms = i64::try_from(exit.after_seconds)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        let due_ms = started.as_millisecond().saturating_add(after_ms);
        let left_ms = due_ms.saturating_sub(clock::now().as_millisecond());
        if left_ms <= 0 {
            return Some(Due::Now(Action::Finish {
                code: exit.code,
                started,
            }));
        }
        // A far deadline is re-examined daily rather than overflowing `Instant`.
        let wait = Duration::from_millis(left_ms.unsigned_abs()).min(MAX_TIMER);
        Some(Due::Later(Instant::now() + wait))
    }

    fn complete(&mut self, uid: &str, result: Result<Done, kube::Error>) {
        let Some(t) = self.tracked.get_mut(uid) else {
            return;
        };
        t.busy = false;
        match result {
            Ok(done) => {
                t.failures = 0;
                match done {
                    Done::Started { at, ready } => {
                        t.written = Phase::Running;
                        t.started = Some(at);
                        t.ready = Some(ready);
                    }
                    Done::Readied(ready) => t.ready = Some(ready),
                    Done::Finished | Done::Rejected => t.written = Phase::Finished,
                    Done::Deleted => t.gone = true,
                }
            }
            // The pod is gone (for a DELETE, 409 means the uid precondition found a newer pod
            // of the same name): the watch's delete event will forget it.
            Err(e)
                if api_code(&e) == Some(404) || (api_code(&e) == Some(409) && t.view.deleting) =>
            {
                t.gone = true;
                return;
            }
            Err(e) => {
                self.failures.record(&t.view, &e);
                t.failures = t.failures.saturating_add(1);
                let backoff = RETRY_MIN
                    .saturating_mul(1 << t.failures.min(8))
                    .min(RETRY_MAX);
                self.set_timer(uid, Instant::now() + backoff);
                return;
            }
        }
        self.enqueue(uid);
    }
}
