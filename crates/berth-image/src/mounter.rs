//! The rootfs/volume mounter: the mounts the engine makes for containers, behind one narrow
//! trait — a container's overlay rootfs from its image's layers (`snapshot`), and a local
//! volume's filesystem (`volume create -o type=... -o device=... -o o=...`) on its data
//! directory. `HostMounter` is the real one; the engine's unit tests use a recording fake.
//! Calls block (mount(2), a vfs copy): the engine makes them from its blocking pool.

use crate::error::ImageError;
use std::path::{Path, PathBuf};

/// A local volume's filesystem, as its options give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeFs {
    /// `type`: the filesystem type (tmpfs, ext4, none for a bind, ...).
    pub fs_type: String,
    /// `device`: what is mounted.
    pub device: String,
    /// `o`: comma-separated mount options (flags and filesystem data).
    pub options: String,
}

/// The mounts the engine makes for containers.
pub trait Mounter: Send + Sync {
    /// Mounts the container rootfs at `container_dir/bundle/rootfs` from `layers` (lowest
    /// first); an existing mount is reused. Returns the rootfs path.
    fn mount_rootfs(&self, layers: &[PathBuf], container_dir: &Path)
        -> Result<PathBuf, ImageError>;
    /// Unmounts the rootfs (no-op when not mounted).
    fn unmount_rootfs(&self, container_dir: &Path) -> Result<(), ImageError>;
    /// Mounts a volume's filesystem on `target`; the error is mount(2)'s, worded as
    /// dockerd's (`mount DEVICE:TARGET , flags: 0x.., data: ..: reason`).
    fn mount_volume(&self, fs: &VolumeFs, target: &Path) -> Result<(), String>;
    /// Detaches what is mounted on `target`.
    fn unmount_volume(&self, target: &Path) -> std::io::Result<()>;
    /// Whether `path` is itself a mount point.
    fn is_mount_point(&self, path: &Path) -> bool;
    /// The mount `path` lives on and its propagation (moby's getSourceMount), to check a
    /// bind's `shared`/`slave` propagation against its source before the container starts.
    fn source_mount(&self, path: &Path) -> Result<SourceMount, String>;
}

/// The mount a path lives on: the deepest mount point above it, and whether that mount is
/// shared (`shared:N` in mountinfo's optional fields) or a slave (`master:N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMount {
    pub mount_point: String,
    pub shared: bool,
    pub slave: bool,
}

/// The host's mounts: overlayfs (or a vfs copy) for rootfs, mount(2) for volumes.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostMounter;

impl Mounter for HostMounter {
    fn mount_rootfs(
        &self,
        layers: &[PathBuf],
        container_dir: &Path,
    ) -> Result<PathBuf, ImageError> {
        crate::snapshot::mount_rootfs(layers, container_dir)
    }

    fn unmount_rootfs(&self, container_dir: &Path) -> Result<(), ImageError> {
        crate::snapshot::unmount_rootfs(container_dir)
    }

    fn mount_volume(&self, fs: &VolumeFs, target: &Path) -> Result<(), String> {
        use nix::mount::MsFlags;
        let (flags, data) = mount_flags(&fs.options);
        let typ = (!flags.contains(MsFlags::MS_BIND)).then_some(fs.fs_type.as_str());
        nix::mount::mount(
            Some(fs.device.as_str()),
            target,
            typ,
            flags,
            (!data.is_empty()).then_some(data.as_str()),
        )
        .map_err(|e| {
            format!(
                "mount {}:{} , flags: {:#x}, data: {data}: {}",
                fs.device,
                target.display(),
                flags.bits(),
                e.desc().to_lowercase()
            )
        })
    }

    fn unmount_volume(&self, target: &Path) -> std::io::Result<()> {
        nix::mount::umount2(target, nix::mount::MntFlags::MNT_DETACH).map_err(Into::into)
    }

    fn is_mount_point(&self, path: &Path) -> bool {
        is_mountpoint(path)
    }

    fn source_mount(&self, path: &Path) -> Result<SourceMount, String> {
        // Symlinks resolved first, as moby's getSourceMount does.
        let real = std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let info = std::fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| format!("read /proc/self/mountinfo: {e}"))?;
        source_mount_in(&info, &real.to_string_lossy())
            .ok_or_else(|| format!("could not find source mount of {}", path.display()))
    }
}

/// The mountinfo entry `path` lives on: the longest mount point that is `path` or one of
/// its parent directories (the topmost of stacked mounts).
pub fn source_mount_in(mountinfo: &str, path: &str) -> Option<SourceMount> {
    let mut best: Option<SourceMount> = None;
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(mp) = fields.get(4).map(|m| unescape_octal(m)) else {
            continue;
        };
        let above = mp == "/"
            || path == mp
            || path
                .strip_prefix(mp.as_str())
                .is_some_and(|rest| rest.starts_with('/'));
        if !above
            || best
                .as_ref()
                .is_some_and(|b| b.mount_point.len() > mp.len())
        {
            continue;
        }
        let optional = fields.iter().skip(6).take_while(|f| **f != "-");
        let (mut shared, mut slave) = (false, false);
        for o in optional {
            shared |= o.starts_with("shared:");
            slave |= o.starts_with("master:");
        }
        best = Some(SourceMount {
            mount_point: mp,
            shared,
            slave,
        });
    }
    best
}

/// mountinfo's `\040`-style escapes (space, tab, newline, backslash) decoded.
fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mount_flags(o: &str) -> (nix::mount::MsFlags, String) {
    use nix::mount::MsFlags;
    let mut flags = MsFlags::empty();
    let mut data = Vec::new();
    for opt in o.split(',').filter(|s| !s.is_empty()) {
        match opt {
            "bind" => flags |= MsFlags::MS_BIND,
            "rbind" => flags |= MsFlags::MS_BIND | MsFlags::MS_REC,
            "ro" => flags |= MsFlags::MS_RDONLY,
            "rw" => {}
            "nosuid" => flags |= MsFlags::MS_NOSUID,
            "nodev" => flags |= MsFlags::MS_NODEV,
            "noexec" => flags |= MsFlags::MS_NOEXEC,
            "noatime" => flags |= MsFlags::MS_NOATIME,
            other => data.push(other),
        }
    }
    (flags, data.join(","))
}

/// Whether `path` is itself a mount point (its device differs from its parent's, or it
/// appears in mountinfo: a bind of the same filesystem keeps the device).
fn is_mountpoint(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = path.to_string_lossy();
    info.lines().any(|l| l.split(' ').nth(4) == Some(&*want))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
45 27 254:0 /run/netns /run/netns rw,relatime shared:1 - ext4 /dev/vda rw
50 27 0:40 / /tmp/t rw shared:7 - tmpfs tmpfs rw
51 50 0:41 / /tmp/t/s rw master:7 - tmpfs tmpfs rw
52 27 0:42 / /tmp/with\\040space rw shared:9 master:3 - tmpfs tmpfs rw";

    #[test]
    fn source_mount_is_the_deepest_parent_with_its_propagation() {
        let m = |p: &str| source_mount_in(INFO, p).unwrap();
        assert_eq!(
            m("/tmp/x"),
            SourceMount {
                mount_point: "/".into(),
                shared: false,
                slave: false
            }
        );
        // A sibling with a common prefix is not a parent.
        assert_eq!(m("/tmp/tt").mount_point, "/");
        assert_eq!(m("/tmp/t").mount_point, "/tmp/t");
        assert!(m("/tmp/t/a/b").shared);
        let s = m("/tmp/t/s/x");
        assert_eq!(
            (s.mount_point.as_str(), s.shared, s.slave),
            ("/tmp/t/s", false, true)
        );
        let sp = m("/tmp/with space/d");
        assert_eq!(sp.mount_point, "/tmp/with space");
        assert!(sp.shared && sp.slave);
        assert!(source_mount_in("", "/x").is_none());
    }
}
