use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use super::*;
use crate::blobs::sha256_digest;
use crate::demo::{LayerEntry, layer_tar};
use crate::test_support::{layer_blob, raw_tar, root_or_skip};

fn unpack(blob: &Path, diff_id: &str, dest: &Path) -> Result<(), ImageError> {
    let scratch = dest.parent().unwrap().join("scratch");
    fs::create_dir_all(&scratch).unwrap();
    unpack_layer(
        blob,
        "application/vnd.oci.image.layer.v1.tar+gzip",
        diff_id,
        dest,
        &scratch,
    )
}

fn scratch_is_empty(dest: &Path) -> bool {
    fs::read_dir(dest.parent().unwrap().join("scratch"))
        .unwrap()
        .next()
        .is_none()
}

#[test]
fn keeps_modes_owners_symlinks_and_hard_links() {
    let tmp = tempfile::tempdir().unwrap();
    let entries = vec![
        LayerEntry::Dir {
            path: "data".into(),
            mode: 0o750,
            uid: 1000,
            gid: 1000,
        },
        LayerEntry::File {
            path: "data/secret".into(),
            mode: 0o4751,
            uid: 1000,
            gid: 2000,
            content: b"hello".to_vec(),
        },
        LayerEntry::symlink("data/link", "secret"),
        LayerEntry::HardLink {
            path: "data/hard".into(),
            target: "data/secret".into(),
        },
        LayerEntry::file("top", 0o600, "x"),
    ];
    let (blob, diff_id) = layer_blob(tmp.path(), "layer.tgz", &entries);
    let dest = tmp.path().join("layer");
    unpack(&blob, &diff_id, &dest).unwrap();

    let secret = fs::metadata(dest.join("data/secret")).unwrap();
    assert_eq!(secret.permissions().mode() & 0o7777, 0o4751);
    assert_eq!(fs::read(dest.join("data/secret")).unwrap(), b"hello");
    assert_eq!(
        fs::metadata(dest.join("data"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o750
    );
    assert_eq!(
        fs::read_link(dest.join("data/link")).unwrap(),
        Path::new("secret")
    );
    assert_eq!(
        fs::metadata(dest.join("data/hard")).unwrap().ino(),
        secret.ino()
    );
    if crate::sys::is_root() {
        assert_eq!((secret.uid(), secret.gid()), (1000, 2000));
    }
    assert!(scratch_is_empty(&dest));
}

#[test]
fn unpacks_uncompressed_layers_too() {
    let tmp = tempfile::tempdir().unwrap();
    let tar = layer_tar(&[LayerEntry::file("plain", 0o644, "tar")]).unwrap();
    let blob = tmp.path().join("layer.tar");
    fs::write(&blob, &tar).unwrap();
    let dest = tmp.path().join("layer");
    let scratch = tmp.path().join("scratch");
    fs::create_dir(&scratch).unwrap();
    unpack_layer(
        &blob,
        "application/vnd.oci.image.layer.v1.tar",
        &sha256_digest(&tar),
        &dest,
        &scratch,
    )
    .unwrap();
    assert_eq!(fs::read(dest.join("plain")).unwrap(), b"tar");
}

#[test]
fn wrong_diff_id_leaves_no_layer_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let (blob, _) = layer_blob(
        tmp.path(),
        "layer.tgz",
        &[LayerEntry::file("f", 0o644, "x")],
    );
    let dest = tmp.path().join("layer");
    let wrong = format!("sha256:{}", "0".repeat(64));
    let error = unpack(&blob, &wrong, &dest).unwrap_err();
    assert!(
        matches!(error, ImageError::DigestMismatch { .. }),
        "{error}"
    );
    assert!(!dest.exists());
    assert!(scratch_is_empty(&dest));
}

#[test]
fn refuses_paths_that_escape_the_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "dot-dot file",
            raw_tar(b"../evil", None, tar::EntryType::Regular),
        ),
        (
            "nested dot-dot",
            raw_tar(b"a/../../evil", None, tar::EntryType::Regular),
        ),
        (
            "hard link out",
            raw_tar(
                b"innocent",
                Some(b"../../../etc/passwd"),
                tar::EntryType::Link,
            ),
        ),
        (
            "whiteout of ..",
            raw_tar(b"a/.wh...", None, tar::EntryType::Regular),
        ),
    ];
    for (name, tar) in cases {
        let blob = tmp.path().join(format!("{name}.tar"));
        fs::write(&blob, &tar).unwrap();
        let dest = tmp.path().join(format!("{name}-layer"));
        let scratch = tmp.path().join("scratch");
        fs::create_dir_all(&scratch).unwrap();
        let error = unpack_layer(
            &blob,
            "application/vnd.oci.image.layer.v1.tar",
            &sha256_digest(&tar),
            &dest,
            &scratch,
        )
        .unwrap_err();
        assert!(
            matches!(error, ImageError::PathEscape { .. }),
            "{name}: {error}"
        );
        assert!(!dest.exists(), "{name}");
        assert!(!tmp.path().join("evil").exists(), "{name}");
    }
}

#[test]
fn refuses_writing_through_a_symlink_to_outside() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let entries = vec![
        LayerEntry::symlink("escape", outside.path().to_str().unwrap()),
        LayerEntry::file("escape/pwned", 0o644, "x"),
    ];
    let (blob, diff_id) = layer_blob(tmp.path(), "layer.tgz", &entries);
    let dest = tmp.path().join("layer");
    let error = unpack(&blob, &diff_id, &dest).unwrap_err();
    assert!(matches!(error, ImageError::PathEscape { .. }), "{error}");
    assert!(!outside.path().join("pwned").exists());
    assert!(!dest.exists());

    // Our own writers (whiteouts here) refuse symlinked directories as well.
    let entries = vec![
        LayerEntry::symlink("escape", outside.path().to_str().unwrap()),
        LayerEntry::file("escape/.wh.victim", 0o644, ""),
    ];
    let (blob, diff_id) = layer_blob(tmp.path(), "layer2.tgz", &entries);
    let error = unpack(&blob, &diff_id, &dest).unwrap_err();
    assert!(matches!(error, ImageError::PathEscape { .. }), "{error}");
    assert!(!outside.path().join("victim").exists());
}

#[test]
fn refuses_zstd_layers_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let blob = tmp.path().join("layer.zst");
    fs::write(&blob, [0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]).unwrap();
    let dest = tmp.path().join("layer");
    let error = unpack(&blob, &format!("sha256:{}", "0".repeat(64)), &dest).unwrap_err();
    assert!(error.to_string().contains("zstd"), "{error}");
}

#[test]
fn whiteouts_become_overlay_whiteouts() {
    if !root_or_skip("whiteouts_become_overlay_whiteouts") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let entries = vec![
        LayerEntry::dir("etc", 0o755),
        LayerEntry::file("etc/.wh.motd", 0o644, ""),
        LayerEntry::dir("cache", 0o755),
        LayerEntry::file("cache/.wh..wh..opq", 0o644, ""),
        LayerEntry::file("cache/new", 0o644, "n"),
        // A whiteout next to content of the same name in the same layer: the content wins.
        LayerEntry::file("kept", 0o644, "k"),
        LayerEntry::file(".wh.kept", 0o644, ""),
        // Whiteout first, then a directory of that name: the directory must be opaque.
        LayerEntry::file(".wh.replaced", 0o644, ""),
        LayerEntry::dir("replaced", 0o755),
        LayerEntry::file("replaced/inner", 0o644, "i"),
    ];
    let (blob, diff_id) = layer_blob(tmp.path(), "layer.tgz", &entries);
    let dest = tmp.path().join("layer");
    unpack(&blob, &diff_id, &dest).unwrap();

    let motd = fs::symlink_metadata(dest.join("etc/motd")).unwrap();
    assert!(motd.file_type().is_char_device());
    assert_eq!(motd.rdev(), 0);
    assert!(!dest.join("etc/.wh.motd").exists());
    assert_eq!(
        crate::sys::get_xattr(&dest.join("cache"), OPAQUE_XATTR).unwrap(),
        Some(b"y".to_vec())
    );
    assert!(!dest.join("cache/.wh..wh..opq").exists());
    assert_eq!(fs::read(dest.join("kept")).unwrap(), b"k");
    assert!(fs::metadata(dest.join("replaced")).unwrap().is_dir());
    assert_eq!(
        crate::sys::get_xattr(&dest.join("replaced"), OPAQUE_XATTR).unwrap(),
        Some(b"y".to_vec())
    );
    assert_eq!(fs::read(dest.join("replaced/inner")).unwrap(), b"i");
}

#[test]
fn device_nodes_are_created() {
    if !root_or_skip("device_nodes_are_created") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Char);
    header.set_mode(0o666);
    header.set_uid(0);
    header.set_gid(0);
    header.set_device_major(1).unwrap();
    header.set_device_minor(3).unwrap();
    header.set_size(0);
    let mut builder = tar::Builder::new(Vec::new());
    builder
        .append_data(&mut header, "dev/null", std::io::empty())
        .unwrap();
    let tar = builder.into_inner().unwrap();
    let blob = tmp.path().join("dev.tar");
    fs::write(&blob, &tar).unwrap();
    let dest = tmp.path().join("layer");
    let scratch = tmp.path().join("scratch");
    fs::create_dir(&scratch).unwrap();
    unpack_layer(
        &blob,
        "application/vnd.oci.image.layer.v1.tar",
        &sha256_digest(&tar),
        &dest,
        &scratch,
    )
    .unwrap();
    let null = fs::symlink_metadata(dest.join("dev/null")).unwrap();
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), libc::makedev(1, 3));
    assert_eq!(null.permissions().mode() & 0o777, 0o666);
}

/// The real test of whiteout handling: overlayfs itself must hide what the upper layer deleted.
#[test]
fn overlay_mount_honours_whiteouts_and_opaque_dirs() {
    if !root_or_skip("overlay_mount_honours_whiteouts_and_opaque_dirs") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let lower_entries = vec![
        LayerEntry::dir("etc", 0o755),
        LayerEntry::file("etc/motd", 0o644, "old"),
        LayerEntry::file("etc/hostname", 0o644, "kept"),
        LayerEntry::dir("cache", 0o755),
        LayerEntry::file("cache/stale", 0o644, "s"),
    ];
    let upper_entries = vec![
        LayerEntry::dir("etc", 0o755),
        LayerEntry::file("etc/.wh.motd", 0o644, ""),
        LayerEntry::dir("cache", 0o755),
        LayerEntry::file("cache/.wh..wh..opq", 0o644, ""),
        LayerEntry::file("cache/fresh", 0o644, "f"),
    ];
    let (lower_blob, lower_id) = layer_blob(tmp.path(), "lower.tgz", &lower_entries);
    let (upper_blob, upper_id) = layer_blob(tmp.path(), "upper.tgz", &upper_entries);
    let lower = tmp.path().join("lower");
    let upper = tmp.path().join("upper");
    unpack(&lower_blob, &lower_id, &lower).unwrap();
    unpack(&upper_blob, &upper_id, &upper).unwrap();

    let mount_point = tmp.path().join("merged");
    fs::create_dir(&mount_point).unwrap();
    // Two lowerdirs and no upperdir: a read-only overlay, exactly an image's view.
    let status = Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o"])
        .arg(format!("lowerdir={}:{}", upper.display(), lower.display()))
        .arg(&mount_point)
        .status()
        .unwrap();
    assert!(status.success(), "mounting overlayfs failed");
    let seen = (
        mount_point.join("etc/motd").exists(),
        fs::read_to_string(mount_point.join("etc/hostname")).ok(),
        mount_point.join("cache/stale").exists(),
        fs::read_to_string(mount_point.join("cache/fresh")).ok(),
    );
    let unmounted = Command::new("umount").arg(&mount_point).status().unwrap();
    assert!(unmounted.success());
    assert_eq!(
        seen,
        (
            false,
            Some("kept".to_string()),
            false,
            Some("f".to_string())
        )
    );
}

#[test]
fn concurrent_unpacks_of_one_layer_both_succeed() {
    let tmp = tempfile::tempdir().unwrap();
    let entries: Vec<LayerEntry> = (0..200)
        .map(|i| LayerEntry::file(&format!("f{i}"), 0o644, vec![b'x'; 4096]))
        .collect();
    let (blob, diff_id) = layer_blob(tmp.path(), "layer.tgz", &entries);
    let dest = tmp.path().join("layer");
    let scratch = tmp.path().join("scratch");
    fs::create_dir(&scratch).unwrap();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    unpack_layer(
                        &blob,
                        "application/vnd.oci.image.layer.v1.tar+gzip",
                        &diff_id,
                        &dest,
                        &scratch,
                    )
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap().unwrap();
        }
    });
    assert_eq!(fs::read_dir(&dest).unwrap().count(), 200);
    assert_eq!(fs::read_dir(&scratch).unwrap().count(), 0);
}
