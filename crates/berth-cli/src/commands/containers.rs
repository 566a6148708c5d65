//! Container commands other than run/create.

use berth_api::models::{
    ContainerInspectPart, ContainerPruneResponse, ContainerSummary, PortSummary,
};
use clap::{CommandFactory, Parser};
use serde_json::{json, Value};
use std::collections::BTreeMap;

use super::{confirm, join_errors, parse, Invocation};
use crate::catalog::Command;
use crate::client::{filters_json, q, query, Body};
use crate::format::from_json;
use crate::units::{get_timestamp, human_size_prec};
use crate::{CmdResult, Ctx, Failure};

/// Go's strconv.Quote for the strings docker shows: its short escapes, `\xNN` for the
/// other ASCII controls, `\uNNNN` / `\UNNNNNNNN` for the characters Go does not count
/// as printable (see [`go_printable`]).
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if !go_printable(c) && (c as u32) < 0x10000 => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if !go_printable(c) => out.push_str(&format!("\\U{:08x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's unicode.IsPrint, for the characters that matter in commands and labels: the
/// controls (Cc), format characters (Cf), separators other than the ASCII space (Zs, Zl,
/// Zp), private use (Co) and the noncharacters are not printable. (Unassigned code
/// points, also not printable for Go, are not tracked: they are printed as they are.)
pub fn go_printable(c: char) -> bool {
    let u = c as u32;
    !matches!(u,
        0x00..=0x1f
        | 0x7f..=0xa0
        | 0xad
        | 0x600..=0x605
        | 0x61c
        | 0x6dd
        | 0x70f
        | 0x890..=0x891
        | 0x8e2
        | 0x1680
        | 0x180e
        | 0x2000..=0x200f
        | 0x2028..=0x202f
        | 0x205f..=0x2064
        | 0x2066..=0x206f
        | 0x3000
        | 0xd800..=0xf8ff
        | 0xfdd0..=0xfdef
        | 0xfeff
        | 0xfff9..=0xfffb
        | 0xfffe..=0xffff
        | 0x110bd
        | 0x110cd
        | 0x13430..=0x1343f
        | 0x1bca0..=0x1bca3
        | 0x1d173..=0x1d17a
        | 0xe0001
        | 0xe0020..=0xe007f
        | 0xf0000..=0x10ffff)
        && (u & 0xfffe) != 0xfffe
}

/// docker's Ellipsis: keep `max` display chars, ending with "…".
pub fn ellipsis(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

pub fn short_id(id: &str) -> String {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    id.chars().take(12).collect()
}

/// Go's `time.Time.String()` for a unix time in the local zone.
pub fn go_time_string(ts: i64) -> String {
    use chrono::{Local, TimeZone};
    match Local.timestamp_opt(ts, 0).single() {
        Some(t) => {
            let off = t.format("%z").to_string();
            let zone = if off == "+0000" {
                "UTC".to_string()
            } else {
                off.clone()
            };
            format!("{} {off} {zone}", t.format("%Y-%m-%d %H:%M:%S"))
        }
        None => String::new(),
    }
}

/// ps's PORTS column as the docker CLI's DisplayablePorts: sorted by private port, IP,
/// public port and type; runs of ports published on the same number are grouped
/// (`0.0.0.0:8000-8002->8000-8002/tcp`), other mappings follow one by one.
pub fn display_ports(ports: &[PortSummary]) -> String {
    // (private, ip, public, type)
    let mut list: Vec<(u16, String, u16, String)> = Vec::new();
    for p in ports {
        let e = (
            p.private_port,
            p.ip.clone().unwrap_or_default(),
            p.public_port.unwrap_or(0),
            p.kind.clone(),
        );
        if !list.contains(&e) {
            list.push(e);
        }
    }
    list.sort();
    let join = |ip: &str, port: &str| {
        if ip.contains(':') {
            format!("[{ip}]:{port}")
        } else {
            format!("{ip}:{port}")
        }
    };
    let form = |key: &(String, String), first: u16, last: u16| {
        let mut g = first.to_string();
        if first != last {
            g = format!("{g}-{last}");
        }
        if !key.0.is_empty() {
            g = format!("{}->{g}", join(&key.0, &g));
        }
        format!("{g}/{}", key.1)
    };
    let mut groups: Vec<((String, String), u16, u16)> = Vec::new();
    let mut result = Vec::new();
    let mut mappings = Vec::new();
    for (private, ip, public, ty) in list {
        if !ip.is_empty() && public != private {
            mappings.push(format!(
                "{}->{private}/{ty}",
                join(&ip, &public.to_string())
            ));
            continue;
        }
        let key = (ip, ty);
        match groups.iter_mut().find(|g| g.0 == key) {
            None => groups.push((key, private, private)),
            Some(g) if private == g.2.wrapping_add(1) => g.2 = private,
            Some(g) => {
                result.push(form(&g.0, g.1, g.2));
                g.1 = private;
                g.2 = private;
            }
        }
    }
    for g in &groups {
        result.push(form(&g.0, g.1, g.2));
    }
    result.extend(mappings);
    result.join(", ")
}

/// `k=v` pairs, sorted, comma-joined (docker's `.Labels` of ps).
fn labels_string(labels: &BTreeMap<String, String>) -> String {
    let mut l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    l.sort();
    l.join(",")
}

/// docker's ContainerContext, as a map of the fields templates see.
pub fn container_row(c: &ContainerSummary, trunc: bool) -> Value {
    let mut image = c.image.clone();
    if trunc {
        if image.starts_with("sha256:") {
            image = short_id(&image);
        } else if let Some((name, _)) = image.split_once('@') {
            image = name.to_string();
        }
    }
    let mut command = c.command.clone();
    if trunc {
        command = ellipsis(&command, 20);
    }
    let names: Vec<String> = c
        .names
        .iter()
        .filter(|x| !trunc || x.matches('/').count() == 1)
        .map(|x| x.trim_start_matches('/').to_string())
        .collect();
    let created = c.created;
    let mount_names: Vec<String> = c
        .mounts
        .iter()
        .map(|m| {
            let n = m.name.clone().unwrap_or_default();
            let n = if n.is_empty() { m.source.clone() } else { n };
            if trunc {
                ellipsis(&n, 15)
            } else {
                n
            }
        })
        .collect();
    let local_volumes = c
        .mounts
        .iter()
        .filter(|m| m.driver.as_deref() == Some("local"))
        .count();
    // Sorted: the map's keys.
    let networks: Vec<&str> = c
        .network_settings
        .networks
        .keys()
        .map(String::as_str)
        .collect();
    let srw = c.size_rw.unwrap_or(0);
    let srf = c.size_root_fs.unwrap_or(0);
    let mut size = human_size_prec(srw as f64, 3);
    if srf > 0 {
        size = format!("{size} (virtual {})", human_size_prec(srf as f64, 3));
    }
    let platform = c
        .image_manifest_descriptor
        .as_ref()
        .and_then(|d| d.get("platform"))
        .cloned()
        .unwrap_or(Value::Null);
    json!({
        "Command": crate::commands::containers::go_quote(&command),
        "CreatedAt": go_time_string(created),
        "ID": if trunc { short_id(&c.id) } else { c.id.clone() },
        "Image": image,
        "Labels": labels_string(&c.labels),
        "LocalVolumes": local_volumes.to_string(),
        "Mounts": mount_names.join(","),
        "Names": names.join(","),
        "Networks": networks.join(","),
        "Platform": platform,
        "Ports": display_ports(&c.ports),
        "RunningFor": format!("{} ago", crate::units::since_unix(created)),
        "Size": size,
        "State": c.state,
        "Status": c.status,
    })
}

pub const PS_HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Ports", "PORTS"),
    ("State", "STATE"),
    ("Status", "STATUS"),
    ("Size", "SIZE"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
    ("LocalVolumes", "LOCAL VOLUMES"),
    ("Platform", "PLATFORM"),
];

#[derive(Parser)]
struct PsCmd {
    #[arg(
        short = 'a',
        long,
        help = "Show all containers (default shows just running)"
    )]
    all: bool,
    #[arg(short = 'q', long, help = "Only display container IDs")]
    quiet: bool,
    #[arg(short = 'n', long = "last", default_value_t = -1, allow_negative_numbers = true, help = "Show n last created containers (includes all states) (default -1)", value_name = "int")]
    last: i64,
    #[arg(
        short = 'l',
        long,
        help = "Show the latest created container (includes all states)"
    )]
    latest: bool,
    #[arg(short = 's', long, help = "Display total file sizes")]
    size: bool,
    #[arg(long = "no-trunc", help = "Don't truncate output")]
    no_trunc: bool,
    #[arg(short = 'f', long, value_parser = crate::client::parse_filter, help = "Filter output based on conditions provided", value_name = "filter")]
    filter: Vec<String>,
    #[arg(
        long,
        help = super::FORMAT_HELP,
        value_name = "string"
    )]
    format: Option<String>,
    args: Vec<String>,
}

pub fn cmd_ps(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: PsCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    let mut limit = o.last;
    if o.latest && limit == -1 {
        limit = 1;
    }
    let format = o.format.clone().unwrap_or_default();
    let size = o.size || format.contains(".Size");
    let mut qs = Vec::new();
    if o.all {
        qs.push("all=1".to_string());
    }
    if let Some(f) = filters_json(&o.filter).map_err(|e| Failure::new(e, 1))? {
        qs.push(format!("filters={}", q(&f)));
    }
    if limit > 0 {
        qs.push(format!("limit={limit}"));
    }
    if size {
        qs.push("size=1".into());
    }
    if !format.is_empty() && !o.quiet && !o.size {
        // docker's pre-run of the format on an empty context, before any request.
        let empty = serde_json::Value::Object(
            PS_HEADERS
                .iter()
                .map(|(k, _)| (k.to_string(), json!("")))
                .collect(),
        );
        crate::format::list_precheck(&format, &from_json(&empty), &PS_CONTEXT)
            .map_err(|e| Failure::new(e.0, 1))?;
    }
    let path = format!("/containers/json{}", query(&qs));
    let list: Vec<ContainerSummary> = ctx.client()?.get_typed(&path)?;
    let rows: Vec<_> = list
        .iter()
        .map(|c| from_json(&container_row(c, !o.no_trunc)))
        .collect();
    let (format, default) = if o.quiet && (format.is_empty() || format == "table") {
        ("{{.ID}}".to_string(), String::new())
    } else {
        let mut d = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}".to_string();
        if o.size {
            d.push_str("\t{{.Size}}");
        }
        (format, d)
    };
    let mut out = std::io::stdout().lock();
    crate::format::render_list_in(&mut out, &format, &default, PS_HEADERS, &rows, &PS_CONTEXT)
        .map_err(|e| Failure::new(e.0, 1))?;
    Ok(0)
}

#[derive(Parser)]
struct StartCmd {
    #[arg(short = 'a', long, help = "Attach STDOUT/STDERR and forward signals")]
    attach: bool,
    #[arg(short = 'i', long, help = "Attach container's STDIN")]
    interactive: bool,
    #[arg(
        long = "detach-keys",
        help = "Override the key sequence for detaching a container",
        value_name = "string"
    )]
    detach_keys: Option<String>,
    args: Vec<String>,
}

pub fn cmd_start(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: StartCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    let c = ctx.client()?;
    if o.attach || o.interactive {
        if o.args.len() > 1 {
            return Err(Failure::new(
                "you cannot attach to multiple containers at once",
                1,
            ));
        }
        let info: ContainerInspectPart =
            c.get_typed(&format!("/containers/{}/json", q(&o.args[0])))?;
        let (id, tty, open_stdin) = (info.id, info.config.tty, info.config.open_stdin);
        let auto_remove = info.host_config.auto_remove;
        let r = super::create::attach_start_wait(
            c,
            inv,
            &id,
            tty,
            o.interactive && open_stdin,
            true,
            true,
            auto_remove,
            super::create::detach_keys(o.detach_keys.as_deref())?,
        );
        // `start -a` reports plain daemon errors (exit 1), not run's status errors.
        return r.map_err(|f| {
            let msg = f
                .msg
                .trim_start_matches("berth: ")
                .split("\n\nRun '")
                .next()
                .unwrap_or_default()
                .to_string();
            Failure::new(msg, 1)
        });
    }
    let mut errs = Vec::new();
    let mut failed = Vec::new();
    for name in &o.args {
        match c.call(
            "POST",
            &format!("/containers/{}/start", q(name)),
            Body::None,
        ) {
            Ok(_) => println!("{name}"),
            Err(e) => {
                errs.push(e.to_string());
                failed.push(name.clone());
            }
        }
    }
    if !failed.is_empty() {
        errs.push(format!(
            "Error: failed to start containers: {}",
            failed.join(", ")
        ));
    }
    join_errors(errs)
}

#[derive(Parser)]
struct StopCmd {
    // `--time` is docker's hidden, deprecated spelling.
    #[arg(
        short = 't',
        long = "timeout",
        alias = "time",
        allow_negative_numbers = true,
        help = "Seconds to wait before killing the container",
        value_name = "int"
    )]
    time: Option<i64>,
    #[arg(
        short = 's',
        long,
        help = "Signal to send to the container",
        value_name = "string"
    )]
    signal: Option<String>,
    args: Vec<String>,
}

fn each(
    ctx: &mut Ctx,
    names: &[String],
    method: &str,
    f: impl Fn(&str) -> String,
    print: bool,
) -> CmdResult {
    let c = ctx.client()?;
    let mut errs = Vec::new();
    for name in names {
        match c.call(method, &f(name), Body::None) {
            Ok(r) => {
                let _ = r.bytes();
                if print {
                    println!("{name}");
                }
            }
            Err(e) => errs.push(e.to_string()),
        }
    }
    join_errors(errs)
}

fn stop_like(ctx: &mut Ctx, inv: &Invocation, args: &[String], action: &str) -> CmdResult {
    let o: StopCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    let mut qs = Vec::new();
    if let Some(sig) = &o.signal {
        qs.push(format!("signal={}", q(sig)));
    }
    if let Some(t) = o.time {
        qs.push(format!("t={t}"));
    }
    let suffix = query(&qs);
    each(
        ctx,
        &o.args,
        "POST",
        |n| format!("/containers/{}/{action}{suffix}", q(n)),
        true,
    )
}

pub fn cmd_stop(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    stop_like(ctx, inv, args, "stop")
}

pub fn cmd_restart(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    stop_like(ctx, inv, args, "restart")
}

#[derive(Parser)]
struct KillCmd {
    #[arg(
        short = 's',
        long,
        help = "Signal to send to the container",
        value_name = "string"
    )]
    signal: Option<String>,
    args: Vec<String>,
}

pub fn cmd_kill(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: KillCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    let suffix = match &o.signal {
        Some(sig) => format!("?signal={}", q(sig)),
        None => String::new(),
    };
    each(
        ctx,
        &o.args,
        "POST",
        |n| format!("/containers/{}/kill{suffix}", q(n)),
        true,
    )
}

#[derive(Parser)]
struct RmCmd {
    #[arg(
        short = 'f',
        long,
        help = "Force the removal of a running container (uses SIGKILL)"
    )]
    force: bool,
    #[arg(
        short = 'v',
        long,
        help = "Remove anonymous volumes associated with the container"
    )]
    volumes: bool,
    #[arg(short = 'l', long, help = "Remove the specified link")]
    link: bool,
    args: Vec<String>,
}

pub fn cmd_rm(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: RmCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    let mut qs = Vec::new();
    if o.force {
        qs.push("force=1");
    }
    if o.link {
        qs.push("link=1");
    }
    if o.volumes {
        qs.push("v=1");
    }
    let suffix = query(&qs);
    let c = ctx.client()?;
    let mut errs = Vec::new();
    for name in &o.args {
        match c.call(
            "DELETE",
            &format!("/containers/{}{suffix}", q(name)),
            Body::None,
        ) {
            Ok(r) => {
                let _ = r.bytes();
                println!("{name}");
            }
            // docker CLI 28 (container/rm.go): with --force a container that does not
            // exist is reported on stderr but is no failure (exit 0).
            Err(e) if o.force && e.status() == Some(404) => eprintln!("{e}"),
            Err(e) => errs.push(e.to_string()),
        }
    }
    join_errors(errs)
}

#[derive(Parser)]
struct ArgsOnly {
    args: Vec<String>,
}

pub fn cmd_wait(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ArgsOnly = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    let c = ctx.client()?;
    let mut errs = Vec::new();
    for name in &o.args {
        match c.post_json(&format!("/containers/{}/wait", q(name)), Body::None) {
            Ok(v) => println!(
                "{}",
                v.get("StatusCode").and_then(|x| x.as_i64()).unwrap_or(0)
            ),
            Err(e) => errs.push(e.to_string()),
        }
    }
    join_errors(errs)
}

pub fn cmd_rename(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ArgsOnly = parse(inv, args)?;
    inv.exactly(&o.args, 2)?;
    let (old, new) = (&o.args[0], o.args[1].trim());
    if new.is_empty() {
        return Err(Failure::new(
            "Error: neither old nor new names may be empty",
            1,
        ));
    }
    let c = ctx.client()?;
    match c.call(
        "POST",
        &format!("/containers/{}/rename?name={}", q(old), q(new)),
        Body::None,
    ) {
        Ok(_) => Ok(0),
        Err(e) => Err(Failure::new(
            format!("{e}\nError: failed to rename container named {old}"),
            1,
        )),
    }
}

#[derive(Parser)]
struct LogsCmd {
    #[arg(short = 'f', long, help = "Follow log output")]
    follow: bool,
    #[arg(
        short = 'n',
        long,
        default_value = "all",
        help = "Number of lines to show from the end of the logs (default \"all\")",
        value_name = "string",
        // pflag's string flag takes the next word whatever it is: `--tail -1` is a value.
        allow_hyphen_values = true
    )]
    tail: String,
    #[arg(short = 't', long, help = "Show timestamps")]
    timestamps: bool,
    #[arg(
        long,
        help = "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)",
        value_name = "string"
    )]
    since: Option<String>,
    #[arg(
        long,
        help = "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)",
        value_name = "string"
    )]
    until: Option<String>,
    #[arg(long, help = "Show extra details provided to logs")]
    details: bool,
    args: Vec<String>,
}

pub fn cmd_logs(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: LogsCmd = parse(inv, args)?;
    inv.exactly(&o.args, 1)?;
    let now = chrono::Utc::now();
    let mut qs = vec!["stderr=1".to_string(), "stdout=1".to_string()];
    if let Some(sv) = &o.since {
        let t = get_timestamp(sv, now).map_err(|e| Failure::new(e, 1))?;
        qs.push(format!("since={}", q(&t)));
    }
    if let Some(u) = &o.until {
        let t = get_timestamp(u, now).map_err(|e| Failure::new(e, 1))?;
        qs.push(format!("until={}", q(&t)));
    }
    if o.timestamps {
        qs.push("timestamps=1".into());
    }
    if o.details {
        qs.push("details=1".into());
    }
    if o.follow {
        qs.push("follow=1".into());
    }
    qs.push(format!("tail={}", q(&o.tail)));
    qs.sort();
    let c = ctx.client()?;
    let info: ContainerInspectPart = c.get_typed(&format!("/containers/{}/json", q(&o.args[0])))?;
    let tty = info.config.tty;
    let resp = c.call(
        "GET",
        &format!("/containers/{}/logs?{}", q(&o.args[0]), qs.join("&")),
        Body::None,
    )?;
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    if tty {
        let mut r = resp.body;
        std::io::copy(&mut r, &mut out).map_err(|e| Failure::new(e.to_string(), 1))?;
    } else {
        crate::stream::demux(resp.body, &mut out, &mut err)
            .map_err(|e| Failure::new(e.to_string(), 1))?;
    }
    Ok(0)
}

#[derive(Parser)]
struct PruneCmd {
    #[arg(short = 'f', long, help = "Do not prompt for confirmation")]
    force: bool,
    #[arg(long, value_parser = crate::client::parse_filter, help = "Provide filter values (e.g. \"until=<timestamp>\")", value_name = "filter")]
    filter: Vec<String>,
}

/// A prune answer as the docker CLI prints it: the title and one line per item deleted
/// (none when nothing was), then the space reclaimed.
pub fn print_prune(lines: &[String], space: u64, title: &str) {
    let mut out = String::new();
    if !lines.is_empty() {
        out.push_str(&format!("{title}:\n"));
        for l in lines {
            out.push_str(&format!("{l}\n"));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "Total reclaimed space: {}",
        crate::units::human_size(space as f64)
    ));
    println!("{out}");
}

pub fn cmd_prune(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: PruneCmd = parse(inv, args)?;
    if !o.force && !confirm("WARNING! This will remove all stopped containers.") {
        return Ok(0);
    }
    let path = match filters_json(&o.filter).map_err(|e| Failure::new(e, 1))? {
        Some(f) => format!("/containers/prune?filters={}", q(&f)),
        None => "/containers/prune".to_string(),
    };
    let r: ContainerPruneResponse = ctx.client()?.post_typed(&path, Body::None)?;
    let deleted = r.containers_deleted.unwrap_or_default();
    print_prune(&deleted, r.space_reclaimed, "Deleted Containers");
    Ok(0)
}

/// The commands this module implements (see `catalog.rs`).
pub(crate) static COMMANDS: &[Command] = &[
    Command::new(
        "container ls",
        "[OPTIONS]",
        "List containers",
        PsCmd::command,
        cmd_ps,
    )
    .aliases(&["container list", "container ps", "ps"]),
    Command::new(
        "container start",
        "[OPTIONS] CONTAINER [CONTAINER...]",
        "Start one or more stopped containers",
        StartCmd::command,
        cmd_start,
    )
    .aliases(&["start"]),
    Command::new(
        "container stop",
        "[OPTIONS] CONTAINER [CONTAINER...]",
        "Stop one or more running containers",
        StopCmd::command,
        cmd_stop,
    )
    .aliases(&["stop"]),
    Command::new(
        "container restart",
        "[OPTIONS] CONTAINER [CONTAINER...]",
        "Restart one or more containers",
        StopCmd::command,
        cmd_restart,
    )
    .aliases(&["restart"]),
    Command::new(
        "container kill",
        "[OPTIONS] CONTAINER [CONTAINER...]",
        "Kill one or more running containers",
        KillCmd::command,
        cmd_kill,
    )
    .aliases(&["kill"]),
    Command::new(
        "container rm",
        "[OPTIONS] CONTAINER [CONTAINER...]",
        "Remove one or more containers",
        RmCmd::command,
        cmd_rm,
    )
    .aliases(&["container remove", "rm"]),
    Command::new(
        "container wait",
        "CONTAINER [CONTAINER...]",
        "Block until one or more containers stop, then print their exit codes",
        ArgsOnly::command,
        cmd_wait,
    )
    .aliases(&["wait"]),
    Command::new(
        "container rename",
        "CONTAINER NEW_NAME",
        "Rename a container",
        ArgsOnly::command,
        cmd_rename,
    )
    .aliases(&["rename"]),
    Command::new(
        "container logs",
        "[OPTIONS] CONTAINER",
        "Fetch the logs of a container",
        LogsCmd::command,
        cmd_logs,
    )
    .aliases(&["logs"]),
    Command::new(
        "container prune",
        "[OPTIONS]",
        "Remove all stopped containers",
        PruneCmd::command,
        cmd_prune,
    ),
];

/// The docker CLI 28's `ps` formatter: its failure prefix and row type.
static PS_CONTEXT: crate::format::ListContext = crate::format::ListContext {
    prefix: "failed to execute template",
    row: &crate::format::GoStruct {
        root: "*formatter.ContainerContext",
        types: &[],
        maps: &[],
        optional: &[],
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_column() {
        assert_eq!(
            go_quote(&ellipsis("sh -c 'echo hi; echo err >&2; exit 3'", 20)),
            "\"sh -c 'echo hi; ech…\""
        );
        assert_eq!(go_quote("sleep 1000"), "\"sleep 1000\"");
    }

    fn ports(v: Value) -> Vec<PortSummary> {
        serde_json::from_value(v).expect("port summaries")
    }

    #[test]
    fn ports_column() {
        let p = json!([{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":8080,"Type":"tcp"},{"PrivatePort":53,"Type":"udp"}]);
        assert_eq!(display_ports(&ports(p)), "53/udp, 0.0.0.0:8080->80/tcp");
        // As the docker CLI prints them (checked against docker 28 with a dockerd).
        let p = json!([
            {"IP":"0.0.0.0","PrivatePort":90,"PublicPort":18090,"Type":"tcp"},
            {"IP":"::","PrivatePort":90,"PublicPort":18090,"Type":"tcp"},
            {"IP":"0.0.0.0","PrivatePort":80,"PublicPort":32768,"Type":"tcp"},
            {"IP":"::","PrivatePort":80,"PublicPort":32768,"Type":"tcp"}
        ]);
        assert_eq!(
            display_ports(&ports(p)),
            "0.0.0.0:32768->80/tcp, [::]:32768->80/tcp, 0.0.0.0:18090->90/tcp, [::]:18090->90/tcp"
        );
        let p = json!([
            {"IP":"0.0.0.0","PrivatePort":8000,"PublicPort":8000,"Type":"tcp"},
            {"IP":"0.0.0.0","PrivatePort":8001,"PublicPort":8001,"Type":"tcp"},
            {"IP":"::","PrivatePort":8000,"PublicPort":8000,"Type":"tcp"},
            {"IP":"::","PrivatePort":8001,"PublicPort":8001,"Type":"tcp"}
        ]);
        assert_eq!(
            display_ports(&ports(p)),
            "0.0.0.0:8000-8001->8000-8001/tcp, [::]:8000-8001->8000-8001/tcp"
        );
    }
}
