//! What the kubelet knows about a pod's containers, checkpointed to `<pod dir>/state.json`
//! after every change so a restarted kubelet re-attaches to running containers (same ids and
//! pids) and keeps restart counts, last states and back-off instead of starting over.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Run {
    pub id: String,
    pub pid: i32,
    /// With `pid`, identifies the process across kubelet restarts (pids get reused).
    pub start_ticks: u64,
    pub started_at: String,
    pub image: String,
    pub image_id: String,
    pub log: PathBuf,
    pub cgroup: String,
    /// The user and directory the container runs as, for exec, probes and hooks.
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub cwd: String,
    /// The resolved environment, so exec after a kubelet restart sees the same variables.
    pub env: Vec<String>,
    /// Hash of the container's spec this run was started from; a changed spec (a new
    /// image) restarts the container, as Kubernetes does.
    pub spec_hash: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Exit {
    pub exit_code: i32,
    pub signal: Option<i32>,
    pub reason: String,
    pub message: Option<String>,
    pub started_at: String,
    pub finished_at: String,
    pub container_id: String,
    pub image: String,
    pub image_id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Waiting {
    pub reason: String,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ContainerState {
    pub restart_count: u32,
    /// Runs started so far; the next run's log file and id use this number.
    pub attempts: u32,
    pub running: Option<Run>,
    /// The most recent end of a run (state.terminated, or lastState while running/waiting).
    pub last_exit: Option<Exit>,
    /// The end before that (lastState while state is terminated).
    pub prev_exit: Option<Exit>,
    pub waiting: Option<Waiting>,
    /// Unix seconds before which the container must not be started again.
    pub backoff_until: u64,
    pub backoff_seconds: u64,
    /// Image pulls back off separately from crashes.
    pub pull_backoff_until: u64,
    pub pull_backoff_seconds: u64,
    pub ready: bool,
    /// The startup probe passed (or there is none) for the current run.
    pub started: bool,
    /// Finished for good (restartPolicy says not to run it again).
    pub done: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PodState {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    pub start_time: Option<String>,
    pub admitted: bool,
    /// Set when admission refused the pod: (reason, message).
    pub rejected: Option<(String, String)>,
    pub containers: BTreeMap<String, ContainerState>,
    pub initialized: bool,
    pub initialized_at: Option<String>,
    pub ready_since: Option<String>,
    /// Addresses CNI gave the pod; empty until its network is set up.
    pub pod_ips: Vec<String>,
    /// The pod finished and its CNI attachment was released (its IP stays in the status).
    pub network_released: bool,
}

pub fn path(pod_dir: &Path) -> PathBuf {
    pod_dir.join("state.json")
}

pub fn load(pod_dir: &Path) -> Option<PodState> {
    let bytes = std::fs::read(path(pod_dir)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Written to a temp file and renamed, so a crash leaves the old or the new checkpoint.
pub fn save(pod_dir: &Path, state: &PodState) -> Result<()> {
    std::fs::create_dir_all(pod_dir).map_err(|e| Error::io(pod_dir, e))?;
    let tmp = pod_dir.join("state.json.tmp");
    let bytes = serde_json::to_vec(state).map_err(|e| Error::Runtime(e.to_string()))?;
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    let target = path(pod_dir);
    std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn rfc3339_now() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Crash back-off as the kubelet does it: 10 s doubling to 5 min; a run that lasted 10 min
/// resets it.
pub fn next_backoff(previous: u64, ran_for_secs: u64) -> u64 {
    if ran_for_secs >= 600 || previous == 0 {
        10
    } else {
        (previous * 2).min(300)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_resets() {
        assert_eq!(next_backoff(0, 1), 10);
        assert_eq!(next_backoff(10, 1), 20);
        assert_eq!(next_backoff(160, 1), 300);
        assert_eq!(next_backoff(300, 1), 300);
        assert_eq!(next_backoff(300, 601), 10);
    }

    #[test]
    fn checkpoint_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = PodState {
            uid: "u".into(),
            ..Default::default()
        };
        s.containers.insert(
            "c".into(),
            ContainerState {
                restart_count: 2,
                ..Default::default()
            },
        );
        save(dir.path(), &s).unwrap();
        assert_eq!(load(dir.path()).unwrap(), s);
    }
}
