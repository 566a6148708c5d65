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
    /// 500: anything else.
    #[error("{0}")]
    Internal(String),
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
            EngineError::Internal(_) => 500,
        }
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
