//! The "model" docker compose prints for `config --no-interpolate`: compose-go's
//! `LoadModel`, a generic YAML map rather than the typed project. Values stay as written
//! (no interpolation, no type conversion); only compose-go's canonical transforms apply
//! (short syntaxes of build, depends_on, networks, volumes, ports, secrets, configs,
//! devices, env_file, extends, dns into their long forms; a port list holding a template
//! stays as written), its override merge (`merge`: environment/labels maps become `k=v`
//! lists, depends_on/networks lists become maps ...), its unicity rules, default values,
//! relative paths, and its map normalisation (default network, implicit dependencies,
//! resource names). Printed with every mapping's keys sorted, as Go prints a map.
//!
//! Not done: `--no-interpolate` cannot tell a quoted "0440" from a plain 0440 (both become
//! 288; compose keeps the quoted one a string).

use crate::error::Result;
use crate::normalize::{self as norm, key_str, Ctx};
use serde_norway::{Mapping as YMap, Value};

fn s(x: &str) -> Value {
    Value::String(x.to_string())
}

fn map_of(pairs: &[(&str, Value)]) -> Value {
    let mut m = YMap::new();
    for (k, v) in pairs {
        m.insert(s(k), v.clone());
    }
    Value::Mapping(m)
}

fn to_value<T: serde::Serialize>(t: &T) -> Value {
    serde_norway::to_value(t).unwrap_or(Value::Null)
}

/// A scalar as Go's `fmt.Sprintf("%v")` prints it (for `k=v` lists).
fn go_text(v: &Value) -> String {
    match v {
        Value::String(x) => x.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
                crate::emit::go_float(f)
            } else {
                n.to_string()
            }
        }
        Value::Null => "<nil>".into(),
        other => format!("{other:?}"),
    }
}

fn dependency_default() -> Value {
    map_of(&[
        ("condition", s("service_started")),
        ("required", Value::Bool(true)),
    ])
}

/// The canonical form of one service (compose-go's `transform.Canonical`, with parse
/// errors ignored as in no-interpolate mode), relative paths resolved against `c.base`.
pub fn service(c: &Ctx, v: &Value) -> Result<Value> {
    let Value::Mapping(m) = v else {
        return Ok(v.clone());
    };
    let mut out = YMap::new();
    for (k, x) in m {
        let key = key_str(k);
        let t = match key.as_str() {
            "build" => build(c, x),
            "depends_on" => depends_on(x),
            "env_file" => env_file(c, x),
            // A list of absolute paths, as compose-go's ResolveRelativePaths leaves it.
            "label_file" => match x {
                Value::String(p) => Value::Sequence(vec![s(&c.abs(p))]),
                Value::Sequence(items) => Value::Sequence(
                    items
                        .iter()
                        .map(|i| match i {
                            Value::String(p) => s(&c.abs(p)),
                            other => other.clone(),
                        })
                        .collect(),
                ),
                other => other.clone(),
            },
            "extends" => match x {
                Value::String(name) => map_of(&[("service", s(name))]),
                Value::Mapping(e) => {
                    let mut e = e.clone();
                    if let Some(Value::String(f)) = e.get("file").cloned() {
                        e.insert(s("file"), s(&c.abs(&f)));
                    }
                    Value::Mapping(e)
                }
                other => other.clone(),
            },
            "networks" => match x {
                Value::Sequence(items) => {
                    let mut nm = YMap::new();
                    for it in items {
                        nm.insert(it.clone(), Value::Null);
                    }
                    Value::Mapping(nm)
                }
                other => other.clone(),
            },
            "volumes" => seq_map(x, |it| volume(c, it)),
            "dns" => match x {
                Value::String(_) => Value::Sequence(vec![x.clone()]),
                other => other.clone(),
            },
            "devices" => seq_map(x, |it| match it {
                Value::String(spec) => device(spec),
                other => other.clone(),
            }),
            "secrets" | "configs" => seq_map(x, file_mount),
            "ports" => ports(x),
            "develop" => develop(c, x),
            _ => x.clone(),
        };
        out.insert(k.clone(), t);
    }
    Ok(Value::Mapping(out))
}

fn seq_map(v: &Value, f: impl Fn(&Value) -> Value) -> Value {
    match v {
        Value::Sequence(items) => Value::Sequence(items.iter().map(f).collect()),
        other => other.clone(),
    }
}

fn file_mount(v: &Value) -> Value {
    match v {
        Value::String(src) => map_of(&[("source", s(src))]),
        // `mode` stays as written: a plain `0440` was read as the number 288 (yaml.v3's
        // octal), a quoted "0440" stays that string, as compose prints it.
        other => other.clone(),
    }
}

fn is_remote(ctx: &str) -> bool {
    ctx.contains("://") || ctx.starts_with("git@") || ctx.starts_with("github.com/")
}

fn build(c: &Ctx, v: &Value) -> Value {
    let mut m = match v {
        Value::String(ctx) => {
            let mut m = YMap::new();
            m.insert(s("context"), s(ctx));
            m
        }
        Value::Mapping(m) => m.clone(),
        other => return other.clone(),
    };
    if let Some(Value::String(ctx)) = m.get("context").cloned() {
        if !is_remote(&ctx) {
            m.insert(s("context"), s(&c.abs(&ctx)));
        }
    }
    if let Some(sec) = m.get("secrets").cloned() {
        m.insert(s("secrets"), seq_map(&sec, file_mount));
    }
    if let Some(Value::Sequence(items)) = m.get("additional_contexts").cloned() {
        let mut am = YMap::new();
        for it in items {
            if let Value::String(kv) = it {
                let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
                am.insert(s(k), s(v));
            }
        }
        m.insert(s("additional_contexts"), Value::Mapping(am));
    }
    Value::Mapping(m)
}

fn depends_on(v: &Value) -> Value {
    match v {
        Value::Sequence(items) => {
            let mut m = YMap::new();
            for it in items {
                m.insert(it.clone(), dependency_default());
            }
            Value::Mapping(m)
        }
        Value::Mapping(m) => {
            let mut out = YMap::new();
            for (k, d) in m {
                let mut d = match d {
                    Value::Mapping(d) => d.clone(),
                    _ => YMap::new(),
                };
                if !d.contains_key("condition") {
                    d.insert(s("condition"), s("service_started"));
                }
                if !d.contains_key("required") {
                    d.insert(s("required"), Value::Bool(true));
                }
                out.insert(k.clone(), Value::Mapping(d));
            }
            Value::Mapping(out)
        }
        other => other.clone(),
    }
}

fn env_file(c: &Ctx, v: &Value) -> Value {
    let one = |x: &Value| -> Value {
        match x {
            Value::String(p) => map_of(&[("path", s(&c.abs(p))), ("required", Value::Bool(true))]),
            Value::Mapping(m) => {
                let mut m = m.clone();
                if let Some(Value::String(p)) = m.get("path").cloned() {
                    m.insert(s("path"), s(&c.abs(&p)));
                }
                if !m.contains_key("required") {
                    m.insert(s("required"), Value::Bool(true));
                }
                Value::Mapping(m)
            }
            other => other.clone(),
        }
    };
    match v {
        Value::Sequence(items) => Value::Sequence(items.iter().map(one).collect()),
        Value::String(_) => Value::Sequence(vec![one(v)]),
        other => other.clone(),
    }
}

fn volume(c: &Ctx, v: &Value) -> Value {
    match v {
        Value::String(spec) => match norm::parse_volume(c, spec, "") {
            Ok(parsed) => to_value(&parsed),
            Err(_) => v.clone(),
        },
        Value::Mapping(m) => {
            let mut m = m.clone();
            let bind = m.get("type").and_then(Value::as_str) == Some("bind");
            if bind {
                if let Some(Value::String(src)) = m.get("source").cloned() {
                    m.insert(s("source"), s(&c.abs(&src)));
                }
            }
            Value::Mapping(m)
        }
        other => other.clone(),
    }
}

fn device(spec: &str) -> Value {
    let parts: Vec<&str> = spec.split(':').collect();
    let (src, dst, perm) = match parts.as_slice() {
        [a] => (*a, *a, "rwm"),
        [a, b] => (*a, *b, "rwm"),
        [a, b, p] => (*a, *b, *p),
        _ => return s(spec),
    };
    map_of(&[
        ("source", s(src)),
        ("target", s(dst)),
        ("permissions", s(perm)),
    ])
}

/// A port list: every short entry expanded, or the whole list as written when one entry
/// does not parse (a template).
fn ports(v: &Value) -> Value {
    let Value::Sequence(items) = v else {
        return v.clone();
    };
    let mut out = Vec::new();
    for it in items {
        let spec = match it {
            Value::String(x) => x.clone(),
            Value::Number(n) => n.to_string(),
            other => {
                out.push(other.clone());
                continue;
            }
        };
        match norm::parse_port(&spec) {
            Ok(ps) => out.extend(ps.iter().map(to_value)),
            Err(_) => return v.clone(),
        }
    }
    Value::Sequence(out)
}

fn develop(c: &Ctx, v: &Value) -> Value {
    let Value::Mapping(m) = v else {
        return v.clone();
    };
    let mut m = m.clone();
    if let Some(Value::Sequence(rules)) = m.get("watch").cloned() {
        let rules = rules
            .into_iter()
            .map(|r| match r {
                Value::Mapping(mut r) => {
                    if let Some(Value::String(p)) = r.get("path").cloned() {
                        r.insert(s("path"), s(&c.abs(&p)));
                    }
                    Value::Mapping(r)
                }
                other => other,
            })
            .collect();
        m.insert(s("watch"), Value::Sequence(rules));
    }
    Value::Mapping(m)
}

/// A top-level network, volume, secret or config (compose-go's `transformMaybeExternal`
/// and its relative paths).
pub fn resource(c: &Ctx, kind: &str, v: &Value) -> Value {
    let Value::Mapping(m) = v else {
        return v.clone();
    };
    let mut m = m.clone();
    if let Some(Value::Mapping(ext)) = m.get("external").cloned() {
        m.insert(s("external"), Value::Bool(true));
        if let Some(n) = ext.get("name") {
            m.insert(s("name"), n.clone());
        }
    }
    if matches!(kind, "secrets" | "configs") {
        if let Some(Value::String(f)) = m.get("file").cloned() {
            m.insert(s("file"), s(&c.abs(&f)));
        }
    }
    Value::Mapping(m)
}

/// compose-go's `override.Merge` of `over` onto `base` at `path`.
pub fn merge(base: Value, over: Value, path: &[&str]) -> Value {
    match special(path) {
        Some(Special::Override) => return over,
        Some(Special::ToSequence) => {
            let mut a = to_sequence(&base);
            a.extend(to_sequence(&over));
            return Value::Sequence(a);
        }
        Some(Special::DependsOn) => {
            return merge_mappings(to_mapping(&base, true), to_mapping(&over, true), path);
        }
        Some(Special::Networks) => {
            return merge_mappings(to_mapping(&base, false), to_mapping(&over, false), path);
        }
        Some(Special::Build) => {
            let as_map = |v: &Value| match v {
                Value::String(x) => {
                    let mut m = YMap::new();
                    m.insert(s("context"), s(x));
                    m
                }
                Value::Mapping(m) => m.clone(),
                _ => YMap::new(),
            };
            return merge_mappings(as_map(&base), as_map(&over), path);
        }
        Some(Special::Logging) => {
            if let (Value::Mapping(b), Value::Mapping(o)) = (&base, &over) {
                let same = match (o.get("driver"), b.get("driver")) {
                    (Some(x), Some(y)) => x == y,
                    _ => true,
                };
                if same {
                    return merge_mappings(b.clone(), o.clone(), path);
                }
            }
            return over;
        }
        None => {}
    }
    if over.is_null() {
        return base;
    }
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => merge_mappings(b, o, path),
        (Value::Sequence(mut b), Value::Sequence(o)) => {
            b.extend(o);
            Value::Sequence(b)
        }
        (_, o) => o,
    }
}

fn merge_mappings(mut b: YMap, o: YMap, path: &[&str]) -> Value {
    for (k, v) in o {
        let ks = key_str(&k);
        match b.remove(&k) {
            Some(existing) if !ks.starts_with("x-") => {
                let mut p = path.to_vec();
                p.push(&ks);
                let merged = merge(existing, v, &p);
                b.insert(k, merged);
            }
            _ => {
                b.insert(k, v);
            }
        }
    }
    Value::Mapping(b)
}

enum Special {
    Override,
    ToSequence,
    DependsOn,
    Networks,
    Build,
    Logging,
}

fn special(path: &[&str]) -> Option<Special> {
    Some(match path {
        ["networks" | "volumes", _, "labels"] => Special::ToSequence,
        ["services", _, "build"] => Special::Build,
        ["services", _, "build", "args" | "additional_contexts" | "extra_hosts" | "labels"] => {
            Special::ToSequence
        }
        ["services", _, "command" | "entrypoint"] => Special::Override,
        ["services", _, "healthcheck", "test"] => Special::Override,
        ["services", _, "ulimits", _] => Special::Override,
        ["services", _, "depends_on"] => Special::DependsOn,
        ["services", _, "deploy", "labels"] => Special::ToSequence,
        ["services", _, "annotations" | "dns" | "dns_opt" | "dns_search" | "env_file" | "label_file"
        | "environment" | "extra_hosts" | "labels" | "sysctls" | "tmpfs"] => Special::ToSequence,
        ["services", _, "logging"] => Special::Logging,
        ["services", _, "networks"] => Special::Networks,
        _ => return None,
    })
}

fn to_sequence(v: &Value) -> Vec<Value> {
    match v {
        Value::Mapping(m) => {
            let mut items: Vec<String> = m
                .iter()
                .map(|(k, x)| {
                    if x.is_null() {
                        key_str(k)
                    } else {
                        format!("{}={}", key_str(k), go_text(x))
                    }
                })
                .collect();
            items.sort();
            items.into_iter().map(Value::String).collect()
        }
        Value::Sequence(items) => items.clone(),
        Value::String(_) => vec![v.clone()],
        _ => Vec::new(),
    }
}

fn to_mapping(v: &Value, dependency: bool) -> YMap {
    match v {
        Value::Mapping(m) => m.clone(),
        Value::Sequence(items) => {
            let mut m = YMap::new();
            for it in items {
                let d = if dependency {
                    dependency_default()
                } else {
                    Value::Null
                };
                m.insert(it.clone(), d);
            }
            m
        }
        _ => YMap::new(),
    }
}

/// compose-go's `EnforceUnicity`: a later entry with the same key replaces the earlier
/// one in place.
pub fn unicity(v: &mut Value) {
    unicity_at(v, &mut Vec::new());
}

fn unicity_at(v: &mut Value, path: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, x) in m.iter_mut() {
                path.push(key_str(k));
                unicity_at(x, path);
                path.pop();
            }
        }
        Value::Sequence(items) => {
            let p: Vec<&str> = path.iter().map(String::as_str).collect();
            let Some(index) = indexer(&p) else { return };
            let mut out: Vec<Value> = Vec::new();
            let mut keys: Vec<String> = Vec::new();
            for it in items.drain(..) {
                let k = index(&it);
                match keys.iter().position(|x| *x == k) {
                    Some(j) => out[j] = it,
                    None => {
                        keys.push(k);
                        out.push(it);
                    }
                }
            }
            *items = out;
        }
        _ => {}
    }
}

type Indexer = fn(&Value) -> String;

fn indexer(path: &[&str]) -> Option<Indexer> {
    Some(match path {
        ["networks", _, "labels"] | ["networks", _, "ipam", "options"] => key_value,
        ["services", _, "build", "args" | "additional_contexts" | "platform" | "tags" | "labels"] => {
            key_value
        }
        ["services", _, "annotations" | "cap_add" | "cap_drop" | "dns" | "dns_opt" | "dns_search"
        | "environment" | "labels" | "links" | "profiles" | "sysctls" | "tmpfs"] => key_value,
        ["services", _, "deploy", "labels"] => key_value,
        ["services", _, "networks", _, "aliases" | "link_local_ips"] => key_value,
        ["services", _, "devices"] => |v| match v {
            Value::Mapping(m) => m.get("target").map(go_text).unwrap_or_default(),
            Value::String(x) => {
                let parts: Vec<&str> = x.split(':').collect();
                parts.get(1).or(parts.first()).unwrap_or(&"").to_string()
            }
            _ => String::new(),
        },
        ["services", _, "configs"] => |v| mount_key(v, ""),
        ["services", _, "secrets"] => |v| mount_key(v, "/run/secrets"),
        ["services", _, "env_file"] => |v| match v {
            Value::Mapping(m) => m.get("path").map(go_text).unwrap_or_default(),
            other => go_text(other),
        },
        ["services", _, "expose"] => go_text,
        ["services", _, "ports"] => |v| match v {
            Value::Mapping(m) => {
                let get = |k: &str, d: &str| m.get(k).map(go_text).unwrap_or_else(|| d.into());
                format!(
                    "{}:{}:{}/{}",
                    get("host_ip", "0.0.0.0"),
                    get("published", ""),
                    get("target", ""),
                    get("protocol", "tcp")
                )
            }
            other => go_text(other),
        },
        ["services", _, "volumes"] => |v| match v {
            Value::Mapping(m) => m.get("target").map(go_text).unwrap_or_default(),
            Value::String(x) => {
                let parts: Vec<&str> = x.split(':').collect();
                parts.get(1).or(parts.first()).unwrap_or(&"").to_string()
            }
            _ => String::new(),
        },
        _ => return None,
    })
}

fn key_value(v: &Value) -> String {
    let t = go_text(v);
    match t.split_once('=') {
        Some((k, _)) => k.to_string(),
        None => t,
    }
}

fn mount_key(v: &Value, default: &str) -> String {
    match v {
        Value::String(x) => format!("{default}/{x}"),
        Value::Mapping(m) => match m.get("target") {
            Some(t) => go_text(t),
            None => format!(
                "{default}/{}",
                m.get("source").map(go_text).unwrap_or_default()
            ),
        },
        other => go_text(other),
    }
}

/// Default values, then compose-go's map normalisation: the project name, the default
/// network, build defaults, implicit dependencies, resource names. Without `normalize`
/// (`config --no-normalize`) only the defaults and the name.
pub fn finish(mut dict: Value, project: &str, normalize: bool) -> Value {
    let Value::Mapping(top) = &mut dict else {
        return dict;
    };
    top.remove("version");
    if !normalize {
        // The name stays as written (not interpolated), or absent.
        if let Some(Value::Mapping(services)) = top.get_mut("services") {
            for (_, svc) in services.iter_mut() {
                if let Value::Mapping(svc) = svc {
                    defaults(svc);
                }
            }
        }
        return dict;
    }
    top.insert(s("name"), s(project));
    // Networks: services without any join `default`.
    let mut uses_default = false;
    if let Some(Value::Mapping(services)) = top.get_mut("services") {
        for (_, svc) in services.iter_mut() {
            let Value::Mapping(svc) = svc else { continue };
            defaults(svc);
            if svc.contains_key("network_mode") {
                continue;
            }
            match svc.get("networks") {
                None | Some(Value::Null) => {
                    svc.insert(s("networks"), map_of(&[("default", Value::Null)]));
                    uses_default = true;
                }
                Some(Value::Mapping(n)) if n.is_empty() => {
                    svc.insert(s("networks"), map_of(&[("default", Value::Null)]));
                    uses_default = true;
                }
                Some(Value::Mapping(n)) if n.contains_key("default") => {
                    uses_default = true;
                }
                _ => {}
            }
        }
    }
    if uses_default {
        let nets = top
            .entry(s("networks"))
            .or_insert_with(|| Value::Mapping(YMap::new()));
        if let Value::Mapping(n) = nets {
            if !n.contains_key("default") {
                n.insert(s("default"), Value::Null);
            }
        }
    }
    if let Some(Value::Mapping(services)) = top.get_mut("services") {
        for (_, svc) in services.iter_mut() {
            let Value::Mapping(svc) = svc else { continue };
            normalize_service(svc);
        }
    }
    for kind in ["networks", "volumes", "configs", "secrets"] {
        let Some(Value::Mapping(res)) = top.get_mut(kind) else {
            continue;
        };
        for (k, r) in res.iter_mut() {
            let mut m = match r {
                Value::Mapping(m) => m.clone(),
                _ => YMap::new(),
            };
            if m.get("name").is_none_or(Value::is_null) {
                let external = m.get("external").is_some_and(|x| {
                    matches!(
                        go_text(x).as_str(),
                        "true" | "1" | "t" | "T" | "TRUE" | "True"
                    )
                });
                let name = if external {
                    key_str(k)
                } else {
                    format!("{project}_{}", key_str(k))
                };
                m.insert(s("name"), s(&name));
            }
            *r = Value::Mapping(m);
        }
    }
    dict
}

/// compose-go's `SetDefaultValues` for one service.
fn defaults(svc: &mut YMap) {
    if let Some(Value::Mapping(b)) = svc.get_mut("build") {
        if !b.contains_key("context") {
            b.insert(s("context"), s("."));
        }
    }
    if let Some(Value::Sequence(secrets)) = svc.get_mut("secrets") {
        for sec in secrets.iter_mut() {
            if let Value::Mapping(m) = sec {
                if !m.contains_key("target") {
                    let src = m.get("source").map(go_text).unwrap_or_default();
                    m.insert(s("target"), s(&format!("/run/secrets/{src}")));
                }
            }
        }
    }
    if let Some(Value::Sequence(ports)) = svc.get_mut("ports") {
        for p in ports.iter_mut() {
            if let Value::Mapping(m) = p {
                if !m.contains_key("protocol") {
                    m.insert(s("protocol"), s("tcp"));
                }
                if !m.contains_key("mode") {
                    m.insert(s("mode"), s("ingress"));
                }
            }
        }
    }
    if let Some(Value::Sequence(vols)) = svc.get_mut("volumes") {
        for v in vols.iter_mut() {
            if let Value::Mapping(m) = v {
                if let Some(Value::Mapping(b)) = m.get_mut("bind") {
                    if !b.contains_key("create_host_path") {
                        b.insert(s("create_host_path"), Value::Bool(true));
                    }
                }
            }
        }
    }
    // OmitEmpty: empty dns entries.
    if let Some(Value::Sequence(dns)) = svc.get_mut("dns") {
        dns.retain(|d| !(d.is_null() || d.as_str() == Some("")));
    }
}

/// compose-go's `Normalize` for one service (the environment used for lookups is empty
/// in no-interpolate mode: names without values stay, build args without values go).
fn normalize_service(svc: &mut YMap) {
    if svc.get("pull_policy").and_then(Value::as_str) == Some("if_not_present") {
        svc.insert(s("pull_policy"), s("missing"));
    }
    if let Some(Value::Mapping(b)) = svc.get_mut("build") {
        if b.get("context").is_none_or(Value::is_null) {
            b.insert(s("context"), s("."));
        }
        if b.get("dockerfile").is_none_or(Value::is_null)
            && b.get("dockerfile_inline").is_none_or(Value::is_null)
        {
            b.insert(s("dockerfile"), s("Dockerfile"));
        }
        if let Some(args) = b.get_mut("args") {
            match args {
                Value::Sequence(items) => items.retain(|i| match i {
                    Value::String(x) => x.contains('='),
                    _ => false,
                }),
                Value::Mapping(m) => {
                    let kept: YMap = m
                        .iter()
                        .filter(|(_, v)| !v.is_null())
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    *m = kept;
                }
                _ => {}
            }
        }
    }
    let mut deps = match svc.get("depends_on") {
        Some(Value::Mapping(m)) => m.clone(),
        _ => YMap::new(),
    };
    let implicit = |deps: &mut YMap, name: &str, restart: bool| {
        if !deps.contains_key(name) {
            deps.insert(
                s(name),
                map_of(&[
                    ("condition", s("service_started")),
                    ("restart", Value::Bool(restart)),
                    ("required", Value::Bool(true)),
                ]),
            );
        }
    };
    if let Some(Value::Sequence(links)) = svc.get("links") {
        for l in links {
            let l = go_text(l);
            let parts: Vec<&str> = l.split(':').collect();
            let name = if parts.len() == 2 {
                parts[0]
            } else {
                l.as_str()
            };
            implicit(&mut deps, name, true);
        }
    }
    for ns in ["network_mode", "ipc", "pid", "uts", "cgroup"] {
        if let Some(Value::String(r)) = svc.get(ns) {
            if let Some(shared) = r.strip_prefix("service:") {
                implicit(&mut deps, shared, true);
            }
        }
    }
    if let Some(Value::Sequence(vf)) = svc.get("volumes_from") {
        for v in vf {
            let v = go_text(v);
            if !v.starts_with("container:") {
                let name = v.split(':').next().unwrap_or("");
                implicit(&mut deps, name, false);
            }
        }
    }
    if !deps.is_empty() {
        svc.insert(s("depends_on"), Value::Mapping(deps));
    }
}

/// Every mapping's keys sorted (Go prints maps so).
pub fn sorted(v: &Value) -> Value {
    match v {
        Value::Mapping(m) => {
            let mut pairs: Vec<(String, &Value, &Value)> =
                m.iter().map(|(k, x)| (key_str(k), k, x)).collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out = YMap::new();
            for (_, k, x) in pairs {
                out.insert(k.clone(), sorted(x));
            }
            Value::Mapping(out)
        }
        Value::Sequence(items) => Value::Sequence(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(t: &str) -> Value {
        serde_norway::from_str(t).unwrap()
    }

    #[test]
    fn merge_turns_maps_into_sorted_lists_and_lists_into_maps() {
        let base = y("services:\n  a:\n    environment: {B: 2, A: base}\n    depends_on: [x]\n");
        let over = y("services:\n  a:\n    environment: [A=over]\n    depends_on:\n      y: {condition: service_healthy}\n");
        let mut m = merge(base, over, &[]);
        unicity(&mut m);
        let a = &m["services"]["a"];
        assert_eq!(a["environment"], y("[A=over, B=2]"));
        assert_eq!(
            a["depends_on"],
            y("{x: {condition: service_started, required: true}, y: {condition: service_healthy}}")
        );
    }

    #[test]
    fn a_port_template_keeps_the_list_as_written() {
        let v = y("['${P:-80}:80', '90']");
        assert_eq!(ports(&v), v);
        let p = ports(&y("['8080-8081:80-81']"));
        assert_eq!(p.as_sequence().map(Vec::len), Some(2));
    }
}
