//! The accept loop shared by the gateway's HTTP listeners (the S3 endpoint and the admin API):
//! TCP_NODELAY on every socket (without it small responses stall ~40 ms on Nagle and delayed
//! ACKs), optional TLS, HTTP/1.1 keep-alive with a header-read timeout (which also closes idle
//! keep-alive connections), a cap on open connections, and a graceful drain once `shutdown`
//! resolves.

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
use tokio::sync::Semaphore;

type BoxError = Box<dyn StdError + Send + Sync>;

/// What a connection over the cap is told before it is closed: SDKs retry a 503 with backoff.
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\
    Connection: close\r\nContent-Length: 0\r\n\r\n";

/// hyper's own default: the time to send a request head, and the longest idle keep-alive.
const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A bound socket, the TLS acceptor when it serves HTTPS, and its connection limits.
pub struct Listener {
    tcp: TcpListener,
    tls: Option<TlsAcceptor>,
    max_header_bytes: Option<usize>,
    max_connections: Option<usize>,
    header_read_timeout: Duration,
}

impl Listener {
    pub fn new(tcp: TcpListener, tls: Option<TlsAcceptor>) -> Self {
        Listener {
            tcp,
            tls,
            max_header_bytes: None,
            max_connections: None,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
        }
    }

    /// At most `n` connections open at once; one more gets a bare 503 and is closed, so the
    /// gateway's sockets and tasks stay bounded whatever clients do.
    pub fn with_max_connections(mut self, n: usize) -> Self {
        self.max_connections = Some(n.max(1));
        self
    }

    /// A connection must send each request's line and headers within `timeout` of being ready
    /// for it, so silent, idle and slow-header (slow-loris) connections are closed.
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
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
        max_connections,
        header_read_timeout,
    } = listener.into();
    let slots = max_connections.map(|n| Arc::new(Semaphore::new(n)));
    // HTTP/1 only, served from the first byte: the auto builder would otherwise wait, with no
    // timeout, for enough bytes to tell HTTP/1 from HTTP/2, and a silent connection would
    // never reach the header-read timeout.
    let mut builder = ConnBuilder::new(TokioExecutor::new()).http1_only();
    // The timer enables the header-read timeout (slow-loris guard, also an idle keep-alive
    // limit: hyper starts it whenever the connection waits for a request head).
    builder
        .http1()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(header_read_timeout);
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
        let slot = match &slots {
            None => None,
            Some(slots) => match slots.clone().try_acquire_owned() {
                Ok(slot) => Some(slot),
                Err(_) => {
                    tracing::warn!(listener = name, %peer, "connection limit reached: 503 and close");
                    crate::metrics::metrics().observe_request(
                        "RefusedConnection",
                        503,
                        Duration::ZERO,
                    );
                    let plain = tls.is_none();
                    tokio::spawn(refuse_connection(stream, plain));
                    continue;
                }
            },
        };
        // Taken before the handshake, so a shutdown signalled during it still reaches the
        // connection, and the drain waits for it.
        let watcher = graceful.watcher();
        let peer_info = Peer {
            addr: peer,
            tls: tls.is_some(),
        };
        let service = WithPeer {
            inner: service.clone(),
            peer: peer_info,
        };
        let (builder, tls) = (builder.clone(), tls.clone());
        // The TLS handshake happens in the connection's task (bounded by floe_node's
        // HANDSHAKE_TIMEOUT): a slow or silent client must not stall the accept loop.
        tokio::spawn(async move {
            // Held until the connection ends.
            let _slot = slot;
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

/// The connection a request came on, as a request extension (for `aws:SourceIp` and
/// `aws:SecureTransport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub addr: std::net::SocketAddr,
    pub tls: bool,
}

/// A connection's service: stamps each request with its [`Peer`].
#[derive(Clone)]
struct WithPeer<S> {
    inner: S,
    peer: Peer,
}

impl<S> hyper::service::Service<Request<Incoming>> for WithPeer<S>
where
    S: hyper::service::Service<Request<Incoming>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        req.extensions_mut().insert(self.peer);
        self.inner.call(req)
    }
}

/// Tells a connection over the cap to come back later (plain HTTP only: a TLS client would
/// need a handshake first) and closes it, never waiting long on the client.
async fn refuse_connection(mut stream: tokio::net::TcpStream, plain: bool) {
    use tokio::io::AsyncWriteExt;
    if plain {
        let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(OVER_CAPACITY)).await;
        let _ = tokio::time::timeout(Duration::from_secs(1), stream.shutdown()).await;
    }
}
