//! Docker's copy-up: an empty volume mounted over a directory of the image first receives
//! that directory's files, with their owners, modes and times (moby's copyExistingContents).
//!
//! Both sides are reached through descriptors: the image directory is resolved inside the
//! container rootfs (`berth_inroot`: its symlinks never lead to the host), and the files are
//! written with the hardened writer below the volume's directory descriptor, so a container
//! already using the volume cannot redirect a write out of it by swapping in a symlink.

use berth_image::{EntryKind, EntryMeta, TreeWriter, UnpackOptions};
use berth_inroot::{tree, Follow, Root};
use rustix::fs::{FileType, OFlags, Stat};
use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn meta(st: &Stat) -> EntryMeta {
    EntryMeta {
        mode: st.st_mode & 0o7777,
        uid: u64::from(st.st_uid),
        gid: u64::from(st.st_gid),
        mtime: st.st_mtime,
        mtime_nsec: i64::try_from(st.st_mtime_nsec).unwrap_or(0),
        xattrs: Vec::new(),
    }
}

fn image_err(e: berth_image::ImageError) -> io::Error {
    io::Error::other(e.to_string())
}

/// Copies the directory `src` (a container path, resolved inside `rootfs`) into the volume
/// directory `dst` when `dst` is empty; also gives `dst` the owner, mode and times of `src`,
/// as Docker does. Returns whether anything was copied.
pub fn copy_up(rootfs: &Path, src: &str, dst: OwnedFd) -> io::Result<bool> {
    let root = Root::at(rootfs)?;
    let src = match root.open(src, OFlags::RDONLY | OFlags::DIRECTORY, Follow::All) {
        Ok(fd) => fd,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(false)
        }
        Err(e) => return Err(e),
    };
    if !tree::names(dst.as_fd())?.is_empty() {
        return Ok(false);
    }
    let src_stat = tree::fstat(src.as_fd())?;
    let mut w = TreeWriter::new(tree::dup(dst.as_fd())?, UnpackOptions::default());
    let mut comps = Vec::new();
    let copied = copy_dir(src.as_fd(), &mut comps, &mut w)?;
    w.finish().map_err(image_err)?;
    // The volume's own directory takes the image directory's metadata (chown first: it
    // clears setuid bits).
    rustix::fs::fchown(
        &dst,
        Some(rustix::fs::Uid::from_raw(src_stat.st_uid)),
        Some(rustix::fs::Gid::from_raw(src_stat.st_gid)),
    )?;
    rustix::fs::fchmod(
        &dst,
        rustix::fs::Mode::from_raw_mode(src_stat.st_mode & 0o7777),
    )?;
    let ts = |s: i64, ns: u64| rustix::fs::Timespec {
        tv_sec: s,
        tv_nsec: ns as _,
    };
    let _ = rustix::fs::futimens(
        &dst,
        &rustix::fs::Timestamps {
            last_access: ts(src_stat.st_atime, src_stat.st_atime_nsec),
            last_modification: ts(src_stat.st_mtime, src_stat.st_mtime_nsec),
        },
    );
    Ok(copied)
}

/// Writes the entries of `dir` (recursively) at `comps` + their names; whether any was.
fn copy_dir(dir: BorrowedFd<'_>, comps: &mut Vec<Vec<u8>>, w: &mut TreeWriter) -> io::Result<bool> {
    let mut any = false;
    for name in tree::names(dir)? {
        let Some(st) = tree::lstat(dir, &name)? else {
            continue;
        };
        comps.push(name.as_bytes().to_vec());
        let shown = String::from_utf8_lossy(&comps.join(&b'/')).into_owned();
        copy_entry(dir, &name, &st, comps, &shown, w)?;
        comps.pop();
        any = true;
    }
    Ok(any)
}

fn copy_entry(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    st: &Stat,
    comps: &mut Vec<Vec<u8>>,
    shown: &str,
    w: &mut TreeWriter,
) -> io::Result<()> {
    match FileType::from_raw_mode(st.st_mode) {
        FileType::Directory => {
            w.put(comps, EntryKind::Dir, meta(st), shown)
                .map_err(image_err)?;
            let sub = tree::open_dir(dir, name)?;
            copy_dir(sub.as_fd(), comps, w)?;
        }
        FileType::RegularFile => {
            let mut f = std::fs::File::from(tree::open(dir, name, OFlags::RDONLY)?);
            let size = u64::try_from(st.st_size).unwrap_or(0);
            w.put(
                comps,
                EntryKind::File {
                    size,
                    content: &mut f,
                },
                meta(st),
                shown,
            )
            .map_err(image_err)?;
        }
        FileType::Symlink => {
            let t = tree::readlink(dir, name)?;
            w.put(
                comps,
                EntryKind::Symlink {
                    target: t.as_bytes(),
                },
                meta(st),
                shown,
            )
            .map_err(image_err)?;
        }
        FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo => {
            w.put(
                comps,
                EntryKind::Node {
                    format: st.st_mode & 0o170000,
                    major: rustix::fs::major(st.st_rdev),
                    minor: rustix::fs::minor(st.st_rdev),
                },
                meta(st),
                shown,
            )
            .map_err(image_err)?;
        }
        // Sockets are not copied.
        _ => {}
    }
    Ok(())
}

/// Opens a volume directory to copy into.
pub fn open_dir(p: &Path) -> io::Result<OwnedFd> {
    rustix::fs::open(
        p,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn copies_into_empty_only() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        let src = root.join("src");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("sub/f"), b"hello").unwrap();
        fs::set_permissions(src.join("sub/f"), fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink("sub/f", src.join("l")).unwrap();
        let dst = t.path().join("dst");
        fs::create_dir(&dst).unwrap();
        assert!(copy_up(&root, "/src", open_dir(&dst).unwrap()).unwrap());
        assert_eq!(fs::read(dst.join("sub/f")).unwrap(), b"hello");
        let mode = fs::metadata(dst.join("sub/f")).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert_eq!(fs::read_link(dst.join("l")).unwrap(), Path::new("sub/f"));
        // Not empty any more: nothing is copied again.
        fs::write(src.join("new"), b"x").unwrap();
        assert!(!copy_up(&root, "/src", open_dir(&dst).unwrap()).unwrap());
        assert!(!dst.join("new").exists());
    }

    /// The image directory behind a symlink to a host path is looked up inside the rootfs.
    #[test]
    fn the_source_stays_inside_the_rootfs() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        fs::create_dir_all(root.join("data")).unwrap();
        fs::write(root.join("data/in-image"), b"image").unwrap();
        let host = t.path().join("host");
        fs::create_dir_all(&host).unwrap();
        fs::write(host.join("secret"), b"host").unwrap();
        std::os::unix::fs::symlink(&host, root.join("hostlink")).unwrap();
        std::os::unix::fs::symlink("/data", root.join("abs")).unwrap();
        let dst = t.path().join("dst");
        fs::create_dir(&dst).unwrap();
        assert!(!copy_up(&root, "/hostlink", open_dir(&dst).unwrap()).unwrap());
        assert!(!dst.join("secret").exists());
        assert!(copy_up(&root, "/abs", open_dir(&dst).unwrap()).unwrap());
        assert_eq!(fs::read(dst.join("in-image")).unwrap(), b"image");
    }
}
