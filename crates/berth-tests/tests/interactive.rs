//! Issue 3, "Attach and terminals": exec, run -i/-it, attach, start -ai, resize, detach
//! keys, through the berth CLI and the real docker CLI against a private berth daemon.
//! Terminal sessions are driven in tmux (a private tmux server per test) or `script`.

use berth_tests::{client_name as name, eventually, Client, TestDaemon};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::Duration;

/// A private tmux server running one command in a window of the given size.
struct Tmux {
    server: String,
}

impl Tmux {
    fn start(cmd: &str, width: u16, height: u16) -> Tmux {
        static N: AtomicU32 = AtomicU32::new(0);
        let server = format!(
            "berth-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        // The command's exit status stays on screen; the window outlives it for reading.
        let script = format!("{cmd}; echo SESSION-EXIT=$?; sleep 120");
        let st = Command::new("tmux")
            .args([
                "-L",
                &server,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "t",
            ])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .arg(script)
            .status()
            .expect("run tmux");
        assert!(st.success(), "tmux new-session failed");
        Tmux { server }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.server])
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "t", "-S", "-100"])
    }

    #[track_caller]
    fn wait_for(&self, text: &str) {
        let ok = eventually(20, || self.screen().contains(text));
        assert!(ok, "screen never showed {text:?}:\n{}", self.screen());
    }

    fn resize(&self, width: u16, height: u16) {
        self.tmux(&[
            "resize-window",
            "-t",
            "t",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.server, "kill-server"])
            .status();
    }
}

/// Runs a command line under `script` (a pty of the given size), returns what it printed.
fn in_pty(cmdline: &str, cols: u16, rows: u16) -> String {
    let full = format!("stty cols {cols} rows {rows}; {cmdline}");
    let out = Command::new("timeout")
        .args(["60", "script", "-qec", &full, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run script");
    String::from_utf8_lossy(&out.stdout).replace('\r', "")
}

#[test]
fn interactive_exec_runs_in_the_container() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = name(c, "ex");
        d.run(
            c,
            &[
                "run", "-d", "--name", &n, "-e", "BASE=1", "-w", "/etc", "busybox", "sleep", "300",
            ],
        )
        .success();
        // Output streams, exit code, the container's environment and directory.
        let out = d.run(
            c,
            &[
                "exec",
                &n,
                "sh",
                "-c",
                "echo out $BASE $HOSTNAME; pwd; echo err >&2; exit 3",
            ],
        );
        out.code(3);
        let host = d
            .run(c, &["inspect", "-f", "{{.Config.Hostname}}", &n])
            .success()
            .out();
        assert_eq!(out.stdout, format!("out 1 {host}\n/etc\n"), "{out:?}");
        assert_eq!(out.stderr, "err\n");
        // The process is in the container's pid namespace and cgroup.
        let ps = d
            .run(c, &["exec", &n, "ps", "-o", "pid,args"])
            .success()
            .out();
        assert!(ps.contains("1 sleep 300"), "{ps}");
        let pid1 = d
            .run(c, &["exec", &n, "cat", "/proc/1/cmdline"])
            .success()
            .out();
        assert_eq!(pid1, "sleep\u{0}300\u{0}");
        let cg_init = d
            .run(c, &["exec", &n, "cat", "/proc/1/cgroup"])
            .success()
            .out();
        let cg_exec = d
            .run(c, &["exec", &n, "cat", "/proc/self/cgroup"])
            .success()
            .out();
        assert_eq!(
            cg_init, cg_exec,
            "exec'd process must share the container's cgroups"
        );
        // -e, --env-file, -w, -u
        let envf = d.dir().join(format!("{n}.env"));
        std::fs::write(&envf, "FROMFILE=yes\n# comment\n").unwrap();
        d.run(
            c,
            &[
                "exec",
                "-e",
                "A=x",
                "--env-file",
                envf.to_str().unwrap(),
                "-e",
                "BASE=2",
                "-w",
                "/tmp",
                "-u",
                "nobody",
                &n,
                "sh",
                "-c",
                "echo $A $FROMFILE $BASE; pwd; id -u; id -g",
            ],
        )
        .success()
        .stdout_is("x yes 2\n/tmp\n65534\n65534\n");
        d.run(
            c,
            &["exec", "-u", "1234:5678", &n, "sh", "-c", "id -u; id -g"],
        )
        .success()
        .stdout_is("1234\n5678\n");
        // -i pipes stdin; without -i the process gets no input.
        d.cli(c, ["exec", "-i", &n, "cat"])
            .stdin("piped data\n")
            .run()
            .success()
            .stdout_is("piped data\n");
        d.cli(c, ["exec", &n, "cat"])
            .stdin("ignored\n")
            .run()
            .success()
            .stdout_is("");
        // Capabilities: Docker's default set, all with --privileged.
        let caps = d
            .run(c, &["exec", &n, "grep", "CapEff", "/proc/self/status"])
            .success()
            .out();
        assert!(caps.ends_with("00000000a80425fb"), "{caps}");
        let caps = d
            .run(
                c,
                &[
                    "exec",
                    "--privileged",
                    &n,
                    "grep",
                    "CapEff",
                    "/proc/self/status",
                ],
            )
            .success()
            .out();
        assert!(
            !caps.ends_with("00000000a80425fb"),
            "--privileged must widen: {caps}"
        );
        // -d: runs in the background, the CLI returns at once.
        d.run(
            c,
            &[
                "exec",
                "-d",
                &n,
                "sh",
                "-c",
                "sleep 0.3; echo done > /tmp/bg",
            ],
        )
        .success()
        .stdout_is("");
        assert!(eventually(10, || d
            .run(c, &["exec", &n, "cat", "/tmp/bg"])
            .stdout
            == "done\n"));
    }
}

#[test]
fn interactive_exec_errors_and_inspect() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = name(c, "exerr");
        d.run(c, &["run", "-d", "--name", &n, "busybox", "sleep", "300"])
            .success();
        let out = d.run(c, &["exec", &n, "no-such-cmd"]);
        out.code(127);
        assert!(
            format!("{}{}", out.stdout, out.stderr).contains(
                "OCI runtime exec failed: exec failed: unable to start container process: exec: \"no-such-cmd\": executable file not found in $PATH"
            ),
            "{out:?}"
        );
        d.run(c, &["exec", &n, "/etc/passwd"]).code(126);
        d.run(c, &["exec", "-w", "/nonexistent", &n, "true"])
            .code(126);
        d.run(c, &["exec", "-u", "nosuchuser", &n, "true"])
            .failure();
        d.run(c, &["exec", "--detach-keys", "ctrl-", &n, "true"])
            .failure()
            .stderr_contains("Invalid detach keys (ctrl-) provided");
        d.run(c, &["exec", "no-such-container", "true"])
            .code(1)
            .stderr_contains("No such container: no-such-container");
        d.run(c, &["exec", &n]).failure();
        // A stopped container: Docker's conflict.
        let id = d.run(c, &["inspect", "-f", "{{.Id}}", &n]).success().out();
        d.run(c, &["stop", "-t", "0", &n]).success();
        d.run(c, &["exec", &n, "true"])
            .code(1)
            .stderr_contains(&format!("container {id} is not running"));
    }
    // The API: create, start detached, inspect (exit code, running), unknown ids, ExecIDs.
    d.berth(["run", "-d", "--name", "api", "busybox", "sleep", "300"])
        .run()
        .success();
    let (code, body) = d.api(
        "POST",
        "/containers/api/exec",
        Some(r#"{"Cmd":["sh","-c","exit 5"],"AttachStdout":true}"#),
    );
    assert_eq!(code, 201, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let exec_id = v["Id"].as_str().unwrap().to_string();
    assert_eq!(exec_id.len(), 64);
    let (code, body) = d.api("GET", &format!("/exec/{exec_id}/json"), None);
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["Running"], false);
    assert!(v["ExitCode"].is_null(), "{v}");
    assert_eq!(v["ProcessConfig"]["entrypoint"], "sh");
    let (code, _) = d.api(
        "POST",
        &format!("/exec/{exec_id}/start"),
        Some(r#"{"Detach":true}"#),
    );
    assert_eq!(code, 200);
    assert!(eventually(10, || {
        let (_, body) = d.api("GET", &format!("/exec/{exec_id}/json"), None);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        v["ExitCode"] == 5 && v["Running"] == false
    }));
    let (code, body) = d.api(
        "POST",
        &format!("/exec/{exec_id}/start"),
        Some(r#"{"Detach":true}"#),
    );
    assert_eq!(code, 409, "starting an exec twice: {body}");
    let ids = d
        .berth(["inspect", "-f", "{{json .ExecIDs}}", "api"])
        .run()
        .success()
        .out();
    assert!(ids.contains(&exec_id), "{ids}");
    let (code, body) = d.api("GET", "/exec/nope/json", None);
    assert_eq!(code, 404);
    assert!(body.contains("No such exec instance: nope"), "{body}");
    let (code, body) = d.api("POST", "/containers/api/exec", Some(r#"{"Cmd":[]}"#));
    assert_eq!(code, 400);
    assert!(body.contains("No exec command specified"), "{body}");
}

#[test]
fn interactive_run_i_pipes_stdin_and_start_ai() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        d.cli(c, ["run", "--rm", "-i", "busybox", "cat"])
            .stdin("hi\n")
            .run()
            .success()
            .stdout_is("hi\n");
        // Without -i, stdin is not connected.
        d.cli(c, ["run", "--rm", "busybox", "cat"])
            .stdin("hi\n")
            .run()
            .success()
            .stdout_is("");
        let n = name(c, "startai");
        d.run(
            c,
            &[
                "create",
                "-i",
                "--name",
                &n,
                "busybox",
                "sh",
                "-c",
                "read x; echo got:$x; exit 4",
            ],
        )
        .success();
        d.cli(c, ["start", "-ai", &n])
            .stdin("line\n")
            .run()
            .code(4)
            .stdout_is("got:line\n");
    }
}

#[test]
fn interactive_run_it_in_tmux_types_resizes_interrupts_detaches_attaches() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = name(c, "tty");
        let t = Tmux::start(
            &d.shell_line(c, &["run", "-it", "--name", &n, "busybox", "sh"]),
            100,
            30,
        );
        t.wait_for("/ #");
        t.keys(&["echo typed-$((6*7)); tty; stty size", "Enter"]);
        t.wait_for("typed-42");
        t.wait_for("/dev/pts/0");
        t.wait_for("30 100");
        // A window resize reaches the container's terminal (SIGWINCH, resize endpoint).
        t.resize(80, 20);
        thread::sleep(Duration::from_millis(300));
        t.keys(&["clear; stty size", "Enter"]);
        t.wait_for("20 80");
        // Ctrl-C interrupts the foreground process, not the session.
        t.keys(&["sleep 100", "Enter"]);
        thread::sleep(Duration::from_millis(300));
        t.keys(&["C-c"]);
        t.keys(&["echo after-interrupt", "Enter"]);
        t.wait_for("after-interrupt");
        // Ctrl-P Ctrl-Q detaches: the CLI exits 0 and the container keeps running.
        t.keys(&["C-p", "C-q"]);
        t.wait_for("SESSION-EXIT=0");
        let st = d
            .run(c, &["inspect", "-f", "{{.State.Status}}", &n])
            .success()
            .out();
        assert_eq!(st, "running");
        drop(t);
        // attach: the same shell; `exit 3` ends it and attach returns 3.
        let t = Tmux::start(&d.shell_line(c, &["attach", &n]), 100, 30);
        thread::sleep(Duration::from_millis(500));
        t.keys(&["echo attached-$((1+1))", "Enter"]);
        t.wait_for("attached-2");
        t.keys(&["exit 3", "Enter"]);
        t.wait_for("SESSION-EXIT=3");
        assert!(eventually(10, || d
            .run(c, &["inspect", "-f", "{{.State.ExitCode}}", &n])
            .out()
            == "3"));
        // Custom detach keys.
        let n2 = name(c, "tty2");
        let t = Tmux::start(
            &d.shell_line(
                c,
                &[
                    "run",
                    "-it",
                    "--detach-keys",
                    "ctrl-x,x",
                    "--name",
                    &n2,
                    "busybox",
                    "sh",
                ],
            ),
            100,
            30,
        );
        t.wait_for("/ #");
        t.keys(&["C-x", "x"]);
        t.wait_for("SESSION-EXIT=0");
        assert_eq!(
            d.run(c, &["inspect", "-f", "{{.State.Running}}", &n2])
                .success()
                .out(),
            "true"
        );
        // The log of a tty container holds what the terminal showed.
        let logs = d.run(c, &["logs", &n]).success().out();
        assert!(logs.contains("typed-42"), "{logs}");
    }
}

#[test]
fn interactive_exec_it_gets_a_terminal_of_the_callers_size() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = name(c, "extty");
        d.run(c, &["run", "-d", "--name", &n, "busybox", "sleep", "300"])
            .success();
        let line = d.shell_line(
            c,
            &["exec", "-it", &n, "sh", "-c", "tty; stty size; echo $TERM"],
        );
        let out = in_pty(&line, 77, 22);
        assert!(
            out.contains("/dev/pts/0") && out.contains("22 77") && out.contains("xterm"),
            "{out:?}"
        );
        // A detached interactive exec session keeps running after Ctrl-P Ctrl-Q; the docker
        // CLI reports "read escape sequence" and exits 1 for exec (not for run/attach).
        let t = Tmux::start(&d.shell_line(c, &["exec", "-it", &n, "sh"]), 90, 25);
        t.wait_for("/ #");
        t.keys(&["touch /tmp/from-exec", "Enter"]);
        thread::sleep(Duration::from_millis(300));
        t.keys(&["C-p", "C-q"]);
        t.wait_for("read escape sequence");
        t.wait_for("SESSION-EXIT=1");
        d.run(c, &["exec", &n, "ls", "/tmp/from-exec"]).success();
        let ps = d.run(c, &["exec", &n, "ps", "-o", "args"]).success().out();
        assert!(
            ps.lines().filter(|l| l.trim() == "sh").count() >= 1,
            "detached exec shell must live on: {ps}"
        );
    }
}

#[test]
fn interactive_client_disconnect_mid_attach_keeps_the_container() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = name(c, "disc");
        d.run(
            c,
            &[
                "run",
                "-d",
                "--name",
                &n,
                "busybox",
                "sh",
                "-c",
                "while true; do echo tick; sleep 0.1; done",
            ],
        )
        .success();
        let mut child = d.cli(c, ["attach", &n]).spawn();
        thread::sleep(Duration::from_millis(700));
        child.kill().expect("kill attach client");
        let _ = child.wait();
        thread::sleep(Duration::from_millis(300));
        assert_eq!(
            d.run(c, &["inspect", "-f", "{{.State.Running}}", &n])
                .success()
                .out(),
            "true"
        );
        let before = d.run(c, &["logs", &n]).success().lines().len();
        assert!(
            eventually(5, || d.run(c, &["logs", &n]).lines().len() > before + 3),
            "the container must keep logging"
        );
        // Attach to a stopped container: Docker's refusal.
        d.run(c, &["stop", "-t", "0", &n]).success();
        d.run(c, &["attach", &n])
            .code(1)
            .stderr_contains("You cannot attach to a stopped container, start it first");
    }
}

#[test]
fn interactive_python_docker_sdk_drives_berth() {
    let d = TestDaemon::start();
    let script = berth_tests::workspace_root().join("crates/berth-tests/sdk/docker_sdk_check.py");
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .env("DOCKER_HOST", d.host())
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH");
    let out = berth_tests::run_command(cmd, None, Duration::from_secs(120));
    out.success().stdout_is("ok\n");
}

#[test]
fn interactive_websocket_attach_carries_raw_stdio() {
    use std::os::unix::net::UnixStream;
    use tungstenite::Message;
    let d = TestDaemon::start();
    d.berth([
        "run",
        "-d",
        "-i",
        "--name",
        "ws",
        "busybox",
        "sh",
        "-c",
        "echo before; while read l; do echo got:$l; echo err:$l >&2; done",
    ])
    .run()
    .success();
    assert!(eventually(10, || d.berth(["logs", "ws"]).run().stdout == "before\n"));
    let sock = UnixStream::connect(&d.socket).expect("connect to the daemon");
    let (mut ws, resp) = tungstenite::client::client(
        "ws://localhost/v1.47/containers/ws/attach/ws?logs=1&stream=1&stdin=1&stdout=1&stderr=1",
        sock,
    )
    .expect("websocket handshake");
    assert_eq!(resp.status().as_u16(), 101);
    let mut seen = Vec::new();
    let read_until =
        |ws: &mut tungstenite::WebSocket<UnixStream>, want: &str, seen: &mut Vec<u8>| {
            while !String::from_utf8_lossy(seen).contains(want) {
                match ws.read().expect("read a message") {
                    Message::Binary(b) => seen.extend_from_slice(&b),
                    Message::Text(t) => seen.extend_from_slice(t.as_bytes()),
                    _ => {}
                }
            }
        };
    // logs=1: the output from before the attach, then live output, never multiplexed.
    read_until(&mut ws, "before\n", &mut seen);
    ws.send(Message::Binary(b"hello\n".to_vec().into()))
        .expect("send");
    read_until(&mut ws, "got:hello\n", &mut seen);
    read_until(&mut ws, "err:hello\n", &mut seen);
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(
        !text.contains('\u{1}'),
        "output must not carry stream headers: {text:?}"
    );
    drop(ws);
    // The container keeps running after the client left.
    thread::sleep(Duration::from_millis(300));
    d.berth(["inspect", "-f", "{{.State.Running}}", "ws"])
        .run()
        .success()
        .stdout_is("true\n");
    // An unknown container is refused before the upgrade.
    let (code, body) = d.api("GET", "/containers/nope/attach/ws?stream=1", None);
    assert!(code == 404 || code == 400, "{code} {body}");
}
