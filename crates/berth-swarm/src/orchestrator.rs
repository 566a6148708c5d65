//! The orchestrator: from services (desired replicas or one task per node, jobs, restart
//! policies, rolling updates) to task creations and desired-state changes. A pure function
//! of the state and the time: [`reconcile`] returns the operations to commit and when it
//! wants to be called again (a restart delay or an update delay running out).

use crate::ids::new_id;
use crate::store::{Object, Op, State};
use berth_api::swarm::{Node, Service, Task, TaskSpec, TaskStatus, UpdateConfig, UpdateStatus};
use chrono::{DateTime, Utc};

/// swarmkit's task states, in order: a task only moves forward.
pub const STATES: [&str; 14] = [
    "new",
    "pending",
    "assigned",
    "accepted",
    "preparing",
    "ready",
    "starting",
    "running",
    "complete",
    "shutdown",
    "failed",
    "rejected",
    "remove",
    "orphaned",
];

pub fn state_rank(s: &str) -> usize {
    STATES.iter().position(|x| *x == s).unwrap_or(0)
}

/// The task ended (by itself or stopped).
pub fn is_terminal(s: &str) -> bool {
    state_rank(s) > state_rank("running")
}

/// Default restart delay (docker's `--restart-delay` default).
const DEFAULT_RESTART_DELAY_NS: i64 = 5_000_000_000;

pub struct Plan {
    pub ops: Vec<Op>,
    /// The earliest time something waits for (restart delay, update delay).
    pub wake_at: Option<DateTime<Utc>>,
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Go's RFC3339Nano, as moby writes swarm times: the fraction without trailing zeros
/// (none at all for whole seconds), so clients that re-marshal print the same string.
pub fn format_time(t: DateTime<Utc>) -> String {
    let s = t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    match s.rsplit_once('.') {
        Some((whole, frac)) => {
            let digits = frac.trim_end_matches('Z').trim_end_matches('0');
            if digits.is_empty() {
                format!("{whole}Z")
            } else {
                format!("{whole}.{digits}Z")
            }
        }
        None => s,
    }
}

pub enum ModeKind {
    Replicated(u64),
    Global,
    ReplicatedJob { max_concurrent: u64, total: u64 },
    GlobalJob,
}

pub fn mode_of(s: &Service) -> ModeKind {
    let m = &s.spec.mode;
    if m.global.is_some() {
        ModeKind::Global
    } else if let Some(j) = &m.replicated_job {
        let max_concurrent = j.max_concurrent.unwrap_or(1).max(1);
        ModeKind::ReplicatedJob {
            max_concurrent,
            total: j.total_completions.unwrap_or(max_concurrent),
        }
    } else if m.global_job.is_some() {
        ModeKind::GlobalJob
    } else {
        ModeKind::Replicated(m.replicated.as_ref().and_then(|r| r.replicas).unwrap_or(1))
    }
}

/// Nodes that take new tasks.
pub fn node_ready(n: &Node) -> bool {
    n.status.state == "ready" && n.spec.availability == "active"
}

fn new_task(s: &Service, slot: u64, node_id: &str, now: &str, spec: &TaskSpec) -> Task {
    Task {
        id: new_id(),
        spec: spec.clone(),
        service_id: s.id.clone(),
        slot,
        node_id: node_id.to_string(),
        status: TaskStatus {
            timestamp: now.to_string(),
            state: "new".into(),
            message: "created".into(),
            ..Default::default()
        },
        desired_state: "running".into(),
        job_iteration: if matches!(
            mode_of(s),
            ModeKind::ReplicatedJob { .. } | ModeKind::GlobalJob
        ) {
            Some(s.meta.version)
        } else {
            None
        },
        ..Default::default()
    }
}

fn set_desired(t: &Task, desired: &str) -> Op {
    let mut t = t.clone();
    t.desired_state = desired.into();
    Op::Update {
        object: Object::Task(Box::new(t)),
        expect: None,
    }
}

/// Whether a task that ended may be replaced, per its restart policy (condition, attempts
/// within the window), and when.
fn restart_at(
    s: &Service,
    ended: &Task,
    history: &[&Task],
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let policy = s
        .spec
        .task_template
        .restart_policy
        .clone()
        .unwrap_or_default();
    let jobs = matches!(
        mode_of(s),
        ModeKind::ReplicatedJob { .. } | ModeKind::GlobalJob
    );
    let default_condition = if jobs { "on-failure" } else { "any" };
    let condition = if policy.condition.is_empty() {
        default_condition
    } else {
        policy.condition.as_str()
    };
    let failed = ended.status.state != "complete";
    let wanted = match condition {
        "none" => false,
        "on-failure" => failed,
        _ => true,
    };
    // A task shut down by the orchestrator (scale, update, drain) is not restarted here.
    if !wanted || ended.status.state == "shutdown" {
        return None;
    }
    if let Some(max) = policy.max_attempts.filter(|m| *m > 0) {
        let window = policy.window.unwrap_or(0);
        let attempts = history
            .iter()
            .filter(|t| is_terminal(&t.status.state) && t.status.state != "shutdown")
            .filter(|t| {
                window <= 0
                    || parse_time(&t.status.timestamp).is_some_and(|ts| {
                        now.signed_duration_since(ts)
                            .num_nanoseconds()
                            .unwrap_or(i64::MAX)
                            <= window
                    })
            })
            .count() as u64;
        if attempts > max {
            return None;
        }
    }
    let delay = policy.delay.unwrap_or(DEFAULT_RESTART_DELAY_NS);
    let ended_at = parse_time(&ended.status.timestamp).unwrap_or(now);
    Some(ended_at + chrono::Duration::nanoseconds(delay))
}

fn earliest(a: Option<DateTime<Utc>>, b: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Some(a.map_or(b, |a| a.min(b)))
}

/// One pass over every service.
pub fn reconcile(st: &State, now: DateTime<Utc>) -> Plan {
    let mut plan = Plan {
        ops: Vec::new(),
        wake_at: None,
    };
    let now_s = format_time(now);
    for s in st.services.values() {
        reconcile_service(st, s, now, &now_s, &mut plan);
    }
    // Tasks whose service is gone: shut down, then removed once ended. (Network
    // attachments have no service: the node that made them removes them.)
    for t in st.tasks.values() {
        if t.spec.network_attachment_spec.is_none() && !st.services.contains_key(&t.service_id) {
            if t.desired_state != "remove" {
                plan.ops.push(set_desired(t, "remove"));
            } else if is_terminal(&t.status.state) || t.node_id.is_empty() {
                plan.ops.push(Op::Delete {
                    kind: crate::store::Kind::Task,
                    id: t.id.clone(),
                });
            }
        }
    }
    reap_history(st, &mut plan);
    plan
}

/// Keeps at most the cluster's task history limit of ended tasks per slot (or node).
fn reap_history(st: &State, plan: &mut Plan) {
    let limit = st
        .cluster
        .as_ref()
        .and_then(|c| c.info.spec.orchestration.task_history_retention_limit)
        .unwrap_or(5)
        .max(0) as usize;
    let mut by_slot: std::collections::BTreeMap<(String, u64, String), Vec<&Task>> =
        Default::default();
    for t in st.tasks.values() {
        if !st.services.contains_key(&t.service_id) {
            continue;
        }
        let node = if t.slot == 0 {
            t.node_id.clone()
        } else {
            String::new()
        };
        by_slot
            .entry((t.service_id.clone(), t.slot, node))
            .or_default()
            .push(t);
    }
    for tasks in by_slot.values_mut() {
        let mut dead: Vec<&&Task> = tasks
            .iter()
            .filter(|t| is_terminal(&t.status.state) && t.desired_state != "running")
            .collect();
        if dead.len() <= limit {
            continue;
        }
        dead.sort_by_key(|t| t.meta.created_at.clone());
        let excess = dead.len() - limit;
        for t in dead.into_iter().take(excess) {
            plan.ops.push(Op::Delete {
                kind: crate::store::Kind::Task,
                id: t.id.clone(),
            });
        }
    }
}

fn update_config(s: &Service, rolling_back: bool) -> UpdateConfig {
    let c = if rolling_back {
        s.spec.rollback_config.clone()
    } else {
        s.spec.update_config.clone()
    };
    c.unwrap_or(UpdateConfig {
        parallelism: 1,
        ..Default::default()
    })
}

fn reconcile_service(st: &State, s: &Service, now: DateTime<Utc>, now_s: &str, plan: &mut Plan) {
    let tasks: Vec<&Task> = st.tasks_of(&s.id).collect();
    let spec = &s.spec.task_template;
    // Group by slot (replicated) or node (global).
    let global = matches!(mode_of(s), ModeKind::Global | ModeKind::GlobalJob);
    let mut groups: std::collections::BTreeMap<String, Vec<&Task>> = Default::default();
    for t in &tasks {
        let key = if global {
            t.node_id.clone()
        } else {
            format!("{:020}", t.slot)
        };
        groups.entry(key).or_default().push(t);
    }
    for g in groups.values_mut() {
        g.sort_by(|a, b| {
            a.meta
                .created_at
                .cmp(&b.meta.created_at)
                .then(a.id.cmp(&b.id))
        });
    }

    // Which slots (or nodes) should exist.
    let wanted: Vec<(String, u64, String)> = match mode_of(s) {
        ModeKind::Replicated(n) => (1..=n)
            .map(|i| (format!("{i:020}"), i, String::new()))
            .collect(),
        ModeKind::Global | ModeKind::GlobalJob => st
            .nodes
            .values()
            .filter(|n| node_ready(n) || groups.contains_key(&n.id))
            .filter(|n| n.spec.availability != "drain")
            .filter(|n| crate::scheduler::constraints_met(spec, n).unwrap_or(false))
            .map(|n| (n.id.clone(), 0, n.id.clone()))
            .collect(),
        ModeKind::ReplicatedJob {
            max_concurrent,
            total,
        } => {
            let done = tasks
                .iter()
                .filter(|t| t.status.state == "complete")
                .count() as u64;
            let live = tasks
                .iter()
                .filter(|t| t.desired_state == "running" && !is_terminal(&t.status.state))
                .count() as u64;
            let want_new = total
                .saturating_sub(done)
                .min(max_concurrent)
                .saturating_sub(live);
            let mut out: Vec<(String, u64, String)> = tasks
                .iter()
                .filter(|t| t.desired_state == "running" && !is_terminal(&t.status.state))
                .map(|t| (format!("{:020}", t.slot), t.slot, String::new()))
                .collect();
            let mut next = tasks.iter().map(|t| t.slot).max().unwrap_or(0);
            for _ in 0..want_new {
                next += 1;
                out.push((format!("{next:020}"), next, String::new()));
            }
            out
        }
    };
    let wanted_keys: std::collections::BTreeSet<&String> = wanted.iter().map(|w| &w.0).collect();
    let jobs = matches!(
        mode_of(s),
        ModeKind::ReplicatedJob { .. } | ModeKind::GlobalJob
    );

    // Slots no longer wanted: shut their tasks down (scale down, drain, node gone).
    for (key, g) in &groups {
        if wanted_keys.contains(key) {
            continue;
        }
        for t in g {
            if t.desired_state == "running" && !(jobs && t.status.state == "complete") {
                plan.ops.push(set_desired(t, "shutdown"));
            }
        }
    }

    let rolling_back = s
        .update_status
        .as_ref()
        .is_some_and(|u| u.state.starts_with("rollback"));
    let paused = s
        .update_status
        .as_ref()
        .is_some_and(|u| u.state == "paused" || u.state == "rollback_paused");
    let ucfg = update_config(s, rolling_back);
    let parallelism = if ucfg.parallelism == 0 {
        u64::MAX
    } else {
        ucfg.parallelism
    };
    let start_first = ucfg.order == "start-first";

    // Per wanted slot: the live task, restarts, and rolling replacement.
    let mut in_flight = 0u64;
    let mut dirty_slots = Vec::new();
    let mut last_update_done: Option<DateTime<Utc>> = None;
    for (key, slot, node) in &wanted {
        let g = groups.get(key).cloned().unwrap_or_default();
        let live: Vec<&Task> = g
            .iter()
            .copied()
            .filter(|t| t.desired_state == "running")
            .collect();
        if live.is_empty() {
            // Nothing runs for this slot: a first task, or a restart per policy.
            if jobs && g.iter().any(|t| t.status.state == "complete") {
                continue;
            }
            match g.last() {
                None => plan.ops.push(Op::Create(Object::Task(Box::new(new_task(
                    s, *slot, node, now_s, spec,
                ))))),
                Some(last) => {
                    if !is_terminal(&last.status.state) {
                        // The old task is still stopping (stop-first update): wait.
                        in_flight += 1;
                        continue;
                    }
                    let replace_after_update = &last.spec != spec;
                    let at = if replace_after_update || last.status.state == "shutdown" {
                        Some(now)
                    } else {
                        restart_at(s, last, &g, now)
                    };
                    if let Some(at) = at {
                        if at <= now {
                            plan.ops.push(Op::Create(Object::Task(Box::new(new_task(
                                s, *slot, node, now_s, spec,
                            )))));
                            if replace_after_update {
                                in_flight += 1;
                            }
                        } else {
                            plan.wake_at = earliest(plan.wake_at, at);
                        }
                    }
                }
            }
            continue;
        }
        // A task on a drained node is stopped and replaced, as swarmkit restarts it (the
        // replacement waits for a node that is not drained).
        let drained: Vec<&Task> = live
            .iter()
            .copied()
            .filter(|t| {
                !t.node_id.is_empty()
                    && st
                        .nodes
                        .get(&t.node_id)
                        .is_some_and(|n| n.spec.availability == "drain")
            })
            .collect();
        if !drained.is_empty() {
            for t in drained {
                plan.ops.push(set_desired(t, "shutdown"));
            }
            continue;
        }
        // A live task that ended: restart (its desired state goes to shutdown first).
        for t in &live {
            if is_terminal(&t.status.state) {
                if jobs && t.status.state == "complete" {
                    continue;
                }
                plan.ops.push(set_desired(t, "shutdown"));
            }
        }
        let current: Vec<&Task> = live.iter().copied().filter(|t| &t.spec == spec).collect();
        let old: Vec<&Task> = live.iter().copied().filter(|t| &t.spec != spec).collect();
        if !current.is_empty() {
            let running = current.iter().any(|t| t.status.state == "running");
            if !running && !current.iter().all(|t| is_terminal(&t.status.state)) {
                in_flight += 1;
            }
            if running {
                for o in &old {
                    plan.ops.push(set_desired(o, "shutdown"));
                }
                if let Some(ts) = current
                    .iter()
                    .filter_map(|t| parse_time(&t.status.timestamp))
                    .max()
                {
                    last_update_done =
                        Some(last_update_done.map_or(ts, |l: DateTime<Utc>| l.max(ts)));
                }
            }
        } else if !old.is_empty() {
            dirty_slots.push((key.clone(), *slot, node.clone(), old));
        }
    }

    // The update's monitor: its tasks that failed too early trigger the failure action,
    // during the update and for one monitor period after its last task came up.
    let updating = s
        .update_status
        .as_ref()
        .is_some_and(|u| u.state == "updating" || u.state == "rollback_started");
    if updating && !jobs {
        let started = s
            .update_status
            .as_ref()
            .and_then(|u| u.started_at.as_deref())
            .and_then(parse_time);
        let failed = update_failures(&tasks, spec, started, monitor_ns(&ucfg));
        let max_ratio = ucfg.max_failure_ratio as f64;
        let total = wanted.len().max(1) as f64;
        if let Some(first) = failed.first() {
            if (failed.len() as f64) / total > max_ratio {
                if let Some(op) = failure_action(s, &ucfg, rolling_back, first, now_s) {
                    plan.ops.push(op);
                    return;
                }
            }
        }
    }

    // Rolling update of dirty slots, `parallelism` at a time, `delay` apart.
    if !dirty_slots.is_empty() && !paused && !jobs {
        let delay = chrono::Duration::nanoseconds(ucfg.delay.max(0));
        let ready_at = last_update_done.map(|t| t + delay);
        if ucfg.delay > 0 && in_flight == 0 {
            if let Some(at) = ready_at {
                if at > now {
                    plan.wake_at = earliest(plan.wake_at, at);
                    return;
                }
            }
        }
        let budget = parallelism.saturating_sub(in_flight);
        for (_key, slot, node, old) in dirty_slots
            .into_iter()
            .take(budget.min(usize::MAX as u64) as usize)
        {
            if start_first {
                plan.ops.push(Op::Create(Object::Task(Box::new(new_task(
                    s, slot, &node, now_s, spec,
                )))));
            } else {
                for o in old {
                    plan.ops.push(set_desired(o, "shutdown"));
                }
            }
        }
    } else if dirty_slots.is_empty() && in_flight == 0 {
        // Update finished, once its last tasks have run for the monitor period.
        if updating {
            if let Some(done) = last_update_done {
                let until = done + chrono::Duration::nanoseconds(monitor_ns(&ucfg));
                if until > now {
                    plan.wake_at = earliest(plan.wake_at, until);
                    return;
                }
            }
        }
        if let Some(u) = &s.update_status {
            let (from, to, msg) = if rolling_back {
                (
                    "rollback_started",
                    "rollback_completed",
                    "rollback completed",
                )
            } else {
                ("updating", "completed", "update completed")
            };
            if u.state == from {
                let mut svc = s.clone();
                svc.update_status = Some(UpdateStatus {
                    state: to.into(),
                    started_at: u.started_at.clone(),
                    completed_at: Some(now_s.to_string()),
                    message: msg.into(),
                });
                plan.ops.push(Op::Update {
                    object: Object::Service(Box::new(svc)),
                    expect: Some(s.meta.version.index),
                });
            }
        }
    }
}

/// swarmkit's default monitor period (update and rollback).
const DEFAULT_MONITOR_NS: i64 = 5_000_000_000;

fn monitor_ns(c: &UpdateConfig) -> i64 {
    if c.monitor > 0 {
        c.monitor
    } else {
        DEFAULT_MONITOR_NS
    }
}

/// The tasks of this update (the current spec, created since it started) that ended
/// before they should: never reached running (still `starting`, e.g. an unhealthy health
/// check), or ended within the monitor period. swarmkit times the period from the moment
/// the task reached running; the store keeps only a task's last status time, so it is
/// timed here from the task's creation (berth starts a task well under a second after).
fn update_failures<'a>(
    tasks: &[&'a Task],
    spec: &TaskSpec,
    started: Option<DateTime<Utc>>,
    monitor: i64,
) -> Vec<&'a Task> {
    let mut out: Vec<&Task> = tasks
        .iter()
        .copied()
        .filter(|t| &t.spec == spec)
        .filter(|t| matches!(t.status.state.as_str(), "failed" | "rejected" | "complete"))
        .filter(|t| {
            let created = parse_time(&t.meta.created_at);
            started.is_none_or(|s| created.is_none_or(|c| c >= s))
        })
        .filter(|t| {
            let never_ran = matches!(t.status.message.as_str(), "starting" | "preparing");
            let lived = match (
                parse_time(&t.meta.created_at),
                parse_time(&t.status.timestamp),
            ) {
                (Some(c), Some(e)) => (e - c).num_nanoseconds().unwrap_or(i64::MAX),
                _ => 0,
            };
            never_ran || lived <= monitor
        })
        .collect();
    out.sort_by(|a, b| a.status.timestamp.cmp(&b.status.timestamp));
    out
}

/// What the failure action does to the service (swarmkit's updater messages).
fn failure_action(
    s: &Service,
    ucfg: &UpdateConfig,
    rolling_back: bool,
    failed: &Task,
    now_s: &str,
) -> Option<Op> {
    let action = if ucfg.failure_action.is_empty() {
        "pause"
    } else {
        ucfg.failure_action.as_str()
    };
    let mut svc = s.clone();
    let started_at = s.update_status.as_ref().and_then(|u| u.started_at.clone());
    match action {
        "continue" => return None,
        "rollback" if !rolling_back => {
            let prev = s.previous_spec.clone()?;
            svc.previous_spec = Some(svc.spec.clone());
            svc.spec = prev;
            svc.update_status = Some(UpdateStatus {
                state: "rollback_started".into(),
                started_at: Some(now_s.to_string()),
                completed_at: None,
                message: format!(
                    "update rolled back due to failure or early termination of task {}",
                    failed.id
                ),
            });
        }
        "rollback" => {
            svc.update_status = Some(UpdateStatus {
                state: "rollback_paused".into(),
                started_at,
                completed_at: None,
                message: format!(
                    "rollback paused due to failure or early termination of task {}",
                    failed.id
                ),
            });
        }
        _ => {
            svc.update_status = Some(UpdateStatus {
                state: if rolling_back {
                    "rollback_paused"
                } else {
                    "paused"
                }
                .into(),
                started_at,
                completed_at: None,
                message: format!(
                    "update paused due to failure or early termination of task {}",
                    failed.id
                ),
            });
        }
    }
    Some(Op::Update {
        object: Object::Service(Box::new(svc)),
        expect: Some(s.meta.version.index),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Applied, Command};

    #[test]
    fn times_as_go_writes_them() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            format_time(t("2026-12-06T16:17:54.588450040Z")),
            "2026-12-06T16:17:54.58845004Z"
        );
        assert_eq!(
            format_time(t("2026-12-06T16:17:54Z")),
            "2026-12-06T16:17:54Z"
        );
        assert_eq!(
            format_time(t("2026-12-06T16:17:54.000000001Z")),
            "2026-12-06T16:17:54.000000001Z"
        );
    }
    use berth_api::swarm::{
        ContainerSpec, NodeSpec, NodeStatus, ReplicatedService, RestartPolicy, ServiceMode,
        ServiceSpec,
    };

    fn node(id: &str) -> Node {
        Node {
            id: id.into(),
            spec: NodeSpec {
                role: "manager".into(),
                availability: "active".into(),
                ..Default::default()
            },
            status: NodeStatus {
                state: "ready".into(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn service(replicas: u64, image: &str) -> Service {
        Service {
            id: "svc".into(),
            spec: ServiceSpec {
                name: "web".into(),
                task_template: TaskSpec {
                    container_spec: Some(ContainerSpec {
                        image: image.into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                mode: ServiceMode {
                    replicated: Some(ReplicatedService {
                        replicas: Some(replicas),
                    }),
                    ..Default::default()
                },
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn state_with(s: Service) -> State {
        let mut st = State::default();
        st.nodes.insert("n1".into(), node("n1"));
        st.services.insert(s.id.clone(), s);
        st
    }

    fn commit(st: &mut State, ops: Vec<Op>) {
        let idx = st
            .tasks
            .values()
            .map(|t| t.meta.version.index)
            .max()
            .unwrap_or(10)
            + 1;
        let r = st.apply(
            idx,
            &Command {
                at: format_time(Utc::now()),
                ops,
            },
        );
        assert!(matches!(r, Applied::Ok { .. }), "{r:?}");
    }

    fn set_state(st: &mut State, state: &str) {
        let ops = st
            .tasks
            .values()
            .filter(|t| t.desired_state == "running" && !is_terminal(&t.status.state))
            .map(|t| {
                let mut t = t.clone();
                t.status.state = state.into();
                t.status.timestamp = format_time(Utc::now() - chrono::Duration::seconds(60));
                Op::Update {
                    object: Object::Task(Box::new(t)),
                    expect: None,
                }
            })
            .collect();
        commit(st, ops);
    }

    fn live(st: &State) -> usize {
        st.tasks
            .values()
            .filter(|t| t.desired_state == "running")
            .count()
    }

    #[test]
    fn replicas_create_tasks_one_per_slot_and_scale_down_shuts_the_highest() {
        let mut st = state_with(service(3, "busybox"));
        let p = reconcile(&st, Utc::now());
        assert_eq!(p.ops.len(), 3);
        commit(&mut st, p.ops);
        let mut slots: Vec<u64> = st.tasks.values().map(|t| t.slot).collect();
        slots.sort();
        assert_eq!(slots, vec![1, 2, 3]);
        assert!(reconcile(&st, Utc::now()).ops.is_empty(), "converged");
        st.services.get_mut("svc").unwrap().spec.mode.replicated =
            Some(ReplicatedService { replicas: Some(1) });
        let p = reconcile(&st, Utc::now());
        commit(&mut st, p.ops);
        let running: Vec<u64> = st
            .tasks
            .values()
            .filter(|t| t.desired_state == "running")
            .map(|t| t.slot)
            .collect();
        assert_eq!(running, vec![1]);
    }

    #[test]
    fn a_task_on_a_drained_node_is_stopped_and_replaced() {
        let mut st = state_with(service(1, "busybox"));
        let p = reconcile(&st, Utc::now());
        commit(&mut st, p.ops);
        let ops = st
            .tasks
            .values()
            .map(|t| {
                let mut t = t.clone();
                t.node_id = "n1".into();
                t.status.state = "running".into();
                Op::Update {
                    object: Object::Task(Box::new(t)),
                    expect: None,
                }
            })
            .collect();
        commit(&mut st, ops);
        assert!(reconcile(&st, Utc::now()).ops.is_empty(), "converged");
        st.nodes.get_mut("n1").unwrap().spec.availability = "drain".into();
        let p = reconcile(&st, Utc::now());
        commit(&mut st, p.ops);
        assert_eq!(live(&st), 0, "the drained node's task is told to stop");
        let ops = st
            .tasks
            .values()
            .map(|t| {
                let mut t = t.clone();
                t.status.state = "shutdown".into();
                Op::Update {
                    object: Object::Task(Box::new(t)),
                    expect: None,
                }
            })
            .collect();
        commit(&mut st, ops);
        let p = reconcile(&st, Utc::now());
        commit(&mut st, p.ops);
        assert_eq!(live(&st), 1, "a replacement waits for a node");
    }

    #[test]
    fn a_failed_task_is_replaced_after_the_restart_delay_and_not_past_max_attempts() {
        let mut s = service(1, "busybox");
        s.spec.task_template.restart_policy = Some(RestartPolicy {
            condition: "on-failure".into(),
            delay: Some(1_000_000_000),
            max_attempts: Some(1),
            window: None,
        });
        let mut st = state_with(s);
        let ops = reconcile(&st, Utc::now()).ops;
        commit(&mut st, ops);
        set_state(&mut st, "failed");
        // The failed task is shut down and (its failure a minute old) replaced at once.
        let p = reconcile(&st, Utc::now());
        commit(&mut st, p.ops);
        let p = reconcile(&st, Utc::now());
        commit(&mut st, p.ops);
        assert_eq!(live(&st), 1, "{:#?}", st.tasks);
        assert_eq!(st.tasks.len(), 2);
        // Second failure: max attempts (1) reached, no third task.
        set_state(&mut st, "failed");
        for _ in 0..3 {
            let p = reconcile(&st, Utc::now());
            if !p.ops.is_empty() {
                commit(&mut st, p.ops);
            }
        }
        assert_eq!(live(&st), 0);
        assert_eq!(st.tasks.len(), 2);
    }

    #[test]
    fn a_fresh_failure_waits_for_the_delay() {
        let mut s = service(1, "busybox");
        s.spec.task_template.restart_policy = Some(RestartPolicy {
            delay: Some(3_000_000_000),
            ..Default::default()
        });
        let mut st = state_with(s);
        let ops = reconcile(&st, Utc::now()).ops;
        commit(&mut st, ops);
        let ops: Vec<Op> = st
            .tasks
            .values()
            .map(|t| {
                let mut t = t.clone();
                t.status.state = "failed".into();
                t.status.timestamp = format_time(Utc::now());
                Op::Update {
                    object: Object::Task(Box::new(t)),
                    expect: None,
                }
            })
            .collect();
        commit(&mut st, ops);
        let ops = reconcile(&st, Utc::now()).ops;
        commit(&mut st, ops);
        let p = reconcile(&st, Utc::now());
        assert!(p.ops.is_empty());
        assert!(p.wake_at.is_some_and(|w| w > Utc::now()));
        let later = reconcile(&st, Utc::now() + chrono::Duration::seconds(4));
        assert_eq!(later.ops.len(), 1);
    }

    #[test]
    fn a_rolling_update_replaces_parallelism_tasks_at_a_time() {
        let mut st = state_with(service(4, "busybox"));
        let ops = reconcile(&st, Utc::now()).ops;
        commit(&mut st, ops);
        set_state(&mut st, "running");
        let svc = st.services.get_mut("svc").unwrap();
        svc.spec
            .task_template
            .container_spec
            .as_mut()
            .unwrap()
            .image = "busybox:2".into();
        svc.spec.update_config = Some(UpdateConfig {
            parallelism: 2,
            ..Default::default()
        });
        svc.update_status = Some(UpdateStatus {
            state: "updating".into(),
            ..Default::default()
        });
        // stop-first: two old tasks are told to stop.
        let p = reconcile(&st, Utc::now());
        let stops = p.ops.iter().filter(|o| matches!(o, Op::Update { object: Object::Task(t), .. } if t.desired_state == "shutdown")).count();
        assert_eq!(stops, 2);
        commit(&mut st, p.ops);
        // Nothing more until they stopped.
        assert!(reconcile(&st, Utc::now()).ops.is_empty());
        let ops: Vec<Op> = st
            .tasks
            .values()
            .filter(|t| t.desired_state == "shutdown")
            .map(|t| {
                let mut t = t.clone();
                t.status.state = "shutdown".into();
                Op::Update {
                    object: Object::Task(Box::new(t)),
                    expect: None,
                }
            })
            .collect();
        commit(&mut st, ops);
        let p = reconcile(&st, Utc::now());
        let creates = p.ops.iter().filter(|o| matches!(o, Op::Create(_))).count();
        assert_eq!(creates, 2);
        commit(&mut st, p.ops);
        set_state(&mut st, "running");
        let p = reconcile(&st, Utc::now());
        let stops = p.ops.iter().filter(|o| matches!(o, Op::Update { object: Object::Task(t), .. } if t.desired_state == "shutdown")).count();
        assert_eq!(stops, 2, "next batch");
    }
}
