//! The daemon's own answers: `GET /version` ([`SystemVersion`]), `GET /info`
//! ([`SystemInfo`]) and `GET /system/df` ([`SystemDfResponse`]), field for field in the order berth writes them (moby's
//! `system.Info` order, as the docker CLI's `{{json .}}` prints it).

use super::IndexMap;
use super::{BuildCacheRecord, ContainerSummary, ImageSummary, Volume};
use crate::swarm;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// `GET /info` (moby's `system.Info`). The fields after `Warnings` are what moby 28 still
/// answers older clients (written only for them; see the daemon's `legacy_info_fields`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SystemInfo {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Containers")]
    pub containers: i64,
    #[serde(rename = "ContainersRunning")]
    pub containers_running: i64,
    #[serde(rename = "ContainersPaused")]
    pub containers_paused: i64,
    #[serde(rename = "ContainersStopped")]
    pub containers_stopped: i64,
    #[serde(rename = "Images")]
    pub images: i64,
    #[serde(rename = "Driver")]
    pub driver: String,
    /// `[name, value]` pairs.
    #[serde(rename = "DriverStatus")]
    pub driver_status: Vec<[String; 2]>,
    #[serde(rename = "Plugins")]
    pub plugins: PluginsInfo,
    #[serde(rename = "MemoryLimit")]
    pub memory_limit: bool,
    #[serde(rename = "SwapLimit")]
    pub swap_limit: bool,
    #[serde(rename = "CpuCfsPeriod")]
    pub cpu_cfs_period: bool,
    #[serde(rename = "CpuCfsQuota")]
    pub cpu_cfs_quota: bool,
    #[serde(rename = "CPUShares")]
    pub cpu_shares: bool,
    #[serde(rename = "CPUSet")]
    pub cpu_set: bool,
    #[serde(rename = "PidsLimit")]
    pub pids_limit: bool,
    #[serde(rename = "IPv4Forwarding")]
    pub ipv4_forwarding: bool,
    #[serde(rename = "Debug")]
    pub debug: bool,
    #[serde(rename = "NFd")]
    pub n_fd: i64,
    #[serde(rename = "OomKillDisable")]
    pub oom_kill_disable: bool,
    #[serde(rename = "NGoroutines")]
    pub n_goroutines: i64,
    /// RFC 3339 with nanoseconds.
    #[serde(rename = "SystemTime")]
    pub system_time: String,
    #[serde(rename = "LoggingDriver")]
    pub logging_driver: String,
    #[serde(rename = "CgroupDriver")]
    pub cgroup_driver: String,
    #[serde(rename = "CgroupVersion")]
    pub cgroup_version: String,
    #[serde(rename = "NEventsListener")]
    pub n_events_listener: i64,
    #[serde(rename = "KernelVersion")]
    pub kernel_version: String,
    #[serde(rename = "OperatingSystem")]
    pub operating_system: String,
    #[serde(rename = "OSVersion")]
    pub os_version: String,
    #[serde(rename = "OSType")]
    pub os_type: String,
    #[serde(rename = "Architecture")]
    pub architecture: String,
    #[serde(rename = "IndexServerAddress")]
    pub index_server_address: String,
    #[serde(rename = "RegistryConfig")]
    pub registry_config: RegistryServiceConfig,
    #[serde(rename = "NCPU")]
    pub ncpu: i64,
    #[serde(rename = "MemTotal")]
    pub mem_total: u64,
    /// Swarm generic resources: berth advertises none (`null`).
    #[serde(rename = "GenericResources")]
    pub generic_resources: Option<Vec<Value>>,
    #[serde(rename = "DockerRootDir")]
    pub docker_root_dir: String,
    #[serde(rename = "HttpProxy")]
    pub http_proxy: String,
    #[serde(rename = "HttpsProxy")]
    pub https_proxy: String,
    #[serde(rename = "NoProxy")]
    pub no_proxy: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Labels")]
    pub labels: Vec<String>,
    #[serde(rename = "ExperimentalBuild")]
    pub experimental_build: bool,
    #[serde(rename = "ServerVersion")]
    pub server_version: String,
    /// By name, in the order the daemon lists them (built-in ones first).
    #[serde(rename = "Runtimes")]
    pub runtimes: IndexMap<String, RuntimeInfo>,
    #[serde(rename = "DefaultRuntime")]
    pub default_runtime: String,
    #[serde(rename = "Swarm")]
    pub swarm: swarm::Info,
    #[serde(rename = "LiveRestoreEnabled")]
    pub live_restore_enabled: bool,
    #[serde(rename = "Isolation")]
    pub isolation: String,
    #[serde(rename = "InitBinary")]
    pub init_binary: String,
    #[serde(rename = "ContainerdCommit")]
    pub containerd_commit: Commit,
    #[serde(rename = "RuncCommit")]
    pub runc_commit: Commit,
    #[serde(rename = "InitCommit")]
    pub init_commit: Commit,
    #[serde(rename = "SecurityOptions")]
    pub security_options: Vec<String>,
    #[serde(rename = "CDISpecDirs")]
    pub cdi_spec_dirs: Vec<String>,
    #[serde(rename = "Warnings")]
    pub warnings: Option<Vec<String>>,
    /// Below API 1.50.
    #[serde(rename = "BridgeNfIptables", skip_serializing_if = "Option::is_none")]
    pub bridge_nf_iptables: Option<bool>,
    /// Below API 1.50.
    #[serde(rename = "BridgeNfIp6tables", skip_serializing_if = "Option::is_none")]
    pub bridge_nf_ip6tables: Option<bool>,
    /// Below API 1.25.
    #[serde(rename = "ExecutionDriver", skip_serializing_if = "Option::is_none")]
    pub execution_driver: Option<String>,
}

/// `Plugins` of `/info`: the volume, network and log drivers; no authorization plugins
/// (`null`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PluginsInfo {
    #[serde(rename = "Volume")]
    pub volume: Vec<String>,
    #[serde(rename = "Network")]
    pub network: Vec<String>,
    #[serde(rename = "Authorization")]
    pub authorization: Option<Vec<String>>,
    #[serde(rename = "Log")]
    pub log: Vec<String>,
}

/// One entry of `Runtimes`: its binary (`built-in` for berth's own).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuntimeInfo {
    pub path: String,
}

/// `ContainerdCommit`, `RuncCommit`, `InitCommit`; `Expected` only below API 1.49.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Commit {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Expected", skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
}

/// `RegistryConfig` of `/info` (moby's `registry.ServiceConfig`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegistryServiceConfig {
    #[serde(rename = "InsecureRegistryCIDRs")]
    pub insecure_registry_cidrs: Vec<String>,
    /// By registry name, in the order the daemon found them (insecure ones, then
    /// docker.io).
    #[serde(rename = "IndexConfigs")]
    pub index_configs: IndexMap<String, IndexInfo>,
    /// `null` when there are none.
    #[serde(rename = "Mirrors")]
    pub mirrors: Option<Vec<String>>,
    /// Below API 1.47, written `null` (`Some(None)`).
    #[serde(
        rename = "AllowNondistributableArtifactsCIDRs",
        deserialize_with = "super::some_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_nondistributable_artifacts_cidrs: Option<Option<Vec<String>>>,
    /// Below API 1.47, written `null` (`Some(None)`).
    #[serde(
        rename = "AllowNondistributableArtifactsHostnames",
        deserialize_with = "super::some_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_nondistributable_artifacts_hostnames: Option<Option<Vec<String>>>,
}

/// One registry of `IndexConfigs` (moby's `registry.IndexInfo`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IndexInfo {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Mirrors")]
    pub mirrors: Vec<String>,
    #[serde(rename = "Secure")]
    pub secure: bool,
    #[serde(rename = "Official")]
    pub official: bool,
}

/// `GET /system/df`: the image layers' total size, then images, containers, volumes (with
/// `UsageData`) and build cache records.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SystemDfResponse {
    #[serde(rename = "LayersSize")]
    pub layers_size: u64,
    #[serde(rename = "Images", deserialize_with = "super::null_as_default")]
    pub images: Vec<ImageSummary>,
    #[serde(rename = "Containers", deserialize_with = "super::null_as_default")]
    pub containers: Vec<ContainerSummary>,
    #[serde(rename = "Volumes", deserialize_with = "super::null_as_default")]
    pub volumes: Vec<Volume>,
    #[serde(rename = "BuildCache", deserialize_with = "super::null_as_default")]
    pub build_cache: Vec<BuildCacheRecord>,
}

/// `GET /version` (moby's `types.Version`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SystemVersion {
    #[serde(rename = "Platform")]
    pub platform: PlatformName,
    #[serde(rename = "Components")]
    pub components: Vec<ComponentVersion>,
    #[serde(rename = "Version")]
    pub version: String,
    #[serde(rename = "ApiVersion")]
    pub api_version: String,
    #[serde(rename = "MinAPIVersion")]
    pub min_api_version: String,
    #[serde(rename = "GitCommit")]
    pub git_commit: String,
    #[serde(rename = "GoVersion")]
    pub go_version: String,
    #[serde(rename = "Os")]
    pub os: String,
    #[serde(rename = "Arch")]
    pub arch: String,
    #[serde(rename = "KernelVersion")]
    pub kernel_version: String,
    #[serde(rename = "BuildTime")]
    pub build_time: String,
}

/// `Platform` of `/version`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlatformName {
    #[serde(rename = "Name")]
    pub name: String,
}

/// One component of `/version` (berth has one, `Engine`); `Details` by key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ComponentVersion {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Version")]
    pub version: String,
    #[serde(rename = "Details")]
    pub details: BTreeMap<String, String>,
}
