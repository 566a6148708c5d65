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
use berth_api::models::{
    non_empty, ConfigReference, NetworkConnectBody, NetworkCreateBody, NetworkCreateResponse,
    NetworkDisconnectBody, NetworkInspect, NetworkIpamConfig, NetworkIpamInfo,
    NetworkPruneResponse,
};
use berth_api::swarm::{Driver, IpamConfig, IpamOptions, Network, NetworkSpec};

pub async fn list(
    State(engine): State<AppState>,
    Extension(swarm): Extension<SwarmState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Vec<NetworkInspect>>> {
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
    Ok(Json(out))
}

pub async fn inspect(
    State(engine): State<AppState>,
    Extension(swarm): Extension<SwarmState>,
    Path(id): Path<String>,
) -> ApiResult<Json<NetworkInspect>> {
    match engine.network_inspect(&id).await {
        Ok(v) => Ok(Json(v)),
        Err(e) => match swarm.cluster.network(&id).await {
            Ok(n) => Ok(Json(swarm_json(&n))),
            Err(_) => Err(e.into()),
        },
    }
}

/// A swarm network as `GET /networks` shows it on a node without a copy of it.
fn swarm_json(n: &Network) -> NetworkInspect {
    let configs = n
        .ipam_options
        .as_ref()
        .map(|i| {
            i.configs
                .iter()
                .map(|c| NetworkIpamConfig {
                    subnet: Some(c.subnet.clone()),
                    gateway: Some(c.gateway.clone()),
                    ..Default::default()
                })
                .collect()
        })
        .unwrap_or_default();
    NetworkInspect {
        name: n.spec.name.clone(),
        id: n.id.clone(),
        created: n.meta.created_at.clone(),
        scope: "swarm".into(),
        driver: n.driver_state.name.clone(),
        enable_ipv4: true,
        enable_ipv6: n.spec.ipv6_enabled,
        ipam: NetworkIpamInfo {
            driver: "default".into(),
            options: None,
            config: Some(configs),
        },
        internal: n.spec.internal,
        attachable: n.spec.attachable,
        ingress: n.spec.ingress,
        config_from: ConfigReference::default(),
        config_only: false,
        containers: None,
        options: n.driver_state.options.clone().unwrap_or_default(),
        labels: n.spec.labels.clone(),
    }
}

/// The create body of an overlay network as the swarm's spec.
fn swarm_spec(v: &NetworkCreateBody) -> ApiResult<NetworkSpec> {
    let req = berth_engine::network::api::parse_create(v)?;
    if v.config_only.unwrap_or(false)
        || v.config_from
            .as_ref()
            .is_some_and(|c| !c.network.is_empty())
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
        ingress: v.ingress.unwrap_or(false),
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
    let v: NetworkCreateBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?;
    let active = swarm.cluster.info().await.local_node_state == "active";
    // moby 28's createNetwork: the name, then ValidateIPAM, then libnetwork's checks.
    berth_engine::network::api::validate_create(&v)?;
    berth_engine::network::api::check_create(&v, active)?;
    // A configuration-only network is local whatever its driver (libnetwork resets it).
    if v.driver == "overlay" && !v.config_only.unwrap_or(false) {
        if v.pools()
            .iter()
            .any(|c| c.aux_addresses.as_ref().is_some_and(|a| !a.is_empty()))
        {
            return Err(ApiError::bad_request(
                "berth's swarm networks take no AuxiliaryAddresses (--aux-address)",
            ));
        }
        let id = swarm.cluster.create_network(swarm_spec(&v)?).await?;
        return Ok((StatusCode::CREATED, Json(created(id))).into_response());
    }
    let req = berth_engine::network::api::parse_create(&v)?;
    let rec = engine.network_create(req).await?;
    Ok((StatusCode::CREATED, Json(created(rec.id))).into_response())
}

fn created(id: String) -> NetworkCreateResponse {
    NetworkCreateResponse {
        id,
        warning: String::new(),
    }
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
) -> ApiResult<Json<NetworkPruneResponse>> {
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
    Ok(Json(NetworkPruneResponse {
        networks_deleted: non_empty(deleted),
    }))
}

/// A JSON body, the default one when the body is empty.
fn body_or_default<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> ApiResult<T> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))
}

/// `POST /networks/{id}/connect`: `{"Container", "EndpointConfig"}`.
pub async fn connect(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    let body: NetworkConnectBody = body_or_default(&body)?;
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
    let body: NetworkDisconnectBody = body_or_default(&body)?;
    engine
        .network_disconnect(&id, &body.container, body.force)
        .await?;
    Ok(StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// A swarm network as `swarm_json` built it before the typed model (json!).
    fn swarm_json_before(n: &Network) -> Value {
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

    #[test]
    fn typed_swarm_network_is_the_same_bytes() {
        let bare = Network {
            id: "n1".into(),
            ..Default::default()
        };
        let mut full = bare.clone();
        full.meta.created_at = "2026-12-06T08:00:00.1Z".into();
        full.spec.name = "ov".into();
        full.spec.labels = [("b".to_string(), "1".to_string()), ("a".into(), "2".into())].into();
        full.spec.ipv6_enabled = true;
        full.spec.attachable = true;
        full.spec.ingress = true;
        full.driver_state = Driver {
            name: "overlay".into(),
            options: Some(
                [(
                    "com.docker.network.driver.overlay.vxlanid_list".to_string(),
                    "4097".to_string(),
                )]
                .into(),
            ),
        };
        full.ipam_options = Some(IpamOptions {
            driver: Driver::default(),
            configs: vec![
                IpamConfig {
                    subnet: "10.0.1.0/24".into(),
                    range: String::new(),
                    gateway: "10.0.1.1".into(),
                },
                IpamConfig::default(),
            ],
        });
        for n in [&bare, &full] {
            assert_eq!(
                serde_json::to_string(&swarm_json(n)).unwrap(),
                serde_json::to_string(&swarm_json_before(n)).unwrap()
            );
        }
    }

    #[test]
    fn typed_prune_answers_are_the_same_bytes() {
        for deleted in [vec![], vec!["a".to_string(), "b".to_string()]] {
            let before = json!({
                "NetworksDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) },
            });
            let typed = NetworkPruneResponse {
                networks_deleted: non_empty(deleted.clone()),
            };
            assert_eq!(
                serde_json::to_string(&typed).unwrap(),
                serde_json::to_string(&before).unwrap()
            );
            for reclaimed in [0u64, 1 << 40] {
                let before = |k: &str| {
                    let mut o = serde_json::Map::new();
                    o.insert(
                        k.into(),
                        if deleted.is_empty() {
                            Value::Null
                        } else {
                            json!(deleted)
                        },
                    );
                    o.insert("SpaceReclaimed".into(), json!(reclaimed));
                    serde_json::to_string(&Value::Object(o)).unwrap()
                };
                let c = berth_api::models::ContainerPruneResponse {
                    containers_deleted: non_empty(deleted.clone()),
                    space_reclaimed: reclaimed,
                };
                assert_eq!(
                    serde_json::to_string(&c).unwrap(),
                    before("ContainersDeleted")
                );
                let v = berth_api::models::VolumePruneResponse {
                    volumes_deleted: non_empty(deleted.clone()),
                    space_reclaimed: reclaimed,
                };
                assert_eq!(serde_json::to_string(&v).unwrap(), before("VolumesDeleted"));
            }
        }
    }
}
