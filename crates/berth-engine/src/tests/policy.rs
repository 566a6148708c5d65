//! Restart policies: moby's back-off (100 ms doubling), the retry limit, and a stop or kill
//! cancelling a pending restart. Time is paused: the back-off is measured on the test's
//! clock.

use super::TestEngine;
use crate::model::Status;
use serde_json::json;
use std::time::Duration;
use tokio::time::Instant;

/// Waits until the container's shim runs again; returns how long that took.
async fn until_restarted(t: &TestEngine, id: &str, spawns: usize) -> Duration {
    let t0 = Instant::now();
    for _ in 0..10_000 {
        if t.runtime.calls_like("spawn").len() == spawns
            && t.runtime.running(&t.dir(id))
            && t.record(id).await.state.status == Status::Running
        {
            return t0.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("{id} was not restarted");
}

#[tokio::test(start_paused = true)]
async fn on_failure_backs_off_and_stops_at_its_limit() {
    let t = TestEngine::new().await;
    let id = t
        .run(
            None,
            json!({"HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}}}),
        )
        .await;
    let dir = t.dir(&id);
    t.runtime.exit(&dir, 1);
    let waited = until_restarted(&t, &id, 2).await;
    assert!(
        waited >= Duration::from_millis(100) && waited < Duration::from_millis(150),
        "{waited:?}"
    );
    assert_eq!(t.record(&id).await.restart_count, 1);
    t.runtime.exit(&dir, 1);
    let waited = until_restarted(&t, &id, 3).await;
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_millis(250),
        "{waited:?}"
    );
    // The third failure is past the limit: it stays down, its network given back.
    t.runtime.exit(&dir, 1);
    let r = t.until_status(&id, Status::Exited).await;
    assert_eq!((r.restart_count, r.state.exit_code), (2, 1));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(t.runtime.calls_like("spawn").len(), 3);
    t.nothing_left(&id);
    // A success does not restart an on-failure container; a manual start resets the count.
    t.engine.start(&id).await.expect("start");
    assert_eq!(t.record(&id).await.restart_count, 0);
    t.runtime.exit(&dir, 0);
    t.until_status(&id, Status::Exited).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(t.runtime.calls_like("spawn").len(), 4);
}

#[tokio::test(start_paused = true)]
async fn always_restarts_until_stopped_and_kill_cancels_a_pending_restart() {
    let t = TestEngine::new().await;
    let id = t
        .run(
            None,
            json!({"HostConfig": {"RestartPolicy": {"Name": "always"}}}),
        )
        .await;
    let dir = t.dir(&id);
    t.runtime.exit(&dir, 0);
    until_restarted(&t, &id, 2).await;
    // Exit again and kill while it waits to restart: it stays down.
    t.runtime.exit(&dir, 0);
    t.until_status(&id, Status::Restarting).await;
    t.engine
        .kill(&id, None)
        .await
        .expect("kill a restarting container");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let r = t.record(&id).await;
    assert_eq!(r.state.status, Status::Exited);
    assert!(r.state.stopped_by_user);
    assert_eq!(t.runtime.calls_like("spawn").len(), 2);
    // A user's stop is not a failure to restart from.
    t.engine.start(&id).await.expect("start");
    t.engine.stop(&id, None, None).await.expect("stop");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(t.record(&id).await.state.status, Status::Exited);
    assert_eq!(t.runtime.calls_like("spawn").len(), 3);
}
