//! Builds small OCI image layouts from files on this machine, for demos and tests without a
//! public registry: a busybox image (Debian's `busybox-static`) and the same plus a static
//! binary of our own.
//!
//! Everything is deterministic (fixed mtimes, owners, gzip header, JSON key order), so the
//! same inputs always give the same digests.

use std::fs;
use std::path::Path;

use serde_json::json;

use crate::blobs::{sha256_digest, sha256_hex_of};
use crate::error::IoContext;
use crate::oci::{OCI_INDEX, OCI_MANIFEST, REF_NAME, host_architecture};
use crate::reference::normalize;
use crate::{ImageConfig, ImageError, fsutil};

/// Where Debian's busybox-static installs its binary.
pub const BUSYBOX_PATH: &str = "/bin/busybox";
/// `PATH` of the demo images, Docker's default.
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// 2024-01-01T00:00:00Z: every file's mtime and the image's creation time.
const FIXED_MTIME: u64 = 1_704_067_200;
const FIXED_CREATED: &str = "2024-01-01T00:00:00Z";
const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";

/// Applets linked in `/bin`; enough for shells, probes and the usual test commands.
const APPLETS: &[&str] = &[
    "ash",
    "awk",
    "basename",
    "cat",
    "chgrp",
    "chmod",
    "chown",
    "cp",
    "cut",
    "date",
    "dd",
    "df",
    "dirname",
    "dmesg",
    "du",
    "echo",
    "egrep",
    "env",
    "expr",
    "false",
    "fgrep",
    "find",
    "free",
    "grep",
    "gunzip",
    "gzip",
    "head",
    "hostname",
    "httpd",
    "id",
    "ifconfig",
    "ip",
    "kill",
    "killall",
    "less",
    "ln",
    "ls",
    "md5sum",
    "mkdir",
    "mkfifo",
    "mknod",
    "mktemp",
    "more",
    "mount",
    "mv",
    "nc",
    "netstat",
    "nslookup",
    "pgrep",
    "pidof",
    "ping",
    "pkill",
    "printenv",
    "printf",
    "ps",
    "pwd",
    "readlink",
    "realpath",
    "rm",
    "rmdir",
    "sed",
    "seq",
    "sh",
    "sha256sum",
    "sleep",
    "sort",
    "stat",
    "sync",
    "tail",
    "tar",
    "tee",
    "test",
    "timeout",
    "top",
    "touch",
    "tr",
    "true",
    "umount",
    "uname",
    "uniq",
    "uptime",
    "usleep",
    "vi",
    "watch",
    "wc",
    "which",
    "whoami",
    "xargs",
    "yes",
];

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
app:x:1000:1000:app:/home/app:/bin/sh\n\
nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const GROUP: &str = "root:x:0:\napp:x:1000:\nnogroup:x:65534:\n";

/// One entry of a layer built by [`write_layout`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerEntry {
    Dir {
        path: String,
        mode: u32,
        uid: u64,
        gid: u64,
    },
    File {
        path: String,
        mode: u32,
        uid: u64,
        gid: u64,
        content: Vec<u8>,
    },
    Symlink {
        path: String,
        target: String,
    },
    HardLink {
        path: String,
        target: String,
    },
}

impl LayerEntry {
    pub fn dir(path: &str, mode: u32) -> Self {
        LayerEntry::Dir {
            path: path.into(),
            mode,
            uid: 0,
            gid: 0,
        }
    }

    pub fn file(path: &str, mode: u32, content: impl Into<Vec<u8>>) -> Self {
        LayerEntry::File {
            path: path.into(),
            mode,
            uid: 0,
            gid: 0,
            content: content.into(),
        }
    }

    pub fn symlink(path: &str, target: &str) -> Self {
        LayerEntry::Symlink {
            path: path.into(),
            target: target.into(),
        }
    }
}

/// An OCI layout at `out` with one image: busybox with the usual applets, `/etc/passwd`
/// with root (0), app (1000) and nobody (65534), `/tmp` (1777), `PATH` set, `Cmd ["sh"]`.
pub fn build_busybox_layout(out: &Path, reference: &str) -> Result<(), ImageError> {
    let config = ImageConfig {
        env: vec![DEFAULT_PATH.to_string()],
        cmd: vec!["sh".to_string()],
        ..ImageConfig::default()
    };
    write_layout(out, reference, &[busybox_entries()?], &config).map(|_| ())
}

/// Like [`build_busybox_layout`] plus `binary` at `/usr/local/bin/<entrypoint_name>`, which is
/// the image's entrypoint. The binary must be static: the image has no libc.
pub fn build_binary_layout(
    out: &Path,
    reference: &str,
    binary: &Path,
    entrypoint_name: &str,
) -> Result<(), ImageError> {
    if entrypoint_name.is_empty() || entrypoint_name.contains('/') {
        return Err(ImageError::invalid(
            "entrypoint name",
            format!("{entrypoint_name:?} must be a plain file name"),
        ));
    }
    let content = fs::read(binary).context(|| format!("reading {}", binary.display()))?;
    let target = format!("/usr/local/bin/{entrypoint_name}");
    let mut entries = busybox_entries()?;
    entries.push(LayerEntry::file(&target[1..], 0o755, content));
    let config = ImageConfig {
        entrypoint: vec![target],
        env: vec![DEFAULT_PATH.to_string()],
        ..ImageConfig::default()
    };
    write_layout(out, reference, &[entries], &config).map(|_| ())
}

fn busybox_entries() -> Result<Vec<LayerEntry>, ImageError> {
    let busybox = fs::read(BUSYBOX_PATH)
        .context(|| format!("reading {BUSYBOX_PATH} (install Debian's busybox-static package)"))?;
    let mut entries = vec![
        LayerEntry::dir("bin", 0o755),
        LayerEntry::dir("dev", 0o755),
        LayerEntry::dir("etc", 0o755),
        LayerEntry::dir("home", 0o755),
        LayerEntry::Dir {
            path: "home/app".into(),
            mode: 0o755,
            uid: 1000,
            gid: 1000,
        },
        LayerEntry::dir("proc", 0o555),
        LayerEntry::dir("root", 0o700),
        LayerEntry::dir("run", 0o755),
        LayerEntry::dir("sbin", 0o755),
        LayerEntry::dir("sys", 0o555),
        LayerEntry::dir("tmp", 0o1777),
        LayerEntry::dir("usr", 0o755),
        LayerEntry::dir("usr/bin", 0o755),
        LayerEntry::dir("usr/local", 0o755),
        LayerEntry::dir("usr/local/bin", 0o755),
        LayerEntry::dir("usr/sbin", 0o755),
        LayerEntry::dir("var", 0o755),
        LayerEntry::dir("var/tmp", 0o1777),
        LayerEntry::file("bin/busybox", 0o755, busybox),
        LayerEntry::file("etc/passwd", 0o644, PASSWD),
        LayerEntry::file("etc/group", 0o644, GROUP),
        // Mount targets for the files a runtime bind-mounts over them.
        LayerEntry::file("etc/hosts", 0o644, ""),
        LayerEntry::file("etc/hostname", 0o644, ""),
        LayerEntry::file("etc/resolv.conf", 0o644, ""),
    ];
    entries.extend(
        APPLETS
            .iter()
            .map(|applet| LayerEntry::symlink(&format!("bin/{applet}"), "busybox")),
    );
    Ok(entries)
}

/// Writes (or adds to) an OCI image layout at `out`: one image named `reference` (stored
/// normalised in the `org.opencontainers.image.ref.name` annotation), with one gzip layer per
/// element of `layers`, bottom first. Returns the manifest digest. An image of the same name
/// already in the layout's index.json is replaced; others are kept.
pub fn write_layout(
    out: &Path,
    reference: &str,
    layers: &[Vec<LayerEntry>],
    config: &ImageConfig,
) -> Result<String, ImageError> {
    let reference = normalize(reference)?;
    let blobs_dir = out.join("blobs/sha256");
    fs::create_dir_all(&blobs_dir).context(|| format!("creating {}", blobs_dir.display()))?;

    let mut layer_descriptors = Vec::new();
    let mut diff_ids = Vec::new();
    for entries in layers {
        let tar = layer_tar(entries)?;
        diff_ids.push(sha256_digest(&tar));
        let compressed = gzip(&tar)?;
        let digest = write_blob(out, &compressed)?;
        layer_descriptors.push(json!({
            "mediaType": LAYER_MEDIA_TYPE,
            "digest": digest,
            "size": compressed.len(),
        }));
    }

    let mut runtime = serde_json::Map::new();
    if !config.env.is_empty() {
        runtime.insert("Env".into(), json!(config.env));
    }
    if !config.entrypoint.is_empty() {
        runtime.insert("Entrypoint".into(), json!(config.entrypoint));
    }
    if !config.cmd.is_empty() {
        runtime.insert("Cmd".into(), json!(config.cmd));
    }
    if let Some(dir) = &config.working_dir {
        runtime.insert("WorkingDir".into(), json!(dir));
    }
    if let Some(user) = &config.user {
        runtime.insert("User".into(), json!(user));
    }
    let config_json = json!({
        "created": FIXED_CREATED,
        "architecture": host_architecture(),
        "os": "linux",
        "config": runtime,
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
        "history": diff_ids.iter().map(|_| json!({
            "created": FIXED_CREATED,
            "created_by": "capstan-image demo layout",
        })).collect::<Vec<_>>(),
    });
    let config_bytes = to_json(&config_json)?;
    let config_digest = write_blob(out, &config_bytes)?;

    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": CONFIG_MEDIA_TYPE,
            "digest": config_digest,
            "size": config_bytes.len(),
        },
        "layers": layer_descriptors,
    });
    let manifest_bytes = to_json(&manifest)?;
    let manifest_digest = write_blob(out, &manifest_bytes)?;

    let mut entries = existing_index_entries(out)?;
    entries.retain(|entry| entry["annotations"][REF_NAME] != json!(reference));
    entries.push(json!({
        "mediaType": OCI_MANIFEST,
        "digest": manifest_digest,
        "size": manifest_bytes.len(),
        "platform": { "architecture": host_architecture(), "os": "linux" },
        "annotations": { REF_NAME: reference },
    }));
    let index = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": entries,
    });
    fsutil::write_atomically(&out.join("index.json"), &to_json(&index)?)?;
    fsutil::write_atomically(
        &out.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;
    Ok(manifest_digest)
}

fn existing_index_entries(out: &Path) -> Result<Vec<serde_json::Value>, ImageError> {
    let path = out.join("index.json");
    let Ok(bytes) = fs::read(&path) else {
        return Ok(Vec::new());
    };
    let index: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| ImageError::invalid("existing index.json", e))?;
    Ok(index["manifests"].as_array().cloned().unwrap_or_default())
}

fn to_json(value: &serde_json::Value) -> Result<Vec<u8>, ImageError> {
    serde_json::to_vec(value).map_err(|e| ImageError::invalid("JSON", e))
}

fn write_blob(out: &Path, bytes: &[u8]) -> Result<String, ImageError> {
    let digest = sha256_digest(bytes);
    let path = out.join("blobs/sha256").join(sha256_hex_of(&digest)?);
    if !path.is_file() {
        fsutil::write_atomically(&path, bytes)?;
    }
    Ok(digest)
}

/// An uncompressed tar of `entries` with fixed mtimes and no user or group names.
pub fn layer_tar(entries: &[LayerEntry]) -> Result<Vec<u8>, ImageError> {
    let mut builder = tar::Builder::new(Vec::new());
    let fail = |e: std::io::Error| ImageError::invalid("demo layer", e);
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(FIXED_MTIME);
        // Links and devices carry owners too; tar readers refuse empty numeric fields.
        header.set_uid(0);
        header.set_gid(0);
        match entry {
            LayerEntry::Dir {
                path,
                mode,
                uid,
                gid,
            } => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(*mode);
                header.set_uid(*uid);
                header.set_gid(*gid);
                header.set_size(0);
                builder
                    .append_data(&mut header, format!("{path}/"), std::io::empty())
                    .map_err(fail)?;
            }
            LayerEntry::File {
                path,
                mode,
                uid,
                gid,
                content,
            } => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(*mode);
                header.set_uid(*uid);
                header.set_gid(*gid);
                header.set_size(content.len() as u64);
                builder
                    .append_data(&mut header, path, content.as_slice())
                    .map_err(fail)?;
            }
            LayerEntry::Symlink { path, target } => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                builder
                    .append_link(&mut header, path, target)
                    .map_err(fail)?;
            }
            LayerEntry::HardLink { path, target } => {
                header.set_entry_type(tar::EntryType::Link);
                header.set_mode(0o644);
                header.set_size(0);
                builder
                    .append_link(&mut header, path, target)
                    .map_err(fail)?;
            }
        }
    }
    builder.into_inner().map_err(fail)
}

/// Gzip with a fixed header (mtime 0, unknown OS), so equal input gives equal bytes.
pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>, ImageError> {
    use std::io::Write;
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(bytes)
        .map_err(|e| ImageError::invalid("gzip", e))?;
    encoder.finish().map_err(|e| ImageError::invalid("gzip", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_deterministic() {
        if !Path::new(BUSYBOX_PATH).exists() {
            eprintln!("skipping: {BUSYBOX_PATH} missing");
            return;
        }
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        build_busybox_layout(a.path(), "capstan.local/busybox:1.35").unwrap();
        build_busybox_layout(b.path(), "capstan.local/busybox:1.35").unwrap();
        let index_a = fs::read(a.path().join("index.json")).unwrap();
        assert_eq!(index_a, fs::read(b.path().join("index.json")).unwrap());
        let index: serde_json::Value = serde_json::from_slice(&index_a).unwrap();
        assert_eq!(
            index["manifests"][0]["annotations"][REF_NAME],
            "capstan.local/busybox:1.35"
        );
    }

    #[test]
    fn adding_a_second_image_keeps_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let layers = [vec![LayerEntry::file("hello", 0o644, "hi")]];
        for name in ["example.com/a:1", "example.com/b:1", "example.com/a:1"] {
            write_layout(dir.path(), name, &layers, &ImageConfig::default()).unwrap();
        }
        let index: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.path().join("index.json")).unwrap()).unwrap();
        let names: Vec<&str> = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["annotations"][REF_NAME].as_str().unwrap())
            .collect();
        assert_eq!(names, ["example.com/b:1", "example.com/a:1"]);
    }
}
