//! `/_ping`, `/version`, `/info` (shaped per API version as moby 28).

use super::{AppState, Version};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::models::{
    Commit, ComponentVersion, IndexInfo, IndexMap, PlatformName, PluginsInfo,
    RegistryServiceConfig, RuntimeInfo, SystemInfo, SystemVersion,
};
use berth_api::version::{API_VERSION, BERTH_VERSION, MIN_API_VERSION};
use berth_engine::registry_proxy::mask_credentials;

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

pub async fn version(State(engine): State<AppState>) -> Json<SystemVersion> {
    let default_runtime = engine.live().default_runtime.clone();
    let runtime = tokio::task::spawn_blocking(move || runtime_component(&default_runtime))
        .await
        .ok()
        .flatten();
    let mut body = version_body(kernel_version());
    body.components.extend(runtime);
    Json(body)
}

/// `/version`'s component for the default runtime, as moby 28 lists its default runtime's
/// binary (`runc`, name/version/`GitCommit` read from `BINARY --version` by moby's
/// parseRuntimeVersion). berth lists only what it really runs: its built-in runtime is the
/// Engine itself (no component of its own), and it has no containerd and ships no
/// docker-init, so neither is listed. An OCI runtime binary made the default
/// (daemon.json `default-runtime: runc`) gets its component. The answer is kept per binary
/// for the daemon's life (one `--version` run, not one per request).
fn runtime_component(default_runtime: &str) -> Option<ComponentVersion> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<HashMap<std::path::PathBuf, Option<ComponentVersion>>>> =
        OnceLock::new();
    let bin = berth_engine::runtime_binary(default_runtime)?;
    let seen = SEEN.get_or_init(Default::default);
    if let Some(c) = seen.lock().unwrap_or_else(|e| e.into_inner()).get(&bin) {
        return c.clone();
    }
    let c = std::process::Command::new(&bin)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| parse_runtime_version(&String::from_utf8_lossy(&o.stdout)));
    seen.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(bin, c.clone());
    c
}

/// moby's parseRuntimeVersion: the line with "version" gives the name (before it) and the
/// version (after it), the `commit:` line the GitCommit detail.
fn parse_runtime_version(out: &str) -> Option<ComponentVersion> {
    let (mut name, mut version, mut commit) = (None, None, String::new());
    for line in out.trim().lines() {
        if line.contains("version") {
            let parts: Vec<&str> = line.split("version").collect();
            name = parts.first().map(|s| s.trim().to_string());
            version = parts.last().map(|s| s.trim().to_string());
        } else if let Some(c) = line.strip_prefix("commit:") {
            commit = c.trim().to_string();
        }
    }
    Some(ComponentVersion {
        name: name.filter(|n| !n.is_empty())?,
        version: version?,
        details: [("GitCommit".to_string(), commit)].into_iter().collect(),
    })
}

/// `/version` with the host's kernel release.
fn version_body(kernel: String) -> SystemVersion {
    let details = [
        ("ApiVersion", API_VERSION),
        ("Arch", arch()),
        ("BuildTime", ""),
        ("Experimental", "false"),
        ("GitCommit", ""),
        ("GoVersion", "n/a (rust)"),
        ("KernelVersion", kernel.as_str()),
        ("MinAPIVersion", MIN_API_VERSION),
        ("Os", "linux"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    SystemVersion {
        platform: PlatformName {
            name: "berth".into(),
        },
        components: vec![ComponentVersion {
            name: "Engine".into(),
            version: BERTH_VERSION.into(),
            details,
        }],
        version: BERTH_VERSION.into(),
        api_version: API_VERSION.into(),
        min_api_version: MIN_API_VERSION.into(),
        git_commit: String::new(),
        go_version: "n/a (rust)".into(),
        os: "linux".into(),
        arch: arch().into(),
        kernel_version: kernel,
        build_time: String::new(),
    }
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
) -> Json<SystemInfo> {
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
    let live = engine.live();
    let facts = InfoFacts {
        id: engine.daemon_id().to_string(),
        containers: [all.len(), running, paused, stopped].map(|n| n as i64),
        images: images as i64,
        cgroup_v2,
        debug: live.debug,
        system_time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        logging_driver: engine.cfg.log_driver.clone(),
        cgroup_driver: engine.cfg.cgroup.driver_name().to_string(),
        kernel_version: kernel_version(),
        operating_system: os_name(),
        registry: live.registry.clone(),
        ncpu: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1) as i64,
        mem_total: mem_total(),
        data_root: engine.cfg.data_root.to_string_lossy().into_owned(),
        hostname: nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default(),
        labels: live.labels.clone(),
        runtimes: berth_engine::runtimes(),
        default_runtime: live.default_runtime.clone(),
        swarm: swarm.cluster.info().await,
        security_options: security_options(&engine.cfg),
    };
    Json(info_body(facts, ver))
}

/// What `/info` reports, gathered from the engine, the host and the swarm.
struct InfoFacts {
    id: String,
    /// All, running (restarting included), paused, stopped.
    containers: [i64; 4],
    images: i64,
    cgroup_v2: bool,
    debug: bool,
    system_time: String,
    logging_driver: String,
    cgroup_driver: String,
    kernel_version: String,
    operating_system: String,
    registry: berth_engine::RegistryConfig,
    ncpu: i64,
    mem_total: u64,
    data_root: String,
    hostname: String,
    labels: Vec<String>,
    runtimes: Vec<(String, String)>,
    default_runtime: String,
    swarm: berth_api::swarm::Info,
    security_options: Vec<String>,
}

/// `/info` for API version `ver`.
fn info_body(f: InfoFacts, ver: berth_api::version::ApiVersion) -> SystemInfo {
    let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let [containers, running, paused, stopped] = f.containers;
    let mut info = SystemInfo {
        id: f.id,
        containers,
        containers_running: running,
        containers_paused: paused,
        containers_stopped: stopped,
        images: f.images,
        driver: "overlay2".into(),
        driver_status: [
            ["Backing Filesystem", "extfs"],
            ["Supports d_type", "true"],
            ["Using metacopy", "false"],
            ["Native Overlay Diff", "true"],
            ["userxattr", "false"],
        ]
        .map(|p| p.map(String::from))
        .to_vec(),
        plugins: PluginsInfo {
            volume: strs(&["local"]),
            network: strs(&["host", "null"]),
            authorization: None,
            log: strs(&["journald", "json-file", "local", "none", "syslog"]),
        },
        memory_limit: true,
        swap_limit: true,
        cpu_cfs_period: true,
        cpu_cfs_quota: true,
        cpu_shares: true,
        cpu_set: true,
        pids_limit: true,
        ipv4_forwarding: true,
        debug: f.debug,
        n_fd: 0,
        oom_kill_disable: !f.cgroup_v2,
        n_goroutines: 0,
        system_time: f.system_time,
        logging_driver: f.logging_driver,
        cgroup_driver: f.cgroup_driver,
        cgroup_version: if f.cgroup_v2 { "2" } else { "1" }.into(),
        n_events_listener: 0,
        kernel_version: f.kernel_version,
        operating_system: f.operating_system,
        os_version: String::new(),
        os_type: "linux".into(),
        architecture: std::env::consts::ARCH.into(),
        index_server_address: "https://index.docker.io/v1/".into(),
        registry_config: registry_config(&f.registry),
        ncpu: f.ncpu,
        mem_total: f.mem_total,
        generic_resources: None,
        docker_root_dir: f.data_root,
        http_proxy: mask_credentials(&f.registry.proxies.http),
        https_proxy: mask_credentials(&f.registry.proxies.https),
        no_proxy: f.registry.proxies.no_proxy.clone(),
        name: f.hostname,
        labels: f.labels,
        experimental_build: false,
        server_version: BERTH_VERSION.into(),
        runtimes: f
            .runtimes
            .into_iter()
            .map(|(name, path)| (name, RuntimeInfo { path }))
            .collect(),
        default_runtime: f.default_runtime,
        swarm: f.swarm,
        live_restore_enabled: true,
        isolation: String::new(),
        init_binary: String::new(),
        containerd_commit: Commit::default(),
        runc_commit: Commit::default(),
        init_commit: Commit::default(),
        security_options: f.security_options,
        cdi_spec_dirs: Vec::new(),
        warnings: None,
        bridge_nf_iptables: None,
        bridge_nf_ip6tables: None,
        execution_driver: None,
    };
    legacy_info_fields(&mut info, ver);
    info
}

/// What moby 28 adds to or changes in `/info` for older clients (its `getInfo`): fields it
/// dropped later but still returns to versions below the one that dropped them.
fn legacy_info_fields(info: &mut SystemInfo, ver: berth_api::version::ApiVersion) {
    if ver.below(47) {
        info.registry_config.allow_nondistributable_artifacts_cidrs = Some(None);
        info.registry_config
            .allow_nondistributable_artifacts_hostnames = Some(None);
    }
    if ver.below(49) {
        for c in [
            &mut info.containerd_commit,
            &mut info.runc_commit,
            &mut info.init_commit,
        ] {
            c.expected = Some(c.id.clone());
        }
    }
    if ver.below(50) {
        info.bridge_nf_iptables = Some(false);
        info.bridge_nf_ip6tables = Some(false);
    }
    if ver.below(39) {
        for v in [&mut info.kernel_version, &mut info.operating_system] {
            if v.is_empty() {
                *v = "<unknown>".into();
            }
        }
    }
    if ver.below(25) {
        info.execution_driver = Some("<not supported>".into());
        // Names only: "name=seccomp,profile=builtin" -> "seccomp".
        for o in &mut info.security_options {
            if let Some(name) = o.split(',').find_map(|kv| kv.strip_prefix("name=")) {
                *o = name.to_string();
            }
        }
    }
}

/// `docker info`'s RegistryConfig: insecure CIDRs (loopback always), insecure registries
/// by name, and docker.io's mirrors.
fn registry_config(r: &berth_engine::RegistryConfig) -> RegistryServiceConfig {
    let mut cidrs = vec!["::1/128".to_string(), "127.0.0.0/8".to_string()];
    let mut index = IndexMap::new();
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
                IndexInfo {
                    name: name.clone(),
                    mirrors: Vec::new(),
                    secure: false,
                    official: false,
                },
            );
        }
    }
    index.insert(
        "docker.io".into(),
        IndexInfo {
            name: "docker.io".into(),
            mirrors: r.registry_mirrors.clone(),
            secure: true,
            official: true,
        },
    );
    RegistryServiceConfig {
        insecure_registry_cidrs: cidrs,
        index_configs: index,
        mirrors: (!r.registry_mirrors.is_empty()).then(|| r.registry_mirrors.clone()),
        ..Default::default()
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use berth_api::version::ApiVersion;
    use serde_json::{json, Value};

    /// `/info` as `info` built it before the typed model (json!, then the legacy fields
    /// patched into the value).
    fn info_before(f: &InfoFacts, ver: ApiVersion) -> Value {
        let r = &f.registry;
        let mut cidrs = vec!["::1/128".to_string(), "127.0.0.0/8".to_string()];
        let mut index = serde_json::Map::new();
        for name in &r.insecure_registries {
            let cidr = name.split_once('/').is_some_and(|(a, p)| {
                a.parse::<std::net::IpAddr>().is_ok() && p.parse::<u8>().is_ok()
            });
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
        let registry = json!({
            "InsecureRegistryCIDRs": cidrs,
            "IndexConfigs": index,
            "Mirrors": if r.registry_mirrors.is_empty() { Value::Null } else { json!(r.registry_mirrors) },
        });
        let [all, running, paused, stopped] = f.containers;
        let mut info = json!({
            "ID": f.id,
            "Containers": all,
            "ContainersRunning": running,
            "ContainersPaused": paused,
            "ContainersStopped": stopped,
            "Images": f.images,
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
            "Debug": f.debug,
            "NFd": 0,
            "OomKillDisable": !f.cgroup_v2,
            "NGoroutines": 0,
            "SystemTime": f.system_time,
            "LoggingDriver": f.logging_driver,
            "CgroupDriver": f.cgroup_driver,
            "CgroupVersion": if f.cgroup_v2 { "2" } else { "1" },
            "NEventsListener": 0,
            "KernelVersion": f.kernel_version,
            "OperatingSystem": f.operating_system,
            "OSVersion": "",
            "OSType": "linux",
            "Architecture": std::env::consts::ARCH,
            "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": registry,
            "NCPU": f.ncpu,
            "MemTotal": f.mem_total,
            "GenericResources": Value::Null,
            "DockerRootDir": f.data_root,
            "HttpProxy": mask_credentials(&f.registry.proxies.http),
            "HttpsProxy": mask_credentials(&f.registry.proxies.https),
            "NoProxy": f.registry.proxies.no_proxy,
            "Name": f.hostname,
            "Labels": f.labels,
            "ExperimentalBuild": false,
            "ServerVersion": BERTH_VERSION,
            "Runtimes": f.runtimes
                .iter()
                .map(|(name, path)| (name.clone(), json!({ "path": path })))
                .collect::<serde_json::Map<String, Value>>(),
            "DefaultRuntime": f.default_runtime,
            "Swarm": json!(f.swarm),
            "LiveRestoreEnabled": true,
            "Isolation": "",
            "InitBinary": "",
            "ContainerdCommit": { "ID": "" },
            "RuncCommit": { "ID": "" },
            "InitCommit": { "ID": "" },
            "SecurityOptions": f.security_options,
            "CDISpecDirs": [],
            "Warnings": Value::Null,
        });
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
        info
    }

    fn facts(rich: bool) -> InfoFacts {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut registry = berth_engine::RegistryConfig::default();
        if rich {
            registry.insecure_registries = s(&[
                "reg.local:5000",
                "10.0.0.0/8",
                "127.0.0.0/8",
                "docker.io",
                "a.example",
            ]);
            registry.registry_mirrors = s(&["https://m1.example", "https://m2.example"]);
        }
        InfoFacts {
            id: "ABCD:EFGH".into(),
            containers: [5, 2, 1, 2],
            images: 3,
            cgroup_v2: rich,
            debug: rich,
            system_time: "2026-12-06T08:00:00.123456789Z".into(),
            logging_driver: "json-file".into(),
            cgroup_driver: if rich { "systemd" } else { "cgroupfs" }.into(),
            kernel_version: if rich { "6.1.0" } else { "" }.into(),
            operating_system: if rich {
                "Debian GNU/Linux 12 (bookworm)"
            } else {
                ""
            }
            .into(),
            registry,
            ncpu: 2,
            mem_total: 24 << 30,
            data_root: "/var/lib/berth".into(),
            hostname: "host1".into(),
            labels: if rich { s(&["b=2", "a=1"]) } else { Vec::new() },
            runtimes: [
                ("berth", "built-in"),
                ("libcontainer", "built-in"),
                ("runc", "/usr/bin/runc"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .to_vec(),
            default_runtime: "berth".into(),
            swarm: berth_api::swarm::Info {
                local_node_state: if rich { "active" } else { "inactive" }.into(),
                node_id: if rich { "n1".into() } else { String::new() },
                nodes: if rich { 1 } else { 0 },
                ..Default::default()
            },
            security_options: if rich {
                s(&[
                    "name=seccomp,profile=builtin",
                    "name=userns",
                    "name=cgroupns",
                ])
            } else {
                s(&["name=seccomp,profile=builtin", "plain"])
            },
        }
    }

    #[test]
    fn typed_version_is_the_same_bytes() {
        // `/version` as it was built before the typed model (json!).
        let kernel = "6.1.0-test".to_string();
        let before = json!({
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
        });
        assert_eq!(
            serde_json::to_string(&version_body(kernel.clone())).unwrap(),
            serde_json::to_string(&before).unwrap()
        );
    }

    #[test]
    fn runtime_versions_read_as_moby_reads_them() {
        let runc =
            "runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\n";
        let c = parse_runtime_version(runc).expect("runc");
        assert_eq!((c.name.as_str(), c.version.as_str()), ("runc", "1.1.5+ds1"));
        assert_eq!(c.details["GitCommit"], "1.1.5+ds1-1+deb12u1");
        let crun = "crun version 1.8.1\ncommit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30\nrundir: /run/crun\n";
        let c = parse_runtime_version(crun).expect("crun");
        assert_eq!((c.name.as_str(), c.version.as_str()), ("crun", "1.8.1"));
        assert!(parse_runtime_version("garbage").is_none());
        // The built-in runtime is the Engine: no component of its own.
        assert!(runtime_component("berth").is_none());
    }

    #[test]
    fn typed_info_is_the_same_bytes_at_every_version() {
        for rich in [false, true] {
            for minor in [24, 25, 38, 39, 46, 47, 48, 49, 50, 51] {
                let ver = ApiVersion::new(1, minor);
                let f = facts(rich);
                let before = serde_json::to_string(&info_before(&f, ver)).unwrap();
                let typed = serde_json::to_string(&info_body(f, ver)).unwrap();
                assert_eq!(typed, before, "rich={rich} 1.{minor}");
            }
        }
    }
}
