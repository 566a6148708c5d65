//! A container's mounts: `-v` binds, `--mount`, `--tmpfs`, `--volumes-from` and the
//! image's/config's `VOLUME`s resolved into mount points at create (with Docker's checks
//! and messages), stored in the record, turned into runtime mounts at start (after
//! Docker's copy-up), shown in inspect, and their anonymous volumes removed with `rm -v`.

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::model::{ContainerRecord, MountPoint};
use crate::volumes::{copyup, CreateOptions};
use berth_api::models::{ContainerConfig, HostConfig};
use berth_runtime::spec::MountSpec;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
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
        [a, b] if valid_mode(b) && !b.is_empty() && !a.is_empty() => ("", *a, *b),
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

/// `/a//b/` -> `/a/b`, as Go's filepath.Clean for absolute paths without dots.
fn clean(p: &str) -> String {
    let parts: Vec<&str> = p
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// The host path of `sub` inside the volume directory `base`, as moby's safepath.Join: it
/// must exist, and symlinks on the way may not lead out of the volume (the kernel's
/// canonical path must stay under the volume's).
fn resolve_subpath(base: &Path, sub: &str) -> Result<std::path::PathBuf> {
    let joined = base.join(sub);
    let real = std::fs::canonicalize(&joined).map_err(|e| {
        // Worded as Go's error, so clients map it as they do dockerd's (exit 127 on run).
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            _ => e.to_string(),
        };
        let p = joined.display();
        EngineError::NotFound(format!("cannot access path {p}: lstat {p}: {why}"))
    })?;
    let real_base = std::fs::canonicalize(base)
        .map_err(|e| EngineError::internal("resolve volume directory", e))?;
    if !real.starts_with(&real_base) {
        return Err(invalid(format!(
            "path concatenation escapes the base directory: (base: {:?}, subpath: {sub:?})",
            base.display().to_string()
        )));
    }
    Ok(real)
}

fn opt_str<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// One HostConfig.Mounts entry (the `--mount` JSON), checked as moby does.
pub fn parse_mount(m: &Value) -> Result<MountPoint> {
    let typ = opt_str(m, "Type");
    let bad = |msg: String| invalid(format!("invalid mount config for type \"{typ}\": {msg}"));
    if !matches!(typ, "bind" | "volume" | "tmpfs") {
        return Err(bad("mount type unknown".into()));
    }
    let target = opt_str(m, "Target");
    if target.is_empty() {
        return Err(bad("field Target must not be empty".into()));
    }
    if !target.starts_with('/') {
        return Err(invalid(abs_path_err(typ, target)));
    }
    let source = opt_str(m, "Source");
    let ro = m.get("ReadOnly").and_then(Value::as_bool).unwrap_or(false);
    let has = |k: &str| m.get(k).is_some_and(|v| !v.is_null());
    let mut mp = MountPoint {
        typ: typ.into(),
        destination: clean(target),
        rw: !ro,
        ..Default::default()
    };
    match typ {
        "bind" => {
            if has("VolumeOptions") {
                return Err(bad("VolumeOptions must not be specified".into()));
            }
            if has("TmpfsOptions") {
                return Err(bad("TmpfsOptions must not be specified".into()));
            }
            if source.is_empty() {
                return Err(bad("field Source must not be empty".into()));
            }
            if !source.starts_with('/') {
                return Err(invalid(abs_path_err(typ, source)));
            }
            let bo = m.get("BindOptions");
            let prop = bo.map(|b| opt_str(b, "Propagation")).unwrap_or("");
            if !prop.is_empty() && !PROPAGATIONS.contains(&prop) {
                return Err(bad(format!("invalid propagation mode: {prop}")));
            }
            mp.source = clean(source);
            mp.propagation = if prop.is_empty() { "rprivate" } else { prop }.into();
            mp.non_recursive = bo
                .and_then(|b| b.get("NonRecursive"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            mp.create_source = bo
                .and_then(|b| b.get("CreateMountpoint"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
        }
        "volume" => {
            if has("BindOptions") {
                return Err(bad("BindOptions must not be specified".into()));
            }
            if has("TmpfsOptions") {
                return Err(bad("TmpfsOptions must not be specified".into()));
            }
            let vo = m.get("VolumeOptions");
            let nocopy = vo
                .and_then(|v| v.get("NoCopy"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let map = |v: Option<&Value>| -> BTreeMap<String, String> {
                v.and_then(Value::as_object)
                    .map(|o| {
                        o.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let dc = vo.and_then(|v| v.get("DriverConfig"));
            let driver = dc.map(|d| opt_str(d, "Name")).unwrap_or("");
            mp.driver = if driver.is_empty() { "local" } else { driver }.into();
            mp.volume_options = map(dc.and_then(|d| d.get("Options")));
            mp.volume_labels = map(vo.and_then(|v| v.get("Labels")));
            let sub = vo.map(|v| opt_str(v, "Subpath")).unwrap_or("");
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
            mp.copy_data = !nocopy;
            mp.mode = "z".into();
        }
        _ => {
            if !source.is_empty() {
                return Err(bad("field Source must not be specified".into()));
            }
            if has("BindOptions") || has("VolumeOptions") {
                return Err(bad(format!(
                    "{} must not be specified",
                    if has("BindOptions") {
                        "BindOptions"
                    } else {
                        "VolumeOptions"
                    }
                )));
            }
            if let Some(t) = m.get("TmpfsOptions") {
                if let Some(size) = t.get("SizeBytes").and_then(Value::as_i64) {
                    if size < 0 {
                        return Err(bad("invalid tmpfs size".into()));
                    }
                    if size > 0 {
                        mp.tmpfs_options.push(format!("size={size}"));
                    }
                }
                if let Some(mode) = t.get("Mode").and_then(Value::as_u64) {
                    if mode != 0 {
                        mp.tmpfs_options.push(format!("mode={:o}", mode & 0o7777));
                    }
                }
            }
        }
    }
    Ok(mp)
}

/// `--tmpfs /path[:opts]` (HostConfig.Tmpfs): Docker's checks.
fn check_tmpfs(path: &str) -> Result<()> {
    if !path.starts_with('/') {
        return Err(invalid(format!(
            "invalid mount path: '{path}' mount path must be absolute"
        )));
    }
    Ok(())
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
            let mp = parse_bind(b)?;
            if dup(&out, &mp.destination) {
                return Err(invalid(format!(
                    "Duplicate mount point: {}",
                    mp.destination
                )));
            }
            if mp.typ == "volume" && !mp.name.is_empty() {
                crate::volumes::validate_name(&mp.name)?;
            }
            out.push(mp);
        }
        for m in hc.mounts.iter().flatten() {
            let mp = parse_mount(m)?;
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
            out.push(MountPoint {
                typ: "volume".into(),
                destination: dest,
                driver: "local".into(),
                rw: true,
                copy_data: true,
                ..Default::default()
            });
        }
        Ok(out)
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
    ) -> Result<Vec<MountSpec>> {
        let mut specs = Vec::new();
        for mp in rec.mount_points.iter_mut() {
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
                    let mounted = if mp.subpath.is_empty() {
                        data.clone()
                    } else {
                        resolve_subpath(&data, &mp.subpath)?
                    };
                    if mp.copy_data {
                        let src = berth_runtime::rootpath::resolve_in_root(
                            rootfs,
                            Path::new(&mp.destination),
                        )
                        .map_err(|e| EngineError::internal("resolve volume path", e))?;
                        let dst = mounted.clone();
                        let copied =
                            tokio::task::spawn_blocking(move || copyup::copy_up(&src, &dst))
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
                    if !mp.subpath.is_empty() {
                        subpath_source = Some(mounted.to_string_lossy().into_owned());
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
        Ok(specs)
    }

    /// After a container stopped: local-driver filesystems (`-o type=...`) it mounted and
    /// no running container still uses are unmounted, as Docker does when the last user
    /// goes (a tmpfs volume's data goes with it).
    pub(crate) async fn release_volumes(&self, c: &super::Container) {
        let points = c.record.lock().await.mount_points.clone();
        for mp in points.iter().filter(|m| m.typ == "volume") {
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
pub fn mounts_json(rec: &ContainerRecord) -> Value {
    Value::Array(
        rec.mount_points
            .iter()
            .map(|m| {
                let mut v = json!({
                    "Type": m.typ,
                    "Source": if m.typ == "tmpfs" { "" } else { m.source.as_str() },
                    "Destination": m.destination,
                    "Mode": m.mode,
                    "RW": m.rw,
                    "Propagation": m.propagation,
                });
                if m.typ == "volume" {
                    v["Name"] = json!(m.name);
                    v["Driver"] = json!(m.driver);
                }
                v
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let m = parse_bind("/anon:ro").unwrap();
        assert!(!m.rw && m.destination == "/anon");
        assert!(!parse_bind("v:/x:nocopy").unwrap().copy_data);
        let e = |s: &str| parse_bind(s).unwrap_err().to_string();
        assert_eq!(e("a:b:c:d"), "invalid volume specification: 'a:b:c:d'");
        assert_eq!(e("v:/x:xyz"), "invalid mode: xyz");
        assert_eq!(
            e("vol:rel"),
            "invalid volume specification: 'vol:rel': invalid mount config for type \"volume\": invalid mount path: 'rel' mount path must be absolute"
        );
    }

    #[test]
    fn mounts_parse_as_docker() {
        let e = |v: Value| parse_mount(&v).unwrap_err().to_string();
        assert_eq!(
            e(json!({"Type":"weird","Target":"/x"})),
            "invalid mount config for type \"weird\": mount type unknown"
        );
        assert_eq!(
            e(json!({"Type":"bind","Target":"/x"})),
            "invalid mount config for type \"bind\": field Source must not be empty"
        );
        assert_eq!(
            e(json!({"Type":"bind","Source":"rel","Target":"/x"})),
            "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute"
        );
        assert_eq!(
            e(json!({"Type":"volume","Source":"v"})),
            "invalid mount config for type \"volume\": field Target must not be empty"
        );
        let m = parse_mount(
            &json!({"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":1048576,"Mode":448}}),
        )
        .unwrap();
        assert_eq!(m.tmpfs_options, vec!["size=1048576", "mode=700"]);
        let m =
            parse_mount(&json!({"Type":"volume","Target":"/m","VolumeOptions":{"NoCopy":true}}))
                .unwrap();
        assert!(!m.copy_data && !m.named);
    }
}
