//! docs/architecture.md's map checked against the code: in its opening (everything before
//! "## Data layout"), every file a table names exists, every function or type a "Life of"
//! row names is defined in that row's files, every `Type::item` and every type named in
//! the flows table is defined in the workspace, and every `*.rs` the map's picture names
//! exists; further down, every `*.rs` the text names in backticks exists. No daemon: it
//! reads the repository only.

use regex::Regex;
use std::fs;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file of the repository (`crates/`, `fuzz/`), as (path from the repository's
/// root, its text).
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<(String, String)>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.file_name().is_some_and(|n| n == "target" || n == ".git") {
                continue;
            }
            if p.is_dir() {
                walk(&p, base, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.push((rel, fs::read_to_string(&p).unwrap_or_default()));
            }
        }
    }
    let base = repo();
    let mut out = Vec::new();
    walk(&base, &base, &mut out);
    assert!(out.len() > 100, "sources found under {}", base.display());
    out
}

/// The backticked spans of a table cell.
fn ticks(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The Markdown tables whose header cells start with `header`: each a list of rows, each
/// row its cells (trimmed).
fn table(text: &str, header: &[&str]) -> Vec<Vec<Vec<String>>> {
    let mut tables = Vec::new();
    let mut rows: Option<Vec<Vec<String>>> = None;
    for line in text.lines() {
        let line = line.trim();
        if !line.starts_with('|') {
            if let Some(r) = rows.take() {
                tables.push(r);
            }
            continue;
        }
        let cells: Vec<String> = line
            .trim_matches('|')
            .split(" | ")
            .map(|c| c.trim().to_string())
            .collect();
        match &mut rows {
            None if cells.len() >= header.len()
                && header.iter().zip(&cells).all(|(h, c)| c == h) =>
            {
                rows = Some(Vec::new());
            }
            Some(r) if !cells[0].starts_with("---") => r.push(cells),
            _ => {}
        }
    }
    tables.extend(rows);
    tables
}

/// Whether `text` defines `name`: a function, a type, a trait, a module, a constant, or a
/// field (for `Seams::mounter`-style names).
fn defines(text: &str, name: &str) -> bool {
    let re = Regex::new(&format!(
        r"(?m)(\bfn\s+{n}\b|\b(struct|enum|trait|type|mod|const|static)\s+{n}\b|^\s*(pub(\([a-z]+\))?\s+)?{n}\s*:)",
        n = regex::escape(name)
    ))
    .unwrap();
    re.is_match(text)
}

/// Whether `text` has an `impl` block for `ty` (inherent or of a trait).
fn implements(text: &str, ty: &str) -> bool {
    let re = Regex::new(&format!(
        r"\bimpl\b[^{{;]*\b{}\b[^{{;]*\{{",
        regex::escape(ty)
    ))
    .unwrap();
    re.is_match(text) || defines(text, ty)
}

/// Whether `name` is defined in one of `files` (path, text): `f` or `Type` in any,
/// `Type::f` in one that also implements or defines `Type`, `module::f` in `module.rs` or
/// `module/mod.rs`, `crate_name::f` in that crate's `src/lib.rs`.
fn defined_in(files: &[(String, String)], name: &str) -> bool {
    match name.rsplit_once("::") {
        Some((owner, item)) => {
            let owner = owner.rsplit("::").next().unwrap_or(owner);
            if owner.starts_with(|c: char| c.is_ascii_lowercase()) {
                // A module, or a crate (`berth_cli::run`: its lib.rs).
                let lib = format!("/{}/src/lib.rs", owner.replace('_', "-"));
                files.iter().any(|(p, t)| {
                    (p.ends_with(&format!("/{owner}.rs"))
                        || p.ends_with(&lib)
                        || p.ends_with(&format!("/{owner}/mod.rs")))
                        && defines(t, item)
                })
            } else {
                files
                    .iter()
                    .any(|(_, t)| defines(t, item) && implements(t, owner))
            }
        }
        None => files.iter().any(|(_, t)| defines(t, name)),
    }
}

/// Whether a source file's path ends with `tail` (whole path components).
fn has_file(src: &[(String, String)], tail: &str) -> bool {
    src.iter()
        .any(|(p, _)| format!("/{p}").ends_with(&format!("/{tail}")))
}

fn is_path(token: &str) -> bool {
    token.ends_with(".rs") || (token.ends_with('/') && !token.contains(' '))
}

/// A Rust item name as the tables write them: `Type`, `Type::f`, `module::f`, `f`.
fn is_item(token: &str) -> bool {
    let re = Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*$").unwrap();
    re.is_match(token)
}

#[test]
fn architecture_map_names_what_the_code_has() {
    let doc = fs::read_to_string(repo().join("docs/architecture.md")).unwrap();
    let opening = doc
        .split("\n## Data layout")
        .next()
        .expect("docs/architecture.md has a Data layout section after its map");
    let src = sources();
    let crates = repo().join("crates");
    let mut wrong = Vec::new();

    // The "Life of" tables: # | crate | file | function | what happens.
    let lives = table(opening, &["#", "crate", "file", "function", "what happens"]);
    assert!(lives.len() >= 4, "life-of tables found: {}", lives.len());
    let mut rows_checked = 0;
    for row in lives.iter().flatten() {
        let cell = |i: usize| row.get(i).map(String::as_str).unwrap_or("");
        let names: Vec<String> = cell(1)
            .split(['→', ','])
            .map(|c| c.trim().trim_matches('`').to_string())
            .filter(|c| !c.is_empty())
            .collect();
        let mut texts = Vec::new();
        for file in ticks(cell(2)) {
            let found: Vec<PathBuf> = names
                .iter()
                .flat_map(|c| {
                    [
                        crates.join(c).join("src").join(&file),
                        crates.join(c).join(&file),
                    ]
                })
                .filter(|p| p.is_file())
                .collect();
            if found.is_empty() {
                wrong.push(format!("row {}: no file {file} in {names:?}", cell(0)));
            }
            texts.extend(found.iter().map(|p| {
                (
                    p.to_string_lossy().into_owned(),
                    fs::read_to_string(p).unwrap(),
                )
            }));
        }
        for f in ticks(cell(3)) {
            if !defined_in(&texts, &f) {
                wrong.push(format!(
                    "row {} ({}): {f} is not defined in {}",
                    cell(0),
                    names.join(", "),
                    cell(2)
                ));
            }
        }
        for t in ticks(cell(4)) {
            if is_path(&t) {
                if !has_file(&src, &t) {
                    wrong.push(format!(
                        "row {}: {t} (in what happens) does not exist",
                        cell(0)
                    ));
                }
            } else if t.contains("::") && is_item(&t) && !defined_in(&src, &t) {
                wrong.push(format!(
                    "row {}: {t} (in what happens) is not defined",
                    cell(0)
                ));
            }
        }
        rows_checked += 1;
    }
    assert!(rows_checked >= 30, "life-of rows checked: {rows_checked}");

    // What flows between them: the types that cross exist, the files that define them exist
    // (a path without a crate is in the previous path's directory).
    let flows = table(
        opening,
        &["from → to", "what crosses", "where it is defined"],
    );
    assert_eq!(flows.len(), 1, "the flows table");
    for row in &flows[0] {
        let mut dir = PathBuf::new();
        for t in ticks(&row[2]) {
            let p = if t.starts_with("berth") {
                crates.join(&t)
            } else {
                dir.join(&t)
            };
            if t.starts_with("berth") {
                dir = p.parent().unwrap().to_path_buf();
                if t.ends_with('/') {
                    dir = p.clone();
                }
            }
            if !p.exists() {
                wrong.push(format!("flows: {} does not exist", p.display()));
            }
        }
        for t in ticks(&row[1]) {
            let camel = t.chars().next().is_some_and(|c| c.is_ascii_uppercase());
            if is_item(&t) && (camel || t.contains("::")) && !defined_in(&src, &t) {
                wrong.push(format!("flows: {t} is not defined"));
            }
        }
    }

    // Where things are: the crate directories and where to start reading.
    let places = table(opening, &["crate", "owns", "start reading at"]);
    assert_eq!(places.len(), 1, "the where-things-are table");
    for row in &places[0] {
        let Some(dir) = ticks(&row[0]).into_iter().next() else {
            wrong.push(format!("where: no crate in {:?}", row[0]));
            continue;
        };
        let dir = repo().join(dir);
        if !dir.join("Cargo.toml").is_file() {
            wrong.push(format!("where: {} is not a crate", dir.display()));
        }
        for t in ticks(&row[2]) {
            if !dir.join(&t).exists() {
                wrong.push(format!("where: {} does not exist", dir.join(&t).display()));
            }
        }
    }

    // The map's picture: each file it names exists.
    let picture = opening
        .split("```")
        .nth(1)
        .expect("the map's picture is a code block");
    let rs = Regex::new(r"[A-Za-z0-9_/-]+\.rs\b").unwrap();
    for m in rs.find_iter(picture) {
        if !has_file(&src, m.as_str()) {
            wrong.push(format!("map: {} does not exist", m.as_str()));
        }
    }

    // Anywhere in the document: each source file its text names in a code span exists
    // (fenced blocks are examples, not names).
    let mut fenced = false;
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        for t in ticks(line).iter().filter(|_| !fenced) {
            for m in rs.find_iter(t) {
                if !has_file(&src, m.as_str()) {
                    wrong.push(format!("text: {} does not exist", m.as_str()));
                }
            }
        }
    }

    assert!(
        wrong.is_empty(),
        "docs/architecture.md names what the code does not have:\n{}",
        wrong.join("\n")
    );
}
