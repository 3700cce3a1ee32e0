//! Floe storage node: stores shard bytes by (chunk id, shard index) and knows nothing of S3,
//! objects or placement.
//!
//! - [`protocol`]: routes, headers, status codes and JSON bodies shared by server and client.
//! - [`auth`]: the cluster secret and HMAC request signing.
//! - [`membership`]: the one cluster this node belongs to.
//! - [`replay`]: each mutating request's nonce is served once.
//! - [`secret_strength`]: placeholder and too-short secrets, refused at startup.
//! - [`layout`]: the data directory's tree and the versioned shard file format.
//! - [`store`]: `ShardStore`, atomic writes, verify-on-read and quarantine.
//! - [`records`]: `RecordStore`, opaque versioned records (the gateway's metadata copies).
//! - [`holds`]: retention holds, which stop a chunk's shards from being deleted before a date.
//! - [`walk`]: the startup scan, temp sweep and sorted paginated listing.
//! - [`scrub`]: paced re-verification of stored shards, page by page.
//! - [`stats`]: running totals and free space.
//! - [`metrics`]: the Prometheus exposition of `GET /metrics`, one registry per node.
//! - [`config`]: `NodeConfig` from file, environment and command line.
//! - [`tls`]: certificate and key files, the HTTPS server side and the CA the client trusts.
//! - [`server`]: the HTTP server (`run`), with request handling in `routes`.
//! - [`client`]: `NodeClient`, the typed client the gateway uses, over the signed, retrying
//!   HTTP exchange in `transport`.
//!
//! [`serve`] ties them together for the `floe node` command.

pub mod auth;
pub mod client;
pub mod config;
mod direct_io;
pub mod holds;
pub mod inspect;
pub mod layout;
pub mod membership;
pub mod metrics;
pub mod packs;
pub mod protocol;
pub mod records;
pub mod replay;
mod routes;
pub mod scrub;
pub mod secret_strength;
pub mod segments;
pub mod server;
pub mod stats;
pub mod store;
pub mod tls;
mod transport;
pub mod walk;

use std::future::Future;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;

pub use auth::{AuthError, ClusterSecret, sign};
pub use client::{ClientError, ClientOptions, NodeClient, RecordStored};
pub use config::{ConfigError, NodeConfig};
pub use protocol::{
    ClusterInfo, NodeStats, RecordEntry, RecordId, RecordItem, RecordPage, STATUS_CORRUPT,
    ScrubQuery, ScrubReport, ShardEntry, ShardInfo, ShardItem, ShardKey, ShardPage,
};
pub use server::{NodeState, run, run_tls};
pub use store::{OnDisk, ShardStore, StoreError};
pub use tls::{NodeTrust, TlsError, TlsFiles};

/// Failures that stop a node from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot open shard store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("node server failed: {0}")]
    Io(#[from] io::Error),
}

/// Opens the store, binds `config.listen` (port 0 picks a free port), announces the bound
/// address on stdout and serves until `shutdown` completes.
///
/// The announcement is exactly one line, `floe node listening on http://ADDR` (`https://` with
/// `[tls]`), flushed at once: scripts and tests read it to learn the port.
pub async fn serve(
    config: NodeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    // Bad TLS files fail here, before the port is taken, with the file named.
    let tls = config.tls_acceptor()?;
    let state = Arc::new(NodeState::open(&config)?);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| NodeError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr()?;
    {
        let mut stdout = io::stdout().lock();
        let scheme = if tls.is_some() { "https" } else { "http" };
        writeln!(stdout, "floe node listening on {scheme}://{addr}")?;
        stdout.flush()?;
    }
    tracing::info!(%addr, data_dir = %config.data_dir.display(), "floe node started");
    match tls {
        Some(tls) => run_tls(listener, tls, state, shutdown).await?,
        None => run(listener, state, shutdown).await?,
    }
    tracing::info!("floe node stopped");
    Ok(())
}
