//! The agent's executor on berth's engine: a task becomes a container created from the
//! task's container spec (as moby's daemon/cluster/executor/container does), named
//! `SERVICE.SLOT.TASKID` and labelled with the swarm ids. Secrets and configs are written
//! on a tmpfs of their own per task (`<data-root>/swarm/files/<task>`, never on disk) and
//! bound read-only at their targets. A task's container joins its swarm networks (the
//! first as its network mode) with the addresses the allocator gave the task, and
//! publishes its `mode=host` ports itself.
//!
//! Groups, hosts (swarmkit's `IP HOST`) and env reach the container; an isolation other
//! than `default` and a credential spec reject the task with moby's Linux errors
//! (`refuse_windows_only`); a generic resource is reserved from what the node advertises
//! (none: the task pends, as swarmkit).

use crate::agent::{Executor, Found, StartError, TaskFile, TaskRun};
use berth_api::models::{
    ContainerConfig, ContainerCreateBody, Empty, EndpointIpamConfig, EndpointSettings, HostConfig,
    LogConfig, NetworkingConfig, PortBinding, PortSet, RestartPolicy,
};
use berth_engine::container::WaitCondition;
use berth_engine::network::swarm::{SwarmLb, SwarmNetwork};
use berth_engine::Engine;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

pub struct EngineExecutor {
    engine: Arc<Engine>,
    files_root: PathBuf,
}

impl EngineExecutor {
    pub fn new(engine: Arc<Engine>, swarm_dir: PathBuf) -> Self {
        EngineExecutor {
            engine,
            files_root: swarm_dir.join("files"),
        }
    }

    fn files_dir(&self, task_id: &str) -> PathBuf {
        self.files_root.join(task_id)
    }

    /// Mounts a small tmpfs for the task's files and writes them; returns the binds.
    fn write_files(&self, task_id: &str, files: &[TaskFile]) -> Result<Vec<String>, String> {
        if files.is_empty() {
            return Ok(Vec::new());
        }
        let dir = self.files_dir(task_id);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if !is_mount_point(&dir) {
            nix::mount::mount(
                Some("tmpfs"),
                &dir,
                Some("tmpfs"),
                nix::mount::MsFlags::MS_NOSUID
                    | nix::mount::MsFlags::MS_NODEV
                    | nix::mount::MsFlags::MS_NOEXEC,
                Some("mode=0700,size=16m"),
            )
            .map_err(|e| format!("cannot mount the secrets tmpfs: {e}"))?;
        }
        let mut binds = Vec::new();
        for (i, f) in files.iter().enumerate() {
            let p = dir.join(format!("f{i}"));
            std::fs::write(&p, &f.data).map_err(|e| format!("{}: {e}", p.display()))?;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(f.mode & 0o7777))
                .map_err(|e| e.to_string())?;
            let _ = nix::unistd::chown(
                &p,
                Some(nix::unistd::Uid::from_raw(f.uid)),
                Some(nix::unistd::Gid::from_raw(f.gid)),
            );
            binds.push(format!("{}:{}:ro", p.display(), f.target));
        }
        Ok(binds)
    }

    fn drop_files(&self, task_id: &str) {
        let dir = self.files_dir(task_id);
        if dir.exists() {
            let _ = nix::mount::umount2(&dir, nix::mount::MntFlags::MNT_DETACH);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

fn is_mount_point(p: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(p), p.parent().map(std::fs::metadata)) {
        (Ok(a), Some(Ok(b))) => a.dev() != b.dev(),
        _ => false,
    }
}

/// Expands the service templates docker accepts in hostname, env and labels.
pub fn expand_template(s: &str, run: &TaskRun) -> String {
    let t = &run.task;
    let task_name = task_container_name(run);
    s.replace("{{.Service.Name}}", &run.service_name)
        .replace("{{.Service.ID}}", &t.service_id)
        .replace("{{.Task.Slot}}", &t.slot.to_string())
        .replace("{{.Task.ID}}", &t.id)
        .replace("{{.Task.Name}}", &task_name)
        .replace("{{.Node.ID}}", &run.node_id)
        .replace("{{.Node.Hostname}}", &run.node_hostname)
}

/// `service.slot.task` (replicated) or `service.node.task` (global), as moby names them.
pub fn task_container_name(run: &TaskRun) -> String {
    let t = &run.task;
    let mid = if t.slot > 0 {
        t.slot.to_string()
    } else {
        t.node_id.clone()
    };
    format!("{}.{}.{}", run.service_name, mid, t.id)
}

/// What a Linux node cannot run, refused (the task rejected) with moby's words: an
/// isolation other than the default, and a credential spec (moby turns it into a
/// `credentialspec=` security option, which its Linux daemon does not know).
fn refuse_windows_only(c: &berth_api::swarm::ContainerSpec) -> Result<(), String> {
    if !c.isolation.is_empty() && !c.isolation.eq_ignore_ascii_case("default") {
        return Err(format!("invalid isolation '{}' on linux", c.isolation));
    }
    let cs = c
        .privileges
        .as_ref()
        .map(|p| &p["CredentialSpec"])
        .filter(|cs| cs.is_object());
    if let Some(cs) = cs {
        let field = |k: &str| cs[k].as_str().unwrap_or_default().to_string();
        let opt = [
            ("file", field("File")),
            ("registry", field("Registry")),
            ("config", field("Config")),
        ]
        .into_iter()
        .find(|(_, v)| !v.is_empty())
        .map(|(kind, v)| format!("credentialspec={kind}://{v}"));
        if let Some(opt) = opt {
            return Err(format!("invalid --security-opt 2: {opt:?}"));
        }
    }
    Ok(())
}

/// The create body for a task (moby's executor/container `config()` and `hostConfig()`).
pub fn create_body(run: &TaskRun, binds: Vec<String>) -> Result<ContainerCreateBody, String> {
    let t = &run.task;
    let c = t
        .spec
        .container_spec
        .clone()
        .ok_or_else(|| "task has no container spec".to_string())?;
    refuse_windows_only(&c)?;
    let mut labels: BTreeMap<String, String> = c
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), expand_template(v, run)))
        .collect();
    let name = task_container_name(run);
    labels.insert("com.docker.swarm.node.id".into(), run.node_id.clone());
    labels.insert("com.docker.swarm.service.id".into(), t.service_id.clone());
    labels.insert(
        "com.docker.swarm.service.name".into(),
        run.service_name.clone(),
    );
    labels.insert("com.docker.swarm.task".into(), String::new());
    labels.insert("com.docker.swarm.task.id".into(), t.id.clone());
    labels.insert("com.docker.swarm.task.name".into(), name);
    let env: Vec<String> = c.env.iter().map(|e| expand_template(e, run)).collect();
    let mounts = c.mounts.iter().map(same_shape).collect::<Result<_, _>>()?;
    let res = t.spec.resources.clone().unwrap_or_default();
    let limits = res.limits.unwrap_or_default();
    let mut host = HostConfig {
        binds: Some(binds),
        mounts: Some(mounts),
        restart_policy: RestartPolicy {
            name: "no".into(),
            ..Default::default()
        },
        readonly_rootfs: c.read_only,
        nano_cpus: limits.nano_cpus,
        memory: limits.memory_bytes,
        // Swarm's "IP HOST" entries become "HOST:IP".
        extra_hosts: Some(
            c.hosts
                .iter()
                .map(|h| {
                    let mut parts = h.split_whitespace();
                    match (parts.next(), parts.next()) {
                        (Some(ip), Some(host)) => format!("{host}:{ip}"),
                        _ => h.clone(),
                    }
                })
                .collect(),
        ),
        cap_add: Some(c.capability_add.clone()),
        cap_drop: Some(c.capability_drop.clone()),
        group_add: Some(c.groups.clone()),
        sysctls: Some(c.sysctls.clone()),
        pids_limit: (limits.pids > 0).then_some(limits.pids),
        init: c.init,
        oom_score_adj: c.oom_score_adj,
        ulimits: c.ulimits.iter().map(same_shape).collect::<Result<_, _>>()?,
        ..Default::default()
    };
    if let Some(d) = &c.dns_config {
        host.dns = d.nameservers.clone();
        host.dns_search = d.search.clone();
        host.dns_options = d.options.clone();
    }
    if let Some(ld) = &t.spec.log_driver {
        host.log_config = LogConfig {
            kind: ld.name.clone(),
            config: ld.options.clone().unwrap_or_default(),
        };
    }
    let mut config = ContainerConfig {
        image: c.image.clone(),
        env: Some(env),
        labels: Some(labels),
        hostname: expand_template(&c.hostname, run),
        working_dir: c.dir.clone(),
        user: c.user.clone(),
        tty: c.tty,
        open_stdin: c.open_stdin,
        entrypoint: (!c.command.is_empty()).then(|| c.command.clone()),
        cmd: (!c.args.is_empty()).then(|| c.args.clone()),
        stop_signal: (!c.stop_signal.is_empty()).then(|| c.stop_signal.clone()),
        stop_timeout: c.stop_grace_period.map(|g| g / 1_000_000_000),
        healthcheck: c.healthcheck.as_ref().map(same_shape).transpose()?,
        ..Default::default()
    };
    // Its swarm networks: the first is the network mode, each with the task's address
    // and the attachment's aliases.
    let mut networking = None;
    if let Some(first) = t.networks_attachments.first() {
        let mut endpoints = BTreeMap::new();
        for a in &t.networks_attachments {
            let ip = a
                .addresses
                .first()
                .and_then(|c| c.split('/').next())
                .unwrap_or_default();
            let aliases: Vec<String> = t
                .spec
                .networks
                .iter()
                .find(|n| n.target == a.network.id || n.target == a.network.spec.name)
                .map(|n| n.aliases.clone())
                .unwrap_or_default();
            endpoints.insert(
                a.network.id.clone(),
                EndpointSettings {
                    ipam_config: Some(EndpointIpamConfig {
                        ipv4_address: Some(ip.to_string()),
                        ..Default::default()
                    }),
                    aliases: Some(aliases),
                    ..Default::default()
                },
            );
        }
        host.network_mode = first.network.id.clone();
        networking = Some(NetworkingConfig {
            endpoints_config: endpoints,
            ..Default::default()
        });
    } else if let Some(mode) = &run.network_mode {
        // A predefined network: the task runs in that network mode, as moby's executor
        // sets it (`host`: the node's network namespace).
        host.network_mode = mode.clone();
    }
    // Ports published in host mode are the container's own; moby discards them in host
    // network mode (the task's ports are the node's own).
    let host_net = run.network_mode.as_deref() == Some("host");
    let mut exposed = PortSet::new();
    for p in run.host_ports.iter().filter(|_| !host_net) {
        let key = format!("{}/{}", p.target_port, p.protocol);
        let host_port = if p.published_port == 0 {
            String::new()
        } else {
            p.published_port.to_string()
        };
        exposed.insert(key.clone(), Empty);
        host.port_bindings.insert(
            key,
            Some(vec![PortBinding {
                host_ip: String::new(),
                host_port,
                ..Default::default()
            }]),
        );
    }
    if !exposed.is_empty() {
        config.exposed_ports = Some(exposed);
    }
    Ok(ContainerCreateBody {
        config,
        host_config: host,
        networking_config: networking,
    })
}

/// A swarm spec value as the container model's type of the same JSON shape (moby shares
/// `mount.Mount` and `container.HealthConfig` between the two).
fn same_shape<T: serde::Serialize, U: serde::de::DeserializeOwned>(v: &T) -> Result<U, String> {
    serde_json::to_value(v)
        .and_then(serde_json::from_value)
        .map_err(|e| e.to_string())
}

fn image_of(run: &TaskRun) -> String {
    run.task
        .spec
        .container_spec
        .as_ref()
        .map(|c| c.image.clone())
        .unwrap_or_default()
}

impl EngineExecutor {
    /// Pulls the task's image with the service's registry credentials; a failure is left
    /// to the create that follows ("No such image"), as moby's executor does.
    async fn pull(&self, run: &TaskRun) {
        let image = image_of(run);
        let auth = run
            .registry_auth
            .as_deref()
            .map(berth_engine::AuthConfig::from_header)
            .unwrap_or_default();
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let engine = self.engine.clone();
        let img = image.clone();
        let pulling = tokio::spawn(async move { engine.pull(&img, "", None, auth, tx).await });
        while let Some(m) = rx.recv().await {
            if let Err(e) = m {
                tracing::info!("swarm task {}: pulling {image}: {e}", run.task.id);
            }
        }
        let _ = pulling.await;
    }
}

impl Executor for EngineExecutor {
    async fn run(&self, run: TaskRun) -> Result<(String, i64), StartError> {
        let reject = |err: String| StartError {
            state: "rejected",
            err,
            container_id: String::new(),
        };
        // Its networks first (the agent makes them too; a task may come before it).
        for a in &run.task.networks_attachments {
            if let Some(n) = crate::netplan::local_network(&a.network) {
                self.engine
                    .swarm_network_ensure(&n)
                    .await
                    .map_err(|e| reject(e.to_string()))?;
            }
        }
        let binds = self.write_files(&run.task.id, &run.files).map_err(reject)?;
        let body = create_body(&run, binds).map_err(reject)?;
        let name = task_container_name(&run);
        // A container of this task left by a daemon killed between create and start.
        if let Ok(old) = self.engine.get(&name) {
            let r = old.snapshot().await;
            if r.config.labels().get("com.docker.swarm.task.id") == Some(&run.task.id) {
                let _ = self.engine.remove(&r.id, true).await;
            }
        }
        // The image is pulled when missing, as the swarm's agent prepares a task.
        if self.engine.images.get(&image_of(&run)).await.is_err() {
            self.pull(&run).await;
        }
        let created = match self.engine.create(Some(&name), body).await {
            Ok(c) => c,
            Err(e) => {
                self.drop_files(&run.task.id);
                return Err(reject(e.to_string()));
            }
        };
        if let Err(e) = self.engine.start(&created.id).await {
            return Err(StartError {
                state: "failed",
                err: e.to_string(),
                container_id: created.id,
            });
        }
        let pid = match self.engine.get(&created.id) {
            Ok(c) => c.snapshot().await.state.pid,
            Err(_) => 0,
        };
        Ok((created.id, pid))
    }

    async fn wait_exit(&self, container_id: &str) -> Option<i64> {
        self.engine
            .wait(container_id, WaitCondition::NotRunning)
            .await
            .ok()
    }

    async fn stop(&self, container_id: &str, grace_ns: Option<i64>) {
        let secs = grace_ns.map(|n| n / 1_000_000_000).unwrap_or(10);
        let _ = self.engine.stop(container_id, Some(secs), None).await;
    }

    async fn remove(&self, container_id: &str, task_id: &str) {
        let _ = self.engine.remove(container_id, true).await;
        self.drop_files(task_id);
    }

    async fn health(&self, container_id: &str) -> Option<String> {
        let c = self.engine.get(container_id).ok()?;
        let r = c.snapshot().await;
        r.state.health.as_ref().map(|h| h.status.clone())
    }

    async fn running(&self, container_id: &str) -> bool {
        match self.engine.get(container_id) {
            Ok(c) => c.snapshot().await.state.status.is_running(),
            Err(_) => false,
        }
    }

    async fn ensure_network(&self, n: SwarmNetwork) -> Result<(), String> {
        self.engine
            .swarm_network_ensure(&n)
            .await
            .map_err(|e| e.to_string())
    }

    async fn remove_network(&self, id: &str) {
        if let Err(e) = self.engine.swarm_network_remove(id).await {
            tracing::debug!("swarm network {id} stays: {e}");
        }
    }

    fn local_networks(&self) -> Vec<String> {
        self.engine.swarm_network_ids()
    }

    fn local_network_name(&self, name_or_id: &str) -> Option<String> {
        self.engine.local_network_name(name_or_id)
    }

    async fn set_lb(&self, lb: SwarmLb) {
        self.engine.set_swarm_lb(lb).await;
    }

    fn local_subnets(&self) -> Vec<String> {
        let mut v = self.engine.network_subnets();
        v.extend(
            berth_net::ipam::host_routes()
                .into_iter()
                .map(|r| r.to_string()),
        );
        v
    }

    async fn existing(&self) -> Vec<Found> {
        let mut out = Vec::new();
        for c in self.engine.all() {
            let r = c.snapshot().await;
            if let Some(task_id) = r.config.labels().get("com.docker.swarm.task.id") {
                out.push(Found {
                    task_id: task_id.clone(),
                    container_id: r.id.clone(),
                    running: r.state.status.is_running(),
                    pid: r.state.pid,
                    exit_code: r.state.exit_code,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map, Value};

    /// The create body as the executor built it before the typed model (json!).
    fn create_body_before(run: &TaskRun, binds: Vec<String>) -> Result<Value, String> {
        let t = &run.task;
        let c = t
            .spec
            .container_spec
            .clone()
            .ok_or_else(|| "task has no container spec".to_string())?;
        let mut labels: Map<String, Value> = c
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), json!(expand_template(v, run))))
            .collect();
        let name = task_container_name(run);
        labels.insert("com.docker.swarm.node.id".into(), json!(run.node_id));
        labels.insert("com.docker.swarm.service.id".into(), json!(t.service_id));
        labels.insert(
            "com.docker.swarm.service.name".into(),
            json!(run.service_name),
        );
        labels.insert("com.docker.swarm.task".into(), json!(""));
        labels.insert("com.docker.swarm.task.id".into(), json!(t.id));
        labels.insert("com.docker.swarm.task.name".into(), json!(name));
        let env: Vec<String> = c.env.iter().map(|e| expand_template(e, run)).collect();
        let mut mounts = Vec::new();
        for m in &c.mounts {
            mounts.push(serde_json::to_value(m).map_err(|e| e.to_string())?);
        }
        let res = t.spec.resources.clone().unwrap_or_default();
        let limits = res.limits.unwrap_or_default();
        let mut host = json!({
            "Binds": binds,
            "Mounts": mounts,
            "RestartPolicy": {"Name": "no"},
            "ReadonlyRootfs": c.read_only,
            "NanoCpus": limits.nano_cpus,
            "Memory": limits.memory_bytes,
            "ExtraHosts": c.hosts.iter().map(|h| {
                // Swarm's "IP HOST" entries become "HOST:IP".
                let mut parts = h.split_whitespace();
                match (parts.next(), parts.next()) {
                    (Some(ip), Some(host)) => format!("{host}:{ip}"),
                    _ => h.clone(),
                }
            }).collect::<Vec<_>>(),
            "CapAdd": c.capability_add,
            "CapDrop": c.capability_drop,
            "GroupAdd": c.groups,
            "Sysctls": c.sysctls,
        });
        if limits.pids > 0 {
            host["PidsLimit"] = json!(limits.pids);
        }
        host["OomScoreAdj"] = json!(c.oom_score_adj);
        host["Ulimits"] = json!(c.ulimits);
        if let Some(i) = c.init {
            host["Init"] = json!(i);
        }
        if let Some(d) = &c.dns_config {
            host["Dns"] = json!(d.nameservers);
            host["DnsSearch"] = json!(d.search);
            host["DnsOptions"] = json!(d.options);
        }
        if let Some(ld) = &t.spec.log_driver {
            host["LogConfig"] =
                json!({"Type": ld.name, "Config": ld.options.clone().unwrap_or_default()});
        }
        let mut body = json!({
            "Image": c.image,
            "Env": env,
            "Labels": labels,
            "Hostname": expand_template(&c.hostname, run),
            "WorkingDir": c.dir,
            "User": c.user,
            "Tty": c.tty,
            "OpenStdin": c.open_stdin,
            "HostConfig": host,
        });
        if !c.command.is_empty() {
            body["Entrypoint"] = json!(c.command);
        }
        if !c.args.is_empty() {
            body["Cmd"] = json!(c.args);
        }
        if !c.stop_signal.is_empty() {
            body["StopSignal"] = json!(c.stop_signal);
        }
        if let Some(g) = c.stop_grace_period {
            body["StopTimeout"] = json!(g / 1_000_000_000);
        }
        if let Some(h) = &c.healthcheck {
            body["Healthcheck"] = serde_json::to_value(h).map_err(|e| e.to_string())?;
        }
        // Its swarm networks: the first is the network mode, each with the task's address
        // and the attachment's aliases.
        let mut endpoints = Map::new();
        for a in &t.networks_attachments {
            let ip = a
                .addresses
                .first()
                .and_then(|c| c.split('/').next())
                .unwrap_or_default();
            let aliases: Vec<String> = t
                .spec
                .networks
                .iter()
                .find(|n| n.target == a.network.id || n.target == a.network.spec.name)
                .map(|n| n.aliases.clone())
                .unwrap_or_default();
            endpoints.insert(
                a.network.id.clone(),
                json!({"IPAMConfig": {"IPv4Address": ip}, "Aliases": aliases}),
            );
        }
        if let Some(first) = t.networks_attachments.first() {
            body["HostConfig"]["NetworkMode"] = json!(first.network.id);
            body["NetworkingConfig"] = json!({"EndpointsConfig": endpoints});
        } else if let Some(mode) = &run.network_mode {
            // A predefined network: the task runs in that network mode, as moby's executor
            // sets it (`host`: the node's network namespace).
            body["HostConfig"]["NetworkMode"] = json!(mode);
        }
        // Ports published in host mode are the container's own.
        let mut bindings = Map::new();
        let mut exposed = Map::new();
        // moby discards published ports in host network mode (the task's ports are the
        // node's own).
        let host_net = run.network_mode.as_deref() == Some("host");
        for p in run.host_ports.iter().filter(|_| !host_net) {
            let key = format!("{}/{}", p.target_port, p.protocol);
            let host_port = if p.published_port == 0 {
                String::new()
            } else {
                p.published_port.to_string()
            };
            exposed.insert(key.clone(), json!({}));
            bindings.insert(key, json!([{"HostIp": "", "HostPort": host_port}]));
        }
        if !bindings.is_empty() {
            body["ExposedPorts"] = Value::Object(exposed);
            body["HostConfig"]["PortBindings"] = Value::Object(bindings);
        }
        Ok(body)
    }

    /// The typed body is what the json! body parsed into.
    fn same_as_before(run: &TaskRun, binds: Vec<String>) -> Value {
        let typed = serde_json::to_value(create_body(run, binds.clone()).unwrap()).unwrap();
        let before: ContainerCreateBody =
            serde_json::from_value(create_body_before(run, binds).unwrap()).unwrap();
        assert_eq!(typed, serde_json::to_value(before).unwrap());
        typed
    }

    use berth_api::swarm::{ContainerSpec, Task, TaskSpec};

    #[test]
    fn the_create_body_follows_moby_with_templates() {
        let run = TaskRun {
            task: Task {
                id: "tid".into(),
                service_id: "sid".into(),
                slot: 3,
                spec: TaskSpec {
                    container_spec: Some(ContainerSpec {
                        image: "busybox".into(),
                        command: vec!["sh".into()],
                        args: vec!["-c".into(), "true".into()],
                        hostname: "web-{{.Task.Slot}}".into(),
                        env: vec!["NODE={{.Node.Hostname}}".into()],
                        labels: [("a".to_string(), "{{.Service.Name}}".to_string())].into(),
                        stop_signal: "SIGUSR1".into(),
                        stop_grace_period: Some(7_000_000_000),
                        hosts: vec!["1.2.3.4 db".into(), "odd".into()],
                        init: Some(true),
                        mounts: vec![berth_api::swarm::Mount {
                            r#type: "volume".into(),
                            source: "data".into(),
                            target: "/data".into(),
                            read_only: true,
                            ..Default::default()
                        }],
                        capability_add: vec!["NET_ADMIN".into()],
                        sysctls: [("net.core.somaxconn".to_string(), "64".to_string())].into(),
                        healthcheck: Some(berth_api::swarm::HealthConfig {
                            test: Some(vec!["CMD".into(), "true".into()]),
                            interval: 1_000_000_000,
                            ..Default::default()
                        }),
                        dns_config: Some(berth_api::swarm::DnsConfig {
                            nameservers: vec!["1.1.1.1".into()],
                            ..Default::default()
                        }),
                        ulimits: vec![json!({"Name": "nofile", "Hard": 200, "Soft": 100})],
                        oom_score_adj: 300,
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ..Default::default()
            },
            service_name: "web".into(),
            node_id: "nid".into(),
            node_hostname: "vm".into(),
            files: vec![],
            host_ports: vec![],
            registry_auth: None,
            network_mode: None,
        };
        assert_eq!(task_container_name(&run), "web.3.tid");
        let b = same_as_before(&run, vec!["/x:/run/secrets/pw:ro".into()]);
        assert_eq!(b["Hostname"], "web-3");
        assert_eq!(b["Entrypoint"], json!(["sh"]));
        assert_eq!(b["Cmd"], json!(["-c", "true"]));
        assert_eq!(b["Env"], json!(["NODE=vm"]));
        assert_eq!(b["Labels"]["com.docker.swarm.task.name"], "web.3.tid");
        assert_eq!(b["HostConfig"]["Binds"][0], "/x:/run/secrets/pw:ro");
        // The typed HostConfig always writes NetworkMode; "" is the daemon's default.
        assert_eq!(b["HostConfig"]["NetworkMode"], "");
        // The spec's ulimits and OOM score reach the container (moby's hostConfig).
        assert_eq!(
            b["HostConfig"]["Ulimits"],
            json!([{"Name": "nofile", "Soft": 100, "Hard": 200}])
        );
        assert_eq!(b["HostConfig"]["OomScoreAdj"], 300);
        let parsed: ContainerCreateBody = serde_json::from_value(b).unwrap();
        assert_eq!(parsed.config.image, "busybox");
    }

    #[test]
    fn a_task_on_a_predefined_network_runs_in_its_mode_without_ports() {
        let mut run = TaskRun {
            task: Task {
                id: "tid".into(),
                spec: TaskSpec {
                    container_spec: Some(ContainerSpec {
                        image: "busybox".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ..Default::default()
            },
            service_name: "web".into(),
            node_id: "nid".into(),
            node_hostname: "vm".into(),
            files: vec![],
            host_ports: vec![berth_api::swarm::PortConfig {
                protocol: "tcp".into(),
                target_port: 80,
                published_port: 8080,
                publish_mode: "host".into(),
                ..Default::default()
            }],
            registry_auth: None,
            network_mode: Some("host".into()),
        };
        let b = same_as_before(&run, vec![]);
        assert_eq!(b["HostConfig"]["NetworkMode"], "host");
        // Host-mode ports are the daemon's business, not the body's: no bindings.
        assert_eq!(b["HostConfig"]["PortBindings"], json!({}));
        assert!(b.get("NetworkingConfig").is_none());
        run.network_mode = Some("bridge".into());
        let b = same_as_before(&run, vec![]);
        assert_eq!(b["HostConfig"]["NetworkMode"], "bridge");
        assert_eq!(
            b["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"],
            "8080"
        );
    }
}
