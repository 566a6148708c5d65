//! `buildx build|ls|du|inspect|version|prune`, mapped onto berth's one builder (the
//! daemon's Dockerfile builder, named "default" as buildx names the engine's own):
//! `buildx build` takes the flags berth's `build` has and refuses, by name, the buildx
//! features berth's builder does not have (multi-platform lists, pushing or exporting
//! cache from the build, attestations, other builders); `buildx du` and `buildx prune`
//! show and remove the build cache (`GET /system/df`, `POST /build/prune`).

use clap::{CommandFactory, Parser};
use serde_json::Value;

use super::build::{run_build, BuildCmd};
use super::{parse, Invocation};
use crate::catalog::Command;
use crate::units::human_size;
use crate::{CmdResult, Ctx, Failure};

/// The builder `buildx ls` lists: berth's daemon builder.
const BUILDER: &str = "default";

#[derive(Parser)]
struct BuildxBuildCmd {
    #[command(flatten)]
    build: BuildCmd,
    #[arg(long, help = "Shorthand for \"--output=type=docker\"")]
    load: bool,
    #[arg(long, help = "Shorthand for \"--output=type=registry\"")]
    push: bool,
    #[arg(
        long = "cache-to",
        help = "Cache export destinations (e.g., \"user/app:cache\", \"type=local,dest=path/to/dir\")",
        value_name = "stringArray"
    )]
    cache_to: Vec<String>,
    #[arg(
        long,
        help = "Override the configured builder instance",
        value_name = "string"
    )]
    builder: Option<String>,
    #[arg(
        long,
        help = "Attestation parameters (format: \"type=sbom,generator=image\")",
        value_name = "stringArray"
    )]
    attest: Vec<String>,
    #[arg(
        long,
        help = "Shorthand for \"--attest=type=sbom\"",
        value_name = "string"
    )]
    sbom: Option<String>,
    #[arg(
        long,
        help = "Shorthand for \"--attest=type=provenance\"",
        value_name = "string"
    )]
    provenance: Option<String>,
    #[arg(
        long = "build-context",
        help = "Additional build contexts (e.g., name=path)",
        value_name = "stringArray"
    )]
    build_context: Vec<String>,
    #[arg(
        long = "metadata-file",
        help = "Write build result metadata to a file",
        value_name = "string"
    )]
    metadata_file: Option<String>,
    #[arg(
        long,
        help = "SSH agent socket or keys to expose to the build (format: \"default|<id>[=<socket>|<key>[,<key>]]\")",
        value_name = "stringArray"
    )]
    ssh: Vec<String>,
}

fn fail(msg: impl Into<String>) -> Failure {
    Failure::new(msg, 1)
}

/// The builder named by `--builder` / `BUILDX_BUILDER`: only berth's own.
fn check_builder(name: Option<&str>) -> Result<(), Failure> {
    let env = std::env::var("BUILDX_BUILDER")
        .ok()
        .filter(|s| !s.is_empty());
    match name.map(str::to_string).or(env) {
        Some(n) if n != BUILDER => Err(fail(format!(
            "no builder {n:?} found: berth has one builder, {BUILDER:?}"
        ))),
        _ => Ok(()),
    }
}

fn cmd_build(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: BuildxBuildCmd = parse(inv, args)?;
    check_builder(o.builder.as_deref())?;
    let refuse = |what: &str| -> Result<(), Failure> {
        Err(fail(format!("{what} is not supported by berth's builder")))
    };
    if o.build.platform.as_deref().is_some_and(|p| p.contains(',')) {
        refuse("a multi-platform build (--platform with several platforms)")?;
    }
    if o.push {
        refuse("--push (pushing from the build: run 'berth push NAME' after it)")?;
    }
    if !o.cache_to.is_empty() {
        refuse("--cache-to (cache export)")?;
    }
    if !o.attest.is_empty() || o.sbom.is_some() || o.provenance.is_some() {
        refuse("attestations (--attest, --sbom, --provenance)")?;
    }
    if !o.build_context.is_empty() {
        refuse("--build-context")?;
    }
    if o.metadata_file.is_some() {
        refuse("--metadata-file")?;
    }
    if !o.ssh.is_empty() {
        refuse("--ssh")?;
    }
    // --load is what berth's builder always does: the image lands in the daemon's store.
    let _ = o.load;
    run_build(ctx, inv, o.build, false)
}

#[derive(Parser)]
struct NoFlags {
    args: Vec<String>,
}

#[derive(Parser)]
struct LsCmd {
    #[arg(long, help = "Format the output", value_name = "string")]
    format: Option<String>,
    args: Vec<String>,
}

/// The server's version and platform, for `ls` and `inspect`.
fn engine(ctx: &mut Ctx) -> Result<(String, String), Failure> {
    let v = ctx.client()?.get_json("/version")?;
    let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
    Ok((s("Version"), format!("{}/{}", s("Os"), s("Arch"))))
}

fn cmd_ls(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: LsCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    if let Some(f) = o
        .format
        .as_deref()
        .filter(|f| !f.is_empty() && *f != "table")
    {
        return Err(fail(format!(
            "--format {f:?} is not supported by berth's buildx ls (only the table)"
        )));
    }
    let (version, platform) = engine(ctx)?;
    let mut buf = String::from("NAME/NODE\tDRIVER/ENDPOINT\tSTATUS\tBUILDKIT\tPLATFORMS\n");
    buf.push_str(&format!("{BUILDER}*\tberth\t\t\t\n"));
    buf.push_str(&format!(
        " \\_ {BUILDER}\t \\_ {BUILDER}\trunning\tberth {version}\t{platform}\n"
    ));
    crate::format::write_tabbed(&mut std::io::stdout(), &buf);
    Ok(0)
}

fn cmd_inspect(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: NoFlags = parse(inv, args)?;
    inv.at_most(&o.args, 1)?;
    check_builder(o.args.first().map(String::as_str))?;
    let (version, platform) = engine(ctx)?;
    println!("Name:          {BUILDER}\nDriver:        berth\n\nNodes:\nName:             {BUILDER}\nEndpoint:         {BUILDER}\nStatus:           running\nBuildKit version: berth {version}\nPlatforms:        {platform}");
    Ok(0)
}

fn cmd_version(_ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: NoFlags = parse(inv, args)?;
    inv.none(&o.args)?;
    println!(
        "berth buildx {} (berth's Dockerfile builder)",
        env!("CARGO_PKG_VERSION")
    );
    Ok(0)
}

#[derive(Parser)]
struct DuCmd {
    #[arg(long, help = "Provide filter values", value_name = "filter")]
    filter: Vec<String>,
    #[arg(long, help = "Provide a more verbose output")]
    verbose: bool,
    args: Vec<String>,
}

fn cmd_du(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: DuCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    if !o.filter.is_empty() {
        return Err(fail("--filter is not supported by berth's buildx du"));
    }
    if o.verbose {
        return Err(fail("--verbose is not supported by berth's buildx du"));
    }
    let v = ctx.client()?.get_json("/system/df")?;
    let records: Vec<berth_api::models::BuildCacheRecord> =
        serde_json::from_value(v.get("BuildCache").cloned().unwrap_or(Value::Null))
            .unwrap_or_default();
    let mut buf = String::from("ID\tRECLAIMABLE\tSIZE\tLAST ACCESSED\n");
    let (mut shared, mut private, mut reclaimable) = (0i64, 0i64, 0i64);
    for r in &records {
        let free = !r.in_use && !r.shared;
        if r.shared {
            shared += r.size;
        } else {
            private += r.size;
        }
        if free {
            reclaimable += r.size;
        }
        let last = r
            .last_used_at
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| format!("{} ago", crate::units::since_unix(t.timestamp())))
            .unwrap_or_default();
        buf.push_str(&format!(
            "{}\t{free}\t{}\t{last}\n",
            r.id,
            human_size(r.size as f64)
        ));
    }
    crate::format::write_tabbed(&mut std::io::stdout(), &buf);
    let mut sum = String::new();
    if shared > 0 {
        sum.push_str(&format!("Shared:\t{}\n", human_size(shared as f64)));
        sum.push_str(&format!("Private:\t{}\n", human_size(private as f64)));
    }
    sum.push_str(&format!(
        "Reclaimable:\t{}\n",
        human_size(reclaimable as f64)
    ));
    sum.push_str(&format!(
        "Total:\t{}\n",
        human_size((shared + private) as f64)
    ));
    crate::format::write_tabbed(&mut std::io::stdout(), &sum);
    Ok(0)
}

/// The commands this module implements (see `catalog.rs`).
pub(crate) static COMMANDS: &[Command] = &[
    Command::new(
        "buildx build",
        "[OPTIONS] PATH | URL | -",
        "Start a build",
        BuildxBuildCmd::command,
        cmd_build,
    )
    .aliases(&["buildx b"]),
    Command::new("buildx du", "", "Disk usage", DuCmd::command, cmd_du),
    Command::new(
        "buildx inspect",
        "[NAME]",
        "Inspect current builder instance",
        NoFlags::command,
        cmd_inspect,
    ),
    Command::new(
        "buildx ls",
        "",
        "List builder instances",
        LsCmd::command,
        cmd_ls,
    ),
    Command::new(
        "buildx version",
        "",
        "Show buildx version information",
        NoFlags::command,
        cmd_version,
    ),
];
