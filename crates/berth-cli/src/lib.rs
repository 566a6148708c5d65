//! berth-cli: the `berth` command-line client. Every command is a Docker Engine API call to
//! a daemon (unix socket, TCP/TLS or ssh) and prints what the docker CLI prints.
#![recursion_limit = "512"]

pub mod catalog;
pub mod client;
pub mod commands;
pub mod completion;
pub mod config;
pub mod context_store;
pub mod daemon_binary;
pub mod endpoint;
pub mod format;
pub mod globals;
pub mod help;
pub mod jsonmessage;
pub mod manifest_store;
pub mod session;
pub mod stream;
pub mod transport;
pub mod units;

use std::ffi::OsString;
use std::time::Duration;

use client::{Client, ClientError};

pub use endpoint::DEFAULT_HOST;

/// A command implemented outside this crate (`compose`), given the global options and the
/// arguments after its name; returns the exit code.
pub type ExternalCommand = fn(&mut Ctx, &[String]) -> i32;

static EXTERNAL: std::sync::OnceLock<Vec<(&'static str, ExternalCommand)>> =
    std::sync::OnceLock::new();

/// Registers commands implemented by other crates (the binary calls this once, first).
pub fn register_external(commands: Vec<(&'static str, ExternalCommand)>) {
    let _ = EXTERNAL.set(commands);
}

pub(crate) fn external(name: &str) -> Option<ExternalCommand> {
    EXTERNAL
        .get()?
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, h)| *h)
}

/// A command failure: message for stderr and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub msg: String,
    pub code: i32,
}

impl Failure {
    pub fn new(msg: impl Into<String>, code: i32) -> Failure {
        Failure {
            msg: msg.into(),
            code,
        }
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        Failure::new(e.to_string(), 1)
    }
}

pub type CmdResult = Result<i32, Failure>;

/// Global options and the lazily connected client.
pub struct Ctx {
    pub globals: globals::Globals,
    client: Option<Client>,
}

impl Ctx {
    pub fn new(globals: globals::Globals) -> Ctx {
        Ctx {
            globals,
            client: None,
        }
    }

    /// The daemon this invocation talks to (flags, environment, context).
    pub fn endpoint(&self) -> Result<endpoint::Endpoint, Failure> {
        endpoint::resolve(
            &self.globals.selection,
            config::dir(),
            &config::get().current_context,
        )
    }

    /// Connects (and auto-starts the default daemon when needed), negotiating the API version
    /// unless `DOCKER_API_VERSION` fixes it.
    pub fn client(&mut self) -> Result<&Client, Failure> {
        if self.client.is_none() {
            let ep = self.endpoint()?;
            let mut c = Client::new(&ep).map_err(|e| {
                Failure::new(
                    format!("Failed to initialize: unable to resolve docker endpoint: {e}"),
                    1,
                )
            })?;
            let fixed = std::env::var("DOCKER_API_VERSION")
                .ok()
                .filter(|v| !v.is_empty());
            let ready = match &fixed {
                Some(v) => {
                    c.set_version(v).map_err(|e| Failure::new(e, 1))?;
                    if ep.default_socket && !c.ping_ok() {
                        Err(ClientError::Connect(c.host.clone()))
                    } else {
                        Ok(())
                    }
                }
                None => c.negotiate(),
            };
            // A daemon that answers but fails the ping (TLS, ssh): docker reports the
            // failure on the request the command makes, so the version is left at ours.
            let ready = match ready {
                Err(ClientError::During(_)) => Ok(()),
                r => r,
            };
            if let Err(e) = ready {
                if !(ep.default_socket
                    && matches!(e, ClientError::Connect(_))
                    && std::env::var_os("BERTH_NO_AUTOSTART").is_none())
                {
                    return Err(e.into());
                }
                autostart(&c)?;
                if fixed.is_none() {
                    c.negotiate()?;
                }
            }
            self.client = Some(c);
        }
        match &self.client {
            Some(c) => Ok(c),
            None => Err(Failure::new("no client", 1)),
        }
    }
}

/// Starts the daemon (`berthd`) detached and waits for its socket to answer.
fn autostart(c: &Client) -> Result<(), Failure> {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let exe = daemon_binary::daemon_binary()
        .map_err(|e| Failure::new(format!("failed to start berth daemon: {e}"), 1))?;
    let _ = std::fs::create_dir_all("/run/berth");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open("/run/berth/daemon.log");
    let (out, err) = match log {
        Ok(f) => match f.try_clone() {
            Ok(f2) => (Stdio::from(f), Stdio::from(f2)),
            Err(_) => (Stdio::null(), Stdio::null()),
        },
        Err(_) => (Stdio::null(), Stdio::null()),
    };
    let mut cmd = Command::new(exe);
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    // SAFETY: setsid is async-signal-safe; it detaches the daemon from our session.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    tracing::debug!("starting berth daemon");
    cmd.spawn()
        .map_err(|e| Failure::new(format!("failed to start berth daemon: {e}"), 1))?;
    if c.wait_ready(Duration::from_secs(10)) {
        Ok(())
    } else {
        Err(ClientError::Connect(c.host.clone()).into())
    }
}

/// A reader that went away (`berth ... | head`) ends the CLI quietly, as SIGPIPE ends the
/// docker CLI, instead of a panic about printing to stdout.
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to std") && msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

/// Entry point: `args` include argv[0]. Returns the process exit code.
pub fn run(args: Vec<OsString>) -> i32 {
    quiet_broken_pipe();
    let args: Vec<String> = args
        .into_iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let (g, rest) = match globals::parse(&args) {
        Ok(x) => x,
        Err(f) => {
            if !f.msg.is_empty() {
                eprintln!("{}", f.msg);
            }
            return f.code;
        }
    };
    if g.version {
        println!("berth version {}", env!("CARGO_PKG_VERSION"));
        return 0;
    }
    if let Some(d) = &g.config_dir {
        config::set_dir(d.into());
    }
    if let Err(f) = g.init_logging() {
        eprintln!("{}", f.msg);
        return f.code;
    }
    if g.help || rest.is_empty() {
        // Bare `berth` prints it on stderr, as docker does; asked for, on stdout.
        let text = help::top_help(&config::dir().display().to_string());
        if g.help {
            println!("{text}");
        } else {
            eprintln!("{text}");
        }
        return 0;
    }
    let mut ctx = Ctx::new(g);
    commands::dispatch(&mut ctx, &rest)
}
