//! The orphan sweep: shards on the nodes that belong to no chunk the index knows.
//!
//! They come from writes that never committed: a gateway killed mid-upload, a PUT whose quorum
//! failed, a straggler that landed after its write gave up. The garbage queue cannot know them,
//! so every node's listing is compared with the catalog. A chunk is deleted from a node only if
//! it is absent from the catalog *after* the collector's pin protocol has made sure no write is
//! in flight for it (`try_begin_delete`, then the catalog check), and only if its shard files
//! are older than the grace period.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use floe_codec::ChunkId;
use floe_node::{NodeClient, ShardEntry, ShardKey};
use serde::{Deserialize, Serialize};

use super::{RepairError, Repairer};

/// Shards listed per page.
const LIST_PAGE: u32 = 1000;

/// What an orphan sweep found and removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrphanReport {
    pub shards_listed: u64,
    /// Orphaned shards deleted.
    pub shards_deleted: u64,
    /// Orphaned (node, chunk) pairs deleted.
    pub chunks_deleted: u64,
    /// Orphaned shards kept because they are younger than the grace period.
    pub young_skipped: u64,
    /// Orphaned shards kept because a write or read holds their chunk.
    pub pinned_skipped: u64,
    /// Nodes whose listing or deletes failed part-way, with the reason.
    pub nodes_failed: Vec<String>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Repairer {
    /// Deletes, on every node, the shards of chunks the catalog does not hold and that are
    /// older than `grace`.
    pub async fn sweep_orphans(&self, grace: Duration) -> Result<OrphanReport, RepairError> {
        let _exclusive = self.exclusive().await;
        let _progress = self.progress.begin("orphan sweep");
        self.sweep_orphans_locked(grace).await
    }

    /// [`sweep_orphans`](Self::sweep_orphans) for callers already holding the exclusive guard.
    pub(crate) async fn sweep_orphans_locked(
        &self,
        grace: Duration,
    ) -> Result<OrphanReport, RepairError> {
        let mut report = OrphanReport::default();
        let nodes = self.blobs.nodes().to_vec();
        for node in &nodes {
            self.progress
                .phase(&format!("listing shards of {}", node.url()), None);
            if let Err(e) = self.sweep_node(node, grace, &mut report).await {
                tracing::warn!(node = node.url(), error = %e, "orphan sweep of node stopped");
                report.nodes_failed.push(format!("{}: {e}", node.url()));
            }
        }
        tracing::info!(
            listed = report.shards_listed,
            deleted = report.shards_deleted,
            young = report.young_skipped,
            pinned = report.pinned_skipped,
            "orphan sweep finished"
        );
        Ok(report)
    }

    async fn sweep_node(
        &self,
        node: &NodeClient,
        grace: Duration,
        report: &mut OrphanReport,
    ) -> Result<(), RepairError> {
        let failed = |e: floe_node::ClientError| RepairError::Node {
            node: node.url().to_string(),
            message: e.to_string(),
        };
        let mut after: Option<ShardKey> = None;
        loop {
            let page = node
                .list_shards(after.as_ref(), LIST_PAGE)
                .await
                .map_err(failed)?;
            report.shards_listed += page.shards.len() as u64;
            self.progress.advance(page.shards.len() as u64);
            // Entries come sorted by (chunk, index): one group per chunk.
            let groups: Vec<&[ShardEntry]> = page
                .shards
                .chunk_by(|a, b| a.key.chunk == b.key.chunk)
                .collect();
            let ids: Vec<ChunkId> = groups.iter().map(|g| g[0].key.chunk).collect();
            let known = self.with_index(move |ix| ix.has_chunks(&ids)).await?;
            let cutoff = unix_now().saturating_sub(grace.as_secs());
            for (group, known) in groups.into_iter().zip(known) {
                if known {
                    continue;
                }
                if group.iter().any(|e| e.modified > cutoff || e.modified == 0) {
                    report.young_skipped += group.len() as u64;
                    continue;
                }
                let deleted = self.delete_orphan(node, group).await.map_err(failed)?;
                match deleted {
                    Some(0) => {}
                    Some(n) => {
                        report.shards_deleted += n;
                        report.chunks_deleted += 1;
                    }
                    None => report.pinned_skipped += group.len() as u64,
                }
            }
            match page.next_after {
                Some(next) => after = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// Deletes one node's shards of an orphaned chunk under the collector's deletion mark;
    /// `None` if the chunk is pinned, `Some(0)` if it turned out to be catalogued after all.
    async fn delete_orphan(
        &self,
        node: &NodeClient,
        group: &[ShardEntry],
    ) -> Result<Option<u64>, floe_node::ClientError> {
        let id = group[0].key.chunk;
        let pins = self.blobs.pins().clone();
        if !pins.try_begin_delete(id) {
            return Ok(None);
        }
        // Checked again under the mark: a write that committed since the listing is now
        // visible, and none can start until the mark is gone.
        let catalogued = self
            .with_index(move |ix| ix.chunk(&id))
            .await
            .map(|c| c.is_some());
        let result = async {
            match catalogued {
                Ok(false) => {}
                Ok(true) => return Ok(Some(0)),
                Err(e) => {
                    tracing::warn!(chunk = %id, error = %e, "catalog lookup failed; orphan kept");
                    return Ok(Some(0));
                }
            }
            let mut deleted = 0;
            for entry in group {
                if node.delete_shard(&id, entry.key.index).await? {
                    deleted += 1;
                }
            }
            tracing::debug!(chunk = %id, node = node.url(), deleted, "orphaned shards deleted");
            Ok(Some(deleted))
        }
        .await;
        pins.end_delete(id);
        result
    }
}
