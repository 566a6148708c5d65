//! `/containers/...` routes.

use super::{AppState, Version};
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::models::{non_empty, ContainerCreateBody, ContainerPruneResponse, WaitResponse};
use berth_engine::container::logs::LogOptions;
use berth_engine::container::{filters, inspect, AttachStream, WaitCondition};
use berth_engine::images::Image;
use std::collections::HashMap;
use tracing::debug;

pub async fn create(
    State(engine): State<AppState>,
    axum::extract::Extension(swarm): axum::extract::Extension<super::swarm::SwarmState>,
    Version(version): Version,
    RawQuery(q): RawQuery,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    check_json_content_type(&headers)?;
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::bad_request(
            "config cannot be empty in order to create a container",
        ));
    }
    let mut req: ContainerCreateBody = {
        let mut de = serde_json::Deserializer::from_slice(&body);
        let req = serde::Deserialize::deserialize(&mut de)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?;
        // moby's loadJSON: one JSON value, then nothing but white space.
        de.end()
            .map_err(|_| ApiError::bad_request("unexpected content after JSON"))?;
        req
    };
    // As moby's postContainersCreate: ConsoleSize is API 1.42; a pids limit of 0 or below
    // is "unlimited", stored as none.
    if version.below(42) {
        req.host_config.console_size = None;
    }
    // Annotations are API 1.43: an older client's are ignored, as moby ignores them.
    if version.below(43) {
        req.host_config.annotations = None;
    }
    if req.host_config.pids_limit.is_some_and(|p| p <= 0) {
        req.host_config.pids_limit = None;
    }
    // The CLI's default swappiness (-1, "the kernel's") is stored as none, as dockerd shows it.
    if req.host_config.memory_swappiness == Some(-1) {
        req.host_config.memory_swappiness = None;
    }
    refuse_unattachable(&engine, &swarm, &req).await?;
    if let Some(p) = q.get("platform").filter(|p| !p.is_empty()) {
        engine.images.check_platform(&req.config.image, p).await?;
    }
    let resp = engine.create(q.get("name"), req).await?;
    Ok((StatusCode::CREATED, Json(resp)).into_response())
}

/// A swarm network this node has no copy of can be joined by hand only when attachable
/// (moby refuses the others with swarmkit's message).
async fn refuse_unattachable(
    engine: &AppState,
    swarm: &super::swarm::SwarmState,
    req: &ContainerCreateBody,
) -> ApiResult<()> {
    let mut names: Vec<String> = req
        .networking_config
        .as_ref()
        .map(|n| n.endpoints_config.keys().cloned().collect())
        .unwrap_or_default();
    names.push(req.host_config.network_mode.clone());
    for n in names.iter().filter(|n| !n.is_empty()) {
        if engine.is_local_network(n) || engine.swarm_network_ids().iter().any(|i| i == n) {
            continue;
        }
        if let Ok(net) = swarm.cluster.network(n).await {
            if !net.spec.attachable && !engine.swarm_network_ids().contains(&net.id) {
                return Err(ApiError {
                    status: StatusCode::FORBIDDEN,
                    message: format!(
                        "Could not attach to network {n}: rpc error: code = PermissionDenied desc = network {} not manually attachable",
                        net.spec.name
                    ),
                });
            }
        }
    }
    Ok(())
}

pub async fn list(
    State(engine): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Vec<berth_api::models::ContainerSummary>>> {
    let q = Query::parse(q.as_deref());
    let f = q.filters()?;
    let all = q.bool("all");
    let size = q.bool("size");
    let limit = q.int("limit")?.unwrap_or(-1);
    let latest = q.bool("latest");
    let mut filter = engine.list_filter(f).await?;
    let mut recs = Vec::new();
    for c in engine.all() {
        recs.push(c.snapshot().await);
    }
    recs.sort_by_key(|r| std::cmp::Reverse(r.created));
    let mut out = Vec::new();
    let take = if latest { 1 } else { limit };
    // Many containers share an image: look each name or id up once per listing.
    let mut images: HashMap<String, Option<Image>> = HashMap::new();
    for rec in recs {
        // Ports, mounts and networks as the list shows them, for the filters on them.
        let facts = filter
            .needs_summary()
            .then(|| inspect::summary(&rec, "", None));
        match filter.verdict(&rec, facts.as_ref(), all, take, out.len()) {
            filters::Verdict::Include => {}
            filters::Verdict::Exclude => continue,
            filters::Verdict::Stop => break,
        }
        // `Image` shows the name the container was created from, unless that name now
        // points to another image: then the id, as Docker does.
        let image_name = match image_of(&engine, &mut images, &rec.config.image).await {
            Some(img) if img.id == rec.image_id => rec.config.image.clone(),
            _ => rec.image_id.clone(),
        };
        let sizes = if size {
            let image_size = image_of(&engine, &mut images, &rec.image_id)
                .await
                .map_or(0, |i| i.size);
            Some(sizes_of(&engine, &rec, image_size).await)
        } else {
            None
        };
        out.push(inspect::summary(&rec, &image_name, sizes));
    }
    Ok(Json(out))
}

/// An image by name or id, through a per-request cache.
async fn image_of(
    engine: &AppState,
    cache: &mut HashMap<String, Option<Image>>,
    key: &str,
) -> Option<Image> {
    if let Some(hit) = cache.get(key) {
        return hit.clone();
    }
    let found = engine.images.get(key).await.ok();
    cache.insert(key.to_string(), found.clone());
    found
}

/// (SizeRw, SizeRootFs): the writable layer, and it plus the image.
async fn sizes_of(
    engine: &AppState,
    rec: &berth_engine::model::ContainerRecord,
    image_size: u64,
) -> (u64, u64) {
    let rw = engine.size_rw(&rec.id).await;
    (rw, rw + image_size)
}

pub async fn inspect(
    State(engine): State<AppState>,
    Version(ver): Version,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<berth_api::models::ContainerInspect>> {
    let c = engine.get(&id)?;
    inspect_one(&engine, ver, c, q).await
}

/// `GET /containers/PARENT/ALIAS/json`: a link's name stands for its container, as in
/// moby's name index.
pub async fn inspect_link(
    State(engine): State<AppState>,
    Version(ver): Version,
    Path((parent, alias)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<berth_api::models::ContainerInspect>> {
    let c = engine.linked(&parent, &alias).await?;
    inspect_one(&engine, ver, c, q).await
}

async fn inspect_one(
    engine: &AppState,
    ver: berth_api::version::ApiVersion,
    c: std::sync::Arc<berth_engine::container::Container>,
    q: Option<String>,
) -> ApiResult<Json<berth_api::models::ContainerInspect>> {
    let q = Query::parse(q.as_deref());
    let rec = c.snapshot().await;
    let sizes = if q.bool("size") {
        let image_size = engine.images.get(&rec.image_id).await.map_or(0, |i| i.size);
        Some(sizes_of(engine, &rec, image_size).await)
    } else {
        None
    };
    let mut v = inspect::inspect(&rec, &engine.container_dir(&rec.id), sizes);
    // Docker lists the container's exec instances; null when there are none.
    let execs = engine.exec_ids(&rec.id);
    if !execs.is_empty() {
        v.exec_ids = Some(execs);
    }
    if ver.below(45) {
        legacy_aliases(&mut v);
    }
    Ok(Json(v))
}

/// Below API 1.45 moby lists, in the `Aliases` of each user-defined network, the container's
/// short id and hostname after the aliases asked for (deduplicated).
fn legacy_aliases(v: &mut berth_api::models::ContainerInspect) {
    let short: String = v.id.chars().take(12).collect();
    let hostname = v.config.hostname.clone();
    for (name, ep) in v.network_settings.networks.iter_mut() {
        if matches!(name.as_str(), "bridge" | "host" | "none" | "default")
            || name.starts_with("container:")
        {
            continue;
        }
        let aliases = ep.aliases.get_or_insert_with(Vec::new);
        for extra in [&short, &hostname] {
            if !extra.is_empty() && !aliases.contains(extra) {
                aliases.push(extra.clone());
            }
        }
    }
}

pub async fn start(
    State(engine): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    engine.start(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn stop(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    let q = Query::parse(q.as_deref());
    let (t, signal) = (q.int("t")?, q.get("signal").map(str::to_string));
    to_completion(async move { engine.stop(&id, t, signal.as_deref()).await }).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// moby's CheckForJSON, for a request that gives a Content-Type: it must be JSON.
fn check_json_content_type(headers: &axum::http::HeaderMap) -> ApiResult<()> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let ct = String::from_utf8_lossy(ct.as_bytes()).into_owned();
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime.is_empty() {
        return Err(ApiError::bad_request(format!(
            "malformed Content-Type header ({ct}): mime: no media type"
        )));
    }
    if mime != "application/json" {
        return Err(ApiError::bad_request(format!(
            "unsupported Content-Type header ({ct}): must be 'application/json'"
        )));
    }
    Ok(())
}

/// Runs a stop or restart on its own task: as moby's (which detaches them from the
/// request's context), a client that goes away mid-way still gets the container stopped,
/// or restarted with its events, never left half done.
async fn to_completion<T: Send + 'static>(
    op: impl std::future::Future<Output = Result<T, berth_engine::EngineError>> + Send + 'static,
) -> ApiResult<T> {
    tokio::spawn(op)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(Into::into)
}

pub async fn restart(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    let q = Query::parse(q.as_deref());
    let (t, signal) = (q.int("t")?, q.get("signal").map(str::to_string));
    to_completion(async move { engine.restart(&id, t, signal.as_deref()).await }).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn kill(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    let q = Query::parse(q.as_deref());
    engine.kill(&id, q.get("signal")).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Headers go out at once (clients wait on the body), the body when the condition holds.
pub async fn wait(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let condition = WaitCondition::parse(q.str("condition"))?;
    engine.get(&id)?;
    let stream = futures_util::stream::once(async move {
        let body = match engine.wait(&id, condition).await {
            Ok(code) => WaitResponse {
                status_code: code,
                error: None,
            },
            Err(e) => WaitResponse {
                status_code: -1,
                error: Some(berth_api::models::WaitError {
                    message: e.to_string(),
                }),
            },
        };
        let mut data = serde_json::to_vec(&body).unwrap_or_default();
        data.push(b'\n');
        Ok::<_, std::io::Error>(Bytes::from(data))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response())
}

pub async fn remove(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    let q = Query::parse(q.as_deref());
    if q.bool("link") {
        engine.remove_link(&id).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    engine
        .remove_with(&id, q.bool("force"), q.bool("v"))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /containers/ME/ALIAS?link=1` (`rm --link /ME/ALIAS`).
pub async fn remove_link(
    State(engine): State<AppState>,
    Path((id, alias)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    let q = Query::parse(q.as_deref());
    let name = format!("{id}/{alias}");
    if !q.bool("link") {
        return Err(ApiError::not_found(format!("No such container: {name}")));
    }
    engine.remove_link(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn rename(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    let q = Query::parse(q.as_deref());
    engine.rename(&id, q.str("name")).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn prune(
    State(engine): State<AppState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<ContainerPruneResponse>> {
    let q = Query::parse(q.as_deref());
    let f = q.filters()?;
    let (deleted, reclaimed) = engine.prune(&f).await?;
    Ok(Json(ContainerPruneResponse {
        containers_deleted: non_empty(deleted),
        space_reclaimed: reclaimed,
    }))
}

/// The hijacked attach: answer 101 and splice the connection to the shim's stream.
pub async fn attach(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    mut req: Request,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let (stdin, stdout, stderr) = (q.bool("stdin"), q.bool("stdout"), q.bool("stderr"));
    let detach_keys = match q.str("detachKeys") {
        "" => berth_api::detach::DEFAULT.to_vec(),
        k => berth_api::detach::parse(k).map_err(ApiError::bad_request)?,
    };
    let target = engine.attach(&id, stdin, stdout, stderr).await?;
    let tty = target.tty;
    let conn = super::conn_fd(&req);
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let client = match upgrade.await {
            Ok(u) => u,
            Err(e) => {
                debug!(error = %e, "attach upgrade failed");
                return;
            }
        };
        let shim = match target.stream {
            AttachStream::Ready(s) => s,
            AttachStream::OnStart(rx) => match rx.await {
                Ok(Ok(s)) => s,
                _ => return,
            },
        };
        super::stream::splice_upgraded(client, conn, shim, stdin.then_some(detach_keys), None)
            .await;
    });
    super::stream::upgrade_response(tty)
}

pub async fn logs(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let opts = LogOptions {
        follow: q.bool("follow"),
        stdout: q.bool("stdout"),
        stderr: q.bool("stderr"),
        timestamps: q.bool("timestamps"),
        since: parse_time(q.str("since"))?,
        until: parse_time(q.str("until"))?,
        // moby: `strconv.Atoi(tail)`, and -1 (every line) when that fails; a negative
        // count reads every line too. So `--tail foo` prints everything, as on Docker.
        tail: q
            .str("tail")
            .parse::<i64>()
            .ok()
            .and_then(|n| usize::try_from(n).ok()),
    };
    if !opts.stdout && !opts.stderr {
        return Err(ApiError::bad_request(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let (tty, stream) = engine.logs(&id, opts).await?;
    let ct = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    Ok((
        [(header::CONTENT_TYPE, ct)],
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(stream)),
    )
        .into_response())
}

/// `since`/`until`: unix seconds with an optional fraction, as the docker CLI sends them.
fn parse_time(s: &str) -> ApiResult<Option<chrono::DateTime<chrono::Utc>>> {
    if s.is_empty() || s == "0" {
        return Ok(None);
    }
    berth_engine::container::logs::parse_time(s)
        .map(Some)
        .ok_or_else(|| ApiError::bad_request(format!("invalid timestamp: {s}")))
}

pub async fn resize(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let (h, w) = super::exec::size(&q)?;
    engine.resize(&id, h, w).await?;
    Ok(StatusCode::OK.into_response())
}
