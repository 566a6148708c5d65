//! `run` and `create`: flags -> the create body the docker CLI sends, and the run flow
//! (create, attach, wait, start, exit with the container's status).

use berth_api::models::{
    given_if_any, parse_expose, parse_publish, ContainerConfig, ContainerCreateBody, DeviceMapping,
    DeviceRequest, Empty, EndpointSettings, HealthConfig, HostConfig, LogConfig, NetworkingConfig,
    PortMap, PortSet, RestartPolicy, ThrottleDevice, Ulimit, WeightDevice,
};
use clap::{CommandFactory, Parser};
use serde_json::Value;
use std::collections::BTreeMap;

use super::{parse, Invocation};
use crate::catalog::Command;
use crate::client::{q, query, Body, Client, ClientError};
use crate::units::ram_in_bytes;
use crate::{CmdResult, Ctx, Failure};

#[derive(Parser, Debug, Default)]
#[command(disable_help_flag = true)]
pub struct CreateOpts {
    #[arg(long, help = "Assign a name to the container", value_name = "string")]
    pub name: Option<String>,
    #[arg(
        long,
        help = "Automatically remove the container and its associated anonymous volumes when it exits"
    )]
    pub rm: bool,
    #[arg(
        short = 'e',
        long = "env",
        value_parser = parse_env,
        help = "Set environment variables",
        value_name = "list"
    )]
    pub env: Vec<String>,
    #[arg(
        long = "env-file",
        help = "Read in a file of environment variables",
        value_name = "list"
    )]
    pub env_file: Vec<String>,
    #[arg(
        short = 'w',
        long = "workdir",
        help = "Working directory inside the container",
        value_name = "string"
    )]
    pub workdir: Option<String>,
    #[arg(
        short = 'u',
        long = "user",
        help = "Username or UID (format: <name|uid>[:<group|gid>])",
        value_name = "string"
    )]
    pub user: Option<String>,
    #[arg(
        long,
        help = "Overwrite the default ENTRYPOINT of the image",
        value_name = "string"
    )]
    pub entrypoint: Option<String>,
    #[arg(short = 'h', long, help = "Container host name", value_name = "string")]
    pub hostname: Option<String>,
    #[arg(long, help = "Container NIS domain name", value_name = "string")]
    pub domainname: Option<String>,
    #[arg(
        short = 'l',
        long = "label",
        help = "Set meta data on a container",
        value_name = "list"
    )]
    pub label: Vec<String>,
    #[arg(
        long = "label-file",
        help = "Read in a line delimited file of labels",
        value_name = "list"
    )]
    pub label_file: Vec<String>,
    #[arg(
        long,
        visible_alias = "net",
        help = "Connect a container to a network",
        value_name = "network"
    )]
    pub network: Option<String>,
    #[arg(
        long = "network-alias",
        visible_alias = "net-alias",
        help = "Add network-scoped alias for the container",
        value_name = "list"
    )]
    pub network_alias: Vec<String>,
    #[arg(
        long,
        help = "IPv4 address (e.g., 172.30.100.104)",
        value_name = "string"
    )]
    pub ip: Option<String>,
    #[arg(
        long,
        help = "IPv6 address (e.g., 2001:db8::33)",
        value_name = "string"
    )]
    pub ip6: Option<String>,
    #[arg(
        long = "link-local-ip",
        help = "Container IPv4/IPv6 link-local addresses",
        value_name = "list"
    )]
    pub link_local_ip: Vec<String>,
    #[arg(
        long = "mac-address",
        help = "Container MAC address (e.g., 92:d0:c6:0a:29:33)",
        value_name = "string"
    )]
    pub mac_address: Option<String>,
    #[arg(short = 'm', long, value_parser = parse_mem, help = "Memory limit", value_name = "bytes")]
    pub memory: Option<String>,
    #[arg(
        long = "memory-swap",
        value_parser = parse_mem_swap,
        help = "Swap limit equal to memory plus swap: '-1' to enable unlimited swap",
        value_name = "bytes"
    )]
    pub memory_swap: Option<String>,
    #[arg(
        long = "memory-reservation",
        value_parser = parse_mem,
        help = "Memory soft limit",
        value_name = "bytes"
    )]
    pub memory_reservation: Option<String>,
    #[arg(
        long = "memory-swappiness",
        help = "Tune container memory swappiness (0 to 100) (default -1)",
        value_name = "int",
        allow_negative_numbers = true
    )]
    pub memory_swappiness: Option<i64>,
    #[arg(long = "shm-size", value_parser = parse_mem, help = "Size of /dev/shm", value_name = "bytes")]
    pub shm_size: Option<String>,
    #[arg(long, value_parser = parse_cpus, help = "Number of CPUs", value_name = "decimal")]
    pub cpus: Option<f64>,
    #[arg(
        long = "cpu-quota",
        help = "Limit CPU CFS (Completely Fair Scheduler) quota",
        value_name = "int"
    )]
    pub cpu_quota: Option<i64>,
    #[arg(
        long = "cpu-period",
        help = "Limit CPU CFS (Completely Fair Scheduler) period",
        value_name = "int"
    )]
    pub cpu_period: Option<i64>,
    #[arg(
        long = "cpu-rt-period",
        help = "Limit CPU real-time period in microseconds",
        value_name = "int",
        allow_negative_numbers = true
    )]
    pub cpu_rt_period: Option<i64>,
    #[arg(
        long = "cpu-rt-runtime",
        help = "Limit CPU real-time runtime in microseconds",
        value_name = "int",
        allow_negative_numbers = true
    )]
    pub cpu_rt_runtime: Option<i64>,
    #[arg(
        long = "storage-opt",
        help = "Storage driver options for the container",
        value_name = "list"
    )]
    pub storage_opt: Vec<String>,
    #[arg(
        long = "volume-driver",
        help = "Optional volume driver for the container",
        value_name = "string"
    )]
    pub volume_driver: Option<String>,
    #[arg(
        long = "use-api-socket",
        help = "Bind mount Docker API socket and required auth"
    )]
    pub use_api_socket: bool,
    #[arg(
        short = 'c',
        long = "cpu-shares",
        help = "CPU shares (relative weight)",
        value_name = "int"
    )]
    pub cpu_shares: Option<i64>,
    #[arg(
        long = "cpuset-cpus",
        help = "CPUs in which to allow execution (0-3, 0,1)",
        value_name = "string"
    )]
    pub cpuset_cpus: Option<String>,
    #[arg(
        long = "pids-limit",
        help = "Tune container pids limit (set -1 for unlimited)",
        value_name = "int"
    )]
    pub pids_limit: Option<i64>,
    #[arg(
        long = "cpuset-mems",
        help = "MEMs in which to allow execution (0-3, 0,1)",
        value_name = "string"
    )]
    pub cpuset_mems: Option<String>,
    #[arg(
        long = "cgroupns",
        help = "Cgroup namespace to use (host|private)\n'host':    Run the container in the Docker host's cgroup namespace\n'private': Run the container in its own private cgroup namespace\n'':        Use the cgroup namespace as configured by the\n           default-cgroupns-mode option on the daemon (default)",
        value_name = "string"
    )]
    pub cgroupns: Option<String>,
    #[arg(
        long = "cgroup-parent",
        help = "Optional parent cgroup for the container",
        value_name = "string"
    )]
    pub cgroup_parent: Option<String>,
    #[arg(
        long = "blkio-weight",
        help = "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)",
        value_name = "uint16"
    )]
    pub blkio_weight: Option<u16>,
    #[arg(
        long = "blkio-weight-device",
        value_parser = parse_weight_device,
        help = "Block IO weight (relative device weight) (default [])",
        value_name = "list"
    )]
    pub blkio_weight_device: Vec<(String, u16)>,
    #[arg(
        long = "device-read-bps",
        value_parser = parse_bps_device,
        help = "Limit read rate (bytes per second) from a device (default [])",
        value_name = "list"
    )]
    pub device_read_bps: Vec<(String, u64)>,
    #[arg(
        long = "device-write-bps",
        value_parser = parse_bps_device,
        help = "Limit write rate (bytes per second) to a device (default [])",
        value_name = "list"
    )]
    pub device_write_bps: Vec<(String, u64)>,
    #[arg(
        long = "device-read-iops",
        value_parser = parse_iops_device,
        help = "Limit read rate (IO per second) from a device (default [])",
        value_name = "list"
    )]
    pub device_read_iops: Vec<(String, u64)>,
    #[arg(
        long = "device-write-iops",
        value_parser = parse_iops_device,
        help = "Limit write rate (IO per second) to a device (default [])",
        value_name = "list"
    )]
    pub device_write_iops: Vec<(String, u64)>,
    #[arg(long, value_parser = parse_ulimit, help = "Ulimit options (default [])", value_name = "ulimit")]
    pub ulimit: Vec<String>,
    #[arg(long = "cap-add", help = "Add Linux capabilities", value_name = "list")]
    pub cap_add: Vec<String>,
    #[arg(
        long = "cap-drop",
        help = "Drop Linux capabilities",
        value_name = "list"
    )]
    pub cap_drop: Vec<String>,
    #[arg(long, help = "Give extended privileges to this container")]
    pub privileged: bool,
    #[arg(
        long = "read-only",
        help = "Mount the container's root filesystem as read only"
    )]
    pub read_only: bool,
    #[arg(long = "security-opt", help = "Security Options", value_name = "list")]
    pub security_opt: Vec<String>,
    #[arg(long, help = "Add a host device to the container", value_name = "list")]
    pub device: Vec<String>,
    #[arg(
        long = "device-cgroup-rule",
        help = "Add a rule to the cgroup allowed devices list",
        value_name = "list"
    )]
    pub device_cgroup_rule: Vec<String>,
    #[arg(
        long,
        help = "GPU devices to add to the container ('all' to pass all GPUs)",
        value_name = "gpu-request"
    )]
    pub gpus: Option<String>,
    #[arg(
        long = "stop-signal",
        help = "Signal to stop the container",
        value_name = "string"
    )]
    pub stop_signal: Option<String>,
    #[arg(
        long = "stop-timeout",
        help = "Timeout (in seconds) to stop a container",
        value_name = "int"
    )]
    pub stop_timeout: Option<i64>,
    #[arg(
        long,
        help = "Restart policy to apply when a container exits (default \"no\")",
        value_name = "string"
    )]
    pub restart: Option<String>,
    #[arg(short = 'i', long, help = "Keep STDIN open even if not attached")]
    pub interactive: bool,
    #[arg(short = 't', long, help = "Allocate a pseudo-TTY")]
    pub tty: bool,
    #[arg(
        short = 'a',
        long,
        help = "Attach to STDIN, STDOUT or STDERR",
        value_name = "list"
    )]
    pub attach: Vec<String>,
    #[arg(
        long = "log-driver",
        help = "Logging driver for the container",
        value_name = "string"
    )]
    pub log_driver: Option<String>,
    #[arg(long = "log-opt", help = "Log driver options", value_name = "list")]
    pub log_opt: Vec<String>,
    #[arg(
        long = "disable-content-trust",
        num_args = 0..=1,
        default_missing_value = "true",
        require_equals = true,
        help = "Skip image verification (default true)",
        value_name = "bool"
    )]
    pub disable_content_trust: Option<bool>,
    // Checked as the docker CLI's opts.ValidateSysctl (namespaced IPC and net keys, KEY=VALUE);
    // the daemon checks the rest.
    #[arg(long, value_parser = berth_api::sysctl::validate, help = "Sysctl options (default map[])", value_name = "map")]
    pub sysctl: Vec<String>,
    #[arg(
        long,
        help = "Add an annotation to the container (passed through to the OCI runtime) (default map[])",
        value_name = "map"
    )]
    pub annotation: Vec<String>,
    #[arg(
        long,
        help = "Run an init inside the container that forwards signals and reaps processes"
    )]
    pub init: bool,
    // Runtime for this container: `berth` (built-in) or an OCI runtime binary (runc, crun).
    #[arg(
        long,
        help = "Runtime to use for this container",
        value_name = "string"
    )]
    pub runtime: Option<String>,
    #[arg(
        short = 'p',
        long,
        help = "Publish a container's port(s) to the host",
        value_name = "list"
    )]
    pub publish: Vec<String>,
    #[arg(
        short = 'P',
        long = "publish-all",
        help = "Publish all exposed ports to random ports"
    )]
    pub publish_all: bool,
    #[arg(long, help = "Expose a port or a range of ports", value_name = "list")]
    pub expose: Vec<String>,
    #[arg(short = 'v', long, help = "Bind mount a volume", value_name = "list")]
    pub volume: Vec<String>,
    #[arg(
        long,
        help = "Attach a filesystem mount to the container",
        value_name = "mount"
    )]
    pub mount: Vec<String>,
    #[arg(long, help = "Mount a tmpfs directory", value_name = "list")]
    pub tmpfs: Vec<String>,
    #[arg(
        long = "volumes-from",
        help = "Mount volumes from the specified container(s)",
        value_name = "list"
    )]
    pub volumes_from: Vec<String>,
    #[arg(long, help = "Set custom DNS servers", value_name = "list")]
    pub dns: Vec<String>,
    #[arg(
        long = "dns-search",
        help = "Set custom DNS search domains",
        value_name = "list"
    )]
    pub dns_search: Vec<String>,
    #[arg(long = "dns-option", help = "Set DNS options", value_name = "list")]
    pub dns_option: Vec<String>,
    #[arg(
        long = "add-host",
        help = "Add a custom host-to-IP mapping (host:ip)",
        value_name = "list"
    )]
    pub add_host: Vec<String>,
    // Add link to another container (NAME[:ALIAS]).
    #[arg(
        long = "link",
        help = "Add link to another container",
        value_name = "list"
    )]
    pub link: Vec<String>,
    #[arg(
        long = "group-add",
        help = "Add additional groups to join",
        value_name = "list"
    )]
    pub group_add: Vec<String>,
    #[arg(
        long,
        help = "Set platform if server is multi-platform capable",
        value_name = "string"
    )]
    pub platform: Option<String>,
    #[arg(
        long,
        help = "Pull image before creating (\"always\", \"|missing\", \"never\") (default \"missing\")",
        value_name = "string"
    )]
    pub pull: Option<String>,
    #[arg(short = 'q', long, help = "Suppress the pull output")]
    pub quiet: bool,
    #[arg(
        long,
        help = "Write the container ID to the file",
        value_name = "string"
    )]
    pub cidfile: Option<String>,
    #[arg(
        long = "isolation",
        help = "Container isolation technology",
        value_name = "string"
    )]
    pub isolation: Option<String>,
    #[arg(
        long = "oom-score-adj",
        help = "Tune host's OOM preferences (-1000 to 1000)",
        value_name = "int"
    )]
    pub oom_score_adj: Option<i64>,
    #[arg(long = "oom-kill-disable", help = "Disable OOM Killer")]
    pub oom_kill_disable: bool,
    #[arg(long, help = "IPC mode to use", value_name = "string")]
    pub ipc: Option<String>,
    #[arg(long, help = "PID namespace to use", value_name = "string")]
    pub pid: Option<String>,
    #[arg(long, help = "UTS namespace to use", value_name = "string")]
    pub uts: Option<String>,
    #[arg(long, help = "User namespace to use", value_name = "string")]
    pub userns: Option<String>,
    #[arg(
        long = "health-cmd",
        help = "Command to run to check health",
        value_name = "string"
    )]
    pub health_cmd: Option<String>,
    #[arg(
        long = "health-interval",
        help = "Time between running the check (ms|s|m|h) (default 0s)",
        value_name = "duration"
    )]
    pub health_interval: Option<String>,
    #[arg(
        long = "health-timeout",
        help = "Maximum time to allow one check to run (ms|s|m|h) (default 0s)",
        value_name = "duration"
    )]
    pub health_timeout: Option<String>,
    #[arg(
        long = "health-start-period",
        help = "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)",
        value_name = "duration"
    )]
    pub health_start_period: Option<String>,
    #[arg(
        long = "health-start-interval",
        help = "Time between running the check during the start period (ms|s|m|h) (default 0s)",
        value_name = "duration"
    )]
    pub health_start_interval: Option<String>,
    #[arg(
        long = "health-retries",
        help = "Consecutive failures needed to report unhealthy",
        value_name = "int"
    )]
    pub health_retries: Option<i64>,
    #[arg(
        long = "no-healthcheck",
        help = "Disable any container-specified HEALTHCHECK"
    )]
    pub no_healthcheck: bool,
    /// Image, then the command and its arguments (flags after the image belong to the command).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Parser, Debug)]
#[command(disable_help_flag = true)]
pub struct RunCmd {
    #[arg(
        short = 'd',
        long,
        help = "Run container in background and print container ID"
    )]
    pub detach: bool,
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true, help = "Proxy received signals to the process (default true)", value_name = "bool")]
    pub sig_proxy: bool,
    #[arg(
        long = "detach-keys",
        help = "Override the key sequence for detaching a container",
        value_name = "string"
    )]
    pub detach_keys: Option<String>,
    #[command(flatten)]
    pub opts: CreateOpts,
}

type FResult<T> = Result<T, String>;

/// `--use-api-socket`: where the docker CLI 28 binds the daemon's socket in the container...
const API_SOCKET: &str = "/var/run/docker.sock";
/// ...and where it puts the config file holding the user's credentials.
const API_SOCKET_CONFIG: &str = "/run/secrets/docker/config.json";
const API_SOCKET_CONFIG_DIR: &str = "/run/secrets/docker";

/// The config.json `--use-api-socket` copies into the container: only `auths`, each entry
/// as the docker CLI's ConfigFile.SaveToWriter writes it (`auth` = base64 `user:password`,
/// the identity token kept), tab-indented as Go's MarshalIndent.
fn api_socket_config(creds: &BTreeMap<String, berth_api::models::AuthConfig>) -> Vec<u8> {
    use base64::Engine as _;
    let auths: serde_json::Map<String, Value> = creds
        .iter()
        .map(|(k, a)| {
            let mut e = serde_json::Map::new();
            if !a.username.is_empty() || !a.password.is_empty() {
                let raw = format!("{}:{}", a.username, a.password);
                e.insert(
                    "auth".into(),
                    base64::engine::general_purpose::STANDARD.encode(raw).into(),
                );
            }
            if !a.email.is_empty() {
                e.insert("email".into(), a.email.clone().into());
            }
            if !a.identitytoken.is_empty() {
                e.insert("identitytoken".into(), a.identitytoken.clone().into());
            }
            if !a.registrytoken.is_empty() {
                e.insert("registrytoken".into(), a.registrytoken.clone().into());
            }
            (k.clone(), Value::Object(e))
        })
        .collect();
    let doc = serde_json::json!({ "auths": auths });
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    // Serialising a Value into a Vec cannot fail.
    let _ = serde::Serialize::serialize(&doc, &mut ser);
    out
}

/// The tar the docker CLI's copyDockerConfigIntoContainer sends: one file, named by its
/// absolute path in the container, mode 0600.
fn api_socket_tar(config: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(config.len() as u64);
    h.set_mode(0o600);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_path(API_SOCKET_CONFIG.trim_start_matches('/'))?;
    h.set_cksum();
    b.append(&h, config)?;
    b.into_inner()
}

/// A docker CLI map option (`--sysctl`, `--annotation`): `KEY=VALUE`, a bare `KEY` meaning
/// an empty value; a later KEY replaces an earlier one.
fn map_opt(list: &[String]) -> Option<BTreeMap<String, String>> {
    (!list.is_empty()).then(|| {
        list.iter()
            .map(|e| match e.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (e.clone(), String::new()),
            })
            .collect()
    })
}

/// `-m`, `--memory-reservation`, `--shm-size`: docker's `opts.MemBytes` (go-units
/// RAMInBytes: no empty value, nothing negative).
fn parse_mem(s: &str) -> Result<String, String> {
    ram_in_bytes(s).map(|_| s.to_string())
}

/// `--memory-swap`: docker's `opts.MemSwapBytes`, [`parse_mem`] or `-1` (unlimited).
fn parse_mem_swap(s: &str) -> Result<String, String> {
    if s == "-1" {
        return Ok(s.to_string());
    }
    parse_mem(s)
}

/// `-e`: docker's `opts.ValidateEnv` on the flag: a variable needs a name.
fn parse_env(s: &str) -> Result<String, String> {
    if s.split('=').next().unwrap_or_default().is_empty() {
        return Err(format!("invalid environment variable: {s}"));
    }
    Ok(s.to_string())
}

/// `DEVICE:WEIGHT` (docker's validateWeightDevice).
fn parse_weight_device(s: &str) -> Result<(String, u16), String> {
    let (path, w) = s
        .split_once(':')
        .ok_or_else(|| format!("bad format: {s}"))?;
    if !path.starts_with("/dev/") {
        return Err(format!("bad format for device path: {s}"));
    }
    let w: u16 = w
        .parse()
        .map_err(|_| format!("invalid weight for device: {s}"))?;
    if w > 0 && !(10..=1000).contains(&w) {
        return Err(format!("invalid weight for device: {s}"));
    }
    Ok((path.to_string(), w))
}

/// `DEVICE:RATE[unit]` (docker's validateThrottleBpsDevice).
fn parse_bps_device(s: &str) -> Result<(String, u64), String> {
    let (path, r) = s
        .split_once(':')
        .ok_or_else(|| format!("bad format: {s}"))?;
    if !path.starts_with("/dev/") {
        return Err(format!("bad format for device path: {s}"));
    }
    let rate = ram_in_bytes(r).ok().filter(|r| *r >= 0).ok_or_else(|| {
        format!("invalid rate for device: {s}. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb")
    })?;
    Ok((path.to_string(), rate as u64))
}

/// `DEVICE:IOPS` (docker's validateThrottleIOpsDevice).
fn parse_iops_device(s: &str) -> Result<(String, u64), String> {
    let (path, r) = s
        .split_once(':')
        .ok_or_else(|| format!("bad format: {s}"))?;
    if !path.starts_with("/dev/") {
        return Err(format!("bad format for device path: {s}"));
    }
    let rate: u64 = r.parse().map_err(|_| {
        format!("invalid rate for device: {s}. The correct format is <device-path>:<number>. Number must be a positive integer")
    })?;
    Ok((path.to_string(), rate))
}

fn parse_cpus(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .map_err(|_| format!("failed to parse {s} as a rational number"))
}

/// With flags and the command sharing one trailing list, an unknown flag before the image
/// lands in `args`; report it as pflag does.
pub fn check_unknown_flag(inv: &Invocation, args: &[String]) -> Result<(), Failure> {
    let Some(first) = args.first().filter(|a| a.starts_with('-') && a.len() > 1) else {
        return Ok(());
    };
    let msg = if first.starts_with("--") {
        format!("unknown flag: {}", first.split('=').next().unwrap_or(first))
    } else {
        let c = first.chars().nth(1).unwrap_or('?');
        format!("unknown shorthand flag: '{c}' in {first}")
    };
    Err(Failure::new(
        format!(
            "{msg}\n\n{}\n\nRun 'berth {} --help' for more information",
            inv.usage_line(),
            inv.path
        ),
        125,
    ))
}

pub fn read_kv_files(files: &[String]) -> FResult<Vec<String>> {
    let mut out = Vec::new();
    for f in files {
        let s = std::fs::read_to_string(f).map_err(|e| format!("open {f}: {}", io_msg(&e)))?;
        for line in s.lines() {
            let l = line.trim_start();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            out.push(l.to_string());
        }
    }
    Ok(out)
}

pub(crate) fn io_msg(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        "no such file or directory".into()
    } else {
        e.to_string()
    }
}

/// docker: `-e FOO` takes FOO from the client's environment (omitted when unset).
fn env_list(opts: &CreateOpts) -> FResult<Vec<String>> {
    let mut all = read_kv_files(&opts.env_file)?;
    all.extend(opts.env.iter().cloned());
    Ok(all
        .into_iter()
        .filter_map(|e| {
            if e.contains('=') {
                Some(e)
            } else {
                std::env::var(&e).ok().map(|v| format!("{e}={v}"))
            }
        })
        .collect())
}

fn labels(opts: &CreateOpts) -> FResult<BTreeMap<String, String>> {
    let mut all = read_kv_files(&opts.label_file)?;
    all.extend(opts.label.iter().cloned());
    Ok(all
        .into_iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
            (k.to_string(), v.to_string())
        })
        .collect())
}

fn norm_cap(c: &str) -> String {
    let u = c.to_uppercase();
    if u == "ALL" || u.starts_with("CAP_") {
        u
    } else {
        format!("CAP_{u}")
    }
}

/// docker's opts.ParseRestartPolicy: the CLI checks only the shape; the daemon judges the
/// policy name (so its message is the daemon's).
fn restart_policy(s: Option<&str>) -> FResult<RestartPolicy> {
    let s = s.unwrap_or("");
    if s.is_empty() {
        return Ok(RestartPolicy {
            name: "no".into(),
            maximum_retry_count: 0,
        });
    }
    let (name, count) = match s.split_once(':') {
        Some(("", _)) => {
            return Err(
                "invalid restart policy format: no policy provided before colon".to_string(),
            )
        }
        Some((n, "")) => (n, 0),
        Some((n, c)) => (
            n,
            c.parse::<i64>().map_err(|_| {
                "invalid restart policy format: maximum retry count must be an integer".to_string()
            })?,
        ),
        None => (s, 0),
    };
    Ok(RestartPolicy {
        name: name.to_string(),
        maximum_retry_count: count,
    })
}

/// Go's strconv.ParseInt error text for a base-10 int64.
fn go_parse_int(s: &str) -> Result<i64, String> {
    s.parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        format!(
            "strconv.ParseInt: parsing {}: {why}",
            super::containers::go_quote(s)
        )
    })
}

/// go-units ParseUlimit: `name=soft[:hard]` -> (name, soft, hard), with its messages.
fn ulimit_parts(u: &str) -> Result<(String, i64, i64), String> {
    const NAMES: [&str; 15] = [
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    ];
    let (name, vals) = u
        .split_once('=')
        .ok_or_else(|| format!("invalid ulimit argument: {u}"))?;
    if !NAMES.contains(&name) {
        return Err(format!("invalid ulimit type: {name}"));
    }
    let parts: Vec<&str> = vals.split(':').collect();
    let (soft, hard) = match parts.as_slice() {
        [soft] => {
            let soft = go_parse_int(soft)?;
            (soft, soft)
        }
        [soft, hard] => {
            let hard = go_parse_int(hard)?;
            (go_parse_int(soft)?, hard)
        }
        _ => {
            return Err(format!(
                "too many limit value arguments - {vals}, can only have up to two, `soft[:hard]`"
            ))
        }
    };
    if hard != -1 && soft > hard {
        return Err(format!(
            "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
        ));
    }
    Ok((name.to_string(), soft, hard))
}

/// `--ulimit` is checked while flags are parsed, as docker's flag Var does.
pub(crate) fn parse_ulimit(u: &str) -> Result<String, String> {
    ulimit_parts(u).map(|_| u.to_string())
}

pub(crate) fn ulimits(list: &[String]) -> FResult<Vec<Ulimit>> {
    list.iter()
        .map(|u| {
            let (name, soft, hard) = ulimit_parts(u)?;
            Ok(Ulimit { name, soft, hard })
        })
        .collect()
}

/// `-p` and `--expose` -> (exposed ports, port bindings), as the docker CLI makes them.
fn ports(publish: &[String], expose: &[String]) -> FResult<(PortSet, PortMap)> {
    let mut exposed = PortSet::new();
    let mut bindings = PortMap::new();
    for p in publish {
        for (key, binding) in parse_publish(p)? {
            exposed.insert(key.clone(), Empty);
            bindings
                .entry(key)
                .or_default()
                .get_or_insert_with(Vec::new)
                .push(binding);
        }
    }
    for e in expose {
        for key in parse_expose(e)? {
            exposed.insert(key, Empty);
        }
    }
    Ok((exposed, bindings))
}

fn opt_ram(v: &Option<String>) -> FResult<i64> {
    match v.as_deref() {
        None | Some("") => Ok(0),
        Some("-1") => Ok(-1),
        Some(s) => ram_in_bytes(s),
    }
}

/// Go's nil slice for an empty list.
fn some_if_any<T: Clone>(v: &[T]) -> Option<Vec<T>> {
    (!v.is_empty()).then(|| v.to_vec())
}

/// The docker CLI's `--security-opt` handling: a seccomp profile is named by its file,
/// whose JSON (compacted) goes to the daemon.
fn security_opts(opts: &[String]) -> FResult<Vec<String>> {
    let mut out = Vec::new();
    for o in opts {
        let kv = if o.contains('=') {
            o.split_once('=')
        } else {
            o.split_once(':')
        };
        match kv {
            Some(("seccomp", path)) if path != "unconfined" && path != "builtin" => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    format!(
                        "opening seccomp profile ({path}) failed: open {path}: {}",
                        go_errno(&e)
                    )
                })?;
                let v: Value = serde_json::from_str(&text).map_err(|e| {
                    format!("compacting json for seccomp profile ({path}) failed: {e}")
                })?;
                out.push(format!("seccomp={v}"));
            }
            _ => out.push(o.clone()),
        }
    }
    Ok(out)
}

/// An OS error as Go prints it ("no such file or directory").
fn go_errno(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut c = text.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `--device HOST[:CONTAINER[:PERMISSIONS]]`, as the docker CLI parses it.
fn devices(list: &[String]) -> FResult<Vec<DeviceMapping>> {
    let mut out = Vec::new();
    for d in list {
        let parts: Vec<&str> = d.split(':').collect();
        let mode = |s: &str| !s.is_empty() && s.len() <= 3 && s.chars().all(|c| "rwm".contains(c));
        let (src, dst, perms) = match parts.as_slice() {
            [src] => (*src, *src, "rwm"),
            [src, x] if mode(x) => (*src, *src, *x),
            [src, dst] => (*src, *dst, "rwm"),
            [src, dst, p] => (*src, if mode(dst) { *src } else { *dst }, *p),
            _ => {
                return Err(format!(
                "invalid argument \"{d}\" for \"--device\" flag: invalid device specification: {d}"
            ))
            }
        };
        out.push(DeviceMapping {
            path_on_host: src.to_string(),
            path_in_container: dst.to_string(),
            cgroup_permissions: perms.to_string(),
            ..Default::default()
        });
    }
    Ok(out)
}

/// `--gpus all|N|device=...`: Docker's device request for the NVIDIA driver.
fn gpu_request(spec: &str) -> FResult<Vec<DeviceRequest>> {
    let (count, ids) = if spec == "all" {
        (-1, None)
    } else if let Some(ids) = spec.strip_prefix("device=") {
        (0, Some(ids.split(',').map(String::from).collect()))
    } else {
        let n: i64 = spec.parse().map_err(|_| {
            format!("invalid argument \"{spec}\" for \"--gpus\" flag: invalid count")
        })?;
        (n, None)
    };
    Ok(vec![DeviceRequest {
        driver: String::new(),
        count,
        device_ids: ids,
        capabilities: Some(vec![vec!["gpu".to_string()]]),
        options: Some(Default::default()),
        ..Default::default()
    }])
}

/// Builds the create body (`container.Config` + HostConfig + NetworkingConfig) as docker does.
/// `--network NAME` or the docker CLI's advanced form
/// `name=NAME,alias=A,driver-opt=K=V,ip=,ip6=,mac-address=,link-local-ip=`.
fn network_option(v: &str) -> FResult<(String, EndpointSettings)> {
    let mut ep = EndpointSettings::default();
    if !v.contains('=') {
        return Ok((v.to_string(), ep));
    }
    let mut name = String::new();
    for part in v.split(',') {
        let (k, val) = part
            .split_once('=')
            .ok_or_else(|| format!("invalid argument \"{v}\" for \"--network\" flag: invalid field '{part}' must be a key=value pair"))?;
        match k.trim().to_ascii_lowercase().as_str() {
            "name" => name = val.to_string(),
            "alias" => ep
                .aliases
                .get_or_insert_with(Vec::new)
                .push(val.to_string()),
            "driver-opt" => {
                let (dk, dv) = val.split_once('=').ok_or_else(|| {
                    format!("invalid argument \"{v}\" for \"--network\" flag: invalid key value pair format in driver options")
                })?;
                ep.driver_opts
                    .get_or_insert_with(BTreeMap::new)
                    .insert(dk.to_string(), dv.to_string());
            }
            "ip" => {
                ep.ipam_config
                    .get_or_insert_with(Default::default)
                    .ipv4_address = Some(val.to_string())
            }
            "ip6" => {
                ep.ipam_config
                    .get_or_insert_with(Default::default)
                    .ipv6_address = Some(val.to_string())
            }
            "link-local-ip" => ep
                .ipam_config
                .get_or_insert_with(Default::default)
                .link_local_ips
                .get_or_insert_with(Vec::new)
                .push(val.to_string()),
            "mac-address" => ep.mac_address = val.to_string(),
            other => {
                return Err(format!(
                    "invalid argument \"{v}\" for \"--network\" flag: invalid field key {other}"
                ))
            }
        }
    }
    if name.is_empty() {
        return Err(format!(
            "invalid argument \"{v}\" for \"--network\" flag: network name/id is not specified"
        ));
    }
    Ok((name, ep))
}

pub fn create_body(opts: &CreateOpts, detach: bool) -> FResult<ContainerCreateBody> {
    // The docker CLI's own range check (the daemon has its own, worded otherwise).
    if let Some(s) = opts
        .memory_swappiness
        .filter(|s| *s != -1 && !(0..=100).contains(s))
    {
        return Err(format!(
            "invalid value: {s}. Valid memory swappiness range is 0-100"
        ));
    }
    if opts.disable_content_trust == Some(false) {
        // The docker CLI would resolve the image through Notary first.
        return Err("--disable-content-trust=false: berth does not sign or verify images with Docker Content Trust (Notary)".into());
    }
    // The docker CLI's own check, before the daemon's.
    if opts.rm
        && opts
            .restart
            .as_deref()
            .is_some_and(|r| !r.is_empty() && r != "no")
    {
        return Err("conflicting options: cannot specify both --restart and --rm".into());
    }
    let image = opts.args.first().cloned().unwrap_or_default();
    let cmd = &opts.args[opts.args.len().min(1)..];
    let (mut attach_in, mut attach_out, mut attach_err) = (false, false, false);
    if !detach {
        if opts.attach.is_empty() {
            attach_out = true;
            attach_err = true;
            attach_in = opts.interactive;
        } else {
            for a in &opts.attach {
                match a.to_lowercase().as_str() {
                    "stdin" => attach_in = true,
                    "stdout" => attach_out = true,
                    "stderr" => attach_err = true,
                    _ => return Err(format!("invalid argument \"{a}\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR")),
                }
            }
        }
    }
    let extra_hosts = opts
        .add_host
        .iter()
        .map(|h| {
            extra_host(h)
                .map_err(|e| format!("invalid argument \"{h}\" for \"--add-host\" flag: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for l in &opts.link {
        if l.split(':').count() > 2 || l.is_empty() {
            return Err(format!(
                "invalid argument \"{l}\" for \"--link\" flag: bad format for links: {l}"
            ));
        }
    }
    let (exposed, bindings) = ports(&opts.publish, &opts.expose)?;
    let (binds, volumes) = super::mount_opts::split_volumes(&opts.volume);
    let tmpfs: BTreeMap<String, String> = opts
        .tmpfs
        .iter()
        .map(|t| {
            let (p, o) = t.split_once(':').unwrap_or((t.as_str(), ""));
            (p.to_string(), o.to_string())
        })
        .collect();
    let mut log_cfg = BTreeMap::new();
    for o in &opts.log_opt {
        let (k, v) = o
            .split_once('=')
            .ok_or_else(|| format!("invalid key/value pair format in logging opts: {o}"))?;
        log_cfg.insert(k.to_string(), v.to_string());
    }
    let (network, advanced) = match opts.network.as_deref() {
        None => ("default".to_string(), EndpointSettings::default()),
        Some(v) => network_option(v)?,
    };
    let mut endpoints = BTreeMap::new();
    if !matches!(network.as_str(), "none" | "host") && !network.starts_with("container:") {
        let mut ep = advanced;
        let ipam = ep.ipam_config.get_or_insert_with(Default::default);
        if opts.ip.is_some() {
            ipam.ipv4_address = opts.ip.clone();
        }
        if opts.ip6.is_some() {
            ipam.ipv6_address = opts.ip6.clone();
        }
        if !opts.link_local_ip.is_empty() {
            ipam.link_local_ips = Some(opts.link_local_ip.clone());
        }
        if ipam.ipv4_address.is_none()
            && ipam.ipv6_address.is_none()
            && ipam.link_local_ips.is_none()
        {
            ep.ipam_config = None;
        }
        if !opts.network_alias.is_empty() {
            ep.aliases
                .get_or_insert_with(Vec::new)
                .extend(opts.network_alias.iter().cloned());
        }
        if let Some(mac) = &opts.mac_address {
            ep.mac_address = mac.clone();
        }
        // As the docker CLI: links on a user-defined network go to its endpoint too.
        let user_defined = network != "default" && network != "bridge";
        if user_defined && !opts.link.is_empty() {
            ep.links = Some(opts.link.clone());
        }
        endpoints.insert(network.clone(), ep);
    } else if opts.mac_address.is_some() || !opts.link_local_ip.is_empty() {
        return Err(format!(
            "conflicting options: {} and the network mode",
            if opts.mac_address.is_some() {
                "mac-address"
            } else {
                "link-local-ip"
            }
        ));
    }
    let caps = |list: &[String]| some_if_any(&list.iter().map(|c| norm_cap(c)).collect::<Vec<_>>());
    // Evaluated in the order the docker CLI reports their errors.
    let restart_policy = restart_policy(opts.restart.as_deref())?;
    let shm_size = opt_ram(&opts.shm_size)?;
    let memory = opt_ram(&opts.memory)?;
    let memory_reservation = opt_ram(&opts.memory_reservation)?;
    let memory_swap = opt_ram(&opts.memory_swap)?;
    let ulimits = ulimits(&opts.ulimit)?;
    let mounts = super::mount_opts::parse_mounts(&opts.mount)?;
    let console_size = match (opts.tty, term_size()) {
        (true, Some((rows, cols))) => [rows.into(), cols.into()],
        _ => [0, 0],
    };
    if !matches!(
        opts.cgroupns.as_deref(),
        None | Some("") | Some("host") | Some("private")
    ) {
        return Err("--cgroupns: invalid CGROUP mode".to_string());
    }
    // The docker CLI's own checks of the namespace modes (parse in opts.go), before any
    // request: `container:` needs a name; a UTS namespace is `host` or private.
    let joins = |m: &str| m.strip_prefix("container:").is_some_and(|n| !n.is_empty());
    if let Some(m) = opts.pid.as_deref().filter(|m| !m.is_empty()) {
        if m != "host" && !joins(m) {
            return Err("--pid: invalid PID mode".to_string());
        }
    }
    if opts
        .uts
        .as_deref()
        .is_some_and(|m| !m.is_empty() && m != "host")
    {
        return Err("--uts: invalid UTS mode".to_string());
    }
    // UsernsMode.Valid: empty or `host`; anything else never reaches the daemon.
    if opts
        .userns
        .as_deref()
        .is_some_and(|m| !m.is_empty() && m != "host")
    {
        return Err("--userns: invalid USER mode".to_string());
    }
    // `systempaths=unconfined` is the docker CLI's: it sends empty masked and read-only
    // path lists instead (parseSystemPaths).
    let (security_opt, unconfined): (Vec<String>, Vec<String>) = opts
        .security_opt
        .iter()
        .cloned()
        .partition(|o| o != "systempaths=unconfined");
    let system_paths = (!unconfined.is_empty()).then(Vec::new);
    // docker's parseStorageOpts: each option is KEY=VALUE (the driver judges the keys).
    let mut storage_opt = BTreeMap::new();
    for o in &opts.storage_opt {
        let (k, v) = o
            .split_once('=')
            .ok_or_else(|| "invalid storage option".to_string())?;
        storage_opt.insert(k.to_string(), v.to_string());
    }
    let host_config = HostConfig {
        binds: some_if_any(&binds),
        container_i_d_file: opts.cidfile.clone().unwrap_or_default(),
        log_config: LogConfig {
            kind: opts.log_driver.clone().unwrap_or_default(),
            config: log_cfg,
        },
        network_mode: network,
        port_bindings: bindings,
        restart_policy,
        auto_remove: opts.rm,
        volumes_from: some_if_any(&opts.volumes_from),
        cap_add: caps(&opts.cap_add),
        cap_drop: caps(&opts.cap_drop),
        dns: opts.dns.clone(),
        dns_options: opts.dns_option.clone(),
        dns_search: opts.dns_search.clone(),
        extra_hosts: some_if_any(&extra_hosts),
        group_add: some_if_any(&opts.group_add),
        ipc_mode: opts.ipc.clone().unwrap_or_default(),
        links: some_if_any(&opts.link),
        oom_score_adj: opts.oom_score_adj.unwrap_or(0),
        pid_mode: opts.pid.clone().unwrap_or_default(),
        privileged: opts.privileged,
        publish_all_ports: opts.publish_all,
        readonly_rootfs: opts.read_only,
        // Given options stay a list even when only systempaths was (`[]`, as docker's).
        security_opt: if opts.security_opt.is_empty() {
            None
        } else {
            Some(security_opts(&security_opt)?)
        },
        masked_paths: system_paths.clone(),
        readonly_paths: system_paths,
        u_t_s_mode: opts.uts.clone().unwrap_or_default(),
        userns_mode: opts.userns.clone().unwrap_or_default(),
        isolation: opts.isolation.clone().unwrap_or_default(),
        cpu_quota: opts.cpu_quota.unwrap_or(0),
        cpu_period: opts.cpu_period.unwrap_or(0),
        cpu_realtime_period: opts.cpu_rt_period.unwrap_or(0),
        cpu_realtime_runtime: opts.cpu_rt_runtime.unwrap_or(0),
        volume_driver: opts.volume_driver.clone().unwrap_or_default(),
        storage_opt: Some(storage_opt),
        shm_size,
        runtime: opts.runtime.clone().unwrap_or_default(),
        cpu_shares: opts.cpu_shares.unwrap_or(0),
        memory,
        nano_cpus: opts.cpus.map(|c| (c * 1e9).round() as i64).unwrap_or(0),
        cpuset_cpus: opts.cpuset_cpus.clone().unwrap_or_default(),
        cpuset_mems: opts.cpuset_mems.clone().unwrap_or_default(),
        cgroupns_mode: opts.cgroupns.clone().unwrap_or_default(),
        cgroup_parent: opts.cgroup_parent.clone().unwrap_or_default(),
        blkio_weight: opts.blkio_weight.unwrap_or(0).into(),
        memory_reservation,
        memory_swap,
        memory_swappiness: Some(opts.memory_swappiness.unwrap_or(-1)),
        oom_kill_disable: Some(opts.oom_kill_disable),
        pids_limit: Some(opts.pids_limit.unwrap_or(0)),
        ulimits,
        init: opts.init.then_some(true),
        mounts: some_if_any(&mounts),
        tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
        console_size: Some(console_size),
        devices: devices(&opts.device)?,
        sysctls: map_opt(&opts.sysctl),
        annotations: map_opt(&opts.annotation),
        ..Default::default()
    };
    let throttle = |list: &[(String, u64)]| {
        given_if_any(
            list.iter()
                .map(|(p, r)| ThrottleDevice {
                    path: p.clone(),
                    rate: *r,
                    ..Default::default()
                })
                .collect(),
        )
    };
    let host_config = HostConfig {
        blkio_weight_device: given_if_any(
            opts.blkio_weight_device
                .iter()
                .map(|(p, w)| WeightDevice {
                    path: p.clone(),
                    weight: *w,
                    ..Default::default()
                })
                .collect(),
        ),
        blkio_device_read_bps: throttle(&opts.device_read_bps),
        blkio_device_write_bps: throttle(&opts.device_write_bps),
        blkio_device_read_iops: throttle(&opts.device_read_iops),
        blkio_device_write_iops: throttle(&opts.device_write_iops),
        device_cgroup_rules: given_if_any(opts.device_cgroup_rule.clone()),
        device_requests: opts.gpus.as_deref().map(gpu_request).transpose()?.map(Some),
        ..host_config
    };
    let config = ContainerConfig {
        hostname: opts.hostname.clone().unwrap_or_default(),
        domainname: opts.domainname.clone().unwrap_or_default(),
        user: opts.user.clone().unwrap_or_default(),
        attach_stdin: attach_in,
        attach_stdout: attach_out,
        attach_stderr: attach_err,
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        tty: opts.tty,
        open_stdin: opts.interactive,
        stdin_once: opts.interactive && attach_in && !detach,
        env: some_if_any(&env_list(opts)?),
        cmd: some_if_any(cmd),
        image,
        volumes: Some(volumes),
        working_dir: opts.workdir.clone().unwrap_or_default(),
        entrypoint: opts.entrypoint.as_ref().map(|e| vec![e.clone()]),
        labels: Some(labels(opts)?),
        stop_signal: opts.stop_signal.clone(),
        stop_timeout: opts.stop_timeout,
        healthcheck: healthcheck(opts)?,
        ..Default::default()
    };
    Ok(ContainerCreateBody {
        config,
        host_config,
        networking_config: Some(NetworkingConfig {
            endpoints_config: endpoints,
            ..Default::default()
        }),
    })
}

/// `--health-*` and `--no-healthcheck` as the docker CLI turns them into `Healthcheck`
/// (durations in nanoseconds; absent when no flag was given).
fn healthcheck(opts: &CreateOpts) -> FResult<Option<HealthConfig>> {
    let durations = [
        ("--health-interval", &opts.health_interval),
        ("--health-timeout", &opts.health_timeout),
        ("--health-start-period", &opts.health_start_period),
        ("--health-start-interval", &opts.health_start_interval),
    ];
    let any_option = opts.health_cmd.is_some()
        || opts.health_retries.is_some()
        || durations.iter().any(|(_, v)| v.is_some());
    if opts.no_healthcheck {
        if any_option {
            return Err("--no-healthcheck conflicts with --health-* options".into());
        }
        return Ok(Some(HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        }));
    }
    if !any_option {
        return Ok(None);
    }
    let mut ns = [0i64; 4];
    for (i, (flag, v)) in durations.iter().enumerate() {
        if let Some(v) = v {
            let secs = crate::units::parse_go_duration(v).ok_or_else(|| {
                format!(
                    "invalid argument \"{v}\" for \"{flag}\" flag: time: invalid duration \"{v}\""
                )
            })?;
            if secs < 0.0 {
                return Err(format!("{} cannot be negative", flag));
            }
            ns[i] = (secs * 1e9).round() as i64;
        }
    }
    let retries = opts.health_retries.unwrap_or(0);
    if retries < 0 {
        return Err("--health-retries cannot be negative".into());
    }
    // The docker CLI leaves out what no flag set (Go's omitempty): berth sends the
    // durations and retries as given, 0 included, and no Test without --health-cmd.
    Ok(Some(HealthConfig {
        test: opts
            .health_cmd
            .as_ref()
            .map(|cmd| vec!["CMD-SHELL".into(), cmd.clone()]),
        interval: Some(ns[0]),
        timeout: Some(ns[1]),
        start_period: Some(ns[2]),
        start_interval: Some(ns[3]),
        retries: Some(retries),
        ..Default::default()
    }))
}

fn term_size() -> Option<(u16, u16)> {
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes a winsize into the struct we own.
    let r = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) };
    if r == 0 && ws.ws_row > 0 {
        Some((ws.ws_row, ws.ws_col))
    } else {
        None
    }
}

/// docker's default tag normalisation for messages: "busybox" -> "busybox:latest".
pub fn with_latest(r: &str) -> String {
    let last = r.rsplit('/').next().unwrap_or(r);
    if r.contains('@') || last.contains(':') {
        r.to_string()
    } else {
        format!("{r}:latest")
    }
}

/// docker's toStatusError: exit code from an engine error message, message with help hint.
fn status_error(inv: &Invocation, msg: &str) -> Failure {
    // Flag value errors (--mount) read as pflag's, with the usage line.
    if msg.starts_with("invalid argument \"") {
        return Failure::new(
            format!(
                "{msg}\n\n{}\n\nRun 'berth {} --help' for more information",
                inv.usage_line(),
                inv.path
            ),
            125,
        );
    }
    let code = if msg.contains("executable file not found")
        || msg.contains("no such file or directory")
        || msg.contains("system cannot find the file specified")
    {
        127
    } else if msg.contains("permission denied") || msg.contains("is a directory") {
        126
    } else {
        125
    };
    Failure::new(
        format!(
            "berth: {msg}\n\nRun 'berth {} --help' for more information",
            inv.path
        ),
        code,
    )
}

/// A daemon error from creating: `docker create` returns it as is (exit 1), `docker run`
/// reports it with its help hint and exit 125.
fn daemon_error(inv: &Invocation, msg: &str) -> Failure {
    if inv.path.ends_with("create") {
        Failure::new(msg, 1)
    } else {
        status_error(inv, msg)
    }
}

fn do_create(
    c: &Client,
    inv: &Invocation,
    opts: &CreateOpts,
    detach: bool,
) -> Result<String, Failure> {
    let mut body = create_body(opts, detach).map_err(|e| status_error(inv, &e))?;
    // docker CLI 28's --use-api-socket: the socket this CLI talks to (a unix one only)
    // bound at /var/run/docker.sock, and, when the user has credentials, DOCKER_CONFIG
    // pointing at the config file copied in after the create. The credentials are read
    // first, so that a failure leaves no container behind.
    let creds = if opts.use_api_socket {
        let socket = c.host.strip_prefix("unix://").ok_or_else(|| {
            daemon_error(
                inv,
                &format!(
                    "flag --use-api-socket can only be used with unix sockets: docker endpoint {} incompatible",
                    c.host
                ),
            )
        })?;
        body.host_config
            .mounts
            .get_or_insert_with(Vec::new)
            .push(berth_api::models::Mount {
                kind: "bind".into(),
                source: socket.to_string(),
                target: API_SOCKET.into(),
                bind_options: Some(Default::default()),
                ..Default::default()
            });
        let creds = super::registry::all_credentials()
            .map_err(|e| daemon_error(inv, &format!("resolving credentials failed: {e}")))?;
        if !creds.is_empty() {
            body.config
                .env
                .get_or_insert_with(Vec::new)
                .push(format!("DOCKER_CONFIG={API_SOCKET_CONFIG_DIR}"));
        }
        Some(creds)
    } else {
        None
    };
    let body = serde_json::to_value(&body).map_err(|e| status_error(inv, &e.to_string()))?;
    let mut path = "/containers/create".to_string();
    let mut qs = Vec::new();
    if let Some(n) = &opts.name {
        qs.push(format!("name={}", q(n)));
    }
    if let Some(p) = &opts.platform {
        qs.push(format!("platform={}", q(p)));
    }
    path.push_str(&query(&qs));
    let image = opts.args.first().cloned().unwrap_or_default();
    let policy = opts.pull.as_deref().unwrap_or("missing");
    if !["always", "missing", "never"].contains(&policy) {
        return Err(status_error(
            inv,
            &format!("invalid pull option: '{policy}': must be one of \"always\", \"missing\" or \"never\""),
        ));
    }
    // The docker CLI parses the image reference before any request (createContainer).
    if let Err(e) = berth_image::parse_any(&image) {
        return Err(daemon_error(inv, &e.to_string()));
    }
    if policy == "always" {
        super::registry::pull_quietly(c, &image, opts.platform.as_deref(), opts.quiet)
            .map_err(|e| daemon_error(inv, &e))?;
    }
    let resp = match c.post_json(&path, Body::Json(body.clone())) {
        Ok(v) => v,
        Err(ClientError::Daemon {
            status: 404,
            message,
        }) if message.contains("No such image") && policy == "missing" => {
            if !opts.quiet {
                eprintln!("Unable to find image '{}' locally", with_latest(&image));
            }
            super::registry::pull_quietly(c, &image, opts.platform.as_deref(), opts.quiet)
                .map_err(|e| daemon_error(inv, &e))?;
            c.post_json(&path, Body::Json(body))
                .map_err(|e| daemon_error(inv, &e.to_string()))?
        }
        Err(e) => return Err(daemon_error(inv, &e.to_string())),
    };
    if let Some(w) = resp.get("Warnings").and_then(|w| w.as_array()) {
        for w in w.iter().filter_map(|w| w.as_str()) {
            eprintln!("WARNING: {w}");
        }
    }
    let id = resp
        .get("Id")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    if let Some(f) = &opts.cidfile {
        let _ = std::fs::write(f, &id);
    }
    if let Some(creds) = creds.filter(|c| !c.is_empty()) {
        // As the docker CLI: the credentials go into the created container's filesystem.
        let fail = |e: String| {
            daemon_error(
                inv,
                &format!("injecting docker config.json into container failed: {e}"),
            )
        };
        let data = api_socket_tar(&api_socket_config(&creds))
            .map_err(|e| fail(format!("writing config to tar file for config copy: {e}")))?;
        let path = format!(
            "/containers/{}/archive?path=%2F&noOverwriteDirNonDir=true",
            q(&id)
        );
        c.call(
            "PUT",
            &path,
            Body::Stream(&mut data.as_slice(), "application/x-tar"),
        )
        .and_then(|r| r.bytes().map(|_| ()))
        .map_err(|e| fail(format!("copying config.json into container failed: {e}")))?;
    }
    Ok(id)
}

/// `--use-api-socket` binds the socket this CLI talks to: a non-unix endpoint is refused
/// before any request, as the docker CLI 28 refuses it.
fn check_api_socket_endpoint(
    ctx: &Ctx,
    inv: &Invocation,
    opts: &CreateOpts,
) -> Result<(), Failure> {
    if !opts.use_api_socket {
        return Ok(());
    }
    let host = ctx.endpoint()?.host;
    if host.starts_with("unix://") {
        return Ok(());
    }
    Err(daemon_error(
        inv,
        &format!(
            "flag --use-api-socket can only be used with unix sockets: docker endpoint {host} incompatible"
        ),
    ))
}

pub fn cmd_create(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let opts: CreateOpts = parse(inv, args)?;
    check_unknown_flag(inv, &opts.args)?;
    inv.at_least(&opts.args, 1)?;
    check_api_socket_endpoint(ctx, inv, &opts)?;
    let c = ctx.client()?;
    let id = do_create(c, inv, &opts, true)?;
    println!("{id}");
    Ok(0)
}

pub fn cmd_run(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let run: RunCmd = parse(inv, args)?;
    let opts = &run.opts;
    check_unknown_flag(inv, &opts.args)?;
    inv.at_least(&opts.args, 1)?;
    let stdin_tty = nix::unistd::isatty(0).unwrap_or(false);
    if opts.tty && opts.interactive && !run.detach && !stdin_tty {
        return Err(Failure::new("the input device is not a TTY", 1));
    }
    check_api_socket_endpoint(ctx, inv, opts)?;
    let c = ctx.client()?;
    let id = do_create(c, inv, opts, run.detach)?;
    if run.detach {
        c.call("POST", &format!("/containers/{id}/start"), Body::None)
            .map_err(|e| status_error(inv, &e.to_string()))?;
        println!("{id}");
        return Ok(0);
    }
    let attach_in = opts.interactive
        && (opts.attach.is_empty() || opts.attach.iter().any(|a| a.eq_ignore_ascii_case("stdin")));
    let want =
        |s: &str| opts.attach.is_empty() || opts.attach.iter().any(|a| a.eq_ignore_ascii_case(s));
    let keys = detach_keys(run.detach_keys.as_deref())?;
    attach_start_wait(
        c,
        inv,
        &id,
        opts.tty,
        attach_in,
        want("stdout"),
        want("stderr"),
        opts.rm,
        keys,
    )
}

/// The detach sequence from `--detach-keys` (Docker's default Ctrl-P Ctrl-Q).
pub fn detach_keys(flag: Option<&str>) -> Result<Vec<u8>, Failure> {
    match flag {
        None | Some("") => Ok(berth_api::detach::DEFAULT.to_vec()),
        Some(k) => berth_api::detach::parse(k).map_err(|e| Failure::new(e, 125)),
    }
}

/// Attaches, registers the wait, starts, streams, and returns the exit status.
#[allow(clippy::too_many_arguments)]
pub fn attach_start_wait(
    c: &Client,
    inv: &Invocation,
    id: &str,
    tty: bool,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    auto_remove: bool,
    detach_keys: Vec<u8>,
) -> CmdResult {
    let b = |x: bool| if x { "1" } else { "0" };
    let (sock, leftover) = c
        .hijack(&format!(
            "/containers/{id}/attach?stream=1&stdin={}&stdout={}&stderr={}",
            b(stdin),
            b(stdout),
            b(stderr)
        ))
        .map_err(|e| status_error(inv, &e.to_string()))?;
    let cond = if auto_remove { "removed" } else { "next-exit" };
    // The daemon answers the wait's head at once; the body comes when the container exits.
    let wait_resp = c
        .call(
            "POST",
            &format!("/containers/{id}/wait?condition={cond}"),
            Body::None,
        )
        .map_err(|e| status_error(inv, &e.to_string()))?;
    let waiter = std::thread::spawn(move || -> Result<i64, String> {
        let v = wait_resp.json().map_err(|e| e.to_string())?;
        if let Some(m) = v
            .get("Error")
            .and_then(|e| e.get("Message"))
            .and_then(|m| m.as_str())
        {
            if !m.is_empty() {
                return Err(m.to_string());
            }
        }
        Ok(v.get("StatusCode").and_then(|s| s.as_i64()).unwrap_or(0))
    });
    if let Err(e) = c.call("POST", &format!("/containers/{id}/start"), Body::None) {
        let _ = sock.shutdown(std::net::Shutdown::Both);
        return Err(status_error(inv, &e.to_string()));
    }
    let session = crate::session::Session {
        client: c,
        tty,
        stdin,
        detach_keys,
        resize_path: Some(format!("/containers/{id}/resize")),
    };
    if session.run(sock, leftover) == crate::session::Ended::Detached {
        // The container goes on; its exit status is not ours to report.
        return Ok(0);
    }
    match waiter.join() {
        Ok(Ok(code)) => Ok(code as i32),
        Ok(Err(m)) => Err(Failure::new(format!("berth: {m}"), 125)),
        Err(_) => Err(Failure::new("berth: wait failed", 125)),
    }
}

/// `--add-host NAME:IP` or `NAME=IP` (IP may be `host-gateway` or a bracketed IPv6), checked
/// and normalised to `NAME:IP` as the docker CLI's ValidateExtraHost does.
pub(crate) fn extra_host(val: &str) -> Result<String, String> {
    let (k, v) = val
        .split_once('=')
        .or_else(|| val.split_once(':'))
        .filter(|(k, _)| !k.is_empty() && !k.contains(':'))
        .ok_or_else(|| format!("bad format for add-host: {val:?}"))?;
    if v != "host-gateway" {
        let ip = v
            .strip_prefix('[')
            .and_then(|x| x.strip_suffix(']'))
            .filter(|x| !x.is_empty())
            .unwrap_or(v);
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(format!("invalid IP address in add-host: {ip:?}"));
        }
        return Ok(format!("{k}:{ip}"));
    }
    Ok(format!("{k}:{v}"))
}

/// `run`'s flags as its help shows them (`--pull` says "running").
fn run_flags() -> clap::Command {
    RunCmd::command().mut_arg("pull", |a| {
        a.help(
            "Pull image before running (\"always\", \"missing\", \"never\") (default \"missing\")",
        )
    })
}

/// The commands this module implements (see `catalog.rs`).
pub(crate) static COMMANDS: &[Command] = &[
    Command::new(
        "container create",
        "[OPTIONS] IMAGE [COMMAND] [ARG...]",
        "Create a new container",
        CreateOpts::command,
        cmd_create,
    )
    .aliases(&["create"]),
    Command::new(
        "container run",
        "[OPTIONS] IMAGE [COMMAND] [ARG...]",
        "Create and run a new container from an image",
        run_flags,
        cmd_run,
    )
    .aliases(&["run"]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_devices_send_the_same_bytes() {
        let flags: Vec<String> = [
            "/dev/null:/dev/n:rw",
            "/dev/zero",
            "/dev/fuse:rm",
            "/dev/a:/dev/b",
        ]
        .map(String::from)
        .to_vec();
        // The entries as json! built them before DeviceMapping.
        let before: Vec<Value> = [
            ("/dev/null", "/dev/n", "rw"),
            ("/dev/zero", "/dev/zero", "rwm"),
            ("/dev/fuse", "/dev/fuse", "rm"),
            ("/dev/a", "/dev/b", "rwm"),
        ]
        .iter()
        .map(|(src, dst, perms)| json!({"PathOnHost": src, "PathInContainer": dst, "CgroupPermissions": perms}))
        .collect();
        assert_eq!(
            serde_json::to_string(&devices(&flags).unwrap()).unwrap(),
            serde_json::to_string(&before).unwrap()
        );
    }
    use serde_json::{json, Value};

    /// The create body as the CLI sent it before the block I/O and device lists were
    /// typed: the new body with those fields moved back into `extra`, inserted as the old
    /// code did (json!, in its order).
    fn body_before(o: &CreateOpts) -> String {
        let mut b = create_body(o, true).unwrap();
        let hc = &mut b.host_config;
        hc.blkio_weight_device = None;
        hc.blkio_device_read_bps = None;
        hc.blkio_device_write_bps = None;
        hc.blkio_device_read_iops = None;
        hc.blkio_device_write_iops = None;
        hc.device_cgroup_rules = None;
        hc.device_requests = None;
        if !o.device_cgroup_rule.is_empty() {
            hc.extra
                .insert("DeviceCgroupRules".into(), json!(o.device_cgroup_rule));
        }
        if !o.blkio_weight_device.is_empty() {
            let v: Vec<Value> = o
                .blkio_weight_device
                .iter()
                .map(|(p, w)| json!({"Path": p, "Weight": w}))
                .collect();
            hc.extra.insert("BlkioWeightDevice".into(), json!(v));
        }
        for (key, list) in [
            ("BlkioDeviceReadBps", &o.device_read_bps),
            ("BlkioDeviceWriteBps", &o.device_write_bps),
            ("BlkioDeviceReadIOps", &o.device_read_iops),
            ("BlkioDeviceWriteIOps", &o.device_write_iops),
        ] {
            if !list.is_empty() {
                let v: Vec<Value> = list
                    .iter()
                    .map(|(p, r)| json!({"Path": p, "Rate": r}))
                    .collect();
                hc.extra.insert(key.into(), json!(v));
            }
        }
        if let Some(g) = &o.gpus {
            let (count, ids) = if g == "all" {
                (-1, Value::Null)
            } else if let Some(ids) = g.strip_prefix("device=") {
                (0, json!(ids.split(',').collect::<Vec<_>>()))
            } else {
                (g.parse::<i64>().unwrap(), Value::Null)
            };
            hc.extra.insert(
                "DeviceRequests".into(),
                json!([{"Driver": "", "Count": count, "DeviceIDs": ids, "Capabilities": [["gpu"]], "Options": {}}]),
            );
        }
        serde_json::to_string(&b).unwrap()
    }

    #[test]
    fn typed_blkio_and_device_lists_send_the_same_bytes() {
        let opts = |args: &[&str]| {
            CreateOpts::try_parse_from(
                ["run"]
                    .into_iter()
                    .chain(args.iter().copied())
                    .chain(["busybox"]),
            )
            .unwrap()
        };
        let new = |o: &CreateOpts| serde_json::to_string(&create_body(o, true).unwrap()).unwrap();
        for args in [
            &[][..],
            &["--blkio-weight-device", "/dev/sda:300"][..],
            &[
                "--blkio-weight-device",
                "/dev/sda:300",
                "--blkio-weight-device",
                "/dev/sdb:20",
                "--device-read-bps",
                "/dev/sda:1mb",
                "--device-write-bps",
                "/dev/sda:2kb",
                "--device-read-iops",
                "/dev/sda:30",
                "--device-write-iops",
                "/dev/sda:40",
            ][..],
            &[
                "--device-cgroup-rule",
                "c 1:3 rwm",
                "--device-cgroup-rule",
                "b *:* m",
            ][..],
            &["--gpus", "all"][..],
            &["--gpus", "2", "--device-write-iops", "/dev/sda:40"][..],
            &["--gpus", "device=0,1", "--device-cgroup-rule", "a 7:* r"][..],
        ] {
            let o = opts(args);
            assert_eq!(new(&o), body_before(&o), "{args:?}");
        }
        // Rules with block I/O lists: the typed body writes them in moby's order (the block
        // I/O lists first, as the docker CLI sends them); the old one wrote the rules first.
        // The same values, read the same by the daemon.
        let o = opts(&[
            "--device-cgroup-rule",
            "c 1:3 rwm",
            "--device-read-bps",
            "/dev/sda:1mb",
        ]);
        let (now, before) = (new(&o), body_before(&o));
        assert_ne!(now, before);
        let read = |t: &str| serde_json::from_str::<Value>(t).unwrap();
        assert_eq!(read(&now), read(&before));
        assert!(now.find("BlkioDeviceReadBps") < now.find("DeviceCgroupRules"));
    }

    fn body(args: &[&str]) -> Value {
        let argv = std::iter::once("run").chain(args.iter().copied());
        let opts = CreateOpts::try_parse_from(argv).map_err(|e| e.to_string());
        match opts {
            Ok(o) => create_body(&o, true)
                .map(|b| serde_json::to_value(b).unwrap_or_default())
                .unwrap_or_else(|e| json!({ "error": e })),
            Err(e) => json!({ "error": e }),
        }
    }

    #[test]
    fn content_trust_on_is_refused_and_map_flags_fold() {
        let err = body(&["--disable-content-trust=false", "busybox"]);
        assert!(
            err["error"].as_str().unwrap_or("").contains("Notary"),
            "{err}"
        );
        for ok in [
            &["--disable-content-trust", "busybox"][..],
            &["--disable-content-trust=true", "busybox"],
        ] {
            assert!(body(ok).get("error").is_none(), "{ok:?}");
        }
        let b = body(&[
            "--annotation",
            "a=1",
            "--annotation",
            "bare",
            "--annotation",
            "a=2=3",
            "--sysctl",
            "net.core.somaxconn=5",
            "busybox",
        ]);
        assert_eq!(
            b["HostConfig"]["Annotations"],
            json!({"a": "2=3", "bare": ""})
        );
        assert_eq!(
            b["HostConfig"]["Sysctls"],
            json!({"net.core.somaxconn": "5"})
        );
        let bad = body(&["--sysctl", "kernel.foo=1", "busybox"]);
        assert!(
            bad["error"]
                .as_str()
                .unwrap_or("")
                .contains("sysctl 'kernel.foo=1' is not allowed"),
            "{bad}"
        );
        assert!(body(&["busybox"])["HostConfig"]
            .get("Annotations")
            .is_none());
    }

    #[test]
    fn matches_docker_cli_body() {
        // Reference values captured from docker 28.2.2's create request.
        let b = body(&[
            "--name",
            "x",
            "-e",
            "A=1",
            "-w",
            "/tmp",
            "-u",
            "1000",
            "--entrypoint",
            "/bin/sh",
            "-h",
            "hn",
            "-l",
            "k=v",
            "--network",
            "none",
            "-m",
            "64m",
            "--memory-swap",
            "128m",
            "--cpus",
            "1.5",
            "-c",
            "512",
            "--pids-limit",
            "10",
            "--ulimit",
            "nofile=1024:2048",
            "--cap-add",
            "NET_ADMIN",
            "--cap-drop",
            "MKNOD",
            "--read-only",
            "--security-opt",
            "no-new-privileges",
            "--stop-signal",
            "SIGINT",
            "--stop-timeout",
            "5",
            "--restart",
            "on-failure:3",
            "--log-driver",
            "json-file",
            "--log-opt",
            "max-size=1m",
            "--init",
            "-p",
            "8080:80",
            "-v",
            "/tmp:/data:ro",
            "--tmpfs",
            "/run",
            "--dns",
            "1.1.1.1",
            "--add-host",
            "h:1.2.3.4",
            "busybox",
            "-c",
            "echo hi",
        ]);
        let h = &b["HostConfig"];
        assert_eq!(b["Hostname"], "hn");
        assert_eq!(b["User"], "1000");
        assert_eq!(b["Env"], json!(["A=1"]));
        assert_eq!(b["Cmd"], json!(["-c", "echo hi"]));
        assert_eq!(b["Entrypoint"], json!(["/bin/sh"]));
        assert_eq!(b["Image"], "busybox");
        assert_eq!(b["Labels"], json!({"k":"v"}));
        assert_eq!(b["StopSignal"], "SIGINT");
        assert_eq!(b["StopTimeout"], 5);
        assert_eq!(b["ExposedPorts"], json!({"80/tcp":{}}));
        assert_eq!(h["Binds"], json!(["/tmp:/data:ro"]));
        assert_eq!(
            h["LogConfig"],
            json!({"Type":"json-file","Config":{"max-size":"1m"}})
        );
        assert_eq!(h["NetworkMode"], "none");
        assert_eq!(
            h["PortBindings"],
            json!({"80/tcp":[{"HostIp":"","HostPort":"8080"}]})
        );
        assert_eq!(
            h["RestartPolicy"],
            json!({"Name":"on-failure","MaximumRetryCount":3})
        );
        assert_eq!(h["CapAdd"], json!(["CAP_NET_ADMIN"]));
        assert_eq!(h["CapDrop"], json!(["CAP_MKNOD"]));
        assert_eq!(h["Dns"], json!(["1.1.1.1"]));
        assert_eq!(h["ExtraHosts"], json!(["h:1.2.3.4"]));
        assert_eq!(extra_host("a=10.0.0.1"), Ok("a:10.0.0.1".into()));
        assert_eq!(extra_host("gw:host-gateway"), Ok("gw:host-gateway".into()));
        assert_eq!(extra_host("v6:[::1]"), Ok("v6:::1".into()));
        assert_eq!(extra_host("v6=::1"), Ok("v6:::1".into()));
        assert_eq!(
            extra_host("nohost"),
            Err("bad format for add-host: \"nohost\"".into())
        );
        assert_eq!(
            extra_host("h:notanip"),
            Err("invalid IP address in add-host: \"notanip\"".into())
        );
        assert_eq!(h["ReadonlyRootfs"], true);
        assert_eq!(h["SecurityOpt"], json!(["no-new-privileges"]));
        assert_eq!(h["Tmpfs"], json!({"/run":""}));
        assert_eq!(h["CpuShares"], 512);
        assert_eq!(h["Memory"], 67108864);
        assert_eq!(h["NanoCpus"], 1500000000i64);
        assert_eq!(h["MemorySwap"], 134217728);
        assert_eq!(h["PidsLimit"], 10);
        assert_eq!(
            h["Ulimits"],
            json!([{"Name":"nofile","Hard":2048,"Soft":1024}])
        );
        assert_eq!(h["Init"], true);
        assert_eq!(b["NetworkingConfig"], json!({"EndpointsConfig":{}}));
    }

    #[test]
    fn defaults_match_docker() {
        let b = body(&["--rm", "busybox"]);
        assert_eq!(b["Cmd"], Value::Null);
        assert_eq!(b["Env"], Value::Null);
        assert_eq!(b["Labels"], json!({}));
        assert_eq!(b["HostConfig"]["AutoRemove"], true);
        assert_eq!(b["HostConfig"]["NetworkMode"], "default");
        assert_eq!(
            b["HostConfig"]["RestartPolicy"],
            json!({"Name":"no","MaximumRetryCount":0})
        );
        assert_eq!(b["HostConfig"]["Ulimits"], json!([]));
        assert!(b["NetworkingConfig"]["EndpointsConfig"]["default"].is_object());
    }

    #[test]
    fn flags_after_image_belong_to_command() {
        let b = body(&["-i", "busybox", "sh", "-i", "--rm"]);
        assert_eq!(b["Cmd"], json!(["sh", "-i", "--rm"]));
        assert_eq!(b["OpenStdin"], true);
        assert_eq!(b["HostConfig"]["AutoRemove"], false);
    }

    #[test]
    fn port_ranges_and_ips() {
        let r = ports(&["127.0.0.1:8000-8001:80-81/udp".into()], &[]);
        let (e, b) = r.unwrap_or_default();
        assert!(e.contains_key("80/udp") && e.contains_key("81/udp"));
        assert_eq!(
            serde_json::to_value(&b["81/udp"]).unwrap_or_default(),
            json!([{"HostIp":"127.0.0.1","HostPort":"8001"}])
        );
    }

    #[test]
    fn latest_tag() {
        assert_eq!(with_latest("busybox"), "busybox:latest");
        assert_eq!(with_latest("localhost:5000/x"), "localhost:5000/x:latest");
        assert_eq!(with_latest("a:1"), "a:1");
    }
}

#[cfg(test)]
mod api_socket_tests {
    use super::*;

    /// The config file and tar the docker CLI 28.2 sends for `--use-api-socket` (captured
    /// from it): `auths` only, tab-indented, `auth` as base64 `user:password`.
    #[test]
    fn config_copied_as_the_docker_cli_writes_it() {
        let mut creds = BTreeMap::new();
        creds.insert(
            "127.0.0.1:5999".to_string(),
            berth_api::models::AuthConfig {
                username: "user".into(),
                password: "pass".into(),
                serveraddress: "127.0.0.1:5999".into(),
                ..Default::default()
            },
        );
        creds.insert(
            "reg.example:5000".to_string(),
            berth_api::models::AuthConfig {
                identitytoken: "tok".into(),
                serveraddress: "reg.example:5000".into(),
                ..Default::default()
            },
        );
        let cfg = api_socket_config(&creds);
        assert_eq!(
            String::from_utf8_lossy(&cfg),
            "{\n\t\"auths\": {\n\t\t\"127.0.0.1:5999\": {\n\t\t\t\"auth\": \"dXNlcjpwYXNz\"\n\t\t},\n\t\t\"reg.example:5000\": {\n\t\t\t\"identitytoken\": \"tok\"\n\t\t}\n\t}\n}"
        );
        let tar = api_socket_tar(&cfg).expect("tar");
        let mut a = tar::Archive::new(tar.as_slice());
        let mut n = 0;
        for e in a.entries().expect("entries") {
            let mut e = e.expect("entry");
            assert_eq!(
                e.path().expect("path").to_string_lossy(),
                "run/secrets/docker/config.json"
            );
            assert_eq!(e.header().mode().expect("mode"), 0o600);
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut body).expect("read");
            assert_eq!(body, cfg);
            n += 1;
        }
        assert_eq!(n, 1);
    }
}
