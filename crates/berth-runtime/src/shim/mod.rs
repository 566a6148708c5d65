//! The per-container shim (`berthd shim ...`): owns the container's init, its stdio, its
//! json-file log and its exit status, and serves the control socket (see "The shim" in
//! docs/architecture.md). Single-threaded, no async runtime, small.
//!
//! The shim runs from the zygote (`zygote.rs`) or, without one, from `<exe> shim ...`
//! spawned through posix_spawn, which forks the real shim and exits: either way it is not
//! the daemon's child and outlives it. Its resident anonymous memory is ~230 KiB with the
//! non-PIE binary (`crates/berth/build.rs`).

mod backend;
mod exec;
mod exec_helper;
mod harden;
mod native;
mod pty;
mod sealed;
mod server;
mod zygote;
pub use backend::{find_binary, BUILTIN, LIBCONTAINER, OCI_STATE_ROOT};
pub use zygote::main as zygote_main;

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::start_error::StartError;
use serde::{Deserialize, Serialize};

/// A control request (one JSON line).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Request {
    Start,
    State,
    Kill {
        signal: i32,
    },
    Wait,
    Attach {
        #[serde(default)]
        stdin: bool,
        #[serde(default)]
        stdout: bool,
        #[serde(default)]
        stderr: bool,
    },
    /// Sets the terminal size of the init (`exec_id` absent) or of an exec.
    Resize {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exec_id: Option<String>,
        height: u16,
        width: u16,
    },
    /// Starts `process` in the running container; with any stream wanted, the connection
    /// then carries that exec's stdio (as `attach` does for the init).
    Exec {
        exec_id: String,
        process: Box<oci_spec::runtime::Process>,
        #[serde(default)]
        stdin: bool,
        #[serde(default)]
        stdout: bool,
        #[serde(default)]
        stderr: bool,
    },
    /// `{"ok":true}` now, then `{"ok":true,"exit_code":N}` when the exec ended and its
    /// output drained (at once if it already had).
    ExecWait {
        exec_id: String,
    },
}

/// The answer line to a request.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// "created", "running" or "exited" (state only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// What kind of failure a refused `start` was (with its `exit_code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<crate::start_error::StartErrorKind>,
}

/// How the container's init ended; the content of exit.json and of the `wait` event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExitStatus {
    /// Exit code, or 128+signal when killed by a signal.
    pub exit_code: i32,
    /// RFC3339 with nanoseconds.
    pub finished_at: String,
    #[serde(default)]
    pub oom_killed: bool,
}

/// What the engine passes to start a shim.
#[derive(Debug, Clone)]
pub struct SpawnOptions {
    /// The berth binary (the daemon passes /proc/self/exe); run as `<exe> shim ...`.
    pub exe: PathBuf,
    pub id: String,
    /// containers/<id>: holds bundle/, runtime/, the log, shim.sock, exit.json.
    pub dir: PathBuf,
    /// The container's logging driver and its resolved options.
    pub log: crate::logdriver::LogSpec,
    /// Keep the container's stdin open as a pipe (`-i`); otherwise /dev/null.
    pub stdin: bool,
    /// Close the container's stdin when an attached client closes its input (Docker's
    /// StdinOnce: `run -i` attached); otherwise stdin stays open for the next attach.
    pub stdin_once: bool,
    pub tty: bool,
    /// `berth` (built-in libcontainer) or an OCI runtime binary: "crun", "runc", a path.
    pub runtime: String,
}

/// A running shim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShimInfo {
    pub pid: i32,
    pub socket: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    /// The shim reported a failure (e.g. libcontainer could not create the container).
    #[error("{0}")]
    Start(crate::start_error::StartError),
    #[error("failed to run shim: {0}")]
    Io(#[from] std::io::Error),
}

/// Where shim sockets live: a short directory, because a unix socket path must fit in 108
/// bytes and data roots (and so container dirs) can be long. containerd does the same.
pub const SOCKET_DIR: &str = "/run/berth/s";

/// The shim's answer to a signal or exec once the container's init has exited; the client
/// recognises it ([`crate::client::ClientError::process_gone`]).
pub const NOT_RUNNING: &str = "container is not running";

/// The control socket of the shim of the container in `dir`: named by a hash of the
/// directory, so daemons with different data roots never share one.
pub fn socket_path(dir: &Path) -> PathBuf {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(dir.as_os_str().as_encoded_bytes());
    Path::new(SOCKET_DIR).join(hex::encode(&digest[..16]))
}

/// Paths inside a container directory.
pub fn exit_path(dir: &Path) -> PathBuf {
    dir.join("exit.json")
}
pub fn log_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}-json.log"))
}

/// Starts a shim for a created bundle (`dir/bundle/config.json`) and waits until it has
/// created the container and listens (or failed). Blocking: call it from a blocking context
/// (`tokio::task::spawn_blocking`).
pub fn spawn(opts: &SpawnOptions) -> Result<ShimInfo, ShimError> {
    let (ready_r, ready_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| ShimError::Io(e.into()))?;
    let errlog = opts.dir.join("shim.log");
    // The zygote forks a shim without an exec; if it cannot, a fresh process does.
    let (ready_r, ready_w) =
        match zygote::spawn(&opts.exe, &shim_args(opts, None), &errlog, ready_w) {
            Ok(()) => match read_ready(opts, ready_r, None) {
                // A zygote that died with our request (or cannot serve at all) must not
                // fail the container: start the shim the plain way.
                Err(ShimError::Start(e))
                    if e.message.starts_with(NO_REPORT) && !zygote::alive() =>
                {
                    tracing::warn!("shim zygote died; executing the shim");
                    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
                        .map_err(|e| ShimError::Io(e.into()))?
                }
                other => return other,
            },
            Err((e, ready_w)) => {
                tracing::debug!(error = %e, "zygote unavailable; executing the shim");
                (ready_r, ready_w)
            }
        };
    let mut cmd = Command::new(sealed::exe_path(&opts.exe));
    std::os::unix::process::CommandExt::arg0(&mut cmd, &opts.exe);
    cmd.arg("shim").args(shim_args(opts, Some(1)));
    // The shim's own diagnostics (panics) go to shim.log; it never writes to the daemon's
    // stdio. The ready pipe is the shim's stdout (it moves it away at once): with no fd to
    // place by hand and no pre-exec step, std spawns through posix_spawn (vfork), not a
    // fork that copies the whole multi-threaded daemon. The shim makes its own session.
    let errlog = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&errlog)?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(ready_w))
        .stderr(errlog);
    let mut child = cmd.spawn()?;
    drop(cmd);
    // The first shim process forks the real shim and exits at once (double fork).
    let status = child.wait()?;
    read_ready(opts, ready_r, Some(status))
}

/// The `berthd shim` arguments for `opts`; the ready fd is filled in by whoever knows it.
fn shim_args(opts: &SpawnOptions, ready_fd: Option<i32>) -> Vec<String> {
    let mut a = vec![
        "--id".to_string(),
        opts.id.clone(),
        "--dir".to_string(),
        opts.dir.to_string_lossy().into_owned(),
        "--log-spec".to_string(),
        serde_json::to_string(&opts.log).unwrap_or_default(),
        "--runtime".to_string(),
        opts.runtime.clone(),
    ];
    if let Some(fd) = ready_fd {
        a.push("--ready-fd".into());
        a.push(fd.to_string());
    }
    for (on, flag) in [
        (opts.stdin, "--stdin"),
        (opts.stdin_once, "--stdin-once"),
        (opts.tty, "--tty"),
    ] {
        if on {
            a.push(flag.into());
        }
    }
    a
}

/// Reads the shim's one-line report from the ready pipe: the first line only, since the
/// not-yet-exec'd init still holds the pipe open (no EOF to wait for).
fn read_ready(
    opts: &SpawnOptions,
    ready_r: OwnedFd,
    status: Option<std::process::ExitStatus>,
) -> Result<ShimInfo, ShimError> {
    // One line only: the container's init inherited the pipe too (it is not closed before
    // the init execs), so EOF does not come.
    let mut f = std::fs::File::from(ready_r);
    let mut raw = Vec::new();
    let mut b = [0u8; 1];
    while f.read(&mut b)? == 1 && b[0] != b'\n' {
        raw.push(b[0]);
    }
    let msg = String::from_utf8_lossy(&raw);
    let msg = msg.trim_end();
    if let Some(pid) = msg.strip_prefix("ready ") {
        let pid = pid.trim().parse().map_err(|_| {
            ShimError::Start(StartError::classify(format!(
                "bad shim ready message {msg:?}"
            )))
        })?;
        return Ok(ShimInfo {
            pid,
            socket: socket_path(&opts.dir),
        });
    }
    if let Some(err) = msg.strip_prefix("error ") {
        // The shim's structured report (`server::report_failure`).
        return Err(ShimError::Start(
            serde_json::from_str(err).unwrap_or_else(|_| StartError::classify(err)),
        ));
    }
    let how = status.map(|s| format!(" ({s})")).unwrap_or_default();
    Err(ShimError::Start(StartError::classify(format!(
        "{NO_REPORT}{how}; see {}",
        opts.dir.join("shim.log").display()
    ))))
}

const NO_REPORT: &str = "shim exited without reporting";

/// Parsed `berthd shim` arguments.
#[derive(Debug, Default)]
struct Args {
    id: String,
    dir: PathBuf,
    log: crate::logdriver::LogSpec,
    stdin: bool,
    stdin_once: bool,
    tty: bool,
    ready_fd: Option<i32>,
    runtime: String,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut a = Args::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut val = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--id" => a.id = val("--id")?,
            "--dir" => a.dir = PathBuf::from(val("--dir")?),
            "--log-spec" => {
                a.log = serde_json::from_str(&val("--log-spec")?)
                    .map_err(|e| format!("bad --log-spec: {e}"))?
            }
            "--ready-fd" => {
                a.ready_fd = Some(
                    val("--ready-fd")?
                        .parse()
                        .map_err(|_| "bad --ready-fd".to_string())?,
                )
            }
            "--runtime" => a.runtime = val("--runtime")?,
            "--stdin" => a.stdin = true,
            "--stdin-once" => a.stdin_once = true,
            "--tty" => a.tty = true,
            other => return Err(format!("unknown shim argument {other:?}")),
        }
    }
    if a.id.is_empty() || a.dir.as_os_str().is_empty() {
        return Err("usage: berthd shim --id ID --dir DIR [--log-spec JSON] [--stdin] [--tty] [--ready-fd FD]".into());
    }
    Ok(a)
}

/// Entry point of `berthd shim ARGS` (ARGS without the "shim" word). Returns the exit code.
pub fn main(args: &[String]) -> i32 {
    // What the daemon left ignored, before this process changes anything.
    harden::note_ignored_signals();
    let a = match parse_args(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("berth shim: {e}");
            return 2;
        }
    };
    let ready: Option<OwnedFd> = match a.ready_fd {
        // The spawner passes the pipe as stdout: move it off fd 1, which becomes /dev/null.
        Some(1) => {
            let moved = nix::fcntl::fcntl(1, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3));
            if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
                let _ = nix::unistd::dup2(null.as_raw_fd(), 1);
            }
            // SAFETY: a fresh duplicate that nothing else owns.
            moved
                .ok()
                .map(|fd| unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
        }
        // SAFETY: the spawner handed us this fd and nothing else owns it.
        Some(fd) => Some(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) }),
        None => None,
    };
    // Second fork: the spawner's child exits so the shim is re-parented away from the daemon.
    // SAFETY: single-threaded here (nothing has started any thread yet).
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { .. }) => return 0,
        Ok(nix::unistd::ForkResult::Child) => {
            // A new session: no controlling terminal, not in the daemon's process group.
            if let Err(e) = nix::unistd::setsid() {
                server::report_failure(ready, &format!("setsid: {e}"));
                return 1;
            }
        }
        Err(e) => {
            server::report_failure(ready, &format!("fork: {e}"));
            return 1;
        }
    }
    server::run(a, ready)
}

/// Rewrites what /proc/self/cmdline shows (the argv area inherited from the shim), NUL
/// separated, cut to the area's size.
pub(super) fn set_cmdline(args: &[String]) {
    let Some((start, end)) = argv_area() else {
        return;
    };
    let mut text: Vec<u8> = args.join("\0").into_bytes();
    text.truncate(end - start - 1);
    text.resize(end - start, 0);
    // SAFETY: [start, end) is this process's own argv area, mapped and writable (it lies on
    // the initial stack); nothing reads the old argv any more.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), start as *mut u8, text.len());
    }
}

/// This process's argv area, `[arg_start, arg_end)` of /proc/self/stat (fields 48, 49);
/// None if it cannot be read or is empty. Read once: a forked child (the zygote's shims,
/// their inits) has the same area at the same addresses, so the zygote reads it before its
/// first fork (`warm`) and no shim reads /proc/self/stat again.
fn argv_area() -> Option<(usize, usize)> {
    static AREA: std::sync::OnceLock<Option<(usize, usize)>> = std::sync::OnceLock::new();
    *AREA.get_or_init(|| {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the parenthesised command name.
        let rest = stat.rsplit_once(')').map(|(_, r)| r)?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let start = fields.get(45)?.parse::<usize>().ok()?;
        let end = fields.get(46)?.parse::<usize>().ok()?;
        (end > start).then_some((start, end))
    })
}

/// Computes, in the zygote before it forks, what every shim would otherwise compute for
/// itself: the argv area, the main stack's start (`server::trim`), and sha2's detection of
/// the CPU's features (each shim hashes its directory into its socket's name; the
/// detection's `cpuid` traps to the hypervisor in a VM). Forked shims inherit the results.
pub(super) fn warm() {
    let _ = argv_area();
    let _ = server::stack_start();
    let _ = socket_path(Path::new("/"));
}
