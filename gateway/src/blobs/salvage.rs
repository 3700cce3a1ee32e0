//! Fetching shards for repair: verified shards of one chunk from an explicit list of (shard,
//! node) sources, as many as a rebuild needs and no more. Readers use it too, as a last resort,
//! to look for shards off their placement.
//!
//! Unlike the read path this neither hedges nor reports faults: repair has just checked every
//! shard itself and knows which ones are bad, and what it needs is any `need` verified shards,
//! fetched a few at a time, with each failure replaced by the next source.

use bytes::Bytes;
use floe_codec::ChunkRef;
use futures::stream::{FuturesUnordered, StreamExt};

use super::cluster::BlobStore;

/// One place to fetch a shard from: shard `shard` on node `node` (indices into
/// [`BlobStore::nodes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSource {
    pub shard: usize,
    pub node: usize,
}

impl BlobStore {
    /// Looks for the shards still missing from `shards` on every node but their placement node
    /// (skipping nodes known to be down), until k are in hand. Shards land off their placement
    /// when nodes join: until a repair sweep has moved them, they are where an older node list
    /// put them.
    pub(super) async fn search_elsewhere(
        &self,
        chunk: &ChunkRef,
        placement: &[usize],
        shards: &mut [Option<Bytes>],
    ) {
        let have = shards.iter().flatten().count();
        let need = chunk.params.k().saturating_sub(have);
        let sources: Vec<ShardSource> = (0..shards.len())
            .filter(|&i| shards[i].is_none())
            .flat_map(|shard| {
                let home = placement.get(shard).copied();
                (0..self.nodes().len())
                    .filter(move |&node| Some(node) != home)
                    .map(move |node| ShardSource { shard, node })
            })
            .filter(|s| !self.health().is_down(s.node))
            .collect();
        if need == 0 || sources.is_empty() {
            return;
        }
        let found = self.fetch_for_repair(chunk, &sources, need).await;
        for (slot, got) in shards.iter_mut().zip(found) {
            if slot.is_none() {
                *slot = got.map(Bytes::from);
            }
        }
    }

    /// Fetches verified shards of `chunk` from `sources`, in order, keeping `need` requests in
    /// flight until `need` shards are in hand or the sources run out. A source naming a shard
    /// already fetched is skipped, so the same shard may be listed at several nodes as
    /// fallbacks. Returns k + m slots; how many are filled tells the caller whether a rebuild
    /// can go ahead.
    pub(crate) async fn fetch_for_repair(
        &self,
        chunk: &ChunkRef,
        sources: &[ShardSource],
        need: usize,
    ) -> Vec<Option<Vec<u8>>> {
        let total = chunk.params.total();
        let mut slots: Vec<Option<Vec<u8>>> = vec![None; total];
        let mut queue: Vec<ShardSource> = sources
            .iter()
            .copied()
            .filter(|s| s.shard < total && s.node < self.nodes().len())
            .collect();
        let mut in_flight = FuturesUnordered::new();
        let mut have = 0;
        // A shard being fetched is not fetched again from its fallback until that attempt fails.
        let mut busy = vec![false; total];
        loop {
            while have + in_flight.len() < need {
                queue.retain(|s| slots[s.shard].is_none());
                let Some(pos) = queue.iter().position(|s| !busy[s.shard]) else {
                    break;
                };
                let source = queue.remove(pos);
                busy[source.shard] = true;
                let client = self.nodes()[source.node].clone();
                let id = chunk.id;
                in_flight.push(async move {
                    let result: Result<Bytes, _> = client.get_shard(&id, source.shard as u16).await;
                    (source, result)
                });
            }
            let Some((source, result)) = in_flight.next().await else {
                break;
            };
            busy[source.shard] = false;
            match result {
                Ok(bytes) if chunk.verify_shard(source.shard, &bytes) => {
                    slots[source.shard] = Some(Vec::from(bytes));
                    have += 1;
                }
                Ok(_) => tracing::warn!(
                    chunk = %chunk.id, shard = source.shard, node = self.nodes()[source.node].url(),
                    "repair source served a shard that fails its hash"
                ),
                Err(e) => tracing::debug!(
                    chunk = %chunk.id, shard = source.shard, node = self.nodes()[source.node].url(),
                    error = %e, "repair source unavailable"
                ),
            }
            if have >= need {
                break;
            }
        }
        slots
    }
}
