//! `service create/update/scale/rollback` without `--detach`: the docker CLI's progress
//! display (cli/command/service/progress). Every 200 ms it reads the service and its
//! up-to-date tasks; one line per slot (or node) shows the task's state as a bar of the
//! states before `running`, an "overall progress" line counts the running tasks, and once
//! they all run it waits the update monitor period before "verify: Service ID converged".
//! On a terminal the lines are redrawn in place (bars when it is wider than 110 columns);
//! otherwise each message is a line of its own, bars left out, as jsonmessage prints them.

use crate::client::{filters_json, q, query, Client};
use crate::Failure;
use serde_json::Value;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const STATES: [&str; 13] = [
    "new",
    "allocated",
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
];
const MAX_PROGRESS: i64 = 9;
const MAX_BARS: u64 = 20;
/// The longest state shown ("allocated", "preparing", "complete").
const LONGEST_STATE: usize = 9;

fn rank(state: &str) -> i64 {
    STATES
        .iter()
        .position(|s| *s == state)
        .map(|p| p as i64 + 1)
        .unwrap_or(0)
}

fn terminal(state: &str) -> bool {
    rank(state) > rank("running")
}

fn s(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str().map(str::to_string).unwrap_or_default()
}

/// jsonmessage's display: progress lines by id, redrawn in place on a terminal.
pub(super) struct Display {
    out: Box<dyn Write>,
    tty: bool,
    width: u16,
    ids: Vec<String>,
}

impl Display {
    pub(super) fn new() -> Display {
        let tty = std::io::stdout().is_terminal();
        let width = crate::session::terminal_size()
            .map(|(_, w)| w)
            .unwrap_or(80);
        Display {
            out: Box::new(std::io::stdout()),
            tty,
            width,
            ids: Vec::new(),
        }
    }

    /// Prints nothing (`--quiet`).
    pub(super) fn silence(&mut self) {
        self.out = Box::new(std::io::sink());
        self.tty = false;
    }

    /// A progress message: `id: action [bar]`.
    pub(super) fn progress(&mut self, id: &str, action: &str, bar: Option<(i64, i64)>) {
        let bar_text = match bar {
            Some((cur, total)) if cur > 0 || total > 0 => {
                if !self.tty {
                    // jsonmessage leaves progress bars out off a terminal.
                    return;
                }
                if self.width > 110 {
                    let pct = ((cur as f64 / total.max(1) as f64 * 100.0) as i64 / 2).min(50);
                    format!(
                        "[{}>{}] ",
                        "=".repeat(pct as usize),
                        " ".repeat((50 - pct).max(0) as usize)
                    )
                } else {
                    String::new()
                }
            }
            _ => String::new(),
        };
        if !self.tty {
            let _ = writeln!(self.out, "{id}: {action}");
            return;
        }
        let line = match self.ids.iter().position(|i| i == id) {
            Some(l) => l,
            None => {
                self.ids.push(id.to_string());
                let _ = writeln!(self.out);
                self.ids.len() - 1
            }
        };
        let diff = self.ids.len() - line;
        let _ = write!(
            self.out,
            "\x1b[{diff}A\x1b[2K\r{id}: {action} {bar_text}\r\x1b[{diff}B"
        );
        let _ = self.out.flush();
    }

    /// A plain message (ends the block of redrawn lines).
    fn message(&mut self, id: &str, text: &str) {
        self.ids.clear();
        if id.is_empty() {
            let _ = writeln!(self.out, "{text}");
        } else {
            let _ = writeln!(self.out, "{id}: {text}");
        }
        let _ = self.out.flush();
    }
}

fn overall(d: &mut Display, running: u64, total: u64, rollback: bool) {
    let text = if rollback {
        format!("rolling back update: {running} out of {total} tasks")
    } else {
        format!("{running} out of {total} tasks")
    };
    d.progress("overall progress", &text, None);
}

fn trunc_error(e: &str) -> String {
    let e = e.replace('\n', " ");
    if e.chars().count() > 75 {
        let mut t: String = e.chars().take(74).collect();
        t.push('…');
        t
    } else {
        e
    }
}

fn task_line(d: &mut Display, id: &str, t: &Value) {
    let err = s(t, &["Status", "Err"]);
    if !err.is_empty() {
        d.progress(id, &trunc_error(&err), None);
        return;
    }
    let state = s(t, &["Status", "State"]);
    if !terminal(&s(t, &["DesiredState"])) && !terminal(&state) {
        let action = format!("{state:<LONGEST_STATE$}");
        d.progress(id, &action, Some((rank(&state), MAX_PROGRESS)));
    }
}

/// The task each slot (or node) shows: the lowest desired state, then the furthest state.
fn by_key(tasks: &[Value], key: impl Fn(&Value) -> String) -> Vec<(String, &Value)> {
    let mut m: std::collections::BTreeMap<String, &Value> = Default::default();
    for t in tasks {
        let (ds, st) = (s(t, &["DesiredState"]), s(t, &["Status", "State"]));
        if rank(&ds) == 0 || rank(&st) == 0 {
            continue;
        }
        let k = key(t);
        if let Some(e) = m.get(&k) {
            let eds = rank(&s(e, &["DesiredState"]));
            if eds < rank(&ds) {
                continue;
            }
            if eds == rank(&ds) && rank(&s(e, &["Status", "State"])) <= rank(&st) {
                continue;
            }
        }
        m.insert(k, t);
    }
    m.into_iter().collect()
}

struct Updater {
    initialized: bool,
    done: bool,
    slots: std::collections::BTreeMap<u64, u64>,
}

impl Updater {
    /// One pass; true once every wanted task runs.
    fn update(&mut self, d: &mut Display, svc: &Value, tasks: &[Value], rollback: bool) -> bool {
        let mode = &svc["Spec"]["Mode"];
        if let Some(replicas) = mode["Replicated"]["Replicas"].as_u64() {
            if !self.initialized {
                overall(d, 0, replicas, rollback);
                if replicas <= MAX_BARS {
                    for i in 1..=replicas {
                        d.progress(&format!("{i}/{replicas}"), " ", None);
                    }
                }
                self.initialized = true;
            }
            let slots = by_key(tasks, |t| {
                format!("{:020}", t["Slot"].as_u64().unwrap_or(0))
            });
            if self.done
                && slots
                    .iter()
                    .any(|(_, t)| s(t, &["Status", "State"]) != "running")
            {
                self.done = false;
            }
            let mut running = 0;
            for (_, t) in &slots {
                let slot = t["Slot"].as_u64().unwrap_or(0);
                let n = self.slots.len() as u64 + 1;
                let mapped = *self.slots.entry(slot).or_insert(n);
                if !terminal(&s(t, &["DesiredState"])) && s(t, &["Status", "State"]) == "running" {
                    running += 1;
                }
                if !self.done && replicas <= MAX_BARS && mapped <= replicas {
                    task_line(d, &format!("{mapped}/{replicas}"), t);
                }
            }
            if !self.done {
                overall(d, running, replicas, rollback);
                self.done = running == replicas;
            }
            return running == replicas;
        }
        // Global (and jobs, counted per node): one line per node.
        let nodes = by_key(tasks, |t| s(t, &["NodeID"]));
        let count = nodes.len() as u64;
        if !self.initialized {
            if count == 0 {
                d.progress("overall progress", "waiting for new tasks", None);
                return false;
            }
            overall(d, 0, count, rollback);
            self.initialized = true;
        }
        let job = mode.get("GlobalJob").is_some_and(|j| !j.is_null())
            || mode.get("ReplicatedJob").is_some_and(|j| !j.is_null());
        let want = if job { "complete" } else { "running" };
        let mut running = 0;
        for (node, t) in &nodes {
            if s(t, &["Status", "State"]) == want {
                running += 1;
            }
            if !self.done && count <= MAX_BARS {
                task_line(d, &node[..12.min(node.len())], t);
            }
        }
        if !self.done {
            overall(d, running, count, rollback);
            self.done = running == count;
        }
        running == count
    }
}

/// Follows the service until it converged (and stayed so for the monitor period), as the
/// docker CLI does after create/update/scale/rollback without `--detach`.
pub fn follow(c: &Client, id: &str, quiet: bool) -> Result<(), Failure> {
    let fail = |m: String| Failure { code: 1, msg: m };
    let mut d = Display::new();
    if quiet {
        d.silence();
    }
    let mut up = Updater {
        initialized: false,
        done: false,
        slots: Default::default(),
    };
    let mut converged_at: Option<Instant> = None;
    let mut converged = false;
    let mut rollback = false;
    let mut message: Option<String> = None;
    loop {
        let svc = c.get_json(&format!("/services/{}", q(id)))?;
        let monitor = svc["Spec"]["UpdateConfig"]["Monitor"]
            .as_i64()
            .filter(|m| *m > 0)
            .map(|m| Duration::from_nanos(m as u64))
            .unwrap_or(Duration::from_secs(5));
        let upd = s(&svc, &["UpdateStatus", "State"]);
        let msg = s(&svc, &["UpdateStatus", "Message"]);
        match upd.as_str() {
            "updating" => rollback = false,
            "completed" if !converged => return Ok(()),
            "paused" => return Err(fail(format!("service update paused: {msg}"))),
            "rollback_started" => {
                if !rollback && !msg.is_empty() {
                    d.progress("rollback", &msg, None);
                }
                rollback = true;
            }
            "rollback_paused" => return Err(fail(format!("service rollback paused: {msg}"))),
            "rollback_completed" => {
                if !converged {
                    message = Some(msg.clone());
                }
                rollback = true;
            }
            _ => {}
        }
        if let Some(at) = converged_at {
            if converged && at.elapsed() >= monitor {
                d.progress("verify", &format!("Service {id} converged"), None);
                if let Some(m) = message {
                    d.message("rollback", &m);
                }
                return Ok(());
            }
        }
        let filters = filters_json(&[
            format!("service={}", s(&svc, &["ID"])),
            "_up-to-date=true".to_string(),
        ])
        .map_err(fail)?
        .unwrap_or_default();
        let tasks = c.get_json(&format!(
            "/tasks{}",
            query(&[format!("filters={}", q(&filters))])
        ))?;
        let tasks = tasks.as_array().cloned().unwrap_or_default();
        converged = up.update(&mut d, &svc, &tasks, rollback);
        if converged {
            let at = *converged_at.get_or_insert_with(Instant::now);
            if let Some(wait) = monitor.checked_sub(at.elapsed()) {
                d.progress(
                    "verify",
                    &format!(
                        "Waiting {} seconds to verify that tasks are stable...",
                        wait.as_secs() + 1
                    ),
                    None,
                );
            }
        } else {
            if converged_at.is_some() {
                d.progress("verify", "Detected task failure", None);
            }
            converged_at = None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn slots_prefer_the_lowest_desired_state() {
        let tasks = vec![
            json!({"Slot": 1, "DesiredState": "shutdown", "Status": {"State": "running"}}),
            json!({"Slot": 1, "DesiredState": "running", "Status": {"State": "starting"}}),
            json!({"Slot": 2, "DesiredState": "running", "Status": {"State": "running"}}),
        ];
        let m = by_key(&tasks, |t| t["Slot"].to_string());
        assert_eq!(m.len(), 2);
        assert_eq!(s(m[0].1, &["Status", "State"]), "starting");
        assert_eq!(rank("running"), MAX_PROGRESS);
        assert!(terminal("shutdown") && !terminal("running"));
    }
}
