//! Helpers shared by this crate's unit tests.

use std::path::Path;

use crate::blobs::sha256_digest;
use crate::demo::{LayerEntry, gzip, layer_tar};

/// Tests that need root run when root, fail loudly in CI (where we always are root), and are
/// skipped with a note elsewhere.
pub(crate) fn root_or_skip(test: &str) -> bool {
    if crate::sys::is_root() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test} needs root, and CI runs as root"
    );
    eprintln!("skipping {test}: needs root");
    false
}

/// A layer blob file (gzip) built from entries, with its diff id.
pub(crate) fn layer_blob(
    dir: &Path,
    name: &str,
    entries: &[LayerEntry],
) -> (std::path::PathBuf, String) {
    let tar = layer_tar(entries).unwrap();
    let diff_id = sha256_digest(&tar);
    let path = dir.join(name);
    std::fs::write(&path, gzip(&tar).unwrap()).unwrap();
    (path, diff_id)
}

/// A tar whose single regular-file entry has exactly `raw_name` as its name, bypassing the
/// tar crate's own path checks (so hostile names can be tested).
pub(crate) fn raw_tar(raw_name: &[u8], link_name: Option<&[u8]>, kind: tar::EntryType) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    {
        let gnu = header.as_gnu_mut().unwrap();
        gnu.name[..raw_name.len()].copy_from_slice(raw_name);
        if let Some(link) = link_name {
            gnu.linkname[..link.len()].copy_from_slice(link);
        }
    }
    header.set_entry_type(kind);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    let data: &[u8] = if kind == tar::EntryType::Regular {
        b"pwned"
    } else {
        b""
    };
    header.set_size(data.len() as u64);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, data).unwrap();
    builder.into_inner().unwrap()
}
