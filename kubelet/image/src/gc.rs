//! Image garbage collection, the kubelet's way: above a high-water mark of disk usage,
//! remove unused images, least recently used first, until below a low-water mark.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use crate::blobs::sha256_hex_of;
use crate::reference::normalize;
use crate::removal::referenced;
use crate::{ImageError, ImageStore, fsutil};

/// Blobs and layers no image refers to are only deleted once this old, because another
/// process (the CLI importing, say) may have just stored them and not yet recorded the image.
const ORPHAN_GRACE: Duration = Duration::from_secs(3600);

/// What one garbage collection did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// References removed, in the order they went.
    pub removed: Vec<String>,
    /// Bytes of blobs and layers deleted (including orphans left by failed operations).
    pub freed_bytes: u64,
}

impl ImageStore {
    /// If the filesystem holding the store is more than `high_percent` full, removes images
    /// not in `in_use` (references, normalised here; image IDs work too), least recently used
    /// first, until usage is at or below `low_percent`.
    pub fn garbage_collect(
        &self,
        in_use: &HashSet<String>,
        high_percent: u8,
        low_percent: u8,
    ) -> Result<GcReport, ImageError> {
        self.garbage_collect_with(in_use, high_percent, low_percent, || {
            self.disk_usage_percent()
        })
    }

    /// [`garbage_collect`](Self::garbage_collect) with the disk usage measured by `usage`,
    /// which is asked again after every removal. For tests, or for a kubelet that measures
    /// usage differently (e.g. a separate image filesystem).
    pub fn garbage_collect_with(
        &self,
        in_use: &HashSet<String>,
        high_percent: u8,
        low_percent: u8,
        usage: impl FnMut() -> Result<f64, ImageError>,
    ) -> Result<GcReport, ImageError> {
        self.collect(
            in_use,
            high_percent,
            low_percent,
            std::time::Duration::ZERO,
            usage,
        )
    }

    /// [`garbage_collect`](Self::garbage_collect) sparing images used (pulled, imported or
    /// run) within `min_age`, as the kubelet's `--minimum-image-ttl-duration` does: a node
    /// short of disk must not delete the image it was just given, before a pod could use it.
    pub fn garbage_collect_older_than(
        &self,
        in_use: &HashSet<String>,
        high_percent: u8,
        low_percent: u8,
        min_age: std::time::Duration,
    ) -> Result<GcReport, ImageError> {
        self.collect(in_use, high_percent, low_percent, min_age, || {
            self.disk_usage_percent()
        })
    }

    fn collect(
        &self,
        in_use: &HashSet<String>,
        high_percent: u8,
        low_percent: u8,
        min_age: std::time::Duration,
        mut usage: impl FnMut() -> Result<f64, ImageError>,
    ) -> Result<GcReport, ImageError> {
        if low_percent > high_percent || high_percent > 100 {
            return Err(ImageError::invalid(
                "image GC thresholds",
                format!("need low ({low_percent}) <= high ({high_percent}) <= 100"),
            ));
        }
        let mut report = GcReport::default();
        let initial = usage()?;
        if initial <= f64::from(high_percent) {
            return Ok(report);
        }
        tracing::info!(
            usage = initial,
            high_percent,
            low_percent,
            "image GC starting"
        );
        report.freed_bytes += self.remove_orphans()?;

        let data = self.inner.index.snapshot();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let cutoff_ms = now_ms.saturating_sub(min_age.as_millis() as u64);
        let protected_refs: HashSet<String> = in_use
            .iter()
            .map(|r| normalize(r).unwrap_or_else(|_| r.clone()))
            .collect();
        // An image used under one name is in use under all of them; removing another name
        // would free nothing anyway.
        let protected_ids: HashSet<&str> = data
            .images
            .iter()
            .filter(|(name, record)| protected_refs.contains(*name) || in_use.contains(&record.id))
            .map(|(_, record)| record.id.as_str())
            .collect();
        let mut candidates: Vec<(&String, u64)> = data
            .images
            .iter()
            .filter(|(_, record)| !protected_ids.contains(record.id.as_str()))
            .filter(|(_, record)| record.last_used_ms <= cutoff_ms)
            .map(|(name, record)| (name, record.last_used_ms))
            .collect();
        candidates.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(b.0)));

        for (reference, _) in candidates {
            if usage()? <= f64::from(low_percent) {
                break;
            }
            match self.remove_counting(reference) {
                Ok((names, freed)) => {
                    report.removed.extend(names);
                    report.freed_bytes += freed;
                }
                // Removed meanwhile by someone else: fine, that is what we wanted.
                Err(ImageError::NotFound(_)) => {}
                Err(error) => {
                    tracing::warn!(%reference, %error, "image GC could not remove an image")
                }
            }
        }
        tracing::info!(removed = ?report.removed, freed_bytes = report.freed_bytes, "image GC done");
        Ok(report)
    }

    /// Deletes blobs and layers that no image refers to, once they are old enough that no
    /// running operation can still be assembling them.
    fn remove_orphans(&self) -> Result<u64, ImageError> {
        let mut trashed = Vec::new();
        let root = self.root().to_path_buf();
        self.inner.index.with_lock(|data| {
            let (blobs, layers) = referenced(data);
            let blob_hexes: HashSet<&str> = blobs.iter().filter_map(|d| sha256_hex_of(d).ok()).collect();
            let layer_hexes: HashSet<&str> = layers.iter().filter_map(|d| sha256_hex_of(d).ok()).collect();
            for (dir, used) in [("blobs/sha256", &blob_hexes), ("layers", &layer_hexes)] {
                let Ok(entries) = fs::read_dir(root.join(dir)) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let key = format!("sha256:{name}");
                    if used.contains(name.as_str()) || self.is_pinned(&key) || !is_old(&entry) {
                        continue;
                    }
                    tracing::info!(path = %entry.path().display(), "removing unreferenced image data");
                    self.trash(&entry.path(), &mut trashed);
                }
            }
        })?;
        Ok(self.empty_trash(trashed))
    }
}

/// Age by ctime: it changes on rename into the store, unlike the mtime a layer's tar sets.
fn is_old(entry: &fs::DirEntry) -> bool {
    let Ok(meta) = entry.metadata() else {
        return false;
    };
    let changed_ms = (meta.ctime().max(0) as u64) * 1000;
    fsutil::now_millis().saturating_sub(changed_ms) > ORPHAN_GRACE.as_millis() as u64
}
