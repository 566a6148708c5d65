//! A container's filesystem as `docker cp` sees it: the rootfs with the container's
//! volumes and bind mounts on their mount points, for a running and a stopped container
//! alike (moby's openContainerFS). The mounts are made in a private mount namespace of one
//! dedicated thread, so nothing shows up in (or leaks into) the daemon's namespace: when
//! the thread ends, its namespace and mounts are gone. A container without such mounts
//! uses the blocking pool instead (no thread, no namespace).

use crate::error::{EngineError, Result};
use crate::model::MountPoint;
use nix::mount::MsFlags;
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

/// Runs `f` on a filesystem where `rootfs` shows `mounts`; the answer comes on the
/// returned channel.
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
    if mounts.is_empty() {
        tokio::task::spawn_blocking(move || {
            let _ = tx.send(f());
        });
        return rx;
    }
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

/// Unshares this thread's mount namespace and mounts the volumes and binds on the rootfs.
fn enter(rootfs: &Path, mounts: &[ViewMount]) -> Result<()> {
    let err = |what: &str, e: nix::Error| EngineError::internal(what, e);
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
        .map_err(|e| err("cannot unshare the mount namespace", e))?;
    // Slave: the host's mounts still reach us, ours never reach the host.
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SLAVE,
        None::<&str>,
    )
    .map_err(|e| err("cannot make the mount namespace a slave", e))?;
    for m in mounts {
        let dest = berth_runtime::rootpath::resolve_in_root(rootfs, Path::new(&m.destination))
            .map_err(|e| EngineError::internal("resolving mount point", e))?;
        let is_dir = std::fs::metadata(&m.source)
            .map_err(|e| EngineError::internal(&format!("mount source {}", m.source.display()), e))?
            .is_dir();
        // As Docker, a missing mount point is created in the container's filesystem.
        if std::fs::symlink_metadata(&dest).is_err() {
            let made = if is_dir {
                std::fs::create_dir_all(&dest)
            } else {
                dest.parent()
                    .map_or(Ok(()), std::fs::create_dir_all)
                    .and_then(|()| std::fs::File::create(&dest).map(drop))
            };
            made.map_err(|e| EngineError::internal("creating mount point", e))?;
        }
        let mut flags = MsFlags::MS_BIND;
        if m.recursive {
            flags |= MsFlags::MS_REC;
        }
        nix::mount::mount(Some(&m.source), &dest, None::<&str>, flags, None::<&str>)
            .map_err(|e| err(&format!("mounting {} for copy", m.destination), e))?;
        if !m.rw {
            nix::mount::mount(
                None::<&str>,
                &dest,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
                None::<&str>,
            )
            .map_err(|e| err(&format!("read-only {} for copy", m.destination), e))?;
        }
        nix::mount::mount(
            None::<&str>,
            &dest,
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .map_err(|e| err("making a copy mount private", e))?;
    }
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
