//! The on-disk store: paths, blobs, layers, image records.
//!
//! Layout under the root:
//! - `blobs/sha256/<hex>`: manifests, configs and compressed layers, exactly as pulled;
//! - `layers/<diff-id-hex>/`: each layer unpacked once, ready to be an overlayfs lowerdir;
//! - `images.json` (+ `images.lock`): the references present and what they are made of;
//! - `tmp/`: downloads and unpacks in progress, and deleted things awaiting removal.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::error::IoContext;
use crate::index::{ImageRecord, Index, IndexData};
use crate::reference::{self, normalize};
use crate::{ImageError, fsutil};

/// Temp entries older than this at open time belong to a process that died mid-way.
const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// A container image present on this node.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Normalised reference, e.g. `docker.io/library/busybox:latest`.
    pub reference: String,
    /// Digest (`sha256:…`) of the manifest the reference resolved to: the image index for a
    /// multi-platform image, so that `repository@digest` names the same thing.
    pub digest: String,
    /// Digest of the image config: the image ID, shared by every reference to the same image.
    pub id: String,
    pub config: ImageConfig,
    /// Unpacked layer directories, bottom first (overlayfs wants them in reverse).
    pub layers: Vec<PathBuf>,
    /// Bytes on disk of the image's blobs and unpacked layers (shared ones counted in full).
    pub size: u64,
    pub last_used: SystemTime,
}

/// The parts of the image config a runtime needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
}

/// The node's image store. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct ImageStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) root: PathBuf,
    pub(crate) index: Index,
    /// Blobs and layers that an operation of this process is assembling but has not recorded
    /// yet; removal and GC leave them alone.
    pub(crate) pins: Mutex<HashMap<String, usize>>,
    /// One async lock per blob or layer, so concurrent pulls download and unpack it once.
    pub(crate) fetch_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// What an image is made of, before it is recorded under a reference.
pub(crate) struct ImageParts {
    pub digest: String,
    pub id: String,
    pub config: ImageConfig,
    pub diff_ids: Vec<String>,
    pub blobs: Vec<String>,
}

impl ImageStore {
    /// Opens (creating if needed) the store at `root`, e.g. `<kubelet-root>/images`.
    pub fn open(root: &Path) -> Result<ImageStore, ImageError> {
        for dir in ["blobs/sha256", "layers", "tmp"] {
            let path = root.join(dir);
            fs::create_dir_all(&path).context(|| format!("creating {}", path.display()))?;
        }
        // Layers and blobs are moved into place from tmp/ by rename: it must be the same
        // filesystem, which a relative path under root guarantees unless someone mounts over it.
        let root = root
            .canonicalize()
            .context(|| format!("resolving {}", root.display()))?;
        let index = Index::open(&root)?;
        let store = ImageStore {
            inner: Arc::new(Inner {
                root,
                index,
                pins: Mutex::new(HashMap::new()),
                fetch_locks: Mutex::new(HashMap::new()),
            }),
        };
        store.clean_temp();
        tracing::debug!(root = %store.root().display(), images = store.list().len(), "image store opened");
        Ok(store)
    }

    /// Docker-style normalisation; see [`crate::normalize`].
    pub fn normalize(reference: &str) -> Result<String, ImageError> {
        normalize(reference)
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The image if it is present locally.
    pub fn lookup(&self, reference: &str) -> Option<Image> {
        let normalized = normalize(reference).ok()?;
        let data = self.inner.index.snapshot();
        if let Some(record) = data.images.get(&normalized) {
            return Some(self.image_from(&normalized, record));
        }
        // `repo@digest` is present if any tag of that repository resolved to that digest.
        let digest = reference::digest_of(&normalized)?;
        let repository = reference::repository(&normalized);
        data.images
            .iter()
            .find(|(name, record)| {
                record.digest == digest && reference::repository(name) == repository
            })
            .map(|(name, record)| self.image_from(name, record))
    }

    /// Every image present, ordered by reference.
    pub fn list(&self) -> Vec<Image> {
        let data = self.inner.index.snapshot();
        data.images
            .iter()
            .map(|(name, record)| self.image_from(name, record))
            .collect()
    }

    /// Records that the image was just used (persisted; image GC removes the least recently
    /// used first). Failures are logged, not returned: a lost timestamp is not worth failing
    /// a container start for.
    pub fn touch(&self, reference: &str) {
        let Ok(normalized) = normalize(reference) else {
            return;
        };
        if !self.inner.index.snapshot().images.contains_key(&normalized) {
            return;
        }
        let now = fsutil::now_millis();
        let result = self.inner.index.update(|data| {
            if let Some(record) = data.images.get_mut(&normalized) {
                record.last_used_ms = now;
            }
            Ok(())
        });
        if let Err(error) = result {
            tracing::warn!(reference = %normalized, %error, "recording image use failed");
        }
    }

    /// Removes an image by reference, or every reference of an image by ID (`sha256:…`, or a
    /// unique hex prefix of at least 12 digits), then deletes the blobs and layers no other
    /// image uses.
    pub fn remove(&self, reference_or_id: &str) -> Result<(), ImageError> {
        self.remove_counting(reference_or_id).map(|_| ())
    }

    /// Percent of the filesystem holding the store that is in use.
    pub fn disk_usage_percent(&self) -> Result<f64, ImageError> {
        crate::sys::disk_usage_percent(self.root())
            .context(|| format!("statvfs {}", self.root().display()))
    }

    /// Records a fully assembled image under `reference` (normalised).
    pub(crate) fn record(&self, reference: &str, parts: ImageParts) -> Result<Image, ImageError> {
        let size = self.size_of(&parts);
        let now = fsutil::now_millis();
        let layer_paths = parts
            .diff_ids
            .iter()
            .map(|d| self.layer_path(d))
            .collect::<Result<Vec<_>, _>>()?;
        let record = ImageRecord {
            digest: parts.digest,
            id: parts.id,
            config: parts.config,
            diff_ids: parts.diff_ids,
            blobs: parts.blobs,
            size,
            last_used_ms: now,
        };
        let stored = record.clone();
        self.inner.index.update(move |data| {
            // Another process may have removed a shared layer between our check and now; only
            // under the lock is "present" final.
            if let Some(missing) = layer_paths.iter().find(|p| !p.is_dir()) {
                return Err(ImageError::invalid(
                    "image store",
                    format!(
                        "layer {} disappeared while recording {reference} (removed concurrently?); pull again",
                        missing.display()
                    ),
                ));
            }
            keep_replaced_image(data, reference, &stored);
            data.images.insert(reference.to_string(), stored);
            Ok(())
        })?;
        tracing::info!(reference, id = %record.id, size = record.size, "image recorded");
        Ok(self.image_from(reference, &record))
    }

    fn size_of(&self, parts: &ImageParts) -> u64 {
        // Re-pulling an image we already have must stay cheap: reuse the size we measured.
        let data = self.inner.index.snapshot();
        if let Some(known) = data
            .images
            .values()
            .find(|r| r.digest == parts.digest && r.id == parts.id)
        {
            return known.size;
        }
        let blobs: u64 = parts
            .blobs
            .iter()
            .filter_map(|d| self.blob_path(d).ok())
            .map(|p| fsutil::disk_bytes(&p))
            .sum();
        let layers: u64 = parts
            .diff_ids
            .iter()
            .filter_map(|d| self.layer_path(d).ok())
            .map(|p| fsutil::disk_bytes(&p))
            .sum();
        blobs + layers
    }

    fn image_from(&self, reference: &str, record: &ImageRecord) -> Image {
        let layers = record
            .diff_ids
            .iter()
            .filter_map(|d| self.layer_path(d).ok())
            .collect();
        Image {
            reference: reference.to_string(),
            digest: record.digest.clone(),
            id: record.id.clone(),
            config: record.config.clone(),
            layers,
            size: record.size,
            last_used: fsutil::millis_to_time(record.last_used_ms),
        }
    }

    /// Clears leftovers of crashed operations: trash always, other temp entries once old
    /// enough that no live process can still be writing them.
    fn clean_temp(&self) {
        let Ok(entries) = fs::read_dir(self.scratch_dir()) else {
            return;
        };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let is_trash = name.to_string_lossy().starts_with("trash-");
            let is_stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|modified| {
                    now.duration_since(modified).unwrap_or_default() > STALE_TEMP_AGE
                });
            if (is_trash || is_stale)
                && let Err(error) = fsutil::remove_path(&entry.path())
            {
                tracing::warn!(path = %entry.path().display(), %error, "cleaning temp failed");
            }
        }
    }
}

/// When a tag moves to another image, the old one stays recorded as `repository@digest`:
/// containers started from it still use its layers, so it must not become unreferenced data
/// that cleanup would delete. Image GC removes it once unused (the kubelet names running
/// containers' images by ID in `in_use`, which protects it).
fn keep_replaced_image(data: &mut IndexData, reference: &str, new: &ImageRecord) {
    let Some(previous) = data.images.get(reference) else {
        return;
    };
    if previous.digest == new.digest {
        return;
    }
    let still_named = data
        .images
        .iter()
        .any(|(name, record)| name != reference && record.digest == previous.digest);
    if !still_named {
        let by_digest = format!("{}@{}", reference::repository(reference), previous.digest);
        tracing::info!(reference, kept_as = %by_digest, "tag moved to a new image; keeping the old one by digest");
        let previous = previous.clone();
        data.images.insert(by_digest, previous);
    }
}
