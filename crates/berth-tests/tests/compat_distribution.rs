//! `GET /distribution/{name}/json` (prefix `compat_distribution`): the descriptor and
//! platforms of what a registry serves, against private registries on 127.0.0.1 only —
//! compared with a private dockerd through the differential harness — and its users: the
//! docker CLI's and berth's `service create` image pinning (`NAME:TAG@DIGEST`, the
//! platforms as placement), and `compose config --resolve-image-digests` (see
//! compose_keys.rs).

use berth_tests::differential::{Differ, Moby28, Scenario};
use berth_tests::registry::{htpasswd_line, pushed_digest, LocalRegistry};
use berth_tests::{swarm, Client, TestDaemon};

const S: Scenario = Scenario {
    berth_cli: false,
    ..Scenario::DEFAULT
};

/// The registries' contents come from the dockerd (one push, so both daemons see the
/// same digests): `$REG/t/bb:1` (a Docker schema 2 manifest), `$REG/t/list:1` (a
/// manifest list of it, by the docker CLI's `manifest push`), `$AREG/p/bb:1` behind basic
/// auth (user `al`, password `pw`). `$DIG` is bb:1's digest.
#[test]
fn compat_distribution_inspect() {
    let reg = LocalRegistry::start();
    let areg = LocalRegistry::start_htpasswd(&htpasswd_line("al", "pw"));
    let d = Differ::start();
    let o = &d.dockerd;
    let image = format!("{}/t/bb:1", reg.host());
    o.docker(["tag", "busybox", &image]).run().success();
    let pushed = o.docker(["push", &image]).run();
    pushed.success();
    let digest = pushed_digest(&pushed.stdout);
    let list = format!("{}/t/list:1", reg.host());
    o.docker(["manifest", "create", "--insecure", &list, &image])
        .run()
        .success();
    o.docker(["manifest", "push", "--insecure", &list])
        .run()
        .success();
    let private = format!("{}/p/bb:1", areg.host());
    o.docker(["login", "-u", "al", "--password-stdin", &areg.host()])
        .stdin("pw\n")
        .run()
        .success();
    o.docker(["tag", "busybox", &private]).run().success();
    o.docker(["push", &private]).run().success();
    o.docker(["logout", &areg.host()]).run().success();
    // The scripts read these (same values for both daemons).
    std::env::set_var("REG", reg.host());
    std::env::set_var("AREG", areg.host());
    std::env::set_var("DIG", &digest);
    d.check(&[
        Scenario {
            name: "distribution inspect: tags, digests, a list, unknown names",
            run: "for n in \"$REG/t/bb:1\" \"$REG/t/bb\" \"$REG/t/bb:nope\" \"$REG/t/nope:1\" \
                  \"$REG/t/bb@$DIG\" \"$REG/t/bb@sha256:0000000000000000000000000000000000000000000000000000000000000000\" \
                  \"$REG/t/list:1\" \"$REG/t/list\"; do\n\
                    echo \"== $n\"; echo \"== $n\" >&2; api GET \"/v1.41/distribution/$n/json\"\n\
                  done",
            ..S
        },
        Scenario {
            name: "distribution inspect: an image ID, bad references, no registry",
            run: "for n in \"$DIG\" \"${DIG#sha256:}\" 'bad:tag:x' '127.0.0.1:1/t/x:1'; do\n\
                    echo \"== $n\"; echo \"== $n\" >&2; api GET \"/v1.41/distribution/$n/json\"\n\
                  done",
            ..S
        },
        Scenario {
            name: "distribution inspect: an uppercase name",
            run: "api GET /v1.41/distribution/$REG/t/UPPER:1/json",
            moby28: Some(Moby28 {
                stdout: Some(
                    "{\"message\":\"invalid reference format: repository name (t/UPPER) must be lowercase\"}\n",
                ),
                why: "distribution/reference 0.5+ (moby 24+) names the repository in the error",
                ..Moby28::DEFAULT
            }),
            ..S
        },
        Scenario {
            name: "distribution inspect: X-Registry-Auth",
            run: "a() { printf '{\"username\":\"al\",\"password\":\"%s\"}' \"$1\" | base64 -w0 | tr '+/' '-_'; }\n\
                  n=\"$AREG/p/bb:1\"\n\
                  api GET \"/v1.41/distribution/$n/json\"\n\
                  api GET \"/v1.41/distribution/$n/json\" -H \"X-Registry-Auth: $(a pw)\"\n\
                  api GET \"/v1.41/distribution/$n/json\" -H \"X-Registry-Auth: $(a bad)\"\n\
                  api GET \"/v1.41/distribution/$n/json\" -H 'X-Registry-Auth: !!not base64'\n\
                  api GET \"/v1.41/distribution/$AREG/p/nope:1/json\" -H \"X-Registry-Auth: $(a pw)\"",
            ..S
        },
    ]);
}

/// `service create` pins the image to the digest the daemon's distribution endpoint
/// reports (both CLIs against berth), `--no-resolve-image` leaves it alone, and an image
/// no registry serves keeps its name with the docker client's warning.
#[test]
fn compat_distribution_service_pins_the_digest() {
    let reg = LocalRegistry::start();
    let d = TestDaemon::start();
    let image = format!("{}/t/bb:1", reg.host());
    d.run(Client::Berth, &["tag", "busybox", &image]).success();
    let pushed = d.run(Client::Berth, &["push", &image]);
    pushed.success();
    let digest = pushed_digest(&pushed.stdout);
    swarm::init(&d, Client::Berth);
    let spec_image = |name: &str| {
        d.run(
            Client::Docker,
            &[
                "service",
                "inspect",
                "-f",
                "{{.Spec.TaskTemplate.ContainerSpec.Image}} {{json .Spec.TaskTemplate.Placement}}",
                name,
            ],
        )
        .success()
        .stdout
        .trim()
        .to_string()
    };
    let split = |s: String| {
        let (a, b) = s.split_once(' ').unwrap_or((&s, ""));
        (a.to_string(), b.to_string())
    };
    for c in Client::BOTH {
        let name = format!("pin-{}", c.name());
        let out = d.run(
            c,
            &[
                "service", "create", "-d", "--name", &name, &image, "sleep", "1000",
            ],
        );
        out.success();
        assert!(
            !out.stderr.contains("could not be accessed"),
            "{c:?}: {}",
            out.stderr
        );
        let (img, placement) = split(spec_image(&name));
        assert_eq!(img, format!("{image}@{digest}"), "{c:?}");
        // berth pushes an OCI image manifest, for which moby's distribution endpoint
        // reports no platforms (its type switch has no case for one): none are recorded.
        assert!(!placement.contains("Platforms"), "{c:?}: {placement}");
        let name = format!("nores-{}", c.name());
        d.run(
            c,
            &[
                "service",
                "create",
                "-d",
                "--no-resolve-image",
                "--name",
                &name,
                &image,
                "sleep",
                "1000",
            ],
        )
        .success();
        let (img, placement) = split(spec_image(&name));
        assert_eq!(img, image, "{c:?}");
        assert!(!placement.contains("Platforms"), "{c:?}: {placement}");
        // No registry answers: the name stays, with the docker client's warning.
        let name = format!("gone-{}", c.name());
        let out = d.run(
            c,
            &[
                "service",
                "create",
                "-d",
                "--name",
                &name,
                "127.0.0.1:1/t/x:1",
            ],
        );
        out.success();
        assert!(
            out.stderr.contains(
                "image 127.0.0.1:1/t/x:1 could not be accessed on a registry to record\nits digest."
            ),
            "{c:?}: {}",
            out.stderr
        );
        let (img, placement) = split(spec_image(&name));
        assert_eq!(img, "127.0.0.1:1/t/x:1", "{c:?}");
        assert!(!placement.contains("Platforms"), "{c:?}: {placement}");
    }
}
