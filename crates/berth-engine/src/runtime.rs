//! The engine's side of the runtime: turns a container record into an OCI bundle and talks
//! to the container's shim through `berth_runtime`'s client.

use crate::config::EngineConfig;
use crate::error::{EngineError, Result};
use crate::model::ContainerRecord;
use berth_runtime::client::ShimClient;
use berth_runtime::spec::{self, MountSpec, NetworkNs, SpecInput, Ulimit};
use std::path::Path;
use tokio::net::UnixStream;

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn rt_err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Internal(e.to_string())
}

/// The environment Docker gives a container: PATH (if the image has none), HOSTNAME,
/// TERM with a tty, then the container's own variables (which win).
fn container_env(rec: &ContainerRecord) -> Vec<String> {
    exec_env(rec, rec.config.tty, &[])
}

/// An exec's environment, as Docker builds it: the container's (with TERM when the exec
/// has a terminal), then the exec's own variables, each replacing one of the same name.
pub fn exec_env(rec: &ContainerRecord, tty: bool, extra: &[String]) -> Vec<String> {
    let mut env = Vec::new();
    let has = |k: &str| {
        rec.config
            .env
            .iter()
            .any(|e| e.split('=').next() == Some(k))
    };
    if !has("PATH") {
        env.push(format!("PATH={DEFAULT_PATH}"));
    }
    env.push(format!("HOSTNAME={}", rec.config.hostname));
    if tty && !has("TERM") {
        env.push("TERM=xterm".into());
    }
    env.extend(rec.config.env.iter().cloned());
    for e in extra {
        let key = e.split('=').next().unwrap_or(e);
        match env.iter_mut().find(|x| x.split('=').next() == Some(key)) {
            Some(slot) => *slot = e.clone(),
            None => env.push(e.clone()),
        }
    }
    env
}

/// Writes `bundle/config.json` for the record, with `rootfs` already mounted; `mounts` are
/// the container's volumes, binds and tmpfs (`container/mounts.rs`).
pub fn write_bundle(
    rec: &ContainerRecord,
    dir: &Path,
    rootfs: &Path,
    mounts: Vec<MountSpec>,
    netns: Option<&Path>,
) -> Result<()> {
    let hc = &rec.host_config;
    let etc_writable = !hc.readonly_rootfs;
    let mut args = vec![rec.path.clone()];
    args.extend(rec.args.iter().cloned());
    let no_new_privileges = hc.security_opt.iter().flatten().any(|o| {
        matches!(
            o.as_str(),
            "no-new-privileges" | "no-new-privileges:true" | "no-new-privileges=true"
        )
    });
    let input = SpecInput {
        id: rec.id.clone(),
        rootfs: rootfs.to_path_buf(),
        readonly_rootfs: hc.readonly_rootfs,
        args,
        env: container_env(rec),
        cwd: rec.config.working_dir.clone(),
        user: rec.config.user.clone(),
        group_add: hc.group_add.clone().unwrap_or_default(),
        tty: rec.config.tty,
        hostname: rec.config.hostname.clone(),
        domainname: rec.config.domainname.clone(),
        privileged: hc.privileged,
        cap_add: hc.cap_add.clone().unwrap_or_default(),
        cap_drop: hc.cap_drop.clone().unwrap_or_default(),
        no_new_privileges,
        network: match netns {
            Some(p) => NetworkNs::Path(p.to_path_buf()),
            None if hc.network_mode == "host" => NetworkNs::Host,
            None => NetworkNs::New,
        },
        pid_host: hc.pid_mode == "host",
        ipc_host: hc.ipc_mode == "host",
        uts_host: hc.u_t_s_mode == "host",
        memory: hc.memory,
        memory_swap: hc.memory_swap,
        memory_reservation: hc.memory_reservation,
        oom_kill_disable: hc.oom_kill_disable.unwrap_or(false),
        nano_cpus: hc.nano_cpus,
        cpu_shares: hc.cpu_shares,
        cpu_quota: hc.cpu_quota,
        cpu_period: hc.cpu_period,
        cpuset_cpus: hc.cpuset_cpus.clone(),
        cpuset_mems: hc.cpuset_mems.clone(),
        pids_limit: hc.pids_limit,
        ulimits: hc
            .ulimits
            .iter()
            .map(|u| Ulimit {
                name: u.name.clone(),
                soft: u.soft,
                hard: u.hard,
            })
            .collect(),
        shm_size: hc.shm_size,
        cgroup_parent: (!hc.cgroup_parent.is_empty()).then(|| hc.cgroup_parent.clone()),
        mounts: ["hostname", "hosts", "resolv.conf"]
            .iter()
            .map(|f| {
                MountSpec::bind(
                    dir.join(f).to_string_lossy().into_owned(),
                    format!("/etc/{f}"),
                    !etc_writable,
                )
            })
            .chain(mounts)
            .collect(),
        init: hc.init.unwrap_or(false),
        ..Default::default()
    };
    let spec = spec::generate(&input).map_err(|e| EngineError::InvalidParameter(e.to_string()))?;
    let bundle = dir.join("bundle");
    std::fs::create_dir_all(&bundle)?;
    let data = serde_json::to_vec(&spec).map_err(rt_err)?;
    berth_api::atomic::write_file_volatile(&bundle.join("config.json"), &data)?;
    Ok(())
}

/// The container's logging driver and options, resolved for the shim (tag template,
/// journal fields, attributes); checked as dockerd checks them.
pub fn log_spec(rec: &ContainerRecord) -> Result<berth_runtime::logdriver::LogSpec> {
    let lc = &rec.host_config.log_config;
    let driver = if lc.kind.is_empty() {
        berth_runtime::logdriver::JSON_FILE
    } else {
        lc.kind.as_str()
    };
    let info = berth_runtime::logdriver::ContainerInfo {
        id: rec.id.clone(),
        name: rec.name.clone(),
        image_id: rec.image_id.clone(),
        image_name: rec.config.image.clone(),
        labels: rec.config.labels.clone(),
        env: rec.config.env.clone(),
        daemon_name: "berth".into(),
    };
    berth_runtime::logdriver::LogSpec::resolve(driver, &lc.config, &info)
        .map_err(EngineError::InvalidParameter)
}

/// Starts the shim (container created, not yet started) and connects to it.
pub async fn spawn(cfg: &EngineConfig, rec: &ContainerRecord, dir: &Path) -> Result<ShimClient> {
    let log = log_spec(rec)?;
    let spawn_opts = berth_runtime::shim::SpawnOptions {
        exe: cfg.exe.clone(),
        id: rec.id.clone(),
        dir: dir.to_path_buf(),
        log,
        stdin: rec.config.open_stdin,
        stdin_once: rec.config.stdin_once,
        tty: rec.config.tty,
        runtime: rec.host_config.runtime.clone(),
    };
    tokio::task::spawn_blocking(move || berth_runtime::shim::spawn(&spawn_opts))
        .await
        .map_err(rt_err)?
        .map_err(|e| EngineError::InvalidParameter(e.to_string()))?;
    connect(dir).await
}

/// Checks a runtime name (`--runtime`, daemon.json `default-runtime`): the built-in one or
/// an OCI runtime binary on PATH.
pub fn validate_runtime(name: &str) -> Result<()> {
    if name == berth_runtime::shim::BUILTIN || name == berth_runtime::shim::LIBCONTAINER {
        return Ok(());
    }
    berth_runtime::shim::find_binary(name)
        .map(|_| ())
        .map_err(EngineError::InvalidParameter)
}

pub async fn connect(dir: &Path) -> Result<ShimClient> {
    ShimClient::connect(&berth_runtime::shim::socket_path(dir))
        .await
        .map_err(rt_err)
}

pub async fn attach(dir: &Path, stdin: bool, stdout: bool, stderr: bool) -> Result<UnixStream> {
    connect(dir)
        .await?
        .attach(stdin, stdout, stderr)
        .await
        .map_err(rt_err)
}

pub async fn kill(dir: &Path, signal: i32) -> Result<()> {
    connect(dir).await?.kill(signal).await.map_err(rt_err)
}

/// Resolves when the container exits: (exit code, OOM killed).
pub async fn wait(dir: &Path) -> Result<(i64, bool)> {
    let st = connect(dir).await?.wait().await.map_err(rt_err)?;
    Ok((i64::from(st.exit_code), st.oom_killed))
}

/// The exit status a shim recorded, if it did.
pub fn read_exit(dir: &Path) -> Option<(i64, bool)> {
    berth_runtime::client::read_exit(dir)
        .ok()
        .flatten()
        .map(|st| (i64::from(st.exit_code), st.oom_killed))
}

/// Gets the kernel's cgroup-migration lock warm for a container (or exec) about to start,
/// and keeps it warm for a while (`crate::cgroup_warm`): the grace period is paid in the
/// background, overlapping the rootfs mount and the shim's start, once per burst of starts.
pub fn prime_cgroup_migration() {
    crate::cgroup_warm::touch();
}
