//! Paths inside a root directory, resolved through descriptors.
//!
//! A container rootfs, a build context, a volume: berth often has to read or write a path
//! *as seen from inside* a directory tree that someone else controls. Joining the path to
//! the root and handing the string to the kernel follows an absolute symlink (or `..`) out
//! of the tree, and a path checked first and used after can be swapped in between (the
//! symlink-exchange race of CVE-2018-15664). Here every lookup starts from an open
//! descriptor of the root and every step is relative to the descriptor of the step before:
//!
//! - [`Root::open`] and [`Root::resolve`] ask the kernel (`openat2` with
//!   `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`): symlinks are followed as if the root were
//!   `/`, `..` stops at the root, and nothing is looked up twice;
//! - where `openat2` is missing (Linux < 5.6), and for what it cannot do (creating missing
//!   directories, naming the in-root path a lookup ends at), a walk one component at a time
//!   with `O_PATH | O_NOFOLLOW`, reading symlinks itself and restarting absolute ones at the
//!   root's descriptor, gives the same answers.
//!
//! Symlink semantics are moby's `FollowSymlinkInScope` (what Docker's classic builder and
//! `docker cp` use): at most 40 links, a missing component ends the walk (or is created by
//! [`Root::mkdir_all`]), a non-directory in the middle is `ENOTDIR`.
//!
//! [`tree`] has the descriptor-relative primitives (list, lstat, open a child without
//! following, read a link) callers use to walk what they resolved.

pub mod tree;

use rustix::fs::{self as rfs, FileType, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;
use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// Called with each directory a creating walk makes (to set its owner, say).
pub type OnNewDir<'a> = dyn FnMut(BorrowedFd<'_>) -> io::Result<()> + 'a;

/// Symlinks followed in one lookup before giving up (Linux's MAXSYMLINKS).
const MAX_SYMLINKS: usize = 40;

/// Whether a symlink in the final component is followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    /// Every symlink, the last component's included (`stat`, `open`).
    All,
    /// The last component is taken as it is (`lstat`, `O_NOFOLLOW`).
    NotLast,
}

/// An open directory that paths are resolved inside of.
#[derive(Debug)]
pub struct Root {
    dir: OwnedFd,
}

/// Where a walk ended.
enum End {
    /// At a directory: the top of the walk's stack (or the root itself when it is empty).
    Dir,
    /// At a non-directory (or an unfollowed symlink): its `O_PATH` descriptor and name; the
    /// stack holds its parent.
    Leaf(OwnedFd, OsString),
    /// The first missing component and the rest of the path, not looked up.
    Missing(Vec<OsString>),
}

/// A finished walk: the directories entered below the root (descriptor and name), and
/// where it ended.
struct Walked {
    stack: Vec<(OwnedFd, OsString)>,
    end: End,
}

/// How a walk treats missing directories.
enum Missing<'a> {
    /// The walk ends there.
    Stop,
    /// Created with this mode; the callback sees each new directory (to chown it, ...).
    Create(Mode, &'a mut dyn FnMut(BorrowedFd<'_>) -> io::Result<()>),
}

fn err(e: Errno) -> io::Error {
    io::Error::from(e)
}

/// The components of `path`, `.` and empty ones dropped, `..` kept.
fn components(path: &[u8]) -> VecDeque<OsString> {
    path.split(|b| *b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(|c| OsString::from_vec(c.to_vec()))
        .collect()
}

/// Whether `path` asks for a directory (`a/`, `a/.`).
fn wants_dir(path: &[u8]) -> bool {
    path.ends_with(b"/") || path.ends_with(b"/.") || path == b"."
}

impl Root {
    /// Opens the directory `path` (a trusted host path: symlinks in it are followed) as
    /// a root.
    pub fn at(path: impl AsRef<Path>) -> io::Result<Root> {
        let dir = rfs::open(
            path.as_ref(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(err)?;
        Ok(Root { dir })
    }

    /// A root from a directory descriptor the caller already holds.
    pub fn from_fd(dir: OwnedFd) -> Root {
        Root { dir }
    }

    /// The root's descriptor.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.dir.as_fd()
    }

    /// A second handle on the same directory.
    pub fn try_clone(&self) -> io::Result<Root> {
        Ok(Root {
            dir: tree::dup(self.fd())?,
        })
    }

    /// An `O_PATH` descriptor of what `path` names inside the root.
    pub fn resolve(&self, path: impl AsRef<Path>, follow: Follow) -> io::Result<OwnedFd> {
        self.open(path, OFlags::PATH, follow)
    }

    /// Opens `path` inside the root with `flags` (`O_CLOEXEC` is added; `O_CREAT` is not
    /// supported: see [`Root::create_file`]).
    pub fn open(
        &self,
        path: impl AsRef<Path>,
        flags: OFlags,
        follow: Follow,
    ) -> io::Result<OwnedFd> {
        let path = path.as_ref();
        let mut flags = flags | OFlags::CLOEXEC;
        if follow == Follow::NotLast {
            flags |= OFlags::NOFOLLOW;
        }
        // The kernel walk first; EAGAIN means a rename raced a `..` lookup: try again.
        for _ in 0..8 {
            let how = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
            let p = if path.as_os_str().is_empty() {
                Path::new(".")
            } else {
                path
            };
            match rfs::openat2(self.fd(), p, flags, Mode::empty(), how) {
                Ok(fd) => return Ok(fd),
                Err(Errno::AGAIN) => continue,
                Err(Errno::NOSYS) | Err(Errno::PERM) => break,
                Err(e) => return Err(err(e)),
            }
        }
        self.open_by_walk(path, flags, follow)
    }

    /// [`Root::open`] without `openat2`: the user-space walk.
    fn open_by_walk(&self, path: &Path, flags: OFlags, follow: Follow) -> io::Result<OwnedFd> {
        let bytes = path.as_os_str().as_bytes();
        let w = self.walk(bytes, follow, Missing::Stop)?;
        let flags = flags | OFlags::CLOEXEC;
        match w.end {
            End::Missing(_) => Err(err(Errno::NOENT)),
            End::Leaf(fd, name) => {
                if wants_dir(bytes) {
                    return Err(err(Errno::NOTDIR));
                }
                if flags.contains(OFlags::PATH) {
                    return Ok(fd);
                }
                let parent = w.stack.last().map_or(self.fd(), |(f, _)| f.as_fd());
                // Re-opened by name under its parent without following: an entry swapped
                // for a symlink since the walk fails instead of leading elsewhere.
                rfs::openat(parent, &name, flags | OFlags::NOFOLLOW, Mode::empty()).map_err(err)
            }
            End::Dir => {
                let dir = w.stack.last().map_or(self.fd(), |(f, _)| f.as_fd());
                rfs::openat(dir, ".", flags, Mode::empty()).map_err(err)
            }
        }
    }

    /// `lstat`/`stat` of `path` inside the root.
    pub fn stat(&self, path: impl AsRef<Path>, follow: Follow) -> io::Result<Stat> {
        let fd = self.resolve(path, follow)?;
        rfs::fstat(&fd).map_err(err)
    }

    /// The in-root absolute path `path` leads to, symlinks followed inside the root and a
    /// missing tail kept as written (moby's `FollowSymlinkInScope`), e.g. to name in
    /// messages or records where a lookup ended. Never use the answer as a host path.
    pub fn canonical(&self, path: impl AsRef<Path>, follow: Follow) -> io::Result<PathBuf> {
        let bytes = path.as_ref().as_os_str().as_bytes();
        let w = self.walk(bytes, follow, Missing::Stop)?;
        let mut names: Vec<OsString> = w.stack.into_iter().map(|(_, n)| n).collect();
        match w.end {
            End::Dir => {}
            End::Leaf(_, n) => names.push(n),
            End::Missing(rest) => {
                for c in rest {
                    if c == ".." {
                        names.pop();
                    } else {
                        names.push(c);
                    }
                }
            }
        }
        let mut p = PathBuf::from("/");
        p.extend(names);
        Ok(p)
    }

    /// `mkdir -p` inside the root: symlinks on the way are followed inside it (a dangling
    /// one is created where it points), missing directories are made with `mode` and
    /// handed to `on_new` (a readable descriptor: it may chown or chmod them). Returns a
    /// descriptor of the directory (`O_PATH` when it existed). A non-directory on the way is `ENOTDIR`.
    pub fn mkdir_all(
        &self,
        path: impl AsRef<Path>,
        mode: u32,
        on_new: &mut dyn FnMut(BorrowedFd<'_>) -> io::Result<()>,
    ) -> io::Result<OwnedFd> {
        let bytes = path.as_ref().as_os_str().as_bytes();
        let mut w = self.walk(
            bytes,
            Follow::All,
            Missing::Create(Mode::from_raw_mode(mode), on_new),
        )?;
        match w.end {
            End::Dir => match w.stack.pop() {
                Some((fd, _)) => Ok(fd),
                None => tree::dup(self.fd()),
            },
            End::Leaf(..) | End::Missing(_) => Err(err(Errno::NOTDIR)),
        }
    }

    /// The directory holding the last component of `path` (resolved inside the root,
    /// symlinks followed) and that component's name, not looked up: for creating, removing
    /// or replacing it with `*at` calls. With `create`, missing parents are made as by
    /// [`Root::mkdir_all`]. A path without a last name (`/`, `a/..`) is `EINVAL`.
    pub fn parent(
        &self,
        path: impl AsRef<Path>,
        create: Option<(u32, &mut OnNewDir<'_>)>,
    ) -> io::Result<(OwnedFd, OsString)> {
        let bytes = path.as_ref().as_os_str().as_bytes();
        let mut comps: Vec<OsString> = components(bytes).into();
        let name = match comps.pop() {
            Some(n) if n != ".." => n,
            _ => return Err(err(Errno::INVAL)),
        };
        let dir_path = comps.join(OsStr::new("/"));
        let dir = match create {
            Some((mode, on_new)) => self.mkdir_all(&dir_path, mode, on_new)?,
            None => {
                let w = self.walk(dir_path.as_bytes(), Follow::All, Missing::Stop)?;
                let mut stack = w.stack;
                match w.end {
                    End::Dir => match stack.pop() {
                        Some((fd, _)) => fd,
                        None => tree::dup(self.fd())?,
                    },
                    End::Leaf(..) => return Err(err(Errno::NOTDIR)),
                    End::Missing(_) => return Err(err(Errno::NOENT)),
                }
            }
        };
        Ok((dir, name))
    }

    /// Creates (or truncates, unless `excl`) the regular file `path` inside the root for
    /// writing, its parents resolved inside the root and the file itself never a symlink
    /// (`O_NOFOLLOW`).
    pub fn create_file(
        &self,
        path: impl AsRef<Path>,
        mode: u32,
        excl: bool,
    ) -> io::Result<OwnedFd> {
        let (dir, name) = self.parent(path, None)?;
        let mut flags = OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        flags |= if excl { OFlags::EXCL } else { OFlags::TRUNC };
        rfs::openat(&dir, &name, flags, Mode::from_raw_mode(mode)).map_err(err)
    }

    /// The walk behind everything that `openat2` cannot do: one component at a time from
    /// the root's descriptor, each opened `O_PATH | O_NOFOLLOW` relative to the one before.
    fn walk(&self, path: &[u8], follow: Follow, mut missing: Missing<'_>) -> io::Result<Walked> {
        let mut todo = components(path);
        let mut stack: Vec<(OwnedFd, OsString)> = Vec::new();
        let mut links = 0usize;
        while let Some(c) = todo.pop_front() {
            if c == ".." {
                // Never above the root: the stack is what this walk entered.
                stack.pop();
                continue;
            }
            let last = todo.is_empty();
            let cur = stack.last().map_or(self.fd(), |(f, _)| f.as_fd());
            let fd = match rfs::openat(
                cur,
                &c,
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => match &mut missing {
                    Missing::Stop => {
                        let mut rest = vec![c];
                        rest.extend(todo);
                        return Ok(Walked {
                            stack,
                            end: End::Missing(rest),
                        });
                    }
                    Missing::Create(mode, on_new) => {
                        match rfs::mkdirat(cur, &c, *mode) {
                            Ok(()) => {
                                // Readable (not O_PATH): `on_new` may fchown/fchmod it.
                                let made = rfs::openat(
                                    cur,
                                    &c,
                                    OFlags::RDONLY
                                        | OFlags::DIRECTORY
                                        | OFlags::NOFOLLOW
                                        | OFlags::CLOEXEC,
                                    Mode::empty(),
                                )
                                .map_err(err)?;
                                on_new(made.as_fd())?;
                                stack.push((made, c));
                            }
                            // Made by someone else meanwhile: look at it again.
                            Err(Errno::EXIST) => todo.push_front(c),
                            Err(e) => return Err(err(e)),
                        }
                        continue;
                    }
                },
                Err(e) => return Err(err(e)),
            };
            let st = rfs::fstat(&fd).map_err(err)?;
            match FileType::from_raw_mode(st.st_mode) {
                FileType::Symlink if !(last && follow == Follow::NotLast) => {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(err(Errno::LOOP));
                    }
                    let target = rfs::readlinkat(&fd, "", Vec::new()).map_err(err)?;
                    let target = target.as_bytes();
                    if target.starts_with(b"/") {
                        stack.clear();
                    }
                    for t in components(target).into_iter().rev() {
                        todo.push_front(t);
                    }
                }
                FileType::Directory => stack.push((fd, c)),
                _ if last => {
                    if wants_dir(path) {
                        return Err(err(Errno::NOTDIR));
                    }
                    return Ok(Walked {
                        stack,
                        end: End::Leaf(fd, c),
                    });
                }
                _ => return Err(err(Errno::NOTDIR)),
            }
        }
        Ok(Walked {
            stack,
            end: End::Dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    /// A root with `bin/busybox`, `bin/sh -> /bin/busybox`, `escape -> ../../../../etc`,
    /// `abs -> /etc`, `etc/passwd`, `loop -> loop`, `dangling -> /made/here`, `file`.
    fn fixture() -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let r = d.path().join("root");
        fs::create_dir_all(r.join("bin")).unwrap();
        fs::create_dir_all(r.join("etc")).unwrap();
        fs::write(r.join("bin/busybox"), b"bb").unwrap();
        fs::write(r.join("etc/passwd"), b"root:x:0:0").unwrap();
        fs::write(r.join("file"), b"f").unwrap();
        symlink("/bin/busybox", r.join("bin/sh")).unwrap();
        symlink("../../../../etc", r.join("escape")).unwrap();
        symlink("/etc", r.join("abs")).unwrap();
        symlink("loop", r.join("loop")).unwrap();
        symlink("/made/here", r.join("dangling")).unwrap();
        // Outside the root: what an escape would reach.
        fs::write(d.path().join("outside"), b"host").unwrap();
        symlink(d.path().join("outside"), r.join("hostlink")).unwrap();
        (d, r)
    }

    fn read(root: &Root, p: &str) -> io::Result<String> {
        let fd = root.open(p, OFlags::RDONLY, Follow::All)?;
        fs::read_to_string(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&fd)
        ))
    }

    fn read_walk(root: &Root, p: &str) -> io::Result<String> {
        let fd = root.open_by_walk(Path::new(p), OFlags::RDONLY, Follow::All)?;
        fs::read_to_string(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&fd)
        ))
    }

    #[test]
    fn symlinks_stay_inside_by_kernel_and_by_walk() {
        let (_d, r) = fixture();
        let root = Root::at(&r).unwrap();
        for f in [read, read_walk] {
            assert_eq!(f(&root, "/bin/sh").unwrap(), "bb");
            assert_eq!(f(&root, "escape/passwd").unwrap(), "root:x:0:0");
            assert_eq!(f(&root, "/abs/passwd").unwrap(), "root:x:0:0");
            assert_eq!(f(&root, "../../etc/passwd").unwrap(), "root:x:0:0");
            // The absolute host path is rebased on the root: not found inside.
            assert_eq!(
                f(&root, "hostlink").unwrap_err().kind(),
                io::ErrorKind::NotFound
            );
            assert_eq!(
                f(&root, "loop").unwrap_err().raw_os_error(),
                Some(libc_eloop())
            );
            assert_eq!(
                f(&root, "file/x").unwrap_err().raw_os_error(),
                Some(Errno::NOTDIR.raw_os_error())
            );
            assert_eq!(
                f(&root, "file/").unwrap_err().raw_os_error(),
                Some(Errno::NOTDIR.raw_os_error())
            );
        }
    }

    fn libc_eloop() -> i32 {
        Errno::LOOP.raw_os_error()
    }

    #[test]
    fn not_following_the_last_component() {
        let (_d, r) = fixture();
        let root = Root::at(&r).unwrap();
        let st = root.stat("bin/sh", Follow::NotLast).unwrap();
        assert_eq!(FileType::from_raw_mode(st.st_mode), FileType::Symlink);
        let st = root.stat("bin/sh", Follow::All).unwrap();
        assert_eq!(FileType::from_raw_mode(st.st_mode), FileType::RegularFile);
        let fd = root
            .open_by_walk(
                Path::new("abs"),
                OFlags::PATH | OFlags::NOFOLLOW,
                Follow::NotLast,
            )
            .unwrap();
        let st = rfs::fstat(&fd).unwrap();
        assert_eq!(FileType::from_raw_mode(st.st_mode), FileType::Symlink);
    }

    #[test]
    fn canonical_names_the_in_root_path() {
        let (_d, r) = fixture();
        let root = Root::at(&r).unwrap();
        assert_eq!(
            root.canonical("/bin/sh", Follow::All).unwrap(),
            Path::new("/bin/busybox")
        );
        assert_eq!(
            root.canonical("/bin/sh", Follow::NotLast).unwrap(),
            Path::new("/bin/sh")
        );
        assert_eq!(
            root.canonical("escape/x/../y", Follow::All).unwrap(),
            Path::new("/etc/y")
        );
        assert_eq!(
            root.canonical("dangling/z", Follow::All).unwrap(),
            Path::new("/made/here/z")
        );
        assert_eq!(
            root.canonical("hostlink", Follow::All).unwrap(),
            Path::new(&_d.path().join("outside"))
        );
        assert_eq!(root.canonical("/..", Follow::All).unwrap(), Path::new("/"));
        assert_eq!(
            root.canonical("abs/", Follow::All).unwrap(),
            Path::new("/etc")
        );
    }

    #[test]
    fn mkdir_all_creates_inside_through_links() {
        let (d, r) = fixture();
        let root = Root::at(&r).unwrap();
        let mut made = Vec::new();
        let mut on_new = |fd: BorrowedFd<'_>| {
            made.push(rfs::fstat(fd).map_err(err)?.st_ino);
            Ok(())
        };
        root.mkdir_all("dangling/sub", 0o750, &mut on_new).unwrap();
        assert!(r.join("made/here/sub").is_dir());
        assert_eq!(made.len(), 3);
        // Through an escaping relative link: still inside.
        root.mkdir_all("escape/newdir", 0o755, &mut |_| Ok(()))
            .unwrap();
        assert!(r.join("etc/newdir").is_dir());
        assert!(!d.path().join("etc").exists());
        // A file on the way is not a directory.
        let e = root
            .mkdir_all("file/x", 0o755, &mut |_| Ok(()))
            .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(Errno::NOTDIR.raw_os_error()));
        // The host path a link names is made inside the root.
        root.mkdir_all("hostlink", 0o755, &mut |_| Ok(())).unwrap();
        assert!(r
            .join(d.path().join("outside").strip_prefix("/").unwrap())
            .is_dir());
        assert_eq!(
            fs::read_to_string(d.path().join("outside")).unwrap(),
            "host"
        );
    }

    #[test]
    fn parent_and_create_file() {
        let (d, r) = fixture();
        let root = Root::at(&r).unwrap();
        let fd = root.create_file("abs/new.conf", 0o644, true).unwrap();
        drop(fd);
        assert!(r.join("etc/new.conf").is_file());
        // The final component is never followed: a symlink there refuses the write.
        let e = root.create_file("hostlink", 0o644, false).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(Errno::LOOP.raw_os_error()));
        assert_eq!(
            fs::read_to_string(d.path().join("outside")).unwrap(),
            "host"
        );
        let (_, name) = root
            .parent("a/b/c", Some((0o755, &mut |_| Ok(()))))
            .unwrap();
        assert_eq!(name, "c");
        assert!(r.join("a/b").is_dir());
        assert_eq!(
            root.parent("/", None).unwrap_err().raw_os_error(),
            Some(Errno::INVAL.raw_os_error())
        );
        assert_eq!(
            root.parent("nope/x", None).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }
}
