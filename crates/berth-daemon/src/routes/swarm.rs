//! The swarm endpoints (`/swarm`, `/nodes`, `/services`, `/tasks`, `/secrets`, `/configs`)
//! on a daemon that is not in a swarm: moby's 503 answers, so clients that probe them (or
//! call `/swarm/leave` while cleaning up) get what they get from dockerd.

use crate::error::ApiError;
use crate::query::Query;
use axum::extract::RawQuery;
use axum::routing::{get, post};
use axum::Router;

/// moby's `errNoManager` for a node outside any swarm (daemon/cluster/errors.go).
pub const NOT_A_MANAGER: &str = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.";
/// moby's `errNoSwarm`: `swarm leave` outside a swarm.
pub const NOT_IN_SWARM: &str = "This node is not part of a swarm";

pub fn router() -> Router {
    Router::new()
        .route("/swarm", get(not_manager))
        .route("/swarm/unlockkey", get(not_manager))
        .route("/swarm/update", post(not_manager))
        .route("/swarm/unlock", post(not_manager))
        .route("/swarm/leave", post(not_in_swarm))
        .route("/nodes", get(not_manager))
        .route("/nodes/{id}", get(not_manager).delete(not_manager))
        .route("/nodes/{id}/update", post(not_manager))
        .route("/services", get(not_manager))
        .route("/services/create", post(not_manager))
        .route("/services/{id}", get(not_manager).delete(not_manager))
        .route("/services/{id}/update", post(not_manager))
        .route("/services/{id}/logs", get(logs))
        .route("/tasks", get(not_manager))
        .route("/tasks/{id}", get(not_manager))
        .route("/tasks/{id}/logs", get(logs))
        .route("/secrets", get(not_manager))
        .route("/secrets/create", post(not_manager))
        .route("/secrets/{id}", get(not_manager).delete(not_manager))
        .route("/secrets/{id}/update", post(not_manager))
        .route("/configs", get(not_manager))
        .route("/configs/create", post(not_manager))
        .route("/configs/{id}", get(not_manager).delete(not_manager))
        .route("/configs/{id}/update", post(not_manager))
}

async fn not_manager() -> ApiError {
    ApiError::unavailable(NOT_A_MANAGER)
}

async fn not_in_swarm() -> ApiError {
    ApiError::unavailable(NOT_IN_SWARM)
}

/// moby checks the streams before anything else (a plain error: 500, in moby 28 too).
async fn logs(RawQuery(q): RawQuery) -> ApiError {
    let q = Query::parse(q.as_deref());
    if !(q.bool("stdout") || q.bool("stderr")) {
        return ApiError::internal("Bad parameters: you must choose at least one stream");
    }
    ApiError::unavailable(NOT_A_MANAGER)
}
