//! Removing images and the blobs and layers nobody else uses.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::index::{ImageRecord, IndexData};
use crate::reference::normalize;
use crate::{ImageError, ImageStore, fsutil};

impl ImageStore {
    /// Removes what `reference_or_id` names; returns the references removed and bytes freed.
    pub(crate) fn remove_counting(
        &self,
        reference_or_id: &str,
    ) -> Result<(Vec<String>, u64), ImageError> {
        let mut trashed = Vec::new();
        let removed = self.inner.index.update(|data| {
            let names = matching_references(data, reference_or_id)?;
            let mut records = Vec::new();
            for name in &names {
                if let Some(record) = data.images.remove(name) {
                    records.push(record);
                }
            }
            // Delete under the lock: otherwise a concurrent pull could record an image that
            // reuses a blob right before we delete it.
            let (used_blobs, used_layers) = referenced(data);
            for record in &records {
                for blob in &record.blobs {
                    if !used_blobs.contains(blob)
                        && !self.is_pinned(blob)
                        && let Ok(path) = self.blob_path(blob)
                    {
                        self.trash(&path, &mut trashed);
                    }
                }
                for diff_id in &record.diff_ids {
                    if !used_layers.contains(diff_id)
                        && !self.is_pinned(diff_id)
                        && let Ok(path) = self.layer_path(diff_id)
                    {
                        self.trash(&path, &mut trashed);
                    }
                }
            }
            Ok(names)
        })?;
        let freed = self.empty_trash(trashed);
        tracing::info!(removed = ?removed, freed, "images removed");
        Ok((removed, freed))
    }

    /// Moves a blob or layer out of sight (atomic); the recursive delete comes later.
    ///
    /// A failure is logged, not returned: the index change it belongs to must still be
    /// saved, and data left behind is only disk space that the orphan sweep of image GC
    /// reclaims later.
    pub(crate) fn trash(&self, path: &Path, trashed: &mut Vec<PathBuf>) {
        match fsutil::move_to_trash(path, &self.scratch_dir()) {
            Ok(Some(moved)) => trashed.push(moved),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "removing image data failed")
            }
        }
    }

    /// Deletes trashed paths and returns the bytes that freed.
    pub(crate) fn empty_trash(&self, trashed: Vec<PathBuf>) -> u64 {
        let mut freed = 0;
        for path in trashed {
            let bytes = fsutil::disk_bytes(&path);
            match fsutil::remove_path(&path) {
                Ok(()) => freed += bytes,
                Err(error) => tracing::warn!(path = %path.display(), %error, "deleting failed"),
            }
        }
        freed
    }
}

/// Blobs and layers that recorded images still use.
pub(crate) fn referenced(data: &IndexData) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut blobs = BTreeSet::new();
    let mut layers = BTreeSet::new();
    for record in data.images.values() {
        blobs.extend(record.blobs.iter().cloned());
        layers.extend(record.diff_ids.iter().cloned());
    }
    (blobs, layers)
}

/// The references `reference_or_id` names: itself if recorded, else every reference of the
/// image whose ID (or, failing that, manifest digest) it is or uniquely starts.
fn matching_references(data: &IndexData, reference_or_id: &str) -> Result<Vec<String>, ImageError> {
    if let Ok(normalized) = normalize(reference_or_id)
        && data.images.contains_key(&normalized)
    {
        return Ok(vec![normalized]);
    }
    let hex = reference_or_id
        .strip_prefix("sha256:")
        .unwrap_or(reference_or_id);
    let long_enough =
        hex.len() >= 12 && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    if !long_enough {
        return Err(ImageError::NotFound(reference_or_id.to_string()));
    }
    let fields: [fn(&ImageRecord) -> &str; 2] = [|r| &r.id, |r| &r.digest];
    for field in fields {
        let hits: Vec<(&String, &str)> = data
            .images
            .iter()
            .map(|(name, record)| (name, field(record)))
            .filter(|(_, value)| {
                value
                    .strip_prefix("sha256:")
                    .is_some_and(|v| v.starts_with(hex))
            })
            .collect();
        let distinct: BTreeSet<&str> = hits.iter().map(|(_, value)| *value).collect();
        if distinct.len() > 1 {
            return Err(ImageError::invalid(
                "image ID",
                format!("{reference_or_id:?} matches several images; give more digits"),
            ));
        }
        if !hits.is_empty() {
            return Ok(hits.into_iter().map(|(name, _)| name.clone()).collect());
        }
    }
    Err(ImageError::NotFound(reference_or_id.to_string()))
}
