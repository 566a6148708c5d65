//! `/volumes`: create, list (filters), inspect, remove (force), prune, in Docker's JSON.

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_engine::volumes::label_matches;
use berth_engine::volumes::CreateOptions;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn str_map(v: Option<&Value>) -> Result<BTreeMap<String, String>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(o)) => o
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(ApiError::bad_request(format!(
                    "invalid JSON: value of {k} is not a string"
                ))),
            })
            .collect(),
        Some(_) => Err(ApiError::bad_request("invalid JSON: expected an object")),
    }
}

/// `POST /volumes/create`.
pub async fn create(State(engine): State<AppState>, body: Bytes) -> ApiResult<Response> {
    let v: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?
    };
    let opts = CreateOptions {
        name: v.get("Name").and_then(Value::as_str).map(str::to_string),
        driver: v
            .get("Driver")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        labels: str_map(v.get("Labels"))?,
        options: str_map(v.get("DriverOpts"))?,
        anonymous: false,
    };
    let rec = {
        let _g = engine.volumes.op_lock.lock().await;
        engine.volumes.create(opts)?
    };
    Ok((StatusCode::CREATED, Json(engine.volumes.json(&rec))).into_response())
}

fn bool_filter(key: &str, vals: &[String]) -> Result<bool, ApiError> {
    match vals {
        [v] if v == "true" || v == "1" => Ok(true),
        [v] if v == "false" || v == "0" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "Invalid filter '{key}=[{}]'",
            vals.join(" ")
        ))),
    }
}

/// `GET /volumes`: filters dangling, name (substring), label (key or key=value), driver.
pub async fn list(State(engine): State<AppState>, RawQuery(q): RawQuery) -> ApiResult<Json<Value>> {
    let q = Query::parse(q.as_deref());
    let f = q.filters()?;
    for k in f.keys() {
        if !matches!(k.as_str(), "dangling" | "name" | "label" | "driver") {
            return Err(ApiError::bad_request(format!("Invalid filter '{k}'")));
        }
    }
    let dangling = match f.get("dangling") {
        Some(v) => Some(bool_filter("dangling", v)?),
        None => None,
    };
    let mut out = Vec::new();
    for v in engine.volumes.list() {
        if let Some(d) = dangling {
            let used = !engine.volume_users(&v.name).await.is_empty();
            if d == used {
                continue;
            }
        }
        // Values of one key OR, different keys AND (labels: every one must match).
        if let Some(names) = f.get("name") {
            if !names.iter().any(|n| v.name.contains(n.as_str())) {
                continue;
            }
        }
        if let Some(drivers) = f.get("driver") {
            if !drivers.contains(&v.driver) {
                continue;
            }
        }
        if let Some(labels) = f.get("label") {
            if !labels.iter().all(|l| label_matches(&v.labels, l)) {
                continue;
            }
        }
        out.push(engine.volumes.json(&v));
    }
    Ok(Json(json!({ "Volumes": out, "Warnings": Value::Null })))
}

/// `GET /volumes/{name}`.
pub async fn inspect(
    State(engine): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let rec = engine.volumes.get(&name)?;
    Ok(Json(engine.volumes.json(&rec)))
}

/// `DELETE /volumes/{name}?force=`: refused (409) while a container uses it.
pub async fn remove(
    State(engine): State<AppState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    let q = Query::parse(q.as_deref());
    engine.remove_volume(&name, q.bool("force")).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /volumes/prune`: unused anonymous volumes (all unused ones with `all=true`),
/// filtered by `label` / `label!`.
pub async fn prune(
    State(engine): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let q = Query::parse(q.as_deref());
    let f = q.filters()?;
    for k in f.keys() {
        if !matches!(k.as_str(), "all" | "label" | "label!") {
            return Err(ApiError::bad_request(format!("Invalid filter '{k}'")));
        }
    }
    let all = match f.get("all") {
        Some(v) => bool_filter("all", v)?,
        None => false,
    };
    let labels = f.get("label").cloned().unwrap_or_default();
    let not_labels = f.get("label!").cloned().unwrap_or_default();
    let (deleted, reclaimed) = engine.prune_volumes(all, &labels, &not_labels).await?;
    Ok(Json(json!({
        "VolumesDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) },
        "SpaceReclaimed": reclaimed,
    })))
}

/// The `Volumes` of `GET /system/df`: each volume with its size and how many containers
/// use it.
pub async fn df_rows(engine: &AppState) -> Vec<Value> {
    let mut rows = Vec::new();
    for v in engine.volumes.list() {
        let users = engine.volume_users(&v.name).await.len();
        let name = v.name.clone();
        let e = engine.clone();
        let size = tokio::task::spawn_blocking(move || e.volumes.size(&name))
            .await
            .unwrap_or(0);
        let mut j = engine.volumes.json(&v);
        j["UsageData"] = json!({ "RefCount": users, "Size": size });
        rows.push(j);
    }
    rows
}
