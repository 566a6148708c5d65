//! A build on a terminal, berth compose against docker compose 2.40.3 (classic builder:
//! DOCKER_BUILDKIT=0), both against the same berth daemon (prefix `compose_build_tty_`):
//! compose's tty writer draws ` ⠋ Service app  Building` while the build's own output goes
//! by, then `✔ Service app  Built` and `✔ app  Built` (the state words are compose's
//! status texts: after the padding, green once done) under `[+] Building N/2` for `build`,
//! and with the network and container lines under `[+] Running 4/4` for `up -d --build`.
//! The last frame of each is compared byte for byte, the timers masked.
//!
//! Safety: the project's network gets a bridge named by the test (removed by the guard).

use berth_tests::compose::{bridged_project, write_project, Tool, TOOLS};
use berth_tests::nettest::watched_daemon;
use berth_tests::{NetGuard, TestDaemon};
use std::path::Path;

/// Runs argv[1:] on a pty 120x40 until it ends (killed after 60 s), then prints all it
/// wrote and `<exit N>`.
const PTY: &str = r#"
import os, pty, sys, select, time, struct, fcntl, termios
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
out = b""; deadline = time.time() + 60
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if b"\x1b[6n" in chunk:
            os.write(fd, b"\x1b[5;1R")
else:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.stdout.write("\n<exit %d>\n" % os.waitstatus_to_exitcode(status))
"#;

/// `tool ARGS` in `dir` on a pty: what it wrote.
fn on_pty(d: &TestDaemon, tool: Tool, dir: &Path, args: &[&str]) -> String {
    let c = tool.command(&d.host(), dir);
    let mut p = std::process::Command::new("python3");
    p.arg("-c")
        .arg(PTY)
        .arg(c.get_program())
        .args(c.get_args())
        .args(args);
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => p.env(k, v),
            None => p.env_remove(k),
        };
    }
    let o = p
        .env("DOCKER_CONFIG", d.dir().join("docker-config"))
        .env("COMPOSE_BAKE", "false")
        .env("DOCKER_BUILDKIT", "0")
        .current_dir(dir)
        .output()
        .expect("python3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// The frames drawn (between compose's hide-cursor and show-cursor sequences).
fn frames(out: &str) -> Vec<String> {
    out.split("\x1b[?25l")
        .skip(1)
        .map(|f| f.split("\x1b[?25h").next().unwrap_or("").to_string())
        .collect()
}

/// A frame's lines with their right-aligned timer (`  ESC[34m0.3s ESC[0m`) and the spaces
/// before it made ` T`, and carriage returns dropped.
fn without_timers(frame: &str) -> Vec<String> {
    frame
        .replace('\r', "")
        .lines()
        .map(|l| match l.rfind("\x1b[34m") {
            Some(i) if l.ends_with("s \x1b[0m") && i > 0 => {
                format!("{} T", l[..i].trim_end())
            }
            _ => l.to_string(),
        })
        .collect()
}

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
            let out = on_pty(&d, tool, &dir, args);
            assert!(out.ends_with("\n<exit 0>\n"), "{tool:?} {args:?}: {out:?}");
            let last = frames(&out).pop().unwrap_or_default();
            got.push(without_timers(&last.replace(&proj, "P")));
        }
        on_pty(&d, tool, &dir, &["down", "--rmi", "local"]);
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
