//! Retention holds on the nodes: for each chunk of a version under retention, every node that
//! holds one of its shards is told to keep that chunk's shards until the retention's date
//! (`floe_node::holds`). The index already refuses to let such a version go; the holds make the
//! nodes refuse too, so no later mistake above them (a damaged index, a bug in a sweep) can
//! delete what a retention protects.

use floe_codec::ChunkRef;
use floe_node::protocol::HoldItem;
use futures::future::join_all;

use super::cluster::BlobStore;

impl BlobStore {
    /// Raises the holds `wanted` (an owner's number, a chunk, the date), one request per node;
    /// returns, per owner (`0..owners`), how many of its chunks' nodes did not take them.
    pub async fn raise_holds(
        &self,
        wanted: &[(usize, &ChunkRef, i64)],
        owners: usize,
    ) -> Vec<usize> {
        let mut batches: Vec<Vec<(usize, HoldItem)>> = vec![Vec::new(); self.nodes().len()];
        let mut failed = vec![0usize; owners];
        for &(owner, chunk, until) in wanted {
            let Ok(placement) = self.placement(&chunk.id, chunk.params.total()) else {
                failed[owner] += 1;
                continue;
            };
            for node in placement {
                batches[node].push((
                    owner,
                    HoldItem {
                        chunk: chunk.id,
                        until,
                    },
                ));
            }
        }
        let sends = batches
            .into_iter()
            .enumerate()
            .filter(|(_, batch)| !batch.is_empty())
            .map(|(node, batch)| {
                let client = self.nodes()[node].clone();
                async move {
                    let items: Vec<HoldItem> = batch.iter().map(|(_, h)| *h).collect();
                    let outcome = client.raise_holds(&items).await;
                    if let Err(e) = &outcome {
                        tracing::debug!(node = %client.url(), error = %e, holds = items.len(), "holds not raised");
                    }
                    (batch, outcome.is_ok())
                }
            });
        for (batch, ok) in join_all(sends).await {
            if !ok {
                let mut owners: Vec<usize> = batch.iter().map(|(o, _)| *o).collect();
                owners.dedup();
                for owner in owners {
                    failed[owner] += 1;
                }
            }
        }
        failed
    }
}
