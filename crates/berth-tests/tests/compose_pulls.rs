//! Pulls as docker compose 2.40 does them (prefix `compose_pulls_`), against a private
//! registry on 127.0.0.1:
//! - `pull`, `up` and `create` pull every missing image at once; when one fails, the
//!   others are cancelled (a pull not yet answered says ` svc  Interrupted`, one already
//!   streaming stops silently), the exit code is 1 and the error is the failed pull's;
//!   with `--ignore-pull-failures` the others complete. berth compose and docker compose
//!   run against the same berth daemon, their lines compared as sets where compose's order
//!   is not fixed.
//! - The daemon's pull messages carry what compose renders, as dockerd's do (`Pulling from`
//!   without progress details, a sized `Downloading` bar, the last `Extracting` bar):
//!   compared message kind by kind with a private dockerd pulling the same image, and
//!   `docker compose pull` against each daemon.
//! - A pull right after a push of the same image finds the layers the push sent
//!   (`Already exists`), as moby's v2 metadata does: the registry's access log shows no
//!   GET of those blobs; the CLI's output compared with dockerd's.
//!
//! Safety: the only registry is the harness's docker-registry on 127.0.0.1
//! ([`berth_tests::registry::LocalRegistry`]); every project network gets a bridge named by
//! the test (removed by the guard); the dockerd is the harness's private one.

use berth_tests::compose::{bridged_project, project_left, run_compose, write_project, TOOLS};
use berth_tests::dockerd::Dockerd;
use berth_tests::nettest::watched_daemon;
use berth_tests::registry::LocalRegistry;
use berth_tests::{NetGuard, TestDaemon};

/// compose 2.40's deprecation warning about COMPOSE_BAKE (not compared).
fn bake_warning(l: &str) -> bool {
    l.contains("COMPOSE_BAKE=false is deprecated")
}

/// A 12-hex-digit word (a layer's short id) made `LAYER`.
fn mask_layer(w: &str) -> String {
    let hex = w.trim_end_matches(':');
    if hex.len() == 12 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        w.replace(hex, "LAYER")
    } else {
        w.to_string()
    }
}

/// A partial `Extracting` bar (`... 32.77kB/3.001MB`): dockerd's come and go with timing
/// (berth unpacks while it downloads and shows only the whole one).
fn partial_extracting(l: &str) -> bool {
    l.contains(" Extracting [")
        && l.rsplit(' ')
            .next()
            .and_then(|w| w.split_once('/'))
            .is_some_and(|(a, b)| a != b)
}

/// The lines, with `proj` masked, layer ids masked, a `Downloading` line cut after its
/// word (how many there are and their sizes depend on timing), partial `Extracting` bars
/// left out, sorted and deduplicated.
fn line_set(s: &str, proj: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .replace(proj, "PROJ")
        .lines()
        .filter(|l| !bake_warning(l) && !partial_extracting(l))
        .map(|l| {
            let l = l.split(' ').map(mask_layer).collect::<Vec<_>>().join(" ");
            match l.find(" Downloading ") {
                Some(i) => l[..i + " Downloading".len()].to_string(),
                None => l,
            }
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Whether the daemon has an image named `name`.
fn has_image(d: &TestDaemon, name: &str) -> bool {
    d.docker(["image", "inspect", "-f", "{{.Id}}", name])
        .run()
        .code
        == 0
}

/// Builds `tag` on `d` from busybox with a layer of `bytes` random bytes (gzip cannot
/// shrink it, so its pull takes a while) and pushes it.
fn push_random(d: &TestDaemon, name: &str, tag: &str, bytes: u64) {
    let dir = write_project(
        d,
        name,
        &[(
            "Dockerfile",
            &format!("FROM busybox\nRUN head -c {bytes} /dev/urandom > /blob\n"),
        )],
    );
    let b = d
        .docker(["build", "-q", "-t", tag, dir.to_str().expect("utf-8 path")])
        .run();
    assert_eq!(b.code, 0, "build {tag}: {}", b.stderr);
    d.docker(["push", tag]).run().success();
}

/// a's image is big (its pull is still streaming when b's fails), b's is not in the
/// registry, c's is small. `pull` fails with b's error and never completes a's; `pull
/// --ignore-pull-failures` completes a's and c's, c's first (the pulls run at once); `up
/// -d` and `create` fail before creating anything, with the same error. Both tools alike.
#[test]
fn compose_pulls_parallel_and_interrupted() {
    let reg = LocalRegistry::start();
    let mut g = NetGuard::new("bt-pp1");
    let d = watched_daemon(&mut g);
    let big = format!("{}/pp/big:1", reg.host());
    let small = format!("{}/pp/small:1", reg.host());
    let missing = format!("{}/pp/missing:1", reg.host());
    push_random(&d, "ppbig", &big, 100_000_000);
    d.docker(["tag", "busybox", &small]).run().success();
    d.docker(["push", &small]).run().success();
    let drop_all = || {
        for i in [&big, &small] {
            d.docker(["rmi", i]).run();
        }
        assert!(!has_image(&d, &big) && !has_image(&d, &small));
    };
    let error = format!(
        "Error response from daemon: manifest for {missing} not found: manifest unknown: manifest unknown"
    );
    let b_error =
        format!(" b Error manifest for {missing} not found: manifest unknown: manifest unknown");
    let mut seen = Vec::new();
    for tool in TOOLS {
        let proj = tool.project("pp");
        let dir = bridged_project(
            &d,
            &mut g,
            &proj,
            &format!(
                "  a:\n    image: {big}\n  b:\n    image: {missing}\n  c:\n    image: {small}\n"
            ),
        );
        let mut got = Vec::new();

        // Every pull completes; the small one first.
        drop_all();
        let o = run_compose(&d, tool, &dir, &["pull", "--ignore-pull-failures"]);
        assert_eq!(o.code, 0, "{tool:?}: {}", o.stderr);
        assert!(has_image(&d, &big) && has_image(&d, &small), "{tool:?}");
        let lines: Vec<&str> = o.stderr.lines().collect();
        let at = |l: &str| lines.iter().position(|x| *x == l);
        assert!(
            at(" c Pulled ").expect("c Pulled") < at(" a Pulled ").expect("a Pulled"),
            "{tool:?}: the pulls ran one after the other:\n{}",
            o.stderr
        );
        assert!(lines.contains(&b_error.as_str()), "{tool:?}: {}", o.stderr);
        got.push(format!(
            "pull --ignore-pull-failures: {:?} {:#?}",
            o.stdout,
            line_set(&o.stderr, &proj)
        ));

        // b's failure cancels a's pull, which is streaming: no "a Pulled", no image.
        for args in [&["pull"][..], &["up", "-d"], &["create"]] {
            drop_all();
            let o = run_compose(&d, tool, &dir, args);
            assert_eq!(o.code, 1, "{tool:?} {args:?}: {}", o.stderr);
            let lines: Vec<&str> = o.stderr.lines().filter(|l| !bake_warning(l)).collect();
            assert_eq!(lines.last(), Some(&error.as_str()), "{tool:?} {args:?}");
            assert!(
                lines.contains(&b_error.as_str()),
                "{tool:?} {args:?}: {}",
                o.stderr
            );
            assert!(
                !lines.contains(&" a Pulled "),
                "{tool:?} {args:?}: {}",
                o.stderr
            );
            // Each service's own lines: ` svc Pulling ` first; then its layers, `Pulled`,
            // or compose's ` svc  Interrupted` when the request was cancelled before the
            // daemon answered (which one c gets depends on timing, in both tools).
            for l in &lines[..lines.len() - 1] {
                let ok = [" a ", " b ", " c "].iter().any(|s| {
                    l.starts_with(&format!("{s}Pulling"))
                        || l.starts_with(&format!("{s} Interrupted"))
                }) || *l == b_error
                    || *l == " c Pulled "
                    || l.starts_with(" 1 Pulling from pp/")
                    || l.split(' ')
                        .nth(1)
                        .is_some_and(|w| w.len() == 12 && w.chars().all(|c| c.is_ascii_hexdigit()));
                assert!(ok, "{tool:?} {args:?}: unexpected line {l:?}\n{}", o.stderr);
            }
            assert!(o.stdout.is_empty(), "{tool:?} {args:?}: {}", o.stdout);
            // Nothing created: the images come first.
            assert!(
                project_left(&d, &proj).is_empty(),
                "{tool:?} {args:?}: {}",
                project_left(&d, &proj)
            );
            got.push(format!(
                "{args:?}: {} b lines {:?}",
                o.code,
                lines
                    .iter()
                    .filter(|l| l.starts_with(" b "))
                    .collect::<Vec<_>>()
            ));
        }
        // A cancelled pull does not go on in the daemon: a's image never arrives.
        std::thread::sleep(std::time::Duration::from_secs(3));
        assert!(
            !has_image(&d, &big),
            "{tool:?}: the cancelled pull completed in the daemon"
        );
        seen.push(got);
    }
    for (b, c) in seen[0].iter().zip(&seen[1]) {
        assert_eq!(b, c, "berth (left) and docker compose (right)\n{seen:#?}");
    }
}

/// The kinds (or lines) without moby's transient layer statuses. dockerd's transfer
/// manager hands its watchers only the latest progress of a layer, so a `Downloading`,
/// `Verifying Checksum` or `Download complete` followed at once by the next status may
/// never reach the stream; berth sends each every time. What is left must be equal, and
/// dockerd's transient ones a subset of berth's.
fn stable(v: &[String]) -> Vec<String> {
    v.iter()
        .filter(|k| {
            !["Downloading", "Verifying Checksum", "Download complete"]
                .iter()
                .any(|t| k.contains(&format!(" {t}")))
        })
        .cloned()
        .collect()
}

/// The JSON messages of `POST /images/create` for `image` on the daemon at `host`.
fn pull_messages(host: &str, image: &str) -> Vec<serde_json::Value> {
    let (name, tag) = image.rsplit_once(':').expect("tagged image");
    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "-X",
            "POST",
            "--unix-socket",
            host.trim_start_matches("unix://"),
        ])
        .arg(format!(
            "http://d/v1.41/images/create?fromImage={name}&tag={tag}"
        ))
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json message"))
        .collect()
}

/// Each message kind of a pull stream: status (layer ids masked), whether it has
/// `progressDetail`, and its progress text for the last `Extracting` (the whole blob,
/// exact) or just "bar" for a sized `Downloading`.
fn message_kinds(msgs: &[serde_json::Value]) -> Vec<String> {
    let mut v: Vec<String> = msgs
        .iter()
        .filter_map(|m| {
            let status = m["status"].as_str()?;
            if status.starts_with("Digest: ") || status.starts_with("Status: ") {
                return Some(status.split(' ').next().unwrap_or("").to_string());
            }
            let detail = m.get("progressDetail").is_some();
            let progress = m["progress"].as_str().unwrap_or("");
            let (cur, total) = (
                m["progressDetail"]["current"].as_u64(),
                m["progressDetail"]["total"].as_u64(),
            );
            let shown = match status {
                "Downloading" => "bar".to_string(),
                // Only the bar of the whole blob: the partial ones depend on timing.
                "Extracting" if cur.is_some() && cur == total => progress.to_string(),
                "Extracting" => return None,
                _ => progress.to_string(),
            };
            Some(format!(
                "{} {status} detail={detail} {shown:?}",
                m["id"].as_str().map(mask_layer).unwrap_or_default()
            ))
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The same image (busybox and a 3 MB random layer) pulled by berth's daemon and by
/// dockerd: the same message kinds, and `docker compose pull` renders the same lines
/// against both (berth compose against berth too).
#[test]
fn compose_pulls_progress_as_dockerd() {
    let reg = LocalRegistry::start();
    let mut g = NetGuard::new("bt-pp2");
    let d = watched_daemon(&mut g);
    let dd = Dockerd::start();
    let image = format!("{}/pp/mid:1", reg.host());
    push_random(&d, "ppmid", &image, 3_000_000);
    d.docker(["rmi", &image]).run().success();
    // berth's daemon pushed the busybox layer, so it finds it (`Already exists`); dockerd
    // has the same layer from the same tar but never saw that blob digest, so it downloads
    // it. Those lines are left out: the rest is what is compared.
    let berth = pull_messages(&d.host(), &image);
    let docker = pull_messages(&dd.host(), &image);
    let found: Vec<String> = berth
        .iter()
        .filter(|m| m["status"] == "Already exists")
        .filter_map(|m| m["id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "berth finds the busybox layer it pushed: {berth:#?}"
    );
    let kinds = |msgs: &[serde_json::Value]| -> Vec<String> {
        let rest: Vec<serde_json::Value> = msgs
            .iter()
            .filter(|m| {
                m["id"]
                    .as_str()
                    .is_none_or(|id| !found.iter().any(|f| f == id))
            })
            .cloned()
            .collect();
        message_kinds(&rest)
    };
    let (b, o) = (kinds(&berth), kinds(&docker));
    assert_eq!(
        stable(&b),
        stable(&o),
        "berth (left) and dockerd (right)\n{docker:#?}"
    );
    assert!(
        o.iter().all(|k| b.contains(k)),
        "dockerd sent what berth did not: {o:#?}\nberth: {b:#?}"
    );
    assert!(
        kinds(&berth)
            .iter()
            .any(|k| k.starts_with("LAYER Downloading detail=true")),
        "{berth:#?}"
    );
    // docker compose renders them the same on both daemons, and berth compose as it.
    let proj = "pprog";
    let dir = bridged_project(&d, &mut g, proj, &format!("  m:\n    image: {image}\n"));
    assert_eq!(dd.docker(["rmi", &image]).run().code, 0);
    d.docker(["rmi", &image]).run().success();
    let compose_on = |host: &str| {
        let o = berth_tests::compose::Tool::DockerCompose
            .command(host, &dir)
            .env("DOCKER_CONFIG", dd.docker_config())
            .args(["--progress", "plain", "pull"])
            .output()
            .expect("docker compose");
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(o.status.success(), "{host}: {err}");
        err
    };
    let without_exists = |s: &str| -> Vec<String> {
        line_set(s, proj)
            .into_iter()
            .filter(|l| !l.contains("Already exists"))
            .collect()
    };
    let on_dockerd = without_exists(&compose_on(&dd.host()));
    let on_berth = without_exists(&compose_on(&d.host()));
    d.docker(["rmi", &image]).run().success();
    let b = run_compose(
        &d,
        berth_tests::compose::Tool::Berth,
        &dir,
        &["--progress", "plain", "pull"],
    );
    assert_eq!(b.code, 0, "{}", b.stderr);
    let by_berth = without_exists(&b.stderr);
    assert_eq!(
        stable(&on_dockerd),
        stable(&on_berth),
        "compose→dockerd (left), compose→berth (right)"
    );
    assert!(
        on_dockerd.iter().all(|l| on_berth.contains(l)),
        "compose→dockerd showed what compose→berth did not: {on_dockerd:#?}\n{on_berth:#?}"
    );
    assert_eq!(
        on_berth, by_berth,
        "compose→berth (left), berth compose (right)"
    );
    assert!(
        on_dockerd
            .iter()
            .any(|l| l.contains(" Extracting [") && l.contains("==>]")),
        "{on_dockerd:#?}"
    );
    assert!(
        on_dockerd.iter().any(|l| l == " LAYER Downloading"),
        "{on_dockerd:#?}"
    );
    assert!(
        !on_dockerd.iter().any(|l| l.contains("Pulling from")),
        "{on_dockerd:#?}"
    );
}

/// An image built locally (its layers stored uncompressed), pushed, removed and pulled
/// again: the busybox layer the push sent is `Already exists` and its blob is not fetched;
/// the removed layer is downloaded. The pull's output as dockerd's for the same steps.
#[test]
fn compose_pulls_after_push_already_exists() {
    let reg = LocalRegistry::start();
    let mut g = NetGuard::new("bt-pp3");
    let d = watched_daemon(&mut g);
    let dd = Dockerd::start();
    let dir = write_project(
        &d,
        "pppush",
        &[("Dockerfile", "FROM busybox\nRUN echo one > /one\n")],
    );
    let mut outs = Vec::new();
    for who in ["berth", "dockerd"] {
        let image = format!("{}/pp/{who}:1", reg.host());
        let run = |args: &[&str]| match who {
            "berth" => d.docker(args.iter().copied()).run(),
            _ => dd.docker(args.iter().copied()).run(),
        };
        let b = run(&["build", "-q", "-t", &image, dir.to_str().expect("utf-8")]);
        assert_eq!(b.code, 0, "{who}: {}", b.stderr);
        assert_eq!(run(&["push", &image]).code, 0, "{who}");
        let manifest: serde_json::Value = serde_json::from_slice(&reg.get(
            &format!("/v2/pp/{who}/manifests/1"),
            "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
        ))
        .expect("manifest json");
        let base_blob = manifest["layers"][0]["digest"]
            .as_str()
            .expect("layer digest")
            .to_string();
        let top_blob = manifest["layers"][1]["digest"]
            .as_str()
            .expect("layer digest")
            .to_string();
        assert_eq!(run(&["rmi", &image]).code, 0, "{who}");
        let before = reg.access_log().len();
        let p = run(&["pull", &image]);
        assert_eq!(p.code, 0, "{who}: {}", p.stderr);
        let log = reg.access_log()[before..].to_string();
        assert!(
            !log.contains(&format!("GET /v2/pp/{who}/blobs/{base_blob}")),
            "{who}: the pushed layer was fetched again:\n{log}"
        );
        assert!(
            log.contains(&format!("GET /v2/pp/{who}/blobs/{top_blob}")),
            "{who}: the removed layer was not fetched:\n{log}"
        );
        let masked: Vec<String> = p
            .stdout
            .lines()
            .map(|l| {
                l.replace(who, "WHO")
                    .split(' ')
                    .map(mask_layer)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|l| !l.starts_with("Digest: "))
            .collect();
        outs.push(masked);
    }
    // dockerd may drop a transient status (see `stable`): seen once, `Verifying Checksum`.
    assert_eq!(
        stable(&outs[0]),
        stable(&outs[1]),
        "berth (left) and dockerd (right)"
    );
    for l in &outs[1] {
        assert!(
            outs[0].contains(l),
            "dockerd's {l:?} is not in berth's {:#?}",
            outs[0]
        );
    }
    assert!(
        outs[0].iter().any(|l| l == "LAYER: Already exists"),
        "{:#?}",
        outs[0]
    );
}
