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
/// The range of [`userns_remap_matches_dockerd`], apart from BASE so the two never mix.
const DIFF_BASE: u32 = 400000;

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
    // the host); cp out: the CLIs write what they get as their own user (root).
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

/// `--network/--ipc/--pid container:X` between remapped containers: the joiner enters X's
/// user namespace too, as moby's WithNamespaces ("to share a net namespace, they must also
/// share a user namespace"), so X's IPC namespace is its own: mqueue works there.
#[test]
fn userns_remap_joiners_share_the_donors_user_namespace() {
    let ranges = default_ranges();
    let d = start_remapped(&ranges);
    d.run(
        Client::Docker,
        &[
            "run",
            "-d",
            "--name",
            "donor",
            "--ipc",
            "shareable",
            "busybox",
            "sleep",
            "300",
        ],
    )
    .success();
    let x_ns = d
        .run(
            Client::Docker,
            &["exec", "donor", "readlink", "/proc/self/ns/user"],
        )
        .success()
        .stdout
        .trim()
        .to_string();
    assert!(x_ns.starts_with("user:["), "{x_ns}");
    for c in Client::BOTH {
        for mode in ["--network", "--ipc", "--pid"] {
            let q = format!("q-{c:?}{mode}");
            let out = d.run(
                c,
                &[
                    "run",
                    "--rm",
                    mode,
                    "container:donor",
                    "busybox",
                    "sh",
                    "-c",
                    &format!(
                        "readlink /proc/self/ns/user; cat /proc/self/uid_map; id -u; \
                         touch /dev/mqueue/{q} && echo mq-ok"
                    ),
                ],
            );
            out.success();
            let lines: Vec<String> = out.stdout.lines().map(squeeze).collect();
            assert_eq!(
                lines,
                vec![
                    x_ns.clone(),
                    format!("0 {BASE} 65536"),
                    "0".into(),
                    "mq-ok".into()
                ],
                "{c:?} {mode}: {}",
                out.stderr
            );
        }
        // The queue made in the joined IPC namespace is X's; X sees it.
        let seen = d
            .run(Client::Docker, &["exec", "donor", "ls", "/dev/mqueue"])
            .success()
            .stdout
            .clone();
        assert!(seen.contains(&format!("q-{c:?}--ipc")), "{c:?}: {seen}");
        assert!(
            !seen.contains(&format!("q-{c:?}--network")),
            "{c:?}: {seen}"
        );
    }
    // The PID joiner sees X's processes.
    let out = d.run(
        Client::Docker,
        &[
            "run",
            "--rm",
            "--pid",
            "container:donor",
            "busybox",
            "ps",
            "-o",
            "comm",
        ],
    );
    out.success();
    assert!(out.stdout.contains("sleep"), "{}", out.stdout);
    // An exec in a joiner enters the same user namespace.
    let name = "joiner";
    d.run(
        Client::Berth,
        &[
            "run",
            "-d",
            "--name",
            name,
            "--ipc",
            "container:donor",
            "busybox",
            "sleep",
            "300",
        ],
    )
    .success();
    for c in Client::BOTH {
        let out = d.run(
            c,
            &[
                "exec",
                name,
                "sh",
                "-c",
                "readlink /proc/self/ns/user; id -u",
            ],
        );
        out.success();
        assert_eq!(out.stdout, format!("{x_ns}\n0\n"), "{c:?}");
    }
    // An exec in a PID joiner (berth's init enters X's PID namespace for the clone only:
    // the exec is the shim's to reap, not X's init's).
    d.run(
        Client::Docker,
        &[
            "run",
            "-d",
            "--name",
            "pjoiner",
            "--pid",
            "container:donor",
            "busybox",
            "sleep",
            "300",
        ],
    )
    .success();
    for c in Client::BOTH {
        let out = d.run(
            c,
            &[
                "exec",
                "pjoiner",
                "sh",
                "-c",
                "readlink /proc/self/ns/user; id -u; exit 3",
            ],
        );
        out.code(3);
        assert_eq!(out.stdout, format!("{x_ns}\n0\n"), "{c:?}");
    }
    d.run(Client::Docker, &["rm", "-f", "pjoiner"]).success();
    // A `--userns=host` joiner keeps the host's user namespace.
    let out = d.run(
        Client::Docker,
        &[
            "run",
            "--rm",
            "--userns=host",
            "--ipc",
            "container:donor",
            "busybox",
            "cat",
            "/proc/self/uid_map",
        ],
    );
    out.success();
    assert_eq!(squeeze(&out.stdout), "0 0 4294967295");
    d.run(Client::Docker, &["rm", "-f", name, "donor"])
        .success();
}

/// Host ids outside the range: `commit` and `export` leave such a file out of the archive
/// and log moby's "Can't add file PATH to tar: host ID N cannot be mapped to a container ID"
/// (moby's Tarballer logs addTarFile's error and goes on; a directory's children are still
/// written); `cp` out maps nothing (moby's containerArchivePath tars with no IDMap: the
/// host's owners, every file); `cp` in of a file whose owner cannot be mapped is refused
/// (moby's Unpack: "container ID N cannot be mapped to a host ID").
#[test]
fn userns_remap_archives_leave_out_host_ids_outside_the_range() {
    let ranges = default_ranges();
    let d = start_remapped(&ranges);
    let root = d.data_root.join(format!("{BASE}.{BASE}"));
    d.run(
        Client::Docker,
        &[
            "run",
            "--name",
            "arch",
            "busybox",
            "sh",
            "-c",
            "echo in > /in-range && mkdir /hostdir && echo inner > /hostdir/inner",
        ],
    )
    .success();
    let id = d
        .run(Client::Docker, &["inspect", "-f", "{{.Id}}", "arch"])
        .success()
        .stdout
        .trim()
        .to_string();
    // Files the host's root owns in the container's layer (as the daemon could leave).
    let upper = root.join("containers").join(&id).join("upper");
    fs::write(upper.join("host-owned"), "host\n").unwrap();
    std::os::unix::fs::lchown(upper.join("host-owned"), Some(0), Some(0)).unwrap();
    std::os::unix::fs::lchown(upper.join("hostdir"), Some(0), Some(BASE)).unwrap();
    let log = || fs::read_to_string(d.dir.join("daemon.log")).unwrap_or_default();
    for c in Client::BOTH {
        let out_dir = d.dir.join(format!("out-{c:?}"));
        fs::create_dir_all(&out_dir).unwrap();
        let dst = out_dir.to_str().unwrap();
        d.run(c, &["cp", "arch:/in-range", dst]).success();
        assert_eq!(owner(&out_dir.join("in-range")), (0, 0), "{c:?}");
        d.run(c, &["cp", "arch:/hostdir", dst]).success();
        assert_eq!(
            fs::read_to_string(out_dir.join("hostdir/inner")).unwrap(),
            "inner\n",
            "{c:?}"
        );
        d.run(c, &["cp", "arch:/host-owned", dst]).success();
        assert!(out_dir.join("host-owned").exists(), "{c:?}");
    }
    // The tar of cp out carries the host's owners.
    let tar = d
        .cli(Client::Docker, ["cp", "arch:/in-range", "-"])
        .run()
        .success()
        .stdout
        .clone();
    let listing = Command::new("sh")
        .arg("-c")
        .arg("tar -tvf - --numeric-owner")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut ch| {
            use std::io::Write;
            ch.stdin.take().unwrap().write_all(tar.as_bytes())?;
            ch.wait_with_output()
        })
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    assert!(listing.contains(&format!(" {BASE}/{BASE} ")), "{listing}");
    assert!(
        !log().contains("cannot be mapped to a container ID"),
        "{}",
        log()
    );
    // export: the entries with host ids outside the range left out.
    let tar_path = d.dir.join("export.tar");
    d.run(
        Client::Docker,
        &["export", "-o", tar_path.to_str().unwrap(), "arch"],
    )
    .success();
    let listing = Command::new("tar")
        .arg("-tvf")
        .arg(&tar_path)
        .arg("--numeric-owner")
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    assert!(listing.contains("hostdir/inner"), "{listing}");
    assert!(listing.contains(" 0/0 "), "{listing}");
    assert!(!listing.contains("host-owned"), "{listing}");
    assert!(
        !listing.lines().any(|l| l.ends_with(" hostdir/")),
        "{listing}"
    );
    let l = log();
    assert!(
        l.contains("host-owned to tar: host ID 0 cannot be mapped to a container ID"),
        "{l}"
    );
    assert!(
        l.contains("hostdir to tar: host ID 0 cannot be mapped to a container ID"),
        "{l}"
    );
    // commit: the layer lacks them too; an image run from it does not see host-owned.
    d.run(Client::Docker, &["commit", "arch", "committed:2"])
        .success();
    let out = d.run(
        Client::Berth,
        &[
            "run",
            "--rm",
            "committed:2",
            "sh",
            "-c",
            "cat /in-range /hostdir/inner; ls /host-owned || echo absent",
        ],
    );
    out.success();
    assert_eq!(out.stdout, "in\ninner\nabsent\n", "{}", out.stderr);

    // cp in: a file whose owner has no host id in the range is refused.
    let src = d.dir.join("unmappable");
    fs::write(&src, "x\n").unwrap();
    std::os::unix::fs::lchown(&src, Some(70000), Some(0)).unwrap();
    for c in Client::BOTH {
        let out = d.run(c, &["cp", src.to_str().unwrap(), "arch:/tmp/"]);
        out.failure();
        assert!(
            out.stderr
                .contains("container ID 70000 cannot be mapped to a host ID"),
            "{c:?}: {}",
            out.stderr
        );
    }
    assert!(!upper.join("tmp/unmappable").exists());
    d.run(Client::Docker, &["rm", "arch"]).success();
}

/// What the daemon makes for a remapped container outside its layers: a new RUN cache mount
/// is the remapped root's (BuildKit chowns cache mounts through its IdentityMapping), so
/// the RUN's root may write to it; a `-o type=tmpfs` local volume is mounted as moby's
/// local driver does (type, device and options as given, no uid=/gid=): the tmpfs root is
/// the host root's with mode 1777, which the container sees as nobody's and may write to.
#[test]
fn userns_remap_cache_mounts_and_mounted_volumes() {
    let ranges = default_ranges();
    let d = start_remapped(&ranges);
    let root = d.data_root.join(format!("{BASE}.{BASE}"));
    let ctx = d.dir.join("ctx-cache");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\nRUN --mount=type=cache,target=/c stat -c %u:%g /c > /cache-owner && touch /c/x\n\
         RUN --mount=type=cache,target=/u,uid=1000,gid=1001 stat -c %u:%g /u > /u-owner\n",
    )
    .unwrap();
    d.run(
        Client::Berth,
        &["build", "-t", "cached", ctx.to_str().unwrap()],
    )
    .success();
    d.run(
        Client::Berth,
        &["run", "--rm", "cached", "cat", "/cache-owner", "/u-owner"],
    )
    .success()
    .stdout_is("0:0\n1000:1001\n");
    let owners: Vec<(u32, u32)> = fs::read_dir(root.join("builder/cache-mounts"))
        .unwrap()
        .flatten()
        .map(|e| owner(&e.path()))
        .collect();
    assert!(owners.contains(&(BASE, BASE)), "{owners:?}");
    assert!(owners.contains(&(BASE + 1000, BASE + 1001)), "{owners:?}");

    for c in Client::BOTH {
        let vol = client_name(c, "tmpvol");
        d.run(
            c,
            &[
                "volume",
                "create",
                "-o",
                "type=tmpfs",
                "-o",
                "device=tmpfs",
                "-o",
                "o=size=1m",
                &vol,
            ],
        )
        .success();
        let mount = format!("{vol}:/t");
        let out = d.run(
            c,
            &[
                "run",
                "--rm",
                "-v",
                &mount,
                "busybox",
                "sh",
                "-c",
                "stat -c %u:%a /t && touch /t/f && stat -c %u /t/f",
            ],
        );
        out.success();
        assert_eq!(out.stdout, "65534:1777\n0\n", "{c:?}: {}", out.stderr);
        d.run(c, &["volume", "rm", &vol]).success();
    }
}

/// `--runtime runc` under userns-remap. runc sets a remapped container up from inside its
/// user namespace, where sysfs can be mounted only over a network namespace that user
/// namespace owns (runc 1.1 failed the start at the sysfs mount over the daemon's
/// host-owned namespace): the daemon makes the network namespace in a new user namespace
/// that the container joins, or in the donor's for a `container:X` joiner, so /sys shows
/// the container's own interfaces, as with dockerd and runc.
#[test]
fn userns_remap_runc_runs_plain_containers_and_joiners() {
    let ranges = default_ranges();
    let d = start_remapped(&ranges);
    let script = "cat /proc/self/uid_map; id -u; ls /sys/class/net; \
                  cat /proc/sys/net/ipv4/ip_unprivileged_port_start";
    for c in Client::BOTH {
        let out = d.run(
            c,
            &[
                "run",
                "--rm",
                "--runtime",
                "runc",
                "busybox",
                "sh",
                "-c",
                script,
            ],
        );
        out.success();
        let lines: Vec<String> = out.stdout.lines().map(squeeze).collect();
        assert_eq!(
            lines,
            vec![
                format!("0 {BASE} 65536"),
                "0".into(),
                "eth0".into(),
                "lo".into(),
                "0".into()
            ],
            "{c:?}: {}",
            out.stderr
        );
    }
    d.run(
        Client::Docker,
        &[
            "run",
            "-d",
            "--name",
            "rdonor",
            "--runtime",
            "runc",
            "--ipc",
            "shareable",
            "busybox",
            "sleep",
            "300",
        ],
    )
    .success();
    let x_ns = d
        .run(
            Client::Docker,
            &["exec", "rdonor", "readlink", "/proc/self/ns/user"],
        )
        .success()
        .stdout
        .trim()
        .to_string();
    assert!(x_ns.starts_with("user:["), "{x_ns}");
    for c in Client::BOTH {
        for mode in ["--network", "--ipc", "--pid"] {
            let out = d.run(
                c,
                &[
                    "run",
                    "--rm",
                    "--runtime",
                    "runc",
                    mode,
                    "container:rdonor",
                    "busybox",
                    "sh",
                    "-c",
                    "readlink /proc/self/ns/user; cat /proc/self/uid_map; id -u; ls /sys/class/net",
                ],
            );
            out.success();
            let lines: Vec<String> = out.stdout.lines().map(squeeze).collect();
            assert_eq!(
                lines,
                vec![
                    x_ns.clone(),
                    format!("0 {BASE} 65536"),
                    "0".into(),
                    "eth0".into(),
                    "lo".into()
                ],
                "{c:?} {mode}: {}",
                out.stderr
            );
        }
    }
    // Execs in a runc container and in a runc PID joiner enter its user namespace.
    d.run(
        Client::Berth,
        &[
            "run",
            "-d",
            "--name",
            "rjoiner",
            "--runtime",
            "runc",
            "--pid",
            "container:rdonor",
            "busybox",
            "sleep",
            "300",
        ],
    )
    .success();
    for c in Client::BOTH {
        for name in ["rdonor", "rjoiner"] {
            let out = d.run(
                c,
                &[
                    "exec",
                    name,
                    "sh",
                    "-c",
                    "readlink /proc/self/ns/user; id -u",
                ],
            );
            out.success();
            assert_eq!(out.stdout, format!("{x_ns}\n0\n"), "{c:?} {name}");
        }
    }
    // Stopping a container gives back the user namespace kept with its network namespace.
    let id = d
        .run(Client::Docker, &["inspect", "-f", "{{.Id}}", "rdonor"])
        .success()
        .stdout
        .trim()
        .to_string();
    let dir = d
        .data_root
        .join(format!("{BASE}.{BASE}"))
        .join("containers")
        .join(&id);
    assert!(dir.join("netns.user").exists());
    // One at a time: the docker CLI kills its arguments in parallel, and a kill of the
    // donor that lands first ends the joiner too (it lives in the donor's pid namespace),
    // so the joiner's own kill could find it exited and fail "is not running", as on moby
    // (seen once in the s15 suite).
    d.run(Client::Docker, &["kill", "rjoiner"]).success();
    d.run(Client::Docker, &["kill", "rdonor"]).success();
    d.run(Client::Docker, &["wait", "rdonor"]).success();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while dir.join("netns.user").exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(dir.is_dir() && !dir.join("netns.user").exists());
    d.run(Client::Docker, &["rm", "rjoiner", "rdonor"])
        .success();
}

/// Remapped berth against a remapped private dockerd (the same 65536 ids of the `daemon`
/// user on both; dockerd reads private copies of /etc/subuid and /etc/subgid): what a
/// container sees of its ids, of files it makes in volumes and binds and of `cp`'d files
/// (from the container and from the host), `--userns=host`, moby's refusals, its
/// /sys/class/net and the flags of the /sys and /sys/fs/cgroup mounts; and what the owner
/// of its namespaces decides (the container's user namespace, as runc makes them): `mount`
/// and `hostname` with and without CAP_SYS_ADMIN, /dev/shm and /dev/mqueue, the owners
/// `lsns` shows, sysctls, rlimits, a terminal, `--init`, `--read-only`, `--ipc host`.
#[test]
fn userns_remap_matches_dockerd() {
    use berth_tests::Scenario;
    berth_tests::Differ::start_remapped(DIFF_BASE).check(&[
        Scenario {
            name: "userns remap: id and the maps in run and exec",
            run: r#"
docker run --rm busybox sh -c 'id; cat /proc/self/uid_map /proc/self/gid_map' | tr -s ' '
docker run -d --name c1 busybox sleep 300 >/dev/null
docker exec c1 sh -c 'id; cat /proc/self/uid_map' | tr -s ' '
docker exec -u 1000:1000 c1 id
docker run --rm -u 123 busybox sh -c 'id -u; stat -c %u:%g /proc/self'
"#,
            ..Scenario::DEFAULT
        },
        Scenario {
            name: "userns remap: volume and bind ownership from the container and the host",
            run: r#"
mkdir b && chmod 777 b && echo host > b/hostfile
docker run --rm -v v1:/v -v "$SCRATCH/b:/b" busybox sh -c \
  'touch /v/f /b/made; mkdir /v/d; chown 1000:1001 /v/d; stat -c "%n %u:%g %a" /v /v/f /v/d /b /b/made /b/hostfile'
stat -c '%u:%g %a' "$ROOT"/*.*/volumes/v1/_data
stat -c '%u:%g' "$ROOT"/*.*/volumes/v1/_data/f "$ROOT"/*.*/volumes/v1/_data/d b/made
docker run --rm -v v1:/v busybox ls -ln /v | awk '{print $3, $4, $9}'
"#,
            ..Scenario::DEFAULT
        },
        Scenario {
            name: "userns remap: cp in and out, seen from the container and the host",
            run: r#"
mkdir b && chmod 777 b
echo in > f1 && echo owned > f2 && chown 1000:1001 f2
docker run -d --name c1 -v "$SCRATCH/b:/b" busybox sleep 300 >/dev/null
for f in f1 f2; do docker cp $f c1:/tmp/$f; docker cp $f c1:/b/$f; done
docker cp -a f2 c1:/tmp/f2a
docker exec c1 stat -c '%n %u:%g' /tmp/f1 /tmp/f2 /tmp/f2a /b/f1 /b/f2
stat -c '%n %u:%g' b/f1 b/f2
docker exec c1 sh -c 'echo out > /tmp/o; chown 1000:1001 /tmp/o; echo bound > /b/o'
mkdir out && docker cp c1:/tmp/o out/o && docker cp c1:/b/o out/bo
stat -c '%n %u:%g' out/o out/bo
docker cp c1:/tmp/o - | tar -tvf - --numeric-owner | awk '{print $2, $6}'
"#,
            ..Scenario::DEFAULT
        },
        Scenario {
            name: "userns remap: --userns=host opts out",
            run: r#"
mkdir b && chmod 777 b
docker run --name h1 --userns=host -v "$SCRATCH/b:/b" busybox sh -c 'cat /proc/self/uid_map; touch /b/h' | tr -s ' '
stat -c '%u:%g' b/h
docker inspect -f '{{.HostConfig.UsernsMode}}' h1
docker run --rm --userns=host --network host busybox true && echo host-net-ok
docker run --rm --userns=foo busybox true; echo "exit $?"
"#,
            ..Scenario::DEFAULT
        },
        Scenario {
            name: "userns remap: refusals",
            run: r#"
docker run --rm --privileged busybox true; echo "exit $?"
docker create --privileged busybox true; echo "exit $?"
docker run --rm --network host busybox true; echo "exit $?"
docker run --rm --pid host busybox true; echo "exit $?"
docker run --rm --uts host busybox true; echo "exit $?"
"#,
            ..Scenario::DEFAULT
        },
        Scenario {
            name: "userns remap: /sys/class/net on each network mode",
            run: r#"
docker run --rm busybox ls /sys/class/net
docker run --rm --network none busybox ls /sys/class/net
docker network create n1 >/dev/null
docker run --rm --network n1 busybox ls /sys/class/net
docker run -d --name donor busybox sleep 300 >/dev/null
docker run --rm --network container:donor busybox ls /sys/class/net
docker exec donor ls /sys/class/net
docker run --rm busybox cat /sys/class/net/eth0/mtu
"#,
            ..Scenario::DEFAULT
        },
        Scenario {
            name: "userns remap: the container's root over its own network namespace",
            run: r#"
docker run --rm busybox sh -c 'ping -c1 -W3 127.0.0.1 >/dev/null && echo ping-ok'
docker run --rm --cap-add NET_ADMIN busybox sh -c 'ip link set lo mtu 1400 && cat /sys/class/net/lo/mtu'
docker run --rm busybox stat -c '%n %u:%g' /sys/class/net/lo/mtu /sys/kernel /proc/sys/net/ipv4/ip_forward
"#,
            ..Scenario::DEFAULT
        },
        Scenario {
            name: "userns remap: flags of the /sys and cgroup mounts",
            run: r#"
docker run --rm busybox awk '$5 == "/sys" || $5 ~ "^/sys/fs/cgroup" {print $5, $6}' /proc/self/mountinfo | sort
docker run --rm --userns=host busybox awk '$5 ~ "^/sys/fs/cgroup" {print $5, $6}' /proc/self/mountinfo | sort
docker run --rm busybox sh -c 'touch /sys/fs/cgroup/x 2>&1; mkdir /sys/fs/cgroup/cpu/y 2>&1; echo done'
"#,
            ..Scenario::DEFAULT
        },
        Scenario {
            name: "userns remap: CAP_SYS_ADMIN mounts and sets the hostname in the container's namespaces",
            run: r#"
docker run --rm --cap-add SYS_ADMIN busybox sh -c 'exec 2>&1
mkdir /m && mount -t tmpfs -o size=1m none /m && echo mounted
sed -n "s#.* /m .* - ##p" /proc/self/mountinfo
touch /m/f && stat -c "%u:%g" /m/f
umount /m && echo unmounted
hostname foo && hostname'
docker run -d --name c1 --cap-add SYS_ADMIN busybox sleep 300 >/dev/null
docker exec c1 sh -c 'exec 2>&1; hostname viaexec && hostname; mkdir -p /m2 && mount -t tmpfs none /m2 && echo exec-mounted'
docker exec c1 hostname
"#,
            ..Scenario::DEFAULT
        },
        Scenario {
            name: "userns remap: mount and hostname refused without CAP_SYS_ADMIN or in the host's UTS namespace",
            run: r#"
docker run --rm busybox sh -c 'exec 2>&1; mkdir /m; mount -t tmpfs none /m; echo "mount $?"; hostname foo; echo "hostname $?"; [ "$(hostname)" = foo ] || echo unchanged'
docker run --rm --cap-add SYS_ADMIN --uts host busybox sh -c 'exec 2>&1; hostname "$(hostname)"; echo "hostname $?"'
docker run -d --name c1 busybox sleep 300 >/dev/null
docker exec c1 sh -c 'exec 2>&1; hostname foo; echo "hostname $?"; mkdir /m; mount -t tmpfs none /m; echo "mount $?"'
"#,
            ..Scenario::DEFAULT
        },
        Scenario {
            name: "userns remap: IPC namespaces, /dev/shm and /dev/mqueue",
            run: r#"
docker run --rm --ipc private busybox sh -c '
echo x > /dev/shm/f && stat -c "%n %u:%g %a" /dev/shm /dev/shm/f /dev/mqueue
for m in /dev/shm /dev/mqueue; do sed -n "s#^[^ ]* [^ ]* [^ ]* [^ ]* \($m\) \([^ ]*\) .* - \(.*\)#\1 \2 \3#p" /proc/self/mountinfo; done'
docker run -d --name ipcd --ipc shareable busybox sleep 300 >/dev/null
docker exec ipcd sh -c 'echo shared > /dev/shm/s'
docker run --rm --ipc container:ipcd busybox cat /dev/shm/s
docker run --rm --network none busybox stat -c "%n %u:%g %a" /dev/mqueue /sys/class/net/lo/mtu
docker run --rm --network container:ipcd busybox stat -c "%n %u:%g %a" /dev/mqueue
# The host's IPC namespace belongs to the host's user namespace: the container's root may not
# mount its mqueue, which moby 28 keeps in the spec (WithNamespaces drops only the namespace).
docker run --rm --ipc host busybox true >out 2>&1; echo "ipc host: exit $?"
grep -qi 'mqueue.*operation not permitted' out && echo "ipc host: mqueue mount refused"
docker run -d --name ipcj --ipc container:ipcd busybox sleep 300 >/dev/null
pd=$(docker inspect -f '{{.State.Pid}}' ipcd); pj=$(docker inspect -f '{{.State.Pid}}' ipcj)
for t in ipc user net uts mnt pid; do
  [ "$(readlink /proc/$pd/ns/$t)" = "$(readlink /proc/$pj/ns/$t)" ] && echo "$t same" || echo "$t differs"
done
"#,
            ..Scenario::DEFAULT
        },
        Scenario {
            name: "userns remap: the owners of a container's namespaces",
            run: r#"
owners() {
  local pid user
  pid=$(docker inspect -f '{{.State.Pid}}' "$1")
  user=$(readlink /proc/$pid/ns/user | tr -dc 0-9)
  lsns -n -p "$pid" -o TYPE,ONS | sort | while read -r t o; do
    [ "$t" = user ] && continue
    if [ "$o" = "$user" ]; then echo "$1 $t: the container's"; else echo "$1 $t: another"; fi
  done
}
docker run -d --name c1 busybox sleep 300 >/dev/null
docker run -d --name c2 --network none busybox sleep 300 >/dev/null
docker run -d --name c3 --network container:c1 busybox sleep 300 >/dev/null
docker run -d --name c4 --pid container:c1 busybox sleep 300 >/dev/null
for c in c1 c2 c3 c4; do owners $c; done
"#,
            ..Scenario::DEFAULT
        },
        Scenario {
            name: "userns remap: sysctls, rlimits, oom_score_adj, a terminal, --init, --read-only",
            run: r#"
docker run --rm --sysctl net.ipv4.ip_forward=1 --sysctl kernel.shm_rmid_forced=1 busybox cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced 2>&1; echo "exit $?"
docker run --rm --ulimit nofile=1234:5678 busybox sh -c 'ulimit -n; ulimit -Hn'
docker run --rm --oom-score-adj 500 busybox cat /proc/self/oom_score_adj
docker run --rm -t busybox sh -c 'tty; stat -c "%u:%g %a" "$(tty)"' | tr -d '\r'
docker run --rm --init busybox ps -o comm
docker run --rm --read-only --tmpfs /t busybox sh -c 'touch /x 2>&1; touch /t/y && stat -c "%u:%g %a" /t /t/y'
"#,
            ..Scenario::DEFAULT
        },
    ]);
}

/// `--runtime libcontainer` (youki's, in the shim) under userns-remap: like runc it sets the
/// container up from inside the user namespace the daemon made with the network namespace,
/// so sysfs shows the container's interfaces; execs enter that user namespace. (It loads no
/// seccomp filter, so it runs only unconfined, remapped or not.)
#[test]
fn userns_remap_libcontainer_runs_in_the_range() {
    let ranges = default_ranges();
    let d = start_remapped(&ranges);
    let script = "cat /proc/self/uid_map; id -u; ls /sys/class/net; stat -c %u /bin/busybox";
    for c in Client::BOTH {
        let out = d.run(
            c,
            &[
                "run",
                "--rm",
                "--runtime",
                "libcontainer",
                "--security-opt",
                "seccomp=unconfined",
                "busybox",
                "sh",
                "-c",
                script,
            ],
        );
        out.success();
        let lines: Vec<String> = out.stdout.lines().map(squeeze).collect();
        assert_eq!(
            lines,
            vec![
                format!("0 {BASE} 65536"),
                "0".into(),
                "eth0".into(),
                "lo".into(),
                "0".into()
            ],
            "{c:?}: {}",
            out.stderr
        );
    }
    d.run(
        Client::Docker,
        &[
            "run",
            "-d",
            "--name",
            "lc",
            "--runtime",
            "libcontainer",
            "--security-opt",
            "seccomp=unconfined",
            "busybox",
            "sleep",
            "300",
        ],
    )
    .success();
    let init_ns = d
        .run(
            Client::Docker,
            &["exec", "lc", "readlink", "/proc/1/ns/user"],
        )
        .success()
        .stdout
        .clone();
    for c in Client::BOTH {
        let out = d.run(
            c,
            &[
                "exec",
                "lc",
                "sh",
                "-c",
                "readlink /proc/self/ns/user; id -u",
            ],
        );
        out.success();
        assert_eq!(out.stdout, format!("{}0\n", init_ns), "{c:?}");
    }
    d.run(Client::Docker, &["rm", "-f", "lc"]).success();
}

/// `--userns-remap=default` on berth and on a private dockerd, each started in a mount
/// namespace of its own where /etc and /var/log are private overlays (the host's files are
/// never written): both add the `dockremap` system user and group with adduser, give it
/// the first 65536 ids of each subordinate file that overlap no range there, and run
/// containers on them, their data under `<data-root>/<uid>.<gid>`.
#[test]
fn userns_remap_default_creates_dockremap_as_dockerd() {
    // moby's choice: after `daemon`'s range for uids (its check misses `other`'s, which
    // lies wholly inside the 65536 ids from 165536), after `x`'s 10 for gids.
    let subuid = "daemon:100000:65536\nother:200000:1000\n";
    let subgid = "x:100000:10\n";
    let (u, g) = (subuid.to_string(), subgid.to_string());
    let dockerd = std::thread::spawn(move || {
        berth_tests::Dockerd::start_remapped(berth_tests::dockerd::Remap {
            user: "default".into(),
            subuid: u,
            subgid: g,
            whole_etc: true,
        })
    });
    let d = TestDaemon::start_with_private_etc(subuid, subgid, &["--userns-remap", "default"]);
    let dockerd = dockerd
        .join()
        .unwrap_or_else(|_| panic!("the remapped dockerd did not start"));
    // What each daemon left in its private /etc: dockremap's passwd and group lines, and
    // both range files whole.
    let added = |dir: &Path| -> Vec<String> {
        let mut v = Vec::new();
        for f in ["passwd", "group"] {
            let text = berth_tests::private_etc_file(dir, f);
            v.extend(
                text.lines()
                    .filter(|l| l.starts_with("dockremap:"))
                    .map(|l| format!("{f}: {l}")),
            );
        }
        for f in ["subuid", "subgid"] {
            let text = berth_tests::private_etc_file(dir, f);
            v.extend(text.lines().map(|l| format!("{f}: {l}")));
        }
        v
    };
    let theirs = added(&dockerd.dir);
    assert_eq!(
        added(&d.dir),
        theirs,
        "berth and dockerd wrote different /etc files"
    );
    let ranges: Vec<&String> = theirs
        .iter()
        .filter(|l| l.starts_with("sub") && l.contains("dockremap"))
        .collect();
    assert_eq!(
        ranges,
        [
            "subuid: dockremap:165536:65536",
            "subgid: dockremap:100010:65536"
        ],
        "{theirs:?}"
    );
    assert!(
        theirs.iter().any(|l| l.starts_with("passwd: dockremap:")),
        "{theirs:?}"
    );
    // The host's files do not have it.
    assert!(!fs::read_to_string("/etc/passwd")
        .unwrap()
        .contains("dockremap:"));

    let script = "id; cat /proc/self/uid_map /proc/self/gid_map";
    let reference = dockerd.run(&["run", "--rm", "busybox", "sh", "-c", script]);
    reference.success();
    let reference: Vec<String> = reference.stdout.lines().map(squeeze).collect();
    assert_eq!(
        reference[1..],
        ["0 165536 65536", "0 100010 65536"],
        "{reference:?}"
    );
    for c in Client::BOTH {
        let out = d.run(c, &["run", "--rm", "busybox", "sh", "-c", script]);
        out.success();
        let lines: Vec<String> = out.stdout.lines().map(squeeze).collect();
        assert_eq!(lines, reference, "{c:?}: {}", out.stderr);
        let root = d.run(c, &["info", "-f", "{{.DockerRootDir}}"]);
        root.success();
        assert!(
            root.stdout.trim_end().ends_with("/165536.100010"),
            "{c:?}: {}",
            root.stdout
        );
    }
    let theirs = dockerd.run(&["info", "-f", "{{.DockerRootDir}}"]);
    assert!(
        theirs.stdout.trim_end().ends_with("/165536.100010"),
        "{}",
        theirs.stdout
    );
    // The remapped data root as dockerd makes it.
    let mode = |p: &Path| {
        let md = fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        (md.mode() & 0o7777, md.uid(), md.gid())
    };
    assert_eq!(
        mode(&d.data_root.join("165536.100010")),
        mode(&dockerd.dir.join("root/165536.100010"))
    );
}

/// moby 28 allows `--privileged` on a remapping daemon only with `--userns=host`
/// (verifyPlatformContainerSettings), and then the container is privileged in the host's
/// user namespace: no id maps, every capability the daemon holds, no seccomp filter, /sys
/// writable, nothing masked, the host's devices, `mount` allowed. (dockerd 20.10's runc
/// fails to start it here, "unable to apply caps": it asks for capabilities outside this
/// host's bounding set, which runc 1.1+ and berth leave out.) `--ipc host` (allowed by
/// moby 28 under remap) fails to start, as runc's: the mqueue mount is refused.
#[test]
fn userns_remap_privileged_with_userns_host_and_ipc_host() {
    let ranges = default_ranges();
    let d = start_remapped(&ranges);
    let bounding = fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:").map(|v| v.trim().to_string()))
        .unwrap();
    let script = "exec 2>&1; cat /proc/self/uid_map; grep -E '^(CapEff|Seccomp):' /proc/self/status; \
                  awk '$5 == \"/sys\" {split($6, o, \",\"); print \"sys\", o[1]}' /proc/self/mountinfo; \
                  grep -c ' /proc/kcore ' /proc/self/mountinfo; \
                  [ -e /dev/loop-control ] && echo host-devices; \
                  mkdir /m && mount -t tmpfs none /m && echo mounted";
    for c in Client::BOTH {
        let out = d.run(
            c,
            &[
                "run",
                "--rm",
                "--userns=host",
                "--privileged",
                "busybox",
                "sh",
                "-c",
                script,
            ],
        );
        out.success();
        let lines: Vec<String> = out.stdout.lines().map(squeeze).collect();
        let mut want = vec![
            "0 0 4294967295".to_string(),
            format!("CapEff: {bounding}"),
            "Seccomp: 0".to_string(),
            "sys rw".to_string(),
            "0".to_string(),
        ];
        if Path::new("/dev/loop-control").exists() {
            want.push("host-devices".into());
        }
        want.push("mounted".into());
        assert_eq!(lines, want, "{c:?}: {}", out.stderr);
        // `--ipc host` without --userns=host: the host's IPC namespace belongs to the host's
        // user namespace, so the container's root may not mount its mqueue (moby 28 keeps
        // the mqueue mount); the start fails as runc's does (the differential compares).
        let ipc = d.run(c, &["run", "--rm", "--ipc", "host", "busybox", "true"]);
        assert_eq!(ipc.code, 125, "{c:?}: {}", ipc.stderr);
        let err = ipc.stderr.to_lowercase();
        assert!(
            err.contains("mqueue") && err.contains("operation not permitted"),
            "{c:?}: {}",
            ipc.stderr
        );
        // Without --userns=host: moby's refusal.
        let refused = d.run(c, &["run", "--rm", "--privileged", "busybox", "true"]);
        assert_ne!(refused.code, 0, "{c:?}");
        assert!(
            refused
                .stderr
                .contains("privileged mode is incompatible with user namespaces"),
            "{c:?}: {}",
            refused.stderr
        );
    }
}
