//! Helpers for the compose and seed test files: a project directory, a project's containers
//! by their compose label, a shell `command:` in flow syntax, a plain HTTP GET, and the
//! berth-compose / docker compose pair of the differential compose tests.

use crate::{berth_bin, compose_bin, NetGuard, TestDaemon};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

/// Writes `files` (relative path, contents) under the project directory `d.dir/<name>`,
/// keeping what is already there (tests add an override file later).
pub fn write_project(d: &TestDaemon, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = d.dir().join(name);
    std::fs::create_dir_all(&dir).expect("project dir");
    for (rel, text) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("project dir");
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    dir
}

/// A project directory `name` holding one `compose.yaml`.
pub fn compose_yaml(d: &TestDaemon, name: &str, yaml: &str) -> PathBuf {
    write_project(d, name, &[("compose.yaml", yaml)])
}

/// `docker ps -a ARGS` of the containers labelled with `project`, sorted lines.
fn project_ps(d: &TestDaemon, project: &str, args: &[&str]) -> Vec<String> {
    let filter = format!("label=com.docker.compose.project={project}");
    let mut all = vec!["ps", "-a", "--filter", &filter];
    all.extend_from_slice(args);
    let mut v: Vec<String> = d
        .docker(all)
        .run()
        .success()
        .out()
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// The names of `project`'s containers (all states), sorted.
pub fn project_names(d: &TestDaemon, project: &str) -> Vec<String> {
    project_ps(d, project, &["--format", "{{.Names}}"])
}

/// The full ids of `project`'s containers (all states), sorted.
pub fn project_ids(d: &TestDaemon, project: &str) -> Vec<String> {
    project_ps(d, project, &["-q", "--no-trunc"])
}

/// A `command:` in flow syntax running `script` with sh (JSON strings are YAML scalars).
pub fn sh_command(script: &str) -> String {
    format!(
        "[\"sh\", \"-c\", {}]",
        serde_json::Value::String(script.to_string())
    )
}

/// The body of `GET path` on 127.0.0.1:port; None until something answers with 200.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
        .ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let (head, body) = resp.split_once("\r\n\r\n")?;
    (head.starts_with("HTTP/1.") && head.contains(" 200 ")).then(|| body.to_string())
}

/// The two compose implementations the differential compose tests run side by side.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tool {
    Berth,
    DockerCompose,
}

/// Both tools, berth's first.
pub const TOOLS: [Tool; 2] = [Tool::Berth, Tool::DockerCompose];

impl Tool {
    /// A project name of the tool's own, so both can run on one daemon.
    pub fn project(self, base: &str) -> String {
        match self {
            Tool::Berth => format!("{base}b"),
            Tool::DockerCompose => format!("{base}d"),
        }
    }

    /// The tool's command against `host`, in `dir`.
    pub fn command(self, host: &str, dir: &Path) -> Command {
        let mut c = match self {
            Tool::Berth => {
                let mut c = Command::new(berth_bin());
                c.arg("-H").arg(host).arg("compose");
                c
            }
            Tool::DockerCompose => {
                let mut c = Command::new(compose_bin());
                c.env("DOCKER_HOST", host).env_remove("DOCKER_CONTEXT");
                c
            }
        };
        c.env_remove("COMPOSE_PROJECT_NAME")
            .env_remove("COMPOSE_FILE")
            .env_remove("COMPOSE_PROFILES")
            .current_dir(dir);
        c
    }
}

/// docker compose with the classic builder (neither buildx nor BuildKit is installed).
pub const CLASSIC_BUILDER_ENV: [(&str, &str); 2] =
    [("DOCKER_BUILDKIT", "0"), ("COMPOSE_BAKE", "false")];

/// A compose command left running (`up` in the foreground, `watch`, `logs -f`), its stdout
/// and stderr in one file under the project directory; killed on drop.
pub struct Background {
    child: Child,
    log: PathBuf,
}

impl Background {
    /// `tool ARGS` in `dir` against `d`, with `env` added to its environment (docker
    /// compose's classic-builder variables where a test builds).
    pub fn start(
        d: &TestDaemon,
        tool: Tool,
        dir: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Background {
        let log = dir.join(format!("bg-{tool:?}.log"));
        let out = std::fs::File::create(&log).expect("log");
        let err = out.try_clone().expect("log");
        let mut cmd = tool.command(&d.host(), dir);
        cmd.envs(env.iter().copied());
        let child = cmd
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn");
        Background { child, log }
    }

    /// What it printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGINT (a user's Ctrl-C), then its exit status within 30 s.
    pub fn interrupt(&mut self) -> Option<ExitStatus> {
        // SAFETY: a signal to the child this test spawned.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        for _ in 0..300 {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `compose ARGS` in `dir` through `tool` against `d`. docker compose uses the classic
/// builder: neither buildx nor BuildKit is installed.
pub fn run_compose(d: &TestDaemon, tool: Tool, dir: &Path, args: &[&str]) -> crate::Output {
    match tool {
        Tool::Berth => d.berth_compose(dir, args).run(),
        Tool::DockerCompose => d
            .compose(dir, args)
            .env("DOCKER_BUILDKIT", "0")
            .env("COMPOSE_BAKE", "false")
            .run(),
    }
}

/// A project directory `name` holding `services` (YAML under `services:`) and the default
/// network on the guard's bridge.
pub fn bridged_project(d: &TestDaemon, g: &mut NetGuard, name: &str, services: &str) -> PathBuf {
    bridged(d, g, name, "", services)
}

/// [`bridged_project`] with the project's `name:` written at the top.
pub fn named_bridged_project(
    d: &TestDaemon,
    g: &mut NetGuard,
    name: &str,
    services: &str,
) -> PathBuf {
    bridged(d, g, name, &format!("name: {name}\n"), services)
}

fn bridged(d: &TestDaemon, g: &mut NetGuard, name: &str, head: &str, services: &str) -> PathBuf {
    let br = g.bridge();
    let yaml = format!(
        "{head}services:\n{services}networks:\n  default:\n    driver_opts:\n      com.docker.network.bridge.name: {br}\n"
    );
    compose_yaml(d, name, &yaml)
}

/// The ids of `project`'s containers, as `docker ps -aq` prints them ("" when none).
pub fn project_left(d: &TestDaemon, project: &str) -> String {
    d.docker([
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
    ])
    .run()
    .out()
}

/// Copies the tree `from` to `to` (files and directories only).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let dst = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).expect("copy");
        }
    }
}

/// What a differential compose comparison reports for one case: both exit codes and both
/// outputs (stdout then stderr), docker compose's first.
pub fn difference_report(
    case: &str,
    want: &std::process::Output,
    got: &std::process::Output,
) -> String {
    format!(
        "{case}: exit want {:?} got {:?}\n--- docker compose\n{}{}\n--- berth\n{}{}",
        want.status.code(),
        got.status.code(),
        String::from_utf8_lossy(&want.stdout),
        String::from_utf8_lossy(&want.stderr),
        String::from_utf8_lossy(&got.stdout),
        String::from_utf8_lossy(&got.stderr),
    )
}

/// The compose config corpus's cases (`crates/berth-tests/compose-corpus/*/`), sorted, as
/// (name, directory), apart from `no-interpolate` (a file only `--no-interpolate` loads:
/// compose_config tests it on its own).
pub fn corpus_cases() -> Vec<(String, PathBuf)> {
    let corpus = crate::workspace_root().join("crates/berth-tests/compose-corpus");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "the corpus is there: {cases:?}");
    cases
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            (name, p)
        })
        .filter(|(name, _)| name != "no-interpolate")
        .collect()
}
