//! The runtime adapter: the narrow seam through which the engine drives containers'
//! processes. A container is named by its directory (`containers/<id>`), where its bundle
//! is and from which its shim's socket is derived. `ShimRuntime` is the real adapter (the
//! per-container `berthd shim`, through `ShimClient`); the engine's unit tests use a
//! recording fake in its place.

use crate::client::{ClientError, ExecStartError, ShimClient};
use crate::shim::{self, ExitStatus, ShimError, SpawnOptions};
use crate::start_error::StartError;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use tokio::net::UnixStream;

/// A boxed future, for the adapter's async methods (the trait is used as `dyn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How the engine starts, signals, waits for and attaches to a container's process.
pub trait RuntimeAdapter: Send + Sync {
    /// Spawns the shim for the bundle in `opts.dir`: the container is created (its init
    /// waits to exec) and the shim serves its socket when this resolves.
    fn spawn(&self, opts: SpawnOptions) -> BoxFuture<'_, Result<(), StartError>>;

    /// Starts the created container; resolves with its init's pid (host view).
    fn start<'a>(&'a self, dir: &'a Path) -> BoxFuture<'a, Result<i32, StartError>>;

    /// Whether the container's shim answers (at daemon start: is the container alive).
    fn alive<'a>(&'a self, dir: &'a Path) -> BoxFuture<'a, bool>;

    /// Sends `signal` to the container's init.
    fn kill<'a>(&'a self, dir: &'a Path, signal: i32) -> BoxFuture<'a, Result<(), ClientError>>;

    /// Resolves when the container's init exited and its output is drained.
    fn wait<'a>(&'a self, dir: &'a Path) -> BoxFuture<'a, Result<ExitStatus, ClientError>>;

    /// The exit status the shim recorded, if it did (a shim gone before `wait`).
    fn read_exit(&self, dir: &Path) -> Option<ExitStatus>;

    /// A stream to the container's stdio (see `ShimClient::attach`).
    fn attach<'a>(
        &'a self,
        dir: &'a Path,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> BoxFuture<'a, Result<UnixStream, ClientError>>;

    /// Sets the terminal size of the init (`exec_id` None) or of an exec.
    fn resize<'a>(
        &'a self,
        dir: &'a Path,
        exec_id: Option<&'a str>,
        height: u16,
        width: u16,
    ) -> BoxFuture<'a, Result<(), ClientError>>;

    /// Starts an exec process in the running container (see `ShimClient::exec`).
    fn exec<'a>(
        &'a self,
        dir: &'a Path,
        exec_id: &'a str,
        process: &'a oci_spec::runtime::Process,
        streams: (bool, bool, bool),
    ) -> BoxFuture<'a, Result<(i32, UnixStream), ExecStartError>>;

    /// Resolves with an exec's exit code once it ended.
    fn exec_wait<'a>(
        &'a self,
        dir: &'a Path,
        exec_id: &'a str,
    ) -> BoxFuture<'a, Result<i32, ClientError>>;

    /// Signals a process an exec started (a health probe past its timeout).
    fn kill_process(&self, pid: i32, signal: i32);

    /// Forgets a removed container's shim: the socket a shim that died without cleaning
    /// up left behind.
    fn forget(&self, dir: &Path);
}

/// The real adapter: one `berthd shim` per container, driven through its control socket.
#[derive(Debug, Default, Clone, Copy)]
pub struct ShimRuntime;

fn client(dir: &Path) -> ShimClient {
    ShimClient::new(&shim::socket_path(dir))
}

/// Connects once to check the shim is alive, as every engine call did before its request.
async fn connected(dir: &Path) -> Result<ShimClient, ClientError> {
    ShimClient::connect(&shim::socket_path(dir)).await
}

impl RuntimeAdapter for ShimRuntime {
    fn spawn(&self, opts: SpawnOptions) -> BoxFuture<'_, Result<(), StartError>> {
        Box::pin(async move {
            let dir = opts.dir.clone();
            tokio::task::spawn_blocking(move || shim::spawn(&opts))
                .await
                .map_err(|e| StartError::classify(e.to_string()))?
                .map_err(|e| match e {
                    ShimError::Start(e) => e,
                    other => StartError::classify(other.to_string()),
                })?;
            connected(&dir)
                .await
                .map(|_| ())
                .map_err(|e| StartError::classify(e.to_string()))
        })
    }

    fn start<'a>(&'a self, dir: &'a Path) -> BoxFuture<'a, Result<i32, StartError>> {
        Box::pin(async move { client(dir).start().await })
    }

    fn alive<'a>(&'a self, dir: &'a Path) -> BoxFuture<'a, bool> {
        Box::pin(async move { connected(dir).await.is_ok() })
    }

    fn kill<'a>(&'a self, dir: &'a Path, signal: i32) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(async move { connected(dir).await?.kill(signal).await })
    }

    fn wait<'a>(&'a self, dir: &'a Path) -> BoxFuture<'a, Result<ExitStatus, ClientError>> {
        Box::pin(async move { connected(dir).await?.wait().await })
    }

    fn read_exit(&self, dir: &Path) -> Option<ExitStatus> {
        crate::client::read_exit(dir).ok().flatten()
    }

    fn attach<'a>(
        &'a self,
        dir: &'a Path,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> BoxFuture<'a, Result<UnixStream, ClientError>> {
        Box::pin(async move { connected(dir).await?.attach(stdin, stdout, stderr).await })
    }

    fn resize<'a>(
        &'a self,
        dir: &'a Path,
        exec_id: Option<&'a str>,
        height: u16,
        width: u16,
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(async move { client(dir).resize(exec_id, height, width).await })
    }

    fn exec<'a>(
        &'a self,
        dir: &'a Path,
        exec_id: &'a str,
        process: &'a oci_spec::runtime::Process,
        (stdin, stdout, stderr): (bool, bool, bool),
    ) -> BoxFuture<'a, Result<(i32, UnixStream), ExecStartError>> {
        Box::pin(async move {
            client(dir)
                .exec(exec_id, process, stdin, stdout, stderr)
                .await
        })
    }

    fn exec_wait<'a>(
        &'a self,
        dir: &'a Path,
        exec_id: &'a str,
    ) -> BoxFuture<'a, Result<i32, ClientError>> {
        Box::pin(async move { client(dir).exec_wait(exec_id).await })
    }

    fn kill_process(&self, pid: i32, signal: i32) {
        // SAFETY: kill(2) on a pid the shim reported for an exec of ours.
        unsafe {
            libc::kill(pid, signal);
        }
    }

    fn forget(&self, dir: &Path) {
        let _ = std::fs::remove_file(shim::socket_path(dir));
    }
}
