//! Health-check state: probes through the runtime's exec, "starting" until the first
//! result, healthy on success, unhealthy after `retries` failures, the last results in the
//! log, a `health_status` event on each change, and no probes once the container exited.

use super::TestEngine;
use crate::model::Status;
use serde_json::json;
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn probes_drive_the_health_status() {
    let t = TestEngine::new().await;
    t.runtime.exec_results.lock().unwrap().extend([
        (0, "fine".to_string()),
        (1, "bad".to_string()),
        (1, "worse".to_string()),
    ]);
    let second = 1_000_000_000i64;
    let id = t
        .run(
            None,
            json!({"Healthcheck": {"Test": ["CMD", "sh"], "Interval": second, "Retries": 2}}),
        )
        .await;
    assert_eq!(
        t.record(&id).await.state.health.expect("health").status,
        "starting"
    );
    let status_after = |secs: u64| {
        let t = &t;
        let id = id.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(secs * 1000 + 100)).await;
            t.record(&id).await.state.health.expect("health")
        }
    };
    let h = status_after(1).await;
    assert_eq!((h.status.as_str(), h.failing_streak), ("healthy", 0));
    assert_eq!(h.log[0].output, "fine");
    let h = status_after(1).await;
    assert_eq!((h.status.as_str(), h.failing_streak), ("healthy", 1));
    let h = status_after(1).await;
    assert_eq!((h.status.as_str(), h.failing_streak), ("unhealthy", 2));
    assert_eq!(
        h.log.iter().map(|l| l.exit_code).collect::<Vec<_>>(),
        [0, 1, 1]
    );
    let changes: Vec<String> = t
        .actions(&id)
        .into_iter()
        .filter(|a| a.starts_with("health_status"))
        .collect();
    assert_eq!(
        changes,
        ["health_status: healthy", "health_status: unhealthy"]
    );
    // The probes went through the runtime's exec, one per interval.
    assert_eq!(t.runtime.calls_like("exec").len(), 3);
    // Exited: no more probes.
    t.runtime.exit(&t.dir(&id), 0);
    t.until_status(&id, Status::Exited).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(t.runtime.calls_like("exec").len(), 3);
}
