//! An image's files seen through its layer directories without mounting it: a union
//! lookup (top layer first, overlay whiteouts and opaque directories honoured, symlinks
//! followed inside the image) done entirely with descriptors, so a layer's symlink can
//! never make a reader see a host file. Made by [`crate::ImageStore::files`]; the
//! builder's COPY `--chown=name` (`/etc/passwd`) and its removal of RUN mount stubs read
//! the parent image through it, without knowing where the store keeps layers.

use berth_inroot::{tree, Root};
use rustix::fs::{FileType, Stat};
use std::ffi::OsString;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Symlinks followed in one lookup (Linux's MAXSYMLINKS).
const MAX_SYMLINKS: usize = 40;

/// An image's files: its layer dirs, top first.
pub struct ImageFiles {
    layers: Vec<PathBuf>,
}

/// One directory of the union: its descriptor in each layer where it is visible.
type UnionDir = Vec<Option<OwnedFd>>;

fn is_whiteout(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice && st.st_rdev == 0
}

fn is_opaque(fd: &OwnedFd) -> bool {
    let mut buf = [0u8; 4];
    matches!(
        rustix::fs::fgetxattr(fd, "trusted.overlay.opaque", &mut buf),
        Ok(1) if buf[0] == b'y'
    )
}

/// A found entry: the layer directory holding it, its name and its `lstat`.
struct Found {
    dir: OwnedFd,
    name: OsString,
    stat: Stat,
}

impl ImageFiles {
    /// The union of `layers` (unpacked layer directories, top first). The store makes
    /// these for its images; tests make them from plain directories.
    pub fn over(layers: Vec<PathBuf>) -> ImageFiles {
        ImageFiles { layers }
    }

    /// `lstat` of `rel` in the image (symlinks on the way followed inside the image, the
    /// last one not); `None` when absent, whited out or unreadable.
    pub fn meta(&self, rel: &str) -> Option<Stat> {
        self.lookup(rel, false).map(|f| f.stat)
    }

    /// The content of the regular file `rel` (every symlink followed inside the image).
    pub fn read(&self, rel: &str) -> Option<Vec<u8>> {
        let f = self.lookup(rel, true)?;
        if FileType::from_raw_mode(f.stat.st_mode) != FileType::RegularFile {
            return None;
        }
        let fd = tree::open(f.dir.as_fd(), &f.name, rustix::fs::OFlags::RDONLY).ok()?;
        let mut data = Vec::new();
        std::fs::File::from(fd).read_to_end(&mut data).ok()?;
        Some(data)
    }

    /// Whether `rel` is a directory in the image (symlinks followed).
    pub fn is_dir(&self, rel: &str) -> bool {
        self.lookup(rel, true)
            .is_some_and(|f| FileType::from_raw_mode(f.stat.st_mode) == FileType::Directory)
    }

    fn top(&self) -> Option<UnionDir> {
        let mut v = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            let root = Root::at(l).ok()?;
            v.push(Some(tree::dup(root.fd()).ok()?));
        }
        Some(v)
    }

    fn lookup(&self, rel: &str, follow_last: bool) -> Option<Found> {
        let top = self.top()?;
        let mut todo: std::collections::VecDeque<OsString> = rel
            .as_bytes()
            .split(|b| *b == b'/')
            .filter(|c| !c.is_empty() && *c != b".")
            .map(|c| std::ffi::OsStr::from_bytes(c).to_os_string())
            .collect();
        let mut stack: Vec<UnionDir> = Vec::new();
        let mut links = 0;
        let mut found: Option<Found> = None;
        while let Some(c) = todo.pop_front() {
            found = None;
            if c == ".." {
                stack.pop();
                continue;
            }
            let cur = stack.last().unwrap_or(&top);
            let (i, st) = cur.iter().enumerate().find_map(|(i, d)| {
                let d = d.as_ref()?;
                tree::lstat(d.as_fd(), &c).ok().flatten().map(|st| (i, st))
            })?;
            if is_whiteout(&st) {
                return None;
            }
            let dir = cur[i].as_ref()?;
            let last = todo.is_empty();
            match FileType::from_raw_mode(st.st_mode) {
                FileType::Symlink if !last || follow_last => {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return None;
                    }
                    let target = tree::readlink(dir.as_fd(), &c).ok()?;
                    let t = target.as_bytes();
                    if t.starts_with(b"/") {
                        stack.clear();
                    }
                    for part in t
                        .split(|b| *b == b'/')
                        .filter(|p| !p.is_empty() && *p != b".")
                        .rev()
                    {
                        todo.push_front(std::ffi::OsStr::from_bytes(part).to_os_string());
                    }
                }
                FileType::Directory if !last => {
                    // The directory in this layer and in the layers below, down to the
                    // first that hides the rest (a non-directory, a whiteout, an opaque dir).
                    let mut next: UnionDir = (0..cur.len()).map(|_| None).collect();
                    for (j, d) in cur.iter().enumerate().skip(i) {
                        let Some(d) = d else { continue };
                        match tree::lstat(d.as_fd(), &c).ok().flatten() {
                            None => continue,
                            Some(s)
                                if FileType::from_raw_mode(s.st_mode) == FileType::Directory =>
                            {
                                let Ok(fd) = tree::open_dir(d.as_fd(), &c) else {
                                    break;
                                };
                                let opaque = is_opaque(&fd);
                                next[j] = Some(fd);
                                if opaque {
                                    break;
                                }
                            }
                            Some(_) => break,
                        }
                    }
                    stack.push(next);
                }
                _ if last => {
                    found = Some(Found {
                        dir: tree::dup(dir.as_fd()).ok()?,
                        name: c,
                        stat: st,
                    });
                }
                _ => return None,
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    #[test]
    fn union_lookup_stays_in_the_image() {
        let d = tempfile::tempdir().unwrap();
        let (top, bottom) = (d.path().join("top"), d.path().join("bottom"));
        fs::create_dir_all(bottom.join("usr/etc")).unwrap();
        fs::write(
            bottom.join("usr/etc/passwd"),
            "app:x:1001:1002::/:/bin/sh\n",
        )
        .unwrap();
        fs::create_dir_all(bottom.join("gone")).unwrap();
        fs::create_dir_all(top.join("x")).unwrap();
        // /etc -> /usr/etc in the top layer, the file in the bottom one.
        symlink("/usr/etc", top.join("etc")).unwrap();
        // A host path: resolved inside the image, where it does not exist.
        fs::write(d.path().join("secret"), "host").unwrap();
        symlink(d.path().join("secret"), top.join("x/host")).unwrap();
        symlink("../../../../../../secret", top.join("x/rel")).unwrap();
        let lower = ImageFiles::over(vec![top, bottom]);
        assert_eq!(
            lower.read("/etc/passwd").unwrap(),
            b"app:x:1001:1002::/:/bin/sh\n"
        );
        assert!(lower.read("/x/host").is_none());
        assert!(lower.read("x/rel").is_none());
        assert!(lower.meta("/x/host").is_some());
        assert!(lower.is_dir("/etc"));
        assert!(lower.is_dir("/gone"));
        assert!(lower.meta("/nope").is_none());
    }
}
