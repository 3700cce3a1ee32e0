//! This gateway's claim on the cluster's maintenance lease (`index/lease.rs`).
//!
//! With several gateways on one shared index, garbage collection, upload expiry, the repair
//! and orphan sweeps and scrub run on one of them only: the holder of the `maintenance` lease.
//! Every gateway tries to take or renew it every few seconds; the lease lasts three times that,
//! so a holder that dies (or loses the database) is replaced within seconds, and a holder that
//! cannot renew stops its maintenance at once rather than race its successor. With the embedded
//! index there is one gateway, which always holds it. Each renewal also notes the gateway as
//! alive, for `floe admin status`.
//!
//! What stays on every gateway: serving requests, its own repair queue (faults its own reads
//! reported), and the publisher, which acknowledges its own writes.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::index::{ClusterId, GatewayRecord, Index, IndexError};

/// The lease's name in the index.
pub const MAINTENANCE: &str = "maintenance";
/// How often the lease is renewed (and taken over when free).
pub const RENEW_EVERY: Duration = Duration::from_secs(3);
/// How long a lease lasts without renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(10);

/// This gateway's view of the maintenance lease.
pub struct MaintenanceLease {
    /// This gateway's id in the index: random per process.
    id: String,
    held: AtomicBool,
    addresses: Mutex<(String, String)>,
}

impl MaintenanceLease {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            id: ClusterId::generate().to_hex()[..16].to_string(),
            held: AtomicBool::new(false),
            addresses: Mutex::new((String::new(), String::new())),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether this gateway runs the cluster's maintenance now.
    pub fn held(&self) -> bool {
        self.held.load(Ordering::SeqCst)
    }

    /// The addresses this gateway serves on, noted with each renewal.
    pub fn set_addresses(&self, s3: String, admin: String) {
        *self.addresses.lock().unwrap_or_else(|e| e.into_inner()) = (s3, admin);
    }

    /// Takes or renews the lease once; whether this gateway holds it now.
    pub async fn renew(&self, index: &Arc<Index>) -> Result<bool, IndexError> {
        let now = crate::objects::now_millis();
        let (s3, admin) = self
            .addresses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let id = self.id.clone();
        let ttl = i64::try_from(LEASE_TTL.as_millis()).unwrap_or(i64::MAX);
        let outcome = index
            .call(move |ix| {
                let record = GatewayRecord {
                    s3,
                    admin,
                    seen: now,
                };
                ix.check_in(&id, &record, MAINTENANCE, ttl)
            })
            .await;
        let held = matches!(outcome, Ok(true));
        let was = self.held.swap(held, Ordering::SeqCst);
        if held != was {
            tracing::info!(gateway = self.id, held, "maintenance lease");
        }
        outcome
    }

    /// Renews every [`RENEW_EVERY`] until `shutdown`, then gives the lease up so another gateway
    /// takes over at once.
    pub fn spawn(
        self: Arc<Self>,
        index: Arc<Index>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        tokio::spawn(async move {
            tokio::pin!(shutdown);
            loop {
                if let Err(e) = self.renew(&index).await {
                    tracing::warn!(error = %e, "maintenance lease not renewed; maintenance paused");
                }
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(RENEW_EVERY) => {}
                }
            }
            if self.held.swap(false, Ordering::SeqCst) {
                let id = self.id.clone();
                let _ = index
                    .call(move |ix| ix.release_lease(MAINTENANCE, &id))
                    .await;
            }
        })
    }
}
