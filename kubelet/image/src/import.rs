//! Importing images from an OCI image layout (a directory, or a tar of one).

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageIndex};
use serde::Deserialize;

use crate::blobs::sha256_hex_of;
use crate::error::IoContext;
use crate::oci::{self, CONTAINERD_NAME, Manifest, REF_NAME};
use crate::reference::normalize;
use crate::store::ImageParts;
use crate::{ImageError, ImageStore, fsutil};

const MAX_INDEX_DEPTH: usize = 3;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LayoutMarker {
    image_layout_version: String,
}

impl ImageStore {
    /// Imports every image of an OCI image layout (directory, or `.tar`/`.tar.gz` of one)
    /// that index.json names with a full reference, and returns those references.
    ///
    /// The name comes from `org.opencontainers.image.ref.name`, or `io.containerd.image.name`
    /// where tools put the full name there and only a tag in the former. A bare tag such as
    /// `1.35` is refused: there is no repository to file it under.
    pub fn import(&self, path: &Path) -> Result<Vec<String>, ImageError> {
        let meta = fs::metadata(path).context(|| format!("reading {}", path.display()))?;
        if meta.is_dir() {
            return self.import_layout(path);
        }
        let unpacked = self.scratch_dir().join(fsutil::unique_name("import"));
        let result =
            extract_layout_archive(path, &unpacked).and_then(|()| self.import_layout(&unpacked));
        if let Err(error) = fsutil::remove_path(&unpacked) {
            tracing::warn!(path = %unpacked.display(), %error, "removing the unpacked layout failed");
        }
        result
    }

    fn import_layout(&self, layout: &Path) -> Result<Vec<String>, ImageError> {
        let marker_path = layout.join("oci-layout");
        let marker = fs::read(&marker_path).map_err(|_| {
            ImageError::invalid(
                "OCI image layout",
                format!("{} has no oci-layout file", layout.display()),
            )
        })?;
        let marker: LayoutMarker = serde_json::from_slice(&marker)
            .map_err(|e| ImageError::invalid("oci-layout file", e))?;
        if !marker.image_layout_version.starts_with("1.") {
            return Err(ImageError::Unsupported(format!(
                "OCI layout version {}",
                marker.image_layout_version
            )));
        }
        let index_bytes = fs::read(layout.join("index.json"))
            .context(|| format!("reading {}/index.json", layout.display()))?;
        let index: ImageIndex = serde_json::from_slice(&index_bytes)
            .map_err(|e| ImageError::invalid("index.json", e))?;

        let named = named_images(&index)?;
        let source = LayoutBlobs { dir: layout };
        let mut imported = Vec::new();
        for (reference, descriptor) in named {
            self.import_image(&source, &reference, &descriptor)?;
            imported.push(reference);
        }
        Ok(imported)
    }

    fn import_image(
        &self,
        source: &LayoutBlobs<'_>,
        reference: &str,
        descriptor: &Descriptor,
    ) -> Result<(), ImageError> {
        let mut digest = descriptor.digest().to_string();
        let top_digest = digest.clone();
        let mut blobs = Vec::new();
        let mut depth = 0;
        let manifest = loop {
            let bytes = source.read_verified(&digest)?;
            self.put_blob_bytes(&digest, &bytes)?;
            blobs.push(digest.clone());
            match oci::parse_manifest(&bytes)? {
                Manifest::Image(manifest) => break manifest,
                Manifest::Index(index) => {
                    depth += 1;
                    if depth > MAX_INDEX_DEPTH {
                        return Err(ImageError::invalid("image index", "nested too deeply"));
                    }
                    digest = oci::select_platform(&index)?.digest().to_string();
                }
            }
        };

        let config_digest = manifest.config().digest().to_string();
        let config_bytes = source.read_verified(&config_digest)?;
        self.put_blob_bytes(&config_digest, &config_bytes)?;
        let (config, layers) = oci::plan_image(&manifest, &config_bytes)?;
        blobs.push(config_digest.clone());
        blobs.extend(layers.iter().map(|l| l.blob.clone()));
        let diff_ids: Vec<String> = layers.iter().map(|l| l.diff_id.clone()).collect();

        let _pinned = self.pin(blobs.iter().chain(diff_ids.iter()).cloned());
        for layer in &layers {
            if self.layer_path(&layer.diff_id)?.is_dir() {
                continue;
            }
            let file = source.open(&layer.blob)?;
            self.put_blob_from_reader(&layer.blob, file)?;
            self.ensure_layer_unpacked(&layer.diff_id, &layer.blob, &layer.media_type)?;
        }
        self.record(
            reference,
            ImageParts {
                digest: top_digest,
                id: config_digest,
                config,
                diff_ids,
                blobs,
            },
        )?;
        Ok(())
    }
}

/// The (normalised reference, descriptor) pairs of index.json, or why the layout is unusable.
fn named_images(index: &ImageIndex) -> Result<Vec<(String, Descriptor)>, ImageError> {
    let mut named = Vec::new();
    let mut bare_tags = Vec::new();
    for descriptor in index.manifests() {
        let annotations = descriptor.annotations().as_ref();
        let get = |key: &str| {
            annotations
                .and_then(|a| a.get(key))
                .filter(|v| !v.is_empty())
        };
        let name = match (get(CONTAINERD_NAME), get(REF_NAME)) {
            (Some(full), _) => full,
            (None, Some(name)) if looks_like_full_reference(name) => name,
            (None, Some(tag)) => {
                bare_tags.push(tag.clone());
                continue;
            }
            (None, None) => continue,
        };
        named.push((normalize(name)?, descriptor.clone()));
    }
    if !bare_tags.is_empty() {
        return Err(ImageError::invalid(
            "OCI image layout",
            format!(
                "index.json names images only by tag ({}); {REF_NAME} must be a full reference like registry.example/name:tag",
                bare_tags.join(", ")
            ),
        ));
    }
    if named.is_empty() {
        return Err(ImageError::invalid(
            "OCI image layout",
            format!("no image in index.json has a {REF_NAME} annotation"),
        ));
    }
    Ok(named)
}

/// A tag alone has neither a `/` nor a `:` (nor a digest).
fn looks_like_full_reference(name: &str) -> bool {
    name.contains('/') || name.contains(':') || name.contains('@')
}

struct LayoutBlobs<'a> {
    dir: &'a Path,
}

impl LayoutBlobs<'_> {
    fn path(&self, digest: &str) -> Result<PathBuf, ImageError> {
        Ok(self.dir.join("blobs/sha256").join(sha256_hex_of(digest)?))
    }

    fn open(&self, digest: &str) -> Result<fs::File, ImageError> {
        let path = self.path(digest)?;
        fs::File::open(&path).context(|| format!("opening layout blob {}", path.display()))
    }

    /// Small blobs (manifests, configs) read whole and checked against their digest.
    fn read_verified(&self, digest: &str) -> Result<Vec<u8>, ImageError> {
        let path = self.path(digest)?;
        let bytes =
            fs::read(&path).context(|| format!("reading layout blob {}", path.display()))?;
        let actual = crate::blobs::sha256_digest(&bytes);
        if actual != digest {
            return Err(ImageError::DigestMismatch {
                what: format!("layout blob {}", path.display()),
                expected: digest.to_string(),
                actual,
            });
        }
        Ok(bytes)
    }
}

/// Unpacks a tar (optionally gzipped) holding an OCI layout. Only plain files and
/// directories are taken: a layout has nothing else, and links would be a way out.
fn extract_layout_archive(archive: &Path, dest: &Path) -> Result<(), ImageError> {
    fs::create_dir(dest).context(|| format!("creating {}", dest.display()))?;
    let file = fs::File::open(archive).context(|| format!("opening {}", archive.display()))?;
    let mut buffered = BufReader::new(file);
    let gzipped = buffered
        .fill_buf()
        .context(|| format!("reading {}", archive.display()))?
        .starts_with(&[0x1f, 0x8b]);
    let stream: Box<dyn Read> = if gzipped {
        Box::new(flate2::read::MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    };
    let mut tar = tar::Archive::new(stream);
    let entries = tar
        .entries()
        .context(|| format!("reading {}", archive.display()))?;
    for entry in entries {
        let mut entry = entry.context(|| format!("reading {}", archive.display()))?;
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_dir()) {
            continue;
        }
        let path = entry
            .path()
            .context(|| format!("reading {}", archive.display()))?
            .into_owned();
        if crate::unpack::relative_inside(&path)?.is_none() {
            continue;
        }
        let unpacked = entry
            .unpack_in(dest)
            .context(|| format!("unpacking {} from {}", path.display(), archive.display()))?;
        if !unpacked {
            return Err(ImageError::PathEscape {
                path: path.display().to_string(),
            });
        }
    }
    Ok(())
}
