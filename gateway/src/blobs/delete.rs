//! Removing an unreferenced chunk's shards from its nodes (the garbage collector's last step),
//! and retiring the old copy of a shard that moved (drain). A node refuses to delete a shard
//! whose chunk is under a retention hold (`floe_node::holds`): the collector then keeps the
//! chunk on its list, and a moved shard takes its hold along before its old copy goes.

use floe_codec::{ChunkId, CodecParams};
use floe_node::protocol::HoldItem;
use floe_node::{ClientError, NodeClient};
use futures::future::join_all;

use super::cluster::BlobStore;
use super::error::BlobError;

impl BlobStore {
    /// Deletes every shard of `chunk` from the nodes that hold them. A shard already gone counts
    /// as deleted; any node that cannot be reached makes the whole call fail, so the caller keeps
    /// the chunk on its list and tries again later.
    pub async fn delete_chunk(
        &self,
        chunk: &ChunkId,
        params: CodecParams,
    ) -> Result<(), BlobError> {
        let total = params.total();
        let placement = self.placement(chunk, total)?;
        let mut targets: Vec<(usize, usize)> = placement.iter().copied().enumerate().collect();
        // Mid-drain, a shard may still sit at its old node.
        if let Some(previous) = self.previous_placement(chunk, total, &placement) {
            targets.extend(
                previous
                    .into_iter()
                    .enumerate()
                    .filter(|&(index, node)| placement[index] != node),
            );
        }
        let deletes = targets.into_iter().map(|(index, node)| {
            let client = self.nodes()[node].clone();
            async move { client.delete_shard(chunk, index as u16).await }
        });
        let failed = join_all(deletes)
            .await
            .into_iter()
            .filter(|r| r.is_err())
            .count();
        if failed > 0 {
            return Err(BlobError::DeleteIncomplete {
                chunk: *chunk,
                failed,
            });
        }
        Ok(())
    }

    /// Deletes the copy of shard `index` of `chunk` on `old`, now that node `new` holds it
    /// (the caller verified that copy): the chunk's retention hold on `old`, if any, is raised
    /// on `new` first, so a move never drops a hold.
    pub async fn retire_moved_copy(
        &self,
        old: &NodeClient,
        new: usize,
        chunk: &ChunkId,
        index: u16,
    ) -> Result<bool, ClientError> {
        if let Some(until) = old.hold(chunk).await? {
            let target = self.nodes().get(new).ok_or_else(|| {
                ClientError::Protocol(format!("no node number {new} to take the hold"))
            })?;
            target
                .raise_holds(&[HoldItem {
                    chunk: *chunk,
                    until,
                }])
                .await?;
        }
        old.delete_moved_shard(chunk, index).await
    }
}
