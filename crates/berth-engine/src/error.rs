//! Engine errors; each kind maps to the HTTP status Docker answers with.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum EngineError {
    /// 404: no such container, image, ...
    #[error("{0}")]
    NotFound(String),
    /// 409: name in use, container running, image in use.
    #[error("{0}")]
    Conflict(String),
    /// 400: the request is malformed or names an invalid value.
    #[error("{0}")]
    InvalidParameter(String),
    /// 403: an operation refused as it stands (network in use, overlapping pool).
    #[error("{0}")]
    Forbidden(String),
    /// 304: nothing to do (start of a running container, stop of a stopped one).
    #[error("{0}")]
    NotModified(String),
    /// 401: registry credentials refused.
    #[error("{0}")]
    Unauthorized(String),
    /// 501: something this configuration cannot do (`logs` of a driver that keeps nothing).
    #[error("{0}")]
    NotImplemented(String),
    /// 500: anything else.
    #[error("{0}")]
    Internal(String),
    /// 400: the container's process could not be started (the runtime's structured error:
    /// its kind, the exit code Docker records, its message).
    #[error("{0}")]
    Start(berth_runtime::StartError),
}

impl EngineError {
    pub fn internal(context: &str, e: impl std::fmt::Display) -> Self {
        EngineError::Internal(format!("{context}: {e}"))
    }

    /// The HTTP status Docker uses for this kind of error.
    pub fn status(&self) -> u16 {
        match self {
            EngineError::NotFound(_) => 404,
            EngineError::Conflict(_) => 409,
            EngineError::InvalidParameter(_) => 400,
            EngineError::NotModified(_) => 304,
            EngineError::Forbidden(_) => 403,
            EngineError::Unauthorized(_) => 401,
            EngineError::NotImplemented(_) => 501,
            EngineError::Internal(_) => 500,
            EngineError::Start(_) => 400,
        }
    }
}

impl EngineError {
    /// The same kind of error with `context: ` before its message (Go's errors.Wrap).
    pub fn prefixed(self, context: &str) -> Self {
        let p = |m: String| format!("{context}: {m}");
        match self {
            EngineError::NotFound(m) => EngineError::NotFound(p(m)),
            EngineError::Conflict(m) => EngineError::Conflict(p(m)),
            EngineError::InvalidParameter(m) => EngineError::InvalidParameter(p(m)),
            EngineError::Forbidden(m) => EngineError::Forbidden(p(m)),
            EngineError::NotModified(m) => EngineError::NotModified(p(m)),
            EngineError::Unauthorized(m) => EngineError::Unauthorized(p(m)),
            EngineError::NotImplemented(m) => EngineError::NotImplemented(p(m)),
            EngineError::Internal(m) => EngineError::Internal(p(m)),
            EngineError::Start(e) => EngineError::Internal(p(e.to_string())),
        }
    }

    /// The exit code a failed start records (`State.ExitCode`): the runtime's, else the
    /// error's text classified as the runtime's would be (moby's rules).
    pub fn start_exit_code(&self) -> i64 {
        let code = match self {
            EngineError::Start(e) => e.exit_code,
            other => berth_runtime::StartError::classify(other.to_string()).exit_code,
        };
        i64::from(code)
    }
}

impl From<std::io::Error> for EngineError {
    fn from(e: std::io::Error) -> Self {
        EngineError::Internal(e.to_string())
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// berth-net's errors: bad input is the client's (400), the rest the daemon's (500).
pub(crate) fn net_err(e: berth_net::NetError) -> EngineError {
    match e {
        berth_net::NetError::Invalid(m) => EngineError::InvalidParameter(m),
        other => EngineError::Internal(other.to_string()),
    }
}
