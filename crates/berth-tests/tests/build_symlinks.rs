//! COPY/ADD and `RUN --mount` with symlinks (issue 14): sources resolve inside their root
//! (the context, a stage, an image), the destination inside the image, nothing on the host
//! is read or written, and the result is the classic builder's: the same Dockerfiles built
//! by a private dockerd (`DOCKER_BUILDKIT=0`, see `berth_tests::Dockerd`) give the same
//! files, modes, owners and link targets. Tests are prefixed `buildsym_`.

use berth_tests::{build_context, classic_build, Client, Dockerd, TestDaemon};
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::PathBuf;

/// A host directory a build must never read or change: mode 0700, holding `secret` (or
/// nothing), removed on drop.
struct Probe {
    dir: PathBuf,
}

impl Probe {
    fn new(tag: &str, with_secret: bool) -> Probe {
        let dir = std::env::temp_dir().join(format!("berth-probe-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("probe dir");
        if with_secret {
            fs::write(dir.join("secret"), "host secret\n").expect("probe file");
        }
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod probe");
        Probe { dir }
    }

    /// The names in the probe directory and its mode.
    fn state(&self) -> (Vec<String>, u32) {
        let mut names: Vec<String> = fs::read_dir(&self.dir)
            .expect("read probe")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let mode = fs::metadata(&self.dir).expect("stat probe").mode() & 0o7777;
        (names, mode)
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `build_context` plus symlinks (path, target).
fn context_with_links(
    d: &TestDaemon,
    sub: &str,
    files: &[(&str, &str)],
    links: &[(&str, &str)],
) -> PathBuf {
    let dir = build_context(d, sub, files);
    for (p, target) in links {
        let l = dir.join(p);
        fs::create_dir_all(l.parent().expect("parent")).expect("mkdir");
        symlink(target, &l).expect("symlink");
    }
    dir
}

/// The first probe and its relatives: a context (or stage) symlink to a host
/// directory, followed by COPY, ADD, a glob or a `RUN --mount` bind, never brings the host
/// file into the image: the path is looked up inside the context, where it does not exist.
#[test]
fn buildsym_host_paths_behind_links_never_reach_an_image() {
    let d = TestDaemon::start();
    let probe = Probe::new("read", true);
    let host = probe.dir.to_string_lossy().into_owned();
    let up_rel = format!("up{host}/secret");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "copy-link",
            "FROM busybox\nCOPY link/secret /stolen\n".to_string(),
            "file not found in build context or excluded by .dockerignore: stat link/secret: file does not exist",
        ),
        (
            "copy-up",
            format!("FROM busybox\nCOPY {up_rel} /stolen\n"),
            "file not found in build context or excluded by .dockerignore",
        ),
        (
            "add-link",
            "FROM busybox\nADD link/secret /stolen\n".to_string(),
            "file not found in build context or excluded by .dockerignore: stat link/secret: file does not exist",
        ),
        (
            "copy-linkdir",
            "FROM busybox\nCOPY link /stolen/\n".to_string(),
            "file not found in build context or excluded by .dockerignore: stat link: file does not exist",
        ),
        (
            "glob",
            "FROM busybox\nCOPY link/* /stolen/\n".to_string(),
            "no source files were specified",
        ),
        (
            "run-mount",
            "FROM busybox\nRUN --mount=type=bind,source=link,target=/m cat /m/secret\n".to_string(),
            "stat link: file does not exist",
        ),
        (
            "from-stage",
            "FROM busybox AS s\nCOPY stagelinks/ /\nFROM busybox\nCOPY --from=s /esc/secret /stolen\n"
                .to_string(),
            "esc/secret: file does not exist",
        ),
    ];
    for c in Client::BOTH {
        for (name, dockerfile, want) in &cases {
            let dir = context_with_links(
                &d,
                &format!("{}-{name}", c.name()),
                &[
                    ("Dockerfile", dockerfile.as_str()),
                    ("stagelinks/keep", "k"),
                ],
                &[
                    ("link", host.as_str()),
                    ("up", "../../../../../../../../.."),
                    ("stagelinks/esc", host.as_str()),
                ],
            );
            let tag = format!("sym-{}-{name}", c.name());
            let o = classic_build(&d, c, &dir, &["-t", &tag]).run();
            o.failure();
            let all = format!("{}{}", o.stdout, o.stderr);
            assert!(
                all.contains(want),
                "{name} ({c:?}): want {want:?} in\n{all}"
            );
            assert!(
                !all.contains("host secret"),
                "{name}: the host file was read\n{all}"
            );
            d.berth(["image", "inspect", &tag]).run().failure();
        }
    }
    assert_eq!(probe.state(), (vec!["secret".to_string()], 0o700));
}

/// The second probe: `COPY s1/ s2/ /out/` with `s1/a -> <host dir>`: the link is
/// copied, then replaced by `s2/a` (a directory), as Docker's untar does; the host
/// directory stays empty and keeps its mode.
#[test]
fn buildsym_copy_dirs_leave_a_linked_host_dir_alone() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let probe = Probe::new(&format!("write-{}", c.name()), false);
        let host = probe.dir.to_string_lossy().into_owned();
        let dir = context_with_links(
            &d,
            &format!("s1s2-{}", c.name()),
            &[
                ("Dockerfile", "FROM busybox\nCOPY s1/ s2/ /out/\n"),
                ("s2/a/evil", "evil\n"),
                ("s2/b", "b\n"),
            ],
            &[("s1/a", host.as_str())],
        );
        fs::set_permissions(dir.join("s2/a"), fs::Permissions::from_mode(0o777)).expect("chmod");
        let tag = format!("s1s2-{}", c.name());
        classic_build(&d, c, &dir, &["-t", &tag]).run().success();
        assert_eq!(
            probe.state(),
            (vec![], 0o700),
            "{c:?}: the host dir changed"
        );
        d.run(
            c,
            &[
                "run",
                "--rm",
                &tag,
                "sh",
                "-c",
                "stat -c '%F %a' /out/a && cat /out/a/evil /out/b",
            ],
        )
        .success()
        .stdout_is("directory 777\nevil\nb\n");
    }
}

/// What a build put in the image, in a form to compare: for each path under the given
/// roots, type, mode, owner, size and link target, then the files' checksums.
const LIST: &str = "cd / && find out real linkdir rel-linkdir target-link \
    -exec stat -c '%n|%F|%a|%u:%g|%s|%N' {} \\; | sort && \
    find out real -type f -exec md5sum {} \\; | sort";

/// The Dockerfile and context of the comparison: links to directories and files,
/// absolute and relative, escaping and dangling, in the context, in a stage and in the
/// image at the destination.
const PARITY: &str = "FROM busybox AS base
COPY rootlinks/ /
FROM base
COPY link/file.txt /out/a.txt
COPY abslink/ /out/abs/
COPY filelink /out/
COPY escape/sub /out/esc/
COPY dir /out/dir/
COPY data/file.txt /linkdir/
COPY data/file.txt /rel-linkdir/renamed.txt
COPY data/file.txt /target-link
COPY l* /out/glob/
COPY --from=base /linkdir /out/fromstage/
COPY s1/ s2/ /out/s/
";

fn parity_context(d: &TestDaemon, sub: &str) -> PathBuf {
    context_with_links(
        d,
        sub,
        &[
            ("Dockerfile", PARITY),
            ("data/file.txt", "hello\n"),
            ("data/sub/deep.txt", "deep\n"),
            ("rootlinks/real/target.txt", "old\n"),
            ("rootlinks/real/keep", "k\n"),
            ("s2/a/evil", "evil\n"),
        ],
        &[
            ("link", "data"),
            ("abslink", "/data"),
            ("filelink", "data/file.txt"),
            ("escape", "../../../../data"),
            ("dir/inner", "../data/file.txt"),
            ("dir/absinner", "/etc/passwd"),
            ("dir/dangle", "nowhere"),
            ("rootlinks/linkdir", "/real"),
            ("rootlinks/rel-linkdir", "real"),
            ("rootlinks/target-link", "/real/target.txt"),
            ("s1/a", "/data"),
        ],
    )
}

/// The same Dockerfile through berth (both CLIs) and a real dockerd's classic builder
/// gives the same image content.
#[test]
fn buildsym_symlink_results_match_the_classic_builder() {
    let d = TestDaemon::start();
    let oracle = Dockerd::start();
    let dir = parity_context(&d, "parity-oracle");
    oracle
        .docker(["build", "-q", "-t", "parity"])
        .arg(&dir)
        .run()
        .success();
    let want = oracle
        .docker([
            "run",
            "--rm",
            "--network",
            "none",
            "parity",
            "sh",
            "-c",
            LIST,
        ])
        .run();
    want.success();
    assert!(
        want.stdout.contains("out/dir/inner|symbolic link"),
        "{}",
        want.stdout
    );
    for c in Client::BOTH {
        let dir = parity_context(&d, &format!("parity-{}", c.name()));
        let tag = format!("parity-{}", c.name());
        classic_build(&d, c, &dir, &["-q", "--no-cache", "-t", &tag])
            .run()
            .success();
        let got = d.run(
            c,
            &["run", "--rm", "--network", "none", &tag, "sh", "-c", LIST],
        );
        got.success();
        assert_eq!(
            got.stdout, want.stdout,
            "{c:?}: berth's image differs from dockerd's"
        );
    }
    // A link to a host path fails the same way on both.
    let probe = Probe::new("oracle", true);
    let host = probe.dir.to_string_lossy().into_owned();
    let bad = context_with_links(
        &d,
        "parity-bad",
        &[("Dockerfile", "FROM busybox\nCOPY link/secret /stolen\n")],
        &[("link", host.as_str())],
    );
    let want = oracle.docker(["build", "-t", "bad"]).arg(&bad).run();
    want.failure();
    let got = classic_build(&d, Client::Docker, &bad, &["-t", "bad"]).run();
    got.failure();
    let line = |o: &berth_tests::Output| {
        o.stderr
            .lines()
            .find(|l| l.contains("COPY failed"))
            .map(str::to_string)
    };
    assert_eq!(
        line(&got),
        line(&want),
        "dockerd: {}\nberth: {}",
        want.stderr,
        got.stderr
    );
    assert!(line(&got).is_some(), "{}", got.stderr);
}
