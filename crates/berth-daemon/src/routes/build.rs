//! `POST /build`: the classic builder's endpoint. The body is the context tar (maybe
//! gzip-compressed); the answer is docker's JSON message stream. Errors found before the
//! first step (a missing or malformed Dockerfile, an unknown target) are a plain error
//! answer, as dockerd gives them; later ones end the stream with an `errorDetail` line.
//!
//! `build_options` reads every `/build` query parameter moby 28 reads, each honoured or
//! refused by name: `networkmode`, `extrahosts`, `shmsize`, `ulimits`, `cgroupparent` and
//! the cpu/memory settings become `BuildOptions::run_host`, the HostConfig of every step
//! container (`RUN --network` wins); `rm`/`forcerm` decide which step containers stay
//! (moby's dispatch: `forcerm` removes whatever happened, `rm` only after success; with
//! `rm=false` even config-only steps leave a real, never-started container); `securityopt`,
//! `squash`, a non-default `isolation`, a foreign `platform`, `version=2`, `session`,
//! `buildid` and `outputs` are refused (BuildKit's or Windows'). With `q=1` the messages
//! are held back as moby's `notVerboseBuffer`: the image id alone on success, the held
//! steps and the error on failure. `DOCKER_BUILDKIT=0 docker build` prints the stream as
//! against dockerd.

use super::images::body_reader;
use super::AppState;
use crate::error::ApiError;
use crate::query::Query;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use berth_api::models::{HostConfig, JsonMessage, Ulimit};
use berth_build::{BuildError, BuildOptions, Builder};
use std::collections::BTreeMap;

fn json_map<T: serde::de::DeserializeOwned + Default>(q: &Query, key: &str) -> Result<T, ApiError> {
    match q.get(key) {
        None | Some("") => Ok(T::default()),
        Some(v) => serde_json::from_str(v)
            .map_err(|e| ApiError::bad_request(format!("failed to parse {key}: {e}"))),
    }
}

fn line(v: &impl serde::Serialize) -> Bytes {
    let mut b = serde_json::to_vec(v).unwrap_or_default();
    b.extend_from_slice(b"\r\n");
    Bytes::from(b)
}

/// The build's error as the stream's last line (with the failed step's exit code).
fn error_line(e: &BuildError) -> JsonMessage {
    JsonMessage::error(e.to_string(), e.code())
}

/// moby's `httputils.Int64ValueOrZero`: a missing or unparsable value is 0.
fn int_or_zero(q: &Query, key: &str) -> i64 {
    q.str(key).trim().parse().unwrap_or(0)
}

/// The build's options from every query parameter moby 28's `newImageBuildOptions` reads:
/// each one is honoured or refused with a clear error, none ignored.
fn build_options(q: &Query, headers: &axum::http::HeaderMap) -> Result<BuildOptions, ApiError> {
    if !q.str("remote").is_empty() {
        return Err(ApiError::bad_request(
            "remote build contexts are not supported by berth",
        ));
    }
    // moby refuses security options on Linux, and squash without experimental mode (berth
    // has none), with these words.
    if !q.all("securityopt").is_empty() {
        return Err(ApiError::bad_request(
            "The daemon on this platform does not support setting security options on build",
        ));
    }
    if q.bool("squash") {
        return Err(ApiError::bad_request(
            "squash is only supported with experimental mode",
        ));
    }
    match q.str("version") {
        "" | "1" => {}
        "2" => {
            return Err(ApiError::bad_request(
                "buildkit is not supported by berth: use the classic builder (version=1)",
            ))
        }
        v => return Err(ApiError::bad_request(format!("invalid version {v}"))),
    }
    // Client sessions (BuildKit's file sync) and build ids (for /build/cancel) belong to
    // BuildKit; the classic builder here has neither.
    for key in ["session", "buildid"] {
        if !q.str(key).is_empty() {
            return Err(ApiError::bad_request(format!(
                "the {key} parameter needs BuildKit, which berth does not have"
            )));
        }
    }
    if !matches!(q.str("outputs"), "" | "[]" | "null") {
        return Err(ApiError::bad_request(
            "build outputs are only supported with BuildKit, which berth does not have",
        ));
    }
    let isolation = q.str("isolation");
    if !isolation.is_empty() && !isolation.eq_ignore_ascii_case("default") {
        return Err(ApiError::bad_request(format!(
            "Unsupported isolation: {isolation:?}"
        )));
    }
    let platform = q.str("platform");
    if !platform.is_empty() && !host_platform(platform) {
        return Err(ApiError::bad_request(format!(
            "berth builds only for its own platform (linux/{}): platform {platform:?} is not supported",
            berth_engine::host_platform().1
        )));
    }
    let shm_size = match q.str("shmsize") {
        "" => 0,
        v => v
            .parse::<i64>()
            .map_err(|e| ApiError::bad_request(format!("strconv.ParseInt: parsing {v:?}: {e}")))?,
    };
    let ulimits: Vec<Ulimit> = match q.str("ulimits") {
        "" => Vec::new(),
        v => serde_json::from_str(v)
            .map_err(|e| ApiError::bad_request(format!("error reading ulimit settings: {e}")))?,
    };
    let build_args: BTreeMap<String, Option<String>> = json_map(q, "buildargs")?;
    let labels: BTreeMap<String, String> = json_map(q, "labels")?;
    let cache_from: Vec<String> = match q.str("cachefrom") {
        "" => Vec::new(),
        v => serde_json::from_str(v)
            .map_err(|e| ApiError::bad_request(format!("failed to parse cachefrom: {e}")))?,
    };
    // The RUN (and step) containers' host settings, as moby's hostConfigFromOptions.
    let run_host = HostConfig {
        network_mode: q.str("networkmode").to_string(),
        extra_hosts: Some(q.all("extrahosts")).filter(|h| !h.is_empty()),
        shm_size,
        isolation: isolation.to_string(),
        cgroup_parent: q.str("cgroupparent").to_string(),
        cpu_shares: int_or_zero(q, "cpushares"),
        cpu_period: int_or_zero(q, "cpuperiod"),
        cpu_quota: int_or_zero(q, "cpuquota"),
        cpuset_cpus: q.str("cpusetcpus").to_string(),
        cpuset_mems: q.str("cpusetmems").to_string(),
        memory: int_or_zero(q, "memory"),
        memory_swap: int_or_zero(q, "memswap"),
        ulimits,
        ..Default::default()
    };
    let force_remove = q.bool("forcerm");
    Ok(BuildOptions {
        dockerfile: q.str("dockerfile").to_string(),
        tags: q.all("t").into_iter().filter(|t| !t.is_empty()).collect(),
        build_args,
        target: q.get("target").map(str::to_string),
        no_cache: q.bool("nocache"),
        labels,
        pull: q.bool("pull"),
        cache_from,
        // moby: `forcerm` implies `rm`, and `rm` is true unless given false.
        remove: force_remove || q.get("rm").is_none_or(str::is_empty) || q.bool("rm"),
        force_remove,
        run_host,
        secrets: match headers.get(berth_build::secrets::HEADER) {
            Some(v) => berth_build::secrets::Secrets::from_header(v.to_str().unwrap_or(""))
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
            None => Default::default(),
        },
    })
}

/// Whether `platform` (`os[/arch[/variant]]`) names the host's own platform.
fn host_platform(platform: &str) -> bool {
    let mut parts = platform.split('/');
    let os = parts.next().unwrap_or("");
    let arch = parts.next();
    let (_, host_arch, _) = berth_engine::host_platform();
    os.eq_ignore_ascii_case("linux")
        && arch.is_none_or(|a| {
            let a = a.to_ascii_lowercase();
            a == host_arch || (a == "x86_64" && host_arch == "amd64")
        })
}

/// A build's error as the request's own answer (nothing streamed yet).
fn request_error(e: BuildError) -> ApiError {
    match e {
        BuildError::NotFound(m) => ApiError::not_found(m),
        BuildError::Internal(m) => ApiError::internal(m),
        e => ApiError::bad_request(e.to_string()),
    }
}

/// `q=1`, as moby's `notVerboseBuffer`: the build's messages are held back; a success
/// answers the image id alone, a failure the held messages then the error (or, when there
/// were none, the request's error).
fn quiet_answer(
    result: Result<Result<String, BuildError>, tokio::task::JoinError>,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<JsonMessage>,
) -> Result<Response, ApiError> {
    let text = |m: &JsonMessage| serde_json::to_string(m).unwrap_or_default();
    let mut held = String::new();
    while let Ok(m) = rx.try_recv() {
        held.push_str(&format!("{}\r\n", text(&m)));
    }
    let body = match result {
        Ok(Ok(id)) => format!("{}\r\n", text(&JsonMessage::stream(format!("{id}\n")))),
        Ok(Err(e)) if held.is_empty() => return Err(request_error(e)),
        Ok(Err(e)) => format!("{held}{}\r\n", text(&error_line(&e))),
        Err(e) => return Err(ApiError::internal(e.to_string())),
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

pub async fn build(
    State(engine): State<AppState>,
    RawQuery(q): RawQuery,
    req: Request,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref());
    let checked = build_options(&q, req.headers()).and_then(|opts| {
        for t in &opts.tags {
            berth_image::Reference::parse_normalized(t).map_err(|e| {
                ApiError::bad_request(format!("invalid reference format: {t}: {e}"))
            })?;
        }
        Ok(opts)
    });
    // An early error leaves the unread context to the server's drain (accept.rs), so the
    // docker CLI still uploading it reads the error, not a broken pipe.
    let opts = checked?;
    let scratch = berth_build::scratch_root(&engine.cfg.data_root);
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

    let quiet = q.bool("q");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<JsonMessage>();
    let builder = Builder::new(engine.clone(), ctx.path().to_path_buf(), opts, tx);
    let mut task = tokio::spawn(async move {
        let r = builder.build().await;
        drop(ctx);
        r
    });
    if quiet {
        return quiet_answer(task.await, &mut rx);
    }
    // Wait for the first message: an error before it is the request's error.
    // A closed channel is no message: the task's result decides (else a build failing before
    // its first line would race into the stream instead of the HTTP error docker gives).
    let first = tokio::select! {
        Some(m) = rx.recv() => m,
        r = &mut task => {
            return match r {
                Ok(Err(e)) => Err(request_error(e)),
                Ok(Ok(_)) => {
                    let mut body = Vec::new();
                    while let Ok(m) = rx.try_recv() {
                        body.extend_from_slice(&line(&m));
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
