//! Docker's copy-up: an empty volume mounted over a directory of the image first receives
//! that directory's files, with their owners, modes and times (moby's copyExistingContents).

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Copies `src`'s contents into `dst` when `dst` is empty; also gives `dst` the owner and
/// mode of `src`, as Docker does. Returns whether anything was copied.
pub fn copy_up(src: &Path, dst: &Path) -> io::Result<bool> {
    let meta = match fs::symlink_metadata(src) {
        Ok(m) if m.is_dir() => m,
        _ => return Ok(false),
    };
    if fs::read_dir(dst)?.next().is_some() {
        return Ok(false);
    }
    let mut copied = false;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        copy_entry(&entry.path(), &dst.join(entry.file_name()))?;
        copied = true;
    }
    copy_attrs(&meta, dst)?;
    Ok(copied)
}

fn copy_entry(src: &Path, dst: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(src)?;
    let ft = meta.file_type();
    if ft.is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(src)?, dst)?;
        let _ = nix::unistd::fchownat(
            None,
            dst,
            Some(meta.uid().into()),
            Some(meta.gid().into()),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        );
        return Ok(());
    }
    if ft.is_dir() {
        fs::create_dir(dst)?;
        for entry in fs::read_dir(src)? {
            let entry = entry?;
            copy_entry(&entry.path(), &dst.join(entry.file_name()))?;
        }
    } else if ft.is_file() {
        fs::copy(src, dst)?;
    } else {
        // Devices, fifos, sockets: recreate the node.
        let kind = nix::sys::stat::SFlag::from_bits_truncate(meta.mode() & libc::S_IFMT);
        let perm = nix::sys::stat::Mode::from_bits_truncate(meta.mode() & 0o7777);
        nix::sys::stat::mknod(dst, kind, perm, meta.rdev()).map_err(io::Error::from)?;
    }
    copy_attrs(&meta, dst)
}

fn copy_attrs(meta: &fs::Metadata, dst: &Path) -> io::Result<()> {
    nix::unistd::chown(dst, Some(meta.uid().into()), Some(meta.gid().into()))
        .map_err(io::Error::from)?;
    // chown clears setuid bits: the mode goes after it.
    fs::set_permissions(dst, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    let times = [
        nix::sys::time::TimeSpec::new(meta.atime(), meta.atime_nsec()),
        nix::sys::time::TimeSpec::new(meta.mtime(), meta.mtime_nsec()),
    ];
    let _ = nix::sys::stat::utimensat(
        None,
        dst,
        &times[0],
        &times[1],
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_into_empty_only() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("sub/f"), b"hello").unwrap();
        fs::set_permissions(src.join("sub/f"), fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink("sub/f", src.join("l")).unwrap();
        let dst = t.path().join("dst");
        fs::create_dir(&dst).unwrap();
        assert!(copy_up(&src, &dst).unwrap());
        assert_eq!(fs::read(dst.join("sub/f")).unwrap(), b"hello");
        let mode = fs::metadata(dst.join("sub/f")).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert_eq!(fs::read_link(dst.join("l")).unwrap(), Path::new("sub/f"));
        // Not empty any more: nothing is copied again.
        fs::write(src.join("new"), b"x").unwrap();
        assert!(!copy_up(&src, &dst).unwrap());
        assert!(!dst.join("new").exists());
    }
}
