//! The accept loop shared by the gateway's HTTP listeners (the S3 endpoint and the admin API):
//! TCP_NODELAY on every socket (see DESIGN.md: without it small responses stall ~40 ms on
//! Nagle and delayed ACKs), optional TLS, HTTP/1.1 keep-alive with hyper's header-read
//! timeout, and a graceful drain once `shutdown` resolves.

use std::error::Error as StdError;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use floe_node::tls::{TlsAcceptor, handshake};
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

type BoxError = Box<dyn StdError + Send + Sync>;

/// A bound socket, the TLS acceptor when it serves HTTPS, and its header size limit.
pub struct Listener {
    tcp: TcpListener,
    tls: Option<TlsAcceptor>,
    max_header_bytes: Option<usize>,
}

impl Listener {
    pub fn new(tcp: TcpListener, tls: Option<TlsAcceptor>) -> Self {
        Listener {
            tcp,
            tls,
            max_header_bytes: None,
        }
    }

    /// Requests whose line and headers exceed `bytes` get 431 from hyper's parser before any
    /// handler runs. This is hyper's read buffer limit, so it also caps body frame sizes.
    pub fn with_max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = Some(bytes);
        self
    }
}

/// Plain HTTP.
impl From<TcpListener> for Listener {
    fn from(tcp: TcpListener) -> Self {
        Listener::new(tcp, None)
    }
}

/// Accepts connections for `service` until `shutdown` resolves, then stops accepting and
/// returns the handle that waits for in-flight connections (the caller picks how long).
pub async fn accept_until<S, B>(
    name: &'static str,
    listener: impl Into<Listener>,
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
    let Listener {
        tcp: listener,
        tls,
        max_header_bytes,
    } = listener.into();
    let mut builder = ConnBuilder::new(TokioExecutor::new());
    // The timer enables hyper's 30 s header-read timeout (slow-loris guard, also an idle
    // keep-alive limit).
    builder.http1().timer(TokioTimer::new()).keep_alive(true);
    if let Some(bytes) = max_header_bytes {
        builder.http1().max_buf_size(bytes);
    }
    let builder = Arc::new(builder);
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
        // Taken before the handshake, so a shutdown signalled during it still reaches the
        // connection, and the drain waits for it.
        let watcher = graceful.watcher();
        let (builder, service, tls) = (builder.clone(), service.clone(), tls.clone());
        // The TLS handshake happens in the connection's task (bounded by floe_node's
        // HANDSHAKE_TIMEOUT): a slow or silent client must not stall the accept loop.
        tokio::spawn(async move {
            let result = match tls {
                None => {
                    watcher
                        .watch(builder.serve_connection(TokioIo::new(stream), service))
                        .await
                }
                Some(acceptor) => match handshake(&acceptor, stream).await {
                    Ok(stream) => {
                        watcher
                            .watch(builder.serve_connection(TokioIo::new(stream), service))
                            .await
                    }
                    Err(e) => {
                        tracing::debug!(listener = name, error = %e, %peer, "TLS handshake failed");
                        return;
                    }
                },
            };
            if let Err(e) = result {
                tracing::debug!(listener = name, error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful
}
