//! The services' dependency graph: cycle detection (worded as compose-go words it) and the
//! start order (dependencies first).

use crate::error::{Error, Result};
use crate::model::Project;
use std::collections::{BTreeMap, BTreeSet};

/// Fails on the first cycle found: "dependency cycle detected: a -> b -> a".
pub fn check_cycles(p: &Project) -> Result<()> {
    fn visit(
        p: &Project,
        n: &str,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Result<()> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut cycle: Vec<String> = stack[i..].to_vec();
            cycle.push(n.to_string());
            return Err(Error::Invalid(format!(
                "dependency cycle detected: {}",
                cycle.join(" -> ")
            )));
        }
        if done.contains(n) {
            return Ok(());
        }
        stack.push(n.to_string());
        if let Some(s) = p.services.get(n) {
            for d in s.depends_on.keys() {
                visit(p, d, stack, done)?;
            }
        }
        stack.pop();
        done.insert(n.to_string());
        Ok(())
    }
    let mut done = BTreeSet::new();
    for n in p.services.keys() {
        visit(p, n, &mut Vec::new(), &mut done)?;
    }
    Ok(())
}

/// Services grouped in waves: each wave depends only on earlier waves (so a wave's services
/// can start in parallel). Only `names` and their dependencies (transitively) when `deps`.
pub fn waves(p: &Project, names: &BTreeSet<String>) -> Vec<Vec<String>> {
    let mut level: BTreeMap<String, usize> = BTreeMap::new();
    fn depth(p: &Project, n: &str, level: &mut BTreeMap<String, usize>, guard: usize) -> usize {
        if let Some(l) = level.get(n) {
            return *l;
        }
        if guard > 256 {
            return 0;
        }
        let l = p
            .services
            .get(n)
            .map(|s| {
                s.depends_on
                    .keys()
                    .filter(|d| p.services.contains_key(*d))
                    .map(|d| depth(p, d, level, guard + 1) + 1)
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        level.insert(n.to_string(), l);
        l
    }
    for n in names {
        depth(p, n, &mut level, 0);
    }
    let max = level
        .iter()
        .filter(|(n, _)| names.contains(*n))
        .map(|(_, l)| *l)
        .max();
    let Some(max) = max else { return Vec::new() };
    (0..=max)
        .map(|l| {
            names
                .iter()
                .filter(|n| level.get(*n) == Some(&l))
                .cloned()
                .collect::<Vec<_>>()
        })
        .filter(|w: &Vec<String>| !w.is_empty())
        .collect()
}

/// `names` plus every service they depend on, transitively.
pub fn with_dependencies(p: &Project, names: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut todo: Vec<String> = names.to_vec();
    while let Some(n) = todo.pop() {
        if out.insert(n.clone()) {
            if let Some(s) = p.services.get(&n) {
                todo.extend(s.depends_on.keys().cloned());
            }
        }
    }
    out.retain(|n| p.services.contains_key(n));
    out
}

/// Every service, each after the services it depends on, otherwise by name: the order
/// docker compose's `config --services` prints them in (compose-go's ForEachService; its
/// ties are Go map order, random from run to run, made deterministic here).
pub fn dependency_order(p: &Project) -> Vec<String> {
    fn visit(p: &Project, n: &str, seen: &mut BTreeSet<String>, out: &mut Vec<String>) {
        if !seen.insert(n.to_string()) {
            return;
        }
        if let Some(s) = p.services.get(n) {
            for d in s.depends_on.keys() {
                if p.services.contains_key(d) {
                    visit(p, d, seen, out);
                }
            }
        }
        out.push(n.to_string());
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for n in p.services.keys() {
        visit(p, n, &mut seen, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Dependency, Service};

    fn project(deps: &[(&str, &[&str])]) -> Project {
        let mut p = Project::default();
        for (name, on) in deps {
            let mut s = Service {
                name: name.to_string(),
                ..Default::default()
            };
            for d in *on {
                let dep = Dependency {
                    condition: "service_started".into(),
                    restart: false,
                    extensions: Default::default(),
                    required: true,
                };
                s.depends_on.insert(d.to_string(), dep);
            }
            p.services.insert(name.to_string(), s);
        }
        p
    }

    #[test]
    fn dependency_order_puts_dependencies_first() {
        let p = project(&[
            ("a", &["worker"]),
            ("web", &[]),
            ("worker", &["db"]),
            ("db", &[]),
        ]);
        assert_eq!(dependency_order(&p), ["db", "worker", "a", "web"]);
    }
}
