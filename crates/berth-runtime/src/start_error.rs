//! Why a container did not start, as it crosses the shim boundary: the kind of failure, the
//! exit code Docker records for it (`State.ExitCode`: 127 for a command that is not there,
//! 126 for one that cannot be executed, 128 otherwise) and the message (Docker's wording).
//!
//! Where the cause is known (a path lookup's I/O error kind) the kind is set there. What
//! reaches berth only as text (an OCI runtime's or libcontainer's error, the container
//! init's report of its failed execve) is classified by `StartError::classify`, the one
//! place such text is read: moby's `setExitCodeFromError` rules.

use serde::{Deserialize, Serialize};

/// What kind of start failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartErrorKind {
    /// The command (or a path it needs) does not exist: exit code 127.
    NotFound,
    /// The command exists but cannot be executed: exit code 126.
    PermissionDenied,
    /// Anything else: exit code 128.
    Other,
}

impl StartErrorKind {
    /// The exit code Docker records for this kind of failure.
    pub fn exit_code(self) -> i32 {
        match self {
            StartErrorKind::NotFound => 127,
            StartErrorKind::PermissionDenied => 126,
            StartErrorKind::Other => 128,
        }
    }
}

/// A structured start failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct StartError {
    pub kind: StartErrorKind,
    pub exit_code: i32,
    pub message: String,
}

impl StartError {
    pub fn new(kind: StartErrorKind, message: impl Into<String>) -> StartError {
        StartError {
            kind,
            exit_code: kind.exit_code(),
            message: message.into(),
        }
    }

    /// Classifies a failure known only by its text, as moby does (its runtimes word their
    /// errors as runc does: "executable file not found", "no such file or directory",
    /// "permission denied").
    pub fn classify(message: impl Into<String>) -> StartError {
        let message = message.into();
        let kind = if message.contains("executable file not found")
            || message.contains("no such file or directory")
        {
            StartErrorKind::NotFound
        } else if message.contains("permission denied") {
            StartErrorKind::PermissionDenied
        } else {
            StartErrorKind::Other
        };
        StartError::new(kind, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_classified_as_moby_does() {
        let e = StartError::classify("exec: \"nope\": executable file not found in $PATH");
        assert_eq!((e.kind, e.exit_code), (StartErrorKind::NotFound, 127));
        let e = StartError::classify("exec: \"/x\": stat /x: no such file or directory");
        assert_eq!(e.exit_code, 127);
        assert_eq!(
            StartError::classify("exec /x: permission denied").exit_code,
            126
        );
        let e = StartError::classify("cgroup: device or resource busy");
        assert_eq!((e.kind, e.exit_code), (StartErrorKind::Other, 128));
        assert_eq!(e.to_string(), "cgroup: device or resource busy");
    }

    #[test]
    fn crosses_the_boundary_as_json() {
        let e = StartError::new(
            StartErrorKind::PermissionDenied,
            "exec: \"/etc\": permission denied",
        );
        let line = serde_json::to_string(&e).expect("json");
        assert_eq!(
            line,
            r#"{"kind":"permission_denied","exit_code":126,"message":"exec: \"/etc\": permission denied"}"#
        );
        assert_eq!(serde_json::from_str::<StartError>(&line).expect("parse"), e);
    }
}
