//! The node's HTTP/1.1 server: shared state, the accept loop, per-connection settings
//! (TCP_NODELAY, optional TLS, keep-alive, header timeout) and graceful shutdown.
//!
//! What each request does lives in `routes`; this module only owns connections.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::NodeError;
use crate::auth::ClusterSecret;
use crate::config::NodeConfig;
use crate::holds::Holds;
use crate::membership::Membership;
use crate::metrics::NodeMetrics;
use crate::records::RecordStore;
use crate::replay::ReplayGuard;
use crate::routes;
use crate::store::ShardStore;
use crate::tls::{self, TlsAcceptor};

/// How long a client may take to send a request's headers; also closes idle keep-alive
/// connections, so clients should pool connections for less than this.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long shutdown waits for in-flight requests before cutting connections.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything request handlers share: the store and the settings that govern requests.
#[derive(Debug)]
pub struct NodeState {
    store: Arc<ShardStore>,
    records: Arc<RecordStore>,
    holds: Arc<Holds>,
    secret: ClusterSecret,
    max_shard_bytes: u64,
    /// This node's own counters: several nodes may share a process (the gateway's dev mode).
    metrics: Arc<NodeMetrics>,
    membership: Membership,
    replay: ReplayGuard,
}

impl NodeState {
    /// Opens the shard store under `config.data_dir`.
    pub fn open(config: &NodeConfig) -> Result<NodeState, NodeError> {
        let store = ShardStore::open_with(&config.data_dir, config.pack_shards_below)?;
        let records = Arc::new(RecordStore::open(store.layout())?);
        let membership = Membership::open(store.layout().root())?;
        let holds = Arc::new(Holds::open(
            store.layout().root(),
            crate::holds::now_millis(),
        )?);
        let store = Arc::new(store);
        Ok(NodeState {
            holds,
            membership,
            replay: ReplayGuard::default(),
            metrics: Arc::new(NodeMetrics::new(store.clone(), records.clone())),
            store,
            records,
            secret: config.secret.clone(),
            max_shard_bytes: config.max_shard_bytes,
        })
    }

    pub fn store(&self) -> &Arc<ShardStore> {
        &self.store
    }

    pub fn records(&self) -> &Arc<RecordStore> {
        &self.records
    }

    /// Retention holds on chunks (see `holds`).
    pub fn holds(&self) -> &Arc<Holds> {
        &self.holds
    }

    pub fn secret(&self) -> &ClusterSecret {
        &self.secret
    }

    pub fn max_shard_bytes(&self) -> u64 {
        self.max_shard_bytes
    }

    pub fn metrics(&self) -> &Arc<NodeMetrics> {
        &self.metrics
    }

    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    pub fn replay(&self) -> &ReplayGuard {
        &self.replay
    }
}

/// Serves node requests on `listener` until `shutdown` completes, then stops accepting, lets
/// in-flight requests finish (up to [`DRAIN_TIMEOUT`]) and returns.
pub async fn run(
    listener: TcpListener,
    state: Arc<NodeState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve(listener, None, state, shutdown).await
}

/// [`run`] over HTTPS: every connection completes a TLS handshake with `tls` first.
pub async fn run_tls(
    listener: TcpListener,
    tls: TlsAcceptor,
    state: Arc<NodeState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve(listener, Some(tls), state, shutdown).await
}

async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    state: Arc<NodeState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let tls = tls.clone();
                    connections.spawn(accept_connection(stream, peer, tls, state.clone(), stop_rx.clone()));
                }
                Err(e) => accept_failed(e).await,
            },
            // Reap finished connections so the set does not grow with every client ever seen.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    tracing::info!(
        in_flight = connections.len(),
        "shutting down: draining connections"
    );
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = connections.len(),
            "connections still busy after drain timeout, closing them"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// An accept error is about one connection (reset before accept) or about resources (out of
/// file descriptors). Neither should kill the node; pausing gives the latter time to clear.
async fn accept_failed(e: io::Error) {
    match e.kind() {
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset => {
            tracing::debug!(error = %e, "connection failed before accept");
        }
        _ => {
            tracing::error!(error = %e, "accept failed");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn accept_connection(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    state: Arc<NodeState>,
    stop: watch::Receiver<bool>,
) {
    // Without NODELAY a small response can sit in Nagle's buffer waiting for a delayed ACK:
    // ~40 ms per request (see docs/architecture.md).
    if let Err(e) = stream.set_nodelay(true) {
        tracing::warn!(%peer, error = %e, "cannot set TCP_NODELAY");
    }
    // The handshake runs here, in the connection's task, so a slow client never holds up the
    // accept loop. A shutdown arriving meanwhile is seen by `serve_connection` at once.
    match tls {
        None => serve_connection(stream, peer, state, stop).await,
        Some(acceptor) => match tls::handshake(&acceptor, stream).await {
            Ok(stream) => serve_connection(stream, peer, state, stop).await,
            Err(e) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
        },
    }
}

async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    state: Arc<NodeState>,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(routes::handle(&state, req).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = stopped(&mut stop) => {
            // Finishes the request in progress (if any), then closes instead of keeping alive.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// Resolves once shutdown is signalled (or the signal can never come). Returns nothing so that
/// no non-`Send` watch guard lives across the caller's awaits.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}
