//! `swarm`, `node`, `service`, `secret` and `config`: the docker CLI's swarm commands
//! (the common flags; tables and `--format` as docker prints them) over the swarm
//! endpoints. Request bodies are berth-api's typed swarm models.
//!
//! docker's text layouts live beside it: `service_pretty.rs`, `node_pretty.rs` (`inspect
//! --pretty`), `service_logs.rs` (docker's `NAME.SLOT.TASKID@NODE | ` prefix, slot padded
//! to the replica count; `--raw` skips it). `service create`/`update` send the docker CLI
//! 28's bodies flag by flag (compared in berth-tests `swarm_flags.rs`): no
//! `UpdateConfig`/`RollbackConfig` unless one of their flags is given
//! (`?insertDefaults=true`, which `service inspect` asks for, shows swarmkit's defaults:
//! berth-swarm `cluster::insert_defaults`), env files merged as docker's makeEnv
//! (`service_flags.rs`), groups, hosts, generic resources, placement preferences and
//! credential specs with their `-add`/`-rm` edits.

use clap::{CommandFactory, Parser};
use serde_json::{json, Value};
use std::io::Read;

use super::{join_errors, parse, InspectOutput, Invocation};
use crate::catalog::Command;
use crate::client::{filters_json, q, query, Body, Client, ClientError};
use crate::format::{from_json, render_list};
use crate::{CmdResult, Ctx, Failure};
use berth_api::swarm as sw;

/// Runs one of these commands by group and name (for `stack services/ps`).
pub fn run(group: &str, name: &str, ctx: &mut Ctx, args: &[String]) -> CmdResult {
    let path = format!("{group} {name}");
    let cmd = crate::catalog::find(&path).ok_or_else(|| fail(format!("no command {path}")))?;
    let inv = Invocation {
        path,
        usage: cmd.usage,
    };
    (cmd.run)(ctx, &inv, args)
}

fn s(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    match cur {
        Value::String(x) => x.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn fail(msg: impl Into<String>) -> Failure {
    Failure::new(msg.into(), 1)
}

/// Go's `time.ParseDuration` for the common units (ns, us, ms, s, m, h; combined).
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let bad = || format!("time: invalid duration \"{s}\"");
    if s == "0" {
        return Ok(0);
    }
    let mut total: f64 = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let n: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        total += n * mult;
        rest = &rest[unit_end..];
    }
    Ok(total as i64)
}

fn print_table(
    format: &Option<String>,
    quiet: bool,
    quiet_field: &str,
    default: &str,
    headers: &[(&str, &str)],
    rows: &[Value],
) -> CmdResult {
    let format = format.clone().unwrap_or_default();
    let format = if quiet && (format.is_empty() || format == "table") {
        format!("{{{{.{quiet_field}}}}}")
    } else {
        format
    };
    let rows: Vec<_> = rows.iter().map(from_json).collect();
    let mut out = std::io::stdout().lock();
    render_list(&mut out, &format, default, headers, &rows).map_err(|e| fail(e.0))?;
    Ok(0)
}

/// "3 minutes ago" as docker's units.HumanDuration.
fn ago(ts: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(ts) {
        Ok(t) => {
            let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_milliseconds()
                as f64
                / 1000.0;
            format!("{} ago", crate::units::human_duration(secs.max(0.0)))
        }
        Err(_) => String::new(),
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

// ---- swarm ------------------------------------------------------------------------------

#[derive(Parser)]
struct InitCmd {
    #[arg(
        long,
        help = "Advertised address (format: \"<ip|interface>[:port]\")",
        value_name = "string"
    )]
    advertise_addr: Option<String>,
    #[arg(
        long,
        default_value = "0.0.0.0:2377",
        value_parser = node_addr,
        help = "Listen address (format: \"<ip|interface>[:port]\") (default 0.0.0.0:2377)",
        value_name = "node-addr"
    )]
    listen_addr: String,
    #[arg(
        long,
        help = "Address or interface to use for data path traffic (format: \"<ip|interface>\")",
        value_name = "string"
    )]
    data_path_addr: Option<String>,
    #[arg(
        long,
        default_value_t = 0,
        help = "Port number to use for data path traffic (1024 - 49151). If no value is set or is set to 0, the default port (4789) is used.",
        value_name = "uint32"
    )]
    data_path_port: u32,
    #[arg(
        long,
        help = "default address pool in CIDR format (default [])",
        value_name = "ipNetSlice"
    )]
    default_addr_pool: Vec<String>,
    #[arg(
        long,
        default_value_t = 24,
        help = "default address pool subnet mask length (default 24)",
        value_name = "uint32"
    )]
    default_addr_pool_mask_length: u32,
    #[arg(
        long,
        help = "Enable manager autolocking (requiring an unlock key to start a stopped manager)"
    )]
    autolock: bool,
    #[arg(
        long,
        default_value = "active",
        help = "Availability of the node (\"active\", \"pause\", \"drain\") (default \"active\")",
        value_name = "string"
    )]
    availability: String,
    #[arg(
        long,
        help = "Task history retention limit (default 5)",
        value_name = "int"
    )]
    task_history_limit: Option<i64>,
    #[arg(long, help = "Force create a new cluster from current state")]
    force_new_cluster: bool,
    args: Vec<String>,
}

/// docker's `NodeAddrOption`: `--listen-addr` parsed as a TCP address (host or port from
/// 0.0.0.0:2377 when left out), sent as `host:port`.
fn node_addr(v: &str) -> Result<String, String> {
    berth_api::hostport::parse_tcp_addr(v, "0.0.0.0:2377")
        .map(|a| a.trim_start_matches("tcp://").to_string())
}

fn join_hint(role: &str, token: &str, addr: &str) -> String {
    format!("To add a {role} to this swarm, run the following command:\n\n    berth swarm join --token {token} {addr}\n")
}

const UNLOCK_HINT: &str = "To unlock a swarm manager after it restarts, run the `berth swarm unlock`\ncommand and provide the following key:\n\n    ";
const UNLOCK_TAIL: &str = "\n\nPlease remember to store this key in a password manager, since without it you\nwill not be able to restart the manager.";

fn manager_addr(ctx: &mut Ctx) -> Result<String, Failure> {
    Ok(swarm_info(ctx.client()?)?
        .remote_managers
        .unwrap_or_default()
        .into_iter()
        .next()
        .map(|p| p.addr)
        .unwrap_or_default())
}

fn swarm_init(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: InitCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    let mut spec = sw::Spec::default();
    spec.orchestration.task_history_retention_limit = o.task_history_limit;
    spec.encryption_config.auto_lock_managers = o.autolock;
    let req = sw::InitRequest {
        listen_addr: o.listen_addr,
        advertise_addr: o.advertise_addr.unwrap_or_default(),
        data_path_addr: o.data_path_addr.unwrap_or_default(),
        data_path_port: o.data_path_port,
        force_new_cluster: o.force_new_cluster,
        spec,
        auto_lock_managers: o.autolock,
        availability: o.availability,
        default_addr_pool: if o.default_addr_pool.is_empty() {
            None
        } else {
            Some(o.default_addr_pool)
        },
        subnet_size: o.default_addr_pool_mask_length,
    };
    let body = serde_json::to_value(&req).map_err(|e| fail(e.to_string()))?;
    // The answer is the node id as a JSON string.
    let id: String = ctx.client()?.post_typed("/swarm/init", Body::Json(body))?;
    println!("Swarm initialized: current node ({id}) is now a manager.\n");
    let sw: sw::Swarm = ctx.client()?.get_typed("/swarm")?;
    let addr = manager_addr(ctx)?;
    println!("{}", join_hint("worker", &sw.join_tokens.worker, &addr));
    println!("To add a manager to this swarm, run 'berth swarm join-token manager' and follow the instructions.\n");
    if req.auto_lock_managers {
        let k: sw::UnlockKeyResponse = ctx.client()?.get_typed("/swarm/unlockkey")?;
        println!("{UNLOCK_HINT}{}{UNLOCK_TAIL}", k.unlock_key);
    }
    Ok(0)
}

#[derive(Parser)]
struct LeaveCmd {
    #[arg(
        short = 'f',
        long,
        help = "Force this node to leave the swarm, ignoring warnings"
    )]
    force: bool,
    args: Vec<String>,
}

fn swarm_leave(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: LeaveCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    let path = if o.force {
        "/swarm/leave?force=1"
    } else {
        "/swarm/leave"
    };
    ctx.client()?.call("POST", path, Body::None)?.bytes()?;
    println!("Node left the swarm.");
    Ok(0)
}

#[derive(Parser)]
struct JoinTokenCmd {
    #[arg(short = 'q', long, help = "Only display token")]
    quiet: bool,
    #[arg(long, help = "Rotate join token")]
    rotate: bool,
    args: Vec<String>,
}

fn swarm_join_token(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: JoinTokenCmd = parse(inv, args)?;
    inv.exactly(&o.args, 1)?;
    let role = o.args[0].as_str();
    let (manager, flag) = match role {
        "worker" => (false, "rotateWorkerToken"),
        "manager" => (true, "rotateManagerToken"),
        _ => return Err(fail("unknown role ".to_string() + role)),
    };
    let c = ctx.client()?;
    if o.rotate {
        let sw = c.get_json("/swarm")?;
        let (v, spec) = versioned_spec(&sw)?;
        c.call(
            "POST",
            &format!("/swarm/update?version={v}&{flag}=true"),
            Body::typed(&spec)?,
        )?
        .bytes()?;
        if !o.quiet {
            println!("Successfully rotated {role} join token.\n");
        }
    }
    let sw: sw::Swarm = c.get_typed("/swarm")?;
    let token = if manager {
        sw.join_tokens.manager
    } else {
        sw.join_tokens.worker
    };
    if o.quiet {
        println!("{token}");
        return Ok(0);
    }
    let addr = manager_addr(ctx)?;
    println!("{}", join_hint(role, &token, &addr));
    Ok(0)
}

#[derive(Parser)]
struct UnlockKeyCmd {
    #[arg(short = 'q', long, help = "Only display token")]
    quiet: bool,
    #[arg(long, help = "Rotate unlock key")]
    rotate: bool,
    args: Vec<String>,
}

fn swarm_unlock_key(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: UnlockKeyCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    let c = ctx.client()?;
    if o.rotate {
        let sw = c.get_json("/swarm")?;
        let (v, spec) = versioned_spec(&sw)?;
        if !spec.encryption_config.auto_lock_managers {
            return Err(fail("cannot rotate because autolock is not turned on"));
        }
        c.call(
            "POST",
            &format!("/swarm/update?version={v}&rotateManagerUnlockKey=true"),
            Body::typed(&spec)?,
        )?
        .bytes()?;
        if !o.quiet {
            println!("Successfully rotated manager unlock key.\n");
        }
    }
    let k = c
        .get_typed::<sw::UnlockKeyResponse>("/swarm/unlockkey")?
        .unlock_key;
    if k.is_empty() {
        return Err(fail("no unlock key is set"));
    }
    if o.quiet {
        println!("{k}");
    } else {
        println!("{UNLOCK_HINT}{k}{UNLOCK_TAIL}");
    }
    Ok(0)
}

fn swarm_unlock(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: NoFlags = parse(inv, args)?;
    inv.none(&o.args)?;
    match swarm_info(ctx.client()?)?.local_node_state.as_str() {
        "inactive" => return Err(fail("Error: This node is not part of a swarm")),
        "locked" => {}
        _ => return Err(fail("Error: swarm is not locked")),
    }
    let mut key = String::new();
    std::io::stdin()
        .read_to_string(&mut key)
        .map_err(|e| fail(e.to_string()))?;
    let key = key.lines().next().unwrap_or("").trim().to_string();
    ctx.client()?
        .call(
            "POST",
            "/swarm/unlock",
            Body::typed(&sw::UnlockRequest { unlock_key: key })?,
        )?
        .bytes()?;
    Ok(0)
}

#[derive(Parser)]
struct UpdateSwarmCmd {
    #[arg(
        long,
        help = "Change manager autolocking setting (true|false)",
        require_equals = true,
        value_name = "bool"
    )]
    autolock: Option<Option<bool>>,
    #[arg(
        long,
        help = "Task history retention limit (default 5)",
        value_name = "int"
    )]
    task_history_limit: Option<i64>,
    #[arg(
        long,
        help = "Dispatcher heartbeat period (ns|us|ms|s|m|h) (default 5s)",
        value_name = "duration"
    )]
    dispatcher_heartbeat: Option<String>,
    #[arg(
        long,
        help = "Validity period for node certificates (ns|us|ms|s|m|h) (default 2160h0m0s)",
        value_name = "duration"
    )]
    cert_expiry: Option<String>,
    args: Vec<String>,
}

fn swarm_update(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: UpdateSwarmCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    let c = ctx.client()?;
    let sw: sw::Swarm = c.get_typed("/swarm")?;
    let mut spec = sw.cluster.spec;
    let was = spec.encryption_config.auto_lock_managers;
    if let Some(a) = o.autolock {
        spec.encryption_config.auto_lock_managers = a.unwrap_or(true);
    }
    if let Some(l) = o.task_history_limit {
        spec.orchestration.task_history_retention_limit = Some(l);
    }
    if let Some(d) = &o.dispatcher_heartbeat {
        spec.dispatcher.heartbeat_period = parse_duration(d).map_err(fail)?;
    }
    if let Some(d) = &o.cert_expiry {
        spec.ca_config.node_cert_expiry = parse_duration(d).map_err(fail)?;
    }
    let v = sw.cluster.meta.version.index;
    let body = serde_json::to_value(&spec).map_err(|e| fail(e.to_string()))?;
    c.call(
        "POST",
        &format!("/swarm/update?version={v}"),
        Body::Json(body),
    )?
    .bytes()?;
    println!("Swarm updated.");
    if spec.encryption_config.auto_lock_managers && !was {
        let k: sw::UnlockKeyResponse = c.get_typed("/swarm/unlockkey")?;
        println!("{UNLOCK_HINT}{}{UNLOCK_TAIL}", k.unlock_key);
    }
    Ok(0)
}

#[derive(Parser)]
struct CaCmd {
    #[arg(
        long,
        help = "Rotate the swarm CA - if no certificate or key are provided, new ones will be generated"
    )]
    rotate: bool,
    #[arg(
        short = 'd',
        long,
        help = "Exit immediately instead of waiting for the root rotation to converge"
    )]
    detach: bool,
    #[arg(short = 'q', long, help = "Suppress progress output")]
    quiet: bool,
    #[arg(
        long,
        help = "Path to the PEM-formatted root CA certificate to use for the new cluster",
        value_name = "pem-file"
    )]
    ca_cert: Option<String>,
    #[arg(
        long,
        help = "Path to the PEM-formatted root CA key to use for the new cluster",
        value_name = "pem-file"
    )]
    ca_key: Option<String>,
    #[arg(
        long,
        help = "Validity period for node certificates (ns|us|ms|s|m|h) (default 2160h0m0s)",
        value_name = "duration"
    )]
    cert_expiry: Option<String>,
    #[arg(
        long,
        help = "Specifications of one or more certificate signing endpoints",
        value_name = "external-ca"
    )]
    external_ca: Vec<String>,
    args: Vec<String>,
}

fn trust_root(sw: &Value) -> Result<String, Failure> {
    let t = s(sw, &["TLSInfo", "TrustRoot"]);
    if t.is_empty() {
        return Err(fail("No CA information available"));
    }
    Ok(t.trim().to_string())
}

/// The version index and spec of a `GET /swarm` answer, for an update of the spec.
fn versioned_spec(sw: &Value) -> Result<(u64, sw::Spec), Failure> {
    let v = sw["Version"]["Index"].as_u64().unwrap_or(0);
    let spec = serde_json::from_value(sw["Spec"].clone()).map_err(|e| fail(e.to_string()))?;
    Ok((v, spec))
}

/// `swarm ca --rotate`: the spec with `ForceRotate` one up and, when given, the new
/// certificate expiry (nanoseconds).
fn ca_rotate_spec(sw: &Value, cert_expiry: Option<i64>) -> Result<(u64, sw::Spec), Failure> {
    let (v, mut spec) = versioned_spec(sw)?;
    spec.ca_config.force_rotate += 1;
    if let Some(e) = cert_expiry {
        spec.ca_config.node_cert_expiry = e;
    }
    Ok((v, spec))
}

/// `swarm ca [--rotate]`: the root CA certificate; a rotation waits until every node has
/// a certificate from the new root (the docker CLI's root rotation progress).
fn swarm_ca(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: CaCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    let c = ctx.client()?.clone();
    let mut sw = c.get_json("/swarm")?;
    if !o.rotate {
        for (set, flag) in [
            (o.ca_cert.is_some(), "ca-cert"),
            (o.ca_key.is_some(), "ca-key"),
            (o.cert_expiry.is_some(), "cert-expiry"),
            (!o.external_ca.is_empty(), "external-ca"),
        ] {
            if set {
                return Err(fail(format!(
                    "`--{flag}` flag requires the `--rotate` flag to update the CA"
                )));
            }
        }
        println!("{}", trust_root(&sw)?);
        return Ok(0);
    }
    if o.ca_cert.is_some() || o.ca_key.is_some() || !o.external_ca.is_empty() {
        return Err(fail(
            "rotating to a given root CA certificate, key or external CA is not supported by berth",
        ));
    }
    let cert_expiry = match &o.cert_expiry {
        Some(e) => Some(parse_duration(e).map_err(fail)?),
        None => None,
    };
    let (version, spec) = ca_rotate_spec(&sw, cert_expiry)?;
    c.call(
        "POST",
        &format!("/swarm/update?version={version}"),
        Body::typed(&spec)?,
    )?
    .bytes()?;
    if o.detach {
        return Ok(0);
    }
    // Progress: the new root's digest, then nodes with its certificates and trust root.
    let mut d = super::service_progress::Display::new();
    if o.quiet {
        d.silence();
    }
    d.progress("desired root digest", "", None);
    d.progress("  rotated TLS certificates", "", None);
    d.progress("  rotated CA certificates", " ", None);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        sw = c.get_json("/swarm")?;
        let want = &sw["TLSInfo"];
        let root = s(&sw, &["TLSInfo", "TrustRoot"]);
        let digest = {
            use sha2::Digest;
            format!(
                "sha256:{}",
                hex::encode(sha2::Sha256::digest(root.as_bytes()))
            )
        };
        d.progress("desired root digest", &digest, None);
        let nodes = c.get_json("/nodes")?;
        let nodes = nodes.as_array().cloned().unwrap_or_default();
        let total = nodes.len() as i64;
        let certs = nodes
            .iter()
            .filter(|n| {
                let t = &n["Description"]["TLSInfo"];
                t["CertIssuerPublicKey"] == want["CertIssuerPublicKey"]
                    && t["CertIssuerSubject"] == want["CertIssuerSubject"]
            })
            .count() as i64;
        let roots = nodes
            .iter()
            .filter(|n| s(n, &["Description", "TLSInfo", "TrustRoot"]) == root)
            .count() as i64;
        let in_progress = sw["RootRotationInProgress"].as_bool().unwrap_or(false);
        d.progress("  rotated TLS certificates", "", Some((certs, total)));
        let shown_roots = if certs == total && !in_progress {
            roots
        } else {
            0
        };
        d.progress("  rotated CA certificates", " ", Some((shown_roots, total)));
        if certs == total && !in_progress && roots == total {
            break;
        }
        if std::time::Instant::now() > deadline {
            return Err(fail("the root CA rotation did not converge"));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    println!("{}", trust_root(&c.get_json("/swarm")?)?);
    Ok(0)
}

// ---- nodes --------------------------------------------------------------------------------

#[derive(Parser)]
struct ListCmd {
    #[arg(short = 'q', long, help = "Only display IDs")]
    quiet: bool,
    #[arg(
        short = 'f',
        long,
        help = "Filter output based on conditions provided",
        value_name = "filter"
    )]
    filter: Vec<String>,
    #[arg(
        long,
        help = super::FORMAT_HELP,
        value_name = "string"
    )]
    format: Option<String>,
    args: Vec<String>,
}

const NODE_HEADERS: &[(&str, &str)] = &[
    ("ID", "ID"),
    ("Self", "SELF"),
    ("Hostname", "HOSTNAME"),
    ("Status", "STATUS"),
    ("Availability", "AVAILABILITY"),
    ("ManagerStatus", "MANAGER STATUS"),
    ("EngineVersion", "ENGINE VERSION"),
    ("TLSStatus", "TLS STATUS"),
];

/// A list (`/nodes`, `/services`, `/tasks`, `/secrets`, `/configs`) with the `--filter`s,
/// read as berth-api's swarm models.
fn filtered<T: serde::de::DeserializeOwned>(
    ctx: &mut Ctx,
    path: &str,
    filter: &[String],
    extra: &[String],
) -> Result<Vec<T>, Failure> {
    let mut qs: Vec<String> = extra.to_vec();
    if let Some(f) = filters_json(filter).map_err(fail)? {
        qs.push(format!("filters={}", q(&f)));
    }
    Ok(ctx.client()?.get_typed(&format!("{path}{}", query(&qs)))?)
}

/// `GET /info`'s `Swarm` section (the rest of the answer is not read: the whole
/// `SystemInfo` is read strictly, and this must not fail on another daemon's).
pub fn swarm_info(c: &Client) -> Result<sw::Info, ClientError> {
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct InfoSwarm {
        #[serde(rename = "Swarm")]
        swarm: sw::Info,
    }
    Ok(c.get_typed::<InfoSwarm>("/info")?.swarm)
}

fn node_ls(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ListCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    let me = swarm_info(ctx.client()?)?.node_id;
    let nodes: Vec<sw::Node> = filtered(ctx, "/nodes", &o.filter, &[])?;
    let mut rows: Vec<Value> = nodes
        .iter()
        .map(|n| {
            let id = &n.id;
            let manager = n.manager_status.as_ref();
            let leader = manager.is_some_and(|m| m.leader);
            let reachability = manager.map(|m| m.reachability.as_str()).unwrap_or("");
            json!({
                // `-q` prints the bare id; the table marks this node with " *".
                "ID": if *id == me && !o.quiet { format!("{id} *") } else { id.clone() },
                "Self": *id == me,
                "Hostname": n.description.hostname,
                "Status": capitalize(&n.status.state),
                "Availability": capitalize(&n.spec.availability),
                "ManagerStatus": if leader { "Leader".to_string() } else { capitalize(reachability) },
                "EngineVersion": n.description.engine.engine_version,
                "TLSStatus": "Ready",
            })
        })
        .collect();
    rows.sort_by_key(|r| s(r, &["Hostname"]));
    print_table(
        &o.format,
        o.quiet,
        "ID",
        "table {{.ID}}\t{{.Hostname}}\t{{.Status}}\t{{.Availability}}\t{{.ManagerStatus}}\t{{.EngineVersion}}",
        NODE_HEADERS,
        &rows,
    )
}

#[derive(Parser)]
struct InspectCmd {
    #[arg(
        short = 'f',
        long,
        help = super::INSPECT_FORMAT_HELP,
        value_name = "string"
    )]
    format: Option<String>,
    #[arg(long, help = "Print the information in a human friendly format")]
    pretty: bool,
    args: Vec<String>,
}

fn inspect_each(ctx: &mut Ctx, o: &InspectCmd, base: &str, resolve_self: bool) -> CmdResult {
    let output = InspectOutput::new(o.format.as_deref())?;
    let mut found = Vec::new();
    let mut errs = Vec::new();
    let me = if resolve_self {
        swarm_info(ctx.client()?)?.node_id
    } else {
        String::new()
    };
    let c = ctx.client()?;
    for name in &o.args {
        let key = if resolve_self && name == "self" {
            &me
        } else {
            name
        };
        match c.get_json(&format!("{base}/{}", q(key))) {
            Ok(v) => found.push(v),
            Err(e) => errs.push(format!("Error response from daemon: {}", e.message())),
        }
    }
    output.print(found)?;
    join_errors(errs)
}

fn node_inspect(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: InspectCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    if o.pretty {
        return node_inspect_pretty(ctx, &o.args);
    }
    inspect_each(ctx, &o, "/nodes", true)
}

/// `node inspect --pretty` (which overrides `--format`, as docker's does): every node or
/// nothing, as the docker CLI renders all of them before it prints.
fn node_inspect_pretty(ctx: &mut Ctx, names: &[String]) -> CmdResult {
    let c = ctx.client()?.clone();
    let mut out = String::new();
    for name in names {
        let key = if name == "self" {
            let me = swarm_info(&c)?.node_id;
            if me.is_empty() {
                return Err(fail("node ID not found in /info"));
            }
            me
        } else {
            name.clone()
        };
        let node = c.get_json(&format!("/nodes/{}", q(&key)))?;
        out.push_str(&super::node_pretty::render(&node));
        out.push('\n');
    }
    print!("{out}");
    Ok(0)
}

#[derive(Parser)]
struct NodeUpdateCmd {
    #[arg(
        long,
        help = "Availability of the node (\"active\", \"pause\", \"drain\")",
        value_name = "string"
    )]
    availability: Option<String>,
    #[arg(
        long,
        help = "Role of the node (\"worker\", \"manager\")",
        value_name = "string"
    )]
    role: Option<String>,
    #[arg(
        long,
        help = "Add or update a node label (\"key=value\")",
        value_name = "list"
    )]
    label_add: Vec<String>,
    #[arg(long, help = "Remove a node label if exists", value_name = "list")]
    label_rm: Vec<String>,
    args: Vec<String>,
}

fn node_update(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: NodeUpdateCmd = parse(inv, args)?;
    inv.exactly(&o.args, 1)?;
    let c = ctx.client()?;
    let n = c.get_json(&format!("/nodes/{}", q(&o.args[0])))?;
    let mut spec: sw::NodeSpec =
        serde_json::from_value(n["Spec"].clone()).map_err(|e| fail(e.to_string()))?;
    if let Some(a) = o.availability {
        spec.availability = a;
    }
    if let Some(r) = o.role {
        spec.role = r;
    }
    for l in &o.label_add {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        spec.labels.insert(k.to_string(), v.to_string());
    }
    for k in &o.label_rm {
        if spec.labels.remove(k).is_none() {
            return Err(fail(format!("key {k} doesn't exist in node's labels")));
        }
    }
    let v = n["Version"]["Index"].as_u64().unwrap_or(0);
    let body = serde_json::to_value(&spec).map_err(|e| fail(e.to_string()))?;
    c.call(
        "POST",
        &format!("/nodes/{}/update?version={v}", q(&s(&n, &["ID"]))),
        Body::Json(body),
    )?
    .bytes()?;
    println!("{}", o.args[0]);
    Ok(0)
}

// ---- tasks (node ps, service ps) ----------------------------------------------------------

const TASK_HEADERS: &[(&str, &str)] = &[
    ("ID", "ID"),
    ("Name", "NAME"),
    ("Image", "IMAGE"),
    ("Node", "NODE"),
    ("DesiredState", "DESIRED STATE"),
    ("CurrentState", "CURRENT STATE"),
    ("Error", "ERROR"),
    ("Ports", "PORTS"),
];

#[derive(Parser)]
struct PsCmd {
    #[arg(short = 'q', long, help = "Only display task IDs")]
    quiet: bool,
    #[arg(
        short = 'f',
        long,
        help = "Filter output based on conditions provided",
        value_name = "filter"
    )]
    filter: Vec<String>,
    #[arg(
        long,
        help = "Pretty-print tasks using a Go template",
        value_name = "string"
    )]
    format: Option<String>,
    #[arg(long, help = "Do not truncate output")]
    no_trunc: bool,
    #[arg(long, help = "Do not map IDs to Names")]
    no_resolve: bool,
    args: Vec<String>,
}

fn task_rows(
    ctx: &mut Ctx,
    tasks: &[sw::Task],
    no_trunc: bool,
    no_resolve: bool,
) -> Result<Vec<Value>, Failure> {
    let c = ctx.client()?;
    let services: Vec<sw::Service> = c.get_typed("/services")?;
    let nodes: Vec<sw::Node> = c.get_typed("/nodes")?;
    let svc_name = |id: &str| {
        services
            .iter()
            .find(|x| x.id == id)
            .map(|x| x.spec.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let node_name = |id: &str| {
        nodes
            .iter()
            .find(|x| x.id == id)
            .map(|x| x.description.hostname.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let mut tasks: Vec<&sw::Task> = tasks.iter().collect();
    // docker: by service name, slot, then newest first. (A slot of 0 is not written, so
    // it sorts first as the absent slot did when this read JSON values.)
    tasks.sort_by(|a, b| {
        (svc_name(&a.service_id), a.slot, &b.meta.created_at).cmp(&(
            svc_name(&b.service_id),
            b.slot,
            &a.meta.created_at,
        ))
    });
    let mut prev_slot: Option<(String, u64, String)> = None;
    let mut rows = Vec::new();
    for t in tasks {
        let svc = if no_resolve {
            t.service_id.clone()
        } else {
            svc_name(&t.service_id)
        };
        let slot = t.slot;
        let node_id = t.node_id.clone();
        let mut name = if slot > 0 {
            format!("{svc}.{slot}")
        } else {
            format!("{svc}.{node_id}")
        };
        let key = (
            svc.clone(),
            slot,
            if slot > 0 {
                String::new()
            } else {
                node_id.clone()
            },
        );
        if prev_slot.as_ref() == Some(&key) {
            name = format!(" \\_ {name}");
        }
        prev_slot = Some(key);
        let id = &t.id;
        let mut err = t.status.err.clone();
        if !no_trunc && err.chars().count() > 29 {
            err = format!("\"{}…\"", err.chars().take(29).collect::<String>());
        } else if !err.is_empty() {
            err = format!("\"{err}\"");
        }
        let mut image = t
            .spec
            .container_spec
            .as_ref()
            .map(|c| c.image.clone())
            .unwrap_or_default();
        if !no_trunc {
            if let Some(i) = image.find("@sha256:") {
                image.truncate(i);
            }
        }
        rows.push(json!({
            "ID": if no_trunc { id.clone() } else { id.chars().take(12).collect() },
            "Name": name,
            "Image": image,
            "Node": if no_resolve { node_id.clone() } else { node_name(&node_id) },
            "DesiredState": capitalize(&t.desired_state),
            // The docker CLI lowercases the duration here ("Running less than a second ago").
            "CurrentState": format!("{} {}", capitalize(&t.status.state), ago(&t.status.timestamp).to_lowercase()),
            "Error": err,
            "Ports": "",
        }));
    }
    Ok(rows)
}

fn print_tasks(ctx: &mut Ctx, o: &PsCmd, tasks: &[sw::Task]) -> CmdResult {
    let rows = task_rows(ctx, tasks, o.no_trunc, o.no_resolve)?;
    print_table(
        &o.format,
        o.quiet,
        "ID",
        "table {{.ID}}\t{{.Name}}\t{{.Image}}\t{{.Node}}\t{{.DesiredState}}\t{{.CurrentState}}\t{{.Error}}\t{{.Ports}}",
        TASK_HEADERS,
        &rows,
    )
}

fn node_ps(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: PsCmd = parse(inv, args)?;
    let nodes = if o.args.is_empty() {
        vec!["self".to_string()]
    } else {
        o.args.clone()
    };
    let me = swarm_info(ctx.client()?)?.node_id;
    let mut all: Vec<sw::Task> = Vec::new();
    for n in nodes {
        let key = if n == "self" { me.clone() } else { n };
        let node: sw::Node = ctx.client()?.get_typed(&format!("/nodes/{}", q(&key)))?;
        let mut f = o.filter.clone();
        f.push(format!("node={}", node.id));
        all.extend(filtered::<sw::Task>(ctx, "/tasks", &f, &[])?);
    }
    print_tasks(ctx, &o, &all)
}

fn service_ps(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: PsCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    let mut all: Vec<sw::Task> = Vec::new();
    for name in &o.args {
        let svc: sw::Service = match ctx.client()?.get_typed(&format!("/services/{}", q(name))) {
            Ok(v) => v,
            Err(e) if e.status() == Some(404) => {
                return Err(fail(format!("no such service: {name}")))
            }
            Err(e) => return Err(e.into()),
        };
        let mut f = o.filter.clone();
        f.push(format!("service={}", svc.id));
        all.extend(filtered::<sw::Task>(ctx, "/tasks", &f, &[])?);
    }
    print_tasks(ctx, &o, &all)
}

// ---- services ------------------------------------------------------------------------------

const SERVICE_HEADERS: &[(&str, &str)] = &[
    ("ID", "ID"),
    ("Name", "NAME"),
    ("Mode", "MODE"),
    ("Replicas", "REPLICAS"),
    ("Image", "IMAGE"),
    ("Ports", "PORTS"),
];

fn service_ls(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ListCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    let svcs: Vec<sw::Service> =
        filtered(ctx, "/services", &o.filter, &["status=true".to_string()])?;
    let mut rows: Vec<Value> = svcs
        .iter()
        .map(|x| {
            let mode = &x.spec.mode;
            // The counts as the daemon sent them; `null` (as printed before these were
            // typed) when it sent no ServiceStatus, which `status=true` always asks for.
            let st = x.service_status.as_ref();
            let count = |f: fn(&sw::ServiceStatus) -> u64| {
                st.map_or_else(|| "null".to_string(), |s| f(s).to_string())
            };
            let running = count(|s| s.running_tasks);
            let desired = count(|s| s.desired_tasks);
            let completed = count(|s| s.completed_tasks);
            let (m, replicas) = if mode.global.is_some() {
                ("global", format!("{running}/{desired}"))
            } else if let Some(job) = &mode.replicated_job {
                (
                    "replicated job",
                    format!(
                        "{running}/{desired} ({completed}/{} completed)",
                        job.total_completions.unwrap_or(1)
                    ),
                )
            } else if mode.global_job.is_some() {
                (
                    "global job",
                    format!(
                        "{running}/{desired} ({completed}/{} completed)",
                        // The docker CLI's total: still desired plus completed.
                        st.map_or(0, |s| s.desired_tasks + s.completed_tasks)
                    ),
                )
            } else {
                (
                    "replicated",
                    format!(
                        "{running}/{}",
                        mode.replicated
                            .as_ref()
                            .and_then(|r| r.replicas)
                            .unwrap_or(0)
                    ),
                )
            };
            let mut image = x
                .spec
                .task_template
                .container_spec
                .as_ref()
                .map(|c| c.image.clone())
                .unwrap_or_default();
            if let Some(i) = image.find("@sha256:") {
                image.truncate(i);
            }
            json!({
                "ID": x.id.chars().take(12).collect::<String>(),
                "Name": x.spec.name,
                "Mode": m,
                "Replicas": replicas,
                "Image": image,
                "Ports": "",
            })
        })
        .collect();
    rows.sort_by_key(|r| s(r, &["Name"]));
    print_table(
        &o.format,
        o.quiet,
        "ID",
        "table {{.ID}}\t{{.Name}}\t{{.Mode}}\t{{.Replicas}}\t{{.Image}}\t{{.Ports}}",
        SERVICE_HEADERS,
        &rows,
    )
}

fn service_inspect(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: InspectCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    if o.pretty {
        // The docker CLI renders every service before it prints: the first one missing
        // fails the command with nothing printed.
        let c = ctx.client()?;
        let mut out = String::new();
        for name in &o.args {
            let v = match c.get_json(&format!("/services/{}?insertDefaults=true", q(name))) {
                Ok(v) => v,
                Err(e) if e.status() == Some(404) => {
                    return Err(fail(format!("Error: no such service: {name}")));
                }
                Err(e) => return Err(e.into()),
            };
            let name_of = |id: &str| {
                c.get_json(&format!("/networks/{}?scope=swarm", q(id)))
                    .ok()
                    .map(|n| s(&n, &["Name"]))
            };
            if let Some(e) = super::service_pretty::unrenderable(&v) {
                return Err(fail(e));
            }
            // The docker CLI ends the template's text with a newline of its own.
            out.push_str(&super::service_pretty::render(&v, &name_of));
            out.push('\n');
        }
        print!("{out}");
        return Ok(0);
    }
    let output = InspectOutput::new(o.format.as_deref())?;
    let mut found = Vec::new();
    let mut errs = Vec::new();
    let c = ctx.client()?;
    for name in &o.args {
        // As the docker CLI: the daemon's defaults shown for what the spec leaves unset.
        match c.get_json(&format!("/services/{}?insertDefaults=true", q(name))) {
            Ok(v) => found.push(v),
            Err(e) if e.status() == Some(404) => {
                errs.push(format!("Error: no such service: {name}"))
            }
            Err(e) => errs.push(e.to_string()),
        }
    }
    output.print(found)?;
    join_errors(errs)
}

fn service_rm(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: NoFlags = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    let c = ctx.client()?;
    let mut errs = Vec::new();
    for name in &o.args {
        match c
            .call("DELETE", &format!("/services/{}", q(name)), Body::None)
            .and_then(|r| r.bytes())
        {
            Ok(_) => println!("{name}"),
            Err(e) => errs.push(format!("Error response from daemon: {}", e.message())),
        }
    }
    join_errors(errs)
}

/// The flags of `service create` and `service update` that berth implements.
#[derive(Parser, Default)]
struct SpecFlags {
    #[arg(long, help = "Service name", value_name = "string")]
    name: Option<String>,
    #[arg(long, help = "Number of tasks", value_name = "uint")]
    replicas: Option<u64>,
    #[arg(
        long,
        help = "Service mode (\"replicated\", \"global\", \"replicated-job\", \"global-job\") (default \"replicated\")",
        value_name = "string"
    )]
    mode: Option<String>,
    #[arg(
        short = 'e',
        long,
        value_parser = super::service_flags::parse_log_opt,
        help = "Set environment variables",
        value_name = "list"
    )]
    env: Vec<String>,
    #[arg(
        long = "env-file",
        help = "Read in a file of environment variables",
        value_name = "list"
    )]
    env_file: Vec<String>,
    #[arg(
        long,
        help = "Set one or more supplementary user groups for the container",
        value_name = "list"
    )]
    group: Vec<String>,
    #[arg(long, value_parser = super::service_flags::parse_host, help = "Set one or more custom host-to-IP mappings (host:ip)", value_name = "list")]
    host: Vec<String>,
    #[arg(long, help = "Service container isolation mode", value_name = "string")]
    isolation: Option<String>,
    #[arg(long = "credential-spec", value_parser = super::service_flags::parse_credential_spec, help = "Credential spec for managed service account (Windows only)", value_name = "credential-spec")]
    credential_spec: Option<String>,
    #[arg(long = "generic-resource", value_parser = super::service_flags::parse_generic_resource, help = "User defined resources", value_name = "list")]
    generic_resource: Vec<String>,
    #[arg(short = 'l', long, help = "Service labels", value_name = "list")]
    label: Vec<String>,
    #[arg(long, help = "Container labels", value_name = "list")]
    container_label: Vec<String>,
    #[arg(long, help = "Placement constraints", value_name = "list")]
    constraint: Vec<String>,
    #[arg(long, value_parser = super::service_flags::parse_placement_pref, help = "Add a placement preference", value_name = "pref")]
    placement_pref: Vec<String>,
    #[arg(
        long,
        help = "Specify secrets to expose to the service",
        value_name = "secret"
    )]
    secret: Vec<String>,
    #[arg(
        long,
        help = "Specify configurations to expose to the service",
        value_name = "config"
    )]
    config: Vec<String>,
    #[arg(long, help = "Limit CPUs", value_name = "decimal")]
    limit_cpu: Option<f64>,
    #[arg(long, help = "Limit Memory", value_name = "bytes")]
    limit_memory: Option<String>,
    #[arg(long, help = "Reserve CPUs", value_name = "decimal")]
    reserve_cpu: Option<f64>,
    #[arg(long, help = "Reserve Memory", value_name = "bytes")]
    reserve_memory: Option<String>,
    #[arg(
        long,
        help = "Restart when condition is met (\"none\", \"on-failure\", \"any\") (default \"any\")",
        value_name = "string"
    )]
    restart_condition: Option<String>,
    #[arg(
        long,
        help = "Delay between restart attempts (ns|us|ms|s|m|h) (default 5s)",
        value_name = "duration"
    )]
    restart_delay: Option<String>,
    #[arg(
        long,
        help = "Maximum number of restarts before giving up",
        value_name = "uint"
    )]
    restart_max_attempts: Option<u64>,
    #[arg(
        long,
        help = "Window used to evaluate the restart policy (ns|us|ms|s|m|h)",
        value_name = "duration"
    )]
    restart_window: Option<String>,
    #[arg(
        long,
        help = "Maximum number of tasks updated simultaneously (0 to update all at once) (default 1)",
        value_name = "uint"
    )]
    update_parallelism: Option<u64>,
    #[arg(
        long,
        help = "Delay between updates (ns|us|ms|s|m|h) (default 0s)",
        value_name = "duration"
    )]
    update_delay: Option<String>,
    #[arg(
        long,
        help = "Action on update failure (\"pause\", \"continue\", \"rollback\") (default \"pause\")",
        value_name = "string"
    )]
    update_failure_action: Option<String>,
    #[arg(
        long,
        help = "Duration after each task update to monitor for failure (ns|us|ms|s|m|h) (default 5s)",
        value_name = "duration"
    )]
    update_monitor: Option<String>,
    #[arg(
        long,
        help = "Failure rate to tolerate during an update (default 0)",
        value_name = "float"
    )]
    update_max_failure_ratio: Option<f32>,
    #[arg(
        long,
        help = "Update order (\"start-first\", \"stop-first\") (default \"stop-first\")",
        value_name = "string"
    )]
    update_order: Option<String>,
    #[arg(
        long,
        help = "Overwrite the default ENTRYPOINT of the image",
        value_name = "command"
    )]
    entrypoint: Option<String>,
    #[arg(
        short = 'u',
        long,
        help = "Username or UID (format: <name|uid>[:<group|gid>])",
        value_name = "string"
    )]
    user: Option<String>,
    #[arg(
        short = 'w',
        long,
        help = "Working directory inside the container",
        value_name = "string"
    )]
    workdir: Option<String>,
    #[arg(long, help = "Container hostname", value_name = "string")]
    hostname: Option<String>,
    #[arg(long, help = "Service image tag", value_name = "string")]
    image: Option<String>,
    #[arg(long = "args", help = "Service command args", value_name = "command")]
    command_args: Option<String>,
    #[arg(short = 'd', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", help = "Exit immediately instead of waiting for the service to converge", value_name = "bool")]
    detach: Option<bool>,
    #[arg(short = 't', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", help = "Allocate a pseudo-TTY", value_name = "bool")]
    tty: Option<bool>,
    #[arg(short = 'q', long, help = "Suppress progress output")]
    quiet: bool,
    #[arg(long, help = "Force update even if no changes require it")]
    force: bool,
    #[arg(
        short = 'p',
        long,
        help = "Publish a port as a node port",
        value_name = "port"
    )]
    publish: Vec<String>,
    #[arg(long, help = "Network attachments", value_name = "network")]
    network: Vec<String>,
    #[arg(
        long,
        help = "Endpoint mode (vip or dnsrr) (default \"vip\")",
        value_name = "string"
    )]
    endpoint_mode: Option<String>,
    #[arg(
        long,
        help = "Attach a filesystem mount to the service",
        value_name = "mount"
    )]
    mount: Vec<String>,
    #[arg(long, help = "Command to run to check health", value_name = "string")]
    health_cmd: Option<String>,
    #[arg(
        long,
        help = "Time between running the check (ms|s|m|h)",
        value_name = "duration"
    )]
    health_interval: Option<String>,
    #[arg(
        long,
        help = "Maximum time to allow one check to run (ms|s|m|h)",
        value_name = "duration"
    )]
    health_timeout: Option<String>,
    #[arg(
        long,
        help = "Consecutive failures needed to report unhealthy",
        value_name = "int"
    )]
    health_retries: Option<i64>,
    #[arg(
        long,
        help = "Start period for the container to initialize before counting retries towards unstable (ms|s|m|h)",
        value_name = "duration"
    )]
    health_start_period: Option<String>,
    #[arg(
        long,
        help = "Time between running the check during the start period (ms|s|m|h)",
        value_name = "duration"
    )]
    health_start_interval: Option<String>,
    #[arg(long, help = "Disable any container-specified HEALTHCHECK")]
    no_healthcheck: bool,
    #[arg(
        long,
        help = "Maximum number of tasks rolled back simultaneously (0 to roll back all at once) (default 1)",
        value_name = "uint"
    )]
    rollback_parallelism: Option<u64>,
    #[arg(
        long,
        help = "Delay between task rollbacks (ns|us|ms|s|m|h) (default 0s)",
        value_name = "duration"
    )]
    rollback_delay: Option<String>,
    #[arg(
        long,
        help = "Action on rollback failure (\"pause\", \"continue\") (default \"pause\")",
        value_name = "string"
    )]
    rollback_failure_action: Option<String>,
    #[arg(
        long,
        help = "Duration after each task rollback to monitor for failure (ns|us|ms|s|m|h) (default 5s)",
        value_name = "duration"
    )]
    rollback_monitor: Option<String>,
    #[arg(
        long,
        help = "Failure rate to tolerate during a rollback (default 0)",
        value_name = "float"
    )]
    rollback_max_failure_ratio: Option<f32>,
    #[arg(
        long,
        help = "Rollback order (\"start-first\", \"stop-first\") (default \"stop-first\")",
        value_name = "string"
    )]
    rollback_order: Option<String>,
    #[arg(
        long,
        help = "Time to wait before force killing a container (ns|us|ms|s|m|h) (default 10s)",
        value_name = "duration"
    )]
    stop_grace_period: Option<String>,
    #[arg(long, help = "Signal to stop the container", value_name = "string")]
    stop_signal: Option<String>,
    #[arg(long = "cap-add", help = "Add Linux capabilities", value_name = "list")]
    cap_add: Vec<String>,
    #[arg(
        long = "cap-drop",
        help = "Drop Linux capabilities",
        value_name = "list"
    )]
    cap_drop: Vec<String>,
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", help = "Use an init inside each service container to forward signals and reap processes", value_name = "bool")]
    init: Option<bool>,
    #[arg(long = "read-only", num_args = 0..=1, require_equals = true, default_missing_value = "true", help = "Mount the container's root filesystem as read only", value_name = "bool")]
    read_only: Option<bool>,
    #[arg(
        long = "limit-pids",
        help = "Limit maximum number of processes (default 0 = unlimited)",
        value_name = "int",
        allow_negative_numbers = true
    )]
    limit_pids: Option<i64>,
    #[arg(
        long = "oom-score-adj",
        help = "Tune host's OOM preferences (-1000 to 1000) ",
        value_name = "int",
        allow_negative_numbers = true
    )]
    oom_score_adj: Option<i64>,
    #[arg(
        long = "max-concurrent",
        help = "Number of job tasks to run concurrently (default equal to --replicas)",
        value_name = "uint"
    )]
    max_concurrent: Option<u64>,
    #[arg(
        long = "replicas-max-per-node",
        help = "Maximum number of tasks per node (default 0 = unlimited)",
        value_name = "uint"
    )]
    replicas_max_per_node: Option<u64>,
    #[arg(
        long = "no-resolve-image",
        help = "Do not query the registry to resolve image digest and supported platforms"
    )]
    no_resolve_image: bool,
    #[arg(
        long = "log-driver",
        help = "Logging driver for service",
        value_name = "string"
    )]
    log_driver: Option<String>,
    #[arg(long = "log-opt", value_parser = super::service_flags::parse_log_opt, help = "Logging driver options", value_name = "list")]
    log_opt: Vec<String>,
    #[arg(long, value_parser = super::service_flags::parse_dns, help = "Set custom DNS servers", value_name = "list")]
    dns: Vec<String>,
    #[arg(long = "dns-option", help = "Set DNS options", value_name = "list")]
    dns_option: Vec<String>,
    #[arg(long = "dns-search", value_parser = super::service_flags::parse_dns_search, help = "Set custom DNS search domains", value_name = "list")]
    dns_search: Vec<String>,
    #[arg(long, help = "Sysctl options", value_name = "list")]
    sysctl: Vec<String>,
    #[arg(long, value_parser = super::create::parse_ulimit, help = "Ulimit options (default [])", value_name = "ulimit")]
    ulimit: Vec<String>,
    // `service update`'s edits.
    #[arg(long, help = "Add or update a published port", value_name = "port")]
    publish_add: Vec<String>,
    #[arg(
        long,
        help = "Remove a published port by its target port",
        value_name = "port"
    )]
    publish_rm: Vec<String>,
    #[arg(long, help = "Add a network", value_name = "network")]
    network_add: Vec<String>,
    #[arg(long, help = "Remove a network", value_name = "list")]
    network_rm: Vec<String>,
    #[arg(
        long,
        help = "Add or update an environment variable",
        value_name = "list"
    )]
    env_add: Vec<String>,
    #[arg(long, help = "Remove an environment variable", value_name = "list")]
    env_rm: Vec<String>,
    #[arg(long, help = "Add or update a service label", value_name = "list")]
    label_add: Vec<String>,
    #[arg(long, help = "Remove a label by its key", value_name = "list")]
    label_rm: Vec<String>,
    #[arg(long, help = "Add or update a container label", value_name = "list")]
    container_label_add: Vec<String>,
    #[arg(
        long,
        help = "Remove a container label by its key",
        value_name = "list"
    )]
    container_label_rm: Vec<String>,
    #[arg(
        long,
        help = "Add or update a secret on a service",
        value_name = "secret"
    )]
    secret_add: Vec<String>,
    #[arg(long, help = "Remove a secret", value_name = "list")]
    secret_rm: Vec<String>,
    #[arg(
        long,
        help = "Add or update a config file on a service",
        value_name = "config"
    )]
    config_add: Vec<String>,
    #[arg(long, help = "Remove a configuration file", value_name = "list")]
    config_rm: Vec<String>,
    #[arg(
        long,
        help = "Add or update a mount on a service",
        value_name = "mount"
    )]
    mount_add: Vec<String>,
    #[arg(long, help = "Remove a mount by its target path", value_name = "list")]
    mount_rm: Vec<String>,
    #[arg(
        long,
        help = "Add or update a placement constraint",
        value_name = "list"
    )]
    constraint_add: Vec<String>,
    #[arg(long, help = "Remove a constraint", value_name = "list")]
    constraint_rm: Vec<String>,
    #[arg(
        long = "placement-pref-add",
        value_parser = super::service_flags::parse_placement_pref,
        help = "Add a placement preference",
        value_name = "pref"
    )]
    placement_pref_add: Vec<String>,
    #[arg(
        long = "placement-pref-rm",
        value_parser = super::service_flags::parse_placement_pref,
        help = "Remove a placement preference",
        value_name = "pref"
    )]
    placement_pref_rm: Vec<String>,
    #[arg(
        long = "group-add",
        help = "Add an additional supplementary user group to the container",
        value_name = "list"
    )]
    group_add: Vec<String>,
    #[arg(
        long = "group-rm",
        help = "Remove a previously added supplementary user group from the container",
        value_name = "list"
    )]
    group_rm: Vec<String>,
    #[arg(long = "host-add", value_parser = super::service_flags::parse_host, help = "Add a custom host-to-IP mapping (\"host:ip\")", value_name = "list")]
    host_add: Vec<String>,
    #[arg(
        long = "host-rm",
        help = "Remove a custom host-to-IP mapping (\"host:ip\")",
        value_name = "list"
    )]
    host_rm: Vec<String>,
    #[arg(long = "generic-resource-add", value_parser = super::service_flags::parse_generic_resource, help = "Add a Generic resource", value_name = "list")]
    generic_resource_add: Vec<String>,
    #[arg(
        long = "generic-resource-rm",
        help = "Remove a Generic resource",
        value_name = "list"
    )]
    generic_resource_rm: Vec<String>,
    #[arg(long = "dns-add", value_parser = super::service_flags::parse_dns, help = "Add or update a custom DNS server", value_name = "list")]
    dns_add: Vec<String>,
    #[arg(
        long = "dns-rm",
        help = "Remove a custom DNS server",
        value_name = "list"
    )]
    dns_rm: Vec<String>,
    #[arg(
        long = "dns-option-add",
        help = "Add or update a DNS option",
        value_name = "list"
    )]
    dns_option_add: Vec<String>,
    #[arg(
        long = "dns-option-rm",
        help = "Remove a DNS option",
        value_name = "list"
    )]
    dns_option_rm: Vec<String>,
    #[arg(long = "dns-search-add", value_parser = super::service_flags::parse_dns_search, help = "Add or update a custom DNS search domain", value_name = "list")]
    dns_search_add: Vec<String>,
    #[arg(
        long = "dns-search-rm",
        help = "Remove a DNS search domain",
        value_name = "list"
    )]
    dns_search_rm: Vec<String>,
    #[arg(
        long = "sysctl-add",
        help = "Add or update a Sysctl option",
        value_name = "list"
    )]
    sysctl_add: Vec<String>,
    #[arg(
        long = "sysctl-rm",
        help = "Remove a Sysctl option",
        value_name = "list"
    )]
    sysctl_rm: Vec<String>,
    #[arg(long = "ulimit-add", value_parser = super::create::parse_ulimit, help = "Add or update a ulimit option (default [])", value_name = "ulimit")]
    ulimit_add: Vec<String>,
    #[arg(
        long = "ulimit-rm",
        help = "Remove a ulimit option",
        value_name = "list"
    )]
    ulimit_rm: Vec<String>,
    #[arg(long, help = "Rollback to previous specification")]
    rollback: bool,
    #[arg(long, help = "Send registry authentication details to swarm agents")]
    with_registry_auth: bool,
    args: Vec<String>,
}

/// `busybox` → `busybox:latest`, as the docker CLI records service images.
fn tagged(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') || last.contains(':') {
        image.to_string()
    } else {
        format!("{image}:latest")
    }
}

fn nanos_cpu(v: f64) -> i64 {
    (v * 1e9) as i64
}

fn file_ref(
    spec: &str,
    default_target_dir: bool,
) -> Result<(String, sw::SecretReferenceFileTarget), Failure> {
    let mut source = String::new();
    let mut f = sw::SecretReferenceFileTarget {
        uid: "0".into(),
        gid: "0".into(),
        mode: 0o444,
        ..Default::default()
    };
    if !spec.contains('=') {
        source = spec.to_string();
    } else {
        for part in spec.split(',') {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| fail(format!("invalid field '{part}' must be a key=value pair")))?;
            match k {
                "source" | "src" => source = v.to_string(),
                "target" => f.name = v.to_string(),
                "uid" => f.uid = v.to_string(),
                "gid" => f.gid = v.to_string(),
                "mode" => {
                    f.mode = u32::from_str_radix(v, 8)
                        .map_err(|_| fail(format!("invalid mode specified: {v}")))?
                }
                _ => return Err(fail(format!("invalid field in secret request: {k}"))),
            }
        }
    }
    if f.name.is_empty() {
        f.name = source.clone();
    }
    let _ = default_target_dir;
    Ok((source, f))
}

fn apply_flags(
    ctx: &mut Ctx,
    spec: &mut sw::ServiceSpec,
    o: &SpecFlags,
    create: bool,
) -> Result<(), Failure> {
    if let Some(n) = &o.name {
        spec.name = n.clone();
    }
    let tt = &mut spec.task_template;
    let c = tt.container_spec.get_or_insert_with(Default::default);
    if let Some(i) = &o.image {
        c.image = tagged(i);
    }
    use super::service_flags as sf;
    if create {
        let mut env = sf::read_env_files(&o.env_file).map_err(fail)?;
        env.extend(o.env.iter().cloned());
        c.env = sf::make_env(env);
        c.groups = o.group.clone();
        c.hosts = sf::swarm_hosts(&o.host);
    } else {
        if let Some(a) = &o.command_args {
            c.args = sf::shlex_split(a).map_err(fail)?;
        }
        if !o.group_add.is_empty() || !o.group_rm.is_empty() {
            sf::update_groups(&mut c.groups, &o.group_add, &o.group_rm);
        }
        if !o.host_add.is_empty() || !o.host_rm.is_empty() {
            sf::update_hosts(&mut c.hosts, &o.host_add, &o.host_rm);
        }
    }
    if let Some(i) = &o.isolation {
        c.isolation = i.clone();
    }
    for l in &o.container_label {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        c.labels.insert(k.into(), v.into());
    }
    if let Some(e) = &o.entrypoint {
        c.command = sf::shlex_split(e).map_err(fail)?;
    }
    if let Some(u) = &o.user {
        c.user = u.clone();
    }
    if let Some(w) = &o.workdir {
        c.dir = w.clone();
    }
    if let Some(h) = &o.hostname {
        c.hostname = h.clone();
    }
    if let Some(t) = o.tty {
        c.tty = t;
    }
    if let Some(g) = &o.stop_grace_period {
        c.stop_grace_period = Some(parse_duration(g).map_err(fail)?);
    }
    if let Some(sig) = &o.stop_signal {
        c.stop_signal = sig.clone();
    }
    // Edits of `service update` (the removals first, as the docker CLI applies them).
    if create {
        // docker's create always sends Init (false unless `--init`) and a DNS config.
        c.init = Some(o.init.unwrap_or(false));
        if !o.cap_add.is_empty() || !o.cap_drop.is_empty() {
            (c.capability_add, c.capability_drop) = sf::effective_caps(&o.cap_add, &o.cap_drop);
        }
        c.dns_config = Some(sw::DnsConfig {
            nameservers: o.dns.clone(),
            search: o.dns_search.clone(),
            options: o.dns_option.clone(),
        });
        c.sysctls.extend(sf::kv_map(&o.sysctl));
        sf::update_ulimits(&mut c.ulimits, &o.ulimit, &[]).map_err(fail)?;
    } else {
        if o.init.is_some() {
            c.init = o.init;
        }
        sf::update_caps(c, &o.cap_add, &o.cap_drop);
        if !(o.dns_add.is_empty()
            && o.dns_rm.is_empty()
            && o.dns_option_add.is_empty()
            && o.dns_option_rm.is_empty()
            && o.dns_search_add.is_empty()
            && o.dns_search_rm.is_empty())
        {
            let d = c.dns_config.get_or_insert_with(Default::default);
            sf::update_list(&mut d.nameservers, &o.dns_add, &o.dns_rm);
            sf::update_list(&mut d.search, &o.dns_search_add, &o.dns_search_rm);
            sf::update_list(&mut d.options, &o.dns_option_add, &o.dns_option_rm);
        }
        for k in sf::kv_map(&o.sysctl_rm).keys() {
            c.sysctls.remove(k);
        }
        c.sysctls.extend(sf::kv_map(&o.sysctl_add));
        sf::update_ulimits(&mut c.ulimits, &o.ulimit_add, &o.ulimit_rm).map_err(fail)?;
    }
    if let Some(r) = o.read_only {
        c.read_only = r;
    }
    if let Some(v) = o.oom_score_adj {
        c.oom_score_adj = v;
    }
    c.env.retain(|e| {
        let k = e.split_once('=').map_or(e.as_str(), |(k, _)| k);
        !o.env_rm.iter().any(|r| r == k)
    });
    for e in &o.env_add {
        let k = e.split_once('=').map_or(e.as_str(), |(k, _)| k).to_string();
        c.env
            .retain(|x| x.split_once('=').map_or(x.as_str(), |(k, _)| k) != k);
        c.env.push(e.clone());
    }
    for k in &o.container_label_rm {
        c.labels.remove(k);
    }
    for l in &o.container_label_add {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        c.labels.insert(k.into(), v.into());
    }
    sf::remove_by(&mut c.secrets, &o.secret_rm, |r| {
        vec![r.secret_name.clone(), r.secret_id.clone()]
    });
    sf::remove_by(&mut c.configs, &o.config_rm, |r| {
        vec![r.config_name.clone(), r.config_id.clone()]
    });
    sf::remove_by(&mut c.mounts, &o.mount_rm, |m| vec![m.target.clone()]);
    for m in o.mount.iter().chain(&o.mount_add) {
        let m = sf::parse_mount(m).map_err(fail)?;
        c.mounts.retain(|x| x.target != m.target);
        c.mounts.push(m);
    }
    if o.no_healthcheck {
        c.healthcheck = Some(sw::HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        });
    } else if o.health_cmd.is_some()
        || o.health_interval.is_some()
        || o.health_timeout.is_some()
        || o.health_retries.is_some()
        || o.health_start_period.is_some()
        || o.health_start_interval.is_some()
    {
        let h = c.healthcheck.get_or_insert_with(Default::default);
        if let Some(cmd) = &o.health_cmd {
            h.test = Some(vec!["CMD-SHELL".into(), cmd.clone()]);
        }
        let dur = |v: &Option<String>| -> Result<Option<i64>, Failure> {
            v.as_deref().map(parse_duration).transpose().map_err(fail)
        };
        if let Some(d) = dur(&o.health_interval)? {
            h.interval = d;
        }
        if let Some(d) = dur(&o.health_timeout)? {
            h.timeout = d;
        }
        if let Some(d) = dur(&o.health_start_period)? {
            h.start_period = d;
        }
        if let Some(d) = dur(&o.health_start_interval)? {
            h.start_interval = d;
        }
        if let Some(r) = o.health_retries {
            h.retries = r;
        }
    }
    let cli = ctx.client()?;
    for sref in o.secret.iter().chain(&o.secret_add) {
        let (src, f) = file_ref(sref, true)?;
        let found = cli
            .get_json(&format!("/secrets/{}", q(&src)))
            // The docker CLI's ParseSecrets/ParseConfigs words (no daemon prefix).
            .map_err(|_| fail(format!("secret not found: {src}")))?;
        c.secrets.push(sw::SecretReference {
            file: Some(f),
            secret_id: s(&found, &["ID"]),
            secret_name: src,
        });
    }
    for cref in o.config.iter().chain(&o.config_add) {
        let (src, f) = file_ref(cref, false)?;
        let found = cli
            .get_json(&format!("/configs/{}", q(&src)))
            // The docker CLI's ParseSecrets/ParseConfigs words (no daemon prefix).
            .map_err(|_| fail(format!("config not found: {src}")))?;
        c.configs.push(sw::ConfigReference {
            file: Some(f),
            runtime: None,
            config_id: s(&found, &["ID"]),
            config_name: src,
        });
    }
    if let Some(cs) = &o.credential_spec {
        credential_spec(ctx, c, cs, create)?;
    }
    let p = tt.placement.get_or_insert_with(Default::default);
    p.constraints.retain(|c| !o.constraint_rm.contains(c));
    p.constraints.extend(o.constraint.iter().cloned());
    p.constraints.extend(o.constraint_add.iter().cloned());
    // Networks (ids or names; the daemon resolves them).
    let nets = if tt.networks.is_empty() && !spec.networks.is_empty() {
        std::mem::take(&mut spec.networks)
    } else {
        std::mem::take(&mut tt.networks)
    };
    let mut nets = nets;
    if !o.network_rm.is_empty() {
        let cli = ctx.client()?;
        let ids: Vec<String> = o
            .network_rm
            .iter()
            .map(|n| {
                cli.get_json(&format!("/networks/{}", q(n)))
                    .map(|v| s(&v, &["Id"]))
                    .unwrap_or_else(|_| n.clone())
            })
            .collect();
        nets.retain(|a| !ids.contains(&a.target) && !o.network_rm.contains(&a.target));
    }
    for n in o.network.iter().chain(&o.network_add) {
        nets.push(sf::parse_network(n).map_err(fail)?);
    }
    tt.networks = nets;
    // Published ports and the endpoint mode.
    if !o.publish.is_empty()
        || !o.publish_add.is_empty()
        || !o.publish_rm.is_empty()
        || o.endpoint_mode.is_some()
    {
        let ep = spec.endpoint_spec.get_or_insert_with(Default::default);
        if let Some(m) = &o.endpoint_mode {
            if !matches!(m.as_str(), "vip" | "dnsrr") {
                return Err(fail(format!(
                    "invalid argument \"{m}\" for \"--endpoint-mode\" flag: invalid endpoint mode"
                )));
            }
            ep.mode = m.clone();
        }
        ep.ports.retain(|p| {
            !o.publish_rm.iter().any(|r| {
                let (port, proto) = r.split_once('/').unwrap_or((r, ""));
                let port = port.rsplit(':').next().unwrap_or(port);
                port == p.target_port.to_string() && (proto.is_empty() || proto == p.protocol)
            })
        });
        for v in o.publish.iter().chain(&o.publish_add) {
            for p in sf::parse_publish(v).map_err(fail)? {
                ep.ports.retain(|x| {
                    !(x.published_port == p.published_port
                        && p.published_port != 0
                        && x.protocol == p.protocol)
                });
                ep.ports.push(p);
            }
        }
    }
    let tt = &mut spec.task_template;
    if !o.placement_pref.is_empty()
        || !o.placement_pref_add.is_empty()
        || !o.placement_pref_rm.is_empty()
    {
        let add: Vec<String> = o
            .placement_pref
            .iter()
            .chain(&o.placement_pref_add)
            .cloned()
            .collect();
        let p = tt.placement.get_or_insert_with(Default::default);
        sf::update_placement_prefs(p, &add, &o.placement_pref_rm);
    }
    // docker drops `--log-opt` without `--log-driver` unseen; berth says so instead.
    let driver = o.log_driver.as_deref().unwrap_or_default();
    if driver.is_empty() && !o.log_opt.is_empty() {
        return Err(fail(
            "--log-opt needs --log-driver: the options are given to the driver they name",
        ));
    }
    if !driver.is_empty() {
        tt.log_driver = Some(sw::Driver {
            name: driver.to_string(),
            options: Some(sf::kv_map(&o.log_opt)),
        });
    }
    if let Some(m) = o.replicas_max_per_node {
        tt.placement
            .get_or_insert_with(Default::default)
            .max_replicas = m;
    }
    let r = tt.resources.get_or_insert_with(Default::default);
    if create {
        // docker's create sends both (zero values for what no flag sets).
        r.limits.get_or_insert_with(Default::default);
        r.reservations.get_or_insert_with(Default::default);
    }
    if let Some(v) = o.limit_pids {
        r.limits.get_or_insert_with(Default::default).pids = v;
    }
    if let Some(v) = o.limit_cpu {
        r.limits.get_or_insert_with(Default::default).nano_cpus = nanos_cpu(v);
    }
    if let Some(v) = &o.limit_memory {
        r.limits.get_or_insert_with(Default::default).memory_bytes =
            crate::units::ram_in_bytes(v).map_err(fail)?;
    }
    if let Some(v) = o.reserve_cpu {
        r.reservations
            .get_or_insert_with(Default::default)
            .nano_cpus = nanos_cpu(v);
    }
    if let Some(v) = &o.reserve_memory {
        r.reservations
            .get_or_insert_with(Default::default)
            .memory_bytes = crate::units::ram_in_bytes(v).map_err(fail)?;
    }
    if create && !o.generic_resource.is_empty() {
        r.reservations
            .get_or_insert_with(Default::default)
            .generic_resources = Some(sf::generic_resources(&o.generic_resource).map_err(fail)?);
    } else if !o.generic_resource_add.is_empty() || !o.generic_resource_rm.is_empty() {
        let res = r.reservations.get_or_insert_with(Default::default);
        sf::update_generic_resources(
            &mut res.generic_resources,
            &o.generic_resource_add,
            &o.generic_resource_rm,
        )
        .map_err(fail)?;
    }
    if o.restart_condition.is_some()
        || o.restart_delay.is_some()
        || o.restart_max_attempts.is_some()
        || o.restart_window.is_some()
    {
        let rp = tt.restart_policy.get_or_insert_with(Default::default);
        if let Some(c) = &o.restart_condition {
            rp.condition = c.clone();
        }
        if let Some(d) = &o.restart_delay {
            rp.delay = Some(parse_duration(d).map_err(fail)?);
        }
        if let Some(m) = o.restart_max_attempts {
            rp.max_attempts = Some(m);
        }
        if let Some(w) = &o.restart_window {
            rp.window = Some(parse_duration(w).map_err(fail)?);
        }
    }
    if o.force {
        tt.force_update += 1;
    }
    PolicyFlags {
        parallelism: o.update_parallelism,
        delay: o.update_delay.as_deref(),
        failure_action: o.update_failure_action.as_deref(),
        monitor: o.update_monitor.as_deref(),
        max_failure_ratio: o.update_max_failure_ratio,
        order: o.update_order.as_deref(),
    }
    .apply(&mut spec.update_config)?;
    PolicyFlags {
        parallelism: o.rollback_parallelism,
        delay: o.rollback_delay.as_deref(),
        failure_action: o.rollback_failure_action.as_deref(),
        monitor: o.rollback_monitor.as_deref(),
        max_failure_ratio: o.rollback_max_failure_ratio,
        order: o.rollback_order.as_deref(),
    }
    .apply(&mut spec.rollback_config)?;
    for k in &o.label_rm {
        spec.labels.remove(k);
    }
    for l in &o.label_add {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        spec.labels.insert(k.into(), v.into());
    }
    for l in &o.label {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        spec.labels.insert(k.into(), v.into());
    }
    // docker's ToServiceMode checks, in its order.
    let max_per_node = o.replicas_max_per_node.unwrap_or(0) > 0;
    let not_job_concurrency = || -> Result<(), Failure> {
        match o.max_concurrent {
            Some(_) => Err(fail(
                "max-concurrent can only be used with replicated-job mode",
            )),
            None => Ok(()),
        }
    };
    let not_per_node = || -> Result<(), Failure> {
        if max_per_node {
            return Err(fail(
                "replicas-max-per-node can only be used with replicated or replicated-job mode",
            ));
        }
        Ok(())
    };
    let no_replicas = || -> Result<(), Failure> {
        if o.replicas.is_some() {
            return Err(fail(
                "replicas can only be used with replicated or replicated-job mode",
            ));
        }
        Ok(())
    };
    match o.mode.as_deref() {
        None if !create => {
            // `service update --max-concurrent` (which docker's update leaves unapplied).
            if let Some(m) = o.max_concurrent {
                match &mut spec.mode.replicated_job {
                    Some(j) => j.max_concurrent = Some(m),
                    None => {
                        return Err(fail(
                            "max-concurrent can only be used with replicated-job mode",
                        ))
                    }
                }
            }
        }
        None => not_job_concurrency()?,
        Some("replicated") => {
            not_job_concurrency()?;
            spec.mode = sw::ServiceMode {
                replicated: Some(sw::ReplicatedService { replicas: Some(1) }),
                ..Default::default()
            }
        }
        Some("global") => {
            no_replicas()?;
            not_per_node()?;
            not_job_concurrency()?;
            spec.mode = sw::ServiceMode {
                global: Some(sw::GlobalService {}),
                ..Default::default()
            }
        }
        Some("replicated-job") => {
            spec.mode = sw::ServiceMode {
                replicated_job: Some(sw::ReplicatedJob {
                    max_concurrent: o.max_concurrent.or(o.replicas),
                    total_completions: o.replicas,
                }),
                ..Default::default()
            }
        }
        Some("global-job") => {
            not_per_node()?;
            not_job_concurrency()?;
            no_replicas()?;
            spec.mode = sw::ServiceMode {
                global_job: Some(sw::GlobalService {}),
                ..Default::default()
            }
        }
        Some(m) => {
            return Err(fail(format!(
                "invalid argument \"{m}\" for \"--mode\" flag: invalid replicated mode {m}"
            )))
        }
    }
    if let Some(r) = o.replicas {
        match &mut spec.mode.replicated {
            Some(rep) => rep.replicas = Some(r),
            None if create && spec.mode.replicated_job.is_some() => {}
            None if create && o.mode.is_none() => {
                spec.mode.replicated = Some(sw::ReplicatedService { replicas: Some(r) })
            }
            // docker's updateReplicas: a job's completions are not changed by update.
            None if !create => return Err(fail("replicas can only be used with replicated mode")),
            None => {
                return Err(fail(
                    "replicas can only be used with replicated or replicated-job mode",
                ))
            }
        }
    }
    let job = spec.mode.replicated_job.is_some() || spec.mode.global_job.is_some();
    if create && job && (spec.update_config.is_some() || spec.rollback_config.is_some()) {
        return Err(fail(
            "update and rollback configuration is not supported for jobs",
        ));
    }
    Ok(())
}

/// `--credential-spec` (docker's ToService and updateCredSpecConfig): the spec goes into
/// `Privileges`; a `config://NAME` one names the config by id and adds it to the configs
/// as a runtime target (replacing an earlier runtime one). An empty value removes it.
/// The six `--update-*` or the six `--rollback-*` flags of one command. Their clap
/// declarations stay apart in [`SpecFlags`] (each has docker's own help words, "updated"
/// or "rolled back"), the edit they make is this one.
struct PolicyFlags<'a> {
    parallelism: Option<u64>,
    delay: Option<&'a str>,
    failure_action: Option<&'a str>,
    monitor: Option<&'a str>,
    max_failure_ratio: Option<f32>,
    order: Option<&'a str>,
}

impl PolicyFlags<'_> {
    /// As the docker CLI: no UpdateConfig/RollbackConfig unless one of its flags is given
    /// (the daemon's defaults apply; `service inspect` asks for them with insertDefaults);
    /// the first flag given starts from docker's defaults.
    fn apply(&self, cfg: &mut Option<sw::UpdateConfig>) -> Result<(), Failure> {
        if self.parallelism.is_none()
            && self.delay.is_none()
            && self.failure_action.is_none()
            && self.monitor.is_none()
            && self.max_failure_ratio.is_none()
            && self.order.is_none()
        {
            return Ok(());
        }
        let u = cfg.get_or_insert_with(|| sw::UpdateConfig {
            parallelism: 1,
            failure_action: "pause".into(),
            monitor: 5_000_000_000,
            order: "stop-first".into(),
            ..Default::default()
        });
        if let Some(p) = self.parallelism {
            u.parallelism = p;
        }
        if let Some(d) = self.delay {
            u.delay = parse_duration(d).map_err(fail)?;
        }
        if let Some(a) = self.failure_action {
            u.failure_action = a.to_string();
        }
        if let Some(m) = self.monitor {
            u.monitor = parse_duration(m).map_err(fail)?;
        }
        if let Some(r) = self.max_failure_ratio {
            u.max_failure_ratio = r;
        }
        if let Some(ord) = self.order {
            u.order = ord.to_string();
        }
        Ok(())
    }
}

fn credential_spec(
    ctx: &mut Ctx,
    c: &mut sw::ContainerSpec,
    value: &str,
    create: bool,
) -> Result<(), Failure> {
    use super::service_flags as sf;
    // The runtime-target config of an earlier credential spec goes with it.
    c.configs.retain(|r| r.runtime.is_none());
    if value.is_empty() {
        if let Some(p) = c.privileges.as_mut().and_then(|p| p.as_object_mut()) {
            p.insert("CredentialSpec".into(), Value::Null);
        }
        return Ok(());
    }
    let mut config_id = String::new();
    if let Some(name) = value.strip_prefix("config://") {
        let found = ctx
            .client()?
            .get_json(&format!("/configs/{}", q(name)))
            .map_err(|_| fail(format!("config not found: {name}")))?;
        config_id = s(&found, &["ID"]);
        c.configs.push(sw::ConfigReference {
            file: None,
            runtime: Some(serde_json::json!({})),
            config_id: config_id.clone(),
            config_name: name.to_string(),
        });
    }
    let new = sf::credential_privileges(value, &config_id);
    match c.privileges.as_mut().and_then(|p| p.as_object_mut()) {
        Some(p) if !create => {
            p.insert("CredentialSpec".into(), new["CredentialSpec"].clone());
        }
        _ => c.privileges = Some(new),
    }
    Ok(())
}

fn service_create(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    // As docker's (pflag without interspersed flags): what follows the image is its
    // command, `-c` included.
    let o: SpecFlags = super::parse_adjusted(inv, args, |c| {
        c.mut_arg("args", |a| {
            a.trailing_var_arg(true).allow_hyphen_values(true)
        })
    })?;
    // Flags are parsed up to the image: a dash-word before it is an unknown flag.
    if let Some(first) = o.args.first().filter(|a| a.starts_with('-') && a.len() > 1) {
        return Err(Failure::new(
            format!(
                "{}\n\n{}\n\nRun 'berth {} --help' for more information",
                super::flag_message(first),
                inv.usage_line(),
                inv.path
            ),
            125,
        ));
    }
    // The flags are what precedes the image (the rest is its command).
    refuse_foreign(inv, &args[..args.len() - o.args.len()], UPDATE_ONLY)?;
    inv.at_least(&o.args, 1)?;
    let mut spec = sw::ServiceSpec::default();
    spec.task_template.container_spec = Some(sw::ContainerSpec {
        image: tagged(&o.args[0]),
        args: o.args[1..].to_vec(),
        ..Default::default()
    });
    apply_flags(ctx, &mut spec, &o, true)?;
    if spec.mode == sw::ServiceMode::default() {
        spec.mode.replicated = Some(sw::ReplicatedService { replicas: Some(1) });
    }
    let warning = if o.no_resolve_image {
        None
    } else {
        resolve_image(ctx, &mut spec, o.with_registry_auth)?
    };
    let body = serde_json::to_value(&spec).map_err(|e| fail(e.to_string()))?;
    let v = spec_client(ctx, &spec, o.with_registry_auth)?
        .post_json("/services/create", Body::Json(body))?;
    let id = s(&v, &["ID"]);
    if let Some(w) = warning {
        eprintln!("{w}");
    }
    println!("{id}");
    if o.detach != Some(true) {
        wait_converged(ctx, &id, o.quiet)?;
    }
    Ok(0)
}

/// The docker client's image pinning (off with `--no-resolve-image`): the digest and
/// platforms the daemon's `GET /distribution/IMAGE/json` reports go into the spec; when
/// the daemon cannot tell, the image stays as named and the docker client's warning is
/// returned, to be printed once the daemon accepted the spec.
fn resolve_image(
    ctx: &mut Ctx,
    spec: &mut sw::ServiceSpec,
    with_auth: bool,
) -> Result<Option<String>, Failure> {
    let cl = spec_client(ctx, spec, with_auth)?;
    let Some(c) = spec.task_template.container_spec.as_mut() else {
        return Ok(None);
    };
    let image = c.image.clone();
    let v = match cl.get_json(&format!("/distribution/{}/json", q(&image))) {
        Ok(v) => v,
        Err(_) => {
            return Ok(Some(format!(
                "image {image} could not be accessed on a registry to record\nits digest. Each node will access {image} independently,\npossibly leading to different nodes running different\nversions of the image.\n"
            )))
        }
    };
    let digest = s(&v, &["Descriptor", "digest"]);
    if !digest.is_empty() && !image.contains('@') {
        c.image = format!("{image}@{digest}");
    }
    let platforms: Vec<sw::Platform> = v["Platforms"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let arch = s(p, &["architecture"]);
                    sw::Platform {
                        // As the docker client: arm images name no variant the node matches.
                        architecture: if arch.eq_ignore_ascii_case("arm") {
                            String::new()
                        } else {
                            arch
                        },
                        os: s(p, &["os"]),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    if !platforms.is_empty() {
        spec.task_template
            .placement
            .get_or_insert_with(Default::default)
            .platforms = platforms;
    }
    Ok(None)
}

/// `--detach=false`: the docker CLI's progress display until the service converged.
fn wait_converged(ctx: &mut Ctx, id: &str, quiet: bool) -> Result<(), Failure> {
    let c = ctx.client()?.clone();
    super::service_progress::follow(&c, id, quiet)
}

/// A service for `update`/`rollback`: docker's commands print the daemon's own error
/// ("Error response from daemon: service NAME not found").
fn get_service(ctx: &mut Ctx, name: &str) -> Result<Value, Failure> {
    Ok(ctx.client()?.get_json(&format!("/services/{}", q(name)))?)
}

/// The client for a service create/update: with `--with-registry-auth`, the stored
/// credentials of the service image's registry go along in `X-Registry-Auth`, as the docker
/// CLI sends them for the swarm's nodes to pull with.
fn spec_client(ctx: &mut Ctx, spec: &sw::ServiceSpec, with_auth: bool) -> Result<Client, Failure> {
    let c = ctx.client()?.clone();
    if !with_auth {
        return Ok(c);
    }
    let image = spec
        .task_template
        .container_spec
        .as_ref()
        .map(|c| c.image.clone())
        .unwrap_or_default();
    Ok(crate::commands::registry::authed(&c, &image))
}

fn post_update(
    ctx: &mut Ctx,
    svc: &Value,
    spec: &sw::ServiceSpec,
    rollback: bool,
    with_auth: bool,
) -> Result<(), Failure> {
    let v = svc["Version"]["Index"].as_u64().unwrap_or(0);
    let body = serde_json::to_value(spec).map_err(|e| fail(e.to_string()))?;
    let rb = if rollback { "&rollback=previous" } else { "" };
    spec_client(ctx, spec, with_auth)?
        .call(
            "POST",
            &format!("/services/{}/update?version={v}{rb}", q(&s(svc, &["ID"]))),
            Body::Json(body),
        )?
        .bytes()?;
    Ok(())
}

fn service_update(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: SpecFlags = parse(inv, args)?;
    refuse_foreign(inv, args, CREATE_ONLY)?;
    inv.exactly(&o.args, 1)?;
    let svc = get_service(ctx, &o.args[0])?;
    let mut spec: sw::ServiceSpec =
        serde_json::from_value(svc["Spec"].clone()).map_err(|e| fail(e.to_string()))?;
    let mut warning = None;
    if !o.rollback {
        apply_flags(ctx, &mut spec, &o, false)?;
        // As docker's: the registry is asked only about an image `--image` names.
        if o.image.is_some() && !o.no_resolve_image {
            warning = resolve_image(ctx, &mut spec, o.with_registry_auth)?;
        }
    }
    post_update(ctx, &svc, &spec, o.rollback, o.with_registry_auth)?;
    if let Some(w) = warning {
        eprintln!("{w}");
    }
    println!("{}", o.args[0]);
    if o.detach != Some(true) {
        // As docker: followed (and named in "converged") by the reference given.
        wait_converged(ctx, &o.args[0], o.quiet)?;
    }
    Ok(0)
}

fn service_rollback(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: SpecFlags = parse(inv, args)?;
    // docker's rollback has only --detach and --quiet.
    let others: Vec<String> = SpecFlags::command()
        .get_arguments()
        .filter_map(|a| a.get_long().map(String::from))
        .filter(|l| l != "detach" && l != "quiet")
        .collect();
    refuse_foreign(
        inv,
        args,
        &others.iter().map(String::as_str).collect::<Vec<_>>(),
    )?;
    inv.exactly(&o.args, 1)?;
    let svc = get_service(ctx, &o.args[0])?;
    let spec: sw::ServiceSpec =
        serde_json::from_value(svc["Spec"].clone()).map_err(|e| fail(e.to_string()))?;
    post_update(ctx, &svc, &spec, true, o.with_registry_auth)?;
    println!("{}", o.args[0]);
    if o.detach != Some(true) {
        // As docker: followed (and named in "converged") by the reference given.
        wait_converged(ctx, &o.args[0], o.quiet)?;
    }
    Ok(0)
}

#[derive(Parser)]
struct ScaleCmd {
    #[arg(short = 'd', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", help = "Exit immediately instead of waiting for the service to converge", value_name = "bool")]
    detach: Option<bool>,
    args: Vec<String>,
}

fn service_scale(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ScaleCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    // Every specifier is checked before any service is touched, as docker's argument check.
    for a in &o.args {
        if !a
            .split_once('=')
            .is_some_and(|(k, v)| !k.is_empty() && !v.is_empty())
        {
            return Err(fail(format!("invalid scale specifier '{a}'.\nSee 'berth service scale --help'.\n\nUsage:  berth service scale SERVICE=REPLICAS [SERVICE=REPLICAS...]\n\nScale one or multiple replicated services")));
        }
    }
    let mut errs = Vec::new();
    let mut scaled = Vec::new();
    for a in &o.args {
        let (name, n) = a.split_once('=').unwrap_or((a, ""));
        let n: u64 = match n.parse() {
            Ok(n) => n,
            Err(_) => {
                errs.push(format!(
                    "{name}: invalid replicas value {n}: strconv.ParseUint: parsing \"{n}\": invalid syntax"
                ));
                continue;
            }
        };
        // docker's runServiceScale: the daemon's own error for an unknown service.
        let svc = match ctx.client()?.get_json(&format!("/services/{}", q(name))) {
            Ok(v) => v,
            Err(e) => {
                errs.push(format!("{name}: {e}"));
                continue;
            }
        };
        let mut spec: sw::ServiceSpec =
            serde_json::from_value(svc["Spec"].clone()).map_err(|e| fail(e.to_string()))?;
        if let Some(r) = &mut spec.mode.replicated {
            r.replicas = Some(n);
        } else if let Some(j) = &mut spec.mode.replicated_job {
            j.total_completions = Some(n);
        } else {
            errs.push(format!(
                "{name}: scale can only be used with replicated or replicated-job mode"
            ));
            continue;
        }
        if let Err(f) = post_update(ctx, &svc, &spec, false, false) {
            errs.push(format!("{name}: {}", f.msg));
            continue;
        }
        println!("{name} scaled to {n}");
        scaled.push(name);
    }
    if o.detach != Some(true) {
        for name in scaled {
            if let Err(f) = wait_converged(ctx, name, false) {
                errs.push(format!("{name}: {}", f.msg));
            }
        }
    }
    join_errors(errs)
}

// ---- secrets and configs -------------------------------------------------------------------

#[derive(Parser)]
struct SecretCreateCmd {
    #[arg(short = 'l', long, help = "Secret labels", value_name = "list")]
    label: Vec<String>,
    #[arg(short = 'd', long, help = "Secret driver", value_name = "string")]
    driver: Option<String>,
    #[arg(long, help = "Template driver", value_name = "string")]
    template_driver: Option<String>,
    args: Vec<String>,
}

fn create_obj(ctx: &mut Ctx, inv: &Invocation, args: &[String], kind: &str) -> CmdResult {
    let o: SecretCreateCmd = parse(inv, args)?;
    if kind == "configs" {
        inv.exactly(&o.args, 2)?;
    } else {
        inv.range(&o.args, 1, 2)?;
    }
    if o.driver.is_some() || o.template_driver.is_some() {
        return Err(fail(
            "secret drivers and templates are not supported by berth",
        ));
    }
    let data = match o.args.get(1).map(String::as_str) {
        Some("-") | None => {
            let mut b = Vec::new();
            std::io::stdin()
                .read_to_end(&mut b)
                .map_err(|e| fail(e.to_string()))?;
            b
        }
        Some(path) => std::fs::read(path)
            .map_err(|e| fail(format!("Error reading content from \"{path}\": {e}")))?,
    };
    let mut spec = sw::SecretSpec {
        name: o.args[0].clone(),
        data,
        ..Default::default()
    };
    for l in &o.label {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        spec.labels.insert(k.into(), v.into());
    }
    let body = serde_json::to_value(&spec).map_err(|e| fail(e.to_string()))?;
    let v: sw::IdResponse = ctx
        .client()?
        .post_typed(&format!("/{kind}/create"), Body::Json(body))?;
    println!("{}", v.id);
    Ok(0)
}

fn secret_create(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    create_obj(ctx, inv, args, "secrets")
}
fn config_create(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    create_obj(ctx, inv, args, "configs")
}

const SECRET_HEADERS: &[(&str, &str)] = &[
    ("ID", "ID"),
    ("Name", "NAME"),
    ("Driver", "DRIVER"),
    ("CreatedAt", "CREATED"),
    ("UpdatedAt", "UPDATED"),
    ("Labels", "LABELS"),
];

fn ls_obj(ctx: &mut Ctx, inv: &Invocation, args: &[String], kind: &str) -> CmdResult {
    let o: ListCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    // A config has a secret's shape (berth-api's `Config` is `Secret`).
    let v: Vec<sw::Secret> = filtered(ctx, &format!("/{kind}"), &o.filter, &[])?;
    let mut rows: Vec<Value> = v
        .iter()
        .map(|x| {
            let labels: Vec<String> = x
                .spec
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            json!({
                "ID": x.id,
                "Name": x.spec.name,
                "Driver": x.spec.driver.as_ref().map(|d| d.name.as_str()).unwrap_or(""),
                "CreatedAt": ago(&x.meta.created_at),
                "UpdatedAt": ago(&x.meta.updated_at),
                "Labels": labels.join(","),
            })
        })
        .collect();
    rows.sort_by_key(|r| s(r, &["Name"]));
    let default = if kind == "secrets" {
        "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.CreatedAt}}\t{{.UpdatedAt}}"
    } else {
        "table {{.ID}}\t{{.Name}}\t{{.CreatedAt}}\t{{.UpdatedAt}}"
    };
    print_table(&o.format, o.quiet, "ID", default, SECRET_HEADERS, &rows)
}

fn secret_ls(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    ls_obj(ctx, inv, args, "secrets")
}
fn config_ls(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    ls_obj(ctx, inv, args, "configs")
}

fn secret_inspect(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: InspectCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    inspect_each(ctx, &o, "/secrets", false)
}
fn config_inspect(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: InspectCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    inspect_each(ctx, &o, "/configs", false)
}

fn rm_obj(ctx: &mut Ctx, inv: &Invocation, args: &[String], kind: &str) -> CmdResult {
    let o: NoFlags = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    let c = ctx.client()?;
    let mut errs = Vec::new();
    for name in &o.args {
        match c
            .call("DELETE", &format!("/{kind}/{}", q(name)), Body::None)
            .and_then(|r| r.bytes())
        {
            Ok(_) => println!("{name}"),
            Err(e) => errs.push(format!("Error response from daemon: {}", e.message())),
        }
    }
    join_errors(errs)
}

fn secret_rm(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    rm_obj(ctx, inv, args, "secrets")
}
fn config_rm(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    rm_obj(ctx, inv, args, "configs")
}

/// Commands that take no flags (only arguments).
#[derive(Parser)]
struct NoFlags {
    args: Vec<String>,
}

/// The spec flags a command's help shows: docker's for that command (the others are
/// hidden there).
fn spec_flags(hide: &[&str], keep_only: Option<&[&str]>) -> clap::Command {
    SpecFlags::command().mut_args(|a| {
        let id = a.get_long().unwrap_or("").to_string();
        let hidden =
            hide.contains(&id.as_str()) || keep_only.is_some_and(|k| !k.contains(&id.as_str()));
        if hidden {
            a.hide(true)
        } else {
            a
        }
    })
}
/// `service update`'s edits of lists (docker's `--*-add`/`--*-rm`) and `--rollback`.
const UPDATE_ONLY: &[&str] = &[
    "image",
    "force",
    "publish-add",
    "publish-rm",
    "network-add",
    "network-rm",
    "env-add",
    "env-rm",
    "label-add",
    "label-rm",
    "container-label-add",
    "container-label-rm",
    "secret-add",
    "secret-rm",
    "config-add",
    "config-rm",
    "mount-add",
    "mount-rm",
    "constraint-add",
    "constraint-rm",
    "dns-add",
    "dns-rm",
    "dns-option-add",
    "dns-option-rm",
    "dns-search-add",
    "dns-search-rm",
    "sysctl-add",
    "sysctl-rm",
    "ulimit-add",
    "ulimit-rm",
    "args",
    "placement-pref-add",
    "placement-pref-rm",
    "group-add",
    "group-rm",
    "host-add",
    "host-rm",
    "generic-resource-add",
    "generic-resource-rm",
    "rollback",
];
/// `service create`'s flags that `service update` does not have.
const CREATE_ONLY: &[&str] = &[
    "name",
    "mode",
    "env",
    "label",
    "container-label",
    "constraint",
    "placement-pref",
    "secret",
    "config",
    "publish",
    "network",
    "mount",
    "dns",
    "dns-option",
    "dns-search",
    "sysctl",
    "ulimit",
    "env-file",
    "group",
    "host",
    "generic-resource",
];

/// One flag set parses both commands, so a flag of the other command is refused here as
/// pflag refuses a flag it does not know (else it would be parsed and left unapplied).
fn refuse_foreign(inv: &Invocation, flags: &[String], foreign: &[&str]) -> Result<(), Failure> {
    for t in flags {
        if t == "--" {
            break;
        }
        let Some(name) = t.strip_prefix("--") else {
            continue;
        };
        if foreign.contains(&name.split('=').next().unwrap_or(name)) {
            return Err(Failure::new(
                format!(
                    "{}\n\n{}\n\nRun 'berth {} --help' for more information",
                    super::flag_message(t),
                    inv.usage_line(),
                    inv.path
                ),
                125,
            ));
        }
    }
    Ok(())
}

fn create_flags() -> clap::Command {
    spec_flags(UPDATE_ONLY, None)
}
fn update_flags() -> clap::Command {
    spec_flags(CREATE_ONLY, None).mut_args(without_default)
}

/// `service update` leaves what a flag does not name as it is, so docker's help for it names
/// no defaults.
fn without_default(a: clap::Arg) -> clap::Arg {
    // These name their default in the description itself (not pflag's default value), so
    // docker's `update` help keeps it.
    const OWN_DEFAULT: &[&str] = &[
        "limit-pids",
        "max-concurrent",
        "replicas-max-per-node",
        "ulimit-add",
    ];
    if OWN_DEFAULT.contains(&a.get_long().unwrap_or_default()) {
        return a;
    }
    let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
    match help.rfind(" (default ") {
        Some(i) if help.ends_with(')') => {
            let short = help[..i].to_string();
            a.help(short)
        }
        _ => a,
    }
}
fn rollback_flags() -> clap::Command {
    spec_flags(&[], Some(&["detach", "quiet"]))
}
fn config_create_flags() -> clap::Command {
    SecretCreateCmd::command()
        .mut_arg("driver", |a| a.hide(true))
        .mut_arg("label", |a| a.help("Config labels"))
}

/// The commands this module implements (see `catalog.rs`).
pub(crate) static COMMANDS: &[Command] = &[
    Command::new(
        "swarm init",
        "[OPTIONS]",
        "Initialize a swarm",
        InitCmd::command,
        swarm_init,
    ),
    Command::new(
        "swarm leave",
        "[OPTIONS]",
        "Leave the swarm",
        LeaveCmd::command,
        swarm_leave,
    ),
    Command::new(
        "swarm join-token",
        "[OPTIONS] (worker|manager)",
        "Manage join tokens",
        JoinTokenCmd::command,
        swarm_join_token,
    ),
    Command::new(
        "swarm unlock-key",
        "[OPTIONS]",
        "Manage the unlock key",
        UnlockKeyCmd::command,
        swarm_unlock_key,
    ),
    Command::new(
        "swarm unlock",
        "",
        "Unlock swarm",
        NoFlags::command,
        swarm_unlock,
    ),
    Command::new(
        "swarm update",
        "[OPTIONS]",
        "Update the swarm",
        UpdateSwarmCmd::command,
        swarm_update,
    ),
    Command::new(
        "swarm ca",
        "[OPTIONS]",
        "Display and rotate the root CA",
        CaCmd::command,
        swarm_ca,
    ),
    Command::new(
        "node ls",
        "[OPTIONS]",
        "List nodes in the swarm",
        ListCmd::command,
        node_ls,
    )
    .aliases(&["node list"]),
    Command::new(
        "node inspect",
        "[OPTIONS] self|NODE [NODE...]",
        "Display detailed information on one or more nodes",
        InspectCmd::command,
        node_inspect,
    ),
    Command::new(
        "node update",
        "[OPTIONS] NODE",
        "Update a node",
        NodeUpdateCmd::command,
        node_update,
    ),
    Command::new(
        "node ps",
        "[OPTIONS] [NODE...]",
        "List tasks running on one or more nodes, defaults to current node",
        PsCmd::command,
        node_ps,
    ),
    Command::new(
        "service create",
        "[OPTIONS] IMAGE [COMMAND] [ARG...]",
        "Create a new service",
        create_flags,
        service_create,
    ),
    Command::new(
        "service ls",
        "[OPTIONS]",
        "List services",
        ListCmd::command,
        service_ls,
    )
    .aliases(&["service list"]),
    Command::new(
        "service ps",
        "[OPTIONS] SERVICE [SERVICE...]",
        "List the tasks of one or more services",
        PsCmd::command,
        service_ps,
    ),
    Command::new(
        "service inspect",
        "[OPTIONS] SERVICE [SERVICE...]",
        "Display detailed information on one or more services",
        InspectCmd::command,
        service_inspect,
    ),
    Command::new(
        "service logs",
        "[OPTIONS] SERVICE|TASK",
        "Fetch the logs of a service or task",
        super::service_logs::ServiceLogsCmd::command,
        super::service_logs::service_logs,
    ),
    Command::new(
        "service rm",
        "SERVICE [SERVICE...]",
        "Remove one or more services",
        NoFlags::command,
        service_rm,
    )
    .aliases(&["service remove"]),
    Command::new(
        "service scale",
        "SERVICE=REPLICAS [SERVICE=REPLICAS...]",
        "Scale one or multiple replicated services",
        ScaleCmd::command,
        service_scale,
    ),
    Command::new(
        "service update",
        "[OPTIONS] SERVICE",
        "Update a service",
        update_flags,
        service_update,
    ),
    Command::new(
        "service rollback",
        "[OPTIONS] SERVICE",
        "Revert changes to a service's configuration",
        rollback_flags,
        service_rollback,
    ),
    Command::new(
        "secret create",
        "[OPTIONS] SECRET [file|-]",
        "Create a secret from a file or STDIN as content",
        SecretCreateCmd::command,
        secret_create,
    ),
    Command::new(
        "secret ls",
        "[OPTIONS]",
        "List secrets",
        ListCmd::command,
        secret_ls,
    )
    .aliases(&["secret list"]),
    Command::new(
        "secret inspect",
        "[OPTIONS] SECRET [SECRET...]",
        "Display detailed information on one or more secrets",
        InspectCmd::command,
        secret_inspect,
    ),
    Command::new(
        "secret rm",
        "SECRET [SECRET...]",
        "Remove one or more secrets",
        NoFlags::command,
        secret_rm,
    )
    .aliases(&["secret remove"]),
    Command::new(
        "config create",
        "[OPTIONS] CONFIG file|-",
        "Create a config from a file or STDIN",
        config_create_flags,
        config_create,
    ),
    Command::new(
        "config ls",
        "[OPTIONS]",
        "List configs",
        ListCmd::command,
        config_ls,
    )
    .aliases(&["config list"]),
    Command::new(
        "config inspect",
        "[OPTIONS] CONFIG [CONFIG...]",
        "Display detailed information on one or more configs",
        InspectCmd::command,
        config_inspect,
    ),
    Command::new(
        "config rm",
        "CONFIG [CONFIG...]",
        "Remove one or more configs",
        NoFlags::command,
        config_rm,
    )
    .aliases(&["config remove"]),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// A `GET /swarm` answer as berth's daemon writes it (its spec a `sw::Spec`).
    fn swarm_answer(spec: &sw::Spec) -> Value {
        json!({"ID": "c1", "Version": {"Index": 7}, "Spec": spec})
    }

    #[test]
    fn typed_swarm_update_bodies_send_the_same_bytes() {
        let mut spec = sw::Spec {
            name: "default".into(),
            ..Default::default()
        };
        spec.orchestration.task_history_retention_limit = Some(5);
        spec.ca_config.node_cert_expiry = 7_776_000_000_000_000;
        spec.encryption_config.auto_lock_managers = true;
        let mut rotated_once = spec.clone();
        rotated_once.ca_config.force_rotate = 1;
        for spec in [spec, rotated_once] {
            let sw = swarm_answer(&spec);
            // join-token/unlock-key --rotate sent the answer's spec as it came.
            let (v, typed) = versioned_spec(&sw).unwrap();
            assert_eq!(v, 7);
            assert_eq!(
                serde_json::to_string(&typed).unwrap(),
                serde_json::to_string(&sw["Spec"]).unwrap()
            );
            // ca --rotate patched ForceRotate (and NodeCertExpiry) into it.
            for expiry in [None, Some(3_600_000_000_000i64)] {
                let mut before = sw["Spec"].clone();
                let next = before["CAConfig"]["ForceRotate"].as_u64().unwrap_or(0) + 1;
                before["CAConfig"]["ForceRotate"] = json!(next);
                if let Some(e) = expiry {
                    before["CAConfig"]["NodeCertExpiry"] = json!(e);
                }
                let (_, typed) = ca_rotate_spec(&sw, expiry).unwrap();
                assert_eq!(
                    serde_json::to_string(&typed).unwrap(),
                    serde_json::to_string(&before).unwrap()
                );
            }
        }
        assert_eq!(
            serde_json::to_string(&sw::UnlockRequest {
                unlock_key: "SWMKEY-1-x".into()
            })
            .unwrap(),
            serde_json::to_string(&json!({ "UnlockKey": "SWMKEY-1-x" })).unwrap()
        );
    }

    #[test]
    fn durations_parse_as_go() {
        assert_eq!(parse_duration("200ms"), Ok(200_000_000));
        assert_eq!(parse_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("xs").is_err());
    }

    #[test]
    fn secret_references_long_and_short() {
        let (src, f) = file_ref("source=app,target=/etc/app.conf,mode=0440", false).unwrap();
        assert_eq!(
            (src.as_str(), f.name.as_str(), f.mode),
            ("app", "/etc/app.conf", 0o440)
        );
        let (src, f) = file_ref("pw", true).unwrap();
        assert_eq!((src.as_str(), f.name.as_str(), f.mode), ("pw", "pw", 0o444));
        assert!(file_ref("source=a,colour=red", true).is_err());
    }
}
