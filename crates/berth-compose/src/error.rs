//! Loader errors, worded as docker compose words them.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// The YAML does not parse: file, line and column.
    #[error("{file}: yaml: line {line}, column {column}: {message}")]
    Yaml {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// A key or value the compose schema does not allow (`validating FILE: PATH ...`).
    #[error("validating {file}: {message}")]
    Validation { file: String, message: String },
    /// A bad `${...}` template or a missing required variable.
    #[error("error while interpolating {path}: {message}")]
    Interpolation { path: String, message: String },
    /// The project as a whole is invalid (unknown dependency, cycle, ...).
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read.
    #[error("{0}")]
    Io(String),
}

pub type Result<T> = std::result::Result<T, Error>;
