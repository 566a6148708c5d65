//! `builder prune` (and `buildx prune`): removes berth's build cache through `POST /build/prune` (the daemon
//! drops the builder's step records and the step images nothing needs any more), with the
//! docker CLI's prompt, flags and report.

use clap::{CommandFactory, Parser};

use super::{parse, Invocation};
use crate::catalog::Command;
use crate::client::{filters_json, q, query, Body};
use crate::units::{human_size, ram_in_bytes};
use crate::{CmdResult, Ctx, Failure};

#[derive(Parser)]
struct PruneCmd {
    #[arg(
        short = 'a',
        long,
        help = "Remove all unused build cache, not just dangling ones"
    )]
    all: bool,
    #[arg(long, value_parser = crate::client::parse_filter, help = "Provide filter values (e.g. \"until=24h\")", value_name = "filter")]
    filter: Vec<String>,
    #[arg(short = 'f', long, help = "Do not prompt for confirmation")]
    force: bool,
    #[arg(
        long = "keep-storage",
        help = "Amount of disk space to keep for cache",
        value_name = "bytes",
        value_parser = parse_bytes
    )]
    keep_storage: Option<i64>,
    args: Vec<String>,
}

/// docker's opts.MemBytes: a size with an optional unit (`512MB`, `1g`).
fn parse_bytes(s: &str) -> Result<i64, String> {
    ram_in_bytes(s)
}

const DANGLING_WARNING: &str =
    "WARNING! This will remove all dangling build cache. Are you sure you want to continue?";
const ALL_WARNING: &str =
    "WARNING! This will remove all build cache. Are you sure you want to continue?";

/// The build cache part of a prune: `POST /build/prune`; the report lines and the bytes.
pub(crate) fn prune_build_cache(
    ctx: &mut Ctx,
    all: bool,
    filters: &[String],
    keep_storage: Option<i64>,
) -> Result<(String, u64), Failure> {
    let mut qs = Vec::new();
    if all {
        qs.push("all=1".to_string());
    }
    if let Some(k) = keep_storage.filter(|k| *k > 0) {
        qs.push(format!("keep-storage={k}"));
    }
    if let Some(f) = filters_json(filters).map_err(|e| Failure::new(e, 1))? {
        qs.push(format!("filters={}", q(&f)));
    }
    let v = ctx
        .client()?
        .post_json(&format!("/build/prune{}", query(&qs)), Body::None)?;
    let report: berth_api::models::BuildPruneResponse = serde_json::from_value(v)
        .map_err(|e| Failure::new(format!("invalid build prune answer: {e}"), 1))?;
    let mut out = String::new();
    let deleted = report.caches_deleted.unwrap_or_default();
    if !deleted.is_empty() {
        out.push_str("Deleted build cache objects:\n");
        for id in deleted {
            out.push_str(&id);
            out.push('\n');
        }
    }
    Ok((out, report.space_reclaimed))
}

fn cmd_prune(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: PruneCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    if !o.force {
        use std::io::Write;
        print!(
            "{} [y/N] ",
            if o.all { ALL_WARNING } else { DANGLING_WARNING }
        );
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        if !matches!(line.trim(), "y" | "Y") {
            // docker 28: a cancelled prune is no failure (exit 0, nothing more printed).
            return Ok(0);
        }
    }
    let (out, space) = prune_build_cache(ctx, o.all, &o.filter, o.keep_storage)?;
    if !out.is_empty() {
        println!("{out}");
    }
    println!("Total reclaimed space: {}", human_size(space as f64));
    Ok(0)
}

/// The commands this module implements (see `catalog.rs`).
pub(crate) static COMMANDS: &[Command] = &[
    Command::new(
        "builder prune",
        "",
        "Remove build cache",
        PruneCmd::command,
        cmd_prune,
    ),
    // The same command under buildx (its own entry: docker's builder prune lists no alias).
    Command::new(
        "buildx prune",
        "",
        "Remove build cache",
        PruneCmd::command,
        cmd_prune,
    ),
];
