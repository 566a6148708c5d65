//! berth-compose: the compose-spec in Rust. `load` turns compose files into a typed,
//! normalised `Project` (the same model `docker compose config` prints); the planner and
//! the `compose` commands drive an Engine API daemon from it; `stack` deploys a project
//! on a swarm.

pub mod api;
pub mod cli;
pub mod dotenv;
pub mod emit;
pub mod error;
pub mod files;
pub mod graph;
pub mod hash;
pub mod interpolate;
pub mod loader;
pub mod logs;
pub mod merge;
pub mod model;
pub mod normalize;
pub mod progress;
pub mod rawmodel;
pub mod runtime;
pub mod stack;
pub mod units;
pub mod watch;
pub mod yaml;

pub use error::{Error, Result};
pub use loader::{load, LoadOptions, Loaded};
pub use model::Project;

/// The part of an I/O error docker's messages show ("no such file or directory").
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            match s.split(" (os error").next() {
                Some(m) => m.to_lowercase(),
                None => s,
            }
        }
    }
}

/// `docker compose config`'s YAML for a project (`$` escaped as `$$`, as compose prints it).
pub fn config_yaml(p: &Project, escape: bool) -> String {
    let mut v = serde_norway::to_value(p).unwrap_or(serde_norway::Value::Null);
    if escape {
        escape_dollars(&mut v);
    }
    emit::to_yaml(&v)
}

/// `docker compose config --format json`.
pub fn config_json(p: &Project, escape: bool) -> String {
    let mut v = serde_norway::to_value(p).unwrap_or(serde_norway::Value::Null);
    if escape {
        escape_dollars(&mut v);
    }
    json_shape(&mut v);
    emit::to_json(&v)
}

fn exec_null() -> serde_norway::Value {
    let mut m = serde_norway::Mapping::new();
    m.insert("command".into(), serde_norway::Value::Null);
    serde_norway::Value::Mapping(m)
}

/// Drops `x-` keys at every level (JSON leaves service extensions out).
pub(crate) fn strip_extensions(v: &mut serde_norway::Value) {
    use serde_norway::Value;
    match v {
        Value::Mapping(m) => {
            m.retain(|k, _| !k.as_str().is_some_and(|s| s.starts_with("x-")));
            for (_, x) in m.iter_mut() {
                strip_extensions(x);
            }
        }
        Value::Sequence(s) => s.iter_mut().for_each(strip_extensions),
        _ => {}
    }
}

fn escape_dollars(v: &mut serde_norway::Value) {
    use serde_norway::Value;
    match v {
        Value::String(s) if s.contains('$') => *s = s.replace('$', "$$"),
        Value::Mapping(m) => {
            for (_, x) in m.iter_mut() {
                escape_dollars(x);
            }
        }
        Value::Sequence(s) => s.iter_mut().for_each(escape_dollars),
        _ => {}
    }
}

/// The JSON form differs from the YAML one as compose-go's does: top-level keys sorted,
/// `command`/`entrypoint` always present, `ipam` always present on networks.
fn json_shape(v: &mut serde_norway::Value) {
    use serde_norway::{Mapping, Value};
    let Value::Mapping(top) = v else { return };
    if let Some(Value::Mapping(services)) = top.get_mut("services") {
        for (_, s) in services.iter_mut() {
            strip_extensions(s);
            if let Some(Value::Mapping(d)) = s.get_mut("deploy") {
                let mut out = Mapping::new();
                let has_res = d.contains_key("resources");
                let has_pl = d.contains_key("placement");
                for (k, x) in std::mem::take(d) {
                    let ks = k.as_str().unwrap_or_default().to_string();
                    if !has_res
                        && matches!(
                            ks.as_str(),
                            "restart_policy" | "placement" | "endpoint_mode"
                        )
                        && !out.contains_key("resources")
                    {
                        out.insert("resources".into(), Value::Mapping(Mapping::new()));
                    }
                    if !has_pl && ks == "endpoint_mode" {
                        out.insert("placement".into(), Value::Mapping(Mapping::new()));
                    }
                    out.insert(k, x);
                }
                if !out.contains_key("resources") {
                    out.insert("resources".into(), Value::Mapping(Mapping::new()));
                }
                if !out.contains_key("placement") {
                    out.insert("placement".into(), Value::Mapping(Mapping::new()));
                }
                *d = out;
            }
            if let Some(Value::Sequence(ws)) = s.get_mut("develop").and_then(|d| d.get_mut("watch"))
            {
                for w in ws.iter_mut() {
                    if let Value::Mapping(wm) = w {
                        if wm.contains_key("exec") {
                            continue;
                        }
                        let mut out = Mapping::new();
                        let mut placed = false;
                        for (k, x) in std::mem::take(wm) {
                            if !placed
                                && matches!(k.as_str(), Some("include" | "ignore" | "initial_sync"))
                            {
                                out.insert("exec".into(), exec_null());
                                placed = true;
                            }
                            out.insert(k, x);
                        }
                        if !placed {
                            out.insert("exec".into(), exec_null());
                        }
                        *wm = out;
                    }
                }
            }
            if let Value::Mapping(sm) = s {
                let mut out = Mapping::new();
                let mut entries: Vec<(Value, Value)> = std::mem::take(sm).into_iter().collect();
                for k in ["command", "entrypoint"] {
                    if !entries.iter().any(|(e, _)| e.as_str() == Some(k)) {
                        entries.push((Value::String(k.into()), Value::Null));
                    }
                }
                entries.sort_by_key(|a| json_order(&a.0));
                out.extend(entries);
                *sm = out;
            }
        }
    }
    if let Some(Value::Mapping(nets)) = top.get_mut("networks") {
        for (_, n) in nets.iter_mut() {
            if let Value::Mapping(nm) = n {
                if !nm.contains_key("ipam") {
                    let mut out = Mapping::new();
                    let mut placed = false;
                    for (k, x) in std::mem::take(nm) {
                        let after = matches!(
                            k.as_str(),
                            Some(
                                "external"
                                    | "internal"
                                    | "attachable"
                                    | "labels"
                                    | "enable_ipv4"
                                    | "enable_ipv6"
                            )
                        ) || k.as_str().is_some_and(|s| s.starts_with("x-"));
                        if after && !placed {
                            out.insert("ipam".into(), Value::Mapping(Mapping::new()));
                            placed = true;
                        }
                        out.insert(k, x);
                    }
                    if !placed {
                        out.insert("ipam".into(), Value::Mapping(Mapping::new()));
                    }
                    *nm = out;
                }
            }
        }
    }
    let mut entries: Vec<(Value, Value)> = std::mem::take(top).into_iter().collect();
    entries.sort_by(|a, b| {
        a.0.as_str()
            .unwrap_or_default()
            .cmp(b.0.as_str().unwrap_or_default())
    });
    top.extend(entries);
}

/// Position of a service key in compose-go's struct (the YAML order); JSON keeps it.
pub(crate) fn json_order(k: &serde_norway::Value) -> usize {
    const ORDER: &[&str] = &[
        "profiles",
        "annotations",
        "attach",
        "build",
        "develop",
        "blkio_config",
        "cap_add",
        "cap_drop",
        "cgroup_parent",
        "cgroup",
        "cpu_count",
        "cpu_percent",
        "cpu_period",
        "cpu_quota",
        "cpu_rt_period",
        "cpu_rt_runtime",
        "cpus",
        "cpuset",
        "cpu_shares",
        "command",
        "configs",
        "container_name",
        "credential_spec",
        "depends_on",
        "deploy",
        "device_cgroup_rules",
        "devices",
        "dns",
        "dns_opt",
        "dns_search",
        "dockerfile",
        "domainname",
        "entrypoint",
    ];
    let s = k.as_str().unwrap_or_default();
    ORDER.iter().position(|o| *o == s).unwrap_or(ORDER.len())
}
