//! Pod volumes on the host: emptyDir (disk, or tmpfs for `medium: Memory` with its
//! sizeLimit), hostPath (with its type checks), configMap, secret (on tmpfs), downwardAPI and
//! projected (written atomically: a new `..<stamp>` dir, then the `..data` symlink swapped, so a
//! reader never sees half an update; re-rendered when the objects change), and
//! persistentVolumeClaim bound to a `local`/hostPath PersistentVolume.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use capstan_api_types::quantity;
use k8s_openapi::api::core::v1::{
    DownwardAPIVolumeFile, KeyToPath, PersistentVolume, PersistentVolumeClaim, Pod, Volume,
};
use kube::Api;
use nix::mount::{MsFlags, mount};

use super::env::{SourceKind, Sources, render_map, resource_value};
use crate::error::{Error, Result};
use crate::runtime::rootfs;

fn verr(volume: &str, message: impl Into<String>) -> Error {
    Error::Volume {
        volume: volume.to_string(),
        message: message.into(),
    }
}

/// The host directory (or file) of every volume of the pod, by volume name.
pub type Prepared = BTreeMap<String, PathBuf>;

pub struct VolumeContext<'a> {
    pub pod: &'a Pod,
    pub pod_dir: &'a Path,
    pub client: kube::Client,
    pub node_allocatable: &'a BTreeMap<String, String>,
}

pub fn prepare<'a>(
    ctx: &'a VolumeContext<'a>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Prepared>> + Send + 'a>> {
    Box::pin(prepare_all(ctx))
}

async fn prepare_all(ctx: &VolumeContext<'_>) -> Result<Prepared> {
    let mut out = Prepared::new();
    let ns = ctx.pod.metadata.namespace.clone().unwrap_or_default();
    let mut sources = Sources::new(ctx.client.clone(), &ns);
    let vols: Vec<Volume> = ctx
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.clone())
        .unwrap_or_default();
    for v in &vols {
        let path = prepare_one(ctx, v, &mut sources).await?;
        out.insert(v.name.clone(), path);
    }
    Ok(out)
}

fn plugin_dir(pod_dir: &Path, plugin: &str, name: &str) -> PathBuf {
    pod_dir.join("volumes").join(plugin).join(name)
}

fn mkdir(p: &Path) -> Result<()> {
    std::fs::create_dir_all(p).map_err(|e| Error::io(p, e))
}

fn mount_tmpfs(dir: &Path, size: Option<i64>, volume: &str) -> Result<()> {
    mkdir(dir)?;
    if rootfs::is_mountpoint(dir) {
        return Ok(());
    }
    let opts = match size {
        Some(s) if s > 0 => format!("mode=0755,size={s}"),
        _ => "mode=0755".to_string(),
    };
    mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(opts.as_str()),
    )
    .map_err(|e| verr(volume, format!("mounting tmpfs: {e}")))
}

fn prepare_one<'a>(
    ctx: &'a VolumeContext<'a>,
    v: &'a Volume,
    sources: &'a mut Sources,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<PathBuf>> + Send + 'a>> {
    Box::pin(prepare_one_inner(ctx, v, sources))
}

async fn prepare_one_inner(
    ctx: &VolumeContext<'_>,
    v: &Volume,
    sources: &mut Sources,
) -> Result<PathBuf> {
    let name = v.name.as_str();
    if let Some(e) = &v.empty_dir {
        let dir = plugin_dir(ctx.pod_dir, "empty-dir", name);
        if e.medium.as_deref() == Some("Memory") {
            let size = e.size_limit.as_ref().and_then(|q| quantity::units(&q.0));
            mount_tmpfs(&dir, size, name)?;
        } else {
            mkdir(&dir)?;
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777));
        }
        return Ok(dir);
    }
    if let Some(h) = &v.host_path {
        return host_path(name, &h.path, h.type_.as_deref().unwrap_or(""));
    }
    if let Some(c) = &v.persistent_volume_claim {
        return claim_path(ctx, name, &c.claim_name).await;
    }
    let (plugin, files, tmpfs) = if let Some(c) = &v.config_map {
        let key = ObjectKeys {
            kind: SourceKind::ConfigMap,
            name: &c.name,
            items: c.items.as_deref(),
            optional: c.optional,
        };
        (
            "configmap",
            object_files(sources, name, key, c.default_mode).await?,
            false,
        )
    } else if let Some(s) = &v.secret {
        let obj = s.secret_name.clone().unwrap_or_default();
        let key = ObjectKeys {
            kind: SourceKind::Secret,
            name: &obj,
            items: s.items.as_deref(),
            optional: s.optional,
        };
        (
            "secret",
            object_files(sources, name, key, s.default_mode).await?,
            true,
        )
    } else if let Some(d) = &v.downward_api {
        let files = downward_files(ctx, name, d.items.as_deref().unwrap_or(&[]), d.default_mode)?;
        ("downward-api", files, false)
    } else if let Some(p) = &v.projected {
        let mut files = BTreeMap::new();
        let srcs = p.sources.clone().unwrap_or_default();
        let default_mode = p.default_mode;
        for src in srcs {
            if let Some(c) = &src.config_map {
                let key = ObjectKeys {
                    kind: SourceKind::ConfigMap,
                    name: &c.name,
                    items: c.items.as_deref(),
                    optional: c.optional,
                };
                files.extend(object_files(sources, name, key, default_mode).await?);
            }
            if let Some(s) = &src.secret {
                let key = ObjectKeys {
                    kind: SourceKind::Secret,
                    name: &s.name,
                    items: s.items.as_deref(),
                    optional: s.optional,
                };
                files.extend(object_files(sources, name, key, default_mode).await?);
            }
            if let Some(d) = &src.downward_api {
                files.extend(downward_files(
                    ctx,
                    name,
                    d.items.as_deref().unwrap_or(&[]),
                    default_mode,
                )?);
            }
            if src.service_account_token.is_some() {
                return Err(verr(
                    name,
                    "serviceAccountToken projections are not supported by this kubelet",
                ));
            }
        }
        ("projected", files, true)
    } else {
        return Err(verr(name, "unsupported volume type"));
    };
    let dir = plugin_dir(ctx.pod_dir, plugin, name);
    if tmpfs {
        mount_tmpfs(&dir, None, name)?;
    } else {
        mkdir(&dir)?;
    }
    write_atomic(&dir, &files).map_err(|e| verr(name, e.to_string()))?;
    Ok(dir)
}

fn host_path(volume: &str, path: &str, kind: &str) -> Result<PathBuf> {
    let p = PathBuf::from(path);
    let meta = std::fs::metadata(&p);
    use std::os::unix::fs::FileTypeExt;
    let ok = match kind {
        "" => true,
        "DirectoryOrCreate" => {
            if meta.is_err() {
                mkdir(&p)?;
                let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755));
            }
            std::fs::metadata(&p).map(|m| m.is_dir()).unwrap_or(false)
        }
        "Directory" => meta.map(|m| m.is_dir()).unwrap_or(false),
        "FileOrCreate" => {
            if meta.is_err() {
                if let Some(parent) = p.parent() {
                    mkdir(parent)?;
                }
                std::fs::File::create(&p).map_err(|e| Error::io(&p, e))?;
            }
            std::fs::metadata(&p).map(|m| m.is_file()).unwrap_or(false)
        }
        "File" => meta.map(|m| m.is_file()).unwrap_or(false),
        "Socket" => meta.map(|m| m.file_type().is_socket()).unwrap_or(false),
        "CharDevice" => meta
            .map(|m| m.file_type().is_char_device())
            .unwrap_or(false),
        "BlockDevice" => meta
            .map(|m| m.file_type().is_block_device())
            .unwrap_or(false),
        other => return Err(verr(volume, format!("unknown hostPath type {other:?}"))),
    };
    if !ok {
        return Err(verr(
            volume,
            format!("hostPath type check failed: {path} is not a {kind}"),
        ));
    }
    Ok(p)
}

async fn claim_path(ctx: &VolumeContext<'_>, volume: &str, claim: &str) -> Result<PathBuf> {
    let ns = ctx.pod.metadata.namespace.clone().unwrap_or_default();
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &ns);
    let pvc = pvcs.get_opt(claim).await?.ok_or_else(|| {
        verr(
            volume,
            format!("persistentvolumeclaim \"{claim}\" not found"),
        )
    })?;
    let pv_name = pvc
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.clone())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            verr(
                volume,
                format!("persistentvolumeclaim \"{claim}\" is not bound"),
            )
        })?;
    let pvs: Api<PersistentVolume> = Api::all(ctx.client.clone());
    let pv = pvs
        .get_opt(&pv_name)
        .await?
        .ok_or_else(|| verr(volume, format!("persistentvolume \"{pv_name}\" not found")))?;
    let spec = pv.spec.unwrap_or_default();
    let path = spec
        .local
        .map(|l| l.path)
        .or(spec.host_path.map(|h| h.path))
        .ok_or_else(|| {
            verr(
                volume,
                format!("persistentvolume \"{pv_name}\" is neither local nor hostPath"),
            )
        })?;
    let p = PathBuf::from(&path);
    if !p.exists() {
        // hostPath PVs are created on demand, as the hostpath provisioner would.
        mkdir(&p)?;
    }
    Ok(p)
}

type Files = BTreeMap<String, (Vec<u8>, u32)>;

/// Which keys of which ConfigMap or Secret a volume (or projection) shows.
struct ObjectKeys<'a> {
    kind: SourceKind,
    name: &'a str,
    items: Option<&'a [KeyToPath]>,
    optional: Option<bool>,
}

/// The files a ConfigMap or Secret source contributes; none when it is optional and missing.
async fn object_files(
    sources: &mut Sources,
    volume: &str,
    keys: ObjectKeys<'_>,
    default_mode: Option<i32>,
) -> Result<Files> {
    let optional = keys.optional.unwrap_or(false);
    match sources
        .data(keys.kind, keys.name)
        .await
        .map_err(|e| verr(volume, e.0))?
    {
        Some(data) => key_files(
            volume,
            &data,
            keys.items,
            default_mode,
            optional,
            keys.kind.title(),
            keys.name,
        ),
        None if optional => Ok(Files::new()),
        None => Err(verr(volume, keys.kind.not_found(keys.name).0)),
    }
}

fn key_files(
    volume: &str,
    data: &BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    default_mode: Option<i32>,
    optional: bool,
    kind: &str,
    object: &str,
) -> Result<Files> {
    let mode = default_mode.unwrap_or(0o644) as u32;
    let mut out = Files::new();
    match items {
        Some(items) if !items.is_empty() => {
            for it in items {
                match data.get(&it.key) {
                    Some(v) => {
                        out.insert(
                            it.path.clone(),
                            (v.clone(), it.mode.map(|m| m as u32).unwrap_or(mode)),
                        );
                    }
                    None if optional => {}
                    None => {
                        return Err(verr(
                            volume,
                            format!(
                                "{} references non-existent key: {} ({kind} {object})",
                                kind.to_lowercase(),
                                it.key
                            ),
                        ));
                    }
                }
            }
        }
        _ => {
            for (k, v) in data {
                out.insert(k.clone(), (v.clone(), mode));
            }
        }
    }
    Ok(out)
}

fn downward_files(
    ctx: &VolumeContext<'_>,
    volume: &str,
    items: &[DownwardAPIVolumeFile],
    default_mode: Option<i32>,
) -> Result<Files> {
    let mode = default_mode.unwrap_or(0o644) as u32;
    let meta = &ctx.pod.metadata;
    let mut out = Files::new();
    for it in items {
        let value = if let Some(f) = &it.field_ref {
            match f.field_path.as_str() {
                "metadata.name" => meta.name.clone().unwrap_or_default(),
                "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
                "metadata.uid" => meta.uid.clone().unwrap_or_default(),
                "metadata.labels" => render_map(meta.labels.as_ref()),
                "metadata.annotations" => render_map(meta.annotations.as_ref()),
                p => {
                    let key = p
                        .strip_prefix("metadata.labels['")
                        .map(|k| (k, meta.labels.as_ref()))
                        .or_else(|| {
                            p.strip_prefix("metadata.annotations['")
                                .map(|k| (k, meta.annotations.as_ref()))
                        });
                    match key {
                        Some((k, m)) => m
                            .and_then(|m| m.get(k.trim_end_matches("']")).cloned())
                            .unwrap_or_default(),
                        None => return Err(verr(volume, format!("unsupported fieldRef {p:?}"))),
                    }
                }
            }
        } else if let Some(r) = &it.resource_field_ref {
            let cname = r.container_name.clone().unwrap_or_default();
            let c = super::env::find_container(ctx.pod, &cname)
                .ok_or_else(|| verr(volume, format!("container {cname:?} not found")))?;
            resource_value(
                c,
                &r.resource,
                r.divisor.as_ref().map(|d| d.0.as_str()),
                ctx.node_allocatable,
            )
            .map_err(|e| verr(volume, e.0))?
        } else {
            continue;
        };
        out.insert(
            it.path.clone(),
            (
                value.into_bytes(),
                it.mode.map(|m| m as u32).unwrap_or(mode),
            ),
        );
    }
    Ok(out)
}

fn safe_rel(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && Path::new(p)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

fn current_files(dir: &Path) -> Option<Files> {
    let data = dir.join("..data");
    let mut out = Files::new();
    fn walk(base: &Path, dir: &Path, out: &mut Files) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            let p = e.path();
            if e.file_type()?.is_dir() {
                walk(base, &p, out)?;
            } else {
                let rel = p.strip_prefix(base).map_err(std::io::Error::other)?;
                let mode = e.metadata()?.permissions().mode() & 0o7777;
                out.insert(rel.display().to_string(), (std::fs::read(&p)?, mode));
            }
        }
        Ok(())
    }
    walk(&data, &data, &mut out).ok()?;
    Some(out)
}

/// Writes `files` under `dir` the atomic-writer way; no-op when nothing changed.
pub fn write_atomic(dir: &Path, files: &Files) -> std::io::Result<()> {
    if current_files(dir).as_ref() == Some(files) {
        return Ok(());
    }
    let stamp = format!(
        "..{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let new = dir.join(&stamp);
    std::fs::create_dir_all(&new)?;
    for (rel, (bytes, mode)) in files {
        if !safe_rel(rel) {
            return Err(std::io::Error::other(format!("invalid path {rel:?}")));
        }
        let p = new.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, bytes)?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode))?;
    }
    let old = std::fs::read_link(dir.join("..data")).ok();
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&stamp, &tmp)?;
    std::fs::rename(&tmp, dir.join("..data"))?;
    let tops: std::collections::BTreeSet<String> = files
        .keys()
        .filter_map(|k| k.split('/').next().map(str::to_string))
        .collect();
    for t in &tops {
        let link = dir.join(t);
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(Path::new("..data").join(t), &link)?;
        }
    }
    for e in std::fs::read_dir(dir)?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with("..") && !tops.contains(&name) {
            let _ = std::fs::remove_file(e.path());
        }
    }
    if let Some(old) = old {
        let _ = std::fs::remove_dir_all(dir.join(old));
    }
    Ok(())
}

/// Unmounts every tmpfs of the pod's volumes and removes the pod's volume dirs.
pub fn teardown(pod_dir: &Path) -> Result<()> {
    let vols = pod_dir.join("volumes");
    for m in rootfs::mounts_under(&vols) {
        nix::mount::umount2(&m, nix::mount::MntFlags::MNT_DETACH)
            .map_err(|e| Error::Runtime(format!("unmounting {}: {e}", m.display())))?;
    }
    match std::fs::remove_dir_all(&vols) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(&vols, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writer_swaps_and_prunes() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = Files::new();
        f.insert("a".into(), (b"1".to_vec(), 0o644));
        f.insert("sub/b".into(), (b"2".to_vec(), 0o600));
        write_atomic(dir.path(), &f).unwrap();
        assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"1");
        assert_eq!(std::fs::read(dir.path().join("sub/b")).unwrap(), b"2");
        let mut g = Files::new();
        g.insert("a".into(), (b"3".to_vec(), 0o644));
        write_atomic(dir.path(), &g).unwrap();
        assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"3");
        assert!(!dir.path().join("sub").exists());
        let stamps = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("..1"))
            .count();
        assert_eq!(stamps, 1);
        let mut bad = Files::new();
        bad.insert("../x".into(), (vec![], 0o644));
        assert!(write_atomic(dir.path(), &bad).is_err());
    }
}
