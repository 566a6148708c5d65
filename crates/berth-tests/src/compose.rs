//! Helpers for the compose and seed test files: a project directory, a project's containers
//! by their compose label, a shell `command:` in flow syntax, and a plain HTTP GET.

use crate::TestDaemon;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
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
