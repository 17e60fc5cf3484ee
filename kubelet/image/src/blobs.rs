//! Blobs and unpacked layers: where they live, and how they get there verified.

use std::fs;
use std::io::{self, Read, Write};
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::error::IoContext;
use crate::reference::is_sha256_hex;
use crate::{ImageError, ImageStore, fsutil, unpack};

impl ImageStore {
    pub(crate) fn scratch_dir(&self) -> PathBuf {
        self.inner.root.join("tmp")
    }

    pub(crate) fn blob_path(&self, digest: &str) -> Result<PathBuf, ImageError> {
        Ok(self
            .inner
            .root
            .join("blobs/sha256")
            .join(sha256_hex_of(digest)?))
    }

    pub(crate) fn layer_path(&self, diff_id: &str) -> Result<PathBuf, ImageError> {
        Ok(self.inner.root.join("layers").join(sha256_hex_of(diff_id)?))
    }

    pub(crate) fn has_blob(&self, digest: &str) -> bool {
        self.blob_path(digest).is_ok_and(|p| p.is_file())
    }

    /// Stores bytes under their digest after checking they match it.
    pub(crate) fn put_blob_bytes(&self, digest: &str, bytes: &[u8]) -> Result<PathBuf, ImageError> {
        self.put_blob_from_reader(digest, bytes)
    }

    /// Streams a blob into the store, verifying its digest before it becomes visible.
    pub(crate) fn put_blob_from_reader(
        &self,
        digest: &str,
        mut source: impl Read,
    ) -> Result<PathBuf, ImageError> {
        let path = self.blob_path(digest)?;
        if path.is_file() {
            return Ok(path);
        }
        let temp = self.scratch_dir().join(fsutil::unique_name("blob"));
        let result = (|| {
            let mut file =
                fs::File::create(&temp).context(|| format!("creating {}", temp.display()))?;
            let mut hasher = Sha256::new();
            let mut buffer = vec![0u8; 256 * 1024];
            loop {
                let n = match source.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(error) => {
                        return Err(ImageError::Io {
                            context: format!("reading blob {digest}"),
                            error,
                        });
                    }
                };
                hasher.update(&buffer[..n]);
                file.write_all(&buffer[..n])
                    .context(|| format!("writing {}", temp.display()))?;
            }
            let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
            if actual != digest {
                return Err(ImageError::DigestMismatch {
                    what: "blob".into(),
                    expected: digest.to_string(),
                    actual,
                });
            }
            fs::rename(&temp, &path).context(|| format!("storing {}", path.display()))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result.map(|()| path)
    }

    /// Unpacks a stored layer blob unless the layer is already there.
    pub(crate) fn ensure_layer_unpacked(
        &self,
        diff_id: &str,
        blob_digest: &str,
        media_type: &str,
    ) -> Result<PathBuf, ImageError> {
        let dest = self.layer_path(diff_id)?;
        if dest.is_dir() {
            return Ok(dest);
        }
        let blob = self.blob_path(blob_digest)?;
        unpack::unpack_layer(&blob, media_type, diff_id, &dest, &self.scratch_dir())?;
        Ok(dest)
    }
}

/// The hex part of a `sha256:<64 hex>` digest; anything else is refused, since the result
/// becomes a file name.
pub(crate) fn sha256_hex_of(digest: &str) -> Result<&str, ImageError> {
    match digest.strip_prefix("sha256:") {
        Some(hex) if is_sha256_hex(hex) => Ok(hex),
        _ => Err(ImageError::Unsupported(format!(
            "digest {digest:?} (only sha256:<64 lowercase hex>)"
        ))),
    }
}

pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}
