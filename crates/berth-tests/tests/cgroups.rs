//! Every cgroup feature end to end through both CLIs, on whatever hierarchy the host has:
//! cgroup v1 on the development machine, pure cgroup v2 in scripts/test-cgroupv2.sh's VM,
//! where this file runs once per driver (`BERTH_TEST_CGROUP_DRIVER=systemd|cgroupfs`, which
//! the harness turns into daemon.json's `exec-opts`). Each test checks what the kernel holds
//! (the cgroup's files, the process's view), not only what inspect says.

use berth_tests::{
    cgroup_driver, cgroup_file, cgroup_of_pid, cgroup_v2, client_name as name,
    container_cgroup_dir, eventually, Client, TestDaemon,
};
use std::fs;
use std::path::Path;

fn inspect(d: &TestDaemon, c: Client, fmt: &str, obj: &str) -> String {
    d.run(c, &["inspect", "-f", fmt, obj]).success().out()
}

/// Whether this run's daemons use the systemd driver: asked for, or the default on a
/// cgroup v2 host booted with systemd (as dockerd decides).
fn systemd_driver() -> bool {
    match cgroup_driver().as_deref() {
        Some(d) => d == "systemd",
        None => cgroup_v2() && Path::new("/run/systemd/system").is_dir(),
    }
}

/// `run -d` of a sleeper with extra flags; returns its full id.
fn sleeper(d: &TestDaemon, c: Client, n: &str, flags: &[&str]) -> String {
    let mut args = vec!["run", "-d", "--name", n, "--network", "none"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["busybox", "sleep", "1000"]);
    d.run(c, &args).success();
    inspect(d, c, "{{.Id}}", n)
}

fn file(id: &str, ctrl: &str, v1: &str, v2: &str) -> String {
    cgroup_file(id, ctrl, v1, v2)
        .unwrap_or_else(|| panic!("no cgroup file {v1}/{v2} for {id} ({ctrl})"))
}

#[test]
fn cgroup_driver_and_version_in_info() {
    let d = TestDaemon::start();
    let want = format!(
        "{} {}",
        if systemd_driver() {
            "systemd"
        } else {
            "cgroupfs"
        },
        if cgroup_v2() { "2" } else { "1" }
    );
    for c in Client::BOTH {
        assert_eq!(
            d.run(
                c,
                &["info", "--format", "{{.CgroupDriver}} {{.CgroupVersion}}"]
            )
            .success()
            .out(),
            want
        );
    }
}

#[test]
fn cgroup_memory_swap_and_reservation() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = name(c, "mem");
        let id = sleeper(
            &d,
            c,
            &n,
            &[
                "-m",
                "64m",
                "--memory-swap",
                "96m",
                "--memory-reservation",
                "32m",
            ],
        );
        assert_eq!(
            file(&id, "memory", "memory.limit_in_bytes", "memory.max"),
            "67108864"
        );
        assert_eq!(
            file(&id, "memory", "memory.soft_limit_in_bytes", "memory.low"),
            "33554432"
        );
        if cgroup_v2() {
            // v2's swap.max is swap alone: 96m - 64m.
            assert_eq!(file(&id, "memory", "", "memory.swap.max"), "33554432");
        } else if Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists() {
            assert_eq!(
                file(&id, "memory", "memory.memsw.limit_in_bytes", ""),
                "100663296"
            );
        }
        assert_eq!(
            inspect(
                &d,
                c,
                "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.MemoryReservation}}",
                &n
            ),
            "67108864 100663296 33554432"
        );
        d.run(c, &["rm", "-f", &n]).success();
    }
}

#[test]
fn cgroup_oom_kill_is_exit_137_oomkilled_and_an_oom_event() {
    let d = TestDaemon::start();
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .to_string();
    for c in Client::BOTH {
        let n = name(c, "oom");
        // A 64 MiB buffer under a 16 MiB limit without swap: the kernel kills dd.
        d.run(
            c,
            &[
                "run",
                "--name",
                &n,
                "--network",
                "none",
                "-m",
                "16m",
                "--memory-swap",
                "16m",
                "busybox",
                "dd",
                "if=/dev/zero",
                "of=/dev/null",
                "bs=64M",
                "count=1",
            ],
        )
        .code(137);
        assert_eq!(
            inspect(&d, c, "{{.State.OOMKilled}} {{.State.ExitCode}}", &n),
            "true 137"
        );
        let until = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            + 1)
        .to_string();
        let events = d
            .run(
                c,
                &[
                    "events",
                    "--since",
                    &t0,
                    "--until",
                    &until,
                    "--filter",
                    &format!("container={n}"),
                    "--filter",
                    "event=oom",
                    "--format",
                    "{{.Action}} {{.Actor.Attributes.name}}",
                ],
            )
            .success()
            .out();
        assert_eq!(events, format!("oom {n}"), "oom event of {n}");
    }
}

#[test]
fn cgroup_cpu_quota_shares_and_cpuset() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = name(c, "cpu");
        let id = sleeper(
            &d,
            c,
            &n,
            &["--cpus", "0.5", "--cpu-shares", "512", "--cpuset-cpus", "0"],
        );
        if cgroup_v2() {
            assert_eq!(file(&id, "cpu", "", "cpu.max"), "50000 100000");
            // runc's (and systemd's) quadratic shares-to-weight mapping: 512 -> 59.
            assert_eq!(file(&id, "cpu", "", "cpu.weight"), "59");
        } else {
            assert_eq!(file(&id, "cpu", "cpu.cfs_quota_us", ""), "50000");
            assert_eq!(file(&id, "cpu", "cpu.cfs_period_us", ""), "100000");
            assert_eq!(file(&id, "cpu", "cpu.shares", ""), "512");
        }
        assert_eq!(file(&id, "cpuset", "cpuset.cpus", "cpuset.cpus"), "0");
        // The kernel holds the container to cpu 0.
        d.run(
            c,
            &["exec", &n, "grep", "Cpus_allowed_list", "/proc/self/status"],
        )
        .success()
        .stdout_contains("\t0\n");
        d.run(c, &["rm", "-f", &n]).success();
        // --cpu-period/--cpu-quota as given.
        let n = name(c, "cpu-period");
        let id = sleeper(
            &d,
            c,
            &n,
            &["--cpu-period", "50000", "--cpu-quota", "25000"],
        );
        if cgroup_v2() {
            assert_eq!(file(&id, "cpu", "", "cpu.max"), "25000 50000");
        } else {
            assert_eq!(file(&id, "cpu", "cpu.cfs_quota_us", ""), "25000");
            assert_eq!(file(&id, "cpu", "cpu.cfs_period_us", ""), "50000");
        }
        d.run(c, &["rm", "-f", &n]).success();
    }
}

#[test]
fn cgroup_pids_limit_stops_forks() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = name(c, "pids");
        // sh plus 8 sleepers under a limit of 5: some forks fail.
        let out = d.run(
            c,
            &[
                "run",
                "--name",
                &n,
                "--network",
                "none",
                "--pids-limit",
                "5",
                "busybox",
                "sh",
                "-c",
                "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; echo started; wait",
            ],
        );
        assert!(
            out.stderr.contains("can't fork"),
            "no fork refused under --pids-limit 5: {out:?}"
        );
        assert_eq!(inspect(&d, c, "{{.HostConfig.PidsLimit}}", &n), "5");
        let n2 = name(c, "pids-run");
        let id = sleeper(&d, c, &n2, &["--pids-limit", "7"]);
        assert_eq!(file(&id, "pids", "pids.max", "pids.max"), "7");
        assert_eq!(file(&id, "pids", "pids.current", "pids.current"), "1");
        d.run(c, &["rm", "-f", &n, &n2]).success();
    }
}

/// The major:minor of the block device holding `path`'s filesystem (or, for a partition,
/// the device itself): what --device-read-bps names.
fn block_device_of_root() -> Option<(String, String)> {
    for dev in ["/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/xvda"] {
        if let Ok(m) = fs::metadata(dev) {
            use std::os::unix::fs::MetadataExt;
            let rdev = m.rdev();
            let (major, minor) = (libc::major(rdev), libc::minor(rdev));
            return Some((dev.to_string(), format!("{major}:{minor}")));
        }
    }
    None
}

#[test]
fn cgroup_block_io_weight_and_throttles() {
    let d = TestDaemon::start();
    let Some((dev, majmin)) = block_device_of_root() else {
        panic!("no block device (/dev/vda, /dev/sda, ...) on this host to throttle");
    };
    for c in Client::BOTH {
        let n = name(c, "io");
        let id = sleeper(
            &d,
            c,
            &n,
            &[
                "--device-read-bps",
                &format!("{dev}:1mb"),
                "--device-write-iops",
                &format!("{dev}:100"),
            ],
        );
        if cgroup_v2() {
            let max = file(&id, "io", "", "io.max");
            assert!(
                max.contains(&format!("{majmin} rbps=1048576")) && max.contains("wiops=100"),
                "io.max: {max}"
            );
        } else {
            assert_eq!(
                file(&id, "blkio", "blkio.throttle.read_bps_device", ""),
                format!("{majmin} 1048576")
            );
            assert_eq!(
                file(&id, "blkio", "blkio.throttle.write_iops_device", ""),
                format!("{majmin} 100")
            );
        }
        assert_eq!(
            inspect(
                &d,
                c,
                "{{range .HostConfig.BlkioDeviceReadBps}}{{.Path}} {{.Rate}}{{end}}",
                &n
            ),
            format!("{dev} 1048576")
        );
        d.run(c, &["rm", "-f", &n]).success();
    }
    // A missing device: docker's error.
    for c in Client::BOTH {
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--device-read-bps",
                "/dev/nope:1mb",
                "busybox",
                "true",
            ],
        )
        .failure()
        .stderr_contains("/dev/nope");
    }
}

#[test]
fn cgroup_update_of_a_running_container_reaches_the_kernel() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = name(c, "update");
        let id = sleeper(&d, c, &n, &["-m", "32m", "--memory-swap", "64m"]);
        d.run(
            c,
            &[
                "update",
                "--memory",
                "128m",
                "--memory-swap",
                "256m",
                "--cpus",
                "1.5",
                "--cpu-shares",
                "2048",
                "--pids-limit",
                "20",
                &n,
            ],
        )
        .success()
        .stdout_is(&format!("{n}\n"));
        assert_eq!(
            file(&id, "memory", "memory.limit_in_bytes", "memory.max"),
            "134217728"
        );
        assert_eq!(file(&id, "pids", "pids.max", "pids.max"), "20");
        if cgroup_v2() {
            assert_eq!(file(&id, "memory", "", "memory.swap.max"), "134217728");
            assert_eq!(file(&id, "cpu", "", "cpu.max"), "150000 100000");
            // shares 2048 -> weight 174 (runc's mapping).
            assert_eq!(file(&id, "cpu", "", "cpu.weight"), "174");
        } else {
            assert_eq!(file(&id, "cpu", "cpu.cfs_quota_us", ""), "150000");
            assert_eq!(file(&id, "cpu", "cpu.shares", ""), "2048");
        }
        if systemd_driver() {
            // systemd holds the same limits as unit properties (kept across daemon-reload).
            let unit = format!("berth-{id}.scope");
            let show = std::process::Command::new("systemctl")
                .args(["show", &unit, "-p", "MemoryMax", "-p", "TasksMax"])
                .output()
                .expect("systemctl show");
            let text = String::from_utf8_lossy(&show.stdout);
            assert!(
                text.contains("MemoryMax=134217728") && text.contains("TasksMax=20"),
                "{unit}: {text}"
            );
        }
        assert_eq!(
            inspect(
                &d,
                c,
                "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}",
                &n
            ),
            "134217728 1500000000 20"
        );
        d.run(c, &["rm", "-f", &n]).success();
    }
}

#[test]
fn cgroup_stats_pause_and_exec_use_the_containers_cgroup() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = name(c, "obs");
        let id = sleeper(&d, c, &n, &["-m", "64m"]);
        let out = d
            .run(
                c,
                &[
                    "stats",
                    "--no-stream",
                    "--format",
                    "{{.MemUsage}} {{.PIDs}}",
                    &n,
                ],
            )
            .success()
            .out();
        assert!(out.ends_with("/ 64MiB 1"), "stats: {out}");
        assert!(!out.starts_with("0B"), "memory usage read: {out}");
        // exec joins the container's cgroup: two processes in it while the exec runs.
        d.run(c, &["exec", "-d", &n, "sleep", "300"]).success();
        assert!(
            eventually(10, || {
                file(&id, "pids", "cgroup.procs", "cgroup.procs")
                    .lines()
                    .count()
                    == 2
            }),
            "exec'd process in the container's cgroup"
        );
        // pause freezes the cgroup, unpause thaws it.
        d.run(c, &["pause", &n]).success();
        assert_eq!(
            file(&id, "freezer", "freezer.state", "cgroup.freeze"),
            if cgroup_v2() { "1" } else { "FROZEN" }
        );
        d.run(c, &["unpause", &n]).success();
        assert_eq!(
            file(&id, "freezer", "freezer.state", "cgroup.freeze"),
            if cgroup_v2() { "0" } else { "THAWED" }
        );
        d.run(c, &["rm", "-f", &n]).success();
        assert!(
            eventually(10, || container_cgroup_dir(&id, "pids").is_none()),
            "the container's cgroup is removed with it"
        );
    }
}

#[test]
fn cgroup_namespace_private_and_host() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        // private: the container sees its own cgroup as the root.
        let out = d
            .run(
                c,
                &[
                    "run",
                    "--rm",
                    "--network",
                    "none",
                    "--cgroupns",
                    "private",
                    "busybox",
                    "cat",
                    "/proc/self/cgroup",
                ],
            )
            .success()
            .out();
        assert!(
            out.lines().all(|l| l.ends_with(":/")),
            "private cgroup namespace: {out}"
        );
        // host: the full path, naming the container.
        let n = name(c, "cgns-host");
        let id = sleeper(&d, c, &n, &["--cgroupns", "host"]);
        let out = d
            .run(c, &["exec", &n, "cat", "/proc/self/cgroup"])
            .success()
            .out();
        assert!(out.contains(&id), "host cgroup namespace: {out}");
        assert_eq!(inspect(&d, c, "{{.HostConfig.CgroupnsMode}}", &n), "host");
        d.run(c, &["rm", "-f", &n]).success();
        // The default is Docker's: private on cgroup v2, host on v1.
        let n = name(c, "cgns-default");
        let id = sleeper(&d, c, &n, &[]);
        let out = d
            .run(c, &["exec", &n, "cat", "/proc/self/cgroup"])
            .success()
            .out();
        assert_eq!(out.contains(&id), !cgroup_v2(), "default cgroupns: {out}");
        d.run(c, &["rm", "-f", &n]).success();
        d.run(
            c,
            &["run", "--rm", "--cgroupns", "bogus", "busybox", "true"],
        )
        .failure()
        .stderr_contains("--cgroupns: invalid CGROUP mode");
    }
    // The daemon checks it too (an API client may send anything).
    let (status, body) = d.api(
        "POST",
        "/containers/create",
        Some(r#"{"Image":"busybox","Cmd":["true"],"HostConfig":{"CgroupnsMode":"bogus"}}"#),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("invalid cgroup namespace mode: bogus"),
        "{body}"
    );
}

#[test]
fn cgroup_parent_places_the_container() {
    let d = TestDaemon::start();
    let systemd = systemd_driver();
    for c in Client::BOTH {
        let n = name(c, "parent");
        let parent = if systemd {
            format!("berthtest{}.slice", std::process::id())
        } else {
            format!("/berth-test-{}", std::process::id())
        };
        let id = sleeper(&d, c, &n, &["--cgroup-parent", &parent]);
        let pid = inspect(&d, c, "{{.State.Pid}}", &n);
        let cg = cgroup_of_pid(&pid, "memory").expect("container's cgroup");
        let want = if systemd {
            format!("/{parent}/berth-{id}.scope")
        } else {
            format!("{parent}/{id}")
        };
        assert_eq!(cg, want, "cgroup of the container's init");
        d.run(c, &["rm", "-f", &n]).success();
        if systemd {
            let _ = std::process::Command::new("systemctl")
                .args(["stop", &parent])
                .status();
            // A parent that is not a slice: docker's refusal.
            d.run(
                c,
                &[
                    "run",
                    "--rm",
                    "--cgroup-parent",
                    "/not-a-slice",
                    "busybox",
                    "true",
                ],
            )
            .failure()
            .stderr_contains(
                "cgroup-parent for systemd cgroup should be a valid slice named as \"xxx.slice\"",
            );
        } else {
            // The parent the daemon created, in every hierarchy.
            let root = Path::new("/sys/fs/cgroup");
            let dirs: Vec<_> = if cgroup_v2() {
                vec![root.join(parent.trim_start_matches('/'))]
            } else {
                fs::read_dir(root)
                    .map(|rd| {
                        rd.flatten()
                            .map(|e| e.path().join(parent.trim_start_matches('/')))
                            .filter(|p| p.is_dir())
                            .collect()
                    })
                    .unwrap_or_default()
            };
            for dir in dirs {
                let _ = fs::remove_dir(dir);
            }
        }
    }
}
