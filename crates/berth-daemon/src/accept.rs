//! The connection loop: accepts clients on a listener and serves each connection with hyper's
//! HTTP/1 server, allowing half-closed connections.
//!
//! Why not `axum::serve`: it closes a connection as soon as the client shuts its write side,
//! dropping the request still in flight. `docker -H ssh://…` runs `system dial-stdio` on the
//! remote host, and a stdio pipe that reaches EOF after the last request is exactly that: the
//! client would lose the last answer. dockerd's Go server keeps answering, and so do we.
//!
//! Every request body is a [`DrainOnDrop`]: a handler that answers without reading the whole
//! upload (an early error on `/build`, `/images/load`, `/images/create?fromSrc=-`,
//! `PUT /containers/{id}/archive` ...) leaves the rest to be read here, as Go's server does.
//!
//! The drained rest is read up to 256 KiB, as Go's server does, so a client still sending
//! reads the error rather than a broken pipe.

use crate::routes::ConnFd;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use bytes::Bytes;
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::{Service, ServiceExt};
use tracing::debug;

/// A client connection whose descriptor hijacked sessions may ask the kernel about.
pub trait ConnIo: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static {
    fn conn_fd(&self) -> i32;
}

impl ConnIo for tokio::net::UnixStream {
    fn conn_fd(&self) -> i32 {
        self.as_raw_fd()
    }
}

impl ConnIo for tokio_rustls::server::TlsStream<tokio::net::TcpStream> {
    fn conn_fd(&self) -> i32 {
        self.get_ref().0.as_raw_fd()
    }
}

/// Serves `app` on every connection `listener` accepts, until the task is aborted.
pub async fn serve<L, S>(mut listener: L, app: S)
where
    L: axum::serve::Listener,
    L::Io: ConnIo,
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    loop {
        // The listener retries failed accepts itself (axum's Listener contract).
        let (io, _) = listener.accept().await;
        let fd = io.conn_fd();
        let app = app.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let expect_continue = req
                    .headers()
                    .get(hyper::header::EXPECT)
                    .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
                let mut req = req.map(|b| {
                    axum::body::Body::new(DrainOnDrop {
                        inner: Some(b),
                        polled: false,
                        expect_continue,
                    })
                });
                req.extensions_mut().insert(ConnectInfo(ConnFd(fd)));
                app.clone().oneshot(req)
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .half_close(true)
                .serve_connection(TokioIo::new(io), service)
                .with_upgrades();
            if let Err(e) = conn.await {
                debug!(error = %e, "client connection ended with an error");
            }
        });
    }
}

/// How much of an unread request body is read before the connection is given up: Go's
/// `maxPostHandlerReadBytes` (net/http server.go).
const DRAIN_LIMIT: usize = 256 << 10;

/// A request body that, dropped before its end (a handler answered without reading it all),
/// reads up to [`DRAIN_LIMIT`] more in the background while the answer goes out. Without
/// it hyper closes the connection with the upload half-read, and a client still writing
/// (the docker CLI streaming a build context, an image, an archive) fails with a broken
/// pipe instead of reading the error. Go's server drains the same amount before it answers
/// (`chunkWriter.writeHeader`); like Go, a body held behind `Expect: 100-continue` that
/// nobody asked for is not read (the client has not sent it).
struct DrainOnDrop {
    inner: Option<Incoming>,
    polled: bool,
    expect_continue: bool,
}

impl hyper::body::Body for DrainOnDrop {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        self.polled = true;
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let r = Pin::new(inner).poll_frame(cx);
        if let Poll::Ready(None) = r {
            // The end: nothing left to drain.
            self.inner = None;
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), |b| b.size_hint())
    }
}

impl Drop for DrainOnDrop {
    fn drop(&mut self) {
        let Some(body) = self.inner.take() else {
            return;
        };
        if body.is_end_stream() || (self.expect_continue && !self.polled) {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(drain(body));
        }
    }
}

/// Reads and discards up to [`DRAIN_LIMIT`] bytes of `body` (5 s at most: a stalled client
/// does not hold the task); past the limit the body is dropped and hyper closes the
/// connection, as Go's server does.
async fn drain(mut body: Incoming) {
    let mut read = 0usize;
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while read <= DRAIN_LIMIT {
            match std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
                Some(Ok(f)) => read += f.data_ref().map_or(0, |d| d.len()),
                _ => break,
            }
        }
    })
    .await;
    debug!(read, "drained an unread request body");
}
