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
                let stream = runtime::attach(&self.dir(&rec.id), stdin, stdout, stderr).await?;
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

    /// `POST /containers/{id}/resize`: the terminal size of a `-t` container.
    pub async fn resize(&self, name_or_id: &str, height: u16, width: u16) -> Result<()> {
        let c = self.get(name_or_id)?;
        let rec = c.record.lock().await;
        if !rec.state.status.is_running() {
            return Err(EngineError::Conflict(format!(
                "Container {} is not running",
                rec.id
            )));
        }
        if !rec.config.tty {
            // Nothing to resize; Docker's clients only ask with a terminal.
            return Ok(());
        }
        let client = berth_runtime::client::ShimClient::new(&berth_runtime::shim::socket_path(
            &self.dir(&rec.id),
        ));
        client
            .resize(None, height, width)
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))
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
