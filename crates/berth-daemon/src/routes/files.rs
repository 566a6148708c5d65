//! A container's files: `/containers/{id}/archive` (HEAD stat, GET tar, PUT extract),
//! `/containers/{id}/export`, `/containers/{id}/changes` and `POST /commit`.

use super::images::{body_reader, ChannelWriter};
use super::AppState;
use crate::error::ApiResult;
use crate::query::Query;
use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::models::{FilesystemChange, IdResponse};
use berth_api::pathstat::HEADER;
use berth_engine::container::files::{ArchiveSource, CommitOptions, PutOptions};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

fn stat_header(resp: &mut Response, stat: &berth_api::pathstat::PathStat) {
    if let Ok(v) = HeaderValue::from_str(&stat.encode()) {
        resp.headers_mut().insert(HEADER, v);
    }
}

/// Streams an archive as the response body; a failure mid-stream cuts the body short.
fn stream(src: ArchiveSource) -> Body {
    let (tx, rx) = mpsc::channel(16);
    let err_tx = tx.clone();
    tokio::spawn(async move {
        if let Err(e) = src.write_to(ChannelWriter { tx }).await {
            tracing::warn!(error = %e, "archive stream failed");
            let _ = err_tx.send(Err(std::io::Error::other(e.to_string()))).await;
        }
    });
    Body::from_stream(ReceiverStream::new(rx))
}

pub async fn archive_head(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let stat = engine.archive_stat(&id, q.str("path")).await?;
    let mut resp = StatusCode::OK.into_response();
    stat_header(&mut resp, &stat);
    Ok(resp)
}

pub async fn archive_get(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let (stat, src) = engine.archive_get(&id, q.str("path")).await?;
    let mut resp = ([(header::CONTENT_TYPE, "application/x-tar")], stream(src)).into_response();
    stat_header(&mut resp, &stat);
    Ok(resp)
}

pub async fn archive_put(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    req: Request,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    // An early error leaves the upload to the server's drain (accept.rs).
    engine.get(&id)?;
    let opts = PutOptions {
        no_overwrite_dir_non_dir: q.bool("noOverwriteDirNonDir"),
        copy_uid_gid: q.bool("copyUIDGID"),
    };
    engine
        .archive_put(&id, q.str("path"), body_reader(req), opts)
        .await?;
    Ok(StatusCode::OK.into_response())
}

pub async fn export(State(engine): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let src = engine.export(&id).await?;
    Ok(([(header::CONTENT_TYPE, "application/x-tar")], stream(src)).into_response())
}

pub async fn changes(
    State(engine): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<FilesystemChange>>> {
    let changes = engine.changes(&id).await?;
    Ok(Json(
        changes
            .iter()
            .map(|c| FilesystemChange {
                path: c.path.clone(),
                kind: c.kind,
            })
            .collect(),
    ))
}

pub async fn commit(State(engine): State<AppState>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let reference = match (
        q.get("repo").filter(|r| !r.is_empty()),
        q.get("tag").filter(|t| !t.is_empty()),
    ) {
        (Some(r), Some(t)) => Some(format!("{r}:{t}")),
        (Some(r), None) => Some(r.to_string()),
        _ => None,
    };
    let opts = CommitOptions {
        reference,
        author: q.str("author").to_string(),
        comment: q.str("comment").to_string(),
        changes: q.all("changes"),
        // As moby for API >= 1.13: pause unless told otherwise.
        pause: q.get("pause").is_none_or(|p| p.is_empty()) || q.bool("pause"),
    };
    let id = engine.commit(q.str("container"), opts).await?;
    Ok((StatusCode::CREATED, Json(IdResponse { id })).into_response())
}
