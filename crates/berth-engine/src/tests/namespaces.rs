//! `--ipc` and `--pid`: the defaults recorded, the donors checked with moby's messages, the
//! spec joining the donor's namespaces and binding its /dev/shm, a shareable container's
//! tmpfs mounted for its run and released after it.

use super::TestEngine;
use crate::error::EngineError;
use crate::model::Status;
use serde_json::{json, Value};

fn spec(t: &TestEngine, id: &str) -> Value {
    serde_json::from_slice(&std::fs::read(t.dir(id).join("bundle/config.json")).expect("spec"))
        .expect("json")
}

fn namespace_path(spec: &Value, typ: &str) -> Option<Value> {
    spec["linux"]["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .find(|n| n["type"] == typ)
        .map(|n| n["path"].clone())
}

fn shm_mount(spec: &Value) -> Option<Value> {
    spec["mounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .find(|m| m["destination"] == "/dev/shm")
        .cloned()
}

#[tokio::test]
async fn defaults_and_bad_modes() {
    let t = TestEngine::new().await;
    let id = t.create(None, json!({})).await.expect("create");
    let hc = t.record(&id).await.host_config;
    assert_eq!((hc.ipc_mode.as_str(), hc.shm_size), ("private", 67108864));
    for (body, want) in [
        (
            json!({"HostConfig": {"IpcMode": "bogus"}}),
            "invalid IPC mode: bogus",
        ),
        (
            json!({"HostConfig": {"PidMode": "bogus"}}),
            "invalid PID mode: bogus",
        ),
        (
            json!({"HostConfig": {"ShmSize": -1}}),
            "SHM size can not be less than 0",
        ),
    ] {
        let e = t.create(None, body).await.expect_err("refused");
        assert!(
            matches!(&e, EngineError::InvalidParameter(m) if m == want),
            "{e}"
        );
    }
}

#[tokio::test]
async fn private_none_and_host() {
    let t = TestEngine::new().await;
    let private = t.run(None, json!({})).await;
    let s = spec(&t, &private);
    assert_eq!(namespace_path(&s, "ipc"), Some(Value::Null));
    assert_eq!(shm_mount(&s).expect("shm")["type"], "tmpfs");
    let none = t
        .run(None, json!({"HostConfig": {"IpcMode": "none"}}))
        .await;
    let s = spec(&t, &none);
    assert_eq!(namespace_path(&s, "ipc"), Some(Value::Null));
    assert_eq!(shm_mount(&s), None, "no /dev/shm with --ipc none");
    let host = t
        .run(
            None,
            json!({"HostConfig": {"IpcMode": "host", "PidMode": "host"}}),
        )
        .await;
    let s = spec(&t, &host);
    assert_eq!(namespace_path(&s, "ipc"), None);
    assert_eq!(namespace_path(&s, "pid"), None);
    assert_eq!(shm_mount(&s).expect("shm")["source"], "/dev/shm");
}

#[tokio::test]
async fn ipc_container_joins_a_shareable_donor() {
    let t = TestEngine::new().await;
    let donor = t
        .run(Some("don"), json!({"HostConfig": {"IpcMode": "shareable"}}))
        .await;
    let shm_dir = t.dir(&donor).join("mounts/shm");
    let calls = t.mounter.calls.lock().unwrap().clone();
    assert!(
        calls.contains(&format!("mount_volume tmpfs {}", shm_dir.display())),
        "{calls:?}"
    );
    assert_eq!(
        shm_mount(&spec(&t, &donor)).expect("shm")["source"],
        shm_dir.to_string_lossy().as_ref()
    );
    let pid = t.record(&donor).await.state.pid;

    let joiner = t
        .run(
            None,
            json!({"HostConfig": {"IpcMode": "container:don", "PidMode": "container:don"}}),
        )
        .await;
    let s = spec(&t, &joiner);
    assert_eq!(
        namespace_path(&s, "ipc"),
        Some(json!(format!("/proc/{pid}/ns/ipc")))
    );
    assert_eq!(
        namespace_path(&s, "pid"),
        Some(json!(format!("/proc/{pid}/ns/pid")))
    );
    assert_eq!(
        shm_mount(&s).expect("shm")["source"],
        shm_dir.to_string_lossy().as_ref()
    );
    // A joiner of a joiner shares the same /dev/shm (moby copies the donor's ShmPath).
    t.run(
        Some("joiner"),
        json!({"HostConfig": {"IpcMode": "container:don"}}),
    )
    .await;
    let second = t
        .run(None, json!({"HostConfig": {"IpcMode": "container:joiner"}}))
        .await;
    assert_eq!(
        shm_mount(&spec(&t, &second)).expect("shm")["source"],
        shm_dir.to_string_lossy().as_ref()
    );

    // The donor's run is over: its tmpfs goes.
    t.runtime.exit(&t.dir(&donor), 0);
    t.until_status(&donor, Status::Exited).await;
    let calls = t.mounter.calls.lock().unwrap().clone();
    assert!(
        calls.contains(&format!("unmount_volume {}", shm_dir.display())),
        "{calls:?}"
    );
}

#[tokio::test]
async fn donors_that_cannot_be_joined() {
    let t = TestEngine::new().await;
    let private = t.run(Some("private"), json!({})).await;
    let stopped = t
        .create(
            Some("stopped"),
            json!({"HostConfig": {"IpcMode": "shareable"}}),
        )
        .await
        .expect("create");
    let start = |mode: &'static str, key: &'static str| {
        let t = &t;
        async move {
            let id = t
                .create(None, json!({"HostConfig": {key: mode}}))
                .await
                .expect("create");
            t.engine.start(&id).await.expect_err("refused").to_string()
        }
    };
    assert_eq!(
        start("container:private", "IpcMode").await,
        format!("failed to join IPC namespace: container {private}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)")
    );
    assert_eq!(
        start("container:stopped", "IpcMode").await,
        format!("failed to join IPC namespace: container {stopped} is not running")
    );
    assert_eq!(
        start("container:stopped", "PidMode").await,
        format!("failed to join PID namespace: container {stopped} is not running")
    );
    // A missing donor is refused at create (400: the docker CLI would take 404 for a pull).
    let e = t
        .create(None, json!({"HostConfig": {"PidMode": "container:nosuch"}}))
        .await
        .expect_err("missing");
    assert!(matches!(e, EngineError::InvalidParameter(_)), "{e}");
}

#[tokio::test]
async fn sysctls_defaults_and_namespaced_only() {
    let t = TestEngine::new().await;
    let id = t
        .run(None, json!({"HostConfig": {"Sysctls": {"net.core.somaxconn": "1024", "kernel.shmmax": "1000"}}}))
        .await;
    let s = spec(&t, &id);
    assert_eq!(
        s["linux"]["sysctl"],
        json!({
            "net.ipv4.ip_unprivileged_port_start": "0",
            "net.ipv4.ping_group_range": "0 2147483647",
            "net.core.somaxconn": "1024",
            "kernel.shmmax": "1000",
        })
    );
    // The host's network namespace gets no default (they would change the host).
    let host = t
        .run(None, json!({"HostConfig": {"NetworkMode": "host"}}))
        .await;
    assert_eq!(spec(&t, &host)["linux"]["sysctl"], Value::Null);
    for (hc, want) in [
        (
            json!({"Sysctls": {"kernel.panic": "1"}}),
            "sysctl \"kernel.panic\" is not in a separate kernel namespace",
        ),
        (
            json!({"NetworkMode": "host", "Sysctls": {"net.core.somaxconn": "1"}}),
            "sysctl \"net.core.somaxconn\" not allowed in host network namespace",
        ),
        (
            json!({"IpcMode": "host", "Sysctls": {"kernel.shmmax": "1"}}),
            "sysctl \"kernel.shmmax\" not allowed in host IPC namespace",
        ),
    ] {
        let id = t
            .create(None, json!({"HostConfig": hc}))
            .await
            .expect("create");
        let e = t.engine.start(&id).await.expect_err("refused");
        assert_eq!(e.to_string(), want);
    }
}
