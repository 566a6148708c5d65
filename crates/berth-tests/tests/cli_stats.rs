//! `stats` as a person watches it (prefix `clistats_`): on a terminal (a pty made by
//! python's pty module) the table is redrawn in place (cursor home, erase to end of line),
//! a container started meanwhile joins the table as it does with the docker CLI, and
//! Ctrl-C ends it; `--no-stream` prints one plain table and exits.

use std::process::Command;
use std::time::Duration;

use berth_tests::{run_command, Client, TestDaemon};

/// Runs `line` (a shell command) in a pty for `secs` seconds, then types Ctrl-C; prints
/// what the terminal showed, then "EXIT <status>" (negative: killed by that signal).
const PTY: &str = r#"
import os, pty, sys, time, select, signal
line, secs = sys.argv[1], float(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execvp("sh", ["sh", "-c", line])
out = b""
end = time.time() + secs
def drain(until):
    global out
    while time.time() < until:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                b = os.read(fd, 65536)
            except OSError:
                return False
            if not b:
                return False
            out += b
    return True
drain(end)
os.write(fd, b"\x03")
deadline = time.time() + 10
status = None
while time.time() < deadline:
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        status = -os.WTERMSIG(st) if os.WIFSIGNALED(st) else os.WEXITSTATUS(st)
        break
    drain(time.time() + 0.1)
if status is None:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    status = "hung"
sys.stdout.write(out.decode("utf-8", "replace"))
sys.stdout.write("\nEXIT %s\n" % status)
"#;

/// `stats` of `client` watched on a pty for 6 s; a container started after 2 s.
fn watch(d: &TestDaemon, client: Client, args: &[&str], late: &str) -> String {
    let line = d.shell_line(client, args);
    let mut py = Command::new("python3");
    py.args(["-c", PTY, &line, "6"]);
    let starter = {
        let late = late.to_string();
        let host = d.host();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(2));
            let mut c = Command::new(berth_tests::berth_bin());
            c.args([
                "-H", &host, "run", "-d", "--name", &late, "busybox", "sleep", "60",
            ])
            .env("BERTH_NO_AUTOSTART", "1");
            run_command(c, None, Duration::from_secs(30)).success();
        })
    };
    let out = run_command(py, None, Duration::from_secs(40));
    starter.join().expect("starter thread");
    out.success();
    out.stdout
}

#[test]
fn clistats_live_view_redraws_in_place_shows_new_containers_and_stops_on_ctrl_c() {
    let d = TestDaemon::start();
    d.berth(["run", "-d", "--name", "first", "busybox", "sleep", "60"])
        .run()
        .success();
    for (client, late) in [
        (Client::Docker, "late-docker"),
        (Client::Berth, "late-berth"),
    ] {
        let screen = watch(&d, client, &["stats"], late);
        let name = client.name();
        assert!(screen.contains("\x1b[H"), "{name}: cursor home\n{screen:?}");
        assert!(screen.contains("CONTAINER ID"), "{name}: table\n{screen:?}");
        assert!(
            screen.contains("first"),
            "{name}: first container\n{screen:?}"
        );
        assert!(
            screen.contains(late),
            "{name}: the container started meanwhile joins\n{screen:?}"
        );
        let exit = screen.lines().last().unwrap_or("");
        assert!(
            exit == "EXIT -2" || exit == "EXIT 130" || exit == "EXIT 0",
            "{name}: Ctrl-C ends it ({exit})"
        );
        if client == Client::Berth {
            // Each line is erased to its end as it is rewritten, the rest below at the end.
            assert!(screen.contains("\x1b[K"), "erase line\n{screen:?}");
            assert!(screen.contains("\x1b[J"), "erase below\n{screen:?}");
        }
    }
    // --all: stopped containers are listed too.
    d.berth(["create", "--name", "stopped", "busybox", "true"])
        .run()
        .success();
    let screen = watch(&d, Client::Berth, &["stats", "--all"], "late-all");
    assert!(
        screen.contains("stopped") && screen.contains("late-all"),
        "{screen:?}"
    );
    // --no-stream: one plain table, no escape sequences, exit 0 (through both CLIs).
    for client in [Client::Berth, Client::Docker] {
        let out = d
            .cli(client, ["stats", "--no-stream", "--format", "{{.Name}}"])
            .run();
        out.success();
        assert!(!out.stdout.contains('\x1b'), "{out:?}");
        let mut names = out.lines();
        names.sort();
        assert_eq!(names, ["first", "late-all", "late-berth", "late-docker"]);
    }
}
