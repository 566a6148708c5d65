//! `/networks`: create, list, inspect, remove, prune, connect, disconnect.

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::models::NetworkConnectBody;
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

fn body_json(body: &[u8]) -> ApiResult<Value> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))
}

/// `POST /networks/{id}/connect`: `{"Container", "EndpointConfig"}`.
pub async fn connect(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    let body: NetworkConnectBody = if body.iter().all(|b| b.is_ascii_whitespace()) {
        NetworkConnectBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?
    };
    let req =
        berth_engine::container::netconnect::parse_endpoint_config(body.endpoint_config.as_ref())?;
    engine.network_connect(&id, &body.container, req).await?;
    Ok(StatusCode::OK)
}

/// `POST /networks/{id}/disconnect`: `{"Container", "Force"}`.
pub async fn disconnect(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    let v = body_json(&body)?;
    let container = v.get("Container").and_then(|c| c.as_str()).unwrap_or("");
    let force = v.get("Force").and_then(|f| f.as_bool()).unwrap_or(false);
    engine.network_disconnect(&id, container, force).await?;
    Ok(StatusCode::OK)
}
