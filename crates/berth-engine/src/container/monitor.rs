//! Exit monitoring: a task per running container waits on its shim for the exit, records
//! it, releases the network and the rootfs, publishes `die` (and `oom`), and hands over to
//! the restart policy or `--rm`.

use super::{mark_exited, save_record, Container};
use crate::engine::Engine;
use chrono::Utc;
use std::sync::Arc;
use tracing::{debug, warn};

impl Engine {
    /// Waits on the shim for the container's exit and records it.
    pub(super) fn monitor(self: Arc<Self>, c: Arc<Container>) {
        tokio::spawn(async move {
            let dir = self.dir(&c.id);
            let exit = self.runtime.wait(&dir).await;
            let (code, oom) = match exit {
                Ok(st) => (i64::from(st.exit_code), st.oom_killed),
                // A fast container's shim may be gone before we connect: its exit record
                // says how the container ended. Without one the shim died abnormally.
                Err(e) => match self.runtime.read_exit(&dir) {
                    Some(st) => (i64::from(st.exit_code), st.oom_killed),
                    None => {
                        warn!(id = %c.id, error = %e, "shim gone without an exit record");
                        (255, false)
                    }
                },
            };
            let auto_remove = {
                let mut rec = c.record.lock().await;
                mark_exited(&mut rec, code, oom);
                c.set_exiting(Some(rec.clone()));
                // The log is complete (the shim flushes it before it reports the exit):
                // followers end now, before the teardown and `die` (see Progress::ended).
                c.progress.send_modify(|p| p.ended += 1);
                self.teardown(&mut rec, &dir).await;
                if let Err(e) = save_record(&dir, &rec).await {
                    warn!(id = %c.id, error = %e, "cannot store exit status");
                }
                debug!(id = %c.id, code, "container exited");
                if oom {
                    self.events.container(&rec, "oom", &[]);
                }
                let ran = rec
                    .state
                    .started_at
                    .map_or(0, |t| (Utc::now() - t).num_seconds());
                self.events.container(
                    &rec,
                    "die",
                    &[
                        ("exitCode", code.to_string()),
                        ("execDuration", ran.to_string()),
                    ],
                );
                if !rec.host_config.auto_remove {
                    self.schedule_restart(&c, &mut rec, code);
                }
                // A container stopped by `restart` is started again, not removed.
                rec.host_config.auto_remove
                    && !c.restarting.load(std::sync::atomic::Ordering::SeqCst)
            };
            c.set_exiting(None);
            self.release_volumes(&c).await;
            c.progress.send_modify(|p| {
                p.exits += 1;
                p.exit_code = code;
            });
            if auto_remove {
                if let Err(e) = self.remove(&c.id, true).await {
                    warn!(id = %c.id, error = %e, "auto-remove failed");
                }
            }
        });
    }
}
