//! COPY and ADD: sources from the context (or a stage's / image's rootfs), globs, the
//! .dockerignore, directory semantics, ownership and mode, ADD's local tar extraction, and
//! the content digest the cache keys on.
//!
//! Both ends are resolved as Docker's classic builder does (moby's `FollowSymlinkInScope`)
//! but through descriptors ([`berth_inroot`]): a symlink in the context, a stage or an image
//! is followed only inside that root, so `COPY link/file` with `link -> /etc` reads the
//! root's own `/etc`, never the host's. Symlinks inside a copied directory are copied as
//! symlinks. The destination is resolved inside the image being built (a
//! [`berth_image::ImageView`] of the parent image: its layers under the step's fresh upper
//! dir) and everything is
//! written through [`berth_image::TreeWriter`], the hardened writer layers are unpacked
//! with: nothing is created or changed through a symlink.
//!
//! New parent directories are 0755 and owned by `--chown`, as Docker's MkdirAllAndChownNew;
//! `--chown=name` reads the parent image's passwd/group through `ImageStore::files` (a
//! descriptor-based union view of its layers). Files keep their mtimes (whole seconds, as
//! Docker's tar copy; an ADD URL file gets its Last-Modified time). `RUN --mount=type=bind`
//! sources, the context tar and ADD archives go through the same resolver and hardened
//! writer. berth-tests `build_symlinks.rs` compares the results with a private dockerd's
//! classic builder.

use crate::error::{BuildError, Result};
use crate::ignore::{self, Matcher};
use berth_image::ImageFiles;
use berth_image::{EntryKind, EntryMeta, TreeWriter, UnpackOptions};
use berth_inroot::{tree, Follow, Root};
use rustix::fs::{FileType, OFlags, Stat};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// What a walk calls for each entry: its path components, its stat and the node.
type Visit<'a> = dyn FnMut(&[Vec<u8>], &Stat, Node<'_>) -> Result<()> + 'a;

/// One resolved source.
#[derive(Debug, Clone)]
pub struct Source {
    /// Cleaned path relative to the source root, as written (after glob expansion).
    pub rel: String,
    /// Where it leads inside the root, symlinks followed inside it (`/` separated, no
    /// leading `/`; empty for the root itself).
    pub resolved: String,
    pub is_dir: bool,
}

fn not_found(src: &str) -> BuildError {
    BuildError::invalid(format!(
        "file not found in build context or excluded by .dockerignore: stat {src}: file does not exist"
    ))
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

fn io_err(ctx: &str) -> impl Fn(io::Error) -> BuildError + '_ {
    move |e| BuildError::internal(ctx, e)
}

fn file_type(st: &Stat) -> FileType {
    FileType::from_raw_mode(st.st_mode)
}

/// Reads the regular file `rel` of the directory `root` (the context's Dockerfile or
/// .dockerignore), symlinks followed inside it.
pub fn read_in(root: &Path, rel: &str) -> io::Result<Vec<u8>> {
    let fd = Root::at(root)?.open(rel, OFlags::RDONLY | OFlags::NONBLOCK, Follow::All)?;
    let mut f = std::fs::File::from(fd);
    if !f.metadata()?.is_file() {
        return Err(io::Error::from_raw_os_error(libc_eisdir()));
    }
    let mut v = Vec::new();
    f.read_to_end(&mut v)?;
    Ok(v)
}

fn libc_eisdir() -> i32 {
    rustix::io::Errno::ISDIR.raw_os_error()
}

/// Resolves one source path (relative to the root) as Docker does.
fn resolve_one(root: &Root, rel: &str) -> io::Result<Source> {
    let canon = root.canonical(rel, Follow::All)?;
    // The canonical path has no symlink left: look at what it names itself.
    let st = root.stat(&canon, Follow::NotLast)?;
    let resolved = canon.to_string_lossy().trim_start_matches('/').to_string();
    Ok(Source {
        rel: rel.to_string(),
        resolved,
        is_dir: file_type(&st) == FileType::Directory,
    })
}

/// Resolves COPY/ADD sources inside `root`; `matcher` is the context's .dockerignore.
pub fn resolve(
    root: &Root,
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
            let mut rels = Vec::new();
            let segs: Vec<&str> = c.split('/').collect();
            glob_walk(root.fd(), "", &segs, &mut rels).map_err(io_err("reading the sources"))?;
            rels.retain(|r| !excluded(r));
            rels.sort();
            if rels.is_empty() {
                return Err(BuildError::invalid(format!(
                    "{what} failed: no source files were specified"
                )));
            }
            for r in rels {
                out.push(resolve_one(root, &r).map_err(|e| missing(what, &r, e))?);
            }
            continue;
        }
        if excluded(&c) {
            return Err(BuildError::invalid(format!(
                "{what} failed: {}",
                not_found(src)
            )));
        }
        let rel = if c == "." { "" } else { c.as_str() };
        let mut s = resolve_one(root, rel).map_err(|e| missing(what, src, e))?;
        s.rel = c;
        out.push(s);
    }
    Ok(out)
}

/// A source that cannot be resolved: Docker's not-found message, or the error.
fn missing(what: &str, src: &str, e: io::Error) -> BuildError {
    if matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    ) {
        BuildError::invalid(format!("{what} failed: {}", not_found(src)))
    } else {
        BuildError::invalid(format!("{what} failed: stat {src}: {e}"))
    }
}

/// Expands a glob one path segment at a time, as Go's `filepath.Match` over a `WalkDir`
/// that never descends into symlinks.
fn glob_walk(
    dir: BorrowedFd<'_>,
    prefix: &str,
    segs: &[&str],
    out: &mut Vec<String>,
) -> io::Result<()> {
    let Some((first, rest)) = segs.split_first() else {
        return Ok(());
    };
    let pat: Vec<char> = first.chars().collect();
    for n in tree::names(dir)? {
        let name = n.to_string_lossy().into_owned();
        let nc: Vec<char> = name.chars().collect();
        if !crate::shell::glob_match(&pat, &nc) {
            continue;
        }
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if rest.is_empty() {
            out.push(rel);
        } else if tree::lstat(dir, &n)?.is_some_and(|st| file_type(&st) == FileType::Directory) {
            let sub = tree::open_dir(dir, &n)?;
            glob_walk(sub.as_fd(), &rel, rest, out)?;
        }
    }
    Ok(())
}

/// An entry of a source tree as [`walk`] hands it over.
enum Node<'a> {
    Dir,
    File(&'a mut std::fs::File),
    Link(OsString),
    /// A device or fifo: copied as a node (never opened).
    Special,
}

/// Walks a source: a file itself, or a directory's contents (the directory first, with
/// empty components), skipping what the .dockerignore excludes; `f` gets each entry's
/// components below the source, its `lstat` and the entry. Nothing is followed.
fn walk(root: &Root, src: &Source, matcher: Option<&Matcher>, f: &mut Visit<'_>) -> Result<()> {
    if !src.is_dir {
        let (dir, name) = root
            .parent(&src.resolved, None)
            .map_err(io_err("resolving a source"))?;
        let st = tree::lstat(dir.as_fd(), &name)
            .map_err(io_err("stat source"))?
            .ok_or_else(|| not_found(&src.rel))?;
        return visit(dir.as_fd(), &name, &st, &mut Vec::new(), "", matcher, f);
    }
    let dir = root
        .open(
            &src.resolved,
            OFlags::RDONLY | OFlags::DIRECTORY,
            Follow::NotLast,
        )
        .map_err(io_err("opening a source"))?;
    let st = tree::fstat(dir.as_fd()).map_err(io_err("stat source"))?;
    f(&[], &st, Node::Dir)?;
    let ctx = if src.resolved.is_empty() {
        "."
    } else {
        src.resolved.as_str()
    };
    contents(dir.as_fd(), &mut Vec::new(), ctx, matcher, f)
}

/// The entries of the directory `dir` (sorted), recursively.
fn contents(
    dir: BorrowedFd<'_>,
    comps: &mut Vec<Vec<u8>>,
    ctx_rel: &str,
    matcher: Option<&Matcher>,
    f: &mut Visit<'_>,
) -> Result<()> {
    for n in tree::names(dir).map_err(io_err("reading a source directory"))? {
        let Some(st) = tree::lstat(dir, &n).map_err(io_err("stat"))? else {
            continue;
        };
        let name = n.to_string_lossy();
        let crel = if ctx_rel == "." {
            name.into_owned()
        } else {
            format!("{ctx_rel}/{name}")
        };
        let excluded = matcher.is_some_and(|m| m.excluded(&crel));
        if excluded {
            let descend = file_type(&st) == FileType::Directory
                && matcher.is_some_and(|m| m.may_include_under(&crel));
            if !descend {
                continue;
            }
            // An excluded directory with re-included entries: only those are copied.
            comps.push(n.as_bytes().to_vec());
            let sub = tree::open_dir(dir, &n).map_err(io_err("opening a source directory"))?;
            contents(sub.as_fd(), comps, &crel, matcher, f)?;
            comps.pop();
            continue;
        }
        comps.push(n.as_bytes().to_vec());
        visit(dir, &n, &st, comps, &crel, matcher, f)?;
        comps.pop();
    }
    Ok(())
}

fn visit(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    st: &Stat,
    comps: &mut Vec<Vec<u8>>,
    crel: &str,
    matcher: Option<&Matcher>,
    f: &mut Visit<'_>,
) -> Result<()> {
    match file_type(st) {
        FileType::Directory => {
            f(comps, st, Node::Dir)?;
            let sub = tree::open_dir(dir, name).map_err(io_err("opening a source directory"))?;
            contents(sub.as_fd(), comps, crel, matcher, f)
        }
        FileType::RegularFile => {
            let fd = tree::open(dir, name, OFlags::RDONLY).map_err(io_err("opening a source"))?;
            let mut file = std::fs::File::from(fd);
            f(comps, st, Node::File(&mut file))
        }
        FileType::Symlink => {
            let t = tree::readlink(dir, name).map_err(io_err("readlink"))?;
            f(comps, st, Node::Link(t))
        }
        FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo => {
            f(comps, st, Node::Special)
        }
        // Sockets are skipped, as Docker's tar does.
        _ => Ok(()),
    }
}

fn join(comps: &[Vec<u8>]) -> Vec<u8> {
    comps.join(&b'/')
}

/// The content digest of the sources: paths, modes, file contents and link targets.
pub fn digest(root: &Root, srcs: &[Source], matcher: Option<&Matcher>) -> Result<String> {
    let mut h = Sha256::new();
    for s in srcs {
        h.update(s.rel.as_bytes());
        h.update([0]);
        walk(root, s, matcher, &mut |comps, st, node| {
            if comps.is_empty() && s.is_dir {
                return Ok(());
            }
            h.update(join(comps));
            h.update(format!("\0{:o}\0", st.st_mode).as_bytes());
            match node {
                Node::Link(t) => h.update(t.as_bytes()),
                Node::File(file) => {
                    let mut buf = [0u8; 64 * 1024];
                    loop {
                        let n = file.read(&mut buf).map_err(io_err("read"))?;
                        if n == 0 {
                            break;
                        }
                        h.update(&buf[..n]);
                    }
                }
                Node::Special => h.update(st.st_rdev.to_le_bytes()),
                Node::Dir => {}
            }
            h.update([0]);
            Ok(())
        })?;
    }
    Ok(hex::encode(h.finalize()))
}

/// `uid[:gid]` with names looked up in the image's passwd and group files.
pub fn parse_chown(spec: &str, lower: &ImageFiles) -> Result<(u32, u32)> {
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

/// Where and how files land: `root` is the image being built (the parent image with the
/// step's upper dir over it), resolved and written only through descriptors.
pub struct Placement<'a> {
    pub root: &'a Root,
    pub owner: (u32, u32),
    pub chmod: Option<u32>,
}

/// A directory descriptor to write into (`O_PATH` ones cannot take metadata).
fn readable_dir(fd: &OwnedFd) -> io::Result<OwnedFd> {
    rustix::fs::openat(
        fd,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(io::Error::from)
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(0)
}

impl Placement<'_> {
    /// Docker's MkdirAllAndChownNew: missing directories are made 0755 and owned by the
    /// COPY's owner, existing ones keep their metadata; symlinks on the way are followed
    /// inside the image.
    fn new_dir_owner(&self) -> impl FnMut(BorrowedFd<'_>) -> io::Result<()> + '_ {
        move |fd| {
            rustix::fs::fchown(
                fd,
                Some(rustix::fs::Uid::from_raw(self.owner.0)),
                Some(rustix::fs::Gid::from_raw(self.owner.1)),
            )?;
            rustix::fs::fchmod(fd, rustix::fs::Mode::from_raw_mode(0o755))?;
            Ok(())
        }
    }

    /// Creates `/a/b/c` in the image (see [`Placement::new_dir_owner`]); returns a
    /// readable descriptor of it.
    pub fn mkdir_all(&self, abs: &str) -> Result<OwnedFd> {
        let mut on_new = self.new_dir_owner();
        let fd = self
            .root
            .mkdir_all(abs, 0o755, &mut on_new)
            .map_err(|e| BuildError::invalid(format!("mkdir {abs}: {e}")))?;
        readable_dir(&fd).map_err(io_err("opening the destination"))
    }

    /// The directory (created if missing) that will hold `abs`, and the name in it.
    fn parent_of(&self, abs: &str) -> Result<(OwnedFd, OsString)> {
        let mut on_new = self.new_dir_owner();
        let (dir, name) = self
            .root
            .parent(abs, Some((0o755, &mut on_new)))
            .map_err(|e| BuildError::invalid(format!("mkdir {abs}: {e}")))?;
        Ok((
            readable_dir(&dir).map_err(io_err("opening the destination"))?,
            name,
        ))
    }

    /// The destination resolved inside the image (symlinks followed), and whether it is an
    /// existing directory there.
    fn destination(&self, dest: &str) -> Result<(String, bool)> {
        let canon = self
            .root
            .canonical(dest, Follow::All)
            .map_err(|e| BuildError::invalid(format!("resolving {dest}: {e}")))?;
        let is_dir = self
            .root
            .stat(&canon, Follow::All)
            .is_ok_and(|st| file_type(&st) == FileType::Directory);
        Ok((canon.to_string_lossy().into_owned(), is_dir))
    }

    fn meta(&self, st: &Stat) -> EntryMeta {
        EntryMeta {
            mode: self.chmod.unwrap_or(st.st_mode & 0o7777),
            uid: u64::from(self.owner.0),
            gid: u64::from(self.owner.1),
            mtime: st.st_mtime,
            mtime_nsec: 0,
            xattrs: Vec::new(),
        }
    }

    /// Writes one source through `w`, its entries placed at `base` + their components,
    /// with the metadata `meta_of` gives each.
    fn put_source(
        &self,
        w: &mut TreeWriter,
        src_root: &Root,
        s: &Source,
        base: &[Vec<u8>],
        matcher: Option<&Matcher>,
        meta_of: &dyn Fn(&Stat) -> EntryMeta,
    ) -> Result<()> {
        // Hard links inside one source stay links, as in Docker's tar copy.
        let mut links: HashMap<(u64, u64), Vec<Vec<u8>>> = HashMap::new();
        walk(src_root, s, matcher, &mut |comps, st, node| {
            if comps.is_empty() && s.is_dir {
                // The destination directory itself keeps its metadata.
                return Ok(());
            }
            let mut at = base.to_vec();
            at.extend_from_slice(comps);
            let shown = String::from_utf8_lossy(&join(&at)).into_owned();
            let meta = meta_of(st);
            let kind = match node {
                Node::Dir => EntryKind::Dir,
                Node::Link(ref t) => EntryKind::Symlink {
                    target: t.as_bytes(),
                },
                Node::File(file) => {
                    if st.st_nlink > 1 {
                        if let Some(first) = links.get(&(st.st_dev, st.st_ino)) {
                            let first = first.clone();
                            return w
                                .put(&at, EntryKind::HardLink { target: &first }, meta, &shown)
                                .map_err(BuildError::from_image);
                        }
                        links.insert((st.st_dev, st.st_ino), at.clone());
                    }
                    let size = u64::try_from(st.st_size).unwrap_or(0);
                    return w
                        .put(
                            &at,
                            EntryKind::File {
                                size,
                                content: file,
                            },
                            meta,
                            &shown,
                        )
                        .map_err(BuildError::from_image);
                }
                Node::Special => EntryKind::Node {
                    format: st.st_mode & libc_ifmt(),
                    major: rustix::fs::major(st.st_rdev),
                    minor: rustix::fs::minor(st.st_rdev),
                },
            };
            w.put(&at, kind, meta, &shown)
                .map_err(BuildError::from_image)
        })
    }

    /// Copies the sources to `dest` (absolute, in the image) with Docker's rules: a
    /// directory's contents go into `dest`; files go into `dest` when it ends with `/` or
    /// is a directory in the image, else become `dest`.
    pub fn copy(
        &self,
        src_root: &Root,
        srcs: &[Source],
        dest: &str,
        matcher: Option<&Matcher>,
    ) -> Result<()> {
        self.copy_with(src_root, srcs, dest, matcher, &|st| self.meta(st))
    }

    /// [`Placement::copy`] keeping the sources' own owners and modes (a RUN's private copy
    /// of an `rw` bind source).
    pub fn copy_preserving(&self, src_root: &Root, srcs: &[Source], dest: &str) -> Result<()> {
        self.copy_with(src_root, srcs, dest, None, &|st| EntryMeta {
            mode: st.st_mode & 0o7777,
            uid: u64::from(st.st_uid),
            gid: u64::from(st.st_gid),
            mtime: st.st_mtime,
            mtime_nsec: 0,
            xattrs: Vec::new(),
        })
    }

    fn copy_with(
        &self,
        src_root: &Root,
        srcs: &[Source],
        dest: &str,
        matcher: Option<&Matcher>,
        meta_of: &dyn Fn(&Stat) -> EntryMeta,
    ) -> Result<()> {
        if srcs.len() > 1 && !dest.ends_with('/') {
            return Err(BuildError::invalid(
                "When using COPY with more than one source file, the destination must be a directory and end with a /",
            ));
        }
        let (dest_res, dest_exists_dir) = self.destination(&ignore::clean(dest))?;
        let dest_is_dir = dest.ends_with('/') || dest_exists_dir;
        for s in srcs {
            if s.is_dir {
                let dir = self.mkdir_all(&dest_res)?;
                let mut w = TreeWriter::new(dir, UnpackOptions::default());
                self.put_source(&mut w, src_root, s, &[], matcher, meta_of)?;
                w.finish().map_err(BuildError::from_image)?;
            } else {
                let name = s.rel.rsplit('/').next().unwrap_or(&s.rel);
                let target = if dest_is_dir {
                    format!("{}/{name}", dest_res.trim_end_matches('/'))
                } else {
                    dest_res.clone()
                };
                let (dir, tname) = self.parent_of(&target)?;
                let mut w = TreeWriter::new(dir, UnpackOptions::default());
                self.put_source(
                    &mut w,
                    src_root,
                    s,
                    &[tname.as_bytes().to_vec()],
                    matcher,
                    meta_of,
                )?;
                w.finish().map_err(BuildError::from_image)?;
            }
        }
        Ok(())
    }

    /// Writes a heredoc's content as the file `name` in `dest` (a directory: `dest` ends
    /// with `/` or is one in the image) or as `dest` itself.
    pub fn write_heredoc(&self, dest: &str, name: &str, content: &[u8]) -> Result<()> {
        let (dest_res, exists_dir) = self.destination(&ignore::clean(dest))?;
        let target = if dest.ends_with('/') || exists_dir {
            format!("{}/{name}", dest_res.trim_end_matches('/'))
        } else {
            dest_res
        };
        let (dir, tname) = self.parent_of(&target)?;
        let mut w = TreeWriter::new(dir, UnpackOptions::default());
        let meta = EntryMeta {
            mode: self.chmod.unwrap_or(0o644),
            uid: u64::from(self.owner.0),
            gid: u64::from(self.owner.1),
            mtime: now_secs(),
            mtime_nsec: 0,
            xattrs: Vec::new(),
        };
        let mut content = content;
        w.put(
            &[tname.as_bytes().to_vec()],
            EntryKind::File {
                size: content.len() as u64,
                content: &mut content,
            },
            meta,
            &target,
        )
        .map_err(BuildError::from_image)?;
        w.finish().map_err(BuildError::from_image)
    }

    /// ADD of a local archive: extracts it into the directory `dest` with the hardened
    /// writer (the archive's own ownership and modes, as Docker's; shifted into a
    /// `userns-remap` daemon's range by `id_map`, as moby's archiver with its IDMapping).
    pub fn extract(
        &self,
        src_root: &Root,
        src: &Source,
        dest: &str,
        id_map: Option<berth_api::idmap::IdMappings>,
    ) -> Result<()> {
        let (dest_res, _) = self.destination(&ignore::clean(dest))?;
        let dir = self.mkdir_all(&dest_res)?;
        let r = open_source(src_root, src)?;
        let mut r = std::io::BufReader::new(r);
        let gz = {
            use std::io::BufRead;
            let b = r.fill_buf().map_err(io_err("read archive"))?;
            b.starts_with(&[0x1f, 0x8b])
        };
        let reader: Box<dyn Read> = if gz {
            Box::new(flate2::read::GzDecoder::new(r))
        } else {
            Box::new(r)
        };
        let opts = UnpackOptions {
            id_map,
            ..Default::default()
        };
        berth_image::unpack_into(reader, dir, &opts)
            .map_err(|e| BuildError::invalid(format!("ADD failed: extracting {}: {e}", src.rel)))?;
        Ok(())
    }
}

fn libc_ifmt() -> u32 {
    0o170000
}

/// Opens a regular-file source for reading.
fn open_source(root: &Root, src: &Source) -> Result<std::fs::File> {
    let (dir, name) = root
        .parent(&src.resolved, None)
        .map_err(io_err("resolving a source"))?;
    let fd = tree::open(dir.as_fd(), &name, OFlags::RDONLY | OFlags::NONBLOCK)
        .map_err(io_err("opening a source"))?;
    let f = std::fs::File::from(fd);
    if !f.metadata().map_err(io_err("stat source"))?.is_file() {
        return Err(BuildError::invalid(format!(
            "{} is not a regular file",
            src.rel
        )));
    }
    Ok(f)
}

/// Whether ADD should extract this local source (a tar, maybe gzip-compressed).
pub fn is_archive(root: &Root, src: &Source) -> bool {
    if src.is_dir {
        return false;
    }
    let Ok(mut f) = open_source(root, src) else {
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
        let Ok(f) = open_source(root, src) else {
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
    use std::fs;
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

    fn ctx() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("src/sub")).unwrap();
        fs::write(d.path().join("src/a.txt"), "a").unwrap();
        fs::write(d.path().join("src/sub/b.txt"), "b").unwrap();
        fs::write(d.path().join("top.md"), "t").unwrap();
        d
    }

    fn root(d: &tempfile::TempDir) -> Root {
        Root::at(d.path()).unwrap()
    }

    #[test]
    fn resolves_globs_and_refuses_escapes() {
        let d = ctx();
        let r = root(&d);
        let s = resolve(&r, &["src/*.txt".into(), "top.md".into()], None, "COPY").unwrap();
        assert_eq!(
            s.iter().map(|s| s.rel.as_str()).collect::<Vec<_>>(),
            vec!["src/a.txt", "top.md"]
        );
        let e = resolve(&r, &["../x".into()], None, "COPY").unwrap_err();
        assert_eq!(
            e.to_string(),
            "COPY failed: forbidden path outside the build context: ../x ()"
        );
        let e = resolve(&r, &["nope".into()], None, "COPY").unwrap_err();
        assert!(e
            .to_string()
            .contains("file not found in build context or excluded by .dockerignore: stat nope"));
        let m = Matcher::parse("top.md\n");
        assert!(resolve(&r, &["top.md".into()], Some(&m), "COPY").is_err());
        // A leading slash is the context root.
        assert_eq!(
            resolve(&r, &["/top.md".into()], None, "COPY").unwrap()[0].rel,
            "top.md"
        );
    }

    #[test]
    fn symlinks_resolve_inside_the_context() {
        let d = ctx();
        let host = tempfile::tempdir().unwrap();
        fs::write(host.path().join("secret"), "host secret").unwrap();
        symlink("src", d.path().join("rel")).unwrap();
        symlink("/src", d.path().join("abs")).unwrap();
        symlink(host.path(), d.path().join("hostdir")).unwrap();
        symlink("../../../../../../../..", d.path().join("up")).unwrap();
        let r = root(&d);
        let s = resolve(&r, &["rel/a.txt".into()], None, "COPY").unwrap();
        assert_eq!(s[0].resolved, "src/a.txt");
        let s = resolve(&r, &["abs".into()], None, "COPY").unwrap();
        assert_eq!((s[0].resolved.as_str(), s[0].is_dir), ("src", true));
        // The host directory's path, looked up inside the context: not there.
        let e = resolve(&r, &["hostdir/secret".into()], None, "COPY").unwrap_err();
        assert!(
            e.to_string()
                .contains("stat hostdir/secret: file does not exist"),
            "{e}"
        );
        // `..` through a link stops at the context root.
        let s = resolve(&r, &["up/top.md".into()], None, "COPY").unwrap();
        assert_eq!(s[0].resolved, "top.md");
        // A glob never descends into a symlinked directory.
        let e = resolve(&r, &["hostdir/*".into()], None, "COPY").unwrap_err();
        assert!(e.to_string().contains("no source files were specified"));
    }

    #[test]
    fn digest_follows_content_not_mtime() {
        let d = ctx();
        let r = root(&d);
        let s = resolve(&r, &["src".into()], None, "COPY").unwrap();
        let a = digest(&r, &s, None).unwrap();
        let p = d.path().join("src/sub/b.txt");
        let mtime = fs::metadata(&p).unwrap().modified().unwrap();
        fs::write(&p, "B").unwrap();
        fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        assert_ne!(a, digest(&r, &s, None).unwrap());
        fs::write(&p, "b").unwrap();
        assert_eq!(a, digest(&r, &s, None).unwrap());
        let m = Matcher::parse("src/sub\n");
        assert_ne!(a, digest(&r, &s, Some(&m)).unwrap());
    }

    #[test]
    fn copy_dir_contents_and_files() {
        let d = ctx();
        let r = root(&d);
        let up = tempfile::tempdir().unwrap();
        let dest_root = Root::at(up.path()).unwrap();
        let p = Placement {
            root: &dest_root,
            owner: (0, 0),
            chmod: None,
        };
        let s = resolve(&r, &["src".into()], None, "COPY").unwrap();
        let m = Matcher::parse("src/sub/b.txt\n");
        p.copy(&r, &s, "/app", Some(&m)).unwrap();
        assert_eq!(
            fs::read_to_string(up.path().join("app/a.txt")).unwrap(),
            "a"
        );
        assert!(up.path().join("app/sub").is_dir());
        assert!(!up.path().join("app/sub/b.txt").exists());
        let s = resolve(&r, &["top.md".into()], None, "COPY").unwrap();
        p.copy(&r, &s, "/x/renamed", None).unwrap();
        assert_eq!(
            fs::read_to_string(up.path().join("x/renamed")).unwrap(),
            "t"
        );
        p.copy(&r, &s, "/y/", None).unwrap();
        assert!(up.path().join("y/top.md").is_file());
        let two = resolve(&r, &["top.md".into(), "src/a.txt".into()], None, "COPY").unwrap();
        assert!(p.copy(&r, &two, "/z", None).is_err());
    }

    /// The second probe: `COPY s1/ s2/ /out/` with `s1/a -> <host dir>` writes
    /// `s2/a/evil` into the image (the link replaced by a directory, as Docker's untar
    /// does), never into the host directory, whose mode stays as it was.
    #[test]
    fn a_symlink_copied_first_never_redirects_a_later_source() {
        let d = tempfile::tempdir().unwrap();
        let host = tempfile::tempdir().unwrap();
        fs::set_permissions(host.path(), fs::Permissions::from_mode(0o700)).unwrap();
        fs::create_dir_all(d.path().join("s1")).unwrap();
        fs::create_dir_all(d.path().join("s2/a")).unwrap();
        fs::write(d.path().join("s2/a/evil"), "x").unwrap();
        fs::set_permissions(d.path().join("s2/a"), fs::Permissions::from_mode(0o777)).unwrap();
        symlink(host.path(), d.path().join("s1/a")).unwrap();
        let r = root(&d);
        let up = tempfile::tempdir().unwrap();
        let dest_root = Root::at(up.path()).unwrap();
        let p = Placement {
            root: &dest_root,
            owner: (0, 0),
            chmod: None,
        };
        let s = resolve(&r, &["s1/".into(), "s2/".into()], None, "COPY").unwrap();
        p.copy(&r, &s, "/out/", None).unwrap();
        assert_eq!(fs::read_dir(host.path()).unwrap().count(), 0);
        assert_eq!(fs::metadata(host.path()).unwrap().mode() & 0o7777, 0o700);
        assert!(fs::symlink_metadata(up.path().join("out/a"))
            .unwrap()
            .is_dir());
        assert_eq!(
            fs::read_to_string(up.path().join("out/a/evil")).unwrap(),
            "x"
        );
    }

    /// The destination resolves inside the image: a link there is followed (Docker's
    /// `COPY x /linkdir/`), an absolute one to the image's own directory.
    #[test]
    fn destination_symlinks_resolve_inside_the_image() {
        let d = ctx();
        let r = root(&d);
        let img = tempfile::tempdir().unwrap();
        fs::create_dir_all(img.path().join("real")).unwrap();
        symlink("/real", img.path().join("linkdir")).unwrap();
        let host = tempfile::tempdir().unwrap();
        symlink(host.path(), img.path().join("hostlink")).unwrap();
        let dest_root = Root::at(img.path()).unwrap();
        let p = Placement {
            root: &dest_root,
            owner: (7, 8),
            chmod: Some(0o640),
        };
        let s = resolve(&r, &["top.md".into()], None, "COPY").unwrap();
        p.copy(&r, &s, "/linkdir/", None).unwrap();
        let f = img.path().join("real/top.md");
        assert_eq!(fs::read_to_string(&f).unwrap(), "t");
        let md = fs::metadata(&f).unwrap();
        assert_eq!((md.uid(), md.gid(), md.mode() & 0o7777), (7, 8, 0o640));
        p.copy(&r, &s, "/hostlink/x", None).unwrap();
        assert_eq!(fs::read_dir(host.path()).unwrap().count(), 0);
        let inside = img
            .path()
            .join(host.path().strip_prefix("/").unwrap())
            .join("x");
        assert_eq!(fs::read_to_string(inside).unwrap(), "t");
        p.write_heredoc("/linkdir/", "h.txt", b"heredoc").unwrap();
        assert_eq!(
            fs::read_to_string(img.path().join("real/h.txt")).unwrap(),
            "heredoc"
        );
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
        let lower = ImageFiles::over(vec![l.path().to_path_buf()]);
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

    #[test]
    fn add_extracts_a_tar_without_dir_entries() {
        let d = tempfile::tempdir().unwrap();
        let mut tb = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_mode(0o644);
        h.set_cksum();
        tb.append_data(&mut h, "inner/x.txt", &b"tar"[..]).unwrap();
        fs::write(d.path().join("a.tar"), tb.into_inner().unwrap()).unwrap();
        let r = root(&d);
        let s = resolve(&r, &["a.tar".into()], None, "ADD").unwrap();
        assert!(is_archive(&r, &s[0]));
        let up = tempfile::tempdir().unwrap();
        let dest_root = Root::at(up.path()).unwrap();
        let p = Placement {
            root: &dest_root,
            owner: (0, 0),
            chmod: None,
        };
        p.extract(&r, &s[0], "/extracted/", None).unwrap();
        assert_eq!(
            fs::read_to_string(up.path().join("extracted/inner/x.txt")).unwrap(),
            "tar"
        );
    }
}
