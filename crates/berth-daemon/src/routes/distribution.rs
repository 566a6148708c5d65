//! Registry routes: `POST /images/create?fromImage=` (pull), `POST /images/{name}/push`,
//! `POST /auth`, `GET /images/search`, `GET /distribution/{name}/json` (the registry's
//! descriptor and platforms for a name, credentials from `X-Registry-Auth`; an undecodable
//! header counts as none, as moby's). Pull and push answer Docker's JSON progress stream; an error that comes
//! before the first message is a plain error answer with its status, as moby's.

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::models::{AuthResponse, JsonMessage};
use berth_engine::{AuthConfig, PullMessage};
use tokio::sync::mpsc;

fn registry_auth(headers: &HeaderMap) -> AuthConfig {
    headers
        .get("x-registry-auth")
        .and_then(|v| v.to_str().ok())
        .map(AuthConfig::from_header)
        .unwrap_or_default()
}

fn line(v: &JsonMessage) -> Bytes {
    let mut b = serde_json::to_vec(v).unwrap_or_default();
    b.extend_from_slice(b"\r\n");
    Bytes::from(b)
}

/// Waits for the first message: an early error becomes the answer's status; otherwise the
/// rest streams, a late error as `errorDetail`.
async fn stream(mut rx: mpsc::Receiver<PullMessage>) -> ApiResult<Response> {
    let first = match rx.recv().await {
        None => return Ok(([(header::CONTENT_TYPE, "application/json")], "").into_response()),
        Some(Err(e)) => return Err(e.into()),
        Some(Ok(v)) => v,
    };
    let (tx, out) = mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    tokio::spawn(async move {
        if tx.send(Ok(line(&first))).await.is_err() {
            return;
        }
        while let Some(m) = rx.recv().await {
            let v = match m {
                Ok(v) => v,
                Err(e) => JsonMessage::error(e.to_string(), None),
            };
            if tx.send(Ok(line(&v))).await.is_err() {
                return;
            }
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(out)),
    )
        .into_response())
}

pub async fn pull(
    engine: AppState,
    q: &Query,
    headers: &HeaderMap,
    image: &str,
) -> ApiResult<Response> {
    let tag = q.str("tag").to_string();
    let platform = q
        .get("platform")
        .filter(|p| !p.is_empty())
        .map(str::to_string);
    let auth = registry_auth(headers);
    let image = image.to_string();
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(async move {
        engine.pull(&image, &tag, platform, auth, tx).await;
    });
    stream(rx).await
}

pub async fn push(
    engine: AppState,
    ver: berth_api::version::ApiVersion,
    q: &Query,
    headers: &HeaderMap,
    name: &str,
) -> ApiResult<Response> {
    let tag = q.str("tag").to_string();
    // `platform` (API 1.46+, a JSON OCI platform; older clients' stray value is ignored, as
    // moby does): the image must be of that platform, checked before anything is sent
    // (moby's GetImage with the platform: a 404 naming both).
    if !ver.below(46) {
        if let Some(p) = q.get("platform").filter(|p| !p.is_empty()) {
            let want = decode_platform(p)?;
            let local = if tag.is_empty() {
                name.to_string()
            } else {
                format!("{name}:{tag}")
            };
            let full = berth_image::Reference::parse_normalized(name)
                .map(|r| match tag.as_str() {
                    "" => r.to_string(),
                    t => r.with_tag(t).to_string(),
                })
                .unwrap_or_else(|_| local.clone());
            engine
                .images
                .check_platform_as(&local, &full, &want)
                .await?;
        }
    }
    let auth = registry_auth(headers);
    let name = name.to_string();
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(async move {
        engine.push(&name, &tag, auth, tx).await;
    });
    stream(rx).await
}

/// moby's `httputils.DecodePlatform`: a JSON OCI platform with its OS and architecture,
/// as `os/arch[/variant]`.
pub fn decode_platform(p: &str) -> ApiResult<String> {
    #[derive(serde::Deserialize)]
    struct Platform {
        #[serde(default)]
        os: String,
        #[serde(default)]
        architecture: String,
        #[serde(default)]
        variant: String,
        #[serde(default, rename = "os.version")]
        os_version: String,
        #[serde(default, rename = "os.features")]
        os_features: Vec<String>,
    }
    let v: Platform = serde_json::from_str(p)
        .map_err(|e| ApiError::bad_request(format!("failed to parse platform: {e}")))?;
    let optional = !v.variant.is_empty() || !v.os_version.is_empty() || !v.os_features.is_empty();
    if v.os.is_empty() && v.architecture.is_empty() && optional {
        return Err(ApiError::bad_request(
            "optional platform fields provided, but OS and Architecture are missing",
        ));
    }
    if v.os.is_empty() || v.architecture.is_empty() {
        return Err(ApiError::bad_request(
            "both OS and Architecture must be provided",
        ));
    }
    Ok(if v.variant.is_empty() {
        format!("{}/{}", v.os, v.architecture)
    } else {
        format!("{}/{}/{}", v.os, v.architecture, v.variant)
    })
}

/// GET /distribution/{name}/json
pub async fn inspect(
    axum::extract::State(engine): axum::extract::State<AppState>,
    axum::extract::Path(rest): axum::extract::Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<berth_engine::DistributionInspect>> {
    let Some(name) = rest.strip_suffix("/json") else {
        return Err(ApiError::not_found(format!(
            "page not found: /distribution/{rest}"
        )));
    };
    let found = engine
        .distribution_inspect(name, registry_auth(&headers))
        .await?;
    Ok(Json(found))
}

/// POST /auth
pub async fn auth(
    axum::extract::State(engine): axum::extract::State<AppState>,
    body: Bytes,
) -> ApiResult<Json<AuthResponse>> {
    let a: AuthConfig = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid auth configuration: {e}")))?;
    let token = engine.login(a.normalized()).await?;
    Ok(Json(AuthResponse {
        status: "Login Succeeded".into(),
        identity_token: token,
    }))
}

/// GET /images/search?term=&limit=&filters=: the term's index, filtered (moby's checks: the
/// limit's syntax, the filters, then the limit's range, 25 when not given).
pub async fn search(
    axum::extract::State(engine): axum::extract::State<AppState>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<berth_engine::SearchResult>>> {
    let q = Query::parse(raw.as_deref());
    let limit = match q.get("limit") {
        None | Some("") => 0,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => n,
            Ok(_) => return Err(ApiError::bad_request("invalid limit specified")),
            Err(_) => {
                return Err(ApiError::bad_request(format!(
                    "invalid limit specified: strconv.Atoi: parsing \"{v}\": invalid syntax"
                )))
            }
        },
    };
    let f = q.filters()?;
    let filters =
        berth_engine::SearchFilters::parse(f.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let found = engine
        .search(
            q.str("term").to_string(),
            limit,
            filters,
            registry_auth(&headers),
        )
        .await?;
    Ok(Json(found))
}
