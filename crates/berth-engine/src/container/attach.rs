//! `attach` and `resize`: a stream to the container's stdio from its shim; an attach
//! before the start waits for the shim the start creates.

use super::{PendingAttach, Status};
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::runtime;
use tokio::net::UnixStream;
use tokio::sync::oneshot;

impl Engine {
    /// A stream to the container's stdio (Docker's framing without a tty, raw with one).
    /// Before start, the stream is handed over when the container starts.
    pub async fn attach(
        &self,
        name_or_id: &str,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<AttachTarget> {
        let c = self.get(name_or_id)?;
        let rec = c.record.lock().await;
        let tty = rec.config.tty;
        self.events.container(&rec, "attach", &[]);
        match rec.state.status {
            Status::Running | Status::Paused | Status::Restarting => {
                let stream = self
                    .runtime
                    .attach(&self.dir(&rec.id), stdin, stdout, stderr)
                    .await
                    .map_err(runtime::rt_err)?;
                Ok(AttachTarget {
                    tty,
                    stream: AttachStream::Ready(stream),
                })
            }
            Status::Created | Status::Exited => {
                let (tx, rx) = oneshot::channel();
                c.pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(PendingAttach {
                        stdin,
                        stdout,
                        stderr,
                        tx,
                    });
                Ok(AttachTarget {
                    tty,
                    stream: AttachStream::OnStart(rx),
                })
            }
            _ => Err(EngineError::Conflict(
                "You cannot attach to a stopped container, start it first".to_string(),
            )),
        }
    }

    /// `POST /containers/{id}/resize`: the terminal size of a `-t` container. As moby's
    /// ContainerResize: a container that is not running is a conflict (moby 28's lower-case
    /// GetRunningTask text), and each resize that succeeds is a `resize` event with the
    /// size, also for a container without a terminal (its runtime has nothing to resize).
    pub async fn resize(&self, name_or_id: &str, height: u16, width: u16) -> Result<()> {
        let c = self.get(name_or_id)?;
        let rec = c.record.lock().await;
        if !rec.state.status.is_running() {
            return Err(EngineError::Conflict(format!(
                "container {} is not running",
                rec.id
            )));
        }
        if rec.config.tty {
            self.runtime
                .resize(&self.dir(&rec.id), None, height, width)
                .await
                .map_err(|e| EngineError::Internal(e.to_string()))?;
        }
        self.events.container(
            &rec,
            "resize",
            &[("height", height.to_string()), ("width", width.to_string())],
        );
        Ok(())
    }
}

pub struct AttachTarget {
    pub tty: bool,
    pub stream: AttachStream,
}

pub enum AttachStream {
    Ready(UnixStream),
    OnStart(oneshot::Receiver<Result<UnixStream>>),
}
