//! `wait`: resolves on the container's next exit, on it not running, or on its removal
//! (the API's `condition`).

use crate::engine::Engine;
use crate::error::{EngineError, Result};

/// Which exit `wait` waits for, as the API's `condition` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    NotRunning,
    NextExit,
    Removed,
}

impl WaitCondition {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "" | "not-running" => Ok(WaitCondition::NotRunning),
            "next-exit" => Ok(WaitCondition::NextExit),
            "removed" => Ok(WaitCondition::Removed),
            other => Err(EngineError::InvalidParameter(format!(
                "invalid condition: \"{other}\""
            ))),
        }
    }
}

impl Engine {
    /// Resolves when the condition holds; returns the exit code.
    pub async fn wait(&self, name_or_id: &str, condition: WaitCondition) -> Result<i64> {
        let c = self.get(name_or_id)?;
        let mut rx = c.progress.subscribe();
        let (status, code) = {
            let rec = c.record.lock().await;
            (rec.state.status, rec.state.exit_code)
        };
        let start = *rx.borrow_and_update();
        if condition == WaitCondition::NotRunning && !status.is_running() {
            return Ok(code);
        }
        let result = rx
            .wait_for(|p| match condition {
                WaitCondition::Removed => p.removed,
                _ => p.exits > start.exits || p.removed,
            })
            .await
            .map(|p| p.exit_code);
        match result {
            Ok(code) => Ok(code),
            // The sender is gone only when the container was removed and dropped.
            Err(_) => Ok(rx.borrow().exit_code),
        }
    }
}
