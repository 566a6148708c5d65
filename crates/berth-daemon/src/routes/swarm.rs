//! The swarm endpoints (`/swarm`, `/nodes`, `/services`, `/tasks`, `/secrets`, `/configs`)
//! over berth-swarm's [`Cluster`]: moby's JSON shapes, versions (`?version=`), statuses
//! and messages. Outside a swarm every call answers moby's 503 (clients probe them and call
//! `/swarm/leave` while cleaning up).

use crate::error::ApiError;
use crate::query::Query;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_api::swarm::{
    IdResponse, InitRequest, JoinRequest, NodeSpec, SecretSpec, ServiceCreateResponse, ServiceSpec,
    ServiceUpdateResponse, Spec, UnlockKeyResponse, UnlockRequest,
};
use berth_engine::container::logs::LogOptions;
use berth_engine::Engine;
use berth_swarm::executor::EngineExecutor;
use berth_swarm::SwarmError;
use serde::de::DeserializeOwned;
use std::sync::Arc;

pub type SwarmCluster = berth_swarm::Cluster<EngineExecutor>;

#[derive(Clone)]
pub struct SwarmState {
    pub cluster: Arc<SwarmCluster>,
    pub engine: Arc<Engine>,
}

type R<T> = Result<T, ApiError>;

/// The engine's way to the swarm for containers attaching by hand to attachable swarm
/// networks (the swarm records their addresses as network attachments).
pub struct ClusterAttacher(pub std::sync::Weak<SwarmCluster>);

impl berth_engine::network::swarm::Attacher for ClusterAttacher {
    fn attach(
        &self,
        network_id: String,
        container_id: String,
    ) -> berth_engine::network::swarm::BoxFuture<berth_engine::error::Result<std::net::Ipv4Addr>>
    {
        let c = self.0.upgrade();
        Box::pin(async move {
            use berth_engine::error::EngineError;
            let Some(c) = c else {
                return Err(EngineError::Internal("the swarm is gone".into()));
            };
            c.attach_container(&network_id, &container_id)
                .await
                .map_err(|e| match e.status() {
                    403 => EngineError::Forbidden(e.to_string()),
                    404 => EngineError::NotFound(e.to_string()),
                    400 => EngineError::InvalidParameter(e.to_string()),
                    _ => EngineError::Internal(e.to_string()),
                })
        })
    }

    fn detach(
        &self,
        network_id: String,
        container_id: String,
    ) -> berth_engine::network::swarm::BoxFuture<()> {
        let c = self.0.upgrade();
        Box::pin(async move {
            if let Some(c) = c {
                c.detach_container(&network_id, &container_id).await;
            }
        })
    }
}

impl From<SwarmError> for ApiError {
    fn from(e: SwarmError) -> Self {
        ApiError {
            status: StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message: e.to_string(),
        }
    }
}

pub fn router(state: SwarmState) -> Router {
    Router::new()
        .route("/swarm", get(inspect))
        .route("/swarm/init", post(init))
        .route("/swarm/join", post(join))
        .route("/swarm/leave", post(leave))
        .route("/swarm/update", post(update))
        .route("/swarm/unlock", post(unlock))
        .route("/swarm/unlockkey", get(unlock_key))
        .route("/nodes", get(nodes))
        .route("/nodes/{id}", get(node).delete(remove_node))
        .route("/nodes/{id}/update", post(update_node))
        .route("/services", get(services))
        .route("/services/create", post(create_service))
        .route("/services/{id}", get(service).delete(remove_service))
        .route("/services/{id}/update", post(update_service))
        .route("/services/{id}/logs", get(service_logs))
        .route("/tasks", get(tasks))
        .route("/tasks/{id}", get(task))
        .route("/tasks/{id}/logs", get(task_logs))
        .route("/secrets", get(secrets))
        .route("/secrets/create", post(create_secret))
        .route("/secrets/{id}", get(secret).delete(remove_secret))
        .route("/secrets/{id}/update", post(update_secret))
        .route("/configs", get(configs))
        .route("/configs/create", post(create_config))
        .route("/configs/{id}", get(config).delete(remove_config))
        .route("/configs/{id}/update", post(update_config))
        .with_state(state)
}

/// moby's `httputils.ReadJSON`: an empty body is an empty object; bad JSON is a 400.
fn body<T: DeserializeOwned + Default>(b: &[u8]) -> R<T> {
    if b.iter().all(|c| c.is_ascii_whitespace()) {
        return Ok(T::default());
    }
    let mut v: serde_json::Value = serde_json::from_slice(b)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?;
    strip_nulls(&mut v);
    serde_json::from_value(v).map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))
}

/// Go clients send `null` for empty maps and slices: the same as absent.
fn strip_nulls(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

fn version(q: &Query, what: &str) -> R<u64> {
    let raw = q.str("version");
    raw.parse().map_err(|_| {
        let why = if raw.is_empty() {
            "strconv.ParseUint: parsing \"\": invalid syntax".to_string()
        } else {
            format!("strconv.ParseUint: parsing \"{raw}\": invalid syntax")
        };
        ApiError::bad_request(format!("invalid {what} version '{raw}': {why}"))
    })
}

fn opt_bool(q: &Query, key: &str) -> R<bool> {
    match q.get(key) {
        None | Some("") => Ok(false),
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "1" | "t" | "true" => Ok(true),
            "0" | "f" | "false" => Ok(false),
            _ => Err(ApiError::bad_request(format!(
                "invalid value for {key}: {v}"
            ))),
        },
    }
}

// ---- /swarm ----------------------------------------------------------------------------

async fn inspect(State(s): State<SwarmState>) -> R<Response> {
    Ok(Json(s.cluster.inspect().await?).into_response())
}

async fn init(State(s): State<SwarmState>, b: Bytes) -> R<Response> {
    let req: InitRequest = body(&b)?;
    let id = s.cluster.init(req).await?;
    Ok(Json(id).into_response())
}

async fn join(State(s): State<SwarmState>, b: Bytes) -> R<StatusCode> {
    let req: JoinRequest = body(&b)?;
    s.cluster.join(req).await?;
    Ok(StatusCode::OK)
}

async fn leave(State(s): State<SwarmState>, RawQuery(q): RawQuery) -> R<StatusCode> {
    let q = Query::parse(q.as_deref());
    s.cluster.leave(q.bool("force")).await?;
    Ok(StatusCode::OK)
}

async fn update(State(s): State<SwarmState>, RawQuery(q): RawQuery, b: Bytes) -> R<StatusCode> {
    let q = Query::parse(q.as_deref());
    let spec: Spec = body(&b)?;
    let v = version(&q, "swarm")?;
    let rw = opt_bool(&q, "rotateWorkerToken")?;
    let rm = opt_bool(&q, "rotateManagerToken")?;
    let ru = opt_bool(&q, "rotateManagerUnlockKey")?;
    s.cluster.update(v, spec, rw, rm, ru).await?;
    Ok(StatusCode::OK)
}

async fn unlock(State(s): State<SwarmState>, b: Bytes) -> R<StatusCode> {
    let req: UnlockRequest = body(&b)?;
    s.cluster.unlock(&req.unlock_key).await?;
    Ok(StatusCode::OK)
}

async fn unlock_key(State(s): State<SwarmState>) -> R<Response> {
    let k = s.cluster.unlock_key().await?;
    Ok(Json(UnlockKeyResponse { unlock_key: k }).into_response())
}

// ---- nodes -------------------------------------------------------------------------------

async fn nodes(State(s): State<SwarmState>, RawQuery(q): RawQuery) -> R<Response> {
    let q = Query::parse(q.as_deref());
    let f = q.filters()?;
    let mut out = s.cluster.nodes().await?;
    out.retain(|n| {
        f.iter().all(|(k, vals)| {
            vals.iter().any(|v| match k.as_str() {
                "id" => n.id.starts_with(v.as_str()),
                "name" => {
                    n.description.hostname.contains(v.as_str()) || n.spec.name.contains(v.as_str())
                }
                "role" => &n.spec.role == v,
                "membership" => v == "accepted",
                "node.label" | "label" => label_match(&n.spec.labels, v),
                _ => true,
            })
        })
    });
    Ok(Json(out).into_response())
}

fn label_match(labels: &std::collections::BTreeMap<String, String>, f: &str) -> bool {
    match f.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(f),
    }
}

async fn node(State(s): State<SwarmState>, Path(id): Path<String>) -> R<Response> {
    Ok(Json(s.cluster.node(&id).await?).into_response())
}

async fn remove_node(
    State(s): State<SwarmState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> R<StatusCode> {
    let q = Query::parse(q.as_deref());
    s.cluster.remove_node(&id, q.bool("force")).await?;
    Ok(StatusCode::OK)
}

async fn update_node(
    State(s): State<SwarmState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    b: Bytes,
) -> R<StatusCode> {
    let q = Query::parse(q.as_deref());
    let spec: NodeSpec = body(&b)?;
    let v = version(&q, "node")?;
    s.cluster.update_node(&id, v, spec).await?;
    Ok(StatusCode::OK)
}

// ---- services ------------------------------------------------------------------------------

async fn services(State(s): State<SwarmState>, RawQuery(q): RawQuery) -> R<Response> {
    let q = Query::parse(q.as_deref());
    let f = q.filters()?;
    let status = opt_bool(&q, "status")?;
    let mut out = s.cluster.services(status).await?;
    out.retain(|svc| {
        f.iter().all(|(k, vals)| {
            vals.iter().any(|v| match k.as_str() {
                "id" => svc.id.starts_with(v.as_str()),
                "name" => svc.spec.name.starts_with(v.as_str()),
                "label" => label_match(&svc.spec.labels, v),
                "mode" => match v.as_str() {
                    "global" => svc.spec.mode.global.is_some(),
                    "replicated" => svc.spec.mode.replicated.is_some(),
                    _ => false,
                },
                _ => true,
            })
        })
    });
    Ok(Json(out).into_response())
}

async fn service(
    State(s): State<SwarmState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> R<Response> {
    let q = Query::parse(q.as_deref());
    let defaults = opt_bool(&q, "insertDefaults")?;
    let mut svc = s.cluster.service(&id).await?;
    if defaults {
        berth_swarm::cluster::insert_defaults(&mut svc.spec);
    }
    Ok(Json(svc).into_response())
}

/// The client's registry credentials (`--with-registry-auth`), as given.
fn registry_auth(h: &axum::http::HeaderMap) -> Option<String> {
    h.get("x-registry-auth")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .filter(|a| !a.is_empty())
}

async fn create_service(
    State(s): State<SwarmState>,
    headers: axum::http::HeaderMap,
    b: Bytes,
) -> R<Response> {
    let spec: ServiceSpec = body(&b)?;
    let id = s
        .cluster
        .create_service(spec, registry_auth(&headers))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ServiceCreateResponse { id, warnings: None }),
    )
        .into_response())
}

async fn update_service(
    State(s): State<SwarmState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: axum::http::HeaderMap,
    b: Bytes,
) -> R<Response> {
    let q = Query::parse(q.as_deref());
    let spec: ServiceSpec = body(&b)?;
    let v = version(&q, "service")?;
    let rollback = q.str("rollback") == "previous";
    s.cluster
        .update_service(&id, v, spec, rollback, registry_auth(&headers))
        .await?;
    Ok(Json(ServiceUpdateResponse { warnings: None }).into_response())
}

async fn remove_service(State(s): State<SwarmState>, Path(id): Path<String>) -> R<StatusCode> {
    s.cluster.remove_service(&id).await?;
    Ok(StatusCode::OK)
}

// ---- tasks -------------------------------------------------------------------------------

async fn tasks(State(s): State<SwarmState>, RawQuery(q): RawQuery) -> R<Response> {
    let q = Query::parse(q.as_deref());
    let f = q.filters()?;
    let mut services = std::collections::HashMap::new();
    if let Some(vals) = f.get("service") {
        for v in vals {
            let svc = s.cluster.service(v).await?;
            services.insert(v.clone(), svc.id);
        }
    }
    let nodes = s.cluster.nodes().await?;
    // A task's labels are its service's (swarmkit's ServiceAnnotations): `stack ps`.
    let all_services = s.cluster.services(false).await?;
    let service_labels: std::collections::HashMap<
        &str,
        &std::collections::BTreeMap<String, String>,
    > = all_services
        .iter()
        .map(|svc| (svc.id.as_str(), &svc.spec.labels))
        .collect();
    // moby's `_up-to-date`: tasks of the service's current spec (the CLI's progress).
    let templates: std::collections::HashMap<&str, &berth_api::swarm::TaskSpec> = all_services
        .iter()
        .map(|svc| (svc.id.as_str(), &svc.spec.task_template))
        .collect();
    let mut out = s.cluster.tasks().await?;
    out.retain(|t| {
        f.iter().all(|(k, vals)| {
            vals.iter().any(|v| match k.as_str() {
                "id" => t.id.starts_with(v.as_str()),
                "service" => services.get(v).is_some_and(|id| *id == t.service_id),
                "node" => {
                    t.node_id.starts_with(v.as_str())
                        || nodes.iter().any(|n| {
                            n.id == t.node_id && (n.description.hostname == *v || v == "self")
                        })
                }
                "desired-state" => &t.desired_state == v,
                "label" => {
                    label_match(&t.labels, v)
                        || service_labels
                            .get(t.service_id.as_str())
                            .is_some_and(|l| label_match(l, v))
                }
                "_up-to-date" => {
                    let fresh = templates
                        .get(t.service_id.as_str())
                        .is_some_and(|spec| **spec == t.spec);
                    fresh == matches!(v.as_str(), "true" | "1")
                }
                "name" => true,
                _ => true,
            })
        })
    });
    Ok(Json(out).into_response())
}

async fn task(State(s): State<SwarmState>, Path(id): Path<String>) -> R<Response> {
    Ok(Json(s.cluster.task(&id).await?).into_response())
}

// ---- logs ----------------------------------------------------------------------------------

async fn service_logs(
    State(s): State<SwarmState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> R<Response> {
    swarm_logs(s, Some(id), None, q).await
}

async fn task_logs(
    State(s): State<SwarmState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> R<Response> {
    swarm_logs(s, None, Some(id), q).await
}

/// The tasks' container logs merged into one stream. With `details` (the docker CLI
/// always asks) each line carries moby's attributes (node, service and task ids) after the
/// timestamp, from which the CLI prints `NAME.SLOT.ID@NODE    | line`.
async fn swarm_logs(
    s: SwarmState,
    service: Option<String>,
    task: Option<String>,
    raw: Option<String>,
) -> R<Response> {
    let q = Query::parse(raw.as_deref());
    if !(q.bool("stdout") || q.bool("stderr")) {
        return Err(ApiError::internal(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let tail = match q.str("tail") {
        "" | "all" => None,
        t => t.parse::<usize>().ok(),
    };
    let since =
        match q.str("since") {
            "" | "0" => None,
            t => Some(berth_engine::container::logs::parse_time(t).ok_or_else(|| {
                ApiError::bad_request(format!("invalid value for \"since\": {t:?}"))
            })?),
        };
    let timestamps = q.bool("timestamps");
    let details = q.bool("details");
    let follow = q.bool("follow");
    let tasks = s
        .cluster
        .containers_of(service.as_deref(), task.as_deref())
        .await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(64);
    for t in tasks {
        let Some(cid) = t
            .status
            .container_status
            .as_ref()
            .map(|c| c.container_id.clone())
        else {
            continue;
        };
        let opts = LogOptions {
            follow,
            stdout: q.bool("stdout"),
            stderr: q.bool("stderr"),
            timestamps,
            since,
            until: None,
            tail,
        };
        let Ok((_tty, mut frames)) = s.engine.logs(&cid, opts).await else {
            continue;
        };
        let attrs = format!(
            "com.docker.swarm.node.id={},com.docker.swarm.service.id={},com.docker.swarm.task.id={}",
            t.node_id, t.service_id, t.id
        );
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(Ok(chunk)) = frames.recv().await {
                let out = if details {
                    with_attrs(&chunk, &attrs, timestamps)
                } else {
                    chunk
                };
                if tx.send(Ok(out)).await.is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    Ok((
        StatusCode::OK,
        [("content-type", "application/vnd.docker.multiplexed-stream")],
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)),
    )
        .into_response())
}

/// Rewrites multiplexed frames, inserting `attrs ` after the timestamp (if any).
fn with_attrs(chunk: &[u8], attrs: &str, timestamps: bool) -> Bytes {
    let mut out = Vec::with_capacity(chunk.len() + 128);
    let mut rest = chunk;
    while rest.len() >= 8 {
        let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        let Some(payload) = rest.get(8..8 + len) else {
            break;
        };
        let (ts, line) = if timestamps {
            match payload.iter().position(|b| *b == b' ') {
                Some(i) => payload.split_at(i + 1),
                None => (&payload[..0], payload),
            }
        } else {
            (&payload[..0], payload)
        };
        let mut p = ts.to_vec();
        p.extend_from_slice(attrs.as_bytes());
        p.push(b' ');
        p.extend_from_slice(line);
        out.push(rest[0]);
        out.extend_from_slice(&[0, 0, 0]);
        out.extend_from_slice(&(p.len() as u32).to_be_bytes());
        out.extend_from_slice(&p);
        rest = &rest[8 + len..];
    }
    Bytes::from(out)
}

// ---- secrets and configs -------------------------------------------------------------------

async fn secrets(State(s): State<SwarmState>, RawQuery(q): RawQuery) -> R<Response> {
    list_secrets(s, q, false).await
}
async fn configs(State(s): State<SwarmState>, RawQuery(q): RawQuery) -> R<Response> {
    list_secrets(s, q, true).await
}

async fn list_secrets(s: SwarmState, q: Option<String>, config: bool) -> R<Response> {
    let q = Query::parse(q.as_deref());
    let f = q.filters()?;
    let mut out = s.cluster.secrets(config).await?;
    out.retain(|x| {
        f.iter().all(|(k, vals)| {
            vals.iter().any(|v| match k.as_str() {
                "id" => x.id.starts_with(v.as_str()),
                "name" => x.spec.name.starts_with(v.as_str()),
                "label" => label_match(&x.spec.labels, v),
                _ => true,
            })
        })
    });
    Ok(Json(out).into_response())
}

async fn create_secret(State(s): State<SwarmState>, b: Bytes) -> R<Response> {
    let spec: SecretSpec = body(&b)?;
    let id = s.cluster.create_secret(spec, false).await?;
    Ok((StatusCode::CREATED, Json(IdResponse { id })).into_response())
}
async fn create_config(State(s): State<SwarmState>, b: Bytes) -> R<Response> {
    let spec: SecretSpec = body(&b)?;
    let id = s.cluster.create_secret(spec, true).await?;
    Ok((StatusCode::CREATED, Json(IdResponse { id })).into_response())
}

async fn secret(State(s): State<SwarmState>, Path(id): Path<String>) -> R<Response> {
    Ok(Json(s.cluster.secret(&id, false).await?).into_response())
}
async fn config(State(s): State<SwarmState>, Path(id): Path<String>) -> R<Response> {
    Ok(Json(s.cluster.secret(&id, true).await?).into_response())
}

async fn remove_secret(State(s): State<SwarmState>, Path(id): Path<String>) -> R<StatusCode> {
    s.cluster.remove_secret(&id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
async fn remove_config(State(s): State<SwarmState>, Path(id): Path<String>) -> R<StatusCode> {
    s.cluster.remove_secret(&id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn update_secret(
    State(s): State<SwarmState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    b: Bytes,
) -> R<StatusCode> {
    let q = Query::parse(q.as_deref());
    let spec: SecretSpec = body(&b)?;
    let v = q
        .str("version")
        .parse()
        .map_err(|_| ApiError::bad_request("invalid secret version"))?;
    s.cluster.update_secret(&id, v, spec, false).await?;
    Ok(StatusCode::OK)
}
async fn update_config(
    State(s): State<SwarmState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    b: Bytes,
) -> R<StatusCode> {
    let q = Query::parse(q.as_deref());
    let spec: SecretSpec = body(&b)?;
    let v = q
        .str("version")
        .parse()
        .map_err(|_| ApiError::bad_request("invalid config version"))?;
    s.cluster.update_secret(&id, v, spec, true).await?;
    Ok(StatusCode::OK)
}
