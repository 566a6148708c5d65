//! `docker diff`: a container's changes read from its overlay upper dir, with moby's
//! algorithm (archive.changes): a walk of the upper dir in name order; a 0/0 char device
//! is a deletion, an entry the lower layers also have is a modification (a directory whose
//! size, mode and mtime match the lower one is skipped), anything else an addition; the
//! parent of an added or deleted entry is reported modified once, before it.
//! An opaque directory hides what the lowers had: its children are additions.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::error::{ImageError, IoContext};

pub const MODIFIED: u8 = 0;
pub const ADDED: u8 = 1;
pub const DELETED: u8 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Absolute path inside the container.
    pub path: String,
    /// 0 modified, 1 added, 2 deleted (the API's `Kind`).
    pub kind: u8,
}

struct Walk<'a> {
    lowers: &'a [PathBuf],
    out: Vec<Change>,
    changed_dirs: HashSet<String>,
}

fn parent_of(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &p[..i],
    }
}

impl Walk<'_> {
    fn visit(&mut self, host: &Path, path: &str, hidden: bool) -> Result<(), ImageError> {
        let md = fs::symlink_metadata(host).ctx(|| format!("stat {}", host.display()))?;
        let ft = md.file_type();
        let is_dir = ft.is_dir();
        let opaque = is_dir && berth_api::tarfs::is_opaque(host);
        let kind = if ft.is_char_device() && md.rdev() == 0 {
            Some(DELETED)
        } else {
            let lower = if hidden {
                None
            } else {
                self.lowers
                    .iter()
                    .rev()
                    .find_map(|l| fs::symlink_metadata(l.join(&path[1..])).ok())
            };
            match lower {
                None => Some(ADDED),
                Some(lm)
                    if lm.is_dir()
                        && is_dir
                        && !opaque
                        && lm.len() == md.len()
                        && lm.mode() == md.mode()
                        && lm.mtime() == md.mtime()
                        && lm.mtime_nsec() == md.mtime_nsec() =>
                {
                    None
                }
                Some(_) => Some(MODIFIED),
            }
        };
        if let Some(kind) = kind {
            if is_dir {
                self.changed_dirs.insert(path.to_string());
            }
            if kind != MODIFIED {
                let parent = parent_of(path);
                if parent != "/" && self.changed_dirs.insert(parent.to_string()) {
                    self.out.push(Change {
                        path: parent.to_string(),
                        kind: MODIFIED,
                    });
                }
            }
            self.out.push(Change {
                path: path.to_string(),
                kind,
            });
        }
        if is_dir {
            self.children(host, path, hidden || opaque)?;
        }
        Ok(())
    }

    fn children(&mut self, host: &Path, path: &str, hidden: bool) -> Result<(), ImageError> {
        let mut names: Vec<_> = fs::read_dir(host)
            .ctx(|| format!("reading {}", host.display()))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        names.sort();
        for n in names {
            let child = if path == "/" {
                format!("/{}", n.to_string_lossy())
            } else {
                format!("{path}/{}", n.to_string_lossy())
            };
            self.visit(&host.join(&n), &child, hidden)?;
        }
        Ok(())
    }
}

/// The changes of `upper` over `lowers` (lowest layer first).
pub fn changes(upper: &Path, lowers: &[PathBuf]) -> Result<Vec<Change>, ImageError> {
    let mut w = Walk {
        lowers,
        out: Vec::new(),
        changed_dirs: HashSet::new(),
    };
    if upper.is_dir() {
        w.children(upper, "/", false)?;
    }
    Ok(w.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_changes_like_moby() {
        let d = tempfile::tempdir().unwrap();
        let lower = d.path().join("lower");
        let upper = d.path().join("upper");
        fs::create_dir_all(lower.join("bin")).unwrap();
        fs::create_dir_all(lower.join("etc")).unwrap();
        fs::write(lower.join("bin/ls"), b"x").unwrap();
        fs::write(lower.join("etc/passwd"), b"x").unwrap();
        // Lower dirs from long ago: the upper copies must differ whatever the clock's grain.
        let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        for dir in ["bin", "etc"] {
            fs::File::open(lower.join(dir))
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        fs::create_dir_all(upper.join("bin")).unwrap();
        fs::create_dir_all(upper.join("d/sub")).unwrap();
        fs::write(upper.join("d/sub/b"), b"x").unwrap();
        fs::write(upper.join("d/a.txt"), b"x").unwrap();
        fs::create_dir_all(upper.join("etc")).unwrap();
        fs::write(upper.join("etc/passwd"), b"y").unwrap();
        let wh =
            std::ffi::CString::new(upper.join("bin/ls").as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: valid path; a 0/0 char device is overlay's whiteout (needs root).
        let made = unsafe { libc::mknod(wh.as_ptr(), libc::S_IFCHR, 0) } == 0;
        let got: Vec<(u8, String)> = changes(&upper, &[lower])
            .unwrap()
            .into_iter()
            .map(|c| (c.kind, c.path))
            .collect();
        let mut want = vec![];
        if made {
            want.push((MODIFIED, "/bin".to_string()));
            want.push((DELETED, "/bin/ls".to_string()));
        } else {
            want.push((MODIFIED, "/bin".to_string()));
        }
        want.extend([
            (ADDED, "/d".to_string()),
            (ADDED, "/d/a.txt".to_string()),
            (ADDED, "/d/sub".to_string()),
            (ADDED, "/d/sub/b".to_string()),
            (MODIFIED, "/etc".to_string()),
            (MODIFIED, "/etc/passwd".to_string()),
        ]);
        assert_eq!(got, want);
    }
}
