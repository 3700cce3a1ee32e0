//! The accept loop shared by the gateway's HTTP listeners (the S3 endpoint and the admin API):
//! TCP_NODELAY on every socket (see DESIGN.md: without it small responses stall ~40 ms on
//! Nagle and delayed ACKs), HTTP/1.1 keep-alive with hyper's header-read timeout, and a
//! graceful drain once `shutdown` resolves.

use std::error::Error as StdError;
use std::future::Future;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Accepts connections for `service` until `shutdown` resolves, then stops accepting and
/// returns the handle that waits for in-flight connections (the caller picks how long).
pub async fn accept_until<S, B>(
    name: &'static str,
    listener: TcpListener,
    service: S,
    shutdown: impl Future<Output = ()> + Send,
) -> GracefulShutdown
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let mut builder = ConnBuilder::new(TokioExecutor::new());
    // The timer enables hyper's 30 s header-read timeout (slow-loris guard, also an idle
    // keep-alive limit).
    builder.http1().timer(TokioTimer::new()).keep_alive(true);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(conn) => conn,
            Err(e) => {
                // Out of descriptors or an aborted handshake: transient, keep serving.
                tracing::warn!(listener = name, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::warn!(listener = name, error = %e, %peer, "cannot set TCP_NODELAY");
        }
        let conn = builder
            .serve_connection(TokioIo::new(stream), service.clone())
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(listener = name, error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful
}
