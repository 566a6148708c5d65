//! A container's filesystem as `docker cp` sees it: the rootfs with the container's
//! volumes and bind mounts on their mount points, for a running and a stopped container
//! alike (moby's openContainerFS), entered the way Docker's chrooted helper does.
//!
//! Each operation runs on a dedicated thread that leaves the daemon's filesystem context
//! (`unshare(CLONE_FS)`, plus a private mount namespace when there are volumes or binds to
//! show), mounts those on their mount points, then `chroot`s into the rootfs. Every path
//! the operation uses (`/etc/passwd`, the path `cp` names, a symlink's target, `..`) is
//! then resolved by the kernel inside the container: a container swapping a directory for a
//! symlink while `cp` runs (the RENAME_EXCHANGE race of CVE-2018-15664) can only lead it to
//! another place in the container, never to the host. The mount points are found inside
//! the rootfs through descriptors (`berth_inroot`) and mounted on through `/proc/self/fd`,
//! so they cannot be redirected either. Nothing shows up in (or leaks into) the daemon's
//! namespace: when the thread ends, its root, namespace and mounts are gone.

use crate::error::{EngineError, Result};
use crate::model::MountPoint;
use berth_inroot::{Follow, Root};
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use tokio::sync::oneshot;

/// One volume or bind to show at its destination.
#[derive(Debug, Clone)]
pub struct ViewMount {
    pub source: PathBuf,
    pub destination: String,
    pub rw: bool,
    pub recursive: bool,
}

/// The volume and bind mounts of a record, parents before the mounts inside them.
pub fn view_mounts(points: &[MountPoint]) -> Vec<ViewMount> {
    let mut v: Vec<ViewMount> = points
        .iter()
        .filter(|m| matches!(m.typ.as_str(), "volume" | "bind") && !m.source.is_empty())
        .map(|m| ViewMount {
            source: PathBuf::from(&m.source),
            destination: m.destination.clone(),
            rw: m.rw,
            recursive: !m.non_recursive,
        })
        .collect();
    v.sort_by_key(|m| m.destination.split('/').filter(|s| !s.is_empty()).count());
    v
}

/// moby's checkIfPathIsInAVolume: whether the container path `abs` lies on a mount (the
/// mount point itself included); a read-only one refuses writes with Docker's message.
pub fn check_writable(points: &[MountPoint], abs: &str) -> Result<bool> {
    for m in points {
        let d = m.destination.trim_end_matches('/');
        let inside = abs == d
            || d.is_empty()
            || abs
                .strip_prefix(d)
                .is_some_and(|rest| rest.starts_with('/'));
        if inside {
            if m.rw {
                return Ok(true);
            }
            return Err(EngineError::InvalidParameter(
                "mounted volume is marked read-only".to_string(),
            ));
        }
    }
    Ok(false)
}

/// Runs `f` on a dedicated thread whose root directory is `rootfs` showing `mounts` (see
/// the module doc): `f` names container paths (`/` is the container's root). The answer
/// comes on the returned channel.
pub fn spawn_in_view<T, F>(
    rootfs: PathBuf,
    mounts: Vec<ViewMount>,
    f: F,
) -> oneshot::Receiver<Result<T>>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("berth-fsview".into())
        .spawn(move || {
            let r = enter(&rootfs, &mounts).and_then(|()| f());
            let _ = tx.send(r);
        });
    if let Err(e) = spawned {
        // The sender went with the closure: the receiver reports the failure.
        tracing::warn!(error = %e, "cannot start a filesystem view thread");
    }
    rx
}

/// Awaits a `spawn_in_view` answer.
pub async fn answer<T>(rx: oneshot::Receiver<Result<T>>) -> Result<T> {
    rx.await
        .map_err(|_| EngineError::Internal("container filesystem view ended".to_string()))?
}

fn proc_fd(fd: &OwnedFd) -> PathBuf {
    berth_inroot::tree::proc_path(fd.as_fd())
}

/// Leaves the daemon's filesystem context, mounts the volumes and binds, and chroots this
/// thread into the rootfs.
fn enter(rootfs: &Path, mounts: &[ViewMount]) -> Result<()> {
    let err = |what: &str, e: nix::Error| EngineError::internal(what, e);
    let flags = if mounts.is_empty() {
        CloneFlags::CLONE_FS
    } else {
        CloneFlags::CLONE_FS | CloneFlags::CLONE_NEWNS
    };
    nix::sched::unshare(flags).map_err(|e| err("cannot unshare the filesystem context", e))?;
    if !mounts.is_empty() {
        // Slave: the host's mounts still reach us, ours never reach the host.
        nix::mount::mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_SLAVE,
            None::<&str>,
        )
        .map_err(|e| err("cannot make the mount namespace a slave", e))?;
    }
    // Opened in this thread's namespace: mounts are made on its copy of the rootfs.
    let root = Root::at(rootfs).map_err(|e| EngineError::internal("opening the rootfs", e))?;
    for m in mounts {
        mount_in_view(&root, m)?;
    }
    nix::unistd::fchdir(root.fd().as_raw_fd()).map_err(|e| err("entering the rootfs", e))?;
    nix::unistd::chroot(".").map_err(|e| err("chroot into the rootfs", e))?;
    nix::unistd::chdir("/").map_err(|e| err("chdir / in the rootfs", e))?;
    Ok(())
}

/// Mounts one volume or bind at its destination, found (and created when missing, as
/// Docker does) inside the rootfs.
fn mount_in_view(root: &Root, m: &ViewMount) -> Result<()> {
    let err = |what: &str, e: nix::Error| EngineError::internal(what, e);
    let ioerr = |what: &str, e: std::io::Error| EngineError::internal(what, e);
    let src: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
        .open(&m.source)
        .map_err(|e| ioerr(&format!("mount source {}", m.source.display()), e))?
        .into();
    let is_dir = berth_inroot::tree::is_dir(&src)
        .map_err(|e| ioerr(&format!("mount source {}", m.source.display()), e))?;
    let dest = m.destination.as_str();
    if root.resolve(dest, Follow::All).is_err() {
        if is_dir {
            root.mkdir_all(dest, 0o755, &mut |_| Ok(()))
                .map_err(|e| ioerr("creating mount point", e))?;
        } else {
            let (dir, name) = root
                .parent(dest, Some((0o755, &mut |_| Ok(()))))
                .map_err(|e| ioerr("creating mount point", e))?;
            drop(
                rustix::fs::openat(
                    &dir,
                    &name,
                    rustix::fs::OFlags::CREATE
                        | rustix::fs::OFlags::WRONLY
                        | rustix::fs::OFlags::NOFOLLOW
                        | rustix::fs::OFlags::CLOEXEC,
                    rustix::fs::Mode::from_raw_mode(0o644),
                )
                .map_err(|e| ioerr("creating mount point", e.into()))?,
            );
        }
    }
    let point = root
        .resolve(dest, Follow::All)
        .map_err(|e| ioerr("resolving mount point", e))?;
    let mut flags = MsFlags::MS_BIND;
    if m.recursive {
        flags |= MsFlags::MS_REC;
    }
    nix::mount::mount(
        Some(&proc_fd(&src)),
        &proc_fd(&point),
        None::<&str>,
        flags,
        None::<&str>,
    )
    .map_err(|e| err(&format!("mounting {} for copy", m.destination), e))?;
    // The new mount's root, found again the same way: remount it read-only, private.
    let top = root
        .resolve(dest, Follow::All)
        .map_err(|e| ioerr("resolving mount point", e))?;
    if !m.rw {
        nix::mount::mount(
            None::<&str>,
            &proc_fd(&top),
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
            None::<&str>,
        )
        .map_err(|e| err(&format!("read-only {} for copy", m.destination), e))?;
    }
    nix::mount::mount(
        None::<&str>,
        &proc_fd(&top),
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| err("making a copy mount private", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp(dest: &str, rw: bool) -> MountPoint {
        MountPoint {
            typ: "volume".into(),
            source: "/x".into(),
            destination: dest.into(),
            rw,
            ..Default::default()
        }
    }

    #[test]
    fn writable_check_follows_moby() {
        let points = [mp("/data", true), mp("/ro", false)];
        assert!(check_writable(&points, "/data").unwrap());
        assert!(check_writable(&points, "/data/sub").unwrap());
        assert!(!check_writable(&points, "/database").unwrap());
        assert!(!check_writable(&points, "/").unwrap());
        let e = check_writable(&points, "/ro/x").unwrap_err();
        assert_eq!(e.to_string(), "mounted volume is marked read-only");
        assert_eq!(e.status(), 400);
        let v = view_mounts(&[mp("/a/b", true), mp("/a", true)]);
        assert_eq!(v[0].destination, "/a");
    }
}
