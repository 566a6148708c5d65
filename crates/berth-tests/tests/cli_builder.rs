//! The build cache (prefix `clibuild_`): `system df`'s Build Cache line, `builder prune`
//! through berth and the docker CLI 28 (which calls `POST /build/prune`): records no tagged
//! image builds on go first, `-a` empties the cache (the next build runs every step
//! again), `--filter until=` and `--keep-storage` hold records back, bad filters fail.

use berth_tests::{Output, TestDaemon};

fn build(d: &TestDaemon, tag: &str, dockerfile: &str) -> Output {
    let out = d
        .berth(["build", "-t", tag, "-"])
        .stdin(dockerfile.to_string())
        .run();
    out.success();
    out
}

const KEEP: &str = "FROM busybox\nRUN echo kept > /kept\nRUN echo more > /more\n";
const GONE: &str = "FROM busybox\nRUN echo gone > /gone\nRUN head -c 300000 /dev/zero > /big\n";

/// The docker CLI's stderr without its notice that buildx is not installed.
fn without_banner(s: &str) -> String {
    match s.find("https://docs.docker.com/go/buildx/\n") {
        Some(i) => s[i + "https://docs.docker.com/go/buildx/\n".len()..]
            .trim_start_matches('\n')
            .to_string(),
        None => s.to_string(),
    }
}

/// The Build Cache row of `system df` as (total, active, size, reclaimable).
fn cache_row(out: &Output) -> Vec<String> {
    let line = out
        .lines()
        .into_iter()
        .find(|l| l.starts_with("Build Cache"))
        .unwrap_or_else(|| panic!("no Build Cache line:\n{}", out.stdout));
    line.trim_start_matches("Build Cache")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// `system df` through both CLIs: the same table.
fn df(d: &TestDaemon) -> Vec<String> {
    let b = d.berth(["system", "df"]).run();
    let k = d.docker(["system", "df"]).run();
    b.success();
    k.success();
    assert_eq!(b.stdout, k.stdout, "system df: berth vs docker");
    cache_row(&b)
}

#[test]
fn clibuild_prune_removes_the_build_cache_and_df_counts_it() {
    let d = TestDaemon::start();
    assert_eq!(df(&d), ["0", "0", "0B", "0B"]);
    build(&d, "keep:1", KEEP);
    build(&d, "gone:1", GONE);
    let row = df(&d);
    assert_eq!(row[0], "4", "two cached steps per build: {row:?}");
    assert_eq!(row[3], "0B", "tagged images build on every step: {row:?}");
    // The tag moves away: gone:1's steps become dangling cache.
    d.berth(["tag", "busybox", "gone:1"]).run().success();
    let row = df(&d);
    assert_eq!(row[0], "4");
    assert_ne!(row[3], "0B", "dangling steps are reclaimable: {row:?}");

    // until: every record is newer than an hour, nothing goes.
    d.docker(["builder", "prune", "-f", "--filter", "until=1h"])
        .run()
        .success()
        .stdout_lacks("Deleted build cache objects")
        .stdout_contains("Total reclaimed space: 0B");
    assert_eq!(df(&d)[0], "4");

    // Without -a: the dangling steps only; keep:1's stay cached. (The untagged final image
    // itself is an image, not cache: `image prune` removes it, as with docker.)
    let out = d.berth(["builder", "prune", "-f"]).run();
    out.success()
        .stdout_contains("Deleted build cache objects:\n")
        .stdout_contains("Total reclaimed space: ")
        .stdout_lacks("Total reclaimed space: 0B");
    let row = df(&d);
    assert_eq!(row, ["2", "0", row[2].as_str(), "0B"]);
    build(&d, "keep:1", KEEP).stdout_contains("Using cache");

    // The docker CLI's report for the same situation, word for word but for the ids.
    build(&d, "gone:2", GONE);
    d.berth(["tag", "busybox", "gone:2"]).run().success();
    let k = d.docker(["builder", "prune", "-f"]).run();
    k.success();
    let shape = |s: &str| -> Vec<String> {
        s.lines()
            .map(|l| {
                if l.len() == 64 && l.bytes().all(|b| b.is_ascii_hexdigit()) {
                    "ID".to_string()
                } else {
                    l.to_string()
                }
            })
            .collect()
    };
    assert_eq!(
        shape(&k.stdout),
        shape(&out.stdout),
        "docker and berth report alike"
    );
    assert_eq!(df(&d)[0], "2");

    // -a: everything; the next build runs every step again.
    d.docker(["builder", "prune", "-a", "-f"])
        .run()
        .success()
        .stdout_contains("Deleted build cache objects:");
    assert_eq!(df(&d), ["0", "0", "0B", "0B"]);
    build(&d, "keep:1", KEEP).stdout_lacks("Using cache");
    assert_eq!(df(&d)[0], "2");
    // buildx prune is the same command.
    d.berth(["buildx", "prune", "-a", "-f"])
        .run()
        .success()
        .stdout_contains("Deleted build cache objects:");
    assert_eq!(df(&d)[0], "0");

    // Bad input, as docker words it, through both CLIs.
    for args in [
        vec!["builder", "prune", "-f", "--filter", "label=x"],
        vec!["builder", "prune", "-f", "--filter", "until=soon"],
        vec!["builder", "prune", "-f", "--keep-storage", "lots"],
        vec!["builder", "prune", "-f", "extra"],
        vec!["builder", "prune", "--colour"],
    ] {
        let b = d.berth(&args).run();
        let k = d.docker(&args).run();
        assert_ne!(b.code, 0, "{args:?}");
        assert_eq!(b.code, k.code, "{args:?}");
        assert_eq!(
            b.stderr.replace("berth", "docker"),
            without_banner(&k.stderr),
            "{args:?}: berth vs docker"
        );
    }
    // Answering no to the prompt prunes nothing.
    build(&d, "keep:1", KEEP);
    let b = d.berth(["builder", "prune"]).stdin("n\n").run();
    let k = d.docker(["builder", "prune"]).stdin("n\n").run();
    assert_eq!((b.code, b.stdout.clone()), (k.code, k.stdout.clone()));
    assert_eq!(b.stderr, without_banner(&k.stderr));
    assert_eq!(df(&d)[0], "2");
}
