//! A container's files: the archive endpoints `docker cp` uses (stat, get, put), export,
//! changes (`docker diff`) and commit (also a build step's: `container_changes`,
//! `commit_changes`). `cp` and export run chrooted in the container's
//! filesystem view ([`fsview`]): every path is resolved by the kernel inside the container. A running container's overlay is mounted in the host
//! namespace already; a stopped or created one is mounted for the operation and unmounted
//! after, as docker does (a count per container keeps concurrent operations safe).

use super::{fsview, Container};
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::images::map_err;
use crate::model::MountPoint;
use berth_api::pathstat::{go_mode, PathStat};
use berth_api::tarfs::{go_base, go_clean, Markers, TarWriter};
use berth_image::diff::Change;
use berth_image::mounter::Mounter;
use berth_inroot::{Follow, Root};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex as StdMutex};
use tracing::{debug, warn};

/// Temporary rootfs mounts in use, per container id.
static LEASES: LazyLock<StdMutex<HashMap<String, usize>>> =
    LazyLock::new(|| StdMutex::new(HashMap::new()));

fn leases() -> std::sync::MutexGuard<'static, HashMap<String, usize>> {
    LEASES.lock().unwrap_or_else(|e| e.into_inner())
}

/// The container's mounted rootfs, for the duration of one operation.
pub struct RootfsLease {
    container: Arc<Container>,
    /// Unmounts a temporary rootfs when the last lease ends.
    mounter: Arc<dyn Mounter>,
    dir: PathBuf,
    pub rootfs: PathBuf,
    temporary: bool,
}

impl RootfsLease {
    /// Ends the lease: the last temporary user unmounts a rootfs the container does not use.
    pub async fn release(self) {
        if !self.temporary {
            return;
        }
        let last = {
            let mut l = leases();
            let n = l.entry(self.container.id.clone()).or_insert(1);
            *n = n.saturating_sub(1);
            let last = *n == 0;
            if last {
                l.remove(&self.container.id);
            }
            last
        };
        let rec = self.container.record.lock().await;
        if last && !rec.state.status.is_running() {
            let (dir, mounter) = (self.dir.clone(), self.mounter.clone());
            let r = tokio::task::spawn_blocking(move || mounter.unmount_rootfs(&dir)).await;
            if let Ok(Err(e)) = r {
                warn!(id = %self.container.id, error = %e, "unmounting temporary rootfs");
            }
        }
    }
}

/// What `GET /containers/{id}/archive` and `/export` stream: the writer goes to the task
/// (or filesystem view thread) that resolved the path, which writes the tar.
pub struct ArchiveSource {
    lease: RootfsLease,
    writer: std::sync::mpsc::SyncSender<Box<dyn Write + Send>>,
    done: tokio::sync::oneshot::Receiver<Result<()>>,
}

impl ArchiveSource {
    /// Writes the tar to `w`, then releases the rootfs.
    pub async fn write_to(self, w: impl Write + Send + 'static) -> Result<()> {
        let sent = self.writer.send(Box::new(w));
        drop(self.writer);
        let r = fsview::answer(self.done).await;
        self.lease.release().await;
        if sent.is_err() {
            return Err(EngineError::Internal("archive task ended".to_string()));
        }
        r
    }
}

/// The blocking half of an archive: waits for the writer, then writes `host` as `name`.
fn write_tree(
    writer: std::sync::mpsc::Receiver<Box<dyn Write + Send>>,
    host: &Path,
    name: &[u8],
    ids: Option<berth_api::idmap::IdMappings>,
) -> Result<()> {
    let Ok(w) = writer.recv() else {
        return Ok(());
    };
    // A remapped daemon's files are written with the owners the container sees.
    let mut tw = TarWriter::new(w, Markers::Keep).with_id_map(ids);
    let r = tw.write_tree(host, name);
    // Files whose host owner the container cannot see are left out (moby logs them).
    for line in tw.take_skipped() {
        tracing::error!("{line}");
    }
    r.and_then(|()| tw.finish().map(|_| ()))
        .map_err(|e| EngineError::internal("writing archive", e))
}

/// Options of `PUT /containers/{id}/archive`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PutOptions {
    pub no_overwrite_dir_non_dir: bool,
    pub copy_uid_gid: bool,
}

/// Options of `POST /commit`.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    pub reference: Option<String>,
    pub author: String,
    pub comment: String,
    pub changes: Vec<String>,
    pub pause: bool,
}

/// moby's PreserveTrailingDotOrSeparator over the cleaned absolute form of `path`.
fn abs_path(path: &str) -> String {
    let mut abs = go_clean(&format!("/{path}"));
    if (path.ends_with("/.") || path == ".") && !abs.ends_with("/.") {
        abs.push_str(if abs.ends_with('/') { "." } else { "/." });
    } else if path.ends_with('/') && !abs.ends_with('/') {
        abs.push('/');
    }
    abs
}

fn not_found(path: &str, container: &str) -> EngineError {
    EngineError::NotFound(format!(
        "Could not find the file {path} in container {container}"
    ))
}

fn rfc3339_nano(secs: i64, nsec: i64) -> String {
    let t = chrono::DateTime::from_timestamp(secs, u32::try_from(nsec).unwrap_or(0))
        .unwrap_or_default();
    let s = t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    // Go's RFC3339Nano drops trailing zeros of the fraction.
    match s.strip_suffix('Z').and_then(|b| b.split_once('.')) {
        Some((base, frac)) => {
            let f = frac.trim_end_matches('0');
            if f.is_empty() {
                format!("{base}Z")
            } else {
                format!("{base}.{f}Z")
            }
        }
        None => s,
    }
}

/// moby's ResolvePath + StatPath inside `root` (in the filesystem view: `/`): the last
/// element is not followed unless the path ends with `/` or `/.`; a symlink's target is
/// fully resolved inside the root. Returns the path to read (under `root`), the archive
/// name and the stat.
fn resolve_and_stat(
    root: &Path,
    path: &str,
    container: &str,
) -> Result<(PathBuf, String, PathStat)> {
    let abs = abs_path(path);
    let split = abs.rfind('/').map_or(0, |i| i + 1);
    let (dir_part, base_part) = abs.split_at(split);
    let r = Root::at(root).map_err(|e| EngineError::internal("opening the rootfs", e))?;
    let in_root = |p: &Path| root.join(p.strip_prefix("/").unwrap_or(p));
    let missing = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
        )
    };
    let rdir = match r.canonical(dir_part, Follow::All) {
        Ok(d) => d,
        Err(e) if missing(&e) => return Err(not_found(path, container)),
        Err(e) => return Err(EngineError::internal("resolving path", e)),
    };
    let resolved = if base_part.is_empty() || base_part == "." {
        rdir
    } else {
        rdir.join(base_part)
    };
    let md = match r.stat(&resolved, Follow::NotLast) {
        Ok(m) => m,
        Err(e) if missing(&e) => return Err(not_found(path, container)),
        Err(e) => return Err(EngineError::internal("stat", e)),
    };
    let mut link_target = String::new();
    let is_link = rustix::fs::FileType::from_raw_mode(md.st_mode) == rustix::fs::FileType::Symlink;
    if is_link {
        let full = r
            .canonical(&abs, Follow::All)
            .map_err(|e| EngineError::internal("resolving link", e))?;
        link_target = full.display().to_string();
    }
    let name = go_base(&abs);
    let stat = PathStat {
        name: name.clone(),
        size: md.st_size,
        mode: go_mode(md.st_mode),
        mtime: rfc3339_nano(md.st_mtime, i64::try_from(md.st_mtime_nsec).unwrap_or(0)),
        link_target,
    };
    Ok((in_root(&resolved), name, stat))
}

impl Engine {
    /// Mounts (or reuses) the container's rootfs for one operation.
    pub async fn lease_rootfs(&self, c: &Arc<Container>) -> Result<RootfsLease> {
        let dir = self.dir(&c.id);
        let rec = c.record.lock().await;
        if rec.state.status.is_running() {
            return Ok(RootfsLease {
                container: c.clone(),
                mounter: self.mounter.clone(),
                rootfs: dir.join("bundle/rootfs"),
                dir,
                temporary: false,
            });
        }
        let image = self.images.get(&rec.image_id).await?;
        let mut layers = self.images.layer_dirs(&image).await?;
        layers.push(self.init_layer.clone());
        *leases().entry(c.id.clone()).or_insert(0) += 1;
        let (d, mounter) = (dir.clone(), self.mounter.clone());
        let mounted = tokio::task::spawn_blocking(move || mounter.mount_rootfs(&layers, &d))
            .await
            .map_err(|e| EngineError::internal("mount task", e))
            .and_then(|r| r.map_err(|e| EngineError::internal("cannot mount container rootfs", e)));
        drop(rec);
        let lease = RootfsLease {
            container: c.clone(),
            mounter: self.mounter.clone(),
            rootfs: dir.join("bundle/rootfs"),
            dir,
            temporary: true,
        };
        match mounted {
            Ok(rootfs) => {
                debug!(id = %c.id, "temporary rootfs mount");
                Ok(RootfsLease { rootfs, ..lease })
            }
            Err(e) => {
                lease.release().await;
                Err(e)
            }
        }
    }

    /// The container's volumes and binds, as `cp` shows them.
    async fn view_of(&self, c: &Container) -> (Vec<MountPoint>, Vec<fsview::ViewMount>) {
        let points = c.record.lock().await.mount_points.clone();
        let mounts = fsview::view_mounts(&points);
        (points, mounts)
    }

    /// `HEAD /containers/{id}/archive?path=`.
    pub async fn archive_stat(&self, name: &str, path: &str) -> Result<PathStat> {
        check_path(path)?;
        let c = self.get(name)?;
        let (_, mounts) = self.view_of(&c).await;
        let lease = self.lease_rootfs(&c).await?;
        let (rootfs, path_s, name_s) = (lease.rootfs.clone(), path.to_string(), name.to_string());
        let rx = fsview::spawn_in_view(rootfs, mounts, move || {
            resolve_and_stat(Path::new("/"), &path_s, &name_s).map(|r| r.2)
        });
        let r = fsview::answer(rx).await;
        lease.release().await;
        r
    }

    /// `GET /containers/{id}/archive?path=`: the stat and the tar to stream.
    pub async fn archive_get(&self, name: &str, path: &str) -> Result<(PathStat, ArchiveSource)> {
        check_path(path)?;
        let c = self.get(name)?;
        let (_, mounts) = self.view_of(&c).await;
        let lease = self.lease_rootfs(&c).await?;
        let (rootfs, path_s, name_s) = (lease.rootfs.clone(), path.to_string(), name.to_string());
        let (stat_tx, stat_rx) = tokio::sync::oneshot::channel();
        let (writer, writer_rx) = std::sync::mpsc::sync_channel(1);
        // The owners go out as the host has them, as moby's containerArchivePath writes
        // them (TarResourceRebaseOpts carries no IDMap; export and commit do map them).
        let ids = None;
        let done = fsview::spawn_in_view(rootfs, mounts, move || {
            let (host, base, stat) = match resolve_and_stat(Path::new("/"), &path_s, &name_s) {
                Ok(r) => r,
                Err(e) => {
                    let _ = stat_tx.send(Err(e));
                    return Ok(());
                }
            };
            let _ = stat_tx.send(Ok(stat));
            let name = if base == "/" {
                Vec::new()
            } else {
                base.into_bytes()
            };
            write_tree(writer_rx, &host, &name, ids)
        });
        let stat = match stat_rx.await {
            Ok(Ok(stat)) => stat,
            Ok(Err(e)) => {
                lease.release().await;
                return Err(e);
            }
            // The view failed before the stat: its answer says why.
            Err(_) => {
                let e = fsview::answer(done)
                    .await
                    .err()
                    .unwrap_or_else(|| EngineError::Internal("archive task ended".to_string()));
                lease.release().await;
                return Err(e);
            }
        };
        Ok((
            stat,
            ArchiveSource {
                lease,
                writer,
                done,
            },
        ))
    }

    /// `PUT /containers/{id}/archive?path=`: extracts a tar into the directory `path`.
    pub async fn archive_put(
        &self,
        name: &str,
        path: &str,
        body: impl Read + Send + 'static,
        opts: PutOptions,
    ) -> Result<()> {
        check_path(path)?;
        let c = self.get(name)?;
        let (readonly, user) = {
            let rec = c.record.lock().await;
            (rec.host_config.readonly_rootfs, rec.config.user.clone())
        };
        let (points, mounts) = self.view_of(&c).await;
        let lease = self.lease_rootfs(&c).await?;
        let rootfs = lease.rootfs.clone();
        let (path_s, name_s) = (path.to_string(), name.to_string());
        let mut body = body;
        let ids = self.cfg.id_map.clone();
        let rx = fsview::spawn_in_view(rootfs, mounts, move || {
            let target = Target {
                rootfs: Path::new("/"),
                path: &path_s,
                container: &name_s,
                readonly,
                points: &points,
                ids,
            };
            let r = extract(&mut body, &target, &user, opts);
            // Read what the client still sends (after a refusal, or the tar's trailing zero
            // blocks after a success) so it sees our answer rather than a broken pipe (Go's
            // server does the same, up to 256 KiB).
            let _ = std::io::copy(&mut (&mut body).take(1 << 20), &mut std::io::sink());
            r
        });
        let r = fsview::answer(rx).await;
        lease.release().await;
        r
    }

    /// `GET /containers/{id}/export`: the merged rootfs (without volumes, as Docker's).
    pub async fn export(&self, name: &str) -> Result<ArchiveSource> {
        let c = self.get(name)?;
        let lease = self.lease_rootfs(&c).await?;
        let host = lease.rootfs.clone();
        let (writer, writer_rx) = std::sync::mpsc::sync_channel(1);
        let ids = self.cfg.id_map.clone();
        let done = fsview::spawn_in_view(host, Vec::new(), move || {
            write_tree(writer_rx, Path::new("/"), &[], ids)
        });
        Ok(ArchiveSource {
            lease,
            writer,
            done,
        })
    }

    /// `GET /containers/{id}/changes`.
    pub async fn changes(&self, name: &str) -> Result<Vec<Change>> {
        let c = self.get(name)?;
        let image_id = c.record.lock().await.image_id.clone();
        let image = self.images.get(&image_id).await?;
        let mut lowers = self.images.layer_dirs(&image).await?;
        lowers.push(self.init_layer.clone());
        let dir = self.dir(&c.id);
        tokio::task::spawn_blocking(move || {
            if dir.join("rootfs.vfs").exists() {
                return Err(EngineError::Internal(
                    "changes are not available for a copied (vfs) rootfs".to_string(),
                ));
            }
            berth_image::diff::changes(&berth_image::snapshot::upper_dir(&dir), &lowers)
                .map_err(map_err)
        })
        .await
        .map_err(|e| EngineError::internal("changes task", e))?
    }

    /// `POST /commit`: returns the new image id.
    pub async fn commit(&self, name: &str, opts: CommitOptions) -> Result<String> {
        let c = self.get(name)?;
        let rec = c.snapshot().await;
        let dir = self.dir(&c.id);
        if dir.join("rootfs.vfs").exists() {
            return Err(EngineError::Internal(
                "commit is not available for a copied (vfs) rootfs".to_string(),
            ));
        }
        let mut cfg = rec.config.clone().for_image();
        berth_image::apply_changes(&mut cfg, &opts.changes).map_err(map_err)?;
        // The builder's ENTRYPOINT resets an inherited CMD unless CMD is set as well.
        let kw = |c: &String, k: &str| {
            c.split_whitespace()
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case(k))
        };
        if opts.changes.iter().any(|c| kw(c, "ENTRYPOINT"))
            && !opts.changes.iter().any(|c| kw(c, "CMD"))
        {
            cfg.cmd = None;
        }
        let cgroup = if opts.pause && rec.state.status.is_running() {
            let rel = cgroup_rel(&dir, &c.id);
            match tokio::task::spawn_blocking({
                let rel = rel.clone();
                move || berth_runtime::cgroups::freeze(&rel, true)
            })
            .await
            .map_err(|e| EngineError::internal("freeze task", e))?
            {
                Ok(()) => Some(rel),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    warn!(id = %c.id, error = %e, "no cgroup freezer: committing without pausing");
                    None
                }
                Err(e) => return Err(EngineError::internal("Cannot pause container", e)),
            }
        } else {
            None
        };
        let store = self.images.store().clone();
        let reference = opts.reference.clone();
        let comment = opts.comment.clone();
        let created_by = rec.config.cmd.clone().unwrap_or_default().join(" ");
        let (parent, cid) = (rec.image_id.clone(), rec.id.clone());
        let r = tokio::task::spawn_blocking(move || {
            let upper = berth_image::snapshot::upper_dir(&dir);
            std::fs::create_dir_all(&upper)
                .map_err(|e| EngineError::internal("creating upper dir", e))?;
            store
                .commit(&berth_image::CommitRequest {
                    parent: &parent,
                    upper: &upper,
                    config: &cfg,
                    container_id: &cid,
                    author: &opts.author,
                    comment: &opts.comment,
                    created_by: &created_by,
                    reference: opts.reference.as_deref(),
                })
                .map_err(map_err)
        })
        .await
        .map_err(|e| EngineError::internal("commit task", e));
        if let Some(rel) = cgroup {
            let thawed =
                tokio::task::spawn_blocking(move || berth_runtime::cgroups::freeze(&rel, false))
                    .await;
            if !matches!(thawed, Ok(Ok(()))) {
                warn!(id = %c.id, "cannot thaw container after commit");
            }
        }
        let id = r??;
        // moby's CreateImageFromContainer: the new tag is a `tag` image event, then the
        // container's `commit` event names the image.
        let image_ref = reference
            .filter(|r| !r.is_empty())
            .map(|r| berth_image::Reference::parse_tagged(&r).map_or(r, |n| n.familiar_string()))
            .unwrap_or_default();
        if !image_ref.is_empty() {
            self.images.event("tag", &id, &image_ref).await;
        }
        self.events.container(
            &rec,
            "commit",
            &[
                ("comment", comment),
                ("imageID", id.clone()),
                ("imageRef", image_ref),
            ],
        );
        Ok(id)
    }
}

impl Engine {
    /// The files a stopped container wrote (its writable layer), opened as a directory
    /// for a client that edits them before [`Engine::commit_changes`] (the builder drops
    /// the mount points a RUN's mounts left behind). Resolve inside it through the `Root`.
    pub fn container_changes(&self, name: &str) -> Result<Root> {
        let c = self.get(name)?;
        let upper = berth_image::snapshot::upper_dir(&self.dir(&c.id));
        Root::at(&upper).map_err(|e| EngineError::internal("opening the container's changes", e))
    }

    /// Commits what container `name` wrote as one layer on its image, with `config` and
    /// the history line `created_by` and `author` (a stage's MAINTAINER): a build step (no
    /// pause, no reference).
    pub async fn commit_changes(
        &self,
        name: &str,
        config: berth_image::ContainerConfig,
        created_by: &str,
        author: &str,
    ) -> Result<String> {
        let c = self.get(name)?;
        let (parent, cid) = (c.record.lock().await.image_id.clone(), c.id.clone());
        let upper = berth_image::snapshot::upper_dir(&self.dir(&c.id));
        let store = self.images.store().clone();
        let (created_by, author) = (created_by.to_string(), author.to_string());
        tokio::task::spawn_blocking(move || {
            store
                .commit(&berth_image::CommitRequest {
                    parent: &parent,
                    upper: &upper,
                    config: &config,
                    container_id: &cid,
                    author: &author,
                    comment: "",
                    created_by: &created_by,
                    reference: None,
                })
                .map_err(map_err)
        })
        .await
        .map_err(|e| EngineError::internal("commit task", e))?
    }
}

/// Where `archive_put` extracts.
struct Target<'a> {
    rootfs: &'a Path,
    path: &'a str,
    container: &'a str,
    readonly: bool,
    points: &'a [MountPoint],
    /// A remapped daemon's maps: the tar's owners are container ids.
    ids: Option<berth_api::idmap::IdMappings>,
}

/// The blocking part of `archive_put` (moby's containerExtractToDir checks, in its order).
fn extract(body: &mut dyn Read, t: &Target<'_>, user: &str, opts: PutOptions) -> Result<()> {
    let (rootfs, path, name) = (t.rootfs, t.path, t.container);
    let r = Root::at(rootfs).map_err(|e| EngineError::internal("opening the rootfs", e))?;
    let Ok(canon) = r.canonical(path, Follow::All) else {
        return Err(not_found(path, name));
    };
    match r.stat(&canon, Follow::NotLast) {
        Ok(st)
            if rustix::fs::FileType::from_raw_mode(st.st_mode)
                == rustix::fs::FileType::Directory => {}
        Ok(_) => {
            return Err(EngineError::InvalidParameter(
                "extraction point is not a directory".to_string(),
            ))
        }
        Err(_) => return Err(not_found(path, name)),
    }
    let abs = canon.display().to_string();
    let to_volume = fsview::check_writable(t.points, &abs)?;
    if !to_volume && t.readonly {
        return Err(EngineError::InvalidParameter(
            "container rootfs is marked read-only".to_string(),
        ));
    }
    let chown = if opts.copy_uid_gid && !user.is_empty() {
        let (uid, gid, _) = berth_runtime::user::resolve_user(rootfs, user)
            .map_err(|e| EngineError::InvalidParameter(e.to_string()))?;
        Some((uid, gid))
    } else {
        None
    };
    let uo = berth_image::UnpackOptions {
        whiteouts: false,
        no_overwrite_dir_non_dir: opts.no_overwrite_dir_non_dir,
        chown,
        id_map: t.ids.clone(),
    };
    // The extraction point as a descriptor: the hardened writer works below it.
    let dest = r
        .open(
            &canon,
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY,
            Follow::NotLast,
        )
        .map_err(|e| EngineError::internal("opening the extraction point", e))?;
    berth_image::unpack_into(body, dest, &uo).map_err(map_err)?;
    Ok(())
}

/// docker refuses an empty `path`.
fn check_path(path: &str) -> Result<()> {
    if path.is_empty() {
        return Err(EngineError::InvalidParameter(
            "Path cannot be empty".to_string(),
        ));
    }
    Ok(())
}

/// The container's cgroup path, as its bundle spec names it.
fn cgroup_rel(dir: &Path, id: &str) -> String {
    std::fs::read(dir.join("bundle/config.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| {
            v.pointer("/linux/cgroupsPath")
                .and_then(|p| p.as_str())
                .map(str::to_string)
        })
        .map(|p| berth_runtime::systemd_cgroup::cgroup_of(&p))
        .unwrap_or_else(|| format!("/berth/{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abs_paths_keep_trailing_markers() {
        assert_eq!(abs_path("d"), "/d");
        assert_eq!(abs_path("/d/"), "/d/");
        assert_eq!(abs_path("/d/."), "/d/.");
        assert_eq!(abs_path("/"), "/");
        assert_eq!(abs_path("/a/../b"), "/b");
        assert_eq!(abs_path("../../etc"), "/etc");
    }

    #[test]
    fn stat_resolves_inside_the_rootfs() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("d")).unwrap();
        std::fs::write(r.join("d/a.txt"), b"hi").unwrap();
        std::os::unix::fs::symlink("/d/a.txt", r.join("d/link")).unwrap();
        std::os::unix::fs::symlink("/d", r.join("dl")).unwrap();
        let (_, _, st) = resolve_and_stat(r, "/d/link", "c").unwrap();
        assert_eq!(st.link_target, "/d/a.txt");
        assert!(st.is_symlink());
        let (host, name, st) = resolve_and_stat(r, "/dl/", "c").unwrap();
        assert_eq!(host, r.join("d"));
        assert_eq!(name, "dl");
        assert!(st.is_dir());
        let e = resolve_and_stat(r, "/nope", "c").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Could not find the file /nope in container c"
        );
        assert_eq!(e.status(), 404);
    }
}
