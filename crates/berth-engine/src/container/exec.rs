//! `docker exec`: exec instances (created, started, inspected, resized), kept in memory as
//! Docker keeps them, and run by the container's shim.

use super::Status;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::runtime;
use berth_api::models::{ExecCreateBody, ExecInspect, ExecProcessConfig, ExecStartBody};
use berth_runtime::client::ExecStartError;
use std::sync::{Arc, Mutex};
use tokio::net::UnixStream;
use tracing::{debug, warn};

/// One exec instance.
pub struct Exec {
    pub id: String,
    pub container_id: String,
    pub config: ExecCreateBody,
    state: Mutex<ExecState>,
    created: std::time::Instant,
    /// Becomes true once the exit code is recorded.
    done: tokio::sync::watch::Sender<bool>,
}

#[derive(Default)]
struct ExecState {
    started: bool,
    running: bool,
    pid: i64,
    exit_code: Option<i64>,
}

impl Exec {
    fn state(&self) -> std::sync::MutexGuard<'_, ExecState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A started exec: its stdio stream (none when detached).
pub struct ExecStarted {
    pub tty: bool,
    pub stdin: bool,
    pub detach_keys: Vec<u8>,
    pub stream: Option<UnixStream>,
}

/// An exec that could not start: Docker's message, written into the attached stream.
#[derive(Debug)]
pub struct ExecFailed(pub String);

impl Engine {
    fn exec_lookup(&self, id: &str) -> Result<Arc<Exec>> {
        self.execs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| EngineError::NotFound(format!("No such exec instance: {id}")))
    }

    /// The exec ids of a container (inspect's ExecIDs), oldest first.
    pub fn exec_ids(&self, container_id: &str) -> Vec<String> {
        let execs = self.execs.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<&Arc<Exec>> = execs
            .values()
            .filter(|e| e.container_id == container_id)
            .collect();
        v.sort_by_key(|e| e.created);
        v.into_iter().map(|e| e.id.clone()).collect()
    }

    /// Forgets the execs of a removed container.
    pub(super) fn drop_execs(&self, container_id: &str) {
        self.execs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, e| e.container_id != container_id);
    }

    /// Checks the container can take an exec: Docker's conflicts otherwise.
    async fn exec_target(&self, name_or_id: &str) -> Result<String> {
        let c = self.get(name_or_id)?;
        let rec = c.record.lock().await;
        match rec.state.status {
            Status::Running => Ok(rec.id.clone()),
            Status::Paused => Err(EngineError::Conflict(format!(
                "Container {name_or_id} is paused, unpause the container before exec"
            ))),
            Status::Restarting => Err(EngineError::Conflict(format!(
                "container {} is restarting, wait until the container is running",
                rec.id
            ))),
            _ => Err(EngineError::Conflict(format!(
                "container {} is not running",
                rec.id
            ))),
        }
    }

    /// `POST /containers/{id}/exec`: returns the new exec's id.
    pub async fn exec_create(&self, name_or_id: &str, body: ExecCreateBody) -> Result<String> {
        let container_id = self.exec_target(name_or_id).await?;
        // The exec joins the container's cgroup: the kernel's wait for that, in advance.
        runtime::prime_cgroup_migration();
        if body.cmd.is_empty() {
            return Err(EngineError::InvalidParameter(
                "No exec command specified".into(),
            ));
        }
        if !body.detach_keys.is_empty() {
            berth_api::detach::parse(&body.detach_keys).map_err(EngineError::InvalidParameter)?;
        }
        let id = {
            let mut bytes = [0u8; 32];
            for b in bytes.iter_mut() {
                *b = rand::random();
            }
            hex::encode(bytes)
        };
        let exec = Arc::new(Exec {
            id: id.clone(),
            container_id,
            config: body,
            state: Mutex::new(ExecState::default()),
            created: std::time::Instant::now(),
            done: tokio::sync::watch::channel(false).0,
        });
        let cmdline = exec.config.cmd.join(" ");
        let container_id = exec.container_id.clone();
        self.execs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), exec);
        self.exec_event(&container_id, &format!("exec_create: {cmdline}"), &id, None)
            .await;
        Ok(id)
    }

    /// moby's exec events: `exec_create: CMD`, `exec_start: CMD`, `exec_die` (with exitCode).
    async fn exec_event(&self, container_id: &str, action: &str, exec_id: &str, code: Option<i64>) {
        let Ok(c) = self.get(container_id) else {
            return;
        };
        let rec = c.snapshot().await;
        let mut extra = vec![("execID", exec_id.to_string())];
        if let Some(code) = code {
            extra.push(("exitCode", code.to_string()));
        }
        self.events.container(&rec, action, &extra);
    }

    /// `POST /exec/{id}/start`. `Err(Ok(ExecFailed))` is a process that could not start
    /// (its exit code is recorded, as Docker's 126/127); other errors are API errors.
    pub async fn exec_start(
        self: &Arc<Self>,
        id: &str,
        body: &ExecStartBody,
    ) -> std::result::Result<ExecStarted, std::result::Result<ExecFailed, EngineError>> {
        let exec = self.exec_lookup(id).map_err(Err)?;
        {
            let mut st = exec.state();
            if st.running {
                return Err(Err(EngineError::Conflict(format!(
                    "Error: Exec command {id} is already running"
                ))));
            }
            if st.started {
                return Err(Err(EngineError::Conflict(format!(
                    "Error: Exec command {id} has already run"
                ))));
            }
            st.started = true;
        }
        let cfg = &exec.config;
        let mut process = match self.exec_process(&exec).await.map_err(Err)? {
            Ok(p) => p,
            // The process could not be set up (an unknown user): it failed to start, with
            // the daemon's own message as moby's (exit 126).
            Err(message) => {
                return self.exec_failed(&exec, message, 126, body.detach);
            }
        };
        let size = body.console().or(cfg.console_size.as_deref());
        if let (true, Some([h, w])) = (cfg.tty, size) {
            berth_runtime::spec::set_console_size(&mut process, *h, *w);
        }
        let detach = body.detach;
        let (stdin, stdout, stderr) = if detach {
            (false, false, false)
        } else {
            (cfg.attach_stdin, cfg.attach_stdout, cfg.attach_stderr)
        };
        let dir = self.dir(&exec.container_id);
        let started = self
            .runtime
            .exec(&dir, id, &process, (stdin, stdout, stderr))
            .await;
        match started {
            Ok((pid, stream)) => {
                {
                    let mut st = exec.state();
                    st.running = true;
                    st.pid = i64::from(pid);
                }
                self.exec_event(
                    &exec.container_id,
                    &format!("exec_start: {}", cfg.cmd.join(" ")),
                    id,
                    None,
                )
                .await;
                let waiter = exec.clone();
                let engine = self.clone();
                tokio::spawn(async move {
                    let code = match engine.runtime.exec_wait(&dir, &waiter.id).await {
                        Ok(c) => i64::from(c),
                        Err(e) => {
                            warn!(exec = %waiter.id, error = %e, "exec ended without a status");
                            // The shim is gone with the container: killed with it.
                            137
                        }
                    };
                    {
                        let mut st = waiter.state();
                        st.running = false;
                        st.exit_code = Some(code);
                    }
                    waiter.done.send_replace(true);
                    debug!(exec = %waiter.id, code, "exec exited");
                    engine
                        .exec_event(&waiter.container_id, "exec_die", &waiter.id, Some(code))
                        .await;
                });
                let detach_keys = if cfg.detach_keys.is_empty() {
                    berth_api::detach::DEFAULT.to_vec()
                } else {
                    berth_api::detach::parse(&cfg.detach_keys).unwrap_or_default()
                };
                Ok(ExecStarted {
                    tty: cfg.tty,
                    stdin,
                    detach_keys,
                    stream: (!detach && (stdin || stdout || stderr)).then_some(stream),
                })
            }
            Err(ExecStartError::Failed { message, exit_code }) => self.exec_failed(
                &exec,
                format!(
                    "OCI runtime exec failed: exec failed: unable to start container process: {message}: unknown"
                ),
                exit_code,
                detach,
            ),
            Err(ExecStartError::Client(e)) => {
                exec.state().exit_code = Some(126);
                // The shim refuses an exec once the container stopped (or is itself gone):
                // classified where the shim's answers are (`ClientError::process_gone`).
                Err(Err(if e.process_gone() {
                    EngineError::Conflict(format!("container {} is not running", exec.container_id))
                } else {
                    EngineError::Internal(e.to_string())
                }))
            }
        }
    }

    /// An exec whose process could not start: its exit code recorded, `msg` its error.
    fn exec_failed(
        &self,
        exec: &Exec,
        msg: String,
        exit_code: i32,
        detach: bool,
    ) -> std::result::Result<ExecStarted, std::result::Result<ExecFailed, EngineError>> {
        exec.state().exit_code = Some(i64::from(exit_code));
        if detach {
            Err(Err(if exit_code == 127 || exit_code == 126 {
                EngineError::InvalidParameter(msg)
            } else {
                EngineError::Internal(msg)
            }))
        } else {
            Err(Ok(ExecFailed(msg)))
        }
    }

    /// The exec's OCI process: the container's, with the exec's settings; `Ok(Err(message))`
    /// when the exec's user cannot be resolved (the process fails to start, as with runc).
    async fn exec_process(
        &self,
        exec: &Exec,
    ) -> Result<std::result::Result<oci_spec::runtime::Process, String>> {
        let c = self.get(&exec.container_id)?;
        let rec = c.record.lock().await;
        if rec.state.status != Status::Running {
            return Err(EngineError::Conflict(format!(
                "container {} is not running",
                rec.id
            )));
        }
        let dir = self.dir(&rec.id);
        let base = spec_process(&dir)
            .map_err(|e| EngineError::internal("read the container's spec", e))?
            .ok_or_else(|| EngineError::Internal("the container's spec has no process".into()))?;
        let cfg = &exec.config;
        let linked = super::links::with_env(&rec, &dir);
        let input = berth_runtime::spec::ExecInput {
            args: cfg.cmd.clone(),
            env: runtime::exec_env(linked.as_ref().unwrap_or(&*rec), cfg.tty, &cfg.env),
            cwd: cfg.working_dir.clone(),
            user: cfg.user.clone(),
            tty: cfg.tty,
            privileged: cfg.privileged,
        };
        let rootfs = dir.join("bundle/rootfs");
        match berth_runtime::spec::exec_process(&base, &rootfs, &input) {
            Ok(p) => Ok(Ok(p)),
            Err(berth_runtime::spec::SpecError::User(m)) => Ok(Err(m)),
            Err(e) => Err(EngineError::InvalidParameter(e.to_string())),
        }
    }

    /// Resolves once the exec's exit code is recorded (at most `limit` later): a client
    /// that asks for it right after its stream ended (docker-py's exec_run) must find it.
    pub async fn exec_settled(&self, id: &str, limit: std::time::Duration) {
        let Ok(exec) = self.exec_lookup(id) else {
            return;
        };
        let mut rx = exec.done.subscribe();
        let _ = tokio::time::timeout(limit, rx.wait_for(|d| *d)).await;
    }

    /// `POST /exec/{id}/resize`.
    pub async fn exec_resize(&self, id: &str, height: u16, width: u16) -> Result<()> {
        let exec = self.exec_lookup(id)?;
        if !exec.state().running {
            return Err(EngineError::Conflict(format!(
                "Exec {id} is not running, so it can not be resized."
            )));
        }
        self.runtime
            .resize(&self.dir(&exec.container_id), Some(id), height, width)
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))
    }

    /// `GET /exec/{id}/json`.
    pub fn exec_inspect(&self, id: &str) -> Result<ExecInspect> {
        let exec = self.exec_lookup(id)?;
        let st = exec.state();
        let cfg = &exec.config;
        Ok(ExecInspect {
            can_remove: false,
            container_id: exec.container_id.clone(),
            detach_keys: cfg.detach_keys.clone(),
            exit_code: st.exit_code,
            id: exec.id.clone(),
            open_stderr: cfg.attach_stderr,
            open_stdin: cfg.attach_stdin,
            open_stdout: cfg.attach_stdout,
            process_config: ExecProcessConfig {
                arguments: cfg.cmd.iter().skip(1).cloned().collect(),
                entrypoint: cfg.cmd.first().cloned().unwrap_or_default(),
                privileged: cfg.privileged,
                tty: cfg.tty,
                user: cfg.user.clone(),
            },
            running: st.running,
            pid: st.pid,
        })
    }
}

/// The `process` of the container's OCI spec (`bundle/config.json` under `dir`), read
/// alone: an exec (and a health probe) needs nothing else, and the whole spec, whose
/// `linux.seccomp` holds Docker's profile (~6 KiB of rules), cost more to parse than the rest
/// of the daemon's part of an exec.
pub(crate) fn spec_process(
    dir: &std::path::Path,
) -> std::io::Result<Option<oci_spec::runtime::Process>> {
    #[derive(serde::Deserialize)]
    struct ProcessOnly {
        process: Option<oci_spec::runtime::Process>,
    }
    let data = std::fs::read(dir.join("bundle/config.json"))?;
    let only: ProcessOnly = serde_json::from_slice(&data).map_err(std::io::Error::other)?;
    Ok(only.process)
}
