//! `berth exec` and `berth attach`: interactive sessions on running containers.

use super::create::{check_unknown_flag, detach_keys, read_kv_files};
use super::{parse, Invocation};
use crate::catalog::Command;
use crate::client::Body;
use crate::session::{Ended, Session};
use crate::{CmdResult, Ctx, Failure};
use berth_api::models::{ContainerInspectPart, ExecCreateBody, ExecStartBody};
use clap::{CommandFactory, Parser};
use serde_json::Value;

#[derive(Parser, Debug)]
#[command(disable_help_flag = true)]
struct ExecCmd {
    #[arg(
        short = 'd',
        long,
        help = "Detached mode: run command in the background"
    )]
    detach: bool,
    #[arg(
        long = "detach-keys",
        help = "Override the key sequence for detaching a container",
        value_name = "string"
    )]
    detach_keys: Option<String>,
    #[arg(
        short = 'e',
        long = "env",
        help = "Set environment variables",
        value_name = "list"
    )]
    env: Vec<String>,
    #[arg(
        long = "env-file",
        help = "Read in a file of environment variables",
        value_name = "list"
    )]
    env_file: Vec<String>,
    #[arg(short = 'i', long, help = "Keep STDIN open even if not attached")]
    interactive: bool,
    #[arg(long, help = "Give extended privileges to the command")]
    privileged: bool,
    #[arg(short = 't', long, help = "Allocate a pseudo-TTY")]
    tty: bool,
    #[arg(
        short = 'u',
        long,
        help = "Username or UID (format: \"<name|uid>[:<group|gid>]\")",
        value_name = "string"
    )]
    user: Option<String>,
    #[arg(
        short = 'w',
        long,
        help = "Working directory inside the container",
        value_name = "string"
    )]
    workdir: Option<String>,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

fn q(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Daemon errors as the docker CLI prints them ("Error response from daemon: ...", exit 1).
fn daemon_error(e: impl std::fmt::Display) -> Failure {
    Failure::new(e.to_string(), 1)
}

/// The start body: detached `{Detach, Tty}`; attached also `ConsoleSize` (`null` without
/// a terminal).
fn start_body(o: &ExecCmd, size: Option<(u16, u16)>) -> ExecStartBody {
    ExecStartBody {
        detach: o.detach,
        tty: o.tty,
        console_size: (!o.detach).then(|| size.map(|(h, w)| vec![h, w])),
    }
}

/// The `POST /containers/{id}/exec` body of `berth exec` (`o.args`: container, command...).
fn create_body(o: &ExecCmd, env: Vec<String>, console: Option<(u16, u16)>) -> ExecCreateBody {
    ExecCreateBody {
        user: o.user.clone().unwrap_or_default(),
        privileged: o.privileged,
        tty: o.tty,
        console_size: console.map(|(h, w)| vec![h, w]),
        attach_stdin: o.interactive && !o.detach,
        attach_stderr: !o.detach,
        attach_stdout: !o.detach,
        detach: o.detach,
        detach_keys: o.detach_keys.clone().unwrap_or_default(),
        env,
        working_dir: o.workdir.clone().unwrap_or_default(),
        cmd: o.args[1..].to_vec(),
        ..Default::default()
    }
}

pub fn cmd_exec(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ExecCmd = parse(inv, args)?;
    check_unknown_flag(inv, &o.args)?;
    inv.at_least(&o.args, 2)?;
    let stdin_tty = nix::unistd::isatty(0).unwrap_or(false);
    if o.tty && o.interactive && !o.detach && !stdin_tty {
        return Err(Failure::new("the input device is not a TTY", 1));
    }
    let keys = detach_keys(o.detach_keys.as_deref())?;
    let mut env = read_kv_files(&o.env_file).map_err(|e| Failure::new(e, 125))?;
    for e in &o.env {
        // Docker's `-e NAME` takes the value from the caller's environment (or drops it).
        if e.contains('=') {
            env.push(e.clone());
        } else if let Ok(v) = std::env::var(e) {
            env.push(format!("{e}={v}"));
        }
    }
    let container = &o.args[0];
    let size = if o.tty {
        crate::session::terminal_size()
    } else {
        None
    };
    let body = serde_json::to_value(create_body(&o, env, size))
        .map_err(|e| Failure::new(e.to_string(), 1))?;
    let c = ctx.client()?;
    let created = c
        .call(
            "POST",
            &format!("/containers/{}/exec", q(container)),
            Body::Json(body),
        )
        .and_then(|r| r.json())
        .map_err(daemon_error)?;
    let id = created
        .get("Id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if o.detach {
        c.call(
            "POST",
            &format!("/exec/{id}/start"),
            Body::typed(&start_body(&o, size))?,
        )
        .map_err(daemon_error)?;
        return Ok(0);
    }
    let (sock, leftover) = c
        .hijack_json(
            &format!("/exec/{id}/start"),
            &serde_json::to_value(start_body(&o, size))
                .map_err(|e| Failure::new(e.to_string(), 1))?,
        )
        .map_err(daemon_error)?;
    let session = Session {
        client: c,
        tty: o.tty,
        stdin: o.interactive,
        detach_keys: keys,
        resize_path: Some(format!("/exec/{id}/resize")),
    };
    if session.run(sock, leftover) == Ended::Detached {
        // What the docker CLI does for exec (run and attach return 0 instead).
        return Err(Failure::new("read escape sequence", 1));
    }
    // The exit code is known once the shim reported it: shortly after the output ended.
    for _ in 0..200 {
        let info = c
            .get_json(&format!("/exec/{id}/json"))
            .map_err(daemon_error)?;
        if info.get("Running").and_then(Value::as_bool) == Some(false) {
            if let Some(code) = info.get("ExitCode").and_then(Value::as_i64) {
                return Ok(code as i32);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Err(Failure::new("berth: exec status unknown", 1))
}

#[derive(Parser, Debug)]
#[command(disable_help_flag = true)]
struct AttachCmd {
    #[arg(
        long = "detach-keys",
        help = "Override the key sequence for detaching a container",
        value_name = "string"
    )]
    detach_keys: Option<String>,
    #[arg(long = "no-stdin", help = "Do not attach STDIN")]
    no_stdin: bool,
    #[arg(long = "sig-proxy", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true, help = "Proxy all received signals to the process (default true)", value_name = "bool")]
    sig_proxy: bool,
    args: Vec<String>,
}

pub fn cmd_attach(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: AttachCmd = parse(inv, args)?;
    inv.exactly(&o.args, 1)?;
    let keys = detach_keys(o.detach_keys.as_deref())?;
    let c = ctx.client()?;
    let info: ContainerInspectPart = c
        .get_typed(&format!("/containers/{}/json", q(&o.args[0])))
        .map_err(daemon_error)?;
    let id = info.id;
    if !info.state.running {
        return Err(Failure::new(
            "You cannot attach to a stopped container, start it first",
            1,
        ));
    }
    if info.state.paused {
        return Err(Failure::new(
            "You cannot attach to a paused container, unpause it first",
            1,
        ));
    }
    let tty = info.config.tty;
    let stdin = !o.no_stdin && info.config.open_stdin;
    let keys_q = o
        .detach_keys
        .as_deref()
        .map(|k| format!("&detachKeys={}", q(k)))
        .unwrap_or_default();
    let (sock, leftover) = c
        .hijack(&format!(
            "/containers/{id}/attach?stream=1&stdin={}&stdout=1&stderr=1{keys_q}",
            if stdin { 1 } else { 0 }
        ))
        .map_err(daemon_error)?;
    let session = Session {
        client: c,
        tty,
        stdin,
        detach_keys: keys,
        resize_path: Some(format!("/containers/{id}/resize")),
    };
    if session.run(sock, leftover) == Ended::Detached {
        return Ok(0);
    }
    // As docker attach: the container's exit code once it stopped.
    let resp = c
        .call(
            "POST",
            &format!("/containers/{id}/wait?condition=not-running"),
            Body::None,
        )
        .and_then(|r| r.json())
        .map_err(daemon_error)?;
    Ok(resp.get("StatusCode").and_then(Value::as_i64).unwrap_or(0) as i32)
}

/// The commands this module implements (see `catalog.rs`).
pub(crate) static COMMANDS: &[Command] = &[
    Command::new(
        "container exec",
        "[OPTIONS] CONTAINER COMMAND [ARG...]",
        "Execute a command in a running container",
        ExecCmd::command,
        cmd_exec,
    )
    .aliases(&["exec"]),
    Command::new(
        "container attach",
        "[OPTIONS] CONTAINER",
        "Attach local standard input, output, and error streams to a running container",
        AttachCmd::command,
        cmd_attach,
    )
    .aliases(&["attach"]),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The body as `berth exec` built it before the typed model (a `json!` literal).
    fn before(o: &ExecCmd, env: &[String], console: Option<(u16, u16)>) -> Value {
        let console = console.map(|(h, w)| json!([h, w]));
        json!({
            "User": o.user.clone().unwrap_or_default(),
            "Privileged": o.privileged,
            "Tty": o.tty,
            "ConsoleSize": console,
            "AttachStdin": o.interactive && !o.detach,
            "AttachStderr": !o.detach,
            "AttachStdout": !o.detach,
            "Detach": o.detach,
            "DetachKeys": o.detach_keys.clone().unwrap_or_default(),
            "Env": env,
            "WorkingDir": o.workdir.clone().unwrap_or_default(),
            "Cmd": o.args[1..],
        })
    }

    #[test]
    fn typed_exec_body_sends_the_same_bytes() {
        let lines: &[&[&str]] = &[
            &["c", "true"],
            &["-it", "c", "sh"],
            &[
                "-d",
                "-u",
                "1:2",
                "-w",
                "/tmp",
                "--privileged",
                "c",
                "sleep",
                "9",
            ],
            &[
                "-i",
                "--detach-keys",
                "ctrl-x",
                "-e",
                "A=1",
                "c",
                "sh",
                "-c",
                "echo $A",
            ],
        ];
        for args in lines {
            let o = ExecCmd::try_parse_from(std::iter::once("exec").chain(args.iter().copied()))
                .unwrap();
            let env: Vec<String> = o.env.clone();
            for console in [None, Some((24, 80))] {
                let typed = serde_json::to_value(create_body(&o, env.clone(), console)).unwrap();
                let old = before(&o, &env, console);
                // Body::Json writes the value: equal values are equal bytes on the wire.
                assert_eq!(typed, old, "{args:?}");
                assert_eq!(
                    serde_json::to_vec(&typed).unwrap(),
                    serde_json::to_vec(&old).unwrap()
                );
                let back: ExecCreateBody = serde_json::from_value(typed).unwrap();
                assert_eq!(back.cmd, o.args[1..].to_vec());
            }
        }
        for args in [
            &["-d", "c", "true"][..],
            &["-dt", "c", "sh"][..],
            &["c", "true"][..],
            &["-it", "c", "sh"][..],
        ] {
            let o = ExecCmd::try_parse_from(std::iter::once("exec").chain(args.iter().copied()))
                .unwrap();
            for size in [None, Some((24u16, 80u16))] {
                let size = size.filter(|_| o.tty);
                let console = size.map(|(h, w)| json!([h, w]));
                let old = if o.detach {
                    json!({"Detach": true, "Tty": o.tty})
                } else {
                    json!({"Detach": false, "Tty": o.tty, "ConsoleSize": console})
                };
                let typed = serde_json::to_value(start_body(&o, size)).unwrap();
                assert_eq!(
                    serde_json::to_string(&typed).unwrap(),
                    serde_json::to_string(&old).unwrap(),
                    "start {args:?}"
                );
                let back: ExecStartBody = serde_json::from_value(typed).unwrap();
                // A detached start sends no ConsoleSize at all.
                let sent = size.filter(|_| !o.detach).map(|(h, w)| vec![h, w]);
                assert_eq!(back.console(), sent.as_deref());
            }
        }
        let odd: ExecCreateBody =
            serde_json::from_str(r#"{"Cmd":["x"],"Future":{"k":1}}"#).unwrap();
        assert_eq!(
            serde_json::to_value(&odd).unwrap()["Future"],
            json!({"k": 1}),
            "unknown fields round-trip"
        );
    }
}
