//! `berth compose ...`: the global compose options, the subcommand table and the commands
//! that only need the model (`config`, `version`).

mod ops;
mod table;

use crate::loader::{load, LoadOptions, Loaded};
use berth_cli::commands::{parse, Invocation};
use berth_cli::{CmdResult, Ctx, Failure};
use clap::Parser;

/// Options that come before the compose subcommand.
#[derive(Debug, Clone, Default)]
pub struct Global {
    pub files: Vec<String>,
    pub project_name: Option<String>,
    pub project_directory: Option<String>,
    pub env_files: Vec<String>,
    pub profiles: Vec<String>,
    pub progress: Option<String>,
    pub ansi: Option<String>,
    pub parallel: Option<i64>,
    pub dry_run: bool,
}

const USAGE: &str = "\nUsage:  berth compose [OPTIONS] COMMAND\n\nDefine and run multi-container applications with Docker Compose\n\nOptions:\n      --ansi string                Control when to print ANSI control characters (\"never\"|\"always\"|\"auto\") (default \"auto\")\n      --env-file stringArray       Specify an alternate environment file\n  -f, --file stringArray           Compose configuration files\n      --parallel int               Control max parallelism, -1 for unlimited (default -1)\n      --profile stringArray        Specify a profile to enable\n      --progress string            Set type of progress output (auto, tty, plain, json, quiet)\n      --project-directory string   Specify an alternate working directory\n                                   (default: the path of the, first specified, Compose file)\n  -p, --project-name string        Project name\n\nCommands:\n  build       Build or rebuild services\n  config      Parse, resolve and render compose file in canonical format\n  cp          Copy files/folders between a service container and the local filesystem\n  create      Creates containers for a service\n  down        Stop and remove containers, networks\n  events      Receive real time events from containers\n  exec        Execute a command in a running container\n  images      List images used by the created containers\n  kill        Force stop service containers\n  logs        View output from containers\n  ls          List running compose projects\n  pause       Pause services\n  port        Print the public port for a port binding\n  ps          List containers\n  pull        Pull service images\n  push        Push service images\n  restart     Restart service containers\n  rm          Removes stopped service containers\n  run         Run a one-off command on a service\n  scale       Scale services\n  start       Start services\n  stop        Stop services\n  top         Display the running processes\n  unpause     Unpause services\n  up          Create and start containers\n  version     Show the Docker Compose version information\n  wait        Block until containers of all (or specified) services stop.\n  watch       Watch build context for service and rebuild/refresh containers when files are updated\n\nRun 'berth compose COMMAND --help' for more information on a command.\n";

fn flag_value(
    args: &[String],
    i: &mut usize,
    long: &str,
    short: Option<&str>,
) -> Result<Option<String>, Failure> {
    let a = &args[*i];
    let names: Vec<String> = std::iter::once(format!("--{long}"))
        .chain(short.map(|s| format!("-{s}")))
        .collect();
    for n in &names {
        if a == n {
            let v = args
                .get(*i + 1)
                .cloned()
                .ok_or_else(|| Failure::new(format!("flag needs an argument: {n}"), 125))?;
            *i += 2;
            return Ok(Some(v));
        }
        if let Some(v) = a.strip_prefix(&format!("{n}=")) {
            *i += 1;
            return Ok(Some(v.to_string()));
        }
        if n.len() == 2 {
            if let Some(v) = a
                .strip_prefix(n.as_str())
                .filter(|v| !v.is_empty() && !a.starts_with("--"))
            {
                *i += 1;
                return Ok(Some(v.to_string()));
            }
        }
    }
    Ok(None)
}

/// Splits `args` into the global options and the subcommand with its arguments.
pub fn parse_global(args: &[String]) -> Result<(Global, Vec<String>), Failure> {
    let mut g = Global::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if !a.starts_with('-') || a == "-" {
            break;
        }
        if let Some(v) = flag_value(args, &mut i, "file", Some("f"))? {
            g.files.push(v);
        } else if let Some(v) = flag_value(args, &mut i, "project-name", Some("p"))? {
            g.project_name = Some(v);
        } else if let Some(v) = flag_value(args, &mut i, "project-directory", None)? {
            g.project_directory = Some(v);
        } else if let Some(v) = flag_value(args, &mut i, "env-file", None)? {
            g.env_files.push(v);
        } else if let Some(v) = flag_value(args, &mut i, "profile", None)? {
            g.profiles.push(v);
        } else if let Some(v) = flag_value(args, &mut i, "progress", None)? {
            if !matches!(v.as_str(), "auto" | "tty" | "plain" | "json" | "quiet") {
                return Err(Failure::new(
                    format!("unsupported --progress value {v:?}"),
                    1,
                ));
            }
            g.progress = Some(v);
        } else if let Some(v) = flag_value(args, &mut i, "ansi", None)? {
            if !matches!(v.as_str(), "auto" | "never" | "always") {
                return Err(Failure::new(format!("unsupported --ansi value {v:?}"), 1));
            }
            g.ansi = Some(v);
        } else if let Some(v) = flag_value(args, &mut i, "parallel", None)? {
            g.parallel = Some(v.parse().map_err(|_| {
                Failure::new(
                    format!("invalid argument {v:?} for \"--parallel\" flag: strconv.ParseInt: parsing {v:?}: invalid syntax"),
                    1,
                )
            })?);
        } else if a == "--dry-run" {
            g.dry_run = true;
            i += 1;
        } else if a == "--compatibility" || a == "--all-resources" {
            i += 1;
        } else if a == "-h" || a == "--help" {
            println!("{USAGE}");
            return Err(Failure::new("", 0));
        } else if a == "-v" || a == "--version" {
            return Ok((g, vec!["version".into()]));
        } else {
            return Err(Failure::new(
                format!("unknown flag: {a}\n\nUsage:  berth compose [OPTIONS] COMMAND\n\nRun 'berth compose --help' for more information"),
                1,
            ));
        }
    }
    Ok((g, args[i..].to_vec()))
}

impl Global {
    /// Load options from the globals (plus the COMPOSE_* environment).
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            files: self.files.clone(),
            project_directory: self.project_directory.clone().map(Into::into),
            project_name: self.project_name.clone(),
            env_files: self.env_files.clone(),
            profiles: self.profiles.clone(),
            ..Default::default()
        }
    }

    /// Loads the project, printing the loader's warnings.
    pub fn load_with(&self, opts: LoadOptions) -> Result<Loaded, Failure> {
        let loaded = load(&opts).map_err(|e| Failure::new(e.to_string(), 1))?;
        for w in &loaded.warnings {
            warn(w);
        }
        Ok(loaded)
    }

    pub fn load(&self) -> Result<Loaded, Failure> {
        self.load_with(self.load_options())
    }
}

/// A yes/no question as docker compose 2.40 asks it (default no), e.g. whether to recreate
/// a volume whose configuration changed. On a terminal, its survey prompt
/// `? MSG (y/N) ` takes `y`/`yes`/`n`/`no` in any case and an empty line (the default),
/// the line as typed (survey v2's Confirm matches `^(?i:y(?:es)?)$` and
/// `^(?i:n(?:o)?)$` on it, spaces included); any other line gets survey's error
/// `X Sorry, your reply was invalid: "LINE" is not a valid answer, please try again.` in
/// red and the question again. Otherwise its pipe prompt: MSG on stdout without a
/// newline, then one word of stdin, yes when it is `y` or a true word of Go's ParseBool,
/// in any case (`Y`, `true`, `1`; not `yes`): measured with compose 2.40.3. A closed or
/// empty stdin is no.
pub fn confirm(msg: &str) -> bool {
    use std::io::{BufRead, Write};
    let tty = nix::unistd::isatty(0).unwrap_or(false);
    let mut out = std::io::stdout();
    // On a terminal, survey's Confirm as compose 2.40 draws it: the question in bold after
    // a green `?`, a grey `(y/N)`; once answered, the line drawn again with the answer in
    // cyan (`Yes`/`No`). survey reads the keys raw; the terminal's own echo of the line
    // read here shows the same characters.
    let styled =
        |tail: &str| format!("\x1b[0G\x1b[2K\x1b[1;92m? \x1b[0m\x1b[1;99m{msg} \x1b[0m{tail}");
    if !tty {
        let _ = write!(out, "{msg}");
        let _ = out.flush();
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        return confirmed_on_a_pipe(&line);
    }
    let question = styled("\x1b[37m(y/N) \x1b[0m");
    let _ = write!(out, "{question}");
    let _ = out.flush();
    // Whether survey's error line is on the screen above the question (it erases it
    // before drawing the next one).
    let mut error_shown = false;
    let yes = loop {
        let mut line = String::new();
        // A closed terminal: survey's read fails and compose takes the default.
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => break false,
            Ok(_) => {}
        }
        let typed = line.trim_end_matches(['\n', '\r']);
        if let Some(yes) = confirmed_on_a_terminal(typed) {
            break yes;
        }
        // survey's Error then Render: back to the question's line, erase it (and the
        // previous error above it), the error in red, then the question again.
        let mut s = String::from("\x1b[1A\x1b[0G\x1b[2K");
        if error_shown {
            s.push_str("\x1b[1F\x1b[2K");
        }
        s.push_str(&format!(
            "\x1b[0G\x1b[2K\x1b[31mX Sorry, your reply was invalid: {} is not a valid answer, please try again.\x1b[0m\r\n{question}",
            berth_cli::commands::containers::go_quote(typed)
        ));
        let _ = write!(out, "{s}");
        let _ = out.flush();
        error_shown = true;
    };
    let answer = if yes { "Yes" } else { "No" };
    let _ = write!(
        out,
        "\x1b[1A{}\r\n",
        styled(&format!("\x1b[36m{answer}\x1b[0m"))
    );
    let _ = out.flush();
    yes
}

/// The answer `line` (without its line end) to [`confirm`] on a terminal: yes, no, or
/// `None` when survey rejects it (see there).
fn confirmed_on_a_terminal(line: &str) -> Option<bool> {
    match line.to_lowercase().as_str() {
        "y" | "yes" => Some(true),
        "n" | "no" | "" => Some(false),
        _ => None,
    }
}

/// Whether the answer `line` to [`confirm`] on a pipe is yes (see there).
fn confirmed_on_a_pipe(line: &str) -> bool {
    let word = line
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_lowercase();
    word == "y" || berth_cli::commands::parse_go_bool(&word).unwrap_or(false)
}

/// A warning as docker compose prints it (logrus format).
pub fn warn(msg: &str) {
    eprintln!("{}", warn_line(msg));
}

/// A warning line as docker compose's logrus writes it: `WARN[0000] msg` on a terminal,
/// else its text formatter's `time="<RFC 3339>" level=warning msg="<quoted>"`.
pub fn warn_line(msg: &str) -> String {
    if nix::unistd::isatty(2).unwrap_or(false) {
        return format!("WARN[0000] {msg}");
    }
    let now = chrono::Local::now()
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string();
    // Go's RFC 3339 writes a zero offset as "Z".
    let now = match now.strip_suffix("+00:00") {
        Some(t) => format!("{t}Z"),
        None => now,
    };
    // logrus quotes a value holding anything beyond letters, digits and `-._/@^+`.
    let plain = !msg.is_empty()
        && msg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/@^+".contains(c));
    let msg = if plain {
        msg.to_string()
    } else {
        berth_cli::commands::containers::go_quote(msg)
    };
    format!("time=\"{now}\" level=warning msg={msg}")
}

type Handler = fn(&mut Ctx, &Global, &Invocation, &[String]) -> CmdResult;

fn lookup(name: &str) -> Option<(&'static str, Handler)> {
    Some(match name {
        "config" => ("[OPTIONS] [SERVICE...]", cmd_config as Handler),
        "convert" => ("[OPTIONS] [SERVICE...]", cmd_config),
        "version" => ("[OPTIONS]", cmd_version),
        "up" => ("[OPTIONS] [SERVICE...]", ops::cmd_up),
        "down" => ("[OPTIONS] [SERVICES]", ops::cmd_down),
        "create" => ("[OPTIONS] [SERVICE...]", ops::cmd_create),
        "start" => ("[SERVICE...]", ops::cmd_start),
        "stop" => ("[OPTIONS] [SERVICE...]", ops::cmd_stop),
        "restart" => ("[OPTIONS] [SERVICE...]", ops::cmd_restart),
        "kill" => ("[OPTIONS] [SERVICE...]", ops::cmd_kill),
        "rm" => ("[OPTIONS] [SERVICE...]", ops::cmd_rm),
        "pause" => ("[SERVICE...]", ops::cmd_pause),
        "unpause" => ("[SERVICE...]", ops::cmd_unpause),
        "ps" => ("[OPTIONS] [SERVICE...]", ops::cmd_ps),
        "logs" => ("[OPTIONS] [SERVICE...]", ops::cmd_logs),
        "exec" => ("[OPTIONS] SERVICE COMMAND [ARGS...]", ops::cmd_exec),
        "run" => ("[OPTIONS] SERVICE [COMMAND] [ARGS...]", ops::cmd_run),
        "build" => ("[OPTIONS] [SERVICE...]", ops::cmd_build),
        "pull" => ("[OPTIONS] [SERVICE...]", ops::cmd_pull),
        "push" => ("[OPTIONS] [SERVICE...]", ops::cmd_push),
        "images" => ("[OPTIONS] [SERVICE...]", ops::cmd_images),
        "port" => ("[OPTIONS] SERVICE PRIVATE_PORT", ops::cmd_port),
        "top" => ("[SERVICES...]", ops::cmd_top),
        "ls" => ("[OPTIONS]", ops::cmd_ls),
        "scale" => ("[SERVICE=REPLICAS...]", ops::cmd_scale),
        "wait" => ("SERVICE [SERVICE...] [OPTIONS]", ops::cmd_wait),
        "cp" => ("[OPTIONS] SERVICE:SRC_PATH DEST_PATH|-", ops::cmd_cp),
        "events" => ("[OPTIONS] [SERVICE...]", ops::cmd_events),
        "watch" => ("[SERVICE...]", ops::cmd_watch),
        _ => return None,
    })
}

/// Entry point registered with berth-cli as the `compose` command.
pub fn main(ctx: &mut Ctx, args: &[String]) -> i32 {
    let (mut g, rest) = match parse_global(args) {
        Ok(x) => x,
        Err(f) => return report(f),
    };
    let Some(name) = rest.first().cloned() else {
        println!("{USAGE}");
        return 0;
    };
    let Some((usage, handler)) = lookup(&name) else {
        eprintln!("unknown docker command: \"compose {name}\"\nSee 'berth compose --help'");
        return 1;
    };
    // --dry-run is a global flag docker compose also takes after the subcommand (not in
    // `exec`/`run`, whose trailing words are the container's command; not after `--`).
    let mut sub: Vec<String> = rest[1..].to_vec();
    if !matches!(name.as_str(), "exec" | "run") {
        let end = sub.iter().position(|a| a == "--").unwrap_or(sub.len());
        let mut i = 0;
        sub.retain(|a| {
            let drop = i < end && a == "--dry-run";
            i += 1;
            !drop
        });
        if sub.len() + 1 != rest.len() {
            g.dry_run = true;
        }
    }
    if g.dry_run {
        if let Err(f) = dry_run_allowed(&name) {
            return report(f);
        }
        crate::api::DRY_RUN.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let inv = Invocation {
        path: format!("compose {name}"),
        usage,
    };
    match handler(ctx, &g, &inv, &sub) {
        Ok(c) => c,
        Err(f) => report(f),
    }
}

/// The commands `--dry-run` applies to: the reads (nothing to change) and the ones whose
/// changes berth can show without making them; the others are refused, never run for real.
fn dry_run_allowed(name: &str) -> Result<(), Failure> {
    let refuse = |why: &str| {
        Err(Failure::new(
            format!("berth compose {name}: --dry-run is not supported{why}"),
            1,
        ))
    };
    match name {
        "config" | "convert" | "version" | "ps" | "logs" | "images" | "top" | "port" | "ls"
        | "events" | "down" | "create" | "start" | "stop" | "restart" | "kill" | "rm" | "pause"
        | "unpause" | "scale" => Ok(()),
        // A foreground `up` (`--watch` too) stops after the creation with compose's
        // "interactive run is not supported" line; `watch` starts and watches, its
        // actions dry runs too.
        "up" | "watch" => Ok(()),
        _ => refuse(""),
    }
}

fn report(f: Failure) -> i32 {
    if !f.msg.is_empty() {
        eprintln!("{}", f.msg);
    }
    f.code
}

#[derive(Parser, Debug)]
#[command(name = "config", disable_help_flag = true)]
struct ConfigOpts {
    #[arg(long)]
    services: bool,
    #[arg(long)]
    volumes: bool,
    #[arg(long)]
    networks: bool,
    #[arg(long)]
    profiles: bool,
    #[arg(long)]
    images: bool,
    #[arg(short = 'q', long)]
    quiet: bool,
    #[arg(long, default_value = "yaml")]
    format: String,
    #[arg(long = "no-interpolate")]
    no_interpolate: bool,
    #[arg(long = "no-normalize")]
    no_normalize: bool,
    #[arg(long = "no-consistency")]
    no_consistency: bool,
    #[arg(long = "no-path-resolution")]
    no_path_resolution: bool,
    #[arg(long = "resolve-image-digests")]
    resolve_image_digests: bool,
    #[arg(long)]
    hash: Option<String>,
    #[arg(short = 'o', long)]
    output: Option<String>,
    #[arg(long)]
    environment: bool,
    services_args: Vec<String>,
}

fn cmd_config(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ConfigOpts = parse(inv, args)?;
    if !matches!(o.format.as_str(), "yaml" | "json") {
        return Err(Failure::new(
            format!("unsupported format {:?}", o.format),
            1,
        ));
    }
    let mut lo = g.load_options();
    lo.interpolate = !o.no_interpolate;
    lo.resolve_paths = !o.no_path_resolution;
    lo.normalize = !o.no_normalize;
    lo.consistency = !o.no_consistency;
    if o.no_path_resolution && o.no_interpolate {
        // The generic model's own path handling (rawmodel) does not take the flag.
        return Err(Failure::new(
            "berth compose config: --no-path-resolution with --no-interpolate is not supported",
            1,
        ));
    }
    if o.profiles {
        // All profiles of all services, active or not.
        lo.profiles = vec!["*".into()];
        let l = g.load_with(lo)?;
        let mut all: Vec<String> = l
            .project
            .services
            .values()
            .flat_map(|s| s.profiles.iter().cloned())
            .collect();
        all.sort();
        all.dedup();
        for p in all {
            println!("{p}");
        }
        return Ok(0);
    }
    lo.wanted_services = o.services_args.clone();
    // The whole model without interpolation is compose-go's generic map, not the project.
    let listing = o.services || o.volumes || o.networks || o.images || o.environment;
    lo.model = o.no_interpolate && !listing && o.hash.is_none();
    let mut l = g.load_with(lo)?;
    let p = &mut l.project;
    if !o.services_args.is_empty() && l.model.is_none() {
        for s in &o.services_args {
            if !p.services.contains_key(s) {
                return Err(Failure::new(format!("no such service: {s}"), 1));
            }
        }
        let keep = crate::graph::with_dependencies(p, &o.services_args);
        p.services.retain(|k, _| keep.contains(k));
    }
    // compose resolves for the model it prints (and -q); the listings and `--hash` come
    // from the project as loaded.
    if o.resolve_image_digests && l.model.is_none() && !listing && o.hash.is_none() {
        let client = ctx.client()?.clone();
        for s in p.services.values_mut() {
            if !s.image.is_empty() {
                s.image = resolve_digest(&client, &s.image)?;
            }
        }
    }
    let mut out = String::new();
    if o.services {
        if o.no_consistency {
            // Unchecked references: compose's dependency walk still fails on a missing one.
            for s in p.services.values() {
                for (dep, d) in &s.depends_on {
                    if d.required && !p.services.contains_key(dep) {
                        return Err(Failure::new(format!("no such service: {dep}"), 1));
                    }
                }
            }
        }
        // Dependencies first, as docker compose prints them.
        for n in crate::graph::dependency_order(p) {
            out.push_str(&n);
            out.push('\n');
        }
    } else if o.volumes {
        for n in p.volumes.keys() {
            out.push_str(n);
            out.push('\n');
        }
    } else if o.networks {
        for n in p.networks.keys() {
            out.push_str(n);
            out.push('\n');
        }
    } else if o.images {
        for (n, s) in &p.services {
            out.push_str(&image_name(&p.name, n, s));
            out.push('\n');
        }
    } else if o.environment {
        for (k, v) in &l.environment {
            out.push_str(&format!("{k}={v}\n"));
        }
    } else if let Some(h) = &o.hash {
        let wanted: Vec<&str> = h.split(',').map(str::trim).collect();
        for (n, s) in &p.services {
            if wanted.contains(&"*") || wanted.contains(&n.as_str()) {
                out.push_str(&format!("{n} {}\n", crate::hash::config_hash(s)));
            }
        }
    } else if let (Some(m), false) = (&l.model, o.quiet) {
        out = if o.format == "json" {
            crate::emit::to_json(m)
        } else {
            crate::emit::to_yaml(m)
        };
    } else if !o.quiet {
        out = if o.format == "json" {
            crate::config_json(p, !o.no_interpolate)
        } else {
            crate::config_yaml(p, !o.no_interpolate)
        };
    }
    if o.quiet {
        return Ok(0);
    }
    match &o.output {
        Some(f) => std::fs::write(f, out.as_bytes())
            .map_err(|e| Failure::new(format!("open {f}: {}", crate::io_reason(&e)), 1))?,
        None => {
            use std::io::Write;
            let mut so = std::io::stdout().lock();
            let _ = so.write_all(out.as_bytes());
            let _ = so.flush();
        }
    }
    Ok(0)
}

/// A reference as the docker reference library's ParseDockerRef gives it: the registry
/// and `library/` made explicit, `:latest` when neither tag nor digest is given, the tag
/// dropped when a digest is.
fn docker_ref(image: &str) -> String {
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    let (path, tag) = match last.rsplit_once(':') {
        Some((_, t)) => (&name[..name.len() - t.len() - 1], Some(t)),
        None => (name, None),
    };
    let first = path.split('/').next().unwrap_or("");
    let has_domain =
        path.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let full = if has_domain {
        path.to_string()
    } else if path.contains('/') {
        format!("docker.io/{path}")
    } else {
        format!("docker.io/library/{path}")
    };
    match (digest, tag) {
        (Some(d), _) => format!("{full}@{d}"),
        (None, Some(t)) => format!("{full}:{t}"),
        (None, None) => format!("{full}:latest"),
    }
}

/// `config --resolve-image-digests`: compose-go's WithImagesResolved with compose's
/// ImageDigestResolver, the image's digest as the daemon's `GET /distribution/NAME/json`
/// reports it from the registry (with the stored credentials), appended to the
/// normalised reference; an image already pinned is only normalised.
fn resolve_digest(client: &berth_cli::client::Client, image: &str) -> Result<String, Failure> {
    let named = docker_ref(image);
    if named.contains('@') {
        return Ok(named);
    }
    let c = berth_cli::commands::registry::authed(client, &named);
    let v = c
        // The name as the docker client puts it in the path: its `/` and `:` unescaped.
        .get_json(&format!("/distribution/{named}/json"))
        .map_err(|e| {
            Failure::new(
                format!(
                    "failed to resolve digest for {named}: Error response from daemon: {}",
                    e.message()
                ),
                1,
            )
        })?;
    let digest = v
        .pointer("/Descriptor/digest")
        .and_then(|d| d.as_str())
        .unwrap_or_default();
    if digest.is_empty() {
        return Err(Failure::new(
            format!("failed to resolve digest for {named}: the daemon reported no digest"),
            1,
        ));
    }
    Ok(format!("{named}@{digest}"))
}

/// The image a service runs: its `image`, else `<project>-<service>` (built).
pub fn image_name(project: &str, name: &str, s: &crate::model::Service) -> String {
    if s.image.is_empty() {
        format!("{project}-{name}")
    } else {
        s.image.clone()
    }
}

#[derive(Parser, Debug)]
#[command(name = "version", disable_help_flag = true)]
struct VersionOpts {
    #[arg(short = 'f', long)]
    format: Option<String>,
    #[arg(long)]
    short: bool,
}

fn cmd_version(_ctx: &mut Ctx, _g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: VersionOpts = parse(inv, args)?;
    let v = env!("CARGO_PKG_VERSION");
    if o.short {
        println!("{v}");
    } else if o.format.as_deref() == Some("json") {
        println!("{{\"version\":\"v{v}\"}}");
    } else {
        println!("berth compose version v{v}");
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::{confirmed_on_a_pipe, confirmed_on_a_terminal, docker_ref};

    /// compose 2.40.3's answers, measured on a pipe: `y`, `Y`, `true` are yes; `yes`, `n`
    /// and nothing are no. On a terminal (survey) `yes` is yes too, and a line that is
    /// neither yes nor no (`x`, ` y`, `true`) is asked again (`None`).
    #[test]
    fn prompt_answers_as_compose_reads_them() {
        for (line, pipe, tty) in [
            ("y", true, Some(true)),
            ("Y", true, Some(true)),
            ("true", true, None),
            ("T", true, None),
            ("1", true, None),
            ("yes", false, Some(true)),
            ("YES", false, Some(true)),
            ("n", false, Some(false)),
            ("No", false, Some(false)),
            ("false", false, None),
            ("", false, Some(false)),
            ("x", false, None),
            ("  y  extra", true, None),
        ] {
            assert_eq!(
                confirmed_on_a_pipe(&format!("{line}\n")),
                pipe,
                "pipe {line:?}"
            );
            assert_eq!(confirmed_on_a_terminal(line), tty, "tty {line:?}");
        }
        assert!(!confirmed_on_a_pipe(""), "a closed pipe is no");
    }

    #[test]
    fn references_are_normalised_as_parse_docker_ref() {
        for (given, want) in [
            ("busybox", "docker.io/library/busybox:latest"),
            ("busybox:1.36", "docker.io/library/busybox:1.36"),
            ("me/app", "docker.io/me/app:latest"),
            ("localhost/app", "localhost/app:latest"),
            ("127.0.0.1:5000/x/y:2", "127.0.0.1:5000/x/y:2"),
            ("reg.example:5000/y", "reg.example:5000/y:latest"),
            (
                "busybox:1@sha256:abc",
                "docker.io/library/busybox@sha256:abc",
            ),
            ("host:5000/y@sha256:abc", "host:5000/y@sha256:abc"),
        ] {
            assert_eq!(docker_ref(given), want, "{given}");
        }
    }
}
