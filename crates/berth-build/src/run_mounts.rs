//! `RUN --mount=...` with BuildKit's semantics (the classic builder has none):
//! `type=bind` (default; the context, or `from=` a stage or image; read-only unless `rw`,
//! writes discarded), `type=cache` (a directory under `<data-root>/builder/cache-mounts`
//! that outlives builds and never goes into a layer), `type=tmpfs` and `type=secret`
//! (a `--secret` of the build as a read-only file, or an env var with `env=`).
//! Parsing follows BuildKit's `parseMount`/`validateMount` messages; mount points the runtime
//! had to create are removed from the layer afterwards, as BuildKit does.
//!
//! A mount is checked at parse time unless it uses variables. `sharing=locked` serialises
//! the builds using a cache mount; a busy `private` one gets a throwaway directory.
//! `type=ssh` is refused.

use crate::error::{BuildError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bind,
    Cache,
    Tmpfs,
    Secret,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bind => "bind",
            Kind::Cache => "cache",
            Kind::Tmpfs => "tmpfs",
            Kind::Secret => "secret",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    Shared,
    Private,
    Locked,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunMount {
    pub kind: Kind,
    pub target: String,
    pub source: String,
    pub from: Option<String>,
    pub readonly: bool,
    pub id: String,
    pub sharing: Option<Sharing>,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<i64>,
    pub required: bool,
    pub env: Option<String>,
}

/// go-units `RAMInBytes`.
fn ram_in_bytes(s: &str) -> Option<i64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let n: f64 = t[..split].parse().ok()?;
    let unit = t[split..].trim().to_ascii_lowercase();
    let m: f64 = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024f64.powi(2),
        "g" => 1024f64.powi(3),
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return None,
    };
    Some((n * m) as i64)
}

fn parse_bool(key: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "t" | "true" => Ok(true),
        "0" | "f" | "false" => Ok(false),
        _ => Err(BuildError::invalid(format!("invalid value for {key}: {v}"))),
    }
}

/// Parses one (already expanded) `--mount` value. Errors are BuildKit's words; the caller
/// adds the line.
pub fn parse(val: &str) -> Result<RunMount> {
    let mut m = RunMount {
        kind: Kind::Bind,
        target: String::new(),
        source: String::new(),
        from: None,
        readonly: true,
        id: String::new(),
        sharing: None,
        mode: None,
        uid: None,
        gid: None,
        size: None,
        required: false,
        env: None,
    };
    let mut ro_auto = true;
    let e = |s: String| Err(BuildError::invalid(s));
    for field in csv_fields(val)? {
        let (key, value, has_value) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), v.to_string(), true),
            None => (field.to_ascii_lowercase(), String::new(), false),
        };
        if !has_value {
            match key.as_str() {
                "readonly" | "ro" => {
                    m.readonly = true;
                    ro_auto = false;
                }
                "readwrite" | "rw" => {
                    m.readonly = false;
                    ro_auto = false;
                }
                "required" if m.kind == Kind::Secret => m.required = true,
                "required" => {
                    return e(format!(
                        "unexpected key '{key}' for mount type '{}'",
                        m.kind.name()
                    ))
                }
                _ => return e(format!("invalid field '{field}' must be a key=value pair")),
            }
            continue;
        }
        match key.as_str() {
            "type" => {
                m.kind = match value.to_ascii_lowercase().as_str() {
                    "bind" => Kind::Bind,
                    "cache" => Kind::Cache,
                    "tmpfs" => Kind::Tmpfs,
                    "secret" => Kind::Secret,
                    "ssh" => return e("mount type \"ssh\" is not supported by berth".into()),
                    _ => return e(format!("unsupported mount type \"{value}\"")),
                }
            }
            "from" => m.from = Some(value),
            "source" | "src" => m.source = value,
            "target" | "dst" | "destination" => m.target = value,
            "readonly" | "ro" => {
                m.readonly = parse_bool(&key, &value)?;
                ro_auto = false;
            }
            "readwrite" | "rw" => {
                m.readonly = !parse_bool(&key, &value)?;
                ro_auto = false;
            }
            "required" if m.kind == Kind::Secret => m.required = parse_bool(&key, &value)?,
            "size" if m.kind == Kind::Tmpfs => {
                m.size = Some(ram_in_bytes(&value).ok_or_else(|| {
                    BuildError::invalid(format!("invalid value for {key}: {value}"))
                })?)
            }
            "env" if m.kind == Kind::Secret => m.env = Some(value),
            "required" | "size" | "env" => {
                return e(format!(
                    "unexpected key '{key}' for mount type '{}'",
                    m.kind.name()
                ))
            }
            "id" => m.id = value,
            "sharing" => {
                m.sharing = Some(match value.to_ascii_lowercase().as_str() {
                    "shared" => Sharing::Shared,
                    "private" => Sharing::Private,
                    "locked" => Sharing::Locked,
                    _ => return e(format!("unsupported sharing value \"{value}\"")),
                })
            }
            "mode" => {
                m.mode =
                    Some(u32::from_str_radix(&value, 8).map_err(|_| {
                        BuildError::invalid(format!("invalid value {value} for mode"))
                    })?)
            }
            "uid" | "gid" => {
                let n: u32 = value
                    .parse()
                    .map_err(|_| BuildError::invalid(format!("invalid value {value} for {key}")))?;
                if key == "uid" {
                    m.uid = Some(n)
                } else {
                    m.gid = Some(n)
                }
            }
            _ => return e(format!("unexpected key '{key}' in '{field}'")),
        }
    }
    let file_info = matches!(m.kind, Kind::Secret | Kind::Cache);
    if !file_info {
        for (what, set) in [
            ("mode", m.mode.is_some()),
            ("uid", m.uid.is_some()),
            ("gid", m.gid.is_some()),
        ] {
            if set {
                return e(format!(
                    "{what} not allowed for \"{}\" type mounts",
                    m.kind.name()
                ));
            }
        }
    }
    if ro_auto {
        m.readonly = !matches!(m.kind, Kind::Cache | Kind::Tmpfs);
    }
    if m.kind == Kind::Secret {
        if m.from.is_some() {
            return e("secret mount should not have a from".into());
        }
        if m.sharing.is_some() {
            return e("secret mount should not define sharing".into());
        }
        if m.source.is_empty() && m.target.is_empty() && m.id.is_empty() && m.env.is_none() {
            return e("invalid secret mount. one of source, target required".into());
        }
        if !m.source.is_empty() && !m.id.is_empty() {
            return e("both source and id can't be set".into());
        }
        if m.id.is_empty() {
            m.id = if !m.source.is_empty() {
                m.source.clone()
            } else if !m.target.is_empty() {
                m.target.rsplit('/').next().unwrap_or_default().to_string()
            } else {
                m.env.clone().unwrap_or_default()
            };
        }
        if m.target.is_empty() && m.env.is_none() {
            m.target = format!("/run/secrets/{}", m.id);
        }
    }
    if m.sharing.is_some() && m.kind != Kind::Cache {
        return e(format!(
            "invalid cache sharing set for {} mount",
            m.kind.name()
        ));
    }
    if m.kind != Kind::Secret && m.target.is_empty() {
        return e(format!("mount type {} requires a target", m.kind.name()));
    }
    if m.kind == Kind::Cache {
        if m.from.is_some() {
            return e("cache mounts with from= are not supported by berth".into());
        }
        if m.id.is_empty() {
            m.id = m.target.clone();
        }
    }
    Ok(m)
}

/// One CSV record (Go's encoding/csv: fields may be double-quoted).
fn csv_fields(s: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && at_start {
            quoted = true;
            at_start = false;
        } else if c == ',' {
            out.push(std::mem::take(&mut cur));
            at_start = true;
        } else {
            cur.push(c);
            at_start = false;
        }
    }
    if quoted {
        return Err(BuildError::invalid(
            "failed to parse csv mounts: extraneous or missing \" in quoted-field",
        ));
    }
    out.push(cur);
    Ok(out)
}

/// The absolute target: relative targets are under the working directory.
pub fn abs_target(target: &str, workdir: &str) -> String {
    if target.starts_with('/') {
        crate::ignore::clean(target)
    } else {
        let base = if workdir.is_empty() { "/" } else { workdir };
        crate::ignore::clean(&format!("{base}/{target}"))
    }
}

#[cfg(feature = "engine")]
pub use engine::*;

#[cfg(feature = "engine")]
mod engine {
    use super::*;
    use crate::secrets::Secrets;
    use berth_api::models::{BindOptions, Mount, TmpfsOptions};
    use berth_image::ImageFiles;
    use berth_inroot::{tree, Follow, Root};
    use std::collections::HashMap;
    use std::os::fd::AsFd;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex};
    use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

    /// Per cache id, for `sharing=locked` and `private`.
    static LOCKS: Mutex<Option<HashMap<String, Arc<AsyncMutex<()>>>>> = Mutex::new(None);

    fn lock_for(id: &str) -> Arc<AsyncMutex<()>> {
        let mut g = LOCKS.lock().unwrap_or_else(|e| e.into_inner());
        g.get_or_insert_with(HashMap::new)
            .entry(id.to_string())
            .or_default()
            .clone()
    }

    fn io(ctx: &str) -> impl Fn(std::io::Error) -> BuildError + '_ {
        move |e| BuildError::internal(ctx, e)
    }

    /// Where a cache mount lives: outside any image, so it persists between builds.
    pub fn cache_dir(data_root: &Path, id: &str) -> PathBuf {
        data_root
            .join("builder/cache-mounts")
            .join(crate::cache::key(&[id]))
    }

    /// What a RUN's mounts need while it runs: the container's `Mounts`, extra env, and
    /// guards for temporary files and locks (dropped after the RUN).
    #[derive(Default)]
    pub struct Active {
        pub mounts: Vec<Mount>,
        pub env: Vec<String>,
        /// Absolute targets, to remove the mount points the runtime created.
        pub targets: Vec<String>,
        temps: Vec<tempfile::TempDir>,
        _locks: Vec<OwnedMutexGuard<()>>,
    }

    pub struct Sources<'a> {
        pub context: &'a Path,
        pub data_root: &'a Path,
        pub secrets: &'a Secrets,
        pub workdir: &'a str,
        /// For each mount, the root of its `from=` stage or image (mounted by the caller).
        pub from_roots: &'a [Option<PathBuf>],
        /// A `userns-remap` daemon's maps: a new cache mount's uid/gid are the container's,
        /// owned on the host by their shifted ids (BuildKit chowns through its IdentityMapping).
        pub id_map: Option<&'a berth_api::idmap::IdMappings>,
    }

    /// The host path of a bind mount's source inside `root`, refusing an escape: symlinks
    /// are followed inside `root` only (BuildKit resolves the source in its snapshot), and
    /// the answer is the kernel's name of the resolved directory or file. Handing that path
    /// to the runtime is safe because nobody else writes to these roots (the build's own
    /// context copy, or a stage/image mounted for this RUN alone) before it is mounted.
    fn bind_source(root: &Path, source: &str) -> Result<PathBuf> {
        let rel = crate::ignore::clean(source.trim_start_matches('/'));
        if rel == ".." || rel.starts_with("../") {
            return Err(BuildError::invalid(format!(
                "invalid mount source {source:?}: outside of the source"
            )));
        }
        let not_found = || {
            BuildError::invalid(format!(
                "failed to compute cache key: \"/{}\": not found",
                rel.trim_start_matches("./")
            ))
        };
        let r = Root::at(root).map_err(io("opening the mount source"))?;
        let rel_in = if rel == "." { "" } else { rel.as_str() };
        let fd = r.resolve(rel_in, Follow::All).map_err(|_| not_found())?;
        let host = tree::host_path(fd.as_fd()).map_err(io("resolving the mount source"))?;
        let root_host = tree::host_path(r.fd()).map_err(io("resolving the mount source"))?;
        if !host.starts_with(&root_host) {
            return Err(not_found());
        }
        Ok(host)
    }

    /// A private copy of a bind source for an `rw` mount (its writes are discarded):
    /// the tree under `from` written to `to` with the hardened writer, metadata kept.
    fn copy_tree(from: &Path, to: &Path) -> Result<()> {
        let parent = to
            .parent()
            .ok_or_else(|| BuildError::Internal("bind copy".into()))?;
        let name = to
            .file_name()
            .ok_or_else(|| BuildError::Internal("bind copy".into()))?
            .to_string_lossy()
            .into_owned();
        let src_root = Root::at(from.parent().unwrap_or(Path::new("/")))
            .map_err(io("opening the bind source"))?;
        let src_name = from
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let srcs = crate::copy::resolve(&src_root, &[src_name], None, "RUN --mount")?;
        let dest_root = Root::at(parent).map_err(io("opening the bind copy"))?;
        let p = crate::copy::Placement {
            root: &dest_root,
            owner: (0, 0),
            chmod: None,
        };
        p.copy_preserving(&src_root, &srcs, &format!("/{name}"))
    }

    pub async fn prepare(mounts: &[RunMount], src: &Sources<'_>) -> Result<Active> {
        let mut a = Active::default();
        let scratch = crate::scratch_root(src.data_root);
        std::fs::create_dir_all(&scratch).map_err(io("builder tmp"))?;
        let temp = |prefix: &str| {
            tempfile::Builder::new()
                .prefix(prefix)
                .tempdir_in(&scratch)
                .map_err(io("builder tmp"))
        };
        for (i, m) in mounts.iter().enumerate() {
            let target = if m.target.is_empty() {
                String::new()
            } else {
                abs_target(&m.target, src.workdir)
            };
            if m.kind != Kind::Secret && target == "/" {
                return Err(BuildError::invalid(format!(
                    "invalid mount target \"{target}\""
                )));
            }
            let bind = |source: &Path, ro: bool| Mount {
                kind: "bind".into(),
                source: source.to_string_lossy().into_owned(),
                target: target.clone(),
                read_only: ro,
                bind_options: Some(BindOptions {
                    create_mountpoint: true,
                    ..Default::default()
                }),
                ..Default::default()
            };
            match m.kind {
                Kind::Bind => {
                    let root = match src.from_roots.get(i).and_then(|r| r.as_ref()) {
                        Some(r) => r.clone(),
                        None => src.context.to_path_buf(),
                    };
                    let mut source = bind_source(&root, &m.source)?;
                    if !m.readonly && src.from_roots.get(i).is_none_or(|r| r.is_none()) {
                        // Writes to an rw bind are discarded: give the RUN a copy.
                        let t = temp("bind-")?;
                        let dst = t.path().join("src");
                        let s2 = source.clone();
                        let d2 = dst.clone();
                        tokio::task::spawn_blocking(move || copy_tree(&s2, &d2))
                            .await
                            .map_err(|e| BuildError::internal("copy task", e))??;
                        source = dst;
                        a.temps.push(t);
                    }
                    a.mounts.push(bind(&source, m.readonly));
                }
                Kind::Cache => {
                    let dir = cache_dir(src.data_root, &m.id);
                    let busy_private = match m.sharing.unwrap_or(Sharing::Shared) {
                        Sharing::Shared => false,
                        Sharing::Locked => {
                            a._locks.push(lock_for(&m.id).lock_owned().await);
                            false
                        }
                        // A private cache in use elsewhere gets a fresh, throwaway instance.
                        Sharing::Private => match lock_for(&m.id).try_lock_owned() {
                            Ok(g) => {
                                a._locks.push(g);
                                false
                            }
                            Err(_) => true,
                        },
                    };
                    let dir = if busy_private {
                        let t = temp("cache-")?;
                        let d = t.path().join("c");
                        a.temps.push(t);
                        d
                    } else {
                        dir
                    };
                    if !dir.exists() {
                        std::fs::create_dir_all(&dir).map_err(io("creating the cache mount"))?;
                        let mode = m.mode.unwrap_or(0o755);
                        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode))
                            .map_err(io("cache mount mode"))?;
                        let (uid, gid) = (m.uid.unwrap_or(0), m.gid.unwrap_or(0));
                        let (uid, gid) = match src.id_map {
                            Some(ids) => ids
                                .to_host(uid, gid)
                                .map_err(|e| BuildError::invalid(e.to_string()))?,
                            None => (uid, gid),
                        };
                        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                            .map_err(io("cache mount owner"))?;
                    }
                    a.mounts.push(bind(&dir, m.readonly));
                }
                Kind::Tmpfs => {
                    a.mounts.push(Mount {
                        kind: "tmpfs".into(),
                        target: target.clone(),
                        tmpfs_options: m.size.map(|s| TmpfsOptions {
                            size_bytes: s,
                            ..Default::default()
                        }),
                        ..Default::default()
                    });
                }
                Kind::Secret => {
                    let Some(data) = src.secrets.get(&m.id) else {
                        if m.required {
                            return Err(BuildError::invalid(format!("secret {}: not found", m.id)));
                        }
                        continue;
                    };
                    if let Some(var) = &m.env {
                        a.env
                            .push(format!("{var}={}", String::from_utf8_lossy(data)));
                    }
                    if target.is_empty() {
                        continue;
                    }
                    let t = temp("secret-")?;
                    let f = t.path().join("s");
                    std::fs::write(&f, data).map_err(io("writing the secret"))?;
                    std::fs::set_permissions(
                        &f,
                        std::fs::Permissions::from_mode(m.mode.unwrap_or(0o400)),
                    )
                    .map_err(io("secret mode"))?;
                    std::os::unix::fs::chown(
                        &f,
                        Some(m.uid.unwrap_or(0)),
                        Some(m.gid.unwrap_or(0)),
                    )
                    .map_err(io("secret owner"))?;
                    a.mounts.push(bind(&f, true));
                    a.temps.push(t);
                }
            }
            if !target.is_empty() {
                a.targets.push(target);
            }
        }
        Ok(a)
    }

    /// Removes from the RUN container's changes (`upper`, its writable layer) the mount
    /// points the runtime created for the RUN's mounts (and the parents it made for them):
    /// what did not exist in `lower` and is still an empty file or directory. Looked up
    /// inside `upper` through descriptors: the RUN may have left symlinks there.
    pub fn remove_stubs(upper: &Root, lower: &ImageFiles, targets: &[String]) {
        let mut paths: Vec<String> = Vec::new();
        for t in targets {
            let mut p = t.trim_end_matches('/').to_string();
            while !p.is_empty() && p != "/" {
                if lower.meta(&p).is_some() {
                    break;
                }
                paths.push(p.clone());
                p = match p.rfind('/') {
                    Some(i) => p[..i].to_string(),
                    None => String::new(),
                };
            }
        }
        // Deepest first, so parents are empty when their turn comes.
        paths.sort_by_key(|p| std::cmp::Reverse(p.matches('/').count()));
        paths.dedup();
        for p in paths {
            let Ok((dir, name)) = upper.parent(&p, None) else {
                continue;
            };
            let Ok(Some(st)) = tree::lstat(dir.as_fd(), &name) else {
                continue;
            };
            let ft = rustix::fs::FileType::from_raw_mode(st.st_mode);
            let flags = match ft {
                rustix::fs::FileType::Directory => rustix::fs::AtFlags::REMOVEDIR,
                rustix::fs::FileType::RegularFile if st.st_size == 0 => {
                    rustix::fs::AtFlags::empty()
                }
                _ => continue,
            };
            // A non-empty directory stays (ENOTEMPTY): the RUN wrote there.
            let _ = rustix::fs::unlinkat(&dir, &name, flags);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        parse(s).unwrap_err().to_string()
    }

    #[test]
    fn parses_buildkit_forms() {
        let m = parse("type=cache,target=/root/.cache,sharing=locked,mode=0700,uid=1").unwrap();
        assert_eq!(m.kind, Kind::Cache);
        assert_eq!((m.id.as_str(), m.readonly), ("/root/.cache", false));
        assert_eq!(
            (m.sharing, m.mode, m.uid),
            (Some(Sharing::Locked), Some(0o700), Some(1))
        );
        let b = parse("target=/src").unwrap();
        assert_eq!(
            (b.kind, b.readonly, b.source.as_str()),
            (Kind::Bind, true, "")
        );
        assert!(
            !parse("type=bind,from=build,src=/out,dst=/x,rw")
                .unwrap()
                .readonly
        );
        let s = parse("type=secret,id=tok,required").unwrap();
        assert_eq!((s.target.as_str(), s.required), ("/run/secrets/tok", true));
        let s = parse("type=secret,target=/etc/key").unwrap();
        assert_eq!(s.id, "key");
        assert_eq!(
            parse("type=tmpfs,target=/t,size=1m").unwrap().size,
            Some(1 << 20)
        );
        assert_eq!(abs_target("x/y", "/app"), "/app/x/y");
    }

    #[test]
    fn bad_mounts() {
        assert_eq!(err("type=foo,target=/x"), "unsupported mount type \"foo\"");
        assert_eq!(
            err("type=cache,target=/x,bogus=1"),
            "unexpected key 'bogus' in 'bogus=1'"
        );
        assert_eq!(
            err("type=bind,target=/x,mode=0700"),
            "mode not allowed for \"bind\" type mounts"
        );
        assert_eq!(
            err("type=cache,target=/x,sharing=nope"),
            "unsupported sharing value \"nope\""
        );
        assert_eq!(err("type=cache"), "mount type cache requires a target");
        assert_eq!(
            err("type=bind,target=/x,size=1m"),
            "unexpected key 'size' for mount type 'bind'"
        );
        assert_eq!(
            err("type=secret"),
            "invalid secret mount. one of source, target required"
        );
        assert_eq!(
            err("type=tmpfs,target=/x,foo"),
            "invalid field 'foo' must be a key=value pair"
        );
    }
}
