//! `/networks`: create, list, inspect, remove, prune.

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

pub async fn list(State(engine): State<AppState>, RawQuery(q): RawQuery) -> ApiResult<Json<Value>> {
    let f = Query::parse(q.as_deref()).filters()?;
    Ok(Json(json!(engine.network_list(&f).await?)))
}

pub async fn inspect(
    State(engine): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(engine.network_inspect(&id).await?))
}

pub async fn create(
    State(engine): State<AppState>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?;
    let req = berth_engine::network::api::parse_create(&v)?;
    let rec = engine.network_create(req).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "Id": rec.id, "Warning": "" })),
    )
        .into_response())
}

pub async fn remove(
    State(engine): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    engine.network_remove(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn prune(
    State(engine): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let f = Query::parse(q.as_deref()).filters()?;
    let deleted = engine.network_prune(&f).await?;
    Ok(Json(json!({
        "NetworksDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) },
    })))
}
