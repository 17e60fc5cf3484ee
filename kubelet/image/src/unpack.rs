//! Unpacks one layer blob into a directory usable as an overlayfs lowerdir.
//!
//! OCI layers express deletions as `.wh.NAME` files and "this directory replaces the one
//! below" as `.wh..wh..opq`; overlayfs expresses the same things as a 0/0 character device
//! named NAME and the `trusted.overlay.opaque=y` xattr. Each layer is unpacked on its own
//! (not on top of its parents), so the conversion happens here.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};
use tar::EntryType;

use crate::error::IoContext;
use crate::{ImageError, fsutil, sys};

const WHITEOUT_PREFIX: &[u8] = b".wh.";
const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";
const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// Unpacks `blob` into `dest` unless `dest` already exists.
///
/// The layer is built in a fresh directory under `scratch` (same filesystem as `dest`) and
/// renamed into place only once complete and verified against `diff_id`, so a crash or an
/// error never leaves a partial layer at `dest`, and two concurrent unpacks of the same layer
/// cannot corrupt each other: the second rename simply loses.
pub(crate) fn unpack_layer(
    blob: &Path,
    media_type: &str,
    diff_id: &str,
    dest: &Path,
    scratch: &Path,
) -> Result<(), ImageError> {
    if dest.is_dir() {
        return Ok(());
    }
    let temp = scratch.join(fsutil::unique_name("layer"));
    fs::create_dir(&temp).context(|| format!("creating {}", temp.display()))?;
    let started = std::time::Instant::now();
    let result = extract_verified(blob, media_type, diff_id, &temp);
    if let Err(error) = result {
        let _ = fsutil::remove_path(&temp);
        return Err(error);
    }
    match fs::rename(&temp, dest) {
        Ok(()) => {
            tracing::debug!(diff_id, elapsed = ?started.elapsed(), "layer unpacked");
            Ok(())
        }
        // Someone else finished the same layer first; theirs is as good as ours.
        Err(_) if dest.is_dir() => {
            let _ = fsutil::remove_path(&temp);
            Ok(())
        }
        Err(error) => {
            let _ = fsutil::remove_path(&temp);
            Err(ImageError::Io {
                context: format!("moving unpacked layer to {}", dest.display()),
                error,
            })
        }
    }
}

/// Whether a manifest's layer media type is a tar stream we can unpack.
pub(crate) fn is_supported_layer_type(media_type: &str) -> bool {
    media_type.contains(".tar") || media_type.starts_with("application/vnd.docker.image.rootfs.")
}

fn extract_verified(
    blob: &Path,
    media_type: &str,
    diff_id: &str,
    dir: &Path,
) -> Result<(), ImageError> {
    let expected = diff_id
        .strip_prefix("sha256:")
        .ok_or_else(|| ImageError::Unsupported(format!("layer diff id {diff_id:?}")))?;
    let file = fs::File::open(blob).context(|| format!("opening {}", blob.display()))?;
    let mut buffered = BufReader::with_capacity(256 * 1024, file);
    let magic = buffered
        .fill_buf()
        .context(|| format!("reading {}", blob.display()))?;
    let stream: Box<dyn Read> = match detect_compression(media_type, magic)? {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(buffered)),
        Compression::None => Box::new(buffered),
    };
    let mut hashing = HashingReader::new(stream);
    extract(&mut hashing, dir, diff_id)?;
    // The tar reader stops at the end-of-archive marker; the diff id covers the padding too.
    io::copy(&mut hashing, &mut io::sink()).context(|| format!("reading layer {diff_id}"))?;
    let actual = hex::encode(hashing.hasher.finalize());
    if actual != expected {
        return Err(ImageError::DigestMismatch {
            what: "uncompressed layer".into(),
            expected: diff_id.to_string(),
            actual: format!("sha256:{actual}"),
        });
    }
    Ok(())
}

enum Compression {
    None,
    Gzip,
}

fn detect_compression(media_type: &str, magic: &[u8]) -> Result<Compression, ImageError> {
    // The bytes decide, not the label: registries and tools do mislabel layers.
    if media_type.ends_with("zstd") || magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Err(ImageError::Unsupported(
            "zstd-compressed layers (only gzip and plain tar)".into(),
        ));
    }
    if magic.starts_with(&[0x1f, 0x8b]) {
        Ok(Compression::Gzip)
    } else {
        Ok(Compression::None)
    }
}

/// Extracts a layer's tar stream into `dir`, converting whiteouts (no digest check).
fn extract(stream: impl Read, dir: &Path, what: &str) -> Result<(), ImageError> {
    let root = dir
        .canonicalize()
        .context(|| format!("resolving {}", dir.display()))?;
    let mut archive = tar::Archive::new(stream);
    archive.set_preserve_permissions(true);
    // Only root may give files away; unprivileged unpacking (tests, tools) keeps its own uid.
    archive.set_preserve_ownerships(sys::is_root());
    archive.set_preserve_mtime(true);
    archive.set_unpack_xattrs(true);
    archive.set_overwrite(true);
    let mut writer = LayerWriter {
        root,
        whiteouts: HashSet::new(),
    };
    let entries = archive
        .entries()
        .context(|| format!("reading layer {what}"))?;
    for entry in entries {
        let entry = entry.context(|| format!("reading layer {what}"))?;
        writer.apply(entry, what)?;
    }
    Ok(())
}

struct LayerWriter {
    /// Canonical path of the directory being filled.
    root: PathBuf,
    /// Whiteout devices made by this layer, which later entries of the same layer may replace.
    whiteouts: HashSet<PathBuf>,
}

impl LayerWriter {
    fn apply<R: Read>(
        &mut self,
        mut entry: tar::Entry<'_, R>,
        what: &str,
    ) -> Result<(), ImageError> {
        let raw_path = entry
            .path()
            .context(|| format!("bad path in layer {what}"))?
            .into_owned();
        let Some(rel) = relative_inside(&raw_path)? else {
            // "./" itself: the layer root, which we created.
            return Ok(());
        };
        let name = rel.file_name().map(OsStr::as_bytes).unwrap_or_default();
        let parent_rel = rel.parent().unwrap_or(Path::new(""));

        if name == OPAQUE_MARKER {
            let dir = self.ensure_dir(parent_rel)?;
            return set_opaque(&dir);
        }
        if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX) {
            return self.whiteout(parent_rel, hidden, &raw_path);
        }

        let kind = entry.header().entry_type();
        self.replace_whiteouts_on(&rel, kind.is_dir())?;
        match kind {
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                self.make_special(&entry, &rel, kind)
            }
            EntryType::Link => self.make_hard_link(&entry, &rel),
            _ => {
                let unpacked = entry
                    .unpack_in(&self.root)
                    .map_err(|error| classify_tar_error(error, &raw_path))?;
                if unpacked {
                    Ok(())
                } else {
                    Err(ImageError::PathEscape {
                        path: raw_path.display().to_string(),
                    })
                }
            }
        }
    }

    fn whiteout(&mut self, parent_rel: &Path, hidden: &[u8], raw: &Path) -> Result<(), ImageError> {
        let hidden = OsStr::from_bytes(hidden);
        if hidden.is_empty() || hidden == "." || hidden == ".." {
            return Err(ImageError::PathEscape {
                path: raw.display().to_string(),
            });
        }
        let parent = self.ensure_dir(parent_rel)?;
        let target = parent.join(hidden);
        match fs::symlink_metadata(&target) {
            // Content of the same layer wins over its whiteout (OCI: a whiteout applies to lower
            // layers only). A directory must still hide the lower one's entries.
            Ok(meta) if meta.is_dir() => set_opaque(&target),
            Ok(_) => Ok(()),
            Err(_) => {
                sys::make_whiteout(&target).context(|| {
                    format!(
                        "creating whiteout {} (needs root: a 0/0 character device)",
                        target.display()
                    )
                })?;
                self.whiteouts.insert(target);
                Ok(())
            }
        }
    }

    /// A later entry of the same layer that lands on (or under) one of our whiteouts replaces
    /// it. A directory that replaces a whiteout becomes opaque: the lower one was deleted.
    fn replace_whiteouts_on(&mut self, rel: &Path, entry_is_dir: bool) -> Result<(), ImageError> {
        if self.whiteouts.is_empty() {
            return Ok(());
        }
        let mut current = self.root.clone();
        let components: Vec<_> = rel.components().collect();
        for (i, component) in components.iter().enumerate() {
            current.push(component);
            if !self.whiteouts.remove(&current) {
                continue;
            }
            fs::remove_file(&current)
                .context(|| format!("replacing whiteout {}", current.display()))?;
            let becomes_dir = i + 1 < components.len() || entry_is_dir;
            if becomes_dir {
                fs::create_dir(&current).context(|| format!("creating {}", current.display()))?;
                set_opaque(&current)?;
            }
        }
        Ok(())
    }

    /// Creates the directories of `rel` inside the layer. Unlike the tar crate's own path
    /// handling this refuses to walk through symlinks, since whiteouts, devices and hard links
    /// are written by our code and must never land outside the layer.
    fn ensure_dir(&self, rel: &Path) -> Result<PathBuf, ImageError> {
        let mut current = self.root.clone();
        for component in rel.components() {
            current.push(component);
            match fs::symlink_metadata(&current) {
                Ok(meta) if meta.is_dir() => {}
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(ImageError::PathEscape {
                        path: rel.display().to_string(),
                    });
                }
                Ok(_) => {
                    return Err(ImageError::invalid(
                        "layer",
                        format!("{} is not a directory", rel.display()),
                    ));
                }
                Err(_) => fs::create_dir(&current)
                    .context(|| format!("creating {}", current.display()))?,
            }
        }
        Ok(current)
    }

    fn make_special<R: Read>(
        &self,
        entry: &tar::Entry<'_, R>,
        rel: &Path,
        kind: EntryType,
    ) -> Result<(), ImageError> {
        let header = entry.header();
        let parent = self.ensure_dir(rel.parent().unwrap_or(Path::new("")))?;
        let target = parent.join(rel.file_name().unwrap_or_default());
        fsutil::remove_path(&target).context(|| format!("replacing {}", target.display()))?;
        let bad_header = |e: io::Error| ImageError::invalid("layer entry header", e);
        let mode = header.mode().map_err(bad_header)?;
        let major = header.device_major().map_err(bad_header)?.unwrap_or(0);
        let minor = header.device_minor().map_err(bad_header)?.unwrap_or(0);
        let file_type = match kind {
            EntryType::Char => libc::S_IFCHR,
            EntryType::Block => libc::S_IFBLK,
            _ => libc::S_IFIFO,
        };
        sys::mknod(&target, file_type, mode, major, minor)
            .context(|| format!("creating device {}", target.display()))?;
        if sys::is_root() {
            let uid = header.uid().map_err(bad_header)?;
            let gid = header.gid().map_err(bad_header)?;
            std::os::unix::fs::lchown(&target, Some(uid as u32), Some(gid as u32))
                .context(|| format!("chown {}", target.display()))?;
        }
        // mknod honours the umask; the layer's mode must survive exactly.
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&target, fs::Permissions::from_mode(mode & 0o7777))
            .context(|| format!("chmod {}", target.display()))
    }

    fn make_hard_link<R: Read>(
        &self,
        entry: &tar::Entry<'_, R>,
        rel: &Path,
    ) -> Result<(), ImageError> {
        let link_name = entry
            .link_name()
            .map_err(|e| ImageError::invalid("layer entry header", e))?
            .ok_or_else(|| {
                ImageError::invalid(
                    "layer",
                    format!("hard link {} has no target", rel.display()),
                )
            })?;
        let source_rel = relative_inside(&link_name)?.ok_or_else(|| ImageError::PathEscape {
            path: link_name.display().to_string(),
        })?;
        // The source's directories must resolve inside the layer, or the link would expose
        // (and allow later writes to) a file of the host.
        let source = self.ensure_existing_inside(&source_rel)?;
        let parent = self.ensure_dir(rel.parent().unwrap_or(Path::new("")))?;
        let target = parent.join(rel.file_name().unwrap_or_default());
        if target != source {
            fsutil::remove_path(&target).context(|| format!("replacing {}", target.display()))?;
            fs::hard_link(&source, &target)
                .context(|| format!("hard-linking {} to {}", target.display(), source.display()))?;
        }
        Ok(())
    }

    fn ensure_existing_inside(&self, rel: &Path) -> Result<PathBuf, ImageError> {
        let escape = || ImageError::PathEscape {
            path: rel.display().to_string(),
        };
        let path = self.root.join(rel);
        let parent = path.parent().ok_or_else(escape)?;
        let canonical_parent = parent.canonicalize().map_err(|_| {
            ImageError::invalid(
                "layer",
                format!("hard link target {} is not in the layer", rel.display()),
            )
        })?;
        if !canonical_parent.starts_with(&self.root) {
            return Err(escape());
        }
        let source = canonical_parent.join(rel.file_name().ok_or_else(escape)?);
        if fs::symlink_metadata(&source).is_err() {
            return Err(ImageError::invalid(
                "layer",
                format!("hard link target {} is not in the layer", rel.display()),
            ));
        }
        Ok(source)
    }
}

fn set_opaque(dir: &Path) -> Result<(), ImageError> {
    sys::set_xattr(dir, OPAQUE_XATTR, b"y").context(|| {
        format!(
            "marking {} opaque (needs root: xattr {OPAQUE_XATTR})",
            dir.display()
        )
    })
}

/// The path below the layer root that an archive path names; `None` for the root itself.
/// `..` anywhere is refused outright rather than skipped: such a layer is hostile or broken.
pub(crate) fn relative_inside(path: &Path) -> Result<Option<PathBuf>, ImageError> {
    let mut rel = PathBuf::new();
    for component in path.components() {
        match component {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(part) => rel.push(part),
            Component::ParentDir | Component::Prefix(_) => {
                return Err(ImageError::PathEscape {
                    path: path.display().to_string(),
                });
            }
        }
    }
    Ok((!rel.as_os_str().is_empty()).then_some(rel))
}

fn classify_tar_error(error: io::Error, path: &Path) -> ImageError {
    let message = crate::error::error_chain(&error);
    if message.contains("outside of destination") {
        ImageError::PathEscape {
            path: path.display().to_string(),
        }
    } else {
        ImageError::Io {
            context: format!("unpacking {}", path.display()),
            error,
        }
    }
}

/// Hashes everything read through it: the layer's diff id is the sha256 of the uncompressed
/// tar, which we can only learn while decompressing.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R> HashingReader<R> {
    fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
        }
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
