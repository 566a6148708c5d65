//! The daemon's answers about containers and images: `GET /containers/{id}/json`
//! ([`ContainerInspect`]), each `GET /containers/json` entry ([`ContainerSummary`]),
//! `GET /images/{name}/json` ([`ImageInspect`]) and each `GET /images/json` entry
//! ([`ImageSummary`]). Fields in the order berth has always written them.

use super::PortSummary;
use super::{ContainerConfig, EndpointSettings, Health, HostConfig, MountPoint, PortMap};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// `docker inspect` of a container.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerInspect {
    pub id: String,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    pub path: String,
    pub args: Vec<String>,
    pub state: ContainerState,
    /// `sha256:<hex>`.
    pub image: String,
    pub resolv_conf_path: String,
    pub hostname_path: String,
    pub hosts_path: String,
    pub log_path: String,
    /// With the leading slash.
    pub name: String,
    pub restart_count: i64,
    pub driver: String,
    pub platform: String,
    pub mount_label: String,
    pub process_label: String,
    pub app_armor_profile: String,
    #[serde(rename = "ExecIDs")]
    pub exec_ids: Option<Vec<String>>,
    pub host_config: HostConfig,
    pub graph_driver: GraphDriver,
    pub mounts: Vec<MountPoint>,
    pub config: ContainerConfig,
    pub network_settings: NetworkSettings,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_rw: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_root_fs: Option<u64>,
}

/// A container's `State`. Absent fields read as empty (compose reads it from any daemon).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerState {
    /// "created", "running", "paused", "restarting", "removing", "exited", "dead".
    pub status: String,
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub dead: bool,
    pub pid: i64,
    pub exit_code: i64,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
}

/// The storage driver's view: `Data` (directories by role, `null` for images) and name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GraphDriver {
    pub data: Option<BTreeMap<String, String>>,
    pub name: String,
}

/// A container's `NetworkSettings`: its published ports, the networks it is on, and the
/// default bridge's endpoint repeated at the top level as Docker still does.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkSettings {
    pub bridge: String,
    #[serde(rename = "SandboxID")]
    pub sandbox_id: String,
    pub sandbox_key: String,
    /// Every exposed port, with its host bindings while the container runs (else `null`).
    pub ports: PortMap,
    pub hairpin_mode: bool,
    #[serde(rename = "LinkLocalIPv6Address")]
    pub link_local_ipv6_address: String,
    #[serde(rename = "LinkLocalIPv6PrefixLen")]
    pub link_local_ipv6_prefix_len: i64,
    #[serde(rename = "SecondaryIPAddresses")]
    pub secondary_ip_addresses: Option<Vec<Value>>,
    #[serde(rename = "SecondaryIPv6Addresses")]
    pub secondary_ipv6_addresses: Option<Vec<Value>>,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    pub gateway: String,
    #[serde(rename = "GlobalIPv6Address")]
    pub global_ipv6_address: String,
    #[serde(rename = "GlobalIPv6PrefixLen")]
    pub global_ipv6_prefix_len: i64,
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    pub ip_prefix_len: i64,
    #[serde(rename = "IPv6Gateway")]
    pub ipv6_gateway: String,
    pub mac_address: String,
    pub networks: BTreeMap<String, EndpointSettings>,
}

/// The part of `GET /containers/{id}/json` that clients read (the CLI's `start -a`,
/// `attach`, `logs`, `port`; compose), read leniently: absent or `null` fields are empty
/// and the rest is ignored, because a client reads it from any daemon, dockerd included.
/// [`ContainerInspect`] is the daemon's whole answer, which it writes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerInspectPart {
    pub id: String,
    /// With the leading slash.
    pub name: String,
    #[serde(deserialize_with = "super::null_as_default")]
    pub state: ContainerState,
    /// `sha256:<hex>`.
    pub image: String,
    #[serde(deserialize_with = "super::null_as_default")]
    pub mounts: Vec<MountPoint>,
    #[serde(deserialize_with = "super::null_as_default")]
    pub config: ContainerConfig,
    #[serde(deserialize_with = "super::null_as_default")]
    pub host_config: HostConfig,
    #[serde(deserialize_with = "super::null_as_default")]
    pub network_settings: NetworkSettingsPart,
}

/// The part of `NetworkSettings` that clients read: the published ports.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkSettingsPart {
    #[serde(deserialize_with = "super::null_as_default")]
    pub ports: PortMap,
}

/// One entry of `GET /containers/json`. Read leniently (absent fields are empty, `null`
/// collections empty) because the CLI reads it from any daemon, dockerd included.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerSummary {
    pub id: String,
    /// With the leading slash.
    #[serde(deserialize_with = "super::null_as_default")]
    pub names: Vec<String>,
    /// The name the container was created from, or the image id when that name moved.
    pub image: String,
    #[serde(rename = "ImageID")]
    pub image_id: String,
    pub command: String,
    /// Unix seconds.
    pub created: i64,
    #[serde(deserialize_with = "super::null_as_default")]
    pub ports: Vec<PortSummary>,
    #[serde(deserialize_with = "super::null_as_default")]
    pub labels: BTreeMap<String, String>,
    pub state: String,
    pub status: String,
    #[serde(deserialize_with = "super::null_as_default")]
    pub host_config: SummaryHostConfig,
    #[serde(deserialize_with = "super::null_as_default")]
    pub network_settings: SummaryNetworkSettings,
    #[serde(deserialize_with = "super::null_as_default")]
    pub mounts: Vec<MountPoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_rw: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_root_fs: Option<u64>,
    /// moby 28's descriptor of the image manifest the container runs (API 1.48+; berth
    /// writes none). Kept as the daemon wrote it: `docker ps`'s `.Platform` prints its
    /// `platform` object as it came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_manifest_descriptor: Option<Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SummaryHostConfig {
    pub network_mode: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SummaryNetworkSettings {
    #[serde(deserialize_with = "super::null_as_default")]
    pub networks: BTreeMap<String, EndpointSettings>,
}

/// `docker image inspect`, in moby 28's field order. The optional fields are those that
/// depend on the API version (`Container`/`ContainerConfig` below 1.45, `VirtualSize` below
/// 1.44) or are omitted when empty (`Variant`). Absent fields read as empty (compose reads
/// it from any daemon; moby 28 leaves out some of them when empty).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageInspect {
    /// `sha256:<hex>` of the config.
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub parent: String,
    pub comment: String,
    pub created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_config: Option<LegacyContainerConfig>,
    pub docker_version: String,
    pub author: String,
    /// The image config's `config`, its keys sorted: moby 28 answers it (below API 1.50) as
    /// a Go map of the image's config overlaid on `legacyConfigFields["v1.49"]`, which are
    /// the fields [`ContainerConfig`] always writes (empty when the image has none).
    #[serde(
        default,
        deserialize_with = "super::null_as_default",
        serialize_with = "keys_sorted"
    )]
    pub config: ContainerConfig,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub os: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_size: Option<u64>,
    pub graph_driver: GraphDriver,
    #[serde(rename = "RootFS")]
    pub root_fs: RootFs,
    pub metadata: ImageMetadata,
}

/// An image's legacy `container_config` (what the container of a commit or build step
/// ran), as image inspect answers it below API 1.45: a Go `container.Config` as moby
/// marshals it, in its struct order, every field without `omitempty` always written (its
/// empty value when the image has none, moby's `legacyConfigFields["v1.49"]`), those with
/// `omitempty` only when not empty. Unlike [`ContainerConfig`] it has `ArgsEscaped` in
/// its place and no unknown fields (moby's struct has none to write).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LegacyContainerConfig {
    pub hostname: String,
    pub domainname: String,
    pub user: String,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    #[serde(skip_serializing_if = "none_or_empty_map")]
    pub exposed_ports: Option<super::PortSet>,
    pub tty: bool,
    pub open_stdin: bool,
    pub stdin_once: bool,
    pub env: Option<Vec<String>>,
    #[serde(deserialize_with = "super::string_or_vec")]
    pub cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "no_check")]
    pub healthcheck: Option<super::HealthConfig>,
    #[serde(skip_serializing_if = "is_false")]
    pub args_escaped: bool,
    pub image: String,
    pub volumes: Option<BTreeMap<String, super::Empty>>,
    pub working_dir: String,
    #[serde(deserialize_with = "super::string_or_vec")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "is_false")]
    pub network_disabled: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mac_address: String,
    pub on_build: Option<Vec<String>>,
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stop_signal: String,
    #[serde(skip_serializing_if = "none_or_zero")]
    pub stop_timeout: Option<i64>,
    #[serde(
        deserialize_with = "super::string_or_vec",
        skip_serializing_if = "none_or_empty_vec"
    )]
    pub shell: Option<Vec<String>>,
}

// `omitempty` as berth has always applied it to the legacy config: absent, `false`, 0,
// "", and empty lists, maps and objects are left out.
fn is_false(b: &bool) -> bool {
    !*b
}

fn none_or_zero(n: &Option<i64>) -> bool {
    n.is_none_or(|n| n == 0)
}

fn none_or_empty_vec(v: &Option<Vec<String>>) -> bool {
    v.as_ref().is_none_or(Vec::is_empty)
}

fn none_or_empty_map<V>(m: &Option<BTreeMap<String, V>>) -> bool {
    m.as_ref().is_none_or(BTreeMap::is_empty)
}

fn no_check(h: &Option<super::HealthConfig>) -> bool {
    h.as_ref()
        .is_none_or(|h| *h == super::HealthConfig::default())
}

/// Writes `config` with its top-level keys in sorted order, as Go marshals a map.
fn keys_sorted<S: serde::Serializer>(config: &ContainerConfig, s: S) -> Result<S::Ok, S::Error> {
    match serde_json::to_value(config).map_err(serde::ser::Error::custom)? {
        Value::Object(m) => m.into_iter().collect::<BTreeMap<_, _>>().serialize(s),
        other => other.serialize(s),
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootFs {
    #[serde(rename = "Type")]
    pub kind: String,
    pub layers: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageMetadata {
    pub last_tag_time: String,
}

/// One entry of `GET /images/json`, in moby 28's field order. `RepoTags`/`RepoDigests`
/// are null below API 1.43 when empty; `VirtualSize` is there below 1.44 only. Read
/// leniently, as [`ContainerSummary`] (dockerd writes an image without labels `null`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageSummary {
    /// -1 when the daemon did not count them.
    pub containers: i64,
    /// Unix seconds.
    pub created: i64,
    pub id: String,
    #[serde(deserialize_with = "super::null_as_default")]
    pub labels: BTreeMap<String, String>,
    pub parent_id: String,
    pub repo_digests: Option<Vec<String>>,
    pub repo_tags: Option<Vec<String>>,
    /// -1 when the daemon did not compute it.
    pub shared_size: i64,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_size: Option<u64>,
}
