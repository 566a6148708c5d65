//! The host path a container path resolves to inside a rootfs, for the native init's
//! mounts and device nodes, which need paths: the resolution itself goes through
//! descriptors ([`berth_inroot`], the one in-root resolver of the workspace), symlinks
//! followed as if the rootfs were `/`. The answer is a path again: use it only where
//! nothing else can change the tree in between (the init, before the container runs).

use std::io;
use std::path::{Path, PathBuf};

/// Resolves `path` inside `root` (see the module doc). The final component need not exist:
/// the returned path then points at the missing entry (callers stat it).
pub fn resolve_in_root(root: &Path, path: &Path) -> io::Result<PathBuf> {
    resolve_in(&berth_inroot::Root::at(root)?, root, path)
}

/// [`resolve_in_root`] through `open`, a descriptor of `root` the caller keeps for many
/// paths (the init's mounts and device nodes: one open of the rootfs instead of one each).
/// A walk from a descriptor crosses the mounts made below it since, but not one made over
/// `root` itself: after that, open it again.
pub fn resolve_in(open: &berth_inroot::Root, root: &Path, path: &Path) -> io::Result<PathBuf> {
    let canon = open.canonical(path, berth_inroot::Follow::All)?;
    Ok(root.join(canon.strip_prefix("/").unwrap_or(&canon)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_stay_inside() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("bin")).unwrap();
        fs::write(r.join("bin/busybox"), b"x").unwrap();
        symlink("/bin/busybox", r.join("bin/sh")).unwrap();
        symlink("../../../../etc", r.join("escape")).unwrap();
        assert_eq!(
            resolve_in_root(r, Path::new("/bin/sh")).unwrap(),
            r.join("bin/busybox")
        );
        assert_eq!(
            resolve_in_root(r, Path::new("/escape/passwd")).unwrap(),
            r.join("etc/passwd")
        );
    }
}
