//! Reading OCI (and Docker schema 2) manifests, indexes and configs.

use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};
use serde::Deserialize;

use crate::{ImageConfig, ImageError, unpack};

pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// Media types we ask registries for, best first.
pub(crate) const ACCEPTED_MANIFESTS: &[&str] =
    &[OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST];

/// The annotation that names an image in an OCI layout's index.json.
pub(crate) const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// containerd (and `docker save`) put the full name here and only the tag in `REF_NAME`.
pub(crate) const CONTAINERD_NAME: &str = "io.containerd.image.name";

pub(crate) enum Manifest {
    Index(Box<ImageIndex>),
    Image(Box<ImageManifest>),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    #[serde(default)]
    schema_version: Option<u32>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
}

pub(crate) fn parse_manifest(bytes: &[u8]) -> Result<Manifest, ImageError> {
    let probe: Probe =
        serde_json::from_slice(bytes).map_err(|e| ImageError::invalid("manifest", e))?;
    let media_type = probe.media_type.as_deref().unwrap_or("");
    if probe.schema_version == Some(1)
        || media_type == DOCKER_SCHEMA1
        || media_type == DOCKER_SCHEMA1_SIGNED
    {
        return Err(ImageError::Unsupported(
            "Docker schema 1 manifests (deprecated; push the image again with a current tool)"
                .into(),
        ));
    }
    let is_index = media_type == OCI_INDEX
        || media_type == DOCKER_LIST
        || (media_type.is_empty() && probe.manifests.is_some());
    if is_index {
        serde_json::from_slice(bytes)
            .map(|i| Manifest::Index(Box::new(i)))
            .map_err(|e| ImageError::invalid("image index", e))
    } else {
        serde_json::from_slice(bytes)
            .map(|m| Manifest::Image(Box::new(m)))
            .map_err(|e| ImageError::invalid("image manifest", e))
    }
}

/// Go's name for this machine's CPU architecture, as used in image platforms.
pub(crate) fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// Picks the linux image for this machine's architecture from an index.
pub(crate) fn select_platform(index: &ImageIndex) -> Result<Descriptor, ImageError> {
    let arch = host_architecture();
    let matching = index.manifests().iter().find(|d| {
        d.platform()
            .as_ref()
            .is_some_and(|p| p.os().to_string() == "linux" && p.architecture().to_string() == arch)
    });
    if let Some(found) = matching {
        return Ok(found.clone());
    }
    // OCI layouts written by simple tools often list one manifest without a platform.
    if let [only] = index.manifests().as_slice()
        && only.platform().is_none()
    {
        return Ok(only.clone());
    }
    let available: Vec<String> = index
        .manifests()
        .iter()
        .filter_map(|d| d.platform().as_ref())
        .map(|p| format!("{}/{}", p.os(), p.architecture()))
        .collect();
    Err(ImageError::Unsupported(format!(
        "no linux/{arch} image in the index (it has: {})",
        if available.is_empty() {
            "none with a platform".to_string()
        } else {
            available.join(", ")
        }
    )))
}

/// One layer to fetch and unpack.
pub(crate) struct LayerPlan {
    pub blob: String,
    pub media_type: String,
    pub diff_id: String,
}

/// The config's runtime fields and the layers the manifest and config describe together.
pub(crate) fn plan_image(
    manifest: &ImageManifest,
    config_bytes: &[u8],
) -> Result<(ImageConfig, Vec<LayerPlan>), ImageError> {
    let config: ImageConfiguration =
        serde_json::from_slice(config_bytes).map_err(|e| ImageError::invalid("image config", e))?;
    let diff_ids = config.rootfs().diff_ids();
    if diff_ids.len() != manifest.layers().len() {
        return Err(ImageError::invalid(
            "image",
            format!(
                "manifest lists {} layers but the config {} diff ids",
                manifest.layers().len(),
                diff_ids.len()
            ),
        ));
    }
    let mut layers = Vec::with_capacity(diff_ids.len());
    for (descriptor, diff_id) in manifest.layers().iter().zip(diff_ids) {
        let media_type = descriptor.media_type().to_string();
        if !unpack::is_supported_layer_type(&media_type) {
            return Err(ImageError::Unsupported(format!(
                "layer media type {media_type}"
            )));
        }
        layers.push(LayerPlan {
            blob: descriptor.digest().to_string(),
            media_type,
            diff_id: diff_id.clone(),
        });
    }
    Ok((runtime_config(&config), layers))
}

fn runtime_config(config: &ImageConfiguration) -> ImageConfig {
    let Some(runtime) = config.config() else {
        return ImageConfig::default();
    };
    let non_empty = |s: &Option<String>| s.as_ref().filter(|v| !v.is_empty()).cloned();
    ImageConfig {
        entrypoint: runtime.entrypoint().clone().unwrap_or_default(),
        cmd: runtime.cmd().clone().unwrap_or_default(),
        env: runtime.env().clone().unwrap_or_default(),
        working_dir: non_empty(runtime.working_dir()),
        user: non_empty(runtime.user()),
    }
}
