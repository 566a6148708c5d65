//! berth-cli: the `berth` command-line client. Every command is a Docker Engine API call over
#![recursion_limit = "512"]
//! a unix socket and prints what the docker CLI prints.

pub mod client;
pub mod commands;
pub mod format;
pub mod session;
pub mod stream;
pub mod units;

use std::ffi::OsString;
use std::time::Duration;

use client::{Client, ClientError};

/// Default daemon address.
pub const DEFAULT_HOST: &str = "unix:///run/berth/berth.sock";

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
    pub host: String,
    pub default_host: bool,
    client: Option<Client>,
}

impl Ctx {
    /// Connects (and auto-starts the default daemon when needed), negotiating the API version.
    pub fn client(&mut self) -> Result<&Client, Failure> {
        if self.client.is_none() {
            let mut c = Client::new(&self.host).map_err(|e| Failure::new(e, 1))?;
            if let Err(e) = c.negotiate() {
                if !(self.default_host
                    && matches!(e, ClientError::Connect(_))
                    && std::env::var_os("BERTH_NO_AUTOSTART").is_none())
                {
                    return Err(e.into());
                }
                autostart(&c)?;
                c.negotiate()?;
            }
            self.client = Some(c);
        }
        match &self.client {
            Some(c) => Ok(c),
            None => Err(Failure::new("no client", 1)),
        }
    }
}

/// Starts `berth daemon` detached and waits for its socket to answer.
fn autostart(c: &Client) -> Result<(), Failure> {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().map_err(|e| Failure::new(e.to_string(), 1))?;
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
    cmd.arg("daemon")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
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

/// Entry point: `args` include argv[0]. Returns the process exit code.
pub fn run(args: Vec<OsString>) -> i32 {
    let args: Vec<String> = args
        .into_iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut host: Option<String> = None;
    let mut i = 0;
    // Global flags come before the command name.
    while i < args.len() {
        let a = &args[i];
        if a == "-H" || a == "--host" {
            match args.get(i + 1) {
                Some(v) => host = Some(v.clone()),
                None => {
                    eprintln!("flag needs an argument: --host");
                    return 125;
                }
            }
            i += 2;
        } else if let Some(v) = a.strip_prefix("--host=").or_else(|| a.strip_prefix("-H=")) {
            host = Some(v.to_string());
            i += 1;
        } else if let Some(v) = a.strip_prefix("-H").filter(|v| !v.is_empty()) {
            host = Some(v.to_string());
            i += 1;
        } else if a == "-D" || a == "--debug" {
            i += 1;
        } else if a == "-l"
            || a == "--log-level"
            || a == "--config"
            || a == "-c"
            || a == "--context"
        {
            i += 2;
        } else if a.starts_with("--log-level=")
            || a.starts_with("--config=")
            || a.starts_with("--context=")
        {
            i += 1;
        } else if a == "-v" || a == "--version" {
            println!("berth version {}", env!("CARGO_PKG_VERSION"));
            return 0;
        } else if a == "--help" || a == "-h" {
            print_help();
            return 0;
        } else if a.starts_with('-') {
            eprintln!("unknown flag: {a}\nSee 'berth --help'.");
            return 125;
        } else {
            break;
        }
    }
    let (host, default_host) =
        match host.or_else(|| std::env::var("BERTH_HOST").ok().filter(|h| !h.is_empty())) {
            Some(h) => (h, false),
            None => (DEFAULT_HOST.to_string(), true),
        };
    let mut ctx = Ctx {
        host,
        default_host,
        client: None,
    };
    let rest = &args[i..];
    if rest.is_empty() {
        print_help();
        return 0;
    }
    commands::dispatch(&mut ctx, rest)
}

fn print_help() {
    println!(
        "\nUsage:  berth [OPTIONS] COMMAND\n\nA Docker-compatible container engine\n\nCommon Commands:\n  run         Create and run a new container from an image\n  ps          List containers\n  images      List images\n  version     Show the berth version information\n  info        Display system-wide information\n\nManagement Commands:\n  compose     Docker Compose (define and run multi-container applications)\n  container   Manage containers\n  image       Manage images\n\nGlobal Options:\n  -H, --host string   Daemon socket to connect to\n  -v, --version       Print version information and quit\n"
    );
}
