//! `images.json`: which references are present and what they are made of.
//!
//! The kubelet and the `capstan image import` CLI may use the same store at the same time,
//! so every change is a read-modify-write of the file under an exclusive `flock`, and readers
//! notice when another process replaced the file.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::error::IoContext;
use crate::{ImageConfig, ImageError, fsutil};

const INDEX_FILE: &str = "images.json";
const LOCK_FILE: &str = "images.lock";
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct IndexData {
    #[serde(default)]
    pub version: u32,
    /// Keyed by normalised reference.
    #[serde(default)]
    pub images: BTreeMap<String, ImageRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ImageRecord {
    /// Digest of the manifest (or index) the reference resolved to.
    pub digest: String,
    /// Digest of the image config.
    pub id: String,
    pub config: ImageConfig,
    /// Uncompressed layer digests, bottom first; each names a directory under `layers/`.
    pub diff_ids: Vec<String>,
    /// Every blob this image keeps under `blobs/`: manifests, config, compressed layers.
    pub blobs: Vec<String>,
    pub size: u64,
    pub last_used_ms: u64,
}

/// Identity of one version of the file; it changes with every rename-into-place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    inode: u64,
    modified_ns: i64,
    len: u64,
}

fn stamp_of(path: &Path) -> Option<Stamp> {
    let meta = fs::metadata(path).ok()?;
    Some(Stamp {
        inode: meta.ino(),
        modified_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
        len: meta.len(),
    })
}

struct Cached {
    stamp: Option<Stamp>,
    data: Arc<IndexData>,
}

pub(crate) struct Index {
    path: PathBuf,
    lock_path: PathBuf,
    cache: Mutex<Cached>,
}

impl Index {
    pub(crate) fn open(root: &Path) -> Result<Index, ImageError> {
        let index = Index {
            path: root.join(INDEX_FILE),
            lock_path: root.join(LOCK_FILE),
            cache: Mutex::new(Cached {
                stamp: None,
                data: Arc::new(IndexData::default()),
            }),
        };
        let (stamp, data) = index.read_file()?;
        index.store_cache(stamp, Arc::new(data));
        Ok(index)
    }

    /// The current content, re-read if another process changed the file since last time.
    pub(crate) fn snapshot(&self) -> Arc<IndexData> {
        let current = stamp_of(&self.path);
        {
            let cache = self.lock_cache();
            if cache.stamp == current {
                return Arc::clone(&cache.data);
            }
        }
        match self.read_file() {
            Ok((stamp, data)) => {
                let data = Arc::new(data);
                self.store_cache(stamp, Arc::clone(&data));
                data
            }
            Err(error) => {
                tracing::warn!(%error, "re-reading the image index failed; using the last good copy");
                Arc::clone(&self.lock_cache().data)
            }
        }
    }

    /// Applies `change` to the freshest content under the cross-process lock and saves it
    /// atomically. Nothing is written when `change` fails.
    pub(crate) fn update<R>(
        &self,
        change: impl FnOnce(&mut IndexData) -> Result<R, ImageError>,
    ) -> Result<R, ImageError> {
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock_path)
            .context(|| format!("opening {}", self.lock_path.display()))?;
        lock.lock()
            .context(|| format!("locking {}", self.lock_path.display()))?;
        let (_, mut data) = self.read_file()?;
        let result = change(&mut data)?;
        data.version = FORMAT_VERSION;
        let json =
            serde_json::to_vec_pretty(&data).map_err(|e| ImageError::invalid("image index", e))?;
        fsutil::write_atomically(&self.path, &json)?;
        self.store_cache(stamp_of(&self.path), Arc::new(data));
        // Dropping `lock` closes the descriptor, which releases the flock.
        Ok(result)
    }

    /// Runs `f` while holding the cross-process lock, without changing the index.
    pub(crate) fn with_lock<R>(&self, f: impl FnOnce(&IndexData) -> R) -> Result<R, ImageError> {
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock_path)
            .context(|| format!("opening {}", self.lock_path.display()))?;
        lock.lock()
            .context(|| format!("locking {}", self.lock_path.display()))?;
        let (_, data) = self.read_file()?;
        Ok(f(&data))
    }

    fn read_file(&self) -> Result<(Option<Stamp>, IndexData), ImageError> {
        // Stamp first: if the file changes between the two calls we re-read next time anyway.
        let stamp = stamp_of(&self.path);
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok((stamp, IndexData::default()));
            }
            Err(error) => {
                return Err(ImageError::Io {
                    context: format!("reading {}", self.path.display()),
                    error,
                });
            }
        };
        match serde_json::from_slice(&bytes) {
            Ok(data) => Ok((stamp, data)),
            Err(error) => {
                // Writes are atomic, so this is damage from outside. Keep the evidence and
                // start empty: images get pulled again, which beats a node that cannot start.
                let aside = self
                    .path
                    .with_file_name(fsutil::unique_name("images.json.corrupt"));
                tracing::error!(%error, moved_to = %aside.display(), "image index is corrupt; starting empty");
                fs::rename(&self.path, &aside)
                    .context(|| format!("moving aside {}", self.path.display()))?;
                Ok((None, IndexData::default()))
            }
        }
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, Cached> {
        // A panic while holding this lock cannot leave the cache half-written (it is replaced
        // whole), so a poisoned lock is still good to use.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn store_cache(&self, stamp: Option<Stamp>, data: Arc<IndexData>) {
        let mut cache = self.lock_cache();
        cache.stamp = stamp;
        cache.data = data;
    }
}
