//! The node agent: runs the tasks assigned to this node through an [`Executor`] and
//! reports their status. It owns no state of its own: the task list comes from the
//! replicated store and each container carries its task id as a label, so after a daemon
//! restart (or kill -9) the agent finds the containers again instead of starting twins.
//!
//! A container with a health check is `starting` until it is healthy, then `running`; one
//! found unhealthy (then or later) is stopped and its task fails with moby's
//! "unhealthy container". The agent also keeps this node's networking in line with the
//! state ([`crate::netplan`]): the swarm networks its tasks need, the services' names,
//! VIPs and routing-mesh ports with their running tasks behind them.

use crate::netplan::{lb_plan, needed_networks};
use crate::orchestrator::{format_time, is_terminal, state_rank};
use crate::raft::{Replicated, Shared};
use crate::store::{Command, Kind, Object, Op, State};
use berth_api::swarm::{ContainerStatus, Task};
use berth_engine::network::swarm::{SwarmLb, SwarmNetwork};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::mpsc;

/// A file a task gets (a secret or a config), written on a tmpfs and bound read-only.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFile {
    pub target: String,
    pub data: Vec<u8>,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

/// What the agent needs to start a task's container.
#[derive(Debug, Clone)]
pub struct TaskRun {
    pub task: Task,
    pub service_name: String,
    pub node_id: String,
    pub node_hostname: String,
    pub files: Vec<TaskFile>,
    /// The service's ports published in host mode (the container publishes them).
    pub host_ports: Vec<berth_api::swarm::PortConfig>,
    /// The service's registry credentials, for pulling a missing image.
    pub registry_auth: Option<String>,
    /// The predefined network (`host`, `bridge`) the task runs in, if it names one.
    pub network_mode: Option<String>,
}

/// A container the executor found with a task label.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub task_id: String,
    pub container_id: String,
    pub running: bool,
    pub pid: i64,
    pub exit_code: i64,
}

/// Why a task could not start: `rejected` (never created) or `failed`.
#[derive(Debug, Clone, PartialEq)]
pub struct StartError {
    pub state: &'static str,
    pub err: String,
    pub container_id: String,
}

/// The agent's only way to the containers (the engine in the daemon, a fake in tests).
pub trait Executor: Send + Sync + 'static {
    /// Creates and starts the container: its id and pid.
    fn run(&self, run: TaskRun) -> impl Future<Output = Result<(String, i64), StartError>> + Send;
    /// Waits until the container is not running: its exit code (None: it is gone).
    fn wait_exit(&self, container_id: &str) -> impl Future<Output = Option<i64>> + Send;
    fn stop(&self, container_id: &str, grace_ns: Option<i64>) -> impl Future<Output = ()> + Send;
    fn remove(&self, container_id: &str, task_id: &str) -> impl Future<Output = ()> + Send;
    fn existing(&self) -> impl Future<Output = Vec<Found>> + Send;
    /// The container's health status ("starting", "healthy", "unhealthy"), None when it
    /// has no health check (or is gone).
    fn health(&self, container_id: &str) -> impl Future<Output = Option<String>> + Send;
    /// Whether the container runs (network attachments are kept only for those).
    fn running(&self, container_id: &str) -> impl Future<Output = bool> + Send;
    /// Makes this node's copy of a swarm network.
    fn ensure_network(&self, n: SwarmNetwork) -> impl Future<Output = Result<(), String>> + Send;
    /// Removes this node's copy of a swarm network (nothing while containers use it).
    fn remove_network(&self, id: &str) -> impl Future<Output = ()> + Send;
    /// The swarm networks this node has a copy of.
    fn local_networks(&self) -> Vec<String>;
    /// The name of the local (not swarm) network with this name or id, if there is one.
    fn local_network_name(&self, name_or_id: &str) -> Option<String>;
    /// The services' records, VIP balancing and routing mesh.
    fn set_lb(&self, lb: SwarmLb) -> impl Future<Output = ()> + Send;
    /// The subnets this node's own networks and routes use (swarm networks avoid them).
    fn local_subnets(&self) -> Vec<String>;
}

/// A status change of one task, sent by workers and committed in batches.
#[derive(Debug)]
struct Report {
    task_id: String,
    state: &'static str,
    message: String,
    err: String,
    container: Option<ContainerStatus>,
}

fn exit_report(task_id: &str, container_id: &str, code: Option<i64>) -> Report {
    exit_report_in(task_id, container_id, code, "started", None)
}

/// The report of a container that ended: `message` is the state it ended in (swarmkit
/// keeps "starting" for a task that never ran), `cause` why it was stopped.
fn exit_report_in(
    task_id: &str,
    container_id: &str,
    code: Option<i64>,
    message: &str,
    cause: Option<&str>,
) -> Report {
    let mut r = exit_report_plain(task_id, container_id, code);
    if r.state != "complete" {
        r.message = message.into();
    }
    // moby's controller: stopped for a cause (unhealthy), the task fails whatever its
    // exit code; a non-zero one is named with the cause.
    if let Some(c) = cause {
        r.state = "failed";
        r.message = message.into();
        r.err = match code.filter(|c| *c != 0) {
            Some(code) => format!("task: non-zero exit ({code}): {c}"),
            None => c.to_string(),
        };
    }
    r
}

fn exit_report_plain(task_id: &str, container_id: &str, code: Option<i64>) -> Report {
    match code {
        Some(0) => Report {
            task_id: task_id.into(),
            state: "complete",
            message: "finished".into(),
            err: String::new(),
            container: Some(ContainerStatus {
                container_id: container_id.into(),
                pid: 0,
                exit_code: 0,
            }),
        },
        Some(c) => Report {
            task_id: task_id.into(),
            state: "failed",
            message: "started".into(),
            err: format!("task: non-zero exit ({c})"),
            container: Some(ContainerStatus {
                container_id: container_id.into(),
                pid: 0,
                exit_code: c,
            }),
        },
        None => Report {
            task_id: task_id.into(),
            state: "failed",
            message: "started".into(),
            err: "task: container removed".into(),
            container: None,
        },
    }
}

/// Bookkeeping of the main loop for a worker's report: the container it names, and the
/// task is no longer busy (only the main loop clears `busy`, after it saw the report, so
/// a task is never started twice from a stale view).
fn absorb(
    containers: &mut HashMap<String, String>,
    busy: &Arc<std::sync::Mutex<HashSet<String>>>,
    r: &Report,
) {
    if let Some(c) = &r.container {
        if !c.container_id.is_empty() {
            containers.insert(r.task_id.clone(), c.container_id.clone());
        }
    }
    if let Ok(mut b) = busy.lock() {
        b.remove(&r.task_id);
    }
}

/// Resolves a task's secret and config references into files.
pub fn task_files(st: &State, t: &Task) -> Result<Vec<TaskFile>, String> {
    let mut out = Vec::new();
    let Some(c) = &t.spec.container_spec else {
        return Ok(out);
    };
    for r in &c.secrets {
        let s = st
            .secrets
            .get(&r.secret_id)
            .ok_or_else(|| format!("secret {} not found", r.secret_name))?;
        let f = r.file.clone().unwrap_or_default();
        let name = if f.name.is_empty() {
            r.secret_name.clone()
        } else {
            f.name
        };
        let target = if name.starts_with('/') {
            name
        } else {
            format!("/run/secrets/{name}")
        };
        out.push(TaskFile {
            target,
            data: s.spec.data.clone(),
            uid: f.uid.parse().unwrap_or(0),
            gid: f.gid.parse().unwrap_or(0),
            mode: if f.mode == 0 { 0o444 } else { f.mode },
        });
    }
    // A runtime-target config (a credential spec's) is no file in the container.
    for r in c
        .configs
        .iter()
        .filter(|r| r.file.is_some() || r.runtime.is_none())
    {
        let s = st
            .configs
            .get(&r.config_id)
            .ok_or_else(|| format!("config {} not found", r.config_name))?;
        let f = r.file.clone().unwrap_or_default();
        let name = if f.name.is_empty() {
            r.config_name.clone()
        } else {
            f.name
        };
        let target = if name.starts_with('/') {
            name
        } else {
            format!("/{name}")
        };
        out.push(TaskFile {
            target,
            data: s.spec.data.clone(),
            uid: f.uid.parse().unwrap_or(0),
            gid: f.gid.parse().unwrap_or(0),
            mode: if f.mode == 0 { 0o444 } else { f.mode },
        });
    }
    Ok(out)
}

pub struct Agent<E: Executor> {
    exec: Arc<E>,
    store: Arc<Replicated>,
    node_id: String,
    node_hostname: String,
}

/// How a container with a health check came out of its start.
enum Started {
    Healthy,
    Unhealthy,
    Exited(Option<i64>),
}

/// Waits for a started container's health check to settle (or for it to exit).
async fn await_healthy<E: Executor>(exec: &E, cid: &str) -> Started {
    let exit = exec.wait_exit(cid);
    tokio::pin!(exit);
    loop {
        tokio::select! {
            code = &mut exit => return Started::Exited(code),
            _ = tokio::time::sleep(HEALTH_POLL) => {
                match exec.health(cid).await.as_deref() {
                    Some("starting") => {}
                    Some("unhealthy") => return Started::Unhealthy,
                    _ => return Started::Healthy,
                }
            }
        }
    }
}

const HEALTH_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// Follows a started task's container: its health check first (`starting` until healthy,
/// when it has one and `starting` says it is still waiting for it), then its exit, stopping
/// it if it turns unhealthy meanwhile (moby's controller `Start` and `Wait`).
async fn follow<E: Executor>(
    exec: Arc<E>,
    tx: mpsc::UnboundedSender<Report>,
    task_id: String,
    cid: String,
    pid: i64,
    grace: Option<i64>,
    starting: bool,
) {
    let status = |pid| {
        Some(ContainerStatus {
            container_id: cid.clone(),
            pid,
            exit_code: 0,
        })
    };
    let has_health = exec.health(&cid).await.is_some();
    if has_health && starting {
        let _ = tx.send(Report {
            task_id: task_id.clone(),
            state: "starting",
            message: "starting".into(),
            err: String::new(),
            container: status(pid),
        });
        match await_healthy(&*exec, &cid).await {
            Started::Healthy => {}
            Started::Unhealthy => {
                exec.stop(&cid, grace).await;
                let code = exec.wait_exit(&cid).await;
                // moby's Start returns ErrContainerUnhealthy itself, not the exit.
                let mut r = exit_report_in(
                    &task_id,
                    &cid,
                    code,
                    "starting",
                    Some("unhealthy container"),
                );
                r.err = "unhealthy container".into();
                let _ = tx.send(r);
                return;
            }
            Started::Exited(code) => {
                let _ = tx.send(exit_report_in(&task_id, &cid, code, "starting", None));
                return;
            }
        }
    }
    if starting {
        let _ = tx.send(Report {
            task_id: task_id.clone(),
            state: "running",
            message: "started".into(),
            err: String::new(),
            container: status(pid),
        });
    }
    let exit = exec.wait_exit(&cid);
    tokio::pin!(exit);
    let mut cause = None;
    loop {
        tokio::select! {
            code = &mut exit => {
                let _ = tx.send(exit_report_in(&task_id, &cid, code, "started", cause));
                return;
            }
            _ = tokio::time::sleep(HEALTH_POLL * 5), if has_health && cause.is_none() => {
                if exec.health(&cid).await.as_deref() == Some("unhealthy") {
                    cause = Some("unhealthy container");
                    exec.stop(&cid, grace).await;
                }
            }
        }
    }
}

fn grace_of(t: &Task) -> Option<i64> {
    t.spec
        .container_spec
        .as_ref()
        .and_then(|c| c.stop_grace_period)
}

/// What the agent last made of this node's networking.
#[derive(Default)]
struct NetState {
    lb: Option<SwarmLb>,
}

impl<E: Executor> Agent<E> {
    pub fn new(
        exec: Arc<E>,
        store: Arc<Replicated>,
        node_id: String,
        node_hostname: String,
    ) -> Self {
        Agent {
            exec,
            store,
            node_id,
            node_hostname,
        }
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.store.shared
    }

    /// Runs until `stop` fires.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Report>();
        // task id -> container id, for the tasks this agent runs.
        let mut containers: HashMap<String, String> = HashMap::new();
        // Tasks a worker is busy with (starting or stopping).
        let busy: Arc<std::sync::Mutex<HashSet<String>>> = Default::default();
        let mut applied = self.shared().applied.subscribe();
        let mut net = NetState::default();

        // Adopt what runs already (daemon restart): no task is started twice.
        let st = self.shared().snapshot();
        for f in self.exec.existing().await {
            match st.tasks.get(&f.task_id) {
                None => self.exec.remove(&f.container_id, &f.task_id).await,
                Some(t) => {
                    containers.insert(f.task_id.clone(), f.container_id.clone());
                    if f.running {
                        // A task still waiting for its health check goes on waiting.
                        let starting = t.status.state != "running" && !is_terminal(&t.status.state);
                        tokio::spawn(follow(
                            self.exec.clone(),
                            tx.clone(),
                            t.id.clone(),
                            f.container_id.clone(),
                            f.pid,
                            grace_of(t),
                            starting,
                        ));
                    } else if state_rank(&t.status.state) <= state_rank("running")
                        && state_rank(&t.status.state) >= state_rank("starting")
                    {
                        let _ = tx.send(exit_report(&t.id, &f.container_id, Some(f.exit_code)));
                    }
                }
            }
        }
        // Tasks that were running but lost their container while we were away.
        for t in st.tasks.values().filter(|t| t.node_id == self.node_id) {
            if t.spec.network_attachment_spec.is_none()
                && matches!(t.status.state.as_str(), "starting" | "running")
                && !containers.contains_key(&t.id)
            {
                let _ = tx.send(exit_report(&t.id, "", None));
            }
        }
        // Network attachments of containers that stopped while we were away.
        let mut gone = Vec::new();
        for t in st.tasks.values().filter(|t| t.node_id == self.node_id) {
            if let Some(a) = &t.spec.network_attachment_spec {
                if !self.exec.running(&a.container_id).await {
                    gone.push(Op::Delete {
                        kind: Kind::Task,
                        id: t.id.clone(),
                    });
                }
            }
        }
        if !gone.is_empty() {
            let at = format_time(chrono::Utc::now());
            if let Err(e) = self.store.propose(Command { at, ops: gone }).await {
                tracing::warn!("swarm agent: cannot drop stale network attachments: {e}");
            }
        }

        loop {
            // Commit whatever workers reported.
            let mut reports = Vec::new();
            while let Ok(r) = rx.try_recv() {
                reports.push(r);
            }
            if !reports.is_empty() {
                for r in &reports {
                    absorb(&mut containers, &busy, r);
                }
                self.commit(reports).await;
            }
            let st = self.shared().snapshot();
            self.sync_networks(&st, &mut net).await;
            self.step(&st, &mut containers, &busy, &tx).await;
            tokio::select! {
                _ = stop.changed() => break,
                r = rx.recv() => {
                    if let Some(r) = r {
                        // Let a burst of reports gather into one commit.
                        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                        let mut more = vec![r];
                        while let Ok(r) = rx.try_recv() {
                            more.push(r);
                        }
                        for r in &more {
                            absorb(&mut containers, &busy, r);
                        }
                        self.commit(more).await;
                    }
                }
                _ = applied.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
        }
    }

    /// The swarm networks this node needs (made before its tasks start, removed once no
    /// task or attachment uses them), then the services' records and balancing.
    async fn sync_networks(&self, st: &State, net: &mut NetState) {
        let needed = needed_networks(st, &self.node_id);
        let local = self.exec.local_networks();
        for (id, n) in &needed {
            if !local.contains(id) {
                if let Err(e) = self.exec.ensure_network(n.clone()).await {
                    tracing::warn!("swarm agent: network {}: {e}", n.name);
                }
            }
        }
        for id in local.iter().filter(|id| !needed.contains_key(*id)) {
            self.exec.remove_network(id).await;
        }
        let lb = lb_plan(st);
        if net.lb.as_ref() != Some(&lb) {
            self.exec.set_lb(lb.clone()).await;
            net.lb = Some(lb);
        }
    }

    async fn commit(&self, reports: Vec<Report>) {
        let now = format_time(chrono::Utc::now());
        let ops: Vec<Op> = self.shared().read(|st| {
            reports
                .into_iter()
                .filter_map(|r| {
                    let mut t = st.tasks.get(&r.task_id)?.clone();
                    // A task told to stop that exits is shut down, whatever its exit code.
                    let mut r = r;
                    if t.desired_state != "running" && matches!(r.state, "complete" | "failed") {
                        r.state = "shutdown";
                        r.message = "shutdown".into();
                        r.err.clear();
                    }
                    // States only move forward.
                    if state_rank(r.state) < state_rank(&t.status.state)
                        || (r.state == t.status.state && is_terminal(r.state))
                    {
                        return None;
                    }
                    t.status.state = r.state.into();
                    t.status.message = r.message;
                    t.status.err = r.err;
                    t.status.timestamp = now.clone();
                    if let Some(c) = r.container {
                        let keep_pid = t
                            .status
                            .container_status
                            .as_ref()
                            .map(|c| c.pid)
                            .unwrap_or(0);
                        let mut c = c;
                        if c.pid == 0 && r.state == "running" {
                            c.pid = keep_pid;
                        }
                        if c.container_id.is_empty() {
                            c.container_id = t
                                .status
                                .container_status
                                .as_ref()
                                .map(|c| c.container_id.clone())
                                .unwrap_or_default();
                        }
                        t.status.container_status = Some(c);
                    }
                    Some(Op::Update {
                        object: Object::Task(Box::new(t)),
                        expect: None,
                    })
                })
                .collect()
        });
        if ops.is_empty() {
            return;
        }
        if let Err(e) = self.store.propose(Command { at: now, ops }).await {
            tracing::warn!("swarm agent: cannot report task status: {e}");
        }
    }

    async fn step(
        &self,
        st: &State,
        containers: &mut HashMap<String, String>,
        busy: &Arc<std::sync::Mutex<HashSet<String>>>,
        tx: &mpsc::UnboundedSender<Report>,
    ) {
        // Containers whose task is gone from the store: removed.
        let gone: Vec<(String, String)> = containers
            .iter()
            .filter(|(t, _)| !st.tasks.contains_key(*t))
            .map(|(t, c)| (t.clone(), c.clone()))
            .collect();
        for (t, c) in gone {
            containers.remove(&t);
            let exec = self.exec.clone();
            tokio::spawn(async move { exec.remove(&c, &t).await });
        }
        for t in st
            .tasks
            .values()
            .filter(|t| t.node_id == self.node_id && t.spec.network_attachment_spec.is_none())
        {
            if busy.lock().map(|b| b.contains(&t.id)).unwrap_or(true) {
                continue;
            }
            let desired = state_rank(&t.desired_state);
            let current = state_rank(&t.status.state);
            if t.desired_state == "running" && t.status.state == "assigned" {
                let files = match task_files(st, t) {
                    Ok(f) => f,
                    Err(e) => {
                        let _ = tx.send(Report {
                            task_id: t.id.clone(),
                            state: "rejected",
                            message: "preparing".into(),
                            err: e,
                            container: None,
                        });
                        continue;
                    }
                };
                let service_name = st
                    .services
                    .get(&t.service_id)
                    .map(|s| s.spec.name.clone())
                    .unwrap_or_default();
                let host_ports = st
                    .services
                    .get(&t.service_id)
                    .map(|s| {
                        crate::allocator::spec_ports(&s.spec)
                            .into_iter()
                            .filter(|p| p.publish_mode == "host")
                            .collect()
                    })
                    .unwrap_or_default();
                let run = TaskRun {
                    task: t.clone(),
                    service_name,
                    node_id: self.node_id.clone(),
                    node_hostname: self.node_hostname.clone(),
                    files,
                    host_ports,
                    registry_auth: st.registry_auth.get(&t.service_id).cloned(),
                    network_mode: crate::predefined::mode_of(
                        st,
                        &t.spec
                            .networks
                            .iter()
                            .map(|n| n.target.clone())
                            .collect::<Vec<_>>(),
                    )
                    .map(str::to_string),
                };
                if let Ok(mut b) = busy.lock() {
                    b.insert(t.id.clone());
                }
                let exec = self.exec.clone();
                let tx = tx.clone();
                let task_id = t.id.clone();
                let grace = grace_of(t);
                tokio::spawn(async move {
                    match exec.run(run).await {
                        Ok((cid, pid)) => {
                            follow(exec, tx, task_id, cid, pid, grace, true).await;
                        }
                        Err(e) => {
                            let _ = tx.send(Report {
                                task_id,
                                state: e.state,
                                message: if e.state == "rejected" {
                                    "preparing"
                                } else {
                                    "starting"
                                }
                                .into(),
                                err: e.err,
                                container: if e.container_id.is_empty() {
                                    None
                                } else {
                                    Some(ContainerStatus {
                                        container_id: e.container_id,
                                        pid: 0,
                                        exit_code: 0,
                                    })
                                },
                            });
                        }
                    }
                });
            } else if desired > state_rank("running") && current <= state_rank("running") {
                // Told to stop (scale down, update, drain, service removed).
                let Some(cid) = containers.get(&t.id).cloned() else {
                    let _ = tx.send(Report {
                        task_id: t.id.clone(),
                        state: "shutdown",
                        message: "shutdown".into(),
                        err: String::new(),
                        container: None,
                    });
                    continue;
                };
                if let Ok(mut b) = busy.lock() {
                    b.insert(t.id.clone());
                }
                let grace = grace_of(t);
                let exec = self.exec.clone();
                let tx = tx.clone();
                let task_id = t.id.clone();
                tokio::spawn(async move {
                    exec.stop(&cid, grace).await;
                    let _ = tx.send(Report {
                        task_id,
                        state: "shutdown",
                        message: "shutdown".into(),
                        err: String::new(),
                        container: Some(ContainerStatus {
                            container_id: cid,
                            pid: 0,
                            exit_code: 0,
                        }),
                    });
                });
            }
        }
    }
}
