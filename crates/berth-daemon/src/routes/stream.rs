//! Hijacked connections: the client's raw stream spliced to a shim's stdio stream.

use berth_api::detach::{Escape, Scan};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Docker's answer to a hijack: 101, `Upgrade: tcp`, and the stream's content type
/// (raw with a terminal, multiplexed without).
pub fn upgrade_response(tty: bool) -> crate::error::ApiResult<axum::response::Response> {
    use axum::http::{header, StatusCode};
    let content_type = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    axum::response::Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "tcp")
        .header(header::CONTENT_TYPE, content_type)
        .body(axum::body::Body::empty())
        .map_err(|e| crate::error::ApiError::internal(e.to_string()))
}

/// Splices an upgraded client connection (see [`splice`]). Output waits until the client
/// has read our response head (`conn_fd`: the connection's descriptor): a client that reads
/// the head through a buffer and then the raw socket (docker-py does) would otherwise lose
/// output that arrived together with the head.
pub async fn splice_upgraded(
    up: hyper::upgrade::Upgraded,
    conn_fd: Option<i32>,
    shim: tokio::net::UnixStream,
    stdin: Option<Vec<u8>>,
    before_close: Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>>,
) {
    if let Some(fd) = conn_fd {
        head_read(fd).await;
    }
    let (r, w) = tokio::io::split(TokioIo::new(up));
    splice(r, w, shim, stdin, before_close).await;
}

/// Waits (at most 200 ms) until the peer has read everything we sent on the connection.
pub async fn head_read(fd: i32) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(200);
    let mut spins = 0;
    loop {
        let mut queued: libc::c_int = 0;
        // SAFETY: SIOCOUTQ (TIOCOUTQ) writes one int through a valid pointer; the descriptor
        // is the live client connection this request came on (held by the upgraded stream).
        let r = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut queued) };
        if r != 0 || queued == 0 || tokio::time::Instant::now() >= deadline {
            return;
        }
        // A waiting client reads within microseconds: yield a few times before sleeping
        // (the timer's grain is a millisecond).
        if spins < 50 {
            spins += 1;
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }
}

/// Copies the shim's output to the client until the process's output ends, and the
/// client's input to the shim meanwhile (`stdin`: the detach keys to watch for, or None when
/// stdin is not attached). A client that goes away never stops the container. Typing the
/// detach keys ends the session without closing the process's input (Docker's detach).
pub async fn splice<R, W>(
    mut client_r: R,
    mut client_w: W,
    shim: tokio::net::UnixStream,
    stdin: Option<Vec<u8>>,
    before_close: Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>>,
) where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    // Two handles on the shim connection (a dup): dropping the writer closes only its fd,
    // where dropping a split write half would shut the socket's input side down.
    let halves = shim.into_std().and_then(|s| {
        let w = s.try_clone()?;
        s.set_nonblocking(true)?;
        w.set_nonblocking(true)?;
        Ok((
            tokio::net::UnixStream::from_std(s)?,
            tokio::net::UnixStream::from_std(w)?,
        ))
    });
    let (mut shim_r, mut shim_w) = match halves {
        Ok(h) => h,
        Err(e) => {
            tracing::debug!(error = %e, "splice setup failed");
            return;
        }
    };
    let (detached_tx, detached_rx) = tokio::sync::oneshot::channel::<()>();
    let input = tokio::spawn(async move {
        let Some(keys) = stdin else {
            return;
        };
        let mut escape = Escape::new(keys);
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match client_r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => match escape.scan(&buf[..n]) {
                    Scan::Pass(data) => {
                        if !data.is_empty() && shim_w.write_all(&data).await.is_err() {
                            break;
                        }
                    }
                    Scan::Detach(data) => {
                        let _ = shim_w.write_all(&data).await;
                        let _ = detached_tx.send(());
                        // Dropped without a shutdown: the process's stdin stays open.
                        return;
                    }
                },
            }
        }
        // Half-close: the container sees EOF on stdin.
        let _ = shim_w.shutdown().await;
    });
    // The input side ending without a detach (no stdin, or EOF) must not stop the output.
    let detached = async move {
        if detached_rx.await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = tokio::io::copy(&mut shim_r, &mut client_w) => {}
        _ = detached => {}
    }
    if let Some(f) = before_close {
        f.await;
    }
    let _ = client_w.shutdown().await;
    input.abort();
}
