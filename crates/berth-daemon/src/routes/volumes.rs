//! `/volumes`: create, list (filters), inspect, remove (force), prune, in Docker's JSON.

use super::{AppState, Version};
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::models::{
    non_empty, Volume, VolumeCreateBody, VolumeListResponse, VolumePruneResponse, VolumeUsageData,
};
use berth_engine::volumes::label_matches;
use berth_engine::volumes::CreateOptions;
use serde_json::Value;

/// `POST /volumes/create`. The body is read as JSON first, so a syntax error and a wrong
/// type each get their message (without a position for the latter).
///
/// A body with a `ClusterVolumeSpec` from a client at API 1.42 or later is a cluster (CSI)
/// volume, which moby 28 hands to the swarm: outside a swarm (or on a locked one) that is
/// the swarm's 503. berth's swarm has no CSI volumes, so a manager refuses it, naming why;
/// below 1.42 the spec is ignored, as moby ignores it.
pub async fn create(
    State(engine): State<AppState>,
    axum::extract::Extension(swarm): axum::extract::Extension<super::swarm::SwarmState>,
    Version(ver): Version,
    body: Bytes,
) -> ApiResult<Response> {
    let bad = |e: serde_json::Error| ApiError::bad_request(format!("invalid JSON: {e}"));
    let body: VolumeCreateBody = if body.is_empty() {
        VolumeCreateBody::default()
    } else {
        serde_json::from_value(serde_json::from_slice::<Value>(&body).map_err(bad)?).map_err(bad)?
    };
    if body.cluster_volume_spec.is_some() && !ver.below(42) {
        swarm.cluster.inspect().await?;
        return Err(ApiError::bad_request(
            "cluster volumes (ClusterVolumeSpec) are not supported: berth's swarm has no CSI volume plugins",
        ));
    }
    let opts = CreateOptions {
        name: Some(body.name),
        driver: body.driver,
        labels: body.labels,
        options: body.driver_opts,
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
pub async fn list(
    State(engine): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<VolumeListResponse>> {
    let q = Query::parse(q.as_deref());
    // moby's getVolumesList wraps FromJSON's error: "error reading volume filters: ...".
    let f = berth_api::filters::parse(q.str("filters"))
        .map_err(|e| ApiError::bad_request(format!("error reading volume filters: {e}")))?;
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
    Ok(Json(VolumeListResponse {
        volumes: out,
        warnings: None,
    }))
}

/// `GET /volumes/{name}`.
pub async fn inspect(
    State(engine): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Volume>> {
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

/// `POST /volumes/prune`: unused anonymous volumes (all unused ones with `all=true`, and
/// always below API 1.42, as moby), filtered by `label` / `label!`.
pub async fn prune(
    State(engine): State<AppState>,
    Version(ver): Version,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<VolumePruneResponse>> {
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
    } || ver.below(42);
    let labels = f.get("label").cloned().unwrap_or_default();
    let not_labels = f.get("label!").cloned().unwrap_or_default();
    let (deleted, reclaimed) = engine.prune_volumes(all, &labels, &not_labels).await?;
    Ok(Json(VolumePruneResponse {
        volumes_deleted: non_empty(deleted),
        space_reclaimed: reclaimed,
    }))
}

/// The `Volumes` of `GET /system/df`: each volume with its size and how many containers
/// use it.
pub async fn df_rows(engine: &AppState) -> Vec<Volume> {
    let mut rows = Vec::new();
    for v in engine.volumes.list() {
        let users = engine.volume_users(&v.name).await.len();
        let name = v.name.clone();
        let e = engine.clone();
        let size = tokio::task::spawn_blocking(move || e.volumes.size(&name))
            .await
            .unwrap_or(0);
        let mut j = engine.volumes.json(&v);
        j.usage_data = Some(VolumeUsageData {
            ref_count: users as i64,
            size: i64::try_from(size).unwrap_or(i64::MAX),
        });
        rows.push(j);
    }
    rows
}
