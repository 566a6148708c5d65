//! Health checks (`HEALTHCHECK` in the image, `--health-*` at create), as moby runs them:
//! a probe process exec'd in the container every interval, a timeout that kills it, retries
//! before "unhealthy", a start period during which failures do not count, the last five
//! results in `State.Health.Log`, and a `health_status: <status>` event on each change.

use super::{write_record, Container};
use crate::engine::Engine;
use crate::model::{ContainerRecord, Health, HealthLog, Status};
use crate::runtime;
use berth_api::models::HealthConfig;
use chrono::Utc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tracing::{debug, warn};

const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_RETRIES: i64 = 3;
/// moby keeps this much of a probe's output, and this many results.
const MAX_OUTPUT: usize = 4096;
const MAX_LOG: usize = 5;

/// A container's health check settings, defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The probe's command line.
    pub command: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub start_interval: Duration,
    pub retries: i64,
}

/// A duration field in nanoseconds, when set and positive.
fn nanos(v: Option<i64>) -> Option<Duration> {
    v.filter(|n| *n > 0).map(|n| Duration::from_nanos(n as u64))
}

/// The check `Config.Healthcheck` describes, or None (none, or `["NONE"]`).
pub fn check_of(healthcheck: Option<&HealthConfig>) -> Option<Check> {
    let h = healthcheck?;
    Some(Check {
        command: h.probe()?,
        interval: nanos(h.interval).unwrap_or(DEFAULT_INTERVAL),
        timeout: nanos(h.timeout).unwrap_or(DEFAULT_TIMEOUT),
        start_period: nanos(h.start_period).unwrap_or_default(),
        start_interval: nanos(h.start_interval).unwrap_or(DEFAULT_START_INTERVAL),
        retries: h.retries.filter(|r| *r > 0).unwrap_or(DEFAULT_RETRIES),
    })
}

/// moby's checks of a create request's health check (400 when wrong).
pub fn validate(healthcheck: Option<&HealthConfig>) -> Result<(), String> {
    let Some(h) = healthcheck else { return Ok(()) };
    for (value, label) in [
        (h.interval, "Interval"),
        (h.timeout, "Timeout"),
        (h.start_period, "StartPeriod"),
        (h.start_interval, "StartInterval"),
    ] {
        if value.is_some_and(|n| n != 0 && n < 1_000_000) {
            return Err(format!("{label} in Healthcheck cannot be less than 1ms"));
        }
    }
    if h.retries.is_some_and(|r| r < 0) {
        return Err("Retries in Healthcheck cannot be negative".into());
    }
    Ok(())
}

/// One probe's result.
struct Probe {
    exit_code: i64,
    output: String,
}

/// Applies a result to the container's health as moby's handleProbeResult does; returns the
/// new status when it changed.
pub fn record_result(
    health: &mut Health,
    check: &Check,
    log: HealthLog,
    in_start_period: bool,
) -> Option<String> {
    let before = health.status.clone();
    let ok = log.exit_code == 0;
    health.log.push(log);
    if health.log.len() > MAX_LOG {
        let extra = health.log.len() - MAX_LOG;
        health.log.drain(..extra);
    }
    if ok {
        health.failing_streak = 0;
        health.status = "healthy".into();
    } else if !in_start_period {
        health.failing_streak += 1;
        if health.failing_streak >= check.retries {
            health.status = "unhealthy".into();
        }
    }
    (health.status != before).then(|| health.status.clone())
}

impl Engine {
    /// After a start: health "starting" and a probe loop for this run of the container.
    pub(super) fn start_health_checks(
        self: &Arc<Self>,
        c: &Arc<Container>,
        rec: &mut ContainerRecord,
    ) {
        let Some(check) = check_of(rec.config.healthcheck.as_ref()) else {
            rec.state.health = None;
            return;
        };
        rec.state.health = Some(Health {
            status: "starting".into(),
            failing_streak: 0,
            log: Vec::new(),
        });
        let run = c.progress.borrow().exits;
        let engine = self.clone();
        let c = c.clone();
        tokio::spawn(async move { engine.health_loop(c, check, run).await });
    }

    async fn health_loop(self: Arc<Self>, c: Arc<Container>, check: Check, run: u64) {
        static PROBES: AtomicU64 = AtomicU64::new(0);
        let started = tokio::time::Instant::now();
        loop {
            let in_start = started.elapsed() < check.start_period;
            let wait = if in_start {
                check.start_interval.min(check.interval)
            } else {
                check.interval
            };
            tokio::time::sleep(wait).await;
            if c.progress.borrow().exits != run {
                return;
            }
            let (status, rec) = {
                let rec = c.record.lock().await;
                (rec.state.status, rec.clone())
            };
            match status {
                Status::Running => {}
                // A paused container is not probed; it keeps its last status.
                Status::Paused => continue,
                _ => return,
            }
            let id = format!(
                "health-{}-{}",
                &c.id[..12],
                PROBES.fetch_add(1, Ordering::Relaxed)
            );
            let start = Utc::now();
            let probe = self.probe(&rec, &id, &check).await;
            let end = Utc::now();
            let in_start_period = started.elapsed() < check.start_period;
            let mut rec = c.record.lock().await;
            if c.progress.borrow().exits != run || rec.state.status != Status::Running {
                return;
            }
            let Some(health) = rec.state.health.as_mut() else {
                return;
            };
            let log = HealthLog {
                start: start.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
                end: end.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
                exit_code: probe.exit_code,
                output: probe.output,
            };
            let changed = record_result(health, &check, log, in_start_period);
            if let Err(e) = write_record(&self.dir(&rec.id), &rec) {
                warn!(id = %rec.id, error = %e, "cannot store health");
            }
            if let Some(status) = changed {
                debug!(id = %rec.id, status, "health changed");
                self.events
                    .container(&rec, &format!("health_status: {status}"), &[]);
            }
        }
    }

    /// Runs the probe in the container; a start failure or the timeout is a failed probe.
    async fn probe(&self, rec: &ContainerRecord, id: &str, check: &Check) -> Probe {
        let dir = self.dir(&rec.id);
        let base = match super::exec::spec_process(&dir) {
            Ok(p) => p,
            Err(e) => {
                return Probe {
                    exit_code: -1,
                    output: format!("read the container's spec: {e}"),
                }
            }
        };
        let Some(base) = base else {
            return Probe {
                exit_code: -1,
                output: "the container's spec has no process".into(),
            };
        };
        let input = berth_runtime::spec::ExecInput {
            args: check.command.clone(),
            env: runtime::exec_env(rec, false, &[]),
            ..Default::default()
        };
        let process =
            match berth_runtime::spec::exec_process(&base, &dir.join("bundle/rootfs"), &input) {
                Ok(p) => p,
                Err(e) => {
                    return Probe {
                        exit_code: -1,
                        output: e.to_string(),
                    }
                }
            };
        let started = self
            .runtime
            .exec(&dir, id, &process, (false, true, true))
            .await;
        let (pid, mut stream) = match started {
            Ok(v) => v,
            Err(e) => {
                return Probe {
                    exit_code: -1,
                    output: e.to_string(),
                }
            }
        };
        let mut output = Vec::new();
        let read = async {
            let mut header = [0u8; 8];
            loop {
                if stream.read_exact(&mut header).await.is_err() {
                    break;
                }
                let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
                let mut chunk = vec![0u8; len];
                if stream.read_exact(&mut chunk).await.is_err() {
                    break;
                }
                let room = MAX_OUTPUT.saturating_sub(output.len());
                output.extend_from_slice(&chunk[..len.min(room)]);
            }
        };
        if tokio::time::timeout(check.timeout, read).await.is_err() {
            // The probe's own pid (the shim's child, host pid namespace).
            self.runtime.kill_process(pid, libc::SIGKILL);
            let _ = self.runtime.exec_wait(&dir, id).await;
            return Probe {
                exit_code: -1,
                output: format!(
                    "Health check exceeded timeout ({})",
                    berth_api::human::go_duration(check.timeout)
                ),
            };
        }
        let exit_code = match self.runtime.exec_wait(&dir, id).await {
            Ok(c) => i64::from(c),
            Err(e) => {
                return Probe {
                    exit_code: -1,
                    output: e.to_string(),
                }
            }
        };
        Probe {
            exit_code,
            output: String::from_utf8_lossy(&output).into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A health config from its JSON.
    fn hc(v: serde_json::Value) -> HealthConfig {
        serde_json::from_value(v).expect("health config")
    }

    #[test]
    fn check_parsing_and_defaults() {
        let c = check_of(Some(&hc(json!({"Test": ["CMD-SHELL", "exit 0"]})))).unwrap();
        assert_eq!(c.command, vec!["/bin/sh", "-c", "exit 0"]);
        assert_eq!(c.interval, DEFAULT_INTERVAL);
        assert_eq!(c.retries, 3);
        let c = check_of(Some(&hc(
            json!({"Test": ["CMD", "true", "x"], "Interval": 1_000_000_000i64, "Retries": 5}),
        )))
        .unwrap();
        assert_eq!(c.command, vec!["true", "x"]);
        assert_eq!(c.interval, Duration::from_secs(1));
        assert_eq!(c.retries, 5);
        assert!(check_of(Some(&hc(json!({"Test": ["NONE"]})))).is_none());
        assert!(check_of(None).is_none());
        assert!(validate(Some(&hc(json!({"Interval": 10})))).is_err());
        assert!(validate(Some(&hc(json!({"Retries": -1})))).is_err());
        assert!(validate(Some(&hc(json!({"Interval": 0, "Retries": 0})))).is_ok());
    }

    #[test]
    fn results_follow_moby() {
        let check = check_of(Some(&hc(json!({"Test": ["CMD", "x"], "Retries": 2})))).unwrap();
        let mut h = Health {
            status: "starting".into(),
            ..Default::default()
        };
        let log = |code| HealthLog {
            exit_code: code,
            ..Default::default()
        };
        // Failures inside the start period do not count.
        assert_eq!(record_result(&mut h, &check, log(1), true), None);
        assert_eq!(h.failing_streak, 0);
        assert_eq!(
            record_result(&mut h, &check, log(0), false).as_deref(),
            Some("healthy")
        );
        assert_eq!(record_result(&mut h, &check, log(1), false), None);
        assert_eq!(
            record_result(&mut h, &check, log(1), false).as_deref(),
            Some("unhealthy")
        );
        for _ in 0..10 {
            record_result(&mut h, &check, log(1), false);
        }
        assert_eq!(h.log.len(), MAX_LOG);
        assert_eq!(h.failing_streak, 12);
    }
}
