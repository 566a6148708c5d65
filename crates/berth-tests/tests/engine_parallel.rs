//! Parallel starts (the bench's `run -d` burst from several clients) and the daemon's
//! cgroup warm-keeping around them: every container starts, is recorded and runs in its own
//! cgroup, and the daemon itself stays in the cgroup it was started in.

use berth_tests::{Client, TestDaemon};
use std::collections::HashSet;
use std::thread;
use std::time::Duration;

fn daemon_cgroup(d: &TestDaemon) -> String {
    let pid = d.pid().expect("daemon pid");
    std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("daemon cgroup")
}

#[test]
fn engine_parallel_run_d_from_four_clients_then_rm() {
    let d = TestDaemon::start();
    let per_client = 5;
    // Two berth and two docker CLIs at once, as the bench's xargs -P4.
    let ids: Vec<String> = thread::scope(|s| {
        let handles: Vec<_> = [Client::Berth, Client::Docker, Client::Berth, Client::Docker]
            .into_iter()
            .map(|c| {
                let d = &d;
                s.spawn(move || {
                    (0..per_client)
                        .map(|_| {
                            let out = d.run(
                                c,
                                &["run", "-d", "--network", "none", "busybox", "sleep", "300"],
                            );
                            out.success();
                            let id = out.out().trim().to_string();
                            assert_eq!(id.len(), 64, "{} run -d printed {id:?}", c.name());
                            id
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("client thread"))
            .collect()
    });
    let want: HashSet<String> = ids.iter().cloned().collect();
    assert_eq!(want.len(), 4 * per_client, "ids are unique");

    let ps = d.run(Client::Berth, &["ps", "-q", "--no-trunc"]);
    let running: HashSet<String> = ps.success().lines().into_iter().collect();
    assert_eq!(running, want, "every container runs");
    let names = d.run(Client::Docker, &["ps", "--format", "{{.Names}}"]);
    let names: HashSet<String> = names.success().lines().into_iter().collect();
    assert_eq!(names.len(), 4 * per_client, "names are unique: {names:?}");
    let on_disk: HashSet<String> = d.container_ids().into_iter().collect();
    assert_eq!(on_disk, want, "every container has its record");

    // Each init is in its own container's cgroup, with a pid of its own.
    let mut pids = HashSet::new();
    for id in &ids {
        let pid = d
            .run(Client::Docker, &["inspect", "-f", "{{.State.Pid}}", id])
            .success()
            .out();
        let pid: u32 = pid.trim().parse().expect("numeric pid");
        assert!(pid > 0 && pids.insert(pid), "pid {pid} of {id}");
        let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("init cgroup");
        assert!(cg.contains(id.as_str()), "init of {id} in {cg}");
    }

    // Removal from four clients at once.
    thread::scope(|s| {
        for (i, chunk) in ids.chunks(per_client).enumerate() {
            let d = &d;
            let c = if i % 2 == 0 {
                Client::Berth
            } else {
                Client::Docker
            };
            s.spawn(move || {
                let mut args = vec!["rm", "-f"];
                args.extend(chunk.iter().map(String::as_str));
                let out = d.run(c, &args);
                out.success();
                assert_eq!(
                    out.lines(),
                    chunk.to_vec(),
                    "rm -f prints the ids it removed"
                );
            });
        }
    });
    d.run(Client::Berth, &["ps", "-aq"]).success().stdout_is("");
    assert!(d.container_ids().is_empty(), "records gone");
}

#[test]
fn engine_parallel_daemon_keeps_its_cgroup_and_exec_joins_the_containers() {
    let d = TestDaemon::start();
    let before = daemon_cgroup(&d);
    let name = "warm-exec";
    d.run(
        Client::Berth,
        &[
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "none",
            "busybox",
            "sleep",
            "300",
        ],
    )
    .success();
    // An exec right after the start (inside the warm window) and one after it closed: each
    // is in the container's cgroups (the same as its init's, PID 1 there).
    for c in [Client::Berth, Client::Docker] {
        let script = "cat /proc/self/cgroup; echo --; cat /proc/1/cgroup";
        let out = d.run(c, &["exec", name, "sh", "-c", script]);
        out.success();
        let text = out.out();
        let (own, init) = text.split_once("--\n").expect("both cgroup lists");
        assert!(!own.trim().is_empty(), "exec cgroups: {text}");
        assert_eq!(own.trim(), init.trim(), "exec in the init's cgroups");
        thread::sleep(Duration::from_millis(400));
    }
    d.run(Client::Docker, &["exec", name, "sh", "-c", "exit 3"])
        .code(3);
    assert_eq!(daemon_cgroup(&d), before, "the daemon was not moved");
    d.run(Client::Berth, &["rm", "-f", name])
        .success()
        .stdout_is(&format!("{name}\n"));
    assert_eq!(daemon_cgroup(&d), before, "the daemon was not moved");
}
