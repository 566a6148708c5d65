//! A container's configuration as the create body carries it and inspect answers it:
//! [`ContainerConfig`] (also an image's `config`), [`HostConfig`], and the create body,
//! its answer and `wait`'s.

use super::{
    null_as_default, string_or_vec, Empty, HealthConfig, Mount, NetworkingConfig, PortMap, PortSet,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The container's `Config` (create body top level, and `Config` in inspect), and an
/// image's `config`: docker's container.Config, fields in its order so image config bytes
/// (and so image ids) come out as docker's. `None` collections are written `null`, as Go
/// writes nil ones; a container's `Env` and `Labels` are made `Some` at create
/// ([`ContainerConfig::for_container`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub domainname: String,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub attach_stdin: bool,
    #[serde(default)]
    pub attach_stdout: bool,
    #[serde(default)]
    pub attach_stderr: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<PortSet>,
    #[serde(default)]
    pub tty: bool,
    #[serde(default)]
    pub open_stdin: bool,
    #[serde(default)]
    pub stdin_once: bool,
    #[serde(default)]
    pub env: Option<Vec<String>>,
    #[serde(default, deserialize_with = "string_or_vec")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    #[serde(default)]
    pub image: String,
    #[serde(default)]
    pub volumes: Option<BTreeMap<String, Empty>>,
    #[serde(default)]
    pub working_dir: String,
    #[serde(default, deserialize_with = "string_or_vec")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(default)]
    pub on_build: Option<Vec<String>>,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(
        default,
        deserialize_with = "string_or_vec",
        skip_serializing_if = "Option::is_none"
    )]
    pub shell: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ContainerConfig {
    /// A container's config as berth stores and answers it: `Env` and `Labels` always
    /// present (`[]`, `{}`), whatever the client sent.
    pub fn for_container(mut self) -> ContainerConfig {
        self.env.get_or_insert_with(Vec::new);
        self.labels.get_or_insert_with(BTreeMap::new);
        self
    }

    /// `Env`, empty when absent.
    pub fn env(&self) -> &[String] {
        self.env.as_deref().unwrap_or_default()
    }

    /// `Labels`, empty when absent.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        static NONE: BTreeMap<String, String> = BTreeMap::new();
        self.labels.as_ref().unwrap_or(&NONE)
    }

    /// The config as an image records it: the fields berth does not model, and those only
    /// a container has (`NetworkDisabled`, `MacAddress`, `StopTimeout`), left out, as
    /// berth's image configs always had them.
    pub fn for_image(mut self) -> ContainerConfig {
        self.network_disabled = None;
        self.mac_address = None;
        self.stop_timeout = None;
        self.extra.clear();
        self
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestartPolicy {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub maximum_retry_count: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogConfig {
    #[serde(default, rename = "Type")]
    pub kind: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub config: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// The container's `HostConfig`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostConfig {
    #[serde(default, deserialize_with = "null_as_default")]
    pub binds: Option<Vec<String>>,
    #[serde(default)]
    pub container_i_d_file: String,
    #[serde(default)]
    pub log_config: LogConfig,
    #[serde(default)]
    pub network_mode: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub port_bindings: PortMap,
    #[serde(default)]
    pub restart_policy: RestartPolicy,
    #[serde(default)]
    pub auto_remove: bool,
    #[serde(default)]
    pub volume_driver: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub volumes_from: Option<Vec<String>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub cap_add: Option<Vec<String>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub cap_drop: Option<Vec<String>>,
    #[serde(default)]
    pub cgroupns_mode: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub dns: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub dns_options: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub dns_search: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub extra_hosts: Option<Vec<String>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub group_add: Option<Vec<String>>,
    #[serde(default)]
    pub ipc_mode: String,
    #[serde(default)]
    pub cgroup: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub links: Option<Vec<String>>,
    #[serde(default)]
    pub oom_score_adj: i64,
    #[serde(default)]
    pub pid_mode: String,
    #[serde(default)]
    pub privileged: bool,
    #[serde(default)]
    pub publish_all_ports: bool,
    #[serde(default)]
    pub readonly_rootfs: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub security_opt: Option<Vec<String>>,
    #[serde(default)]
    pub u_t_s_mode: String,
    #[serde(default)]
    pub userns_mode: String,
    #[serde(default)]
    pub shm_size: i64,
    #[serde(default)]
    pub runtime: String,
    #[serde(default)]
    pub isolation: String,
    #[serde(default)]
    pub cpu_shares: i64,
    #[serde(default)]
    pub memory: i64,
    #[serde(default)]
    pub nano_cpus: i64,
    #[serde(default)]
    pub cgroup_parent: String,
    #[serde(default)]
    pub blkio_weight: i64,
    #[serde(default)]
    pub cpu_period: i64,
    #[serde(default)]
    pub cpu_quota: i64,
    #[serde(default)]
    pub cpu_realtime_period: i64,
    #[serde(default)]
    pub cpu_realtime_runtime: i64,
    #[serde(default)]
    pub cpuset_cpus: String,
    #[serde(default)]
    pub cpuset_mems: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub devices: Vec<Value>,
    #[serde(default)]
    pub memory_reservation: i64,
    #[serde(default)]
    pub memory_swap: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_swappiness: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom_kill_disable: Option<bool>,
    /// moby's `*int64` without omitempty: `null` when no limit (create turns <=0 into none).
    #[serde(default)]
    pub pids_limit: Option<i64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub ulimits: Vec<Ulimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub mounts: Option<Vec<Mount>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tmpfs: Option<BTreeMap<String, String>>,
    /// `--sysctl` (moby omits an empty map).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub sysctls: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub masked_paths: Option<Vec<String>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub readonly_paths: Option<Vec<String>>,
    /// `[height, width]` of the terminal at create (written after every other known field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_size: Option<[u64; 2]>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// POST /containers/create body: the Config fields plus HostConfig and NetworkingConfig.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerCreateBody {
    #[serde(flatten)]
    pub config: ContainerConfig,
    #[serde(default)]
    pub host_config: HostConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networking_config: Option<NetworkingConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerCreateResponse {
    pub id: String,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WaitError {
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WaitResponse {
    pub status_code: i64,
    pub error: Option<WaitError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_body_round_trips_unknown_fields_and_nulls() {
        let body = r#"{"Image":"busybox","Cmd":"echo","Env":null,"Labels":{"a":"b"},"Foo":1,
            "HostConfig":{"Memory":1024,"Binds":null,"Bar":"x"}}"#;
        let parsed: ContainerCreateBody = serde_json::from_str(body).expect("parses");
        assert_eq!(parsed.config.cmd, Some(vec!["echo".to_string()]));
        assert_eq!(parsed.config.env, None);
        assert_eq!(parsed.host_config.memory, 1024);
        assert_eq!(parsed.config.extra.get("Foo"), Some(&Value::from(1)));
        let out = serde_json::to_value(&parsed.host_config).expect("serializes");
        assert_eq!(out["Bar"], "x");
        assert_eq!(out["ContainerIDFile"], "");
        assert_eq!(out["UTSMode"], "");
    }
}
