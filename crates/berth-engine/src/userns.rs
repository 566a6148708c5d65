//! Daemon `userns-remap`: which containers get a user namespace, moby's checks of the
//! options that cannot go with one, and the ownership of what the daemon makes for a
//! remapped container (its upper dir, /etc files, volumes) by the remapped root.
//!
//! The maps (`berth_api::idmap::IdMappings`, `EngineConfig::id_map`) reach: the image store
//! (layers unpacked with owners shifted into the range, an id outside it refused with
//! moby's message; commits shifted back by `TarWriter::with_id_map`, an unmappable entry
//! left out and logged with moby's "Can't add file PATH to tar: host ID N cannot be mapped
//! to a container ID"), `cp` (in: shifted, an unmappable owner refused; out and export:
//! shifted back), the builder (COPY/ADD owners, `--chown`, ADD's archives, a new RUN cache
//! mount's owner) and the spec (`SpecInput::userns`). Only `--userns=host` is accepted,
//! which opts a container out; without it `--privileged`, `--network host` and `--pid host`
//! are refused with moby's wording.
//!
//! The network namespace of a remapped container is made inside its user namespace, as moby
//! has runc do (berth-net `NetnsOwner`: a new user namespace with the maps, pinned at
//! `containers/<id>/netns.user`, or the donor's for a `container:X` joiner;
//! `container/start.rs` `netns_owner`), so its root holds NET_RAW/NET_ADMIN and sysfs over
//! its own network with every runtime. `--network/--ipc/--pid container:X` between remapped
//! containers join X's user namespace too (moby's WithNamespaces;
//! `container/namespaces.rs`), unless X has `--userns=host`. The cgroup mount is not
//! read-only on a remapping daemon (moby's WithMounts clears `ro` whenever the daemon has
//! id maps).

use crate::config::EngineConfig;
use crate::error::{EngineError, Result};
use berth_api::idmap::IdMappings;
use berth_api::models::HostConfig;
use std::path::Path;

/// The maps a container runs with: the daemon's, unless it opted out with `--userns=host`.
pub fn for_container(cfg: &EngineConfig, hc: &HostConfig) -> Option<IdMappings> {
    cfg.id_map.clone().filter(|_| hc.userns_mode != "host")
}

/// `--userns` takes "host" or nothing (the CLI's "--userns: invalid USER mode"); with
/// remapping on, moby's verifyPlatformContainerSettings refusals.
pub fn check(cfg: &EngineConfig, hc: &HostConfig) -> Result<()> {
    match hc.userns_mode.as_str() {
        "" | "host" => {}
        m => {
            return Err(EngineError::InvalidParameter(format!(
                "invalid USER mode: {m}"
            )))
        }
    }
    if cfg.id_map.is_none() || hc.userns_mode == "host" {
        return Ok(());
    }
    if hc.privileged {
        return Err(EngineError::InvalidParameter(
            "privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode".into(),
        ));
    }
    if hc.network_mode == "host" {
        return Err(EngineError::InvalidParameter(
            "cannot share the host's network namespace when user namespaces are enabled".into(),
        ));
    }
    if hc.pid_mode == "host" {
        return Err(EngineError::InvalidParameter(
            "cannot share the host PID namespace when user namespaces are enabled".into(),
        ));
    }
    Ok(())
}

/// Gives `path` (not following it) to the host ids `owner`.
pub fn chown(path: &Path, owner: (u32, u32)) -> std::io::Result<()> {
    std::os::unix::fs::lchown(path, Some(owner.0), Some(owner.1))
}

/// Gives every entry of a small tree (the init layer) to `owner`; symlinks themselves.
pub fn chown_tree(root: &Path, owner: (u32, u32)) -> std::io::Result<()> {
    chown(root, owner)?;
    let md = std::fs::symlink_metadata(root)?;
    if md.is_dir() {
        for e in std::fs::read_dir(root)? {
            chown_tree(&e?.path(), owner)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_api::idmap::IdMap;

    fn cfg(remap: bool) -> EngineConfig {
        let mut c = crate::tests::config(Path::new("/nonexistent"));
        if remap {
            let m = vec![IdMap {
                container_id: 0,
                host_id: 100000,
                size: 65536,
            }];
            c.id_map = Some(IdMappings {
                uids: m.clone(),
                gids: m,
            });
        }
        c
    }

    #[test]
    fn modes_and_remap_refusals_are_mobys() {
        let mut hc = HostConfig::default();
        assert!(check(&cfg(true), &hc).is_ok());
        assert!(for_container(&cfg(true), &hc).is_some());
        assert!(for_container(&cfg(false), &hc).is_none());
        hc.userns_mode = "foo".into();
        let e = check(&cfg(false), &hc).unwrap_err().to_string();
        assert!(e.contains("invalid USER mode: foo"), "{e}");
        hc.userns_mode = String::new();
        hc.privileged = true;
        assert!(check(&cfg(false), &hc).is_ok());
        let e = check(&cfg(true), &hc).unwrap_err().to_string();
        assert!(
            e.starts_with("privileged mode is incompatible with user namespaces."),
            "{e}"
        );
        hc.userns_mode = "host".into();
        assert!(check(&cfg(true), &hc).is_ok());
        assert!(for_container(&cfg(true), &hc).is_none());
        let mut hc = HostConfig {
            network_mode: "host".into(),
            ..Default::default()
        };
        let e = check(&cfg(true), &hc).unwrap_err().to_string();
        assert!(
            e.contains("cannot share the host's network namespace"),
            "{e}"
        );
        hc.network_mode = String::new();
        hc.pid_mode = "host".into();
        let e = check(&cfg(true), &hc).unwrap_err().to_string();
        assert!(e.contains("cannot share the host PID namespace"), "{e}");
    }
}
