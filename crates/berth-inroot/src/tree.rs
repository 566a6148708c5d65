//! Descriptor-relative primitives for walking a tree found through a [`crate::Root`]:
//! every call names one entry of an open directory and never follows a symlink, so a walk
//! built from them cannot be redirected out of the tree it started in.

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, Stat};
use rustix::io::Errno;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

fn err(e: Errno) -> io::Error {
    io::Error::from(e)
}

/// A close-on-exec duplicate of `fd`.
pub fn dup(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    rustix::io::fcntl_dupfd_cloexec(fd, 0).map_err(err)
}

/// The names in directory `dir` (any descriptor of it, `O_PATH` included), without `.`
/// and `..`, sorted bytewise.
pub fn names(dir: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    let fd = rfs::openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(err)?;
    let mut d = rfs::Dir::new(fd).map_err(err)?;
    let mut out = Vec::new();
    while let Some(e) = d.read() {
        let e = e.map_err(err)?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            out.push(OsStr::from_bytes(n).to_os_string());
        }
    }
    out.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(out)
}

/// `lstat` of `name` in `dir`; `None` when it does not exist.
pub fn lstat(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Option<Stat>> {
    match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(st)),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(err(e)),
    }
}

/// `fstat` of an open descriptor.
pub fn fstat(fd: BorrowedFd<'_>) -> io::Result<Stat> {
    rfs::fstat(fd).map_err(err)
}

/// Opens `name` in `dir` with `flags`, never through a symlink (`O_NOFOLLOW`, close-on-exec).
pub fn open(dir: BorrowedFd<'_>, name: &OsStr, flags: OFlags) -> io::Result<OwnedFd> {
    rfs::openat(
        dir,
        name,
        flags | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(err)
}

/// Opens the directory `name` in `dir` for reading (and as a base for more `*at` calls).
pub fn open_dir(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    open(dir, name, OFlags::RDONLY | OFlags::DIRECTORY)
}

/// The target of the symlink `name` in `dir`.
pub fn readlink(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OsString> {
    let t = rfs::readlinkat(dir, name, Vec::new()).map_err(err)?;
    Ok(OsStr::from_bytes(t.as_bytes()).to_os_string())
}

/// `/proc/self/fd/N`: a path naming exactly what `fd` is, for calls that only take paths
/// (`mount(2)`; tools). Valid while `fd` is open.
pub fn proc_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// The host path the kernel has for `fd` right now (`readlink /proc/self/fd/N`), for
/// handing a resolved location to another process. It names the same object only while
/// nobody can rename its ancestors: callers use it on trees only they write to.
pub fn host_path(fd: BorrowedFd<'_>) -> io::Result<PathBuf> {
    std::fs::read_link(proc_path(fd))
}

/// Whether `fd` is a directory.
pub fn is_dir(fd: impl AsFd) -> io::Result<bool> {
    let st = rfs::fstat(fd).map_err(err)?;
    Ok(rfs::FileType::from_raw_mode(st.st_mode) == rfs::FileType::Directory)
}
