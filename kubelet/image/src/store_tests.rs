//! Tests of the store as a whole: import, lookup, remove, touch, GC.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use crate::demo::{self, LayerEntry, write_layout};
use crate::{ImageConfig, ImageError, ImageStore, fsutil};

const BUSYBOX_REF: &str = "capstan.local/busybox:1.35";

fn busybox_available() -> bool {
    if Path::new(demo::BUSYBOX_PATH).exists() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI must install busybox-static"
    );
    eprintln!("skipping: {} missing", demo::BUSYBOX_PATH);
    false
}

/// Incompressible bytes, different for each seed, so test images have distinct real sizes.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn small_image(layout: &Path, reference: &str, seed: u64, len: usize) {
    let layer = vec![LayerEntry::file("data", 0o644, noise(seed, len))];
    write_layout(layout, reference, &[layer], &ImageConfig::default()).unwrap();
}

/// Bytes the store's blobs and layers occupy.
fn stored_bytes(store: &ImageStore) -> u64 {
    fsutil::disk_bytes(&store.root().join("blobs"))
        + fsutil::disk_bytes(&store.root().join("layers"))
}

fn dir_entries(path: &Path) -> usize {
    fs::read_dir(path).unwrap().count()
}

#[test]
fn imports_the_demo_busybox_layout_from_a_directory() {
    if !busybox_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    demo::build_busybox_layout(&layout, BUSYBOX_REF).unwrap();
    let store = ImageStore::open(&tmp.path().join("store")).unwrap();

    assert_eq!(
        store.import(&layout).unwrap(),
        vec![BUSYBOX_REF.to_string()]
    );
    let image = store.lookup(BUSYBOX_REF).unwrap();
    assert_eq!(image.reference, BUSYBOX_REF);
    assert_eq!(image.config.cmd, ["sh"]);
    assert_eq!(image.config.env, [demo::DEFAULT_PATH]);
    assert!(image.id.starts_with("sha256:") && image.digest.starts_with("sha256:"));
    assert_eq!(image.layers.len(), 1);
    let layer = &image.layers[0];
    assert!(layer.join("bin/busybox").is_file());
    assert_eq!(
        fs::read_link(layer.join("bin/sh")).unwrap(),
        Path::new("busybox")
    );
    let passwd = fs::read_to_string(layer.join("etc/passwd")).unwrap();
    assert!(passwd.contains("app:x:1000:1000:") && passwd.contains("nobody:x:65534:"));
    assert_eq!(
        fs::metadata(layer.join("tmp"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o1777
    );
    if crate::sys::is_root() {
        assert_eq!(fs::metadata(layer.join("home/app")).unwrap().uid(), 1000);
    }
    assert!(image.size > fs::metadata(demo::BUSYBOX_PATH).unwrap().len());

    // Importing again changes nothing and unpacks nothing new.
    assert_eq!(
        store.import(&layout).unwrap(),
        vec![BUSYBOX_REF.to_string()]
    );
    assert_eq!(dir_entries(&store.root().join("layers")), 1);
    assert_eq!(store.list().len(), 1);
    assert_eq!(dir_entries(&store.root().join("tmp")), 0);
}

#[test]
fn imports_a_tar_of_a_layout_with_the_same_digests() {
    if !busybox_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    demo::build_busybox_layout(&layout, BUSYBOX_REF).unwrap();
    let archive = tmp.path().join("busybox.tar");
    let mut builder = tar::Builder::new(fs::File::create(&archive).unwrap());
    builder.append_dir_all(".", &layout).unwrap();
    builder.into_inner().unwrap();

    let from_dir = ImageStore::open(&tmp.path().join("a")).unwrap();
    from_dir.import(&layout).unwrap();
    let from_tar = ImageStore::open(&tmp.path().join("b")).unwrap();
    assert_eq!(
        from_tar.import(&archive).unwrap(),
        vec![BUSYBOX_REF.to_string()]
    );

    let (a, b) = (
        from_dir.lookup(BUSYBOX_REF).unwrap(),
        from_tar.lookup(BUSYBOX_REF).unwrap(),
    );
    assert_eq!((a.digest, a.id), (b.digest.clone(), b.id));
    assert!(b.layers[0].join("bin/busybox").is_file());
    // The unpacked copy of the archive is gone.
    assert_eq!(dir_entries(&from_tar.root().join("tmp")), 0);
    // And `name@digest` finds it too.
    assert!(
        from_tar
            .lookup(&format!("capstan.local/busybox@{}", b.digest))
            .is_some()
    );
}

#[test]
fn import_needs_full_reference_names() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ImageStore::open(&tmp.path().join("store")).unwrap();
    let layout = tmp.path().join("layout");
    small_image(&layout, "example.com/app:1.35", 1, 100);
    let index_path = layout.join("index.json");
    let original = fs::read_to_string(&index_path).unwrap();

    fs::write(
        &index_path,
        original.replace("\"example.com/app:1.35\"", "\"1.35\""),
    )
    .unwrap();
    let error = store.import(&layout).unwrap_err().to_string();
    assert!(
        error.contains("only by tag (1.35)") && error.contains("full reference"),
        "{error}"
    );

    // containerd and `docker save` put the full name in their own annotation: that is enough.
    let with_containerd = original.replace(
        "\"org.opencontainers.image.ref.name\":\"example.com/app:1.35\"",
        "\"org.opencontainers.image.ref.name\":\"1.35\",\"io.containerd.image.name\":\"example.com/other:2\"",
    );
    fs::write(&index_path, with_containerd).unwrap();
    assert_eq!(store.import(&layout).unwrap(), ["example.com/other:2"]);

    fs::write(
        &index_path,
        original.replace(
            ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"example.com/app:1.35\"}",
            "",
        ),
    )
    .unwrap();
    let error = store.import(&layout).unwrap_err().to_string();
    assert!(error.contains("no image in index.json"), "{error}");

    let error = store.import(&tmp.path().join("missing")).unwrap_err();
    assert!(matches!(error, ImageError::Io { .. }), "{error}");
}

#[test]
fn remove_keeps_what_other_images_share() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ImageStore::open(&tmp.path().join("store")).unwrap();
    let layout = tmp.path().join("layout");
    // The same image under two names, and an unrelated one.
    small_image(&layout, "example.com/a:1", 7, 1000);
    small_image(&layout, "example.com/alias:1", 7, 1000);
    small_image(&layout, "example.com/other:1", 8, 1000);
    assert_eq!(store.import(&layout).unwrap().len(), 3);
    let shared = store.lookup("example.com/a:1").unwrap();
    assert_eq!(store.lookup("example.com/alias:1").unwrap().id, shared.id);
    assert_eq!(dir_entries(&store.root().join("layers")), 2);

    store.remove("example.com/a:1").unwrap();
    assert!(store.lookup("example.com/a:1").is_none());
    assert!(shared.layers[0].is_dir(), "still used by the alias");

    // By ID (a unique prefix): every name of that image goes, and its data with it.
    store.remove(&shared.id[..7 + 12]).unwrap();
    assert!(store.lookup("example.com/alias:1").is_none());
    assert!(!shared.layers[0].exists());
    assert_eq!(dir_entries(&store.root().join("layers")), 1);
    assert!(store.lookup("example.com/other:1").is_some());

    assert!(matches!(
        store.remove("example.com/a:1"),
        Err(ImageError::NotFound(_))
    ));
    assert!(matches!(store.remove("abc"), Err(ImageError::NotFound(_))));
    store.remove("example.com/other:1").unwrap();
    assert_eq!(dir_entries(&store.root().join("blobs/sha256")), 0);
    assert_eq!(dir_entries(&store.root().join("tmp")), 0);
}

#[test]
fn touch_is_persisted_and_other_stores_see_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let store = ImageStore::open(&root).unwrap();
    let other_process = ImageStore::open(&root).unwrap();
    let layout = tmp.path().join("layout");
    small_image(&layout, "example.com/a:1", 1, 100);
    store.import(&layout).unwrap();
    assert!(other_process.lookup("example.com/a:1").is_some());

    let before = store.lookup("example.com/a:1").unwrap().last_used;
    std::thread::sleep(Duration::from_millis(5));
    other_process.touch("example.com/a:1");
    let after = store.lookup("example.com/a:1").unwrap().last_used;
    assert!(after > before);
    let reopened = ImageStore::open(&root).unwrap();
    assert_eq!(reopened.lookup("example.com/a:1").unwrap().last_used, after);
    // Touching an unknown image is harmless.
    store.touch("example.com/nope:1");
    store.touch("Not A Reference");
}

#[test]
fn concurrent_imports_of_one_layout_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ImageStore::open(&tmp.path().join("store")).unwrap();
    let layout = tmp.path().join("layout");
    small_image(&layout, "example.com/a:1", 3, 500_000);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..4).map(|_| s.spawn(|| store.import(&layout))).collect();
        for worker in workers {
            worker.join().unwrap().unwrap();
        }
    });
    assert_eq!(store.list().len(), 1);
    assert_eq!(dir_entries(&store.root().join("layers")), 1);
    assert_eq!(dir_entries(&store.root().join("tmp")), 0);
}

#[test]
fn gc_removes_least_recently_used_unused_images_until_low_mark() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ImageStore::open(&tmp.path().join("store")).unwrap();
    let layout = tmp.path().join("layout");
    for (seed, name) in ["a:1", "b:1", "c:1"].iter().enumerate() {
        small_image(&layout, name, seed as u64, 300_000);
    }
    store.import(&layout).unwrap();
    // Use order, oldest first: b, a, c.
    for name in ["b:1", "a:1", "c:1"] {
        std::thread::sleep(Duration::from_millis(3));
        store.touch(name);
    }
    // A pretend disk that the three images fill to 90%.
    let capacity = stored_bytes(&store) as f64 / 0.9;
    let usage = || Ok(stored_bytes(&store) as f64 * 100.0 / capacity);

    // Below the high mark: nothing happens.
    let report = store
        .garbage_collect_with(&HashSet::new(), 95, 10, usage)
        .unwrap();
    assert_eq!(report, crate::GcReport::default());

    // b is the oldest but in use (given unnormalised); a goes first, and one is enough for 65%.
    let in_use: HashSet<String> = ["b:1".to_string()].into();
    let report = store.garbage_collect_with(&in_use, 80, 65, usage).unwrap();
    assert_eq!(report.removed, ["docker.io/library/a:1"]);
    assert!(report.freed_bytes >= 300_000, "{report:?}");
    assert!(store.lookup("c:1").is_some() && store.lookup("b:1").is_some());

    // Lower marks take c too, but never b.
    let report = store.garbage_collect_with(&in_use, 10, 5, usage).unwrap();
    assert_eq!(report.removed, ["docker.io/library/c:1"]);
    assert_eq!(store.list().len(), 1);

    assert!(store.garbage_collect_with(&in_use, 50, 60, usage).is_err());
}

#[test]
fn gc_really_frees_the_bytes() {
    if !busybox_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let store = ImageStore::open(&tmp.path().join("store")).unwrap();
    let layout = tmp.path().join("layout");
    demo::build_busybox_layout(&layout, BUSYBOX_REF).unwrap();
    small_image(&layout, "example.com/keep:1", 9, 10_000);
    store.import(&layout).unwrap();
    let busybox = store.lookup(BUSYBOX_REF).unwrap();
    let before = stored_bytes(&store);

    let usage = store.disk_usage_percent().unwrap();
    assert!(usage > 0.0 && usage <= 100.0, "{usage}");
    // A high mark of 0% means "always above": everything not in use goes.
    let in_use: HashSet<String> = ["example.com/keep:1".to_string()].into();
    let report = store.garbage_collect(&in_use, 0, 0).unwrap();

    assert_eq!(report.removed, [BUSYBOX_REF]);
    assert_eq!(report.freed_bytes, before - stored_bytes(&store));
    assert!(report.freed_bytes > fs::metadata(demo::BUSYBOX_PATH).unwrap().len());
    assert!(!busybox.layers[0].exists());
    assert!(
        store.lookup("example.com/keep:1").unwrap().layers[0]
            .join("data")
            .is_file()
    );
}

#[test]
fn binary_layout_runs_its_entrypoint() {
    if !busybox_available()
        || !crate::test_support::root_or_skip("binary_layout_runs_its_entrypoint")
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    // Any static binary will do; busybox is one (and picks its applet from its own name).
    demo::build_binary_layout(
        &layout,
        "capstan.local/tool:1",
        Path::new(demo::BUSYBOX_PATH),
        "busybox",
    )
    .unwrap();
    let store = ImageStore::open(&tmp.path().join("store")).unwrap();
    store.import(&layout).unwrap();
    let image = store.lookup("capstan.local/tool:1").unwrap();
    assert_eq!(image.config.entrypoint, ["/usr/local/bin/busybox"]);
    assert!(image.config.cmd.is_empty());
    let output = std::process::Command::new("chroot")
        .arg(&image.layers[0])
        .args(["/usr/local/bin/busybox", "echo", "from inside"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "from inside\n",
        "{output:?}"
    );
    assert!(
        demo::build_binary_layout(&layout, "x/y:1", Path::new(demo::BUSYBOX_PATH), "a/b").is_err()
    );
}

#[test]
fn a_moved_tag_keeps_the_old_image_by_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ImageStore::open(&tmp.path().join("store")).unwrap();
    let old_layout = tmp.path().join("old");
    let new_layout = tmp.path().join("new");
    small_image(&old_layout, "example.com/app:1", 1, 1000);
    small_image(&new_layout, "example.com/app:1", 2, 1000);
    store.import(&old_layout).unwrap();
    let old = store.lookup("example.com/app:1").unwrap();
    store.import(&new_layout).unwrap();

    let new = store.lookup("example.com/app:1").unwrap();
    assert_ne!(new.id, old.id);
    let kept = store
        .lookup(&format!("example.com/app@{}", old.digest))
        .unwrap();
    assert_eq!(kept.id, old.id);
    assert!(kept.layers[0].join("data").is_file());

    // A container still running the old image protects it by ID.
    let in_use: HashSet<String> = [old.id.clone(), "example.com/app:1".to_string()].into();
    let report = store
        .garbage_collect_with(&in_use, 0, 0, || Ok(100.0))
        .unwrap();
    assert!(report.removed.is_empty(), "{report:?}");
    let report = store
        .garbage_collect_with(&["example.com/app:1".to_string()].into(), 0, 0, || {
            Ok(100.0)
        })
        .unwrap();
    assert_eq!(report.removed, [format!("example.com/app@{}", old.digest)]);
    assert!(!old.layers[0].exists());
}

#[test]
fn gc_spares_images_used_within_the_minimum_age() {
    if !busybox_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let store = ImageStore::open(&tmp.path().join("store")).unwrap();
    let layout = tmp.path().join("layout");
    demo::build_busybox_layout(&layout, BUSYBOX_REF).unwrap();
    store.import(&layout).unwrap();
    // A disk over every threshold, but the image was imported just now.
    let report = store
        .garbage_collect_older_than(&HashSet::new(), 0, 0, std::time::Duration::from_secs(120))
        .unwrap();
    assert!(report.removed.is_empty(), "{:?}", report.removed);
    assert!(store.lookup(BUSYBOX_REF).is_some());
    let report = store
        .garbage_collect_older_than(&HashSet::new(), 0, 0, std::time::Duration::ZERO)
        .unwrap();
    assert_eq!(report.removed, [BUSYBOX_REF]);
}
