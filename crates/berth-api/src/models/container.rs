//! A container's configuration as the create body carries it and inspect answers it:
//! [`ContainerConfig`] (also an image's `config`), [`HostConfig`], and the create body,
//! its answer and `wait`'s.

use super::{
    as_given, null_as_default, string_or_vec, Empty, HealthConfig, Mount, NetworkingConfig,
    PortMap, PortSet,
};
use indexmap::IndexMap;
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

/// `POST /containers/{id}/update` as `berth update` sends it (moby's `UpdateConfig`: the
/// resources it sets, then `RestartPolicy`; `PidsLimit` only when changed). The daemon
/// reads the body as a [`HostConfig`], of which these are fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerUpdateBody {
    #[serde(default)]
    pub blkio_weight: u16,
    #[serde(default)]
    pub cpu_shares: i64,
    #[serde(default)]
    pub memory: i64,
    #[serde(default)]
    pub nano_cpus: i64,
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
    #[serde(default)]
    pub memory_reservation: i64,
    #[serde(default)]
    pub memory_swap: i64,
    #[serde(default)]
    pub restart_policy: RestartPolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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

/// One `--device` (moby's `container.DeviceMapping`): the host device, its path in the
/// container and the cgroup permissions (`rwm`). Missing fields read as "" (the engine
/// refuses an empty `PathOnHost`); fields berth does not know are kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceMapping {
    #[serde(default, deserialize_with = "null_as_default")]
    pub path_on_host: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub path_in_container: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub cgroup_permissions: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One `--blkio-weight-device` (moby's `blkiodev.WeightDevice`): a device and its
/// relative block I/O weight (10-1000, checked by the engine).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WeightDevice {
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub weight: u16,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One `--device-{read,write}-{bps,iops}` (moby's `blkiodev.ThrottleDevice`): a device
/// and its rate limit (bytes or operations per second).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ThrottleDevice {
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub rate: u64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One device request (`--gpus`; moby's `container.DeviceRequest`, no field omitted:
/// nil lists and maps are `null`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceRequest {
    #[serde(default)]
    pub driver: String,
    /// Number of devices, -1 for all.
    #[serde(default)]
    pub count: i64,
    #[serde(default, rename = "DeviceIDs")]
    pub device_ids: Option<Vec<String>>,
    /// An OR list of AND lists of capabilities (`[["gpu"]]`).
    #[serde(default)]
    pub capabilities: Option<Vec<Vec<String>>>,
    #[serde(default)]
    pub options: Option<IndexMap<String, String>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Go's omitempty of a `map[string]string` (`StorageOpt`, `Tmpfs`): nil or empty.
fn no_storage_opt(m: &Option<BTreeMap<String, String>>) -> bool {
    m.as_ref().is_none_or(BTreeMap::is_empty)
}

/// Go's omitempty of `HostConfig.Mounts`: nil or empty.
fn no_mounts(m: &Option<Vec<Mount>>) -> bool {
    m.as_ref().is_none_or(Vec::is_empty)
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
    /// `--storage-opt` (moby's `map[string]string` with omitempty: an empty map is not
    /// written).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "no_storage_opt"
    )]
    pub storage_opt: Option<BTreeMap<String, String>>,
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
    pub devices: Vec<DeviceMapping>,
    #[serde(default)]
    pub memory_reservation: i64,
    #[serde(default)]
    pub memory_swap: i64,
    /// moby's `*int64` without omitempty: none is written as null (inspect shows `<nil>`).
    #[serde(default)]
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
    /// moby's `Mounts []mount.Mount json:",omitempty"`: no key when none.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "no_mounts"
    )]
    pub mounts: Option<Vec<Mount>>,
    /// moby's `Tmpfs map[string]string json:",omitempty"`: no key when none.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "no_storage_opt"
    )]
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
    // The block I/O and device lists below are kept as the client sent them (absent,
    // `null` or a list; read them with [`super::given`]) and written after the fields
    // above, in moby's order: where inspect has always shown them (they were carried in
    // `extra` before they were typed, and the docker CLI sends them in this order).
    /// `--blkio-weight-device`.
    #[serde(
        default,
        deserialize_with = "as_given",
        skip_serializing_if = "Option::is_none"
    )]
    pub blkio_weight_device: Option<Option<Vec<WeightDevice>>>,
    /// `--device-read-bps`.
    #[serde(
        default,
        rename = "BlkioDeviceReadBps",
        deserialize_with = "as_given",
        skip_serializing_if = "Option::is_none"
    )]
    pub blkio_device_read_bps: Option<Option<Vec<ThrottleDevice>>>,
    /// `--device-write-bps`.
    #[serde(
        default,
        rename = "BlkioDeviceWriteBps",
        deserialize_with = "as_given",
        skip_serializing_if = "Option::is_none"
    )]
    pub blkio_device_write_bps: Option<Option<Vec<ThrottleDevice>>>,
    /// `--device-read-iops`.
    #[serde(
        default,
        rename = "BlkioDeviceReadIOps",
        deserialize_with = "as_given",
        skip_serializing_if = "Option::is_none"
    )]
    pub blkio_device_read_iops: Option<Option<Vec<ThrottleDevice>>>,
    /// `--device-write-iops`.
    #[serde(
        default,
        rename = "BlkioDeviceWriteIOps",
        deserialize_with = "as_given",
        skip_serializing_if = "Option::is_none"
    )]
    pub blkio_device_write_iops: Option<Option<Vec<ThrottleDevice>>>,
    /// `--device-cgroup-rule` (`"c 1:3 rwm"`).
    #[serde(
        default,
        deserialize_with = "as_given",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_cgroup_rules: Option<Option<Vec<String>>>,
    /// `--gpus`.
    #[serde(
        default,
        deserialize_with = "as_given",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_requests: Option<Option<Vec<DeviceRequest>>>,
    /// `--annotation` (API 1.43+): OCI annotations handed to the runtime (moby omits an
    /// empty map).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub annotations: Option<BTreeMap<String, String>>,
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

/// A create body naming only the image and the process, the rest left to the daemon's
/// defaults: the throwaway container the CLI makes to export `build --output`'s result.
/// The daemon reads it as a [`ContainerCreateBody`]; a type of its own so the request
/// carries these three keys only (the full body would write every default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessCreateBody {
    pub image: String,
    pub cmd: Vec<String>,
    /// `[]`: the image's entrypoint left out.
    pub entrypoint: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerCreateResponse {
    pub id: String,
    /// moby 28 always writes a list; older daemons wrote `null` for none.
    #[serde(default, deserialize_with = "null_as_default")]
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

    /// The block I/O and device lists were carried in `extra` (echoed in arrival order)
    /// before they were typed: a HostConfig written then reads and writes back to the same
    /// bytes, whether they came as lists, `[]`, `null` or not at all.
    #[test]
    fn typed_blkio_and_device_lists_write_the_same_bytes() {
        // Inspect's HostConfig of a container the docker CLI created, as berth answered it
        // with these fields in `extra` (api_containers golden, g-docker-full).
        let docker_cli = r#"{"Binds":["/tmp:/data:ro"],"ContainerIDFile":"","LogConfig":{"Type":"json-file","Config":{"max-size":"1m"}},"NetworkMode":"default","PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":""}],"81/udp":[{"HostIp":"127.0.0.1","HostPort":"<PORT>"}]},"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3},"AutoRemove":false,"VolumeDriver":"","VolumesFrom":null,"CapAdd":["CAP_NET_ADMIN"],"CapDrop":["CAP_MKNOD"],"CgroupnsMode":"","Dns":["1.1.1.1"],"DnsOptions":["ndots:1"],"DnsSearch":["example.org"],"ExtraHosts":["h:1.2.3.4"],"GroupAdd":["10"],"IpcMode":"private","Cgroup":"","Links":null,"OomScoreAdj":5,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":true,"SecurityOpt":["no-new-privileges"],"UTSMode":"","UsernsMode":"","ShmSize":67108864,"Runtime":"berth","Isolation":"","CpuShares":512,"Memory":67108864,"NanoCpus":1500000000,"CgroupParent":"","BlkioWeight":0,"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"0","CpusetMems":"","Devices":[],"MemoryReservation":33554432,"MemorySwap":134217728,"MemorySwappiness":-1,"OomKillDisable":false,"PidsLimit":10,"Ulimits":[{"Name":"nofile","Soft":1024,"Hard":2048}],"Init":true,"Tmpfs":{"/run":"size=1m"},"MaskedPaths":["/proc/asound"],"ReadonlyPaths":["/proc/bus"],"ConsoleSize":[0,0],"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"DeviceCgroupRules":null,"DeviceRequests":null,"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0}"#;
        let hc: HostConfig = serde_json::from_str(docker_cli).expect("parses");
        assert_eq!(hc.blkio_weight_device, Some(Some(Vec::new())));
        assert_eq!(hc.device_cgroup_rules, Some(None));
        assert_eq!(hc.device_requests, Some(None));
        assert_eq!(
            hc.extra.keys().collect::<Vec<_>>(),
            [
                "CpuCount",
                "CpuPercent",
                "IOMaximumIOps",
                "IOMaximumBandwidth"
            ]
        );
        assert_eq!(serde_json::to_string(&hc).expect("writes"), docker_cli);

        // Lists with values (and a field berth does not know inside an entry), then none.
        let base = serde_json::to_string(&HostConfig::default()).expect("writes");
        let base = base.strip_suffix('}').expect("an object");
        let lists = r#","BlkioWeightDevice":[{"Path":"/dev/sda","Weight":300}],"BlkioDeviceReadBps":[{"Path":"/dev/sda","Rate":1048576}],"BlkioDeviceWriteBps":[{"Path":"/dev/sda","Rate":2}],"BlkioDeviceReadIOps":[{"Path":"/dev/sda","Rate":3}],"BlkioDeviceWriteIOps":[{"Path":"/dev/sda","Rate":4,"Future":true}],"DeviceCgroupRules":["c 1:3 rwm"],"DeviceRequests":[{"Driver":"","Count":-1,"DeviceIDs":null,"Capabilities":[["gpu"]],"Options":{"b":"1","a":"2"}}],"Other":1}"#;
        let text = format!("{base}{lists}");
        let hc: HostConfig = serde_json::from_str(&text).expect("parses");
        assert_eq!(serde_json::to_string(&hc).expect("writes"), text);
        assert_eq!(super::super::given(&hc.blkio_weight_device)[0].weight, 300);
        assert_eq!(
            super::super::given(&hc.blkio_device_read_bps)[0].rate,
            1_048_576
        );
        assert_eq!(super::super::given(&hc.device_cgroup_rules), ["c 1:3 rwm"]);
        let req = &super::super::given(&hc.device_requests)[0];
        assert_eq!((req.count, req.device_ids.as_ref()), (-1, None));
        let none: HostConfig = serde_json::from_str(&format!("{base}}}")).expect("parses");
        assert!(super::super::given(&none.device_requests).is_empty());
        assert_eq!(
            serde_json::to_string(&none).expect("writes"),
            format!("{base}}}")
        );
        // moby's types: a weight is a uint16.
        assert!(serde_json::from_str::<HostConfig>(
            r#"{"BlkioWeightDevice":[{"Path":"/dev/sda","Weight":70000}]}"#
        )
        .is_err());
    }
}
