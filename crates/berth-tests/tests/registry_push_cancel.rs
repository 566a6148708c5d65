//! A push whose client goes away stops, as moby's does (its push follows the request
//! context): `docker push` of an image with three big layers to a local registry, the
//! client killed once the first blob upload has started. Then the registry's access log
//! gets no manifest and soon no request at all, the tag is not in the registry, fewer
//! blobs than the image has were stored, and the daemon answers and pushes the image in
//! full afterwards. Before, berth's push went on to the end without its client.
//!
//! Safety: the registry listens on 127.0.0.1 only; the client killed is this test's own
//! child, by its PID.

use berth_tests::nettest::watched_daemon;
use berth_tests::registry::LocalRegistry;
use berth_tests::NetGuard;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Completed blob uploads (the final PUT answered 201) in an access log.
fn blobs_stored(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("\"PUT /v2/pc/big/blobs/uploads/") && l.contains("\" 201 "))
        .count()
}

#[test]
fn registry_push_cancel_when_the_client_goes_away() {
    let reg = LocalRegistry::start();
    let mut g = NetGuard::new("bt-pc1");
    let d = watched_daemon(&mut g);
    let image = format!("{}/pc/big:1", reg.host());
    let dir = d.dir().join("pcbig");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM busybox\nRUN head -c 64000000 /dev/urandom > /a\nRUN head -c 64000000 /dev/urandom > /b\nRUN head -c 64000000 /dev/urandom > /c\n",
    )
    .expect("Dockerfile");
    let b = d
        .docker([
            "build",
            "-q",
            "-t",
            &image,
            dir.to_str().expect("utf-8 path"),
        ])
        .run();
    assert_eq!(b.code, 0, "build: {}", b.stderr);

    let mut client = Command::new("docker")
        .args(["push", &image])
        .env("DOCKER_HOST", d.host())
        .env("DOCKER_CONFIG", d.dir().join("docker-config"))
        .env_remove("DOCKER_CONTEXT")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("docker push");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !reg
        .access_log()
        .contains("\"POST /v2/pc/big/blobs/uploads/")
    {
        assert!(Instant::now() < deadline, "no upload started");
        std::thread::sleep(Duration::from_millis(20));
    }
    client.kill().expect("kill the client");
    let _ = client.wait();

    // The uploads under way fail at their next read; nothing new starts.
    std::thread::sleep(Duration::from_secs(3));
    let settled = reg.access_log();
    std::thread::sleep(Duration::from_secs(3));
    let later = reg.access_log();
    assert_eq!(
        settled.len(),
        later.len(),
        "the registry still gets requests 3 s after the client went away:\n{}",
        &later[settled.len()..]
    );
    assert!(
        !later.contains("/v2/pc/big/manifests/"),
        "a manifest was pushed without its client:\n{later}"
    );
    // busybox's layer, three big ones and the config: five blobs in a whole push.
    assert!(
        blobs_stored(&later) < 5,
        "every blob was stored without the client:\n{later}"
    );
    let tags = Command::new("curl")
        .args(["-s", &format!("http://{}/v2/pc/big/tags/list", reg.host())])
        .output()
        .expect("curl");
    assert!(
        !String::from_utf8_lossy(&tags.stdout).contains("\"1\""),
        "the tag reached the registry: {}",
        String::from_utf8_lossy(&tags.stdout)
    );

    // The daemon is fine: it answers, and the same push now goes through.
    d.docker(["version"]).run().success();
    let p = d.docker(["push", &image]).run();
    assert_eq!(p.code, 0, "push after the cancelled one: {}", p.stderr);
    assert!(
        reg.access_log().contains("\"PUT /v2/pc/big/manifests/1 "),
        "{}",
        reg.access_log()
    );
}
