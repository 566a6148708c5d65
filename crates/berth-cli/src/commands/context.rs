//! `context create/ls/inspect/use/rm/update/export/import/show`: the docker CLI's contexts,
//! in its own store (see `context_store.rs`), so a context made by either CLI works in both.

use std::io::Write;
use std::path::PathBuf;

use clap::{CommandFactory, Parser};
use serde_json::{json, Value};

use super::{parse, Invocation};
use crate::catalog::Command;
use crate::context_store::{self, DockerEndpoint, Meta, Store, StoreError, TlsFiles};
use crate::endpoint;
use crate::format::{from_json, render_list};
use crate::{config, CmdResult, Ctx, Failure};

fn fail(e: impl std::fmt::Display) -> Failure {
    Failure::new(e.to_string(), 1)
}

fn store() -> Store {
    Store::new(config::dir())
}

/// The context this invocation uses (flags, environment, config.json).
fn current_name(ctx: &Ctx) -> Result<String, Failure> {
    endpoint::context_name(&ctx.globals.selection, &config::get().current_context)
}

/// docker's warning when DOCKER_HOST makes the stored current context moot.
fn docker_host_warning(name: Option<&str>) {
    let set = |v: &str| std::env::var(v).is_ok_and(|s| !s.is_empty());
    if set("DOCKER_HOST") || set("BERTH_HOST") {
        let what = match name {
            Some(n) => format!("To use {n:?}"),
            None => "To use a context".to_string(),
        };
        eprintln!("Warning: DOCKER_HOST environment variable overrides the active context. {what}, either set the global --context flag, or unset DOCKER_HOST environment variable.");
    }
}

/// `--docker host=...,ca=...,cert=...,key=...,skip-tls-verify=...,from=...` (pflag's
/// stringToString: comma-separated, values may be quoted).
#[derive(Debug, Default)]
struct DockerSpec {
    host: Option<String>,
    ca: Option<String>,
    cert: Option<String>,
    key: Option<String>,
    skip_tls_verify: Option<bool>,
    from: Option<String>,
}

fn parse_docker_spec(items: &[String]) -> Result<DockerSpec, Failure> {
    let mut d = DockerSpec::default();
    for item in items {
        for kv in split_csv(item) {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| fail(format!("{kv} must be formatted as key=value")))?;
            let v = v.to_string();
            match k {
                "host" => d.host = Some(v),
                "ca" => d.ca = Some(v),
                "cert" => d.cert = Some(v),
                "key" => d.key = Some(v),
                "from" => d.from = Some(v),
                "skip-tls-verify" => {
                    d.skip_tls_verify = Some(v.parse::<bool>().map_err(|_| {
                        fail(format!(
                            "unable to create docker endpoint config: strconv.ParseBool: parsing {v:?}: invalid syntax"
                        ))
                    })?)
                }
                other => {
                    return Err(fail(format!(
                        "unable to create docker endpoint config: unrecognized config key: {other}"
                    )))
                }
            }
        }
    }
    Ok(d)
}

/// Splits on commas outside double quotes, removing the quotes (Go's csv reader).
fn split_csv(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if !cur.is_empty() || !out.is_empty() {
        out.push(cur);
    }
    out
}

/// `~/x` as docker expands it in TLS file paths.
fn expand_home(p: &str) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => config::home().join(rest),
        None => PathBuf::from(p),
    }
}

fn read_tls(p: &Option<String>) -> Result<Option<Vec<u8>>, Failure> {
    match p {
        None => Ok(None),
        Some(p) => std::fs::read(expand_home(p)).map(Some).map_err(|e| {
            fail(format!(
                "unable to create docker endpoint config: open {p}: {}",
                crate::commands::create::io_msg(&e)
            ))
        }),
    }
}

/// The endpoint and TLS files of a context name (`default` included).
fn endpoint_of(ctx: &Ctx, name: &str) -> Result<(DockerEndpoint, TlsFiles), Failure> {
    if name == context_store::DEFAULT {
        let ep = endpoint::default_endpoint(&ctx.globals.selection, config::dir())?;
        let mut files = TlsFiles::default();
        let mut skip = false;
        if let Some(t) = &ep.tls {
            skip = !t.verify;
            let rd = |s: &Option<endpoint::TlsSource>| s.as_ref().and_then(|s| s.read().ok());
            files = TlsFiles {
                ca: rd(&t.ca),
                cert: rd(&t.cert),
                key: rd(&t.key),
            };
        }
        return Ok((
            DockerEndpoint {
                host: ep.host,
                skip_tls_verify: skip,
            },
            files,
        ));
    }
    let s = store();
    let m = s.get(name).map_err(fail)?;
    Ok((m.endpoints.docker.clone().unwrap_or_default(), s.tls(name)))
}

/// Applies `--docker` to an endpoint: `from` copies another context's, then each key
/// replaces its part.
fn apply_spec(
    ctx: &Ctx,
    spec: &DockerSpec,
    mut ep: DockerEndpoint,
    mut tls: TlsFiles,
) -> Result<(DockerEndpoint, TlsFiles), Failure> {
    if let Some(from) = &spec.from {
        (ep, tls) = endpoint_of(ctx, from)?;
    }
    if let Some(h) = &spec.host {
        ep.host = h.clone();
    }
    if let Some(v) = spec.skip_tls_verify {
        ep.skip_tls_verify = v;
    }
    if spec.ca.is_some() {
        tls.ca = read_tls(&spec.ca)?;
    }
    if spec.cert.is_some() {
        tls.cert = read_tls(&spec.cert)?;
    }
    if spec.key.is_some() {
        tls.key = read_tls(&spec.key)?;
    }
    Ok((ep, tls))
}

#[derive(Parser)]
struct CreateCmd {
    #[arg(long, help = "Description of the context", value_name = "string")]
    description: Option<String>,
    #[arg(
        long,
        help = "set the docker endpoint (default [])",
        value_name = "stringToString"
    )]
    docker: Vec<String>,
    #[arg(
        long,
        help = "create context from a named context",
        value_name = "string"
    )]
    from: Option<String>,
    args: Vec<String>,
}

pub fn cmd_create(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: CreateCmd = parse(inv, args)?;
    inv.exactly(&o.args, 1)?;
    let name = &o.args[0];
    context_store::validate_name(name).map_err(fail)?;
    let s = store();
    if s.exists(name) {
        return Err(fail(StoreError::Exists(name.clone())));
    }
    let spec = parse_docker_spec(&o.docker)?;
    // Without --docker, the new context copies the one in use (docker's behaviour).
    let base = match (&o.from, o.docker.is_empty()) {
        (Some(f), _) => f.clone(),
        (None, true) => current_name(ctx)?,
        (None, false) => String::new(),
    };
    let (ep, tls) = if base.is_empty() {
        (DockerEndpoint::default(), TlsFiles::default())
    } else {
        endpoint_of(ctx, &base)?
    };
    let (ep, tls) = apply_spec(ctx, &spec, ep, tls)?;
    let mut meta = Meta {
        name: name.clone(),
        ..Default::default()
    };
    meta.metadata.description = o.description.unwrap_or_default();
    meta.endpoints.docker = Some(ep);
    s.save(&meta, Some(&tls)).map_err(fail)?;
    println!("{name}");
    eprintln!("Successfully created context {name:?}");
    Ok(0)
}

#[derive(Parser)]
struct UpdateCmd {
    #[arg(long, help = "Description of the context", value_name = "string")]
    description: Option<String>,
    #[arg(
        long,
        help = "set the docker endpoint (default [])",
        value_name = "stringToString"
    )]
    docker: Vec<String>,
    args: Vec<String>,
}

pub fn cmd_update(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: UpdateCmd = parse(inv, args)?;
    inv.exactly(&o.args, 1)?;
    let name = &o.args[0];
    if name == context_store::DEFAULT {
        return Err(fail("context \"default\" cannot be updated"));
    }
    let s = store();
    let mut meta = s.get(name).map_err(fail)?;
    let spec = parse_docker_spec(&o.docker)?;
    let (ep, tls) = apply_spec(
        ctx,
        &spec,
        meta.endpoints.docker.clone().unwrap_or_default(),
        s.tls(name),
    )?;
    if let Some(d) = o.description {
        meta.metadata.description = d;
    }
    meta.endpoints.docker = Some(ep);
    s.save(&meta, Some(&tls)).map_err(fail)?;
    println!("{name}");
    eprintln!("Successfully updated context {name:?}");
    Ok(0)
}

#[derive(Parser)]
struct LsCmd {
    #[arg(long, help = super::FORMAT_HELP, value_name = "string")]
    format: Option<String>,
    #[arg(short = 'q', long, help = "Only show context names")]
    quiet: bool,
    args: Vec<String>,
}

pub fn cmd_ls(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: LsCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    let current = current_name(ctx)?;
    let mut rows = Vec::new();
    let (def, _) = endpoint_of(ctx, context_store::DEFAULT)?;
    rows.push(json!({
        "Name": context_store::DEFAULT,
        "Description": "Current DOCKER_HOST based configuration",
        "DockerEndpoint": def.host,
        "Current": current == context_store::DEFAULT,
        "Error": "",
    }));
    for m in store().list().map_err(fail)? {
        rows.push(json!({
            "Name": m.name,
            "Description": m.metadata.description,
            "DockerEndpoint": m.docker_host(),
            "Current": m.name == current,
            "Error": "",
        }));
    }
    // docker sorts by name, `default` among the others.
    rows.sort_by(|a, b| a["Name"].as_str().cmp(&b["Name"].as_str()));
    let format = o.format.unwrap_or_default();
    let mut out = std::io::stdout().lock();
    if o.quiet {
        for r in &rows {
            let _ = writeln!(out, "{}", r["Name"].as_str().unwrap_or(""));
        }
        return Ok(0);
    }
    // The table marks the current context with " *"; templates see the plain name.
    let table = format.is_empty() || format == "table";
    let rows: Vec<_> = rows
        .into_iter()
        .map(|mut r| {
            if table && r["Current"] == Value::Bool(true) {
                let n = format!("{} *", r["Name"].as_str().unwrap_or(""));
                r["Name"] = Value::String(n);
            }
            from_json(&r)
        })
        .collect();
    render_list(
        &mut out,
        &format,
        "table {{.Name}}\t{{.Description}}\t{{.DockerEndpoint}}\t{{.Error}}",
        &[
            ("Name", "NAME"),
            ("Description", "DESCRIPTION"),
            ("DockerEndpoint", "DOCKER ENDPOINT"),
            ("Error", "ERROR"),
            ("Current", "CURRENT"),
        ],
        &rows,
    )
    .map_err(|e| fail(e.0))?;
    if current == context_store::DEFAULT {
        docker_host_warning(None);
    }
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

fn inspect_value(ctx: &Ctx, name: &str) -> Result<Value, Failure> {
    if name == context_store::DEFAULT {
        let (ep, tls) = endpoint_of(ctx, name)?;
        let material: Vec<&str> = tls.names();
        return Ok(json!({
            "Name": "default",
            "Metadata": {},
            "Endpoints": {"docker": {"Host": ep.host, "SkipTLSVerify": ep.skip_tls_verify}},
            "TLSMaterial": if material.is_empty() { json!({}) } else { json!({"docker": material}) },
            "Storage": {"MetadataPath": "<IN MEMORY>", "TLSPath": "<IN MEMORY>"},
        }));
    }
    let s = store();
    let m = s.get(name).map_err(fail)?;
    let material = s.tls(name).names();
    let mut v = serde_json::to_value(&m).map_err(fail)?;
    v["TLSMaterial"] = if material.is_empty() {
        json!({})
    } else {
        json!({ "docker": material })
    };
    v["Storage"] = json!({
        "MetadataPath": s.meta_dir(name).display().to_string(),
        "TLSPath": s.tls_dir(name).display().to_string(),
    });
    Ok(v)
}

pub fn cmd_inspect(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: InspectCmd = parse(inv, args)?;
    let names = if o.args.is_empty() {
        vec![current_name(ctx)?]
    } else {
        o.args.clone()
    };
    let output = super::InspectOutput::new(o.format.as_deref())?;
    let mut found = Vec::new();
    let mut errs = Vec::new();
    for n in &names {
        match inspect_value(ctx, n) {
            Ok(v) => found.push(v),
            Err(f) => errs.push(f.msg),
        }
    }
    // In docker's templates `.Metadata` is the embedded store.Metadata (name, metadata and
    // endpoints), its fields also reachable from the top.
    let templated = o
        .format
        .as_deref()
        .is_some_and(|f| !f.is_empty() && f != "json");
    if templated {
        for v in &mut found {
            let embedded = json!({
                "Name": v["Name"].clone(),
                "Metadata": v["Metadata"].clone(),
                "Endpoints": v["Endpoints"].clone(),
            });
            v["Metadata"] = embedded;
        }
    }
    output.print(found)?;
    super::join_errors(errs)
}

#[derive(Parser)]
struct NamesOnly {
    args: Vec<String>,
}

pub fn cmd_use(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: NamesOnly = parse(inv, args)?;
    // docker checks this one with cobra's ExactArgs, hence the other wording.
    if o.args.len() != 1 {
        return Err(fail(format!("accepts 1 arg(s), received {}", o.args.len())));
    }
    let name = &o.args[0];
    if name != context_store::DEFAULT {
        store().get(name).map_err(fail)?;
    }
    let mut cfg = config::load_from(&config::path()).map_err(fail)?;
    cfg.current_context = if name == context_store::DEFAULT {
        String::new()
    } else {
        name.clone()
    };
    config::save(&cfg).map_err(fail)?;
    let _ = ctx;
    println!("{name}");
    eprintln!("Current context is now {name:?}");
    docker_host_warning(Some(name));
    Ok(0)
}

#[derive(Parser)]
struct RmCmd {
    #[arg(short = 'f', long, help = "Force the removal of a context in use")]
    force: bool,
    args: Vec<String>,
}

pub fn cmd_rm(_ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: RmCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    let s = store();
    let mut cfg = config::load_from(&config::path()).map_err(fail)?;
    let mut errs = Vec::new();
    for name in &o.args {
        if name == context_store::DEFAULT {
            errs.push("context \"default\" cannot be removed".to_string());
            continue;
        }
        if !s.exists(name) {
            errs.push(format!("context {name:?} does not exist"));
            continue;
        }
        if &cfg.current_context == name {
            if !o.force {
                errs.push(format!(
                    "context {name:?} is in use, set -f flag to force remove"
                ));
                continue;
            }
            cfg.current_context.clear();
            config::save(&cfg).map_err(fail)?;
        }
        match s.remove(name) {
            Ok(()) => println!("{name}"),
            Err(e) => errs.push(e.to_string()),
        }
    }
    super::join_errors(errs)
}

#[derive(Parser)]
struct ExportCmd {
    args: Vec<String>,
}

pub fn cmd_export(_ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ExportCmd = parse(inv, args)?;
    inv.range(&o.args, 1, 2)?;
    let name = &o.args[0];
    if name == context_store::DEFAULT {
        return Err(fail("context \"default\" cannot be exported"));
    }
    let s = store();
    s.get(name).map_err(fail)?;
    let dest = o
        .args
        .get(1)
        .cloned()
        .unwrap_or_else(|| format!("{name}.dockercontext"));
    if dest == "-" {
        let mut out = std::io::stdout().lock();
        s.export(name, &mut out).map_err(fail)?;
        let _ = out.flush();
        return Ok(0);
    }
    let mut buf = Vec::new();
    s.export(name, &mut buf).map_err(fail)?;
    config::write_private(std::path::Path::new(&dest), &buf).map_err(fail)?;
    eprintln!("Written file {dest:?}");
    Ok(0)
}

pub fn cmd_import(_ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: NamesOnly = parse(inv, args)?;
    inv.exactly(&o.args, 2)?;
    let (name, src) = (&o.args[0], &o.args[1]);
    let s = store();
    context_store::validate_name(name).map_err(fail)?;
    if s.exists(name) {
        return Err(fail(StoreError::Exists(name.clone())));
    }
    let r = if src == "-" {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut v).map_err(fail)?;
        s.import(name, &mut &v[..])
    } else {
        let mut f = std::fs::File::open(src).map_err(|e| {
            fail(format!(
                "open {src}: {}",
                crate::commands::create::io_msg(&e)
            ))
        })?;
        s.import(name, &mut f)
    };
    r.map_err(fail)?;
    println!("{name}");
    eprintln!("Successfully imported context {name:?}");
    Ok(0)
}

pub fn cmd_show(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: NamesOnly = parse(inv, args)?;
    inv.none(&o.args)?;
    let name = current_name(ctx)?;
    if name != context_store::DEFAULT {
        store().get(name.as_str()).map_err(fail)?;
    }
    println!("{name}");
    Ok(0)
}

/// The commands this module implements (see `catalog.rs`).
pub(crate) static COMMANDS: &[Command] = &[
    Command::new(
        "context create",
        "[OPTIONS] CONTEXT",
        "Create a context",
        CreateCmd::command,
        cmd_create,
    )
    .long(CREATE_LONG),
    Command::new(
        "context export",
        "[OPTIONS] CONTEXT [FILE|-]",
        "Export a context to a tar archive FILE or a tar stream on STDOUT.",
        ExportCmd::command,
        cmd_export,
    ),
    Command::new(
        "context import",
        "CONTEXT FILE|-",
        "Import a context from a tar or zip file",
        NamesOnly::command,
        cmd_import,
    ),
    Command::new(
        "context inspect",
        "[OPTIONS] [CONTEXT] [CONTEXT...]",
        "Display detailed information on one or more contexts",
        InspectCmd::command,
        cmd_inspect,
    ),
    Command::new(
        "context ls",
        "[OPTIONS]",
        "List contexts",
        LsCmd::command,
        cmd_ls,
    )
    .aliases(&["context list"]),
    Command::new(
        "context rm",
        "CONTEXT [CONTEXT...]",
        "Remove one or more contexts",
        RmCmd::command,
        cmd_rm,
    )
    .aliases(&["context remove"]),
    Command::new(
        "context show",
        "",
        "Print the name of the current context",
        NamesOnly::command,
        cmd_show,
    ),
    Command::new(
        "context update",
        "[OPTIONS] CONTEXT",
        "Update a context",
        UpdateCmd::command,
        cmd_update,
    )
    .long(UPDATE_LONG),
    Command::new(
        "context use",
        "CONTEXT",
        "Set the current berth context",
        NamesOnly::command,
        cmd_use,
    ),
];

const CREATE_LONG: &str = "Create a context\n\nDocker endpoint config:\n\nNAME                DESCRIPTION\nfrom                Copy named context's Docker endpoint configuration\nhost                Docker endpoint on which to connect\nca                  Trust certs signed only by this CA\ncert                Path to TLS certificate file\nkey                 Path to TLS key file\nskip-tls-verify     Skip TLS certificate validation\n\nExample:\n\n$ berth context create my-context --description \"some description\" --docker \"host=tcp://myserver:2376,ca=~/ca-file,cert=~/cert-file,key=~/key-file\"";
const UPDATE_LONG: &str = "Update a context\n\nDocker endpoint config:\n\nNAME                DESCRIPTION\nfrom                Copy named context's Docker endpoint configuration\nhost                Docker endpoint on which to connect\nca                  Trust certs signed only by this CA\ncert                Path to TLS certificate file\nkey                 Path to TLS key file\nskip-tls-verify     Skip TLS certificate validation\n\nExample:\n\n$ berth context update my-context --description \"some description\" --docker \"host=tcp://myserver:2376,ca=~/ca-file,cert=~/cert-file,key=~/key-file\"";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_spec_is_parsed_as_string_to_string() {
        let d = parse_docker_spec(&[
            "host=tcp://h:2376,ca=/c.pem,skip-tls-verify=true".into(),
            "\"key=/a,b.pem\"".into(),
        ])
        .map_err(|f| f.msg)
        .expect("parses");
        assert_eq!(d.host.as_deref(), Some("tcp://h:2376"));
        assert_eq!(d.ca.as_deref(), Some("/c.pem"));
        assert_eq!(d.key.as_deref(), Some("/a,b.pem"));
        assert_eq!(d.skip_tls_verify, Some(true));
        assert!(parse_docker_spec(&["foo=bar".into()]).is_err());
        assert!(parse_docker_spec(&["host".into()]).is_err());
    }
}
