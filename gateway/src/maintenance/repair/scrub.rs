//! The scrub: every node re-reads and re-verifies every shard it stores (paced to a byte rate
//! per node), quarantining the rotten ones; the gateway then looks their chunks up in the
//! catalog and rebuilds them.
//!
//! Nodes scrub in parallel (each is its own disk); within a node the walk is a loop of bounded
//! pages, so a node that goes away mid-scrub costs one failed page, reported, not the scrub.

use std::collections::BTreeMap;
use std::time::Instant;

use floe_codec::ChunkId;
use floe_node::{ClientError, NodeClient, ShardKey};
use futures::StreamExt;
use futures::future::join_all;
use serde::{Deserialize, Serialize};

use super::{RepairError, RepairReport, Repairer};

/// Shards a node verifies per scrub call (the node also stops each call after ~2 s).
const SCRUB_PAGE: u32 = 1000;

/// What a scrub of every node found and did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScrubReport {
    pub nodes_scrubbed: u64,
    /// Nodes whose walk failed part-way, with the reason.
    pub nodes_failed: Vec<String>,
    pub shards_checked: u64,
    pub bytes_checked: u64,
    /// Shards that failed verification (now quarantined on their node).
    pub corrupt_shards: u64,
    /// Of those, shards of chunks the catalog does not know (orphans: nothing to rebuild).
    pub corrupt_unknown: u64,
    /// The repair of the chunks that had a corrupt shard.
    pub repair: RepairReport,
    pub elapsed_ms: u64,
}

impl ScrubReport {
    /// Verified bytes per second over the whole scrub (all nodes together), in MiB.
    pub fn mib_per_sec(&self) -> f64 {
        let secs = self.elapsed_ms.max(1) as f64 / 1000.0;
        self.bytes_checked as f64 / (1024.0 * 1024.0) / secs
    }
}

/// One node's walk.
#[derive(Debug, Default)]
struct NodeScrub {
    checked: u64,
    bytes: u64,
    corrupt: Vec<ShardKey>,
    error: Option<ClientError>,
}

impl Repairer {
    /// Scrubs every node at up to `max_bytes_per_sec` each (0: no cap) and repairs the chunks
    /// whose shards turned out rotten.
    pub async fn scrub(&self, max_bytes_per_sec: u64) -> Result<ScrubReport, RepairError> {
        let _exclusive = self.exclusive().await;
        let _progress = self.progress.begin("scrub");
        let started = Instant::now();
        self.progress.phase("verifying shards", None);
        let walks = join_all(
            self.blobs
                .nodes()
                .iter()
                .map(|node| self.scrub_node(node, max_bytes_per_sec)),
        )
        .await;

        let mut report = ScrubReport::default();
        let mut corrupt: BTreeMap<ChunkId, u64> = BTreeMap::new();
        for (node, walk) in self.blobs.nodes().iter().zip(walks) {
            report.shards_checked += walk.checked;
            report.bytes_checked += walk.bytes;
            report.corrupt_shards += walk.corrupt.len() as u64;
            for key in walk.corrupt {
                *corrupt.entry(key.chunk).or_default() += 1;
            }
            match walk.error {
                None => report.nodes_scrubbed += 1,
                Some(e) => report.nodes_failed.push(format!("{}: {e}", node.url())),
            }
        }
        let verify_ms = started.elapsed().as_millis() as u64;

        self.progress
            .phase("repairing corrupt chunks", Some(corrupt.len() as u64));
        let ids: Vec<ChunkId> = corrupt.keys().copied().collect();
        let mut chunks = Vec::new();
        for id in ids {
            match self.with_index(move |ix| ix.chunk(&id)).await? {
                Some(chunk) => chunks.push(chunk),
                None => report.corrupt_unknown += corrupt[&id],
            }
        }
        let repair_started = Instant::now();
        let mut repairs = futures::stream::iter(chunks)
            .map(|chunk| async move { self.repair_chunk(&chunk).await })
            .buffer_unordered(self.concurrency.max(1));
        while let Some(outcome) = repairs.next().await {
            if !outcome.gone {
                report.repair.add(&outcome);
            }
            self.progress.advance(1);
        }
        drop(repairs);
        report.repair.elapsed_ms = repair_started.elapsed().as_millis() as u64;
        report.elapsed_ms = verify_ms;
        tracing::info!(
            checked = report.shards_checked,
            corrupt = report.corrupt_shards,
            rebuilt = report.repair.shards_rebuilt,
            mib_per_sec = report.mib_per_sec(),
            "scrub finished"
        );
        Ok(report)
    }

    async fn scrub_node(&self, node: &NodeClient, max_bytes_per_sec: u64) -> NodeScrub {
        let mut walk = NodeScrub::default();
        let mut after = None;
        loop {
            match node
                .scrub(after.as_ref(), SCRUB_PAGE, max_bytes_per_sec)
                .await
            {
                Ok(page) => {
                    walk.checked += page.checked;
                    walk.bytes += page.bytes;
                    self.progress.advance(page.checked);
                    for key in &page.corrupt {
                        tracing::warn!(node = node.url(), %key, "scrub found a rotten shard");
                    }
                    walk.corrupt.extend(page.corrupt);
                    match page.next_after {
                        Some(next) => after = Some(next),
                        None => return walk,
                    }
                }
                Err(e) => {
                    tracing::warn!(node = node.url(), error = %e, "scrub of node stopped");
                    walk.error = Some(e);
                    return walk;
                }
            }
        }
    }
}
