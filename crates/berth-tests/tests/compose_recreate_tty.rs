//! The recreate question on a real terminal and `--dry-run` with a diverged volume and
//! network, compared with docker compose 2.40.3 on the same files against the same berth
//! daemon (prefix `compose_recreate_tty_`):
//! - under a pseudo-terminal, compose (survey's Confirm) draws `? QUESTION (y/N) `, reads
//!   the answer, and draws the line again ending in `Yes` or `No`; berth draws the same
//!   (the escape sequences aside: the text, once they are stripped, is compared);
//! - `--dry-run up -d` reports the recreation it would do (the network's removal, the
//!   volume's recreation with `-y`) without changing anything.
//!
//! The terminal is a pty made by a short python script (python3's `pty`): it answers
//! survey's cursor-position queries (`ESC[6n`) as a terminal would and types the answer
//! once `(y/N)` shows. Safety: every project's networks get bridges named by the test
//! (removed by the guard); nothing is published.

use berth_tests::compose::{compose_yaml, project_left, run_compose, Tool, TOOLS};
use berth_tests::nettest::watched_daemon;
use berth_tests::{NetGuard, TestDaemon};
use std::path::Path;

// Only its runner: this test's script answers the question, the frame helpers are not used.
#[allow(dead_code)]
#[path = "support/pty.rs"]
mod pty;

/// Runs argv[2:] on a pty 120x40, answers cursor-position queries, types the k-th of
/// argv[1]'s `|`-separated answers once `(y/N)` has shown k times (killing the command if
/// it never asks for them all, after 20 s), then prints all the command wrote and
/// `<exit N sent=BOOL>`.
const PTY: &str = r#"
import os, pty, sys, select, time, struct, fcntl, termios
answers = [a.encode() for a in sys.argv[1].split("|")]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
out = b""; sent = False; answered = []; deadline = time.time() + 20
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if b"\x1b[6n" in chunk:
            os.write(fd, b"\x1b[5;1R")
    if not sent and out.count(b"(y/N)") > len(answered):
        time.sleep(0.3)
        answered.append(answers[len(answered)])
        os.write(fd, answered[-1])
        sent = len(answered) == len(answers)
if not sent:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.stdout.write("\n<exit %d sent=%s>\n" % (os.waitstatus_to_exitcode(status), sent))
"#;

/// `tool ARGS` in `dir` on a pty, answering `answer`: what it wrote.
fn on_pty(d: &TestDaemon, tool: Tool, dir: &Path, args: &[&str], answer: &str) -> String {
    pty::run_script(d, tool, dir, PTY, &[answer], args, &[])
}

/// The text without escape sequences (CSI `ESC[...X`, `ESC7`/`ESC8`) and carriage returns.
fn visible(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            // CSI: up to its final letter; `ESC7`/`ESC8`: the one character.
            '\x1b' => {
                if it.next() == Some('[') {
                    for c in it.by_ref() {
                        if c.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// The question as the user sees it answered: the lines naming it, and the exit line.
fn question_lines(s: &str, proj: &str) -> Vec<String> {
    visible(s)
        .replace(proj, "P")
        .lines()
        .filter(|l| {
            l.contains("Recreate (data will be lost)?")
                || l.contains("Sorry, your reply was invalid")
                || l.starts_with("<exit")
        })
        .map(|l| l.trim_end().to_string())
        .collect()
}

fn inspect(d: &TestDaemon, kind: &str, name: &str, format: &str) -> String {
    d.docker([kind, "inspect", "-f", format, name])
        .run()
        .out()
        .trim()
        .to_string()
}

/// A volume whose labels changed, `up -d` on a terminal: `n` keeps it; `x` and ` y` are
/// refused with survey's error and the question asked again, until `YES` recreates it;
/// after another change `y` recreates it; the question, the errors and the answer drawn
/// as compose draws them.
#[test]
fn compose_recreate_tty_question_on_a_terminal() {
    let mut g = NetGuard::new("bt-rt1");
    let d = watched_daemon(&mut g);
    let mut seen = Vec::new();
    for tool in TOOLS {
        let proj = tool.project("rttty");
        let br = g.bridge();
        let write = |label: &str| {
            compose_yaml(
                &d,
                &proj,
                &format!(
                    "name: {proj}\nservices:\n  web:\n    image: busybox\n    command: sleep 600\n    stop_signal: SIGKILL\n    volumes: [data:/data]\nvolumes:\n  data:\n    labels:\n      v: \"{label}\"\nnetworks:\n  default:\n    driver_opts:\n      com.docker.network.bridge.name: {br}\n"
                ),
            )
        };
        let dir = write("1");
        let vol = format!("{proj}_data");
        let label = || inspect(&d, "volume", &vol, "{{index .Labels \"v\"}}");
        run_compose(&d, tool, &dir, &["up", "-d"]).success();
        write("2");
        let no = on_pty(&d, tool, &dir, &["up", "-d"], "n\r");
        assert_eq!(label(), "1", "{tool:?}: n keeps the volume\n{no}");
        let bad = on_pty(&d, tool, &dir, &["up", "-d"], "x\r| y\r|YES\r");
        assert_eq!(
            label(),
            "2",
            "{tool:?}: asked again after x and ' y', YES recreates the volume\n{bad}"
        );
        write("3");
        let yes = on_pty(&d, tool, &dir, &["up", "-d"], "y\r");
        assert_eq!(label(), "3", "{tool:?}: y recreates the volume\n{yes}");
        seen.push((
            question_lines(&no, &proj),
            question_lines(&yes, &proj),
            question_lines(&bad, &proj),
        ));
        run_compose(&d, tool, &dir, &["down", "-v"]).success();
        assert!(project_left(&d, &proj).is_empty(), "{tool:?}");
    }
    assert_eq!(seen[0], seen[1], "berth (left) and docker compose (right)");
    let q = "? Volume \"P_data\" exists but doesn't match configuration in compose file. Recreate (data will be lost)?";
    assert_eq!(
        seen[0].0,
        [
            format!("{q} (y/N) n"),
            format!("{q} No"),
            "<exit 0 sent=True>".to_string()
        ],
        "{seen:#?}"
    );
    assert_eq!(
        seen[0].1,
        [
            format!("{q} (y/N) y"),
            format!("{q} Yes"),
            "<exit 0 sent=True>".to_string()
        ],
        "{seen:#?}"
    );
    let sorry = |a: &str| {
        format!("X Sorry, your reply was invalid: \"{a}\" is not a valid answer, please try again.")
    };
    assert_eq!(
        seen[0].2,
        [
            format!("{q} (y/N) x"),
            sorry("x"),
            format!("{q} (y/N)  y"),
            sorry(" y"),
            format!("{q} (y/N) YES"),
            format!("{q} Yes"),
            "<exit 0 sent=True>".to_string()
        ],
        "{seen:#?}"
    );
}

/// A volume and a network whose labels changed, `--dry-run up -d` (the question asked
/// and, stdin being closed, answered no) and `--dry-run up -d -y`: the same lines as
/// compose's, and nothing changed (the volume's and network's labels and ids, the
/// container).
#[test]
fn compose_recreate_tty_dry_run_with_diverged_resources() {
    let mut g = NetGuard::new("bt-rt2");
    let d = watched_daemon(&mut g);
    let mut seen = Vec::new();
    for tool in TOOLS {
        let proj = tool.project("rtdry");
        let (br, br2) = (g.bridge(), g.bridge());
        let write = |label: &str| {
            compose_yaml(
                &d,
                &proj,
                &format!(
                    "name: {proj}\nservices:\n  web:\n    image: busybox\n    command: sleep 600\n    stop_signal: SIGKILL\n    volumes: [data:/data]\n    networks: [default, other]\nvolumes:\n  data:\n    labels:\n      v: \"{label}\"\nnetworks:\n  default:\n    driver_opts:\n      com.docker.network.bridge.name: {br}\n  other:\n    labels:\n      n: \"{label}\"\n    driver_opts:\n      com.docker.network.bridge.name: {br2}\n"
                ),
            )
        };
        let dir = write("1");
        run_compose(&d, tool, &dir, &["up", "-d"]).success();
        let state = || {
            (
                inspect(
                    &d,
                    "volume",
                    &format!("{proj}_data"),
                    "{{index .Labels \"v\"}}",
                ),
                inspect(
                    &d,
                    "network",
                    &format!("{proj}_other"),
                    "{{.Id}} {{index .Labels \"n\"}}",
                ),
                inspect(
                    &d,
                    "container",
                    &format!("{proj}-web-1"),
                    "{{.Id}} {{.State.StartedAt}}",
                ),
            )
        };
        let before = state();
        write("2");
        let mut got = Vec::new();
        for args in [
            &["--dry-run", "up", "-d"][..],
            &["--dry-run", "up", "-d", "-y"],
        ] {
            let o = run_compose(&d, tool, &dir, args);
            assert_eq!(o.code, 0, "{tool:?} {args:?}: {}", o.stderr);
            assert_eq!(
                state(),
                before,
                "{tool:?} {args:?}: a dry run changed something"
            );
            let err: Vec<String> = o
                .stderr
                .replace(&proj, "P")
                .lines()
                .filter(|l| !l.contains("COMPOSE_BAKE=false is deprecated"))
                .map(str::to_string)
                .collect();
            got.push(format!(
                "{args:?}: {:?} {err:#?}",
                o.stdout.replace(&proj, "P")
            ));
        }
        run_compose(&d, tool, &dir, &["down", "-v"]).success();
        assert!(project_left(&d, &proj).is_empty(), "{tool:?}");
        seen.push(got);
    }
    for (b, c) in seen[0].iter().zip(&seen[1]) {
        assert_eq!(b, c, "berth (left) and docker compose (right)");
    }
    assert!(
        seen[0][0].contains("DRY-RUN MODE -  Network P_other  Removed"),
        "{seen:#?}"
    );
    assert!(
        seen[0][1].contains("DRY-RUN MODE -  Volume P_data  Created"),
        "{seen:#?}"
    );
}
