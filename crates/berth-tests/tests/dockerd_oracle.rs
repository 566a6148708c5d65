//! What berth writes, a real dockerd reads: `berth save` output loads into Debian's dockerd
//! (a private instance, `berth_tests::Dockerd`: own data root, exec root, socket, bridge) with
//! the same image id and tags.

use berth_tests::{Client, Dockerd, TestDaemon};

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
