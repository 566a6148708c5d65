//! The connection loop: accepts clients on a listener and serves each connection with hyper's
//! HTTP/1 server, allowing half-closed connections.
//!
//! Why not `axum::serve`: it closes a connection as soon as the client shuts its write side,
//! dropping the request still in flight. `docker -H ssh://…` runs `system dial-stdio` on the
//! remote host, and a stdio pipe that reaches EOF after the last request is exactly that: the
//! client would lose the last answer. dockerd's Go server keeps answering, and so do we.

use crate::routes::ConnFd;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::os::fd::AsRawFd;
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
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let mut req = req.map(axum::body::Body::new);
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
