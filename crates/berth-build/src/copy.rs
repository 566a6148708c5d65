//! COPY and ADD: sources from the context (or a stage's / image's rootfs), globs, the
//! .dockerignore, directory semantics, ownership and mode, ADD's local tar extraction, and
//! the content digest the cache keys on. Files are placed in a fresh directory laid out
//! like the image root, which is then committed as the step's layer.

use crate::error::{BuildError, Result};
use crate::ignore::{self, Matcher};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The image below the step: its layer dirs, top first (for metadata of existing parents,
/// `/etc/passwd` for `--chown=name`).
pub struct Lower {
    pub layers: Vec<PathBuf>,
}

impl Lower {
    pub fn meta(&self, rel: &str) -> Option<fs::Metadata> {
        let rel = rel.trim_start_matches('/');
        for l in &self.layers {
            let p = l.join(rel);
            if let Ok(m) = fs::symlink_metadata(&p) {
                // A whiteout (0/0 char device) hides what is below.
                if m.file_type().is_char_device_like() && m.rdev() == 0 {
                    return None;
                }
                return Some(m);
            }
        }
        None
    }

    pub fn read(&self, rel: &str) -> Option<Vec<u8>> {
        let rel = rel.trim_start_matches('/');
        for l in &self.layers {
            let p = l.join(rel);
            if p.is_file() {
                return fs::read(p).ok();
            }
        }
        None
    }
}

trait CharDev {
    fn is_char_device_like(&self) -> bool;
}
impl CharDev for fs::FileType {
    fn is_char_device_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_char_device()
    }
}

/// One resolved source.
#[derive(Debug, Clone)]
pub struct Source {
    /// Cleaned path relative to the source root.
    pub rel: String,
    pub abs: PathBuf,
}

fn not_found(src: &str) -> BuildError {
    BuildError::invalid(format!(
        "file not found in build context or excluded by .dockerignore: stat {src}: file does not exist"
    ))
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Resolves COPY/ADD sources under `root`; `matcher` is the context's .dockerignore.
pub fn resolve(
    root: &Path,
    srcs: &[String],
    matcher: Option<&Matcher>,
    what: &str,
) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    for src in srcs {
        let c = ignore::clean(src.trim_start_matches('/'));
        let c = if src.starts_with('/') {
            ignore::clean(&format!("/{c}"))
                .trim_start_matches('/')
                .to_string()
        } else {
            c
        };
        if c == ".." || c.starts_with("../") {
            return Err(BuildError::invalid(format!(
                "{what} failed: forbidden path outside the build context: {src} ()"
            )));
        }
        let c = if c.is_empty() { ".".to_string() } else { c };
        let excluded = |rel: &str| matcher.is_some_and(|m| rel != "." && m.excluded(rel));
        if has_glob(&c) {
            let mut found = Vec::new();
            glob_walk(root, "", &c.split('/').collect::<Vec<_>>(), &mut found);
            found.retain(|s: &Source| !excluded(&s.rel));
            if found.is_empty() {
                return Err(BuildError::invalid(format!(
                    "{what} failed: no source files were specified"
                )));
            }
            found.sort_by(|a, b| a.rel.cmp(&b.rel));
            out.extend(found);
            continue;
        }
        let abs = if c == "." {
            root.to_path_buf()
        } else {
            root.join(&c)
        };
        if fs::symlink_metadata(&abs).is_err() || excluded(&c) {
            return Err(BuildError::invalid(format!(
                "{what} failed: {}",
                not_found(src)
            )));
        }
        out.push(Source { rel: c, abs });
    }
    Ok(out)
}

fn glob_walk(dir: &Path, prefix: &str, segs: &[&str], out: &mut Vec<Source>) {
    let Some((first, rest)) = segs.split_first() else {
        return;
    };
    let pat: Vec<char> = first.chars().collect();
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => return,
    };
    names.sort();
    for n in names {
        let nc: Vec<char> = n.chars().collect();
        if !crate::shell::glob_match(&pat, &nc) {
            continue;
        }
        let rel = if prefix.is_empty() {
            n.clone()
        } else {
            format!("{prefix}/{n}")
        };
        let p = dir.join(&n);
        if rest.is_empty() {
            out.push(Source { rel, abs: p });
        } else if p.is_dir() {
            glob_walk(&p, &rel, rest, out);
        }
    }
}

/// Walks a source (a file or a directory's contents), skipping excluded paths;
/// calls `f(relative-to-source, abs, metadata)` in sorted order.
fn walk(
    src: &Source,
    matcher: Option<&Matcher>,
    f: &mut dyn FnMut(&str, &Path, &fs::Metadata) -> Result<()>,
) -> Result<()> {
    fn rec(
        abs: &Path,
        ctx_rel: &str,
        rel: &str,
        matcher: Option<&Matcher>,
        f: &mut dyn FnMut(&str, &Path, &fs::Metadata) -> Result<()>,
    ) -> Result<()> {
        let mut names: Vec<_> = fs::read_dir(abs)
            .map_err(|e| BuildError::internal(&format!("reading {}", abs.display()), e))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        names.sort();
        for n in names {
            let n = n.to_string_lossy().into_owned();
            let crel = if ctx_rel == "." {
                n.clone()
            } else {
                format!("{ctx_rel}/{n}")
            };
            let r = if rel.is_empty() {
                n.clone()
            } else {
                format!("{rel}/{n}")
            };
            let p = abs.join(&n);
            let m = fs::symlink_metadata(&p)
                .map_err(|e| BuildError::internal(&format!("stat {}", p.display()), e))?;
            let excluded = matcher.is_some_and(|mt| mt.excluded(&crel));
            if m.is_dir() {
                if excluded && !matcher.is_some_and(|mt| mt.may_include_under(&crel)) {
                    continue;
                }
                if !excluded {
                    f(&r, &p, &m)?;
                }
                rec(&p, &crel, &r, matcher, f)?;
            } else if !excluded {
                f(&r, &p, &m)?;
            }
        }
        Ok(())
    }
    // Follow a symlink named as the source itself, as docker does.
    let m = fs::metadata(&src.abs)
        .or_else(|_| fs::symlink_metadata(&src.abs))
        .map_err(|e| BuildError::internal("stat source", e))?;
    if m.is_dir() {
        rec(&src.abs, &src.rel, "", matcher, f)
    } else {
        f("", &src.abs, &m)
    }
}

/// The content digest of the sources: paths, modes, file contents and link targets.
pub fn digest(srcs: &[Source], matcher: Option<&Matcher>) -> Result<String> {
    let mut h = Sha256::new();
    for s in srcs {
        h.update(s.rel.as_bytes());
        h.update([0]);
        walk(s, matcher, &mut |rel, abs, m| {
            h.update(rel.as_bytes());
            h.update(format!("\0{:o}\0", m.mode()).as_bytes());
            if m.file_type().is_symlink() {
                let t = fs::read_link(abs).map_err(|e| BuildError::internal("readlink", e))?;
                h.update(t.as_os_str().as_encoded_bytes());
            } else if m.is_file() {
                let mut f = fs::File::open(abs)
                    .map_err(|e| BuildError::internal(&format!("open {}", abs.display()), e))?;
                let mut buf = [0u8; 64 * 1024];
                loop {
                    let n = f
                        .read(&mut buf)
                        .map_err(|e| BuildError::internal("read", e))?;
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
            }
            h.update([0]);
            Ok(())
        })?;
    }
    Ok(hex::encode(h.finalize()))
}

/// `uid[:gid]` with names looked up in the image's passwd and group files.
pub fn parse_chown(spec: &str, lower: &Lower) -> Result<(u32, u32)> {
    let (u, g) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let lookup = |file: &str, name: &str, gid_field: bool| -> Option<(u32, u32)> {
        let data = lower.read(file)?;
        String::from_utf8_lossy(&data).lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.first() == Some(&name) && f.len() > 2 {
                let id = f[2].parse().ok()?;
                let gid = if gid_field {
                    f.get(3).and_then(|g| g.parse().ok()).unwrap_or(id)
                } else {
                    id
                };
                Some((id, gid))
            } else {
                None
            }
        })
    };
    let bad = || {
        BuildError::invalid(format!(
            "unable to convert uid/gid chown string to host mapping: can't find uid for user {u}: no such user: {u}"
        ))
    };
    let (uid, primary) = match u.parse::<u32>() {
        Ok(n) => (n, n),
        Err(_) => lookup("etc/passwd", u, true).ok_or_else(bad)?,
    };
    let gid = match g {
        None => if u.parse::<u32>().is_ok() { uid } else { primary },
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => lookup("etc/group", g, false)
                .map(|(id, _)| id)
                .ok_or_else(|| BuildError::invalid(format!(
                    "unable to convert uid/gid chown string to host mapping: can't find gid for group {g}: no such group: {g}"
                )))?,
        },
    };
    Ok((uid, gid))
}

pub fn parse_chmod(s: &str) -> Result<u32> {
    u32::from_str_radix(s, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| BuildError::invalid(format!("invalid chmod parameter: {s}")))
}

/// Where and how files land.
pub struct Placement<'a> {
    pub upper: &'a Path,
    pub lower: &'a Lower,
    pub owner: (u32, u32),
    pub chmod: Option<u32>,
}

fn chown(p: &Path, o: (u32, u32)) -> Result<()> {
    std::os::unix::fs::lchown(p, Some(o.0), Some(o.1))
        .map_err(|e| BuildError::internal(&format!("chown {}", p.display()), e))
}

impl Placement<'_> {
    /// Creates `/a/b/c` in the upper dir: existing directories keep the lower layer's
    /// metadata, new ones are 0755 and owned by the COPY's owner.
    pub fn mkdir_all(&self, abs: &str) -> Result<PathBuf> {
        let mut cur = String::new();
        let mut p = self.upper.to_path_buf();
        for seg in abs.split('/').filter(|s| !s.is_empty()) {
            cur.push('/');
            cur.push_str(seg);
            p.push(seg);
            if p.is_dir() {
                continue;
            }
            fs::create_dir(&p)
                .map_err(|e| BuildError::internal(&format!("mkdir {}", p.display()), e))?;
            match self.lower.meta(&cur).filter(|m| m.is_dir()) {
                Some(m) => {
                    fs::set_permissions(&p, fs::Permissions::from_mode(m.mode() & 0o7777))
                        .map_err(|e| BuildError::internal("chmod", e))?;
                    chown(&p, (m.uid(), m.gid()))?;
                }
                None => {
                    fs::set_permissions(&p, fs::Permissions::from_mode(0o755))
                        .map_err(|e| BuildError::internal("chmod", e))?;
                    chown(&p, self.owner)?;
                }
            }
        }
        Ok(p)
    }

    fn put(&self, dest_abs: &str, abs: &Path, m: &fs::Metadata) -> Result<()> {
        let parent = match dest_abs.rsplit_once('/') {
            Some((p, _)) => p,
            None => "",
        };
        self.mkdir_all(parent)?;
        let target = self.upper.join(dest_abs.trim_start_matches('/'));
        if m.is_dir() {
            if !target.is_dir() {
                fs::create_dir(&target).map_err(|e| BuildError::internal("mkdir", e))?;
            }
        } else {
            if fs::symlink_metadata(&target).is_ok() {
                let _ = fs::remove_file(&target);
            }
            if m.file_type().is_symlink() {
                let t = fs::read_link(abs).map_err(|e| BuildError::internal("readlink", e))?;
                std::os::unix::fs::symlink(t, &target)
                    .map_err(|e| BuildError::internal("symlink", e))?;
                return chown(&target, self.owner);
            } else if m.is_file() {
                fs::copy(abs, &target)
                    .map_err(|e| BuildError::internal(&format!("copying {}", abs.display()), e))?;
                // Docker's COPY/ADD keep a file's mtime (the cache key never looks at it).
                if let Ok(t) = m.modified() {
                    fs::File::options()
                        .write(true)
                        .open(&target)
                        .and_then(|f| f.set_modified(t))
                        .map_err(|e| BuildError::internal("setting mtime", e))?;
                }
            } else {
                // Devices, fifos, sockets: docker copies them too; we skip them.
                return Ok(());
            }
        }
        let mode = self.chmod.unwrap_or(m.mode() & 0o7777);
        fs::set_permissions(&target, fs::Permissions::from_mode(mode))
            .map_err(|e| BuildError::internal("chmod", e))?;
        chown(&target, self.owner)
    }

    /// Copies the sources to `dest` (absolute, in the image) with docker's rules: a
    /// directory's contents go into `dest`; files go into `dest` when it ends with `/`,
    /// exists as a directory or there are several sources, else become `dest`.
    pub fn copy(&self, srcs: &[Source], dest: &str, matcher: Option<&Matcher>) -> Result<()> {
        let dest_is_dir = dest.ends_with('/')
            || srcs.len() > 1
            || self.lower.meta(dest).is_some_and(|m| m.is_dir());
        let dest_clean = ignore::clean(dest);
        if srcs.len() > 1 && !dest.ends_with('/') {
            return Err(BuildError::invalid(
                "When using COPY with more than one source file, the destination must be a directory and end with a /",
            ));
        }
        for s in srcs {
            let is_dir = fs::metadata(&s.abs).map(|m| m.is_dir()).unwrap_or(false);
            if is_dir {
                self.mkdir_all(&dest_clean)?;
                walk(s, matcher, &mut |rel, abs, m| {
                    let d = format!("{}/{rel}", dest_clean.trim_end_matches('/'));
                    self.put(&d, abs, m)
                })?;
            } else {
                let name = s.rel.rsplit('/').next().unwrap_or(&s.rel);
                let d = if dest_is_dir {
                    format!("{}/{name}", dest_clean.trim_end_matches('/'))
                } else {
                    dest_clean.clone()
                };
                let m = fs::metadata(&s.abs).map_err(|e| BuildError::internal("stat", e))?;
                self.put(&d, &s.abs, &m)?;
            }
        }
        Ok(())
    }

    /// Writes a heredoc's content as a file.
    pub fn write_file(&self, dest_abs: &str, content: &[u8]) -> Result<()> {
        let parent = dest_abs.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
        self.mkdir_all(parent)?;
        let target = self.upper.join(dest_abs.trim_start_matches('/'));
        fs::write(&target, content).map_err(|e| BuildError::internal("writing heredoc", e))?;
        fs::set_permissions(
            &target,
            fs::Permissions::from_mode(self.chmod.unwrap_or(0o644)),
        )
        .map_err(|e| BuildError::internal("chmod", e))?;
        chown(&target, self.owner)
    }

    /// ADD of a local archive: extracts it into `dest`.
    pub fn extract(&self, archive: &Path, dest: &str) -> Result<()> {
        let d = self.mkdir_all(&ignore::clean(dest))?;
        let f = fs::File::open(archive).map_err(|e| BuildError::internal("open archive", e))?;
        let mut r = std::io::BufReader::new(f);
        let gz = {
            use std::io::BufRead;
            let b = r
                .fill_buf()
                .map_err(|e| BuildError::internal("read archive", e))?;
            b.starts_with(&[0x1f, 0x8b])
        };
        let reader: Box<dyn Read> = if gz {
            Box::new(flate2::read::GzDecoder::new(r))
        } else {
            Box::new(r)
        };
        let mut ar = tar::Archive::new(reader);
        ar.set_preserve_permissions(true);
        ar.set_preserve_ownerships(true);
        ar.set_overwrite(true);
        ar.unpack(&d).map_err(|e| {
            // tar's error names the entry; the cause is in its source.
            let cause = std::error::Error::source(&e)
                .map(|s| format!(": {s}"))
                .unwrap_or_default();
            BuildError::invalid(format!(
                "ADD failed: extracting {}: {e}{cause}",
                archive.display()
            ))
        })
    }
}

/// Whether ADD should extract this local file (a tar, maybe gzip-compressed).
pub fn is_archive(p: &Path) -> bool {
    let Ok(mut f) = fs::File::open(p) else {
        return false;
    };
    let mut head = vec![0u8; 512];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => return false,
        }
    }
    head.truncate(n);
    if head.starts_with(&[0x1f, 0x8b]) {
        let Ok(f) = fs::File::open(p) else {
            return false;
        };
        let mut d = flate2::read::GzDecoder::new(f);
        let mut b = vec![0u8; 512];
        return d.read_exact(&mut b).is_ok() && &b[257..262] == b"ustar";
    }
    head.len() >= 262 && &head[257..262] == b"ustar"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("src/sub")).unwrap();
        fs::write(d.path().join("src/a.txt"), "a").unwrap();
        fs::write(d.path().join("src/sub/b.txt"), "b").unwrap();
        fs::write(d.path().join("top.md"), "t").unwrap();
        d
    }

    #[test]
    fn resolves_globs_and_refuses_escapes() {
        let d = ctx();
        let s = resolve(
            d.path(),
            &["src/*.txt".into(), "top.md".into()],
            None,
            "COPY",
        )
        .unwrap();
        assert_eq!(
            s.iter().map(|s| s.rel.as_str()).collect::<Vec<_>>(),
            vec!["src/a.txt", "top.md"]
        );
        let e = resolve(d.path(), &["../x".into()], None, "COPY").unwrap_err();
        assert_eq!(
            e.to_string(),
            "COPY failed: forbidden path outside the build context: ../x ()"
        );
        let e = resolve(d.path(), &["nope".into()], None, "COPY").unwrap_err();
        assert!(e
            .to_string()
            .contains("file not found in build context or excluded by .dockerignore: stat nope"));
        let m = Matcher::parse("top.md\n");
        assert!(resolve(d.path(), &["top.md".into()], Some(&m), "COPY").is_err());
        // A leading slash is the context root.
        assert_eq!(
            resolve(d.path(), &["/top.md".into()], None, "COPY").unwrap()[0].rel,
            "top.md"
        );
    }

    #[test]
    fn digest_follows_content_not_mtime() {
        let d = ctx();
        let s = resolve(d.path(), &["src".into()], None, "COPY").unwrap();
        let a = digest(&s, None).unwrap();
        let p = d.path().join("src/sub/b.txt");
        let mtime = fs::metadata(&p).unwrap().modified().unwrap();
        fs::write(&p, "B").unwrap();
        fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        assert_ne!(a, digest(&s, None).unwrap());
        fs::write(&p, "b").unwrap();
        assert_eq!(a, digest(&s, None).unwrap());
        let m = Matcher::parse("src/sub\n");
        assert_ne!(a, digest(&s, Some(&m)).unwrap());
    }

    #[test]
    fn copy_dir_contents_and_files() {
        let d = ctx();
        let up = tempfile::tempdir().unwrap();
        let lower = Lower { layers: vec![] };
        let p = Placement {
            upper: up.path(),
            lower: &lower,
            owner: (0, 0),
            chmod: None,
        };
        let s = resolve(d.path(), &["src".into()], None, "COPY").unwrap();
        let m = Matcher::parse("src/sub/b.txt\n");
        p.copy(&s, "/app", Some(&m)).unwrap();
        assert_eq!(
            fs::read_to_string(up.path().join("app/a.txt")).unwrap(),
            "a"
        );
        assert!(up.path().join("app/sub").is_dir());
        assert!(!up.path().join("app/sub/b.txt").exists());
        let s = resolve(d.path(), &["top.md".into()], None, "COPY").unwrap();
        p.copy(&s, "/x/renamed", None).unwrap();
        assert_eq!(
            fs::read_to_string(up.path().join("x/renamed")).unwrap(),
            "t"
        );
        p.copy(&s, "/y/", None).unwrap();
        assert!(up.path().join("y/top.md").is_file());
        let two = resolve(
            d.path(),
            &["top.md".into(), "src/a.txt".into()],
            None,
            "COPY",
        )
        .unwrap();
        assert!(p.copy(&two, "/z", None).is_err());
    }

    #[test]
    fn chown_and_chmod_parsing() {
        let l = tempfile::tempdir().unwrap();
        fs::create_dir_all(l.path().join("etc")).unwrap();
        fs::write(
            l.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\napp:x:1001:1002::/:/bin/sh\n",
        )
        .unwrap();
        fs::write(l.path().join("etc/group"), "root:x:0:\nstaff:x:50:\n").unwrap();
        let lower = Lower {
            layers: vec![l.path().to_path_buf()],
        };
        assert_eq!(parse_chown("1:2", &lower).unwrap(), (1, 2));
        assert_eq!(parse_chown("7", &lower).unwrap(), (7, 7));
        assert_eq!(parse_chown("app", &lower).unwrap(), (1001, 1002));
        assert_eq!(parse_chown("app:staff", &lower).unwrap(), (1001, 50));
        assert!(parse_chown("nobody2", &lower)
            .unwrap_err()
            .to_string()
            .contains("no such user"));
        assert_eq!(parse_chmod("755").unwrap(), 0o755);
        assert!(parse_chmod("9").is_err());
    }
}
#[cfg(test)]
mod extract_tests {
    use super::*;
    #[test]
    fn add_extracts_a_tar_without_dir_entries() {
        let up = tempfile::tempdir().unwrap();
        let lower = Lower { layers: vec![] };
        let p = Placement {
            upper: up.path(),
            lower: &lower,
            owner: (0, 0),
            chmod: None,
        };
        let mut tb = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_mode(0o644);
        h.set_cksum();
        tb.append_data(&mut h, "inner/x.txt", &b"tar"[..]).unwrap();
        let f = up.path().join("../a.tar");
        fs::write(&f, tb.into_inner().unwrap()).unwrap();
        assert!(is_archive(&f));
        if let Err(e) = p.extract(&f, "/extracted/") {
            panic!("{e:?}");
        }
        assert_eq!(
            fs::read_to_string(up.path().join("extracted/inner/x.txt")).unwrap(),
            "tar"
        );
    }
}
