//! `search TERM`: the daemon asks the term's index (Docker Hub's unless the term names a
//! registry, `GET /images/search`) and applies the filters; the table is docker 28's
//! (NAME, DESCRIPTION, STARS, OFFICIAL: no AUTOMATED column any more).

use clap::{CommandFactory, Parser};
use serde::Deserialize;
use serde_json::json;

use super::containers::ellipsis;
use super::registry::authed;
use super::{parse, Invocation};
use crate::catalog::Command;
use crate::client::{filters_json, q, query};
use crate::format::{from_json, render_list};
use crate::{CmdResult, Ctx, Failure};

#[derive(Parser)]
struct SearchCmd {
    #[arg(short = 'f', long, value_parser = crate::client::parse_filter, help = "Filter output based on conditions provided", value_name = "filter")]
    filter: Vec<String>,
    #[arg(
        long,
        help = "Pretty-print search using a Go template",
        value_name = "string"
    )]
    format: Option<String>,
    #[arg(
        long,
        help = "Max number of search results",
        value_name = "int",
        allow_negative_numbers = true
    )]
    limit: Option<i64>,
    #[arg(long, help = "Don't truncate output")]
    no_trunc: bool,
    args: Vec<String>,
}

/// One result as the Engine API answers it.
#[derive(Deserialize)]
struct Found {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    star_count: i64,
    #[serde(default)]
    is_official: bool,
}

const HEADERS: &[(&str, &str)] = &[
    ("Name", "NAME"),
    ("Description", "DESCRIPTION"),
    ("StarCount", "STARS"),
    ("IsOfficial", "OFFICIAL"),
];

const DEFAULT_TABLE: &str = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}";

/// The row the templates see, as docker's searchContext renders it: the description on
/// one line, cut to 45 characters unless `--no-trunc`; "[OK]" for official ones (its JSON
/// says "true" or "false" instead).
fn row(r: &Found, trunc: bool, json: bool) -> serde_json::Value {
    let desc = r.description.replace(['\n', '\r'], " ");
    let desc = if trunc { ellipsis(&desc, 45) } else { desc };
    json!({
        "Name": r.name,
        "Description": desc,
        "StarCount": r.star_count.to_string(),
        "IsOfficial": match (json, r.is_official) {
            (true, o) => o.to_string(),
            (false, true) => "[OK]".to_string(),
            (false, false) => String::new(),
        },
    })
}

fn cmd_search(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: SearchCmd = parse(inv, args)?;
    inv.exactly(&o.args, 1)?;
    let term = &o.args[0];
    let format = o.format.clone().unwrap_or_default();
    let mut qs = vec![format!("term={}", q(term))];
    // docker sends a limit only when it is positive (the daemon's default is 25).
    if let Some(l) = o.limit.filter(|l| *l > 0) {
        qs.push(format!("limit={l}"));
    }
    if let Some(f) = filters_json(&o.filter).map_err(|e| Failure::new(e, 125))? {
        qs.push(format!("filters={}", q(&f)));
    }
    if o.filter.iter().any(|f| {
        f.split('=')
            .next()
            .map(|k| k.trim().to_lowercase())
            .as_deref()
            == Some("is-automated")
    }) {
        eprintln!("WARNING: the \"is-automated\" filter is deprecated, and searching for \"is-automated=true\" will not yield any results in future.");
    }
    let c = authed(ctx.client()?, term);
    let answer = c.get_json(&format!("/images/search{}", query(&qs)))?;
    let found: Vec<Found> = serde_json::from_value(answer)
        .map_err(|e| Failure::new(format!("invalid search answer: {e}"), 1))?;
    let rows: Vec<_> = found
        .iter()
        .map(|r| from_json(&row(r, !o.no_trunc, format == "json")))
        .collect();
    let mut out = std::io::stdout().lock();
    render_list(&mut out, &format, DEFAULT_TABLE, HEADERS, &rows)
        .map_err(|e| Failure::new(template_error(&e.0), 1))?;
    Ok(0)
}

/// docker's words for a template that fails on a row (its formatter wraps Go's error).
fn template_error(e: &str) -> String {
    match e.strip_prefix("failed to execute template: ") {
        Some(go) if go.contains("can't evaluate field") => {
            format!("template parsing error: {go} in type *registry.searchContext")
        }
        _ => e.to_string(),
    }
}

/// The commands this module implements (see `catalog.rs`).
pub(crate) static COMMANDS: &[Command] = &[Command::new(
    "search",
    "[OPTIONS] TERM",
    "Search Docker Hub for images",
    SearchCmd::command,
    cmd_search,
)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_docker_search_contexts() {
        let r = Found {
            name: "busybox".into(),
            description: "line one\nline two, then a description well beyond the limit".into(),
            star_count: 12,
            is_official: true,
        };
        let v = row(&r, true, false);
        assert_eq!(
            v["Description"],
            "line one line two, then a description well b…"
        );
        assert_eq!(v["IsOfficial"], "[OK]");
        assert_eq!(v["StarCount"], "12");
        assert_eq!(row(&r, true, true)["IsOfficial"], "true");
        let v = row(
            &Found {
                is_official: false,
                ..r
            },
            false,
            false,
        );
        assert_eq!(v["IsOfficial"], "");
        assert!(v["Description"]
            .as_str()
            .unwrap_or("")
            .ends_with("the limit"));
    }
}
