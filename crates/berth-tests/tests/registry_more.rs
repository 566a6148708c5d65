//! Registries, part 2 (issue 6): a push sends plain stored layers gzip-compressed under a
//! digest that stays the same from push to push, mounts blobs across repositories of one
//! registry, and the digests show in `images --digests` and RepoDigests.

use berth_tests::registry::pushed_digest;
use berth_tests::{busybox_image_id, free_port, LocalRegistry, TestDaemon};
use sha2::{Digest, Sha256};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn sha(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

fn gzip_cache(d: &TestDaemon) -> Vec<String> {
    std::fs::read_dir(d.data_root.join("content/gzip"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn registry_push_gzips_plain_layers_stable_digest_and_mounts() {
    let reg = LocalRegistry::start();
    let d = TestDaemon::start();
    let a = format!("{}/team/busybox", reg.host());
    d.berth(["tag", "busybox:latest", &format!("{a}:v1")])
        .run()
        .success();
    let out = d.berth(["push", &format!("{a}:v1")]).run();
    out.success().stdout_contains(": Pushed");
    let digest = pushed_digest(&out.stdout);

    // The registry got a gzip layer whose bytes match the digest the manifest names.
    let m = reg.manifest("team/busybox", "v1");
    let layer = &m["layers"][0];
    assert_eq!(
        layer["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip",
        "{m}"
    );
    let ldigest = layer["digest"].as_str().expect("digest").to_string();
    let blob = reg.get(
        &format!("/v2/team/busybox/blobs/{ldigest}"),
        "application/octet-stream",
    );
    assert_eq!(&blob[..2], &[0x1f, 0x8b], "not gzip");
    assert_eq!(sha(&blob), ldigest);
    assert_eq!(layer["size"].as_u64(), Some(blob.len() as u64));
    assert_eq!(
        m["config"]["digest"].as_str(),
        Some(busybox_image_id().as_str())
    );

    // The same digest on the next push to a fresh registry (the gzip copy is cached).
    let reg2 = LocalRegistry::start();
    let b = format!("{}/team/busybox:v1", reg2.host());
    d.berth(["tag", "busybox:latest", &b]).run().success();
    let out = d.docker(["push", &b]).run();
    out.success().stdout_contains(": Pushed");
    assert_eq!(pushed_digest(&out.stdout), digest);
    assert_eq!(
        reg2.manifest("team/busybox", "v1")["layers"][0]["digest"].as_str(),
        Some(ldigest.as_str())
    );

    // Another repository of the first registry: the layer is mounted, not uploaded.
    let other = format!("{}/other/bb:v2", reg.host());
    d.berth(["tag", "busybox:latest", &other]).run().success();
    d.berth(["push", &other])
        .run()
        .success()
        .stdout_contains(": Mounted from team/busybox")
        .stdout_lacks(": Pushed");
    assert_eq!(
        reg.manifest("other/bb", "v2")["layers"][0]["digest"].as_str(),
        Some(ldigest.as_str())
    );

    // images --digests and RepoDigests, berth and docker CLI alike.
    for out in [
        d.berth(["images", "--digests", &a]).run(),
        d.docker(["images", "--digests", &a]).run(),
    ] {
        out.success().stdout_contains("DIGEST");
        let row = out
            .lines()
            .into_iter()
            .find(|l| l.starts_with(&a) && l.contains(" v1 "))
            .unwrap_or_else(|| panic!("no row for {a}:v1:\n{}", out.stdout));
        assert!(row.contains(&digest), "{row}");
    }
    let rd = d
        .docker([
            "image",
            "inspect",
            "--format",
            "{{json .RepoDigests}}",
            "busybox",
        ])
        .run();
    rd.success()
        .stdout_contains(&format!("{a}@{digest}"))
        .stdout_contains(&format!("{}/team/busybox@{digest}", reg2.host()));

    // Pulled back into an empty daemon: the same image, and its RepoDigests name the digest.
    let p = TestDaemon::start_empty();
    p.docker(["pull", &other]).run().success();
    p.berth(["pull", &format!("{a}@{digest}")]).run().success();
    assert_eq!(
        p.berth(["image", "inspect", "--format", "{{.Id}}", &other])
            .run()
            .success()
            .out()
            .trim(),
        busybox_image_id()
    );
    p.berth([
        "image",
        "inspect",
        "--format",
        "{{json .RepoDigests}}",
        &other,
    ])
    .run()
    .success()
    .stdout_contains(&format!("{a}@{digest}"));
    p.berth(["run", "--rm", &other, "echo", "ok"])
        .run()
        .success()
        .stdout_is("ok\n");

    // The gzip copy goes with the last image holding the layer.
    assert_eq!(gzip_cache(&d).len(), 1, "{:?}", gzip_cache(&d));
    // By id with -f: every tag goes, and the image with them.
    d.berth(["rmi", "-f", &busybox_image_id()]).run().success();
    assert!(d
        .berth(["images", "-q"])
        .run()
        .success()
        .out()
        .trim()
        .is_empty());
    assert!(gzip_cache(&d).is_empty(), "{:?}", gzip_cache(&d));
    let hex = ldigest.trim_start_matches("sha256:");
    assert!(!d.data_root.join("content/blobs/sha256").join(hex).exists());
}

/// A berth daemon of our own, started with a daemon.json (the harness's daemons take none),
/// Docker Hub pointed at a closed port as in the harness. Killed by PID on drop, its mounts
/// undone.
struct OwnDaemon {
    child: Child,
    dir: PathBuf,
}

impl OwnDaemon {
    fn start(daemon_json: &str) -> OwnDaemon {
        let dir =
            std::env::temp_dir().join(format!("berth-own-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(dir.join("data")).expect("mkdir");
        // No default bridge: a harness-less daemon would otherwise make the shared berth0.
        let mut cfg: serde_json::Value = serde_json::from_str(daemon_json).expect("json");
        cfg["bridge"] = "none".into();
        std::fs::write(dir.join("daemon.json"), cfg.to_string()).expect("daemon.json");
        let child = Command::new(berth_tests::berth_bin())
            .arg("daemon")
            .arg("--config-file")
            .arg(dir.join("daemon.json"))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("-H")
            .arg(format!("unix://{}", dir.join("s.sock").display()))
            .env("BERTH_NO_AUTOSTART", "1")
            .env("BERTH_HUB_HOST", "127.0.0.1:9")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("log")).expect("log"))
            .spawn()
            .expect("spawn berth daemon");
        let d = OwnDaemon { child, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while d.cli("berth", &["version"]).status.code() != Some(0) {
            assert!(Instant::now() < deadline, "own daemon did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    fn cli(&self, client: &str, args: &[&str]) -> std::process::Output {
        let host = format!("unix://{}", self.dir.join("s.sock").display());
        let mut c = if client == "berth" {
            let mut c = Command::new(berth_tests::berth_bin());
            c.env("BERTH_NO_AUTOSTART", "1").arg("-H").arg(&host);
            c
        } else {
            let mut c = Command::new("docker");
            c.env("DOCKER_CONFIG", self.dir.join("docker-config"))
                .arg("-H")
                .arg(&host);
            c
        };
        c.args(args).stdin(Stdio::null()).output().expect("cli")
    }
}

impl Drop for OwnDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A killed daemon leaves its data root's shared bind (and anything below) mounted.
        berth_tests::unmount_under(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn registry_mirror_serves_docker_hub_pulls() {
    let mirror = LocalRegistry::start();
    let d = TestDaemon::start();
    let seeded = format!("{}/library/busybox:latest", mirror.host());
    d.berth(["tag", "busybox", &seeded]).run().success();
    d.berth(["push", &seeded]).run().success();
    // Without a mirror, Docker Hub (a closed port here) is all there is.
    let e = TestDaemon::start_empty();
    e.berth(["pull", "busybox"])
        .run()
        .code(1)
        .stderr_contains("connection refused");

    // A dead mirror first: the next one serves.
    let down = free_port();
    let own = OwnDaemon::start(&format!(
        r#"{{"registry-mirrors": ["http://127.0.0.1:{down}", "http://{}"]}}"#,
        mirror.host()
    ));
    for client in ["berth", "docker"] {
        let out = own.cli(client, &["pull", "busybox"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{client}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("latest: Pulling from library/busybox")
                && stdout.contains("docker.io/library/busybox:latest"),
            "{stdout}"
        );
        let id = own.cli(
            "berth",
            &["image", "inspect", "--format", "{{.Id}}", "busybox"],
        );
        assert_eq!(
            String::from_utf8_lossy(&id.stdout).trim(),
            busybox_image_id()
        );
        let rd = own.cli(
            "berth",
            &[
                "image",
                "inspect",
                "--format",
                "{{json .RepoDigests}}",
                "busybox",
            ],
        );
        assert!(
            String::from_utf8_lossy(&rd.stdout).contains("\"busybox@sha256:"),
            "{}",
            String::from_utf8_lossy(&rd.stdout)
        );
        let rm = own.cli("berth", &["rmi", "busybox"]);
        assert!(rm.status.success());
    }
}

/// A registry that serves one image and closes the connection halfway through its layer.
fn dropping_registry() -> (u16, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    use std::io::{BufRead, BufReader, Write};
    let mut b = tar::Builder::new(Vec::new());
    let data = vec![b'x'; 300_000];
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "file", &data[..]).expect("tar");
    let layer = b.into_inner().expect("tar");
    let ld = sha(&layer);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["{ld}"]}}}}"#
    );
    let cd = sha(config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{ld}","size":{}}}]}}"#,
        config.len(),
        layer.len()
    );
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    l.set_nonblocking(true).expect("nonblocking");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    std::thread::spawn(move || {
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            let Ok((mut s, _)) = l.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            let _ = s.set_nonblocking(false);
            // The client tries https first: a TLS hello has no line end to wait for.
            let _ = s.set_read_timeout(Some(Duration::from_millis(300)));
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let mut first = String::new();
            if r.read_line(&mut first).is_err() || !first.contains(" HTTP/1.") {
                continue;
            }
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
            }
            let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
            let (body, cut): (&[u8], bool) = if path == "/v2/" {
                (b"{}", false)
            } else if path.ends_with("/manifests/latest") {
                (manifest.as_bytes(), false)
            } else if path.ends_with(&cd) {
                (config.as_bytes(), false)
            } else if path.ends_with(&ld) {
                (&layer, true)
            } else {
                let _ = write!(
                    s,
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                continue;
            };
            let ct = if path.contains("/manifests/") {
                "application/vnd.oci.image.manifest.v1+json"
            } else {
                "application/octet-stream"
            };
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let n = if cut { body.len() / 2 } else { body.len() };
            if !first.starts_with("HEAD") {
                let _ = s.write_all(&body[..n]);
            }
            let _ = s.flush();
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    });
    (port, stop)
}

#[test]
fn registry_dropped_connection_is_unexpected_eof() {
    let (port, stop) = dropping_registry();
    let d = TestDaemon::start_empty();
    let name = format!("127.0.0.1:{port}/drop:latest");
    d.berth(["pull", &name])
        .run()
        .code(1)
        .stderr_contains("unexpected EOF");
    d.docker(["pull", &name])
        .run()
        .code(1)
        .stderr_contains("unexpected EOF");
    assert!(d
        .berth(["images", "-q"])
        .run()
        .success()
        .out()
        .trim()
        .is_empty());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
}
