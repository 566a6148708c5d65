//! Path resolution inside a container rootfs, like a chroot would see it: absolute symlink
//! targets and `..` never leave the rootfs, so an image cannot make the host read its files.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Symlink hops allowed before giving up (Linux's MAXSYMLINKS).
const MAX_HOPS: usize = 40;

/// Resolves `path` (interpreted inside `root`, relative paths from `/`) to a host path
/// under `root`, following symlinks as if `root` were `/`. The final component need not exist:
/// the returned path then points at the missing entry (callers stat it).
pub fn resolve_in_root(root: &Path, path: &Path) -> io::Result<PathBuf> {
    // Components still to walk, in reverse order so `pop` yields the next one.
    let mut todo: Vec<OsString> = components(path);
    todo.reverse();
    let mut cur: Vec<OsString> = Vec::new();
    let mut hops = 0;
    while let Some(c) = todo.pop() {
        if c == ".." {
            cur.pop();
            continue;
        }
        let mut host = root.to_path_buf();
        host.extend(cur.iter());
        host.push(&c);
        match fs::symlink_metadata(&host) {
            Ok(md) if md.file_type().is_symlink() => {
                hops += 1;
                if hops > MAX_HOPS {
                    return Err(io::Error::other("too many levels of symbolic links"));
                }
                let target = fs::read_link(&host)?;
                if target.is_absolute() {
                    cur.clear();
                }
                let mut t = components(&target);
                t.reverse();
                todo.extend(t);
            }
            Ok(_) => cur.push(c),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                cur.push(c);
            }
            Err(e) => return Err(e),
        }
    }
    let mut host = root.to_path_buf();
    host.extend(cur.iter());
    Ok(host)
}

fn components(path: &Path) -> Vec<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
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
