//! Removing an unreferenced chunk's shards from its nodes (the garbage collector's last step).

use floe_codec::{ChunkId, CodecParams};
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
}
