//! Typed errors; `status_code` tells the daemon which HTTP status docker would answer with.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A malformed reference (docker's `invalid reference format...`): HTTP 400.
    #[error("{0}")]
    InvalidReference(String),
    /// Carries docker's full text, e.g. `No such image: foo:latest`: HTTP 404.
    #[error("{0}")]
    NotFound(String),
    /// `conflict: unable to ...`: HTTP 409.
    #[error("{0}")]
    Conflict(String),
    /// Bad client input that is not a reference (an unknown change command, ...): HTTP 400.
    #[error("{0}")]
    InvalidArgument(String),
    /// A load/import archive or layer tar that is malformed, truncated or unsafe: HTTP 400.
    #[error("{0}")]
    InvalidArchive(String),
    /// Filesystem or mount failure on the daemon side: HTTP 500.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    /// Anything else internal (corrupt record, ...): HTTP 500.
    #[error("{0}")]
    Internal(String),
}

impl ImageError {
    pub fn status_code(&self) -> u16 {
        match self {
            ImageError::InvalidReference(_)
            | ImageError::InvalidArgument(_)
            | ImageError::InvalidArchive(_) => 400,
            ImageError::NotFound(_) => 404,
            ImageError::Conflict(_) => 409,
            ImageError::Io { .. } | ImageError::Internal(_) => 500,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, ImageError::NotFound(_))
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, ImageError::Conflict(_))
    }
}

/// Attaches a context string to io errors: `.ctx(|| format!("creating {}", p.display()))`.
pub(crate) trait IoContext<T> {
    fn ctx<F: FnOnce() -> String>(self, f: F) -> Result<T, ImageError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx<F: FnOnce() -> String>(self, f: F) -> Result<T, ImageError> {
        self.map_err(|source| ImageError::Io {
            context: f(),
            source,
        })
    }
}

impl<T> IoContext<T> for nix::Result<T> {
    fn ctx<F: FnOnce() -> String>(self, f: F) -> Result<T, ImageError> {
        self.map_err(|e| ImageError::Io {
            context: f(),
            source: io::Error::from(e),
        })
    }
}
