//! Steps being built right now by the stages of one build that run concurrently
//! (`parallel.rs`): the classic builder builds its stages one after the other, so when two
//! stages share a prefix (`FROM busybox` then the same `RUN`), the second finds the first's
//! step in the cache ("Using cache") and the step runs once. Here a stage about to look a
//! step up claims its cache key; a stage reaching a key another stage holds waits until that
//! step is done, then looks it up again (the cache re-read from disk, where the other stage
//! recorded it) — so the shared prefix still builds once, and the images are the same.
//!
//! A claim is held only while its step runs, never while waiting for another claim, so two
//! stages cannot wait for each other.

use super::Builder;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Key -> a receiver whose sender the stage building that step holds.
pub(super) type InFlight = Arc<Mutex<HashMap<String, watch::Receiver<()>>>>;

/// A stage's claim on a step key; released (waking the waiters) when dropped.
pub(super) struct StepClaim {
    key: String,
    map: InFlight,
    _done: watch::Sender<()>,
}

impl Drop for StepClaim {
    fn drop(&mut self) {
        // Out of the map first, then the sender goes (after this body): a waiter woken by
        // it finds the key free.
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}

impl Builder {
    /// Claims `key` for this stage, first waiting for a stage that is building the same
    /// step (and then re-reading the cache it wrote). None with `--no-cache`: every stage
    /// builds its own steps then, as the classic builder does.
    pub(super) async fn claim_step(&mut self, key: &str) -> Option<StepClaim> {
        if self.opts.no_cache {
            return None;
        }
        let mut waited = false;
        let claim = loop {
            let busy = {
                let mut m = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
                match m.get(key) {
                    Some(rx) => rx.clone(),
                    None => {
                        let (tx, rx) = watch::channel(());
                        m.insert(key.to_string(), rx);
                        break StepClaim {
                            key: key.to_string(),
                            map: self.inflight.clone(),
                            _done: tx,
                        };
                    }
                }
            };
            let mut busy = busy;
            // Err once the other stage's claim is dropped (its step done or failed).
            let _ = busy.changed().await;
            waited = true;
        };
        if waited {
            self.cache.refresh();
        }
        Some(claim)
    }
}
