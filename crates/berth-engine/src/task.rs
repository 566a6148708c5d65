//! Blocking work (netlink, mounts, file I/O) moved off the daemon's two async workers.

use crate::error::{EngineError, Result};

/// Runs `f` on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| EngineError::internal("blocking task", e))?
}
