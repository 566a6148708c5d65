//! Daemon restart reconciliation: a new engine over the same data root finds a container
//! whose shim still runs (monitored again, its address, ports and resolver taken back) and
//! one whose process ended meanwhile (marked exited with the recorded code, its run torn
//! down, restarted by its policy). Each daemon is a runtime of its own, dropped to stop it.

use super::TestEngine;
use crate::model::Status;
use crate::network::api::CreateRequest;
use serde_json::json;

#[test]
fn a_restarted_daemon_reconnects_and_reconciles() {
    let first = super::runtime();
    let (t, live, dead) = first.block_on(async {
        let t = TestEngine::new().await;
        t.engine
            .network_create(CreateRequest {
                name: "n1".into(),
                subnet: Some("10.251.0.0/24".into()),
                ..Default::default()
            })
            .await
            .expect("network");
        let live = t
            .run(
                Some("live"),
                json!({"HostConfig": {"NetworkMode": "n1",
                       "PortBindings": {"80/tcp": [{"HostPort": "8080"}]}}}),
            )
            .await;
        let dead = t
            .run(
                Some("dead"),
                json!({"HostConfig": {"RestartPolicy": {"Name": "always"}}}),
            )
            .await;
        (t, live, dead)
    });
    // The daemon goes away (its tasks with it); one container's process ends meanwhile.
    drop(first);
    let (root, rt, plane, mounter) = (t.root, t.runtime, t.plane, t.mounter);
    rt.exit(&root.path().join("containers").join(&dead), 7);
    let second = super::runtime();
    second.block_on(async {
        let t = TestEngine::open(root, rt, plane, mounter).await;
        let r = t.record(&live).await;
        assert_eq!(r.state.status, Status::Running);
        // Its address is taken again: a new container on n1 gets the next one.
        let net = t.engine.networks.find("n1").expect("n1");
        assert_eq!(t.engine.networks.users(&net.id), vec![live.clone()]);
        assert!(t.engine.networks.serving_resolver(&live));
        let rules = t.plane.port_rules.lock().unwrap().clone();
        assert_eq!(
            rules.iter().map(|r| r.host_port).collect::<Vec<_>>(),
            [8080]
        );
        // The dead one: its exit recorded, then restarted by its policy.
        let r = t.until_status(&dead, Status::Running).await;
        assert_eq!(r.restart_count, 1);
        assert_eq!(t.runtime.calls_like("spawn").len(), 3);
        // The live one is monitored again: its exit is recorded by the new daemon.
        t.runtime.exit(&t.dir(&live), 4);
        let r = t.until_status(&live, Status::Exited).await;
        assert_eq!(r.state.exit_code, 4);
        assert!(t.engine.networks.users(&net.id).is_empty());
        assert!(t.plane.port_rules.lock().unwrap().is_empty());
    });
}

#[test]
fn dead_containers_are_torn_down_after_the_engine_opens_and_hold_their_lock_meanwhile() {
    let first = super::runtime();
    let (t, dead) = first.block_on(async {
        let t = TestEngine::new().await;
        let dead = t.run(Some("dead"), json!({})).await;
        (t, dead)
    });
    drop(first);
    let (root, rt, plane, mounter) = (t.root, t.runtime, t.plane, t.mounter);
    rt.exit(&root.path().join("containers").join(&dead), 7);
    // A teardown that does not finish until the test lets it.
    let gate = mounter.unmount_gate.write().expect("gate");
    let second = super::runtime();
    second.block_on(async {
        let opened = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            TestEngine::open(root, rt, plane, mounter.clone()),
        )
        .await;
        let t = opened.expect("the engine opens while a dead container's teardown is pending");
        let c = t.engine.get(&dead).expect("dead container indexed");
        assert!(
            c.record.try_lock().is_err(),
            "its record stays locked until the teardown ends"
        );
        drop(gate);
        let r = t.until_status(&dead, Status::Exited).await;
        assert_eq!(r.state.exit_code, 7);
        assert!(
            mounter.mounted.lock().unwrap().is_empty(),
            "rootfs released"
        );
        // The exit is stored too: a third daemon reads it from disk.
        let stored: crate::model::ContainerRecord = serde_json::from_slice(
            &std::fs::read(t.dir(&dead).join("config.json")).expect("record"),
        )
        .expect("parse");
        assert_eq!(stored.state.status, Status::Exited);
    });
}

#[test]
fn an_auto_remove_container_that_ended_meanwhile_is_gone_when_the_engine_opens() {
    let first = super::runtime();
    let (t, gone) = first.block_on(async {
        let t = TestEngine::new().await;
        let gone = t
            .run(Some("gone"), json!({"HostConfig": {"AutoRemove": true}}))
            .await;
        (t, gone)
    });
    drop(first);
    let (root, rt, plane, mounter) = (t.root, t.runtime, t.plane, t.mounter);
    rt.exit(&root.path().join("containers").join(&gone), 0);
    let second = super::runtime();
    second.block_on(async {
        let t = TestEngine::open(root, rt, plane, mounter.clone()).await;
        assert!(
            t.engine.get(&gone).is_err(),
            "removed before the API is served"
        );
        assert!(!t.dir(&gone).exists());
        assert!(
            mounter.mounted.lock().unwrap().is_empty(),
            "rootfs released"
        );
    });
}
