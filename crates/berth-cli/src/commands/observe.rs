//! top, stats, pause/unpause, update, events, system df and system prune.

use berth_api::models::{
    BuildCacheRecord, ContainerSummary, ContainerUpdateBody, RestartPolicy, SystemDfResponse,
    Volume,
};
use clap::{CommandFactory, Parser};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use super::containers::{container_row, short_id};
use super::{confirm, join_errors, parse, Invocation};
use crate::catalog::Command;
use crate::client::{filters_json, q, query, Body};
use crate::format::{from_json, render_list};
use crate::units::{bytes_size, get_timestamp, human_size, human_size_prec, ram_in_bytes};
use crate::{CmdResult, Ctx, Failure};

fn u(v: &Value, path: &[&str]) -> u64 {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(x) => cur = x,
            None => return 0,
        }
    }
    cur.as_u64().unwrap_or(0)
}

// ---- top ---------------------------------------------------------------------------

#[derive(Parser)]
struct TopCmd {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

pub fn cmd_top(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: TopCmd = parse(inv, args)?;
    // Flags stop at the container: what follows is for ps.
    super::create::check_unknown_flag(inv, &o.args)?;
    inv.at_least(&o.args, 1)?;
    let mut path = format!("/containers/{}/top", q(&o.args[0]));
    if o.args.len() > 1 {
        path.push_str(&format!("?ps_args={}", q(&o.args[1..].join(" "))));
    }
    let v = ctx.client()?.get_json(&path)?;
    let mut buf = String::new();
    let titles: Vec<&str> = v["Titles"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    buf.push_str(&titles.join("\t"));
    buf.push('\n');
    for p in v["Processes"].as_array().into_iter().flatten() {
        let row: Vec<&str> = p
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
            .unwrap_or_default();
        buf.push_str(&row.join("\t"));
        buf.push('\n');
    }
    // docker's top table: Go's tabwriter with minwidth 20, padding 3, where a cell is
    // max(minwidth, text + padding) wide; the tabwriter crate's is max(minwidth, text) +
    // padding, hence 17.
    let mut tw = tabwriter::TabWriter::new(Vec::new())
        .minwidth(17)
        .padding(3);
    let _ = tw.write_all(buf.as_bytes());
    let _ = tw.flush();
    if let Ok(out) = tw.into_inner() {
        let _ = std::io::stdout().write_all(&out);
    }
    Ok(0)
}

// ---- pause / unpause ---------------------------------------------------------------

#[derive(Parser)]
struct Names {
    args: Vec<String>,
}

fn each_post(ctx: &mut Ctx, inv: &Invocation, args: &[String], action: &str) -> CmdResult {
    let o: Names = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    let c = ctx.client()?;
    let mut errs = Vec::new();
    for n in &o.args {
        match c.call(
            "POST",
            &format!("/containers/{}/{action}", q(n)),
            Body::None,
        ) {
            Ok(_) => println!("{n}"),
            Err(e) => errs.push(e.to_string()),
        }
    }
    join_errors(errs)
}

pub fn cmd_pause(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    each_post(ctx, inv, args, "pause")
}

pub fn cmd_unpause(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    each_post(ctx, inv, args, "unpause")
}

// ---- update ------------------------------------------------------------------------

fn parse_bytes(s: &str) -> Result<i64, String> {
    if s == "-1" {
        return Ok(-1);
    }
    ram_in_bytes(s)
}

fn parse_cpus(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .map_err(|_| format!("failed to parse {s} as a rational number"))
}

#[derive(Parser)]
struct UpdateCmd {
    #[arg(short = 'm', long, value_parser = parse_bytes, help = "Memory limit", value_name = "bytes")]
    memory: Option<i64>,
    #[arg(long = "memory-swap", value_parser = parse_bytes, help = "Swap limit equal to memory plus swap: -1 to enable unlimited swap", value_name = "bytes")]
    memory_swap: Option<i64>,
    #[arg(long = "memory-reservation", value_parser = parse_bytes, help = "Memory soft limit", value_name = "bytes")]
    memory_reservation: Option<i64>,
    #[arg(long, value_parser = parse_cpus, help = "Number of CPUs", value_name = "decimal")]
    cpus: Option<f64>,
    #[arg(
        short = 'c',
        long = "cpu-shares",
        help = "CPU shares (relative weight)",
        value_name = "int"
    )]
    cpu_shares: Option<i64>,
    #[arg(
        long = "cpu-period",
        help = "Limit CPU CFS (Completely Fair Scheduler) period",
        value_name = "int"
    )]
    cpu_period: Option<i64>,
    #[arg(
        long = "cpu-quota",
        allow_negative_numbers = true,
        help = "Limit CPU CFS (Completely Fair Scheduler) quota",
        value_name = "int"
    )]
    cpu_quota: Option<i64>,
    #[arg(
        long = "cpu-rt-period",
        allow_negative_numbers = true,
        help = "Limit the CPU real-time period in microseconds",
        value_name = "int"
    )]
    cpu_rt_period: Option<i64>,
    #[arg(
        long = "cpu-rt-runtime",
        allow_negative_numbers = true,
        help = "Limit the CPU real-time runtime in microseconds",
        value_name = "int"
    )]
    cpu_rt_runtime: Option<i64>,
    #[arg(
        long = "cpuset-cpus",
        help = "CPUs in which to allow execution (0-3, 0,1)",
        value_name = "string"
    )]
    cpuset_cpus: Option<String>,
    #[arg(
        long = "cpuset-mems",
        help = "MEMs in which to allow execution (0-3, 0,1)",
        value_name = "string"
    )]
    cpuset_mems: Option<String>,
    #[arg(
        long = "blkio-weight",
        help = "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)",
        value_name = "uint16"
    )]
    blkio_weight: Option<u16>,
    #[arg(
        long = "pids-limit",
        allow_negative_numbers = true,
        help = "Tune container pids limit (set -1 for unlimited)",
        value_name = "int"
    )]
    pids_limit: Option<i64>,
    #[arg(
        long,
        help = "Restart policy to apply when a container exits",
        value_name = "string"
    )]
    restart: Option<String>,
    args: Vec<String>,
}

fn restart_policy(s: &str) -> Result<RestartPolicy, Failure> {
    let (name, count) = match s.split_once(':') {
        Some(("", _)) => {
            return Err(Failure::new(
                "invalid restart policy format: no policy provided before colon",
                1,
            ))
        }
        Some((n, c)) if !c.is_empty() => (
            n,
            c.parse::<i64>().map_err(|_| {
                Failure::new(
                    "invalid restart policy format: maximum retry count must be an integer",
                    1,
                )
            })?,
        ),
        Some((n, _)) => (n, 0),
        None => (s, 0),
    };
    Ok(RestartPolicy {
        name: name.to_string(),
        maximum_retry_count: count,
    })
}

/// The update body: every resource (0 or "" when not given) and the restart policy.
fn update_body(o: &UpdateCmd) -> Result<ContainerUpdateBody, Failure> {
    Ok(ContainerUpdateBody {
        blkio_weight: o.blkio_weight.unwrap_or(0),
        cpu_shares: o.cpu_shares.unwrap_or(0),
        memory: o.memory.unwrap_or(0),
        nano_cpus: o.cpus.map_or(0, |c| (c * 1e9).round() as i64),
        cpu_period: o.cpu_period.unwrap_or(0),
        cpu_quota: o.cpu_quota.unwrap_or(0),
        cpu_realtime_period: o.cpu_rt_period.unwrap_or(0),
        cpu_realtime_runtime: o.cpu_rt_runtime.unwrap_or(0),
        cpuset_cpus: o.cpuset_cpus.clone().unwrap_or_default(),
        cpuset_mems: o.cpuset_mems.clone().unwrap_or_default(),
        memory_reservation: o.memory_reservation.unwrap_or(0),
        memory_swap: o.memory_swap.unwrap_or(0),
        restart_policy: match &o.restart {
            Some(r) => restart_policy(r)?,
            None => RestartPolicy::default(),
        },
        // As docker's CLI: `--pids-limit 0` is sent as no change (the daemon reads 0 as "max").
        pids_limit: o.pids_limit.filter(|p| *p != 0),
    })
}

pub fn cmd_update(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: UpdateCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    let any = o.memory.is_some()
        || o.memory_swap.is_some()
        || o.memory_reservation.is_some()
        || o.cpus.is_some()
        || o.cpu_shares.is_some()
        || o.cpu_period.is_some()
        || o.cpu_quota.is_some()
        || o.cpu_rt_period.is_some()
        || o.cpu_rt_runtime.is_some()
        || o.cpuset_cpus.is_some()
        || o.cpuset_mems.is_some()
        || o.blkio_weight.is_some()
        || o.pids_limit.is_some()
        || o.restart.is_some();
    if !any {
        return Err(Failure::new(
            "you must provide one or more flags when using this command",
            1,
        ));
    }
    let body =
        serde_json::to_value(update_body(&o)?).map_err(|e| Failure::new(e.to_string(), 1))?;
    let c = ctx.client()?;
    let mut errs = Vec::new();
    let mut warns = Vec::new();
    for n in &o.args {
        match c.post_json(
            &format!("/containers/{}/update", q(n)),
            Body::Json(body.clone()),
        ) {
            Ok(v) => {
                println!("{n}");
                for w in v["Warnings"].as_array().into_iter().flatten() {
                    if let Some(w) = w.as_str() {
                        warns.push(w.to_string());
                    }
                }
            }
            Err(e) => errs.push(e.to_string()),
        }
    }
    if !warns.is_empty() {
        println!("{}", warns.join("\n"));
    }
    join_errors(errs)
}

// ---- stats -------------------------------------------------------------------------

#[derive(Parser)]
struct StatsCmd {
    #[arg(
        short = 'a',
        long,
        help = "Show all containers (default shows just running)"
    )]
    all: bool,
    #[arg(
        long = "no-stream",
        help = "Disable streaming stats and only pull the first result"
    )]
    no_stream: bool,
    #[arg(long = "no-trunc", help = "Do not truncate output")]
    no_trunc: bool,
    #[arg(
        long,
        help = super::FORMAT_HELP,
        value_name = "string"
    )]
    format: Option<String>,
    args: Vec<String>,
}

const STATS_HEADERS: &[(&str, &str)] = &[
    ("Container", "CONTAINER"),
    ("ID", "CONTAINER ID"),
    ("Name", "NAME"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET I/O"),
    ("BlockIO", "BLOCK I/O"),
    ("PIDs", "PIDS"),
];

const STATS_TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

/// CPU % as the docker CLI computes it (calculateCPUPercentUnix).
pub fn cpu_percent(v: &Value) -> f64 {
    let cpu_delta = u(v, &["cpu_stats", "cpu_usage", "total_usage"]) as f64
        - u(v, &["precpu_stats", "cpu_usage", "total_usage"]) as f64;
    let sys_delta = u(v, &["cpu_stats", "system_cpu_usage"]) as f64
        - u(v, &["precpu_stats", "system_cpu_usage"]) as f64;
    let mut online = u(v, &["cpu_stats", "online_cpus"]) as f64;
    if online == 0.0 {
        online = v["cpu_stats"]["cpu_usage"]["percpu_usage"]
            .as_array()
            .map_or(0, |a| a.len()) as f64;
    }
    if sys_delta > 0.0 && cpu_delta > 0.0 {
        cpu_delta / sys_delta * online * 100.0
    } else {
        0.0
    }
}

/// Memory use without the page cache (calculateMemUsageUnixNoCache).
pub fn mem_usage(v: &Value) -> f64 {
    let usage = u(v, &["memory_stats", "usage"]);
    let stats = &v["memory_stats"]["stats"];
    if let Some(x) = stats.get("total_inactive_file").and_then(|x| x.as_u64()) {
        if x < usage {
            return (usage - x) as f64;
        }
    }
    let x = stats
        .get("inactive_file")
        .and_then(|x| x.as_u64())
        .unwrap_or(0);
    if x < usage {
        (usage - x) as f64
    } else {
        usage as f64
    }
}

/// The row docker's stats formatter shows for one JSON answer.
pub fn stats_row(container: &str, v: &Value, trunc: bool) -> Value {
    let id = v["id"].as_str().unwrap_or_default().to_string();
    let name = v["name"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches('/');
    let mem = mem_usage(v);
    let limit = u(v, &["memory_stats", "limit"]) as f64;
    let mem_pct = if limit != 0.0 {
        mem / limit * 100.0
    } else {
        0.0
    };
    let (mut rx, mut tx) = (0u64, 0u64);
    if let Some(n) = v["networks"].as_object() {
        for i in n.values() {
            rx += u(i, &["rx_bytes"]);
            tx += u(i, &["tx_bytes"]);
        }
    }
    let (mut rd, mut wr) = (0u64, 0u64);
    for e in v["blkio_stats"]["io_service_bytes_recursive"]
        .as_array()
        .into_iter()
        .flatten()
    {
        match e["op"].as_str().unwrap_or("").to_ascii_lowercase().as_str() {
            "read" => rd += u(e, &["value"]),
            "write" => wr += u(e, &["value"]),
            _ => {}
        }
    }
    json!({
        "Container": container,
        "ID": if trunc { short_id(&id) } else { id },
        "Name": name,
        "CPUPerc": format!("{:.2}%", cpu_percent(v)),
        "MemUsage": format!("{} / {}", bytes_size(mem), bytes_size(limit)),
        "MemPerc": format!("{mem_pct:.2}%"),
        "NetIO": format!("{} / {}", human_size_prec(rx as f64, 3), human_size_prec(tx as f64, 3)),
        "BlockIO": format!("{} / {}", human_size_prec(rd as f64, 3), human_size_prec(wr as f64, 3)),
        "PIDs": u(v, &["pids_stats", "current"]).to_string(),
    })
}

/// `stats`: without `--no-stream` it follows container events (start; create with `--all`;
/// die/destroy) and, on a terminal, redraws the table in place (home, erase-line per line,
/// erase-below), as the docker CLI does.
pub fn cmd_stats(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: StatsCmd = parse(inv, args)?;
    let c = ctx.client()?;
    let list_ids = || -> Result<Vec<String>, Failure> {
        let path = if o.all {
            "/containers/json?all=1"
        } else {
            "/containers/json"
        };
        Ok(c.get_json(path)?
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x["Id"].as_str().map(str::to_string))
            .collect())
    };
    // Streaming without names lists the containers once subscribed to events (below).
    let names: Vec<String> = if !o.args.is_empty() {
        o.args.clone()
    } else if o.no_stream {
        list_ids()?
    } else {
        Vec::new()
    };
    let format = o.format.clone().unwrap_or_default();
    let trunc = !o.no_trunc;
    let render = |rows: &[(String, Value)]| -> Result<String, Failure> {
        let rows: Vec<_> = rows
            .iter()
            .map(|(n, v)| from_json(&stats_row(n, v, trunc)))
            .collect();
        let mut out = Vec::new();
        render_list(&mut out, &format, STATS_TABLE, STATS_HEADERS, &rows)
            .map_err(|e| Failure::new(e.0, 1))?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    };
    if o.no_stream {
        // One request per container, all at once: each answer takes one sampling interval.
        let results: Vec<(String, Result<Value, String>)> = std::thread::scope(|s| {
            let handles: Vec<_> = names
                .iter()
                .map(|n| {
                    s.spawn(move || {
                        let r = c
                            .get_json(&format!("/containers/{}/stats?stream=false", q(n)))
                            .map_err(|e| e.to_string());
                        (n.clone(), r)
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let errs: Vec<String> = results
            .iter()
            .filter_map(|(_, r)| r.as_ref().err().cloned())
            .collect();
        if !errs.is_empty() {
            return join_errors(errs);
        }
        let rows: Vec<(String, Value)> = results
            .into_iter()
            .filter_map(|(n, r)| r.ok().map(|v| (n, v)))
            .collect();
        print!("{}", render(&rows)?);
        return Ok(0);
    }
    // Streaming: one reader per container keeps the latest answer; the table is redrawn
    // every half second, as docker does. Without names, container events add the
    // containers that start (and, with --all, those created) and drop those that die.
    let live: Arc<Mutex<Live>> = Arc::default();
    if o.args.is_empty() {
        let filters = q(r#"{"type":["container"]}"#);
        let events = c.call("GET", &format!("/events?filters={filters}"), Body::None)?;
        let (live2, c2, all) = (live.clone(), c.clone(), o.all);
        std::thread::spawn(move || {
            let de = serde_json::Deserializer::from_reader(events.body).into_iter::<Value>();
            for ev in de.flatten() {
                let id = ev["Actor"]["ID"].as_str().unwrap_or("").to_string();
                match ev["Action"].as_str().unwrap_or("") {
                    "start" => Live::watch(&live2, &c2, &id, None, true),
                    "create" if all => Live::watch(&live2, &c2, &id, None, true),
                    "die" if !all => Live::forget(&live2, &id),
                    "destroy" => Live::forget(&live2, &id),
                    _ => {}
                }
            }
        });
        // Subscribed first, then listed, so no container starting meanwhile is missed.
        for id in &list_ids()? {
            Live::watch(&live, c, id, None, true);
        }
    } else {
        let mut errs = Vec::new();
        for n in &names {
            match c.call(
                "GET",
                &format!("/containers/{}/stats?stream=true", q(n)),
                Body::None,
            ) {
                Ok(r) => Live::watch(&live, c, n, Some(r), false),
                Err(e) => errs.push(e.to_string()),
            }
        }
        if !errs.is_empty() {
            return join_errors(errs);
        }
    }
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let mut first = true;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let rows: Vec<(String, Value)> = {
            let l = live.lock().unwrap_or_else(|e| e.into_inner());
            l.order
                .iter()
                .filter_map(|n| l.latest.get(n).map(|v| (n.clone(), v.clone())))
                .collect()
        };
        let table = render(&rows)?;
        let mut out = std::io::stdout().lock();
        if tty {
            // Redrawn in place: home, each line then erase-to-end-of-line, then erase
            // below (fewer containers than before); the screen is cleared once.
            let mut buf = String::new();
            if first {
                buf.push_str("\x1b[2J");
            }
            buf.push_str("\x1b[H");
            for line in table.lines() {
                buf.push_str(line);
                buf.push_str("\x1b[K\n");
            }
            buf.push_str("\x1b[J");
            let _ = out.write_all(buf.as_bytes());
        } else {
            let _ = out.write_all(table.as_bytes());
        }
        let _ = out.flush();
        first = false;
    }
}

/// The containers a live `stats` shows, in the order they came, with their latest sample.
#[derive(Default)]
struct Live {
    order: Vec<String>,
    latest: HashMap<String, Value>,
}

impl Live {
    /// Starts following `id` (once): `resp` is its stats stream when already open. A
    /// container found through events is dropped when its stream ends.
    fn watch(
        live: &Arc<Mutex<Live>>,
        c: &crate::client::Client,
        id: &str,
        resp: Option<crate::client::Response>,
        from_events: bool,
    ) {
        if id.is_empty() {
            return;
        }
        {
            let mut l = live.lock().unwrap_or_else(|e| e.into_inner());
            if l.order.iter().any(|x| x == id) {
                return;
            }
            l.order.push(id.to_string());
        }
        let (live, c, id) = (live.clone(), c.clone(), id.to_string());
        std::thread::spawn(move || {
            let resp = match resp {
                Some(r) => Some(r),
                None => c
                    .call(
                        "GET",
                        &format!("/containers/{}/stats?stream=true", q(&id)),
                        Body::None,
                    )
                    .ok(),
            };
            if let Some(resp) = resp {
                let de = serde_json::Deserializer::from_reader(resp.body).into_iter::<Value>();
                for v in de.flatten() {
                    let mut l = live.lock().unwrap_or_else(|e| e.into_inner());
                    if !l.order.contains(&id) {
                        return;
                    }
                    l.latest.insert(id.clone(), v);
                }
            }
            if from_events {
                Live::forget(&live, &id);
            }
        });
    }

    fn forget(live: &Arc<Mutex<Live>>, id: &str) {
        let mut l = live.lock().unwrap_or_else(|e| e.into_inner());
        l.order.retain(|x| x != id);
        l.latest.remove(id);
    }
}

// ---- events ------------------------------------------------------------------------

#[derive(Parser)]
struct EventsCmd {
    #[arg(
        long,
        help = "Show all events created since timestamp",
        value_name = "string"
    )]
    since: Option<String>,
    #[arg(
        long,
        help = "Stream events until this timestamp",
        value_name = "string"
    )]
    until: Option<String>,
    #[arg(short = 'f', long, value_parser = crate::client::parse_filter, help = "Filter output based on conditions provided", value_name = "filter")]
    filter: Vec<String>,
    #[arg(
        long,
        help = super::INSPECT_FORMAT_HELP,
        value_name = "string"
    )]
    format: Option<String>,
    args: Vec<String>,
}

/// Go's RFC3339NanoFixed in the local zone ("Z" for UTC).
fn event_time(nanos: i64) -> String {
    use chrono::{Local, TimeZone};
    let t = Local.timestamp_nanos(nanos);
    let base = t.format("%Y-%m-%dT%H:%M:%S%.9f").to_string();
    if t.offset().local_minus_utc() == 0 {
        format!("{base}Z")
    } else {
        format!("{base}{}", t.format("%:z"))
    }
}

/// The docker CLI's prettyPrintEvent.
pub fn pretty_event(e: &Value) -> String {
    let mut s = String::new();
    let nanos = e["timeNano"].as_i64().unwrap_or(0);
    let secs = e["time"].as_i64().unwrap_or(0);
    if nanos != 0 {
        s.push_str(&event_time(nanos));
        s.push(' ');
    } else if secs != 0 {
        s.push_str(&event_time(secs * 1_000_000_000));
        s.push(' ');
    }
    s.push_str(&format!(
        "{} {} {}",
        e["Type"].as_str().unwrap_or(""),
        e["Action"].as_str().unwrap_or(""),
        e["Actor"]["ID"].as_str().unwrap_or("")
    ));
    if let Some(attrs) = e["Actor"]["Attributes"]
        .as_object()
        .filter(|a| !a.is_empty())
    {
        let mut kv: Vec<String> = attrs
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect();
        kv.sort();
        s.push_str(&format!(" ({})", kv.join(", ")));
    }
    s
}

pub fn cmd_events(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: EventsCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    let now = chrono::Utc::now();
    let mut qs = Vec::new();
    if let Some(s) = &o.since {
        let t = get_timestamp(s, now).map_err(|e| Failure::new(e, 1))?;
        qs.push(format!("since={}", q(&t)));
    }
    if let Some(s) = &o.until {
        let t = get_timestamp(s, now).map_err(|e| Failure::new(e, 1))?;
        qs.push(format!("until={}", q(&t)));
    }
    if let Some(f) = filters_json(&o.filter).map_err(|e| Failure::new(e, 1))? {
        qs.push(format!("filters={}", q(&f)));
    }
    let template = match o.format.as_deref() {
        None | Some("") => None,
        Some("json") => Some("{{json .}}".to_string()),
        Some(f) => Some(f.to_string()),
    };
    let t = match &template {
        Some(src) => Some(crate::format::parse(src, false).map_err(|e| Failure::new(e.0, 1))?),
        None => None,
    };
    let resp = ctx
        .client()?
        .call("GET", &format!("/events{}", query(&qs)), Body::None)?;
    let mut out = std::io::stdout();
    for ev in serde_json::Deserializer::from_reader(resp.body).into_iter::<Value>() {
        let Ok(ev) = ev else { break };
        let line = match &t {
            Some(t) => {
                crate::format::execute(t, &from_json(&ev)).map_err(|e| Failure::new(e.0, 1))?
            }
            None => pretty_event(&ev),
        };
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
    Ok(0)
}

// ---- system df / prune -------------------------------------------------------------

#[derive(Parser)]
struct DfCmd {
    #[arg(short = 'v', long, help = "Show detailed information on space usage")]
    verbose: bool,
    #[arg(
        long,
        help = super::FORMAT_HELP,
        value_name = "string"
    )]
    format: Option<String>,
}

const DF_HEADERS: &[(&str, &str)] = &[
    ("Type", "TYPE"),
    ("TotalCount", "TOTAL"),
    ("Active", "ACTIVE"),
    ("Size", "SIZE"),
    ("Reclaimable", "RECLAIMABLE"),
];

fn reclaim(reclaimable: i64, total: i64) -> String {
    if total > 0 {
        format!(
            "{} ({}%)",
            human_size(reclaimable as f64),
            reclaimable * 100 / total
        )
    } else {
        human_size(reclaimable as f64)
    }
}

fn is_active(state: &str) -> bool {
    state.contains("running") || state.contains("paused") || state.contains("restarting")
}

pub fn cmd_system_df(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: DfCmd = parse(inv, args)?;
    let df: SystemDfResponse = ctx.client()?.get_typed("/system/df")?;
    let (images, containers, volumes, cache) =
        (&df.images, &df.containers, &df.volumes, &df.build_cache);
    let total = df.layers_size as i64;
    let used: i64 = images
        .iter()
        .filter(|i| i.containers != 0)
        .map(|i| i.size as i64 - i.shared_size)
        .sum();
    let active_images = images.iter().filter(|i| i.containers > 0).count();
    let size_rw = |c: &ContainerSummary| c.size_rw.unwrap_or(0) as i64;
    let c_total: i64 = containers.iter().map(size_rw).sum();
    let c_reclaim: i64 = containers
        .iter()
        .filter(|c| !is_active(&c.state))
        .map(size_rw)
        .sum();
    let c_active = containers.iter().filter(|c| is_active(&c.state)).count();
    let usage = |x: &Volume| x.usage_data.clone().unwrap_or_default();
    let v_size = |x: &Volume| usage(x).size.max(0);
    let v_used = |x: &Volume| usage(x).ref_count > 0;
    let v_total: i64 = volumes.iter().map(v_size).sum();
    let v_reclaim: i64 = volumes.iter().filter(|x| !v_used(x)).map(v_size).sum();
    let v_active = volumes.iter().filter(|x| v_used(x)).count();
    // The build cache as docker's formatter counts it: shared records take no space of
    // their own; what is in use cannot be reclaimed.
    let b_size = |x: &BuildCacheRecord| x.size.max(0);
    let b_total: i64 = cache.iter().filter(|x| !x.shared).map(b_size).sum();
    let b_used: i64 = cache
        .iter()
        .filter(|x| x.in_use && !x.shared)
        .map(b_size)
        .sum();
    let b_active = cache.iter().filter(|x| x.in_use).count();
    if o.verbose {
        let mut buf = String::from("Images space usage:\n\nREPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS\n");
        for i in images {
            let size = i.size as i64;
            let shared = i.shared_size;
            let created = crate::units::since_unix(i.created);
            let tags: Vec<String> = i.repo_tags.clone().unwrap_or_default();
            let tags = if tags.is_empty() {
                vec!["<none>:<none>".to_string()]
            } else {
                tags
            };
            for t in tags {
                let (repo, tag) = super::images::split_tag(&t);
                buf.push_str(&format!(
                    "{repo}\t{tag}\t{}\t{created} ago\t{}\t{}\t{}\t{}\n",
                    short_id(&i.id),
                    human_size_prec(size as f64, 3),
                    human_size(shared as f64),
                    human_size((size - shared) as f64),
                    i.containers
                ));
            }
        }
        crate::format::write_tabbed(&mut std::io::stdout(), &buf);
        let mut buf = String::from("\nContainers space usage:\n\nCONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES\n");
        for c in containers {
            let r = container_row(c, true);
            let f = |k: &str| r[k].as_str().unwrap_or("").to_string();
            buf.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                f("ID"),
                f("Image"),
                f("Command"),
                f("LocalVolumes"),
                human_size_prec(size_rw(c) as f64, 3),
                f("RunningFor"),
                f("Status"),
                f("Names")
            ));
        }
        crate::format::write_tabbed(&mut std::io::stdout(), &buf);
        let mut buf = String::from("\nLocal Volumes space usage:\n\nVOLUME NAME\tLINKS\tSIZE\n");
        for v in volumes {
            buf.push_str(&format!(
                "{}\t{}\t{}\n",
                v.name,
                usage(v).ref_count,
                human_size(usage(v).size as f64)
            ));
        }
        crate::format::write_tabbed(&mut std::io::stdout(), &buf);
        println!("\nBuild cache usage: {}\n", human_size(b_total as f64));
        let mut buf =
            String::from("CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED\n");
        let ago = |t: Option<&str>| {
            t.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| format!("{} ago", crate::units::since_unix(t.timestamp())))
                .unwrap_or_default()
        };
        for x in cache {
            let id = x.id.as_str();
            buf.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                id.get(..12).unwrap_or(id),
                x.kind,
                human_size(b_size(x) as f64),
                ago(Some(&x.created_at)),
                ago(x.last_used_at.as_deref()),
                x.usage_count,
                x.shared
            ));
        }
        crate::format::write_tabbed(&mut std::io::stdout(), &buf);
        return Ok(0);
    }
    let rows = [
        json!({"Type": "Images", "TotalCount": images.len().to_string(), "Active": active_images.to_string(),
               "Size": human_size(total as f64), "Reclaimable": reclaim(total - used, total)}),
        json!({"Type": "Containers", "TotalCount": containers.len().to_string(), "Active": c_active.to_string(),
               "Size": human_size(c_total as f64), "Reclaimable": reclaim(c_reclaim, c_total)}),
        json!({"Type": "Local Volumes", "TotalCount": volumes.len().to_string(), "Active": v_active.to_string(),
               "Size": human_size(v_total as f64), "Reclaimable": reclaim(v_reclaim, v_total)}),
        json!({"Type": "Build Cache", "TotalCount": cache.len().to_string(), "Active": b_active.to_string(),
               "Size": human_size(b_total as f64), "Reclaimable": human_size((b_total - b_used) as f64)}),
    ];
    let rows: Vec<_> = rows.iter().map(from_json).collect();
    let mut out = std::io::stdout().lock();
    // The first row docker formats is the images' (a field its context lacks fails there).
    crate::format::render_list_in(
        &mut out,
        o.format.as_deref().unwrap_or(""),
        "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
        DF_HEADERS,
        &rows,
        &DF_CONTEXT,
    )
    .map_err(|e| Failure::new(e.0, 1))?;
    Ok(0)
}

#[derive(Parser)]
struct SystemPruneCmd {
    #[arg(
        short = 'a',
        long,
        help = "Remove all unused images not just dangling ones"
    )]
    all: bool,
    #[arg(short = 'f', long, help = "Do not prompt for confirmation")]
    force: bool,
    #[arg(long, help = "Prune anonymous volumes")]
    volumes: bool,
    #[arg(long, value_parser = crate::client::parse_filter, help = "Provide filter values (e.g. \"label=<key>=<value>\")", value_name = "filter")]
    filter: Vec<String>,
}

pub fn cmd_system_prune(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: SystemPruneCmd = parse(inv, args)?;
    let mut warning = String::from(
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n",
    );
    if o.volumes {
        warning.push_str("  - all anonymous volumes not used by at least one container\n");
    }
    if o.all {
        warning.push_str(
            "  - all images without at least one container associated to them\n  - all build cache\n",
        );
    } else {
        warning.push_str("  - all dangling images\n  - unused build cache\n");
    }
    if !o.force && !confirm(&warning) {
        return Ok(0);
    }
    let c = ctx.client()?;
    let with = |extra: &[String]| -> Result<String, Failure> {
        let mut f = o.filter.clone();
        f.extend(extra.iter().cloned());
        Ok(match filters_json(&f).map_err(|e| Failure::new(e, 1))? {
            Some(j) => format!("?filters={}", q(&j)),
            None => String::new(),
        })
    };
    let mut space = 0u64;
    let v = c.post_json(&format!("/containers/prune{}", with(&[])?), Body::None)?;
    space += v["SpaceReclaimed"].as_u64().unwrap_or(0);
    print_section(&v, "ContainersDeleted", "Deleted Containers");
    c.post_json(&format!("/networks/prune{}", with(&[])?), Body::None)?;
    if o.volumes {
        let v = c.post_json(&format!("/volumes/prune{}", with(&[])?), Body::None)?;
        space += v["SpaceReclaimed"].as_u64().unwrap_or(0);
    }
    let dangling = format!("dangling={}", !o.all);
    let v = c.post_json(&format!("/images/prune{}", with(&[dangling])?), Body::None)?;
    space += v["SpaceReclaimed"].as_u64().unwrap_or(0);
    print_section(&v, "ImagesDeleted", "Deleted Images");
    // The build cache knows creation times only (no labels): its share of the filters.
    let until: Vec<String> = o
        .filter
        .iter()
        .filter(|f| f.trim_start().starts_with("until="))
        .cloned()
        .collect();
    let (report, cache_space) = super::builder::prune_build_cache(ctx, o.all, &until, None)?;
    space += cache_space;
    if !report.is_empty() {
        println!("{report}");
    }
    println!("Total reclaimed space: {}", human_size(space as f64));
    Ok(0)
}

/// A prune answer's list, as each docker prune prints it (without the total line).
fn print_section(v: &Value, key: &str, title: &str) {
    if v[key].as_array().is_some_and(|l| !l.is_empty()) {
        println!("{}", prune_list(v, key, title));
    }
}

fn prune_list(v: &Value, key: &str, title: &str) -> String {
    let mut out = format!("{title}:\n");
    for d in v[key].as_array().into_iter().flatten() {
        match d.as_str() {
            Some(s) => out.push_str(&format!("{s}\n")),
            None => {
                if let Some(u) = d["Untagged"].as_str() {
                    out.push_str(&format!("untagged: {u}\n"));
                }
                if let Some(u) = d["Deleted"].as_str() {
                    out.push_str(&format!("deleted: {u}\n"));
                }
            }
        }
    }
    out
}

/// The commands this module implements (see `catalog.rs`).
pub(crate) static COMMANDS: &[Command] = &[
    Command::new(
        "container top",
        "CONTAINER [ps OPTIONS]",
        "Display the running processes of a container",
        TopCmd::command,
        cmd_top,
    )
    .aliases(&["top"]),
    Command::new(
        "container pause",
        "CONTAINER [CONTAINER...]",
        "Pause all processes within one or more containers",
        Names::command,
        cmd_pause,
    )
    .aliases(&["pause"]),
    Command::new(
        "container unpause",
        "CONTAINER [CONTAINER...]",
        "Unpause all processes within one or more containers",
        Names::command,
        cmd_unpause,
    )
    .aliases(&["unpause"]),
    Command::new(
        "container update",
        "[OPTIONS] CONTAINER [CONTAINER...]",
        "Update configuration of one or more containers",
        UpdateCmd::command,
        cmd_update,
    )
    .aliases(&["update"]),
    Command::new(
        "container stats",
        "[OPTIONS] [CONTAINER...]",
        "Display a live stream of container(s) resource usage statistics",
        StatsCmd::command,
        cmd_stats,
    )
    .aliases(&["stats"]),
    Command::new(
        "system events",
        "[OPTIONS]",
        "Get real time events from the server",
        EventsCmd::command,
        cmd_events,
    )
    .aliases(&["events"]),
    Command::new(
        "system df",
        "[OPTIONS]",
        "Show berth disk usage",
        DfCmd::command,
        cmd_system_df,
    ),
    Command::new(
        "system prune",
        "[OPTIONS]",
        "Remove unused data",
        SystemPruneCmd::command,
        cmd_system_prune,
    ),
];

/// The docker CLI 28's `system df` formatter: its failure prefix and row type.
static DF_CONTEXT: crate::format::ListContext = crate::format::ListContext {
    prefix: "template parsing error",
    row: &crate::format::GoStruct {
        root: "*formatter.diskUsageImagesContext",
        types: &[],
        maps: &[],
        optional: &[],
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The update body as `berth update` built it before the typed model (json!).
    fn update_before(o: &UpdateCmd) -> Value {
        let rp = match &o.restart {
            Some(r) => {
                let p = restart_policy(r).unwrap();
                json!({"Name": p.name, "MaximumRetryCount": p.maximum_retry_count})
            }
            None => json!({"Name": "", "MaximumRetryCount": 0}),
        };
        let mut body = json!({
            "BlkioWeight": o.blkio_weight.unwrap_or(0),
            "CpuShares": o.cpu_shares.unwrap_or(0),
            "Memory": o.memory.unwrap_or(0),
            "NanoCpus": o.cpus.map_or(0, |c| (c * 1e9).round() as i64),
            "CpuPeriod": o.cpu_period.unwrap_or(0),
            "CpuQuota": o.cpu_quota.unwrap_or(0),
            // Added with --cpu-rt-period/--cpu-rt-runtime (sent as 0 when not given, as
            // the docker CLI sends its whole Resources).
            "CpuRealtimePeriod": o.cpu_rt_period.unwrap_or(0),
            "CpuRealtimeRuntime": o.cpu_rt_runtime.unwrap_or(0),
            "CpusetCpus": o.cpuset_cpus.clone().unwrap_or_default(),
            "CpusetMems": o.cpuset_mems.clone().unwrap_or_default(),
            "MemoryReservation": o.memory_reservation.unwrap_or(0),
            "MemorySwap": o.memory_swap.unwrap_or(0),
            "RestartPolicy": rp,
        });
        if let Some(p) = o.pids_limit.filter(|p| *p != 0) {
            body["PidsLimit"] = json!(p);
        }
        body
    }

    #[test]
    fn typed_update_body_sends_the_same_bytes() {
        for args in [
            &["--memory", "64m", "c"][..],
            &[
                "--cpus",
                "1.5",
                "--cpu-shares",
                "512",
                "--cpuset-cpus",
                "0",
                "c",
            ][..],
            &["--pids-limit", "0", "--restart", "on-failure:3", "c"][..],
            &[
                "--pids-limit=-1",
                "--blkio-weight",
                "300",
                "--memory-swap",
                "128m",
                "c",
                "d",
            ][..],
            &[
                "--restart",
                "always",
                "--cpu-period",
                "100000",
                "--cpu-quota",
                "50000",
                "c",
            ][..],
            &[
                "--cpu-rt-period",
                "1000000",
                "--cpu-rt-runtime",
                "950000",
                "c",
            ][..],
        ] {
            let o =
                UpdateCmd::try_parse_from(std::iter::once("update").chain(args.iter().copied()))
                    .unwrap();
            let typed = serde_json::to_value(update_body(&o).unwrap()).unwrap();
            assert_eq!(
                serde_json::to_string(&typed).unwrap(),
                serde_json::to_string(&update_before(&o)).unwrap(),
                "{args:?}"
            );
            // The daemon reads it as a HostConfig.
            let hc: berth_api::models::HostConfig = serde_json::from_value(typed).unwrap();
            assert_eq!(hc.pids_limit, o.pids_limit.filter(|p| *p != 0));
        }
    }

    #[test]
    fn cpu_and_memory_as_docker_cli() {
        let v = json!({
            "cpu_stats": {"cpu_usage": {"total_usage": 300}, "system_cpu_usage": 2000, "online_cpus": 2},
            "precpu_stats": {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000},
            "memory_stats": {"usage": 3 << 20, "limit": 8 << 20, "stats": {"total_inactive_file": 1 << 20}},
            "pids_stats": {"current": 3},
            "blkio_stats": {"io_service_bytes_recursive": [{"op": "Read", "value": 2000}, {"op": "Write", "value": 1000}]},
            "id": "0123456789abcdef", "name": "/web",
        });
        assert!((cpu_percent(&v) - 40.0).abs() < 1e-9);
        let r = stats_row("web", &v, true);
        assert_eq!(r["CPUPerc"], "40.00%");
        assert_eq!(r["MemUsage"], "2MiB / 8MiB");
        assert_eq!(r["MemPerc"], "25.00%");
        assert_eq!(r["BlockIO"], "2kB / 1kB");
        assert_eq!(r["NetIO"], "0B / 0B");
        assert_eq!(r["PIDs"], "3");
        assert_eq!(r["ID"], "0123456789ab");
        assert_eq!(r["Name"], "web");
    }

    #[test]
    fn events_print_as_docker_cli() {
        let e = json!({"Type": "container", "Action": "start", "Actor": {"ID": "abc", "Attributes": {"name": "x", "image": "busybox"}}, "time": 1, "timeNano": 1_000_000_123i64});
        let s = pretty_event(&e);
        assert!(
            s.ends_with(" container start abc (image=busybox, name=x)"),
            "{s}"
        );
        assert!(s.contains(".000000123"), "{s}");
    }

    #[test]
    fn df_reclaimable() {
        assert_eq!(reclaim(0, 0), "0B");
        assert_eq!(reclaim(500, 1000), "500B (50%)");
    }
}
