//! create, start, exit, `--rm`, stop/kill, rm, rename — and the failures that must leave
//! nothing behind.

use super::TestEngine;
use crate::container::WaitCondition;
use crate::error::EngineError;
use crate::model::Status;
use berth_runtime::{StartError, StartErrorKind};
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[tokio::test]
async fn create_start_exit() {
    let t = TestEngine::new().await;
    let id = t.create(Some("web"), json!({})).await.expect("create");
    let dir = t.dir(&id);
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).expect("record"))
            .expect("json");
    assert_eq!(stored["name"], "web");
    assert_eq!(stored["state"]["status"], "created");
    assert_eq!(t.record(&id).await.path, "sh");
    let e = t
        .create(Some("web"), json!({}))
        .await
        .expect_err("name taken");
    assert!(matches!(e, EngineError::Conflict(_)), "{e}");

    t.engine.start(&id).await.expect("start");
    let r = t.record(&id).await;
    assert_eq!(r.state.status, Status::Running);
    assert!(r.state.pid >= 1000);
    // The run's pieces: the shim with the container's options, its bundle, its network
    // (the default bridge: the first address), its /etc files from all their sources.
    let spawned = t.runtime.spawned.lock().unwrap().clone();
    assert_eq!(
        (spawned[0].id.as_str(), spawned[0].dir.as_path()),
        (id.as_str(), dir.as_path())
    );
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("bundle/config.json")).expect("spec"))
            .expect("json");
    assert_eq!(spec["process"]["args"], json!(["sh"]));
    let ep = &r.endpoints["bridge"];
    assert_eq!(ep.ip, "10.250.0.2");
    assert!(dir.join("netns").exists());
    assert_eq!(
        std::fs::read_to_string(dir.join("hostname")).expect("hostname"),
        format!("{}\n", &id[..12])
    );
    let hosts = std::fs::read_to_string(dir.join("hosts")).expect("hosts");
    assert!(hosts.starts_with("127.0.0.1\tlocalhost\n"), "{hosts}");
    assert!(
        hosts.ends_with(&format!("10.250.0.2\t{}\n", &id[..12])),
        "{hosts}"
    );
    assert_eq!(
        t.engine
            .start(&id)
            .await
            .expect_err("started twice")
            .status(),
        304
    );

    let waiter = {
        let (e, id) = (t.engine.clone(), id.clone());
        tokio::spawn(async move { e.wait(&id, WaitCondition::NotRunning).await })
    };
    t.runtime.exit(&dir, 3);
    assert_eq!(waiter.await.expect("join").expect("wait"), 3);
    let r = t.until_status(&id, Status::Exited).await;
    assert_eq!(r.state.exit_code, 3);
    assert!(r.endpoints["bridge"].ip.is_empty(), "endpoint cleared");
    t.nothing_left(&id);
    let actions = t.actions(&id);
    assert_eq!(actions, ["create", "start", "die"], "{actions:?}");
    // The address went back to the pool: the next container gets it.
    let other = t.run(None, json!({})).await;
    assert_eq!(t.record(&other).await.endpoints["bridge"].ip, "10.250.0.2");
}

#[tokio::test]
async fn a_start_the_runtime_refuses_is_structured_and_undone() {
    let t = TestEngine::new().await;
    let id = t
        .create(None, json!({"Cmd": ["sh", "-c", "x"]}))
        .await
        .expect("create");
    let attach = t
        .engine
        .attach(&id, false, true, true)
        .await
        .expect("early attach");
    // A spawn that fails: the early attach learns of it.
    *t.runtime.fail_spawn.lock().unwrap() = Some(StartError::classify("fork: out of memory"));
    let e = t.engine.start(&id).await.expect_err("spawn fails");
    assert!(matches!(e, EngineError::Start(_)), "{e:?}");
    assert_eq!(e.status(), 400);
    let r = t.record(&id).await;
    assert_eq!((r.state.status, r.state.exit_code), (Status::Created, 128));
    assert_eq!(r.state.error, "fork: out of memory");
    t.nothing_left(&id);
    match attach.stream {
        crate::container::AttachStream::OnStart(rx) => {
            assert!(rx.await.expect("answer").is_err());
        }
        crate::container::AttachStream::Ready(_) => panic!("attach before start"),
    }
    // A start the runtime refuses: its kind and exit code, not its text, decide.
    *t.runtime.fail_start.lock().unwrap() = Some(StartError::new(
        StartErrorKind::PermissionDenied,
        "exec: \"sh\": cannot run it",
    ));
    let e = t.engine.start(&id).await.expect_err("start refused");
    assert_eq!(e.to_string(), "exec: \"sh\": cannot run it");
    assert_eq!(t.record(&id).await.state.exit_code, 126);
    t.nothing_left(&id);
    // Then it starts, with the address the failures gave back.
    t.engine.start(&id).await.expect("start");
    assert_eq!(t.record(&id).await.endpoints["bridge"].ip, "10.250.0.2");
}

#[tokio::test]
async fn a_command_missing_from_the_image_is_127_before_any_shim() {
    let t = TestEngine::new().await;
    let id = t
        .create(None, json!({"Cmd": ["nope"]}))
        .await
        .expect("create");
    let e = t.engine.start(&id).await.expect_err("no such command");
    assert_eq!(
        e.to_string(),
        "exec: \"nope\": executable file not found in $PATH"
    );
    assert_eq!(t.record(&id).await.state.exit_code, 127);
    assert!(t.runtime.calls_like("spawn").is_empty());
    t.nothing_left(&id);
}

#[tokio::test]
async fn a_rootfs_that_cannot_be_mounted_fails_the_start() {
    let t = TestEngine::new().await;
    let id = t.create(None, json!({})).await.expect("create");
    t.mounter.fail_mount.store(true, Ordering::Relaxed);
    let e = t.engine.start(&id).await.expect_err("mount fails");
    assert!(
        e.to_string().starts_with("cannot mount container rootfs"),
        "{e}"
    );
    t.nothing_left(&id);
    assert!(t.runtime.calls_like("spawn").is_empty());
}

#[tokio::test]
async fn rm_flag_removes_the_container_and_its_anonymous_volumes_when_it_exits() {
    let t = TestEngine::new().await;
    let id = t
        .run(
            None,
            json!({"Volumes": {"/data": {}}, "HostConfig": {"AutoRemove": true}}),
        )
        .await;
    let r = t.record(&id).await;
    let vol = r.mount_points[0].name.clone();
    // The image's files were copied into the new volume at create.
    let seed = t.engine.volumes.data_path(&vol).join("seed");
    assert_eq!(
        std::fs::read_to_string(seed).expect("copied up"),
        "from the image\n"
    );
    let removed = {
        let (e, id) = (t.engine.clone(), id.clone());
        tokio::spawn(async move { e.wait(&id, WaitCondition::Removed).await })
    };
    t.runtime.exit(&t.dir(&id), 0);
    removed.await.expect("join").expect("removed");
    assert!(matches!(t.engine.get(&id), Err(EngineError::NotFound(_))));
    assert!(!t.dir(&id).exists());
    assert!(t.engine.volumes.get(&vol).is_err(), "anonymous volume left");
    assert_eq!(t.actions(&id), ["create", "start", "die", "destroy"]);
}

#[tokio::test(start_paused = true)]
async fn stop_signals_then_kills() {
    let t = TestEngine::new().await;
    let id = t.run(None, json!({})).await;
    t.engine.stop(&id, None, None).await.expect("stop");
    let r = t.until_status(&id, Status::Exited).await;
    assert_eq!(r.state.exit_code, 143);
    assert!(r.state.stopped_by_user);
    assert_eq!(t.runtime.calls_like("kill"), ["kill 15"]);
    assert_eq!(
        t.engine
            .stop(&id, None, None)
            .await
            .expect_err("stopped")
            .status(),
        304
    );

    // A process that ignores SIGTERM is killed after the timeout.
    t.engine.start(&id).await.expect("start again");
    t.runtime.ignore_sigterm.store(true, Ordering::Relaxed);
    let t0 = tokio::time::Instant::now();
    t.engine.stop(&id, Some(2), None).await.expect("stop");
    assert!(t0.elapsed() >= Duration::from_secs(2));
    assert_eq!(t.record(&id).await.state.exit_code, 137);
    assert_eq!(
        t.runtime.calls_like("kill"),
        ["kill 15", "kill 15", "kill 9"]
    );
    t.nothing_left(&id);
}

#[tokio::test]
async fn kill_checks_its_signal_and_the_state() {
    let t = TestEngine::new().await;
    let id = t.create(None, json!({})).await.expect("create");
    let e = t
        .engine
        .kill(&id, Some("BOGUS"))
        .await
        .expect_err("bad signal");
    assert_eq!(e.to_string(), "Invalid signal: BOGUS");
    let e = t.engine.kill(&id, None).await.expect_err("not running");
    assert!(matches!(e, EngineError::Conflict(_)), "{e}");
    t.engine.start(&id).await.expect("start");
    t.engine.kill(&id, Some("SIGUSR1")).await.expect("USR1");
    assert!(t.runtime.running(&t.dir(&id)), "USR1 does not end it");
    t.engine.kill(&id, None).await.expect("kill");
    let r = t.until_status(&id, Status::Exited).await;
    assert_eq!(r.state.exit_code, 137);
    assert_eq!(t.runtime.calls_like("kill"), ["kill 10", "kill 9"]);
}

#[tokio::test]
async fn kill_of_a_container_whose_exit_is_not_yet_recorded_succeeds() {
    // The race behind a flaky `kill` under userns-remap: the process has exited (its shim
    // answers "not running" or is gone) but the monitor, waiting for the record lock the
    // kill holds, has not yet recorded it. moby's killWithSignal treats that as a kill that
    // stands, not a 500.
    let t = TestEngine::new().await;
    let id = t.run(None, json!({})).await;
    t.runtime.exits_before_signal.store(true, Ordering::Relaxed);
    t.engine
        .kill(&id, None)
        .await
        .expect("kill of an exiting container");
    let r = t.until_status(&id, Status::Exited).await;
    assert_eq!(r.state.exit_code, 0);
    assert_eq!(t.runtime.calls_like("kill"), ["kill 9"]);
    assert_eq!(t.actions(&id), ["create", "start", "kill", "die"]);
}

#[tokio::test]
async fn rm_refuses_a_running_container_unless_forced() {
    let t = TestEngine::new().await;
    let id = t.run(Some("busy"), json!({})).await;
    let e = t.engine.remove(&id, false).await.expect_err("running");
    assert_eq!(
        e.to_string(),
        "cannot remove container \"/busy\": container is running: stop the container before removing or force remove"
    );
    t.engine.remove(&id, true).await.expect("rm -f");
    assert_eq!(t.runtime.calls_like("kill"), ["kill 9"]);
    assert!(!t.runtime.calls_like("forget").is_empty());
    assert!(!t.dir(&id).exists());
    assert!(t.engine.get("busy").is_err());
    t.nothing_left(&id);
    // The name is free again.
    t.create(Some("busy"), json!({}))
        .await
        .expect("name reused");
}

#[tokio::test]
async fn rename_moves_the_name() {
    let t = TestEngine::new().await;
    // Names that are not hex: no id prefix can match them.
    let a = t.create(Some("xa1"), json!({})).await.expect("xa1");
    t.create(Some("xb1"), json!({})).await.expect("xb1");
    let e = t.engine.rename("xa1", "xb1").await.expect_err("taken");
    assert!(e.to_string().contains("is already in use"), "{e}");
    let e = t.engine.rename("xa1", "xa1").await.expect_err("same");
    assert!(matches!(e, EngineError::InvalidParameter(_)));
    let e = t
        .engine
        .rename("xa1", "bad name")
        .await
        .expect_err("invalid");
    // moby wraps reserveName's error: "Error when allocating new name: Invalid container
    // name (/bad name), ...".
    assert!(
        e.to_string()
            .starts_with("Error when allocating new name: Invalid container name (/bad name)"),
        "{e}"
    );
    t.engine.rename("xa1", "xc1").await.expect("rename");
    assert_eq!(t.engine.get("xc1").expect("new name").id, a);
    assert!(t.engine.get("xa1").is_err());
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(t.dir(&a).join("config.json")).expect("record"))
            .expect("json");
    assert_eq!(stored["name"], "xc1");
    assert!(t.actions(&a).contains(&"rename".to_string()));
}

#[tokio::test]
async fn a_failed_create_leaves_no_record_and_no_volume() {
    let t = TestEngine::new().await;
    // The anonymous volume is made, then the named one's options are refused.
    let e = t
        .create(
            Some("broken"),
            json!({"HostConfig": {"Mounts": [
                {"Type": "volume", "Target": "/a"},
                {"Type": "volume", "Source": "vv", "Target": "/b",
                 "VolumeOptions": {"DriverConfig": {"Options": {"foo": "1"}}}}
            ]}}),
        )
        .await
        .expect_err("bad volume option");
    assert_eq!(e.to_string(), "create vv: invalid option: \"foo\"");
    assert!(t.engine.get("broken").is_err());
    assert!(t.engine.all().is_empty());
    assert!(t.engine.volumes.list().is_empty(), "volumes left");
    let left: Vec<_> = std::fs::read_dir(t.root.path().join("containers"))
        .expect("containers")
        .collect();
    assert!(left.is_empty(), "container directories left");
    // Checks before anything is made: Docker's messages.
    let e = t
        .create(
            None,
            json!({"HostConfig": {"AutoRemove": true, "RestartPolicy": {"Name": "always"}}}),
        )
        .await
        .expect_err("rm and restart");
    assert_eq!(
        e.to_string(),
        "can't create 'AutoRemove' container with restart policy"
    );
}
