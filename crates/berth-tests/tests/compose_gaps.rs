//! The last gaps of `berth compose` against the real docker compose 2.40.3 (prefix
//! `compose_gaps_`): `config --no-normalize` over the config corpus (byte for byte, yaml
//! and json, interpolated or not); `up`'s flag checks (`--watch` with `-d`, `--wait` or
//! `--no-build`, `--wait` implying `--detach`) with compose's messages; the `post_start`
//! hooks' output in a foreground `up` (`app-1 ->  | line`); `--dry-run up` in the
//! foreground (compose's "interactive run is not supported in dry-run mode"); Ctrl-C's
//! "Gracefully Stopping..." line; `--dry-run watch` (it watches and reports, nothing is
//! created); `logs -f --until` (ends at the bound instead of following).
//! Each scenario runs with `berth compose` and with docker compose against the same berth
//! daemon (projects of their own) and compares what the user sees.
//!
//! Safety: every project's network gets a bridge named by the test (removed by the
//! guard); nothing is published.

use berth_tests::compose::{
    copy_dir, corpus_cases, difference_report, named_bridged_project, project_left, run_compose,
    Background, Tool, TOOLS,
};
use berth_tests::nettest::watched_daemon;
use berth_tests::{eventually, NetGuard};
use std::process::Command;

/// `config --no-normalize` (no implicit default network, dependencies, resource names,
/// Dockerfile default nor environment lookups) prints what docker compose prints, byte
/// for byte, over the whole config corpus: yaml, json, and without interpolation.
#[test]
fn compose_gaps_config_no_normalize_equals_docker_compose() {
    let mut failures = Vec::new();
    let mut compared = 0;
    for (name, case) in &corpus_cases() {
        let dir = std::env::temp_dir().join(format!("bt-cg-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(case, &dir);
        let base: Vec<String> = match std::fs::read_to_string(case.join("args")) {
            Ok(a) => a.split_whitespace().map(String::from).collect(),
            Err(_) => vec!["config".into()],
        };
        for extra in [
            &["--no-normalize"][..],
            &["--no-normalize", "--format", "json"][..],
            &["--no-normalize", "--no-interpolate"][..],
            &["--no-normalize", "--no-interpolate", "--format", "json"][..],
        ] {
            let mut args = base.clone();
            args.extend(extra.iter().map(|s| s.to_string()));
            let run = |tool: Tool| {
                tool.command("unix:///nonexistent.sock", &dir)
                    .args(&args)
                    .env("DB_PASS", "from-the-test-environment")
                    .output()
                    .expect("run")
            };
            let want = run(Tool::DockerCompose);
            let got = run(Tool::Berth);
            compared += 1;
            if want.stdout != got.stdout || want.status.success() != got.status.success() {
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

/// `up`'s flag combinations compose refuses before loading anything, refused by berth
/// with the same message and exit code (no daemon involved).
#[test]
fn compose_gaps_up_flag_conflicts_as_docker_compose() {
    let dir = std::env::temp_dir().join(format!("bt-cg-flags-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("compose.yaml"),
        "services:\n  a:\n    image: busybox\n    develop:\n      watch:\n        - path: ./src\n          action: sync\n          target: /src\n",
    )
    .expect("compose.yaml");
    let mut differ = Vec::new();
    for args in [
        &["up", "-d", "--watch"][..],
        &["up", "--wait", "--watch"][..],
        &["up", "--no-build", "--watch"][..],
        &["up", "--wait", "--attach", "a"][..],
        &["up", "--wait", "--abort-on-container-exit"][..],
        &["up", "--wait", "--abort-on-container-failure"][..],
        &["up", "-d", "--exit-code-from", "a"][..],
        &[
            "up",
            "--abort-on-container-failure",
            "--abort-on-container-exit",
        ][..],
        &["up", "-d", "--attach-dependencies"][..],
        &["--dry-run", "up", "-d", "--watch"][..],
    ] {
        let run = |tool: Tool| {
            tool.command("unix:///nonexistent.sock", &dir)
                .args(args)
                .output()
                .expect("run")
        };
        let want = run(Tool::DockerCompose);
        let got = run(Tool::Berth);
        let key = |o: &std::process::Output| {
            (
                o.status.code(),
                String::from_utf8_lossy(&o.stderr).trim().to_string(),
            )
        };
        assert_ne!(want.status.code(), Some(0), "{args:?}: compose refuses it");
        if key(&want) != key(&got) {
            differ.push(format!(
                "{args:?}: want {:?} got {:?}",
                key(&want),
                key(&got)
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// The hook lines of a foreground `up`'s output: (name before ` | `, text), in order.
fn hook_lines(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| l.split_once(" | "))
        .filter(|(n, _)| n.trim_end().ends_with(" ->"))
        .map(|(n, t)| (n.trim_end().to_string(), t.to_string()))
        .collect()
}

/// A foreground `up` shows the post_start hooks' output (stdout and stderr) as compose
/// does: under `app-1 ->`, lined up with the containers' names; the container's own
/// output is shown as well. Ctrl-C prints compose's "Gracefully Stopping..." line on
/// stdout and stops the containers (no pre_stop output, as compose).
#[test]
fn compose_gaps_foreground_up_shows_hook_output() {
    let mut g = NetGuard::new("bt-cg1");
    let d = watched_daemon(&mut g);
    let mut seen = Vec::new();
    for tool in TOOLS {
        let name = tool.project("ghk");
        let dir = named_bridged_project(
            &d,
            &mut g,
            &name,
            "  app:\n    image: busybox\n    command: sh -c 'echo main-out; sleep 1; echo main-end'\n    post_start:\n      - command: sh -c 'echo hook-out; echo hook-err >&2'\n      - command: echo second\n",
        );
        let out = run_compose(&d, tool, &dir, &["up"]);
        out.success();
        let hooks = hook_lines(&out.stdout);
        assert_eq!(
            hooks,
            [
                ("app-1 ->", "hook-out"),
                ("app-1 ->", "hook-err"),
                ("app-1 ->", "second")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string())),
            "{tool:?}:\n{}",
            out.stdout
        );
        // The hook's name counts in the width: `app-1 ->` plus one space, then ` | `.
        assert!(
            out.stdout.contains("app-1 ->  | hook-out\n"),
            "{tool:?}:\n{}",
            out.stdout
        );
        assert!(out.stdout.contains("main-end"), "{tool:?}:\n{}", out.stdout);
        assert!(
            out.stdout.starts_with("Attaching to app-1\n"),
            "{tool:?}:\n{}",
            out.stdout
        );
        seen.push(hooks);
        run_compose(&d, tool, &dir, &["down"]).success();
        assert!(project_left(&d, &name).is_empty(), "{tool:?}");

        // Ctrl-C in a foreground `up`.
        let name = tool.project("gint");
        let dir = named_bridged_project(
            &d,
            &mut g,
            &name,
            "  app:\n    image: busybox\n    command: sleep 600\n    init: true\n    stop_grace_period: 1s\n    pre_stop:\n      - command: echo pre-stop-out\n",
        );
        let mut bg = Background::start(&d, tool, &dir, &["up"], &[]);
        assert!(
            eventually(60, || bg.output().contains("Attaching to app-1")),
            "{tool:?}: {}",
            bg.output()
        );
        let status = bg.interrupt();
        assert!(status.is_some(), "{tool:?} ended: {}", bg.output());
        let log = bg.output();
        assert!(
            log.contains("\nGracefully Stopping... press Ctrl+C again to force\n"),
            "{tool:?}: {log}"
        );
        assert!(!log.contains("pre-stop-out"), "{tool:?}: {log}");
        let state = d
            .docker([
                "inspect",
                "-f",
                "{{.State.Running}}",
                &format!("{name}-app-1"),
            ])
            .run()
            .out();
        assert_eq!(state, "false", "{tool:?}: stopped by Ctrl-C");
        run_compose(&d, tool, &dir, &["down", "-t", "1"]).success();
    }
    assert_eq!(seen[0], seen[1]);
}

/// `--dry-run up` in the foreground (with or without `--watch`): the creation shown as
/// a dry run, then compose's line that an interactive run is not supported, exit 0,
/// nothing created. `--dry-run watch`: the dry-run `up -d`, then "Watch enabled" and
/// the sync reported for a change, still nothing created.
#[test]
fn compose_gaps_dry_run_up_and_watch() {
    let mut g = NetGuard::new("bt-cg2");
    let d = watched_daemon(&mut g);
    for tool in TOOLS {
        let name = tool.project("gdry");
        let dir = named_bridged_project(
            &d,
            &mut g,
            &name,
            "  a:\n    image: busybox\n    command: sleep 600\n    develop:\n      watch:\n        - path: ./src\n          action: sync\n          target: /src\n",
        );
        std::fs::create_dir_all(dir.join("src")).expect("src");
        std::fs::write(dir.join("src/f.txt"), "v1\n").expect("f");
        for args in [
            &["--dry-run", "up"][..],
            &["--dry-run", "up", "--watch"][..],
        ] {
            let out = run_compose(&d, tool, &dir, args);
            out.success();
            assert_eq!(
                out.stdout,
                "end of 'compose up' output, interactive run is not supported in dry-run mode\n",
                "{tool:?} {args:?}"
            );
            assert!(
                out.stderr
                    .contains(&format!("DRY-RUN MODE -  Container {name}-a-1  Created")),
                "{tool:?} {args:?}: {}",
                out.stderr
            );
            assert!(project_left(&d, &name).is_empty(), "{tool:?} {args:?}");
        }
        let bg = Background::start(&d, tool, &dir, &["--dry-run", "watch"], &[]);
        assert!(
            eventually(60, || bg.output().contains("Watch enabled")),
            "{tool:?}: {}",
            bg.output()
        );
        std::fs::write(dir.join("src/f.txt"), "v2\n").expect("f");
        assert!(
            eventually(30, || bg
                .output()
                .contains("Syncing service \"a\" after 1 changes were detected")),
            "{tool:?}: {}",
            bg.output()
        );
        let log = bg.output();
        assert!(
            log.contains(&format!("DRY-RUN MODE -  Container {name}-a-1  Started")),
            "{tool:?}: {log}"
        );
        drop(bg);
        assert!(project_left(&d, &name).is_empty(), "{tool:?}");
        let nets = d
            .docker([
                "network",
                "ls",
                "-q",
                "--filter",
                &format!("label=com.docker.compose.project={name}"),
            ])
            .run()
            .out();
        assert!(nets.is_empty(), "{tool:?}: {nets}");
    }
}

/// An RFC 3339 time `secs` from now (negative: before), to the second, in UTC.
fn rfc3339_from_now(secs: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let out = Command::new("date")
        .args([
            "-u",
            "-d",
            &format!("@{}", now + secs),
            "+%Y-%m-%dT%H:%M:%SZ",
        ])
        .output()
        .expect("date");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `logs` with `--since`/`--until` (RFC 3339 dates and durations, which the client turns
/// into unix seconds as the docker client does): both tools print the same lines of one
/// project; `logs -f --until` stops printing at the bound and ends when the container
/// does, as docker compose's (both print the container's exit line).
#[test]
fn compose_gaps_logs_since_and_until() {
    let mut g = NetGuard::new("bt-cg3");
    let d = watched_daemon(&mut g);
    let name = "glogs";
    let dir = named_bridged_project(
        &d,
        &mut g,
        name,
        "  a:\n    image: busybox\n    command: sh -c 'i=0; while [ $$i -lt 8 ]; do echo tick-$$i; i=$$((i+1)); sleep 1; done'\n",
    );
    run_compose(&d, Tool::Berth, &dir, &["up", "-d"]).success();
    std::thread::sleep(std::time::Duration::from_millis(3500));
    let until = rfc3339_from_now(2);
    // Both follow at once, up to the same bound; the container ends a few seconds later.
    let (b, c) = std::thread::scope(|s| {
        let run = |tool: Tool| {
            let d = &d;
            let dir = &dir;
            let until = until.clone();
            s.spawn(move || {
                run_compose(
                    d,
                    tool,
                    dir,
                    &["logs", "-f", "--no-color", "--until", &until],
                )
            })
        };
        let hb = run(Tool::Berth);
        let hc = run(Tool::DockerCompose);
        (hb.join().expect("berth"), hc.join().expect("compose"))
    });
    b.success();
    c.success();
    // Both report the followed container's exit (after the bound), as compose's monitor
    // does.
    assert_eq!(b.stdout, c.stdout, "logs -f --until {until}");
    assert!(
        b.stdout.ends_with("\r\x1b[Ka-1 exited with code 0\n"),
        "{:?}",
        b.stdout
    );
    assert!(b.stdout.contains("a-1  | tick-0\n"), "{}", b.stdout);
    assert!(
        !b.stdout.contains("tick-7"),
        "stopped at {until}: {}",
        b.stdout
    );
    // The container ended: a window in the past, and durations. `--until 1s` is relative
    // to each call (berth's, then compose's a moment later): the last line must be more
    // than a second old for both, or a loaded host splits them (seen under 3 threads).
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let since = rfc3339_from_now(-600);
    for args in [
        &["logs", "--since", &since, "--until", &until][..],
        &["logs", "--since", "1h"][..],
        &["logs", "--until", "1h"][..],
        &["logs", "-t", "--since", "10m", "--until", "1s"][..],
    ] {
        let b = run_compose(&d, Tool::Berth, &dir, args);
        let c = run_compose(&d, Tool::DockerCompose, &dir, args);
        assert_eq!((b.code, &b.stdout), (c.code, &c.stdout), "{args:?}");
    }
    let all = run_compose(&d, Tool::Berth, &dir, &["logs", "--since", "1h"]);
    assert!(all.stdout.contains("a-1  | tick-7\n"), "{}", all.stdout);
    let bad = ["logs", "--since", "yesterday"];
    let b = run_compose(&d, Tool::Berth, &dir, &bad);
    let c = run_compose(&d, Tool::DockerCompose, &dir, &bad);
    assert_ne!(b.code, 0);
    assert_eq!((b.code, &b.stderr), (c.code, &c.stderr));
    run_compose(&d, Tool::Berth, &dir, &["down"]).success();
    assert!(project_left(&d, name).is_empty());
}
