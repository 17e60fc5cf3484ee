//! Test helpers (feature `testing`): a real registry on loopback and a pusher for OCI layouts.
//!
//! The registry is Debian's `docker-registry` (the CNCF distribution registry, v2.8), so
//! pulls in tests talk to the same server software as production registries.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http::HeaderValue;
use oci_client::{Reference, RegistryOperation};
use oci_spec::image::{ImageIndex, ImageManifest};

use crate::blobs::{sha256_digest, sha256_hex_of};
use crate::error::IoContext;
use crate::oci::{CONTAINERD_NAME, OCI_MANIFEST, REF_NAME};
use crate::pull::{describe_registry_error, registry_client};
use crate::reference::{normalize, registry_host};
use crate::{ImageError, PullOptions, RegistryAuth};

/// The registry binary Debian's `docker-registry` package installs.
pub const REGISTRY_BINARY: &str = "/usr/bin/docker-registry";
/// Credentials of [`Registry::start_with_basic_auth`].
pub const TEST_USER: &str = "capstan";
pub const TEST_PASSWORD: &str = "capstan-secret";
/// bcrypt (cost 5, to keep tests fast) of `TEST_PASSWORD`, made once with libxcrypt; the
/// registry's htpasswd support accepts nothing but bcrypt, and a constant spares a crate.
const TEST_PASSWORD_BCRYPT: &str = "$2b$05$udfhRcdz1K/QEngII1u1AuO2PpfUAiZzaIRpBV90OpKVd9gRiTXii";

const START_ATTEMPTS: usize = 5;
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// A `docker-registry` process serving on `127.0.0.1:<free port>` from a temp directory;
/// killed and reaped when dropped.
pub struct Registry {
    child: Child,
    host: String,
    auth: RegistryAuth,
    log_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// Whether the registry binary is installed.
    pub fn is_available() -> bool {
        Path::new(REGISTRY_BINARY).is_file()
    }

    /// Starts an anonymous registry and waits until it answers `GET /v2/`.
    pub fn start() -> Result<Registry, ImageError> {
        Registry::start_inner(false)
    }

    /// Starts a registry that requires HTTP basic auth as [`TEST_USER`]/[`TEST_PASSWORD`].
    pub fn start_with_basic_auth() -> Result<Registry, ImageError> {
        Registry::start_inner(true)
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.host.clone()
    }

    /// The credentials this registry wants (anonymous unless started with basic auth).
    pub fn auth(&self) -> RegistryAuth {
        self.auth.clone()
    }

    /// What the registry logged so far, for failing tests to show.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    fn start_inner(basic_auth: bool) -> Result<Registry, ImageError> {
        let dir = tempfile::tempdir().context(|| "creating a temp dir for the registry".into())?;
        let auth = if basic_auth {
            RegistryAuth::Basic {
                username: TEST_USER.into(),
                password: TEST_PASSWORD.into(),
            }
        } else {
            RegistryAuth::Anonymous
        };
        let mut last_error = None;
        // The free port we pick can be taken by someone else before the registry binds it;
        // then we try again with another.
        for _ in 0..START_ATTEMPTS {
            let (mut child, host, log_path) = match Registry::spawn(dir.path(), basic_auth) {
                Ok(spawned) => spawned,
                Err(error) => {
                    last_error = Some(error);
                    continue;
                }
            };
            match wait_ready(&mut child, &host, &log_path) {
                Ok(()) => {
                    return Ok(Registry {
                        child,
                        host,
                        auth,
                        log_path,
                        _dir: dir,
                    });
                }
                Err(error) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| ImageError::invalid("test registry", "did not start")))
    }

    fn spawn(dir: &Path, basic_auth: bool) -> Result<(Child, String, PathBuf), ImageError> {
        let port = free_port()?;
        let host = format!("127.0.0.1:{port}");
        let storage = dir.join("data");
        fs::create_dir_all(&storage).context(|| format!("creating {}", storage.display()))?;
        let mut config = format!(
            "version: 0.1\n\
             log:\n  level: warn\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: {host}\n  secret: capstan-test-secret\n",
            storage.display()
        );
        if basic_auth {
            let htpasswd = dir.join("htpasswd");
            fs::write(&htpasswd, format!("{TEST_USER}:{TEST_PASSWORD_BCRYPT}\n"))
                .context(|| format!("writing {}", htpasswd.display()))?;
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: capstan-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.join("config.yml");
        fs::write(&config_path, config).context(|| format!("writing {}", config_path.display()))?;
        let log_path = dir.join("registry.log");
        let log =
            fs::File::create(&log_path).context(|| format!("creating {}", log_path.display()))?;
        let log_err = log
            .try_clone()
            .context(|| "duplicating the log file".into())?;
        let child = Command::new(REGISTRY_BINARY)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .context(|| format!("starting {REGISTRY_BINARY} (install Debian's docker-registry)"))?;
        Ok((child, host, log_path))
    }
}

fn wait_ready(child: &mut Child, host: &str, log_path: &Path) -> Result<(), ImageError> {
    let log = || fs::read_to_string(log_path).unwrap_or_default();
    let deadline = Instant::now() + READY_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(ImageError::invalid(
                "test registry",
                format!("exited with {status} before answering: {}", log()),
            ));
        }
        if answers_v2(host) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(ImageError::invalid(
        "test registry",
        format!("no answer on {host} within {READY_TIMEOUT:?}: {}", log()),
    ))
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16, ImageError> {
    let listener = TcpListener::bind("127.0.0.1:0").context(|| "finding a free port".into())?;
    let port = listener
        .local_addr()
        .context(|| "finding a free port".into())?
        .port();
    Ok(port)
}

/// Any HTTP answer to `GET /v2/` (200, or 401 with auth on) means the registry is serving.
fn answers_v2(host: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(host) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /v2/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 ")
}

/// Pushes the only image of an OCI layout to `target_reference` (loopback registries over
/// plain HTTP). Returns the manifest digest, which equals the layout's: bytes are pushed as is.
pub async fn push_layout(layout_dir: &Path, target_reference: &str) -> Result<String, ImageError> {
    push_layout_image(layout_dir, None, target_reference, &RegistryAuth::Anonymous).await
}

/// Pushes one image of an OCI layout: the one annotated `source_reference`, or the only one
/// when `None`.
pub async fn push_layout_image(
    layout_dir: &Path,
    source_reference: Option<&str>,
    target_reference: &str,
    auth: &RegistryAuth,
) -> Result<String, ImageError> {
    let target_name = normalize(target_reference)?;
    let target: Reference = target_name
        .parse()
        .map_err(|e| ImageError::InvalidReference {
            reference: target_name.clone(),
            reason: format!("{e}"),
        })?;
    let index: ImageIndex = serde_json::from_slice(
        &fs::read(layout_dir.join("index.json"))
            .context(|| format!("reading {}/index.json", layout_dir.display()))?,
    )
    .map_err(|e| ImageError::invalid("index.json", e))?;
    let wanted = source_reference.map(normalize).transpose()?;
    let candidates: Vec<_> = index
        .manifests()
        .iter()
        .filter(|d| {
            let Some(wanted) = &wanted else { return true };
            let annotations = d.annotations().as_ref();
            [REF_NAME, CONTAINERD_NAME].iter().any(|key| {
                annotations
                    .and_then(|a| a.get(*key))
                    .is_some_and(|name| normalize(name).ok().as_ref() == Some(wanted))
            })
        })
        .collect();
    let [descriptor] = candidates.as_slice() else {
        return Err(ImageError::invalid(
            "OCI layout",
            format!(
                "{} images match {:?}; name exactly one",
                candidates.len(),
                source_reference.unwrap_or("(any)")
            ),
        ));
    };

    let manifest_digest = descriptor.digest().to_string();
    let manifest_bytes = read_layout_blob(layout_dir, &manifest_digest)?;
    let manifest: ImageManifest = serde_json::from_slice(&manifest_bytes).map_err(|e| {
        ImageError::invalid("image manifest (push supports single-platform images)", e)
    })?;

    let client = registry_client(registry_host(&target_name), &PullOptions::default());
    let oci_auth = auth.to_oci();
    let failed = |e: oci_client::errors::OciDistributionError| ImageError::Registry {
        reference: target_name.clone(),
        message: describe_registry_error(&e),
    };
    client
        .auth(&target, &oci_auth, RegistryOperation::Push)
        .await
        .map_err(failed)?;
    let blobs = std::iter::once(manifest.config().digest().to_string())
        .chain(manifest.layers().iter().map(|l| l.digest().to_string()));
    for digest in blobs {
        if client.blob_exists(&target, &digest).await.map_err(failed)? {
            continue;
        }
        let bytes = read_layout_blob(layout_dir, &digest)?;
        client
            .push_blob(&target, bytes, &digest)
            .await
            .map_err(failed)?;
    }
    let media_type = manifest
        .media_type()
        .as_ref()
        .map_or_else(|| OCI_MANIFEST.to_string(), |m| m.to_string());
    let content_type = HeaderValue::from_str(&media_type)
        .map_err(|e| ImageError::invalid("manifest media type", e))?;
    client
        .push_manifest_raw(&target, manifest_bytes, content_type)
        .await
        .map_err(failed)?;
    tracing::debug!(target = %target_name, digest = %manifest_digest, "layout pushed");
    Ok(manifest_digest)
}

fn read_layout_blob(layout_dir: &Path, digest: &str) -> Result<Vec<u8>, ImageError> {
    let path = layout_dir.join("blobs/sha256").join(sha256_hex_of(digest)?);
    let bytes = fs::read(&path).context(|| format!("reading {}", path.display()))?;
    let actual = sha256_digest(&bytes);
    if actual != digest {
        return Err(ImageError::DigestMismatch {
            what: format!("layout blob {}", path.display()),
            expected: digest.to_string(),
            actual,
        });
    }
    Ok(bytes)
}
