//! The Engine API router. Paths may carry a `/v1.NN` prefix; a middleware strips it
//! (checking the version) before routing, so each route is declared once, and keeps the
//! version in the request's extensions: a handler that answers per version takes a
//! [`Version`] argument.
//!
//! Versions outside 1.24–1.47 are refused with Docker's messages; every answer carries
//! `Api-Version`, `Ostype`, `Server` and `Docker-Experimental`. Answers are shaped per
//! version as moby 28's `versions.LessThan` gates shape them: volume prune removes named
//! volumes below 1.42; image list shows `<none>:<none>` below 1.43 and `VirtualSize` below
//! 1.44; image inspect `VirtualSize` below 1.44, `Container`/`ContainerConfig`
//! (`LegacyContainerConfig`, from the image config's `container_config`) below 1.45 and the
//! legacy `Config` fields below 1.50 (so always); container inspect adds the short id and
//! hostname to user networks' `Aliases` below 1.45; `/info` carries the legacy fields per
//! version (`ExecutionDriver` and names-only `SecurityOptions` below 1.25,
//! `RegistryConfig`'s non-distributable lists below 1.47). Every whole JSON answer, errors
//! included, ends with a newline (moby's WriteJSON is a json.Encoder: `json_newline`).

mod build;
mod clean;
mod containers;
mod distribution;
mod exec;
mod files;
mod images;
mod networks;
mod observe;
mod stream;
pub mod swarm;
mod system;
mod volumes;
mod ws;

use crate::error::ApiError;
use axum::extract::Request;
use axum::http::{HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use berth_api::version::{ApiVersion, API_VERSION, BERTH_VERSION, MIN_API_VERSION};
use berth_engine::Engine;
use std::sync::Arc;

pub type AppState = Arc<Engine>;
pub use system::mem_total;

/// The client connection's descriptor, for hijacked sessions (see `stream::splice_upgraded`:
/// it asks the kernel whether the client has read our response head yet).
#[derive(Clone, Copy, Debug)]
pub struct ConnFd(pub i32);

/// The connection descriptor of a request, when it came through our listener.
pub fn conn_fd(req: &axum::extract::Request) -> Option<i32> {
    req.extensions()
        .get::<axum::extract::ConnectInfo<ConnFd>>()
        .map(|c| c.0 .0)
}

pub fn router(engine: Arc<Engine>, swarm: swarm::SwarmState) -> Router {
    Router::new()
        .route("/_ping", get(system::ping).head(system::ping))
        .route("/version", get(system::version))
        .route("/info", get(system::info))
        .route("/plugins", get(system::plugins))
        .route("/plugins/{name}/json", get(system::no_plugin))
        .route("/plugins/{name}", axum::routing::delete(system::no_plugin))
        .route("/containers/create", post(containers::create))
        .route("/containers/json", get(containers::list))
        .route("/containers/prune", post(containers::prune))
        .route("/containers/{id}/json", get(containers::inspect))
        .route(
            "/containers/{id}/{alias}/json",
            get(containers::inspect_link),
        )
        .route("/containers/{id}/start", post(containers::start))
        .route("/containers/{id}/stop", post(containers::stop))
        .route("/containers/{id}/restart", post(containers::restart))
        .route("/containers/{id}/kill", post(containers::kill))
        .route("/containers/{id}/wait", post(containers::wait))
        .route("/containers/{id}/rename", post(containers::rename))
        .route("/containers/{id}/attach", post(containers::attach))
        .route("/containers/{id}/attach/ws", get(ws::attach))
        .route("/containers/{id}/logs", get(containers::logs))
        .route("/containers/{id}/resize", post(containers::resize))
        .route("/containers/{id}/exec", post(exec::create))
        .route("/exec/{id}/start", post(exec::start))
        .route("/exec/{id}/resize", post(exec::resize))
        .route("/exec/{id}/json", get(exec::inspect))
        .route("/containers/{id}/top", get(observe::top))
        .route("/containers/{id}/stats", get(observe::stats))
        .route("/containers/{id}/pause", post(observe::pause))
        .route("/containers/{id}/unpause", post(observe::unpause))
        .route("/containers/{id}/update", post(observe::update))
        .route("/events", get(observe::events))
        .route("/system/df", get(observe::system_df))
        .route("/networks", get(networks::list))
        .route("/networks/create", post(networks::create))
        .route("/networks/prune", post(networks::prune))
        .route("/networks/{id}/connect", post(networks::connect))
        .route("/networks/{id}/disconnect", post(networks::disconnect))
        .route(
            "/networks/{id}",
            get(networks::inspect).delete(networks::remove),
        )
        .route("/volumes", get(volumes::list))
        .route("/volumes/create", post(volumes::create))
        .route("/volumes/prune", post(volumes::prune))
        .route(
            "/volumes/{name}",
            get(volumes::inspect).delete(volumes::remove),
        )
        .route("/build/prune", post(observe::build_prune))
        .route("/build", post(build::build))
        .route(
            "/containers/{id}/archive",
            get(files::archive_get)
                .head(files::archive_head)
                .put(files::archive_put),
        )
        .route("/containers/{id}/export", get(files::export))
        .route("/containers/{id}/changes", get(files::changes))
        .route("/commit", post(files::commit))
        .route(
            "/containers/{id}",
            axum::routing::delete(containers::remove),
        )
        // `rm --link /me/alias`: the docker CLI puts the link name in the path as is.
        .route(
            "/containers/{id}/{alias}",
            axum::routing::delete(containers::remove_link),
        )
        .route("/images/json", get(images::list))
        .route("/images/load", post(images::load))
        .route("/images/get", get(images::save_many))
        .route("/images/create", post(images::create))
        .route("/images/prune", post(images::prune))
        .route("/images/search", get(distribution::search))
        .route("/auth", post(distribution::auth))
        // Names contain slashes: the catch-all ends with `/json`.
        .route("/distribution/{*rest}", get(distribution::inspect))
        // Image names contain slashes: one catch-all per method, dispatched on the suffix.
        .route(
            "/images/{*rest}",
            get(images::get_dispatch)
                .post(images::post_dispatch)
                .delete(images::remove),
        )
        .fallback(not_found)
        .with_state(engine)
        .merge(swarm::router(swarm.clone()))
        .layer(axum::Extension(swarm))
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("page not found: {}", uri.path()))
}

/// The API version of a request: its `/v1.NN` prefix, else the current one (moby's
/// `httputils.VersionFromContext`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Version(pub ApiVersion);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Version {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Version(
            parts
                .extensions
                .get::<ApiVersion>()
                .copied()
                .unwrap_or_default(),
        ))
    }
}

/// Redirects a path that is not clean ([`clean`], as gorilla/mux: a bare 301), strips
/// `/v1.NN`, refuses versions out of range, keeps the version in the request's extensions
/// ([`Version`]), and adds Docker's headers to every answer (whose JSON body ends with a
/// newline, [`json_newline`]).
pub async fn version_layer(req: Request, next: Next) -> Response {
    // gorilla/mux redirects a path that is not clean before any route or middleware.
    if let Some(redirect) = clean::redirect(req.uri()) {
        return redirect;
    }
    with_headers(json_newline(versioned(req, next).await).await)
}

/// The largest JSON body [`json_newline`] completes (inspect and list answers are far
/// smaller; a bigger one is left as it is rather than buffered twice).
const JSON_NEWLINE_MAX: u64 = 64 << 20;

/// moby writes every JSON answer, errors included, with httputils.WriteJSON: a
/// json.Encoder, which ends the body with "\n". Handlers here answer through axum's `Json`,
/// [`ApiError`] or a string; this adds the newline to every whole (not streamed) JSON body
/// that lacks it. Streams (events, pull and build progress, logs) are left alone: their
/// messages end their own lines.
async fn json_newline(resp: Response) -> Response {
    use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
    use hyper::body::Body as _;
    let json = resp
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let len = match resp.body().size_hint().exact() {
        Some(n) if json && n > 0 && n <= JSON_NEWLINE_MAX => n,
        _ => return resp,
    };
    let (mut parts, body) = resp.into_parts();
    let bytes = match axum::body::to_bytes(body, len as usize).await {
        Ok(b) => b,
        Err(e) => return ApiError::internal(e.to_string()).into_response(),
    };
    if bytes.ends_with(b"\n") {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    }
    let mut v = Vec::with_capacity(bytes.len() + 1);
    v.extend_from_slice(&bytes);
    v.push(b'\n');
    // The length changed: hyper writes the new one from the body.
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(v))
}

async fn versioned(mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if let Some(rest) = path.strip_prefix("/v") {
        let (ver, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if let Some(v) = ApiVersion::parse(ver) {
            if v < ApiVersion::MIN {
                return ApiError::bad_request(format!(
                    "client version {ver} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
                ))
                .into_response();
            }
            if v > ApiVersion::CURRENT {
                return ApiError::bad_request(format!(
                    "client version {ver} is too new. Maximum supported API version is {API_VERSION}"
                ))
                .into_response();
            }
            let new_path = if tail.is_empty() { "/" } else { tail };
            let pq = match req.uri().query() {
                Some(q) => format!("{new_path}?{q}"),
                None => new_path.to_string(),
            };
            if let Ok(uri) = pq.parse::<Uri>() {
                *req.uri_mut() = uri;
            }
            req.extensions_mut().insert(v);
        }
    }
    next.run(req).await
}

fn with_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert("api-version", HeaderValue::from_static(API_VERSION));
    h.insert("docker-experimental", HeaderValue::from_static("false"));
    h.insert("ostype", HeaderValue::from_static("linux"));
    if let Ok(v) = HeaderValue::from_str(&format!("berth/{BERTH_VERSION} (linux)")) {
        h.insert("server", v);
    }
    resp
}
