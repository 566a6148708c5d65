//! Daemon `userns-remap` (issue 14): containers and execs in a user namespace mapped onto
//! the subordinate range of the remap user, the remapped data root, shifted layers,
//! volumes, cp, commit and build, `--userns=host`, and moby's refusals, through `berth`
//! and the docker CLI.
//!
//! The ranges come from private subuid/subgid files (`BERTH_SUBUID_FILE`/`BERTH_SUBGID_FILE`,
//! the daemon's test hook) for the host's existing `daemon` user: the host's /etc/subuid,
//! /etc/passwd and /etc/group are never touched.

use berth_tests::{berth_bin, client_name, Client, TestDaemon};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

const BASE: u32 = 300000;

/// Private subuid/subgid files giving the `daemon` user 65536 ids from BASE.
struct RangeFiles {
    dir: PathBuf,
}

impl RangeFiles {
    fn new(uid_text: &str, gid_text: &str) -> RangeFiles {
        static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("berth-userns-{}-{n}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("subuid"), uid_text).unwrap();
        fs::write(dir.join("subgid"), gid_text).unwrap();
        RangeFiles { dir }
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "BERTH_SUBUID_FILE".into(),
                self.dir.join("subuid").display().to_string(),
            ),
            (
                "BERTH_SUBGID_FILE".into(),
                self.dir.join("subgid").display().to_string(),
            ),
        ]
    }
}

impl Drop for RangeFiles {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn default_ranges() -> RangeFiles {
    let line = format!("daemon:{BASE}:65536\n");
    RangeFiles::new(&line, &line)
}

fn start_remapped(ranges: &RangeFiles) -> TestDaemon {
    let env = ranges.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    TestDaemon::start_with_env_args(&env, &["--userns-remap", "daemon"])
}

/// `0 300000 65536`, whitespace as the kernel pads it squeezed.
fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn owner(p: &Path) -> (u32, u32) {
    let md = fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (md.uid(), md.gid())
}

/// A host directory the test owns, traversable by everyone (the container's root is an
/// unprivileged id on the host).
fn host_dir(d: &TestDaemon, name: &str) -> PathBuf {
    let p = d.dir.join(name);
    fs::create_dir_all(&p).unwrap();
    fs::set_permissions(&d.dir, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o777)).unwrap();
    p
}

#[test]
fn userns_remap_runs_containers_in_the_subordinate_range() {
    let ranges = default_ranges();
    let mut d = start_remapped(&ranges);
    let root = d.data_root.join(format!("{BASE}.{BASE}"));
    // moby's layout: the data root 0711, the remapped root 0710 root:<remapped gid>, and
    // everything of this daemon (images, containers, volumes) below it.
    assert_eq!(fs::metadata(&d.data_root).unwrap().mode() & 0o7777, 0o711);
    let md = fs::metadata(&root).unwrap();
    assert_eq!((md.mode() & 0o7777, md.uid(), md.gid()), (0o710, 0, BASE));
    assert!(!d.data_root.join("layers").exists());
    // The busybox layer was unpacked with its owners shifted into the range.
    let busybox = fs::read_dir(root.join("layers"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("diff/bin/busybox"))
        .find(|p| p.exists())
        .expect("busybox layer");
    assert_eq!(owner(&busybox), (BASE, BASE));

    for c in Client::BOTH {
        let info = d
            .run(
                c,
                &[
                    "info",
                    "--format",
                    "{{json .SecurityOptions}} {{.DockerRootDir}}",
                ],
            )
            .success()
            .stdout
            .clone();
        assert!(info.contains("name=userns"), "{c:?}: {info}");
        assert!(
            info.trim().ends_with(&format!("/{BASE}.{BASE}")),
            "{c:?}: {info}"
        );
        // run: a new user namespace with the range as its maps; root inside is 0.
        let out = d.run(
            c,
            &[
                "run",
                "--rm",
                "busybox",
                "sh",
                "-c",
                "cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u /bin/busybox /",
            ],
        );
        out.success();
        let lines: Vec<String> = out.stdout.lines().map(squeeze).collect();
        assert_eq!(
            lines,
            vec![
                format!("0 {BASE} 65536"),
                format!("0 {BASE} 65536"),
                "0".to_string(),
                "0".to_string(),
                "0".to_string()
            ],
            "{c:?}: {}",
            out.stdout
        );
    }

    // A network namespace of its own (made in the user namespace: sysfs, loopback), and
    // no ping_group_range default, as moby ("cannot set up ping socket support in a user
    // namespace"); the port default stays.
    for c in Client::BOTH {
        for net in ["none", "bridge"] {
            let out = d.run(
                c,
                &[
                    "run", "--rm", "--network", net, "busybox", "sh", "-c",
                    "cat /proc/self/uid_map /proc/sys/net/ipv4/ping_group_range /proc/sys/net/ipv4/ip_unprivileged_port_start; ls /sys/class/net",
                ],
            );
            out.success();
            let lines: Vec<String> = out.stdout.lines().map(squeeze).collect();
            assert_eq!(lines[0], format!("0 {BASE} 65536"), "{c:?} {net}");
            // The kernel's default "1 0", shown through the user namespace's maps.
            assert_ne!(lines[1], "0 2147483647", "{c:?} {net}");
            assert_eq!(lines[2], "0", "{c:?} {net}");
            assert!(out.stdout.contains("lo"), "{c:?} {net}: {}", out.stdout);
        }
    }

    // A file the container's root makes in a bind mount is the remapped uid's on the host;
    // a host root-only file is out of its reach.
    let shared = host_dir(&d, "shared");
    fs::write(shared.join("secret"), "host secret\n").unwrap();
    fs::set_permissions(shared.join("secret"), fs::Permissions::from_mode(0o600)).unwrap();
    let bind = format!("{}:/m", shared.display());
    let out = d.run(
        Client::Docker,
        &[
            "run",
            "--rm",
            "-v",
            &bind,
            "busybox",
            "sh",
            "-c",
            "touch /m/made && cat /m/secret",
        ],
    );
    out.failure();
    assert!(out.stderr.contains("Permission denied"), "{}", out.stderr);
    assert_eq!(owner(&shared.join("made")), (BASE, BASE));

    // exec: the same user namespace.
    d.run(
        Client::Docker,
        &[
            "run",
            "-d",
            "--name",
            "c1",
            "-v",
            "vol1:/v",
            "busybox",
            "sh",
            "-c",
            "echo started; sleep 300",
        ],
    )
    .success();
    for c in Client::BOTH {
        let out = d.run(
            c,
            &[
                "exec",
                "c1",
                "sh",
                "-c",
                "cat /proc/self/uid_map; id -u; touch /v/x",
            ],
        );
        out.success();
        let lines: Vec<String> = out.stdout.lines().map(squeeze).collect();
        assert_eq!(lines, vec![format!("0 {BASE} 65536"), "0".into()], "{c:?}");
        d.run(c, &["logs", "c1"])
            .success()
            .stdout_contains("started");
    }
    // The same namespace as the container's init, not one per exec.
    let init_ns = d
        .run(
            Client::Docker,
            &["exec", "c1", "readlink", "/proc/1/ns/user"],
        )
        .success()
        .stdout
        .clone();
    let exec_ns = d
        .run(
            Client::Docker,
            &["exec", "c1", "readlink", "/proc/self/ns/user"],
        )
        .success()
        .stdout
        .clone();
    assert_eq!(init_ns, exec_ns);
    // Volumes: _data and what the container writes belong to the remapped root.
    let data = root.join("volumes/vol1/_data");
    assert_eq!(owner(&data), (BASE, BASE));
    assert_eq!(owner(&data.join("x")), (BASE, BASE));

    // cp in: the tar's root-owned file lands as the container's root (the remapped uid on
    // the host); cp out: written back with the container's ids.
    let src = d.dir.join("incoming");
    fs::write(&src, "copied in\n").unwrap();
    for c in Client::BOTH {
        d.run(c, &["cp", src.to_str().unwrap(), "c1:/tmp/incoming"])
            .success();
        d.run(c, &["exec", "c1", "stat", "-c", "%u:%g", "/tmp/incoming"])
            .success()
            .stdout_contains("0:0");
        let out_dir = d.dir.join(format!("out-{c:?}"));
        fs::create_dir_all(&out_dir).unwrap();
        d.run(c, &["cp", "c1:/tmp/incoming", out_dir.to_str().unwrap()])
            .success();
        assert_eq!(owner(&out_dir.join("incoming")), (0, 0), "{c:?}");
    }
    let id = d
        .run(Client::Docker, &["inspect", "-f", "{{.Id}}", "c1"])
        .success()
        .stdout
        .trim()
        .to_string();
    let upper = root.join("containers").join(&id).join("upper");
    assert_eq!(owner(&upper.join("tmp/incoming")), (BASE, BASE));
    assert_eq!(owner(&upper), (BASE, BASE));

    // commit: the layer holds container ids, unpacked shifted again.
    d.run(Client::Docker, &["commit", "c1", "committed:1"])
        .success();
    d.run(
        Client::Berth,
        &[
            "run",
            "--rm",
            "committed:1",
            "stat",
            "-c",
            "%u:%g",
            "/tmp/incoming",
        ],
    )
    .success()
    .stdout_contains("0:0");

    // build: RUN steps in the user namespace; COPY'd and RUN-made files the image's root's.
    let ctx = d.dir.join("ctx");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(ctx.join("f"), "context file\n").unwrap();
    fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\nCOPY f /copied\nRUN cat /proc/self/uid_map > /map && touch /built\n",
    )
    .unwrap();
    for (c, tag) in [(Client::Docker, "built:d"), (Client::Berth, "built:b")] {
        let mut cmd = d.cli(c, ["build", "-t", tag, ctx.to_str().unwrap()]);
        if c == Client::Docker {
            cmd = cmd.env("DOCKER_BUILDKIT", "0");
        }
        cmd.run().success();
        let out = d.run(
            c,
            &[
                "run",
                "--rm",
                tag,
                "sh",
                "-c",
                "cat /map; stat -c %u:%g /copied /built",
            ],
        );
        out.success();
        let lines: Vec<String> = out.stdout.lines().map(squeeze).collect();
        assert_eq!(
            lines,
            vec![format!("0 {BASE} 65536"), "0:0".into(), "0:0".into()],
            "{c:?}"
        );
    }

    // --userns=host opts out (inspect shows it); only "host" is accepted.
    for c in Client::BOTH {
        let name = client_name(c, "host-userns");
        let out = d.run(
            c,
            &[
                "run",
                "--name",
                &name,
                "--userns=host",
                "busybox",
                "cat",
                "/proc/self/uid_map",
            ],
        );
        out.success();
        assert_eq!(squeeze(&out.stdout), "0 0 4294967295", "{c:?}");
        d.run(c, &["inspect", "-f", "{{.HostConfig.UsernsMode}}", &name])
            .success()
            .stdout_contains("host");
        let out = d.run(c, &["run", "--rm", "--userns=foo", "busybox", "true"]);
        out.failure();
        assert!(
            out.stderr.contains("invalid USER mode"),
            "{c:?}: {}",
            out.stderr
        );
        // moby's refusals with remapping, unless --userns=host.
        for (flags, msg) in [
            (
                &["--privileged"][..],
                "privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode",
            ),
            (
                &["--network", "host"][..],
                "cannot share the host's network namespace when user namespaces are enabled",
            ),
            (
                &["--pid", "host"][..],
                "cannot share the host PID namespace when user namespaces are enabled",
            ),
        ] {
            let mut args = vec!["run", "--rm"];
            args.extend_from_slice(flags);
            args.extend(["busybox", "true"]);
            let out = d.run(c, &args);
            out.failure();
            assert!(out.stderr.contains(msg), "{c:?} {flags:?}: {}", out.stderr);
            let mut args = vec!["run", "--rm", "--userns=host"];
            args.extend_from_slice(flags);
            args.extend(["busybox", "true"]);
            d.run(c, &args).success();
        }
    }
    // The API itself refuses other modes (the docker CLI checks first).
    let (code, body) = d.api(
        "POST",
        "/containers/create",
        Some(r#"{"Image":"busybox","HostConfig":{"UsernsMode":"foo"}}"#),
    );
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("invalid USER mode: foo"), "{body}");

    // A daemon restart keeps the running container, its namespace and its data.
    d.restart_daemon();
    d.run(
        Client::Docker,
        &[
            "exec",
            "c1",
            "cat",
            "/proc/self/uid_map",
            "/v/x",
            "/tmp/incoming",
        ],
    )
    .success()
    .stdout_contains("copied in");
    d.run(
        Client::Berth,
        &["run", "--rm", "-v", "vol1:/v", "busybox", "ls", "/v/x"],
    )
    .success();
    d.run(Client::Docker, &["rm", "-f", "c1"]).success();
}

/// Runs `berth daemon ARGS` with the range files' env and expects it to stop with `msg`.
fn assert_refused(ranges: &RangeFiles, args: &[&str], msg: &str) {
    let base = ranges.dir.join("d");
    fs::create_dir_all(&base).unwrap();
    let mut cmd = Command::new(berth_bin());
    cmd.arg("daemon")
        .arg("--data-root")
        .arg(base.join("data"))
        .arg("-H")
        .arg(format!("unix://{}", base.join("s.sock").display()))
        .args(args)
        .env("BERTH_NO_AUTOSTART", "1")
        .envs(ranges.env());
    let out = cmd.output().expect("run berth daemon");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} started: {stderr}");
    assert!(stderr.contains(msg), "{args:?}: {stderr}");
}

#[test]
fn userns_remap_refuses_bad_values_at_start() {
    let ranges = default_ranges();
    assert_refused(
        &ranges,
        &["--userns-remap", "no-such-user-berth"],
        "Error during uid lookup for \"no-such-user-berth\"",
    );
    assert_refused(
        &ranges,
        &["--userns-remap", "a:b:c"],
        "Invalid user/group specification in --userns-remap: \"a:b:c\"",
    );
    assert_refused(
        &ranges,
        &["--userns-remap", "daemon:no-such-group-berth"],
        "Error during groupname lookup for \"no-such-group-berth\"",
    );
    // A user without ranges: dockerd's message, and no daemon.
    let empty = RangeFiles::new("", "");
    assert_refused(
        &empty,
        &["--userns-remap", "daemon"],
        "Can't create ID mappings: no subuid ranges found for user \"daemon\"",
    );
    let only_uids = RangeFiles::new(&format!("daemon:{BASE}:65536\n"), "other:1:2\n");
    assert_refused(
        &only_uids,
        &["--userns-remap", "1"],
        "no subuid ranges found for user \"daemon\"",
    );
    // Given both as a flag and in daemon.json.
    let cfg = ranges.dir.join("daemon.json");
    fs::write(&cfg, r#"{"userns-remap": "daemon"}"#).unwrap();
    assert_refused(
        &ranges,
        &["--userns-remap", "daemon", "--config-file", cfg.to_str().unwrap()],
        "the following directives are specified both as a flag and in the configuration file: userns-remap",
    );
}
