//! The PID and IPC namespaces of a run and its /dev/shm, from `--pid` and `--ipc` as moby
//! resolves them: `private` (the default, shown as such), `shareable` (a host tmpfs under
//! the container's directory that `--ipc container:X` containers bind as their /dev/shm),
//! `none` (no /dev/shm), `host`, and `container:X` (X running; for IPC X shareable or
//! host, moby's "non-shareable IPC" otherwise).

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::model::{ContainerRecord, Status};
use berth_image::mounter::VolumeFs;
use berth_runtime::spec::{Namespace, Shm};
use std::path::{Path, PathBuf};
use tracing::debug;

/// Docker's default /dev/shm size (64 MiB), also what inspect shows for an unset size.
pub const DEFAULT_SHM_SIZE: i64 = 64 * 1024 * 1024;

/// What a run of the container gets for `--pid` and `--ipc`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunNamespaces {
    /// The network namespace to join (filled once the networks are attached); none: the
    /// host's for `--network host`, else a new one.
    pub net: Option<PathBuf>,
    pub pid: Namespace,
    pub ipc: Namespace,
    pub shm: Shm,
    /// With userns-remap: the user namespace of the remapped `container:X` whose network,
    /// IPC or PID namespace this run shares (moby's WithNamespaces: PID's donor over IPC's
    /// over the network's), which it joins instead of making its own.
    pub user: Option<PathBuf>,
}

/// The host directory a shareable container's /dev/shm tmpfs is mounted on (moby's
/// `ShmPath`, `containers/ID/mounts/shm`).
pub fn shm_dir(container_dir: &Path) -> PathBuf {
    container_dir.join("mounts").join("shm")
}

/// Checks `--ipc` and `--pid` at create with moby's messages, and fills in the defaults
/// moby records (`IpcMode` "private", `ShmSize` 64 MiB).
pub fn check_modes(hc: &mut berth_api::models::HostConfig) -> Result<()> {
    match hc.ipc_mode.as_str() {
        "" => hc.ipc_mode = "private".into(),
        "private" | "shareable" | "none" | "host" => {}
        m if m.strip_prefix("container:").is_some_and(|c| !c.is_empty()) => {}
        m => {
            return Err(EngineError::InvalidParameter(format!(
                "invalid IPC mode: {m}"
            )))
        }
    }
    match hc.pid_mode.as_str() {
        "" | "host" => {}
        m if m.strip_prefix("container:").is_some_and(|c| !c.is_empty()) => {}
        m => {
            return Err(EngineError::InvalidParameter(format!(
                "invalid PID mode: {m}"
            )))
        }
    }
    if hc.shm_size < 0 {
        return Err(EngineError::InvalidParameter(
            "SHM size can not be less than 0".into(),
        ));
    }
    if hc.shm_size == 0 {
        hc.shm_size = DEFAULT_SHM_SIZE;
    }
    Ok(())
}

impl Engine {
    /// The namespaces and /dev/shm of this run; for `shareable`, mounts its tmpfs.
    pub(super) async fn run_namespaces(
        &self,
        rec: &ContainerRecord,
        dir: &Path,
    ) -> Result<RunNamespaces> {
        let hc = &rec.host_config;
        let remapped = crate::userns::for_container(&self.cfg, hc).is_some();
        let (mut net_user, mut pid_user, mut ipc_user) = (None, None, None);
        // The user namespace of a donor that has one of its own (a `--userns=host` donor's
        // is the host's: joining it would undo the remapping, so the run keeps its own).
        let donor_user = |d: &ContainerRecord| {
            (remapped && crate::userns::for_container(&self.cfg, &d.host_config).is_some())
                .then(|| PathBuf::from(format!("/proc/{}/ns/user", d.state.pid)))
        };
        if let Some(other) = hc.network_mode.strip_prefix("container:") {
            // Checked (running, not itself) when its network namespace is joined.
            if let Ok(c) = self.get(other) {
                let d = c.snapshot().await;
                if d.state.pid > 0 && d.id != rec.id {
                    net_user = donor_user(&d);
                }
            }
        }
        let pid = match hc.pid_mode.as_str() {
            "host" => Namespace::Host,
            m => match m.strip_prefix("container:") {
                Some(other) => {
                    let donor = self
                        .running_donor(rec, other)
                        .await
                        .map_err(|e| e.prefixed("failed to join PID namespace"))?;
                    pid_user = donor_user(&donor);
                    Namespace::Path(format!("/proc/{}/ns/pid", donor.state.pid).into())
                }
                None => Namespace::New,
            },
        };
        let (ipc, shm) = match hc.ipc_mode.as_str() {
            "host" => (Namespace::Host, Shm::Bind("/dev/shm".into())),
            "none" => (Namespace::New, Shm::None),
            "shareable" => {
                let target = shm_dir(dir);
                std::fs::create_dir_all(&target)?;
                let size = if hc.shm_size > 0 {
                    hc.shm_size
                } else {
                    DEFAULT_SHM_SIZE
                };
                let fs = VolumeFs {
                    fs_type: "tmpfs".into(),
                    device: "shm".into(),
                    options: format!("nosuid,nodev,noexec,mode=1777,size={size}"),
                };
                if !self.mounter.is_mount_point(&target) {
                    self.mounter
                        .mount_volume(&fs, &target)
                        .map_err(|e| EngineError::Internal(format!("mounting shm tmpfs: {e}")))?;
                }
                (Namespace::New, Shm::Bind(target))
            }
            m => match m.strip_prefix("container:") {
                Some(other) => {
                    // moby 28's setupIPCDirs wording.
                    let prefix = "failed to join IPC namespace";
                    let donor = self
                        .running_donor(rec, other)
                        .await
                        .map_err(|e| e.prefixed(prefix))?;
                    let shm = self.donor_shm(&donor).await.ok_or_else(|| {
                        EngineError::InvalidParameter(format!(
                            "{prefix}: container {}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)",
                            donor.id
                        ))
                    })?;
                    let ns = format!("/proc/{}/ns/ipc", donor.state.pid).into();
                    ipc_user = donor_user(&donor);
                    (Namespace::Path(ns), Shm::Bind(shm))
                }
                None => (Namespace::New, Shm::Tmpfs),
            },
        };
        Ok(RunNamespaces {
            net: None,
            pid,
            ipc,
            shm,
            user: pid_user.or(ipc_user).or(net_user),
        })
    }

    /// The record of the running container `name` that `rec` joins (moby's
    /// getIPCContainer/getPIDContainer checks; their messages name the donor by id).
    async fn running_donor(&self, rec: &ContainerRecord, name: &str) -> Result<ContainerRecord> {
        let other = self.get(name).map_err(|e| match e {
            EngineError::NotFound(m) => EngineError::InvalidParameter(m),
            other => other,
        })?;
        if other.id == rec.id {
            return Err(EngineError::InvalidParameter(format!(
                "container {name} cannot join its own namespaces"
            )));
        }
        let o = other.snapshot().await;
        match o.state.status {
            Status::Running | Status::Paused if o.state.pid > 0 => Ok(o),
            Status::Restarting => Err(EngineError::Conflict(format!(
                "Container {} is restarting, wait until the container is running",
                o.id
            ))),
            _ => Err(EngineError::Conflict(format!(
                "container {} is not running",
                o.id
            ))),
        }
    }

    /// The host directory behind a donor's /dev/shm, when others may join it: a shareable
    /// container's tmpfs, the host's /dev/shm, or what its own donor shares.
    async fn donor_shm(&self, donor: &ContainerRecord) -> Option<PathBuf> {
        match donor.host_config.ipc_mode.as_str() {
            "shareable" => Some(shm_dir(&self.dir(&donor.id))),
            "host" => Some("/dev/shm".into()),
            m => {
                let next = m.strip_prefix("container:")?;
                // A joiner shares what its donor shares (moby copies the donor's ShmPath).
                let r = self.get(next).ok()?.snapshot().await;
                match r.host_config.ipc_mode.as_str() {
                    "shareable" => Some(shm_dir(&self.dir(&r.id))),
                    "host" => Some("/dev/shm".into()),
                    _ => None,
                }
            }
        }
    }

    /// Unmounts a shareable container's /dev/shm tmpfs once its run is over.
    pub(super) fn release_shm(&self, rec: &ContainerRecord, dir: &Path) {
        if rec.host_config.ipc_mode != "shareable" {
            return;
        }
        let target = shm_dir(dir);
        if let Err(e) = self.mounter.unmount_volume(&target) {
            debug!(id = %rec.id, error = %e, "shm tmpfs not unmounted");
        }
    }
}
