//! The runtime layer against the real kernel (root): a container from the demo busybox image
//! on an overlay rootfs, in its own network namespace, with a memory limit, logs through the
//! container shim, exit codes, and deletion leaving nothing behind.

use std::time::{Duration, Instant};

use capstan_kubelet::runtime::bundle::{self, ContainerSpec, Resources};
use capstan_kubelet::runtime::{Runtime, cgroups, exit, netns, rootfs};

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn skip() -> bool {
    if !is_root() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "needs root under CI"
        );
        return true;
    }
    false
}

/// A temp dir with the demo busybox image imported, and a runtime whose shim is the kubelet.
fn setup() -> (tempfile::TempDir, capstan_image::Image, Runtime) {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    capstan_image::demo::build_busybox_layout(&layout, "capstan.local/busybox:1.35").unwrap();
    let store = capstan_image::ImageStore::open(&dir.path().join("images")).unwrap();
    store.import(&layout).unwrap();
    let image = store.lookup("capstan.local/busybox:1.35").unwrap();
    let shim = std::path::Path::new(env!("CARGO_BIN_EXE_capstan-kubelet"));
    let rt = Runtime::new(&dir.path().join("state"), shim).unwrap();
    (dir, image, rt)
}

#[tokio::test]
async fn busybox_container_runs_exits_and_is_cleaned_up() {
    if skip() {
        return;
    }
    let (dir, image, rt) = setup();
    let ns = dir.path().join("netns/pod1");
    netns::ensure(&ns).unwrap();
    let mut times = Vec::new();
    for i in 0..5 {
        let id = format!("rt-test-{}-{i}", std::process::id());
        let cdir = dir.path().join("containers").join(&id);
        let fs = rootfs::mount_overlay(&cdir.join("rootfs"), &image.layers).unwrap();
        let cg = format!("/capstan/rt-test-{}/{id}", std::process::id());
        let spec = ContainerSpec {
            args: vec![
                "sh".into(),
                "-c".into(),
                "echo hi from $(hostname); exit 7".into(),
            ],
            env: vec!["PATH=/bin".into()],
            cwd: "/".into(),
            hostname: "pod1".into(),
            rootfs: fs.merged(),
            netns: Some(ns.clone()),
            cgroups_path: cg.clone(),
            capabilities: bundle::default_capabilities(),
            resources: Resources {
                memory_limit: Some(32 << 20),
                cpu_shares: Some(512),
                ..Default::default()
            },
            ..Default::default()
        };
        bundle::write(&cdir.join("bundle"), &spec).unwrap();
        let log = dir.path().join(format!("{id}.log"));
        let started = Instant::now();
        let pid = rt
            .run(&id, &cdir.join("bundle"), &log, 1 << 20)
            .await
            .unwrap();
        let limit =
            std::fs::read_to_string(format!("/sys/fs/cgroup/memory{cg}/memory.limit_in_bytes"))
                .or_else(|_| std::fs::read_to_string(format!("/sys/fs/cgroup{cg}/memory.max")))
                .unwrap_or_default();
        let status = tokio::time::timeout(Duration::from_secs(10), rt.wait(&id, pid))
            .await
            .unwrap();
        assert_eq!(status, exit::ExitStatus::Exited(7));
        let (out, _) = capstan_kubelet::logs::reader::snapshot(&log, &Default::default());
        assert_eq!(String::from_utf8_lossy(&out), "hi from pod1\n");
        assert!(limit.trim() == (32u64 << 20).to_string(), "limit {limit:?}");
        rt.delete(&id).await.unwrap();
        rootfs::remove(&cdir).unwrap();
        times.push(started.elapsed());
        assert!(!cdir.exists());
        cgroups::remove_tree(
            cgroups::detect(),
            &format!("/capstan/rt-test-{}", std::process::id()),
        );
    }
    netns::remove(&ns).unwrap();
    assert!(!netns::is_pinned(&ns));
    times.sort();
    eprintln!(
        "create+start+exit+delete median {:?}",
        times[times.len() / 2]
    );
}

#[tokio::test]
async fn exec_runs_in_the_container_and_reports_the_exit_code() {
    if skip() {
        return;
    }
    let (dir, image, rt) = setup();
    let id = format!("rt-exec-{}", std::process::id());
    let cdir = dir.path().join("containers").join(&id);
    let ns = dir.path().join("netns/exec");
    netns::ensure(&ns).unwrap();
    let fs = rootfs::mount_overlay(&cdir.join("rootfs"), &image.layers).unwrap();
    let cg = format!("/capstan/rt-exec-{}/{id}", std::process::id());
    let spec = ContainerSpec {
        args: vec!["sleep".into(), "30".into()],
        env: vec!["PATH=/bin".into()],
        cwd: "/".into(),
        hostname: "pod1".into(),
        rootfs: fs.merged(),
        netns: Some(ns.clone()),
        cgroups_path: cg.clone(),
        capabilities: bundle::default_capabilities(),
        ..Default::default()
    };
    bundle::write(&cdir.join("bundle"), &spec).unwrap();
    let log = dir.path().join("c.log");
    let pid = rt
        .run(&id, &cdir.join("bundle"), &log, 1 << 20)
        .await
        .unwrap();
    let (r, w) = nix::unistd::pipe().unwrap();
    let stdio = capstan_kubelet::runtime::Stdio {
        stdin: std::fs::File::open("/dev/null").unwrap().into(),
        stdout: w.try_clone().unwrap(),
        stderr: w,
    };
    let req = capstan_kubelet::runtime::ExecRequest {
        args: vec![
            "sh".into(),
            "-c".into(),
            "echo in $(hostname); exit 4".into(),
        ],
        env: [("PATH".to_string(), "/bin".to_string())].into(),
        cwd: Some("/".into()),
        uid: Some(0),
        gid: Some(0),
        additional_gids: vec![],
    };
    let p = rt.exec(&id, req, stdio).await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), p.wait())
        .await
        .unwrap();
    let mut out = String::new();
    use std::io::Read;
    std::fs::File::from(r).read_to_string(&mut out).unwrap();
    assert_eq!(out, "in pod1\n");
    assert_eq!(status, exit::ExitStatus::Exited(4));
    rt.kill(&id, nix::sys::signal::Signal::SIGKILL, true)
        .await
        .unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(10), rt.wait(&id, pid)).await;
    rt.delete(&id).await.unwrap();
    rootfs::remove(&cdir).unwrap();
    netns::remove(&ns).unwrap();
    cgroups::remove_tree(
        cgroups::detect(),
        &format!("/capstan/rt-exec-{}", std::process::id()),
    );
}
