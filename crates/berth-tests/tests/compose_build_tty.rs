//! A build on a terminal, berth compose against docker compose 2.40.3 (classic builder:
//! DOCKER_BUILDKIT=0), both against the same berth daemon (prefix `compose_build_tty_`):
//! compose's tty writer draws ` ⠋ Service app  Building` while the build's own output goes
//! by, then `✔ Service app  Built` and `✔ app  Built` (the state words are compose's
//! status texts: after the padding, green once done) under `[+] Building N/2` for `build`,
//! and with the network and container lines under `[+] Running 4/4` for `up -d --build`.
//! The last frame of each is compared byte for byte, the timers masked.
//!
//! Safety: the project's network gets a bridge named by the test (removed by the guard).

use berth_tests::compose::{bridged_project, write_project, TOOLS};
use berth_tests::nettest::watched_daemon;
use berth_tests::NetGuard;

#[path = "support/pty.rs"]
mod pty;
use pty::{frames, on_pty, without_timers};

#[test]
fn compose_build_tty_last_frame_as_docker_compose() {
    let mut g = NetGuard::new("bt-bt1");
    let d = watched_daemon(&mut g);
    let mut seen = Vec::new();
    for tool in TOOLS {
        let proj = tool.project("bt");
        let dir = bridged_project(
            &d,
            &mut g,
            &proj,
            "  app:\n    build: .\n    command: sleep 600\n",
        );
        write_project(
            &d,
            &proj,
            &[("Dockerfile", "FROM busybox\nRUN sleep 0.5\n")],
        );
        let mut got = Vec::new();
        for args in [&["build"][..], &["up", "-d", "--build"]] {
            let out = on_pty(&d, tool, &dir, args, &[("DOCKER_BUILDKIT", "0")]);
            assert!(out.ends_with("\n<exit 0>\n"), "{tool:?} {args:?}: {out:?}");
            let last = frames(&out).pop().unwrap_or_default();
            got.push(without_timers(&last.replace(&proj, "P")));
        }
        on_pty(
            &d,
            tool,
            &dir,
            &["down", "--rmi", "local"],
            &[("DOCKER_BUILDKIT", "0")],
        );
        seen.push(got);
    }
    assert_eq!(
        seen[0], seen[1],
        "last frames: berth (left), docker compose (right)"
    );
    let g = "\x1b[32m";
    let r = "\x1b[0m";
    assert_eq!(
        seen[0][0],
        [
            "[+] Building 2/2".to_string(),
            format!(" {g}✔{r} Service app  {g}Built{r} T"),
            format!(" {g}✔{r} app          {g}Built{r} T"),
        ],
        "build"
    );
    assert_eq!(seen[0][1][0], "[+] Running 4/4", "up");
}
