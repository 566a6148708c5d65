//! top, stats, pause/unpause, update, events, system df (with the build cache), and
//! `POST /build/prune` (berth's build cache, `berth_build::cache`).

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::models::{
    non_empty, BuildCacheRecord, BuildPruneResponse, ContainerUpdateResponse, HostConfig,
    SystemDfResponse, TopResponse,
};
use berth_engine::container::{inspect, observe};
use berth_engine::events::EventFilter;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

pub async fn top(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<TopResponse>> {
    let q = Query::parse(q.as_deref());
    Ok(Json(engine.top(&id, q.str("ps_args")).await?))
}

pub async fn pause(
    State(engine): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    engine.pause(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn unpause(
    State(engine): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    engine.unpause(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn update(
    State(engine): State<AppState>,
    super::Version(version): super::Version,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<ContainerUpdateResponse>> {
    let mut req: HostConfig = if body.iter().all(|b| b.is_ascii_whitespace()) {
        HostConfig::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?
    };
    // As moby's postContainerUpdate: PidsLimit is API 1.40; 0 or below means "unlimited",
    // stored as 0.
    if version.below(40) {
        req.pids_limit = None;
    }
    if let Some(p) = req.pids_limit.as_mut() {
        *p = (*p).max(0);
    }
    let warnings = engine.update(&id, req).await?;
    Ok(Json(ContainerUpdateResponse {
        warnings: non_empty(warnings),
    }))
}

fn json_line(v: &impl serde::Serialize) -> Bytes {
    let mut b = serde_json::to_vec(v).unwrap_or_default();
    b.push(b'\n');
    Bytes::from(b)
}

/// How long a `stream=false` answer waits between its precpu and cpu samples. Docker's
/// collector samples once a second, so its answer takes one to two seconds; a short wait
/// gives clients the same two-sample shape (and a CPU %) at a fraction of the latency.
const PRIME_WAIT: Duration = Duration::from_millis(100);

/// `GET /containers/{id}/stats`: one JSON per second, or one answer with `stream=false`
/// (`one-shot=true` too: a single sample, zero precpu, no wait).
pub async fn stats(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let stream = q.get("stream").is_none() || q.bool("stream");
    let one_shot = q.bool("one-shot");
    if stream && one_shot {
        return Err(ApiError::bad_request(
            "cannot have stream=true and one-shot=true",
        ));
    }
    let c = engine.get(&id)?;
    if !stream {
        let rec = c.snapshot().await;
        let first = engine.stats_sample(&c).await?;
        let body = match first {
            None => observe::stats_json(&rec, None, None),
            Some(cur) if one_shot => observe::stats_json(&rec, Some(&cur), None),
            Some(pre) => {
                tokio::time::sleep(PRIME_WAIT).await;
                let cur = engine.stats_sample(&c).await?;
                match cur {
                    Some(cur) => observe::stats_json(&rec, Some(&cur), Some(&pre)),
                    None => observe::stats_json(&rec, None, None),
                }
            }
        };
        return Ok(Json(body).into_response());
    }
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    tokio::spawn(async move {
        let mut pre = None;
        loop {
            let rec = c.snapshot().await;
            let cur = engine.stats_sample(&c).await.ok().flatten();
            let v = observe::stats_json(&rec, cur.as_ref(), pre.as_ref());
            if tx.send(Ok(json_line(&v))).await.is_err() {
                break;
            }
            // A removed container ends the stream.
            if engine.get(&c.id).is_err() {
                break;
            }
            pre = cur;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)),
    )
        .into_response())
}

fn parse_ts(key: &str, s: &str) -> ApiResult<Option<i64>> {
    if s.is_empty() {
        return Ok(None);
    }
    berth_engine::container::logs::parse_time(s)
        .and_then(|t| t.timestamp_nanos_opt())
        .map(Some)
        .ok_or_else(|| ApiError::bad_request(format!("invalid value for {key}: {s}")))
}

/// `GET /events`: the matching history (when since/until is given), then live events until
/// `until` (an `until` in the past closes the stream after the history).
pub async fn events(State(engine): State<AppState>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let filter = EventFilter::new(q.filters()?)?;
    let since = parse_ts("since", q.str("since"))?;
    let until = parse_ts("until", q.str("until"))?;
    if let (Some(s), Some(u)) = (since, until) {
        if u < s {
            return Err(ApiError::bad_request(format!(
                "`since` time ({}) cannot be after `until` time ({})",
                q.str("since"),
                q.str("until")
            )));
        }
    }
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let only_past = until.is_some_and(|u| u < now);
    let (history, mut live) = engine.events.subscribe();
    let in_window = move |t: i64| since.is_none_or(|s| t >= s) && until.is_none_or(|u| t <= u);
    let replay: Vec<_> = if since.is_some() || until.is_some() {
        history
            .into_iter()
            .filter(|e| in_window(e.time_nano) && filter.matches(e))
            .collect()
    } else {
        Vec::new()
    };
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    tokio::spawn(async move {
        let send = |e: &berth_engine::events::Event| {
            json_line(&serde_json::to_value(e).unwrap_or(Value::Null))
        };
        for e in &replay {
            if tx.send(Ok(send(e))).await.is_err() {
                return;
            }
        }
        if only_past {
            return;
        }
        let deadline = until.map(|u| {
            let left = (u - chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)).max(0);
            tokio::time::Instant::now() + Duration::from_nanos(left as u64)
        });
        loop {
            let next = async {
                match deadline {
                    Some(d) => tokio::time::timeout_at(d, live.recv()).await.ok(),
                    None => Some(live.recv().await),
                }
            };
            tokio::select! {
                got = next => match got {
                    None => return,
                    Some(Ok(e)) => {
                        if in_window(e.time_nano) && filter.matches(&e)
                            && tx.send(Ok(send(&e))).await.is_err()
                        {
                            return;
                        }
                    }
                    Some(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                    Some(Err(broadcast::error::RecvError::Closed)) => return,
                },
                _ = tx.closed() => return,
            }
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)),
    )
        .into_response())
}

/// `GET /system/df`: images (with how many containers use each), containers with their
/// sizes, volumes with their usage, build cache records.
pub async fn system_df(State(engine): State<AppState>) -> ApiResult<Json<SystemDfResponse>> {
    let mut recs = Vec::new();
    for c in engine.all() {
        recs.push(c.snapshot().await);
    }
    recs.sort_by_key(|r| std::cmp::Reverse(r.created));
    let mut users: HashMap<String, i64> = HashMap::new();
    for r in &recs {
        *users.entry(r.image_id.clone()).or_default() += 1;
    }
    let mut images = engine.images.list().await?;
    images.sort_by_key(|i| std::cmp::Reverse(i.created.clone()));
    let mut layers_size = 0u64;
    let mut image_rows = Vec::new();
    let mut sizes: HashMap<String, u64> = HashMap::new();
    for img in &images {
        layers_size += img.size;
        sizes.insert(img.id.clone(), img.size);
        let mut v = super::images::summary(img, berth_api::version::ApiVersion::CURRENT);
        v.containers = users.get(&img.id).copied().unwrap_or(0);
        v.shared_size = 0;
        image_rows.push(v);
    }
    let mut containers = Vec::new();
    for r in &recs {
        let rw = engine.size_rw(&r.id).await;
        let image_size = sizes.get(&r.image_id).copied().unwrap_or(0);
        let name = if images.iter().any(|i| i.id == r.image_id) {
            r.config.image.clone()
        } else {
            r.image_id.clone()
        };
        containers.push(inspect::summary(r, &name, Some((rw, rw + image_size))));
    }
    Ok(Json(SystemDfResponse {
        layers_size,
        images: image_rows,
        containers,
        volumes: super::volumes::df_rows(&engine).await,
        build_cache: build_cache_rows(&engine, &users).await?,
    }))
}

/// The image ids containers use.
async fn images_in_use(engine: &AppState) -> std::collections::HashSet<String> {
    let mut in_use = std::collections::HashSet::new();
    for c in engine.all() {
        in_use.insert(c.snapshot().await.image_id);
    }
    in_use
}

/// berth's build cache (the builder's step records, `berth_build::cache`) as moby's
/// records: one per cached step, its size the bytes the step added, "shared" when a tagged
/// image or a container's image builds on it (pruning it would free nothing).
async fn build_cache_rows(
    engine: &AppState,
    users: &HashMap<String, i64>,
) -> ApiResult<Vec<BuildCacheRecord>> {
    let in_use: std::collections::HashSet<String> = users.keys().cloned().collect();
    let store = engine.images.store().clone();
    let root = engine.cfg.data_root.clone();
    let records = tokio::task::spawn_blocking(move || {
        let facts = berth_build::cache::image_facts(&store, &in_use)?;
        Ok::<_, berth_image::ImageError>(berth_build::cache::describe(
            &berth_build::cache::Cache::records(&root),
            &facts,
        ))
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(records
        .into_iter()
        .map(|r| {
            let created = chrono::DateTime::from_timestamp(r.created, 0)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            BuildCacheRecord {
                id: r.id,
                parents: None,
                kind: "regular".to_string(),
                description: format!("build step image {}", r.image),
                in_use: false,
                shared: r.shared,
                size: r.size as i64,
                created_at: created.clone(),
                last_used_at: Some(created),
                usage_count: 0,
            }
        })
        .collect())
}

/// `POST /build/prune`: removes berth's build cache records (all of them with `all`, else
/// those no tagged image or container builds on), filtered by `until`, keeping the newest
/// `keep-storage` (or `reserved-space`) bytes, and the step images nothing needs any more.
pub async fn build_prune(
    State(engine): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<BuildPruneResponse>> {
    let q = Query::parse(q.as_deref());
    let f = q.filters()?;
    let mut opts = berth_build::cache::PruneOptions {
        all: q.bool("all"),
        ..Default::default()
    };
    for (k, vals) in &f {
        match k.as_str() {
            "until" => {
                for v in vals {
                    opts.until = Some(berth_engine::container::filters::parse_until(v)?);
                }
            }
            _ => return Err(ApiError::bad_request(format!("invalid filter '{k}'"))),
        }
    }
    for key in ["keep-storage", "reserved-space"] {
        let v = q.str(key);
        if !v.is_empty() {
            let n: u64 = v
                .parse()
                .map_err(|_| ApiError::bad_request(format!("invalid value for {key}: {v}")))?;
            opts.keep_storage = opts.keep_storage.max(n);
        }
    }
    // buildkit's other limits have no meaning for berth's cache: refused, not ignored.
    for key in ["max-used-space", "min-free-space"] {
        let v = q.str(key);
        if !v.is_empty() && v != "0" {
            return Err(ApiError::bad_request(format!(
                "{key} is not supported by berth's builder"
            )));
        }
    }
    let in_use = images_in_use(&engine).await;
    let store = engine.images.store().clone();
    let root = engine.cfg.data_root.clone();
    let report = tokio::task::spawn_blocking(move || {
        berth_build::cache::prune(&root, &store, &in_use, &opts)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(BuildPruneResponse {
        caches_deleted: Some(report.deleted),
        space_reclaimed: report.reclaimed,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_update_answer_is_the_same_bytes() {
        for warnings in [vec![], vec!["w1".to_string(), "w2".to_string()]] {
            // As `update` answered before the typed model.
            let before = json!({
                "Warnings": if warnings.is_empty() { Value::Null } else { json!(warnings) }
            });
            let typed = ContainerUpdateResponse {
                warnings: non_empty(warnings),
            };
            assert_eq!(
                serde_json::to_string(&typed).unwrap(),
                serde_json::to_string(&before).unwrap()
            );
        }
    }
}
