//! `POST /build`: the classic builder's endpoint. The body is the context tar (maybe
//! gzip-compressed); the answer is docker's JSON message stream. Errors found before the
//! first step (a missing or malformed Dockerfile, an unknown target) are a plain error
//! answer, as dockerd gives them; later ones end the stream with an `errorDetail` line.

use super::images::body_reader;
use super::AppState;
use crate::error::ApiError;
use crate::query::Query;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use berth_build::{BuildError, BuildOptions, Builder};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn json_map<T: serde::de::DeserializeOwned + Default>(q: &Query, key: &str) -> Result<T, ApiError> {
    match q.get(key) {
        None | Some("") => Ok(T::default()),
        Some(v) => serde_json::from_str(v)
            .map_err(|e| ApiError::bad_request(format!("failed to parse {key}: {e}"))),
    }
}

fn line(v: &Value) -> Bytes {
    Bytes::from(format!("{v}\r\n"))
}

fn error_line(e: &BuildError) -> Value {
    let msg = e.to_string();
    match e.code() {
        Some(code) => json!({ "errorDetail": { "code": code, "message": msg }, "error": msg }),
        None => json!({ "errorDetail": { "message": msg }, "error": msg }),
    }
}

pub async fn build(
    State(engine): State<AppState>,
    RawQuery(q): RawQuery,
    req: Request,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    if !q.str("remote").is_empty() {
        return Err(ApiError::bad_request(
            "remote build contexts are not supported by berth",
        ));
    }
    let build_args: BTreeMap<String, Option<String>> = json_map(&q, "buildargs")?;
    let labels: BTreeMap<String, String> = json_map(&q, "labels")?;
    let opts = BuildOptions {
        dockerfile: q.str("dockerfile").to_string(),
        tags: q.all("t").into_iter().filter(|t| !t.is_empty()).collect(),
        build_args,
        target: q.get("target").map(str::to_string),
        no_cache: q.bool("nocache"),
        labels,
        quiet: q.bool("q"),
        pull: q.bool("pull"),
        // A JSON array of image names, as the docker CLI sends it.
        cache_from: serde_json::from_str(q.str("cachefrom")).unwrap_or_default(),
        secrets: match req.headers().get(berth_build::secrets::HEADER) {
            Some(v) => berth_build::secrets::Secrets::from_header(v.to_str().unwrap_or(""))
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
            None => Default::default(),
        },
    };
    for t in &opts.tags {
        berth_image::Reference::parse_normalized(t)
            .map_err(|e| ApiError::bad_request(format!("invalid reference format: {t}: {e}")))?;
    }
    let scratch = engine.cfg.data_root.join("builder").join("tmp");
    std::fs::create_dir_all(&scratch).map_err(|e| ApiError::internal(e.to_string()))?;
    let ctx = tempfile::Builder::new()
        .prefix("ctx-")
        .tempdir_in(&scratch)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let reader = body_reader(req);
    let dir = ctx.path().to_path_buf();
    tokio::task::spawn_blocking(move || berth_build::builder::unpack_context(reader, &dir))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| ApiError::bad_request(e.to_string()))?;

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let builder = Builder::new(engine.clone(), ctx.path().to_path_buf(), opts, tx);
    let mut task = tokio::spawn(async move {
        let r = builder.build().await;
        drop(ctx);
        r
    });
    // Wait for the first message: an error before it is the request's error.
    // A closed channel is no message: the task's result decides (else a build failing before
    // its first line would race into the stream instead of the HTTP error docker gives).
    let first = tokio::select! {
        Some(m) = rx.recv() => m,
        r = &mut task => {
            return match r {
                Ok(Err(e)) => Err(match e {
                    BuildError::NotFound(m) => ApiError::not_found(m),
                    BuildError::Internal(m) => ApiError::internal(m),
                    e => ApiError::bad_request(e.to_string()),
                }),
                Ok(Ok(_)) => {
                    let mut body = String::new();
                    while let Ok(m) = rx.try_recv() {
                        body.push_str(&format!("{m}\r\n"));
                    }
                    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
                }
                Err(e) => Err(ApiError::internal(e.to_string())),
            };
        }
    };
    let (otx, orx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    tokio::spawn(async move {
        let _ = otx.send(Ok(line(&first))).await;
        while let Some(m) = rx.recv().await {
            let _ = otx.send(Ok(line(&m))).await;
        }
        match task.await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                let _ = otx.send(Ok(line(&error_line(&e)))).await;
            }
            Err(e) => {
                let e = BuildError::Internal(e.to_string());
                let _ = otx.send(Ok(line(&error_line(&e)))).await;
            }
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(orx)),
    )
        .into_response())
}
