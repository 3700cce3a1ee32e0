//! Retention holds on the nodes: for each chunk of a version under retention, every node that
//! holds one of its shards is told to keep that chunk's shards until the retention's date
//! (`floe_node::holds`). The index already refuses to let such a version go; the holds make the
//! nodes refuse too, so a later mistake above them (a damaged index, a bug in a sweep) cannot
//! delete the shards the holds cover.

use floe_codec::{ChunkId, ChunkRef};
use floe_node::ClientError;
use floe_node::protocol::HoldItem;
use futures::future::join_all;

use super::cluster::BlobStore;

/// Holds per request: a request stays far below the node's body cap whatever the object's size.
const HOLDS_PER_REQUEST: usize = 20_000;

impl BlobStore {
    /// Raises the holds `wanted` (an owner's number, a chunk, the date), batched per node;
    /// returns, per owner (`0..owners`), the most nodes any one of its chunks missed.
    pub async fn raise_holds(
        &self,
        wanted: &[(usize, &ChunkRef, i64)],
        owners: usize,
    ) -> Vec<usize> {
        // (index into `wanted`, hold) per node.
        let mut batches: Vec<Vec<(usize, HoldItem)>> = vec![Vec::new(); self.nodes().len()];
        let mut missed = vec![0usize; wanted.len()];
        for (w, &(_, chunk, until)) in wanted.iter().enumerate() {
            let Ok(placement) = self.placement(&chunk.id, chunk.params.total()) else {
                missed[w] = usize::MAX;
                continue;
            };
            for node in placement {
                let hold = HoldItem {
                    chunk: chunk.id,
                    until,
                };
                batches[node].push((w, hold));
            }
        }
        let sends = batches
            .into_iter()
            .enumerate()
            .flat_map(|(node, batch)| {
                let pieces: Vec<Vec<(usize, HoldItem)>> = batch
                    .chunks(HOLDS_PER_REQUEST)
                    .map(<[_]>::to_vec)
                    .collect();
                pieces.into_iter().map(move |piece| (node, piece))
            })
            .map(|(node, piece)| {
                let client = self.nodes()[node].clone();
                async move {
                    let items: Vec<HoldItem> = piece.iter().map(|(_, h)| *h).collect();
                    let outcome = client.raise_holds(&items).await;
                    if let Err(e) = &outcome {
                        tracing::debug!(node = %client.url(), error = %e, holds = items.len(), "holds not raised");
                    }
                    (piece, outcome.is_ok())
                }
            });
        for (piece, ok) in join_all(sends).await {
            if !ok {
                // A chunk has one shard per node, so it is in a node's requests once.
                for (w, _) in piece {
                    missed[w] = missed[w].saturating_add(1);
                }
            }
        }
        let mut worst = vec![0usize; owners];
        for (w, &(owner, _, _)) in wanted.iter().enumerate() {
            worst[owner] = worst[owner].max(missed[w]);
        }
        worst
    }

    /// Raises on the nodes `targets` the latest retention hold any of the nodes `holders` keeps
    /// on `chunk`, if there is one: a shard rebuilt on a node (repair) takes its chunk's hold
    /// along, as a moved one does (`delete::retire_moved_copy`). Returns the hold carried.
    pub async fn carry_hold(
        &self,
        chunk: &ChunkId,
        holders: &[usize],
        targets: &[usize],
    ) -> Result<Option<i64>, ClientError> {
        let asks = holders
            .iter()
            .filter_map(|&n| self.nodes().get(n))
            .map(|node| node.hold(chunk));
        let until = join_all(asks).await.into_iter().flatten().flatten().max();
        let Some(until) = until else {
            return Ok(None);
        };
        let hold = [HoldItem {
            chunk: *chunk,
            until,
        }];
        for &n in targets {
            if let Some(node) = self.nodes().get(n) {
                node.raise_holds(&hold).await?;
            }
        }
        Ok(Some(until))
    }
}
