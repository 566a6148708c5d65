//! What berth writes, a real dockerd reads: `berth save` output loads into Debian's dockerd
//! (a private instance, `berth_tests::Dockerd`: own data root, exec root, socket, bridge) with
//! the same image id and tags. And what a dockerd keeps of an image, berth keeps too: its
//! `Metadata.LastTagTime`.

use berth_tests::{Client, Dockerd, Output, TestDaemon};

#[test]
fn berth_save_loads_into_a_real_dockerd_with_the_same_id() {
    let d = TestDaemon::start();
    d.run(
        Client::Berth,
        &["tag", "busybox", "example.org/team/tool:1.2"],
    )
    .success();
    let id = d
        .run(
            Client::Berth,
            &["image", "inspect", "-f", "{{.Id}}", "busybox"],
        )
        .success()
        .out();
    let tar = d.dir.join("saved.tar");
    let tar_s = tar.to_string_lossy().to_string();
    d.run(
        Client::Berth,
        &[
            "save",
            "-o",
            &tar_s,
            "busybox:latest",
            "example.org/team/tool:1.2",
        ],
    )
    .success();

    let oracle = Dockerd::start_empty();
    oracle.run(&["load", "-i", &tar_s]).success();
    for tag in ["busybox:latest", "example.org/team/tool:1.2"] {
        let out = oracle.run(&["image", "inspect", "-f", "{{.Id}}", tag]);
        assert_eq!(out.success().out(), id.trim(), "{tag}");
    }
}

/// An image's `Metadata.LastTagTime`, through the docker CLI of `run`.
fn last_tag_time(run: &dyn Fn(&[&str]) -> Output, image: &str) -> String {
    run(&[
        "image",
        "inspect",
        "-f",
        "{{json .Metadata.LastTagTime}}",
        image,
    ])
    .success()
    .out()
    .trim_matches('"')
    .to_string()
}

/// `Metadata.LastTagTime` as dockerd keeps it: Go's zero time for a loaded image and for a
/// commit without a reference, the time of the tag after `tag` and `commit REPO:TAG`, kept
/// when the same image is loaded again. (docker compose's `images` prints its age.)
#[test]
fn last_tag_time_follows_tagging_as_dockerd_keeps_it() {
    let d = TestDaemon::start();
    let oracle = Dockerd::start();
    let zero = "0001-01-01T00:00:00Z";
    // A time of this century, not Go's zero time.
    let recent = |t: &str| t[..4.min(t.len())].parse::<u32>().is_ok_and(|y| y >= 2024);
    let berth = |args: &[&str]| d.run(Client::Docker, args);
    let dockerd = |args: &[&str]| oracle.run(args);
    for (engine, run) in [
        ("berth", &berth as &dyn Fn(&[&str]) -> Output),
        ("dockerd", &dockerd),
    ] {
        assert_eq!(last_tag_time(run, "busybox"), zero, "{engine}: loaded");
        run(&["create", "--name", "ltt", "busybox", "true"]).success();
        let untagged = run(&["commit", "ltt"]).success().out();
        assert_eq!(
            last_tag_time(run, &untagged),
            zero,
            "{engine}: commit without a reference"
        );
        run(&["commit", "ltt", "ltt/committed:1"]).success();
        let t = last_tag_time(run, "ltt/committed:1");
        assert!(recent(&t), "{engine}: commit REPO:TAG stamps {t:?}");
        run(&["tag", "busybox", "ltt/tagged:1"]).success();
        let tagged = last_tag_time(run, "busybox");
        assert!(recent(&tagged), "{engine}: tag stamps {tagged:?}");
        // Loading the same image again keeps the stamp.
        let tar = std::env::temp_dir().join(format!("ltt-{}-{engine}.tar", std::process::id()));
        let tar_s = tar.to_string_lossy().to_string();
        run(&["save", "-o", &tar_s, "busybox"]).success();
        run(&["load", "-i", &tar_s]).success();
        let _ = std::fs::remove_file(&tar);
        assert_eq!(
            last_tag_time(run, "busybox"),
            tagged,
            "{engine}: a second load keeps it"
        );
    }
}
