//! Draining a node: after it, the node holds nothing the cluster needs and can be removed.
//!
//! 1. Mark it draining, in the blob layer (writes and placement skip it at once) and in the
//!    index (so the mark survives a restart).
//! 2. A repair sweep: every chunk is checked against its new placement, and each shard missing
//!    there is copied from where it was placed before (the draining node), or rebuilt.
//! 3. Its metadata records move to their new nodes.
//! 4. The old copies are deleted, each only once the copy at the new placement is confirmed
//!    (HEAD: present, right length and hash): the draining node's shards, and the few shards of
//!    other nodes that moved because placement cascaded when the node left it. Shards on the
//!    draining node of chunks the catalog does not know are orphans, left to the orphan sweep.
//!
//! Reads keep working throughout: a shard missing at its new node is looked for at its old one.

use std::time::Instant;

use floe_codec::ChunkRef;
use floe_node::{NodeClient, RecordId, ShardEntry, ShardKey};
use futures::StreamExt;
use futures::future::join_all;
use serde::{Deserialize, Serialize};

use super::{RepairError, RepairReport, Repairer};

/// Shards or records listed per page.
const LIST_PAGE: u32 = 1000;

/// What a drain did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DrainReport {
    /// Placement key of the drained node.
    pub node: String,
    pub url: String,
    /// The sweep that copied (or rebuilt) its shards at their new placement.
    pub repair: RepairReport,
    pub records_moved: u64,
    pub records_failed: u64,
    /// Its shards deleted after their new copy was confirmed.
    pub shards_removed: u64,
    /// Shards of catalogued chunks still on it: their new copy could not be confirmed.
    pub shards_kept: u64,
    /// Old copies deleted from other nodes (shards that moved because placement cascaded).
    pub stale_copies_removed: u64,
    /// Shards of chunks the index does not know, left for the orphan sweep.
    pub orphans_left: u64,
    /// Why the node itself could not be listed or emptied (a dead node), if so.
    pub node_error: Option<String>,
    pub elapsed_ms: u64,
}

impl Repairer {
    /// Follows the drain marks in the index: with several gateways on one index, a drain
    /// started through one must keep the others from placing new shards on the node too. Runs
    /// every repair round; a mark this gateway cannot apply is logged and tried again.
    pub async fn follow_drain_marks(&self) {
        // Not while this gateway runs a maintenance operation itself: a drain it is starting
        // marks the node here before the index.
        let Ok(_exclusive) = self.exclusive.try_lock() else {
            return;
        };
        let marked = match self.with_index(|ix| ix.draining_nodes()).await {
            Ok(marked) => marked,
            Err(e) => {
                tracing::warn!(error = %e, "drain marks not read");
                return;
            }
        };
        for (n, key) in self.blobs.keys().iter().enumerate() {
            let wanted = marked.contains(key);
            if self.blobs.is_draining(n) == wanted {
                continue;
            }
            match self.blobs.set_draining(n, wanted) {
                Ok(()) => tracing::info!(node = key, draining = wanted, "drain mark followed"),
                Err(e) => tracing::warn!(node = key, error = %e, "drain mark not applied"),
            }
        }
    }

    /// Drains the node named `name` (its URL or placement key); see the module docs. Running it
    /// again resumes an interrupted drain.
    pub async fn drain(&self, name: &str) -> Result<DrainReport, RepairError> {
        let node = self.blobs.node_by_name(name).ok_or_else(|| {
            RepairError::Invalid(format!(
                "no node {name:?}; nodes are {}",
                self.blobs.keys().join(", ")
            ))
        })?;
        let key = self.blobs.keys()[node].clone();
        let client = self.blobs.node(node).clone();
        let _exclusive = self.exclusive().await;
        let _progress = self.progress.begin("drain");
        let started = Instant::now();
        if !self.blobs.is_draining(node) {
            self.blobs
                .set_draining(node, true)
                .map_err(RepairError::Refused)?;
            let persisted = key.clone();
            if let Err(e) = self
                .with_index(move |ix| ix.set_node_draining(&persisted, true))
                .await
            {
                let _ = self.blobs.set_draining(node, false);
                return Err(e.into());
            }
            tracing::info!(node = key, "node marked draining");
        }
        let mut report = DrainReport {
            node: key,
            url: client.url().to_string(),
            repair: self.sweep_locked().await?,
            ..DrainReport::default()
        };
        self.progress.phase("moving records", None);
        let moved = self.move_records(&client, &mut report).await;
        self.progress
            .phase("removing old copies", Some(report.repair.chunks_checked));
        self.retire_old_copies(node, &mut report).await?;
        self.progress
            .phase("removing what is left on the node", None);
        let removed = self.remove_shards(&client, &mut report).await;
        // A dead node cannot be listed or emptied; its shards were rebuilt elsewhere all the
        // same, and its records have two more copies each.
        for result in [moved, removed] {
            match result {
                Ok(()) => {}
                Err(RepairError::Node { source, .. }) => {
                    report.node_error = Some(source.to_string())
                }
                Err(e) => return Err(e),
            }
        }
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        tracing::info!(
            node = report.node,
            removed = report.shards_removed,
            kept = report.shards_kept,
            records = report.records_moved,
            "drain finished"
        );
        Ok(report)
    }

    /// Deletes every copy left at the previous placement of a shard whose new copy is
    /// confirmed, chunk by chunk over the catalog.
    async fn retire_old_copies(
        &self,
        drained: usize,
        report: &mut DrainReport,
    ) -> Result<(), RepairError> {
        let mut after = None;
        loop {
            let from = after;
            let page = self
                .with_index(move |ix| ix.chunks(from.as_ref(), 256))
                .await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = Some(last.id);
            let retired = futures::stream::iter(page)
                .map(|chunk| async move { self.retire_chunk(&chunk, drained).await })
                .buffer_unordered(self.concurrency.max(1))
                .collect::<Vec<_>>()
                .await;
            for (from_drained, from_others, kept) in retired {
                self.progress.advance(1);
                report.shards_removed += from_drained;
                report.stale_copies_removed += from_others;
                report.shards_kept += kept;
            }
        }
    }

    /// (removed from the drained node, removed from others, kept) for one chunk.
    async fn retire_chunk(&self, chunk: &ChunkRef, drained: usize) -> (u64, u64, u64) {
        let total = chunk.params.total();
        let Ok(placement) = self.blobs.placement(&chunk.id, total) else {
            return (0, 0, 0);
        };
        let Some(previous) = self.blobs.previous_placement(&chunk.id, total, &placement) else {
            return (0, 0, 0);
        };
        let mut counts = (0, 0, 0);
        for index in (0..total).filter(|&i| previous[i] != placement[i]) {
            let shard = index as u16;
            let old = self.blobs.node(previous[index]);
            if !self
                .blobs
                .holds_intact(placement[index], chunk, index)
                .await
            {
                if matches!(old.head_shard(&chunk.id, shard).await, Ok(Some(_))) {
                    counts.2 += 1;
                }
                continue;
            }
            let retired = self
                .blobs
                .retire_moved_copy(old, placement[index], &chunk.id, shard)
                .await;
            match retired {
                Ok(true) if previous[index] == drained => counts.0 += 1,
                Ok(true) => counts.1 += 1,
                Ok(false) => {}
                // A dead drained node: nothing to delete that anyone will read again.
                Err(e) if previous[index] == drained && e.is_transient() => {}
                Err(e) => {
                    tracing::warn!(chunk = %chunk.id, shard, node = old.url(), error = %e, "old copy not deleted");
                    counts.2 += 1;
                }
            }
        }
        counts
    }

    async fn move_records(
        &self,
        from: &NodeClient,
        report: &mut DrainReport,
    ) -> Result<(), RepairError> {
        let failed = RepairError::of_node(from);
        let mut after: Option<RecordId> = None;
        loop {
            let page = from
                .list_records(after.as_ref(), LIST_PAGE)
                .await
                .map_err(failed)?;
            for entry in &page.records {
                self.progress.advance(1);
                let (version, bytes) = match from.get_record(&entry.id).await {
                    Ok(record) => record,
                    Err(e) => {
                        tracing::warn!(record = %entry.id, error = %e, "record not moved");
                        report.records_failed += 1;
                        continue;
                    }
                };
                let targets = self.blobs.record_placement(&entry.id.0);
                let puts = targets.iter().map(|&n| {
                    let client = self.blobs.node(n).clone();
                    let bytes = bytes.clone();
                    async move { client.put_record(&entry.id, version, bytes).await }
                });
                let stored = join_all(puts).await.iter().filter(|r| r.is_ok()).count();
                // The quorum an acknowledged change has (m + 1), or the old copy would be the
                // one that made it durable.
                if stored >= targets.len().clamp(1, self.blobs.record_quorum()) {
                    from.delete_record(&entry.id).await.map_err(failed)?;
                    report.records_moved += 1;
                } else {
                    report.records_failed += 1;
                }
            }
            match page.next_after {
                Some(next) => after = Some(next),
                None => return Ok(()),
            }
        }
    }

    async fn remove_shards(
        &self,
        from: &NodeClient,
        report: &mut DrainReport,
    ) -> Result<(), RepairError> {
        let failed = RepairError::of_node(from);
        let mut after: Option<ShardKey> = None;
        loop {
            let page = from
                .list_shards(after.as_ref(), LIST_PAGE)
                .await
                .map_err(failed)?;
            self.progress.advance(page.shards.len() as u64);
            for group in page.shards.chunk_by(|a, b| a.key.chunk == b.key.chunk) {
                self.remove_chunk_shards(from, group, report)
                    .await
                    .map_err(failed)?;
            }
            match page.next_after {
                Some(next) => after = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// Deletes the drained node's shards of one chunk whose new copies are confirmed.
    async fn remove_chunk_shards(
        &self,
        from: &NodeClient,
        group: &[ShardEntry],
        report: &mut DrainReport,
    ) -> Result<(), floe_node::ClientError> {
        let id = group[0].key.chunk;
        let chunk = match self.with_index(move |ix| ix.chunk(&id)).await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => {
                report.orphans_left += group.len() as u64;
                return Ok(());
            }
            Err(e) => {
                tracing::warn!(chunk = %id, error = %e, "catalog lookup failed; shards kept");
                report.shards_kept += group.len() as u64;
                return Ok(());
            }
        };
        let Ok(placement) = self.blobs.placement(&id, chunk.params.total()) else {
            report.shards_kept += group.len() as u64;
            return Ok(());
        };
        for entry in group {
            let index = usize::from(entry.key.index);
            let Some(&target) = placement.get(index) else {
                // Not a shard this chunk has: stray, nothing can need it.
                from.delete_shard(&id, entry.key.index).await?;
                continue;
            };
            if self.blobs.holds_intact(target, &chunk, index).await {
                self.blobs
                    .retire_moved_copy(from, target, &id, entry.key.index)
                    .await?;
                report.shards_removed += 1;
            } else {
                report.shards_kept += 1;
            }
        }
        Ok(())
    }
}
