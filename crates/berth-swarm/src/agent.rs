//! The node agent: runs the tasks assigned to this node through an [`Executor`] and
//! reports their status. It owns no state of its own: the task list comes from the
//! replicated store and each container carries its task id as a label, so after a daemon
//! restart (or kill -9) the agent finds the containers again instead of starting twins.

use crate::orchestrator::{format_time, is_terminal, state_rank};
use crate::raft::{Replicated, Shared};
use crate::store::{Command, Object, Op, State};
use berth_api::swarm::{ContainerStatus, Task};
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
    for r in &c.configs {
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

        // Adopt what runs already (daemon restart): no task is started twice.
        let st = self.shared().snapshot();
        for f in self.exec.existing().await {
            match st.tasks.get(&f.task_id) {
                None => self.exec.remove(&f.container_id, &f.task_id).await,
                Some(t) => {
                    containers.insert(f.task_id.clone(), f.container_id.clone());
                    if f.running {
                        if t.status.state != "running" && !is_terminal(&t.status.state) {
                            let _ = tx.send(Report {
                                task_id: t.id.clone(),
                                state: "running",
                                message: "started".into(),
                                err: String::new(),
                                container: Some(ContainerStatus {
                                    container_id: f.container_id.clone(),
                                    pid: f.pid,
                                    exit_code: 0,
                                }),
                            });
                        }
                        self.watch_exit(&tx, &busy, &t.id, &f.container_id);
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
            if t.status.state == "running" && !containers.contains_key(&t.id) {
                let _ = tx.send(exit_report(&t.id, "", None));
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

    fn watch_exit(
        &self,
        tx: &mpsc::UnboundedSender<Report>,
        busy: &Arc<std::sync::Mutex<HashSet<String>>>,
        task_id: &str,
        container_id: &str,
    ) {
        let exec = self.exec.clone();
        let tx = tx.clone();
        let task_id = task_id.to_string();
        let cid = container_id.to_string();
        let _ = busy;
        tokio::spawn(async move {
            let code = exec.wait_exit(&cid).await;
            let _ = tx.send(exit_report(&task_id, &cid, code));
        });
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
        for t in st.tasks.values().filter(|t| t.node_id == self.node_id) {
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
                let run = TaskRun {
                    task: t.clone(),
                    service_name,
                    node_id: self.node_id.clone(),
                    node_hostname: self.node_hostname.clone(),
                    files,
                };
                if let Ok(mut b) = busy.lock() {
                    b.insert(t.id.clone());
                }
                let exec = self.exec.clone();
                let tx = tx.clone();
                let task_id = t.id.clone();
                tokio::spawn(async move {
                    match exec.run(run).await {
                        Ok((cid, pid)) => {
                            let _ = tx.send(Report {
                                task_id: task_id.clone(),
                                state: "running",
                                message: "started".into(),
                                err: String::new(),
                                container: Some(ContainerStatus {
                                    container_id: cid.clone(),
                                    pid,
                                    exit_code: 0,
                                }),
                            });
                            let code = exec.wait_exit(&cid).await;
                            let _ = tx.send(exit_report(&task_id, &cid, code));
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
                let grace = t
                    .spec
                    .container_spec
                    .as_ref()
                    .and_then(|c| c.stop_grace_period);
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
