//! `stack`: the catalog's entries (usage, description, aliases, docker's flags) for the
//! swarm stack commands. Their handlers live in berth-compose (`stack.rs`, which shares
//! the compose loader) and are reached through the external command the binary
//! registers as "stack"; the flag structs are here so help, completion and parsing agree.

use clap::{CommandFactory, Parser};

use super::Invocation;
use crate::catalog::Command;
use crate::{CmdResult, Ctx, Failure};

#[derive(Parser)]
pub struct DeployCmd {
    #[arg(
        short = 'c',
        long = "compose-file",
        help = "Path to a Compose file, or \"-\" to read from stdin",
        value_name = "strings"
    )]
    pub compose_file: Vec<String>,
    #[arg(long, help = "Prune services that are no longer referenced")]
    pub prune: bool,
    #[arg(long, help = "Send registry authentication details to Swarm agents")]
    pub with_registry_auth: bool,
    #[arg(
        long,
        default_value = "always",
        help = "Query the registry to resolve image digest and supported platforms (\"always\", \"changed\", \"never\") (default \"always\")",
        value_name = "string"
    )]
    pub resolve_image: String,
    #[arg(
        short = 'd',
        long,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        help = "Exit immediately instead of waiting for the stack services to converge (default true)",
        value_name = "bool"
    )]
    pub detach: Option<bool>,
    #[arg(short = 'q', long, help = "Suppress progress output")]
    pub quiet: bool,
    pub args: Vec<String>,
}

#[derive(Parser)]
pub struct ConfigCmd {
    #[arg(
        short = 'c',
        long = "compose-file",
        help = "Path to a Compose file, or \"-\" to read from stdin",
        value_name = "strings"
    )]
    pub compose_file: Vec<String>,
    #[arg(long, help = "Skip interpolation and output only merged config")]
    pub skip_interpolation: bool,
    pub args: Vec<String>,
}

#[derive(Parser)]
pub struct LsCmd {
    #[arg(long, help = super::FORMAT_HELP, value_name = "string")]
    pub format: Option<String>,
    pub args: Vec<String>,
}

#[derive(Parser)]
pub struct PsCmd {
    #[arg(short = 'q', long, help = "Only display task IDs")]
    pub quiet: bool,
    #[arg(
        short = 'f',
        long,
        help = "Filter output based on conditions provided",
        value_name = "filter"
    )]
    pub filter: Vec<String>,
    #[arg(long, help = super::FORMAT_HELP, value_name = "string")]
    pub format: Option<String>,
    #[arg(long, help = "Do not truncate output")]
    pub no_trunc: bool,
    #[arg(long, help = "Do not map IDs to Names")]
    pub no_resolve: bool,
    pub args: Vec<String>,
}

#[derive(Parser)]
pub struct ServicesCmd {
    #[arg(short = 'q', long, help = "Only display IDs")]
    pub quiet: bool,
    #[arg(
        short = 'f',
        long,
        help = "Filter output based on conditions provided",
        value_name = "filter"
    )]
    pub filter: Vec<String>,
    #[arg(long, help = super::FORMAT_HELP, value_name = "string")]
    pub format: Option<String>,
    pub args: Vec<String>,
}

#[derive(Parser)]
pub struct RmCmd {
    #[arg(
        short = 'd',
        long,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        help = "Do not wait for stack removal (default true)",
        value_name = "bool"
    )]
    pub detach: Option<bool>,
    pub args: Vec<String>,
}

/// Runs the stack command through the handler the binary registered.
fn forward(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let sub = inv.path.strip_prefix("stack ").unwrap_or(&inv.path);
    let Some(h) = crate::external("stack") else {
        return Err(Failure::new(
            "berth: stack commands are not available in this build".to_string(),
            1,
        ));
    };
    let mut a = vec![sub.to_string()];
    a.extend(args.iter().cloned());
    Ok(h(ctx, &a))
}

/// The commands this module registers (see `catalog.rs`).
pub(crate) static COMMANDS: &[Command] = &[
    Command::new(
        "stack config",
        "[OPTIONS]",
        "Outputs the final config file, after doing merges and interpolations",
        ConfigCmd::command,
        forward,
    ),
    Command::new(
        "stack deploy",
        "[OPTIONS] STACK",
        "Deploy a new stack or update an existing stack",
        DeployCmd::command,
        forward,
    )
    .aliases(&["stack up"]),
    Command::new(
        "stack ls",
        "[OPTIONS]",
        "List stacks",
        LsCmd::command,
        forward,
    )
    .aliases(&["stack list"]),
    Command::new(
        "stack ps",
        "[OPTIONS] STACK",
        "List the tasks in the stack",
        PsCmd::command,
        forward,
    ),
    Command::new(
        "stack rm",
        "[OPTIONS] STACK [STACK...]",
        "Remove one or more stacks",
        RmCmd::command,
        forward,
    )
    .aliases(&["stack remove", "stack down"]),
    Command::new(
        "stack services",
        "[OPTIONS] STACK",
        "List the services in the stack",
        ServicesCmd::command,
        forward,
    ),
];
