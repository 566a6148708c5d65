//! docker cp (archive endpoints), export, diff and commit through both the berth CLI and
//! the real docker CLI against a private berth daemon. Expected messages and exit codes
//! were taken from the docker 28 CLI against a real dockerd.

use berth_tests::{client_name as name, Client, TestDaemon};
use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// A running container with /d/a.txt, /d/sub/b, /d/link -> /d/a.txt, /etclink -> /etc,
/// and /bin/ls removed.
fn prepared(d: &TestDaemon, c: Client, base: &str) -> String {
    let n = name(c, base);
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
            "mkdir -p /d/sub && echo hi > /d/a.txt && echo x > /d/sub/b && chmod 640 /d/sub/b && ln -s /d/a.txt /d/link && ln -s /etc /etclink && rm /bin/ls && touch /ready && sleep 1000",
        ],
    )
    .success();
    let probe = d.dir.join(format!("{n}-probe"));
    for _ in 0..200 {
        if d.run(c, &["cp", &format!("{n}:/ready"), &probe.to_string_lossy()])
            .code
            == 0
        {
            return n;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("container {n} never got ready");
}

fn tar_names(data: &[u8]) -> Vec<String> {
    let mut ar = tar::Archive::new(data);
    ar.entries()
        .expect("tar")
        .map(|e| {
            let e = e.expect("entry");
            String::from_utf8_lossy(&e.path_bytes()).into_owned()
        })
        .collect()
}

/// A file's content inside the container, through `cp CONTAINER:PATH -`.
fn cat(d: &TestDaemon, c: Client, n: &str, path: &str) -> String {
    let o = d.cli(c, ["cp", &format!("{n}:{path}"), "-"]).run();
    o.success();
    let mut ar = tar::Archive::new(o.stdout.as_bytes());
    let mut e = ar
        .entries()
        .expect("tar")
        .next()
        .expect("entry")
        .expect("entry");
    let mut s = String::new();
    e.read_to_string(&mut s).expect("read entry");
    s
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

#[test]
fn files_cp_from_container() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = prepared(&d, c, "from");
        let out = d.dir.join(name(c, "out"));
        fs::create_dir(&out).expect("mkdir");
        // A file into an existing dir, and to a new name.
        d.run(c, &["cp", &format!("{n}:/d/a.txt"), &out.to_string_lossy()])
            .success();
        assert_eq!(read(&out.join("a.txt")), "hi\n");
        let renamed = out.join("renamed.txt");
        d.run(
            c,
            &["cp", &format!("{n}:/d/a.txt"), &renamed.to_string_lossy()],
        )
        .success();
        assert_eq!(read(&renamed), "hi\n");
        // A dir to a new path takes that name; into an existing dir it keeps its own.
        let newdir = out.join("newdir");
        d.run(c, &["cp", &format!("{n}:/d"), &newdir.to_string_lossy()])
            .success();
        assert_eq!(read(&newdir.join("sub/b")), "x\n");
        assert_eq!(
            fs::metadata(newdir.join("sub/b")).expect("stat").mode() & 0o777,
            0o640
        );
        assert_eq!(
            fs::read_link(newdir.join("link")).expect("link"),
            Path::new("/d/a.txt")
        );
        d.run(c, &["cp", &format!("{n}:/d"), &out.to_string_lossy()])
            .success();
        assert_eq!(read(&out.join("d/a.txt")), "hi\n");
        // "dir/." copies the contents.
        let contents = out.join("contents");
        fs::create_dir(&contents).expect("mkdir");
        d.run(
            c,
            &["cp", &format!("{n}:/d/."), &contents.to_string_lossy()],
        )
        .success();
        assert_eq!(read(&contents.join("a.txt")), "hi\n");
        assert!(contents.join("sub/b").is_file());
        assert!(!contents.join("d").exists());
        // Symlinks are copied as links, or followed with -L.
        let nl = out.join("nl");
        d.run(c, &["cp", &format!("{n}:/d/link"), &nl.to_string_lossy()])
            .success();
        assert!(fs::symlink_metadata(&nl)
            .expect("lstat")
            .file_type()
            .is_symlink());
        let fl = out.join("fl");
        d.run(
            c,
            &["cp", "-L", &format!("{n}:/d/link"), &fl.to_string_lossy()],
        )
        .success();
        assert!(fs::symlink_metadata(&fl).expect("lstat").is_file());
        assert_eq!(read(&fl), "hi\n");
        // A trailing slash follows a symlinked dir and keeps the requested name.
        d.run(
            c,
            &["cp", &format!("{n}:/etclink/"), &out.to_string_lossy()],
        )
        .success();
        assert!(out.join("etclink").is_dir());
        assert!(out.join("etclink/passwd").is_file());
        // To stdout: a tar.
        let o = d.run(c, &["cp", &format!("{n}:/d/a.txt"), "-"]);
        o.success();
        assert_eq!(tar_names(o.stdout.as_bytes()), vec!["a.txt".to_string()]);
        // Errors, as docker words them.
        d.run(c, &["cp", &format!("{n}:/nope"), &out.to_string_lossy()])
            .code(1)
            .stderr_contains(&format!(
                "Error response from daemon: Could not find the file /nope in container {n}"
            ));
        d.run(c, &["cp", "nocontainer:/x", &out.to_string_lossy()])
            .code(1)
            .stderr_contains("Error response from daemon: No such container: nocontainer");
        let nodir = out.join("nodir/x");
        d.run(
            c,
            &["cp", &format!("{n}:/d/a.txt"), &nodir.to_string_lossy()],
        )
        .code(1)
        .stderr_contains(&format!(
            "invalid output path: directory {:?} does not exist",
            out.join("nodir").to_string_lossy()
        ));
        d.run(
            c,
            &[
                "cp",
                &format!("{n}:/d/a.txt"),
                &format!("{}/", out.join("nd").to_string_lossy()),
            ],
        )
        .code(1)
        .stderr_contains("no such directory");
        d.run(
            c,
            &[
                "cp",
                &format!("{n}:/d"),
                &out.join("a.txt").to_string_lossy(),
            ],
        )
        .code(1)
        .stderr_contains("cannot copy directory");
        d.run(c, &["cp", "a", "b"])
            .code(1)
            .stderr_contains("must specify at least one container source");
        d.run(c, &["cp", &format!("{n}:/a"), &format!("{n}:/b")])
            .code(1)
            .stderr_contains("copying between containers is not supported");
        // Nothing left mounted or changed by the failures.
        assert_eq!(read(&out.join("a.txt")), "hi\n");
    }
}

#[test]
fn files_cp_to_container_and_stopped_containers() {
    let d = TestDaemon::start();
    let src = d.dir.join("src");
    fs::create_dir_all(src.join("sub")).expect("mkdir");
    fs::write(src.join("f"), "f\n").expect("write");
    fs::write(src.join("sub/g"), "g\n").expect("write");
    fs::set_permissions(src.join("f"), fs::Permissions::from_mode(0o640)).expect("chmod");
    std::os::unix::fs::chown(src.join("f"), Some(1234), Some(4321)).expect("chown");
    std::os::unix::fs::symlink("/etc/passwd", src.join("plink")).expect("symlink");
    let s = src.to_string_lossy().to_string();
    for c in Client::BOTH {
        let n = prepared(&d, c, "to");
        d.run(c, &["cp", &s, &format!("{n}:/cpd")]).success();
        d.run(c, &["cp", "-a", &s, &format!("{n}:/cpa")]).success();
        d.run(c, &["cp", &format!("{s}/."), &format!("{n}:/d")])
            .success();
        d.run(c, &["cp", &format!("{s}/f"), &format!("{n}:/d/renamed")])
            .success();
        for (p, want) in [
            ("/cpd/f", "f\n"),
            ("/cpd/sub/g", "g\n"),
            ("/d/f", "f\n"),
            ("/d/sub/g", "g\n"),
            ("/d/sub/b", "x\n"),
            ("/d/renamed", "f\n"),
        ] {
            assert_eq!(cat(&d, c, &n, p), want, "{p}");
        }
        // Modes and owners as the archive's headers show them.
        for p in ["/cpd/f", "/cpa/f"] {
            let o = d.run(c, &["cp", &format!("{n}:{p}"), "-"]);
            o.success();
            let mut ar = tar::Archive::new(o.stdout.as_bytes());
            let e = ar
                .entries()
                .expect("tar")
                .next()
                .expect("entry")
                .expect("entry");
            let h = e.header();
            assert_eq!(
                (
                    h.mode().expect("mode") & 0o7777,
                    h.uid().expect("uid"),
                    h.gid().expect("gid")
                ),
                (0o640, 1234, 4321),
                "{p}"
            );
        }
        let o = d.run(c, &["cp", &format!("{n}:/cpd/plink"), "-"]);
        o.success();
        let mut ar = tar::Archive::new(o.stdout.as_bytes());
        let e = ar
            .entries()
            .expect("tar")
            .next()
            .expect("entry")
            .expect("entry");
        assert_eq!(
            e.link_name()
                .expect("link")
                .expect("link")
                .to_string_lossy(),
            "/etc/passwd"
        );
        // Errors.
        let missing = d.dir.join("missing");
        d.run(c, &["cp", &missing.to_string_lossy(), &format!("{n}:/")])
            .code(1)
            .stderr_contains(&format!(
                "lstat {}: no such file or directory",
                missing.to_string_lossy()
            ));
        d.run(c, &["cp", &format!("{s}/f"), "nocontainer:/x"])
            .code(1)
            .stderr_contains("No such container: nocontainer");
        d.run(c, &["cp", &format!("{s}/f"), &format!("{n}:/nodir/x")])
            .code(1)
            .stderr_contains(&format!(
                "Error response from daemon: Could not find the file /nodir in container {n}"
            ));
        d.run(c, &["cp", &s, &format!("{n}:/d/a.txt")])
            .code(1)
            .stderr_contains("cannot copy directory");
        // A stopped container: its rootfs is mounted for the copy and unmounted after.
        d.run(c, &["kill", &n]).success();
        d.run(c, &["wait", &n]).success();
        d.run(c, &["cp", &format!("{s}/f"), &format!("{n}:/stopped")])
            .success();
        let back = d.dir.join(name(c, "back"));
        d.run(
            c,
            &["cp", &format!("{n}:/stopped"), &back.to_string_lossy()],
        )
        .success();
        assert_eq!(read(&back), "f\n");
        let rootfs = d
            .data_root
            .join("containers")
            .join(inspect_id(&d, c, &n))
            .join("bundle/rootfs");
        assert!(
            !berth_tests::mounts_under(&d.data_root)
                .iter()
                .any(|m| m == &rootfs),
            "rootfs of stopped container still mounted"
        );
        // A created container too, and the copied file is there when it runs.
        let cr = name(c, "created");
        d.run(c, &["create", "--name", &cr, "busybox", "cat", "/f"])
            .success();
        d.run(c, &["cp", &format!("{s}/f"), &format!("{cr}:/f")])
            .success();
        d.run(c, &["start", "-a", &cr]).success().stdout_is("f\n");
    }
}

fn inspect_id(d: &TestDaemon, c: Client, n: &str) -> String {
    d.run(c, &["inspect", "-f", "{{.Id}}", n]).success().out()
}

/// A tar with one entry of `name` (and optional symlink target).
fn tar_with(entries: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (n, link, data) in entries {
        let mut h = tar::Header::new_gnu();
        {
            let slot = &mut h.as_old_mut().name;
            slot[..n.len()].copy_from_slice(n.as_bytes());
        }
        h.set_mode(0o644);
        match link {
            Some(l) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_link_name(l).expect("link");
                h.set_size(0);
            }
            None => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(data.len() as u64);
            }
        }
        h.set_cksum();
        b.append(&h, *data).expect("append");
    }
    b.into_inner().expect("tar")
}

#[test]
fn files_put_archive_is_hardened() {
    let d = TestDaemon::start();
    let n = prepared(&d, Client::Berth, "hard");
    let id = inspect_id(&d, Client::Berth, &n);
    let cdir = d.data_root.join("containers").join(&id);
    // `../` entries are refused; nothing lands outside the rootfs.
    let evil = tar_with(&[("../../../../escaped", None, b"x")]);
    d.berth(["cp", "-", &format!("{n}:/d")])
        .stdin(evil)
        .run()
        .code(1)
        .stderr_contains("outside");
    assert!(!cdir.join("escaped").exists());
    assert!(!d.data_root.join("escaped").exists());
    assert!(!Path::new("/escaped").exists());
    // A symlink to an absolute host path, then a file through it: the link stays inside.
    let outside = d.dir.join("outside");
    fs::create_dir(&outside).expect("mkdir");
    let target = outside.to_string_lossy().to_string();
    let evil = tar_with(&[
        ("esc", Some(target.as_str()), b""),
        ("esc/pwned", None, b"x"),
    ]);
    d.docker(["cp", "-", &format!("{n}:/d")])
        .stdin(evil)
        .run()
        .code(1)
        .stderr_contains("symlink");
    assert!(!outside.join("pwned").exists(), "wrote through a symlink");
    // A destination that is a symlink to a host path resolves inside the rootfs.
    let evil = tar_with(&[("inside", None, b"ok\n")]);
    d.berth(["cp", "-", &format!("{n}:/etclink")])
        .stdin(evil)
        .run()
        .success();
    assert_eq!(cat(&d, Client::Berth, &n, "/etc/inside"), "ok\n");
    // Not a directory, missing container, through the API answer.
    d.berth(["cp", "-", &format!("{n}:/d/a.txt")])
        .stdin(tar_with(&[("x", None, b"")]))
        .run()
        .code(1)
        .stderr_contains("must be a directory");
}

#[test]
fn files_export_and_diff() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = prepared(&d, c, "exp");
        let o = d.run(c, &["diff", &n]);
        o.success();
        let lines = o.lines();
        for want in [
            "A /d",
            "A /d/a.txt",
            "A /d/link",
            "A /d/sub",
            "A /d/sub/b",
            "C /bin",
            "D /bin/ls",
            "A /etclink",
            "A /ready",
        ] {
            assert!(
                lines.contains(&want.to_string()),
                "missing {want:?} in {lines:?}"
            );
        }
        let pos = |s: &str| lines.iter().position(|l| l == s).expect("line");
        assert!(pos("C /bin") < pos("D /bin/ls"));
        assert!(pos("A /d") < pos("A /d/a.txt"));
        d.run(c, &["diff", "nope"])
            .code(1)
            .stderr_contains("Error response from daemon: No such container: nope");
        // export -o: the merged rootfs.
        let out = d.dir.join(name(c, "exp.tar"));
        d.run(c, &["export", "-o", &out.to_string_lossy(), &n])
            .success();
        let mut data = Vec::new();
        fs::File::open(&out)
            .and_then(|mut f| f.read_to_end(&mut data))
            .expect("read export");
        let names = tar_names(&data);
        for want in [".dockerenv", "bin/", "bin/busybox", "d/a.txt", "etc/passwd"] {
            assert!(
                names.contains(&want.to_string()),
                "missing {want} in export"
            );
        }
        assert!(!names.contains(&"bin/ls".to_string()));
        // To stdout when redirected.
        let o = d.run(c, &["export", &n]);
        o.success();
        assert!(o.stdout.len() > 1024);
        // Bad outputs.
        d.run(c, &["export", "-o", "/nonexistent/x.tar", &n])
            .code(1)
            .stderr_contains("failed to export container: invalid output path: stat /nonexistent: no such file or directory");
        d.run(c, &["export", "-o", "/proc/x.tar", &n])
            .code(1)
            .stderr_contains("failed to export container: open /proc/.tmp-x.tar");
        d.run(c, &["export", "-o", &d.dir.to_string_lossy(), &n])
            .code(1)
            .stderr_contains("failed to export container: cannot write to a directory");
        d.run(c, &["export", "nope"])
            .code(1)
            .stderr_contains("Error response from daemon: No such container: nope");
    }
}

#[test]
fn files_commit_runs_and_saves() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = prepared(&d, c, "com");
        let img = format!("{}-img:v1", c.name());
        let o = d.run(
            c,
            &[
                "commit",
                "-a",
                "me",
                "-m",
                "msg",
                "-c",
                "ENV X=1",
                "-c",
                "LABEL l=v",
                &n,
                &img,
            ],
        );
        o.success();
        let id = o.out();
        assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
        d.run(
            c,
            &[
                "run",
                "--rm",
                &img,
                "sh",
                "-c",
                "cat /d/a.txt; echo $X; test -e /bin/ls || echo gone",
            ],
        )
        .success()
        .stdout_is("hi\n1\ngone\n");
        let fmt = "{{.Author}}|{{.Comment}}|{{.Config.Labels.l}}|{{.Parent}}";
        let parent = d
            .run(c, &["inspect", "-f", "{{.Image}}", &n])
            .success()
            .out();
        d.run(c, &["image", "inspect", "-f", fmt, &img])
            .success()
            .stdout_is(&format!("me|msg|v|{parent}\n"));
        d.run(c, &["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .success()
            .stdout_contains(&img);
        d.run(c, &["history", "--format", "{{.Comment}}", &img])
            .success()
            .stdout_contains("msg");
        // The pausing commit froze and thawed the container's cgroup: it still runs.
        let cid = inspect_id(&d, c, &n);
        d.run(c, &["inspect", "-f", "{{.State.Running}}", &n])
            .success()
            .stdout_is("true\n");
        let states: Vec<String> =
            berth_tests::cgroup_file(&cid, "freezer", "freezer.state", "cgroup.freeze")
                .into_iter()
                .collect();
        assert!(
            !states.is_empty() && states.iter().all(|s| s == "THAWED" || s == "0"),
            "freezer states {states:?}"
        );
        assert_eq!(cat(&d, c, &n, "/d/a.txt"), "hi\n");
        // --pause=false and an untagged commit of a stopped container.
        d.run(c, &["commit", "--pause=false", &n]).success();
        d.run(c, &["kill", &n]).success();
        d.run(c, &["wait", &n]).success();
        let o = d.run(c, &["commit", "-c", "CMD [\"cat\", \"/d/sub/b\"]", &n]);
        o.success();
        let id2 = o.out();
        d.run(c, &["run", "--rm", &id2]).success().stdout_is("x\n");
        // save works with the committed image.
        let tarf = d.dir.join(name(c, "saved.tar"));
        d.run(c, &["save", "-o", &tarf.to_string_lossy(), &img])
            .success();
        assert!(fs::metadata(&tarf).expect("saved").len() > 1024);
        // Errors.
        d.run(c, &["commit", "nope"])
            .code(1)
            .stderr_contains("Error response from daemon: No such container: nope");
        d.run(c, &["commit", "-c", "RUN true", &n])
            .code(1)
            .stderr_contains("run is not a valid change command");
    }
}
