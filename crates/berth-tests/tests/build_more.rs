//! BuildKit-style builder features through the classic `/build` endpoint: `RUN --mount`
//! (cache, bind, tmpfs, secret), `RUN --network`, `ADD <url>`, `--output`. The classic
//! builder has none of them, so BuildKit's semantics are the reference.

use berth_tests::{
    build_context as context, classic_build, client_name as name, Client, Output, TestDaemon,
};
use std::fs;
use std::path::Path;

fn build(d: &TestDaemon, c: Client, dir: &Path, args: &[&str]) -> Output {
    classic_build(d, c, dir, args).run()
}

/// `sh -c script` in a fresh container of `image`.
fn sh(d: &TestDaemon, image: &str, script: &str) -> Output {
    d.berth(["run", "--rm", image, "sh", "-c", script]).run()
}

#[test]
fn buildx_cache_mount_persists_across_builds_not_in_layer() {
    let d = TestDaemon::start();
    let df = "FROM busybox\nRUN --mount=type=cache,target=/var/cache/cnt,id=counter sh -c 'n=$(cat /var/cache/cnt/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /var/cache/cnt/n; echo count=$n; echo $n > /seen'\n";
    let dir = context(&d, "cache", &[("Dockerfile", df)]);
    let mut n = 0;
    for c in Client::BOTH {
        for _ in 0..2 {
            n += 1;
            let tag = name(c, "cachemount");
            // --no-cache: the step must run to see the counter move on.
            let o = build(&d, c, &dir, &["--no-cache", "-t", &tag]);
            o.success().stdout_contains(&format!("count={n}\n"));
            sh(&d, &tag, "cat /seen")
                .success()
                .stdout_is(&format!("{n}\n"));
            // Neither the counter nor the mount point is in the layer.
            sh(
                &d,
                &tag,
                "test -e /var/cache/cnt && echo present || echo absent",
            )
            .success()
            .stdout_is("absent\n");
        }
    }
    // A rebuild with nothing changed is a cache hit (the mount is in the key, its content not).
    let o = build(&d, Client::Berth, &dir, &[]);
    o.success()
        .stdout_contains(" ---> Using cache")
        .stdout_lacks(&format!("count={}\n", n + 1));
    // Another target path with the same id shares the cache; sharing=locked works too.
    let df2 = "FROM busybox\nRUN --mount=type=cache,target=/c,id=counter,sharing=locked cat /c/n\n";
    let dir2 = context(&d, "cache2", &[("Dockerfile", df2)]);
    build(&d, Client::Berth, &dir2, &[])
        .success()
        .stdout_contains(&format!("\n{n}\n"));
}

#[test]
fn buildx_secret_readable_in_run_absent_from_image_and_history() {
    let d = TestDaemon::start();
    // The Dockerfile never names the value: the RUNs print it upper-cased.
    let df = "FROM busybox\n\
RUN --mount=type=secret,id=tok,required=true sh -c 'echo file:$(tr a-z A-Z < /run/secrets/tok); ls -l /run/secrets/tok; wc -c < /run/secrets/tok > /len'\n\
RUN --mount=type=secret,id=tok,env=TOKEN,mode=0440,target=/etc/tok sh -c 'echo env:$TOKEN | tr a-z A-Z; echo etc:$(tr a-z A-Z < /etc/tok); ls -l /etc/tok'\n\
RUN --mount=type=secret,id=absent sh -c 'test -e /run/secrets/absent || echo optional-ok'\n";
    let dir = context(&d, "secret", &[("Dockerfile", df)]);
    let secret_file = d.dir.join("tok.txt");
    fs::write(&secret_file, "s3cr3tvalue").expect("write secret");
    let spec = format!("id=tok,src={}", secret_file.display());
    let o = build(&d, Client::Berth, &dir, &["--secret", &spec, "-t", "sec"]);
    o.success()
        .stdout_contains("file:S3CR3TVALUE\n")
        .stdout_contains("-r--------")
        .stdout_contains("ENV:S3CR3TVALUE\n")
        .stdout_contains("etc:S3CR3TVALUE\n")
        .stdout_contains("-r--r-----")
        .stdout_contains("optional-ok\n");
    sh(
        &d,
        "sec",
        "cat /len; test -e /run/secrets || echo gone; test -e /etc/tok || echo gone2",
    )
    .success()
    .stdout_is("11\ngone\ngone2\n");
    let h = d.berth(["history", "--no-trunc", "sec"]).run();
    h.success().stdout_lacks("s3cr3tvalue");
    let i = d.berth(["image", "inspect", "sec"]).run();
    i.success()
        .stdout_lacks("s3cr3tvalue")
        .stdout_lacks("TOKEN");
    // Nowhere in the image's layers either.
    let save = std::process::Command::new(berth_tests::berth_bin())
        .args(["-H", &d.host(), "save", "sec"])
        .output()
        .expect("save");
    assert!(save.status.success());
    assert!(!save.stdout.is_empty());
    assert!(
        !save.stdout.windows(11).any(|w| w == b"s3cr3tvalue"),
        "the secret is in the saved image"
    );
    // The secret comes from an env var just as well; its content is not in the cache key.
    let o = d
        .berth(["build", "--secret", "id=tok,env=MY_TOK", "-t", "sec2"])
        .arg(&dir)
        .env("MY_TOK", "s3cr3tvalue")
        .run();
    o.success().stdout_contains(" ---> Using cache");
    // A required secret that was not given fails with BuildKit's message and the step's line.
    let o = build(&d, Client::Berth, &dir, &["--no-cache"]);
    o.failure().stderr_contains("secret tok: not found");
    let o = build(&d, Client::Berth, &dir, &["--secret", "id=tok,bogus=1"]);
    o.failure()
        .stderr_contains("unexpected key 'bogus' in 'bogus=1'");
    let o = build(
        &d,
        Client::Berth,
        &dir,
        &["--secret", "id=tok,src=/nonexistent/tok"],
    );
    o.failure()
        .stderr_contains("failed to read secret tok from /nonexistent/tok");
}

#[test]
fn buildx_tmpfs_and_bind_mounts() {
    let d = TestDaemon::start();
    let df = "FROM busybox AS gen\n\
RUN mkdir /out && echo generated > /out/file.txt\n\
FROM busybox\n\
WORKDIR /work\n\
RUN --mount=type=tmpfs,target=/scratch,size=2m sh -c 'echo x > /scratch/junk; grep \" /scratch \" /proc/mounts; echo tmpfs-ok'\n\
RUN --mount=type=bind,from=gen,source=/out,target=/in cat /in/file.txt > /copied\n\
RUN --mount=type=bind,source=data,target=ctx sh -c 'cat /work/ctx/v.txt > /fromctx; touch /work/ctx/w 2>/dev/null || echo ro-ok'\n\
RUN --mount=type=bind,source=data,target=/rw,rw sh -c 'echo changed > /rw/v.txt && cat /rw/v.txt'\n";
    let dir = context(
        &d,
        "binds",
        &[("Dockerfile", df), ("data/v.txt", "ctx-1\n")],
    );
    let o = build(&d, Client::Berth, &dir, &["-t", "binds"]);
    o.success()
        .stdout_contains("tmpfs /scratch tmpfs")
        .stdout_contains("size=2048k")
        .stdout_contains("tmpfs-ok\n")
        .stdout_contains("ro-ok\n")
        .stdout_contains("changed\n");
    sh(
        &d,
        "binds",
        "cat /copied /fromctx; for p in /scratch /in /work/ctx /rw; do test -e $p && echo $p-left; done; true",
    )
    .success()
    .stdout_is("generated\nctx-1\n");
    // rw writes went to a copy: the context is untouched.
    assert_eq!(
        fs::read_to_string(dir.join("data/v.txt")).unwrap(),
        "ctx-1\n"
    );
    // The bound context content is in the cache key: a change reruns the step.
    fs::write(dir.join("data/v.txt"), "ctx-2\n").unwrap();
    build(&d, Client::Berth, &dir, &["-t", "binds"]).success();
    sh(&d, "binds", "cat /fromctx")
        .success()
        .stdout_is("ctx-2\n");
    // The same through the docker CLI's legacy builder.
    build(
        &d,
        Client::Docker,
        &dir,
        &["--no-cache", "-t", "binds-docker"],
    )
    .success();
    sh(&d, "binds-docker", "cat /copied /fromctx")
        .success()
        .stdout_is("generated\nctx-2\n");
}

#[test]
fn buildx_run_network_modes() {
    let d = TestDaemon::start();
    let df = "FROM busybox\n\
RUN --network=none sh -c 'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d \" \" > /none.txt'\n\
RUN --network=host sh -c 'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d \" \" | sort > /host.txt'\n\
RUN --network=default true\n";
    let dir = context(&d, "net", &[("Dockerfile", df)]);
    for c in Client::BOTH {
        let tag = name(c, "net");
        build(&d, c, &dir, &["--no-cache", "-t", &tag]).success();
        sh(&d, &tag, "cat /none.txt").success().stdout_is("lo\n");
        let host = sh(&d, &tag, "cat /host.txt");
        host.success();
        // Links other tests create and remove meanwhile (bridges bt-*, veths vb*) are left
        // out of the comparison; the host's own ones must all be there.
        let stable = |n: &str| !n.starts_with("bt-") && !n.starts_with("vb");
        let mut want: Vec<String> = fs::read_to_string("/proc/net/dev")
            .unwrap()
            .lines()
            .skip(2)
            .filter_map(|l| l.split(':').next().map(|s| s.trim().to_string()))
            .filter(|n| stable(n))
            .collect();
        want.sort();
        let got: Vec<&str> = host.stdout.lines().filter(|n| stable(n)).collect();
        assert_eq!(got, want);
        assert!(want.len() > 1, "the host has more than loopback: {want:?}");
    }
}

#[test]
fn buildx_bad_mount_inputs() {
    let d = TestDaemon::start();
    let cases: &[(&str, &str)] = &[
        (
            "FROM busybox\nRUN --mount=type=foo,target=/x true\n",
            "dockerfile parse error line 2: unsupported mount type \"foo\"",
        ),
        (
            "FROM busybox\n\nRUN --mount=type=cache true\n",
            "dockerfile parse error line 3: mount type cache requires a target",
        ),
        (
            "FROM busybox\nRUN --mount=type=bind,target=/x,mode=0700 true\n",
            "dockerfile parse error line 2: mode not allowed for \"bind\" type mounts",
        ),
        (
            "FROM busybox\nRUN --mount=type=cache,target=/x,nope=1 true\n",
            "dockerfile parse error line 2: unexpected key 'nope' in 'nope=1'",
        ),
        (
            "FROM busybox\nRUN --mount=type=bind,from=nostage,target=/x true\n",
            "dockerfile parse error line 2: invalid from flag value nostage",
        ),
        (
            "FROM busybox\nARG T=foo\nRUN --mount=type=$T,target=/x true\n",
            "dockerfile parse error line 3: unsupported mount type \"foo\"",
        ),
        (
            "FROM busybox\nRUN --mount=type=bind,source=missing,target=/x true\n",
            "line 2: ",
        ),
        (
            "FROM busybox\nRUN --mount=type=secret,id=s,required true\n",
            "secret s: not found",
        ),
    ];
    for (i, (df, want)) in cases.iter().enumerate() {
        let dir = context(&d, &format!("bad{i}"), &[("Dockerfile", df)]);
        for c in Client::BOTH {
            let o = build(&d, c, &dir, &[]);
            o.failure().stderr_contains(want);
        }
    }
    // Nothing half-made was tagged, and the daemon still builds.
    let dir = context(
        &d,
        "good",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN --mount=type=tmpfs,target=/t true\n",
        )],
    );
    build(&d, Client::Berth, &dir, &["-t", "good"]).success();
}

fn tar_names(data: &[u8]) -> Vec<String> {
    let mut ar = tar::Archive::new(data);
    ar.entries()
        .expect("tar entries")
        .map(|e| {
            e.expect("entry")
                .path()
                .expect("path")
                .to_string_lossy()
                .trim_end_matches('/')
                .to_string()
        })
        .collect()
}

#[test]
fn buildx_output_local_and_tar() {
    let d = TestDaemon::start();
    let df = "FROM busybox AS b\nRUN mkdir -p /res/sub && echo built > /res/a.txt && echo deep > /res/sub/b.txt && chmod 640 /res/a.txt\nFROM scratch\nCOPY --from=b /res /\n";
    let dir = context(&d, "out", &[("Dockerfile", df)]);
    let dest = d.dir.join("outdir");
    let spec = format!("type=local,dest={}", dest.display());
    build(&d, Client::Berth, &dir, &["--output", &spec])
        .success()
        .stdout_contains("Successfully built");
    assert_eq!(fs::read_to_string(dest.join("a.txt")).unwrap(), "built\n");
    assert_eq!(
        fs::read_to_string(dest.join("sub/b.txt")).unwrap(),
        "deep\n"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(dest.join("a.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
    assert!(!dest.join(".dockerenv").exists());
    // type=tar to a file.
    let tarf = d.dir.join("out.tar");
    let spec = format!("type=tar,dest={}", tarf.display());
    build(&d, Client::Berth, &dir, &["--output", &spec]).success();
    let names = tar_names(&fs::read(&tarf).unwrap());
    assert!(names.contains(&"a.txt".to_string()), "{names:?}");
    assert!(names.contains(&"sub/b.txt".to_string()), "{names:?}");
    // type=tar,dest=-: the tar on stdout, the progress on stderr.
    let ctx = dir.to_string_lossy().into_owned();
    let o = std::process::Command::new(berth_tests::berth_bin())
        .args(["-H", &d.host(), "build", "-o", "type=tar,dest=-", &ctx])
        .env("BERTH_NO_AUTOSTART", "1")
        .output()
        .expect("build");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Successfully built"));
    assert!(tar_names(&o.stdout).contains(&"sub/b.txt".to_string()));
    // `-o DIR` shorthand, with a --target and an image as well (-t).
    let short = d.dir.join("short");
    let s = short.to_string_lossy().into_owned();
    build(
        &d,
        Client::Berth,
        &dir,
        &["--target", "b", "-t", "outimg", "-o", &s],
    )
    .success();
    assert!(short.join("bin/busybox").exists());
    assert_eq!(
        fs::read_to_string(short.join("res/a.txt")).unwrap(),
        "built\n"
    );
    sh(&d, "outimg", "cat /res/sub/b.txt")
        .success()
        .stdout_is("deep\n");
    // No container is left behind.
    let ps = d.berth(["ps", "-aq"]).run();
    ps.success().stdout_is("");
    // Bad specs fail before anything is sent.
    for (spec, want) in [
        ("type=local", "dest is required for local output"),
        ("type=oci,dest=x", "output type \"oci\" is not supported"),
        ("dest=x", "type is required for output"),
        (
            "type=tar,dest=x,foo=bar",
            "unsupported output attribute \"foo\"",
        ),
    ] {
        let o = build(&d, Client::Berth, &dir, &["--output", spec]);
        o.failure()
            .stderr_contains(want)
            .stdout_lacks("Sending build context");
    }
    build(&d, Client::Berth, &dir, &["--progress=bogus"])
        .failure()
        .stderr_contains("invalid progress mode");
    for p in ["auto", "plain", "tty"] {
        build(&d, Client::Berth, &dir, &["--progress", p])
            .success()
            .stdout_contains("Successfully built");
    }
}

/// A tiny HTTP/1.0 server on 127.0.0.1: `/file.txt` (and `/dir/file.txt`) answer `body`,
/// anything else 404. Returns the base URL.
fn http_server(body: &'static str) -> String {
    use std::io::{BufRead, BufReader, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let mut first = String::new();
            let _ = r.read_line(&mut first);
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
            let resp = if path.ends_with("/file.txt") {
                format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\nLast-Modified: Tue, 15 Nov 1994 08:12:31 GMT\r\n\r\n{body}", body.len())
            } else {
                "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_string()
            };
            let _ = s.write_all(resp.as_bytes());
        }
    });
    format!("http://{addr}")
}

#[test]
fn buildx_add_url_download_checksum_and_cache() {
    let d = TestDaemon::start();
    let base = http_server("downloaded\n");
    // sha256 of "downloaded\n".
    let sum = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(b"downloaded\n"))
    };
    let df = format!(
        "FROM busybox\nADD {base}/file.txt /opt/\nADD --checksum=sha256:{sum} {base}/dir/file.txt /named.txt\n"
    );
    let dir = context(&d, "addurl", &[("Dockerfile", &df)]);
    for c in Client::BOTH {
        let tag = name(c, "addurl");
        build(&d, c, &dir, &["-t", &tag]).success();
        sh(
            &d,
            &tag,
            "cat /opt/file.txt /named.txt; stat -c '%a %Y' /opt/file.txt",
        )
        .success()
        // Mode 0600, and the mtime from Last-Modified (Tue, 15 Nov 1994 08:12:31 GMT).
        .stdout_is("downloaded\ndownloaded\n600 784887151\n");
    }
    // Same content again: both steps are cache hits.
    let o = build(&d, Client::Berth, &dir, &[]);
    o.success();
    assert_eq!(
        o.stdout.matches(" ---> Using cache").count(),
        2,
        "{}",
        o.stdout
    );
    // A wrong checksum and a 404 fail with the line's message.
    let bad = format!(
        "FROM busybox\nADD --checksum=sha256:{} {base}/file.txt /x\n",
        "0".repeat(64)
    );
    let dir = context(&d, "addurl-bad", &[("Dockerfile", &bad)]);
    build(&d, Client::Berth, &dir, &[])
        .failure()
        .stderr_contains(&format!(
            "digest mismatch sha256:{}: sha256:{sum}",
            "0".repeat(64)
        ));
    let missing = format!("FROM busybox\nADD {base}/nope.txt /x\n");
    let dir = context(&d, "addurl-404", &[("Dockerfile", &missing)]);
    build(&d, Client::Berth, &dir, &[])
        .failure()
        .stderr_contains(&format!(
            "failed to GET {base}/nope.txt with status 404 Not Found"
        ));
}

/// A base image missing locally is pulled (as the classic builder does), and `--pull`
/// fetches it again even when a (different) local copy exists; the pull's progress shows in
/// the build output. Registry: a private docker-registry on 127.0.0.1.
#[test]
fn buildx_pull_base_from_local_registry() {
    let d = TestDaemon::start();
    let reg = berth_tests::LocalRegistry::start();
    let base = format!("{}/base:1", reg.host());
    // The registry's base: busybox plus a marker file.
    let mk = context(
        &d,
        "pull-base",
        &[("Dockerfile", "FROM busybox\nRUN echo remote > /marker\n")],
    );
    build(&d, Client::Berth, &mk, &["-t", &base]).success();
    d.run(Client::Berth, &["push", &base]).success();
    let child = context(
        &d,
        "pull-child",
        &[(
            "Dockerfile",
            &format!("FROM {base}\nRUN cat /marker 2>/dev/null > /seen; true\n"),
        )],
    );
    for c in Client::BOTH {
        let tag = name(c, "pulled");
        // Missing locally: pulled.
        d.run(c, &["rmi", &base]).success();
        let o = build(&d, c, &child, &["--no-cache", "-t", &tag]);
        o.success().stdout_contains("Downloaded newer image for");
        sh(&d, &tag, "cat /seen").success().stdout_is("remote\n");
        // A different local copy: used as is without --pull, replaced with --pull.
        d.run(c, &["tag", "busybox", &base]).success();
        build(&d, c, &child, &["--no-cache", "-t", &tag]).success();
        sh(&d, &tag, "cat /seen").success().stdout_is("");
        build(&d, c, &child, &["--pull", "--no-cache", "-t", &tag]).success();
        sh(&d, &tag, "cat /seen").success().stdout_is("remote\n");
    }
    // No registry there: the build fails with the pull's error, and no image is made.
    let gone = context(
        &d,
        "pull-gone",
        &[("Dockerfile", "FROM 127.0.0.1:9/nothing:1\nRUN true\n")],
    );
    build(&d, Client::Berth, &gone, &["-t", "never-made"]).failure();
    d.run(Client::Berth, &["image", "inspect", "never-made"])
        .failure();
}

/// `--cache-from IMAGE` on a daemon that never built it (the image came by `save`/`load`,
/// as a pulled one would): every step the image's history matches is served from its
/// layers; after a source change, the steps from there on run again.
#[test]
fn buildx_cache_from_serves_steps_from_a_loaded_image() {
    let df = "FROM busybox\nCOPY a.txt /a\nRUN echo ran > /r\nENV Z=1\nRUN cat /a > /b\n";
    let origin = TestDaemon::start();
    let dir = context(&origin, "cf", &[("Dockerfile", df), ("a.txt", "one\n")]);
    // COPY keeps a context file's mtime (checked in the image below).
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    fs::File::options()
        .write(true)
        .open(dir.join("a.txt"))
        .and_then(|f| f.set_modified(when))
        .expect("set mtime");
    build(&origin, Client::Berth, &dir, &["-t", "cf-src"]).success();
    let tar = origin.dir.join("cf-src.tar");
    origin
        .berth(["save", "-o"])
        .arg(&tar)
        .arg("cf-src")
        .run()
        .success();
    let diff_ids = |d: &TestDaemon, img: &str| {
        d.berth(["image", "inspect", "-f", "{{json .RootFS.Layers}}", img])
            .run()
            .success()
            .out()
    };
    let want = diff_ids(&origin, "cf-src");
    for c in Client::BOTH {
        let d = TestDaemon::start();
        d.berth(["load", "-i"]).arg(&tar).run().success();
        let dir = context(&d, "cf", &[("Dockerfile", df), ("a.txt", "one\n")]);
        let o = build(&d, c, &dir, &["--cache-from", "cf-src", "-t", "cf-new"]);
        o.success();
        assert_eq!(o.stdout.matches("Using cache").count(), 4, "{}", o.stdout);
        assert!(!o.stdout.contains("Running in"), "{}", o.stdout);
        assert_eq!(diff_ids(&d, "cf-new"), want);
        sh(&d, "cf-new", "cat /r /b; echo $Z; stat -c %Y /a")
            .success()
            .stdout_is("ran\none\n1\n1000000000\n");
        // The first build filled the local cache: a plain rebuild is cached as well.
        let again = build(&d, c, &dir, &["-t", "cf-new"]);
        assert_eq!(
            again.stdout.matches("Using cache").count(),
            4,
            "{}",
            again.stdout
        );
        // A changed source: COPY and what follows run again.
        fs::write(dir.join("a.txt"), "two\n").unwrap();
        let o = build(&d, c, &dir, &["--cache-from", "cf-src", "-t", "cf-changed"]);
        o.success();
        assert_eq!(o.stdout.matches("Using cache").count(), 0, "{}", o.stdout);
        sh(&d, "cf-changed", "cat /b").success().stdout_is("two\n");
        // A cache source that does not exist is ignored, as docker does.
        build(
            &d,
            c,
            &dir,
            &["--cache-from", "no-such-image", "-t", "cf-x"],
        )
        .success();
    }
}
