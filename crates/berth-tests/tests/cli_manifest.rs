//! `manifest inspect|create|annotate|push|rm` (prefix `climan_`): the CLI talks to a local
//! docker-registry on 127.0.0.1 itself, as the docker CLI does. A list is made from two
//! images berth pushed, annotated, inspected and pushed; berth and the docker CLI 28 share
//! the config directory's `manifests/` store, so every step is checked through both CLIs
//! (same stdout, stderr and exit code, program name normalised), the pushed list is read
//! back from the registry through both, and bad input fails with docker's words.

use std::path::Path;

use berth_tests::nettest::ScratchDir;
use berth_tests::registry::pushed_digest;
use berth_tests::{LocalRegistry, Output, TestDaemon};
use sha2::{Digest, Sha256};

/// Runs `args` through berth and through the docker CLI with the same config dir.
fn both(d: &TestDaemon, cfg: &Path, args: &[&str]) -> (Output, Output) {
    let b = d.berth(args).env("DOCKER_CONFIG", cfg).run();
    let k = d.docker(args).env("DOCKER_CONFIG", cfg).run();
    (b, k)
}

fn norm(s: &str) -> String {
    s.replace("berth", "PROG").replace("docker", "PROG")
}

/// Same exit code, stdout and stderr from both CLIs; berth's output.
fn same(d: &TestDaemon, cfg: &Path, args: &[&str]) -> Output {
    let (b, k) = both(d, cfg, args);
    assert_eq!(
        (b.code, norm(&b.stdout), norm(&b.stderr)),
        (k.code, norm(&k.stdout), norm(&k.stderr)),
        "berth vs docker for {args:?}"
    );
    b
}

fn sha256(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

#[test]
fn climan_create_annotate_push_inspect_like_docker() {
    let reg = LocalRegistry::start();
    let d = TestDaemon::start();
    let cfg = ScratchDir::new("climan-cfg");
    let cfg = cfg.path();
    let r = reg.host();
    // Two images in two repositories: busybox, and a build of it with a label.
    let a = format!("{r}/src-a:v1");
    let b = format!("{r}/src-b:v1");
    d.berth(["tag", "busybox:latest", &a]).run().success();
    d.berth(["build", "-q", "-t", &b, "-"])
        .stdin("FROM busybox\nLABEL climan=b\n")
        .run()
        .success();
    let digest_a = pushed_digest(&d.berth(["push", &a]).run().success().stdout);
    let digest_b = pushed_digest(&d.berth(["push", &b]).run().success().stdout);
    assert_ne!(digest_a, digest_b);

    // An image's manifest straight from the registry (http needs --insecure, as docker).
    let one = same(&d, cfg, &["manifest", "inspect", "--insecure", &a]);
    one.success().stdout_contains("\"schemaVersion\": 2");
    same(&d, cfg, &["manifest", "inspect", "--insecure", "-v", &b])
        .success()
        .stdout_contains(&format!("\"digest\": \"{digest_b}\""))
        .stdout_contains("\"architecture\": \"amd64\"");
    same(&d, cfg, &["manifest", "inspect", &a])
        .code(1)
        .stderr_contains(&format!("no such manifest: {a}"));

    // A local list: created by berth, seen by docker's CLI and berth alike.
    let list = format!("{r}/multi:v1");
    d.berth(["manifest", "create", "--insecure", &list, &a, &b])
        .env("DOCKER_CONFIG", cfg)
        .run()
        .success()
        .stdout_is(&format!("Created manifest list {list}\n"));
    assert!(cfg
        .join("manifests")
        .join(list.replace(':', "-").replace('/', "_"))
        .is_dir());
    d.berth([
        "manifest",
        "annotate",
        &list,
        &b,
        "--arch",
        "arm64",
        "--variant",
        "v8",
        "--os-features",
        "f1,f2",
    ])
    .env("DOCKER_CONFIG", cfg)
    .run()
    .success()
    .stdout_is("");
    let local = same(&d, cfg, &["manifest", "inspect", &list]);
    local
        .success()
        .stdout_contains("\"architecture\": \"arm64\"")
        .stdout_contains("\"variant\": \"v8\"")
        .stdout_contains(&format!("\"digest\": \"{digest_a}\""));
    same(&d, cfg, &["manifest", "inspect", "-v", &list]).success();
    same(&d, cfg, &["manifest", "inspect", &list, &b])
        .success()
        .stdout_contains("\"layers\"");

    // Push: the images' manifests into the list's repository, then the list.
    let pushed = d
        .berth(["manifest", "push", &list])
        .env("DOCKER_CONFIG", cfg)
        .run();
    pushed.success();
    let lines = pushed.lines();
    assert_eq!(lines.len(), 3, "{}", pushed.stdout);
    assert_eq!(
        lines[0],
        format!("Pushed ref {r}/multi@{digest_a} with digest: {digest_a}")
    );
    assert_eq!(
        lines[1],
        format!("Pushed ref {r}/multi@{digest_b} with digest: {digest_b}")
    );
    let served = reg.get(
        "/v2/multi/manifests/v1",
        "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json",
    );
    assert_eq!(
        sha256(&served),
        lines[2],
        "the digest printed is the list's"
    );
    // The docker CLI pushes the same list to the same digest.
    let again = d
        .docker(["manifest", "push", &list])
        .env("DOCKER_CONFIG", cfg)
        .run();
    again.success();
    assert_eq!(again.stdout, pushed.stdout);

    // --amend, rm, then the pushed list read back from the registry through both.
    same(&d, cfg, &["manifest", "create", &list, &a])
        .code(1)
        .stderr_contains("refusing to amend an existing manifest list with no --amend flag");
    d.berth(["manifest", "rm", &list])
        .env("DOCKER_CONFIG", cfg)
        .run()
        .success();
    same(&d, cfg, &["manifest", "rm", &list])
        .code(1)
        .stderr_contains(&format!("No such manifest: {list}"));
    let remote = same(&d, cfg, &["manifest", "inspect", "--insecure", &list]);
    remote.success();
    assert_eq!(
        remote.stdout, local.stdout,
        "the registry has the list as built"
    );
    same(&d, cfg, &["manifest", "inspect", "--insecure", "-v", &list])
        .success()
        .stdout_contains(&format!("\"Ref\": \"{list}@{digest_a}\""));

    // --purge removes the local list after the push.
    let list2 = format!("{r}/multi:v2");
    d.berth(["manifest", "create", "--insecure", &list2, &a])
        .env("DOCKER_CONFIG", cfg)
        .run()
        .success();
    d.berth(["manifest", "push", "--purge", &list2])
        .env("DOCKER_CONFIG", cfg)
        .run()
        .success();
    same(&d, cfg, &["manifest", "rm", &list2])
        .code(1)
        .stderr_contains("No such manifest");

    // Bad input, word for word as docker's.
    let list3 = format!("{r}/multi:v3");
    d.berth(["manifest", "create", "--insecure", &list3, &a])
        .env("DOCKER_CONFIG", cfg)
        .run()
        .success();
    for args in [
        vec!["manifest", "annotate", &list3, &b, "--arch", "arm64"],
        vec!["manifest", "annotate", &list3, &a, "--arch", "bogus"],
        vec!["manifest", "annotate", "nolist", &a],
        vec!["manifest", "annotate", &list3],
        vec!["manifest", "annotate", &list3, &a, "--colour"],
        vec!["manifest", "annotate", &list3, &a, "--os"],
        vec!["manifest", "push", "nolist"],
        vec!["manifest", "push"],
        vec!["manifest", "rm"],
        vec!["manifest", "rm", "Bad:Ref", "nolist"],
        vec!["manifest", "create", &list3],
        vec!["manifest", "create", "Bad/X", &a],
        vec!["manifest", "create", "--insecure", "--amend", &list3, "BAD"],
        vec!["manifest", "inspect"],
        vec!["manifest", "inspect", "a", "b", "c"],
        vec![
            "manifest",
            "inspect",
            "--insecure",
            &format!("{r}/nothing:v1"),
        ],
        vec!["manifest", "inspect", &list3, &b],
        vec!["manifest", "inspect", "Bad:Ref"],
        vec!["manifest", "frobnicate"],
    ] {
        let out = same(&d, cfg, &args);
        assert_ne!(out.code, 0, "{args:?} fails");
    }
    // The failed annotations left list3 as it was: it still pushes.
    same(&d, cfg, &["manifest", "push", &list3]).success();
}
