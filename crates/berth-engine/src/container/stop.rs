//! `stop`, `kill` and `restart`: signals through the shim, the stop timeout before
//! SIGKILL, and a pending policy restart cancelled by either.

use super::Progress;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::runtime;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::{debug, info};

impl Engine {
    pub async fn kill(&self, name_or_id: &str, signal: Option<&str>) -> Result<()> {
        // As moby's ContainerKill: a bad signal is refused before the container is looked up.
        let sig = match signal.filter(|s| !s.is_empty()) {
            Some(s) => crate::signal::parse(s)?,
            None => libc::SIGKILL,
        };
        // moby wraps every kill error: "cannot kill container: NAME: ...".
        let c = self.get(name_or_id).map_err(|e| match e {
            EngineError::NotFound(m) => {
                EngineError::NotFound(format!("cannot kill container: {name_or_id}: {m}"))
            }
            other => other,
        })?;
        // Killing a container waiting to restart keeps it down, as docker kill does.
        if self.cancel_restart(&c).await {
            return Ok(());
        }
        let mut rec = c.record.lock().await;
        if !rec.state.status.is_running() {
            return Err(EngineError::Conflict(format!(
                "cannot kill container: {}: container {} is not running",
                name_or_id, rec.id
            )));
        }
        if sig == libc::SIGKILL || sig == libc::SIGTERM || sig == libc::SIGINT {
            rec.state.stopped_by_user = true;
        }
        let mut rx = c.progress.subscribe();
        let before = rx.borrow_and_update().exits;
        let sent = match self.runtime.kill(&self.dir(&rec.id), sig).await {
            // Exited between the state check and the signal, its exit not yet recorded: as
            // moby's killWithSignal, the kill stands (its event, then the die).
            Err(e) if e.process_gone() => Ok(()),
            other => other.map_err(runtime::rt_err),
        };
        if sent.is_ok() {
            self.signalled(&mut rec, sig).await;
        }
        drop(rec);
        if sent.is_ok() {
            // As moby's daemon.Kill: SIGKILL returns once the container has exited (10 s at
            // most), so the client sees it stopped.
            if sig == libc::SIGKILL {
                let _ = tokio::time::timeout(
                    Duration::from_secs(10),
                    rx.wait_for(|p| p.exits > before),
                )
                .await;
            }
        }
        sent
    }

    /// Sends the stop signal, waits `timeout` seconds (None: the container's or 10), then SIGKILL.
    pub async fn stop(
        &self,
        name_or_id: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<()> {
        let c = self.get(name_or_id)?;
        if self.cancel_restart(&c).await {
            self.events.container(&c.snapshot().await, "stop", &[]);
            return Ok(());
        }
        let (sig, secs, dir) = {
            let mut rec = c.record.lock().await;
            if !rec.state.status.is_running() {
                return Err(EngineError::NotModified("container already stopped".into()));
            }
            let sig_name = signal
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .or_else(|| rec.config.stop_signal.clone())
                .unwrap_or_else(|| "SIGTERM".into());
            let sig = crate::signal::parse(&sig_name)?;
            let secs = timeout.or(rec.config.stop_timeout).unwrap_or(10);
            rec.state.stopped_by_user = true;
            (sig, secs, self.dir(&rec.id))
        };
        let mut rx = c.progress.subscribe();
        let before = rx.borrow_and_update().exits;
        let exited = |rx: &mut watch::Receiver<Progress>| {
            let mut rx = rx.clone();
            async move { rx.wait_for(|p| p.exits > before).await.map(|_| ()) }
        };
        if let Err(e) = self.signal(&c, &dir, sig).await {
            debug!(error = %e, "stop signal not delivered");
        }
        let graceful = if secs < 0 {
            exited(&mut rx).await.is_ok()
        } else {
            tokio::time::timeout(Duration::from_secs(secs as u64), exited(&mut rx))
                .await
                .is_ok()
        };
        if !graceful {
            info!(id = %c.id, "container did not stop in time, killing it");
            let _ = self.signal(&c, &dir, libc::SIGKILL).await;
            let _ = tokio::time::timeout(Duration::from_secs(30), exited(&mut rx)).await;
        }
        self.events.container(&c.snapshot().await, "stop", &[]);
        Ok(())
    }

    pub async fn restart(
        self: &Arc<Self>,
        name_or_id: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<()> {
        let c = self.get(name_or_id)?;
        c.restarting
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let stopped = self.stop(name_or_id, timeout, signal).await;
        let started = match stopped {
            Ok(()) | Err(EngineError::NotModified(_)) => self.start(name_or_id).await,
            Err(e) => Err(e),
        };
        c.restarting
            .store(false, std::sync::atomic::Ordering::SeqCst);
        started?;
        if let Ok(c) = self.get(name_or_id) {
            self.events.container(&c.snapshot().await, "restart", &[]);
        }
        Ok(())
    }
}
