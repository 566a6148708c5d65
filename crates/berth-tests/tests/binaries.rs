//! The two binaries (prefix `binaries_`): `berth`, the CLI, and `berthd`, the daemon that
//! `berth daemon` runs from beside it. No daemon is started here; every other test that
//! starts one does so through `berth daemon`, so the hand-over is exercised there too.

use std::process::Command;
use std::time::Duration;

use berth_tests::nettest::ScratchDir;
use berth_tests::{berth_bin, berthd_bin, run_command};

#[test]
fn binaries_berth_daemon_is_berthd() {
    let mut c = Command::new(berth_bin());
    c.args(["daemon", "--version"]);
    let via_cli = run_command(c, None, Duration::from_secs(10));
    via_cli.success();
    let direct = run_command(
        {
            let mut c = Command::new(berthd_bin());
            c.arg("--version");
            c
        },
        None,
        Duration::from_secs(10),
    );
    direct.success();
    assert_eq!(via_cli.stdout, direct.stdout);
    assert!(
        direct.stdout.starts_with("berth daemon "),
        "{}",
        direct.stdout
    );
    // A bad daemon flag is the daemon's usage error (exit 125), not the CLI's.
    let mut c = Command::new(berth_bin());
    c.args(["daemon", "--no-such-flag"]);
    run_command(c, None, Duration::from_secs(10))
        .code(125)
        .stderr_contains("--no-such-flag");
}

#[test]
fn binaries_cli_without_berthd_names_where_it_looked() {
    let d = ScratchDir::new("binaries");
    let lone = d.path().join("berth");
    std::fs::copy(berth_bin(), &lone).expect("copy berth");
    let mut c = Command::new(&lone);
    c.args(["daemon", "--version"])
        .env("PATH", d.path().join("empty"))
        .env("BERTH_NO_AUTOSTART", "1");
    run_command(c, None, Duration::from_secs(10))
        .code(127)
        .stderr_contains(&format!(
            "the daemon binary berthd is neither at {} nor on PATH",
            d.path().join("berthd").display()
        ));
    // The CLI alone still answers what needs no daemon.
    let mut c = Command::new(&lone);
    c.arg("--version").env("PATH", d.path().join("empty"));
    run_command(c, None, Duration::from_secs(10))
        .success()
        .stdout_contains("berth version");
}

#[test]
fn binaries_the_cli_leaves_the_shim_to_berthd() {
    // `shim` is berthd's (hidden) word; to the CLI it is an unknown command, as to docker.
    let mut c = Command::new(berth_bin());
    c.args(["shim", "--id", "x", "--dir", "/nonexistent"])
        .env("BERTH_NO_AUTOSTART", "1")
        .env("BERTH_HOST", "unix:///nonexistent.sock");
    run_command(c, None, Duration::from_secs(10))
        .failure()
        .stderr_contains("unknown command");
}
