//! `network create | ls | inspect | rm | prune`.

use std::fmt::Write as _;

use berth_api::models::{
    ConfigReference, ContainerInspectPart, NetworkCreateBody, NetworkInspect, NetworkIpam,
};
use clap::{CommandFactory, Parser};
use serde_json::{json, Value};
use std::collections::BTreeMap;

use super::{confirm, parse, Invocation};
use crate::catalog::Command;
use crate::client::{filters_json, q, query, Body};
use crate::format::from_json;
use crate::{CmdResult, Ctx, Failure};

#[derive(Parser)]
struct CreateCmd {
    #[arg(
        short = 'd',
        long,
        default_value = "bridge",
        help = "Driver to manage the Network (default \"bridge\")",
        value_name = "string"
    )]
    driver: String,
    #[arg(
        long,
        help = "Subnet in CIDR format that represents a network segment",
        value_name = "strings"
    )]
    subnet: Vec<String>,
    #[arg(
        long,
        help = "IPv4 or IPv6 Gateway for the master subnet",
        value_name = "strings"
    )]
    gateway: Vec<String>,
    #[arg(
        long = "ip-range",
        help = "Allocate container ip from a sub-range",
        value_name = "strings"
    )]
    ip_range: Vec<String>,
    #[arg(
        long = "ipam-driver",
        default_value = "default",
        help = "IP Address Management Driver (default \"default\")",
        value_name = "string"
    )]
    ipam_driver: String,
    #[arg(
        long = "ipam-opt",
        help = "Set IPAM driver specific options (default map[])",
        value_name = "map"
    )]
    ipam_opt: Vec<String>,
    #[arg(long, help = "Restrict external access to the network")]
    internal: bool,
    #[arg(long, help = "Enable manual container attachment")]
    attachable: bool,
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true, help = "Enable or disable IPv6 address assignment", value_name = "bool")]
    ipv6: Option<String>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true, help = "Enable or disable IPv4 address assignment (default true)", value_name = "bool")]
    ipv4: Option<String>,
    #[arg(
        long = "aux-address",
        help = "Auxiliary IPv4 or IPv6 addresses used by Network driver (default map[])",
        value_name = "map"
    )]
    aux_address: Vec<String>,
    #[arg(long, help = "Control the network's scope", value_name = "string")]
    scope: Option<String>,
    #[arg(long, help = "Create swarm routing-mesh network")]
    ingress: bool,
    #[arg(long = "config-only", help = "Create a configuration only network")]
    config_only: bool,
    #[arg(
        long = "config-from",
        help = "The network from which to copy the configuration",
        value_name = "string"
    )]
    config_from: Option<String>,
    #[arg(long, help = "Set metadata on a network", value_name = "list")]
    label: Vec<String>,
    #[arg(
        short = 'o',
        long = "opt",
        help = "Set driver specific options (default map[])",
        value_name = "map"
    )]
    opt: Vec<String>,
    args: Vec<String>,
}

fn kv_map(items: &[String]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|i| {
            let (k, v) = i.split_once('=').unwrap_or((i.as_str(), ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// A `--ipv4`/`--ipv6` value, as pflag's bool parser reads it (exit 125; `cmd_create`
/// adds the usage, as pflag's errors have it).
fn flag_bool(flag: &str, v: Option<&str>) -> Result<Option<bool>, Failure> {
    match v {
        None => Ok(None),
        Some(v) => super::parse_go_bool(v).map(Some).ok_or_else(|| {
            Failure::new(
                format!("invalid argument \"{v}\" for \"--{flag}\" flag: strconv.ParseBool: parsing \"{v}\": invalid syntax"),
                125,
            )
        }),
    }
}

/// `network create`'s body: every field written, as the docker CLI's struct is (but
/// `EnableIPv6`, `null` without `--ipv6`; `EnableIPv4` only with `--ipv4`, as the docker
/// CLI 28 sends it).
fn create_body(o: &CreateCmd) -> Result<NetworkCreateBody, Failure> {
    let config = super::network_ipam::ipam_config(&o.subnet, &o.ip_range, &o.gateway)
        .and_then(|mut c| {
            super::network_ipam::add_aux_addresses(&mut c, &o.subnet, &o.aux_address)?;
            Ok(c)
        })
        .map_err(|m| Failure::new(m, 1))?;
    let enable_ipv6 = flag_bool("ipv6", o.ipv6.as_deref())?;
    let enable_ipv4 = flag_bool("ipv4", o.ipv4.as_deref())?;
    Ok(NetworkCreateBody {
        name: o.args[0].clone(),
        driver: o.driver.clone(),
        scope: Some(o.scope.clone().unwrap_or_default()),
        enable_ipv6: Some(enable_ipv6),
        enable_ipv4,
        ipam: Some(NetworkIpam {
            driver: o.ipam_driver.clone(),
            options: Some(kv_map(&o.ipam_opt)),
            config,
            ..Default::default()
        }),
        internal: o.internal,
        attachable: o.attachable,
        ingress: Some(o.ingress),
        config_only: Some(o.config_only),
        config_from: o
            .config_from
            .as_ref()
            .filter(|n| !n.is_empty())
            .map(|n| ConfigReference { network: n.clone() }),
        options: kv_map(&o.opt),
        labels: kv_map(&o.label),
        ..Default::default()
    })
}

pub fn cmd_create(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: CreateCmd = parse(inv, args)?;
    inv.exactly(&o.args, 1)?;
    let body = create_body(&o).map_err(|mut f| {
        if f.code == 125 {
            f.msg = format!(
                "{}\n\n{}\n\nRun 'berth {} --help' for more information",
                f.msg,
                inv.usage_line(),
                inv.path
            );
        }
        f
    })?;
    let body = Body::typed(&body)?;
    let v = ctx.client()?.post_json("/networks/create", body)?;
    println!(
        "{}",
        v.get("Id").and_then(|x| x.as_str()).unwrap_or_default()
    );
    Ok(0)
}

#[derive(Parser)]
struct LsCmd {
    #[arg(
        short = 'f',
        long,
        help = "Provide filter values (e.g. \"driver=bridge\")",
        value_name = "filter"
    )]
    filter: Vec<String>,
    #[arg(
        long,
        help = super::FORMAT_HELP,
        value_name = "string"
    )]
    format: Option<String>,
    #[arg(short = 'q', long, help = "Only display network IDs")]
    quiet: bool,
    #[arg(long = "no-trunc", help = "Do not truncate the output")]
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

fn row(n: &NetworkInspect, trunc: bool) -> Value {
    let id = n.id.as_str();
    let id = if trunc && id.len() > 12 {
        &id[..12]
    } else {
        id
    };
    // In the daemon's order (Go writes a map's keys sorted; the map is sorted too).
    let labels: Vec<String> = n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let created = chrono::DateTime::parse_from_rfc3339(&n.created)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S%.f %z %Z")
                .to_string()
        })
        .unwrap_or_default();
    json!({
        "ID": id,
        "Name": n.name,
        "Driver": n.driver,
        "Scope": n.scope,
        "IPv6": n.enable_ipv6,
        "Internal": n.internal,
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
    let mut nets: Vec<NetworkInspect> = ctx
        .client()?
        .get_typed(&format!("/networks{}", query(&qs)))?;
    // The docker CLI sorts by name.
    nets.sort_by(|a, b| a.name.cmp(&b.name));
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
    crate::format::render_list_in(
        &mut out,
        &format,
        "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
        HEADERS,
        &rows,
        &NETWORKS_CONTEXT,
    )
    .map_err(|e| Failure::new(e.0, 1))?;
    Ok(0)
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
    #[arg(short = 'v', long, help = "Verbose output for diagnostics")]
    verbose: bool,
    args: Vec<String>,
}

pub fn cmd_inspect(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: InspectCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    super::inspect_by_path(ctx, o.format.as_deref(), &o.args, |name| {
        format!("/networks/{}", q(name))
    })
}

#[derive(Parser)]
struct RmCmd {
    #[arg(short = 'f', long, help = "Do not error if the network does not exist")]
    force: bool,
    args: Vec<String>,
}

pub fn cmd_rm(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: RmCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    let c = ctx.client()?;
    // docker's `network rm` prints each failure as it comes and then fails with a bare
    // status, which its CLI shows as "exit status 1".
    let mut failed = false;
    for name in &o.args {
        match c.call("DELETE", &format!("/networks/{}", q(name)), Body::None) {
            Ok(_) => println!("{name}"),
            Err(crate::client::ClientError::Daemon { status: 404, .. }) if o.force => {}
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    if failed {
        Err(Failure::new("exit status 1", 1))
    } else {
        Ok(0)
    }
}

#[derive(Parser)]
struct PruneCmd {
    #[arg(short = 'f', long, help = "Do not prompt for confirmation")]
    force: bool,
    #[arg(
        long,
        help = "Provide filter values (e.g. \"until=<timestamp>\")",
        value_name = "filter"
    )]
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
    inv.range(&o.args, 1, 2)?;
    let info: ContainerInspectPart = ctx
        .client()?
        .get_typed(&format!("/containers/{}/json", q(&o.args[0])))?;
    let mut lines: Vec<(u32, String, String)> = Vec::new();
    for (key, binds) in &info.network_settings.ports {
        let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let n: u32 = port.parse().unwrap_or(0);
        for b in binds.iter().flatten() {
            let (ip, hp) = (&b.host_ip, &b.host_port);
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
                // The port as given (docker: `'80'`, not `'80/tcp'`).
                format!("Error: No public port '{want}' published for {}", o.args[0]),
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

/// The commands this module implements (see `catalog.rs`).
pub(crate) static COMMANDS: &[Command] = &[
    Command::new(
        "network create",
        "[OPTIONS] NETWORK",
        "Create a network",
        CreateCmd::command,
        cmd_create,
    ),
    Command::new(
        "network ls",
        "[OPTIONS]",
        "List networks",
        LsCmd::command,
        cmd_ls,
    )
    .aliases(&["network list"]),
    Command::new(
        "network inspect",
        "[OPTIONS] NETWORK [NETWORK...]",
        "Display detailed information on one or more networks",
        InspectCmd::command,
        cmd_inspect,
    ),
    Command::new(
        "network rm",
        "NETWORK [NETWORK...]",
        "Remove one or more networks",
        RmCmd::command,
        cmd_rm,
    )
    .aliases(&["network remove"]),
    Command::new(
        "network prune",
        "[OPTIONS]",
        "Remove all unused networks",
        PruneCmd::command,
        cmd_prune,
    ),
    Command::new(
        "container port",
        "CONTAINER [PRIVATE_PORT[/PROTO]]",
        "List port mappings or a specific mapping for the container",
        PortCmd::command,
        cmd_port,
    )
    .aliases(&["port"]),
];

/// The docker CLI 28's `network ls` formatter: its failure prefix and row type.
static NETWORKS_CONTEXT: crate::format::ListContext = crate::format::ListContext {
    prefix: "template parsing error",
    row: &crate::format::GoStruct {
        root: "*network.networkContext",
        types: &[],
        maps: &[],
        optional: &[],
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    /// The body as `network create` built it before the typed model (json!).
    fn before(o: &CreateCmd) -> Value {
        fn kv(items: &[String]) -> Map<String, Value> {
            items
                .iter()
                .map(|i| {
                    let (k, v) = i.split_once('=').unwrap_or((i.as_str(), ""));
                    (k.to_string(), json!(v))
                })
                .collect()
        }
        let config: Vec<Value> = create_body(o)
            .unwrap()
            .pools()
            .iter()
            .map(|c| json!({ "Subnet": c.subnet, "IPRange": c.ip_range, "Gateway": c.gateway }))
            .collect();
        let enable_ipv6 = match o.ipv6.as_deref() {
            None => Value::Null,
            Some("true") | Some("1") => json!(true),
            _ => json!(false),
        };
        json!({
            "Name": o.args[0],
            "Driver": o.driver,
            "Scope": "",
            "EnableIPv6": enable_ipv6,
            "IPAM": { "Driver": o.ipam_driver, "Options": kv(&o.ipam_opt), "Config": config },
            "Internal": o.internal,
            "Attachable": o.attachable,
            "Ingress": false,
            "ConfigOnly": false,
            "Options": kv(&o.opt),
            "Labels": kv(&o.label),
        })
    }

    fn cmd(args: &[&str]) -> CreateCmd {
        CreateCmd::try_parse_from(std::iter::once("create").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn typed_create_body_sends_the_same_bytes() {
        let lines: &[&[&str]] = &[
            &["n"],
            &["--ipv6", "n"],
            &[
                "--ipv6=false",
                "--internal",
                "--attachable",
                "-d",
                "macvlan",
                "n",
            ],
            &[
                "--subnet",
                "10.1.0.0/16",
                "--ip-range",
                "10.1.2.0/24",
                "--gateway",
                "10.1.0.9",
                "--subnet",
                "fd00:1::/64",
                "--ipam-opt",
                "a=1",
                "--ipam-opt",
                "b",
                "-o",
                "com.docker.network.bridge.name=br9",
                "-o",
                "com.docker.network.driver.mtu=1400",
                "--label",
                "a=b",
                "--label",
                "c",
                "n",
            ],
        ];
        for args in lines {
            let o = cmd(args);
            let typed = serde_json::to_value(create_body(&o).unwrap()).unwrap();
            let old = before(&o);
            assert_eq!(
                serde_json::to_string(&typed).unwrap(),
                serde_json::to_string(&old).unwrap(),
                "{args:?}"
            );
            // What the daemon reads back is what was sent.
            let back: NetworkCreateBody = serde_json::from_value(typed).unwrap();
            assert_eq!(back, create_body(&o).unwrap());
        }
        // Labels and options given out of order: the same values, keys sorted as the
        // docker CLI (Go's maps) sends them; the json! body kept the command line's order.
        let o = cmd(&[
            "--label", "z=1", "--label", "a=2", "-o", "y=1", "-o", "b=2", "n",
        ]);
        let typed = serde_json::to_value(create_body(&o).unwrap()).unwrap();
        assert_eq!(typed, before(&o));
        assert_eq!(
            serde_json::to_string(&typed["Labels"]).unwrap(),
            r#"{"a":"2","z":"1"}"#
        );
    }

    #[test]
    fn create_body_reads_what_other_clients_send() {
        // Go clients write nil maps and pointers as null; unknown fields are kept.
        let b: NetworkCreateBody = serde_json::from_str(
            r#"{"Name":"n","Driver":"bridge","Scope":"","EnableIPv6":null,"IPAM":{"Driver":"default","Options":null,"Config":null},"Options":null,"Labels":null,"CheckDuplicate":true,"Future":1}"#,
        )
        .unwrap();
        assert!(!b.ipv6() && b.pools().is_empty() && b.labels.is_empty());
        assert_eq!(b.check_duplicate, Some(true));
        assert_eq!(b.extra.get("Future"), Some(&json!(1)));
        let b: NetworkCreateBody = serde_json::from_str(r#"{"Name":"n"}"#).unwrap();
        assert_eq!(b.enable_ipv6, None);
        assert!(b.ipam.is_none());
        assert!(serde_json::from_str::<NetworkCreateBody>(r#"{"Labels":{"a":1}}"#).is_err());
    }
}
