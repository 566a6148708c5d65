//! `rm` (with `-f`, `-v`) and `container prune`: a running container killed first, its
//! directory and rootfs removed, its name freed, its anonymous volumes removed with `-v`
//! or `--rm`.

use super::{filters, write_record, Status};
use crate::engine::{dir_size, Engine};
use crate::error::{EngineError, Result};
use std::time::Duration;
use tracing::info;

impl Engine {
    pub async fn remove(&self, name_or_id: &str, force: bool) -> Result<()> {
        self.remove_with(name_or_id, force, false).await
    }

    /// `rm [-f] [-v]`: with `volumes` (or for a `--rm` container) its anonymous volumes go too.
    pub async fn remove_with(&self, name_or_id: &str, force: bool, volumes: bool) -> Result<()> {
        let c = self.get(name_or_id)?;
        let running = {
            let rec = c.record.lock().await;
            if rec.state.status == Status::Removing {
                return Err(EngineError::Conflict(format!(
                    "removal of container {} is already in progress",
                    rec.id
                )));
            }
            if rec.state.status == Status::Restarting && !force {
                return Err(EngineError::Conflict(format!(
                    "cannot remove container \"/{}\": container is restarting: stop the container before removing or force remove",
                    rec.name
                )));
            }
            rec.state.status.is_running()
        };
        let running = running && !self.cancel_restart(&c).await;
        if running {
            if !force {
                let (name, state) = {
                    let r = c.record.lock().await;
                    let state = if r.state.status == Status::Paused {
                        "paused"
                    } else {
                        "running"
                    };
                    (r.name.clone(), state)
                };
                return Err(EngineError::Conflict(format!(
                    "cannot remove container \"/{name}\": container is {state}: stop the container before removing or force remove"
                )));
            }
            let mut rx = c.progress.subscribe();
            let before = rx.borrow_and_update().exits;
            let dir = self.dir(&c.id);
            let _ = self.signal(&c, &dir, libc::SIGKILL).await;
            let _ =
                tokio::time::timeout(Duration::from_secs(30), rx.wait_for(|p| p.exits > before))
                    .await;
        }
        let dir = self.dir(&c.id);
        {
            let mut rec = c.record.lock().await;
            if rec.state.status == Status::Removing {
                return Ok(());
            }
            rec.state.status = Status::Removing;
        }
        self.fail_pending(&c, "container removed");
        self.drop_execs(&c.id);
        let (d, mounter, runtime) = (dir.clone(), self.mounter.clone(), self.runtime.clone());
        let removed = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let _ = mounter.unmount_rootfs(&d);
            // A shim that died without cleaning up leaves its socket behind.
            runtime.forget(&d);
            match std::fs::remove_dir_all(&d) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        })
        .await
        .map_err(|e| EngineError::internal("remove task", e))?;
        if let Err(e) = removed {
            let mut rec = c.record.lock().await;
            rec.state.status = Status::Dead;
            let _ = write_record(&dir, &rec);
            return Err(EngineError::internal(
                &format!("unable to remove filesystem for {}", c.id),
                e,
            ));
        }
        let gone = c.snapshot().await;
        self.forget(&c).await;
        if volumes || gone.host_config.auto_remove {
            self.remove_anonymous_volumes(&gone).await;
        }
        self.events.container(&gone, "destroy", &[]);
        c.progress.send_modify(|p| p.removed = true);
        info!(id = %c.id, "container removed");
        Ok(())
    }
    /// Removes every stopped container matching the filters; returns ids and bytes freed.
    pub async fn prune(&self, filters: &filters::Filters) -> Result<(Vec<String>, u64)> {
        let mut deleted = Vec::new();
        let mut reclaimed = 0;
        for c in self.all() {
            let rec = c.snapshot().await;
            if rec.state.status.is_running() || !filters::matches_prune(&rec, filters)? {
                continue;
            }
            let size = dir_size(self.container_upper_dir(&rec.id)).await;
            if self.remove(&rec.id, false).await.is_ok() {
                deleted.push(rec.id);
                reclaimed += size;
            }
        }
        Ok((deleted, reclaimed))
    }
}
