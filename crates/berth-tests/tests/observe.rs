//! top, stats, pause/unpause, update, events, system df/prune through both the berth CLI
//! and the real docker CLI against a private berth daemon. Expected messages were taken
//! from a real dockerd with the docker 28 CLI.

use berth_tests::{cgroup_file, client_name as name, eventually, Client, TestDaemon};
use std::fs;
use std::thread;
use std::time::{Duration, Instant};

fn inspect(d: &TestDaemon, c: Client, fmt: &str, obj: &str) -> String {
    d.run(c, &["inspect", "-f", fmt, obj]).success().out()
}

/// The one-letter state of a process (/proc/PID/stat's third field).
fn proc_state(pid: &str) -> String {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(") ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or("")
        .to_string()
}

#[test]
fn observe_top_lists_the_containers_processes() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = name(c, "top");
        d.run(c, &["run", "-d", "--name", &n, "busybox", "sleep", "1000"])
            .success();
        let out = d.run(c, &["top", &n]).success().out();
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("UID") && lines[0].contains("PID"),
            "{out}"
        );
        assert_eq!(lines.len(), 2, "only the container's process: {out}");
        assert!(lines[1].ends_with("sleep 1000"), "{out}");
        let pid = inspect(&d, c, "{{.State.Pid}}", &n);
        assert!(lines[1].split_whitespace().any(|f| f == pid), "{out} {pid}");
        // ps options after the container name.
        let out = d.run(c, &["top", &n, "-o", "pid,comm"]).success().out();
        assert_eq!(
            out.lines()
                .next()
                .map(str::split_whitespace)
                .map(|f| f.collect::<Vec<_>>()),
            Some(vec!["PID", "COMMAND"]),
            "{out}"
        );
        assert!(out.contains(&pid) && out.contains("sleep"), "{out}");

        let stopped = name(c, "top-stopped");
        d.run(c, &["create", "--name", &stopped, "busybox", "true"])
            .success();
        let id = inspect(&d, c, "{{.Id}}", &stopped);
        d.run(c, &["top", &stopped])
            .code(1)
            .stderr_contains(&format!(
                "Error response from daemon: Container {id} is not running"
            ));
        d.run(c, &["top", "nope"])
            .code(1)
            .stderr_contains("No such container: nope");
    }
    // The same table, byte for byte: Go's tabwriter, cells max(20, text + 3) wide.
    let n = name(Client::Docker, "top");
    let b = d.run(Client::Berth, &["top", &n]).success().stdout.clone();
    let k = d.run(Client::Docker, &["top", &n]).success().stdout.clone();
    assert_eq!(b, k, "berth top, then docker top");
    assert!(k.starts_with("UID                 PID "), "{k:?}");
}

#[test]
fn observe_pause_freezes_and_unpause_resumes() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = name(c, "pause");
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
                "while true; do sleep 0.1; done",
            ],
        )
        .success();
        let id = inspect(&d, c, "{{.Id}}", &n);
        let pid = inspect(&d, c, "{{.State.Pid}}", &n);
        d.run(c, &["pause", &n])
            .success()
            .stdout_is(&format!("{n}\n"));
        assert_eq!(
            inspect(&d, c, "{{.State.Status}} {{.State.Paused}}", &n),
            "paused true"
        );
        if berth_tests::cgroup_v2() {
            // v2 freezes tasks in a sleep the kernel reports as "S": the cgroup says it.
            let events = cgroup_file(&id, "", "", "cgroup.events").unwrap_or_default();
            assert!(
                events.lines().any(|l| l == "frozen 1"),
                "cgroup.events: {events}"
            );
        } else {
            let st = proc_state(&pid);
            assert!(st == "D" || st == "T", "frozen process state {st:?}");
        }
        d.run(
            c,
            &[
                "ps",
                "--filter",
                &format!("name={n}"),
                "--format",
                "{{.Status}}",
            ],
        )
        .success()
        .stdout_contains("(Paused)");
        d.run(c, &["pause", &n]).code(1).stderr_contains(&format!(
            "Error response from daemon: Container {id} is already paused"
        ));
        d.run(c, &["unpause", &n])
            .success()
            .stdout_is(&format!("{n}\n"));
        assert_eq!(
            inspect(&d, c, "{{.State.Status}} {{.State.Paused}}", &n),
            "running false"
        );
        assert!(
            eventually(5, || {
                let s = proc_state(&pid);
                s == "S" || s == "R"
            }),
            "process resumed"
        );
        d.run(c, &["unpause", &n])
            .code(1)
            .stderr_contains(&format!("Container {id} is not paused"));
        // kill of a paused container: signalled, thawed, gone.
        d.run(c, &["pause", &n]).success();
        d.run(c, &["kill", &n]).success();
        assert!(eventually(10, || inspect(&d, c, "{{.State.Status}}", &n) == "exited"));
        assert_eq!(inspect(&d, c, "{{.State.ExitCode}}", &n), "137");
        d.run(c, &["pause", &n])
            .code(1)
            .stderr_contains(&format!("Container {id} is not running"));
        d.run(c, &["pause", "nope"])
            .code(1)
            .stderr_contains("No such container: nope");
        // stop of a paused container works too.
        let s = name(c, "pause-stop");
        d.run(c, &["run", "-d", "--name", &s, "busybox", "sleep", "1000"])
            .success();
        d.run(c, &["pause", &s]).success();
        d.run(c, &["stop", "-t", "1", &s]).success();
        assert_eq!(inspect(&d, c, "{{.State.Status}}", &s), "exited");
    }
}

#[test]
fn observe_stats_reads_the_cgroup() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = name(c, "stats");
        d.run(
            c,
            &[
                "run",
                "-d",
                "--name",
                &n,
                "-m",
                "64m",
                "--network",
                "none",
                "busybox",
                "sleep",
                "1000",
            ],
        )
        .success();
        let out = d.run(c, &["stats", "--no-stream", &n]).success().out();
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("CONTAINER ID   NAME"), "{out}");
        assert!(
            lines[0].contains("MEM USAGE / LIMIT") && lines[0].ends_with("PIDS"),
            "{out}"
        );
        assert!(
            lines[1].contains(&n) && lines[1].contains("/ 64MiB"),
            "{out}"
        );
        assert!(lines[1].trim_end().ends_with(" 1"), "one pid: {out}");
        let out = d
            .run(
                c,
                &[
                    "stats",
                    "--no-stream",
                    "--no-trunc",
                    "--format",
                    "{{.ID}} {{.MemUsage}} {{.PIDs}}",
                    &n,
                ],
            )
            .success()
            .out();
        let id = inspect(&d, c, "{{.Id}}", &n);
        assert!(
            out.starts_with(&format!("{id} ")) && out.contains("/ 64MiB 1"),
            "{out}"
        );
        // A stopped container answers zeros, a missing one an error.
        let stopped = name(c, "stats-stopped");
        d.run(c, &["create", "--name", &stopped, "busybox", "true"])
            .success();
        d.run(
            c,
            &[
                "stats",
                "--no-stream",
                "--format",
                "{{.Name}} {{.MemUsage}} {{.CPUPerc}}",
                &stopped,
            ],
        )
        .success()
        .stdout_is(&format!("{stopped} 0B / 0B 0.00%\n"));
        d.run(c, &["stats", "--no-stream", &n, "nope"])
            .code(1)
            .stderr_contains("No such container: nope");
    }
    // The API: docker's JSON, one-shot without waiting, networks omitted with --network none.
    let out = d
        .berth([
            "stats",
            "--no-stream",
            "--format",
            "{{json .}}",
            "berth-stats",
        ])
        .run();
    out.success().stdout_contains("\"MemPerc\"");
}

#[test]
fn observe_stats_no_stream_over_many_containers_is_fast() {
    let d = TestDaemon::start();
    for i in 0..20 {
        d.berth([
            "run",
            "-d",
            "--name",
            &format!("many{i}"),
            "busybox",
            "sleep",
            "1000",
        ])
        .run()
        .success();
    }
    for c in Client::BOTH {
        let t0 = Instant::now();
        let out = d.run(c, &["stats", "--no-stream"]).success().out();
        let took = t0.elapsed();
        assert_eq!(out.lines().count(), 21, "{out}");
        // Docker's own answer takes a sampling interval (a second or more); ours one short prime.
        assert!(
            took < Duration::from_millis(900),
            "{} took {took:?}",
            c.name()
        );
    }
}

#[test]
fn observe_update_writes_the_cgroup_and_the_record() {
    let mut d = TestDaemon::start();
    for c in Client::BOTH {
        let n = name(c, "upd");
        d.run(
            c,
            &[
                "run", "-d", "--name", &n, "-m", "32m", "busybox", "sleep", "1000",
            ],
        )
        .success();
        let id = inspect(&d, c, "{{.Id}}", &n);
        d.run(
            c,
            &[
                "update",
                "--memory",
                "48m",
                "--memory-swap",
                "96m",
                "--pids-limit",
                "50",
                "--cpu-shares",
                "512",
                &n,
            ],
        )
        .success()
        .stdout_is(&format!("{n}\n"));
        assert_eq!(
            inspect(&d, c, "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.PidsLimit}} {{.HostConfig.CpuShares}}", &n),
            "50331648 100663296 50 512"
        );
        assert_eq!(
            TestDaemon::cgroup_memory_limit(&id).as_deref(),
            Some("50331648")
        );
        assert_eq!(
            cgroup_file(&id, "pids", "pids.max", "pids.max").as_deref(),
            Some("50")
        );
        // memory above the stored memory+swap without a new swap: docker's refusal.
        d.run(c, &["update", "--memory", "200m", &n])
            .code(1)
            .stderr_contains(&format!("Error response from daemon: Cannot update container {id}: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"));
        d.run(c, &["update", "--memory", "1m", &n])
            .code(1)
            .stderr_contains("Minimum memory limit allowed is 6MB");
        d.run(c, &["update", "--memory", "abc", &n])
            .code(125)
            .stderr_contains(
                "invalid argument \"abc\" for \"-m, --memory\" flag: invalid size: 'abc'",
            );
        d.run(c, &["update", &n])
            .code(1)
            .stderr_contains("you must provide one or more flags when using this command");
        d.run(c, &["update", "--restart", "always", "nope"])
            .code(1)
            .stderr_contains("No such container: nope");
        d.run(c, &["update", "--restart", "on-failure:3", &n])
            .success();
        assert_eq!(inspect(&d, c, "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}", &n), "on-failure:3");
    }
    // The stored HostConfig survives a daemon restart.
    d.restart_daemon();
    assert_eq!(
        inspect(
            &d,
            Client::Docker,
            "{{.HostConfig.Memory}} {{.HostConfig.RestartPolicy.Name}}",
            "docker-upd"
        ),
        "50331648 on-failure"
    );
}

#[test]
fn observe_events_report_the_lifecycle() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = name(c, "ev");
        let since = chrono_like_now();
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--name",
                &n,
                "--label",
                "tier=front",
                "busybox",
                "true",
            ],
        )
        .success();
        let until = chrono_like_now();
        let out = d
            .run(
                c,
                &[
                    "events",
                    "--since",
                    &since,
                    "--until",
                    &until,
                    "--filter",
                    &format!("container={n}"),
                ],
            )
            .success()
            .out();
        let actions: Vec<&str> = out
            .lines()
            .filter_map(|l| l.split_whitespace().nth(2))
            .collect();
        for want in ["create", "attach", "start", "die", "destroy"] {
            assert!(actions.contains(&want), "{want} missing: {out}");
        }
        let die = out
            .lines()
            .find(|l| l.contains("container die"))
            .unwrap_or_default();
        assert!(
            die.contains("exitCode=0")
                && die.contains(&format!("name={n}"))
                && die.contains("tier=front")
                && die.contains("image=busybox"),
            "{die}"
        );
        // Go's RFC3339NanoFixed timestamp first.
        let ts = die.split_whitespace().next().unwrap_or_default();
        assert_eq!(ts.len(), "2026-12-01T08:00:00.123456789Z".len(), "{ts}");
        let only = d
            .run(
                c,
                &[
                    "events",
                    "--since",
                    &since,
                    "--until",
                    &until,
                    "--filter",
                    "event=die",
                    "--filter",
                    "type=container",
                    "--format",
                    "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
                ],
            )
            .success()
            .out();
        assert_eq!(only, format!("container die {n}"));
        let json = d
            .run(
                c,
                &[
                    "events",
                    "--since",
                    &since,
                    "--until",
                    &until,
                    "--filter",
                    "event=start",
                    "--format",
                    "{{json .}}",
                ],
            )
            .success()
            .out();
        assert!(
            json.contains("\"status\":\"start\"")
                && json.contains("\"scope\":\"local\"")
                && json.contains("\"from\":\"busybox\""),
            "{json}"
        );
        d.run(c, &["events", "--until", &until, "--filter", "foo=bar"])
            .code(1)
            .stderr_contains("invalid filter 'foo'");
    }
    // A live subscriber sees a container start while it waits.
    let mut child = d
        .berth([
            "events",
            "--filter",
            "event=start",
            "--format",
            "{{.Actor.Attributes.name}}",
        ])
        .spawn();
    thread::sleep(Duration::from_millis(300));
    d.berth(["run", "-d", "--name", "live", "busybox", "sleep", "1"])
        .run()
        .success();
    thread::sleep(Duration::from_millis(300));
    let _ = child.kill();
    let out = child.wait_with_output().expect("events output");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "live\n");
}

/// Unix seconds with nanoseconds, as the docker CLI's --since accepts.
fn chrono_like_now() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

#[test]
fn observe_system_df_and_prune() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let keep = name(c, "df-run");
        d.run(
            c,
            &["run", "-d", "--name", &keep, "busybox", "sleep", "1000"],
        )
        .success();
        let gone = name(c, "df-stopped");
        d.run(c, &["create", "--name", &gone, "busybox", "true"])
            .success();
        let out = d.run(c, &["system", "df"]).success().out();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"],
            "{out}"
        );
        assert!(
            lines[1].starts_with("Images") && lines[1].split_whitespace().nth(1) == Some("1"),
            "{out}"
        );
        assert!(lines[2].starts_with("Containers"), "{out}");
        assert_eq!(
            lines[3].split_whitespace().collect::<Vec<_>>(),
            ["Local", "Volumes", "0", "0", "0B", "0B"],
            "{out}"
        );
        d.run(c, &["system", "df", "-v"])
            .success()
            .stdout_contains("Images space usage:")
            .stdout_contains(&keep);
        // Declined prompt: nothing removed.
        d.cli(c, ["system", "prune"]).stdin("n\n").run().success()
            .stdout_contains("WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all dangling images\n  - unused build cache\n\nAre you sure you want to continue? [y/N] ");
        let id = inspect(&d, c, "{{.Id}}", &gone);
        let out = d.run(c, &["system", "prune", "-f"]).success().out();
        assert!(
            out.starts_with(&format!("Deleted Containers:\n{id}\n\n")),
            "{out}"
        );
        assert!(out.ends_with("Total reclaimed space: 0B"), "{out}");
        d.run(c, &["inspect", &gone]).failure();
        assert_eq!(inspect(&d, c, "{{.State.Status}}", &keep), "running");
        d.run(c, &["system", "prune", "-f", "--filter", "bogus"])
            .code(125)
            .stderr_contains("bad format of filter (expected name=value)");
    }
}
