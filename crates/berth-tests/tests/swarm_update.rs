//! Swarm updates and the cluster's CA (prefix `swarm_upd_`): an update whose new image
//! fails its health check is caught within `--update-monitor` and rolled back (or paused),
//! a daemon killed with -9 in the middle of a rolling update finishes it without twins,
//! `--detach=false` shows docker's progress, and `swarm ca` shows (and rotates) the root
//! CA — through the docker CLI and berth's.

use berth_tests::swarm::init;
use berth_tests::{eventually, Client, TestDaemon};

fn run(d: &TestDaemon, c: Client, args: &[&str]) -> berth_tests::Output {
    d.run(c, args)
}

/// A task that stops at once on SIGTERM.
const QUIET_SLEEP: &str = "trap 'exit 0' TERM; sleep 100000 & wait";

fn running_images(d: &TestDaemon, service: &str) -> Vec<String> {
    let ids = d
        .run(
            Client::Docker,
            &[
                "ps",
                "-q",
                "--filter",
                &format!("label=com.docker.swarm.service.name={service}"),
            ],
        )
        .lines();
    let mut v: Vec<String> = ids
        .iter()
        .map(|id| {
            d.run(Client::Docker, &["inspect", "-f", "{{.Config.Image}}", id])
                .out()
        })
        .collect();
    v.sort();
    v
}

fn inspect(d: &TestDaemon, c: Client, service: &str, tmpl: &str) -> String {
    run(d, c, &["service", "inspect", service, "--format", tmpl]).out()
}

/// An image whose health check always fails (`busybox:sick`).
fn sick_image(d: &TestDaemon) {
    d.cli(Client::Berth, ["build", "-q", "-t", "busybox:sick", "-"])
        .stdin("FROM busybox\nHEALTHCHECK --interval=1s --timeout=1s --retries=2 CMD false\n")
        .run()
        .success();
}

fn health_update(c: Client, action: &str) {
    let d = TestDaemon::start();
    init(&d, c);
    sick_image(&d);
    run(
        &d,
        c,
        &[
            "service",
            "create",
            "-d",
            "--name",
            "app",
            "--replicas",
            "2",
            "--update-failure-action",
            action,
            "--update-monitor",
            "30s",
            "busybox",
            "sh",
            "-c",
            QUIET_SLEEP,
        ],
    )
    .success();
    assert!(eventually(60, || running_images(&d, "app")
        == vec!["busybox:latest", "busybox:latest"]));
    run(
        &d,
        c,
        &["service", "update", "-d", "--image", "busybox:sick", "app"],
    )
    .success();
    let want = if action == "rollback" {
        "rollback_completed"
    } else {
        "paused"
    };
    assert!(
        eventually(90, || inspect(&d, c, "app", "{{.UpdateStatus.State}}")
            == want),
        "{}\n{}",
        inspect(&d, c, "app", "{{json .UpdateStatus}}"),
        run(&d, c, &["service", "ps", "--no-trunc", "app"]).out()
    );
    let msg = inspect(&d, c, "app", "{{.UpdateStatus.Message}}");
    if action == "rollback" {
        assert_eq!(msg, "rollback completed");
        // Back on the old image, both tasks running it.
        assert_eq!(
            inspect(&d, c, "app", "{{.Spec.TaskTemplate.ContainerSpec.Image}}"),
            "busybox:latest"
        );
        assert!(eventually(60, || running_images(&d, "app")
            == vec!["busybox:latest", "busybox:latest"]));
    } else {
        assert!(
            msg.starts_with("update paused due to failure or early termination of task "),
            "{msg}"
        );
        // Paused: the second task was never replaced.
        assert!(running_images(&d, "app").contains(&"busybox:latest".to_string()));
    }
    // The failed task shows why.
    let errors = run(
        &d,
        c,
        &[
            "service",
            "ps",
            "app",
            "--no-trunc",
            "--format",
            "{{.Error}}",
        ],
    );
    assert!(
        errors.success().out().contains("unhealthy container"),
        "{}",
        run(&d, c, &["service", "ps", "app", "--no-trunc"]).out()
    );
}

#[test]
fn swarm_upd_unhealthy_update_rolls_back_docker_cli() {
    health_update(Client::Docker, "rollback");
}

#[test]
fn swarm_upd_unhealthy_update_rolls_back_berth_cli() {
    health_update(Client::Berth, "rollback");
}

#[test]
fn swarm_upd_unhealthy_update_pauses() {
    health_update(Client::Docker, "pause");
}

/// kill -9 of the daemon during a rolling update: after the restart the update finishes,
/// one task per slot, every one on the new image.
#[test]
fn swarm_upd_daemon_killed_during_an_update() {
    let mut d = TestDaemon::start();
    let c = Client::Docker;
    init(&d, c);
    run(&d, c, &["tag", "busybox", "busybox:v2"]).success();
    run(
        &d,
        c,
        &[
            "service",
            "create",
            "-d",
            "--name",
            "roll",
            "--replicas",
            "4",
            "--update-delay",
            "2s",
            "busybox",
            "sh",
            "-c",
            QUIET_SLEEP,
        ],
    )
    .success();
    assert!(eventually(60, || running_images(&d, "roll").len() == 4));
    run(
        &d,
        c,
        &["service", "update", "-d", "--image", "busybox:v2", "roll"],
    )
    .success();
    // Once the first task runs the new image (and before the last does), kill -9.
    assert!(eventually(60, || running_images(&d, "roll")
        .iter()
        .any(|i| i == "busybox:v2")));
    let during = running_images(&d, "roll");
    assert!(during.iter().any(|i| i == "busybox:latest"), "{during:?}");
    d.kill_daemon();
    d.restart_daemon();
    assert!(
        eventually(120, || running_images(&d, "roll") == vec!["busybox:v2"; 4]),
        "{:?}\n{}",
        running_images(&d, "roll"),
        run(&d, c, &["service", "ps", "roll"]).out()
    );
    assert!(eventually(60, || inspect(
        &d,
        c,
        "roll",
        "{{.UpdateStatus.State}}"
    ) == "completed"));
    // One running task per slot, no twins.
    let slots = run(
        &d,
        c,
        &[
            "service",
            "ps",
            "roll",
            "--filter",
            "desired-state=running",
            "--format",
            "{{.Name}} {{.Image}} {{.CurrentState}}",
        ],
    )
    .lines();
    let mut names: Vec<String> = slots
        .iter()
        .map(|l| l.split(' ').next().unwrap_or_default().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec!["roll.1", "roll.2", "roll.3", "roll.4"],
        "{slots:?}"
    );
    assert!(slots
        .iter()
        .all(|l| l.contains("busybox:v2") && l.contains("Running")));
}

/// `--detach=false`: docker's progress lines (off a terminal: one per message, bars left
/// out), then the verification once the tasks stayed up for the monitor period.
fn progress(c: Client) {
    let d = TestDaemon::start();
    init(&d, c);
    let out = run(
        &d,
        c,
        &[
            "service",
            "create",
            "--detach=false",
            "--name",
            "p",
            "--replicas",
            "2",
            "--update-monitor",
            "1s",
            "busybox",
            "sh",
            "-c",
            QUIET_SLEEP,
        ],
    )
    .success()
    .out();
    let id = out.lines().next().unwrap_or_default().to_string();
    assert_eq!(id.len(), 25, "{out}");
    for want in [
        "overall progress: 0 out of 2 tasks",
        "1/2: ",
        "2/2: ",
        "overall progress: 2 out of 2 tasks",
        "verify: Waiting 1 seconds to verify that tasks are stable...",
        &format!("verify: Service {id} converged"),
    ] {
        assert!(out.contains(want), "{want:?} in\n{out}");
    }
    assert!(
        out.trim_end()
            .ends_with(&format!("verify: Service {id} converged")),
        "{out}"
    );
    // An update shows the same, and a scale.
    run(&d, c, &["tag", "busybox", "busybox:v2"]).success();
    run(
        &d,
        c,
        &[
            "service",
            "update",
            "--detach=false",
            "--image",
            "busybox:v2",
            "p",
        ],
    )
    .success()
    .stdout_contains("overall progress: 2 out of 2 tasks")
    .stdout_contains("verify: Service p converged");
}

#[test]
fn swarm_upd_progress_docker_cli() {
    progress(Client::Docker);
}

#[test]
fn swarm_upd_progress_berth_cli() {
    progress(Client::Berth);
}

/// `swarm ca`: the root CA certificate made at init (as `info` and the node show it);
/// `--rotate` makes a new one that every node follows.
fn ca(c: Client) {
    let d = TestDaemon::start();
    init(&d, c);
    let pem = run(&d, c, &["swarm", "ca"]).success().out();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    assert!(pem.ends_with("-----END CERTIFICATE-----"), "{pem}");
    let subject = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-subject"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut ch| {
            use std::io::Write;
            if let Some(mut i) = ch.stdin.take() {
                i.write_all(pem.as_bytes())?;
            }
            ch.wait_with_output()
        })
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    assert!(subject.contains("CN = swarm-ca"), "{subject}");
    run(
        &d,
        c,
        &["info", "--format", "{{.Swarm.Cluster.TLSInfo.TrustRoot}}"],
    )
    .success()
    .stdout_contains(pem.trim());
    let issuer = run(
        &d,
        c,
        &[
            "node",
            "inspect",
            "self",
            "--format",
            "{{.Description.TLSInfo.CertIssuerSubject}}",
        ],
    )
    .success()
    .out();
    assert!(!issuer.is_empty());
    // A CA certificate without --rotate (docker reads the file first: it must exist).
    let given = d.dir.join("given-ca.pem");
    std::fs::write(&given, &pem).unwrap_or_else(|e| panic!("write: {e}"));
    run(
        &d,
        c,
        &["swarm", "ca", "--ca-cert", &given.to_string_lossy()],
    )
    .failure()
    .stderr_contains("flag requires the `--rotate` flag to update the CA");
    let rotated = run(&d, c, &["swarm", "ca", "--rotate"]).success().out();
    assert!(rotated.contains("-----BEGIN CERTIFICATE-----"), "{rotated}");
    let now = run(&d, c, &["swarm", "ca"]).success().out();
    assert_ne!(now, pem, "a new root");
    assert!(rotated.contains(now.trim()), "{rotated}");
    assert_ne!(
        run(
            &d,
            c,
            &["node", "inspect", "self", "--format", "{{.Description.TLSInfo.CertIssuerSubject}} {{.Description.TLSInfo.CertIssuerPublicKey}}"],
        )
        .out(),
        issuer
    );
}

#[test]
fn swarm_upd_ca_docker_cli() {
    ca(Client::Docker);
}

#[test]
fn swarm_upd_ca_berth_cli() {
    ca(Client::Berth);
}
