//! `/containers/{id}/exec` and `/exec/...` routes (docker exec).

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_api::models::{ExecCreateBody, ExecInspect, ExecStartBody, IdResponse};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tracing::debug;

pub async fn create(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let req: ExecCreateBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?;
    let exec_id = engine.exec_create(&id, req).await?;
    Ok((StatusCode::CREATED, Json(IdResponse { id: exec_id })).into_response())
}

/// Detached: 200 once the process runs. Attached: 101 Upgrade, then the exec's stdio
/// (multiplexed without a terminal, raw with one) until it ends. A process that cannot
/// start gets Docker's message in the stream; its exit code is in the exec's inspect.
pub async fn start(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    mut req: Request,
) -> ApiResult<Response> {
    let conn = super::conn_fd(&req);
    let upgrade = hyper::upgrade::on(&mut req);
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .map_err(|e| ApiError::bad_request(format!("reading body: {e}")))?;
    let start: ExecStartBody = if body.iter().all(|b| b.is_ascii_whitespace()) {
        ExecStartBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?
    };
    let started = match engine.exec_start(&id, &start).await {
        Ok(s) => Ok(s),
        Err(Err(e)) => return Err(e.into()),
        Err(Ok(failed)) => Err(failed.0),
    };
    if start.detach {
        return Ok(StatusCode::OK.into_response());
    }
    let tty = match &started {
        Ok(s) => s.tty,
        Err(_) => engine
            .exec_inspect(&id)
            .map(|i| i.process_config.tty)
            .unwrap_or(false),
    };
    tokio::spawn(async move {
        let upgraded = match upgrade.await {
            Ok(u) => u,
            Err(e) => {
                debug!(error = %e, "exec upgrade failed");
                return;
            }
        };
        match started {
            Ok(s) => {
                if let Some(shim) = s.stream {
                    // The exit code is in the exec's inspect before the stream ends.
                    let settled = {
                        let (engine, id) = (engine.clone(), id.clone());
                        Box::pin(async move {
                            engine
                                .exec_settled(&id, std::time::Duration::from_secs(2))
                                .await
                        })
                    };
                    super::stream::splice_upgraded(
                        upgraded,
                        conn,
                        shim,
                        s.stdin.then_some(s.detach_keys),
                        Some(settled),
                    )
                    .await;
                }
            }
            Err(msg) => {
                // moby writes the start error on the exec's stdout.
                if let Some(fd) = conn {
                    super::stream::head_read(fd).await;
                }
                let mut client = TokioIo::new(upgraded);
                let text = format!("{msg}\r\n");
                let mut frame = Vec::new();
                if !tty {
                    frame.extend_from_slice(&[1, 0, 0, 0]);
                    frame.extend_from_slice(&(text.len() as u32).to_be_bytes());
                }
                frame.extend_from_slice(text.as_bytes());
                let _ = client.write_all(&frame).await;
                let _ = client.shutdown().await;
            }
        }
    });
    super::stream::upgrade_response(tty)
}

/// `h` and `w` as moby 28's resize routes read them: both required, each an unsigned 32-bit
/// number (`httputils.Uint32Value`), the error naming the value as given. The terminal takes
/// the low 16 bits, as containerd's `console.WinSize` does.
pub fn size(q: &Query) -> ApiResult<(u16, u16)> {
    let parse = |k: &str, what: &str| -> ApiResult<u16> {
        let raw = q.str(k);
        uint32_value(raw)
            .map(|n| n as u16)
            .map_err(|e| ApiError::bad_request(format!("invalid resize {what} {raw:?}: {e}")))
    };
    Ok((parse("h", "height")?, parse("w", "width")?))
}

/// moby's `httputils.Uint32Value` on one form value: `strconv.ParseUint(v, 10, 32)` with its
/// bare error text, a negative number being "value out of range" rather than a syntax error.
fn uint32_value(v: &str) -> Result<u32, &'static str> {
    const SYNTAX: &str = "invalid syntax";
    const RANGE: &str = "value out of range";
    let (digits, negative) = match v.strip_prefix('-') {
        Some(rest) => (rest, true),
        None => (v, false),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SYNTAX);
    }
    let n: u32 = digits.parse().map_err(|_| RANGE)?;
    if negative {
        return Err(RANGE);
    }
    Ok(n)
}

pub async fn resize(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let (h, w) = size(&q)?;
    engine.exec_resize(&id, h, w).await?;
    Ok(StatusCode::OK.into_response())
}

pub async fn inspect(
    State(engine): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<ExecInspect>> {
    Ok(Json(engine.exec_inspect(&id)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_sizes_are_read_as_moby_reads_them() {
        assert_eq!(uint32_value("0"), Ok(0));
        assert_eq!(uint32_value("4294967295"), Ok(u32::MAX));
        for bad in ["", "+1", "x", "1x", " 1", "0x10"] {
            assert_eq!(uint32_value(bad), Err("invalid syntax"), "{bad:?}");
        }
        for far in ["-1", "-0", "4294967296", "99999999999999999999999"] {
            assert_eq!(uint32_value(far), Err("value out of range"), "{far:?}");
        }
        let q = Query::parse(Some("w=10"));
        assert_eq!(
            size(&q).expect_err("no height").message,
            "invalid resize height \"\": invalid syntax"
        );
        let q = Query::parse(Some("h=1&w=-100"));
        assert_eq!(
            size(&q).expect_err("negative width").message,
            "invalid resize width \"-100\": value out of range"
        );
        assert_eq!(
            size(&Query::parse(Some("h=65537&w=80"))).ok(),
            Some((1, 80))
        );
    }
}
