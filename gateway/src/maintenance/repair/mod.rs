//! Self-healing: rebuilding missing and corrupt shards, and the other maintenance passes over
//! the stored chunks.
//!
//! Redundancy is lost in three ways, and each has its source of work:
//! - writes that missed a node and reads that met a bad shard report to the blob layer's
//!   [`RepairQueue`](crate::blobs::RepairQueue), which the background loop drains;
//! - a lost or replaced node loses shards nobody reads: a *sweep* checks every chunk of the
//!   catalog against its placement;
//! - a rotting disk damages shards in place: the *scrub* asks every node to re-verify what it
//!   stores and repairs what they quarantine.
//!
//! Two cleanups walk the same ground: the *orphan sweep* deletes shards of chunks the index
//! never committed (a gateway killed mid-upload), and nothing else.
//!
//! - `chunk`: checking and rebuilding one chunk (HEAD every shard, fetch k, decode, PUT back);
//! - `sweep`: the catalog sweep, the queue drain and the background loop;
//! - `scrub`: every node re-verifies its shards; the rotten ones are rebuilt;
//! - `orphans`: shards no catalogued chunk owns, deleted after a grace period;
//! - `drain`: moving every shard and record off a node before it is removed;
//! - [`progress`]: what the long operation in hand has done, for the admin API and the log.

mod chunk;
mod drain;
mod orphans;
pub mod progress;
mod scrub;
mod sweep;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::blobs::{BlobError, BlobStore};
use crate::index::{Index, IndexError};

pub use chunk::ChunkRepair;
pub use drain::DrainReport;
pub use orphans::OrphanReport;
pub use progress::{Progress, ProgressSnapshot};
pub use scrub::ScrubReport;
pub use sweep::RepairSchedule;

/// Why a maintenance operation could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    #[error("metadata index: {0}")]
    Index(#[from] IndexError),
    #[error("blob layer: {0}")]
    Blob(#[from] BlobError),
    #[error("node {node}: {source}")]
    Node {
        node: String,
        source: floe_node::ClientError,
    },
    /// The blob layer refused the request as asked (an unknown node, too few left to drain).
    #[error("{0}")]
    Refused(#[source] BlobError),
    #[error("{0}")]
    Invalid(String),
}

impl RepairError {
    /// Wraps the failures of calls to `node`, naming it.
    pub(crate) fn of_node(
        node: &floe_node::NodeClient,
    ) -> impl Fn(floe_node::ClientError) -> RepairError + Copy + '_ {
        move |source| RepairError::Node {
            node: node.url().to_string(),
            source,
        }
    }
}

/// Running totals since the gateway started (all operations together).
#[derive(Debug, Default)]
struct Counters {
    chunks_checked: AtomicU64,
    chunks_repaired: AtomicU64,
    shards_rebuilt: AtomicU64,
    bytes_rebuilt: AtomicU64,
    failures: AtomicU64,
    sweeping: AtomicBool,
    sweep_total: AtomicU64,
    sweep_done: AtomicU64,
}

/// The counters as the admin API reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairCounters {
    pub chunks_checked: u64,
    pub chunks_repaired: u64,
    pub shards_rebuilt: u64,
    pub bytes_rebuilt: u64,
    /// Chunks that could not be fully repaired (too few shards, or a node refused the write).
    pub failures: u64,
    /// Shard faults waiting in the repair queue.
    pub queued: u64,
    /// Chunks the running sweep has still to check (0 when no sweep runs).
    pub sweep_remaining: u64,
    /// `queued` + `sweep_remaining`: the work known to be pending.
    pub backlog: u64,
}

/// What one repair run (a sweep, or a drain of the queue) did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RepairReport {
    pub chunks_checked: u64,
    pub chunks_repaired: u64,
    pub shards_rebuilt: u64,
    pub bytes_rebuilt: u64,
    /// Chunks left incomplete: too few shards to rebuild, or a node refused the rebuilt shard.
    pub chunks_failed: u64,
    /// Shards not checked because their node did not answer.
    pub shards_unreachable: u64,
    pub elapsed_ms: u64,
}

impl RepairReport {
    /// Rebuilt bytes per second, in MiB.
    pub fn mib_per_sec(&self) -> f64 {
        let secs = (self.elapsed_ms.max(1)) as f64 / 1000.0;
        self.bytes_rebuilt as f64 / (1024.0 * 1024.0) / secs
    }

    fn add(&mut self, chunk: &ChunkRepair) {
        self.chunks_checked += 1;
        self.shards_unreachable += chunk.unreachable as u64;
        if chunk.rebuilt > 0 {
            self.chunks_repaired += 1;
        }
        self.shards_rebuilt += chunk.rebuilt as u64;
        self.bytes_rebuilt += chunk.bytes;
        if chunk.failed {
            self.chunks_failed += 1;
        }
    }
}

/// The repairer: rebuilds chunks, sweeps the catalog and runs the maintenance passes.
#[derive(Debug)]
pub struct Repairer {
    index: Arc<Index>,
    blobs: Arc<BlobStore>,
    counters: Counters,
    progress: Progress,
    /// Long operations (sweep, scrub, orphan sweep, drain, rebuild) run one at a time.
    exclusive: tokio::sync::Mutex<()>,
    /// Chunks repaired concurrently; each holds up to k + m shards in memory.
    pub concurrency: usize,
}

impl Repairer {
    pub fn new(index: Arc<Index>, blobs: Arc<BlobStore>) -> Self {
        Self {
            index,
            blobs,
            counters: Counters::default(),
            progress: Progress::default(),
            exclusive: tokio::sync::Mutex::new(()),
            concurrency: 4,
        }
    }

    pub fn blobs(&self) -> &Arc<BlobStore> {
        &self.blobs
    }

    pub fn index(&self) -> &Arc<Index> {
        &self.index
    }

    /// The long operation in hand, if any.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Waits until no other long operation runs, and keeps others out while the guard lives.
    pub async fn exclusive(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.exclusive.lock().await
    }

    pub fn counters(&self) -> RepairCounters {
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let queued = self.blobs.repairs().len() as u64;
        let sweep_remaining = if c.sweeping.load(Ordering::Relaxed) {
            load(&c.sweep_total).saturating_sub(load(&c.sweep_done))
        } else {
            0
        };
        RepairCounters {
            chunks_checked: load(&c.chunks_checked),
            chunks_repaired: load(&c.chunks_repaired),
            shards_rebuilt: load(&c.shards_rebuilt),
            bytes_rebuilt: load(&c.bytes_rebuilt),
            failures: load(&c.failures),
            queued,
            sweep_remaining,
            backlog: queued + sweep_remaining,
        }
    }

    fn count(&self, chunk: &ChunkRepair) {
        let c = &self.counters;
        c.chunks_checked.fetch_add(1, Ordering::Relaxed);
        if chunk.rebuilt > 0 {
            c.chunks_repaired.fetch_add(1, Ordering::Relaxed);
        }
        c.shards_rebuilt
            .fetch_add(chunk.rebuilt as u64, Ordering::Relaxed);
        c.bytes_rebuilt.fetch_add(chunk.bytes, Ordering::Relaxed);
        if chunk.failed {
            c.failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Runs an index call on a blocking thread.
    async fn with_index<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Index) -> Result<T, IndexError> + Send + 'static,
    ) -> Result<T, IndexError> {
        self.index.call(f).await
    }
}
