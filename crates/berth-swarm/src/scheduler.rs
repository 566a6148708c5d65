//! The scheduler: puts new tasks on nodes. Filters as swarmkit's (node ready and active,
//! placement constraints, reserved resources, max replicas per node), then spreads: over
//! the values of each placement preference in turn, then over nodes by how many tasks of
//! the service they already run. A task no node takes stays `pending` with swarmkit's
//! "no suitable node (...)" explanation. Only tasks the allocator has passed (`pending`)
//! are placed.

use crate::orchestrator::{is_terminal, node_ready};
use crate::store::{Object, Op, State};
use berth_api::swarm::{Node, Task, TaskSpec};

#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    key: String,
    equal: bool,
    value: String,
}

/// Parses `key==value` / `key!=value` (swarmkit's constraint syntax).
pub fn parse_constraint(s: &str) -> Result<Constraint, String> {
    let (key, equal, value) = if let Some((k, v)) = s.split_once("==") {
        (k, true, v)
    } else if let Some((k, v)) = s.split_once("!=") {
        (k, false, v)
    } else {
        return Err("constraint expected one operator from ==, !=".to_string());
    };
    let key = key.trim();
    let value = value.trim();
    if key.is_empty() || value.is_empty() {
        return Err(format!("invalid constraint: {s}"));
    }
    let known = matches!(
        key.to_ascii_lowercase().as_str(),
        "node.id" | "node.hostname" | "node.role" | "node.platform.os" | "node.platform.arch"
    ) || key.starts_with("node.labels.")
        || key.starts_with("engine.labels.");
    if !known {
        return Err(format!("invalid constraint: {s}"));
    }
    Ok(Constraint {
        key: key.to_string(),
        equal,
        value: value.to_string(),
    })
}

fn node_value(n: &Node, key: &str) -> Option<String> {
    let lower = key.to_ascii_lowercase();
    match lower.as_str() {
        "node.id" => Some(n.id.clone()),
        "node.hostname" => Some(n.description.hostname.clone()),
        "node.role" => Some(n.spec.role.clone()),
        "node.platform.os" => Some(n.description.platform.os.clone()),
        "node.platform.arch" => Some(n.description.platform.architecture.clone()),
        _ => {
            if let Some(l) = key.strip_prefix("node.labels.") {
                n.spec.labels.get(l).cloned()
            } else if let Some(l) = key.strip_prefix("engine.labels.") {
                n.description.engine.labels.get(l).cloned()
            } else {
                None
            }
        }
    }
}

impl Constraint {
    pub fn matches(&self, n: &Node) -> bool {
        let v = node_value(n, &self.key);
        // Values compare case-insensitively, as swarmkit does; a missing label never equals.
        let eq = v.is_some_and(|v| v.eq_ignore_ascii_case(&self.value));
        if self.equal {
            eq
        } else {
            !eq
        }
    }
}

pub fn constraints_met(spec: &TaskSpec, n: &Node) -> Result<bool, String> {
    let Some(p) = &spec.placement else {
        return Ok(true);
    };
    for c in &p.constraints {
        if !parse_constraint(c)?.matches(n) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn reservation(spec: &TaskSpec) -> (i64, i64) {
    spec.resources
        .as_ref()
        .and_then(|r| r.reservations.as_ref())
        .map(|r| (r.nano_cpus, r.memory_bytes))
        .unwrap_or((0, 0))
}

/// The discrete generic resources a task reserves (`--generic-resource gpu=2`): kind and
/// count.
fn generic_reservation(spec: &TaskSpec) -> Vec<(String, i64)> {
    spec.resources
        .as_ref()
        .and_then(|r| r.reservations.as_ref())
        .and_then(|r| r.generic_resources.as_ref())
        .map(|l| {
            l.iter()
                .filter_map(|g| {
                    let d = &g["DiscreteResourceSpec"];
                    Some((d["Kind"].as_str()?.to_string(), d["Value"].as_i64()?))
                })
                .filter(|(_, n)| *n > 0)
                .collect()
        })
        .unwrap_or_default()
}

/// How many of `kind` the node advertises (its discrete generic resources; named ones
/// count one each).
fn generic_available(n: &Node, kind: &str) -> i64 {
    n.description
        .resources
        .generic_resources
        .iter()
        .flatten()
        .map(|g| {
            if g["DiscreteResourceSpec"]["Kind"] == kind {
                g["DiscreteResourceSpec"]["Value"].as_i64().unwrap_or(0)
            } else if g["NamedResourceSpec"]["Kind"] == kind {
                1
            } else {
                0
            }
        })
        .sum()
}

/// Tasks that hold resources on a node: assigned and not ended.
fn holds_resources(t: &Task) -> bool {
    !t.node_id.is_empty() && !is_terminal(&t.status.state)
}

/// Assigns every unassigned task that should run; returns the task updates.
pub fn schedule(st: &State, now: &str) -> Vec<Op> {
    let mut ops = Vec::new();
    // Running totals per node, updated as this pass assigns.
    let mut used: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
    let mut per_service: std::collections::BTreeMap<(String, String), u64> = Default::default();
    // Generic resources held, per (node, kind).
    let mut generic_used: std::collections::BTreeMap<(String, String), i64> = Default::default();
    for t in st.tasks.values().filter(|t| holds_resources(t)) {
        for (kind, n) in generic_reservation(&t.spec) {
            *generic_used.entry((t.node_id.clone(), kind)).or_default() += n;
        }
        let (c, m) = reservation(&t.spec);
        let e = used.entry(t.node_id.clone()).or_default();
        e.0 += c;
        e.1 += m;
        *per_service
            .entry((t.service_id.clone(), t.node_id.clone()))
            .or_default() += 1;
    }
    let mut pending: Vec<&Task> = st
        .tasks
        .values()
        .filter(|t| {
            // Allocated tasks only (the allocator moves them from new to pending).
            t.desired_state == "running" && t.status.state == "pending"
        })
        .collect();
    pending.sort_by(|a, b| (&a.service_id, a.slot).cmp(&(&b.service_id, b.slot)));
    for t in pending {
        let (cpu, mem) = reservation(&t.spec);
        let generic = generic_reservation(&t.spec);
        let mut unavailable = 0;
        let mut constrained = 0;
        let mut short = 0;
        let mut max_reached = 0;
        let mut candidates: Vec<&Node> = Vec::new();
        for n in st.nodes.values() {
            // Global tasks come with their node.
            if !t.node_id.is_empty() && n.id != t.node_id {
                continue;
            }
            if !node_ready(n) {
                unavailable += 1;
                continue;
            }
            if !constraints_met(&t.spec, n).unwrap_or(false) {
                constrained += 1;
                continue;
            }
            let (uc, um) = used.get(&n.id).copied().unwrap_or_default();
            let r = &n.description.resources;
            let generic_short = generic.iter().any(|(kind, want)| {
                let held = generic_used
                    .get(&(n.id.clone(), kind.clone()))
                    .copied()
                    .unwrap_or(0);
                held + want > generic_available(n, kind)
            });
            if (cpu > 0 && uc + cpu > r.nano_cpus)
                || (mem > 0 && um + mem > r.memory_bytes)
                || generic_short
            {
                short += 1;
                continue;
            }
            let max = t
                .spec
                .placement
                .as_ref()
                .map(|p| p.max_replicas)
                .unwrap_or(0);
            let here = per_service
                .get(&(t.service_id.clone(), n.id.clone()))
                .copied()
                .unwrap_or(0);
            if max > 0 && here >= max {
                max_reached += 1;
                continue;
            }
            candidates.push(n);
        }
        let chosen = pick(st, t, &candidates, &per_service);
        let mut t2 = t.clone();
        match chosen {
            Some(n) => {
                t2.node_id = n.id.clone();
                t2.status.state = "assigned".into();
                t2.status.message = "scheduler assigned task to node".into();
                t2.status.err.clear();
                t2.status.timestamp = now.to_string();
                let e = used.entry(n.id.clone()).or_default();
                e.0 += cpu;
                e.1 += mem;
                for (kind, want) in &generic {
                    *generic_used
                        .entry((n.id.clone(), kind.clone()))
                        .or_default() += want;
                }
                *per_service
                    .entry((t.service_id.clone(), n.id.clone()))
                    .or_default() += 1;
            }
            None => {
                let mut why = Vec::new();
                let plural = |n: usize| if n == 1 { "node" } else { "nodes" };
                if constrained > 0 {
                    why.push(format!(
                        "scheduling constraints not satisfied on {constrained} {}",
                        plural(constrained)
                    ));
                }
                if short > 0 {
                    why.push(format!(
                        "insufficient resources on {short} {}",
                        plural(short)
                    ));
                }
                if max_reached > 0 {
                    why.push(format!(
                        "max replicas per node limit exceed on {max_reached} {}",
                        plural(max_reached)
                    ));
                }
                if unavailable > 0 {
                    why.push(format!(
                        "{unavailable} {} not available for new tasks",
                        plural(unavailable)
                    ));
                }
                let err = format!("no suitable node ({})", why.join("; "));
                if t.status.state == "pending" && t.status.err == err {
                    continue;
                }
                t2.status.state = "pending".into();
                t2.status.message = "pending task scheduling".into();
                t2.status.err = err;
                t2.status.timestamp = now.to_string();
            }
        }
        ops.push(Op::Update {
            object: Object::Task(Box::new(t2)),
            expect: None,
        });
    }
    ops
}

/// Spread: by each placement preference's label value, then by the service's task count.
fn pick<'a>(
    st: &State,
    t: &Task,
    candidates: &[&'a Node],
    per_service: &std::collections::BTreeMap<(String, String), u64>,
) -> Option<&'a Node> {
    let prefs: Vec<String> = t
        .spec
        .placement
        .as_ref()
        .map(|p| {
            p.preferences
                .iter()
                .filter_map(|p| p.spread.as_ref().map(|s| s.spread_descriptor.clone()))
                .collect()
        })
        .unwrap_or_default();
    let count_on = |n: &Node| {
        per_service
            .get(&(t.service_id.clone(), n.id.clone()))
            .copied()
            .unwrap_or(0)
    };
    let mut pool: Vec<&'a Node> = candidates.to_vec();
    for p in prefs {
        // The value group with the fewest of this service's tasks wins.
        let mut groups: std::collections::BTreeMap<String, (u64, Vec<&'a Node>)> =
            Default::default();
        for n in &pool {
            let v = node_value(n, &p).unwrap_or_default();
            groups.entry(v).or_default().1.push(*n);
        }
        for n in st.nodes.values() {
            let v = node_value(n, &p).unwrap_or_default();
            if let Some(g) = groups.get_mut(&v) {
                g.0 += count_on(n);
            }
        }
        if let Some((_, (_, best))) = groups.into_iter().min_by_key(|(_, (c, _))| *c) {
            pool = best;
        }
    }
    pool.into_iter().min_by_key(|n| (count_on(n), n.id.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_api::swarm::{NodeSpec, NodeStatus, Placement, ResourceRequirements, Resources};

    fn node(id: &str, labels: &[(&str, &str)]) -> Node {
        let mut n = Node {
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
        };
        n.description.hostname = format!("host-{id}");
        n.description.resources.nano_cpus = 2_000_000_000;
        n.description.resources.memory_bytes = 1 << 30;
        for (k, v) in labels {
            n.spec.labels.insert(k.to_string(), v.to_string());
        }
        n
    }

    fn task(id: &str, placement: Option<Placement>, mem: i64) -> Task {
        Task {
            id: id.into(),
            service_id: "s".into(),
            slot: 1,
            desired_state: "running".into(),
            status: berth_api::swarm::TaskStatus {
                state: "pending".into(),
                ..Default::default()
            },
            spec: TaskSpec {
                placement,
                resources: Some(ResourceRequirements {
                    limits: None,
                    reservations: Some(Resources {
                        memory_bytes: mem,
                        ..Default::default()
                    }),
                }),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn assigned(ops: &[Op]) -> Vec<(String, String, String)> {
        ops.iter()
            .filter_map(|o| match o {
                Op::Update {
                    object: Object::Task(t),
                    ..
                } => Some((t.id.clone(), t.node_id.clone(), t.status.err.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn constraints_parse_and_match() {
        let n = node("n1", &[("zone", "A")]);
        assert!(parse_constraint("node.labels.zone==a").unwrap().matches(&n));
        assert!(parse_constraint("node.role!=worker").unwrap().matches(&n));
        assert!(!parse_constraint("node.labels.disk==ssd")
            .unwrap()
            .matches(&n));
        assert!(parse_constraint("node.hostname==host-n1")
            .unwrap()
            .matches(&n));
        assert!(parse_constraint("bogus").is_err());
        assert!(parse_constraint("node.colour==red").is_err());
    }

    #[test]
    fn generic_resources_are_reserved_from_what_nodes_advertise() {
        let gpu = |n: i64| serde_json::json!({"DiscreteResourceSpec": {"Kind": "gpu", "Value": n}});
        let mut st = State::default();
        st.nodes.insert("plain".into(), node("plain", &[]));
        let mut g = node("g", &[]);
        g.description.resources.generic_resources = Some(vec![gpu(3)]);
        st.nodes.insert("g".into(), g);
        for id in ["t1", "t2"] {
            let mut t = task(id, None, 0);
            if let Some(r) = t
                .spec
                .resources
                .as_mut()
                .and_then(|r| r.reservations.as_mut())
            {
                r.generic_resources = Some(vec![gpu(2)]);
            }
            st.tasks.insert(id.into(), t);
        }
        // Three gpus on one node: the first task gets two there, the second pends as
        // swarmkit says (the node without gpus is short too).
        let a = assigned(&schedule(&st, "now"));
        assert_eq!((a[0].0.as_str(), a[0].1.as_str()), ("t1", "g"));
        assert_eq!(a[1].1, "");
        assert_eq!(
            a[1].2,
            "no suitable node (insufficient resources on 2 nodes)"
        );
    }

    #[test]
    fn an_unsatisfiable_constraint_leaves_the_task_pending_with_dockers_reason() {
        let mut st = State::default();
        st.nodes.insert("n1".into(), node("n1", &[]));
        let p = Placement {
            constraints: vec!["node.labels.disk==ssd".into()],
            ..Default::default()
        };
        st.tasks.insert("t".into(), task("t", Some(p), 0));
        let a = assigned(&schedule(&st, "now"));
        assert_eq!(a[0].1, "");
        assert_eq!(
            a[0].2,
            "no suitable node (scheduling constraints not satisfied on 1 node)"
        );
    }

    #[test]
    fn reservations_are_counted_and_spread_prefers_the_emptier_group() {
        let mut st = State::default();
        st.nodes.insert("a".into(), node("a", &[("zone", "1")]));
        st.nodes.insert("b".into(), node("b", &[("zone", "1")]));
        st.nodes.insert("c".into(), node("c", &[("zone", "2")]));
        let pref = Placement {
            preferences: vec![berth_api::swarm::PlacementPreference {
                spread: Some(berth_api::swarm::SpreadOver {
                    spread_descriptor: "node.labels.zone".into(),
                }),
            }],
            ..Default::default()
        };
        for i in 0..4 {
            st.tasks.insert(
                format!("t{i}"),
                task(&format!("t{i}"), Some(pref.clone()), 0),
            );
        }
        let a = assigned(&schedule(&st, "now"));
        let on_c = a.iter().filter(|x| x.1 == "c").count();
        assert_eq!(on_c, 2, "zone 2 gets half: {a:?}");
        // Memory: 1 GiB nodes, 700 MiB reservations: one per node, the fourth pends.
        let mut st2 = State::default();
        st2.nodes.insert("a".into(), node("a", &[]));
        st2.nodes.insert("b".into(), node("b", &[]));
        for i in 0..3 {
            st2.tasks
                .insert(format!("t{i}"), task(&format!("t{i}"), None, 700 << 20));
        }
        let a = assigned(&schedule(&st2, "now"));
        assert_eq!(a.iter().filter(|x| !x.1.is_empty()).count(), 2);
        assert!(a
            .iter()
            .any(|x| x.2 == "no suitable node (insufficient resources on 2 nodes)"));
    }
}
