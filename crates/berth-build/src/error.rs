//! Build errors: parse errors carry the Dockerfile line, as BuildKit's and moby's do.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum BuildError {
    /// A malformed Dockerfile: `dockerfile parse error line N: ...` (moby's classic builder's words).
    #[error("dockerfile parse error line {line}: {msg}")]
    Parse { line: usize, msg: String },
    /// A request the builder refuses (bad flag value, unknown stage...).
    #[error("{0}")]
    Invalid(String),
    /// A RUN step that exited non-zero.
    #[error("The command '{cmd}' returned a non-zero code: {code}")]
    RunFailed { cmd: String, code: i64 },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Internal(String),
}

impl BuildError {
    pub fn parse(line: usize, msg: impl Into<String>) -> BuildError {
        BuildError::Parse {
            line,
            msg: msg.into(),
        }
    }
    pub fn invalid(msg: impl Into<String>) -> BuildError {
        BuildError::Invalid(msg.into())
    }
    pub fn internal(ctx: &str, e: impl std::fmt::Display) -> BuildError {
        BuildError::Internal(format!("{ctx}: {e}"))
    }
    /// The errorDetail code docker sends (a RUN's exit code), if any.
    pub fn code(&self) -> Option<i64> {
        match self {
            BuildError::RunFailed { code, .. } => Some(*code),
            _ => None,
        }
    }
}

pub type Result<T, E = BuildError> = std::result::Result<T, E>;

#[cfg(feature = "engine")]
impl BuildError {
    /// The hardened writer's errors: bad input stays the client's fault, the rest is ours.
    pub fn from_image(e: berth_image::ImageError) -> BuildError {
        match e.status_code() {
            400 => BuildError::Invalid(e.to_string()),
            404 => BuildError::NotFound(e.to_string()),
            _ => BuildError::Internal(e.to_string()),
        }
    }
}
