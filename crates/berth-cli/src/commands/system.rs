//! inspect, version, info.

use std::fmt::Write as _;

use clap::{CommandFactory, Parser};
use serde_json::Value;

use super::{parse, Invocation};
use crate::catalog::Command;
use crate::client::{q, Client, ClientError};
use crate::format::{execute, from_json};
use crate::{CmdResult, Ctx, Failure};

#[derive(Parser)]
struct InspectCmd {
    #[arg(
        short = 'f',
        long,
        help = super::INSPECT_FORMAT_HELP,
        value_name = "string"
    )]
    format: Option<String>,
    #[arg(
        short = 's',
        long,
        help = "Display total file sizes if the type is container"
    )]
    size: bool,
    #[arg(
        long = "type",
        help = "Only inspect objects of the given type",
        value_name = "string"
    )]
    ty: Option<String>,
    args: Vec<String>,
}

/// Go's json encoder escapes <, > and & (dockerd's answers do); keep that byte for byte.
fn go_escape(s: String) -> String {
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The docker CLI's `printSwarmInfo`: the swarm's details under "Swarm: active".
fn swarm_info(out: &mut String, sw: &Value) {
    use std::fmt::Write as _;
    let state = gs(sw, &["LocalNodeState"]);
    if matches!(state.as_str(), "" | "inactive" | "locked") {
        return;
    }
    // Go prints a missing number or bool as its zero value.
    let num = |v: &Value| match v {
        Value::Number(n) => n.to_string(),
        _ => "0".to_string(),
    };
    let flag = |v: &Value| (v == &Value::Bool(true)).to_string();
    let dur = |v: &Value| crate::units::human_duration(v.as_f64().unwrap_or(0.0) / 1e9);
    let _ = writeln!(out, "  NodeID: {}", gs(sw, &["NodeID"]));
    let error = gs(sw, &["Error"]);
    if !error.is_empty() {
        let _ = writeln!(out, "  Error: {error}");
    }
    let manager = sw["ControlAvailable"] == Value::Bool(true);
    let _ = writeln!(out, "  Is Manager: {manager}");
    let c = &sw["Cluster"];
    if c.is_object() && manager {
        let spec = &c["Spec"];
        let _ = writeln!(out, "  ClusterID: {}", gs(c, &["ID"]));
        let _ = writeln!(out, "  Managers: {}", num(&sw["Managers"]));
        let _ = writeln!(out, "  Nodes: {}", num(&sw["Nodes"]));
        if let Some(pools) = c["DefaultAddrPool"].as_array() {
            let joined: String = pools
                .iter()
                .map(|p| format!("{}  ", p.as_str().unwrap_or("")))
                .collect();
            let _ = writeln!(out, "  Default Address Pool: {joined}");
            let _ = writeln!(out, "  SubnetSize: {}", num(&c["SubnetSize"]));
        }
        if c["DataPathPort"].as_u64().unwrap_or(0) > 0 {
            let _ = writeln!(out, "  Data Path Port: {}", num(&c["DataPathPort"]));
        }
        let _ = writeln!(out, "  Orchestration:");
        let _ = writeln!(
            out,
            "   Task History Retention Limit: {}",
            num(&spec["Orchestration"]["TaskHistoryRetentionLimit"])
        );
        let raft = &spec["Raft"];
        let _ = writeln!(out, "  Raft:");
        let _ = writeln!(
            out,
            "   Snapshot Interval: {}",
            num(&raft["SnapshotInterval"])
        );
        if raft["KeepOldSnapshots"].is_number() {
            let _ = writeln!(
                out,
                "   Number of Old Snapshots to Retain: {}",
                num(&raft["KeepOldSnapshots"])
            );
        }
        let _ = writeln!(out, "   Heartbeat Tick: {}", num(&raft["HeartbeatTick"]));
        let _ = writeln!(out, "   Election Tick: {}", num(&raft["ElectionTick"]));
        let _ = writeln!(out, "  Dispatcher:");
        let _ = writeln!(
            out,
            "   Heartbeat Period: {}",
            dur(&spec["Dispatcher"]["HeartbeatPeriod"])
        );
        let ca = &spec["CAConfig"];
        let _ = writeln!(out, "  CA Configuration:");
        let _ = writeln!(out, "   Expiry Duration: {}", dur(&ca["NodeCertExpiry"]));
        let _ = writeln!(out, "   Force Rotate: {}", num(&ca["ForceRotate"]));
        let signing = gs(ca, &["SigningCACert"]);
        if !signing.trim().is_empty() {
            let _ = write!(out, "   Signing CA Certificate: \n{}\n\n", signing.trim());
        }
        if let Some(cas) = ca["ExternalCAs"].as_array().filter(|a| !a.is_empty()) {
            let _ = writeln!(out, "   External CAs:");
            for e in cas {
                let _ = writeln!(out, "     {}: {}", gs(e, &["Protocol"]), gs(e, &["URL"]));
            }
        }
        let _ = writeln!(
            out,
            "  Autolock Managers: {}",
            flag(&spec["EncryptionConfig"]["AutoLockManagers"])
        );
        let _ = writeln!(
            out,
            "  Root Rotation In Progress: {}",
            flag(&c["RootRotationInProgress"])
        );
    }
    let _ = writeln!(out, "  Node Address: {}", gs(sw, &["NodeAddr"]));
    let mut managers: Vec<String> = sw["RemoteManagers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| gs(m, &["Addr"]))
        .collect();
    if !managers.is_empty() {
        managers.sort();
        let _ = writeln!(out, "  Manager Addresses:");
        for m in managers {
            let _ = writeln!(out, "   {m}");
        }
    }
}

/// Go's encoder writes a whole float without a fraction ("0", not serde's "0.0").
fn go_numbers(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => Value::from(f as i64),
            _ => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(go_numbers).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), go_numbers(v))).collect())
        }
        _ => v.clone(),
    }
}

pub fn pretty(v: &Value) -> String {
    use serde::Serialize;
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    let _ = go_numbers(v).serialize(&mut ser);
    go_escape(String::from_utf8_lossy(&buf).into_owned())
}

/// What `inspect` looks for: one object type (`--type`, `container inspect`, `image
/// inspect`), or any (the docker CLI's inspectAll).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Any,
    Container,
    Image,
    Network,
    Volume,
    Service,
    Task,
    Node,
    Plugin,
    Secret,
    Config,
}

impl Kind {
    /// `--type` values, as the docker CLI 28 accepts them.
    fn from_type(t: &str) -> Option<Kind> {
        Some(match t {
            "container" => Kind::Container,
            "image" => Kind::Image,
            "network" => Kind::Network,
            "volume" => Kind::Volume,
            "service" => Kind::Service,
            "task" => Kind::Task,
            "node" => Kind::Node,
            "plugin" => Kind::Plugin,
            "secret" => Kind::Secret,
            "config" => Kind::Config,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Any => "",
            Kind::Container => "container",
            Kind::Image => "image",
            Kind::Network => "network",
            Kind::Volume => "volume",
            Kind::Service => "service",
            Kind::Task => "task",
            Kind::Node => "node",
            Kind::Plugin => "plugin",
            Kind::Secret => "secret",
            Kind::Config => "config",
        }
    }

    /// Swarm objects: looked for by a generic inspect only on a swarm manager.
    fn is_swarm(self) -> bool {
        matches!(
            self,
            Kind::Service | Kind::Task | Kind::Node | Kind::Secret | Kind::Config
        )
    }

    fn path(self, name: &str, size: bool) -> String {
        let n = q(name);
        match self {
            Kind::Any | Kind::Container => {
                let sz = if size { "?size=1" } else { "" };
                format!("/containers/{n}/json{sz}")
            }
            Kind::Image => format!("/images/{n}/json"),
            Kind::Network => format!("/networks/{n}"),
            Kind::Volume => format!("/volumes/{n}"),
            // The docker CLI shows a service's defaults in empty fields.
            Kind::Service => format!("/services/{n}?insertDefaults=true"),
            Kind::Task => format!("/tasks/{n}"),
            Kind::Node => format!("/nodes/{n}"),
            Kind::Plugin => format!("/plugins/{n}/json"),
            Kind::Secret => format!("/secrets/{n}"),
            Kind::Config => format!("/configs/{n}"),
        }
    }
}

/// The docker CLI's inspectAll order: containers, images, networks, volumes, then (on a
/// swarm manager) services, tasks, nodes, then plugins, then (manager) secrets, configs.
const SEARCH_ORDER: &[Kind] = &[
    Kind::Container,
    Kind::Image,
    Kind::Network,
    Kind::Volume,
    Kind::Service,
    Kind::Task,
    Kind::Node,
    Kind::Plugin,
    Kind::Secret,
    Kind::Config,
];

/// The errors a generic inspect steps over to the next type (the docker CLI's
/// isErrSkippable).
fn skippable(e: &ClientError) -> bool {
    e.status() == Some(404) || {
        let m = e.message();
        m.contains("not supported") || m.contains("invalid reference format")
    }
}

/// One object: of `kind`, or for `Kind::Any` the first type that has `name`. `manager`
/// caches whether the daemon is a swarm manager (asked once, when first needed).
fn fetch(
    c: &Client,
    kind: Kind,
    name: &str,
    size: bool,
    manager: &mut Option<bool>,
) -> Result<Value, ClientError> {
    if kind != Kind::Any {
        return c.get_json(&kind.path(name, size));
    }
    for &k in SEARCH_ORDER {
        if k.is_swarm() {
            let is_manager = *manager.get_or_insert_with(|| match c.get_json("/info") {
                Ok(info) => info["Swarm"]["ControlAvailable"].as_bool() == Some(true),
                Err(e) => {
                    eprintln!("{e}");
                    false
                }
            });
            if !is_manager {
                continue;
            }
        }
        match c.get_json(&k.path(name, size)) {
            Err(e) if skippable(&e) => continue,
            Err(e) => return Err(e),
            Ok(v) => {
                if size && k != Kind::Container {
                    eprintln!("WARNING: --size ignored for {}", k.name());
                }
                return Ok(v);
            }
        }
    }
    Err(ClientError::Daemon {
        status: 404,
        message: format!("No such object: {name}"),
    })
}

/// `container inspect`'s flags.
#[derive(Parser)]
struct ContainerInspectCmd {
    #[arg(
        short = 'f',
        long,
        help = super::INSPECT_FORMAT_HELP,
        value_name = "string"
    )]
    format: Option<String>,
    #[arg(short = 's', long, help = "Display total file sizes")]
    size: bool,
    args: Vec<String>,
}

/// `image inspect`'s flags.
#[derive(Parser)]
struct ImageInspectCmd {
    #[arg(
        short = 'f',
        long,
        help = super::INSPECT_FORMAT_HELP,
        value_name = "string"
    )]
    format: Option<String>,
    /// API 1.49 (docker 28.1): refused against older daemons, as the docker CLI does.
    #[arg(
        long,
        help = "Inspect a specific platform of the multi-platform image.\nIf the image or the server is not multi-platform capable, the command will error out if the platform does not match.\n'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)",
        value_name = "string"
    )]
    platform: Option<String>,
    args: Vec<String>,
}

fn inspect(ctx: &mut Ctx, inv: &Invocation, o: InspectCmd, kind: Kind) -> CmdResult {
    inv.at_least(&o.args, 1)?;
    // The docker CLI 28's words for a bad `--type` (system/inspect.go).
    let types = || {
        SEARCH_ORDER
            .iter()
            .map(|k| k.name())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join("\", \"")
    };
    let kind = match (kind, o.ty.as_deref()) {
        (Kind::Any, Some("")) => {
            return Err(Failure::new(
                format!("type is empty: must be one of \"{}\"", types()),
                1,
            ))
        }
        (Kind::Any, Some(t)) => Kind::from_type(t).ok_or_else(|| {
            Failure::new(
                format!("unknown type: \"{t}\": must be one of \"{}\"", types()),
                1,
            )
        })?,
        (k, _) => k,
    };
    let output = super::InspectOutput::new(o.format.as_deref())?;
    let c = ctx.client()?;
    let mut found = Vec::new();
    let mut errs = Vec::new();
    let mut manager = None;
    for name in &o.args {
        match fetch(c, kind, name, o.size, &mut manager) {
            Ok(v) => found.push(v),
            // Only the "No such object" of a generic inspect: the CLI's own error.
            Err(ClientError::Daemon {
                status: 404,
                message,
            }) if kind == Kind::Any => errs.push(format!("Error: {message}")),
            Err(e) => errs.push(e.to_string()),
        }
    }
    output.print(found)?;
    super::join_errors(errs)
}

pub fn cmd_inspect(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: InspectCmd = parse(inv, args)?;
    inspect(ctx, inv, o, Kind::Any)
}
pub fn cmd_container_inspect(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ContainerInspectCmd = parse(inv, args)?;
    let o = InspectCmd {
        format: o.format,
        size: o.size,
        ty: None,
        args: o.args,
    };
    inspect(ctx, inv, o, Kind::Container)
}
pub fn cmd_image_inspect(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ImageInspectCmd = parse(inv, args)?;
    if o.platform.is_some() {
        super::require_api(ctx, "platform", (1, 49))?;
    }
    let o = InspectCmd {
        format: o.format,
        size: false,
        ty: None,
        args: o.args,
    };
    inspect(ctx, inv, o, Kind::Image)
}

/// `version`'s flags.
#[derive(Parser)]
struct VersionCmd {
    #[arg(
        short = 'f',
        long,
        help = super::INSPECT_FORMAT_HELP,
        value_name = "string"
    )]
    format: Option<String>,
}

/// `info`'s flags.
#[derive(Parser)]
struct InfoCmd {
    #[arg(
        short = 'f',
        long,
        help = super::INSPECT_FORMAT_HELP,
        value_name = "string"
    )]
    format: Option<String>,
}

fn gs(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(x) => cur = x,
            None => return String::new(),
        }
    }
    match cur {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// docker reformats build times as Go's time.ANSIC in the local zone.
fn ansic(s: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(s) {
        Ok(t) => t
            .with_timezone(&chrono::Local)
            .format("%a %b %e %H:%M:%S %Y")
            .to_string(),
        Err(_) => s.to_string(),
    }
}

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        a => a,
    }
}

pub fn cmd_version(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: VersionCmd = parse(inv, args)?;
    let mut out = String::new();
    let client_api = format!(
        "{}.{}",
        crate::client::CLIENT_API.0,
        crate::client::CLIENT_API.1
    );
    let server = ctx
        .client()
        .and_then(|c| Ok((c.api_version(), c.get_json("/version")?)));
    let api = match &server {
        Ok((v, _)) if *v != client_api => format!("{v} (downgraded from {client_api})"),
        _ => client_api.clone(),
    };
    if let Some(f) = o.format.filter(|f| !f.is_empty()) {
        let data = serde_json::json!({
            "Client": {"Version": env!("CARGO_PKG_VERSION"), "ApiVersion": client_api, "Os": "linux", "Arch": arch()},
            "Server": server.as_ref().map(|(_, s)| s.clone()).unwrap_or(Value::Null),
        });
        let f = if f == "json" {
            "{{json .}}".to_string()
        } else {
            // Templates see docker's Go field names; only APIVersion differs from its JSON
            // name (ApiVersion), and `{{json .Server}}` must keep the JSON name.
            f.replace(".APIVersion", ".ApiVersion")
        };
        let t = crate::format::parse(&f, false).map_err(|e| Failure::new(e.0, 1))?;
        let data = from_json(&data);
        // A field docker's Go struct lacks fails as its template run does: what the run
        // wrote before it and a newline on stdout, the error on stderr.
        if let Some(e) = crate::format::struct_failure(&f, "version", &data, &VERSION_TYPES) {
            println!(
                "{}",
                crate::format::struct_failure_partial(&f, &data, &VERSION_TYPES)
            );
            return Err(Failure::new(e, 1));
        }
        println!("{}", execute(&t, &data).map_err(|e| Failure::new(e.0, 1))?);
        return server.map(|_| 0);
    }
    let _ = writeln!(out, "Client:");
    let _ = writeln!(out, " Version:           {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, " API version:       {api}");
    let _ = writeln!(out, " OS/Arch:           linux/{}", arch());
    let _ = writeln!(out, " Context:           default");
    print!("{out}");
    let (_, sv) = server?;
    let mut out = String::new();
    let platform = gs(&sv, &["Platform", "Name"]);
    if platform.is_empty() {
        let _ = writeln!(out, "\nServer:");
    } else {
        let _ = writeln!(out, "\nServer: {platform}");
    }
    for comp in sv
        .get("Components")
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
    {
        let name = gs(comp, &["Name"]);
        let _ = writeln!(out, " {name}:");
        let d = comp.get("Details").cloned().unwrap_or(Value::Null);
        if name == "Engine" {
            let _ = writeln!(out, "  Version:          {}", gs(comp, &["Version"]));
            let _ = writeln!(
                out,
                "  API version:      {} (minimum version {})",
                gs(&d, &["ApiVersion"]),
                gs(&d, &["MinAPIVersion"])
            );
            let _ = writeln!(out, "  Go version:       {}", gs(&d, &["GoVersion"]));
            let _ = writeln!(out, "  Git commit:       {}", gs(&d, &["GitCommit"]));
            let _ = writeln!(
                out,
                "  Built:            {}",
                ansic(&gs(&d, &["BuildTime"]))
            );
            let _ = writeln!(
                out,
                "  OS/Arch:          {}/{}",
                gs(&d, &["Os"]),
                gs(&d, &["Arch"])
            );
            let _ = writeln!(out, "  Experimental:     {}", gs(&d, &["Experimental"]));
        } else {
            let _ = writeln!(out, "  Version:          {}", gs(comp, &["Version"]));
            let mut keys: Vec<String> = d
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            keys.sort();
            for k in keys {
                let _ = writeln!(out, "  {:<18}{}", format!("{k}:"), gs(&d, &[k.as_str()]));
            }
        }
    }
    print!("{out}");
    Ok(0)
}

/// `system.Info`'s Go fields whose JSON name differs (Go name, JSON name).
const INFO_JSON_NAMES: [(&str, &str); 5] = [
    ("HTTPProxy", "HttpProxy"),
    ("HTTPSProxy", "HttpsProxy"),
    ("BridgeNfIP6tables", "BridgeNfIp6tables"),
    ("CPUCfsPeriod", "CpuCfsPeriod"),
    ("CPUCfsQuota", "CpuCfsQuota"),
];

pub fn cmd_info(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: InfoCmd = parse(inv, args)?;
    let info = ctx.client().and_then(|c| Ok(c.get_json("/info")?));
    if let Some(f) = o.format.filter(|f| !f.is_empty()) {
        let info = info?;
        let f = if f == "json" {
            "{{json .}}".to_string()
        } else {
            f
        };
        // Templates see docker's Go field names; these differ from their JSON names
        // (`{{json .}}` keeps the JSON ones). The Go names are checked, the JSON read.
        let mut go = f.clone();
        for (field, json) in INFO_JSON_NAMES {
            go = go.replace(&format!(".{field}"), &format!(".{json}"));
        }
        let t = crate::format::parse(&go, false).map_err(|e| Failure::new(e.0, 1))?;
        let info = from_json(&info);
        if let Some(e) = crate::format::struct_failure(&f, "", &info, &INFO_TYPES) {
            println!(
                "{}",
                crate::format::struct_failure_partial(&f, &info, &INFO_TYPES)
            );
            return Err(Failure::new(e, 1));
        }
        println!("{}", execute(&t, &info).map_err(|e| Failure::new(e.0, 1))?);
        return Ok(0);
    }
    let mut out = String::new();
    let _ = writeln!(out, "Client:");
    let _ = writeln!(out, " Version:    {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, " Context:    default");
    let _ = writeln!(out, " Debug Mode: false");
    let _ = writeln!(out);
    let _ = writeln!(out, "Server:");
    let i = match info {
        Ok(i) => i,
        Err(e) => {
            print!("{out}");
            return Err(e);
        }
    };
    let n = |k: &str| gs(&i, &[k]);
    let _ = writeln!(out, " Containers: {}", n("Containers"));
    let _ = writeln!(out, "  Running: {}", n("ContainersRunning"));
    let _ = writeln!(out, "  Paused: {}", n("ContainersPaused"));
    let _ = writeln!(out, "  Stopped: {}", n("ContainersStopped"));
    let _ = writeln!(out, " Images: {}", n("Images"));
    let _ = writeln!(out, " Server Version: {}", n("ServerVersion"));
    let _ = writeln!(out, " Storage Driver: {}", n("Driver"));
    for pair in i
        .get("DriverStatus")
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
    {
        if let Some([k, v]) = pair.as_array().map(|a| a.as_slice()) {
            let _ = writeln!(
                out,
                "  {}: {}",
                k.as_str().unwrap_or(""),
                v.as_str().unwrap_or("")
            );
        }
    }
    let _ = writeln!(out, " Logging Driver: {}", n("LoggingDriver"));
    let _ = writeln!(out, " Cgroup Driver: {}", n("CgroupDriver"));
    let _ = writeln!(out, " Cgroup Version: {}", n("CgroupVersion"));
    if let Some(p) = i.get("Plugins") {
        let _ = writeln!(out, " Plugins:");
        for (k, label) in [("Volume", "Volume"), ("Network", "Network"), ("Log", "Log")] {
            let list = strings(p.get(k));
            if !list.is_empty() {
                let _ = writeln!(out, "  {label}: {}", list.join(" "));
            }
        }
    }
    let _ = writeln!(out, " Swarm: {}", {
        let s = gs(&i, &["Swarm", "LocalNodeState"]);
        if s.is_empty() {
            "inactive".to_string()
        } else {
            s
        }
    });
    swarm_info(&mut out, &i["Swarm"]);
    let mut runtimes: Vec<String> = i
        .get("Runtimes")
        .and_then(|r| r.as_object())
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default();
    runtimes.sort();
    if !runtimes.is_empty() {
        let _ = writeln!(out, " Runtimes: {}", runtimes.join(" "));
    }
    let _ = writeln!(out, " Default Runtime: {}", n("DefaultRuntime"));
    let _ = writeln!(out, " Init Binary: {}", n("InitBinary"));
    let commit = |k: &str| gs(&i, &[k, "ID"]);
    let _ = writeln!(out, " containerd version: {}", commit("ContainerdCommit"));
    let _ = writeln!(out, " runc version: {}", commit("RuncCommit"));
    let _ = writeln!(out, " init version: {}", commit("InitCommit"));
    let secopts = strings(i.get("SecurityOptions"));
    if !secopts.is_empty() {
        let _ = writeln!(out, " Security Options:");
        for o in secopts {
            // "name=seccomp,profile=default" -> "  seccomp\n   Profile: default"
            for (idx, kv) in o.split(',').enumerate() {
                let (k, v) = kv.split_once('=').unwrap_or(("", kv));
                if idx == 0 || k == "name" {
                    let _ = writeln!(out, "  {v}");
                } else {
                    let mut c = k.chars();
                    let title: String = c
                        .next()
                        .map(|f| f.to_uppercase().chain(c).collect())
                        .unwrap_or_default();
                    let _ = writeln!(out, "   {title}: {v}");
                }
            }
        }
    }
    let _ = writeln!(out, " Kernel Version: {}", n("KernelVersion"));
    let _ = writeln!(out, " Operating System: {}", n("OperatingSystem"));
    let _ = writeln!(out, " OSType: {}", n("OSType"));
    let _ = writeln!(out, " Architecture: {}", n("Architecture"));
    let _ = writeln!(out, " CPUs: {}", n("NCPU"));
    let mem = i.get("MemTotal").and_then(|m| m.as_f64()).unwrap_or(0.0);
    let _ = writeln!(out, " Total Memory: {}", crate::units::bytes_size(mem));
    let _ = writeln!(out, " Name: {}", n("Name"));
    let _ = writeln!(out, " ID: {}", n("ID"));
    let _ = writeln!(out, " Docker Root Dir: {}", n("DockerRootDir"));
    let _ = writeln!(out, " Debug Mode: {}", n("Debug"));
    // The docker CLI's fprintlnNonEmpty: a proxy line only when the daemon has one.
    for (title, key) in [
        ("HTTP Proxy", "HttpProxy"),
        ("HTTPS Proxy", "HttpsProxy"),
        ("No Proxy", "NoProxy"),
    ] {
        let v = n(key);
        if !v.is_empty() {
            let _ = writeln!(out, " {title}: {v}");
        }
    }
    let _ = writeln!(out, " Experimental: {}", n("ExperimentalBuild"));
    let cidrs = strings(
        i.get("RegistryConfig")
            .and_then(|r| r.get("InsecureRegistryCIDRs")),
    );
    if !cidrs.is_empty() {
        let _ = writeln!(out, " Insecure Registries:");
        for c in cidrs {
            let _ = writeln!(out, "  {c}");
        }
    }
    let _ = writeln!(out, " Live Restore Enabled: {}", n("LiveRestoreEnabled"));
    let _ = writeln!(out);
    print!("{out}");
    Ok(0)
}

/// The strings of a JSON array (an absent or non-array value gives none).
fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(|l| l.as_array())
        .map(|l| {
            l.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Parser)]
struct DialStdioCmd {
    args: Vec<String>,
}

/// `system dial-stdio`: stdin and stdout become a connection to the daemon (what `ssh`
/// runs on the far side for `ssh://` hosts).
pub fn cmd_dial_stdio(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: DialStdioCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    let ep = ctx.endpoint()?;
    let t = crate::transport::Transport::new(&ep).map_err(|e| Failure::new(e, 1))?;
    crate::transport::dial_stdio(&t).map_err(|e| match e {
        crate::transport::DialError::Unreachable => Failure::new(
            format!(
                "Cannot connect to the berth daemon at {}. Is the berth daemon running?",
                ep.host
            ),
            1,
        ),
        crate::transport::DialError::Failed(m) => Failure::new(m, 1),
    })?;
    Ok(0)
}

/// The commands this module implements (see `catalog.rs`).
pub(crate) static COMMANDS: &[Command] = &[
    Command::new(
        "system dial-stdio",
        "",
        "Proxy the stdio stream to the daemon connection. Should not be invoked manually.",
        DialStdioCmd::command,
        cmd_dial_stdio,
    )
    .hidden(),
    Command::new(
        "inspect",
        "[OPTIONS] NAME|ID [NAME|ID...]",
        "Return low-level information on berth objects",
        InspectCmd::command,
        cmd_inspect,
    ),
    Command::new(
        "container inspect",
        "[OPTIONS] CONTAINER [CONTAINER...]",
        "Display detailed information on one or more containers",
        ContainerInspectCmd::command,
        cmd_container_inspect,
    ),
    Command::new(
        "image inspect",
        "[OPTIONS] IMAGE [IMAGE...]",
        "Display detailed information on one or more images",
        ImageInspectCmd::command,
        cmd_image_inspect,
    ),
    Command::new(
        "version",
        "[OPTIONS]",
        "Show the berth version information",
        VersionCmd::command,
        cmd_version,
    ),
    Command::new(
        "system info",
        "[OPTIONS]",
        "Display system-wide information",
        InfoCmd::command,
        cmd_info,
    )
    .aliases(&["info"]),
];

/// The docker CLI 28's `info -f` data: its `system.dockerInfo` (moby's `system.Info` and
/// the client's additions). The known Go fields a daemon may leave out of its JSON, or
/// that berth names by their JSON name (`CpuCfsPeriod`), print as before; any other
/// field fails as docker's template run (`can't evaluate field X in type T`).
static INFO_TYPES: crate::format::GoStruct = crate::format::GoStruct {
    root: "system.dockerInfo",
    types: &[
        ("Plugins", "system.PluginsInfo"),
        ("Plugins.Volume", "[]string"),
        ("Plugins.Network", "[]string"),
        ("Plugins.Authorization", "[]string"),
        ("Plugins.Log", "[]string"),
        ("Swarm", "swarm.Info"),
        ("Swarm.Cluster", "*swarm.ClusterInfo"),
        ("Swarm.RemoteManagers", "[]swarm.Peer"),
        ("RegistryConfig", "*registry.ServiceConfig"),
        ("ClientInfo", "*system.clientInfo"),
        ("Containerd", "*system.ContainerdInfo"),
        ("ContainerdCommit", "system.Commit"),
        ("RuncCommit", "system.Commit"),
        ("InitCommit", "system.Commit"),
        ("DriverStatus", "[][2]string"),
        ("SystemStatus", "[][2]string"),
        ("MemTotal", "int64"),
        ("MemoryLimit", "bool"),
        ("DefaultAddressPools", "[]system.NetworkAddressPool"),
        ("GenericResources", "[]swarm.GenericResource"),
    ],
    maps: &["Runtimes", "RegistryConfig.IndexConfigs"],
    optional: &[
        "ID",
        "Containers",
        "ContainersRunning",
        "ContainersPaused",
        "ContainersStopped",
        "Images",
        "Driver",
        "DriverStatus",
        "SystemStatus",
        "Plugins",
        "MemoryLimit",
        "SwapLimit",
        "KernelMemory",
        "KernelMemoryTCP",
        "CPUCfsPeriod",
        "CPUCfsQuota",
        "CPUShares",
        "CPUSet",
        "PidsLimit",
        "IPv4Forwarding",
        "BridgeNfIptables",
        "BridgeNfIP6tables",
        "Debug",
        "NFd",
        "OomKillDisable",
        "NGoroutines",
        "SystemTime",
        "LoggingDriver",
        "CgroupDriver",
        "CgroupVersion",
        "NEventsListener",
        "KernelVersion",
        "OperatingSystem",
        "OSVersion",
        "OSType",
        "Architecture",
        "IndexServerAddress",
        "RegistryConfig",
        "NCPU",
        "MemTotal",
        "GenericResources",
        "DockerRootDir",
        "HTTPProxy",
        "HTTPSProxy",
        "NoProxy",
        "Name",
        "Labels",
        "ExperimentalBuild",
        "ServerVersion",
        "Runtimes",
        "DefaultRuntime",
        "Swarm",
        "LiveRestoreEnabled",
        "Isolation",
        "InitBinary",
        "ContainerdCommit",
        "RuncCommit",
        "InitCommit",
        "SecurityOptions",
        "ProductLicense",
        "DefaultAddressPools",
        "FirewallBackend",
        "CDISpecDirs",
        "DiscoveredDevices",
        "Containerd",
        "Warnings",
        "ClientInfo",
        "ClientErrors",
        "Swarm.NodeID",
        "Swarm.NodeAddr",
        "Swarm.LocalNodeState",
        "Swarm.ControlAvailable",
        "Swarm.Error",
        "Swarm.RemoteManagers",
        "Swarm.Nodes",
        "Swarm.Managers",
        "Swarm.Cluster",
        "Swarm.Warnings",
        "Plugins.Volume",
        "Plugins.Network",
        "Plugins.Authorization",
        "Plugins.Log",
    ],
};

/// The docker CLI 28's `version -f` data: `system.versionInfo` with the client's
/// `clientVersion` and the daemon's `*types.Version` (see [`INFO_TYPES`]).
static VERSION_TYPES: crate::format::GoStruct = crate::format::GoStruct {
    root: "system.versionInfo",
    types: &[
        ("Client", "system.clientVersion"),
        ("Client.Platform", "*system.platformInfo"),
        ("Server", "*types.Version"),
        ("Server.Platform", "struct { Name string }"),
        ("Server.Components", "[]types.ComponentVersion"),
        // omitempty fields berth's /version may leave out: a field of them still fails
        // with their Go type (docker: `can't evaluate field x in type bool`).
        ("Server.Experimental", "bool"),
        ("Server.KernelVersion", "string"),
        ("Server.BuildTime", "string"),
    ],
    maps: &[],
    optional: &[
        "Client.Platform",
        "Client.Version",
        "Client.ApiVersion",
        "Client.DefaultAPIVersion",
        "Client.GitCommit",
        "Client.GoVersion",
        "Client.Os",
        "Client.Arch",
        "Client.BuildTime",
        "Client.Context",
        "Server.Platform",
        "Server.Components",
        "Server.Version",
        "Server.ApiVersion",
        "Server.MinAPIVersion",
        "Server.GitCommit",
        "Server.GoVersion",
        "Server.Os",
        "Server.Arch",
        "Server.KernelVersion",
        "Server.Experimental",
        "Server.BuildTime",
        "Server.Platform.Name",
    ],
};

#[cfg(test)]
mod tests {
    #[test]
    fn whole_floats_print_as_go_does() {
        let v = serde_json::json!({"a": 0.0, "b": 0.5, "c": [2.0, 3]});
        assert_eq!(
            super::pretty(&v),
            "{\n    \"a\": 0,\n    \"b\": 0.5,\n    \"c\": [\n        2,\n        3\n    ]\n}"
        );
    }
}
