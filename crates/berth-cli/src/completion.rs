//! Shell completion: `berth completion bash|zsh|fish|powershell` prints a script, and the
//! script asks `berth __complete WORDS... CURRENT` for candidates, as the docker CLI's do.
//!
//! The scripts (`completion/berth.*`) are the ones cobra (spf13/cobra, Apache-2.0) generates
//! for the docker CLI with the program name changed, so they speak cobra's protocol: one
//! candidate per line (`value<TAB>description`), then `:DIRECTIVE` (a bit set: 1 error,
//! 2 no space, 4 no file completion). Candidates come from the static catalog (commands,
//! flags, fixed flag values) and from the daemon (container, image, network and volume
//! names; running containers only for exec, stop, kill ...), with one request and no
//! version negotiation so completing stays fast.

use clap::{CommandFactory, Parser};

use crate::catalog::{self, Command};
use crate::client::Client;
use crate::commands::{parse, Invocation};
use crate::context_store::Store;
use crate::{CmdResult, Ctx, Failure};

const DIRECTIVE_ERROR: u32 = 1;
const DIRECTIVE_NO_SPACE: u32 = 2;
const DIRECTIVE_NO_FILE: u32 = 4;
/// Let the shell complete file names.
const DIRECTIVE_DEFAULT: u32 = 0;

/// What a word completes to.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    None,
    Files,
    Containers,
    Running,
    Stopped,
    Paused,
    Images,
    Networks,
    Volumes,
    Contexts,
    /// Anything `inspect` takes.
    Objects,
    Values(&'static [&'static str]),
}

/// The positional arguments of a command: `kinds[i]` for the i-th, the last repeating when
/// `repeat` is set.
fn positionals(path: &str) -> (&'static [Kind], bool) {
    use Kind::*;
    match path {
        "container exec" | "container attach" | "container top" | "container port" => {
            (&[Running, None], false)
        }
        "container stop" | "container kill" | "container pause" | "container stats"
        | "container update" => (&[Running], true),
        "container start" => (&[Stopped], true),
        "container unpause" => (&[Paused], true),
        "container rm" | "container restart" | "container wait" | "container inspect"
        | "container logs" | "container diff" | "container export" => (&[Containers], true),
        "container rename" | "container commit" => (&[Containers, None], false),
        "container cp" => (&[Files], true),
        "container run" | "container create" => (&[Images, None], false),
        "image rm" | "image history" | "image save" | "image inspect" | "image push" => {
            (&[Images], true)
        }
        "image tag" => (&[Images, None], false),
        "image build" | "image load" | "image import" | "buildx build" => (&[Files], true),
        "network rm" | "network inspect" => (&[Networks], true),
        "network connect" | "network disconnect" => (&[Networks, Containers], false),
        "volume rm" | "volume inspect" => (&[Volumes], true),
        "context use" | "context rm" | "context inspect" | "context export" | "context update" => {
            (&[Contexts], true)
        }
        "inspect" => (&[Objects], true),
        "completion bash" | "completion zsh" | "completion fish" | "completion powershell" => {
            (&[None], false)
        }
        _ => (&[None], false),
    }
}

const SIGNALS: &[&str] = &[
    "SIGHUP", "SIGINT", "SIGKILL", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGSTOP", "SIGCONT",
];

/// What the value of flag `--name` completes to for command `path`.
fn flag_values(path: &str, name: &str) -> Kind {
    use Kind::*;
    match (path, name) {
        (_, "network") => Networks,
        ("network create", "driver") => Values(&["bridge", "ipvlan", "macvlan"]),
        ("volume create", "driver") => Values(&["local"]),
        (_, "restart") => Values(&["no", "always", "on-failure", "unless-stopped"]),
        (_, "pull") => Values(&["always", "missing", "never"]),
        (_, "log-driver") => Values(&["json-file", "local", "none"]),
        (_, "signal") | (_, "stop-signal") => Values(SIGNALS),
        (_, "volumes-from") | (_, "link") => Containers,
        (_, "volume") => Volumes,
        (_, "cgroupns") => Values(&["host", "private"]),
        (_, "ipc") => Values(&["none", "private", "shareable", "host"]),
        (_, "pid") | (_, "uts") | (_, "userns") => Values(&["host"]),
        (_, "progress") => Values(&["auto", "plain", "tty", "quiet", "rawjson"]),
        (_, "platform") => Values(&["linux/amd64", "linux/arm64", "linux/arm/v7"]),
        (_, "type") => Values(&["container", "image", "network", "volume"]),
        (_, "format") => Values(&["json", "table"]),
        (_, "context") => Contexts,
        (_, "env-file")
        | (_, "label-file")
        | (_, "cidfile")
        | (_, "iidfile")
        | (_, "file")
        | (_, "input")
        | (_, "output")
        | (_, "tlscacert")
        | (_, "tlscert")
        | (_, "tlskey")
        | (_, "config") => Files,
        _ => None,
    }
}

/// Global options that take a value (their values are skipped while walking the words).
const GLOBAL_VALUE_FLAGS: &[&str] = &[
    "--config",
    "-c",
    "--context",
    "-H",
    "--host",
    "-l",
    "--log-level",
    "--tlscacert",
    "--tlscert",
    "--tlskey",
];
const GLOBAL_FLAGS: &[(&str, &str)] = &[
    ("--config", "Location of client config files"),
    (
        "--context",
        "Name of the context to use to connect to the daemon",
    ),
    ("--debug", "Enable debug mode"),
    ("--host", "Daemon socket to connect to"),
    ("--log-level", "Set the logging level"),
    ("--tls", "Use TLS; implied by --tlsverify"),
    ("--tlscacert", "Trust certs signed only by this CA"),
    ("--tlscert", "Path to TLS certificate file"),
    ("--tlskey", "Path to TLS key file"),
    ("--tlsverify", "Use TLS and verify the remote"),
    ("--version", "Print version information and quit"),
];

/// The answer: candidates, then the directive.
struct Answer {
    items: Vec<(String, String)>,
    directive: u32,
}

impl Answer {
    fn new(directive: u32) -> Answer {
        Answer {
            items: Vec::new(),
            directive,
        }
    }
    fn push(&mut self, value: impl Into<String>, desc: impl Into<String>) {
        self.items.push((value.into(), desc.into()));
    }
}

/// `berth __complete WORDS... CURRENT`.
pub fn complete(ctx: &mut Ctx, args: &[String], with_desc: bool) -> i32 {
    let (current, words) = match args.split_last() {
        Some((c, w)) => (c.as_str(), w),
        None => ("", &[][..]),
    };
    let mut ans = answer(ctx, words, current);
    ans.items.retain(|(v, _)| v.starts_with(current));
    let mut out = String::new();
    for (v, d) in &ans.items {
        out.push_str(v);
        if with_desc && !d.is_empty() {
            out.push('\t');
            out.push_str(d.lines().next().unwrap_or(""));
        }
        out.push('\n');
    }
    out.push_str(&format!(":{}\n", ans.directive));
    print!("{out}");
    0
}

fn answer(ctx: &mut Ctx, words: &[String], current: &str) -> Answer {
    // The global options, up to the first command word.
    let mut i = 0;
    while i < words.len() && words[i].starts_with('-') {
        let w = words[i].as_str();
        i += if GLOBAL_VALUE_FLAGS.contains(&w) {
            2
        } else {
            1
        };
    }
    if i > words.len() {
        // `berth --context <TAB>`: the value of a global option.
        let flag = words.last().map(String::as_str).unwrap_or("");
        return match flag {
            "-c" | "--context" => names(ctx, Kind::Contexts, ""),
            "-l" | "--log-level" => values(&["debug", "info", "warn", "error", "fatal"], ""),
            "-H" | "--host" => Answer::new(DIRECTIVE_NO_FILE),
            _ => Answer::new(DIRECTIVE_DEFAULT),
        };
    }
    let rest = &words[i..];
    let Some(first) = rest.first() else {
        if current.starts_with('-') {
            let mut a = Answer::new(DIRECTIVE_NO_FILE);
            for (f, d) in GLOBAL_FLAGS {
                a.push(*f, *d);
            }
            return a;
        }
        return top_level();
    };
    let (path, after) = if catalog::is_group(first) {
        match rest.get(1) {
            Some(sub) => (format!("{first} {sub}"), &rest[2..]),
            None => return group_children(first),
        }
    } else {
        (first.clone(), &rest[1..])
    };
    let Some(cmd) = catalog::find(&path) else {
        return Answer::new(DIRECTIVE_ERROR);
    };
    command_args(ctx, cmd, after, current)
}

fn top_level() -> Answer {
    let mut a = Answer::new(DIRECTIVE_NO_FILE);
    for (name, c) in catalog::children("") {
        if !c.hidden {
            a.push(name, c.short);
        }
    }
    for g in catalog::GROUPS {
        if !g.hidden && catalog::children(g.name).iter().any(|(_, c)| !c.hidden) {
            a.push(g.name, g.short);
        }
    }
    for (n, short) in catalog::external_groups() {
        a.push(n, short);
    }
    a.items.sort();
    a
}

fn group_children(group: &str) -> Answer {
    let mut a = Answer::new(DIRECTIVE_NO_FILE);
    for (name, c) in catalog::children(group) {
        if !c.hidden {
            a.push(name, c.short);
        }
    }
    a
}

fn values(v: &[&str], prefix: &str) -> Answer {
    let mut a = Answer::new(DIRECTIVE_NO_FILE);
    for s in v {
        a.push(format!("{prefix}{s}"), "");
    }
    a
}

/// Completes the words after a command path.
fn command_args(ctx: &mut Ctx, cmd: &Command, after: &[String], current: &str) -> Answer {
    let flags = (cmd.flags)();
    let takes_value = |name: &str| -> Option<String> {
        let a = if let Some(long) = name.strip_prefix("--") {
            flags.get_arguments().find(|a| a.get_long() == Some(long))
        } else {
            let c = name.chars().last()?;
            flags.get_arguments().find(|a| a.get_short() == Some(c))
        }?;
        let bool_like = a
            .get_value_names()
            .and_then(|v| v.first())
            .is_some_and(|v| v == "bool");
        (a.get_action().takes_values() && !bool_like)
            .then(|| a.get_long().unwrap_or("").to_string())
    };
    // Count positionals; see whether the word before the cursor wants a value.
    let mut positional = 0usize;
    let mut pending: Option<String> = None;
    let mut dashdash = false;
    for w in after {
        if let Some(f) = pending.take() {
            let _ = f;
            continue;
        }
        if dashdash || !w.starts_with('-') || w == "-" {
            positional += 1;
            continue;
        }
        if w == "--" {
            dashdash = true;
            continue;
        }
        if w.contains('=') {
            continue;
        }
        pending = takes_value(w);
    }
    if let Some(flag) = pending {
        return names(ctx, flag_values(cmd.path, &flag), "");
    }
    if !dashdash && current.starts_with("--") {
        if let Some((flag, _)) = current.split_once('=') {
            let long = flag.trim_start_matches("--");
            return names(ctx, flag_values(cmd.path, long), &format!("{flag}="));
        }
    }
    if !dashdash && current.starts_with('-') {
        let mut a = Answer::new(DIRECTIVE_NO_FILE);
        for f in crate::help::flags_of(&flags) {
            a.push(format!("--{}", f.long), f.usage.clone());
            if current == "-" {
                if let Some(s) = f.short {
                    a.push(format!("-{s}"), f.usage);
                }
            }
        }
        return a;
    }
    let (kinds, repeat) = positionals(cmd.path);
    let kind = match kinds.get(positional) {
        Some(k) => *k,
        None if repeat => kinds.last().copied().unwrap_or(Kind::None),
        None => Kind::None,
    };
    // docker 28's rm offers exited and created containers, running ones only with -f.
    let kind = if cmd.path == "container rm" && kind == Kind::Containers && !forced(after) {
        Kind::Stopped
    } else {
        kind
    };
    names(ctx, kind, "")
}

/// Whether the words typed so far set `-f`/`--force` (alone or in a cluster such as `-fv`).
fn forced(words: &[String]) -> bool {
    let mut force = false;
    for w in words {
        match w.as_str() {
            "--" => break,
            "--force" | "--force=true" => force = true,
            "--force=false" => force = false,
            w if w.starts_with('-') && !w.starts_with("--") && w[1..].contains('f') => force = true,
            _ => {}
        }
    }
    force
}

/// Candidates of one kind, each prefixed with `prefix` (`--flag=`).
fn names(ctx: &mut Ctx, kind: Kind, prefix: &str) -> Answer {
    let mut a = Answer::new(DIRECTIVE_NO_FILE);
    let list: Vec<String> = match kind {
        Kind::None => Vec::new(),
        Kind::Files => return Answer::new(DIRECTIVE_DEFAULT),
        Kind::Values(v) => v.iter().map(|s| s.to_string()).collect(),
        Kind::Contexts => {
            let mut v = vec![crate::context_store::DEFAULT.to_string()];
            v.extend(
                Store::new(crate::config::dir())
                    .list()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|m| m.name),
            );
            v
        }
        k => match daemon_names(ctx, k) {
            Ok(v) => v,
            Err(_) => return Answer::new(DIRECTIVE_ERROR),
        },
    };
    for n in list {
        a.push(format!("{prefix}{n}"), "");
    }
    if prefix.is_empty() && matches!(kind, Kind::Volumes) {
        // `-v NAME:/path` goes on after the name.
        a.directive |= DIRECTIVE_NO_SPACE;
    }
    a
}

/// Names from the daemon: one request, no version negotiation, no daemon start.
fn daemon_names(ctx: &mut Ctx, kind: Kind) -> Result<Vec<String>, Failure> {
    let ep = ctx.endpoint()?;
    let mut c = Client::new(&ep).map_err(|e| Failure::new(e, 1))?;
    c.set_version("1.41").map_err(|e| Failure::new(e, 1))?;
    let containers = |c: &Client, filter: &str| -> Result<Vec<String>, Failure> {
        let path = if filter.is_empty() {
            "/containers/json?all=1".to_string()
        } else {
            format!(
                "/containers/json?all=1&filters={}",
                crate::client::q(&format!("{{\"status\":{{\"{filter}\":true}}}}"))
            )
        };
        let v = c.get_json(&path)?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.pointer("/Names/0").and_then(|n| n.as_str()))
                    .map(|n| n.trim_start_matches('/').to_string())
                    .collect()
            })
            .unwrap_or_default())
    };
    let images = |c: &Client| -> Result<Vec<String>, Failure> {
        let v = c.get_json("/images/json")?;
        let mut out: Vec<String> = v
            .as_array()
            .map(|a| {
                a.iter()
                    .flat_map(|i| {
                        i.get("RepoTags")
                            .and_then(|t| t.as_array())
                            .cloned()
                            .unwrap_or_default()
                    })
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .filter(|t| t != "<none>:<none>")
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        Ok(out)
    };
    let by_name = |v: serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|n| n.get("Name").and_then(|x| x.as_str()))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(match kind {
        Kind::Containers => containers(&c, "")?,
        Kind::Running => containers(&c, "running")?,
        Kind::Stopped => {
            let mut v = containers(&c, "exited")?;
            v.extend(containers(&c, "created")?);
            v
        }
        Kind::Paused => containers(&c, "paused")?,
        Kind::Images => images(&c)?,
        Kind::Networks => by_name(c.get_json("/networks")?),
        Kind::Volumes => {
            let v = c.get_json("/volumes")?;
            by_name(v.get("Volumes").cloned().unwrap_or_default())
        }
        Kind::Objects => {
            let mut v = containers(&c, "")?;
            v.extend(images(&c)?);
            v.extend(by_name(c.get_json("/networks")?));
            v.extend(by_name(
                c.get_json("/volumes")?
                    .get("Volumes")
                    .cloned()
                    .unwrap_or_default(),
            ));
            v
        }
        _ => Vec::new(),
    })
}

const BASH: &str = include_str!("completion/berth.bash");
const ZSH: &str = include_str!("completion/berth.zsh");
const FISH: &str = include_str!("completion/berth.fish");
const POWERSHELL: &str = include_str!("completion/berth.ps1");

#[derive(Parser)]
struct ScriptCmd {
    #[arg(long = "no-descriptions", help = "disable completion descriptions")]
    no_descriptions: bool,
    args: Vec<String>,
}

fn print_script(inv: &Invocation, args: &[String], script: &str) -> CmdResult {
    let o: ScriptCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    if o.no_descriptions {
        print!("{}", script.replace("__complete ", "__completeNoDesc "));
    } else {
        print!("{script}");
    }
    Ok(0)
}

fn cmd_bash(_ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    print_script(inv, args, BASH)
}
fn cmd_zsh(_ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    print_script(inv, args, ZSH)
}
fn cmd_fish(_ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    print_script(inv, args, FISH)
}
fn cmd_powershell(_ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    print_script(inv, args, POWERSHELL)
}

/// The `completion` commands (see `catalog.rs`).
pub(crate) static COMMANDS: &[Command] = &[
    Command::new(
        "completion bash",
        "",
        "Generate the autocompletion script for bash",
        ScriptCmd::command,
        cmd_bash,
    )
    .long("Generate the autocompletion script for the bash shell.\n\nThis script depends on the 'bash-completion' package.\nIf it is not installed already, you can install it via your OS's package manager.\n\nTo load completions in your current shell session:\n\n\tsource <(berth completion bash)\n\nTo load completions for every new session, execute once:\n\n#### Linux:\n\n\tberth completion bash > /etc/bash_completion.d/berth\n\nYou will need to start a new shell for this setup to take effect."),
    Command::new(
        "completion zsh",
        "",
        "Generate the autocompletion script for zsh",
        ScriptCmd::command,
        cmd_zsh,
    )
    .long("Generate the autocompletion script for the zsh shell.\n\nIf shell completion is not already enabled in your environment you will need\nto enable it.  You can execute the following once:\n\n\techo \"autoload -U compinit; compinit\" >> ~/.zshrc\n\nTo load completions in your current shell session:\n\n\tsource <(berth completion zsh)\n\nTo load completions for every new session, execute once:\n\n#### Linux:\n\n\tberth completion zsh > \"${fpath[1]}/_berth\"\n\nYou will need to start a new shell for this setup to take effect."),
    Command::new(
        "completion fish",
        "",
        "Generate the autocompletion script for fish",
        ScriptCmd::command,
        cmd_fish,
    )
    .long("Generate the autocompletion script for the fish shell.\n\nTo load completions in your current shell session:\n\n\tberth completion fish | source\n\nTo load completions for every new session, execute once:\n\n\tberth completion fish > ~/.config/fish/completions/berth.fish\n\nYou will need to start a new shell for this setup to take effect."),
    Command::new(
        "completion powershell",
        "",
        "Generate the autocompletion script for powershell",
        ScriptCmd::command,
        cmd_powershell,
    )
    .long("Generate the autocompletion script for powershell.\n\nTo load completions in your current shell session:\n\n\tberth completion powershell | Out-String | Invoke-Expression\n\nTo load completions for every new session, add the output of the above command\nto your powershell profile."),
];
