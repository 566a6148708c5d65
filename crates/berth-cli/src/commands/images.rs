//! Image commands.

use std::io::{IsTerminal, Read};

use berth_api::models::{HistoryResponseItem, ImagePruneResponse, ImageSummary};
use clap::{CommandFactory, Parser};
use serde_json::{json, Value};

use super::containers::{ellipsis, go_time_string, print_prune, short_id};
use super::{confirm, join_errors, parse, Invocation};
use crate::catalog::Command;
use crate::client::{filters_json, q, query, Body};
use crate::format::from_json;
use crate::units::{human_size_prec, since_unix};
use crate::{CmdResult, Ctx, Failure};

/// A count docker shows as "N/A" when the daemon did not compute it (-1).
fn na_or(n: i64) -> String {
    if n >= 0 {
        n.to_string()
    } else {
        "N/A".into()
    }
}

/// Splits "repo:tag" (the tag being after the last '/').
pub fn split_tag(r: &str) -> (String, String) {
    match r.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n.to_string(), t.to_string()),
        _ => (r.to_string(), String::new()),
    }
}

const IMAGE_HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE ID"),
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
    ("Containers", "CONTAINERS"),
    ("VirtualSize", "SIZE"),
    ("SharedSize", "SHARED SIZE"),
    ("UniqueSize", "UNIQUE SIZE"),
];

/// One row per (repository, tag), as docker's image formatter expands images.
fn digests_flag_or_empty(on: bool, ds: &[String]) -> bool {
    !on || ds.is_empty()
}

fn image_rows(img: &ImageSummary, trunc: bool, digests_on: bool) -> Vec<Value> {
    let id = &img.id;
    let created = img.created;
    let size = img.size as f64;
    let row = |repo: &str, tag: &str, digest: &str| {
        json!({
            "Containers": na_or(img.containers),
            "CreatedAt": go_time_string(created),
            "CreatedSince": format!("{} ago", since_unix(created)),
            "Digest": digest,
            "ID": if trunc { short_id(id) } else { id.clone() },
            "Repository": repo,
            "SharedSize": if img.shared_size >= 0 { human_size_prec(img.shared_size as f64, 3) } else { "N/A".into() },
            "Size": human_size_prec(size, 3),
            "Tag": tag,
            "UniqueSize": "N/A",
            "VirtualSize": crate::units::human_size(size),
        })
    };
    let tags: Vec<String> = img
        .repo_tags
        .iter()
        .flatten()
        .filter(|t| *t != "<none>:<none>")
        .cloned()
        .collect();
    let dig: Vec<String> = img
        .repo_digests
        .iter()
        .flatten()
        .filter(|d| *d != "<none>@<none>")
        .cloned()
        .collect();
    let mut rows = Vec::new();
    if tags.is_empty() && dig.is_empty() {
        rows.push(row("<none>", "<none>", "<none>"));
        return rows;
    }
    // Grouped per repository like docker's imageFormatTaggedAndDigest (whose map order is
    // random; we keep the daemon's order).
    let mut digests: Vec<(String, Vec<String>)> = Vec::new();
    for d in &dig {
        if let Some((r, h)) = d.split_once('@') {
            match digests.iter_mut().find(|(x, _)| x == r) {
                Some((_, v)) => v.push(h.to_string()),
                None => digests.push((r.to_string(), vec![h.to_string()])),
            }
        }
    }
    let mut seen = Vec::new();
    for t in &tags {
        let (repo, tag) = split_tag(t);
        let ds = digests
            .iter()
            .find(|(r, _)| *r == repo)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        seen.push(repo.clone());
        if !digests_flag_or_empty(digests_on, &ds) {
            for d in ds {
                rows.push(row(&repo, &tag, &d));
            }
        } else {
            rows.push(row(&repo, &tag, "<none>"));
        }
    }
    for (repo, ds) in &digests {
        if seen.contains(repo) {
            continue;
        }
        if digests_on {
            for d in ds {
                rows.push(row(repo, "<none>", d));
            }
        } else {
            rows.push(row(repo, "<none>", ""));
        }
    }
    rows
}

#[derive(Parser)]
struct ImagesCmd {
    #[arg(
        short = 'a',
        long,
        help = "Show all images (default hides intermediate images)"
    )]
    all: bool,
    #[arg(short = 'q', long, help = "Only show image IDs")]
    quiet: bool,
    #[arg(long, help = "Show digests")]
    digests: bool,
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
    #[arg(long, help = "List multi-platform images as a tree (EXPERIMENTAL)")]
    tree: bool,
    args: Vec<String>,
}

pub fn cmd_images(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ImagesCmd = parse(inv, args)?;
    inv.at_most(&o.args, 1)?;
    let mut filters = o.filter.clone();
    if let Some(r) = o.args.first() {
        filters.push(format!("reference={r}"));
    }
    let mut qs = Vec::new();
    if o.all {
        qs.push("all=1".to_string());
    }
    if let Some(f) = filters_json(&filters).map_err(|e| Failure::new(e, 1))? {
        qs.push(format!("filters={}", q(&f)));
    }
    let path = format!("/images/json{}", query(&qs));
    let list: Vec<ImageSummary> = ctx.client()?.get_typed(&path)?;
    let mut rows = Vec::new();
    for img in &list {
        for r in image_rows(img, !o.no_trunc, o.digests) {
            rows.push(from_json(&r));
        }
    }
    let format = o.format.clone().unwrap_or_default();
    let (format, default) = if o.quiet && (format.is_empty() || format == "table") {
        ("{{.ID}}".to_string(), String::new())
    } else if o.digests {
        (
            format,
            "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
                .to_string(),
        )
    } else {
        (
            format,
            "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}".to_string(),
        )
    };
    let mut out = std::io::stdout().lock();
    crate::format::render_list_in(
        &mut out,
        &format,
        &default,
        IMAGE_HEADERS,
        &rows,
        &IMAGES_CONTEXT,
    )
    .map_err(|e| Failure::new(e.0, 1))?;
    Ok(0)
}

#[derive(Parser)]
struct ArgsOnly {
    args: Vec<String>,
}

pub fn cmd_tag(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ArgsOnly = parse(inv, args)?;
    inv.exactly(&o.args, 2)?;
    let (repo, tag) = split_tag(&o.args[1]);
    let mut path = format!("/images/{}/tag?repo={}", q(&o.args[0]), q(&repo));
    if !tag.is_empty() {
        path.push_str(&format!("&tag={}", q(&tag)));
    }
    ctx.client()?.call("POST", &path, Body::None)?;
    Ok(0)
}

#[derive(Parser)]
struct RmiCmd {
    #[arg(short = 'f', long, help = "Force removal of the image")]
    force: bool,
    #[arg(long = "no-prune", help = "Do not delete untagged parents")]
    no_prune: bool,
    /// API 1.50 (docker 28.2): refused against older daemons, as the docker CLI does.
    #[arg(
        long,
        help = "Remove only the given platform variant. Formatted as \"os[/arch[/variant]]\" (e.g., \"linux/amd64\")",
        value_name = "strings",
        value_delimiter = ','
    )]
    platform: Vec<String>,
    args: Vec<String>,
}

pub fn cmd_rmi(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: RmiCmd = parse(inv, args)?;
    if !o.platform.is_empty() {
        super::require_api(ctx, "platform", (1, 50))?;
    }
    inv.at_least(&o.args, 1)?;
    let mut qs = Vec::new();
    if o.force {
        qs.push("force=1");
    }
    if o.no_prune {
        qs.push("noprune=1");
    }
    let suffix = query(&qs);
    let c = ctx.client()?;
    let mut errs = Vec::new();
    for name in &o.args {
        match c
            .call(
                "DELETE",
                &format!("/images/{}{suffix}", q(name)),
                Body::None,
            )
            .and_then(|r| r.json())
        {
            Ok(v) => {
                for d in v.as_array().into_iter().flatten() {
                    if let Some(u) = d.get("Untagged").and_then(|x| x.as_str()) {
                        println!("Untagged: {u}");
                    }
                    if let Some(u) = d.get("Deleted").and_then(|x| x.as_str()) {
                        println!("Deleted: {u}");
                    }
                }
            }
            Err(e) => errs.push(e.to_string()),
        }
    }
    join_errors(errs)
}

#[derive(Parser)]
struct HistoryCmd {
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true, help = "Print sizes and dates in human readable format (default true)", value_name = "bool")]
    human: bool,
    #[arg(long = "no-trunc", help = "Don't truncate output")]
    no_trunc: bool,
    #[arg(short = 'q', long, help = "Only show image IDs")]
    quiet: bool,
    #[arg(
        long,
        help = super::FORMAT_HELP,
        value_name = "string"
    )]
    format: Option<String>,
    #[arg(
        long,
        help = "Show history for the given platform. Formatted as \"os[/arch[/variant]]\" (e.g., \"linux/amd64\")",
        value_name = "string"
    )]
    platform: Option<String>,
    args: Vec<String>,
}

pub fn cmd_history(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: HistoryCmd = parse(inv, args)?;
    // API 1.48 (docker 28.0): refused against older daemons, never sent to be ignored.
    if o.platform.is_some() {
        super::require_api(ctx, "platform", (1, 48))?;
    }
    inv.exactly(&o.args, 1)?;
    let list: Vec<HistoryResponseItem> = ctx
        .client()?
        .get_typed(&format!("/images/{}/history", q(&o.args[0])))?;
    let trunc = !o.no_trunc;
    let rows: Vec<_> = list
        .iter()
        .map(|h| {
            let id = h.id.clone();
            let created = h.created;
            let size = h.size;
            let by = h.created_by.replace('\t', " ");
            let since = if o.human {
                format!("{} ago", since_unix(created))
            } else {
                chrono::DateTime::from_timestamp(created, 0)
                    .map(|t| t.with_timezone(&chrono::Local).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default()
            };
            from_json(&json!({
                "ID": if id == "<missing>" || !trunc { id.clone() } else { short_id(&id) },
                "CreatedSince": since,
                "CreatedAt": chrono::DateTime::from_timestamp(created, 0).map(|t| t.with_timezone(&chrono::Local).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default(),
                "CreatedBy": if trunc { ellipsis(&by, 45) } else { by },
                "Size": if o.human { human_size_prec(size as f64, 3) } else { size.to_string() },
                "Comment": h.comment,
            }))
        })
        .collect();
    let format = o.format.clone().unwrap_or_default();
    let (format, default) = if o.quiet && (format.is_empty() || format == "table") {
        ("{{.ID}}".to_string(), String::new())
    } else {
        (
            format,
            "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}".to_string(),
        )
    };
    let headers = &[
        ("ID", "IMAGE"),
        (
            "CreatedSince",
            if o.human { "CREATED" } else { "CREATED AT" },
        ),
        ("CreatedAt", "CREATED AT"),
        ("CreatedBy", "CREATED BY"),
        ("Size", "SIZE"),
        ("Comment", "COMMENT"),
    ];
    let mut out = std::io::stdout().lock();
    crate::format::render_list_in(
        &mut out,
        &format,
        &default,
        headers,
        &rows,
        &HISTORY_CONTEXT,
    )
    .map_err(|e| Failure::new(e.0, 1))?;
    Ok(0)
}

#[derive(Parser)]
struct ImagePruneCmd {
    #[arg(
        short = 'a',
        long,
        help = "Remove all unused images, not just dangling ones"
    )]
    all: bool,
    #[arg(short = 'f', long, help = "Do not prompt for confirmation")]
    force: bool,
    #[arg(long, value_parser = crate::client::parse_filter, help = "Provide filter values (e.g. \"until=<timestamp>\")", value_name = "filter")]
    filter: Vec<String>,
}

pub fn cmd_prune(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ImagePruneCmd = parse(inv, args)?;
    let warning = if o.all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !o.force && !confirm(warning) {
        return Ok(0);
    }
    let mut filters = o.filter.clone();
    filters.push(format!("dangling={}", if o.all { "false" } else { "true" }));
    let f = filters_json(&filters)
        .map_err(|e| Failure::new(e, 1))?
        .unwrap_or_default();
    let r: ImagePruneResponse = ctx
        .client()?
        .post_typed(&format!("/images/prune?filters={}", q(&f)), Body::None)?;
    let mut lines = Vec::new();
    for d in r.images_deleted.iter().flatten() {
        if let Some(u) = &d.untagged {
            lines.push(format!("untagged: {u}"));
        }
        if let Some(u) = &d.deleted {
            lines.push(format!("deleted: {u}"));
        }
    }
    print_prune(&lines, r.space_reclaimed, "Deleted Images");
    Ok(0)
}

/// Prints a JSON message stream (load/import) as docker's jsonmessage does: progress bars
/// redrawn in place on a terminal, plain lines otherwise.
fn print_messages(r: &mut dyn Read) -> Result<(), Failure> {
    let tty = std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    crate::jsonmessage::Display::new(&mut out, tty)
        .run(r, &mut |_| {})
        .map_err(|e| Failure::new(e.message, 1))
}

#[derive(Parser)]
struct LoadCmd {
    #[arg(
        short = 'i',
        long,
        help = "Read from tar archive file, instead of STDIN",
        value_name = "string"
    )]
    input: Option<String>,
    #[arg(short = 'q', long, help = "Suppress the load output")]
    quiet: bool,
    #[arg(
        long,
        help = "Load only the given platform variant. Formatted as \"os[/arch[/variant]]\" (e.g., \"linux/amd64\")",
        value_name = "string"
    )]
    platform: Vec<String>,
}

pub fn cmd_load(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: LoadCmd = parse(inv, args)?;
    // API 1.48 (docker 28.0): refused against older daemons, never sent to be ignored.
    if !o.platform.is_empty() {
        super::require_api(ctx, "platform", (1, 48))?;
    }
    let mut input: Box<dyn Read> = match &o.input {
        Some(p) => Box::new(std::fs::File::open(p).map_err(|e| Failure::new(e.to_string(), 1))?),
        None => {
            if std::io::stdin().is_terminal() {
                return Err(Failure::new(
                    "requested load from stdin, but stdin is empty",
                    1,
                ));
            }
            Box::new(std::io::stdin())
        }
    };
    let quiet = o.quiet || !std::io::stdout().is_terminal();
    let path = if quiet {
        "/images/load?quiet=1"
    } else {
        "/images/load?quiet=0"
    };
    let resp = ctx
        .client()?
        .call("POST", path, Body::Stream(&mut *input, "application/x-tar"))?;
    let mut body = resp.body;
    print_messages(&mut body)?;
    Ok(0)
}

#[derive(Parser)]
struct SaveCmd {
    #[arg(
        short = 'o',
        long,
        help = "Write to a file, instead of STDOUT",
        value_name = "string"
    )]
    output: Option<String>,
    #[arg(
        long,
        help = "Save only the given platform variant. Formatted as \"os[/arch[/variant]]\" (e.g., \"linux/amd64\")",
        value_name = "string"
    )]
    platform: Vec<String>,
    args: Vec<String>,
}

pub fn cmd_save(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: SaveCmd = parse(inv, args)?;
    if !o.platform.is_empty() {
        super::require_api(ctx, "platform", (1, 48))?;
    }
    inv.at_least(&o.args, 1)?;
    if o.output.is_none() && std::io::stdout().is_terminal() {
        return Err(Failure::new(
            "cowardly refusing to save to a terminal. Use the -o flag or redirect",
            1,
        ));
    }
    let names: Vec<String> = o.args.iter().map(|n| format!("names={}", q(n))).collect();
    let resp = ctx.client()?.call(
        "GET",
        &format!("/images/get?{}", names.join("&")),
        Body::None,
    )?;
    let mut body = resp.body;
    let r = match &o.output {
        Some(p) => {
            // Write beside the target then rename, so a failed save leaves no partial file.
            let tmp = format!("{p}.berth-tmp");
            let res = std::fs::File::create(&tmp)
                .and_then(|mut f| std::io::copy(&mut body, &mut f).and_then(|_| f.sync_all()))
                .and_then(|_| std::fs::rename(&tmp, p));
            if res.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            res
        }
        None => std::io::copy(&mut body, &mut std::io::stdout().lock()).map(|_| ()),
    };
    r.map_err(|e| Failure::new(format!("failed to save image: {e}"), 1))?;
    Ok(0)
}

#[derive(Parser)]
struct ImportCmd {
    #[arg(
        short = 'c',
        long,
        help = "Apply Dockerfile instruction to the created image",
        value_name = "list"
    )]
    change: Vec<String>,
    #[arg(
        short = 'm',
        long,
        help = "Set commit message for imported image",
        value_name = "string"
    )]
    message: Option<String>,
    #[arg(
        long,
        help = "Set platform if server is multi-platform capable",
        value_name = "string"
    )]
    platform: Option<String>,
    args: Vec<String>,
}

pub fn cmd_import(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ImportCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    let src = &o.args[0];
    let mut qs = Vec::new();
    for c in &o.change {
        qs.push(format!("changes={}", q(c)));
    }
    let is_url = src.starts_with("http://") || src.starts_with("https://");
    qs.push(format!("fromSrc={}", q(if is_url { src } else { "-" })));
    if let Some(m) = &o.message {
        qs.push(format!("message={}", q(m)));
    }
    if let Some(p) = &o.platform {
        qs.push(format!("platform={}", q(p)));
    }
    if let Some(r) = o.args.get(1) {
        let (repo, tag) = split_tag(r);
        qs.push(format!("repo={}", q(&repo)));
        if !tag.is_empty() {
            qs.push(format!("tag={}", q(&tag)));
        }
    }
    let path = format!("/images/create?{}", qs.join("&"));
    let c = ctx.client()?;
    let resp = if is_url {
        c.call("POST", &path, Body::None)?
    } else if src == "-" {
        let mut stdin = std::io::stdin();
        c.call("POST", &path, Body::Stream(&mut stdin, "application/x-tar"))?
    } else {
        let mut f = std::fs::File::open(src).map_err(|e| Failure::new(e.to_string(), 1))?;
        c.call("POST", &path, Body::Stream(&mut f, "application/x-tar"))?
    };
    let mut body = resp.body;
    print_messages(&mut body)?;
    Ok(0)
}

/// The commands this module implements (see `catalog.rs`).
pub(crate) static COMMANDS: &[Command] = &[
    Command::new(
        "image ls",
        "[OPTIONS] [REPOSITORY[:TAG]]",
        "List images",
        ImagesCmd::command,
        cmd_images,
    )
    .aliases(&["image list", "images"]),
    Command::new(
        "image tag",
        "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
        "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
        ArgsOnly::command,
        cmd_tag,
    )
    .aliases(&["tag"]),
    Command::new(
        "image rm",
        "[OPTIONS] IMAGE [IMAGE...]",
        "Remove one or more images",
        RmiCmd::command,
        cmd_rmi,
    )
    .aliases(&["image remove", "rmi"]),
    Command::new(
        "image history",
        "[OPTIONS] IMAGE",
        "Show the history of an image",
        HistoryCmd::command,
        cmd_history,
    )
    .aliases(&["history"]),
    Command::new(
        "image prune",
        "[OPTIONS]",
        "Remove unused images",
        ImagePruneCmd::command,
        cmd_prune,
    ),
    Command::new(
        "image load",
        "[OPTIONS]",
        "Load an image from a tar archive or STDIN",
        LoadCmd::command,
        cmd_load,
    )
    .aliases(&["load"]),
    Command::new(
        "image save",
        "[OPTIONS] IMAGE [IMAGE...]",
        "Save one or more images to a tar archive (streamed to STDOUT by default)",
        SaveCmd::command,
        cmd_save,
    )
    .aliases(&["save"]),
    Command::new(
        "image import",
        "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
        "Import the contents from a tarball to create a filesystem image",
        ImportCmd::command,
        cmd_import,
    )
    .aliases(&["import"]),
];

/// The docker CLI 28's `images` formatter: its failure prefix and row type.
static IMAGES_CONTEXT: crate::format::ListContext = crate::format::ListContext {
    prefix: "template parsing error",
    row: &crate::format::GoStruct {
        root: "*formatter.imageContext",
        types: &[],
        maps: &[],
        optional: &[],
    },
};

/// The docker CLI 28's `history` formatter: its failure prefix and row type.
static HISTORY_CONTEXT: crate::format::ListContext = crate::format::ListContext {
    prefix: "template parsing error",
    row: &crate::format::GoStruct {
        root: "*image.historyContext",
        types: &[],
        maps: &[],
        optional: &[],
    },
};
