//! `/_ping`, `/version`, `/info` (shaped per API version as moby 28).

use super::{AppState, Version};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::version::{API_VERSION, BERTH_VERSION, MIN_API_VERSION};
use serde_json::{json, Value};

/// `GET /plugins`: berth has no managed plugins; clients probe this list (moby answers
/// `[]` on a daemon without any, newline-terminated as Go's json.Encoder writes it).
pub async fn plugins() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        "[]\n",
    )
        .into_response()
}

/// A plugin by name: none exists, moby's 404.
pub async fn no_plugin(
    axum::extract::Path(name): axum::extract::Path<String>,
) -> crate::error::ApiError {
    crate::error::ApiError::not_found(format!("plugin \"{name}\" not found"))
}

pub async fn ping() -> Response {
    (
        [
            ("cache-control", "no-cache, no-store, must-revalidate"),
            ("pragma", "no-cache"),
            ("content-type", "text/plain; charset=utf-8"),
            ("builder-version", "1"),
            ("swarm", "inactive"),
        ],
        "OK",
    )
        .into_response()
}

fn kernel_version() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub async fn version() -> Json<Value> {
    let kernel = kernel_version();
    Json(json!({
        "Platform": { "Name": "berth" },
        "Components": [{
            "Name": "Engine",
            "Version": BERTH_VERSION,
            "Details": {
                "ApiVersion": API_VERSION,
                "Arch": arch(),
                "BuildTime": "",
                "Experimental": "false",
                "GitCommit": "",
                "GoVersion": "n/a (rust)",
                "KernelVersion": kernel,
                "MinAPIVersion": MIN_API_VERSION,
                "Os": "linux",
            }
        }],
        "Version": BERTH_VERSION,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "n/a (rust)",
        "Os": "linux",
        "Arch": arch(),
        "KernelVersion": kernel,
        "BuildTime": "",
    }))
}

fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_string())
            })
        })
        .unwrap_or_else(|| "Linux".into())
}

pub fn mem_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("MemTotal:")
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

pub async fn info(
    State(engine): State<AppState>,
    Version(ver): Version,
    axum::Extension(swarm): axum::Extension<super::swarm::SwarmState>,
) -> Json<Value> {
    let mut running = 0;
    let mut paused = 0;
    let mut stopped = 0;
    let all = engine.all();
    for c in &all {
        let r = c.snapshot().await;
        match r.state.status {
            berth_engine::model::Status::Running | berth_engine::model::Status::Restarting => {
                running += 1
            }
            berth_engine::model::Status::Paused => paused += 1,
            _ => stopped += 1,
        }
    }
    let images = engine.images.list().await.map(|l| l.len()).unwrap_or(0);
    let cgroup_v2 = berth_engine::host_cgroup_v2();
    let swarm_info = json!(swarm.cluster.info().await);
    let live = engine.live();
    let hostname = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ncpu = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut info = json!({
        "ID": engine.daemon_id(),
        "Containers": all.len(),
        "ContainersRunning": running,
        "ContainersPaused": paused,
        "ContainersStopped": stopped,
        "Images": images,
        "Driver": "overlay2",
        "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"], ["Using metacopy", "false"], ["Native Overlay Diff", "true"], ["userxattr", "false"]],
        "Plugins": {
            "Volume": ["local"],
            "Network": ["host", "null"],
            "Authorization": Value::Null,
            "Log": ["journald", "json-file", "local", "none", "syslog"],
        },
        "MemoryLimit": true,
        "SwapLimit": true,
        "CpuCfsPeriod": true,
        "CpuCfsQuota": true,
        "CPUShares": true,
        "CPUSet": true,
        "PidsLimit": true,
        "IPv4Forwarding": true,
        "Debug": live.debug,
        "NFd": 0,
        "OomKillDisable": !cgroup_v2,
        "NGoroutines": 0,
        "SystemTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        "LoggingDriver": engine.cfg.log_driver,
        "CgroupDriver": engine.cfg.cgroup.driver_name(),
        "CgroupVersion": if cgroup_v2 { "2" } else { "1" },
        "NEventsListener": 0,
        "KernelVersion": kernel_version(),
        "OperatingSystem": os_name(),
        "OSVersion": "",
        "OSType": "linux",
        "Architecture": std::env::consts::ARCH,
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": registry_config(&live.registry),
        "NCPU": ncpu,
        "MemTotal": mem_total(),
        "GenericResources": Value::Null,
        "DockerRootDir": engine.cfg.data_root,
        "HttpProxy": "",
        "HttpsProxy": "",
        "NoProxy": "",
        "Name": hostname,
        "Labels": live.labels,
        "ExperimentalBuild": false,
        "ServerVersion": BERTH_VERSION,
        "Runtimes": berth_engine::runtimes()
            .into_iter()
            .map(|(name, path)| (name, json!({ "path": path })))
            .collect::<serde_json::Map<String, Value>>(),
        "DefaultRuntime": live.default_runtime,
        "Swarm": swarm_info,
        "LiveRestoreEnabled": true,
        "Isolation": "",
        "InitBinary": "",
        "ContainerdCommit": { "ID": "" },
        "RuncCommit": { "ID": "" },
        "InitCommit": { "ID": "" },
        "SecurityOptions": security_options(&engine.cfg),
        "CDISpecDirs": [],
        "Warnings": Value::Null,
    });
    legacy_info_fields(&mut info, ver);
    Json(info)
}

/// What moby 28 adds to or changes in `/info` for older clients (its `getInfo`): fields it
/// dropped later but still returns to versions below the one that dropped them.
fn legacy_info_fields(info: &mut Value, ver: berth_api::version::ApiVersion) {
    if ver.below(47) {
        info["RegistryConfig"]["AllowNondistributableArtifactsCIDRs"] = Value::Null;
        info["RegistryConfig"]["AllowNondistributableArtifactsHostnames"] = Value::Null;
    }
    if ver.below(49) {
        for k in ["ContainerdCommit", "RuncCommit", "InitCommit"] {
            let id = info[k]["ID"].clone();
            info[k]["Expected"] = id;
        }
    }
    if ver.below(50) {
        info["BridgeNfIptables"] = json!(false);
        info["BridgeNfIp6tables"] = json!(false);
    }
    if ver.below(39) {
        for k in ["KernelVersion", "OperatingSystem"] {
            if info[k].as_str().is_none_or(str::is_empty) {
                info[k] = json!("<unknown>");
            }
        }
    }
    if ver.below(25) {
        info["ExecutionDriver"] = json!("<not supported>");
        // Names only: "name=seccomp,profile=builtin" -> "seccomp".
        let names: Vec<Value> = info["SecurityOptions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|o| {
                let name = o
                    .split(',')
                    .find_map(|kv| kv.strip_prefix("name="))
                    .unwrap_or(o);
                json!(name)
            })
            .collect();
        info["SecurityOptions"] = json!(names);
    }
}

/// `docker info`'s RegistryConfig: insecure CIDRs (loopback always), insecure registries
/// by name, and docker.io's mirrors.
fn registry_config(r: &berth_engine::RegistryConfig) -> Value {
    let mut cidrs = vec!["::1/128".to_string(), "127.0.0.0/8".to_string()];
    let mut index = serde_json::Map::new();
    for name in &r.insecure_registries {
        let cidr = name
            .split_once('/')
            .is_some_and(|(a, p)| a.parse::<std::net::IpAddr>().is_ok() && p.parse::<u8>().is_ok());
        if cidr {
            if !cidrs.contains(name) {
                cidrs.push(name.clone());
            }
        } else {
            index.insert(
                name.clone(),
                json!({"Name": name, "Mirrors": [], "Secure": false, "Official": false}),
            );
        }
    }
    index.insert(
        "docker.io".into(),
        json!({"Name": "docker.io", "Mirrors": r.registry_mirrors, "Secure": true, "Official": true}),
    );
    json!({
        "InsecureRegistryCIDRs": cidrs,
        "IndexConfigs": index,
        "Mirrors": if r.registry_mirrors.is_empty() { Value::Null } else { json!(r.registry_mirrors) },
    })
}

/// `docker info` SecurityOptions: the security settings', then `name=userns` after
/// seccomp for a remapped daemon (moby's fillSecurityOptions order).
fn security_options(cfg: &berth_engine::config::EngineConfig) -> Vec<String> {
    let mut v = cfg.security.info_options(cfg.cgroup.ns_private);
    if cfg.id_map.as_ref().is_some_and(|m| m.root_pair() != (0, 0)) {
        v.insert(1.min(v.len()), "name=userns".to_string());
    }
    v
}
