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
