//! Issue 14, the container-runtime side (prefix `sec_`): seccomp by default (Docker's
//! profile, custom profiles, unconfined, privileged, daemon.json `seccomp-profile`), devices
//! (the device cgroup, `--device`, `--gpus`), hardened starts and execs (no inherited
//! signal dispositions, no working directory outside the root, no way to the runtime
//! binary), recursive read-only binds, and security options either honoured or refused,
//! through the berth CLI and the real docker CLI against a private berth daemon.

use berth_tests::{client_name as name, Client, TestDaemon};
use std::fs;

fn status_field(d: &TestDaemon, c: Client, args: &[&str], field: &str) -> String {
    let mut a: Vec<&str> = vec!["run", "--rm"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["busybox", "grep", field, "/proc/self/status"]);
    d.run(c, &a).success().out().trim().to_string()
}

#[test]
fn sec_seccomp_is_on_by_default_in_run_and_exec() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        assert_eq!(status_field(&d, c, &[], "Seccomp:"), "Seccomp:\t2");
        assert_eq!(
            status_field(&d, c, &["--security-opt", "seccomp=unconfined"], "Seccomp:"),
            "Seccomp:\t0"
        );
        assert_eq!(
            status_field(&d, c, &["--privileged"], "Seccomp:"),
            "Seccomp:\t0"
        );
        let n = name(c, "sc");
        d.run(c, &["run", "-d", "--name", &n, "busybox", "sleep", "300"])
            .success();
        d.run(c, &["exec", &n, "grep", "Seccomp:", "/proc/self/status"])
            .success()
            .stdout_is("Seccomp:\t2\n");
        // exec --privileged keeps the container's filter, as runc exec does.
        d.run(
            c,
            &[
                "exec",
                "--privileged",
                &n,
                "grep",
                "Seccomp:",
                "/proc/self/status",
            ],
        )
        .success()
        .stdout_is("Seccomp:\t2\n");
        let n2 = name(c, "sc-unconf");
        d.run(
            c,
            &[
                "run",
                "-d",
                "--name",
                &n2,
                "--security-opt",
                "seccomp=unconfined",
                "busybox",
                "sleep",
                "300",
            ],
        )
        .success();
        d.run(c, &["exec", &n2, "grep", "Seccomp:", "/proc/self/status"])
            .success()
            .stdout_is("Seccomp:\t0\n");
        d.run(c, &["rm", "-f", &n, &n2]).success();
    }
    // Namespaces stay out of reach: unshare fails with EPERM as an unprivileged user, and
    // as root without CAP_SYS_ADMIN.
    for c in Client::BOTH {
        for user in [&["--user", "1000"][..], &[][..]] {
            let mut a = vec!["run", "--rm"];
            a.extend_from_slice(user);
            a.extend_from_slice(&["busybox", "unshare", "-U", "-r", "true"]);
            let out = d.run(c, &a);
            out.failure();
            assert!(
                out.stderr.contains("Operation not permitted"),
                "{user:?}: {}",
                out.stderr
            );
        }
    }
    // Docker's profile still lets a container do the ordinary things.
    d.run(
        Client::Docker,
        &[
            "run", "--rm", "busybox", "sh", "-c",
            "mkdir /tmp/d && cd /tmp/d && echo x > f && chmod 600 f && (sleep 0.1 &) && wait && ls -l f",
        ],
    )
    .success()
    .stdout_contains("-rw-------");
    d.run(
        Client::Docker,
        &["info", "--format", "{{json .SecurityOptions}}"],
    )
    .success()
    .stdout_contains("name=seccomp,profile=builtin");
}

const NO_MKDIR: &str = r#"{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
  ]
}"#;

#[test]
fn sec_custom_profiles_and_daemon_default() {
    let d = TestDaemon::start();
    let profile = d.dir.join("no-mkdir.json");
    fs::write(&profile, NO_MKDIR).unwrap();
    let opt = format!("seccomp={}", profile.display());
    for c in Client::BOTH {
        let out = d.run(
            c,
            &[
                "run",
                "--rm",
                "--security-opt",
                &opt,
                "busybox",
                "mkdir",
                "/tmp/x",
            ],
        );
        out.failure();
        assert!(
            out.stderr.contains("Operation not permitted"),
            "{}",
            out.stderr
        );
        // The same profile in an exec.
        let n = name(c, "custom");
        sleeper(&d, c, &n, &["--security-opt", &opt]);
        d.run(c, &["exec", &n, "mkdir", "/tmp/y"]).failure();
        d.run(c, &["exec", &n, "touch", "/tmp/y"]).success();
        d.run(c, &["rm", "-f", &n]).success();
        // A missing profile file is the client's error, as the docker CLI reports it.
        let out = d.run(
            c,
            &[
                "run",
                "--rm",
                "--security-opt",
                "seccomp=/nonexistent.json",
                "busybox",
                "true",
            ],
        );
        out.failure();
        assert!(
            out.stderr
                .contains("opening seccomp profile (/nonexistent.json) failed"),
            "{}",
            out.stderr
        );
    }
    // A raw API client sending something that is not a profile gets the decoding error.
    let (code, body) = d.api(
        "POST",
        "/containers/create",
        Some(r#"{"Image":"busybox","Cmd":["true"],"HostConfig":{"SecurityOpt":["seccomp=/x.json"]}}"#),
    );
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("decoding seccomp profile failed"), "{body}");

    // daemon.json seccomp-profile: the default of every container, shown by info.
    let cfg = format!(r#"{{"seccomp-profile": "{}"}}"#, profile.display());
    let d2 = TestDaemon::start_with_config(&cfg);
    d2.run(
        Client::Docker,
        &["run", "--rm", "busybox", "mkdir", "/tmp/x"],
    )
    .failure();
    d2.run(
        Client::Docker,
        &[
            "run",
            "--rm",
            "--security-opt",
            "seccomp=unconfined",
            "busybox",
            "mkdir",
            "/tmp/x",
        ],
    )
    .success();
    d2.run(
        Client::Docker,
        &["info", "--format", "{{json .SecurityOptions}}"],
    )
    .success()
    .stdout_contains(&format!("name=seccomp,profile={}", profile.display()));
}

#[test]
fn sec_security_options_are_honoured_or_refused() {
    let d = TestDaemon::start_with_config(
        r#"{"no-new-privileges": true, "default-ulimits": {"nofile": {"Name": "nofile", "Soft": 1234, "Hard": 2345}}}"#,
    );
    for c in Client::BOTH {
        assert_eq!(status_field(&d, c, &[], "NoNewPrivs:"), "NoNewPrivs:\t1");
        assert_eq!(
            status_field(
                &d,
                c,
                &["--security-opt", "no-new-privileges=false"],
                "NoNewPrivs:"
            ),
            "NoNewPrivs:\t0"
        );
        d.run(
            c,
            &[
                "run",
                "--rm",
                "busybox",
                "sh",
                "-c",
                "ulimit -n; ulimit -Hn",
            ],
        )
        .success()
        .stdout_is("1234\n2345\n");
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--ulimit",
                "nofile=100:200",
                "busybox",
                "sh",
                "-c",
                "ulimit -n",
            ],
        )
        .success()
        .stdout_is("100\n");
        for (opt, msg) in [
            (
                "apparmor=docker-default",
                "AppArmor profiles are not supported",
            ),
            ("label=type:svirt_t", "SELinux labels are not supported"),
            ("bogus=1", "invalid --security-opt 2"),
        ] {
            let out = d.run(
                c,
                &["run", "--rm", "--security-opt", opt, "busybox", "true"],
            );
            out.failure();
            assert!(out.stderr.contains(msg), "{opt}: {}", out.stderr);
        }
        // What means "nothing to do" on a host without AppArmor or SELinux is accepted.
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--security-opt",
                "apparmor=unconfined",
                "--security-opt",
                "label=disable",
                "busybox",
                "true",
            ],
        )
        .success();
        let out = d.run(c, &["run", "--rm", "--gpus", "all", "busybox", "true"]);
        out.failure();
        assert!(
            out.stderr
                .contains("could not select device driver \"\" with capabilities: [[gpu]]"),
            "{}",
            out.stderr
        );
    }
    d.run(
        Client::Docker,
        &["info", "--format", "{{json .SecurityOptions}}"],
    )
    .success()
    .stdout_contains("name=no-new-privileges");
    // daemon.json keys berth cannot honour stop the daemon, naming them.
    let base = d.dir.join("refuse");
    fs::create_dir_all(&base).unwrap();
    for (json, msg) in [
        (r#"{"selinux-enabled": true}"#, "selinux-enabled"),
        (r#"{"icc": false}"#, "icc"),
        (
            r#"{"seccomp-profile": "/nonexistent.json"}"#,
            "opening seccomp profile",
        ),
    ] {
        let cfg = base.join("daemon.json");
        fs::write(&cfg, json).unwrap();
        berth_tests::nettest::assert_daemon_refuses(
            &base,
            &["--config-file", cfg.to_str().unwrap()],
            msg,
        );
    }
}

#[test]
fn sec_devices() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        // MKNOD is a default capability, but the device cgroup denies opening the node.
        let out = d.run(
            c,
            &[
                "run",
                "--rm",
                "busybox",
                "sh",
                "-c",
                "mknod /tmp/sda b 8 0 && head -c 1 /tmp/sda >/dev/null",
            ],
        );
        out.failure();
        assert!(
            out.stderr.contains("Operation not permitted"),
            "{}",
            out.stderr
        );
        // --device makes a host device usable, under another name, with its permissions
        // (an unattached loop device: opening it reads or writes nothing).
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--device",
                "/dev/loop7:/dev/xloop:r",
                "busybox",
                "sh",
                "-c",
                "dd if=/dev/xloop of=/dev/null count=0 2>/dev/null && echo readable",
            ],
        )
        .success()
        .stdout_is("readable\n");
        let out = d.run(
            c,
            &[
                "run",
                "--rm",
                "--device",
                "/dev/loop7:/dev/xloop:r",
                "busybox",
                "sh",
                "-c",
                "exec 3>/dev/xloop",
            ],
        );
        out.failure();
        assert!(
            out.stderr.contains("Operation not permitted"),
            "{}",
            out.stderr
        );
        // --device-cgroup-rule opens the cgroup for a node made inside.
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--device-cgroup-rule",
                "c 1:5 r",
                "busybox",
                "sh",
                "-c",
                "mknod /tmp/z c 1 5 && head -c 2 /tmp/z | wc -c",
            ],
        )
        .success()
        .stdout_is("2\n");
        let out = d.run(
            c,
            &[
                "run",
                "--rm",
                "--device",
                "/dev/nonexist",
                "busybox",
                "true",
            ],
        );
        assert_eq!(out.code, 127, "{out:?}");
        assert!(
            out.stderr.contains(
                "error gathering device information while adding custom device \"/dev/nonexist\": no such file or directory"
            ),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn sec_read_only_binds_are_recursive() {
    let d = TestDaemon::start();
    // The host's mount points before each run. A bind of a parent of the data root is
    // rslave (moby's validateBindDaemonRoot), so a mount another test's daemon makes under
    // its shared data root while the container runs arrives later, as it would under
    // dockerd; only the mounts that were there when the container started are checked.
    let host_mounts = || -> std::collections::HashSet<String> {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
            .collect()
    };
    for c in Client::BOTH {
        let before = host_mounts();
        // Every mount under /host is read-only, /host/dev/shm and /host/proc included.
        let out = d
            .run(
                c,
                &[
                    "run",
                    "--rm",
                    "-v",
                    "/:/host:ro",
                    "busybox",
                    "sh",
                    "-c",
                    "grep ' /host' /proc/self/mountinfo | awk '{print $5, $6}'",
                ],
            )
            .success()
            .out();
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() > 3, "{out}");
        let mut checked = 0;
        for l in &lines {
            let (point, opts) = l.split_once(' ').unwrap_or((l, ""));
            let host_point = point.strip_prefix("/host").filter(|p| !p.is_empty());
            if !before.contains(host_point.unwrap_or("/")) {
                continue;
            }
            checked += 1;
            assert!(opts.split(',').any(|o| o == "ro"), "writable: {l}");
        }
        assert!(checked > 3, "{out}");
        assert!(
            lines.iter().any(|l| l.starts_with("/host/dev/shm ")),
            "{out}"
        );
        d.run(
            c,
            &[
                "run",
                "--rm",
                "-v",
                "/:/host:ro",
                "busybox",
                "touch",
                "/host/dev/shm/berth-probe",
            ],
        )
        .failure();
        let out = d.run(
            c,
            &[
                "run",
                "--rm",
                "--mount",
                "type=bind,src=/tmp,dst=/",
                "busybox",
                "true",
            ],
        );
        out.failure();
        assert!(
            out.stderr.contains("invalid mount config for type \"bind\": invalid specification: destination can't be '/'"),
            "{}",
            out.stderr
        );
    }
    assert!(!std::path::Path::new("/dev/shm/berth-probe").exists());
}

#[test]
fn sec_working_directory_stays_inside_the_root() {
    let d = TestDaemon::start();
    let n = "wd-probe";
    sleeper(&d, Client::Berth, n, &[]);
    for fd in 3..64 {
        let wd = format!("/proc/self/fd/{fd}");
        let c = if fd % 7 == 0 {
            Client::Docker
        } else {
            Client::Berth
        };
        let out = d.run(c, &["run", "--rm", "-w", &wd, "busybox", "pwd"]);
        assert!(out.code != 0, "run -w {wd}: {out:?}");
        let out = d.run(c, &["exec", "-w", &wd, n, "pwd"]);
        assert!(out.code != 0, "exec -w {wd}: {out:?}");
    }
}

#[test]
fn sec_signals_are_reset_for_containers() {
    let d = TestDaemon::start_with_signals_ignored();
    let script = "grep -E '^Sig(Ign|Blk)' /proc/self/status; trap 'echo got-hup' HUP; kill -HUP $$; sleep 0.2";
    for c in Client::BOTH {
        d.run(c, &["run", "--rm", "busybox", "sh", "-c", script])
            .success()
            .stdout_is("SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\ngot-hup\n");
        let n = name(c, "sig");
        d.run(c, &["run", "-d", "--name", &n, "busybox", "sleep", "300"])
            .success();
        d.run(c, &["exec", &n, "sh", "-c", script])
            .success()
            .stdout_is("SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\ngot-hup\n");
        d.run(c, &["rm", "-f", &n]).success();
    }
}

#[test]
fn sec_runtime_binary_is_out_of_reach() {
    let d = TestDaemon::start();
    let n = "exe-probe";
    // The container copies every /proc/N/exe it can open (other than its own processes').
    let loop_script = r#"
        i=0
        while [ ! -e /tmp/stop ]; do
            i=$((i+1))
            for p in /proc/[0-9]*; do
                pid=${p#/proc/}
                [ "$pid" = 1 ] && continue
                [ "$pid" = "$$" ] && continue
                if cat $p/exe > /tmp/got 2>/dev/null; then
                    if ! cmp -s /tmp/got /bin/busybox; then cp /tmp/got /tmp/found.$pid.$i; fi
                fi
            done
            echo $i > /tmp/iterations
        done
        exec sleep 300
    "#;
    d.run(
        Client::Berth,
        &["run", "-d", "--name", n, "busybox", "sh", "-c", loop_script],
    )
    .success();
    for i in 0..100 {
        let c = if i % 10 == 0 {
            Client::Docker
        } else {
            Client::Berth
        };
        d.run(c, &["exec", n, "true"]).success();
    }
    d.run(Client::Berth, &["exec", n, "touch", "/tmp/stop"])
        .success();
    let iterations: u32 = d
        .run(Client::Berth, &["exec", n, "cat", "/tmp/iterations"])
        .success()
        .out()
        .trim()
        .parse()
        .unwrap();
    assert!(iterations > 10, "the probe loop hardly ran: {iterations}");
    let found = d
        .run(
            Client::Berth,
            &["exec", n, "sh", "-c", "ls /tmp | grep found || true"],
        )
        .success()
        .out();
    assert_eq!(found.trim(), "", "the container opened a runtime binary");
    // And the shim itself runs from a sealed copy, not from the host file.
    let (shim_pid, _) = shim_and_init(&d, n);
    // (runc 1.2's way, a detached read-only overlayfs view of the binary, or where that
    // cannot be made a sealed memfd copy: either way not the host's file.)
    let link = format!("/proc/{shim_pid}/exe");
    let exe = fs::read_link(&link).unwrap();
    let host = fs::canonicalize(berth_tests::berth_bin()).unwrap();
    assert_ne!(exe, host, "the shim runs from the host's file");
    let on_overlay = {
        const OVERLAYFS_SUPER_MAGIC: i64 = 0x794c_7630;
        let c = std::ffi::CString::new(link.as_str()).unwrap();
        // SAFETY: statfs on a NUL-terminated path into a zeroed struct we own.
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::statfs(c.as_ptr(), &mut st) }, 0);
        st.f_type as i64 == OVERLAYFS_SUPER_MAGIC
    };
    assert!(
        on_overlay || exe.to_string_lossy().starts_with("/memfd:"),
        "shim exe {}",
        exe.display()
    );
    let err = fs::OpenOptions::new()
        .write(true)
        .open(&link)
        .map(|_| ())
        .expect_err("the shim's binary opened for writing");
    if on_overlay {
        assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
    }
}

/// Runs `sleep 300` in the background as container `n`, with `run` options `opts`.
fn sleeper(d: &TestDaemon, c: Client, n: &str, opts: &[&str]) {
    let mut args = vec!["run", "-d", "--name", n];
    args.extend_from_slice(opts);
    args.extend_from_slice(&["busybox", "sleep", "300"]);
    d.run(c, &args).success();
}

/// The processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let mut v = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so after the last ')'.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let mut f = rest.split(' ');
        let state = f.next().unwrap();
        if state != "Z" && f.next().unwrap().parse::<u32>().unwrap() == pid {
            v.push(p);
        }
    }
    v
}

fn ns_of(pid: u32, ns: &str) -> std::path::PathBuf {
    fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap()
}

/// A container's state: its shim's pid and its init's pid.
fn shim_and_init(d: &TestDaemon, n: &str) -> (u32, u32) {
    let id = d
        .run(Client::Berth, &["inspect", "-f", "{{.Id}}", n])
        .success()
        .out();
    let shim = fs::read_to_string(
        d.data_root
            .join("containers")
            .join(id.trim())
            .join("shim.pid"),
    )
    .unwrap();
    let init = d
        .run(Client::Berth, &["inspect", "-f", "{{.State.Pid}}", n])
        .success()
        .out();
    (shim.trim().parse().unwrap(), init.trim().parse().unwrap())
}

/// From a container's second exec on, execs start from its exec helper (a child of the
/// shim that joined the namespaces and loaded the filter once: shim/exec_helper.rs). The
/// helper is outside the container's pid namespace (the container's `ps` and `docker top`
/// never list it); an exec from it is in the container's cgroup, under its filter, with
/// the exec's user, capabilities, working directory and terminal; a killed helper leaves
/// execs working (the per-exec way); the helper goes with the container.
#[test]
fn sec_exec_helper_is_invisible_and_goes_with_the_container() {
    let d = TestDaemon::start();
    let n = "helper-probe";
    sleeper(&d, Client::Berth, n, &[]);
    let (shim, init) = shim_and_init(&d, n);
    for c in [Client::Berth, Client::Docker, Client::Berth] {
        d.run(c, &["exec", n, "true"]).success();
    }
    let helpers: Vec<u32> = children_of(shim)
        .into_iter()
        .filter(|p| *p != init)
        .collect();
    assert_eq!(
        helpers.len(),
        1,
        "the shim's children besides the init: {helpers:?}"
    );
    let helper = helpers[0];
    assert_eq!(ns_of(helper, "mnt"), ns_of(init, "mnt"));
    assert_eq!(ns_of(helper, "net"), ns_of(init, "net"));
    assert_ne!(ns_of(helper, "pid"), ns_of(init, "pid"));
    assert_eq!(ns_of(helper, "pid_for_children"), ns_of(init, "pid"));
    let status = fs::read_to_string(format!("/proc/{helper}/status")).unwrap();
    assert!(status.contains("Seccomp:\t2"), "{status}");
    let own_cgroup = fs::read_to_string(format!("/proc/{helper}/cgroup")).unwrap();
    assert_ne!(
        own_cgroup,
        fs::read_to_string(format!("/proc/{init}/cgroup")).unwrap()
    );

    for c in Client::BOTH {
        // Only the init and ps itself.
        let ps = d
            .run(c, &["exec", n, "ps", "-o", "pid,comm"])
            .success()
            .lines();
        assert_eq!(ps.len(), 3, "{ps:?}");
        assert_eq!(ps[1].split_whitespace().collect::<Vec<_>>(), ["1", "sleep"]);
        assert!(ps[2].ends_with(" ps"), "{ps:?}");
        let top = d.run(c, &["top", n]).success().out();
        assert_eq!(top.lines().count(), 2, "{top}");
        d.run(
            c,
            &[
                "exec",
                n,
                "sh",
                "-c",
                "[ \"$(cat /proc/self/cgroup)\" = \"$(cat /proc/1/cgroup)\" ] && echo same",
            ],
        )
        .success()
        .stdout_is("same\n");
        d.run(
            c,
            &[
                "exec",
                "-u",
                "1000:1000",
                "-w",
                "/tmp",
                n,
                "sh",
                "-c",
                "id -u; pwd; grep -E '^(CapEff|Seccomp):' /proc/self/status",
            ],
        )
        .success()
        .stdout_is("1000\n/tmp\nCapEff:\t0000000000000000\nSeccomp:\t2\n");
        d.run(c, &["exec", "-t", n, "tty"])
            .success()
            .stdout_contains("/dev/pts/");
        d.run(c, &["exec", n, "nonexistent"]).code(127);
        d.run(c, &["exec", "-w", "/nonexistent", n, "true"])
            .code(126);
    }
    assert_eq!(
        children_of(shim)
            .into_iter()
            .filter(|p| *p != init)
            .collect::<Vec<_>>(),
        vec![helper],
        "one helper serves every exec"
    );

    // A helper killed from outside: the execs go on without it.
    // SAFETY: a signal to the helper this test found above.
    unsafe { libc::kill(helper as i32, libc::SIGKILL) };
    assert!(berth_tests::eventually(10, || !children_of(shim).contains(&helper)));
    d.run(
        Client::Berth,
        &["exec", n, "grep", "Seccomp:", "/proc/self/status"],
    )
    .success()
    .stdout_is("Seccomp:\t2\n");

    // Gone with the container.
    let m = "helper-stop";
    sleeper(&d, Client::Berth, m, &[]);
    let (shim, init) = shim_and_init(&d, m);
    for _ in 0..2 {
        d.run(Client::Berth, &["exec", m, "true"]).success();
    }
    let helper = *children_of(shim)
        .iter()
        .find(|p| **p != init)
        .expect("a helper");
    d.run(Client::Berth, &["stop", "-t", "0", m]).success();
    assert!(
        berth_tests::eventually(10, || !std::path::Path::new(&format!("/proc/{helper}"))
            .exists()
            || fs::read_to_string(format!("/proc/{helper}/stat"))
                .is_ok_and(|s| s.contains(") Z "))),
        "the helper outlived its container"
    );
}

/// A profile that would refuse one of the exec's own steps (here chdir) gets no helper:
/// its execs load the filter after those steps, as before, so `exec -w` works while the
/// command itself stays under the profile.
#[test]
fn sec_exec_helper_steps_aside_for_profiles_that_refuse_its_steps() {
    let d = TestDaemon::start();
    let profile = d.dir.join("no-chdir.json");
    fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["chdir"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let n = "no-chdir";
    sleeper(&d, Client::Berth, n, &["--security-opt", &opt]);
    let (shim, init) = shim_and_init(&d, n);
    for c in [Client::Berth, Client::Docker, Client::Berth] {
        d.run(c, &["exec", "-w", "/tmp", n, "pwd"])
            .success()
            .stdout_is("/tmp\n");
        let out = d.run(c, &["exec", n, "sh", "-c", "cd /tmp"]);
        out.failure();
        assert!(
            out.stderr.contains("Operation not permitted"),
            "{}",
            out.stderr
        );
    }
    assert_eq!(children_of(shim), vec![init], "no helper");
}
