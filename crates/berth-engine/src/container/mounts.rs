//! A container's mounts: `-v` binds, `--mount`, `--tmpfs`, `--volumes-from` and the
//! image's/config's `VOLUME`s resolved into mount points at create (with Docker's checks
//! and messages), stored in the record, turned into runtime mounts at start (after
//! Docker's copy-up), shown in inspect, and their anonymous volumes removed with `rm -v`.
//!
//! At create, an empty volume gets a copy-up of the image's files
//! (`container/volume_life.rs` → `volumes/copyup.rs`, reading inside the rootfs and writing
//! with the hardened writer below the volume's descriptor; the rootfs is mounted for it
//! only when a volume wants copying). At start: local-driver mounts (and their copy-up for
//! `-o type=` volumes, mounted as moby's local driver does), `--mount volume-subpath=` as
//! moby's safepath (opened once and checked on the descriptor: it must exist and symlinks
//! may not leave the volume; pinned by a bind at `containers/<id>/subpath/<n>` that is
//! removed once the runtime mounted it, so a container sharing the volume cannot swap it in
//! between), the working directory made inside the rootfs (`berth_inroot`). At daemon start
//! local-driver filesystems without running users are unmounted.
//!
//! Bind propagation is moby's: a bind of the data root (or a parent) is made rslave at
//! create unless given (`bind_of_data_root`; only rslave/rshared may be given); at start
//! `shared`/`slave` are checked against the source's mount (`Mounter::source_mount`) with
//! moby's "is not a shared (or slave) mount" (the daemon keeps its data root a shared
//! mount: berth-daemon `root_propagation.rs`), and the rootfs propagation
//! (`linux.rootfsPropagation`) is asked of the runtime (`check_propagation`; berth's init
//! honours it as runc's prepareRoot).

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::model::{ContainerRecord, MountPoint};
use crate::volumes::{copyup, CreateOptions};
use berth_api::models::{ContainerConfig, HostConfig, Mount};
use berth_runtime::spec::MountSpec;
use rustix::fs::{Mode, OFlags, ResolveFlags};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use tracing::{debug, warn};

fn invalid(m: impl Into<String>) -> EngineError {
    EngineError::InvalidParameter(m.into())
}

fn abs_path_err(typ: &str, p: &str) -> String {
    format!("invalid mount config for type \"{typ}\": invalid mount path: '{p}' mount path must be absolute")
}

const PROPAGATIONS: [&str; 6] = [
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];

/// Docker's valid `-v` modes: comma-separated rw/ro, z/Z, nocopy, one propagation.
fn valid_mode(mode: &str) -> bool {
    let (mut rw, mut label, mut prop, mut copy) = (0, 0, 0, 0);
    for m in mode.split(',') {
        match m {
            "rw" | "ro" => rw += 1,
            "z" | "Z" => label += 1,
            "nocopy" => copy += 1,
            p if PROPAGATIONS.contains(&p) => prop += 1,
            _ => return false,
        }
    }
    rw <= 1 && label <= 1 && prop <= 1 && copy <= 1
}

/// Parses one `-v`/Binds entry (`[src:]dst[:mode]`), as moby's linux parser.
pub fn parse_bind(spec: &str) -> Result<MountPoint> {
    let bad_spec = || invalid(format!("invalid volume specification: '{spec}'"));
    let parts: Vec<&str> = spec.split(':').collect();
    let (src, dst, mode) = match parts.as_slice() {
        [d] => ("", *d, ""),
        // A destination with a mode is no volume (moby: `/foo:rw` is an invalid spec).
        [_, b] if valid_mode(b) && !b.is_empty() => return Err(bad_spec()),
        [s, d] => (*s, *d, ""),
        [s, d, m] => (*s, *d, *m),
        _ => return Err(bad_spec()),
    };
    if dst.is_empty() {
        return Err(bad_spec());
    }
    if !mode.is_empty() && !valid_mode(mode) {
        return Err(invalid(format!("invalid mode: {mode}")));
    }
    let bind = src.starts_with('/');
    let typ = if bind { "bind" } else { "volume" };
    if !dst.starts_with('/') {
        return Err(invalid(format!(
            "invalid volume specification: '{spec}': {}",
            abs_path_err(typ, dst)
        )));
    }
    if dst == "/" {
        return Err(invalid(format!(
            "invalid volume specification: '{spec}': invalid mount config for type \"{typ}\": invalid specification: destination can't be '/'"
        )));
    }
    let modes: Vec<&str> = mode.split(',').filter(|m| !m.is_empty()).collect();
    let rw = !modes.contains(&"ro");
    let propagation = modes
        .iter()
        .find(|m| PROPAGATIONS.contains(m))
        .map(|m| m.to_string());
    if !bind && propagation.is_some() {
        return Err(invalid(format!(
            "invalid volume specification: '{spec}': invalid mount config for type \"volume\": propagation is not supported for volumes"
        )));
    }
    Ok(MountPoint {
        typ: typ.into(),
        name: if bind { String::new() } else { src.to_string() },
        source: if bind { clean(src) } else { String::new() },
        destination: clean(dst),
        driver: if bind { String::new() } else { "local".into() },
        mode: if !bind && mode.is_empty() && !src.is_empty() {
            "z".into()
        } else {
            mode.into()
        },
        rw,
        propagation_given: propagation.is_some(),
        propagation: if bind {
            propagation.unwrap_or_else(|| "rprivate".into())
        } else {
            String::new()
        },
        copy_data: !bind && !modes.contains(&"nocopy"),
        named: !src.is_empty(),
        create_source: bind,
        ..Default::default()
    })
}

/// `/a//./b/../c/` -> `/a/c`, as Go's filepath.Clean for absolute paths.
pub(super) fn clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for s in p.split('/') {
        match s {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Where pinned subpaths live in a container's directory (see [`pin_subpath`]).
const SUBPATH_PINS: &str = "subpath";

/// moby's safepath.Join: `sub` inside the volume directory `base` must exist and, its
/// symlinks followed, stay inside the volume; the result is pinned: opened once (the
/// check is made on that descriptor, not on a path) and bind-mounted at
/// `<container dir>/subpath/<n>`, a place only the daemon writes. The runtime mounts the
/// pin, so a container sharing the volume cannot swap the subpath for a symlink between
/// the check and the mount. Returns the pin's path and a descriptor of the target (for the
/// copy-up); [`release_subpaths`] removes the pins once the runtime made its mounts.
fn pin_subpath(base: &Path, sub: &str, dir: &Path, n: usize) -> Result<(PathBuf, OwnedFd)> {
    let joined = base.join(sub);
    let not_found = |why: String| {
        // Worded as Go's error, so clients map it as they do dockerd's (exit 127 on run).
        let p = joined.display();
        EngineError::NotFound(format!("cannot access path {p}: lstat {p}: {why}"))
    };
    let base_fd = rustix::fs::open(
        base,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| EngineError::internal("open volume directory", std::io::Error::from(e)))?;
    let target = match rustix::fs::openat2(
        &base_fd,
        sub,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOSYS) => {
            rustix::fs::openat(&base_fd, sub, OFlags::PATH | OFlags::CLOEXEC, Mode::empty())
                .map_err(|e| not_found(std::io::Error::from(e).to_string()))?
        }
        Err(rustix::io::Errno::NOENT) => return Err(not_found("no such file or directory".into())),
        Err(e) => return Err(not_found(std::io::Error::from(e).to_string())),
    };
    // Where the kernel says the descriptors are: the target must be inside the volume.
    let real = berth_inroot::tree::host_path(target.as_fd())
        .map_err(|e| EngineError::internal("resolve volume subpath", e))?;
    let real_base = berth_inroot::tree::host_path(base_fd.as_fd())
        .map_err(|e| EngineError::internal("resolve volume directory", e))?;
    if !real.starts_with(&real_base) {
        return Err(invalid(format!(
            "path concatenation escapes the base directory: (base: {:?}, subpath: {sub:?})",
            base.display().to_string()
        )));
    }
    let is_dir = berth_inroot::tree::is_dir(&target)
        .map_err(|e| EngineError::internal("resolve volume subpath", e))?;
    let pins = dir.join(SUBPATH_PINS);
    std::fs::create_dir_all(&pins).map_err(|e| EngineError::internal("subpath pins", e))?;
    let pin = pins.join(n.to_string());
    if is_dir {
        std::fs::create_dir_all(&pin).map_err(|e| EngineError::internal("subpath pin", e))?;
    } else {
        std::fs::write(&pin, b"").map_err(|e| EngineError::internal("subpath pin", e))?;
    }
    nix::mount::mount(
        Some(&berth_inroot::tree::proc_path(target.as_fd())),
        &pin,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND | nix::mount::MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| EngineError::internal("pinning the volume subpath", e))?;
    Ok((pin, target))
}

/// Removes the subpath pins of the container in `dir` (after the runtime mounted them, or
/// left by a start that failed or a daemon that stopped in between).
pub(crate) fn release_subpaths(dir: &Path) {
    let pins = dir.join(SUBPATH_PINS);
    let Ok(rd) = std::fs::read_dir(&pins) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let _ = nix::mount::umount2(&p, nix::mount::MntFlags::MNT_DETACH);
        let _ = std::fs::remove_dir(&p).or_else(|_| std::fs::remove_file(&p));
    }
    let _ = std::fs::remove_dir(&pins);
}

/// One HostConfig.Mounts entry (the `--mount` JSON), checked as moby does.
pub fn parse_mount(m: &Mount) -> Result<MountPoint> {
    let typ = m.kind.as_str();
    let bad = |msg: String| invalid(format!("invalid mount config for type \"{typ}\": {msg}"));
    if !matches!(typ, "bind" | "volume" | "tmpfs") {
        return Err(bad("mount type unknown".into()));
    }
    let target = m.target.as_str();
    if target.is_empty() {
        return Err(bad("field Target must not be empty".into()));
    }
    if clean(target) == "/" {
        return Err(bad("invalid specification: destination can't be '/'".into()));
    }
    if !target.starts_with('/') {
        return Err(invalid(abs_path_err(typ, target)));
    }
    let source = m.source.as_str();
    let mut mp = MountPoint {
        typ: typ.into(),
        destination: clean(target),
        rw: !m.read_only,
        ..Default::default()
    };
    match typ {
        "bind" => {
            if m.volume_options.is_some() {
                return Err(bad("VolumeOptions must not be specified".into()));
            }
            if m.tmpfs_options.is_some() {
                return Err(bad("TmpfsOptions must not be specified".into()));
            }
            if source.is_empty() {
                return Err(bad("field Source must not be empty".into()));
            }
            if !source.starts_with('/') {
                return Err(invalid(abs_path_err(typ, source)));
            }
            let bo = m.bind_options.clone().unwrap_or_default();
            let prop = bo.propagation.as_str();
            if !prop.is_empty() && !PROPAGATIONS.contains(&prop) {
                return Err(bad(format!("invalid propagation mode: {prop}")));
            }
            mp.source = clean(source);
            mp.propagation = if prop.is_empty() { "rprivate" } else { prop }.into();
            mp.propagation_given = !prop.is_empty();
            mp.non_recursive = bo.non_recursive;
            mp.create_source = bo.create_mountpoint;
        }
        "volume" => {
            if m.bind_options.is_some() {
                return Err(bad("BindOptions must not be specified".into()));
            }
            if m.tmpfs_options.is_some() {
                return Err(bad("TmpfsOptions must not be specified".into()));
            }
            let vo = m.volume_options.clone().unwrap_or_default();
            let dc = vo.driver_config.unwrap_or_default();
            mp.driver = if dc.name.is_empty() {
                "local".into()
            } else {
                dc.name
            };
            mp.volume_options = dc.options.unwrap_or_default();
            mp.volume_labels = vo.labels.unwrap_or_default();
            let sub = vo.subpath.as_str();
            if !sub.is_empty() {
                let local = Path::new(sub).components().all(|c| {
                    matches!(
                        c,
                        std::path::Component::Normal(_) | std::path::Component::CurDir
                    )
                });
                if !local {
                    return Err(bad(
                        "subpath must be a relative path within the volume".into()
                    ));
                }
                mp.subpath = sub.to_string();
            }
            mp.name = source.to_string();
            mp.named = !source.is_empty();
            mp.copy_data = !vo.no_copy;
            mp.mode = "z".into();
        }
        _ => {
            if !source.is_empty() {
                return Err(bad("field Source must not be specified".into()));
            }
            if m.bind_options.is_some() || m.volume_options.is_some() {
                return Err(bad(format!(
                    "{} must not be specified",
                    if m.bind_options.is_some() {
                        "BindOptions"
                    } else {
                        "VolumeOptions"
                    }
                )));
            }
            if let Some(t) = &m.tmpfs_options {
                if t.size_bytes < 0 {
                    return Err(bad("invalid tmpfs size".into()));
                }
                if t.size_bytes > 0 {
                    mp.tmpfs_options.push(format!("size={}", t.size_bytes));
                }
                if t.mode != 0 {
                    mp.tmpfs_options.push(format!("mode={:o}", t.mode & 0o7777));
                }
            }
        }
    }
    Ok(mp)
}

/// `--tmpfs /path[:opts]` (HostConfig.Tmpfs): Docker's checks.
fn check_tmpfs(path: &str) -> Result<()> {
    // moby's ValidateTmpfsMountDestination: not the root (checked first), then absolute.
    if clean(&path.replace('\\', "/")) == "/" {
        return Err(invalid(
            "invalid specification: destination can't be '/'".to_string(),
        ));
    }
    if !path.starts_with('/') {
        return Err(invalid(format!(
            "invalid mount path: '{path}' mount path must be absolute"
        )));
    }
    Ok(())
}

/// moby's `mount.MergeTmpfsOptions` check at start: each `--tmpfs` option is a mount flag
/// or one of tmpfs's `key=value` settings; anything else fails the start with moby's text
/// (the option split at its first `=`, quoted as Go prints a string slice).
fn check_tmpfs_options(data: &str) -> Result<()> {
    const FLAGS: &[&str] = &[
        "defaults",
        "ro",
        "rw",
        "suid",
        "nosuid",
        "dev",
        "nodev",
        "exec",
        "noexec",
        "sync",
        "async",
        "dirsync",
        "remount",
        "mand",
        "nomand",
        "atime",
        "noatime",
        "diratime",
        "nodiratime",
        "bind",
        "rbind",
        "unbindable",
        "runbindable",
        "private",
        "rprivate",
        "shared",
        "rshared",
        "slave",
        "rslave",
        "relatime",
        "norelatime",
        "strictatime",
        "nostrictatime",
    ];
    const DATA: &[&str] = &[
        "",
        "size",
        "mode",
        "uid",
        "gid",
        "nr_inodes",
        "nr_blocks",
        "mpol",
    ];
    if data.is_empty() {
        return Ok(());
    }
    for opt in data.split(',') {
        if FLAGS.contains(&opt) {
            continue;
        }
        let parts: Vec<&str> = opt.splitn(2, '=').collect();
        if parts.len() != 2 || !DATA.contains(&parts[0]) {
            let quoted: Vec<String> = parts.iter().map(|p| format!("{p:?}")).collect();
            return Err(invalid(format!(
                "invalid tmpfs option [{}]",
                quoted.join(" ")
            )));
        }
    }
    Ok(())
}

/// A starting container's runtime mounts, and the propagation its rootfs needs for them
/// (`linux.rootfsPropagation`: "shared" or "rslave"; None: the runtime's default).
pub(crate) struct RunMounts {
    pub mounts: Vec<MountSpec>,
    pub rootfs_propagation: Option<String>,
}

fn has_volume_work(hc: &HostConfig, cfg: &ContainerConfig) -> bool {
    hc.binds.as_ref().is_some_and(|b| !b.is_empty())
        || hc.mounts.as_ref().is_some_and(|m| !m.is_empty())
        || hc.volumes_from.as_ref().is_some_and(|v| !v.is_empty())
        || cfg.volumes.as_ref().is_some_and(|v| !v.is_empty())
}

impl Engine {
    /// Resolves a new container's mounts (without side effects: volumes are created by
    /// `create_mount_volumes`). Order and precedence as moby's registerMountPoints:
    /// binds and `--mount` (duplicates refused), then `--volumes-from` and the config's
    /// VOLUMEs for destinations still free.
    pub(crate) async fn plan_mounts(
        &self,
        hc: &HostConfig,
        cfg: &ContainerConfig,
    ) -> Result<Vec<MountPoint>> {
        for path in hc.tmpfs.iter().flatten().map(|(p, _)| p) {
            check_tmpfs(path)?;
        }
        if !has_volume_work(hc, cfg) {
            return Ok(Vec::new());
        }
        let mut out: Vec<MountPoint> = Vec::new();
        let dup = |out: &[MountPoint], d: &str| out.iter().any(|m| m.destination == d);
        for b in hc.binds.iter().flatten() {
            let mut mp = parse_bind(b)?;
            self.bind_of_data_root(&mut mp)?;
            if dup(&out, &mp.destination) {
                return Err(invalid(format!(
                    "Duplicate mount point: {}",
                    mp.destination
                )));
            }
            if mp.typ == "volume" && !mp.name.is_empty() {
                crate::volumes::validate_name(&mp.name)?;
            }
            // `--volume-driver` names the driver of `-v` volumes (moby's ParseMountRaw).
            if mp.typ == "volume" && !hc.volume_driver.is_empty() {
                mp.driver = hc.volume_driver.clone();
            }
            out.push(mp);
        }
        for m in hc.mounts.iter().flatten() {
            let mut mp = parse_mount(m)?;
            self.bind_of_data_root(&mut mp)?;
            if dup(&out, &mp.destination) {
                return Err(invalid(format!(
                    "Duplicate mount point: {}",
                    mp.destination
                )));
            }
            if mp.typ == "bind" && !mp.create_source && !Path::new(&mp.source).exists() {
                return Err(invalid(format!(
                    "invalid mount config for type \"bind\": bind source path does not exist: {}",
                    mp.source
                )));
            }
            if mp.typ == "volume" && !mp.name.is_empty() {
                crate::volumes::validate_name(&mp.name)?;
            }
            out.push(mp);
        }
        for from in hc.volumes_from.iter().flatten() {
            let (name, mode) = match from.rsplit_once(':') {
                Some((n, m)) => (n, m),
                None => (from.as_str(), ""),
            };
            if !matches!(mode, "" | "ro" | "rw" | "z" | "Z") {
                return Err(invalid(format!("invalid mode: {mode}")));
            }
            // A 400, as moby's: a 404 from create makes the docker CLI try to pull the image.
            let other = self
                .get(name)
                .map_err(|e| invalid(e.to_string()))?
                .snapshot()
                .await;
            for mp in &other.mount_points {
                if dup(&out, &mp.destination) {
                    continue;
                }
                let mut mp = mp.clone();
                match mode {
                    "ro" => {
                        mp.rw = false;
                        mp.mode = "ro".into();
                    }
                    "rw" => {
                        mp.rw = true;
                        mp.mode = "rw".into();
                    }
                    _ => {}
                }
                // The other container's copy-up already happened (or will); its files win.
                mp.copy_data = false;
                // The volume belongs to the other container: `rm -v` here keeps it.
                mp.named = true;
                out.push(mp);
            }
        }
        let tmpfs_dests: Vec<String> = hc.tmpfs.iter().flatten().map(|(p, _)| clean(p)).collect();
        for dest in cfg.volumes.iter().flat_map(|v| v.keys()) {
            if !dest.starts_with('/') {
                return Err(invalid(abs_path_err("volume", dest)));
            }
            let dest = clean(dest);
            if dup(&out, &dest) || tmpfs_dests.contains(&dest) {
                continue;
            }
            // The config's anonymous volumes are made with `--volume-driver` too.
            let driver = if hc.volume_driver.is_empty() {
                "local".to_string()
            } else {
                hc.volume_driver.clone()
            };
            out.push(MountPoint {
                typ: "volume".into(),
                destination: dest,
                driver,
                rw: true,
                copy_data: true,
                ..Default::default()
            });
        }
        Ok(out)
    }

    /// Whether a bind source is in the data root or one of its parents (string prefixes,
    /// as moby compares them), and the data root's real path.
    fn within_data_root(&self, source: &str) -> (bool, String) {
        let root = std::fs::canonicalize(&self.cfg.data_root)
            .unwrap_or_else(|_| self.cfg.data_root.clone())
            .to_string_lossy()
            .into_owned();
        (source.starts_with(&root) || root.starts_with(source), root)
    }

    /// moby's validateBindDaemonRoot: a bind of the data root, of something in it or of one
    /// of its parents gets `rslave` when no propagation is given (so the daemon's later
    /// unmounts there reach the container); a given one must be `rslave` or `rshared`.
    /// Prefixes compare as strings, as moby's do.
    fn bind_of_data_root(&self, mp: &mut MountPoint) -> Result<()> {
        if mp.typ != "bind" {
            return Ok(());
        }
        let (in_root, root) = self.within_data_root(&mp.source);
        if !in_root {
            return Ok(());
        }
        if !mp.propagation_given {
            mp.propagation = "rslave".into();
            return Ok(());
        }
        if matches!(mp.propagation.as_str(), "rslave" | "rshared") {
            return Ok(());
        }
        Err(invalid(format!(
            "invalid mount config: must use either propagation mode \"rslave\" or \"rshared\" when mount source is within the daemon root, daemon root: {root:?}, bind mount source: {:?}, propagation: {:?}",
            mp.source, mp.propagation
        )))
    }

    /// moby's setMounts checks of a bind's propagation against its source mount: `shared`
    /// and `rshared` need a shared source mount and make the rootfs shared (so mounts made
    /// under the bind in the container reach the host); `slave` and `rslave` need a shared
    /// or slave source and make the rootfs rslave, except for a bind of the data root whose
    /// propagation was not given (moby falls back to the default there). Returns the
    /// rootfs propagation to ask of the runtime.
    fn check_propagation(&self, mp: &MountPoint, root: &mut Option<String>) -> Result<()> {
        let not_source = |what: &str, sm: &str| {
            EngineError::Internal(format!(
                "path {} is mounted on {sm} but it is not a {what} mount",
                mp.source
            ))
        };
        let source = || {
            self.mounter
                .source_mount(Path::new(&mp.source))
                .map_err(EngineError::Internal)
        };
        match mp.propagation.as_str() {
            "shared" | "rshared" => {
                let sm = source()?;
                if !sm.shared {
                    return Err(not_source("shared", &sm.mount_point));
                }
                if !matches!(root.as_deref(), Some("shared" | "rshared")) {
                    *root = Some("shared".into());
                }
            }
            "slave" | "rslave" => {
                let sm = source()?;
                if !sm.shared && !sm.slave {
                    if !self.within_data_root(&mp.source).0 || mp.propagation_given {
                        return Err(not_source("shared or slave", &sm.mount_point));
                    }
                    debug!(source = %mp.source, "falling back to default propagation for bind source in daemon root");
                    return Ok(());
                }
                if root.is_none() {
                    *root = Some("rslave".into());
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Creates the volumes the mount points need (named ones on first use, anonymous
    /// ones always) and missing `-v` bind sources. On failure, the anonymous volumes made
    /// here are removed again.
    pub(crate) fn create_mount_volumes(&self, points: &mut [MountPoint]) -> Result<()> {
        let mut made: Vec<String> = Vec::new();
        let res = (|| -> Result<()> {
            for mp in points.iter_mut() {
                match mp.typ.as_str() {
                    "volume" if mp.source.is_empty() => {
                        let anonymous = mp.name.is_empty();
                        let v = self.volumes.create(CreateOptions {
                            name: (!anonymous).then(|| mp.name.clone()),
                            driver: mp.driver.clone(),
                            labels: mp.volume_labels.clone(),
                            options: mp.volume_options.clone(),
                            anonymous,
                        })?;
                        if anonymous {
                            made.push(v.name.clone());
                        }
                        mp.source = self.volumes.data_path(&v.name).to_string_lossy().into();
                        mp.name = v.name;
                        mp.driver = v.driver;
                    }
                    "bind" if mp.create_source && !Path::new(&mp.source).exists() => {
                        std::fs::create_dir_all(&mp.source).map_err(|e| {
                            invalid(format!(
                                "error while creating mount source path '{}': {e}",
                                mp.source
                            ))
                        })?;
                    }
                    _ => {}
                }
            }
            Ok(())
        })();
        if res.is_err() {
            for n in made {
                let _ = self.volumes.remove(&n);
            }
        }
        res
    }

    /// Whether the container's mounts need the volume lock while it is created.
    pub(crate) fn needs_volume_lock(hc: &HostConfig, cfg: &ContainerConfig) -> bool {
        has_volume_work(hc, cfg)
    }

    /// The runtime mounts of a container about to start: volumes mounted (local-driver
    /// filesystems) and filled from the image on first use (copy-up), binds checked,
    /// tmpfs. Clears each mount's `copy_data` once done (the caller stores the record).
    pub(crate) async fn prepare_mounts(
        &self,
        rec: &mut ContainerRecord,
        rootfs: &Path,
        dir: &Path,
    ) -> Result<RunMounts> {
        let mut specs = Vec::new();
        let mut rootfs_propagation = None;
        let rec_id = rec.id.clone();
        release_subpaths(dir);
        for (n, mp) in rec.mount_points.iter_mut().enumerate() {
            let mut opts: Vec<String> = Vec::new();
            let mut subpath_source: Option<String> = None;
            match mp.typ.as_str() {
                "volume" => {
                    let data = self.volumes.mount(&mp.name).map_err(|e| match e {
                        EngineError::NotFound(_) => EngineError::NotFound(format!(
                            "error while mounting volume '{}': volume {} not found",
                            mp.source, mp.name
                        )),
                        e => e,
                    })?;
                    // With a subpath, both the copy-up and the mount use the subpath's target.
                    let (pin, target) = if mp.subpath.is_empty() {
                        (None, None)
                    } else {
                        let (pin, fd) = pin_subpath(&data, &mp.subpath, dir, n)?;
                        (Some(pin), Some(fd))
                    };
                    if mp.copy_data {
                        let dst = match &target {
                            // The pinned target itself, never its path again.
                            Some(fd) => rustix::fs::openat(
                                fd,
                                ".",
                                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                                Mode::empty(),
                            )
                            .map_err(std::io::Error::from),
                            None => copyup::open_dir(&data),
                        };
                        let (rootfs, src) = (rootfs.to_path_buf(), mp.destination.clone());
                        let copied = tokio::task::spawn_blocking(move || match dst {
                            Ok(dst) => copyup::copy_up(&rootfs, &src, dst),
                            // A subpath naming a file: nothing to copy into.
                            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => Ok(false),
                            Err(e) => Err(e),
                        })
                        .await
                        .map_err(|e| EngineError::internal("copy-up task", e))?
                        .map_err(|e| {
                            EngineError::internal(
                                &format!("cannot copy image files into volume {}", mp.name),
                                e,
                            )
                        })?;
                        debug!(volume = %mp.name, copied, "copy-up");
                        mp.copy_data = false;
                    }
                    mp.source = data.to_string_lossy().into();
                    opts.push("rbind".into());
                    opts.push("rprivate".into());
                    let rw = mp.rw.to_string();
                    self.volumes.event(
                        "mount",
                        &mp.name,
                        &[
                            ("driver", &mp.driver),
                            ("container", &rec_id),
                            ("destination", &mp.destination),
                            ("read/write", &rw),
                            ("propagation", &mp.propagation),
                        ],
                    );
                    if let Some(pin) = pin {
                        subpath_source = Some(pin.to_string_lossy().into_owned());
                    }
                }
                "bind" => {
                    if !Path::new(&mp.source).exists() {
                        if mp.create_source {
                            std::fs::create_dir_all(&mp.source)?;
                        } else {
                            return Err(invalid(format!(
                                "invalid mount config for type \"bind\": bind source path does not exist: {}",
                                mp.source
                            )));
                        }
                    }
                    self.check_propagation(mp, &mut rootfs_propagation)?;
                    opts.push(if mp.non_recursive { "bind" } else { "rbind" }.into());
                    opts.push(if mp.propagation.is_empty() {
                        "rprivate".into()
                    } else {
                        mp.propagation.clone()
                    });
                }
                _ => {
                    opts.extend(
                        ["noexec", "nosuid", "nodev", "rprivate"]
                            .iter()
                            .map(|s| s.to_string()),
                    );
                    opts.extend(mp.tmpfs_options.iter().cloned());
                }
            }
            if !mp.rw {
                opts.push("ro".into());
            }
            specs.push(MountSpec {
                destination: mp.destination.clone(),
                typ: if mp.typ == "tmpfs" { "tmpfs" } else { "bind" }.into(),
                source: if mp.typ == "tmpfs" {
                    "tmpfs".into()
                } else {
                    subpath_source.unwrap_or_else(|| mp.source.clone())
                },
                options: opts,
            });
        }
        for (path, o) in rec.host_config.tmpfs.iter().flatten() {
            check_tmpfs_options(o)?;
            let mut opts: Vec<String> = ["noexec", "nosuid", "nodev", "rprivate"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            opts.extend(o.split(',').filter(|s| !s.is_empty()).map(str::to_string));
            specs.push(MountSpec {
                destination: clean(path),
                typ: "tmpfs".into(),
                source: "tmpfs".into(),
                options: opts,
            });
        }
        Ok(RunMounts {
            mounts: specs,
            rootfs_propagation,
        })
    }

    /// After a container stopped: local-driver filesystems (`-o type=...`) it mounted and
    /// no running container still uses are unmounted, as Docker does when the last user
    /// goes (a tmpfs volume's data goes with it).
    pub(crate) async fn release_volumes(&self, c: &super::Container) {
        let points = c.record.lock().await.mount_points.clone();
        for mp in points.iter().filter(|m| m.typ == "volume") {
            // moby's unmount event, for every volume of the stopped container.
            self.volumes.event(
                "unmount",
                &mp.name,
                &[("driver", &mp.driver), ("container", &c.id)],
            );
            let Ok(v) = self.volumes.get(&mp.name) else {
                continue;
            };
            if !v.options.contains_key("type") {
                continue;
            }
            let mut in_use = false;
            for other in self.all() {
                if other.id == c.id {
                    continue;
                }
                let r = other.record.lock().await;
                if r.state.status.is_running()
                    && r.mount_points
                        .iter()
                        .any(|m| m.typ == "volume" && m.name == mp.name)
                {
                    in_use = true;
                    break;
                }
            }
            if !in_use {
                self.volumes.unmount(&mp.name);
            }
        }
    }

    /// `rm -v` / `--rm`: the container's anonymous volumes go with it, unless another
    /// container uses them too.
    pub(crate) async fn remove_anonymous_volumes(&self, rec: &ContainerRecord) {
        for mp in &rec.mount_points {
            if mp.typ != "volume" || mp.named || mp.name.is_empty() {
                continue;
            }
            match self.remove_volume(&mp.name, true).await {
                Ok(()) => {}
                Err(EngineError::Conflict(_)) => {}
                Err(e) => warn!(volume = %mp.name, error = %e, "cannot remove anonymous volume"),
            }
        }
    }
}

/// The `Mounts` array of inspect and `/containers/json`, in Docker's shape.
pub fn mounts_json(rec: &ContainerRecord) -> Vec<berth_api::models::MountPoint> {
    rec.mount_points
        .iter()
        .map(|m| {
            let volume = m.typ == "volume";
            berth_api::models::MountPoint {
                kind: m.typ.clone(),
                source: if m.typ == "tmpfs" {
                    String::new()
                } else {
                    m.source.clone()
                },
                destination: m.destination.clone(),
                mode: m.mode.clone(),
                rw: m.rw,
                propagation: m.propagation.clone(),
                name: volume.then(|| m.name.clone()),
                driver: volume.then(|| m.driver.clone()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn tmpfs_options_checked_as_moby() {
        for ok in [
            "",
            "size=1m",
            "size=1m,mode=1777,noexec",
            "defaults,ro,uid=0",
        ] {
            assert!(check_tmpfs_options(ok).is_ok(), "{ok}");
        }
        let msg = |o: &str| check_tmpfs_options(o).expect_err(o).to_string();
        assert_eq!(msg("bogus"), "invalid tmpfs option [\"bogus\"]");
        assert_eq!(
            msg("size=1m,foo=bar"),
            "invalid tmpfs option [\"foo\" \"bar\"]"
        );
        assert_eq!(msg("size=1m,"), "invalid tmpfs option [\"\"]");
    }

    #[test]
    fn binds_parse_as_docker() {
        let m = parse_bind("data:/var/lib/db").unwrap();
        assert_eq!(
            (m.typ.as_str(), m.name.as_str(), m.mode.as_str()),
            ("volume", "data", "z")
        );
        assert!(m.named && m.copy_data && m.rw);
        let m = parse_bind("/tmp/x y:/h:ro").unwrap();
        assert_eq!(
            (m.typ.as_str(), m.source.as_str(), m.rw),
            ("bind", "/tmp/x y", false)
        );
        assert_eq!(m.propagation, "rprivate");
        let m = parse_bind("/anon").unwrap();
        assert!(!m.named && m.name.is_empty());
        assert!(!parse_bind("v:/x:nocopy").unwrap().copy_data);
        let e = |s: &str| parse_bind(s).unwrap_err().to_string();
        // A destination with a mode is no volume, as moby's linux parser.
        assert_eq!(e("/anon:ro"), "invalid volume specification: '/anon:ro'");
        assert_eq!(e("a:b:c:d"), "invalid volume specification: 'a:b:c:d'");
        assert_eq!(e("v:/x:xyz"), "invalid mode: xyz");
        assert_eq!(
            e("vol:rel"),
            "invalid volume specification: 'vol:rel': invalid mount config for type \"volume\": invalid mount path: 'rel' mount path must be absolute"
        );
    }

    #[test]
    fn mounts_parse_as_docker() {
        let mount = |v: Value| -> Mount { serde_json::from_value(v).expect("mount") };
        let e = |v: Value| parse_mount(&mount(v)).unwrap_err().to_string();
        assert_eq!(
            e(json!({"Type":"weird","Target":"/x"})),
            "invalid mount config for type \"weird\": mount type unknown"
        );
        assert_eq!(
            e(json!({"Type":"bind","Target":"/x"})),
            "invalid mount config for type \"bind\": field Source must not be empty"
        );
        assert_eq!(
            e(json!({"Type":"bind","Source":"/tmp","Target":"//"})),
            "invalid mount config for type \"bind\": invalid specification: destination can't be '/'"
        );
        assert_eq!(
            e(json!({"Type":"bind","Source":"rel","Target":"/x"})),
            "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute"
        );
        assert_eq!(
            e(json!({"Type":"volume","Source":"v"})),
            "invalid mount config for type \"volume\": field Target must not be empty"
        );
        let m = parse_mount(&mount(
            json!({"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":1048576,"Mode":448}}),
        ))
        .unwrap();
        assert_eq!(m.tmpfs_options, vec!["size=1048576", "mode=700"]);
        let m = parse_mount(&mount(
            json!({"Type":"volume","Target":"/m","VolumeOptions":{"NoCopy":true}}),
        ))
        .unwrap();
        assert!(!m.copy_data && !m.named);
    }
}
