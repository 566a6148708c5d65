//! Command table, docker-style flag parsing errors, and shared helpers.

pub mod build;
pub mod containers;
pub mod create;
#[cfg(test)]
mod create_golden;
pub mod exec;
pub mod files;
pub mod images;
pub mod mount_opts;
pub mod network;
pub mod network_connect;
mod network_ipam;
pub mod observe;
pub mod port_spec;
pub mod registry;
mod service_flags;
pub mod service_progress;
pub mod swarm;
pub mod system;
pub mod volume;

use clap::{Arg, ArgAction, CommandFactory, FromArgMatches};

use crate::{CmdResult, Ctx, Failure};

type Handler = fn(&mut Ctx, &Invocation, &[String]) -> CmdResult;

/// How the command was invoked (for usage/error messages): e.g. "container ls".
pub struct Invocation {
    pub path: String,
    pub usage: &'static str,
}

impl Invocation {
    pub fn usage_line(&self) -> String {
        format!("Usage:  berth {} {}", self.path, self.usage)
    }
    /// docker's "requires at least N argument(s)" error (exit 1).
    pub fn needs(&self, what: &str, n: usize) -> Failure {
        let plural = if n == 1 { "argument" } else { "arguments" };
        Failure::new(
            format!(
                "berth: 'berth {}' requires {what} {n} {plural}\n\n{}\n\nSee 'berth {} --help' for more information",
                self.path,
                self.usage_line(),
                self.path
            ),
            1,
        )
    }
    pub fn at_least(&self, args: &[String], n: usize) -> Result<(), Failure> {
        if args.len() < n {
            return Err(self.needs("at least", n));
        }
        Ok(())
    }
    /// docker's "accepts no arguments" error (exit 1).
    pub fn none(&self, args: &[String]) -> Result<(), Failure> {
        if args.is_empty() {
            return Ok(());
        }
        Err(Failure::new(
            format!(
                "berth: 'berth {}' accepts no arguments\n\n{}\n\nSee 'berth {} --help' for more information",
                self.path,
                self.usage_line(),
                self.path
            ),
            1,
        ))
    }
    pub fn exactly(&self, args: &[String], n: usize) -> Result<(), Failure> {
        if args.len() != n {
            return Err(self.needs("exactly", n));
        }
        Ok(())
    }
}

const USAGE_RUN: &str = "[OPTIONS] IMAGE [COMMAND] [ARG...]";
const USAGE_MULTI: &str = "[OPTIONS] CONTAINER [CONTAINER...]";
const USAGE_CP: &str =
    "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH";

fn lookup(group: Option<&str>, name: &str) -> Option<(&'static str, Handler)> {
    use containers as c;
    use images as i;
    let top: Option<(&'static str, Handler)> = match name {
        "run" => Some((USAGE_RUN, create::cmd_run)),
        "create" => Some((USAGE_RUN, create::cmd_create)),
        "start" => Some((USAGE_MULTI, c::cmd_start)),
        "stop" => Some((USAGE_MULTI, c::cmd_stop)),
        "kill" => Some((USAGE_MULTI, c::cmd_kill)),
        "restart" => Some((USAGE_MULTI, c::cmd_restart)),
        "wait" => Some(("CONTAINER [CONTAINER...]", c::cmd_wait)),
        "logs" => Some(("[OPTIONS] CONTAINER", c::cmd_logs)),
        "rename" => Some(("CONTAINER NEW_NAME", c::cmd_rename)),
        "exec" => Some(("[OPTIONS] CONTAINER COMMAND [ARG...]", exec::cmd_exec)),
        "attach" => Some(("[OPTIONS] CONTAINER", exec::cmd_attach)),
        "top" => Some(("CONTAINER [ps OPTIONS]", observe::cmd_top)),
        "stats" => Some(("[OPTIONS] [CONTAINER...]", observe::cmd_stats)),
        "pause" => Some(("CONTAINER [CONTAINER...]", observe::cmd_pause)),
        "unpause" => Some(("CONTAINER [CONTAINER...]", observe::cmd_unpause)),
        "update" => Some((USAGE_MULTI, observe::cmd_update)),
        "tag" => Some(("SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", i::cmd_tag)),
        "history" => Some(("[OPTIONS] IMAGE", i::cmd_history)),
        "load" => Some(("[OPTIONS]", i::cmd_load)),
        "save" => Some(("[OPTIONS] IMAGE [IMAGE...]", i::cmd_save)),
        "import" => Some(("[OPTIONS] file|URL|- [REPOSITORY[:TAG]]", i::cmd_import)),
        "cp" => Some((USAGE_CP, files::cmd_cp)),
        "port" => Some(("CONTAINER [PRIVATE_PORT[/PROTO]]", network::cmd_port)),
        "export" => Some(("[OPTIONS] CONTAINER", files::cmd_export)),
        "diff" => Some(("CONTAINER", files::cmd_diff)),
        "commit" => Some(("[OPTIONS] CONTAINER [REPOSITORY[:TAG]]", files::cmd_commit)),
        "pull" => Some(("[OPTIONS] NAME[:TAG|@DIGEST]", registry::cmd_pull)),
        "push" => Some(("[OPTIONS] NAME[:TAG]", registry::cmd_push)),
        "build" => Some(("[OPTIONS] PATH | URL | -", build::cmd_build)),
        _ => None,
    };
    match group {
        None => top.or(match name {
            "ps" => Some(("[OPTIONS]", c::cmd_ps)),
            "rm" => Some((USAGE_MULTI, c::cmd_rm)),
            "inspect" => Some(("[OPTIONS] NAME|ID [NAME|ID...]", system::cmd_inspect)),
            "images" => Some(("[OPTIONS] [REPOSITORY[:TAG]]", i::cmd_images)),
            "rmi" => Some(("[OPTIONS] IMAGE [IMAGE...]", i::cmd_rmi)),
            "version" => Some(("[OPTIONS]", system::cmd_version)),
            "events" => Some(("[OPTIONS]", observe::cmd_events)),
            "info" => Some(("[OPTIONS]", system::cmd_info)),
            "login" => Some(("[OPTIONS] [SERVER]", registry::cmd_login)),
            "logout" => Some(("[SERVER]", registry::cmd_logout)),
            _ => None,
        }),
        Some("container") => match name {
            "tag" | "history" | "load" | "save" | "import" | "pull" | "push" | "build" => None,
            "ls" | "ps" | "list" => Some(("[OPTIONS]", c::cmd_ps)),
            "rm" | "remove" => Some((USAGE_MULTI, c::cmd_rm)),
            "inspect" => Some((USAGE_MULTI, system::cmd_container_inspect)),
            "prune" => Some(("[OPTIONS]", c::cmd_prune)),
            _ => top,
        },
        Some("image") => match name {
            "ls" | "list" => Some(("[OPTIONS] [REPOSITORY[:TAG]]", i::cmd_images)),
            "rm" | "remove" => Some(("[OPTIONS] IMAGE [IMAGE...]", i::cmd_rmi)),
            "inspect" => Some(("[OPTIONS] IMAGE [IMAGE...]", system::cmd_image_inspect)),
            "prune" => Some(("[OPTIONS]", i::cmd_prune)),
            "tag" | "history" | "load" | "save" | "import" | "pull" | "push" | "build" => top,
            _ => None,
        },
        Some("network") => match name {
            "create" => Some(("[OPTIONS] NETWORK", network::cmd_create)),
            "ls" | "list" => Some(("[OPTIONS]", network::cmd_ls)),
            "inspect" => Some(("[OPTIONS] NETWORK [NETWORK...]", network::cmd_inspect)),
            "rm" | "remove" => Some(("NETWORK [NETWORK...]", network::cmd_rm)),
            "prune" => Some(("[OPTIONS]", network::cmd_prune)),
            "connect" => Some(("[OPTIONS] NETWORK CONTAINER", network_connect::cmd_connect)),
            "disconnect" => Some((
                "[OPTIONS] NETWORK CONTAINER",
                network_connect::cmd_disconnect,
            )),
            _ => None,
        },
        Some("system") => match name {
            "info" => Some(("[OPTIONS]", system::cmd_info)),
            "events" => Some(("[OPTIONS]", observe::cmd_events)),
            "df" => Some(("[OPTIONS]", observe::cmd_system_df)),
            "prune" => Some(("[OPTIONS]", observe::cmd_system_prune)),
            _ => None,
        },
        Some("volume") => volume_command(name),
        Some(g @ ("swarm" | "node" | "service" | "secret" | "config")) => swarm::lookup(g, name),
        _ => None,
    }
}

fn volume_command(name: &str) -> Option<(&'static str, Handler)> {
    Some(match name {
        "create" => ("[OPTIONS] [VOLUME]", volume::cmd_create),
        "ls" | "list" => ("[OPTIONS]", volume::cmd_ls),
        "inspect" => ("[OPTIONS] VOLUME [VOLUME...]", volume::cmd_inspect),
        "rm" | "remove" => ("[OPTIONS] VOLUME [VOLUME...]", volume::cmd_rm),
        "prune" => ("[OPTIONS]", volume::cmd_prune),
        _ => return None,
    })
}

pub fn dispatch(ctx: &mut Ctx, args: &[String]) -> i32 {
    if let Some(h) = crate::external(&args[0]) {
        return h(ctx, &args[1..]);
    }
    let (group, name, rest) = match args[0].as_str() {
        g @ ("container" | "image" | "system" | "volume" | "network" | "swarm" | "node"
        | "service" | "secret" | "config") => match args.get(1) {
            Some(n) => (Some(g), n.as_str(), &args[2..]),
            None => {
                println!("\nUsage:  berth {g} COMMAND\n\nManage {g}s\n\nRun 'berth {g} COMMAND --help' for more information on a command.");
                return 0;
            }
        },
        n => (None, n, &args[1..]),
    };
    let Some((usage, handler)) = lookup(group, name) else {
        match group {
            Some(g) => eprintln!(
                "berth: unknown command: berth {g} {name}\n\nUsage:  berth {g}\n\nRun 'berth {g} --help' for more information"
            ),
            None => eprintln!(
                "berth: unknown command: berth {name}\n\nRun 'berth --help' for more information"
            ),
        }
        return 1;
    };
    let path = match group {
        Some(g) => format!("{g} {name}"),
        None => name.to_string(),
    };
    let inv = Invocation { path, usage };
    match handler(ctx, &inv, rest) {
        Ok(code) => code,
        Err(f) => {
            if !f.msg.is_empty() {
                eprintln!("{}", f.msg);
            }
            f.code
        }
    }
}

/// Parses flags with clap and reports errors with docker's (pflag's) wording.
pub fn parse<T: CommandFactory + FromArgMatches>(
    inv: &Invocation,
    args: &[String],
) -> Result<T, Failure> {
    parse_adjusted::<T>(inv, args, |c| c)
}

/// [`parse`] with the command adjusted first (flags shared by two commands that differ
/// in how they take their arguments: `service create IMAGE CMD...` stops at the image).
pub fn parse_adjusted<T: CommandFactory + FromArgMatches>(
    inv: &Invocation,
    args: &[String],
    adjust: impl FnOnce(clap::Command) -> clap::Command,
) -> Result<T, Failure> {
    let template = T::command();
    let cmd = adjust(T::command())
        .bin_name(format!("berth {}", inv.path))
        .disable_help_flag(true)
        .arg(Arg::new("help").long("help").action(ArgAction::Help));
    let argv = std::iter::once(format!("berth {}", inv.path)).chain(args.iter().cloned());
    let see = format!(
        "\n\n{}\n\nRun 'berth {} --help' for more information",
        inv.usage_line(),
        inv.path
    );
    match cmd.try_get_matches_from(argv) {
        Ok(m) => T::from_arg_matches(&m).map_err(|e| Failure::new(e.to_string(), 125)),
        Err(e) => {
            use clap::error::{ContextKind, ContextValue, ErrorKind};
            let ctxval = |k: ContextKind| match e.get(k) {
                Some(ContextValue::String(s)) => s.clone(),
                Some(ContextValue::Strings(v)) => v.join(" "),
                _ => String::new(),
            };
            match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    Err(Failure::new("", 0))
                }
                ErrorKind::UnknownArgument => {
                    let a = ctxval(ContextKind::InvalidArg);
                    let msg = if a.starts_with("--") {
                        format!("unknown flag: {}", a.split('=').next().unwrap_or(&a))
                    } else {
                        let c = a.trim_start_matches('-').chars().next().unwrap_or('?');
                        format!("unknown shorthand flag: '{c}' in {a}")
                    };
                    Err(Failure::new(format!("{msg}{see}"), 125))
                }
                ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
                    let a = ctxval(ContextKind::InvalidArg);
                    let v = ctxval(ContextKind::InvalidValue);
                    let long = a.split_whitespace().next().unwrap_or(&a).to_string();
                    // pflag names a flag "-c, --cpu-shares" when it has a shorthand.
                    let short = template
                        .get_arguments()
                        .find(|x| x.get_long().map(|l| format!("--{l}")) == Some(long.clone()))
                        .and_then(|x| x.get_short());
                    let flag = match short {
                        Some(c) => format!("-{c}, {long}"),
                        None => long.clone(),
                    };
                    let msg = if v.is_empty() && e.kind() == ErrorKind::InvalidValue {
                        // pflag names the flag as typed.
                        match (short, args.last()) {
                            (Some(c), Some(last)) if !last.starts_with("--") => {
                                format!("flag needs an argument: '{c}' in -{c}")
                            }
                            _ => format!("flag needs an argument: {long}"),
                        }
                    } else {
                        let src = std::error::Error::source(&e)
                            .map(|s| s.to_string())
                            .unwrap_or_default();
                        let why = if src.contains("invalid digit")
                            || src.contains("number too")
                            || src.contains("empty string")
                        {
                            format!(
                                "strconv.ParseInt: parsing {}: invalid syntax",
                                containers::go_quote(&v)
                            )
                        } else if src.contains("float") {
                            format!(
                                "strconv.ParseFloat: parsing {}: invalid syntax",
                                containers::go_quote(&v)
                            )
                        } else if src.contains("true") && src.contains("false") {
                            format!(
                                "strconv.ParseBool: parsing {}: invalid syntax",
                                containers::go_quote(&v)
                            )
                        } else {
                            src
                        };
                        format!("invalid argument \"{v}\" for \"{flag}\" flag: {why}")
                    };
                    Err(Failure::new(format!("{msg}{see}"), 125))
                }
                _ => {
                    let s = e.render().to_string();
                    let first = s
                        .lines()
                        .next()
                        .unwrap_or("")
                        .trim_start_matches("error: ")
                        .to_string();
                    Err(Failure::new(format!("{first}{see}"), 125))
                }
            }
        }
    }
}

/// Collects per-item errors the way docker does: each on its own line, exit 1.
pub fn join_errors(errs: Vec<String>) -> CmdResult {
    if errs.is_empty() {
        Ok(0)
    } else {
        Err(Failure::new(errs.join("\n"), 1))
    }
}

/// How `inspect` commands print what they found, as docker does: one indented JSON array,
/// or each object through `--format` (an empty format or `json` means the array). The
/// template is parsed before anything is fetched, so a bad one fails first.
pub struct InspectOutput(Option<gotmpl::Template>);

impl InspectOutput {
    pub fn new(format: Option<&str>) -> Result<InspectOutput, Failure> {
        match format {
            Some(f) if !f.is_empty() && f != "json" => crate::format::parse(f, false)
                .map(|t| InspectOutput(Some(t)))
                .map_err(|e| Failure::new(e.0, 1)),
            _ => Ok(InspectOutput(None)),
        }
    }

    /// Prints all of `found` at once (nothing when a template fails on one of them).
    pub fn print(&self, found: Vec<serde_json::Value>) -> Result<(), Failure> {
        use std::fmt::Write as _;
        let mut out = String::new();
        match &self.0 {
            Some(t) => {
                for v in &found {
                    let s = crate::format::execute(t, &crate::format::from_json(v))
                        .map_err(|e| Failure::new(e.0, 1))?;
                    let _ = writeln!(out, "{s}");
                }
            }
            None => {
                let _ = writeln!(out, "{}", system::pretty(&serde_json::Value::Array(found)));
            }
        }
        print!("{out}");
        Ok(())
    }
}

/// Asks docker's prune confirmation; true when the user typed y/Y.
pub fn confirm(warning: &str) -> bool {
    use std::io::Write;
    print!("{warning}\nAre you sure you want to continue? [y/N] ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    matches!(line.trim(), "y" | "Y" | "yes")
}
