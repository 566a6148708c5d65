//! From a compose file's YAML tree to the typed model: validates keys and types (naming the
//! key path, as compose's schema validation does), expands short syntaxes into the long
//! ones and resolves relative paths against the project directory.
//!
//! Errors use compose's wording (`validating FILE: services.web.ports must be a array`).

use crate::error::{Error, Result};
use crate::model::*;
use crate::units::{parse_bytes, parse_duration};
use serde_norway::{Mapping as YMap, Value};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Where a tree came from, for errors and relative paths.
pub struct Ctx<'a> {
    /// The file named in validation errors.
    pub file: &'a str,
    /// Relative paths are resolved against this directory.
    pub base: &'a Path,
    /// False for `config --no-path-resolution`: paths in the model stay as written.
    pub resolve: bool,
    /// Without path resolution, the directory of an included or extended file relative
    /// to the project directory: its relative paths are rebased onto it, as compose-go
    /// does (`./initdb` of `sub/compose.yaml` is `sub/initdb`).
    pub rebase: Option<String>,
}

/// `base` relative to `root` when it is a subdirectory of it (the `rebase` of a file
/// in `base`); `None` for `root` itself or a directory outside it.
pub fn rebase_of(root: &Path, base: &Path) -> Option<String> {
    let rel = base.strip_prefix(root).ok()?;
    let rel = rel.to_string_lossy();
    (!rel.is_empty()).then(|| rel.into_owned())
}

impl Ctx<'_> {
    fn err(&self, path: &str, what: &str) -> Error {
        let message = if path.is_empty() {
            format!(" {what}")
        } else {
            format!("{path} {what}")
        };
        Error::Validation {
            file: self.file.to_string(),
            message,
        }
    }
    fn must(&self, path: &str, ty: &str) -> Error {
        self.err(path, &format!("must be a {ty}"))
    }
    fn unknown(&self, path: &str, key: &str) -> Error {
        self.err(path, &format!("additional properties '{key}' not allowed"))
    }
    /// An absolute, lexically cleaned path (`~` is the home directory).
    pub fn abs(&self, p: &str) -> String {
        resolve_path(self.base, p)
    }

    /// A path of the model: resolved as `abs`, or as written without path resolution.
    pub fn path(&self, p: &str) -> String {
        if self.resolve {
            return self.abs(p);
        }
        match &self.rebase {
            Some(r) if !p.starts_with('/') && !p.starts_with('~') => resolve_path(Path::new(r), p),
            _ => p.to_string(),
        }
    }
}

/// Joins `p` to `base` unless absolute, expands `~`, and cleans `.`/`..` as Go's
/// `filepath.Join` does.
pub fn resolve_path(base: &Path, p: &str) -> String {
    let expanded = if p == "~" || p.starts_with("~/") {
        let home = std::env::var("HOME").unwrap_or_else(|_| "/".into());
        format!("{home}{}", &p[1..])
    } else {
        p.to_string()
    };
    let joined = if Path::new(&expanded).is_absolute() {
        PathBuf::from(&expanded)
    } else {
        base.join(&expanded)
    };
    clean(&joined).to_string_lossy().into_owned()
}

pub fn clean(p: &Path) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.last(), Some(Component::Normal(_))) {
                    out.pop();
                } else if !matches!(out.last(), Some(Component::RootDir)) {
                    out.push(c);
                }
            }
            c => out.push(c),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The string form of a mapping key.
pub fn key_str(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        _ => String::new(),
    }
}

fn map<'v>(c: &Ctx, v: &'v Value, path: &str) -> Result<&'v YMap> {
    match v {
        Value::Mapping(m) => Ok(m),
        _ => Err(c.must(path, "object")),
    }
}

/// Checks every key of `m` is one of `allowed` or an `x-` extension; returns the extensions.
fn check_keys(c: &Ctx, m: &YMap, path: &str, allowed: &[&str]) -> Result<Extensions> {
    let mut ext = Extensions::new();
    for (k, v) in m {
        let k = key_str(k);
        if k.starts_with("x-") {
            ext.insert(k, sorted(v));
        } else if !allowed.contains(&k.as_str()) {
            return Err(c.unknown(path, &k));
        }
    }
    Ok(ext)
}

/// A copy of `v` with every mapping's keys sorted (Go prints maps sorted).
pub fn sorted(v: &Value) -> Value {
    match v {
        Value::Mapping(m) => {
            let mut entries: Vec<(Value, Value)> =
                m.iter().map(|(k, x)| (k.clone(), sorted(x))).collect();
            entries.sort_by_key(|(k, _)| key_str(k));
            Value::Mapping(entries.into_iter().collect())
        }
        Value::Sequence(s) => Value::Sequence(s.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn string(c: &Ctx, v: &Value, path: &str) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        _ => Err(c.must(path, "string")),
    }
}

/// A scalar that may be written as a string, a number or a boolean.
fn scalar(c: &Ctx, v: &Value, path: &str) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(number_text(n)),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(c.must(path, "string")),
    }
}

fn number_text(n: &serde_norway::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        crate::emit::go_float(n.as_f64().unwrap_or(0.0))
    }
}

fn boolean(c: &Ctx, v: &Value, path: &str) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if matches!(s.as_str(), "true" | "True" | "TRUE") => Ok(true),
        Value::String(s) if matches!(s.as_str(), "false" | "False" | "FALSE") => Ok(false),
        _ => Err(c.must(path, "boolean")),
    }
}

fn integer(c: &Ctx, v: &Value, path: &str) -> Result<i64> {
    match v {
        Value::Number(n) => n.as_i64().ok_or_else(|| c.must(path, "integer")),
        Value::String(s) => s.trim().parse().map_err(|_| c.must(path, "integer")),
        _ => Err(c.must(path, "integer")),
    }
}

fn float(c: &Ctx, v: &Value, path: &str) -> Result<f64> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| c.must(path, "number")),
        Value::String(s) => s.trim().parse().map_err(|_| c.must(path, "number")),
        _ => Err(c.must(path, "number")),
    }
}

fn duration(c: &Ctx, v: &Value, path: &str) -> Result<Duration> {
    let s = scalar(c, v, path)?;
    parse_duration(&s)
        .map(Duration)
        .ok_or_else(|| c.err(path, &format!("invalid duration {s:?}")))
}

fn bytes(c: &Ctx, v: &Value, path: &str) -> Result<Bytes> {
    match v {
        Value::Number(n) => n.as_i64().map(Bytes).ok_or_else(|| c.must(path, "integer")),
        Value::String(s) => parse_bytes(s)
            .map(Bytes)
            .ok_or_else(|| c.err(path, &format!("invalid size: '{s}'"))),
        _ => Err(c.must(path, "string or number")),
    }
}

/// A list of strings (numbers allowed as items).
fn list(c: &Ctx, v: &Value, path: &str) -> Result<Vec<String>> {
    match v {
        Value::Sequence(s) => s
            .iter()
            .enumerate()
            .map(|(i, x)| scalar(c, x, &join(path, &i.to_string())))
            .collect(),
        _ => Err(c.must(path, "array")),
    }
}

/// A string or a list of strings.
fn string_or_list(c: &Ctx, v: &Value, path: &str) -> Result<Vec<String>> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Sequence(_) => list(c, v, path),
        _ => Err(c.must(path, "string or array")),
    }
}

/// `["K=V", "K"]` or `{K: V}`; `K` alone / null maps to None.
fn list_or_dict(
    c: &Ctx,
    v: &Value,
    path: &str,
    sep: char,
) -> Result<BTreeMap<String, Option<String>>> {
    let mut out = BTreeMap::new();
    match v {
        Value::Mapping(m) => {
            for (k, x) in m {
                let key = key_str(k);
                let val = match x {
                    Value::Null => None,
                    Value::Sequence(_) | Value::Mapping(_) | Value::Tagged(_) => {
                        return Err(c.must(&join(path, &key), "boolean, null, number or string"))
                    }
                    other => Some(scalar(c, other, &join(path, &key))?),
                };
                out.insert(key, val);
            }
        }
        Value::Sequence(s) => {
            for (i, x) in s.iter().enumerate() {
                let item = scalar(c, x, &join(path, &i.to_string()))?;
                match item.split_once(sep) {
                    Some((k, v)) => out.insert(k.to_string(), Some(v.to_string())),
                    None => out.insert(item, None),
                };
            }
        }
        Value::Null => {}
        _ => Err(c.must(path, "object"))?,
    }
    Ok(out)
}

/// A string mapping (labels, options): missing values become "".
fn mapping(c: &Ctx, v: &Value, path: &str) -> Result<Mapping> {
    Ok(list_or_dict(c, v, path, '=')?
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

/// Splits a command string as go-shellwords does (quotes, backslashes).
pub fn shell_split(s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut have = false;
    let mut it = s.chars().peekable();
    let (mut sq, mut dq) = (false, false);
    while let Some(ch) = it.next() {
        match ch {
            '\\' if !sq => {
                if let Some(n) = it.next() {
                    if dq && !matches!(n, '"' | '\\' | '$' | '`' | '\n') {
                        cur.push('\\');
                    }
                    if n != '\n' {
                        cur.push(n);
                    }
                    have = true;
                }
            }
            '\'' if !dq => {
                sq = !sq;
                have = true;
            }
            '"' if !sq => {
                dq = !dq;
                have = true;
            }
            c if c.is_whitespace() && !sq && !dq => {
                if have {
                    out.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            c => {
                cur.push(c);
                have = true;
            }
        }
    }
    if sq || dq {
        return None;
    }
    if have {
        out.push(cur);
    }
    Some(out)
}

fn command(c: &Ctx, v: &Value, path: &str) -> Result<Option<Vec<String>>> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => shell_split(s)
            .map(Some)
            .ok_or_else(|| c.err(path, &format!("invalid command line string {s:?}"))),
        Value::Sequence(_) => list(c, v, path).map(Some),
        _ => Err(c.must(path, "string or array")),
    }
}

const SERVICE_KEYS: &[&str] = &[
    "annotations",
    "attach",
    "build",
    "blkio_config",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "command",
    "configs",
    "container_name",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "depends_on",
    "deploy",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "entrypoint",
    "env_file",
    "label_file",
    "environment",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "isolation",
    "labels",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "post_start",
    "pre_stop",
    "privileged",
    "profiles",
    "provider",
    "pull_policy",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "use_api_socket",
    "user",
    "userns_mode",
    "uts",
    "volumes",
    "volumes_from",
    "working_dir",
];

/// Converts one service.
pub fn service(c: &Ctx, name: &str, v: &Value) -> Result<Service> {
    let path = format!("services.{name}");
    let m = match v {
        Value::Null => {
            return Ok(Service {
                name: name.to_string(),
                ..Default::default()
            })
        }
        other => map(c, other, &path)?,
    };
    let mut s = Service {
        name: name.to_string(),
        extensions: check_keys(c, m, &path, SERVICE_KEYS)?,
        ..Default::default()
    };
    for (k, x) in m {
        let k = key_str(k);
        let p = join(&path, &k);
        let p = p.as_str();
        match k.as_str() {
            "annotations" => s.annotations = mapping(c, x, p)?,
            "attach" => s.attach = Some(boolean(c, x, p)?),
            "build" => s.build = Some(build(c, x, p)?),
            "develop" => s.develop = Some(develop(c, x, p)?),
            "blkio_config" => s.blkio_config = Some(x.clone()),
            "cap_add" => s.cap_add = list(c, x, p)?,
            "cap_drop" => s.cap_drop = list(c, x, p)?,
            "cgroup_parent" => s.cgroup_parent = string(c, x, p)?,
            "cgroup" => s.cgroup = string(c, x, p)?,
            "cpu_count" => s.cpu_count = integer(c, x, p)?,
            "cpu_percent" => s.cpu_percent = Some(float(c, x, p)?),
            "cpu_period" => s.cpu_period = integer(c, x, p)?,
            "cpu_quota" => s.cpu_quota = integer(c, x, p)?,
            "cpu_rt_period" => s.cpu_rt_period = integer(c, x, p)?,
            "cpu_rt_runtime" => s.cpu_rt_runtime = integer(c, x, p)?,
            "cpus" => s.cpus = Some(float(c, x, p)?),
            "cpuset" => s.cpuset = string(c, x, p)?,
            "cpu_shares" => s.cpu_shares = integer(c, x, p)?,
            "command" => s.command = command(c, x, p)?,
            "entrypoint" => s.entrypoint = command(c, x, p)?,
            "configs" => s.configs = file_refs(c, x, p, false)?,
            "secrets" => s.secrets = file_refs(c, x, p, true)?,
            "container_name" => s.container_name = string(c, x, p)?,
            "credential_spec" => s.credential_spec = Some(x.clone()),
            "depends_on" => s.depends_on = depends_on(c, x, p)?,
            "deploy" => s.deploy = Some(deploy(c, x, p)?),
            "device_cgroup_rules" => s.device_cgroup_rules = list(c, x, p)?,
            "devices" => s.devices = devices(c, x, p)?,
            // compose-go's OmitEmpty drops empty dns entries before anything else.
            "dns" => {
                s.dns = string_or_list(c, x, p)?;
                s.dns.retain(|d| !d.is_empty());
            }
            "dns_opt" => s.dns_opt = list(c, x, p)?,
            "dns_search" => s.dns_search = string_or_list(c, x, p)?,
            "domainname" => s.domainname = string(c, x, p)?,
            "provider" => s.provider = Some(x.clone()),
            "environment" => s.environment = list_or_dict(c, x, p, '=')?,
            "env_file" => s.env_file = env_files(c, x, p)?,
            "expose" => s.expose = list(c, x, p)?,
            "extends" => s.extends = Some(extends(c, x, p)?),
            "external_links" => s.external_links = list(c, x, p)?,
            "extra_hosts" => s.extra_hosts = extra_hosts(c, x, p)?,
            "group_add" => s.group_add = list(c, x, p)?,
            "gpus" => s.gpus = Some(x.clone()),
            "hostname" => s.hostname = string(c, x, p)?,
            "healthcheck" => s.healthcheck = Some(healthcheck(c, x, p)?),
            "image" => s.image = string(c, x, p)?,
            "init" => s.init = Some(boolean(c, x, p)?),
            "ipc" => s.ipc = string(c, x, p)?,
            "isolation" => s.isolation = string(c, x, p)?,
            "labels" => s.labels = mapping(c, x, p)?,
            "label_file" => {
                s.label_file = string_or_list(c, x, p)?.iter().map(|f| c.path(f)).collect()
            }
            "links" => s.links = list(c, x, p)?,
            "logging" => s.logging = Some(logging(c, x, p)?),
            "mem_limit" => s.mem_limit = Some(bytes(c, x, p)?),
            "mem_reservation" => s.mem_reservation = Some(bytes(c, x, p)?),
            "memswap_limit" => s.memswap_limit = Some(bytes(c, x, p)?),
            "mem_swappiness" => s.mem_swappiness = Some(bytes(c, x, p)?),
            "mac_address" => s.mac_address = string(c, x, p)?,
            "models" => s.models = Some(x.clone()),
            "network_mode" => s.network_mode = string(c, x, p)?,
            "networks" => s.networks = service_networks(c, x, p)?,
            "oom_kill_disable" => s.oom_kill_disable = boolean(c, x, p)?,
            "oom_score_adj" => s.oom_score_adj = integer(c, x, p)?,
            "pid" => s.pid = string(c, x, p)?,
            "pids_limit" => s.pids_limit = integer(c, x, p)?,
            "platform" => s.platform = string(c, x, p)?,
            "ports" => s.ports = ports(c, x, p)?,
            "privileged" => s.privileged = boolean(c, x, p)?,
            "profiles" => s.profiles = list(c, x, p)?,
            // `if_not_present` becomes `missing` in the loader's normalisation step.
            "pull_policy" => s.pull_policy = string(c, x, p)?,
            "read_only" => s.read_only = boolean(c, x, p)?,
            "restart" => s.restart = string(c, x, p)?,
            "runtime" => s.runtime = string(c, x, p)?,
            "scale" => s.scale = Some(integer(c, x, p)?),
            "security_opt" => s.security_opt = list(c, x, p)?,
            "shm_size" => s.shm_size = Some(bytes(c, x, p)?),
            "stdin_open" => s.stdin_open = boolean(c, x, p)?,
            "stop_grace_period" => s.stop_grace_period = Some(duration(c, x, p)?),
            "stop_signal" => s.stop_signal = string(c, x, p)?,
            "storage_opt" => s.storage_opt = Some(x.clone()),
            "sysctls" => s.sysctls = mapping(c, x, p)?,
            "tmpfs" => s.tmpfs = string_or_list(c, x, p)?,
            "tty" => s.tty = boolean(c, x, p)?,
            "ulimits" => s.ulimits = ulimits(c, x, p)?,
            "use_api_socket" => s.use_api_socket = boolean(c, x, p)?,
            "user" => s.user = scalar(c, x, p)?,
            "userns_mode" => s.userns_mode = string(c, x, p)?,
            "uts" => s.uts = string(c, x, p)?,
            "volumes" => s.volumes = service_volumes(c, x, p)?,
            "volumes_from" => s.volumes_from = list(c, x, p)?,
            "working_dir" => s.working_dir = string(c, x, p)?,
            "post_start" => s.post_start = hooks(c, x, p)?,
            "pre_stop" => s.pre_stop = hooks(c, x, p)?,
            _ => {}
        }
    }
    Ok(s)
}

fn is_remote_context(s: &str) -> bool {
    s.contains("://") || s.starts_with("git@") || s.starts_with("github.com/")
}

fn build(c: &Ctx, v: &Value, path: &str) -> Result<Build> {
    let mut b = Build::default();
    if let Value::String(s) = v {
        b.context = if is_remote_context(s) {
            s.clone()
        } else {
            c.path(s)
        };
        return Ok(b);
    }
    let m = map(c, v, path)?;
    b.extensions = check_keys(
        c,
        m,
        path,
        &[
            "context",
            "dockerfile",
            "dockerfile_inline",
            "entitlements",
            "args",
            "ssh",
            "labels",
            "cache_from",
            "cache_to",
            "no_cache",
            "additional_contexts",
            "network",
            "provenance",
            "sbom",
            "pull",
            "target",
            "shm_size",
            "extra_hosts",
            "isolation",
            "privileged",
            "secrets",
            "tags",
            "ulimits",
            "platforms",
        ],
    )?;
    for (k, x) in m {
        let k = key_str(k);
        let p = join(path, &k);
        let p = p.as_str();
        match k.as_str() {
            "context" => {
                let s = string(c, x, p)?;
                b.context = if is_remote_context(&s) { s } else { c.path(&s) };
            }
            "dockerfile" => b.dockerfile = string(c, x, p)?,
            "dockerfile_inline" => b.dockerfile_inline = string(c, x, p)?,
            "entitlements" => b.entitlements = list(c, x, p)?,
            "args" => b.args = list_or_dict(c, x, p, '=')?,
            "ssh" => b.ssh = Some(x.clone()),
            "labels" => b.labels = mapping(c, x, p)?,
            "cache_from" => b.cache_from = list(c, x, p)?,
            "cache_to" => b.cache_to = list(c, x, p)?,
            "no_cache" => b.no_cache = boolean(c, x, p)?,
            "additional_contexts" => b.additional_contexts = mapping(c, x, p)?,
            "network" => b.network = string(c, x, p)?,
            "provenance" => b.provenance = scalar(c, x, p)?,
            "sbom" => b.sbom = scalar(c, x, p)?,
            "pull" => b.pull = boolean(c, x, p)?,
            "target" => b.target = string(c, x, p)?,
            "shm_size" => b.shm_size = Some(bytes(c, x, p)?),
            "extra_hosts" => b.extra_hosts = extra_hosts(c, x, p)?,
            "isolation" => b.isolation = string(c, x, p)?,
            "privileged" => b.privileged = boolean(c, x, p)?,
            "secrets" => b.secrets = file_refs(c, x, p, false)?,
            "tags" => b.tags = list(c, x, p)?,
            "ulimits" => b.ulimits = ulimits(c, x, p)?,
            "platforms" => b.platforms = list(c, x, p)?,
            _ => {}
        }
    }
    if b.context.is_empty() {
        b.context = c.path(".");
    }
    Ok(b)
}

/// `post_start`/`pre_stop`: a list of hooks, each normalised as compose-go's ServiceHook
/// (command split into a list, environment a map).
fn hooks(c: &Ctx, v: &Value, path: &str) -> Result<Vec<Hook>> {
    let Value::Sequence(items) = v else {
        return Err(c.must(path, "array"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, it)| hook(c, it, &join(path, &i.to_string())))
        .collect()
}

fn hook(c: &Ctx, v: &Value, path: &str) -> Result<Hook> {
    let m = map(c, v, path)?;
    let mut h = Hook {
        extensions: check_keys(
            c,
            m,
            path,
            &[
                "command",
                "user",
                "privileged",
                "working_dir",
                "environment",
            ],
        )?,
        ..Default::default()
    };
    for (k, x) in m {
        let k = key_str(k);
        let kp = join(path, &k);
        match k.as_str() {
            "command" => h.command = command(c, x, &kp)?.unwrap_or_default(),
            "user" => h.user = string(c, x, &kp)?,
            "privileged" => h.privileged = boolean(c, x, &kp)?,
            "working_dir" => h.working_dir = string(c, x, &kp)?,
            "environment" => h.environment = list_or_dict(c, x, &kp, '=')?,
            _ => {}
        }
    }
    if h.command.is_empty() {
        return Err(c.err(path, "missing property 'command'"));
    }
    Ok(h)
}

fn develop(c: &Ctx, v: &Value, path: &str) -> Result<Develop> {
    let m = map(c, v, path)?;
    let mut d = Develop {
        extensions: check_keys(c, m, path, &["watch"])?,
        ..Default::default()
    };
    if let Some(w) = m.get("watch") {
        let p = join(path, "watch");
        let Value::Sequence(items) = w else {
            return Err(c.must(&p, "array"));
        };
        for (i, it) in items.iter().enumerate() {
            let ip = join(&p, &i.to_string());
            let im = map(c, it, &ip)?;
            let mut w = Watch {
                extensions: check_keys(
                    c,
                    im,
                    &ip,
                    &[
                        "path",
                        "action",
                        "target",
                        "exec",
                        "include",
                        "ignore",
                        "initial_sync",
                    ],
                )?,
                ..Default::default()
            };
            for (k, x) in im {
                let k = key_str(k);
                let kp = join(&ip, &k);
                match k.as_str() {
                    "path" => w.path = c.path(&string(c, x, &kp)?),
                    "action" => {
                        w.action = string(c, x, &kp)?;
                        if !matches!(
                            w.action.as_str(),
                            "rebuild" | "sync" | "restart" | "sync+restart" | "sync+exec"
                        ) {
                            return Err(c.err(
                                &kp,
                                "must be one of the following: \"rebuild\", \"sync\", \"restart\", \"sync+restart\", \"sync+exec\"",
                            ));
                        }
                    }
                    "target" => w.target = string(c, x, &kp)?,
                    "exec" => w.exec = Some(hook(c, x, &kp)?),
                    "include" => w.include = string_or_list(c, x, &kp)?,
                    "ignore" => w.ignore = string_or_list(c, x, &kp)?,
                    "initial_sync" => w.initial_sync = boolean(c, x, &kp)?,
                    _ => {}
                }
            }
            if w.path.is_empty() || w.action.is_empty() {
                return Err(c.err(&ip, "missing properties 'path', 'action'"));
            }
            d.watch.push(w);
        }
    }
    Ok(d)
}

fn file_refs(c: &Ctx, v: &Value, path: &str, secret: bool) -> Result<Vec<FileRef>> {
    let Value::Sequence(items) = v else {
        return Err(c.must(path, "array"));
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let ip = join(path, &i.to_string());
        let mut r = FileRef::default();
        match it {
            Value::String(s) => r.source = s.clone(),
            other => {
                let m = map(c, other, &ip)?;
                r.extensions = check_keys(c, m, &ip, &["source", "target", "uid", "gid", "mode"])?;
                for (k, x) in m {
                    let k = key_str(k);
                    let kp = join(&ip, &k);
                    match k.as_str() {
                        "source" => r.source = string(c, x, &kp)?,
                        "target" => r.target = string(c, x, &kp)?,
                        "uid" => r.uid = scalar(c, x, &kp)?,
                        "gid" => r.gid = scalar(c, x, &kp)?,
                        "mode" => {
                            r.mode = Some(FileMode(match x {
                                Value::Number(n) => {
                                    n.as_u64().ok_or_else(|| c.must(&kp, "number"))? as u32
                                }
                                Value::String(s) => u32::from_str_radix(s, 8)
                                    .map_err(|_| c.err(&kp, &format!("invalid mode {s:?}")))?,
                                _ => return Err(c.must(&kp, "number or string")),
                            }))
                        }
                        _ => {}
                    }
                }
            }
        }
        if secret && r.target.is_empty() {
            r.target = format!("/run/secrets/{}", r.source);
        }
        out.push(r);
    }
    Ok(out)
}

fn depends_on(c: &Ctx, v: &Value, path: &str) -> Result<BTreeMap<String, Dependency>> {
    let mut out = BTreeMap::new();
    match v {
        Value::Sequence(items) => {
            for (i, it) in items.iter().enumerate() {
                let n = string(c, it, &join(path, &i.to_string()))?;
                out.insert(
                    n,
                    Dependency {
                        condition: "service_started".into(),
                        restart: false,
                        extensions: Extensions::new(),
                        required: true,
                    },
                );
            }
        }
        Value::Mapping(m) => {
            for (k, x) in m {
                let name = key_str(k);
                let p = join(path, &name);
                let dm = match x {
                    Value::Null => YMap::new(),
                    other => map(c, other, &p)?.clone(),
                };
                let mut d = Dependency {
                    condition: "service_started".into(),
                    restart: false,
                    extensions: check_keys(c, &dm, &p, &["condition", "restart", "required"])?,
                    required: true,
                };
                for (dk, dx) in &dm {
                    let dk = key_str(dk);
                    let dp = join(&p, &dk);
                    match dk.as_str() {
                        "condition" => {
                            d.condition = string(c, dx, &dp)?;
                            if !matches!(
                                d.condition.as_str(),
                                "service_started"
                                    | "service_healthy"
                                    | "service_completed_successfully"
                            ) {
                                return Err(c.err(&dp, "value must be one of 'service_started', 'service_healthy', 'service_completed_successfully'"));
                            }
                        }
                        "restart" => d.restart = boolean(c, dx, &dp)?,
                        "required" => d.required = boolean(c, dx, &dp)?,
                        _ => {}
                    }
                }
                out.insert(name, d);
            }
        }
        _ => return Err(c.must(path, "array")),
    }
    Ok(out)
}

fn deploy(c: &Ctx, v: &Value, path: &str) -> Result<Deploy> {
    let m = map(c, v, path)?;
    let mut d = Deploy {
        extensions: check_keys(
            c,
            m,
            path,
            &[
                "mode",
                "replicas",
                "labels",
                "update_config",
                "rollback_config",
                "resources",
                "restart_policy",
                "placement",
                "endpoint_mode",
            ],
        )?,
        ..Default::default()
    };
    for (k, x) in m {
        let k = key_str(k);
        let p = join(path, &k);
        let p = p.as_str();
        match k.as_str() {
            "mode" => d.mode = string(c, x, p)?,
            "replicas" => d.replicas = Some(integer(c, x, p)?),
            "labels" => d.labels = mapping(c, x, p)?,
            "update_config" => d.update_config = Some(update_config(c, x, p)?),
            "rollback_config" => d.rollback_config = Some(update_config(c, x, p)?),
            "resources" => {
                let rm = map(c, x, p)?;
                d.resources.extensions = check_keys(c, rm, p, &["limits", "reservations"])?;
                if let Some(l) = rm.get("limits") {
                    d.resources.limits = Some(resource(c, l, &join(p, "limits"))?);
                }
                if let Some(l) = rm.get("reservations") {
                    d.resources.reservations = Some(resource(c, l, &join(p, "reservations"))?);
                }
            }
            "restart_policy" => {
                let rm = map(c, x, p)?;
                let mut r = RestartPolicy {
                    extensions: check_keys(
                        c,
                        rm,
                        p,
                        &["condition", "delay", "max_attempts", "window"],
                    )?,
                    ..Default::default()
                };
                for (rk, rx) in rm {
                    let rk = key_str(rk);
                    let rp = join(p, &rk);
                    match rk.as_str() {
                        "condition" => r.condition = string(c, rx, &rp)?,
                        "delay" => r.delay = Some(duration(c, rx, &rp)?),
                        "max_attempts" => r.max_attempts = Some(integer(c, rx, &rp)? as u64),
                        "window" => r.window = Some(duration(c, rx, &rp)?),
                        _ => {}
                    }
                }
                d.restart_policy = Some(r);
            }
            "placement" => {
                let pm = map(c, x, p)?;
                d.placement.extensions = check_keys(
                    c,
                    pm,
                    p,
                    &["constraints", "preferences", "max_replicas_per_node"],
                )?;
                for (pk, px) in pm {
                    let pk = key_str(pk);
                    let pp = join(p, &pk);
                    match pk.as_str() {
                        "constraints" => d.placement.constraints = list(c, px, &pp)?,
                        "preferences" => {
                            let Value::Sequence(items) = px else {
                                return Err(c.must(&pp, "array"));
                            };
                            for (i, it) in items.iter().enumerate() {
                                d.placement.preferences.push(mapping(
                                    c,
                                    it,
                                    &join(&pp, &i.to_string()),
                                )?);
                            }
                        }
                        "max_replicas_per_node" => {
                            d.placement.max_replicas = Some(integer(c, px, &pp)? as u64)
                        }
                        _ => {}
                    }
                }
            }
            "endpoint_mode" => d.endpoint_mode = string(c, x, p)?,
            _ => {}
        }
    }
    Ok(d)
}

fn update_config(c: &Ctx, v: &Value, path: &str) -> Result<UpdateConfig> {
    let m = map(c, v, path)?;
    let mut u = UpdateConfig {
        extensions: check_keys(
            c,
            m,
            path,
            &[
                "parallelism",
                "delay",
                "failure_action",
                "monitor",
                "max_failure_ratio",
                "order",
            ],
        )?,
        ..Default::default()
    };
    for (k, x) in m {
        let k = key_str(k);
        let p = join(path, &k);
        match k.as_str() {
            "parallelism" => u.parallelism = Some(integer(c, x, &p)? as u64),
            "delay" => u.delay = Some(duration(c, x, &p)?),
            "failure_action" => u.failure_action = string(c, x, &p)?,
            "monitor" => u.monitor = Some(duration(c, x, &p)?),
            "max_failure_ratio" => u.max_failure_ratio = Some(float(c, x, &p)?),
            "order" => u.order = string(c, x, &p)?,
            _ => {}
        }
    }
    Ok(u)
}

fn resource(c: &Ctx, v: &Value, path: &str) -> Result<Resource> {
    let m = map(c, v, path)?;
    let mut r = Resource {
        extensions: check_keys(
            c,
            m,
            path,
            &["cpus", "memory", "pids", "devices", "generic_resources"],
        )?,
        ..Default::default()
    };
    for (k, x) in m {
        let k = key_str(k);
        let p = join(path, &k);
        match k.as_str() {
            "cpus" => r.cpus = Some(float(c, x, &p)?),
            "memory" => r.memory = Some(bytes(c, x, &p)?),
            "pids" => r.pids = integer(c, x, &p)?,
            "devices" => r.devices = Some(x.clone()),
            "generic_resources" => r.generic_resources = Some(x.clone()),
            _ => {}
        }
    }
    Ok(r)
}

fn devices(c: &Ctx, v: &Value, path: &str) -> Result<Vec<Device>> {
    let Value::Sequence(items) = v else {
        return Err(c.must(path, "array"));
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let ip = join(path, &i.to_string());
        let mut d = Device::default();
        match it {
            Value::String(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                match parts.as_slice() {
                    [a] => {
                        (d.source, d.target, d.permissions) =
                            (a.to_string(), a.to_string(), "rwm".into())
                    }
                    [a, b] => {
                        (d.source, d.target, d.permissions) =
                            (a.to_string(), b.to_string(), "rwm".into())
                    }
                    [a, b, p] => {
                        (d.source, d.target, d.permissions) =
                            (a.to_string(), b.to_string(), p.to_string())
                    }
                    _ => {
                        return Err(c.err(
                            &ip,
                            &format!("confusing device mapping, please use long syntax: {s}"),
                        ))
                    }
                }
            }
            other => {
                let m = map(c, other, &ip)?;
                d.extensions = check_keys(c, m, &ip, &["source", "target", "permissions"])?;
                for (k, x) in m {
                    let k = key_str(k);
                    let kp = join(&ip, &k);
                    match k.as_str() {
                        "source" => d.source = string(c, x, &kp)?,
                        "target" => d.target = string(c, x, &kp)?,
                        "permissions" => d.permissions = string(c, x, &kp)?,
                        _ => {}
                    }
                }
            }
        }
        out.push(d);
    }
    Ok(out)
}

fn env_files(c: &Ctx, v: &Value, path: &str) -> Result<Vec<EnvFile>> {
    let one = |x: &Value, p: &str| -> Result<EnvFile> {
        match x {
            Value::String(s) => Ok(EnvFile {
                path: c.path(s),
                required: true,
                format: String::new(),
            }),
            other => {
                let m = map(c, other, p)?;
                check_keys(c, m, p, &["path", "required", "format"])?;
                let mut e = EnvFile {
                    required: true,
                    ..Default::default()
                };
                for (k, x) in m {
                    let k = key_str(k);
                    let kp = join(p, &k);
                    match k.as_str() {
                        "path" => e.path = c.path(&string(c, x, &kp)?),
                        "required" => e.required = boolean(c, x, &kp)?,
                        "format" => e.format = string(c, x, &kp)?,
                        _ => {}
                    }
                }
                Ok(e)
            }
        }
    };
    match v {
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, x)| one(x, &join(path, &i.to_string())))
            .collect(),
        Value::String(_) => Ok(vec![one(v, path)?]),
        _ => Err(c.must(path, "string or array")),
    }
}

fn extends(c: &Ctx, v: &Value, path: &str) -> Result<Extends> {
    match v {
        Value::String(s) => Ok(Extends {
            file: String::new(),
            service: s.clone(),
        }),
        other => {
            let m = map(c, other, path)?;
            check_keys(c, m, path, &["file", "service"])?;
            let mut e = Extends::default();
            for (k, x) in m {
                let k = key_str(k);
                let kp = join(path, &k);
                match k.as_str() {
                    "file" => e.file = string(c, x, &kp)?,
                    "service" => e.service = string(c, x, &kp)?,
                    _ => {}
                }
            }
            if e.service.is_empty() {
                return Err(c.err(path, "missing property 'service'"));
            }
            Ok(e)
        }
    }
}

fn extra_hosts(c: &Ctx, v: &Value, path: &str) -> Result<Vec<String>> {
    match v {
        Value::Mapping(m) => {
            let mut out = Vec::new();
            let mut keys: Vec<(String, &Value)> = m.iter().map(|(k, x)| (key_str(k), x)).collect();
            keys.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, x) in keys {
                match x {
                    Value::Sequence(ips) => {
                        for ip in ips {
                            out.push(format!("{k}={}", scalar(c, ip, &join(path, &k))?));
                        }
                    }
                    other => out.push(format!("{k}={}", scalar(c, other, &join(path, &k))?)),
                }
            }
            Ok(out)
        }
        Value::Sequence(_) => Ok(list(c, v, path)?
            .into_iter()
            .map(|h| {
                if h.contains('=') {
                    h
                } else {
                    match h.split_once(':') {
                        Some((n, ip)) => format!("{n}={ip}"),
                        None => h,
                    }
                }
            })
            .collect()),
        _ => Err(c.must(path, "array")),
    }
}

fn healthcheck(c: &Ctx, v: &Value, path: &str) -> Result<Healthcheck> {
    let m = map(c, v, path)?;
    let mut h = Healthcheck {
        extensions: check_keys(
            c,
            m,
            path,
            &[
                "test",
                "timeout",
                "interval",
                "retries",
                "start_period",
                "start_interval",
                "disable",
            ],
        )?,
        ..Default::default()
    };
    for (k, x) in m {
        let k = key_str(k);
        let p = join(path, &k);
        match k.as_str() {
            "test" => {
                h.test = match x {
                    Value::String(s) => vec!["CMD-SHELL".into(), s.clone()],
                    _ => list(c, x, &p)?,
                }
            }
            "timeout" => h.timeout = Some(duration(c, x, &p)?),
            "interval" => h.interval = Some(duration(c, x, &p)?),
            "retries" => h.retries = Some(integer(c, x, &p)? as u64),
            "start_period" => h.start_period = Some(duration(c, x, &p)?),
            "start_interval" => h.start_interval = Some(duration(c, x, &p)?),
            "disable" => h.disable = boolean(c, x, &p)?,
            _ => {}
        }
    }
    Ok(h)
}

fn logging(c: &Ctx, v: &Value, path: &str) -> Result<Logging> {
    let m = map(c, v, path)?;
    let mut l = Logging {
        extensions: check_keys(c, m, path, &["driver", "options"])?,
        ..Default::default()
    };
    for (k, x) in m {
        let k = key_str(k);
        let p = join(path, &k);
        match k.as_str() {
            "driver" => l.driver = string(c, x, &p)?,
            "options" => l.options = mapping(c, x, &p)?,
            _ => {}
        }
    }
    Ok(l)
}

fn service_networks(
    c: &Ctx,
    v: &Value,
    path: &str,
) -> Result<BTreeMap<String, Option<ServiceNetwork>>> {
    let mut out = BTreeMap::new();
    match v {
        Value::Sequence(items) => {
            for (i, it) in items.iter().enumerate() {
                out.insert(string(c, it, &join(path, &i.to_string()))?, None);
            }
        }
        Value::Mapping(m) => {
            for (k, x) in m {
                let name = key_str(k);
                let p = join(path, &name);
                if x.is_null() {
                    out.insert(name, None);
                    continue;
                }
                let nm = map(c, x, &p)?;
                let mut n = ServiceNetwork {
                    extensions: check_keys(
                        c,
                        nm,
                        &p,
                        &[
                            "aliases",
                            "driver_opts",
                            "gw_priority",
                            "interface_name",
                            "ipv4_address",
                            "ipv6_address",
                            "link_local_ips",
                            "mac_address",
                            "priority",
                        ],
                    )?,
                    ..Default::default()
                };
                for (nk, nx) in nm {
                    let nk = key_str(nk);
                    let np = join(&p, &nk);
                    match nk.as_str() {
                        "aliases" => n.aliases = list(c, nx, &np)?,
                        "driver_opts" => n.driver_opts = mapping(c, nx, &np)?,
                        "gw_priority" => n.gw_priority = integer(c, nx, &np)?,
                        "interface_name" => n.interface_name = string(c, nx, &np)?,
                        "ipv4_address" => n.ipv4_address = string(c, nx, &np)?,
                        "ipv6_address" => n.ipv6_address = string(c, nx, &np)?,
                        "link_local_ips" => n.link_local_ips = list(c, nx, &np)?,
                        "mac_address" => n.mac_address = string(c, nx, &np)?,
                        "priority" => n.priority = integer(c, nx, &np)?,
                        _ => {}
                    }
                }
                out.insert(name, Some(n));
            }
        }
        _ => return Err(c.must(path, "array")),
    }
    Ok(out)
}

/// Parses one short-syntax port ("[ip:][host[-range]:]container[-range][/proto]").
pub fn parse_port(spec: &str) -> std::result::Result<Vec<Port>, String> {
    let (body, proto) = match spec.rsplit_once('/') {
        Some((b, p)) => (b, p.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    // Split host IP (possibly [v6]) from the rest.
    let (ip, rest) = if let Some(r) = body.strip_prefix('[') {
        let (ip, after) = r
            .split_once(']')
            .ok_or_else(|| format!("invalid IP address: {body}"))?;
        (
            ip.to_string(),
            after.strip_prefix(':').unwrap_or(after).to_string(),
        )
    } else {
        let parts: Vec<&str> = body.split(':').collect();
        match parts.len() {
            1 | 2 => (String::new(), body.to_string()),
            3 => (parts[0].to_string(), format!("{}:{}", parts[1], parts[2])),
            _ => {
                // A bare IPv6 host address: the last two fields are the ports.
                let n = parts.len();
                (
                    parts[..n - 2].join(":"),
                    format!("{}:{}", parts[n - 2], parts[n - 1]),
                )
            }
        }
    };
    let (host, container) = match rest.rsplit_once(':') {
        Some((h, c)) => (h.to_string(), c.to_string()),
        None => (String::new(), rest.clone()),
    };
    let range = |s: &str| -> std::result::Result<(u32, u32), String> {
        let (a, b) = match s.split_once('-') {
            Some((a, b)) => (a, b),
            None => (s, s),
        };
        let a: u32 = a
            .parse()
            .map_err(|_| format!("invalid containerPort: {s}"))?;
        let b: u32 = b
            .parse()
            .map_err(|_| format!("invalid containerPort: {s}"))?;
        if b < a || b > 65535 {
            return Err(format!("invalid port range: {s}"));
        }
        Ok((a, b))
    };
    if container.is_empty() {
        return Err(format!("no port specified: {spec}<empty>"));
    }
    let (c0, c1) = range(&container)?;
    let mut out = Vec::new();
    if host.is_empty() {
        for t in c0..=c1 {
            out.push(Port {
                mode: "ingress".into(),
                host_ip: ip.clone(),
                target: t,
                protocol: proto.clone(),
                ..Default::default()
            });
        }
        return Ok(out);
    }
    let (h0, h1) = range(&host).map_err(|_| format!("invalid hostPort: {host}"))?;
    if c1 - c0 == h1 - h0 {
        for i in 0..=(c1 - c0) {
            out.push(Port {
                mode: "ingress".into(),
                host_ip: ip.clone(),
                target: c0 + i,
                published: (h0 + i).to_string(),
                protocol: proto.clone(),
                ..Default::default()
            });
        }
    } else if c0 == c1 {
        out.push(Port {
            mode: "ingress".into(),
            host_ip: ip.clone(),
            target: c0,
            published: host.clone(),
            protocol: proto.clone(),
            ..Default::default()
        });
    } else {
        return Err(format!(
            "invalid ranges specified for container and host Ports: {container} and {host}"
        ));
    }
    Ok(out)
}

fn ports(c: &Ctx, v: &Value, path: &str) -> Result<Vec<Port>> {
    let Value::Sequence(items) = v else {
        return Err(c.must(path, "array"));
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let ip = join(path, &i.to_string());
        match it {
            Value::String(_) | Value::Number(_) => {
                let s = scalar(c, it, &ip)?;
                out.extend(parse_port(&s).map_err(|e| Error::Invalid(e.to_string()))?);
            }
            other => {
                let m = map(c, other, &ip)?;
                let mut p = Port {
                    extensions: check_keys(
                        c,
                        m,
                        &ip,
                        &[
                            "name",
                            "mode",
                            "host_ip",
                            "target",
                            "published",
                            "protocol",
                            "app_protocol",
                        ],
                    )?,
                    ..Default::default()
                };
                for (k, x) in m {
                    let k = key_str(k);
                    let kp = join(&ip, &k);
                    match k.as_str() {
                        "name" => p.name = string(c, x, &kp)?,
                        "mode" => p.mode = string(c, x, &kp)?,
                        "host_ip" => p.host_ip = string(c, x, &kp)?,
                        "target" => p.target = integer(c, x, &kp)? as u32,
                        "published" => p.published = scalar(c, x, &kp)?,
                        "protocol" => p.protocol = string(c, x, &kp)?,
                        "app_protocol" => p.app_protocol = string(c, x, &kp)?,
                        _ => {}
                    }
                }
                if p.mode.is_empty() {
                    p.mode = "ingress".into();
                }
                if p.protocol.is_empty() {
                    p.protocol = "tcp".into();
                }
                out.push(p);
            }
        }
    }
    Ok(out)
}

fn is_path_like(s: &str) -> bool {
    s.starts_with('.') || s.starts_with('/') || s.starts_with('~') || s.contains('/')
}

/// Parses one short-syntax volume ("[src:]dst[:opts]").
pub fn parse_volume(c: &Ctx, spec: &str, path: &str) -> Result<ServiceVolume> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (src, dst, opts) = match parts.as_slice() {
        [d] => ("", *d, ""),
        [s, d] => (*s, *d, ""),
        [s, d, o] => (*s, *d, *o),
        _ => return Err(c.err(path, &format!("invalid spec: {spec}: too many colons"))),
    };
    if dst.is_empty() {
        return Err(c.err(
            path,
            &format!("invalid spec: {spec}: empty section between colons"),
        ));
    }
    let mut v = ServiceVolume {
        target: dst.to_string(),
        ..Default::default()
    };
    if src.is_empty() {
        v.kind = "volume".into();
        v.volume = Some(VolumeVolume::default());
    } else if is_path_like(src) {
        v.kind = "bind".into();
        v.source = c.path(src);
        v.bind = Some(VolumeBind {
            create_host_path: true,
            ..Default::default()
        });
    } else {
        v.kind = "volume".into();
        v.source = src.to_string();
        v.volume = Some(VolumeVolume::default());
    }
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => v.read_only = true,
            "rw" => v.read_only = false,
            "nocopy" => {
                if let Some(vv) = v.volume.as_mut() {
                    vv.nocopy = true;
                }
            }
            "z" | "Z" => {
                if let Some(b) = v.bind.as_mut() {
                    b.selinux = o.to_string();
                }
            }
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => {
                if let Some(b) = v.bind.as_mut() {
                    b.propagation = o.to_string();
                }
            }
            "consistent" | "cached" | "delegated" => v.consistency = o.to_string(),
            other => {
                return Err(c.err(
                    path,
                    &format!("invalid spec: {spec}: unknown option {other:?}"),
                ))
            }
        }
    }
    Ok(v)
}

fn service_volumes(c: &Ctx, v: &Value, path: &str) -> Result<Vec<ServiceVolume>> {
    let Value::Sequence(items) = v else {
        return Err(c.must(path, "array"));
    };
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let ip = join(path, &i.to_string());
        if let Value::String(s) = it {
            out.push(parse_volume(c, s, &ip)?);
            continue;
        }
        let m = map(c, it, &ip)?;
        let mut sv = ServiceVolume {
            extensions: check_keys(
                c,
                m,
                &ip,
                &[
                    "type",
                    "source",
                    "target",
                    "read_only",
                    "consistency",
                    "bind",
                    "volume",
                    "tmpfs",
                    "image",
                ],
            )?,
            ..Default::default()
        };
        for (k, x) in m {
            let k = key_str(k);
            let kp = join(&ip, &k);
            match k.as_str() {
                "type" => sv.kind = string(c, x, &kp)?,
                "source" => sv.source = string(c, x, &kp)?,
                "target" => sv.target = string(c, x, &kp)?,
                "read_only" => sv.read_only = boolean(c, x, &kp)?,
                "consistency" => sv.consistency = string(c, x, &kp)?,
                "bind" => {
                    let bm = map(c, x, &kp)?;
                    let mut b = VolumeBind {
                        extensions: check_keys(
                            c,
                            bm,
                            &kp,
                            &["propagation", "create_host_path", "selinux", "recursive"],
                        )?,
                        ..Default::default()
                    };
                    for (bk, bx) in bm {
                        let bk = key_str(bk);
                        let bp = join(&kp, &bk);
                        match bk.as_str() {
                            "propagation" => b.propagation = string(c, bx, &bp)?,
                            "create_host_path" => b.create_host_path = boolean(c, bx, &bp)?,
                            "selinux" => b.selinux = string(c, bx, &bp)?,
                            "recursive" => b.recursive = string(c, bx, &bp)?,
                            _ => {}
                        }
                    }
                    sv.bind = Some(b);
                }
                "volume" => {
                    let vm = map(c, x, &kp)?;
                    let mut vv = VolumeVolume {
                        extensions: check_keys(c, vm, &kp, &["nocopy", "subpath", "labels"])?,
                        ..Default::default()
                    };
                    for (vk, vx) in vm {
                        let vk = key_str(vk);
                        let vp = join(&kp, &vk);
                        match vk.as_str() {
                            "nocopy" => vv.nocopy = boolean(c, vx, &vp)?,
                            "subpath" => vv.subpath = string(c, vx, &vp)?,
                            "labels" => vv.labels = mapping(c, vx, &vp)?,
                            _ => {}
                        }
                    }
                    sv.volume = Some(vv);
                }
                "tmpfs" => {
                    let tm = map(c, x, &kp)?;
                    let mut t = VolumeTmpfs {
                        extensions: check_keys(c, tm, &kp, &["size", "mode"])?,
                        ..Default::default()
                    };
                    for (tk, tx) in tm {
                        let tk = key_str(tk);
                        let tp = join(&kp, &tk);
                        match tk.as_str() {
                            "size" => t.size = Some(bytes(c, tx, &tp)?),
                            "mode" => t.mode = integer(c, tx, &tp)? as u32,
                            _ => {}
                        }
                    }
                    sv.tmpfs = Some(t);
                }
                "image" => sv.image = Some(x.clone()),
                _ => {}
            }
        }
        if sv.kind.is_empty() {
            return Err(c.err(&ip, "missing property 'type'"));
        }
        if !matches!(
            sv.kind.as_str(),
            "bind" | "volume" | "tmpfs" | "npipe" | "cluster" | "image"
        ) {
            return Err(c.err(&join(&ip, "type"), "must be one of the following: \"bind\", \"volume\", \"tmpfs\", \"cluster\", \"npipe\", \"image\""));
        }
        if sv.kind == "bind" {
            if sv.source.is_empty() {
                return Err(Error::Invalid(
                    "invalid mount config for type \"bind\": field Source must not be empty"
                        .to_string(),
                ));
            }
            sv.source = c.path(&sv.source);
        }
        out.push(sv);
    }
    Ok(out)
}

fn ulimits(c: &Ctx, v: &Value, path: &str) -> Result<BTreeMap<String, Ulimit>> {
    let m = map(c, v, path)?;
    let mut out = BTreeMap::new();
    for (k, x) in m {
        let k = key_str(k);
        let p = join(path, &k);
        let u = match x {
            Value::Mapping(um) => {
                check_keys(c, um, &p, &["soft", "hard"])?;
                let soft = um
                    .get("soft")
                    .map(|s| integer(c, s, &join(&p, "soft")))
                    .transpose()?;
                let hard = um
                    .get("hard")
                    .map(|s| integer(c, s, &join(&p, "hard")))
                    .transpose()?;
                match (soft, hard) {
                    (Some(soft), Some(hard)) => Ulimit::Pair { soft, hard },
                    _ => return Err(c.err(&p, "missing properties 'soft', 'hard'")),
                }
            }
            other => Ulimit::Single(integer(c, other, &p)?),
        };
        out.insert(k, u);
    }
    Ok(out)
}

fn external(c: &Ctx, v: &Value, path: &str) -> Result<(bool, Option<String>)> {
    match v {
        Value::Mapping(m) => {
            let name = m
                .get("name")
                .map(|n| string(c, n, &join(path, "name")))
                .transpose()?;
            Ok((true, name))
        }
        other => Ok((boolean(c, other, path)?, None)),
    }
}

/// A top-level network.
pub fn network(c: &Ctx, key: &str, v: &Value) -> Result<Network> {
    let path = format!("networks.{key}");
    let mut n = Network::default();
    let m = match v {
        Value::Null => return Ok(n),
        other => map(c, other, &path)?,
    };
    n.extensions = check_keys(
        c,
        m,
        &path,
        &[
            "name",
            "driver",
            "driver_opts",
            "ipam",
            "external",
            "internal",
            "attachable",
            "labels",
            "enable_ipv4",
            "enable_ipv6",
        ],
    )?;
    for (k, x) in m {
        let k = key_str(k);
        let p = join(&path, &k);
        match k.as_str() {
            "name" => n.name = string(c, x, &p)?,
            "driver" => n.driver = string(c, x, &p)?,
            "driver_opts" => n.driver_opts = mapping(c, x, &p)?,
            "ipam" => {
                let im = map(c, x, &p)?;
                n.ipam.extensions = check_keys(c, im, &p, &["driver", "config", "options"])?;
                for (ik, ix) in im {
                    let ik = key_str(ik);
                    let ip = join(&p, &ik);
                    match ik.as_str() {
                        "driver" => n.ipam.driver = string(c, ix, &ip)?,
                        "options" => {
                            n.ipam.extensions.insert("options".into(), ix.clone());
                        }
                        "config" => {
                            let Value::Sequence(items) = ix else {
                                return Err(c.must(&ip, "array"));
                            };
                            for (i, it) in items.iter().enumerate() {
                                let cp = join(&ip, &i.to_string());
                                let cm = map(c, it, &cp)?;
                                let mut pool = IpamPool {
                                    extensions: check_keys(
                                        c,
                                        cm,
                                        &cp,
                                        &["subnet", "gateway", "ip_range", "aux_addresses"],
                                    )?,
                                    ..Default::default()
                                };
                                for (pk, px) in cm {
                                    let pk = key_str(pk);
                                    let pp = join(&cp, &pk);
                                    match pk.as_str() {
                                        "subnet" => pool.subnet = string(c, px, &pp)?,
                                        "gateway" => pool.gateway = string(c, px, &pp)?,
                                        "ip_range" => pool.ip_range = string(c, px, &pp)?,
                                        "aux_addresses" => {
                                            pool.aux_addresses = mapping(c, px, &pp)?
                                        }
                                        _ => {}
                                    }
                                }
                                n.ipam.config.push(pool);
                            }
                        }
                        _ => {}
                    }
                }
            }
            "external" => {
                let (e, name) = external(c, x, &p)?;
                n.external = e;
                if let Some(name) = name {
                    n.name = name;
                }
            }
            "internal" => n.internal = boolean(c, x, &p)?,
            "attachable" => n.attachable = boolean(c, x, &p)?,
            "labels" => n.labels = mapping(c, x, &p)?,
            "enable_ipv4" => n.enable_ipv4 = Some(boolean(c, x, &p)?),
            "enable_ipv6" => n.enable_ipv6 = Some(boolean(c, x, &p)?),
            _ => {}
        }
    }
    Ok(n)
}

/// A top-level volume.
pub fn volume(c: &Ctx, key: &str, v: &Value) -> Result<Volume> {
    let path = format!("volumes.{key}");
    let mut vol = Volume::default();
    let m = match v {
        Value::Null => return Ok(vol),
        other => map(c, other, &path)?,
    };
    vol.extensions = check_keys(
        c,
        m,
        &path,
        &["name", "driver", "driver_opts", "external", "labels"],
    )?;
    for (k, x) in m {
        let k = key_str(k);
        let p = join(&path, &k);
        match k.as_str() {
            "name" => vol.name = string(c, x, &p)?,
            "driver" => vol.driver = string(c, x, &p)?,
            "driver_opts" => vol.driver_opts = mapping(c, x, &p)?,
            "external" => {
                let (e, name) = external(c, x, &p)?;
                vol.external = e;
                if let Some(name) = name {
                    vol.name = name;
                }
            }
            "labels" => vol.labels = mapping(c, x, &p)?,
            _ => {}
        }
    }
    Ok(vol)
}

/// A top-level secret or config (`kind` is "secrets" or "configs").
pub fn file_object(c: &Ctx, kind: &str, key: &str, v: &Value) -> Result<FileObject> {
    let path = format!("{kind}.{key}");
    let m = map(c, v, &path)?;
    let mut o = FileObject {
        extensions: check_keys(
            c,
            m,
            &path,
            &[
                "name",
                "file",
                "environment",
                "content",
                "external",
                "labels",
                "driver",
                "driver_opts",
                "template_driver",
            ],
        )?,
        ..Default::default()
    };
    for (k, x) in m {
        let k = key_str(k);
        let p = join(&path, &k);
        match k.as_str() {
            "name" => o.name = string(c, x, &p)?,
            "file" => o.file = c.path(&string(c, x, &p)?),
            "environment" => o.environment = string(c, x, &p)?,
            "content" if kind == "configs" => o.content = Some(string(c, x, &p)?),
            "content" => return Err(c.unknown(&path, "content")),
            "external" => {
                let (e, name) = external(c, x, &p)?;
                o.external = e;
                if let Some(name) = name {
                    o.name = name;
                }
            }
            "labels" => o.labels = mapping(c, x, &p)?,
            "driver" => o.driver = string(c, x, &p)?,
            "driver_opts" => o.driver_opts = mapping(c, x, &p)?,
            "template_driver" => o.template_driver = string(c, x, &p)?,
            _ => {}
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ports() {
        let p = parse_port("8080-8081:80-81").unwrap();
        assert_eq!((p[0].target, p[0].published.as_str()), (80, "8080"));
        assert_eq!((p[1].target, p[1].published.as_str()), (81, "8081"));
        let p = parse_port("127.0.0.1:53:53/udp").unwrap();
        assert_eq!(
            (p[0].host_ip.as_str(), p[0].protocol.as_str()),
            ("127.0.0.1", "udp")
        );
        let p = parse_port("[::1]:7000:7000").unwrap();
        assert_eq!(p[0].host_ip, "::1");
        let p = parse_port("9000").unwrap();
        assert_eq!((p[0].target, p[0].published.as_str()), (9000, ""));
        assert!(parse_port("x:80").is_err());
    }

    #[test]
    fn shell_words() {
        assert_eq!(
            shell_split(r#"sh -c 'echo "a b"' x\ y"#).unwrap(),
            vec!["sh", "-c", "echo \"a b\"", "x y"]
        );
        assert!(shell_split("'open").is_none());
    }
}
