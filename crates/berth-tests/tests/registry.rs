//! Registries (issue 6): push to and pull from Debian's docker-registry on 127.0.0.1, with
//! the berth CLI and the real docker CLI against berth; htpasswd basic auth; failures from a
//! tiny fake registry (a layer whose digest lies, a connection dropped mid-layer).

use berth_tests::registry::{htpasswd_line, pushed_digest};
use berth_tests::{busybox_image_id, free_port, LocalRegistry, TestDaemon};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn image_id(d: &TestDaemon, name: &str) -> String {
    d.berth(["image", "inspect", "--format", "{{.Id}}", name])
        .run()
        .success()
        .out()
        .trim()
        .to_string()
}

#[test]
fn registry_push_then_pull_with_berth_and_docker() {
    let reg = LocalRegistry::start();
    let d = TestDaemon::start();
    let name = format!("{}/test/busybox", reg.host());
    d.berth(["tag", "busybox:latest", &format!("{name}:v1")])
        .run()
        .success();
    let out = d.berth(["push", &format!("{name}:v1")]).run();
    out.success()
        .stdout_contains(&format!("The push refers to repository [{name}]"))
        .stdout_contains(": Pushed");
    let digest = pushed_digest(&out.stdout);
    // The registry has every blob now: a second push only checks.
    d.berth(["push", &format!("{name}:v1")])
        .run()
        .success()
        .stdout_contains(": Layer already exists")
        .stdout_contains(&format!("v1: digest: {digest}"));

    let want_id = busybox_image_id();
    // berth pulls it back into an empty daemon.
    let p = TestDaemon::start_empty();
    let out = p.berth(["pull", &format!("{name}:v1")]).run();
    out.success()
        .stdout_contains("v1: Pulling from test/busybox")
        .stdout_contains(": Pull complete")
        .stdout_contains(&format!("Digest: {digest}"))
        .stdout_contains(&format!("Status: Downloaded newer image for {name}:v1"));
    assert_eq!(
        out.lines().last().map(String::as_str),
        Some(format!("{name}:v1").as_str())
    );
    assert_eq!(image_id(&p, &format!("{name}:v1")), want_id);
    p.berth([
        "image",
        "inspect",
        "--format",
        "{{json .RepoDigests}}",
        &format!("{name}:v1"),
    ])
    .run()
    .success()
    .stdout_contains(&format!("{name}@{digest}"));
    p.berth(["run", "--rm", &format!("{name}:v1"), "echo", "pulled"])
        .run()
        .success()
        .stdout_is("pulled\n");
    // Again: nothing to download.
    p.berth(["pull", "-q", &format!("{name}:v1")])
        .run()
        .success()
        .stdout_is(&format!("{name}:v1\n"));
    p.berth(["pull", &format!("{name}:v1")])
        .run()
        .success()
        .stdout_contains(&format!("Status: Image is up to date for {name}:v1"));
    // By digest.
    p.berth(["pull", &format!("{name}@{digest}")])
        .run()
        .success();

    // The docker CLI against berth: same id, same digest.
    let q = TestDaemon::start_empty();
    q.docker(["pull", &format!("{name}:v1")])
        .run()
        .success()
        .stdout_contains(&format!("Digest: {digest}"));
    assert_eq!(image_id(&q, &format!("{name}:v1")), want_id);
    // docker push through berth to a second repository, then run/create --pull.
    q.docker([
        "tag",
        &format!("{name}:v1"),
        &format!("{}/other:v2", reg.host()),
    ])
    .run()
    .success();
    q.docker(["push", &format!("{}/other:v2", reg.host())])
        .run()
        .success()
        .stdout_contains("v2: digest: sha256:");
    let r = TestDaemon::start_empty();
    r.berth([
        "run",
        "--rm",
        "--pull",
        "never",
        &format!("{}/other:v2", reg.host()),
        "true",
    ])
    .run()
    .failure()
    .stderr_contains("No such image");
    r.berth([
        "run",
        "--rm",
        &format!("{}/other:v2", reg.host()),
        "echo",
        "auto",
    ])
    .run()
    .success()
    .stdout_is("auto\n")
    .stderr_contains("Unable to find image");
    r.docker([
        "run",
        "--rm",
        "--pull",
        "always",
        &format!("{}/other:v2", reg.host()),
        "echo",
        "always",
    ])
    .run()
    .success()
    .stdout_is("always\n");
    r.berth(["run", "--rm", "--pull", "sometimes", "busybox", "true"])
        .run()
        .code(125)
        .stderr_contains("invalid pull option: 'sometimes'");
}

#[test]
fn registry_pull_errors_unknown_tag_down_registry_missing_local_image() {
    let reg = LocalRegistry::start();
    let d = TestDaemon::start();
    for client in ["berth", "docker"] {
        let cmd = |args: &[&str]| {
            if client == "berth" {
                d.berth(args)
            } else {
                d.docker(args)
            }
        };
        cmd(&["pull", &format!("{}/nope:latest", reg.host())])
            .run()
            .code(1)
            .stderr_contains(&format!(
                "manifest for {}/nope:latest not found: manifest unknown",
                reg.host()
            ));
        let down = free_port();
        cmd(&["pull", &format!("127.0.0.1:{down}/x:latest")])
            .run()
            .code(1)
            .stderr_contains("connection refused");
        cmd(&["push", &format!("{}/notlocal:latest", reg.host())])
            .run()
            .code(1)
            .stderr_contains(&format!(
                "An image does not exist locally with the tag: {}/notlocal",
                reg.host()
            ));
    }
    // Nothing half-pulled stays behind.
    assert_eq!(
        d.berth(["images", "-q"]).run().success().lines().len(),
        1,
        "only busybox"
    );
}

#[test]
fn registry_basic_auth_login_push_pull() {
    let reg = LocalRegistry::start_htpasswd(&htpasswd_line("alice", "s3cret"));
    let d = TestDaemon::start();
    let cfg = d.dir().join("berth-docker-config");
    let berth = |args: &[&str]| d.berth(args).env("DOCKER_CONFIG", &cfg);
    let name = format!("{}/private/busybox:latest", reg.host());
    berth(&["tag", "busybox", &name]).run().success();
    // A 401 without credentials: distribution's wording, as moby prints it (not the
    // "requested access to the resource is denied" of a 403).
    berth(&["push", &name])
        .run()
        .code(1)
        .stderr_contains("no basic auth credentials");
    d.docker(["push", &name])
        .run()
        .code(1)
        .stderr_contains("no basic auth credentials");
    let wrong = format!(
        "login attempt to http://{}/v2/ failed with status: 401 Unauthorized",
        reg.host()
    );
    berth(&["login", "-u", "alice", "-p", "nope", &reg.host()])
        .run()
        .code(1)
        .stderr_contains(&wrong);
    d.docker(["login", "-u", "alice", "--password-stdin", &reg.host()])
        .stdin("nope\n")
        .run()
        .code(1)
        .stderr_contains(&wrong);
    assert!(
        !cfg.join("config.json").exists()
            || !std::fs::read_to_string(cfg.join("config.json"))
                .unwrap_or_default()
                .contains(&reg.host())
    );
    berth(&["login", "-u", "alice", "--password-stdin", &reg.host()])
        .stdin("s3cret\n")
        .run()
        .success()
        .stdout_contains("Login Succeeded");
    let stored = std::fs::read_to_string(cfg.join("config.json")).expect("config.json");
    assert!(stored.contains(&reg.host()), "{stored}");
    berth(&["push", &name])
        .run()
        .success()
        .stdout_contains(": Pushed");
    berth(&["rmi", &name]).run().success();
    berth(&["pull", &name]).run().success();
    assert_eq!(image_id(&d, &name), busybox_image_id());
    berth(&["logout", &reg.host()])
        .run()
        .success()
        .stdout_contains(&format!("Removing login credentials for {}", reg.host()));
    berth(&["rmi", &name]).run().success();
    berth(&["pull", &name]).run().code(1);
}

/// A fake registry: `/v2/` answers 200; `lie` serves a layer whose bytes do not match the
/// digest its manifest names; `drop` closes the connection halfway through the layer.
fn fake_registry() -> (
    u16,
    std::thread::JoinHandle<()>,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    let mut layer = tar::Builder::new(Vec::new());
    let data = vec![b'x'; 200_000];
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    layer.append_data(&mut h, "file", &data[..]).expect("tar");
    let layer = layer.into_inner().expect("tar");
    let sha = |b: &[u8]| format!("sha256:{}", hex::encode(Sha256::digest(b)));
    let real = sha(&layer);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["{real}"]}}}}"#
    );
    // A well-formed tar, just not the one the digests name.
    let lie_blob = {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "other", &data[..]).expect("tar");
        b.into_inner().expect("tar")
    };
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{real}","size":{}}}]}}"#,
        sha(config.as_bytes()),
        config.len(),
        layer.len()
    );
    // The same layer as zstd and as gzip blobs, each with its own manifest (repos zstd, gzip).
    let zstd_blob = zstd::encode_all(&layer[..], 3).expect("zstd");
    let gzip_blob = {
        use std::io::Write as _;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&layer).expect("gzip");
        e.finish().expect("gzip")
    };
    let compressed_manifest = |mt: &str, blob: &[u8]| {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"{mt}","digest":"{}","size":{}}}]}}"#,
            sha(config.as_bytes()),
            config.len(),
            sha(blob),
            blob.len()
        )
    };
    let zstd_manifest =
        compressed_manifest("application/vnd.oci.image.layer.v1.tar+zstd", &zstd_blob);
    let gzip_manifest =
        compressed_manifest("application/vnd.oci.image.layer.v1.tar+gzip", &gzip_blob);
    let (zstd_digest, gzip_digest) = (sha(&zstd_blob), sha(&gzip_blob));
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    l.set_nonblocking(true).expect("nonblocking");
    let handle = std::thread::spawn(move || {
        let config_digest = sha(config.as_bytes());
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            let (mut s, _) = match l.accept() {
                Ok(x) => x,
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            };
            let _ = s.set_nonblocking(false);
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let mut first = String::new();
            if r.read_line(&mut first).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
            }
            let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
            let head = first.starts_with("HEAD");
            let send = |s: &mut TcpStream, ct: &str, body: &[u8], cut: bool| {
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                if !head {
                    let n = if cut { body.len() / 2 } else { body.len() };
                    let _ = s.write_all(&body[..n]);
                }
            };
            let mt = "application/vnd.oci.image.manifest.v1+json";
            if path == "/v2/" {
                send(&mut s, "application/json", b"{}", false);
            } else if path == "/v2/zstd/manifests/latest" {
                send(&mut s, mt, zstd_manifest.as_bytes(), false);
            } else if path == "/v2/gzip/manifests/latest" {
                send(&mut s, mt, gzip_manifest.as_bytes(), false);
            } else if path == format!("/v2/zstd/blobs/{zstd_digest}") {
                send(&mut s, "application/octet-stream", &zstd_blob, false);
            } else if path == format!("/v2/gzip/blobs/{gzip_digest}") {
                send(&mut s, "application/octet-stream", &gzip_blob, false);
            } else if path.ends_with("/manifests/latest") {
                send(&mut s, mt, manifest.as_bytes(), false);
            } else if path.ends_with(&format!("/blobs/{config_digest}")) {
                send(&mut s, "application/octet-stream", config.as_bytes(), false);
            } else if path.starts_with("/v2/lie/blobs/") {
                send(&mut s, "application/octet-stream", &lie_blob, false);
            } else if path.starts_with("/v2/drop/blobs/") {
                send(&mut s, "application/octet-stream", &layer, true);
            } else {
                let _ = write!(
                    s,
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
            let _ = s.flush();
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    });
    (port, handle, stop)
}

fn layer_dirs(data_root: &Path) -> Vec<String> {
    std::fs::read_dir(data_root.join("layers"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n != "init")
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn registry_rejects_lying_digest_and_dropped_connection() {
    let (port, handle, stop) = fake_registry();
    let d = TestDaemon::start_empty();
    let before = layer_dirs(&d.data_root);
    d.berth(["pull", &format!("127.0.0.1:{port}/lie:latest")])
        .run()
        .code(1)
        .stderr_contains("filesystem layer verification failed for digest sha256:");
    // A truncated body never verifies: the pull fails (the stream's error, printed as is).
    let out = d
        .docker(["pull", &format!("127.0.0.1:{port}/drop:latest")])
        .run();
    out.code(1);
    assert!(
        out.stderr
            .contains("verification failed for digest sha256:")
            || out.stderr.contains("EOF"),
        "{}",
        out.stderr
    );
    // Nothing was trusted: no image, no new layer, no stray blob.
    assert!(d
        .berth(["images", "-q"])
        .run()
        .success()
        .stdout
        .trim()
        .is_empty());
    assert_eq!(layer_dirs(&d.data_root), before);
    let blobs: Vec<String> = std::fs::read_dir(d.data_root.join("content/blobs/sha256"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    assert!(blobs.iter().all(|b| !b.contains(".tmp")), "{blobs:?}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = handle.join();
}

/// On a terminal, pull prints one line per layer and redraws it in place (cursor up, clear
/// line), as docker's jsonmessage does; both CLIs against berth.
#[test]
fn registry_pull_on_a_terminal_redraws_layer_lines() {
    use berth_tests::Client;
    let reg = LocalRegistry::start();
    let d = TestDaemon::start();
    let name = format!("{}/tty/busybox:v1", reg.host());
    d.berth(["tag", "busybox:latest", &name]).run().success();
    d.berth(["push", &name]).run().success();
    for c in Client::BOTH {
        let p = TestDaemon::start_empty();
        let line = p.shell_line(c, &["pull", &name]);
        let out = Command::new("timeout")
            .args(["60", "script", "-qec", &line, "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .expect("run script");
        let out = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.contains(": Pull complete"), "{c:?}: {out:?}");
        // A layer line is rewritten in place: cursor up, clear line, text, back down.
        assert!(out.contains("\x1b[1A\x1b[2K\r"), "{c:?}: {out:?}");
        assert!(out.contains("\x1b[1B"), "{c:?}: {out:?}");
        assert!(
            out.contains(&format!("Status: Downloaded newer image for {name}")),
            "{c:?}: {out:?}"
        );
        // Without a terminal the same pull prints plain lines, no escape sequences.
        p.berth(["rmi", &name]).run().success();
        let plain = p.run(c, &["pull", &name]).success().out();
        assert!(!plain.contains('\x1b'), "{c:?}: {plain:?}");
        assert!(plain.contains(": Pull complete"), "{c:?}: {plain:?}");
    }
}

/// `credsStore` in config.json: login hands the secret to `docker-credential-NAME store`
/// (config.json keeps no password), push asks it with `get`, logout `erase`s it.
#[test]
fn registry_credential_helper_stores_and_serves_the_login() {
    use std::os::unix::fs::PermissionsExt;
    let reg = LocalRegistry::start_htpasswd(&htpasswd_line("carol", "h3lper"));
    let d = TestDaemon::start();
    let cfg = d.dir().join("helper-docker-config");
    let bin = d.dir().join("helper-bin");
    std::fs::create_dir_all(&cfg).expect("mkdir");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let store = d.dir().join("helper-store.json");
    let helper = bin.join("docker-credential-berthtest");
    std::fs::write(
        &helper,
        "#!/bin/sh\nf=\"$BERTH_TEST_CRED_FILE\"\ncase \"$1\" in\n\
         store) cat > \"$f\" ;;\n\
         get) read -r url; if [ -s \"$f\" ]; then cat \"$f\"; else echo 'credentials not found in native keychain'; exit 1; fi ;;\n\
         erase) read -r url; rm -f \"$f\" ;;\n\
         list) echo '{}' ;;\nesac\n",
    )
    .expect("write helper");
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::write(cfg.join("config.json"), r#"{"credsStore":"berthtest"}"#).expect("config");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let berth = |args: &[&str]| {
        d.berth(args)
            .env("DOCKER_CONFIG", &cfg)
            .env("PATH", &path)
            .env("BERTH_TEST_CRED_FILE", &store)
    };
    let name = format!("{}/helper/busybox:latest", reg.host());
    berth(&["tag", "busybox", &name]).run().success();
    // Before login the registry's basic-auth 401 reads as docker push prints it.
    berth(&["push", &name])
        .run()
        .code(1)
        .stderr_contains("no basic auth credentials");
    berth(&["login", "-u", "carol", "--password-stdin", &reg.host()])
        .stdin("h3lper\n")
        .run()
        .success()
        .stdout_contains("Login Succeeded");
    let kept = std::fs::read_to_string(&store).expect("the helper stored the login");
    assert!(kept.contains("carol") && kept.contains("h3lper"), "{kept}");
    let config = std::fs::read_to_string(cfg.join("config.json")).expect("config.json");
    assert!(!config.contains("h3lper"), "{config}");
    berth(&["push", &name])
        .run()
        .success()
        .stdout_contains(": Pushed");
    berth(&["logout", &reg.host()]).run().success();
    assert!(!store.exists(), "logout erased the helper's entry");
    berth(&["pull", &name]).run().code(1);
}

/// A zstd and a gzip blob of one layer both pull, decompress and verify into the same
/// unpacked layer (one diff id) and the same image.
#[test]
fn registry_pulls_zstd_and_gzip_layers_into_one_layer() {
    let (port, handle, stop) = fake_registry();
    let d = TestDaemon::start_empty();
    for repo in ["zstd", "gzip"] {
        let name = format!("127.0.0.1:{port}/{repo}:latest");
        d.berth(["pull", &name])
            .run()
            .success()
            .stdout_contains(": Pull complete");
        d.berth([
            "image",
            "inspect",
            "--format",
            "{{json .RootFS.Layers}}",
            &name,
        ])
        .run()
        .success()
        .stdout_contains("sha256:");
    }
    // Both name one image: same config, same diff id, whatever the compression.
    let ids = d
        .berth(["images", "-q", "--no-trunc"])
        .run()
        .success()
        .out();
    let mut ids: Vec<&str> = ids.lines().collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let layers = layer_dirs(&d.data_root);
    assert_eq!(layers.len(), 1, "{layers:?}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = handle.join();
}
