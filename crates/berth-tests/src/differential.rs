//! The differential harness: the same command lines against a private real dockerd
//! ([`Dockerd`], Debian's docker.io 20.10) and a private berth daemon ([`TestDaemon`]), the
//! outputs normalised ([`normalise`]) and compared.
//!
//! A [`Scenario`] is a few lines of data: a bash script run with `docker` (the real CLI)
//! pointed at each daemon, plus an optional setup whose output is not compared. The script
//! is run three times — the docker CLI against dockerd (the reference), the docker CLI
//! against berth, and (unless `berth_cli: false`) berth's CLI against berth (a `docker`
//! wrapper first on PATH runs `berth -H ...`) — and the exit code, stdout and stderr of
//! each berth run must equal the reference's after normalisation. Between scenarios both
//! daemons are reset (containers, user networks, volumes and every image but the busybox
//! fixture go), so a scenario starts from the same state everywhere.
//!
//! In a script:
//! - `docker ...` — the docker CLI (API version negotiated: 1.41 with dockerd 20.10,
//!   berth's own with berth; pin one with `DOCKER_API_VERSION=1.NN docker ...`).
//! - `api METHOD /v1.NN/PATH [curl args]` — a raw API request; the body goes to stdout, the
//!   line `HTTP <status>` to stderr. `apij METHOD PATH JSON` sends a JSON body.
//! - `$SOCK`, `$SCRATCH` (an empty directory per run, the script's cwd), `$BUSYBOX_TAR`,
//!   `$BAD` (the malformed archives), and per daemon: `$BRIDGE` (its default bridge),
//!   `$NET` (its default bridge's prefix, e.g. `10.214.7`: containers get `$NET.2` ...),
//!   `$POOL` (the prefix `network create` draws /26s from), `$SUBA`, `$SUBB` (two free /24
//!   prefixes for `--subnet $SUBA.0/24`), `$PORT` (a host port for `-p 127.0.0.1:$PORT:80`;
//!   $PORT+1 .. +7 are its too), `$ROOT` (its data root). Each is normalised to `<NAME>` in
//!   outputs.
//! - `DOCKER_BUILDKIT=0` is set: `docker build` uses the classic builder on both.
//!
//! Where dockerd 20.10 and moby 28 differ, the scenario gives moby 28's output in
//! [`Moby28`] (with the reason): it replaces the reference's, and berth must match it.
//!
//! One [`Differ`] (one dockerd, one berth daemon) serves a test function's scenarios; every
//! difference is collected and reported at the end with both outputs. `COMPAT_ONLY=text`
//! runs only the scenarios whose name contains `text`.
//!
//! The docker CLI 28 does not keep the order of several `-e`: scenarios about environment
//! order send raw API bodies.

pub mod normalise;

use crate::{bad_archives, berth_bin, busybox_tar, run_command, Dockerd, TestDaemon};
use normalise::Normaliser;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// One difference to look for: run `run` on both daemons, compare.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// What docker does, in a few words (shown in the report).
    pub name: &'static str,
    /// bash run before `run` on each daemon with the docker CLI; its output is not compared
    /// (but it must succeed).
    pub setup: &'static str,
    /// The compared bash script.
    pub run: &'static str,
    /// Also run `run` with berth's CLI against berth (default true; API-only scenarios say
    /// false).
    pub berth_cli: bool,
    /// moby 28's output where dockerd 20.10's differs from it.
    pub moby28: Option<Moby28>,
    /// Seconds each script may take.
    pub timeout: u64,
}

impl Scenario {
    /// The defaults: `Scenario { name, run, ..Scenario::DEFAULT }`.
    pub const DEFAULT: Scenario = Scenario {
        name: "",
        setup: "",
        run: "",
        berth_cli: true,
        moby28: None,
        timeout: 60,
    };
}

/// moby 28's expected (normalised) output, replacing what dockerd 20.10 gives for the parts
/// given.
#[derive(Debug, Clone, Copy)]
pub struct Moby28 {
    pub code: Option<i32>,
    pub stdout: Option<&'static str>,
    pub stderr: Option<&'static str>,
    /// Why dockerd 20.10 is not the reference here (the moby change).
    pub why: &'static str,
}

impl Moby28 {
    pub const DEFAULT: Moby28 = Moby28 {
        code: None,
        stdout: None,
        stderr: None,
        why: "",
    };
}

/// What one run printed, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Observed {
    fn show(&self, out: &mut String) {
        let _ = writeln!(out, "  exit {}", self.code);
        let _ = writeln!(out, "  stdout:");
        for l in self.stdout.lines() {
            let _ = writeln!(out, "    |{l}");
        }
        let _ = writeln!(out, "  stderr:");
        for l in self.stderr.lines() {
            let _ = writeln!(out, "    |{l}");
        }
    }
}

/// Bash functions every script (and the reset) gets.
const PRELUDE: &str = r#"
api() {
    local m=$1 p=$2 code; shift 2
    code=$(curl -sS -o "$SCRATCH/.api-body" -w '%{http_code}' -X "$m" --unix-socket "$SOCK" "$@" "http://localhost$p")
    echo "HTTP $code" >&2
    cat "$SCRATCH/.api-body" 2>/dev/null; rm -f "$SCRATCH/.api-body"
}
apij() { local m=$1 p=$2; shift 2; api "$m" "$p" -H 'Content-Type: application/json' --data-binary "$@"; }
"#;

/// Back to the fixture state: no containers, user networks, volumes, or images but
/// busybox:latest (untagged first, then the dangling ones, twice for parent chains).
/// Networks go in passes until none is left or a pass removes nothing (at most 8): a
/// configuration-only network (`--config-only`) cannot go while a network created from it
/// (`--config-from`) exists, and the list's order may put it first.
const RESET: &str = r#"
q() { api "$@" 2>/dev/null; }
for id in $(q GET '/v1.41/containers/json?all=1' | jq -r '.[].Id'); do q DELETE "/v1.41/containers/$id?force=1&v=1" >/dev/null; done
nets() { q GET /v1.41/networks | jq -r '.[] | select(.Name != "bridge" and .Name != "host" and .Name != "none") | .Id' | sort; }
left=$(nets)
for pass in 1 2 3 4 5 6 7 8; do
  [ -z "$left" ] && break
  for n in $left; do q DELETE "/v1.41/networks/$n" >/dev/null; done
  now=$(nets)
  [ "$now" = "$left" ] && break
  left=$now
done
for v in $(q GET /v1.41/volumes | jq -r '.Volumes[]?.Name'); do q DELETE "/v1.41/volumes/$v?force=1" >/dev/null; done
for r in $(q GET /v1.41/images/json | jq -r '.[].RepoTags[]?' | grep -vx -e 'busybox:latest' -e '<none>:<none>'); do q DELETE "/v1.41/images/$r" >/dev/null; done
for pass in 1 2; do
  for i in $(q GET '/v1.41/images/json?all=1' | jq -r '.[] | select(((.RepoTags // []) - ["<none>:<none>"]) | length == 0) | .Id'); do q DELETE "/v1.41/images/$i?force=1" >/dev/null; done
done
q POST '/v1.41/build/prune?all=1' >/dev/null
true
"#;

/// A daemon a script runs against, with the strings that are its own.
struct Target {
    label: &'static str,
    socket: PathBuf,
    docker_config: PathBuf,
    dir: PathBuf,
    /// `(VAR, value, placeholder)`: exported to scripts and normalised in outputs.
    vars: Vec<(&'static str, String, &'static str)>,
}

impl Target {
    fn literals(&self) -> Vec<(String, String)> {
        let mut l: Vec<(String, String)> = self
            .vars
            .iter()
            .map(|(_, v, p)| (v.clone(), p.to_string()))
            .collect();
        l.push((self.dir.to_string_lossy().into_owned(), "<DIR>".into()));
        l
    }

    /// Runs `script` (bash) against this daemon; `berth_cli`: `docker` is berth's CLI.
    fn bash(&self, script: &str, berth_cli: bool, timeout: u64) -> crate::Output {
        let scratch = self.dir.join("scratch");
        let _ = fs::remove_dir_all(&scratch);
        fs::create_dir_all(&scratch).expect("scratch dir");
        let mut path = std::env::var("PATH").unwrap_or_default();
        if berth_cli {
            let bin = self.dir.join("berth-as-docker");
            fs::create_dir_all(&bin).expect("wrapper dir");
            let wrapper = bin.join("docker");
            fs::write(
                &wrapper,
                format!(
                    "#!/bin/sh\nexec '{}' -H \"$DOCKER_HOST\" \"$@\"\n",
                    berth_bin().display()
                ),
            )
            .expect("write wrapper");
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).expect("chmod");
            path = format!("{}:{path}", bin.display());
        }
        let mut cmd = Command::new("bash");
        cmd.arg("--noprofile")
            .arg("--norc")
            .arg("-c")
            .arg(format!("{PRELUDE}\n{script}"))
            .current_dir(&scratch)
            .env("PATH", path)
            .env("DOCKER_HOST", format!("unix://{}", self.socket.display()))
            .env("DOCKER_CONFIG", &self.docker_config)
            .env("DOCKER_CLI_HINTS", "false")
            .env("DOCKER_BUILDKIT", "0")
            .env("BERTH_NO_AUTOSTART", "1")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_API_VERSION")
            .env_remove("BERTH_HOST")
            .env("SOCK", &self.socket)
            .env("SCRATCH", &scratch)
            .env("BUSYBOX_TAR", busybox_tar())
            .env("BAD", bad_archives());
        for (var, value, _) in &self.vars {
            cmd.env(var, value);
        }
        run_command(cmd, None, Duration::from_secs(timeout))
    }

    fn reset(&self) {
        let out = self.bash(RESET, false, 120);
        assert_eq!(out.code, 0, "reset of {} failed: {out:?}", self.label);
    }

    /// Reset, setup, then the scenario's script; normalised.
    fn observe(&self, s: &Scenario, berth_cli: bool) -> Result<Observed, String> {
        self.reset();
        if !s.setup.trim().is_empty() {
            let out = self.bash(s.setup, false, s.timeout);
            if out.code != 0 || out.timed_out {
                return Err(format!(
                    "setup failed on {}: exit {}\n{}\n{}",
                    self.label, out.code, out.stdout, out.stderr
                ));
            }
        }
        let out = self.bash(s.run, berth_cli, s.timeout);
        let lits = self.literals();
        let mut n = Normaliser::new(&lits, berth_cli);
        let stdout = n.apply(&out.stdout);
        let mut stderr = n.apply(&out.stderr);
        if out.timed_out {
            stderr.push_str("\n<TIMED OUT>");
        }
        Ok(Observed {
            code: out.code,
            stdout,
            stderr,
        })
    }
}

/// A private dockerd and a private berth daemon, side by side, with the busybox fixture
/// loaded into both. Field order: the dockerd goes first on drop.
pub struct Differ {
    pub dockerd: Dockerd,
    pub berth: TestDaemon,
    /// The private subuid/subgid files of a remapped berth (see [`Self::start_remapped`]),
    /// removed after both daemons.
    _ranges: Option<tempfile::TempDir>,
}

impl Differ {
    /// Starts both daemons (in parallel) and loads the fixture into both.
    pub fn start() -> Differ {
        Self::start_with_config("")
    }

    /// [`Self::start`] with daemon.json keys for berth ([`TestDaemon::start_with_config`]).
    pub fn start_with_config(berth_json: &str) -> Differ {
        let json = berth_json.to_string();
        let berth = std::thread::spawn(move || TestDaemon::start_with_config(&json));
        let dockerd = Dockerd::start();
        let berth = berth
            .join()
            .unwrap_or_else(|_| panic!("the berth daemon did not start"));
        Differ {
            dockerd,
            berth,
            _ranges: None,
        }
    }

    /// Both daemons with `userns-remap` of the host's `daemon` user onto the same 65536 ids
    /// from `base`: berth through its range-file hook (`BERTH_SUBUID_FILE`,
    /// `BERTH_SUBGID_FILE`), dockerd with private copies of /etc/subuid and /etc/subgid
    /// ([`crate::dockerd::Remap`]); the host's files are not touched. Both data dirs are
    /// made traversable, as a bind-mounted scratch directory must be for the remapped root.
    pub fn start_remapped(base: u32) -> Differ {
        let line = format!("daemon:{base}:65536\n");
        let ranges = tempfile::Builder::new()
            .prefix("berth-remap-")
            .tempdir()
            .expect("range files dir");
        let (uid_file, gid_file) = (ranges.path().join("subuid"), ranges.path().join("subgid"));
        fs::write(&uid_file, &line).expect("write subuid");
        fs::write(&gid_file, &line).expect("write subgid");
        let env = [
            (
                "BERTH_SUBUID_FILE".to_string(),
                uid_file.display().to_string(),
            ),
            (
                "BERTH_SUBGID_FILE".to_string(),
                gid_file.display().to_string(),
            ),
        ];
        let berth = std::thread::spawn(move || {
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            TestDaemon::start_with_env_args(&env, &["--userns-remap", "daemon"])
        });
        let dockerd = Dockerd::start_remapped(crate::dockerd::Remap {
            user: "daemon".into(),
            subuid: line.clone(),
            subgid: line,
            whole_etc: false,
        });
        let berth = berth
            .join()
            .unwrap_or_else(|_| panic!("the berth daemon did not start"));
        use std::os::unix::fs::PermissionsExt;
        for d in [&dockerd.dir, &berth.dir] {
            fs::set_permissions(d, fs::Permissions::from_mode(0o755)).expect("chmod daemon dir");
        }
        Differ {
            dockerd,
            berth,
            _ranges: Some(ranges),
        }
    }

    fn targets(&self) -> (Target, Target) {
        let d = &self.dockerd;
        let dn = d.net.n;
        let reference = Target {
            label: "dockerd",
            socket: d.socket.clone(),
            docker_config: d.docker_config().to_path_buf(),
            dir: d.dir.clone(),
            vars: vec![
                ("BRIDGE", d.bridge(), "<BRIDGE>"),
                ("NET", d.net_prefix(), "<NET>"),
                ("POOL", d.pool_prefix(), "<POOL>"),
                ("SUBA", format!("10.220.{dn}"), "<SUBA>"),
                ("SUBB", format!("10.221.{dn}"), "<SUBB>"),
                ("SOCK", d.socket.to_string_lossy().into_owned(), "<SOCK>"),
                ("PORT", port_of(dn), "<PORT>"),
                (
                    "ROOT",
                    d.dir.join("root").to_string_lossy().into_owned(),
                    "<ROOT>",
                ),
            ],
        };
        let b = &self.berth;
        let bn = b.net.n;
        let subject = Target {
            label: "berth",
            socket: b.socket.clone(),
            docker_config: b.docker_config().to_path_buf(),
            dir: b.dir.clone(),
            vars: vec![
                ("BRIDGE", b.net.bridge(), "<BRIDGE>"),
                ("NET", format!("10.214.{bn}"), "<NET>"),
                ("POOL", format!("10.215.{bn}"), "<POOL>"),
                ("SUBA", format!("10.220.{bn}"), "<SUBA>"),
                ("SUBB", format!("10.221.{bn}"), "<SUBB>"),
                ("SOCK", b.socket.to_string_lossy().into_owned(), "<SOCK>"),
                ("PORT", port_of(bn), "<PORT>"),
                ("ROOT", b.data_root.to_string_lossy().into_owned(), "<ROOT>"),
            ],
        };
        (reference, subject)
    }

    /// Back to the fixture state on both daemons (what runs before every scenario).
    pub fn reset(&self) {
        let (reference, subject) = self.targets();
        reference.reset();
        subject.reset();
    }

    /// Runs every scenario (those `COMPAT_ONLY` selects) and panics with a report of every
    /// difference.
    pub fn check(&self, scenarios: &[Scenario]) {
        let only = std::env::var("COMPAT_ONLY").unwrap_or_default();
        let (reference, subject) = self.targets();
        let mut report = String::new();
        let mut ran = 0;
        let mut failed = 0;
        for s in scenarios.iter().filter(|s| s.name.contains(only.as_str())) {
            ran += 1;
            let diffs = compare(s, &reference, &subject);
            if !diffs.is_empty() {
                failed += 1;
                report.push_str(&diffs);
            }
        }
        eprintln!("differential: {ran} scenarios, {failed} differ");
        assert!(failed == 0, "{failed} of {ran} scenarios differ:\n{report}");
    }
}

/// A loopback port no other daemon's scripts use: both daemons publish on the host.
fn port_of(slot: u32) -> String {
    (40000 + slot * 8).to_string()
}

/// Runs one scenario on both sides (dockerd in parallel with berth's runs); the report of
/// its differences, empty when none.
fn compare(s: &Scenario, reference: &Target, subject: &Target) -> String {
    let (expected, got) = std::thread::scope(|scope| {
        let r = scope.spawn(|| reference.observe(s, false));
        let mut got = vec![("docker CLI -> berth", subject.observe(s, false))];
        if s.berth_cli {
            got.push(("berth CLI -> berth", subject.observe(s, true)));
        }
        let expected = r
            .join()
            .unwrap_or_else(|_| Err("the dockerd run panicked".into()));
        (expected, got)
    });
    let mut out = String::new();
    let mut expected = match expected {
        Ok(e) => e,
        Err(e) => return format!("\n=== {}: {e}\n", s.name),
    };
    let mut source = "dockerd 20.10".to_string();
    if let Some(m) = &s.moby28 {
        if let Some(c) = m.code {
            expected.code = c;
        }
        if let Some(o) = m.stdout {
            expected.stdout = o.trim_end().to_string();
        }
        if let Some(e) = m.stderr {
            expected.stderr = e.trim_end().to_string();
        }
        source = format!("moby 28 (dockerd 20.10 differs: {})", m.why);
    }
    for (label, g) in got {
        match g {
            Ok(g) if g == expected => {}
            Ok(g) => {
                let _ = writeln!(out, "\n=== {} [{label}]", s.name);
                let _ = writeln!(out, "script:");
                for l in s.run.trim().lines() {
                    let _ = writeln!(out, "  $ {l}");
                }
                let _ = writeln!(out, "--- expected, from {source}:");
                expected.show(&mut out);
                let _ = writeln!(out, "--- berth:");
                g.show(&mut out);
            }
            Err(e) => {
                let _ = writeln!(out, "\n=== {} [{label}]: {e}", s.name);
            }
        }
    }
    out
}
