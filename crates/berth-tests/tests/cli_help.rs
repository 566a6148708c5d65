//! The CLI as a person meets it (prefix `clihelp_`): every command's help, and the errors
//! for bad input, compared with the docker CLI 28's for every command both have
//! (normalised for the program name). No daemon is involved: both CLIs are pointed at a
//! socket that does not exist, so anything that reaches for a daemon shows up as a
//! difference.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use berth_tests::nettest::ScratchDir;
use berth_tests::{berth_bin, run_command, Output};

/// The docker CLI 28 (the reference): `docker` on PATH when it is 28 or newer, else
/// /usr/local/bin/docker.
fn docker28() -> PathBuf {
    for cand in ["docker", "/usr/local/bin/docker"] {
        let out = Command::new(cand)
            .args(["version", "--format", "{{.Client.Version}}"])
            .env("DOCKER_HOST", "unix:///nonexistent.sock")
            .output();
        if let Ok(o) = out {
            let v = String::from_utf8_lossy(&o.stdout);
            let major: u32 = v
                .trim()
                .split('.')
                .next()
                .unwrap_or("")
                .parse()
                .unwrap_or(0);
            if major >= 28 {
                return PathBuf::from(cand);
            }
        }
    }
    panic!("these tests compare with the docker CLI 28: none found on PATH or in /usr/local/bin");
}

/// Runs a CLI with no daemon reachable and a private config dir.
fn cli(prog: &PathBuf, args: &[&str], config: &std::path::Path) -> Output {
    let mut c = Command::new(prog);
    c.args(args)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", config)
        .env("DOCKER_CONFIG", config)
        .env("DOCKER_HOST", "unix:///nonexistent.sock")
        .env("BERTH_NO_AUTOSTART", "1")
        .env("DOCKER_CLI_HINTS", "false");
    run_command(c, None, Duration::from_secs(20))
}

struct Both {
    docker: PathBuf,
    berth: PathBuf,
    config: ScratchDir,
}

impl Both {
    fn new(tag: &str) -> Both {
        Both {
            docker: docker28(),
            berth: berth_bin(),
            config: ScratchDir::new(&format!("clihelp-{tag}")),
        }
    }
    fn berth(&self, args: &[&str]) -> Output {
        cli(&self.berth, args, &self.config.0)
    }
    fn docker(&self, args: &[&str]) -> Output {
        cli(&self.docker, args, &self.config.0)
    }
}

/// The program name (and the config dir) made neutral, docker's notices removed.
fn norm(s: &str, config: &std::path::Path) -> String {
    let mut out = String::new();
    let mut skip_banner = false;
    for line in s.lines() {
        // The docker CLI warns about its legacy builder when buildx is not installed.
        if line.starts_with("DEPRECATED: The legacy builder") {
            skip_banner = true;
            continue;
        }
        if skip_banner {
            if line.starts_with(' ') || line.is_empty() {
                continue;
            }
            skip_banner = false;
        }
        if line.starts_with("For more help on how to use Docker") {
            continue;
        }
        // docker marks manifest's commands experimental; berth does not.
        if line == "EXPERIMENTAL:" {
            skip_banner = true;
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    // docker 28.2's RequiresMaxArgs says "SRun '... --help'": a typo berth does not copy.
    let out = out
        .replace(&config.display().to_string(), "CONFIG")
        .replace("\nSRun '", "\nRun '");
    let mut res = String::with_capacity(out.len());
    let lower = out.to_ascii_lowercase();
    let mut i = 0;
    while i < out.len() {
        if lower[i..].starts_with("docker") {
            res.push_str("PROG");
            i += 6;
        } else if lower[i..].starts_with("berth") {
            res.push_str("PROG");
            i += 5;
        } else {
            let ch = out[i..].chars().next().unwrap_or(' ');
            res.push(ch);
            i += ch.len_utf8();
        }
    }
    res.trim_end().to_string()
}

/// One command's help, taken apart.
#[derive(Debug, Default, PartialEq)]
struct Help {
    usage: String,
    description: String,
    aliases: String,
    /// flag name → (shorthand, type, description with wrapping undone).
    flags: BTreeMap<String, (String, String, String)>,
    /// (section, name, short description) of listed commands.
    commands: Vec<(String, String, String)>,
}

fn parse_help(text: &str) -> Help {
    let mut h = Help::default();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() && !lines[i].starts_with("Usage:") {
        i += 1;
    }
    if i < lines.len() {
        h.usage = lines[i].trim_start_matches("Usage:").trim().to_string();
        i += 1;
        while i < lines.len() && lines[i].starts_with('\t') {
            h.usage.push('\n');
            h.usage.push_str(lines[i]);
            i += 1;
        }
    }
    while i < lines.len() && lines[i].is_empty() {
        i += 1;
    }
    let mut desc = Vec::new();
    while i < lines.len() && !lines[i].is_empty() {
        desc.push(lines[i]);
        i += 1;
    }
    h.description = desc.join("\n");
    let mut section = String::new();
    let mut current: Option<String> = None;
    let mut col = 0;
    for line in &lines[i..] {
        if line.ends_with(':') && !line.starts_with(' ') {
            section = line.trim_end_matches(':').to_string();
            continue;
        }
        if line.trim().is_empty() {
            section.clear();
            continue;
        }
        match section.as_str() {
            "Aliases" => h.aliases = line.trim().to_string(),
            "Options" | "Global Options" => {
                let t = line.trim_start();
                if t.starts_with('-') && (line.starts_with("  -") || line.starts_with("      --")) {
                    let (short, rest) = match t.strip_prefix('-').filter(|_| !t.starts_with("--")) {
                        Some(r) => (r[..1].to_string(), r[3..].trim_start()),
                        None => (String::new(), t),
                    };
                    let rest = rest.trim_start_matches("--");
                    let (name, after) = rest.split_once(' ').unwrap_or((rest, ""));
                    // A type is the one word right after the name; then 2+ spaces.
                    let (ty, d) = if after.is_empty() || after.starts_with(' ') {
                        (String::new(), after.trim_start())
                    } else {
                        let (w, r) = after.split_once(' ').unwrap_or((after, ""));
                        (w.to_string(), r.trim_start())
                    };
                    col = line.len() - d.len();
                    h.flags.insert(name.to_string(), (short, ty, d.to_string()));
                    current = Some(name.to_string());
                } else if let Some(n) = &current {
                    if let Some(e) = h.flags.get_mut(n) {
                        e.2.push('\n');
                        e.2.push_str(line.get(col..).unwrap_or(line.trim()));
                    }
                }
            }
            s if s.ends_with("Commands") => {
                let t = line.trim();
                let (n, d) = t.split_once(' ').unwrap_or((t, ""));
                h.commands.push((
                    s.to_string(),
                    n.trim_end_matches('*').to_string(),
                    d.trim().to_string(),
                ));
            }
            _ => {}
        }
    }
    h
}

/// A description with pflag's wrapping undone (explicit line breaks are words apart too).
fn unwrap(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every command path a CLI lists: top-level commands and each management command's.
fn paths(b: &Both, berth: bool) -> Vec<String> {
    let run = |a: &[&str]| if berth { b.berth(a) } else { b.docker(a) };
    let top = run(&["--help"]);
    top.success();
    let mut out = Vec::new();
    for (section, name, _) in parse_help(&top.stdout).commands {
        if section == "Management Commands" || section == "Swarm Commands" {
            let g = run(&[&name, "--help"]);
            for (_, sub, _) in parse_help(&g.stdout).commands {
                out.push(format!("{name} {sub}"));
            }
        } else {
            out.push(name);
        }
    }
    out
}

/// Management commands the docker CLI gets from plugins (buildx, compose).
const PLUGINS: &[&str] = &["buildx", "compose"];

/// Flags berth takes that docker's legacy builder lacks but docker's buildx has.
const BUILDX_FLAGS: &[&str] = &["output", "progress", "secret"];

#[test]
fn clihelp_every_command_matches_docker() {
    let b = Both::new("help");
    let berth_paths = paths(&b, true);
    let docker_paths = paths(&b, false);
    assert!(
        berth_paths.len() >= 60,
        "berth lists only {} commands",
        berth_paths.len()
    );
    let mut problems = Vec::new();
    let mut compared = 0;
    for p in &berth_paths {
        if !docker_paths.contains(p) {
            continue;
        }
        let words: Vec<&str> = p.split(' ').chain(["--help"]).collect();
        let bo = b.berth(&words);
        let dout = b.docker(&words);
        bo.success();
        if dout.code != 0 {
            continue;
        }
        compared += 1;
        let (bn, dn) = (
            norm(&bo.stdout, &b.config.0),
            norm(&dout.stdout, &b.config.0),
        );
        let (bh, dh) = (parse_help(&bn), parse_help(&dn));
        for (what, x, y) in [
            ("usage", &bh.usage, &dh.usage),
            ("description", &bh.description, &dh.description),
            ("aliases", &bh.aliases, &dh.aliases),
        ] {
            if x != y {
                problems.push(format!("{p}: {what}: berth {x:?}, docker {y:?}"));
            }
        }
        for (name, (short, ty, desc)) in &bh.flags {
            match dh.flags.get(name) {
                None if p.ends_with("build") && BUILDX_FLAGS.contains(&name.as_str()) => {}
                None => problems.push(format!("{p}: --{name} is not docker's")),
                Some((ds, dt, dd)) => {
                    if short != ds || ty != dt || unwrap(desc) != unwrap(dd) {
                        problems.push(format!(
                            "{p}: --{name}: berth ({short:?}, {ty:?}, {desc:?}), docker ({ds:?}, {dt:?}, {dd:?})"
                        ));
                    }
                }
            }
        }
        // Same flags: the text must be the same byte for byte (wrapping included).
        let same_flags = bh.flags.keys().eq(dh.flags.keys());
        if same_flags && bn != dn {
            problems.push(format!(
                "{p}: help differs\n--- berth ---\n{bn}\n--- docker ---\n{dn}"
            ));
        }
    }
    assert!(compared >= 60, "compared only {compared} commands");
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn clihelp_top_level_groups_like_docker() {
    let b = Both::new("top");
    let bt = b.berth(&["--help"]);
    let dt = b.docker(&["--help"]);
    bt.success();
    let bh = parse_help(&norm(&bt.stdout, &b.config.0));
    let dh = parse_help(&norm(&dt.stdout, &b.config.0));
    assert_eq!(bh.usage, dh.usage);
    for section in ["Common Commands", "Management Commands", "Commands"] {
        assert!(
            bh.commands.iter().any(|c| c.0 == section),
            "berth --help has no {section} section:\n{}",
            bt.stdout
        );
    }
    for (section, name, short) in &bh.commands {
        let d = dh.commands.iter().find(|c| &c.1 == name);
        match d {
            Some((ds, _, dshort)) => {
                assert_eq!(
                    section, ds,
                    "{name} is under {section}, docker's under {ds}"
                );
                if !PLUGINS.contains(&name.as_str()) {
                    assert_eq!(short, dshort, "{name}'s description");
                }
            }
            // docker lists these only with its plugins installed; berth has its own.
            None => assert!(
                PLUGINS.contains(&name.as_str()),
                "{name} is not a docker command"
            ),
        }
    }
    // Common Commands in docker's order (those berth has).
    let order = |h: &Help| -> Vec<String> {
        h.commands
            .iter()
            .filter(|c| c.0 == "Common Commands")
            .map(|c| c.1.clone())
            .collect()
    };
    let bo = order(&bh);
    let doc: Vec<String> = order(&dh).into_iter().filter(|n| bo.contains(n)).collect();
    assert_eq!(bo, doc);
    // Global options: the same flags, types and descriptions.
    assert_eq!(
        bh.flags.keys().collect::<Vec<_>>(),
        dh.flags.keys().collect::<Vec<_>>()
    );
    for (n, (s, t, d)) in &bh.flags {
        let (ds, dty, dd) = &dh.flags[n];
        assert_eq!((s, t, unwrap(d)), (ds, dty, unwrap(dd)), "--{n}");
    }
    // `help`, `-h` and no arguments print the same.
    assert_eq!(b.berth(&["help"]).stdout, bt.stdout);
    // Bare, on stderr (as docker).
    assert_eq!(b.berth(&[]).stderr, bt.stdout);
}

/// The first flag of a command that takes a value (from its help).
fn value_flag(h: &Help) -> Option<String> {
    h.flags
        .iter()
        .find(|(_, (_, ty, _))| !ty.is_empty())
        .map(|(n, _)| n.clone())
}

#[test]
fn clihelp_bad_input_errors_like_docker() {
    let b = Both::new("errors");
    let berth_paths = paths(&b, true);
    let docker_paths = paths(&b, false);
    let mut problems = Vec::new();
    let mut check = |args: Vec<String>| {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let bo = b.berth(&a);
        let dout = b.docker(&a);
        let bs = norm(&bo.stderr, &b.config.0);
        let ds = norm(&dout.stderr, &b.config.0);
        if bo.code != dout.code || bs != ds {
            problems.push(format!(
                "{}: berth exit {} {bs:?}; docker exit {} {ds:?}",
                args.join(" "),
                bo.code,
                dout.code
            ));
        }
    };
    let mut checked = 0;
    for p in berth_paths.iter().filter(|p| docker_paths.contains(p)) {
        let words: Vec<String> = p.split(' ').map(str::to_string).collect();
        let with = |extra: &[&str]| {
            let mut v = words.clone();
            v.extend(extra.iter().map(|s| s.to_string()));
            v
        };
        // Unknown flags, long and short.
        check(with(&["--no-such-flag"]));
        check(with(&["-Z"]));
        // A flag missing its value.
        let help = parse_help(&norm(
            &b.berth(
                &with(&["--help"])
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            )
            .stdout,
            &b.config.0,
        ));
        if let Some(f) = value_flag(&help) {
            check(with(&[&format!("--{f}")]));
        }
        // Missing arguments, for commands whose usage requires some.
        let required = help
            .usage
            .split_whitespace()
            .skip(words.len() + 1)
            .any(|w| w.chars().next().is_some_and(|c| c.is_ascii_uppercase()));
        if required && !p.ends_with("cp") {
            check(words.clone());
        }
        checked += 1;
    }
    // Commands and groups that do not exist; a group without a command prints its help.
    for args in [
        vec!["no-such-command"],
        vec!["container", "no-such"],
        vec!["image", "--no-such-flag"],
        vec!["--no-such-flag"],
        vec!["-H"],
        vec!["--context"],
        vec!["help", "no-such-topic"],
        vec!["--context", "no-such-context", "ps"],
        vec!["-H", "tcp://127.0.0.1:1", "--context", "x", "ps"],
    ] {
        check(args.iter().map(|s| s.to_string()).collect());
    }
    for g in ["container", "image", "network", "volume", "system"] {
        let bo = b.berth(&[g]);
        let dout = b.docker(&[g]);
        bo.success();
        // Without a subcommand both print the group's help on stderr.
        let (bh, dh) = (
            parse_help(&norm(&bo.stderr, &b.config.0)),
            parse_help(&norm(&dout.stderr, &b.config.0)),
        );
        assert_eq!(bh.usage, dh.usage, "berth {g}");
        for c in &bh.commands {
            assert!(dh.commands.contains(c), "berth {g}: {c:?} not docker's");
        }
    }
    assert!(checked >= 60, "checked only {checked} commands");
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn clihelp_help_forms_agree() {
    let b = Both::new("forms");
    let a = b.berth(&["exec", "--help"]);
    a.success()
        .stdout_contains("Usage:  berth exec [OPTIONS] CONTAINER COMMAND [ARG...]")
        .stdout_contains("Aliases:\n  berth container exec, berth exec")
        .stdout_contains(
            "  -d, --detach               Detached mode: run command in the background",
        );
    let h = b.berth(&["help", "exec"]);
    h.success();
    assert_eq!(a.stdout, h.stdout);
    // -h works where it means nothing else (with docker's deprecation notice).
    let s = b.berth(&["exec", "-h"]);
    s.success()
        .stderr_contains("Flag shorthand -h has been deprecated, use --help");
    assert_eq!(s.stdout, a.stdout);
    // A local alias shows the canonical path, a top-level one its own.
    b.berth(&["container", "ps", "--help"])
        .success()
        .stdout_contains("Usage:  berth container ls [OPTIONS]");
    b.berth(&["help", "container", "list"])
        .success()
        .stdout_contains("Usage:  berth container ls [OPTIONS]");
    // `system events` and `events` are one command.
    let ev = b.berth(&["system", "events", "--help"]);
    ev.success()
        .stdout_contains("Aliases:\n  berth system events, berth events");
    // run's -h is --hostname: its help lists --help itself.
    b.berth(&["run", "--help"])
        .success()
        .stdout_contains("      --help                             Print usage")
        .stdout_contains("  -h, --hostname string");
}
