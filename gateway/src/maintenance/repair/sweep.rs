//! Where repair work comes from: the full catalog sweep, the repair queue, and the background
//! loop that drains the one often and runs the other now and then.
//!
//! A fault in the queue names a chunk by id only. A chunk not in the catalog but pinned may
//! belong to a write that has not committed yet (a write reports a missed node before its
//! manifest reaches the index), so its faults wait for a later round; a chunk that is neither
//! pinned nor in the catalog was abandoned or collected, and its faults are dropped.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use floe_codec::ChunkId;
use futures::StreamExt;
use tokio::task::JoinHandle;

use super::{RepairError, RepairReport, Repairer};
use crate::blobs::ShardFault;

/// Catalog entries read per page of a sweep.
const SWEEP_PAGE: usize = 256;
/// Faults taken from the queue per round.
const QUEUE_BATCH: usize = 1024;

/// How often the background loop works.
#[derive(Debug, Clone, Copy)]
pub struct RepairSchedule {
    /// Between two drains of the repair queue.
    pub queue_interval: Duration,
    /// Between two full sweeps of the catalog; `None` runs none in the background. Each sweep
    /// is followed by an orphan sweep.
    pub sweep_interval: Option<Duration>,
    /// Between two scrubs of every node; `None` runs none in the background.
    pub scrub_interval: Option<Duration>,
    /// Read rate of a background scrub on each node (0: no cap).
    pub scrub_bytes_per_sec: u64,
    /// Age an orphaned shard must reach before the background orphan sweep deletes it.
    pub orphan_grace: Duration,
}

impl Repairer {
    /// Checks every chunk of the catalog against its placement and rebuilds what is missing or
    /// corrupt: the way redundancy comes back after a node is lost or replaced.
    pub async fn sweep(&self) -> Result<RepairReport, RepairError> {
        let _exclusive = self.exclusive().await;
        let _progress = self.progress.begin("repair");
        self.sweep_locked().await
    }

    /// [`sweep`](Self::sweep) for callers already holding the exclusive guard.
    pub(crate) async fn sweep_locked(&self) -> Result<RepairReport, RepairError> {
        let started = Instant::now();
        // A replaced node must join before it can be written to.
        self.blobs.join_new_nodes().await;
        let total = self.with_index(|ix| ix.chunk_count()).await?;
        self.progress.phase("checking chunks", Some(total));
        let c = &self.counters;
        c.sweep_total.store(total, Ordering::Relaxed);
        c.sweep_done.store(0, Ordering::Relaxed);
        c.sweeping.store(true, Ordering::Relaxed);
        // Reset however the sweep ends, cancellation included.
        struct Sweeping<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for Sweeping<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Relaxed);
            }
        }
        let _sweeping = Sweeping(&c.sweeping);
        let mut report = self.sweep_pages().await?;
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        tracing::info!(
            checked = report.chunks_checked,
            repaired = report.chunks_repaired,
            shards = report.shards_rebuilt,
            failed = report.chunks_failed,
            mib_per_sec = report.mib_per_sec(),
            "repair sweep finished"
        );
        Ok(report)
    }

    async fn sweep_pages(&self) -> Result<RepairReport, RepairError> {
        let mut report = RepairReport::default();
        let mut after: Option<ChunkId> = None;
        loop {
            let from = after;
            let page = self
                .with_index(move |ix| ix.chunks(from.as_ref(), SWEEP_PAGE))
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            let mut repairs = futures::stream::iter(page)
                .map(|chunk| async move { self.repair_chunk(&chunk).await })
                .buffer_unordered(self.concurrency.max(1));
            while let Some(outcome) = repairs.next().await {
                if !outcome.gone {
                    report.add(&outcome);
                }
                self.counters.sweep_done.fetch_add(1, Ordering::Relaxed);
                self.progress.advance(1);
            }
        }
        Ok(report)
    }

    /// One round over the repair queue: every chunk with reported faults is checked and
    /// rebuilt as a whole (a HEAD of each shard is cheap next to the rebuild).
    pub async fn drain_queue(&self) -> Result<RepairReport, RepairError> {
        let started = Instant::now();
        let queue = self.blobs.repairs().clone();
        let mut by_chunk: BTreeMap<ChunkId, Vec<ShardFault>> = BTreeMap::new();
        for fault in queue.take(QUEUE_BATCH) {
            by_chunk.entry(fault.chunk).or_default().push(fault);
        }
        let mut report = RepairReport::default();
        let mut ready = Vec::new();
        for (id, faults) in by_chunk {
            // Pins first, catalog second: writers hold their pins until their commit, so an
            // unpinned chunk missing from the catalog will never be committed.
            let pinned = self.blobs.pins().is_pinned(&id);
            match self.with_index(move |ix| ix.chunk(&id)).await {
                Ok(Some(chunk)) => ready.push(chunk),
                Ok(None) if pinned => queue.requeue(faults),
                Ok(None) => tracing::debug!(chunk = %id, "fault for a chunk no longer stored"),
                Err(e) => {
                    queue.requeue(faults);
                    return Err(e.into());
                }
            }
        }
        let mut repairs = futures::stream::iter(ready)
            .map(|chunk| async move { self.repair_chunk(&chunk).await })
            .buffer_unordered(self.concurrency.max(1));
        while let Some(outcome) = repairs.next().await {
            if !outcome.gone {
                report.add(&outcome);
            }
        }
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        if report.shards_rebuilt > 0 || report.chunks_failed > 0 {
            tracing::info!(
                chunks = report.chunks_checked,
                shards = report.shards_rebuilt,
                failed = report.chunks_failed,
                "repair queue drained"
            );
        }
        Ok(report)
    }

    /// Runs the background loop until `shutdown` resolves. The queue of faults this gateway
    /// found is always drained; the sweeps and scrub, which cover the whole cluster, run only
    /// while this gateway holds the maintenance `lease`.
    pub fn spawn(
        self: Arc<Self>,
        schedule: RepairSchedule,
        lease: Arc<crate::maintenance::lease::MaintenanceLease>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        tokio::spawn(async move {
            tokio::pin!(shutdown);
            let (mut last_sweep, mut last_scrub) = (Instant::now(), Instant::now());
            loop {
                tokio::select! {
                    () = &mut shutdown => return,
                    () = tokio::time::sleep(schedule.queue_interval) => {}
                }
                let due = |last: &mut Instant, every: Option<Duration>| {
                    let due = every.is_some_and(|every| last.elapsed() >= every);
                    if due {
                        *last = Instant::now();
                    }
                    due
                };
                let sweep_due = due(&mut last_sweep, schedule.sweep_interval) && lease.held();
                let scrub_due = due(&mut last_scrub, schedule.scrub_interval) && lease.held();
                // Stopping abandons the round: every step is safe to cut short and redo.
                let round = async {
                    self.blobs.join_new_nodes().await;
                    self.follow_drain_marks().await;
                    if let Err(e) = self.drain_queue().await {
                        tracing::error!(error = %e, "repair round failed");
                    }
                    if sweep_due {
                        if let Err(e) = self.sweep().await {
                            tracing::error!(error = %e, "background repair sweep failed");
                        }
                        if let Err(e) = self.sweep_orphans(schedule.orphan_grace).await {
                            tracing::error!(error = %e, "background orphan sweep failed");
                        }
                    }
                    if scrub_due && let Err(e) = self.scrub(schedule.scrub_bytes_per_sec).await {
                        tracing::error!(error = %e, "background scrub failed");
                    }
                };
                tokio::select! {
                    () = &mut shutdown => return,
                    () = round => {}
                }
            }
        })
    }
}
