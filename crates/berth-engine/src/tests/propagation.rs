//! Bind propagation as moby's setMounts and validateBindDaemonRoot: the source mount's
//! propagation (from the fake mounter's host mounts) checked at start with moby's messages,
//! the rootfs propagation asked of the runtime, a bind of the data root made rslave.

use super::TestEngine;
use crate::error::EngineError;
use serde_json::{json, Value};

fn spec(t: &TestEngine, id: &str) -> Value {
    serde_json::from_slice(&std::fs::read(t.dir(id).join("bundle/config.json")).expect("spec"))
        .expect("json")
}

fn bind_options(spec: &Value, dest: &str) -> Vec<String> {
    spec["mounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .find(|m| m["destination"] == dest)
        .and_then(|m| serde_json::from_value(m["options"].clone()).ok())
        .expect("the bind")
}

#[tokio::test]
async fn shared_and_slave_need_a_shared_source_and_set_the_rootfs_propagation() {
    let t = TestEngine::new().await;
    let src = tempfile::tempdir().expect("src");
    let s = src.path().to_string_lossy().into_owned();
    let bind = |mode: &str| json!({"HostConfig": {"Binds": [format!("{s}:/m:{mode}")]}});

    // The source lives on a private mount ("/"): refused at start, with moby's messages.
    for (mode, want) in [
        (
            "shared",
            format!("path {s} is mounted on / but it is not a shared mount"),
        ),
        (
            "rslave",
            format!("path {s} is mounted on / but it is not a shared or slave mount"),
        ),
    ] {
        let id = t.create(None, bind(mode)).await.expect("create");
        let e = t.engine.start(&id).await.expect_err("refused");
        assert!(matches!(&e, EngineError::Internal(m) if *m == want), "{e}");
    }
    // rprivate needs nothing, and leaves the runtime's default.
    let id = t.run(None, bind("rprivate")).await;
    let sp = spec(&t, &id);
    assert!(sp["linux"].get("rootfsPropagation").is_none());
    assert!(bind_options(&sp, "/m").contains(&"rprivate".to_string()));

    // A slave source: slave binds work (rootfs rslave), shared ones still do not.
    t.mounter
        .host_mounts
        .lock()
        .unwrap()
        .push((s.clone(), false, true));
    let id = t.run(None, bind("slave")).await;
    let sp = spec(&t, &id);
    assert_eq!(sp["linux"]["rootfsPropagation"], "rslave");
    assert!(bind_options(&sp, "/m").contains(&"slave".to_string()));
    let id = t.create(None, bind("rshared")).await.expect("create");
    t.engine.start(&id).await.expect_err("not shared");

    // A shared source: both, and a shared bind makes the rootfs shared.
    t.mounter.host_mounts.lock().unwrap()[0] = (s.clone(), true, false);
    let id = t
        .run(
            None,
            json!({"HostConfig": {"Binds": [format!("{s}:/a:rslave"), format!("{s}:/b:rshared")]}}),
        )
        .await;
    let sp = spec(&t, &id);
    assert_eq!(sp["linux"]["rootfsPropagation"], "shared");
    assert!(bind_options(&sp, "/b").contains(&"rshared".to_string()));
    // --mount's bind-propagation takes the same path.
    let id = t
        .run(
            None,
            json!({"HostConfig": {"Mounts": [{"Type": "bind", "Source": s, "Target": "/c",
                "BindOptions": {"Propagation": "shared"}}]}}),
        )
        .await;
    assert_eq!(spec(&t, &id)["linux"]["rootfsPropagation"], "shared");
}

#[tokio::test]
async fn a_bind_of_the_data_root_is_made_rslave() {
    let t = TestEngine::new().await;
    let root = std::fs::canonicalize(t.root.path()).expect("root");
    let r = root.to_string_lossy().into_owned();
    // Implicit: rslave, and a private source falls back to the default at start.
    let id = t
        .run(None, json!({"HostConfig": {"Binds": [format!("{r}:/r")]}}))
        .await;
    let rec = t.record(&id).await;
    assert_eq!(rec.mount_points[0].propagation, "rslave");
    assert!(spec(&t, &id)["linux"].get("rootfsPropagation").is_none());
    // A parent of the data root too (moby compares string prefixes).
    let parent = root
        .parent()
        .expect("parent")
        .to_string_lossy()
        .into_owned();
    let id = t
        .create(
            None,
            json!({"HostConfig": {"Binds": [format!("{parent}:/p")]}}),
        )
        .await
        .expect("create");
    assert_eq!(t.record(&id).await.mount_points[0].propagation, "rslave");
    // Given: rslave or rshared only.
    for mode in ["rprivate", "private", "slave", "shared"] {
        let e = t
            .create(
                None,
                json!({"HostConfig": {"Binds": [format!("{r}:/r:{mode}")]}}),
            )
            .await
            .expect_err("refused");
        let want = format!(
            "invalid mount config: must use either propagation mode \"rslave\" or \"rshared\" when mount source is within the daemon root, daemon root: \"{r}\", bind mount source: \"{r}\", propagation: \"{mode}\""
        );
        assert!(
            matches!(&e, EngineError::InvalidParameter(m) if *m == want),
            "{e}"
        );
    }
    // An explicit rslave is checked against the source at start (no fallback).
    let id = t
        .create(
            None,
            json!({"HostConfig": {"Binds": [format!("{r}:/r:rslave")]}}),
        )
        .await
        .expect("create");
    t.engine.start(&id).await.expect_err("a private source");
}
