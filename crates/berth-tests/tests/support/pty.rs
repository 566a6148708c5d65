//! A compose command on a pseudo-terminal, for the tests that compare berth compose's
//! terminal display with docker compose's (`compose_build_tty.rs`, `compose_pull_tty.rs`,
//! `compose_recreate_tty.rs` with its own answering script): shared here, not copied, as a
//! `#[path]` module of each test (no change to the harness library, so no other test binary
//! rebuilds).

use berth_tests::compose::Tool;
use berth_tests::TestDaemon;
use std::path::Path;

/// Runs argv[1:] on a pty 120x40 until it ends (killed after 60 s), then prints all it
/// wrote and `<exit N>`.
pub const PTY: &str = r#"
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
pub fn on_pty(
    d: &TestDaemon,
    tool: Tool,
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> String {
    run_script(d, tool, dir, PTY, &[], args, env)
}

/// The python `script` run with `script_args` and then `tool ARGS` (to run in `dir`, with
/// the daemon's docker config and `env`) as its arguments: what it printed.
pub fn run_script(
    d: &TestDaemon,
    tool: Tool,
    dir: &Path,
    script: &str,
    script_args: &[&str],
    args: &[&str],
    env: &[(&str, &str)],
) -> String {
    let c = tool.command(&d.host(), dir);
    let mut p = std::process::Command::new("python3");
    p.arg("-c")
        .arg(script)
        .args(script_args)
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
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .expect("python3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// The frames drawn (between compose's hide-cursor and show-cursor sequences).
pub fn frames(out: &str) -> Vec<String> {
    out.split("\x1b[?25l")
        .skip(1)
        .map(|f| f.split("\x1b[?25h").next().unwrap_or("").to_string())
        .collect()
}

/// A frame's lines with their right-aligned timer (`  ESC[34m0.3s ESC[0m`) and the spaces
/// before it made ` T`, and carriage returns dropped.
pub fn without_timers(frame: &str) -> Vec<String> {
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
