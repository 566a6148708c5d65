//! Issue 3, "Supervision": restart policies (with back-off, after exits and kills, and
//! when the daemon starts again), health checks, `--init`, and stop's SIGKILL fallback,
//! through the berth CLI and the real docker CLI against a private berth daemon.

use berth_tests::{client_name as name, eventually, slow, slow_ms, Client, TestDaemon};
use std::thread;
use std::time::{Duration, Instant};

fn inspect(d: &TestDaemon, c: Client, fmt: &str, obj: &str) -> String {
    d.run(c, &["inspect", "-f", fmt, obj]).success().out()
}

fn kill_pid(pid: &str) {
    let pid: i32 = pid.trim().parse().expect("a pid");
    assert!(pid > 1);
    // SAFETY: kill(2) of a container process this test started.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

#[test]
fn supervision_restart_policies_apply_on_exit_and_kill() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        // on-failure:2 — two restarts, then it stays down with the last code.
        let n = name(c, "onfail");
        d.run(
            c,
            &[
                "run",
                "-d",
                "--name",
                &n,
                "--restart",
                "on-failure:2",
                "busybox",
                "sh",
                "-c",
                "exit 3",
            ],
        )
        .success();
        assert!(
            eventually(15, || inspect(
                &d,
                c,
                "{{.State.Status}} {{.RestartCount}}",
                &n
            ) == "exited 2"),
            "{}",
            inspect(&d, c, "{{.State.Status}} {{.RestartCount}}", &n)
        );
        thread::sleep(slow_ms(800));
        assert_eq!(
            inspect(&d, c, "{{.RestartCount}} {{.State.ExitCode}}", &n),
            "2 3"
        );
        // on-failure does not restart a success.
        let n = name(c, "onfail-ok");
        d.run(
            c,
            &[
                "run",
                "-d",
                "--name",
                &n,
                "--restart",
                "on-failure",
                "busybox",
                "true",
            ],
        )
        .success();
        thread::sleep(slow_ms(600));
        assert_eq!(
            inspect(&d, c, "{{.State.Status}} {{.RestartCount}}", &n),
            "exited 0"
        );
        // no: never.
        let n = name(c, "never");
        d.run(
            c,
            &["run", "-d", "--name", &n, "busybox", "sh", "-c", "exit 1"],
        )
        .success();
        thread::sleep(slow_ms(600));
        assert_eq!(inspect(&d, c, "{{.RestartCount}}", &n), "0");
        // always: restarts a clean exit, with a back-off that doubles (100 ms, 200, 400,
        // 800 ...): within ~2 s it restarts a handful of times, not dozens. On a slow host
        // (factor F) each restart takes longer too: in 2F s the doubling still allows at most
        // 7 (12.7 s of back-off alone) and at least 3 while a restart takes under ~5 s.
        let n = name(c, "always");
        d.run(
            c,
            &[
                "run",
                "-d",
                "--name",
                &n,
                "--restart",
                "always",
                "busybox",
                "sh",
                "-c",
                // `true` until /stay exists (copied in below), then a process that stays.
                "[ -e /stay ] && exec sleep 1000; true",
            ],
        )
        .success();
        thread::sleep(slow_ms(2000));
        let count: i64 = inspect(&d, c, "{{.RestartCount}}", &n).parse().unwrap();
        assert!(
            (3..=7).contains(&count),
            "restart count after {:?}: {count}",
            slow_ms(2000)
        );
        // A user stop keeps it down, even while it waits to restart.
        d.run(c, &["stop", &n]).success();
        thread::sleep(slow_ms(1500));
        assert_eq!(inspect(&d, c, "{{.State.Status}}", &n), "exited");
        // A manual start resets the count. The container then finds /stay and keeps
        // running, so nothing restarts it afterwards: the count is exactly 0 at any host
        // speed (with `true` restarting at once, the cgroup v2 VM under load counted 5
        // restarts between two API calls).
        let stay = std::env::temp_dir().join(format!("berth-stay-{n}"));
        std::fs::write(&stay, b"").unwrap();
        d.run(c, &["cp", &stay.to_string_lossy(), &format!("{n}:/stay")])
            .success();
        let _ = std::fs::remove_file(&stay);
        let (code, body) = d.api("POST", &format!("/containers/{n}/start"), None);
        assert_eq!(code, 204, "start: {body}");
        thread::sleep(slow_ms(500));
        assert_eq!(
            inspect(&d, c, "{{.State.Status}} {{.RestartCount}}", &n),
            "running 0",
            "a manual start must reset the count"
        );
        let (code, body) = d.api("POST", &format!("/containers/{n}/stop?t=0"), None);
        assert_eq!(code, 204, "stop: {body}");
        // A process killed from outside is restarted (unless-stopped), with a new pid.
        let n = name(c, "killed");
        d.run(
            c,
            &[
                "run",
                "-d",
                "--name",
                &n,
                "--restart",
                "unless-stopped",
                "busybox",
                "sleep",
                "300",
            ],
        )
        .success();
        let pid = inspect(&d, c, "{{.State.Pid}}", &n);
        kill_pid(&pid);
        assert!(eventually(10, || {
            let now = inspect(
                &d,
                c,
                "{{.State.Status}} {{.State.Pid}} {{.RestartCount}}",
                &n,
            );
            now.starts_with("running ") && !now.contains(&format!(" {pid} ")) && now.ends_with(" 1")
        }));
        // docker kill also keeps it down.
        d.run(c, &["kill", &n]).success();
        thread::sleep(slow_ms(800));
        assert_eq!(inspect(&d, c, "{{.State.Status}}", &n), "exited");
        // rm -f of a container in its back-off works; plain rm refuses while it restarts.
        let n = name(c, "flap");
        d.run(
            c,
            &[
                "run",
                "-d",
                "--name",
                &n,
                "--restart",
                "always",
                "busybox",
                "sh",
                "-c",
                "sleep 0.05",
            ],
        )
        .success();
        assert!(eventually(10, || inspect(&d, c, "{{.RestartCount}}", &n) != "0"));
        d.run(c, &["rm", "-f", &n]).success();
        d.run(c, &["inspect", &n]).failure();
    }
    // Bad policies are refused at create with Docker's messages.
    for c in Client::BOTH {
        d.run(c, &["run", "--restart", "sometimes", "busybox", "true"])
            .failure()
            .stderr_contains("invalid restart policy");
        d.run(c, &["run", "--restart", "always:3", "busybox", "true"])
            .failure()
            .stderr_contains(
                "invalid restart policy: maximum retry count can only be used with 'on-failure'",
            );
        d.run(
            c,
            &["run", "--rm", "--restart", "always", "busybox", "true"],
        )
        .code(125)
        .stderr_contains("conflicting options: cannot specify both --restart and --rm");
    }
    // The daemon refuses the same through the API.
    let (code, body) = d.api(
        "POST",
        "/containers/create",
        Some(r#"{"Image":"busybox","Cmd":["true"],"HostConfig":{"AutoRemove":true,"RestartPolicy":{"Name":"always"}}}"#),
    );
    assert_eq!(code, 400, "{body}");
    assert!(
        body.contains("can't create 'AutoRemove' container with restart policy"),
        "{body}"
    );
}

#[test]
fn supervision_restart_policies_after_daemon_restarts() {
    let mut d = TestDaemon::start();
    let b = |d: &TestDaemon, args: &[&str]| d.run(Client::Berth, args);
    b(
        &d,
        &[
            "run",
            "-d",
            "--name",
            "always",
            "--restart",
            "always",
            "busybox",
            "sleep",
            "300",
        ],
    )
    .success();
    b(
        &d,
        &[
            "run",
            "-d",
            "--name",
            "unless",
            "--restart",
            "unless-stopped",
            "busybox",
            "sleep",
            "300",
        ],
    )
    .success();
    b(
        &d,
        &[
            "run",
            "-d",
            "--name",
            "unless-stopped",
            "--restart",
            "unless-stopped",
            "busybox",
            "sleep",
            "300",
        ],
    )
    .success();
    b(
        &d,
        &[
            "run",
            "-d",
            "--name",
            "always-stopped",
            "--restart",
            "always",
            "busybox",
            "sleep",
            "300",
        ],
    )
    .success();
    b(
        &d,
        &["run", "-d", "--name", "plain", "busybox", "sleep", "300"],
    )
    .success();
    b(&d, &["stop", "-t", "0", "unless-stopped"]).success();
    b(&d, &["stop", "-t", "0", "always-stopped"]).success();
    let pid_before = inspect(&d, Client::Berth, "{{.State.Pid}}", "always");

    // A clean daemon stop and start: live containers keep running (same process).
    d.stop_daemon();
    d.restart_daemon();
    assert_eq!(
        inspect(
            &d,
            Client::Berth,
            "{{.State.Status}} {{.State.Pid}}",
            "always"
        ),
        format!("running {pid_before}")
    );

    // A crash: the restarted daemon reconnects, and a later kill of the process is seen
    // and answered by the policy.
    d.kill_daemon();
    d.restart_daemon();
    kill_pid(&pid_before);
    assert!(eventually(10, || {
        let s = inspect(
            &d,
            Client::Berth,
            "{{.State.Status}} {{.State.Pid}}",
            "always",
        );
        s.starts_with("running ") && s != format!("running {pid_before}")
    }));

    // A reboot: every shim and process gone. always (even the stopped one) and
    // unless-stopped (not the stopped one) come back; no policy stays down.
    d.simulate_reboot();
    d.restart_daemon();
    for (n, want) in [
        ("always", "running"),
        ("unless", "running"),
        ("always-stopped", "running"),
        ("unless-stopped", "exited"),
        ("plain", "exited"),
    ] {
        assert!(
            eventually(15, || inspect(&d, Client::Berth, "{{.State.Status}}", n)
                == want),
            "{n}: {}",
            inspect(&d, Client::Berth, "{{.State.Status}}", n)
        );
    }
    // The docker CLI sees the same.
    let ps = d
        .run(Client::Docker, &["ps", "--format", "{{.Names}}"])
        .success()
        .out();
    for n in ["always", "unless", "always-stopped"] {
        assert!(ps.lines().any(|l| l == n), "{n} missing from {ps}");
    }
    assert_eq!(
        inspect(&d, Client::Docker, "{{.RestartCount}}", "unless"),
        "1"
    );
}

#[test]
fn supervision_health_checks() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = name(c, "health");
        d.run(
            c,
            &[
                "run",
                "-d",
                "--name",
                &n,
                "--health-cmd",
                "test -f /tmp/ok && echo fine",
                "--health-interval",
                "200ms",
                "--health-retries",
                "2",
                "busybox",
                "sleep",
                "300",
            ],
        )
        .success();
        assert!(
            d.run(
                c,
                &[
                    "ps",
                    "--format",
                    "{{.Status}}",
                    "--filter",
                    &format!("name={n}")
                ]
            )
            .out()
            .contains("(health: starting)")
                || inspect(&d, c, "{{.State.Health.Status}}", &n) == "unhealthy"
        );
        assert!(eventually(10, || inspect(
            &d,
            c,
            "{{.State.Health.Status}}",
            &n
        ) == "unhealthy"));
        let ps = d
            .run(
                c,
                &[
                    "ps",
                    "--format",
                    "{{.Status}}",
                    "--filter",
                    &format!("name={n}"),
                ],
            )
            .success()
            .out();
        assert!(ps.ends_with("(unhealthy)"), "{ps}");
        d.run(c, &["exec", &n, "touch", "/tmp/ok"]).success();
        assert!(eventually(10, || inspect(
            &d,
            c,
            "{{.State.Health.Status}}",
            &n
        ) == "healthy"));
        let log = inspect(&d, c, "{{json .State.Health}}", &n);
        let v: serde_json::Value = serde_json::from_str(&log).unwrap();
        assert_eq!(v["FailingStreak"], 0);
        let entries = v["Log"].as_array().unwrap();
        assert!(!entries.is_empty() && entries.len() <= 5, "{log}");
        assert_eq!(entries.last().unwrap()["ExitCode"], 0);
        assert_eq!(entries.last().unwrap()["Output"], "fine\n");
        let ps = d
            .run(
                c,
                &[
                    "ps",
                    "--format",
                    "{{.Status}}",
                    "--filter",
                    &format!("name={n}"),
                ],
            )
            .success()
            .out();
        assert!(ps.ends_with("(healthy)"), "{ps}");
        // A probe that hangs past its timeout is killed and counts as a failure.
        let n = name(c, "hang");
        d.run(
            c,
            &[
                "run",
                "-d",
                "--name",
                &n,
                "--health-cmd",
                "sleep 30",
                "--health-interval",
                "200ms",
                "--health-timeout",
                "300ms",
                "--health-retries",
                "1",
                "busybox",
                "sleep",
                "300",
            ],
        )
        .success();
        assert!(eventually(10, || inspect(
            &d,
            c,
            "{{.State.Health.Status}}",
            &n
        ) == "unhealthy"));
        let log = inspect(&d, c, "{{json .State.Health.Log}}", &n);
        assert!(
            log.contains("Health check exceeded timeout (300ms)")
                && log.contains("\"ExitCode\":-1"),
            "{log}"
        );
        // The hung probes do not pile up in the container.
        let ps = d.run(c, &["exec", &n, "ps", "-o", "args"]).success().out();
        assert!(
            // "sleep 300" is the container's own command, not a probe.
            ps.lines().filter(|l| l.trim() == "sleep 30").count() <= 1,
            "{ps}"
        );
        // Bad values, as the docker CLI words them.
        d.run(c, &["run", "--health-interval", "-1s", "busybox", "true"])
            .failure()
            .stderr_contains("--health-interval cannot be negative");
        d.run(
            c,
            &[
                "run",
                "--no-healthcheck",
                "--health-cmd",
                "true",
                "busybox",
                "true",
            ],
        )
        .failure()
        .stderr_contains("--no-healthcheck conflicts with --health-* options");
    }
    // The events stream carries the changes (the test runs for minutes on a slow host).
    let since = format!("{}m", slow());
    let ev = d
        .berth([
            "events",
            "--since",
            &since,
            "--until",
            "0s",
            "--filter",
            "event=health_status",
        ])
        .run();
    ev.success();
    assert!(
        ev.stdout.contains("health_status: unhealthy")
            && ev.stdout.contains("health_status: healthy"),
        "{}",
        ev.stdout
    );
    // A HEALTHCHECK in the image applies, --no-healthcheck turns it off, flags override a part.
    d.berth(["create", "--name", "base", "busybox", "true"])
        .run()
        .success();
    d.berth([
        "commit",
        "-c",
        "HEALTHCHECK --interval=200ms CMD true",
        "base",
        "hc:img",
    ])
    .run()
    .success();
    d.berth([
        "run",
        "-d",
        "--name",
        "from-image",
        "hc:img",
        "sleep",
        "300",
    ])
    .run()
    .success();
    assert!(eventually(10, || inspect(
        &d,
        Client::Berth,
        "{{.State.Health.Status}}",
        "from-image"
    ) == "healthy"));
    d.berth([
        "run",
        "-d",
        "--name",
        "no-hc",
        "--no-healthcheck",
        "hc:img",
        "sleep",
        "300",
    ])
    .run()
    .success();
    thread::sleep(slow_ms(500));
    assert_eq!(
        inspect(&d, Client::Berth, "{{json .State.Health}}", "no-hc"),
        "null"
    );
    d.berth([
        "run",
        "-d",
        "--name",
        "retries",
        "--health-retries",
        "7",
        "hc:img",
        "sleep",
        "300",
    ])
    .run()
    .success();
    let hc = inspect(&d, Client::Berth, "{{json .Config.Healthcheck}}", "retries");
    assert!(hc.contains("\"Retries\":7") && hc.contains("true"), "{hc}");
}

#[test]
fn supervision_init_reaps_and_forwards_signals() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let ps = d
            .run(
                c,
                &["run", "--rm", "--init", "busybox", "ps", "-o", "pid,args"],
            )
            .success()
            .out();
        assert!(ps.contains("1 /sbin/docker-init -- ps"), "{ps}");
        d.run(
            c,
            &["run", "--rm", "--init", "busybox", "sh", "-c", "exit 7"],
        )
        .code(7);
        // An orphan is reaped by the init; without one it stays a zombie of PID 1.
        let script = "(sleep 0.1 &); exec sleep 300";
        let with = name(c, "init-reap");
        let without = name(c, "noinit-reap");
        d.run(
            c,
            &[
                "run", "-d", "--init", "--name", &with, "busybox", "sh", "-c", script,
            ],
        )
        .success();
        d.run(
            c,
            &[
                "run", "-d", "--name", &without, "busybox", "sh", "-c", script,
            ],
        )
        .success();
        thread::sleep(slow_ms(800));
        let zombies = |n: &str| {
            d.run(c, &["exec", n, "ps", "-o", "stat"])
                .success()
                .lines()
                .iter()
                .filter(|l| l.starts_with('Z'))
                .count()
        };
        assert_eq!(zombies(&with), 0, "the init must reap orphans");
        assert_eq!(
            zombies(&without),
            1,
            "control: sleep as PID 1 does not reap"
        );
        // SIGTERM reaches the command through the init (sleep as PID 1 would ignore it):
        // the stop ends well within its grace period (both scale on a slow host).
        let t0 = Instant::now();
        let grace = (10 * slow()).to_string();
        d.run(c, &["stop", "-t", &grace, &with]).success();
        assert!(t0.elapsed() < slow_ms(5000), "stop took {:?}", t0.elapsed());
        assert_eq!(inspect(&d, c, "{{.State.ExitCode}}", &with), "143");
        d.run(c, &["rm", "-f", &without]).success();
    }
}

#[test]
fn supervision_stop_falls_back_to_sigkill() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = name(c, "stubborn");
        d.run(
            c,
            &[
                "run",
                "-d",
                "--name",
                &n,
                "busybox",
                "sh",
                "-c",
                "trap '' TERM; while true; do sleep 0.1; done",
            ],
        )
        .success();
        let t0 = Instant::now();
        d.run(c, &["stop", "-t", "1", &n]).success();
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(900) && took < slow_ms(6000),
            "stop took {took:?}"
        );
        assert_eq!(inspect(&d, c, "{{.State.ExitCode}}", &n), "137");
    }
}
