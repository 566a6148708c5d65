//! Daemon restart reconciliation: a new engine over the same data root finds a container
//! whose shim still runs (monitored again, its address, ports and resolver taken back) and
//! one whose process ended meanwhile (marked exited with the recorded code, its run torn
//! down, restarted by its policy). Each daemon is a runtime of its own, dropped to stop it.

use super::TestEngine;
use crate::model::Status;
use crate::network::api::CreateRequest;
use serde_json::json;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn a_restarted_daemon_reconnects_and_reconciles() {
    let first = runtime();
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
    let second = runtime();
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
