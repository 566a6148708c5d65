//! Async client of the shim's control socket, used by the engine.

use std::path::{Path, PathBuf};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use crate::shim::{exit_path, ExitStatus, Request, Response};
use crate::start_error::StartError;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket is unreachable or the connection broke (the shim may be gone: read
    /// exit.json with `read_exit`).
    #[error("shim connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("shim protocol: {0}")]
    Protocol(String),
    /// The shim refused the request; the message is the shim's.
    #[error("{0}")]
    Shim(String),
}

impl ClientError {
    /// The container's process is gone: the shim answered that its init exited, or the shim
    /// itself has exited (its socket removed or refusing connections, or the connection cut
    /// mid-request: a shim exits only once its init has, and a kill through an OCI runtime
    /// can see the init's exit end the shim before the answer left) before the engine's
    /// monitor recorded the exit. moby's kill treats containerd's "not found" the same way:
    /// not an error, the exit follows.
    pub fn process_gone(&self) -> bool {
        match self {
            ClientError::Io(e) => matches!(
                e.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            ),
            ClientError::Shim(m) => m == crate::shim::NOT_RUNNING,
            ClientError::Protocol(_) => false,
        }
    }
}

/// The shim's view of the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShimState {
    pub pid: i32,
    /// "created", "running" or "exited".
    pub status: String,
    pub exit_code: Option<i32>,
}

/// A handle on one shim; each call uses its own connection.
#[derive(Debug, Clone)]
pub struct ShimClient {
    socket: PathBuf,
}

/// Reads one line byte by byte, so nothing after it (attach output) is consumed.
async fn read_line(s: &mut UnixStream) -> Result<Vec<u8>, ClientError> {
    let mut line = Vec::new();
    loop {
        let mut b = [0u8; 1];
        if s.read(&mut b).await? == 0 {
            return Err(ClientError::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "shim closed the connection",
            )));
        }
        if b[0] == b'\n' {
            return Ok(line);
        }
        line.push(b[0]);
        if line.len() > 64 * 1024 {
            return Err(ClientError::Protocol("answer line too long".into()));
        }
    }
}

impl ShimClient {
    /// Connects once to check the shim is alive.
    pub async fn connect(socket: &Path) -> Result<Self, ClientError> {
        UnixStream::connect(socket).await?;
        Ok(ShimClient {
            socket: socket.to_path_buf(),
        })
    }

    /// A client without the liveness check.
    pub fn new(socket: &Path) -> Self {
        ShimClient {
            socket: socket.to_path_buf(),
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Sends one request and reads its answer line, whatever it says.
    async fn exchange(&self, req: &Request) -> Result<(Response, UnixStream), ClientError> {
        let mut s = UnixStream::connect(&self.socket).await?;
        let mut line = serde_json::to_vec(req).map_err(|e| ClientError::Protocol(e.to_string()))?;
        line.push(b'\n');
        s.write_all(&line).await?;
        let answer = read_line(&mut s).await?;
        let resp: Response = serde_json::from_slice(&answer)
            .map_err(|e| ClientError::Protocol(format!("bad answer: {e}")))?;
        Ok((resp, s))
    }

    async fn request(&self, req: &Request) -> Result<(Response, UnixStream), ClientError> {
        let (resp, s) = self.exchange(req).await?;
        if !resp.ok {
            return Err(ClientError::Shim(
                resp.error.unwrap_or_else(|| "unknown shim error".into()),
            ));
        }
        Ok((resp, s))
    }

    /// Starts the created container; returns the init pid (host view). A refused start is
    /// the shim's structured `StartError`; a broken connection is classified by its text.
    pub async fn start(&self) -> Result<i32, StartError> {
        let text = |e: ClientError| StartError::classify(e.to_string());
        let (r, _) = self.exchange(&Request::Start).await.map_err(text)?;
        if !r.ok {
            let message = r.error.unwrap_or_else(|| "unknown shim error".into());
            return Err(match (r.kind, r.exit_code) {
                (Some(kind), Some(exit_code)) => StartError {
                    kind,
                    exit_code,
                    message,
                },
                _ => StartError::classify(message),
            });
        }
        r.pid
            .ok_or_else(|| text(ClientError::Protocol("start answer without pid".into())))
    }

    pub async fn state(&self) -> Result<ShimState, ClientError> {
        let (r, _) = self.request(&Request::State).await?;
        Ok(ShimState {
            pid: r.pid.unwrap_or(0),
            status: r.status.unwrap_or_default(),
            exit_code: r.exit_code,
        })
    }

    /// Sends `signal` to the container's init.
    pub async fn kill(&self, signal: i32) -> Result<(), ClientError> {
        self.request(&Request::Kill { signal }).await.map(|_| ())
    }

    /// Resolves when the container's init exited and its output is drained.
    pub async fn wait(&self) -> Result<ExitStatus, ClientError> {
        let (_, mut s) = self.request(&Request::Wait).await?;
        let line = read_line(&mut s).await?;
        serde_json::from_slice(&line).map_err(|e| ClientError::Protocol(format!("bad exit: {e}")))
    }

    /// Attaches: returns the raw stream after the ok line. Reading yields Docker
    /// multiplexed frames (stream 1 stdout / 2 stderr, u32 BE length) until the container
    /// exited and its output is drained; writes go to the container's stdin (when `stdin`
    /// and the container was created with stdin); shutting down the write half closes it.
    pub async fn attach(
        &self,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<UnixStream, ClientError> {
        let (_, s) = self
            .request(&Request::Attach {
                stdin,
                stdout,
                stderr,
            })
            .await?;
        Ok(s)
    }
}

impl ShimClient {
    /// Sets the terminal size of the init (`exec_id` None) or of an exec.
    pub async fn resize(
        &self,
        exec_id: Option<&str>,
        height: u16,
        width: u16,
    ) -> Result<(), ClientError> {
        self.request(&Request::Resize {
            exec_id: exec_id.map(str::to_string),
            height,
            width,
        })
        .await
        .map(|_| ())
    }

    /// Starts an exec process. On success: its pid and the connection, which carries the
    /// exec's stdio like `attach` (framed without a terminal, raw with one) when any stream
    /// was asked for. A process that could not start gives `ExecFailed` with Docker's exit
    /// code for it (126, or 127 for a command not found).
    pub async fn exec(
        &self,
        exec_id: &str,
        process: &oci_spec::runtime::Process,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<(i32, UnixStream), ExecStartError> {
        let req = Request::Exec {
            exec_id: exec_id.to_string(),
            process: Box::new(process.clone()),
            stdin,
            stdout,
            stderr,
        };
        let mut s = UnixStream::connect(&self.socket)
            .await
            .map_err(|e| ExecStartError::Client(e.into()))?;
        let mut line = serde_json::to_vec(&req)
            .map_err(|e| ExecStartError::Client(ClientError::Protocol(e.to_string())))?;
        line.push(b'\n');
        s.write_all(&line)
            .await
            .map_err(|e| ExecStartError::Client(e.into()))?;
        let answer = read_line(&mut s).await.map_err(ExecStartError::Client)?;
        let resp: Response = serde_json::from_slice(&answer).map_err(|e| {
            ExecStartError::Client(ClientError::Protocol(format!("bad answer: {e}")))
        })?;
        match (resp.ok, resp.pid) {
            (true, Some(pid)) => Ok((pid, s)),
            (true, None) => Err(ExecStartError::Client(ClientError::Protocol(
                "exec answer without pid".into(),
            ))),
            (false, _) => {
                let message = resp.error.unwrap_or_else(|| "exec failed".into());
                match resp.exit_code {
                    Some(exit_code) => Err(ExecStartError::Failed { message, exit_code }),
                    None => Err(ExecStartError::Client(ClientError::Shim(message))),
                }
            }
        }
    }

    /// Resolves with the exec's exit code when it ended and its output drained.
    pub async fn exec_wait(&self, exec_id: &str) -> Result<i32, ClientError> {
        let (r, mut s) = self
            .request(&Request::ExecWait {
                exec_id: exec_id.to_string(),
            })
            .await?;
        if let Some(code) = r.exit_code {
            return Ok(code);
        }
        let line = read_line(&mut s).await?;
        let r: Response = serde_json::from_slice(&line)
            .map_err(|e| ClientError::Protocol(format!("bad exec exit: {e}")))?;
        r.exit_code
            .ok_or_else(|| ClientError::Protocol("exec exit without code".into()))
    }
}

/// Why an exec did not start.
#[derive(Debug, thiserror::Error)]
pub enum ExecStartError {
    /// The process could not be started in the container (Docker reports `exit_code`).
    #[error("{message}")]
    Failed { message: String, exit_code: i32 },
    #[error(transparent)]
    Client(ClientError),
}

/// Reads `dir/exit.json` (None when the shim has not written it).
pub fn read_exit(dir: &Path) -> std::io::Result<Option<ExitStatus>> {
    match std::fs::read(exit_path(dir)) {
        Ok(data) => serde_json::from_slice(&data)
            .map(Some)
            .map_err(std::io::Error::other),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod process_gone_tests {
    use super::ClientError;
    use std::io::{Error, ErrorKind};

    #[test]
    fn a_shim_that_went_away_means_the_process_is_gone() {
        for kind in [
            ErrorKind::NotFound,
            ErrorKind::ConnectionRefused,
            ErrorKind::ConnectionReset,
            ErrorKind::BrokenPipe,
            ErrorKind::UnexpectedEof,
        ] {
            assert!(
                ClientError::Io(Error::from(kind)).process_gone(),
                "{kind:?}"
            );
        }
        assert!(ClientError::Shim(crate::shim::NOT_RUNNING.into()).process_gone());
        assert!(!ClientError::Io(Error::from(ErrorKind::PermissionDenied)).process_gone());
        assert!(!ClientError::Io(Error::from(ErrorKind::TimedOut)).process_gone());
        assert!(!ClientError::Shim("no such exec".into()).process_gone());
        assert!(!ClientError::Protocol("bad json".into()).process_gone());
    }
}
