//! `trust ...` and `DOCKER_CONTENT_TRUST`: berth does not sign or verify images with Docker
//! Content Trust (Notary), so both are refused with a clear message instead of silently
//! pulling or pushing unverified images.

use clap::{CommandFactory, Parser};

use super::Invocation;
use crate::catalog::Command;
use crate::{CmdResult, Ctx, Failure};

#[derive(Parser)]
struct AnyArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

fn refuse(_ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let _: AnyArgs = super::parse(inv, args)?;
    Err(Failure::new(
        format!(
            "berth: 'berth {}' is not supported: berth does not sign or verify images with Docker Content Trust (Notary)",
            inv.path
        ),
        1,
    ))
}

/// The commands content trust would change, and whether `DOCKER_CONTENT_TRUST` asks for it.
/// Returns the refusal when it is on and the command was not given
/// `--disable-content-trust` (which turns it off, as with docker).
pub fn check_env(path: &str, args: &[String]) -> Result<(), Failure> {
    let affected = matches!(
        path,
        "image pull" | "image push" | "container run" | "container create" | "image build"
    );
    if !affected {
        return Ok(());
    }
    let on = std::env::var("DOCKER_CONTENT_TRUST")
        .map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true"))
        .unwrap_or(false);
    let disabled = args
        .iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "--disable-content-trust" || a == "--disable-content-trust=true");
    if on && !disabled {
        return Err(Failure::new(
            "DOCKER_CONTENT_TRUST is set, but berth does not sign or verify images with Docker Content Trust (Notary): unset DOCKER_CONTENT_TRUST or pass --disable-content-trust",
            1,
        ));
    }
    Ok(())
}

/// The commands this module implements (see `catalog.rs`): all refused.
pub(crate) static COMMANDS: &[Command] = &[
    Command::new(
        "trust inspect",
        "IMAGE[:TAG] [IMAGE[:TAG]...]",
        "Return low-level information about keys and signatures",
        AnyArgs::command,
        refuse,
    ),
    Command::new(
        "trust revoke",
        "[OPTIONS] IMAGE[:TAG]",
        "Remove trust for an image",
        AnyArgs::command,
        refuse,
    ),
    Command::new(
        "trust sign",
        "IMAGE:TAG",
        "Sign an image",
        AnyArgs::command,
        refuse,
    ),
    Command::new(
        "trust key",
        "COMMAND",
        "Manage keys for signing Docker images",
        AnyArgs::command,
        refuse,
    ),
    Command::new(
        "trust signer",
        "COMMAND",
        "Manage entities who can sign Docker images",
        AnyArgs::command,
        refuse,
    ),
];
