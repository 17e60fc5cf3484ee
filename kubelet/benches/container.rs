//! Container lifecycle inside the kubelet's runtime layer (`make bench`, root): overlay
//! rootfs from the demo busybox image, OCI bundle, libcontainer create+start, exit, delete and
//! unmount, through the container shim process — 50 runs of `true`, sequential; prints the median and p90.

use std::time::{Duration, Instant};

use capstan_kubelet::runtime::bundle::{self, ContainerSpec};
use capstan_kubelet::runtime::{Runtime, cgroups, exit, netns, rootfs};

const RUNS: usize = 50;

#[tokio::main]
async fn main() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("container benchmark skipped: needs root");
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let layout = dir.path().join("layout");
    capstan_image::demo::build_busybox_layout(&layout, "capstan.local/busybox:1.35")
        .expect("layout");
    let store = capstan_image::ImageStore::open(&dir.path().join("images")).expect("store");
    store.import(&layout).expect("import");
    let image = store.lookup("capstan.local/busybox:1.35").expect("image");
    let shim = std::path::Path::new(env!("CARGO_BIN_EXE_capstan-kubelet"));
    let rt = Runtime::new(&dir.path().join("state"), shim).expect("runtime");
    let ns = dir.path().join("netns/bench");
    netns::ensure(&ns).expect("netns");
    let parent = format!("/capstan/bench-{}", std::process::id());
    let mut times = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        let id = format!("bench-{}-{i}", std::process::id());
        let cdir = dir.path().join("containers").join(&id);
        let started = Instant::now();
        let fs = rootfs::mount_overlay(&cdir.join("rootfs"), &image.layers).expect("overlay");
        let spec = ContainerSpec {
            args: vec!["true".into()],
            env: vec!["PATH=/bin".into()],
            cwd: "/".into(),
            hostname: "bench".into(),
            rootfs: fs.merged(),
            netns: Some(ns.clone()),
            cgroups_path: format!("{parent}/{id}"),
            capabilities: bundle::default_capabilities(),
            ..Default::default()
        };
        bundle::write(&cdir.join("bundle"), &spec).expect("bundle");
        let log = dir.path().join(format!("{id}.log"));
        let pid = rt
            .run(&id, &cdir.join("bundle"), &log, 1 << 20)
            .await
            .expect("run");
        let status = tokio::time::timeout(Duration::from_secs(10), rt.wait(&id, pid))
            .await
            .expect("exit");
        assert_eq!(status, exit::ExitStatus::Exited(0));
        rt.delete(&id).await.expect("delete");
        rootfs::remove(&cdir).expect("remove rootfs");
        times.push(started.elapsed());
    }
    cgroups::remove_tree(cgroups::detect(), &parent);
    netns::remove(&ns).expect("netns remove");
    let first = times[0];
    times.sort();
    println!(
        "container benchmark: {RUNS} sequential runs of `true` (overlay + bundle + create + start + exit + delete + unmount)"
    );
    println!(
        "  median {:?}  p90 {:?}  min {:?}  first {:?}",
        times[RUNS / 2],
        times[RUNS * 9 / 10],
        times[0],
        first
    );
}
