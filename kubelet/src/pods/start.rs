//! Starting one run of a container: the image (pull policy, pull secrets, pull back-off), the
//! environment and command, the user, the volume mounts and pod files, the overlay rootfs,
//! the OCI bundle, the log shim and finally libcontainer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use capstan_api_types::quantity;
use capstan_image::{Image, ImageStore, PullOptions, RegistryAuth};
use k8s_openapi::api::core::v1::{Container, Pod, Secret};
use kube::Api;

use super::env::{self, ConfigError, EnvInputs, Sources};
use super::state::{Run, rfc3339_now};
use super::volumes::Prepared;
use crate::context::Context;
use crate::error::Error;
use crate::logs;
use crate::runtime::bundle::{self, ContainerSpec, Mount, MountSource, Resources, User};
use crate::runtime::{exit, rootfs};

/// Why a start failed, in the container reason Kubernetes would show.
#[derive(Debug)]
pub enum StartError {
    /// ErrImagePull (the caller turns repeats into ImagePullBackOff).
    Pull(String),
    /// ErrImageNeverPull.
    NeverPull(String),
    /// CreateContainerConfigError.
    Config(String),
    /// CreateContainerError / RunContainerError.
    Create(String),
}

pub struct Plan<'a> {
    pub ctx: &'a Context,
    pub pod: &'a Pod,
    pub container: &'a Container,
    pub attempt: u32,
    pub pod_dir: &'a Path,
    pub volumes: &'a Prepared,
    pub netns: Option<PathBuf>,
    pub node_allocatable: &'a BTreeMap<String, String>,
}

pub struct Started {
    pub run: Run,
    pub env: Vec<String>,
    pub cwd: String,
}

/// A stable digest of the container's spec (sha256 of its JSON).
pub fn spec_hash(c: &Container) -> String {
    use sha2::Digest;
    let json = serde_json::to_vec(c).unwrap_or_default();
    hex::encode(&sha2::Sha256::digest(&json)[..8])
}

pub fn container_id(uid: &str, name: &str, attempt: u32) -> String {
    format!("{uid}-{name}-{attempt}")
}

async fn pull_auth(ctx: &Context, pod: &Pod, reference: &str) -> RegistryAuth {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let host = capstan_image::registry_host(reference).to_string();
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    for s in pod
        .spec
        .iter()
        .flat_map(|s| s.image_pull_secrets.iter().flatten())
    {
        let Ok(Some(secret)) = api.get_opt(&s.name).await else {
            continue;
        };
        let data = env::secret_data(&secret);
        let raw = data
            .get(".dockerconfigjson")
            .or_else(|| data.get(".dockercfg"));
        if let Some(auth) = raw.and_then(|b| capstan_image::auth_from_docker_config(b, &host)) {
            return auth;
        }
    }
    RegistryAuth::Anonymous
}

pub fn ensure_image<'a>(
    ctx: &'a Context,
    pod: &'a Pod,
    container: &'a Container,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Image, StartError>> + Send + 'a>> {
    Box::pin(ensure_image_inner(ctx, pod, container))
}

async fn ensure_image_inner(
    ctx: &Context,
    pod: &Pod,
    container: &Container,
) -> Result<Image, StartError> {
    let image = container.image.clone().unwrap_or_default();
    let reference = ImageStore::normalize(&image)
        .map_err(|e| StartError::Pull(format!("invalid image name {image:?}: {e}")))?;
    let policy = container.image_pull_policy.clone().unwrap_or_else(|| {
        if reference.ends_with(":latest") {
            "Always".into()
        } else {
            "IfNotPresent".into()
        }
    });
    let present = ctx.images.lookup(&reference);
    match (policy.as_str(), present) {
        ("Never", Some(img)) | ("IfNotPresent", Some(img)) => return Ok(img),
        ("Never", None) => {
            return Err(StartError::NeverPull(format!(
                "Container image {image:?} is not present with pull policy of Never"
            )));
        }
        _ => {}
    }
    ctx.recorder
        .normal(pod, "Pulling", format!("Pulling image {image:?}"));
    let started = std::time::Instant::now();
    let auth = pull_auth(ctx, pod, &reference).await;
    let opts = PullOptions {
        insecure_registries: ctx.config.insecure_registries.clone(),
    };
    match ctx.images.pull(&reference, &auth, &opts).await {
        Ok(img) => {
            ctx.recorder.normal(
                pod,
                "Pulled",
                format!(
                    "Successfully pulled image {image:?} in {:.3}s. Image size: {} bytes.",
                    started.elapsed().as_secs_f64(),
                    img.size
                ),
            );
            Ok(img)
        }
        Err(e) => Err(StartError::Pull(format!(
            "failed to pull and unpack image {reference:?}: {e}"
        ))),
    }
}

fn lookup_id(rootfs: &Path, file: &str, name: &str) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string(rootfs.join("etc").join(file)).ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.first() == Some(&name) && f.len() >= 4 {
            Some((f[2].parse().ok()?, f[3].parse().ok()?))
        } else {
            None
        }
    })
}

/// uid/gid from the securityContext, else the image's `User` ("name|uid[:group|gid]").
fn user(
    pod: &Pod,
    c: &Container,
    image_user: Option<&str>,
    rootfs: &Path,
) -> Result<User, StartError> {
    let psc = pod.spec.as_ref().and_then(|s| s.security_context.as_ref());
    let csc = c.security_context.as_ref();
    let run_as_user = csc
        .and_then(|s| s.run_as_user)
        .or(psc.and_then(|s| s.run_as_user));
    let run_as_group = csc
        .and_then(|s| s.run_as_group)
        .or(psc.and_then(|s| s.run_as_group));
    let (mut uid, mut gid) = (0u32, 0u32);
    if let Some(u) = image_user.filter(|u| !u.is_empty()) {
        let (un, gn) = u
            .split_once(':')
            .map(|(a, b)| (a, Some(b)))
            .unwrap_or((u, None));
        match un.parse::<u32>() {
            Ok(n) => {
                uid = n;
                gid = n;
                // A numeric user keeps its passwd group when the image has one.
                if let Ok(text) = std::fs::read_to_string(rootfs.join("etc/passwd"))
                    && let Some(g) = text.lines().find_map(|l| {
                        let f: Vec<&str> = l.split(':').collect();
                        (f.len() >= 4 && f[2] == un)
                            .then(|| f[3].parse().ok())
                            .flatten()
                    })
                {
                    gid = g;
                }
            }
            Err(_) => {
                let (u2, g2) = lookup_id(rootfs, "passwd", un).ok_or_else(|| {
                    StartError::Create(format!(
                        "unable to find user {un}: no matching entries in passwd file"
                    ))
                })?;
                uid = u2;
                gid = g2;
            }
        }
        if let Some(g) = gn {
            gid = match g.parse::<u32>() {
                Ok(n) => n,
                Err(_) => lookup_id(rootfs, "group", g)
                    .map(|(gid, _)| gid)
                    .ok_or_else(|| StartError::Create(format!("unable to find group {g}")))?,
            };
        }
    }
    if let Some(u) = run_as_user {
        uid = u as u32;
        if run_as_group.is_none() {
            gid = 0;
        }
    }
    if let Some(g) = run_as_group {
        gid = g as u32;
    }
    if csc
        .and_then(|s| s.run_as_non_root)
        .or(psc.and_then(|s| s.run_as_non_root))
        == Some(true)
        && uid == 0
    {
        return Err(StartError::Config(
            "container has runAsNonRoot and image will run as root".into(),
        ));
    }
    let mut additional: Vec<u32> = psc
        .and_then(|s| s.supplemental_groups.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|g| g as u32)
        .collect();
    if let Some(fs) = psc.and_then(|s| s.fs_group) {
        additional.push(fs as u32);
    }
    Ok(User {
        uid,
        gid,
        additional_gids: additional,
    })
}

fn resources(c: &Container) -> Resources {
    let r = c.resources.as_ref();
    let get = |limits: bool, name: &str| {
        r.and_then(|r| {
            if limits {
                r.limits.as_ref()
            } else {
                r.requests.as_ref()
            }
        })
        .and_then(|m| m.get(name))
        .map(|q| q.0.clone())
    };
    let cpu_req = get(false, "cpu")
        .or_else(|| get(true, "cpu"))
        .and_then(|q| quantity::milli(&q));
    let cpu_limit = get(true, "cpu").and_then(|q| quantity::milli(&q));
    let mem_limit = get(true, "memory").and_then(|q| quantity::units(&q));
    Resources {
        // The kubelet's conversion: 1 CPU = 1024 shares, at least 2.
        cpu_shares: Some(
            cpu_req
                .map(|m| ((m * 1024) / 1000).max(2) as u64)
                .unwrap_or(2),
        ),
        cpu_quota: cpu_limit.map(|m| (m * 100).max(1000)),
        cpu_period: cpu_limit.map(|_| 100_000),
        memory_limit: mem_limit,
    }
}

fn volume_mounts(plan: &Plan<'_>) -> Result<Vec<Mount>, StartError> {
    let mut out = Vec::new();
    for m in plan.container.volume_mounts.iter().flatten() {
        let base = plan.volumes.get(&m.name).ok_or_else(|| {
            StartError::Config(format!("volume {:?} not found in the pod", m.name))
        })?;
        let sub = m.sub_path.clone().unwrap_or_default();
        let source = if sub.is_empty() {
            base.clone()
        } else {
            let rel = Path::new(&sub);
            if rel.is_absolute()
                || rel
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
            {
                return Err(StartError::Config(format!("invalid subPath {sub:?}")));
            }
            subpath_source(base, rel)
                .map_err(|e| StartError::Create(format!("subPath {sub:?}: {e}")))?
        };
        out.push(Mount {
            destination: m.mount_path.clone(),
            source: MountSource::Bind(source),
            readonly: m.read_only.unwrap_or(false),
        });
    }
    Ok(out)
}

/// The host path of a subPath, created component by component without following any
/// symlink, so a container cannot point a subPath at the host (CVE-2017-1002101).
fn subpath_source(base: &Path, rel: &Path) -> std::io::Result<PathBuf> {
    let mut p = base.to_path_buf();
    for comp in rel.components() {
        p.push(comp);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(std::io::Error::other("contains a symbolic link"));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir(&p)?,
            Err(e) => return Err(e),
        }
    }
    Ok(p)
}

pub fn termination_log(pod_dir: &Path, name: &str, attempt: u32) -> PathBuf {
    pod_dir
        .join("termination")
        .join(format!("{name}-{attempt}"))
}

/// Starts the run; on error nothing of it is left behind.
pub fn start<'a>(
    plan: &'a Plan<'a>,
    image: &'a Image,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Started, StartError>> + Send + 'a>> {
    Box::pin(start_inner(plan, image))
}

async fn start_inner(plan: &Plan<'_>, image: &Image) -> Result<Started, StartError> {
    let ctx = plan.ctx;
    let pod = plan.pod;
    let c = plan.container;
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let id = container_id(&uid, &c.name, plan.attempt);
    let mut sources = Sources::new(ctx.client.clone(), &ns);
    let host_ip = ctx.config.node_ip.to_string();
    let env = env::resolve(
        &EnvInputs {
            pod,
            container: c,
            image_env: &image.config.env,
            host_ip: &host_ip,
            node_allocatable: plan.node_allocatable,
        },
        &mut sources,
    )
    .await
    .map_err(|ConfigError(m)| StartError::Config(m))?;
    let args = env::command_line(c, &image.config.entrypoint, &image.config.cmd, &env);
    if args.is_empty() {
        return Err(StartError::Create("no command specified".into()));
    }
    let mut mounts = volume_mounts(plan)?;
    let dir = ctx.containers_dir().join(&id);
    // Leftovers of a start that crashed half way (state dir, mounted overlay) would make
    // libcontainer refuse the id or reuse a dirty upper dir.
    let _ = ctx.runtime.delete(&id).await;
    let _ = rootfs::remove(&dir);
    let result = async {
        let fs = rootfs::mount_overlay(&dir.join("rootfs"), &image.layers)
            .map_err(|e| StartError::Create(e.to_string()))?;
        let user = user(pod, c, image.config.user.as_deref(), &fs.merged())?;
        let host_network = pod
            .spec
            .as_ref()
            .and_then(|s| s.host_network)
            .unwrap_or(false);
        for (file, dest) in [
            ("etc-hosts", "/etc/hosts"),
            ("resolv.conf", "/etc/resolv.conf"),
            ("hostname", "/etc/hostname"),
        ] {
            if host_network && file == "etc-hosts" {
                continue;
            }
            mounts.push(Mount {
                destination: dest.into(),
                source: MountSource::Bind(plan.pod_dir.join(file)),
                readonly: false,
            });
        }
        let term_path = c
            .termination_message_path
            .clone()
            .unwrap_or_else(|| "/dev/termination-log".into());
        let term_file = termination_log(plan.pod_dir, &c.name, plan.attempt);
        if let Some(parent) = term_file.parent() {
            std::fs::create_dir_all(parent).map_err(|e| StartError::Create(e.to_string()))?;
        }
        std::fs::write(&term_file, b"").map_err(|e| StartError::Create(e.to_string()))?;
        mounts.push(Mount {
            destination: term_path,
            source: MountSource::Bind(term_file),
            readonly: false,
        });
        let sc = c.security_context.as_ref();
        let caps = sc.and_then(|s| s.capabilities.as_ref());
        let cwd = c
            .working_dir
            .clone()
            .filter(|w| !w.is_empty())
            .or(image.config.working_dir.clone())
            .unwrap_or_else(|| "/".into());
        let hostname = std::fs::read_to_string(plan.pod_dir.join("hostname"))
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| name.clone());
        let cgroup = format!("{}/{}-{}", ctx.pod_cgroup(&uid), c.name, plan.attempt);
        let spec = ContainerSpec {
            args,
            env: env.clone(),
            cwd: cwd.clone(),
            user: user.clone(),
            hostname,
            rootfs: fs.merged(),
            readonly_rootfs: sc
                .and_then(|s| s.read_only_root_filesystem)
                .unwrap_or(false),
            mounts,
            netns: plan.netns.clone(),
            cgroups_path: cgroup.clone(),
            capabilities: bundle::capabilities(
                caps.and_then(|c| c.add.as_deref()).unwrap_or(&[]),
                caps.and_then(|c| c.drop.as_deref()).unwrap_or(&[]),
            ),
            privileged: sc.and_then(|s| s.privileged).unwrap_or(false),
            no_new_privileges: sc.and_then(|s| s.allow_privilege_escalation) == Some(false),
            resources: resources(c),
        };
        let bundle_dir = dir.join("bundle");
        bundle::write(&bundle_dir, &spec).map_err(|e| StartError::Create(e.to_string()))?;
        let log_dir = ctx.pod_log_dir(&ns, &name, &uid).join(&c.name);
        let log = logs::path(&log_dir, plan.attempt);
        std::fs::create_dir_all(&log_dir).map_err(|e| StartError::Create(e.to_string()))?;
        logs::remove(&log);
        let pid = ctx
            .runtime
            .run(&id, &bundle_dir, &log, ctx.config.log_max_bytes)
            .await
            .map_err(|e| StartError::Create(e.to_string()))?;
        Ok::<_, StartError>((pid, log, cgroup, cwd, user))
    }
    .await;
    match result {
        Ok((pid, log, cgroup, cwd, user)) => {
            // Kubernetes keeps the logs of the current and the previous run only.
            if plan.attempt >= 2 {
                let log_dir = ctx.pod_log_dir(&ns, &name, &uid).join(&c.name);
                for old in 0..plan.attempt - 1 {
                    logs::remove(&logs::path(&log_dir, old));
                    let _ = std::fs::remove_file(termination_log(plan.pod_dir, &c.name, old));
                }
            }
            ctx.images.touch(&image.reference);
            Ok(Started {
                run: Run {
                    id,
                    pid,
                    start_ticks: exit::start_ticks(pid).unwrap_or(0),
                    started_at: rfc3339_now(),
                    image: c.image.clone().unwrap_or_default(),
                    image_id: format!(
                        "{}@{}",
                        image
                            .reference
                            .rsplit_once(':')
                            .map(|(r, _)| r)
                            .unwrap_or(&image.reference),
                        image.digest
                    ),
                    log,
                    cgroup,
                    uid: user.uid,
                    gid: user.gid,
                    additional_gids: user.additional_gids.clone(),
                    cwd: cwd.clone(),
                    env: env.clone(),
                    spec_hash: spec_hash(c),
                },
                env,
                cwd,
            })
        }
        Err(e) => {
            let _ = ctx.runtime.delete(&id).await;
            let _ = rootfs::remove(&dir);
            Err(e)
        }
    }
}

/// Removes everything of a finished run except its log.
pub async fn cleanup_run(ctx: &Context, id: &str) -> Result<(), Error> {
    ctx.runtime.delete(id).await?;
    let _ = std::fs::remove_file(ctx.runtime.exit_file(id));
    rootfs::remove(&ctx.containers_dir().join(id))
}
