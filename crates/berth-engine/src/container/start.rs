//! `start`: the rootfs mounted, /etc files written, the network attached, the mounts
//! prepared, the bundle written, the shim spawned and told to start; on failure what was
//! set up is undone. `launch` is shared with restarts by the restart policy.

use super::{links, save_record, Container, PendingAttach};
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::etc_files::{self, EtcFiles, HostFiles, Sources};
use crate::model::{ContainerRecord, State, Status};
use crate::network::attach::Attachment;
use crate::network::is_builtin_mode;
use crate::runtime;
use berth_net::netns::{self, NetnsOwner};
use chrono::Utc;
use std::path::Path;
use std::sync::Arc;
use tracing::{debug, info};

impl Engine {
    pub async fn start(self: &Arc<Self>, name_or_id: &str) -> Result<()> {
        let c = self.get(name_or_id)?;
        runtime::prime_cgroup_migration();
        let mut rec = c.record.lock().await;
        match rec.state.status {
            Status::Running | Status::Restarting => {
                return Err(EngineError::NotModified("container already started".into()))
            }
            Status::Paused => {
                return Err(EngineError::Conflict(
                    "cannot start a paused container, try unpause instead".to_string(),
                ))
            }
            Status::Removing | Status::Dead => {
                return Err(EngineError::Conflict(format!(
                    "container {} is marked for removal and cannot be started",
                    rec.id
                )))
            }
            Status::Created | Status::Exited => {}
        }
        // A manual start begins the policy's count and back-off afresh, as moby's.
        rec.restart_count = 0;
        *c.restart_delay.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let dir = self.dir(&rec.id);
        match self.launch(&c, &mut rec, &dir).await {
            Ok(()) => {
                self.start_health_checks(&c, &mut rec);
                save_record(&dir, &rec).await?;
                self.events.container(&rec, "start", &[]);
                drop(rec);
                self.clone().monitor(c);
                Ok(())
            }
            Err(e) => {
                let msg = e.to_string();
                rec.state.error = msg.clone();
                rec.state.exit_code = e.start_exit_code();
                self.teardown(&mut rec, &dir).await;
                let _ = save_record(&dir, &rec).await;
                let auto_remove = rec.host_config.auto_remove;
                drop(rec);
                self.fail_pending(&c, &msg);
                if auto_remove {
                    let _ = self.remove(&c.id, true).await;
                }
                Err(e)
            }
        }
    }

    /// Mounts the rootfs, writes the bundle, spawns the shim, connects early attaches, starts.
    pub(super) async fn launch(
        &self,
        c: &Arc<Container>,
        rec: &mut ContainerRecord,
        dir: &Path,
    ) -> Result<()> {
        // Docker accepts an unknown network at create and refuses it at start (a 404 at
        // create would make the docker CLI try to pull the image).
        if !is_builtin_mode(&rec.host_config.network_mode) {
            self.networks.find(&rec.host_config.network_mode)?;
        }
        // The donors of `--pid`/`--ipc container:X` are checked before anything is set up.
        let mut namespaces = self.run_namespaces(rec, dir).await?;
        let image = self.images.get(&rec.image_id).await?;
        let mut layers = self.images.layer_dirs(&image).await?;
        layers.push(self.init_layer.clone());
        let remapped_root = self.cfg.id_map.as_ref().map(|m| m.root_pair());
        if let Some(owner) = remapped_root {
            // The rootfs's / is the upper dir's: the remapped root's, before the mount.
            let upper = berth_image::snapshot::upper_dir(dir);
            std::fs::create_dir_all(&upper)?;
            crate::userns::chown(&upper, owner)?;
        }
        let rootfs = {
            let (mounter, dir) = (self.mounter.clone(), dir.to_path_buf());
            tokio::task::spawn_blocking(move || mounter.mount_rootfs(&layers, &dir))
                .await
                .map_err(|e| EngineError::internal("mount task", e))?
                .map_err(|e| EngineError::internal("cannot mount container rootfs", e))?
        };
        let (netns, shared) = match self.shared_netns(rec).await? {
            Some((ns, files)) => (Some(ns), Some(files)),
            None => {
                let owner = netns_owner(&self.cfg, rec, &namespaces);
                let attached = {
                    let mut a = Attachment::of(rec);
                    a.netns_owner = &owner;
                    self.networks.attach(&a, &rec.endpoints, dir).await?
                };
                // The container joins the user namespace made with its network namespace.
                if let (NetnsOwner::NewUser { .. }, Some(ns)) = (&owner, &attached.netns) {
                    namespaces.user = Some(netns::user_pin(ns));
                }
                rec.endpoints = attached.endpoints;
                self.endpoint_events("connect", rec);
                (attached.netns, None)
            }
        };
        namespaces.net = netns;
        let links = self.setup_links(rec).await?;
        self.etc_files(rec, shared, &links.hosts).write(dir)?;
        if let Some(owner) = remapped_root {
            for f in ["hostname", "hosts", "resolv.conf"] {
                crate::userns::chown(&dir.join(f), owner)?;
            }
        }
        // Docker creates a missing working directory, whatever the runtime.
        // Made inside the rootfs through descriptors: a symlink on the way (left by an
        // earlier run of the container) leads to a place in the container, not the host.
        if !rec.config.working_dir.is_empty() {
            berth_inroot::Root::at(&rootfs)
                .and_then(|r| {
                    // moby makes it as the remapped root where there is one.
                    r.mkdir_all(&rec.config.working_dir, 0o755, &mut |fd| {
                        if let Some((u, g)) = remapped_root {
                            rustix::fs::fchown(
                                fd,
                                Some(rustix::fs::Uid::from_raw(u)),
                                Some(rustix::fs::Gid::from_raw(g)),
                            )?;
                        }
                        Ok(())
                    })
                })
                .map_err(|e| {
                    EngineError::internal(
                        &format!("create working dir {}", rec.config.working_dir),
                        e,
                    )
                })?;
        }
        let mounts = self.prepare_mounts(rec, &rootfs, dir).await?;
        // Restarts come here without `start`: keep the migration lock warm for the shim.
        runtime::prime_cgroup_migration();
        let t0 = std::time::Instant::now();
        if links.vars.is_empty() {
            runtime::write_bundle(
                &self.cfg,
                rec,
                dir,
                &rootfs,
                mounts,
                &namespaces,
                self.security(),
            )?;
        } else {
            links::save_env(dir, &links.vars)?;
            let r = links::with_vars(rec, links.vars);
            runtime::write_bundle(
                &self.cfg,
                &r,
                dir,
                &rootfs,
                mounts,
                &namespaces,
                self.security(),
            )?;
        }
        let t_bundle = t0.elapsed();
        let spawned = match runtime::spawn_options(&self.cfg, rec, dir) {
            Ok(spawn) => self.runtime.spawn(spawn).await.map_err(EngineError::Start),
            Err(e) => Err(e),
        };
        // The runtime has made its mounts (or failed): the subpath pins have served.
        super::mounts::release_subpaths(dir);
        spawned?;
        let t_shim = t0.elapsed();
        // Early attaches get their streams before the process runs, so no output is lost.
        let pending: Vec<PendingAttach> =
            std::mem::take(&mut *c.pending.lock().unwrap_or_else(|e| e.into_inner()));
        for p in pending {
            let stream = self
                .runtime
                .attach(dir, p.stdin, p.stdout, p.stderr)
                .await
                .map_err(runtime::rt_err);
            let _ = p.tx.send(stream);
        }
        let pid = i64::from(self.runtime.start(dir).await.map_err(EngineError::Start)?);
        debug!(
            bundle_ms = t_bundle.as_secs_f64() * 1e3,
            shim_ready_ms = t_shim.as_secs_f64() * 1e3,
            started_ms = t0.elapsed().as_secs_f64() * 1e3,
            "launch timings"
        );
        rec.state = State {
            status: Status::Running,
            pid,
            exit_code: 0,
            error: String::new(),
            oom_killed: false,
            started_at: Some(Utc::now()),
            finished_at: rec.state.finished_at,
            stopped_by_user: false,
            health: None,
        };
        info!(id = %rec.id, pid, "container started");
        Ok(())
    }

    /// The container's /etc files for this run, from all their sources (`etc_files`).
    fn etc_files(
        &self,
        rec: &ContainerRecord,
        shared: Option<(Option<String>, Option<String>)>,
        links: &str,
    ) -> EtcFiles {
        let hc = &rec.host_config;
        let host_network = hc.network_mode == "host";
        let bridge_gw = self.networks.default_bridge().map(|b| b.gateway);
        EtcFiles::compose(&Sources {
            hostname: &rec.config.hostname,
            host_network,
            extra_hosts: hc.extra_hosts.as_deref().unwrap_or_default(),
            dns: &hc.dns,
            dns_search: &hc.dns_search,
            dns_options: &hc.dns_options,
            host: HostFiles::read(host_network),
            shared,
            embedded_resolver: self.networks.serving_resolver(&rec.id),
            links,
            own_addresses: etc_files::own_addresses(
                is_builtin_mode(&hc.network_mode),
                &rec.endpoints,
            ),
            host_gateway: etc_files::host_gateway(
                &self.cfg.network,
                &rec.endpoints,
                bridge_gw.as_deref(),
            ),
        })
    }

    pub(super) fn fail_pending(&self, c: &Container, msg: &str) {
        let pending: Vec<PendingAttach> =
            std::mem::take(&mut *c.pending.lock().unwrap_or_else(|e| e.into_inner()));
        for p in pending {
            let _ = p.tx.send(Err(EngineError::Internal(msg.to_string())));
        }
    }
}

/// The user namespace that owns the network namespace the daemon makes for this run, as
/// moby's runc makes it inside the container's user namespace: the donor's for a
/// `container:X` joiner, else a new one with the maps, which the container then joins.
/// The container's root then holds its capabilities over its own network (NET_RAW for
/// `ping`, NET_ADMIN when added), and sysfs can be mounted over it, showing its own
/// interfaces (runc 1.1 fails the start otherwise; berth's init used to bind the host's
/// /sys, listing the host's interfaces). berth's init joins that user namespace once its
/// rootfs is set up, as it joins a donor's.
fn netns_owner(
    cfg: &crate::config::EngineConfig,
    rec: &ContainerRecord,
    namespaces: &crate::container::namespaces::RunNamespaces,
) -> NetnsOwner {
    let Some(ids) = crate::userns::for_container(cfg, &rec.host_config) else {
        return NetnsOwner::Host;
    };
    match &namespaces.user {
        Some(donor) => NetnsOwner::User(donor.clone()),
        None => NetnsOwner::NewUser {
            uid_map: map_text(&ids.uids),
            gid_map: map_text(&ids.gids),
        },
    }
}

/// Maps as /proc/PID/uid_map takes them: one "inside outside count" line each.
fn map_text(maps: &[berth_api::idmap::IdMap]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size))
        .collect()
}
