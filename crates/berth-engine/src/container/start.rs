//! `start`: the rootfs mounted, /etc files written, the network attached, the mounts
//! prepared, the bundle written, the shim spawned and told to start; on failure what was
//! set up is undone. `launch` is shared with restarts by the restart policy.

use super::{links, save_record, write_record, Container, PendingAttach};
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::etc_files;
use crate::model::{ContainerRecord, State, Status};
use crate::runtime;
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
                rec.state.exit_code = start_error_exit_code(&msg);
                self.networks.detach(&c.id, &dir, &mut rec.endpoints).await;
                let _ = berth_image::snapshot::unmount_rootfs(&dir);
                let _ = write_record(&dir, &rec);
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
        if !crate::network::is_builtin_mode(&rec.host_config.network_mode) {
            self.networks.find(&rec.host_config.network_mode)?;
        }
        let image = self.images.get(&rec.image_id).await?;
        let mut layers = self.images.layer_dirs(&image).await?;
        layers.push(self.init_layer.clone());
        let rootfs = {
            let dir = dir.to_path_buf();
            tokio::task::spawn_blocking(move || berth_image::snapshot::mount_rootfs(&layers, &dir))
                .await
                .map_err(|e| EngineError::internal("mount task", e))?
                .map_err(|e| EngineError::internal("cannot mount container rootfs", e))?
        };
        let host_network = rec.host_config.network_mode == "host";
        etc_files::write(
            dir,
            &rec.config.hostname,
            host_network,
            rec.host_config.extra_hosts.as_deref().unwrap_or_default(),
            &rec.host_config.dns,
            &rec.host_config.dns_search,
            &rec.host_config.dns_options,
        )?;
        let netns = match self.shared_netns(rec, dir).await? {
            Some(ns) => Some(ns),
            None => self.networks.attach(rec, dir).await?,
        };
        let link_env = self.setup_links(rec, dir).await?;
        let bridge_gw = self.networks.default_bridge().map(|b| b.gateway);
        etc_files::hosts_entries(dir, rec, &self.cfg.network, bridge_gw.as_deref())?;
        // Docker creates a missing working directory, whatever the runtime.
        if !rec.config.working_dir.is_empty() {
            let cwd = berth_runtime::rootpath::resolve_in_root(
                &rootfs,
                Path::new(&rec.config.working_dir),
            )
            .map_err(|e| EngineError::internal("resolve working dir", e))?;
            std::fs::create_dir_all(&cwd).map_err(|e| {
                EngineError::internal(&format!("create working dir {}", rec.config.working_dir), e)
            })?;
        }
        let mounts = self.prepare_mounts(rec, &rootfs).await?;
        // Restarts come here without `start`: keep the migration lock warm for the shim.
        runtime::prime_cgroup_migration();
        let t0 = std::time::Instant::now();
        if link_env.is_empty() {
            runtime::write_bundle(rec, dir, &rootfs, mounts, netns.as_deref())?;
        } else {
            links::save_env(dir, &link_env)?;
            let r = links::with_vars(rec, link_env);
            runtime::write_bundle(&r, dir, &rootfs, mounts, netns.as_deref())?;
        }
        let t_bundle = t0.elapsed();
        let shim = runtime::spawn(&self.cfg, rec, dir).await?;
        let t_shim = t0.elapsed();
        // Early attaches get their streams before the process runs, so no output is lost.
        let pending: Vec<PendingAttach> =
            std::mem::take(&mut *c.pending.lock().unwrap_or_else(|e| e.into_inner()));
        for p in pending {
            let stream = runtime::attach(dir, p.stdin, p.stdout, p.stderr).await;
            let _ = p.tx.send(stream);
        }
        let pid = i64::from(
            shim.start()
                .await
                .map_err(|e| EngineError::InvalidParameter(e.to_string()))?,
        );
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

    pub(super) fn fail_pending(&self, c: &Container, msg: &str) {
        let pending: Vec<PendingAttach> =
            std::mem::take(&mut *c.pending.lock().unwrap_or_else(|e| e.into_inner()));
        for p in pending {
            let _ = p.tx.send(Err(EngineError::Internal(msg.to_string())));
        }
    }
}

/// The exit code the docker CLI shows for a failed start, from the error text.
fn start_error_exit_code(msg: &str) -> i64 {
    if msg.contains("executable file not found") || msg.contains("no such file or directory") {
        127
    } else if msg.contains("permission denied") {
        126
    } else {
        128
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn start_errors_map_to_cli_exit_codes() {
        assert_eq!(
            start_error_exit_code("exec: \"nope\": executable file not found in $PATH"),
            127
        );
        assert_eq!(start_error_exit_code("exec /x: permission denied"), 126);
    }
}
