//! The data root as a shared mount (moby's `setupDaemonRootPropagation`): binds of the data
//! root (or a parent of it) get `rslave` by default and may ask for `rslave`/`rshared`
//! explicitly; either needs the source mount to be shared. When the root's mount is not
//! shared, the daemon binds the root on itself and makes it shared, and leaves a marker so
//! that a later shutdown with nothing mounted below undoes the bind.

use berth_image::mounter::{HostMounter, Mounter, SourceMount};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::path::Path;
use tracing::{info, warn};

/// The marker of a bind the daemon made (moby's `unmount-on-shutdown`).
const MARKER: &str = "unmount-on-shutdown";

/// What start-up must do to the data root's mount.
#[derive(Debug, PartialEq, Eq)]
pub enum Setup {
    /// Already shared: nothing to do.
    Shared,
    /// Its own mount point but private or slave: make it shared in place (no bind to undo).
    MakeShared,
    /// Lives on a parent mount: bind it on itself, make that shared, undo at shutdown.
    BindAndShare,
}

/// The step start-up takes, from the mount the data root lives on.
pub fn setup_for(source: &SourceMount, root: &str) -> Setup {
    if source.shared {
        Setup::Shared
    } else if source.mount_point == root {
        Setup::MakeShared
    } else {
        Setup::BindAndShare
    }
}

/// Makes `root` (an existing, canonical directory) a shared mount.
pub fn setup(root: &Path) -> Result<(), String> {
    let source = HostMounter.source_mount(root)?;
    let root_s = root.to_string_lossy();
    let err = |e: nix::Error| format!("could not setup daemon root propagation to shared: {e}");
    match setup_for(&source, &root_s) {
        Setup::Shared => return Ok(()),
        Setup::MakeShared => {}
        Setup::BindAndShare => {
            mount(
                Some(root),
                root,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(err)?;
            // Written at once: a shutdown undoes the bind even if making it shared fails.
            std::fs::write(root.join(MARKER), b"")
                .map_err(|e| format!("cannot write {}: {e}", root.join(MARKER).display()))?;
            info!(root = %root_s, "data root bound on itself as a shared mount");
        }
    }
    mount(
        None::<&str>,
        root,
        None::<&str>,
        MsFlags::MS_SHARED,
        None::<&str>,
    )
    .map_err(err)?;
    Ok(())
}

/// At shutdown: undoes the bind made at start-up, unless something is still mounted below
/// it (a running container's rootfs or network namespace: live restore keeps them).
pub fn teardown(root: &Path) {
    let marker = root.join(MARKER);
    if !marker.exists() {
        return;
    }
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    if mounted_below(&info, &root.to_string_lossy()) {
        return;
    }
    match umount2(root, MntFlags::MNT_DETACH) {
        Ok(()) => {
            let _ = std::fs::remove_file(&marker);
        }
        Err(e) => warn!(root = %root.display(), "cannot unmount the data root's bind: {e}"),
    }
}

/// Whether any mount point lies strictly below `root`.
fn mounted_below(mountinfo: &str, root: &str) -> bool {
    mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|mp| {
            mp.strip_prefix(root)
                .is_some_and(|rest| rest.len() > 1 && rest.starts_with('/'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(mp: &str, shared: bool) -> SourceMount {
        SourceMount {
            mount_point: mp.into(),
            shared,
            slave: false,
        }
    }

    #[test]
    fn the_root_is_bound_only_when_it_lives_on_a_private_parent() {
        assert_eq!(setup_for(&src("/", true), "/var/lib/berth"), Setup::Shared);
        assert_eq!(
            setup_for(&src("/", false), "/var/lib/berth"),
            Setup::BindAndShare
        );
        assert_eq!(
            setup_for(&src("/var/lib/berth", false), "/var/lib/berth"),
            Setup::MakeShared
        );
        assert_eq!(
            setup_for(&src("/var/lib/berth", true), "/var/lib/berth"),
            Setup::Shared
        );
    }

    #[test]
    fn only_mounts_strictly_below_keep_the_bind() {
        let info = "27 1 254:0 / / rw - ext4 /dev/vda rw\n\
                    60 27 254:0 /r /r rw shared:5 - ext4 /dev/vda rw\n\
                    61 27 254:0 /rr /rr rw - ext4 /dev/vda rw";
        assert!(!mounted_below(info, "/r"));
        let more = format!("{info}\n62 60 0:50 / /r/containers/x/rootfs rw - overlay o rw");
        assert!(mounted_below(&more, "/r"));
    }
}
