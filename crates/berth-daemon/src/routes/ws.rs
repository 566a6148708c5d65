//! `GET /containers/{id}/attach/ws`: attach over a websocket, as moby serves it: stdin,
//! stdout and stderr all on the socket, never multiplexed (binary messages from API 1.42,
//! text before), earlier output first with `logs=1`, the container's output until it ends
//! with `stream=1`.

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use berth_api::detach::{Escape, Scan};
use berth_engine::container::logs::LogOptions;
use berth_engine::container::AttachStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Strips Docker's 8-byte stream headers from a multiplexed byte stream, across chunks.
#[derive(Default)]
struct Deframer {
    header: Vec<u8>,
    left: usize,
}

impl Deframer {
    fn feed(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        while !data.is_empty() {
            if self.left == 0 {
                let need = 8 - self.header.len();
                let take = need.min(data.len());
                self.header.extend_from_slice(&data[..take]);
                data = &data[take..];
                if self.header.len() == 8 {
                    let h = &self.header;
                    self.left = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
                    self.header.clear();
                }
                continue;
            }
            let take = self.left.min(data.len());
            out.extend_from_slice(&data[..take]);
            self.left -= take;
            data = &data[take..];
        }
    }
}

pub async fn attach(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    ws: WebSocketUpgrade,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let keys = match q.str("detachKeys") {
        "" => berth_api::detach::DEFAULT.to_vec(),
        k => berth_api::detach::parse(k).map_err(ApiError::bad_request)?,
    };
    // moby sends binary messages from API 1.42 on; every client of ours speaks 1.44+.
    let binary = true;
    let past = if q.bool("logs") {
        let opts = LogOptions {
            follow: false,
            stdout: true,
            stderr: true,
            timestamps: false,
            since: None,
            until: None,
            tail: None,
        };
        Some(engine.logs(&id, opts).await?)
    } else {
        None
    };
    let live = if q.bool("stream") {
        Some(engine.attach(&id, true, true, true).await?)
    } else {
        None
    };
    Ok(ws.on_upgrade(move |socket| session(socket, past, live, keys, binary)))
}

fn message(data: Vec<u8>, binary: bool) -> Message {
    if binary {
        Message::Binary(data.into())
    } else {
        Message::Text(String::from_utf8_lossy(&data).into_owned().into())
    }
}

async fn session(
    mut socket: WebSocket,
    past: Option<(
        bool,
        tokio::sync::mpsc::Receiver<std::io::Result<bytes::Bytes>>,
    )>,
    live: Option<berth_engine::container::AttachTarget>,
    keys: Vec<u8>,
    binary: bool,
) {
    if let Some((tty, mut rx)) = past {
        let mut deframe = Deframer::default();
        while let Some(Ok(chunk)) = rx.recv().await {
            let mut out = Vec::new();
            if tty {
                out.extend_from_slice(&chunk);
            } else {
                deframe.feed(&chunk, &mut out);
            }
            if !out.is_empty() && socket.send(message(out, binary)).await.is_err() {
                return;
            }
        }
    }
    let Some(target) = live else {
        let _ = socket.send(Message::Close(None)).await;
        return;
    };
    let shim = match target.stream {
        AttachStream::Ready(s) => s,
        AttachStream::OnStart(rx) => match rx.await {
            Ok(Ok(s)) => s,
            _ => return,
        },
    };
    let tty = target.tty;
    let (mut shim_r, mut shim_w) = shim.into_split();
    let mut deframe = Deframer::default();
    let mut escape = Escape::new(keys);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            n = shim_r.read(&mut buf) => {
                let n = match n { Ok(0) | Err(_) => break, Ok(n) => n };
                let mut out = Vec::new();
                if tty {
                    out.extend_from_slice(&buf[..n]);
                } else {
                    deframe.feed(&buf[..n], &mut out);
                }
                if !out.is_empty() && socket.send(message(out, binary)).await.is_err() {
                    break;
                }
            }
            msg = socket.recv() => {
                let data: Vec<u8> = match msg {
                    Some(Ok(Message::Binary(b))) => b.to_vec(),
                    Some(Ok(Message::Text(t))) => t.as_bytes().to_vec(),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    // The client went away: the container goes on (its stdin stays open).
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                };
                match escape.scan(&data) {
                    Scan::Pass(d) => {
                        if shim_w.write_all(&d).await.is_err() {
                            break;
                        }
                    }
                    Scan::Detach(d) => {
                        let _ = shim_w.write_all(&d).await;
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                }
            }
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}
