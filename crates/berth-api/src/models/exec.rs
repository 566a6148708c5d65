//! Exec: `POST /containers/{id}/exec`, `POST /exec/{id}/start`, `GET /exec/{id}/json`.

use super::null_as_default;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `POST /containers/{id}/exec` body, in moby's ExecOptions field order (what `berth exec`
/// sends); fields berth does not know are kept in `extra`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecCreateBody {
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub privileged: bool,
    #[serde(default)]
    pub tty: bool,
    /// [height, width] of the terminal at start (`null` without one).
    #[serde(default)]
    pub console_size: Option<Vec<u16>>,
    #[serde(default)]
    pub attach_stdin: bool,
    #[serde(default)]
    pub attach_stderr: bool,
    #[serde(default)]
    pub attach_stdout: bool,
    /// Read by no daemon (the start body's `Detach` decides); clients send it.
    #[serde(default)]
    pub detach: bool,
    #[serde(default)]
    pub detach_keys: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub env: Vec<String>,
    #[serde(default)]
    pub working_dir: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub cmd: Vec<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST /exec/{id}/start` body. `ConsoleSize` absent is `None`; `Some(None)` is written
/// `null` (`berth exec` attached without a terminal sends it so).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecStartBody {
    #[serde(default)]
    pub detach: bool,
    #[serde(default)]
    pub tty: bool,
    #[serde(
        default,
        deserialize_with = "super::some_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub console_size: Option<Option<Vec<u16>>>,
}

impl ExecStartBody {
    /// The [height, width] asked for, if any.
    pub fn console(&self) -> Option<&[u16]> {
        self.console_size.as_ref()?.as_deref()
    }
}

/// `{"Id": ...}` (exec create).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdResponse {
    pub id: String,
}

/// `GET /exec/{id}/json` (absent fields read as empty).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExecInspect {
    #[serde(rename = "CanRemove")]
    pub can_remove: bool,
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    #[serde(rename = "DetachKeys")]
    pub detach_keys: String,
    #[serde(rename = "ExitCode")]
    pub exit_code: Option<i64>,
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "OpenStderr")]
    pub open_stderr: bool,
    #[serde(rename = "OpenStdin")]
    pub open_stdin: bool,
    #[serde(rename = "OpenStdout")]
    pub open_stdout: bool,
    #[serde(rename = "ProcessConfig")]
    pub process_config: ExecProcessConfig,
    #[serde(rename = "Running")]
    pub running: bool,
    #[serde(rename = "Pid")]
    pub pid: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExecProcessConfig {
    pub arguments: Vec<String>,
    pub entrypoint: String,
    pub privileged: bool,
    pub tty: bool,
    pub user: String,
}
