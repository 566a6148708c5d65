//! Restart policies (`--restart no|always|unless-stopped|on-failure[:N]`), as moby's
//! restart manager applies them: after the process exits or is killed, with a back-off that
//! starts at 100 ms and doubles up to a minute (reset once a run lasted 10 s), and when the
//! daemon starts and finds the container's processes gone.

use super::{write_record, Container};
use crate::engine::Engine;
use crate::model::{ContainerRecord, Status};
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};

const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(60);
/// A run at least this long resets the back-off.
const RESET_AFTER: Duration = Duration::from_secs(10);

/// Whether the policy restarts a container that just exited with `exit_code`.
pub fn should_restart(rec: &ContainerRecord, exit_code: i64) -> bool {
    if rec.state.stopped_by_user || rec.host_config.auto_remove {
        return false;
    }
    let p = &rec.host_config.restart_policy;
    match p.name.as_str() {
        "always" | "unless-stopped" => true,
        "on-failure" => {
            exit_code != 0
                && (p.maximum_retry_count <= 0 || rec.restart_count < p.maximum_retry_count)
        }
        _ => false,
    }
}

/// Whether the daemon, starting, restarts a container whose processes are gone: `always`
/// even after a manual stop, `unless-stopped` unless stopped by the user, `on-failure`
/// after a failure (within its retry count).
pub fn restart_on_daemon_start(rec: &ContainerRecord) -> bool {
    let p = &rec.host_config.restart_policy;
    match p.name.as_str() {
        "always" => true,
        "unless-stopped" => !rec.state.stopped_by_user,
        "on-failure" => {
            !rec.state.stopped_by_user
                && rec.state.exit_code != 0
                && (p.maximum_retry_count <= 0 || rec.restart_count < p.maximum_retry_count)
        }
        _ => false,
    }
}

/// moby's back-off: 100 ms, doubled on each restart, at most a minute; back to 100 ms when
/// the last run lasted at least 10 s.
pub fn next_delay(previous: Option<Duration>, ran: Duration) -> Duration {
    match previous {
        Some(d) if ran < RESET_AFTER => (d * 2).min(MAX_DELAY),
        _ => FIRST_DELAY,
    }
}

impl Engine {
    /// After an exit was recorded (status Exited): if the policy says so, marks the container
    /// restarting and schedules the restart. Returns whether it did.
    pub(super) fn schedule_restart(
        self: &Arc<Self>,
        c: &Arc<Container>,
        rec: &mut ContainerRecord,
        exit_code: i64,
    ) -> bool {
        if !should_restart(rec, exit_code) {
            return false;
        }
        let ran = match (rec.state.started_at, rec.state.finished_at) {
            (Some(s), Some(f)) => (f - s).to_std().unwrap_or_default(),
            _ => Duration::ZERO,
        };
        let delay = {
            let mut d = c.restart_delay.lock().unwrap_or_else(|e| e.into_inner());
            let next = next_delay(*d, ran);
            *d = Some(next);
            next
        };
        rec.state.status = Status::Restarting;
        let dir = self.dir(&rec.id);
        if let Err(e) = write_record(&dir, rec) {
            warn!(id = %rec.id, error = %e, "cannot store restarting state");
        }
        let engine = self.clone();
        let c = c.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            engine.restart_now(&c).await;
        });
        true
    }

    /// Starts a restarting container again, unless a stop or a removal cancelled it.
    async fn restart_now(self: &Arc<Self>, c: &Arc<Container>) {
        let mut rec = c.record.lock().await;
        if rec.state.status != Status::Restarting {
            return;
        }
        rec.restart_count += 1;
        let dir = self.dir(&rec.id);
        match self.launch(c, &mut rec, &dir).await {
            Ok(()) => {
                self.start_health_checks(c, &mut rec);
                if let Err(e) = write_record(&dir, &rec) {
                    warn!(id = %rec.id, error = %e, "cannot store restarted state");
                }
                info!(id = %rec.id, count = rec.restart_count, "container restarted by its policy");
                self.events.container(&rec, "start", &[]);
                drop(rec);
                self.clone().monitor(c.clone());
            }
            Err(e) => {
                warn!(id = %rec.id, error = %e, "restart failed");
                rec.state.status = Status::Exited;
                rec.state.error = e.to_string();
                self.networks.detach(&c.id, &dir, &mut rec.endpoints).await;
                let _ = berth_image::snapshot::unmount_rootfs(&dir);
                let _ = write_record(&dir, &rec);
            }
        }
    }

    /// A stop, kill or removal of a restarting container cancels the pending restart.
    /// Returns whether the container was restarting.
    pub(super) async fn cancel_restart(&self, c: &Arc<Container>) -> bool {
        let mut rec = c.record.lock().await;
        if rec.state.status != Status::Restarting {
            return false;
        }
        rec.state.status = Status::Exited;
        rec.state.stopped_by_user = true;
        let _ = write_record(&self.dir(&rec.id), &rec);
        true
    }

    /// At daemon start: restarts the containers whose policy wants them running again.
    pub(super) async fn restart_after_daemon_start(self: &Arc<Self>, ids: Vec<String>) {
        for id in ids {
            let Ok(c) = self.get(&id) else { continue };
            {
                let mut rec = c.record.lock().await;
                if rec.state.status.is_running() || !restart_on_daemon_start(&rec) {
                    continue;
                }
                rec.state.status = Status::Restarting;
            }
            self.restart_now(&c).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_resets() {
        let short = Duration::from_secs(1);
        let mut d = next_delay(None, short);
        assert_eq!(d, Duration::from_millis(100));
        d = next_delay(Some(d), short);
        assert_eq!(d, Duration::from_millis(200));
        d = next_delay(Some(d), short);
        assert_eq!(d, Duration::from_millis(400));
        assert_eq!(next_delay(Some(Duration::from_secs(50)), short), MAX_DELAY);
        assert_eq!(
            next_delay(Some(Duration::from_secs(50)), Duration::from_secs(11)),
            FIRST_DELAY
        );
    }
}
