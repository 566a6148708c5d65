//! `/networks`: create, list, inspect, remove, prune, connect, disconnect. Swarm-scoped
//! (overlay) networks are the swarm's: created and removed through it, listed from it
//! (this node's copy, when it has one, shows its containers).

use super::swarm::SwarmState;
use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::models::NetworkConnectBody;
use berth_api::swarm::{Driver, IpamConfig, IpamOptions, Network, NetworkSpec};
use serde_json::{json, Value};

pub async fn list(
    State(engine): State<AppState>,
    Extension(swarm): Extension<SwarmState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let f = Query::parse(q.as_deref()).filters()?;
    let mut out = engine.network_list(&f).await?;
    // The swarm's networks this node has no copy of.
    if let Ok(nets) = swarm.cluster.networks().await {
        let local = engine.swarm_network_ids();
        let mut extra: Vec<&Network> = nets.iter().filter(|n| !local.contains(&n.id)).collect();
        extra.sort_by(|a, b| a.meta.created_at.cmp(&b.meta.created_at));
        for n in extra {
            let v = swarm_json(n);
            if berth_engine::network::api::matches(&v, &f, true)? {
                out.push(v);
            }
        }
    }
    Ok(Json(json!(out)))
}

pub async fn inspect(
    State(engine): State<AppState>,
    Extension(swarm): Extension<SwarmState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    match engine.network_inspect(&id).await {
        Ok(v) => Ok(Json(v)),
        Err(e) => match swarm.cluster.network(&id).await {
            Ok(n) => Ok(Json(swarm_json(&n))),
            Err(_) => Err(e.into()),
        },
    }
}

/// A swarm network as `GET /networks` shows it on a node without a copy of it.
fn swarm_json(n: &Network) -> Value {
    let configs: Vec<Value> = n
        .ipam_options
        .as_ref()
        .map(|i| {
            i.configs
                .iter()
                .map(|c| json!({"Subnet": c.subnet, "Gateway": c.gateway}))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "Name": n.spec.name,
        "Id": n.id,
        "Created": n.meta.created_at,
        "Scope": "swarm",
        "Driver": n.driver_state.name,
        "EnableIPv4": true,
        "EnableIPv6": n.spec.ipv6_enabled,
        "IPAM": {"Driver": "default", "Options": null, "Config": configs},
        "Internal": n.spec.internal,
        "Attachable": n.spec.attachable,
        "Ingress": n.spec.ingress,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": null,
        "Options": n.driver_state.options.clone().unwrap_or_default(),
        "Labels": n.spec.labels,
    })
}

/// The create body of an overlay network as the swarm's spec.
fn swarm_spec(v: &Value) -> ApiResult<NetworkSpec> {
    let req = berth_engine::network::api::parse_create(v)?;
    if v.get("ConfigOnly")
        .and_then(|c| c.as_bool())
        .unwrap_or(false)
        || v.get("ConfigFrom")
            .and_then(|c| c.get("Network"))
            .and_then(|n| n.as_str())
            .is_some_and(|n| !n.is_empty())
    {
        return Err(ApiError::bad_request(
            "config-only and config-from networks are not supported by berth",
        ));
    }
    let configs = match &req.subnet {
        Some(s) => vec![IpamConfig {
            subnet: s.clone(),
            range: req.ip_range.clone().unwrap_or_default(),
            gateway: req.gateway.clone().unwrap_or_default(),
        }],
        None => Vec::new(),
    };
    Ok(NetworkSpec {
        name: req.name,
        labels: req.labels,
        driver_configuration: Some(Driver {
            name: "overlay".into(),
            options: (!req.options.is_empty()).then_some(req.options),
        }),
        ipv6_enabled: req.enable_ipv6,
        internal: req.internal,
        attachable: req.attachable,
        ingress: v.get("Ingress").and_then(|i| i.as_bool()).unwrap_or(false),
        ipam_options: Some(IpamOptions {
            driver: Driver {
                name: "default".into(),
                options: (!req.ipam_options.is_empty()).then_some(req.ipam_options),
            },
            configs,
        }),
        config_from: None,
        scope: "swarm".into(),
    })
}

pub async fn create(
    State(engine): State<AppState>,
    Extension(swarm): Extension<SwarmState>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?;
    let driver = v.get("Driver").and_then(|d| d.as_str()).unwrap_or("");
    let scope = v.get("Scope").and_then(|d| d.as_str()).unwrap_or("");
    if driver == "overlay" {
        let id = swarm.cluster.create_network(swarm_spec(&v)?).await?;
        return Ok((
            StatusCode::CREATED,
            Json(json!({ "Id": id, "Warning": "" })),
        )
            .into_response());
    }
    if scope == "swarm" || scope == "global" {
        return Err(ApiError::bad_request(format!(
            "berth has swarm-scoped networks with the overlay driver only, not \"{driver}\""
        )));
    }
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
    Extension(swarm): Extension<SwarmState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    // A local network of that name or id first, as moby looks them up.
    if !engine.is_local_network(&id) {
        if let Ok(n) = swarm.cluster.network(&id).await {
            swarm.cluster.remove_network(&n.id).await?;
            return Ok(StatusCode::NO_CONTENT);
        }
    }
    engine.network_remove(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn prune(
    State(engine): State<AppState>,
    Extension(swarm): Extension<SwarmState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Value>> {
    let f = Query::parse(q.as_deref()).filters()?;
    let mut deleted = engine.network_prune(&f).await?;
    // Unused swarm networks go too (not the ingress network), as moby prunes them.
    if let Ok(nets) = swarm.cluster.networks().await {
        for n in nets.iter().filter(|n| !n.spec.ingress) {
            if let Some(l) = f.get("label") {
                if !berth_api::filters::labels_match(&n.spec.labels, l) {
                    continue;
                }
            }
            if let Some(l) = f.get("label!") {
                if berth_api::filters::labels_match(&n.spec.labels, l) {
                    continue;
                }
            }
            if swarm.cluster.remove_network(&n.id).await.is_ok() {
                deleted.push(n.spec.name.clone());
            }
        }
    }
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
