//! The differential harness itself (prefix `compat_harness`): its daemons cannot reach
//! outside, and its reset between scenarios leaves nothing behind.
//!
//! Outside: every harness dockerd and berth daemon runs with `HTTP(S)_PROXY` pointing at
//! the closed port 127.0.0.1:9, loopback in `NO_PROXY`, and `RES_OPTIONS=attempts:0`
//! ([`dockerd::OFFLINE_ENV`]), so a reference to a registry that is not on loopback (a
//! missing image looked up on Docker Hub, `quay.io/...`) is sent to the dead proxy and
//! its name is never sent to a nameserver: dockerd says `proxyconnect tcp: dial tcp
//! 127.0.0.1:9: connect: connection refused`. (Checked with `strace -f -e
//! trace=connect,sendto` over this test: no packet to port 53, no address but loopback.)

use berth_tests::differential::Differ;
use berth_tests::dockerd::{self, Dockerd};
use berth_tests::{Client, TestDaemon};
use std::time::Duration;

/// `KEY=VALUE` entries of a process's environment.
fn environ(pid: u32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/environ: {e}"));
    raw.split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

fn assert_offline_env(who: &str, pid: u32) {
    let env = environ(pid);
    for (k, v) in dockerd::OFFLINE_ENV {
        let want = format!("{k}={v}");
        assert!(
            env.contains(&want),
            "{who} (pid {pid}) lacks {want} in its environment: {env:?}"
        );
    }
}

/// A harness dockerd has the dead proxy in its environment and sends a Docker Hub lookup
/// (a missing image) there; so does a harness berth daemon for a registry that is not
/// Docker Hub (Docker Hub itself it already reaches at 127.0.0.1:9, `BERTH_HUB_HOST`).
#[test]
fn compat_harness_daemons_cannot_reach_outside() {
    let d = Dockerd::start_empty();
    assert_offline_env("dockerd", d.pid().expect("dockerd runs"));
    let out = d
        .docker(["pull", "berth-offline-check/nosuch:1"])
        .run_timeout(Duration::from_secs(60));
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("proxyconnect tcp: dial tcp 127.0.0.1:9: connect: connection refused"),
        "the Docker Hub lookup did not go to the dead proxy: {out:?}"
    );
    // Another registry, through the API: the docker CLI (a static Go binary, its own
    // resolver) would look the host up itself before sending the request.
    let mut curl = std::process::Command::new("curl");
    curl.args(["-sS", "-X", "POST", "--unix-socket"])
        .arg(&d.socket)
        .arg("http://localhost/v1.41/images/create?fromImage=quay.io%2Fberth-offline-check%2Fnosuch&tag=1");
    let out = berth_tests::run_command(curl, None, Duration::from_secs(60));
    assert!(
        out.stdout
            .contains("proxyconnect tcp: dial tcp 127.0.0.1:9"),
        "{out:?}"
    );

    let b = TestDaemon::start_empty();
    assert_offline_env("berth daemon", b.pid().expect("berth daemon runs"));
    let out = b.run(
        Client::Berth,
        &["pull", "quay.io/berth-offline-check/nosuch:1"],
    );
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("connection refused") && !out.stderr.contains("lookup"),
        "the registry request did not go to the dead proxy: {out:?}"
    );
}

/// The reset between scenarios removes configuration-only networks whatever the order the
/// daemon lists them in: one cannot go while a network made from it exists, so the reset
/// repeats its pass. Four pairs: in any order, some configuration network comes before
/// the network that uses it.
#[test]
fn compat_harness_reset_removes_config_only_networks() {
    let dif = Differ::start();
    let create = |run: &dyn Fn(&[&str]) -> berth_tests::Output, n: u32| {
        for i in 0..4u32 {
            let subnet = format!("10.220.{n}.{}/26", i * 64);
            let (conf, user) = (format!("c{i}conf"), format!("c{i}user"));
            let out = run(&[
                "network",
                "create",
                "--config-only",
                "--subnet",
                &subnet,
                &conf,
            ]);
            assert_eq!(out.code, 0, "{out:?}");
            let out = run(&["network", "create", "--config-from", &conf, &user]);
            assert_eq!(out.code, 0, "{out:?}");
        }
    };
    create(&|a| dif.dockerd.run(a), dif.dockerd.net.n);
    create(&|a| dif.berth.run(Client::Docker, a), dif.berth.net.n);
    dif.reset();
    let names = |run: &dyn Fn(&[&str]) -> berth_tests::Output| {
        let out = run(&["network", "ls", "--format", "{{.Name}}"]);
        assert_eq!(out.code, 0, "{out:?}");
        let mut v: Vec<String> = out.stdout.lines().map(str::to_string).collect();
        v.sort();
        v
    };
    let builtins = ["bridge", "host", "none"];
    assert_eq!(names(&|a| dif.dockerd.run(a)), builtins, "dockerd");
    assert_eq!(
        names(&|a| dif.berth.run(Client::Docker, a)),
        builtins,
        "berth"
    );
}
