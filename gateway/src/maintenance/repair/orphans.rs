//! The orphan sweep: shards on the nodes that belong to no chunk the index knows.
//!
//! They come from writes that never committed: a gateway killed mid-upload, a PUT whose quorum
//! failed, a straggler that landed after its write gave up. The garbage queue cannot know them,
//! so every node's listing is compared with the catalog. A chunk is deleted from a node only if
//! it is absent from the catalog *after* the collector's pin protocol has made sure no write is
//! in flight for it (`try_begin_delete`, then the catalog check), and only if its shard files
//! are older than the grace period.
//!
//! The same listing finds *misplaced* copies: shards of catalogued chunks on a node their
//! placement no longer names (a node joined and a repair sweep wrote the shard where it now
//! belongs). They are deleted once the copy at the placement is confirmed, which completes a
//! rebalance.

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
    /// Copies of catalogued chunks on a node that is not (or no longer) their placement,
    /// deleted because the copy at the placement is confirmed (after a node joined, say).
    pub misplaced_deleted: u64,
    /// Misplaced copies kept because the copy at the placement could not be confirmed.
    pub misplaced_kept: u64,
    /// Nodes whose listing or deletes failed part-way, with the reason.
    pub nodes_failed: Vec<String>,
    /// Why nothing was deleted, when the index's view of the cluster is not complete (see
    /// `recovery::view`).
    #[serde(default)]
    pub paused: Option<String>,
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
        if let Err(reason) =
            crate::maintenance::recovery::check_deletable(&self.index, &self.blobs).await
        {
            tracing::warn!(reason, "orphan sweep paused");
            report.paused = Some(reason);
            return Ok(report);
        }
        let nodes = self.blobs.nodes().to_vec();
        for (n, node) in nodes.iter().enumerate() {
            self.progress
                .phase(&format!("listing shards of {}", node.url()), None);
            if let Err(e) = self.sweep_node(n, grace, &mut report).await {
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
        n: usize,
        grace: Duration,
        report: &mut OrphanReport,
    ) -> Result<(), RepairError> {
        let node = self.blobs.node(n);
        let failed = RepairError::of_node(node);
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
            let known = self
                .with_index(move |ix| {
                    let known = ix.has_chunks(&ids)?;
                    // "Unknown" may come from a commit not yet durable; make it so before
                    // deleting on its strength.
                    if known.iter().any(|k| !k) {
                        ix.sync()?;
                    }
                    Ok(known)
                })
                .await?;
            let cutoff = unix_now().saturating_sub(grace.as_secs());
            for (group, known) in groups.into_iter().zip(known) {
                if known {
                    let (deleted, kept) = self.retire_misplaced(n, group).await?;
                    report.misplaced_deleted += deleted;
                    report.misplaced_kept += kept;
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

    /// Deletes node `n`'s copies of a catalogued chunk that placement no longer puts there
    /// (neither now nor, mid-drain, before), once the copy where it belongs is confirmed.
    /// Returns (deleted, kept).
    async fn retire_misplaced(
        &self,
        n: usize,
        group: &[ShardEntry],
    ) -> Result<(u64, u64), RepairError> {
        let id = group[0].key.chunk;
        let Some(chunk) = self.with_index(move |ix| ix.chunk(&id)).await? else {
            return Ok((0, 0));
        };
        let total = chunk.params.total();
        let placement = self.blobs.placement(&id, total)?;
        let previous = self.blobs.previous_placement(&id, total, &placement);
        let node = self.blobs.node(n);
        let (mut deleted, mut kept) = (0, 0);
        for entry in group {
            let index = usize::from(entry.key.index);
            let belongs = placement.get(index) == Some(&n)
                || previous.as_ref().and_then(|p| p.get(index)) == Some(&n);
            if belongs {
                continue;
            }
            // An index the chunk does not have is a stray nothing can need.
            let home = placement.get(index).copied();
            let confirmed = match home {
                Some(home) => self.blobs.holds_intact(home, &chunk, index).await,
                None => true,
            };
            if !confirmed {
                kept += 1;
                continue;
            }
            // The copy moved home: its retention hold, if any, goes with it.
            let gone = match home {
                Some(home) => {
                    self.blobs
                        .retire_moved_copy(node, home, &id, entry.key.index)
                        .await
                }
                None => node.delete_shard(&id, entry.key.index).await,
            };
            match gone {
                Ok(_) => deleted += 1,
                Err(e) => {
                    tracing::warn!(chunk = %id, node = node.url(), error = %e, "misplaced copy kept");
                    kept += 1;
                }
            }
        }
        Ok((deleted, kept))
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
        // Checked again under the mark, and claimed in the index: a write that committed since
        // the listing is now visible, none in this gateway can start until the mark is gone, and
        // one in another gateway that commits this chunk later is refused (`index/deletion.rs`).
        let claimed = self.with_index(move |ix| ix.claim_orphan(&id)).await;
        let result = async {
            match claimed {
                Ok(true) => {}
                Ok(false) => return Ok(Some(0)),
                Err(e) => {
                    tracing::warn!(chunk = %id, error = %e, "orphan claim failed; orphan kept");
                    return Ok(Some(0));
                }
            }
            let mut deleted = 0;
            let mut failed = None;
            let mut held = false;
            for entry in group {
                match node.delete_shard(&id, entry.key.index).await {
                    Ok(true) => deleted += 1,
                    Ok(false) => {}
                    // The node keeps it for a retention hold: whatever this view says, a locked
                    // version needs it. Kept, and the sweep goes on.
                    Err(floe_node::ClientError::Held(why)) => {
                        tracing::warn!(chunk = %id, node = node.url(), why, "orphan under a retention hold kept");
                        held = true;
                        break;
                    }
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            let now = crate::objects::now_millis();
            let settled = match &failed {
                None if !held => {
                    self.with_index(move |ix| ix.finish_deletion(&id, now))
                        .await
                }
                _ => self.with_index(move |ix| ix.release_claim(&id)).await,
            };
            if let Err(e) = settled {
                tracing::warn!(chunk = %id, error = %e, "orphan claim not settled");
            }
            if let Some(e) = failed {
                return Err(e);
            }
            tracing::debug!(chunk = %id, node = node.url(), deleted, "orphaned shards deleted");
            Ok(Some(deleted))
        }
        .await;
        pins.end_delete(id);
        result
    }
}
