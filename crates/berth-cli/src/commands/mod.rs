//! Command table, docker-style flag parsing errors, and shared helpers.

pub mod build;
pub mod builder;
pub mod buildx;
pub mod containers;
pub mod context;
pub mod create;
#[cfg(test)]
mod create_golden;
pub mod exec;
pub mod files;
pub mod images;
pub mod manifest;
pub mod mount_opts;
pub mod network;
pub mod network_connect;
mod network_ipam;
mod node_pretty;
pub mod observe;
pub mod registry;
pub mod search;
mod service_flags;
mod service_logs;
pub mod service_pretty;
pub mod service_progress;
pub mod stack;
pub mod swarm;
pub mod system;
pub mod trust;
pub mod volume;

use clap::{Arg, ArgAction, ArgMatches, CommandFactory, FromArgMatches};

use crate::catalog;
use crate::{help, CmdResult, Ctx, Failure};

/// The docker CLI's description of `--format` on list commands (and inspect commands that
/// print tables).
pub(crate) const FORMAT_HELP: &str = "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";

/// The docker CLI's description of `--format` on inspect commands (no table forms).
pub(crate) const INSPECT_FORMAT_HELP: &str = "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";

/// A command's entry point: the invocation and the words after the command path.
pub type Handler = fn(&mut Ctx, &Invocation, &[String]) -> CmdResult;

/// How the command was invoked (for usage/error messages): e.g. "container ls".
/// Commands outside the catalog (`compose up`) make their own.
pub struct Invocation {
    /// The path usage lines name (the canonical one for local aliases).
    pub path: String,
    pub usage: &'static str,
}

impl Invocation {
    pub fn usage_line(&self) -> String {
        if self.usage.is_empty() {
            format!("Usage:  berth {}", self.path)
        } else {
            format!("Usage:  berth {} {}", self.path, self.usage)
        }
    }
    /// An argument-count error as docker's cli/required.go words it (exit 1); `hint` is
    /// "See" or "Run", as docker has it for that check.
    fn arg_error(&self, what: &str, hint: &str) -> Failure {
        Failure::new(
            format!(
                "berth: 'berth {}' {what}\n\n{}\n\n{hint} 'berth {} --help' for more information",
                self.path,
                self.usage_line(),
                self.path
            ),
            1,
        )
    }
    /// `requires at least/at most/exactly N argument(s)`, as `at_least`/`at_most`/`exactly`.
    pub fn needs(&self, what: &str, n: usize) -> Failure {
        match what {
            "at least" => self.arg_error(&format!("requires at least {n} {}", plural(n)), "See"),
            "at most" => self.arg_error(&format!("requires at most {n} {}", plural(n)), "Run"),
            _ => self.arg_error(&format!("requires {n} {}", plural(n)), "Run"),
        }
    }
    /// docker's RequiresMinArgs.
    pub fn at_least(&self, args: &[String], n: usize) -> Result<(), Failure> {
        if args.len() < n {
            return Err(self.needs("at least", n));
        }
        Ok(())
    }
    /// docker's NoArgs.
    pub fn none(&self, args: &[String]) -> Result<(), Failure> {
        if args.is_empty() {
            return Ok(());
        }
        Err(self.arg_error("accepts no arguments", "Run"))
    }
    /// docker's ExactArgs.
    pub fn exactly(&self, args: &[String], n: usize) -> Result<(), Failure> {
        if args.len() != n {
            return Err(self.needs("exactly", n));
        }
        Ok(())
    }
    /// docker's RequiresMaxArgs (docker 28.2 prints "SRun" there: a typo we leave out).
    pub fn at_most(&self, args: &[String], n: usize) -> Result<(), Failure> {
        if args.len() > n {
            return Err(self.needs("at most", n));
        }
        Ok(())
    }
    /// docker's RequiresRangeArgs.
    pub fn range(&self, args: &[String], min: usize, max: usize) -> Result<(), Failure> {
        if args.len() < min || args.len() > max {
            return Err(self.arg_error(
                &format!("requires at least {min} and at most {max} {}", plural(max)),
                "Run",
            ));
        }
        Ok(())
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        "argument"
    } else {
        "arguments"
    }
}

fn print_failure(f: Failure) -> i32 {
    if !f.msg.is_empty() {
        eprintln!("{}", f.msg);
    }
    f.code
}

/// Runs the command `args` name (after the global options).
pub fn dispatch(ctx: &mut Ctx, args: &[String]) -> i32 {
    // Externals the catalog lists (stack) run through their catalog entries.
    if catalog::group(&args[0]).is_none() {
        if let Some(h) = crate::external(&args[0]) {
            return h(ctx, &args[1..]);
        }
    }
    let first = args[0].as_str();
    match first {
        "help" => return help_command(&args[1..]),
        "__complete" | "__completeNoDesc" => {
            return crate::completion::complete(ctx, &args[1..], first == "__complete")
        }
        _ => {}
    }
    let (path, rest) = match catalog::group(first) {
        Some(g) => match args.get(1).map(String::as_str) {
            // Bare, docker prints the group's help on stderr; asked for, on stdout.
            None => {
                eprintln!("{}", help::group_help(g));
                return 0;
            }
            Some("--help") | Some("-h") => {
                println!("{}", help::group_help(g));
                return 0;
            }
            Some(sub) if sub.starts_with('-') => {
                let msg = flag_message(sub);
                return print_failure(Failure::new(
                    format!("{msg}\n\nUsage:  berth {}\n\nRun 'berth {first} --help' for more information", g.use_line()),
                    125,
                ));
            }
            Some(sub) => (format!("{first} {sub}"), &args[2..]),
        },
        None => (first.to_string(), &args[1..]),
    };
    let Some(cmd) = catalog::find(&path) else {
        let msg = match path.split_once(' ') {
            Some((g, _)) => format!(
                "berth: unknown command: berth {path}\n\nUsage:  berth {}\n\nRun 'berth {g} --help' for more information",
                catalog::group(g).map(|x| x.use_line()).unwrap_or_else(|| g.to_string())
            ),
            None => format!(
                "berth: unknown command: berth {path}\n\nRun 'berth --help' for more information"
            ),
        };
        return print_failure(Failure::new(msg, 1));
    };
    let inv = Invocation {
        path: cmd.shown_path(&path).to_string(),
        usage: cmd.usage,
    };
    if let Err(f) = trust::check_env(cmd.path, rest) {
        return print_failure(f);
    }
    // --help for every command here, whether or not its handler parses flags (cheap test
    // first: the flags are built only when a word could be a help flag).
    let maybe_help = rest
        .iter()
        .any(|a| a == "--help" || (a.starts_with('-') && !a.starts_with("--") && a.contains('h')));
    if maybe_help {
        if let Some(short) = wants_help(&(cmd.flags)(), rest) {
            if short {
                eprintln!("Flag shorthand -h has been deprecated, use --help");
            }
            println!("{}", help::command_help(cmd, &inv.path));
            return 0;
        }
    }
    match (cmd.run)(ctx, &inv, rest) {
        Ok(code) => code,
        Err(f) => print_failure(f),
    }
}

/// Whether `args` ask for help as pflag would see it: `--help`, or `-h` where the command
/// gives `-h` no other meaning (`Some(true)`: through `-h`). Flag values are skipped; `--`
/// ends the flags, and so does the first argument for commands whose arguments take the
/// rest of the line (run, exec, top).
fn wants_help(flags: &clap::Command, args: &[String]) -> Option<bool> {
    let takes_value = |a: &clap::Arg| {
        a.get_action().takes_values()
            && a.get_value_names()
                .and_then(|v| v.first())
                .is_none_or(|v| v != "bool")
    };
    let stops_at_arg = flags
        .get_positionals()
        .any(|p| p.is_trailing_var_arg_set() || p.is_allow_hyphen_values_set());
    let h_taken = flags.get_arguments().any(|a| a.get_short() == Some('h'));
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        i += 1;
        if a == "--" {
            return None;
        }
        if a == "--help" {
            return Some(false);
        }
        if let Some(long) = a.strip_prefix("--") {
            if !long.contains('=')
                && flags
                    .get_arguments()
                    .any(|x| x.get_long() == Some(long) && takes_value(x))
            {
                i += 1;
            }
            continue;
        }
        if let Some(cluster) = a.strip_prefix('-').filter(|c| !c.is_empty()) {
            for (n, c) in cluster.char_indices() {
                if c == 'h' && !h_taken {
                    return Some(true);
                }
                if flags
                    .get_arguments()
                    .any(|x| x.get_short() == Some(c) && takes_value(x))
                {
                    // The rest of the word, or the next word, is its value.
                    if n + c.len_utf8() == cluster.len() {
                        i += 1;
                    }
                    break;
                }
            }
            continue;
        }
        if stops_at_arg {
            return None;
        }
    }
    None
}

/// `berth help [COMMAND...]`.
fn help_command(words: &[String]) -> i32 {
    let path = words.join(" ");
    if path.is_empty() {
        println!(
            "{}",
            help::top_help(&crate::config::dir().display().to_string())
        );
        return 0;
    }
    if let Some(g) = catalog::group(&path) {
        println!("{}", help::group_help(g));
        return 0;
    }
    match catalog::find(&path) {
        Some(c) => {
            println!("{}", help::command_help(c, &path));
            0
        }
        None => print_failure(Failure::new(format!("unknown help topic: {path}"), 1)),
    }
}

/// pflag's message for an unknown flag as typed.
pub(crate) fn flag_message(a: &str) -> String {
    if a.starts_with("--") {
        format!("unknown flag: {}", a.split('=').next().unwrap_or(a))
    } else {
        let c = a.trim_start_matches('-').chars().next().unwrap_or('?');
        format!("unknown shorthand flag: '{c}' in {a}")
    }
}

/// Parses flags with clap and reports errors with docker's (pflag's) wording; `--help`
/// prints the command's help (exit 0), as does `-h` where it means nothing else.
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
    let base = adjust(T::command());
    let h_free = !base.get_arguments().any(|a| a.get_short() == Some('h'));
    let mut cmd = base.disable_help_flag(true).arg(
        Arg::new("__help")
            .long("help")
            .action(ArgAction::SetTrue)
            .hide(true),
    );
    if h_free {
        cmd = cmd.arg(
            Arg::new("__help_short")
                .short('h')
                .action(ArgAction::SetTrue)
                .hide(true),
        );
    }
    let m = parse_argv(cmd, &inv.usage_line(), &inv.path, args)?;
    let short = h_free && m.get_flag("__help_short");
    if m.get_flag("__help") || short {
        if short {
            eprintln!("Flag shorthand -h has been deprecated, use --help");
        }
        let text = match catalog::find(&inv.path) {
            Some(c) => help::command_help(c, &inv.path),
            // A command outside the catalog: its usage line and flags.
            None => help::plain_help(&inv.usage_line(), &T::command()),
        };
        println!("{text}");
        return Err(Failure::new("", 0));
    }
    T::from_arg_matches(&m).map_err(|e| Failure::new(e.to_string(), 125))
}

/// Runs clap on `args` and turns its errors into pflag's messages, followed by the usage
/// line and docker's "Run '... --help'" hint (exit 125).
pub fn parse_argv(
    cmd: clap::Command,
    usage_line: &str,
    path: &str,
    args: &[String],
) -> Result<ArgMatches, Failure> {
    let template = cmd.clone();
    let cmd = cmd.bin_name(format!("berth {path}")).no_binary_name(true);
    let see = format!(
        "\n\n{usage_line}\n\nRun '{}' for more information",
        if path == "berth" {
            "berth --help".to_string()
        } else {
            format!("berth {path} --help")
        }
    );
    match cmd.try_get_matches_from(args) {
        Ok(m) => Ok(m),
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
                    Err(Failure::new(format!("{}{see}", flag_message(&a)), 125))
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
                            // pflag's uint flags (value name "uint") parse with ParseUint.
                            let unsigned = template
                                .get_arguments()
                                .find(|x| {
                                    x.get_long().map(|l| format!("--{l}")) == Some(long.clone())
                                })
                                .and_then(|x| x.get_value_names())
                                .is_some_and(|n| n.iter().any(|n| n == "uint"));
                            format!(
                                "strconv.{}: parsing {}: invalid syntax",
                                if unsigned { "ParseUint" } else { "ParseInt" },
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
/// The docker CLI's version annotation of a flag (cli/cobra.go `isSupported`): a flag
/// given against a daemon whose API version is older than the flag's is refused before
/// anything is sent (exit 1), never sent to be ignored. Checked before the arguments, as
/// docker's PersistentPreRunE runs first.
pub fn require_api(ctx: &mut crate::Ctx, flag: &str, min: (u32, u32)) -> Result<(), Failure> {
    let have = ctx.client()?.api_version();
    let below = match have.split_once('.') {
        Some((a, b)) => match (a.parse::<u32>(), b.parse::<u32>()) {
            (Ok(a), Ok(b)) => (a, b) < min,
            _ => false,
        },
        None => false,
    };
    if below {
        return Err(Failure::new(
            format!(
                "\"--{flag}\" requires API version {}.{}, but the Docker daemon API version is {have}",
                min.0, min.1
            ),
            1,
        ));
    }
    Ok(())
}

pub fn join_errors(errs: Vec<String>) -> CmdResult {
    if errs.is_empty() {
        Ok(0)
    } else {
        Err(Failure::new(errs.join("\n"), 1))
    }
}

/// `inspect` of API objects by name: GETs `path(name)` for each, prints what was found in
/// the requested format, and fails with the errors of the others (docker's order).
pub fn inspect_by_path(
    ctx: &mut Ctx,
    format: Option<&str>,
    names: &[String],
    path: impl Fn(&str) -> String,
) -> CmdResult {
    let output = InspectOutput::new(format)?;
    let c = ctx.client()?;
    let mut found = Vec::new();
    let mut errs = Vec::new();
    for name in names {
        match c.get_json(&path(name)) {
            Ok(v) => found.push(v),
            Err(e) => errs.push(e.to_string()),
        }
    }
    output.print(found)?;
    join_errors(errs)
}

/// How `inspect` commands print what they found, as docker does: one indented JSON array,
/// or each object through `--format` (an empty format or `json` means the array). The
/// template is parsed before anything is fetched, so a bad one fails first.
pub struct InspectOutput(Option<(gotmpl::Template, String)>);

impl InspectOutput {
    pub fn new(format: Option<&str>) -> Result<InspectOutput, Failure> {
        match format {
            Some(f) if !f.is_empty() && f != "json" => crate::format::parse_inspect(f)
                .map(|t| InspectOutput(Some((t, f.to_string()))))
                .map_err(|e| Failure::new(e.0, 1)),
            _ => Ok(InspectOutput(None)),
        }
    }

    /// Prints `found`: with a template, each object it runs on (as docker's template
    /// inspector, an object the template fails on adds its error and the others still
    /// print; nothing printed at all prints an empty line), then the errors (exit 1).
    pub fn print(&self, found: Vec<serde_json::Value>) -> Result<(), Failure> {
        use std::fmt::Write as _;
        let mut out = String::new();
        match &self.0 {
            Some((t, src)) => {
                let mut errs = Vec::new();
                for v in &found {
                    match crate::format::execute_inspect(t, src, v) {
                        Ok(s) => {
                            let _ = writeln!(out, "{s}");
                        }
                        Err(e) => errs.push(e.0),
                    }
                }
                // docker's template inspector prints an empty line when it printed nothing.
                if out.is_empty() {
                    out.push('\n');
                }
                if !errs.is_empty() {
                    print!("{out}");
                    return Err(Failure::new(errs.join("\n"), 1));
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

/// Go's `strconv.ParseBool`, which pflag uses for a bool flag's value: None for any
/// other word (the caller words pflag's error with its flag and exit code).
pub fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
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
