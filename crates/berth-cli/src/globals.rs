//! The global options before the command name (`berth [OPTIONS] COMMAND`), parsed as
//! docker's root command parses them: up to the first word that is not a flag.

use clap::{CommandFactory, FromArgMatches, Parser};

use crate::endpoint::Selection;
use crate::Failure;

#[derive(Parser, Debug, Default)]
#[command(disable_help_flag = true, disable_version_flag = true)]
struct GlobalFlags {
    #[arg(long, value_name = "string")]
    config: Option<String>,
    #[arg(short = 'c', long, value_name = "string")]
    context: Option<String>,
    #[arg(short = 'D', long)]
    debug: bool,
    #[arg(short = 'H', long, value_name = "list")]
    host: Vec<String>,
    #[arg(short = 'l', long = "log-level", value_name = "string")]
    log_level: Option<String>,
    #[arg(long, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true, value_name = "bool")]
    tls: Option<bool>,
    #[arg(long, value_name = "string")]
    tlscacert: Option<String>,
    #[arg(long, value_name = "string")]
    tlscert: Option<String>,
    #[arg(long, value_name = "string")]
    tlskey: Option<String>,
    #[arg(long, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true, value_name = "bool")]
    tlsverify: Option<bool>,
    #[arg(short = 'v', long)]
    version: bool,
    #[arg(short = 'h', long)]
    help: bool,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

/// The parsed global options.
#[derive(Debug, Clone, Default)]
pub struct Globals {
    pub config_dir: Option<String>,
    pub debug: bool,
    pub log_level: Option<String>,
    pub version: bool,
    pub help: bool,
    /// What picks the daemon: hosts, context, TLS.
    pub selection: Selection,
}

/// Removes the quotes docker's quotedString strips from the TLS paths.
fn trim_quotes(v: String) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 {
        for q in [b'\'', b'"'] {
            if b[0] == q && b[b.len() - 1] == q {
                return v[1..v.len() - 1].to_string();
            }
        }
    }
    v
}

/// Splits argv (without the program name) into the global options and the command words.
pub fn parse(args: &[String]) -> Result<(Globals, Vec<String>), Failure> {
    // Fast path: no global option at all (the common case).
    if args.first().is_none_or(|a| !a.starts_with('-')) {
        return Ok((Globals::default(), args.to_vec()));
    }
    let f: GlobalFlags = crate::commands::parse_argv(
        GlobalFlags::command(),
        "Usage:  berth [OPTIONS] COMMAND [ARG...]",
        "berth",
        args,
    )
    .and_then(|m| {
        GlobalFlags::from_arg_matches(&m).map_err(|e| Failure::new(e.to_string(), 125))
    })?;
    // Known options were taken by clap: a leading dash here is an unknown one.
    if let Some(a) = f.rest.first().filter(|a| a.starts_with('-') && a.len() > 1) {
        return Err(Failure::new(
            format!(
                "{}\n\nUsage:  berth [OPTIONS] COMMAND [ARG...]\n\nRun 'berth --help' for more information",
                crate::commands::flag_message(a)
            ),
            125,
        ));
    }
    let g = Globals {
        config_dir: f.config.map(trim_quotes),
        debug: f.debug,
        log_level: f.log_level,
        version: f.version,
        help: f.help,
        selection: Selection {
            hosts: f.host,
            context: f.context,
            tls: f.tls.unwrap_or(false),
            tlsverify: f.tlsverify,
            tlscacert: f.tlscacert.map(trim_quotes),
            tlscert: f.tlscert.map(trim_quotes),
            tlskey: f.tlskey.map(trim_quotes),
        },
    };
    Ok((g, f.rest))
}

impl Globals {
    /// Checks `--log-level` and, with `-D` or `-l`, logs the CLI's own events to stderr.
    pub fn init_logging(&self) -> Result<(), Failure> {
        let level = match (&self.log_level, self.debug) {
            (_, true) => "debug",
            (None, false) => return Ok(()),
            (Some(l), false) => match l.to_ascii_lowercase().as_str() {
                "trace" => "trace",
                "debug" => "debug",
                "info" => "info",
                "warn" | "warning" => "warn",
                "error" | "fatal" | "panic" => "error",
                _ => {
                    return Err(Failure::new(
                        format!("Unable to parse logging level: {l}"),
                        1,
                    ))
                }
            },
        };
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(tracing_subscriber::EnvFilter::new(level))
            .try_init();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn stops_at_the_command() {
        let (g, rest) =
            parse(&v(&["-H", "unix:///x", "--tlsverify", "ps", "-a", "--tls"])).expect("parses");
        assert_eq!(g.selection.hosts, vec!["unix:///x"]);
        assert_eq!(g.selection.tlsverify, Some(true));
        assert!(!g.selection.tls);
        assert_eq!(rest, v(&["ps", "-a", "--tls"]));
        let (g, rest) = parse(&v(&["--config", "'/tmp/c'", "-D", "run"])).expect("parses");
        assert_eq!(g.config_dir.as_deref(), Some("/tmp/c"));
        assert!(g.debug);
        assert_eq!(rest, v(&["run"]));
    }

    #[test]
    fn errors_as_docker() {
        let e = parse(&v(&["--foo"])).expect_err("unknown");
        assert_eq!(e.code, 125);
        assert_eq!(
            e.msg,
            "unknown flag: --foo\n\nUsage:  berth [OPTIONS] COMMAND [ARG...]\n\nRun 'berth --help' for more information"
        );
        let e = parse(&v(&["-c"])).expect_err("missing value");
        assert!(
            e.msg.starts_with("flag needs an argument: 'c' in -c"),
            "{}",
            e.msg
        );
    }
}
