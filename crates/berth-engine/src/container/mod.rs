//! Containers: the in-memory handle of each container (its record behind a lock, its exit
//! progress, early attaches) and the operations on them, one concept per file: `create`,
//! `start` (and the launch restarts share), `monitor` (exit), `stop` (stop, kill, restart),
//! `wait`, `attach`, `remove` (and prune), `rename`, `restore` (daemon restart).

mod attach;
mod create;
pub mod exec;
pub mod files;
pub mod filters;
pub mod fsview;
pub mod health;
pub mod inspect;
pub mod links;
pub mod logs;
mod monitor;
pub mod mounts;
pub mod names;
pub mod namespaces;
pub mod netconnect;
pub mod observe;
mod remove;
mod rename;
pub mod restart;
mod restore;
mod start;
mod stop;
mod teardown;
mod volume_life;
mod wait;

pub use attach::{AttachStream, AttachTarget};
pub use wait::WaitCondition;

use crate::error::{EngineError, Result};
use crate::model::{ContainerRecord, Status};
use chrono::Utc;
use std::path::Path;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;
use tokio::net::UnixStream;
use tokio::sync::{oneshot, watch, Mutex};

/// What waiters observe: how many times the container exited, the last exit code, and
/// whether it has been removed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub exits: u64,
    /// How many times the container's output ended (its process exited and the shim wrote
    /// out the log): counted as soon as the exit is recorded, before the teardown and the
    /// `die` event, while `exits` counts the whole exit handling. Log followers end on it,
    /// as moby closes a container's logger (ending its followers) before it publishes
    /// `die`: a client that takes `die` for the end of the container (docker compose's
    /// `up`, which then cancels its log requests) has the whole stream by then.
    pub ended: u64,
    pub exit_code: i64,
    pub removed: bool,
}

/// An attach that arrived before the container started (the docker CLI attaches, then
/// starts): it gets its shim stream when `start` has created the container.
struct PendingAttach {
    stdin: bool,
    stdout: bool,
    stderr: bool,
    tx: oneshot::Sender<Result<UnixStream>>,
}

pub struct Container {
    pub id: String,
    /// Shared so that a task can hold the lock beyond a borrow (daemon start's teardown).
    pub(crate) record: Arc<Mutex<ContainerRecord>>,
    pub(crate) progress: watch::Sender<Progress>,
    pending: StdMutex<Vec<PendingAttach>>,
    /// The restart policy's current back-off (None: the next restart waits the minimum).
    restart_delay: StdMutex<Option<Duration>>,
    /// A `restart` is stopping the container to start it again: its exit must not remove
    /// an AutoRemove container (moby's HasBeenManuallyRestarted).
    pub(crate) restarting: std::sync::atomic::AtomicBool,
    /// The record as the exit monitor marked it exited, while the monitor still holds the
    /// record's lock through the teardown (network, rootfs, events): readers that only need
    /// a view (`logs`) answer from it instead of waiting, as moby's logs does not wait for
    /// its container lock. None outside an exit's handling.
    pub(crate) exiting: StdMutex<Option<ContainerRecord>>,
}

impl Container {
    pub(crate) fn new(record: ContainerRecord) -> Arc<Self> {
        let (progress, _) = watch::channel(Progress {
            exit_code: record.state.exit_code,
            ..Default::default()
        });
        Arc::new(Container {
            id: record.id.clone(),
            record: Arc::new(Mutex::new(record)),
            progress,
            pending: StdMutex::new(Vec::new()),
            restart_delay: StdMutex::new(None),
            restarting: std::sync::atomic::AtomicBool::new(false),
            exiting: StdMutex::new(None),
        })
    }

    pub async fn snapshot(&self) -> ContainerRecord {
        self.record.lock().await.clone()
    }

    /// A view of the record for readers: the exit monitor's copy while it handles an exit
    /// (see `exiting`), otherwise [`Container::snapshot`].
    pub async fn view(&self) -> ContainerRecord {
        let exiting = self
            .exiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        match exiting {
            Some(rec) => rec,
            None => self.snapshot().await,
        }
    }

    /// Sets or clears [`Container::exiting`].
    pub(crate) fn set_exiting(&self, rec: Option<ContainerRecord>) {
        *self
            .exiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = rec;
    }
}

pub(crate) fn mark_exited(rec: &mut ContainerRecord, code: i64, oom: bool) {
    rec.state.status = Status::Exited;
    rec.state.pid = 0;
    rec.state.exit_code = code;
    rec.state.oom_killed = oom;
    rec.state.finished_at = Some(Utc::now());
}

pub(crate) fn write_record(dir: &Path, rec: &ContainerRecord) -> Result<()> {
    berth_api::atomic::write_json(&dir.join("config.json"), rec)
        .map_err(|e| EngineError::internal("cannot write container record", e))
}

/// `write_record` with its two fsyncs (milliseconds each) on the blocking pool rather than on
/// one of the daemon's two async workers, where they stalled every other request meanwhile.
/// Callers hold the record's lock across the await, so writes of one record stay in order.
pub(crate) async fn save_record(dir: &Path, rec: &ContainerRecord) -> Result<()> {
    let data = serde_json::to_vec(rec)
        .map_err(|e| EngineError::internal("cannot write container record", e))?;
    let path = dir.join("config.json");
    tokio::task::spawn_blocking(move || berth_api::atomic::write_file(&path, &data))
        .await
        .map_err(|e| EngineError::internal("record write task", e))?
        .map_err(|e| EngineError::internal("cannot write container record", e))
}
