//! `volume create/ls/inspect/rm/prune`, as the docker CLI prints them.

use berth_api::models::{
    CapacityRange, ClusterVolumeSpec, TopologyRequirement, Volume, VolumeAccessMode,
    VolumeCreateBody, VolumeListResponse, VolumePruneResponse, VolumeSecret, VolumeTopology,
};
use clap::{CommandFactory, Parser};
use serde_json::{json, Value};
use std::collections::BTreeMap;

use super::containers::print_prune;
use super::{confirm, join_errors, parse, Invocation};
use crate::catalog::Command;
use crate::client::{filters_json, q, query, Body, ClientError};
use crate::format::from_json;
use crate::{CmdResult, Ctx, Failure};

/// `k=v` pairs of `--label`/`--opt` (docker accepts a bare key as an empty value).
fn kv_map(list: &[String]) -> BTreeMap<String, String> {
    list.iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[derive(Parser)]
struct CreateCmd {
    #[arg(
        short = 'd',
        long,
        default_value = "local",
        help = "Specify volume driver name (default \"local\")",
        value_name = "string"
    )]
    driver: String,
    #[arg(long, help = "Set metadata for a volume", value_name = "list")]
    label: Vec<String>,
    #[arg(
        short = 'o',
        long,
        help = "Set driver specific options (default map[])",
        value_name = "map"
    )]
    opt: Vec<String>,
    // docker's hidden spelling of the VOLUME argument.
    #[arg(long, hide = true)]
    name: Option<String>,
    // The cluster-volume flags (docker CLI 28; a swarm's CSI volumes).
    #[arg(
        long,
        help = "Cluster Volume availability (\"active\", \"pause\", \"drain\") (default \"active\")",
        value_name = "string"
    )]
    availability: Option<String>,
    #[arg(
        long,
        help = "Cluster Volume group (cluster volumes)",
        value_name = "string"
    )]
    group: Option<String>,
    #[arg(
        long = "limit-bytes",
        value_parser = parse_bytes,
        help = "Minimum size of the Cluster Volume in bytes",
        value_name = "bytes"
    )]
    limit_bytes: Option<i64>,
    #[arg(
        long = "required-bytes",
        value_parser = parse_bytes,
        help = "Maximum size of the Cluster Volume in bytes",
        value_name = "bytes"
    )]
    required_bytes: Option<i64>,
    #[arg(
        long,
        help = "Cluster Volume access scope (\"single\", \"multi\") (default \"single\")",
        value_name = "string"
    )]
    scope: Option<String>,
    #[arg(
        long,
        help = "Cluster Volume secrets (default map[])",
        value_name = "map"
    )]
    secret: Vec<String>,
    #[arg(
        long,
        help = "Cluster Volume access sharing (\"none\", \"readonly\", \"onewriter\", \"all\") (default \"none\")",
        value_name = "string"
    )]
    sharing: Option<String>,
    #[arg(
        long = "topology-preferred",
        help = "A topology that the Cluster Volume would be preferred in",
        value_name = "list"
    )]
    topology_preferred: Vec<String>,
    #[arg(
        long = "topology-required",
        help = "A topology that the Cluster Volume must be accessible from",
        value_name = "list"
    )]
    topology_required: Vec<String>,
    #[arg(
        long = "type",
        help = "Cluster Volume access type (\"mount\", \"block\") (default \"block\")",
        value_name = "string"
    )]
    access_type: Option<String>,
    args: Vec<String>,
}

/// `--limit-bytes`/`--required-bytes`: docker's `opts.MemBytes` (go-units RAMInBytes).
fn parse_bytes(s: &str) -> Result<i64, String> {
    crate::units::ram_in_bytes(s)
}

/// `volume create`'s body (labels and options sorted, as the docker CLI's Go maps).
fn create_body(name: String, o: &CreateCmd) -> VolumeCreateBody {
    VolumeCreateBody {
        name,
        driver: o.driver.clone(),
        driver_opts: kv_map(&o.opt),
        labels: kv_map(&o.label),
        cluster_volume_spec: cluster_spec(o),
        ..Default::default()
    }
}

/// The docker CLI 28's ClusterVolumeSpec: sent when one of group, scope, sharing,
/// availability, type, limit-bytes or required-bytes is given (its
/// hasClusterVolumeOptionSet, which checks a flag named "secrets" that does not exist: so
/// `--secret` and the topology flags alone make a plain volume, as with docker).
fn cluster_spec(o: &CreateCmd) -> Option<ClusterVolumeSpec> {
    let cluster = o.group.is_some()
        || o.scope.is_some()
        || o.sharing.is_some()
        || o.availability.is_some()
        || o.access_type.is_some()
        || o.limit_bytes.is_some()
        || o.required_bytes.is_some();
    if !cluster {
        return None;
    }
    let or = |v: &Option<String>, d: &str| v.clone().unwrap_or_else(|| d.to_string());
    let access_type = or(&o.access_type, "block");
    let topologies = |list: &[String]| -> Vec<VolumeTopology> {
        list.iter()
            .map(|t| VolumeTopology {
                segments: t
                    .split(',')
                    .map(|seg| {
                        let (k, v) = seg.split_once('=').unwrap_or((seg, ""));
                        (k.to_string(), v.to_string())
                    })
                    .collect(),
            })
            .collect()
    };
    // A later --secret KEY replaces an earlier one (a Go map), sorted by key.
    let secrets: BTreeMap<String, String> = kv_map(&o.secret);
    Some(ClusterVolumeSpec {
        group: o.group.clone().unwrap_or_default(),
        access_mode: Some(VolumeAccessMode {
            scope: or(&o.scope, "single"),
            sharing: or(&o.sharing, "none"),
            mount_volume: (access_type == "mount").then(Default::default),
            block_volume: (access_type == "block").then(Default::default),
        }),
        secrets: secrets
            .into_iter()
            .map(|(key, secret)| VolumeSecret { key, secret })
            .collect(),
        accessibility_requirements: Some(TopologyRequirement {
            requisite: topologies(&o.topology_required),
            preferred: topologies(&o.topology_preferred),
        }),
        capacity_range: Some(CapacityRange {
            required_bytes: o.required_bytes.unwrap_or(0).max(0),
            limit_bytes: o.limit_bytes.unwrap_or(0).max(0),
        }),
        availability: or(&o.availability, "active"),
    })
}

pub fn cmd_create(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: CreateCmd = parse(inv, args)?;
    inv.at_most(&o.args, 1)?;
    let name = match (o.args.first(), &o.name) {
        (Some(a), Some(n)) if a != n => {
            return Err(Failure::new(
                format!("conflicting options: either specify --name or provide positional arg, not both\n\n{}\n\nRun 'berth {} --help' for more information", inv.usage_line(), inv.path),
                1,
            ))
        }
        (Some(a), _) => a.clone(),
        (None, Some(n)) => n.clone(),
        (None, None) => String::new(),
    };
    let body = Body::typed(&create_body(name, &o))?;
    let v: Volume = ctx.client()?.post_typed("/volumes/create", body)?;
    println!("{}", v.name);
    Ok(0)
}

#[derive(Parser)]
struct LsCmd {
    #[arg(short = 'q', long, help = "Only display volume names")]
    quiet: bool,
    #[arg(
        short = 'f',
        long,
        help = "Provide filter values (e.g. \"dangling=true\")",
        value_name = "filter"
    )]
    filter: Vec<String>,
    #[arg(
        long,
        help = super::FORMAT_HELP,
        value_name = "string"
    )]
    format: Option<String>,
    #[arg(
        long,
        help = "Display only cluster volumes, and use cluster volume list formatting"
    )]
    cluster: bool,
    args: Vec<String>,
}

const VOLUME_HEADERS: &[(&str, &str)] = &[
    ("Name", "VOLUME NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("Mountpoint", "MOUNTPOINT"),
    ("Labels", "LABELS"),
    ("Links", "LINKS"),
    ("Size", "SIZE"),
    ("Group", "GROUP"),
    ("Availability", "AVAILABILITY"),
    ("Status", "STATUS"),
];

/// The fields docker's volume formatter offers.
pub fn volume_row(v: &Volume, links: Option<i64>, size: Option<i64>) -> Value {
    // The daemon's order: sorted (a Go map, and ours is a sorted map too).
    let labels: Vec<String> = v
        .labels
        .iter()
        .flatten()
        .map(|(k, x)| format!("{k}={x}"))
        .collect();
    json!({
        "Name": v.name,
        "Driver": v.driver,
        "Scope": v.scope,
        "Mountpoint": v.mountpoint,
        "Labels": labels.join(","),
        "Links": links.map_or("N/A".to_string(), |n| n.to_string()),
        "Size": size.map_or("N/A".to_string(), |n| crate::units::human_size(n as f64)),
        "Group": "",
        "Availability": "N/A",
        "Status": "N/A",
    })
}

pub fn cmd_ls(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: LsCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    let mut qs = Vec::new();
    if let Some(f) = filters_json(&o.filter).map_err(|e| Failure::new(e, 1))? {
        qs.push(format!("filters={}", q(&f)));
    }
    let list: VolumeListResponse = ctx
        .client()?
        .get_typed(&format!("/volumes{}", query(&qs)))?;
    let mut vols = list.volumes;
    // docker sorts by name.
    vols.sort_by(|a, b| a.name.cmp(&b.name));
    let rows: Vec<_> = vols
        .iter()
        .map(|x| from_json(&volume_row(x, None, None)))
        .collect();
    let format = o.format.clone().unwrap_or_default();
    let format = if o.quiet && (format.is_empty() || format == "table") {
        "{{.Name}}".to_string()
    } else {
        format
    };
    let mut out = std::io::stdout().lock();
    crate::format::render_list_in(
        &mut out,
        &format,
        "table {{.Driver}}\t{{.Name}}",
        VOLUME_HEADERS,
        &rows,
        &VOLUMES_CONTEXT,
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
    args: Vec<String>,
}

pub fn cmd_inspect(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: InspectCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    super::inspect_by_path(ctx, o.format.as_deref(), &o.args, |name| {
        format!("/volumes/{}", q(name))
    })
}

#[derive(Parser)]
struct RmCmd {
    #[arg(short = 'f', long, help = "Force the removal of one or more volumes")]
    force: bool,
    args: Vec<String>,
}

pub fn cmd_rm(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: RmCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    let c = ctx.client()?;
    let suffix = if o.force { "?force=1" } else { "" };
    let mut errs = Vec::new();
    for name in &o.args {
        match c.call(
            "DELETE",
            &format!("/volumes/{}{suffix}", q(name)),
            Body::None,
        ) {
            Ok(_) => println!("{name}"),
            Err(e @ ClientError::Daemon { .. }) => errs.push(e.to_string()),
            Err(e) => return Err(e.into()),
        }
    }
    join_errors(errs)
}

#[derive(Parser)]
struct PruneCmd {
    #[arg(
        short = 'a',
        long,
        help = "Remove all unused volumes, not just anonymous ones"
    )]
    all: bool,
    #[arg(
        long,
        help = "Provide filter values (e.g. \"label=<label>\")",
        value_name = "filter"
    )]
    filter: Vec<String>,
    #[arg(short = 'f', long, help = "Do not prompt for confirmation")]
    force: bool,
}

pub fn cmd_prune(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: PruneCmd = parse(inv, args)?;
    let warning = if o.all {
        "WARNING! This will remove all local volumes not used by at least one container."
    } else {
        "WARNING! This will remove anonymous local volumes not used by at least one container."
    };
    if !o.force && !confirm(warning) {
        return Ok(0);
    }
    let mut filters = o.filter.clone();
    if o.all {
        filters.push("all=true".into());
    }
    let path = match filters_json(&filters).map_err(|e| Failure::new(e, 1))? {
        Some(f) => format!("/volumes/prune?filters={}", q(&f)),
        None => "/volumes/prune".to_string(),
    };
    let r: VolumePruneResponse = ctx.client()?.post_typed(&path, Body::None)?;
    let deleted = r.volumes_deleted.unwrap_or_default();
    print_prune(&deleted, r.space_reclaimed, "Deleted Volumes");
    Ok(0)
}

/// The commands this module implements (see `catalog.rs`).
pub(crate) static COMMANDS: &[Command] = &[
    Command::new(
        "volume create",
        "[OPTIONS] [VOLUME]",
        "Create a volume",
        CreateCmd::command,
        cmd_create,
    ),
    Command::new(
        "volume ls",
        "[OPTIONS]",
        "List volumes",
        LsCmd::command,
        cmd_ls,
    )
    .aliases(&["volume list"]),
    Command::new(
        "volume inspect",
        "[OPTIONS] VOLUME [VOLUME...]",
        "Display detailed information on one or more volumes",
        InspectCmd::command,
        cmd_inspect,
    ),
    Command::new(
        "volume rm",
        "[OPTIONS] VOLUME [VOLUME...]",
        "Remove one or more volumes",
        RmCmd::command,
        cmd_rm,
    )
    .aliases(&["volume remove"])
    .long("Remove one or more volumes. You cannot remove a volume that is in use by a container."),
    Command::new(
        "volume prune",
        "[OPTIONS]",
        "Remove unused local volumes",
        PruneCmd::command,
        cmd_prune,
    ),
];

/// The docker CLI 28's `volume ls` formatter: its failure prefix and row type.
static VOLUMES_CONTEXT: crate::format::ListContext = crate::format::ListContext {
    prefix: "template parsing error",
    row: &crate::format::GoStruct {
        root: "*formatter.volumeContext",
        types: &[],
        maps: &[],
        optional: &[],
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_create_body_sends_the_same_bytes() {
        for args in [
            &["v"][..],
            &[
                "-d",
                "local",
                "--opt",
                "type=tmpfs",
                "--opt",
                "device=tmpfs",
                "--label",
                "a=1",
                "--label",
                "b",
                "v",
            ][..],
            &[][..],
        ] {
            let o =
                CreateCmd::try_parse_from(std::iter::once("create").chain(args.iter().copied()))
                    .unwrap();
            let name = o.args.first().cloned().unwrap_or_default();
            // The json! body it replaces (maps in command-line order).
            let kv = |l: &[String]| -> serde_json::Map<String, Value> {
                l.iter()
                    .map(|l| {
                        let (k, v) = l.split_once('=').unwrap_or((l, ""));
                        (k.to_string(), json!(v))
                    })
                    .collect()
            };
            let old = json!({
                "Name": name,
                "Driver": o.driver,
                "DriverOpts": kv(&o.opt),
                "Labels": kv(&o.label),
            });
            let typed = serde_json::to_value(create_body(name.clone(), &o)).unwrap();
            if args.len() == 11 {
                // --opt given unsorted: same values, keys sorted as Go's maps.
                assert_eq!(typed, old);
                assert_eq!(
                    serde_json::to_string(&typed["DriverOpts"]).unwrap(),
                    r#"{"device":"tmpfs","type":"tmpfs"}"#
                );
            } else {
                assert_eq!(
                    serde_json::to_string(&typed).unwrap(),
                    serde_json::to_string(&old).unwrap(),
                    "{args:?}"
                );
            }
        }
    }
}
