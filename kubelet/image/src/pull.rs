//! Pulling images from a registry with oci-client.

use std::sync::Once;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::{Client, Reference};

use crate::blobs::sha256_digest;
use crate::error::{IoContext, error_chain};
use crate::oci::{self, LayerPlan, Manifest};
use crate::reference::{is_loopback_host, normalize, registry_host};
use crate::store::ImageParts;
use crate::{Image, ImageError, ImageStore, RegistryAuth, fsutil};

/// How many layers of one image download at once.
const PARALLEL_LAYERS: usize = 3;
/// Nested indexes deeper than this are refused (a loop, or nonsense).
const MAX_INDEX_DEPTH: usize = 3;

/// Registry settings for a pull.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// `HOST:PORT` registries reached over plain HTTP. Loopback registries (127.0.0.0/8,
    /// `localhost`, `::1`) always are, as Docker does; everything else needs TLS.
    pub insecure_registries: Vec<String>,
}

impl PullOptions {
    pub(crate) fn uses_plain_http(&self, host: &str) -> bool {
        is_loopback_host(host) || self.insecure_registries.iter().any(|h| h == host)
    }
}

/// rustls 0.23 needs a process-wide crypto provider; ring is the one this workspace builds.
pub(crate) fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Err means another part of the process installed one first, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

pub(crate) fn registry_client(host: &str, opts: &PullOptions) -> Client {
    install_crypto_provider();
    let protocol = if opts.uses_plain_http(host) {
        ClientProtocol::HttpsExcept(vec![host.to_string()])
    } else {
        ClientProtocol::Https
    };
    Client::new(ClientConfig {
        protocol,
        connect_timeout: Some(Duration::from_secs(15)),
        read_timeout: Some(Duration::from_secs(60)),
        ..ClientConfig::default()
    })
}

/// A user-readable message for a registry failure, with the registry's own words in it.
pub(crate) fn describe_registry_error(error: &OciDistributionError) -> String {
    match error {
        OciDistributionError::RegistryError { envelope, url } => {
            let messages: Vec<String> = envelope
                .errors
                .iter()
                .map(|e| {
                    if e.message.is_empty() {
                        format!("{:?}", e.code)
                    } else {
                        e.message.clone()
                    }
                })
                .collect();
            format!("{} ({url})", messages.join("; "))
        }
        OciDistributionError::UnauthorizedError { url } => {
            format!(
                "unauthorized: the registry wants credentials or refused the ones given ({url})"
            )
        }
        OciDistributionError::ServerError { code, url, message } => {
            format!("HTTP {code} from {url}: {}", message.trim())
        }
        other => error_chain(other),
    }
}

impl ImageStore {
    /// Pulls `reference` (the linux image for this machine's architecture if it is an index),
    /// verifying every blob's sha256, downloading only what is missing and unpacking each
    /// layer once, then records it under the normalised reference.
    pub async fn pull(
        &self,
        reference: &str,
        auth: &RegistryAuth,
        opts: &PullOptions,
    ) -> Result<Image, ImageError> {
        let normalized = normalize(reference)?;
        let started = Instant::now();
        let target: Reference = normalized
            .parse()
            .map_err(|e| ImageError::InvalidReference {
                reference: normalized.clone(),
                reason: format!("{e}"),
            })?;
        let puller = Puller {
            store: self,
            client: registry_client(registry_host(&normalized), opts),
            auth: auth.to_oci(),
            target,
            reference: normalized.clone(),
        };
        let image = puller.run().await?;
        tracing::info!(reference = %normalized, digest = %image.digest, elapsed = ?started.elapsed(), "image pulled");
        Ok(image)
    }
}

struct Puller<'a> {
    store: &'a ImageStore,
    client: Client,
    auth: oci_client::secrets::RegistryAuth,
    target: Reference,
    reference: String,
}

impl Puller<'_> {
    async fn run(&self) -> Result<Image, ImageError> {
        let (bytes, top_digest) = self.fetch_manifest(&self.target).await?;
        let mut blobs = vec![top_digest.clone()];
        self.store.put_blob_bytes(&top_digest, &bytes)?;

        let mut current = bytes;
        let mut depth = 0;
        let manifest = loop {
            match oci::parse_manifest(&current)? {
                Manifest::Image(manifest) => break manifest,
                Manifest::Index(index) => {
                    depth += 1;
                    if depth > MAX_INDEX_DEPTH {
                        return Err(ImageError::invalid("image index", "nested too deeply"));
                    }
                    let chosen = oci::select_platform(&index)?;
                    let by_digest = self.target.clone_with_digest(chosen.digest().to_string());
                    let (bytes, digest) = self.fetch_manifest(&by_digest).await?;
                    self.store.put_blob_bytes(&digest, &bytes)?;
                    blobs.push(digest);
                    current = bytes;
                }
            }
        };

        let config_digest = manifest.config().digest().to_string();
        self.fetch_blob(&config_digest).await?;
        let config_path = self.store.blob_path(&config_digest)?;
        let config_bytes =
            std::fs::read(&config_path).context(|| format!("reading {}", config_path.display()))?;
        let (config, layers) = oci::plan_image(&manifest, &config_bytes)?;
        blobs.push(config_digest.clone());
        blobs.extend(layers.iter().map(|l| l.blob.clone()));
        let diff_ids: Vec<String> = layers.iter().map(|l| l.diff_id.clone()).collect();

        let _pinned = self.store.pin(blobs.iter().chain(diff_ids.iter()).cloned());
        // Collected into a Vec first: a stream holding the mapping closure across `.await`
        // makes this future not provably `Send` for callers (rustc's higher-ranked lifetime
        // limitation), and the kubelet spawns it.
        let fetches: Vec<_> = layers.iter().map(|layer| self.fetch_layer(layer)).collect();
        futures::stream::iter(fetches)
            .buffer_unordered(PARALLEL_LAYERS)
            .try_collect::<Vec<()>>()
            .await?;

        self.store.record(
            &self.reference,
            ImageParts {
                digest: top_digest,
                id: config_digest,
                config,
                diff_ids,
                blobs,
            },
        )
    }

    async fn fetch_manifest(&self, target: &Reference) -> Result<(Vec<u8>, String), ImageError> {
        let (bytes, _verified) = self
            .client
            .pull_manifest_raw(target, &self.auth, oci::ACCEPTED_MANIFESTS)
            .await
            .map_err(|e| self.registry_error(&e))?;
        // oci-client checked the body against the registry's digest header and the digest in
        // the reference. We name blobs by sha256 whatever algorithm the registry used, so the
        // store's key is computed here (identical for the usual sha256 registries).
        let digest = sha256_digest(&bytes);
        Ok((bytes.to_vec(), digest))
    }

    /// Downloads a blob into the store unless it is there; the lock makes concurrent pulls
    /// of images sharing it wait for one download instead of racing.
    async fn fetch_blob(&self, digest: &str) -> Result<(), ImageError> {
        let lock = self.store.fetch_lock(&format!("blob:{digest}"));
        let _held = lock.lock().await;
        if self.store.has_blob(digest) {
            return Ok(());
        }
        let path = self.store.blob_path(digest)?;
        let temp = self
            .store
            .scratch_dir()
            .join(fsutil::unique_name("download"));
        let result = async {
            let file = tokio::fs::File::create(&temp)
                .await
                .context(|| format!("creating {}", temp.display()))?;
            // pull_blob checks the content against `digest` as it streams.
            self.client
                .pull_blob(&self.target, digest, file)
                .await
                .map_err(|e| self.registry_error(&e))?;
            tokio::fs::rename(&temp, &path)
                .await
                .context(|| format!("storing {}", path.display()))
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&temp).await;
        }
        result
    }

    async fn fetch_layer(&self, layer: &LayerPlan) -> Result<(), ImageError> {
        // Keys are prefixed: an uncompressed layer's blob digest equals its diff id.
        let lock = self.store.fetch_lock(&format!("layer:{}", layer.diff_id));
        let _held = lock.lock().await;
        if self.store.layer_path(&layer.diff_id)?.is_dir() {
            tracing::debug!(diff_id = %layer.diff_id, "layer already present");
            return Ok(());
        }
        self.fetch_blob(&layer.blob).await?;
        let store = self.store.clone();
        let (diff_id, blob, media_type) = (
            layer.diff_id.clone(),
            layer.blob.clone(),
            layer.media_type.clone(),
        );
        tokio::task::spawn_blocking(move || {
            store.ensure_layer_unpacked(&diff_id, &blob, &media_type)
        })
        .await
        .map_err(|e| ImageError::invalid("layer unpack task", e))??;
        Ok(())
    }

    fn registry_error(&self, error: &OciDistributionError) -> ImageError {
        ImageError::Registry {
            reference: self.reference.clone(),
            message: describe_registry_error(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback_and_listed_registries() {
        let opts = PullOptions {
            insecure_registries: vec!["registry.lan:5000".into()],
        };
        assert!(opts.uses_plain_http("127.0.0.1:5000"));
        assert!(opts.uses_plain_http("localhost:5000"));
        assert!(opts.uses_plain_http("registry.lan:5000"));
        assert!(!opts.uses_plain_http("registry.lan:5001"));
        assert!(!opts.uses_plain_http("docker.io"));
        assert!(!PullOptions::default().uses_plain_http("10.1.2.3:5000"));
    }
}
