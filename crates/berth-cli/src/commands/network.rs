//! `network create | ls | inspect | rm | prune`.

use std::fmt::Write as _;

use clap::Parser;
use serde_json::{json, Map, Value};

use super::{confirm, join_errors, parse, InspectOutput, Invocation};
use crate::client::{filters_json, q, query, Body};
use crate::format::{from_json, render_list};
use crate::{CmdResult, Ctx, Failure};

#[derive(Parser)]
struct CreateCmd {
    #[arg(short = 'd', long, default_value = "bridge")]
    driver: String,
    #[arg(long)]
    subnet: Vec<String>,
    #[arg(long)]
    gateway: Vec<String>,
    #[arg(long = "ip-range")]
    ip_range: Vec<String>,
    #[arg(long = "ipam-driver", default_value = "default")]
    ipam_driver: String,
    #[arg(long = "ipam-opt")]
    ipam_opt: Vec<String>,
    #[arg(long)]
    internal: bool,
    #[arg(long)]
    attachable: bool,
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    ipv6: Option<String>,
    #[arg(long)]
    label: Vec<String>,
    #[arg(short = 'o', long = "opt")]
    opt: Vec<String>,
    args: Vec<String>,
}

fn kv_map(items: &[String]) -> Map<String, Value> {
    items
        .iter()
        .map(|i| {
            let (k, v) = i.split_once('=').unwrap_or((i.as_str(), ""));
            (k.to_string(), json!(v))
        })
        .collect()
}

pub fn cmd_create(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: CreateCmd = parse(inv, args)?;
    inv.exactly(&o.args, 1)?;
    // The docker CLI pairs the n-th gateway and range with the n-th subnet.
    if o.gateway.len() > o.subnet.len() || o.ip_range.len() > o.subnet.len() {
        return Err(Failure::new(
            "every ip-range or gateway must have a corresponding subnet",
            1,
        ));
    }
    let config: Vec<Value> = o
        .subnet
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({
                "Subnet": s,
                "IPRange": o.ip_range.get(i).cloned().unwrap_or_default(),
                "Gateway": o.gateway.get(i).cloned().unwrap_or_default(),
            })
        })
        .collect();
    let enable_ipv6 = match o.ipv6.as_deref() {
        None => Value::Null,
        Some("true") | Some("1") => json!(true),
        Some("false") | Some("0") => json!(false),
        Some(v) => {
            return Err(Failure::new(
                format!("invalid argument \"{v}\" for \"--ipv6\" flag: strconv.ParseBool: parsing \"{v}\": invalid syntax"),
                125,
            ))
        }
    };
    let body = json!({
        "Name": o.args[0],
        "Driver": o.driver,
        "Scope": "",
        "EnableIPv6": enable_ipv6,
        "IPAM": { "Driver": o.ipam_driver, "Options": kv_map(&o.ipam_opt), "Config": config },
        "Internal": o.internal,
        "Attachable": o.attachable,
        "Ingress": false,
        "ConfigOnly": false,
        "Options": kv_map(&o.opt),
        "Labels": kv_map(&o.label),
    });
    let v = ctx
        .client()?
        .post_json("/networks/create", Body::Json(body))?;
    println!(
        "{}",
        v.get("Id").and_then(|x| x.as_str()).unwrap_or_default()
    );
    Ok(0)
}

#[derive(Parser)]
struct LsCmd {
    #[arg(short = 'f', long)]
    filter: Vec<String>,
    #[arg(long)]
    format: Option<String>,
    #[arg(short = 'q', long)]
    quiet: bool,
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    args: Vec<String>,
}

const HEADERS: &[(&str, &str)] = &[
    ("ID", "NETWORK ID"),
    ("Name", "NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("IPv6", "IPV6"),
    ("Internal", "INTERNAL"),
    ("Labels", "LABELS"),
    ("CreatedAt", "CREATED AT"),
];

fn row(n: &Value, trunc: bool) -> Value {
    let s = |k: &str| n.get(k).and_then(|x| x.as_str()).unwrap_or_default();
    let id = s("Id");
    let id = if trunc && id.len() > 12 {
        &id[..12]
    } else {
        id
    };
    let labels: Vec<String> = n
        .get("Labels")
        .and_then(|l| l.as_object())
        .map(|o| {
            o.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let b = |k: &str| n.get(k).and_then(|x| x.as_bool()).unwrap_or(false);
    let created = chrono::DateTime::parse_from_rfc3339(s("Created"))
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S%.f %z %Z")
                .to_string()
        })
        .unwrap_or_default();
    json!({
        "ID": id,
        "Name": s("Name"),
        "Driver": s("Driver"),
        "Scope": s("Scope"),
        "IPv6": b("EnableIPv6"),
        "Internal": b("Internal"),
        "Labels": labels.join(","),
        "CreatedAt": created,
    })
}

pub fn cmd_ls(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: LsCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    let mut qs = Vec::new();
    if let Some(f) = filters_json(&o.filter).map_err(|e| Failure::new(e, 1))? {
        qs.push(format!("filters={}", q(&f)));
    }
    let list = ctx
        .client()?
        .get_json(&format!("/networks{}", query(&qs)))?;
    let mut nets: Vec<Value> = list.as_array().cloned().unwrap_or_default();
    // The docker CLI sorts by name.
    nets.sort_by(|a, b| {
        let n = |v: &Value| {
            v.get("Name")
                .and_then(|x| x.as_str())
                .unwrap_or("")
                .to_string()
        };
        n(a).cmp(&n(b))
    });
    let rows: Vec<_> = nets
        .iter()
        .map(|n| from_json(&row(n, !o.no_trunc)))
        .collect();
    let format = o.format.clone().unwrap_or_default();
    let format = if o.quiet && (format.is_empty() || format == "table") {
        "{{.ID}}".to_string()
    } else {
        format
    };
    let mut out = std::io::stdout().lock();
    render_list(
        &mut out,
        &format,
        "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
        HEADERS,
        &rows,
    )
    .map_err(|e| Failure::new(e.0, 1))?;
    Ok(0)
}

#[derive(Parser)]
struct InspectCmd {
    #[arg(short = 'f', long)]
    format: Option<String>,
    #[arg(short = 'v', long)]
    verbose: bool,
    args: Vec<String>,
}

pub fn cmd_inspect(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: InspectCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    let output = InspectOutput::new(o.format.as_deref())?;
    let c = ctx.client()?;
    let mut found = Vec::new();
    let mut errs = Vec::new();
    for name in &o.args {
        match c.get_json(&format!("/networks/{}", q(name))) {
            Ok(v) => found.push(v),
            Err(e) => errs.push(e.to_string()),
        }
    }
    output.print(found)?;
    join_errors(errs)
}

#[derive(Parser)]
struct RmCmd {
    #[arg(short = 'f', long)]
    force: bool,
    args: Vec<String>,
}

pub fn cmd_rm(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: RmCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    let c = ctx.client()?;
    let mut errs = Vec::new();
    for name in &o.args {
        match c.call("DELETE", &format!("/networks/{}", q(name)), Body::None) {
            Ok(_) => println!("{name}"),
            Err(crate::client::ClientError::Daemon { status: 404, .. }) if o.force => {}
            Err(e) => errs.push(e.to_string()),
        }
    }
    join_errors(errs)
}

#[derive(Parser)]
struct PruneCmd {
    #[arg(short = 'f', long)]
    force: bool,
    #[arg(long)]
    filter: Vec<String>,
    args: Vec<String>,
}

pub fn cmd_prune(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: PruneCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    if !o.force
        && !confirm(
            "WARNING! This will remove all custom networks not used by at least one container.",
        )
    {
        return Ok(0);
    }
    let f = filters_json(&o.filter)
        .map_err(|e| Failure::new(e, 1))?
        .unwrap_or_default();
    let v = ctx
        .client()?
        .post_json(&format!("/networks/prune?filters={}", q(&f)), Body::None)?;
    // As the docker CLI: the list, then a blank line; nothing when nothing went.
    if let Some(list) = v
        .get("NetworksDeleted")
        .and_then(|d| d.as_array())
        .filter(|l| !l.is_empty())
    {
        let mut out = String::from("Deleted Networks:\n");
        for n in list {
            let _ = writeln!(out, "{}", n.as_str().unwrap_or_default());
        }
        println!("{out}");
    }
    Ok(0)
}

#[derive(Parser)]
struct PortCmd {
    args: Vec<String>,
}

/// `port CONTAINER [PRIVATE_PORT[/PROTO]]`, from inspect's `NetworkSettings.Ports`.
pub fn cmd_port(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: PortCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    if o.args.len() > 2 {
        return Err(inv.needs("at most", 2));
    }
    let v = ctx
        .client()?
        .get_json(&format!("/containers/{}/json", q(&o.args[0])))?;
    let ports = v["NetworkSettings"]["Ports"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut lines: Vec<(u32, String, String)> = Vec::new();
    for (key, binds) in &ports {
        let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let n: u32 = port.parse().unwrap_or(0);
        for b in binds.as_array().into_iter().flatten() {
            let ip = b["HostIp"].as_str().unwrap_or_default();
            let hp = b["HostPort"].as_str().unwrap_or_default();
            // net.JoinHostPort, as the docker CLI: `[::]:8080`.
            let host = if ip.contains(':') {
                format!("[{ip}]:{hp}")
            } else {
                format!("{ip}:{hp}")
            };
            lines.push((n, format!("{n}/{proto}"), host));
        }
    }
    lines.sort();
    if let Some(want) = o.args.get(1) {
        let (port, proto) = want.split_once('/').unwrap_or((want.as_str(), "tcp"));
        let key = format!("{port}/{proto}");
        let found: Vec<&(u32, String, String)> = lines.iter().filter(|l| l.1 == key).collect();
        if found.is_empty() {
            return Err(Failure::new(
                format!("Error: No public port '{key}' published for {}", o.args[0]),
                1,
            ));
        }
        for l in found {
            println!("{}", l.2);
        }
        return Ok(0);
    }
    for l in lines {
        println!("{} -> {}", l.1, l.2);
    }
    Ok(0)
}
