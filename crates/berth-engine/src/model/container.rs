//! The container record stored at `containers/<id>/config.json`.

use super::mount::MountPoint;
use super::network::EndpointRecord;
use berth_api::models::{ContainerConfig, HostConfig};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "created" => Status::Created,
            "running" => Status::Running,
            "paused" => Status::Paused,
            "restarting" => Status::Restarting,
            "removing" => Status::Removing,
            "exited" => Status::Exited,
            "dead" => Status::Dead,
            _ => return None,
        })
    }

    /// Running in Docker's sense: the process exists (paused and restarting count).
    pub fn is_running(self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::Restarting)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct State {
    pub status: Status,
    pub pid: i64,
    pub exit_code: i64,
    pub error: String,
    pub oom_killed: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Set by stop/kill through the API so restart policies know the user asked for it.
    #[serde(default)]
    pub stopped_by_user: bool,
    /// The health check's view, when the container has one (inspect's State.Health).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
}

/// `State.Health`: the API's type, stored as inspect shows it.
pub use berth_api::models::{Health, HealthLog};

/// What berth stores per container. `config` is the merged config (image defaults applied),
/// as inspect shows it; `host_config` is the request's, as received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub id: String,
    /// Without the leading slash.
    pub name: String,
    pub created: DateTime<Utc>,
    /// "sha256:<hex>"
    pub image_id: String,
    pub path: String,
    pub args: Vec<String>,
    pub config: ContainerConfig,
    pub host_config: HostConfig,
    pub state: State,
    #[serde(default)]
    pub restart_count: i64,
    /// Volumes, binds and tmpfs mounts (`container/mounts.rs`), resolved at create.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_points: Vec<MountPoint>,
    /// Per user-defined network (by name): requested aliases/address, and the live endpoint.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub endpoints: std::collections::BTreeMap<String, EndpointRecord>,
}

impl ContainerRecord {
    pub fn short_id(&self) -> &str {
        &self.id[..12]
    }

    pub fn dir(&self, data_root: &Path) -> PathBuf {
        data_root.join("containers").join(&self.id)
    }

    /// The command as `ps` shows it: path and args joined with spaces.
    pub fn command_line(&self) -> String {
        // As moby's list: an argument with a space is wrapped in single quotes (the docker
        // CLI then shows `"sh -c 'exit 3'"`); the path never is.
        let mut parts = vec![self.path.clone()];
        parts.extend(self.args.iter().map(|a| {
            if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.clone()
            }
        }));
        parts.join(" ")
    }
}
