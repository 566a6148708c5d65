//! Tar archives of host directory trees as docker's `pkg/archive` writes them: entry names
//! are chosen by the caller (`d/`, `./`, ...) and written byte for byte (GNU long-name
//! entries past 100 bytes), symlinks are never followed, hard links are kept as links,
//! sockets are skipped. Shared by the daemon (archive, export, commit) and the CLI (cp).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// What `write_tree` does with overlayfs upper-dir markers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Markers {
    /// Plain files: a 0/0 char device is archived as a device.
    #[default]
    Keep,
    /// An overlay upper dir becomes a layer diff: 0/0 char devices become `.wh.<name>`
    /// entries and opaque dirs (`trusted.overlay.opaque=y`) get a `.wh..wh..opq` entry.
    Whiteouts,
}

/// A tar stream being written; remembers inodes so hard links become link entries.
pub struct TarWriter<W: Write> {
    tw: tar::Builder<W>,
    links: HashMap<(u64, u64), Vec<u8>>,
    markers: Markers,
    entries: u64,
    /// A remapped daemon's maps: host owners are written as the container sees them.
    ids: Option<crate::idmap::IdMappings>,
    /// Entries left out because their host owner is outside the maps (moby's
    /// "Can't add file %s to tar: %s", which its daemon logs while the archive goes on).
    skipped: Vec<String>,
}

/// Whose ids an entry's header carries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// The file's, shifted back into the container's ids when there are maps.
    Mapped,
    /// The host's as they are: overlay whiteouts and `.wh.` entries, which the kernel made
    /// (moby's archiver skips them when remapping).
    Host,
}

fn header_for(md: &fs::Metadata, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(md.mode() & 0o7777);
    h.set_uid(u64::from(md.uid()));
    h.set_gid(u64::from(md.gid()));
    h.set_mtime(u64::try_from(md.mtime()).unwrap_or(0));
    h.set_size(0);
    h
}

fn join(name: &[u8], child: &OsStr) -> Vec<u8> {
    let mut v = Vec::with_capacity(name.len() + child.len() + 1);
    if !name.is_empty() {
        v.extend_from_slice(name);
        if !name.ends_with(b"/") {
            v.push(b'/');
        }
    }
    v.extend_from_slice(child.as_bytes());
    v
}

impl<W: Write> TarWriter<W> {
    pub fn new(w: W, markers: Markers) -> Self {
        TarWriter {
            tw: tar::Builder::new(w),
            links: HashMap::new(),
            markers,
            entries: 0,
            ids: None,
            skipped: Vec::new(),
        }
    }

    /// Writes owners shifted back into the container's ids (a `userns-remap` daemon's
    /// commit, export and `cp` out, as moby's archiver with its IdentityMapping).
    pub fn with_id_map(mut self, ids: Option<crate::idmap::IdMappings>) -> Self {
        self.ids = ids;
        self
    }

    /// How many entries were written so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The entries left out so far for an owner outside the maps, as moby's log lines
    /// ("Can't add file PATH to tar: host ID N cannot be mapped to a container ID").
    pub fn take_skipped(&mut self) -> Vec<String> {
        std::mem::take(&mut self.skipped)
    }

    /// Writes the end-of-archive blocks and returns the writer.
    pub fn finish(self) -> io::Result<W> {
        let mut w = self.tw.into_inner()?;
        w.flush()?;
        Ok(w)
    }

    /// GNU long name/link entries for fields that do not fit the 100-byte header slots.
    fn long_field(&mut self, kind: u8, value: &[u8]) -> io::Result<()> {
        let mut h = tar::Header::new_gnu();
        let marker = b"././@LongLink";
        h.as_old_mut().name[..marker.len()].copy_from_slice(marker);
        h.set_entry_type(tar::EntryType::new(kind));
        h.set_mode(0o644);
        h.set_size(value.len() as u64 + 1);
        h.set_cksum();
        let mut data = value.to_vec();
        data.push(0);
        self.tw.append(&h, &data[..])
    }

    /// Writes one entry for the host file `host`; false when it was left out because its
    /// owner cannot be shifted into the container's ids (moby writes the rest).
    fn put(
        &mut self,
        mut h: tar::Header,
        (host, owner): (&Path, Owner),
        name: &[u8],
        link: Option<&[u8]>,
        data: impl Read,
    ) -> io::Result<bool> {
        if let (Some(ids), Owner::Mapped) = (&self.ids, owner) {
            let uid = u32::try_from(h.uid().unwrap_or(0)).unwrap_or(u32::MAX);
            let gid = u32::try_from(h.gid().unwrap_or(0)).unwrap_or(u32::MAX);
            match ids.to_container(uid, gid) {
                Ok((u, g)) => {
                    h.set_uid(u64::from(u));
                    h.set_gid(u64::from(g));
                }
                Err(e) => {
                    self.skipped
                        .push(format!("Can't add file {} to tar: {e}", host.display()));
                    return Ok(false);
                }
            }
        }
        {
            let slot = &mut h.as_old_mut().name;
            if name.len() <= slot.len() {
                slot[..name.len()].copy_from_slice(name);
            } else {
                slot.copy_from_slice(&name[..100]);
            }
        }
        if name.len() > 100 {
            self.long_field(b'L', name)?;
        }
        if let Some(l) = link {
            let slot = &mut h.as_old_mut().linkname;
            if l.len() <= slot.len() {
                slot[..l.len()].copy_from_slice(l);
            } else {
                slot.copy_from_slice(&l[..100]);
                self.long_field(b'K', l)?;
            }
        }
        h.set_cksum();
        self.entries += 1;
        self.tw.append(&h, data)?;
        Ok(true)
    }

    /// Archives `host` (not following it if it is a symlink) under the entry name `name`
    /// (`""` archives a directory's children without an entry for the directory itself),
    /// recursing into directories in name order, as Go's filepath.Walk.
    pub fn write_tree(&mut self, host: &Path, name: &[u8]) -> io::Result<()> {
        let md = fs::symlink_metadata(host)?;
        let ft = md.file_type();
        if ft.is_dir() {
            if !name.is_empty() {
                let mut n = name.to_vec();
                if !n.ends_with(b"/") {
                    n.push(b'/');
                }
                let written = self.put(
                    header_for(&md, tar::EntryType::Directory),
                    (host, Owner::Mapped),
                    &n,
                    None,
                    io::empty(),
                )?;
                // The opaque marker carries the directory's (shifted) owner, as moby's.
                if written && self.markers == Markers::Whiteouts && is_opaque(host) {
                    let mut o = n.clone();
                    o.extend_from_slice(b".wh..wh..opq");
                    self.put(
                        header_for(&md, tar::EntryType::Regular),
                        (host, Owner::Mapped),
                        &o,
                        None,
                        io::empty(),
                    )?;
                }
            }
            let mut children: Vec<_> = fs::read_dir(host)?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name())
                .collect();
            children.sort();
            for c in children {
                self.write_tree(&host.join(&c), &join(name, &c))?;
            }
            return Ok(());
        }
        // A name the kernel's whiteouts become, or given as such: the host's owner.
        let base = name.rsplit(|&b| b == b'/').next().unwrap_or(name);
        let owner = if base.starts_with(b".wh.") {
            Owner::Host
        } else {
            Owner::Mapped
        };
        if ft.is_symlink() {
            let target = fs::read_link(host)?;
            self.put(
                header_for(&md, tar::EntryType::Symlink),
                (host, owner),
                name,
                Some(target.as_os_str().as_bytes()),
                io::empty(),
            )?;
            return Ok(());
        }
        if ft.is_file() {
            let first = (md.nlink() > 1)
                .then(|| self.links.get(&(md.dev(), md.ino())).cloned())
                .flatten();
            if let Some(first) = first {
                self.put(
                    header_for(&md, tar::EntryType::Link),
                    (host, owner),
                    name,
                    Some(&first),
                    io::empty(),
                )?;
                return Ok(());
            }
            let f = File::options()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(host)?;
            let mut h = header_for(&md, tar::EntryType::Regular);
            h.set_size(md.len());
            // A file that shrinks while archived must not desynchronise the stream.
            let data = f.take(md.len()).chain(io::repeat(0).take(md.len()));
            // Later links name the first one only when it is in the archive.
            if self.put(h, (host, owner), name, None, data.take(md.len()))? && md.nlink() > 1 {
                self.links.insert((md.dev(), md.ino()), name.to_vec());
            }
            return Ok(());
        }
        if ft.is_socket() {
            return Ok(());
        }
        let is_whiteout = ft.is_char_device() && md.rdev() == 0;
        if self.markers == Markers::Whiteouts && is_whiteout {
            let (dir, base) = match name.iter().rposition(|&b| b == b'/') {
                Some(i) => (&name[..=i], &name[i + 1..]),
                None => (&name[..0], name),
            };
            let mut n = dir.to_vec();
            n.extend_from_slice(b".wh.");
            n.extend_from_slice(base);
            let mut h = header_for(&md, tar::EntryType::Regular);
            h.set_mode(0);
            self.put(h, (host, Owner::Host), &n, None, io::empty())?;
            return Ok(());
        }
        let kind = if ft.is_char_device() {
            tar::EntryType::Char
        } else if ft.is_block_device() {
            tar::EntryType::Block
        } else {
            tar::EntryType::Fifo
        };
        let mut h = header_for(&md, kind);
        if kind != tar::EntryType::Fifo {
            let dev = md.rdev() as libc::dev_t;
            h.set_device_major(libc::major(dev))?;
            h.set_device_minor(libc::minor(dev))?;
        }
        let owner = if is_whiteout { Owner::Host } else { owner };
        self.put(h, (host, owner), name, None, io::empty())?;
        Ok(())
    }
}

/// Whether `p` is an overlayfs opaque directory.
pub fn is_opaque(p: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else {
        return false;
    };
    let key = c"trusted.overlay.opaque";
    let mut buf = [0u8; 4];
    // SAFETY: valid NUL-terminated strings and a buffer with its length.
    let n =
        unsafe { libc::lgetxattr(c.as_ptr(), key.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    n == 1 && buf[0] == b'y'
}

/// Go's filepath.Base: "/" for the root, "." for "", trailing slashes ignored.
pub fn go_base(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".to_string();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

/// docker's SplitPathDirEntry: the cleaned path's dir and base, keeping a trailing `/.`.
pub fn split_path_dir_entry(p: &str) -> (String, String) {
    let mut cleaned = go_clean(p);
    if go_base(p) == "." && cleaned != "." {
        cleaned.push_str(if cleaned.ends_with('/') { "." } else { "/." });
    }
    let dir = match cleaned.rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => go_clean(&cleaned[..i]),
        None => ".".to_string(),
    };
    (dir, go_base(&cleaned))
}

/// Go's path.Clean.
pub fn go_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    let body = out.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_string(),
        (false, false) => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_helpers() {
        assert_eq!(go_base("/d/"), "d");
        assert_eq!(go_base("/d/."), ".");
        assert_eq!(go_base("/"), "/");
        assert_eq!(go_clean("/a/../b/./c/"), "/b/c");
        assert_eq!(go_clean("../a"), "../a");
        assert_eq!(split_path_dir_entry("src/."), ("src".into(), ".".into()));
        assert_eq!(split_path_dir_entry("/a/b"), ("/a".into(), "b".into()));
        assert_eq!(split_path_dir_entry("b/"), (".".into(), "b".into()));
    }

    #[test]
    fn names_are_written_as_given() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("sub")).unwrap();
        fs::write(d.path().join("sub/a.txt"), b"hi").unwrap();
        fs::hard_link(d.path().join("sub/a.txt"), d.path().join("sub/b")).unwrap();
        std::os::unix::fs::symlink("/etc", d.path().join("sub/l")).unwrap();
        let long = "x".repeat(120);
        fs::write(d.path().join("sub").join(&long), b"").unwrap();
        let mut tw = TarWriter::new(Vec::new(), Markers::Keep);
        tw.write_tree(&d.path().join("sub"), b".").unwrap();
        let buf = tw.finish().unwrap();
        let mut ar = tar::Archive::new(&buf[..]);
        let names: Vec<(String, tar::EntryType)> = ar
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                    e.header().entry_type(),
                )
            })
            .collect();
        assert_eq!(names[0], ("./".to_string(), tar::EntryType::Directory));
        assert_eq!(names[1], ("./a.txt".to_string(), tar::EntryType::Regular));
        assert_eq!(names[2], ("./b".to_string(), tar::EntryType::Link));
        assert_eq!(names[3], ("./l".to_string(), tar::EntryType::Symlink));
        assert_eq!(names[4].0, format!("./{long}"));
    }
}
