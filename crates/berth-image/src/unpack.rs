//! Hardened extraction: layers into an overlay lower dir, tars into a container
//! (`docker cp`), and the builder's COPY/ADD through the same [`TreeWriter`].
//!
//! Every path is resolved component by component from a directory fd with `O_NOFOLLOW`, so
//! a symlink in the layer (or `..`) can never redirect a write outside the root. Symlinks
//! are created as-is (absolute targets are fine: they are only ever resolved inside the
//! container) but never followed here. Whiteouts become what overlayfs expects: `.wh.x` a
//! 0/0 char device, `.wh..wh..opq` the `trusted.overlay.opaque=y` xattr on the directory.

use std::collections::HashSet;
use std::ffi::CString;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path};

use crate::error::ImageError;

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

fn bad(msg: String) -> ImageError {
    ImageError::InvalidArchive(msg)
}

fn io_err(what: &str, name: &str, e: io::Error) -> ImageError {
    ImageError::Io {
        context: format!("{what} {name}"),
        source: e,
    }
}

fn cstr(b: &[u8]) -> Result<CString, ImageError> {
    CString::new(b).map_err(|_| bad("invalid tar entry: NUL byte in name".to_string()))
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn open_dir_at(dir: RawFd, name: &CString) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall on a valid fd and NUL-terminated name; the result is owned.
    let fd = check(unsafe {
        libc::openat(
            dir,
            name.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: fd was just returned by openat and is not owned elsewhere.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Lexically cleans a tar name into components inside the root; `None` if it escapes.
fn components(name: &Path) -> Option<Vec<Vec<u8>>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for c in name.components() {
        match c {
            Component::Normal(p) => out.push(p.as_bytes().to_vec()),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => {
                out.pop()?;
            }
            Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

fn display(c: &[Vec<u8>]) -> String {
    c.iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Opens (creating missing directories) the parent chain without following symlinks.
fn walk(
    root: &OwnedFd,
    parents: &[Vec<u8>],
    create: bool,
    name: &str,
) -> Result<OwnedFd, ImageError> {
    let mut cur = dup_cloexec(root).map_err(|e| io_err("dup", name, e))?;
    for comp in parents {
        let c = cstr(comp)?;
        let next = match open_dir_at(cur.as_raw_fd(), &c) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && create => {
                // SAFETY: valid dir fd and name.
                check(unsafe { libc::mkdirat(cur.as_raw_fd(), c.as_ptr(), 0o755) })
                    .map_err(|e| io_err("creating parent of", name, e))?;
                open_dir_at(cur.as_raw_fd(), &c)
                    .map_err(|e| io_err("opening parent of", name, e))?
            }
            Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOTDIR)) => {
                return Err(bad(format!(
                    "invalid tar entry {name}: path component {:?} is a symlink or not a directory (refusing to extract through it)",
                    String::from_utf8_lossy(comp)
                )));
            }
            Err(e) => return Err(io_err("resolving", name, e)),
        };
        cur = next;
    }
    Ok(cur)
}

/// A close-on-exec duplicate (a plain `dup` would leak a directory descriptor into every
/// process the daemon starts while the unpack runs).
fn dup_cloexec(fd: &OwnedFd) -> io::Result<OwnedFd> {
    fd.try_clone()
}

fn lstat_at(dir: RawFd, name: &CString) -> io::Result<Option<libc::stat>> {
    // SAFETY: stat is plain old data; fstatat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd, name and out pointer.
    let r = unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ENOENT) {
            return Ok(None);
        }
        return Err(e);
    }
    Ok(Some(st))
}

/// Removes `name` in `dir` (recursively for directories), never following symlinks.
fn remove_at(dir: RawFd, name: &CString) -> io::Result<()> {
    let Some(st) = lstat_at(dir, name)? else {
        return Ok(());
    };
    if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        let sub = open_dir_at(dir, name)?;
        // Collect names first: the directory iterator must not see its own removals.
        // Read through the descriptor (no /proc: `docker cp` runs this chrooted).
        let names: Vec<CString> = berth_inroot::tree::names(sub.as_fd())?
            .into_iter()
            .filter_map(|n| CString::new(n.as_bytes()).ok())
            .collect();
        for n in names {
            remove_at(sub.as_raw_fd(), &n)?;
        }
        // SAFETY: valid fd and name.
        check(unsafe { libc::unlinkat(dir, name.as_ptr(), libc::AT_REMOVEDIR) })?;
    } else {
        // SAFETY: valid fd and name.
        check(unsafe { libc::unlinkat(dir, name.as_ptr(), 0) })?;
    }
    Ok(())
}

fn set_times_at(dir: RawFd, name: &CString, mtime: i64, nsec: i64) -> io::Result<()> {
    let ts = libc::timespec {
        tv_sec: mtime as libc::time_t,
        tv_nsec: nsec as libc::c_long,
    };
    let times = [ts, ts];
    // SAFETY: valid fd, name and a 2-element timespec array.
    check(unsafe {
        libc::utimensat(
            dir,
            name.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(|_| ())
}

fn chown_at(dir: RawFd, name: &CString, uid: u64, gid: u64) -> io::Result<()> {
    // SAFETY: valid fd and name.
    check(unsafe {
        libc::fchownat(
            dir,
            name.as_ptr(),
            uid as libc::uid_t,
            gid as libc::gid_t,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(|_| ())
}

fn set_xattr_fd(fd: RawFd, key: &[u8], value: &[u8]) -> io::Result<()> {
    let k = CString::new(key).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: valid fd, NUL-terminated key, value buffer with its length.
    check(unsafe { libc::fsetxattr(fd, k.as_ptr(), value.as_ptr().cast(), value.len(), 0) })
        .map(|_| ())
}

fn entry_meta<R: Read>(entry: &mut tar::Entry<'_, R>) -> Result<EntryMeta, ImageError> {
    let h = entry.header();
    let mode = h
        .mode()
        .map_err(|e| bad(format!("invalid tar header: {e}")))?
        & 0o7777;
    // Go's archive/tar reads an empty numeric field as 0; so do we.
    let uid = h.uid().unwrap_or(0);
    let gid = h.gid().unwrap_or(0);
    let mtime = h.mtime().unwrap_or(0) as i64;
    let mut xattrs = Vec::new();
    if let Ok(Some(exts)) = entry.pax_extensions() {
        for ext in exts.flatten() {
            if let Some(k) = ext.key_bytes().strip_prefix(b"SCHILY.xattr.") {
                xattrs.push((k.to_vec(), ext.value_bytes().to_vec()));
            }
        }
    }
    Ok(EntryMeta {
        mode,
        uid,
        gid,
        mtime,
        mtime_nsec: 0,
        xattrs,
    })
}

/// Applies ownership, mode, xattrs (files and dirs, through an fd) and mtime.
fn apply_meta_fd(fd: RawFd, m: &EntryMeta, name: &str) -> Result<(), ImageError> {
    // SAFETY: valid fd.
    check(unsafe { libc::fchown(fd, m.uid as libc::uid_t, m.gid as libc::gid_t) })
        .map_err(|e| io_err("chown", name, e))?;
    // chmod after chown: chown clears setuid/setgid bits.
    // SAFETY: valid fd.
    check(unsafe { libc::fchmod(fd, m.mode as libc::mode_t) })
        .map_err(|e| io_err("chmod", name, e))?;
    for (k, v) in &m.xattrs {
        if let Err(e) = set_xattr_fd(fd, k, v) {
            tracing::warn!(entry = name, key = %String::from_utf8_lossy(k), error = %e, "skipping xattr");
        }
    }
    let ts = libc::timespec {
        tv_sec: m.mtime as libc::time_t,
        tv_nsec: m.mtime_nsec as libc::c_long,
    };
    // SAFETY: valid fd and 2-element array.
    check(unsafe { libc::futimens(fd, [ts, ts].as_ptr()) })
        .map_err(|e| io_err("utimes", name, e))?;
    Ok(())
}

/// How `unpack_with` treats entries: layers convert whiteouts; `docker cp` does not.
#[derive(Debug, Clone, Default)]
pub struct UnpackOptions {
    /// `.wh.x` / `.wh..wh..opq` become overlay whiteouts (layers), else plain entries.
    pub whiteouts: bool,
    /// docker's NoOverwriteDirNonDir: refuse to replace a dir with a non-dir and back.
    pub no_overwrite_dir_non_dir: bool,
    /// Owner for every entry instead of the tar header's (`cp -a` with a container user).
    pub chown: Option<(u32, u32)>,
    /// A remapped daemon's maps: owners (the header's or `chown`) are container ids,
    /// written shifted into the host range; an id outside it is refused, as moby does.
    pub id_map: Option<berth_api::idmap::IdMappings>,
}

impl UnpackOptions {
    /// The host owner of an entry: `chown` over the header's, then shifted by `id_map`.
    fn owner(&self, meta: &mut EntryMeta) -> Result<(), ImageError> {
        if let Some((uid, gid)) = self.chown {
            meta.uid = u64::from(uid);
            meta.gid = u64::from(gid);
        }
        if let Some(ids) = &self.id_map {
            let id = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
            let (u, g) = ids
                .to_host(id(meta.uid), id(meta.gid))
                .map_err(|e| ImageError::InvalidArgument(e.to_string()))?;
            meta.uid = u64::from(u);
            meta.gid = u64::from(g);
        }
        Ok(())
    }
}

/// Unpacks a layer tar stream into `dest` (an existing, normally empty directory).
/// Returns the tar reader so the caller can drain and hash the rest of the stream.
pub fn unpack_layer<R: Read>(
    r: R,
    dest: &Path,
    id_map: Option<&berth_api::idmap::IdMappings>,
) -> Result<R, ImageError> {
    let opts = UnpackOptions {
        whiteouts: true,
        id_map: id_map.cloned(),
        ..Default::default()
    };
    unpack_with(r, dest, &opts)
}

/// Unpacks a tar stream into the existing directory `dest` with the same hardening as
/// layers (nothing is ever written outside `dest`).
pub fn unpack_with<R: Read>(r: R, dest: &Path, opts: &UnpackOptions) -> Result<R, ImageError> {
    let root_c = cstr(dest.as_os_str().as_bytes())?;
    // SAFETY: opening the destination dir; owned below.
    let root_fd = check(unsafe {
        libc::open(
            root_c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    })
    .map_err(|e| io_err("opening", &dest.display().to_string(), e))?;
    // SAFETY: fresh fd from open.
    let root = unsafe { OwnedFd::from_raw_fd(root_fd) };
    unpack_into(r, root, opts)
}

/// [`unpack_with`] into a directory the caller holds open (found with in-root resolution,
/// say): the descriptor is the root nothing is written outside of.
pub fn unpack_into<R: Read>(r: R, dest: OwnedFd, opts: &UnpackOptions) -> Result<R, ImageError> {
    let mut w = TreeWriter::new(dest, opts.clone());
    let data_end = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let mut ar = tar::Archive::new(GoTail {
        inner: r,
        pos: 0,
        data_end: data_end.clone(),
        zeros: 0,
        ended: false,
    });
    {
        let entries = ar
            .entries()
            .map_err(|e| bad(crate::archive::tar_read_error("invalid layer tar", &e)))?;
        for entry in entries {
            let mut entry =
                entry.map_err(|e| bad(crate::archive::tar_read_error("invalid layer tar", &e)))?;
            data_end.set(entry.raw_file_position().saturating_add(entry.size()));
            extract_entry(&mut w, &mut entry)?;
        }
    }
    w.finish()?;
    Ok(ar.into_inner().inner)
}

/// Go's archive/tar end-of-stream rule, which moby reads every tar with: a stream that
/// ends after an entry's data, inside (or instead of) the padding to the next 512-byte
/// block, ends the archive cleanly — Go's reader sees EOF while reading the padding and
/// takes it as the end. The Debian docker CLI's `build -f - DIR` sends exactly that (its
/// rewritten context stops right after the added `.dockerignore`'s bytes: no padding, no
/// end-of-archive blocks), which the tar crate refuses ("unexpected EOF during skip").
/// This reader hands the tar crate the missing padding as zeros, and then the end; an EOF
/// before an entry's data is complete (or inside a header) stays an error.
struct GoTail<R> {
    inner: R,
    /// Bytes handed out so far.
    pos: u64,
    /// Where the current entry's data ends (set by the entry loop).
    data_end: std::rc::Rc<std::cell::Cell<u64>>,
    /// Padding zeros still to hand out after the stream ended.
    zeros: u64,
    ended: bool,
}

impl<R: Read> Read for GoTail<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.ended {
            let n = self.inner.read(buf)?;
            if n > 0 || buf.is_empty() {
                self.pos += n as u64;
                return Ok(n);
            }
            self.ended = true;
            let end = self.data_end.get();
            let boundary = end.div_ceil(512) * 512;
            if end > 0 && self.pos >= end && self.pos < boundary {
                self.zeros = boundary - self.pos;
            }
        }
        let n = (self.zeros.min(buf.len() as u64)) as usize;
        buf[..n].fill(0);
        self.zeros -= n as u64;
        self.pos += n as u64;
        Ok(n)
    }
}

/// What one entry is, for [`TreeWriter::put`].
pub enum EntryKind<'a> {
    Dir,
    /// A regular file of `size` bytes read from `content`.
    File {
        size: u64,
        content: &'a mut dyn Read,
    },
    Symlink {
        target: &'a [u8],
    },
    /// A hard link to an entry already written (path components from the writer's root).
    HardLink {
        target: &'a [Vec<u8>],
    },
    /// A character or block device or a fifo (`S_IFCHR`/`S_IFBLK`/`S_IFIFO`).
    Node {
        format: libc::mode_t,
        major: u32,
        minor: u32,
    },
}

/// Ownership, permissions, extended attributes and mtime of an entry.
#[derive(Debug, Clone, Default)]
pub struct EntryMeta {
    /// Permission bits (0o7777).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Seconds since the epoch.
    pub mtime: i64,
    /// Nanoseconds past `mtime` (tar headers carry seconds only: 0 there).
    pub mtime_nsec: i64,
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

/// The hardened writer behind layer unpacking, `docker cp` into a container and the
/// builder's COPY/ADD: entries are created below one directory descriptor, every parent
/// opened with `O_NOFOLLOW` from it and files created `O_EXCL | O_NOFOLLOW`, so a symlink
/// (already there or written earlier) can never redirect a write out of the tree.
/// Directory metadata is applied in [`TreeWriter::finish`], deepest first.
pub struct TreeWriter {
    root: OwnedFd,
    opts: UnpackOptions,
    dirs: Vec<(Vec<Vec<u8>>, EntryMeta)>,
}

impl TreeWriter {
    /// A writer below `root` (an open directory).
    pub fn new(root: OwnedFd, opts: UnpackOptions) -> TreeWriter {
        TreeWriter {
            root,
            opts,
            dirs: Vec::new(),
        }
    }

    /// Writes one entry at `comps` (path components below the root; empty: the root
    /// itself, of which only a directory's metadata is kept). `shown` names it in errors.
    pub fn put(
        &mut self,
        comps: &[Vec<u8>],
        kind: EntryKind<'_>,
        mut meta: EntryMeta,
        shown: &str,
    ) -> Result<(), ImageError> {
        self.opts.owner(&mut meta)?;
        let Some((base, parents)) = comps.split_last() else {
            if matches!(kind, EntryKind::Dir) {
                self.dirs.push((Vec::new(), meta));
            }
            return Ok(());
        };
        let parent = walk(&self.root, parents, true, shown)?;
        let pfd = parent.as_raw_fd();
        let is_dir = matches!(kind, EntryKind::Dir);
        let bc = cstr(base)?;
        let existing = lstat_at(pfd, &bc).map_err(|e| io_err("stat", shown, e))?;
        let existing_is_dir = existing.is_some_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR);
        if self.opts.no_overwrite_dir_non_dir && existing.is_some() {
            let path = format!("/{}", display(comps));
            if existing_is_dir && !is_dir {
                return Err(ImageError::InvalidArgument(format!(
                    "cannot overwrite directory {path:?} with non-directory {path:?}"
                )));
            }
            if !existing_is_dir && is_dir {
                return Err(ImageError::InvalidArgument(format!(
                    "cannot overwrite non-directory {path:?} with directory {path:?}"
                )));
            }
        }
        if existing.is_some() && !(is_dir && existing_is_dir) {
            remove_at(pfd, &bc).map_err(|e| io_err("replacing", shown, e))?;
        }
        match kind {
            EntryKind::Dir => {
                if !existing_is_dir {
                    // SAFETY: valid fd and name.
                    check(unsafe { libc::mkdirat(pfd, bc.as_ptr(), 0o700) })
                        .map_err(|e| io_err("mkdir", shown, e))?;
                }
                self.dirs.push((comps.to_vec(), meta));
            }
            EntryKind::File { size, content } => {
                // SAFETY: valid fd and name; O_EXCL|O_NOFOLLOW: never write through a link.
                let fd = check(unsafe {
                    libc::openat(
                        pfd,
                        bc.as_ptr(),
                        libc::O_WRONLY
                            | libc::O_CREAT
                            | libc::O_EXCL
                            | libc::O_NOFOLLOW
                            | libc::O_CLOEXEC,
                        0o600,
                    )
                })
                .map_err(|e| io_err("creating", shown, e))?;
                // SAFETY: fresh fd.
                let mut f = unsafe { File::from_raw_fd(fd) };
                let n = io::copy(content, &mut f)
                    .map_err(|e| bad(format!("error reading layer tar at {shown}: {e}")))?;
                if n != size {
                    return Err(bad(format!(
                        "unexpected EOF: layer tar truncated in {shown} ({n} of {size} bytes)"
                    )));
                }
                apply_meta_fd(f.as_raw_fd(), &meta, shown)?;
            }
            EntryKind::Symlink { target } => {
                let tc = cstr(target)?;
                // SAFETY: valid fd and names.
                check(unsafe { libc::symlinkat(tc.as_ptr(), pfd, bc.as_ptr()) })
                    .map_err(|e| io_err("symlink", shown, e))?;
                chown_at(pfd, &bc, meta.uid, meta.gid).map_err(|e| io_err("chown", shown, e))?;
                set_times_at(pfd, &bc, meta.mtime, meta.mtime_nsec)
                    .map_err(|e| io_err("utimes", shown, e))?;
            }
            EntryKind::HardLink { target } => {
                let (tbase, tparents) = target
                    .split_last()
                    .ok_or_else(|| bad(format!("invalid hard link {shown:?}")))?;
                let tdir = walk(&self.root, tparents, false, shown)?;
                let tb = cstr(tbase)?;
                // flags 0: link the target entry itself, never what a symlink points to.
                // SAFETY: valid fds and names.
                check(unsafe { libc::linkat(tdir.as_raw_fd(), tb.as_ptr(), pfd, bc.as_ptr(), 0) })
                    .map_err(|e| {
                        bad(format!(
                            "invalid hard link {shown:?} -> {:?}: {e}",
                            display(target)
                        ))
                    })?;
            }
            EntryKind::Node {
                format,
                major,
                minor,
            } => {
                let dev = libc::makedev(major, minor);
                // SAFETY: valid fd and name.
                check(unsafe {
                    libc::mknodat(
                        pfd,
                        bc.as_ptr(),
                        format | (meta.mode as libc::mode_t & 0o777),
                        dev,
                    )
                })
                .map_err(|e| io_err("mknod", shown, e))?;
                chown_at(pfd, &bc, meta.uid, meta.gid).map_err(|e| io_err("chown", shown, e))?;
                // SAFETY: valid fd and name (fchmodat never follows for non-links).
                check(unsafe { libc::fchmodat(pfd, bc.as_ptr(), meta.mode as libc::mode_t, 0) })
                    .map_err(|e| io_err("chmod", shown, e))?;
                set_times_at(pfd, &bc, meta.mtime, meta.mtime_nsec)
                    .map_err(|e| io_err("utimes", shown, e))?;
            }
        }
        Ok(())
    }

    /// Marks the directory `comps` opaque (overlay's `.wh..wh..opq`), creating it if needed.
    fn mark_opaque(&mut self, comps: &[Vec<u8>], shown: &str) -> Result<(), ImageError> {
        let dir = walk(&self.root, comps, true, shown)?;
        set_xattr_fd(dir.as_raw_fd(), b"trusted.overlay.opaque", b"y")
            .map_err(|e| io_err("marking opaque", shown, e))
    }

    /// Replaces `name` in the directory `comps` with an overlay whiteout (0/0 char device).
    fn whiteout(
        &mut self,
        comps: &[Vec<u8>],
        name: &[u8],
        meta: &EntryMeta,
        shown: &str,
    ) -> Result<(), ImageError> {
        let parent = walk(&self.root, comps, true, shown)?;
        let pfd = parent.as_raw_fd();
        let rc = cstr(name)?;
        remove_at(pfd, &rc).map_err(|e| io_err("removing", shown, e))?;
        // SAFETY: valid fd and name; 0/0 char device is overlayfs's whiteout.
        check(unsafe { libc::mknodat(pfd, rc.as_ptr(), libc::S_IFCHR, 0) })
            .map_err(|e| io_err("creating whiteout", shown, e))?;
        chown_at(pfd, &rc, meta.uid, meta.gid).map_err(|e| io_err("chown", shown, e))
    }

    /// Applies the directories' metadata, deepest first, so creating their children does
    /// not touch their mtimes.
    pub fn finish(self) -> Result<(), ImageError> {
        for (comps, meta) in self.dirs.iter().rev() {
            let name = display(comps);
            let fd = if comps.is_empty() {
                dup_cloexec(&self.root).map_err(|e| io_err("dup", &name, e))?
            } else {
                walk(&self.root, comps, false, &name)?
            };
            apply_meta_fd(fd.as_raw_fd(), meta, &name)?;
        }
        Ok(())
    }
}

fn extract_entry<R: Read>(
    w: &mut TreeWriter,
    entry: &mut tar::Entry<'_, R>,
) -> Result<(), ImageError> {
    let raw = entry
        .path()
        .map_err(|e| bad(format!("invalid tar entry name: {e}")))?
        .into_owned();
    let shown = raw.display().to_string();
    let comps = components(&raw).ok_or_else(|| {
        bad(format!(
            "invalid tar entry {shown:?}: path is outside of the layer root"
        ))
    })?;
    let kind = entry.header().entry_type();
    // The owner is shifted once, by `put` (or here for the root entry).
    let mut meta = entry_meta(entry)?;
    let Some((base, parents)) = comps.split_last() else {
        // The root itself ("./"): only its metadata matters, for layers (docker cp leaves
        // the extraction directory as it is).
        if kind.is_dir() && w.opts.whiteouts {
            w.opts.owner(&mut meta)?;
            w.dirs.push((Vec::new(), meta));
        }
        return Ok(());
    };
    if w.opts.whiteouts && base.as_slice() == OPAQUE.as_bytes() {
        return w.mark_opaque(parents, &shown);
    }
    if let Some(real) = base
        .strip_prefix(WHITEOUT_PREFIX.as_bytes())
        .filter(|_| w.opts.whiteouts)
    {
        if real.is_empty() || real == b"." || real == b".." {
            return Err(bad(format!("invalid whiteout entry {shown:?}")));
        }
        w.opts.owner(&mut meta)?;
        return w.whiteout(parents, real, &meta, &shown);
    }
    match kind {
        tar::EntryType::Directory => w.put(&comps, EntryKind::Dir, meta, &shown),
        tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
            let size = entry.size();
            w.put(
                &comps,
                EntryKind::File {
                    size,
                    content: entry,
                },
                meta,
                &shown,
            )
        }
        tar::EntryType::Symlink => {
            let target = entry
                .link_name_bytes()
                .ok_or_else(|| bad(format!("symlink {shown:?} has no target")))?
                .into_owned();
            w.put(&comps, EntryKind::Symlink { target: &target }, meta, &shown)
        }
        tar::EntryType::Link => {
            let target = entry
                .link_name()
                .map_err(|e| bad(format!("invalid hard link {shown:?}: {e}")))?
                .ok_or_else(|| bad(format!("hard link {shown:?} has no target")))?
                .into_owned();
            let tcomps = components(&target)
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    bad(format!(
                        "invalid hard link {shown:?} -> {:?}: target is outside of the layer root",
                        target.display()
                    ))
                })?;
            w.put(
                &comps,
                EntryKind::HardLink { target: &tcomps },
                meta,
                &shown,
            )
        }
        tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
            let h = entry.header();
            let major = h.device_major().ok().flatten().unwrap_or(0);
            let minor = h.device_minor().ok().flatten().unwrap_or(0);
            let format = match kind {
                tar::EntryType::Char => libc::S_IFCHR,
                tar::EntryType::Block => libc::S_IFBLK,
                _ => libc::S_IFIFO,
            };
            w.put(
                &comps,
                EntryKind::Node {
                    format,
                    major,
                    minor,
                },
                meta,
                &shown,
            )
        }
        other => {
            tracing::debug!(entry = %shown, kind = ?other, "skipping unsupported tar entry type");
            Ok(())
        }
    }
}

/// Bytes used by a directory tree the way docker's overlay2 DiffSize counts them: sizes of
/// all non-directory entries (symlinks included), each inode once.
pub fn dir_size(path: &Path) -> u64 {
    let mut seen = HashSet::new();
    let mut total = 0u64;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(rd) = fs::read_dir(&p) else { continue };
        for e in rd.flatten() {
            let Ok(md) = e.metadata() else { continue };
            if md.is_dir() {
                stack.push(e.path());
                continue;
            }
            if md.len() == 0 || !seen.insert((md.dev(), md.ino())) {
                continue;
            }
            total += md.len();
        }
    }
    total
}

#[cfg(test)]
mod cloexec_tests {
    use super::*;

    /// The directory descriptors the unpacker holds are close-on-exec: none can leak into a
    /// shim or container the daemon spawns while a layer unpacks.
    #[test]
    fn walked_directories_are_close_on_exec() {
        let dir = tempfile::tempdir().unwrap();
        let root = OwnedFd::from(std::fs::File::open(dir.path()).unwrap());
        for parents in [vec![], vec![b"a".to_vec(), b"b".to_vec()]] {
            let fd = walk(&root, &parents, true, "x").unwrap();
            // SAFETY: F_GETFD on a descriptor we own.
            let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
            assert!(flags >= 0 && flags & libc::FD_CLOEXEC != 0, "{parents:?}");
        }
        assert!(dir.path().join("a/b").is_dir());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_api::idmap::{IdMap, IdMappings};

    fn maps() -> IdMappings {
        let m = |h| {
            vec![IdMap {
                container_id: 0,
                host_id: h,
                size: 65536,
            }]
        };
        IdMappings {
            uids: m(300000),
            gids: m(400000),
        }
    }

    fn layer(entries: &[(&str, u64, u64)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, uid, gid) in entries {
            let mut h = tar::Header::new_gnu();
            let dir = name.ends_with('/');
            h.set_entry_type(if dir {
                tar::EntryType::Directory
            } else {
                tar::EntryType::Regular
            });
            h.set_mode(if dir { 0o755 } else { 0o644 });
            h.set_uid(*uid);
            h.set_gid(*gid);
            h.set_size(0);
            h.set_cksum();
            b.append_data(&mut h, name, io::empty()).unwrap();
        }
        b.into_inner().unwrap()
    }

    // Run as root (chown): the development VM and CI run the unit tests as root.
    #[test]
    fn layers_unpack_with_owners_shifted_into_the_range() {
        if !nix::unistd::Uid::effective().is_root() {
            return;
        }
        let t = tempfile::tempdir().unwrap();
        let tar = layer(&[
            ("./", 0, 0),
            ("etc/", 0, 0),
            ("etc/f", 1000, 50),
            ("etc/.wh.gone", 0, 0),
        ]);
        unpack_layer(&tar[..], t.path(), Some(&maps())).unwrap();
        let own = |p: &str| {
            let md = fs::symlink_metadata(t.path().join(p)).unwrap();
            (md.uid(), md.gid())
        };
        assert_eq!(own(""), (300000, 400000));
        assert_eq!(own("etc"), (300000, 400000));
        assert_eq!(own("etc/f"), (301000, 400050));
        assert_eq!(own("etc/gone"), (300000, 400000));
        // Without maps: as in the tar.
        let t2 = tempfile::tempdir().unwrap();
        unpack_layer(&tar[..], t2.path(), None).unwrap();
        let md = fs::metadata(t2.path().join("etc/f")).unwrap();
        assert_eq!((md.uid(), md.gid()), (1000, 50));
        // An owner outside the range is refused, as moby's.
        let t3 = tempfile::tempdir().unwrap();
        let bad = layer(&[("x", 70000, 0)]);
        let e = unpack_layer(&bad[..], t3.path(), Some(&maps())).unwrap_err();
        assert!(
            e.to_string()
                .contains("container ID 70000 cannot be mapped to a host ID"),
            "{e}"
        );
    }

    #[test]
    fn trees_archive_with_owners_shifted_back() {
        if !nix::unistd::Uid::effective().is_root() {
            return;
        }
        let t = tempfile::tempdir().unwrap();
        let tar = layer(&[("d/", 5, 6), ("d/f", 1000, 50)]);
        unpack_layer(&tar[..], t.path(), Some(&maps())).unwrap();
        fs::write(t.path().join("d/host-root"), b"").unwrap();
        let mut tw = berth_api::tarfs::TarWriter::new(Vec::new(), berth_api::tarfs::Markers::Keep)
            .with_id_map(Some(maps()));
        tw.write_tree(&t.path().join("d"), b"d").unwrap();
        let skipped = tw.take_skipped();
        let out = tw.finish().unwrap();
        let mut ar = tar::Archive::new(&out[..]);
        let owners: Vec<(String, u64, u64)> = ar
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.uid().unwrap(),
                    h.gid().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            owners,
            vec![("d/".to_string(), 5, 6), ("d/f".to_string(), 1000, 50),]
        );
        // Outside the range (the host's root): left out and reported, as moby's archiver.
        assert_eq!(
            skipped,
            vec![format!(
                "Can't add file {} to tar: host ID 0 cannot be mapped to a container ID",
                t.path().join("d/host-root").display()
            )]
        );
    }
}

#[cfg(test)]
mod go_tail_tests {
    use super::*;

    /// Two files ("a": 6 bytes, "b": 47 bytes), as `tar::Builder` writes them (padded,
    /// with the two end-of-archive blocks).
    fn archive() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in [("a", &b"hello\n"[..]), ("b", &[b'x'; 47][..])] {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(0o644);
            h.set_size(data.len() as u64);
            h.set_cksum();
            b.append_data(&mut h, name, data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn unpack(bytes: &[u8]) -> Result<tempfile::TempDir, ImageError> {
        let dir = tempfile::tempdir().unwrap();
        unpack_with(bytes, dir.path(), &UnpackOptions::default())?;
        Ok(dir)
    }

    /// Cut after the last file's data (no padding, no end blocks: the Debian docker CLI's
    /// `build -f - DIR` context), or inside the padding: the archive ends there, as Go's
    /// reader takes it; both files are whole.
    #[test]
    fn a_stream_ending_in_the_last_padding_ends_the_archive() {
        let full = archive();
        // Headers at 0 and 1024; "b"'s data at 1536..1583.
        for cut in [1583, 1600, 2047, 2048, full.len()] {
            let dir = unpack(&full[..cut]).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
            assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"hello\n");
            assert_eq!(std::fs::read(dir.path().join("b")).unwrap(), [b'x'; 47]);
        }
    }

    /// Cut inside a file's data or inside a header: still moby's "unexpected EOF".
    #[test]
    fn a_stream_ending_inside_data_or_a_header_is_refused() {
        let full = archive();
        for cut in [1582, 1540, 515, 1030, 3] {
            let e = unpack(&full[..cut])
                .err()
                .unwrap_or_else(|| panic!("cut {cut}"));
            assert!(e.to_string().contains("unexpected EOF"), "cut {cut}: {e}");
        }
    }
}
