//! Daemon start: every stored record is loaded; containers whose shim still runs get a new
//! monitor and their network state back, the others are marked exited (their network and
//! rootfs released, `--rm` ones removed), and restart policies get their turn.
//!
//! Releasing a dead container's run (unmounts, its network namespace) costs tens of
//! milliseconds each, so it happens in the background, all at once, each holding its
//! container's record lock from before the API is served: a request on such a container
//! waits for its teardown, every other request is answered at once. Only `--rm` ones are
//! waited for (concurrently), as moby's restore waits for their removal.

use super::{links, mark_exited, save_record, Container};
use crate::engine::Engine;
use crate::error::Result;
use crate::model::{ContainerRecord, Status};
use crate::network::attach::Attachment;
use std::sync::Arc;
use tracing::{info, warn};

impl Engine {
    /// Loads every record; live shims get a new monitor, dead ones leave their exit status.
    pub(crate) async fn restore(self: &Arc<Self>) -> Result<()> {
        let mut entries = tokio::fs::read_dir(self.containers_dir()).await?;
        let mut records = Vec::new();
        while let Some(entry) = entries.next_entry().await? {
            let path = entry.path().join("config.json");
            let data = match tokio::fs::read(&path).await {
                Ok(d) => d,
                Err(_) => continue,
            };
            match serde_json::from_slice::<ContainerRecord>(&data) {
                Ok(r) => records.push(r),
                Err(e) => {
                    warn!(path = %path.display(), error = %e, "skipping unreadable container record");
                }
            }
        }
        // Asking every shim at once: one round trip each, and with hundreds of containers
        // a sequential walk would keep the API down for seconds.
        let mut probes = tokio::task::JoinSet::new();
        for (i, rec) in records.iter().enumerate() {
            if rec.state.status.is_running() {
                let runtime = self.runtime.clone();
                let dir = self.dir(&rec.id);
                probes.spawn(async move { (i, runtime.alive(&dir).await) });
            }
        }
        let mut alive = vec![false; records.len()];
        while let Some(probe) = probes.join_next().await {
            if let Ok((i, live)) = probe {
                alive[i] = live;
            }
        }
        let mut not_running = Vec::new();
        let mut teardowns = Vec::new();
        for (mut rec, live) in records.into_iter().zip(alive) {
            let was_running = rec.state.status.is_running();
            let dir = self.dir(&rec.id);
            if was_running && !live {
                // No exit record: the shim died with the container (a reboot, a kill).
                let (code, oom) = self
                    .runtime
                    .read_exit(&dir)
                    .map_or((255, false), |st| (i64::from(st.exit_code), st.oom_killed));
                mark_exited(&mut rec, code, oom);
            }
            if rec.state.status == Status::Removing {
                rec.state.status = Status::Dead;
            }
            if live {
                self.networks
                    .restore(&Attachment::of(&rec), &rec.endpoints, &dir);
                links::restore_aliases(self, &rec);
            }
            let c = Container::new(rec.clone());
            {
                let mut idx = self.write_index();
                idx.names.insert(rec.name.clone(), rec.id.clone());
                idx.by_id.insert(rec.id.clone(), c.clone());
            }
            if !live {
                not_running.push(rec.id.clone());
            }
            if live {
                info!(id = %rec.id, "reconnected to running container");
                self.clone().monitor(c);
            } else if was_running {
                teardowns.push((c, dir));
            }
        }
        self.restore_volumes().await;
        let mut removals = tokio::task::JoinSet::new();
        for (c, dir) in teardowns {
            // Locked here, before the API is up; released when the run is torn down.
            let mut rec = c.record.clone().lock_owned().await;
            let engine = self.clone();
            let auto_remove = rec.host_config.auto_remove;
            let task = async move {
                engine.teardown(&mut rec, &dir).await;
                if let Err(e) = save_record(&dir, &rec).await {
                    warn!(id = %rec.id, error = %e, "cannot store the exit status");
                }
                let id = rec.id.clone();
                drop(rec);
                // `--rm` containers that ended while the daemon was away go now, as Docker's.
                if auto_remove {
                    if let Err(e) = engine.remove(&id, true).await {
                        warn!(id = %id, error = %e, "auto-remove after restart failed");
                    }
                }
            };
            // `--rm` ones are gone before the API is up, as moby's restore waits for their
            // removal: `ps` must not list them. All at once, like the others.
            if auto_remove {
                removals.spawn(task);
            } else {
                tokio::spawn(task);
            }
        }
        while removals.join_next().await.is_some() {}
        // Restart policies apply to containers whose processes are gone (a reboot, a crash
        // that took the shims): in the background, so the API is up meanwhile.
        let engine = self.clone();
        tokio::spawn(async move { engine.restart_after_daemon_start(not_running).await });
        Ok(())
    }
}
