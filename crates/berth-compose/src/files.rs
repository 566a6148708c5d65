//! A service's secrets and configs outside swarm, as docker compose provides them: a
//! `file:` source is bind-mounted read-only at its target; an `environment:` source (and a
//! config's `content:`) is written into the container before each start, as a one-file tar
//! through the archive endpoint, with the long syntax's `mode` (default 0444), `uid` and
//! `gid` (compose's `injectSecrets`/`injectConfigs`). Targets: secrets under
//! `/run/secrets/` unless absolute, configs under `/`.

use crate::api::Api;
use crate::model::{FileObject, FileRef, Project, Service};
use crate::runtime::{OpError, OpResult};
use berth_api::models::Mount;

/// Secrets or configs: where relative targets go, how compose names the kind in errors.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Secret,
    Config,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Secret => "secret",
            Kind::Config => "config",
        }
    }
    fn base(self) -> &'static str {
        match self {
            Kind::Secret => "/run/secrets/",
            Kind::Config => "/",
        }
    }
}

/// The target path in the container (compose's `isAbsTarget` rule, Windows forms included).
fn target(kind: Kind, r: &FileRef) -> String {
    let t = &r.target;
    let windows_abs = t.starts_with("\\\\") || (t.len() > 2 && &t[1..3] == ":\\");
    if t.is_empty() {
        format!("{}{}", kind.base(), r.source)
    } else if t.starts_with('/') || windows_abs {
        t.clone()
    } else {
        format!("{}{t}", kind.base())
    }
}

fn refs(s: &Service) -> impl Iterator<Item = (Kind, &FileRef)> {
    s.secrets
        .iter()
        .map(|r| (Kind::Secret, r))
        .chain(s.configs.iter().map(|r| (Kind::Config, r)))
}

fn object<'a>(p: &'a Project, kind: Kind, r: &FileRef) -> Option<&'a FileObject> {
    match kind {
        Kind::Secret => p.secrets.get(&r.source),
        Kind::Config => p.configs.get(&r.source),
    }
}

/// The content an object provides at start (environment or inline content), if any.
fn injected_content(p: &Project, kind: Kind, o: &FileObject) -> OpResult<Option<String>> {
    if !o.environment.is_empty() {
        return match p.environment.get(&o.environment) {
            Some(v) => Ok(Some(v.clone())),
            None => Err(OpError(format!(
                "environment variable {:?} required by {} {:?} is not set",
                o.environment,
                kind.word(),
                o.name
            ))),
        };
    }
    // compose-go accepts `content:` on configs only (its schema refuses it on secrets).
    if kind == Kind::Config {
        if let Some(c) = o.content.as_ref().filter(|c| !c.is_empty()) {
            return Ok(Some(c.clone()));
        }
    }
    Ok(None)
}

/// Read-only bind mounts (Engine API `Mounts` entries) for the service's file-sourced
/// secrets and configs; refuses what compose refuses outside swarm (external, driver,
/// template_driver).
pub fn bind_mounts(p: &Project, s: &Service) -> OpResult<Vec<Mount>> {
    let mut out: Vec<Mount> = Vec::new();
    for (kind, r) in refs(s) {
        // The loader refuses references to undefined objects.
        let Some(o) = object(p, kind, r) else {
            continue;
        };
        let word = kind.word();
        if o.external {
            return Err(OpError(format!("unsupported external {word} {}", o.name)));
        }
        if !o.driver.is_empty() {
            return Err(OpError(format!(
                "Docker Compose does not support {word}s.*.driver"
            )));
        }
        if !o.template_driver.is_empty() {
            return Err(OpError(format!(
                "Docker Compose does not support {word}s.*.template_driver"
            )));
        }
        let injected = !o.environment.is_empty()
            || (kind == Kind::Config && o.content.as_deref().is_some_and(|c| !c.is_empty()));
        if injected {
            continue;
        }
        if o.file.is_empty() {
            return Err(OpError(format!(
                "service {:?}: {word} {:?} has no file, environment or content source",
                s.name, r.source
            )));
        }
        if !r.uid.is_empty() || !r.gid.is_empty() || r.mode.is_some() {
            // A bind mount keeps the host file's owner and mode (compose says the same).
            eprintln!(
                "{}",
                crate::cli::warn_line(&format!(
                    "{word}s `uid`, `gid` and `mode` are not supported, they will be ignored"
                ))
            );
        }
        let t = target(kind, r);
        if out.iter().any(|m| m.target == t) {
            continue;
        }
        out.push(Mount {
            kind: "bind".into(),
            source: o.file.clone(),
            target: t,
            read_only: true,
            ..Default::default()
        });
    }
    Ok(out)
}

fn parse_id(v: &str) -> OpResult<u64> {
    if v.is_empty() {
        return Ok(0);
    }
    v.parse::<u64>()
        .map_err(|_| OpError(format!("strconv.Atoi: parsing {v:?}: invalid syntax")))
}

/// The one-file tar compose sends for one secret or config.
pub fn archive(r: &FileRef, target: &str, content: &[u8]) -> OpResult<Vec<u8>> {
    let mode = r.mode.map(|m| m.0).unwrap_or(0o444);
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(content.len() as u64);
    h.set_mode(mode);
    h.set_uid(parse_id(&r.uid)?);
    h.set_gid(parse_id(&r.gid)?);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    h.set_mtime(now);
    // The tar crate keeps archive names relative; extracted at "/" it is the same path.
    let name = target.trim_start_matches('/');
    let mut b = tar::Builder::new(Vec::new());
    b.append_data(&mut h, name, content)
        .map_err(|e| OpError(format!("{target}: {e}")))?;
    b.into_inner()
        .map_err(|e| OpError(format!("{target}: {e}")))
}

/// Writes the service's environment/content-sourced secrets and configs into container
/// `id` (created, not yet started), as compose does before every start.
pub fn inject(api: &Api, p: &Project, s: &Service, id: &str) -> OpResult<()> {
    for (kind, r) in refs(s) {
        let Some(o) = object(p, kind, r) else {
            continue;
        };
        let Some(content) = injected_content(p, kind, o)? else {
            continue;
        };
        let tar = archive(r, &target(kind, r), content.as_bytes())?;
        let copy_uid_gid = !r.uid.is_empty() || !r.gid.is_empty();
        api.put_archive(id, "/", copy_uid_gid, &tar)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FileMode;
    use std::io::Read;

    fn fref(source: &str, target: &str) -> FileRef {
        FileRef {
            source: source.into(),
            target: target.into(),
            ..Default::default()
        }
    }

    #[test]
    fn targets_follow_compose() {
        assert_eq!(target(Kind::Secret, &fref("a", "")), "/run/secrets/a");
        assert_eq!(target(Kind::Secret, &fref("a", "b")), "/run/secrets/b");
        assert_eq!(target(Kind::Secret, &fref("a", "/etc/b")), "/etc/b");
        assert_eq!(target(Kind::Config, &fref("a", "")), "/a");
        assert_eq!(target(Kind::Config, &fref("a", "x/y")), "/x/y");
    }

    #[test]
    fn archive_holds_one_file_with_mode_and_owner() {
        let mut r = fref("s", "");
        r.uid = "100".into();
        r.gid = "101".into();
        r.mode = Some(FileMode(0o440));
        let bytes = archive(&r, "/run/secrets/s", b"hello").unwrap();
        let mut a = tar::Archive::new(&bytes[..]);
        let mut n = 0;
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            n += 1;
            assert_eq!(e.path().unwrap().to_str(), Some("run/secrets/s"));
            assert_eq!(e.header().mode().unwrap(), 0o440);
            assert_eq!(e.header().uid().unwrap(), 100);
            assert_eq!(e.header().gid().unwrap(), 101);
            let mut s = String::new();
            e.read_to_string(&mut s).unwrap();
            assert_eq!(s, "hello");
        }
        assert_eq!(n, 1);
        let plain = archive(&fref("c", ""), "/c", b"").unwrap();
        let mut a = tar::Archive::new(&plain[..]);
        let e = a.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(e.header().mode().unwrap(), 0o444);
        assert_eq!(e.header().uid().unwrap(), 0);
    }

    #[test]
    fn bad_uid_is_refused_with_go_wording() {
        let mut r = fref("s", "");
        r.uid = "root".into();
        let e = archive(&r, "/run/secrets/s", b"x").unwrap_err();
        assert_eq!(e.0, "strconv.Atoi: parsing \"root\": invalid syntax");
    }
}
