//! Checking and rebuilding one chunk.
//!
//! 1. Pin the chunk and confirm it is still in the catalog, so the garbage collector cannot
//!    delete it under us (and we never resurrect shards it has just deleted).
//! 2. HEAD every shard at its placement node: present, right length and the stored hash the
//!    chunk id commits to, or else missing / corrupt / unreachable.
//! 3. A bad shard that a drain has not moved yet is copied from its previous node.
//! 4. Whatever is still missing is rebuilt: fetch k verified shards (data first; when the
//!    placement holds fewer than k, as after nodes joined, every other node is asked too), then
//!    `reconstruct_all` on a blocking thread; every rebuilt shard is checked against its hash.
//! 5. PUT each rebuilt shard to its placement node, which verifies it again before storing.

use floe_codec::{ChunkRef, reconstruct_all};
use floe_node::{ClientError, ShardInfo};
use futures::future::join_all;

use super::Repairer;
use crate::blobs::ShardSource;

/// What checking one chunk found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkRepair {
    /// Shards found missing or corrupt at their placement node.
    pub bad: usize,
    /// Shards written back.
    pub rebuilt: usize,
    /// Bytes written back.
    pub bytes: u64,
    /// Shards whose node did not answer (neither judged nor rewritten).
    pub unreachable: usize,
    /// Some bad shard could not be rebuilt or stored.
    pub failed: bool,
    /// The chunk left the catalog (collected) before it was checked.
    pub gone: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShardState {
    Healthy,
    Missing,
    Corrupt,
    Unreachable,
}

fn judge(
    chunk: &ChunkRef,
    index: usize,
    head: Result<Option<ShardInfo>, ClientError>,
) -> ShardState {
    match head {
        Ok(Some(info))
            if info.len == chunk.shard_len() as u64
                && Some(&info.hash) == chunk.shard_hashes.get(index) =>
        {
            ShardState::Healthy
        }
        Ok(Some(_)) | Err(ClientError::Corrupt) => ShardState::Corrupt,
        Ok(None) | Err(ClientError::NotFound) => ShardState::Missing,
        Err(_) => ShardState::Unreachable,
    }
}

impl Repairer {
    /// Checks `chunk` at its placement and rebuilds every missing or corrupt shard. Never fails:
    /// trouble is logged and reported in the result (and in the counters).
    pub async fn repair_chunk(&self, chunk: &ChunkRef) -> ChunkRepair {
        let outcome = self.check_and_rebuild(chunk).await;
        if outcome.failed {
            tracing::warn!(chunk = %chunk.id, bad = outcome.bad, rebuilt = outcome.rebuilt, "chunk repair incomplete");
        } else if outcome.rebuilt > 0 {
            tracing::debug!(chunk = %chunk.id, rebuilt = outcome.rebuilt, "chunk repaired");
        }
        if !outcome.gone {
            self.count(&outcome);
        }
        outcome
    }

    async fn check_and_rebuild(&self, chunk: &ChunkRef) -> ChunkRepair {
        let mut out = ChunkRepair::default();
        let _pin = self.blobs.pins().pin([chunk.id]).await;
        let id = chunk.id;
        match self.with_index(move |ix| ix.chunk(&id)).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                out.gone = true;
                return out;
            }
            Err(e) => {
                tracing::warn!(chunk = %chunk.id, error = %e, "catalog lookup failed");
                out.failed = true;
                return out;
            }
        }
        let total = chunk.params.total();
        let placement = match self.blobs.placement(&chunk.id, total) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(chunk = %chunk.id, error = %e, "no placement");
                out.failed = true;
                return out;
            }
        };
        let nodes = self.blobs.nodes();
        let heads = join_all(
            placement
                .iter()
                .enumerate()
                .map(|(i, &node)| nodes[node].head_shard(&chunk.id, i as u16)),
        )
        .await;
        let states: Vec<ShardState> = heads
            .into_iter()
            .enumerate()
            .map(|(i, head)| judge(chunk, i, head))
            .collect();
        out.unreachable = states
            .iter()
            .filter(|s| **s == ShardState::Unreachable)
            .count();
        let bad: Vec<usize> = (0..total)
            .filter(|&i| matches!(states[i], ShardState::Missing | ShardState::Corrupt))
            .collect();
        out.bad = bad.len();
        if bad.is_empty() {
            return out;
        }

        // Shards a drain has not moved yet: a plain copy from the previous node.
        let copies: Vec<ShardSource> = self
            .blobs
            .previous_placement(&chunk.id, total, &placement)
            .map(|previous| {
                bad.iter()
                    .filter(|&&i| previous[i] != placement[i])
                    .map(|&i| ShardSource {
                        shard: i,
                        node: previous[i],
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut slots = self
            .blobs
            .fetch_for_repair(chunk, &copies, copies.len())
            .await;
        if bad.iter().any(|&i| slots[i].is_none()) {
            // Healthy shards, data first: with all data shards present the rebuild is an encode.
            let sources: Vec<ShardSource> = (0..total)
                .filter(|&i| states[i] == ShardState::Healthy && slots[i].is_none())
                .map(|i| ShardSource {
                    shard: i,
                    node: placement[i],
                })
                .collect();
            self.fetch_more(chunk, &sources, &mut slots).await;
            if slots.iter().flatten().count() < chunk.params.k() {
                // Too few where placement says: after nodes joined, shards sit where an older
                // node list put them. Ask every other node for the shards still missing.
                let search: Vec<ShardSource> = (0..total)
                    .filter(|&i| slots[i].is_none())
                    .flat_map(|i| {
                        let home = placement[i];
                        (0..nodes.len())
                            .filter(move |&n| n != home)
                            .map(move |n| ShardSource { shard: i, node: n })
                    })
                    .collect();
                self.fetch_more(chunk, &search, &mut slots).await;
            }
            let chunk_ref = chunk.clone();
            let rebuilt = tokio::task::spawn_blocking(move || {
                reconstruct_all(&chunk_ref, &mut slots).map(|()| slots)
            })
            .await;
            slots = match rebuilt {
                Ok(Ok(slots)) => slots,
                Ok(Err(e)) => {
                    tracing::warn!(chunk = %chunk.id, error = %e, "cannot rebuild chunk");
                    out.failed = true;
                    return out;
                }
                Err(e) => {
                    tracing::error!(chunk = %chunk.id, error = %e, "rebuild task failed");
                    out.failed = true;
                    return out;
                }
            };
        }

        let puts = bad.iter().filter_map(|&i| {
            let bytes = bytes::Bytes::from(slots[i].take()?);
            let node = placement[i];
            let client = nodes[node].clone();
            let hash = chunk.shard_hashes[i];
            let id = chunk.id;
            Some(async move {
                let len = bytes.len() as u64;
                let result = client.put_shard(&id, i as u16, &hash, bytes).await;
                if let Err(e) = &result {
                    tracing::warn!(chunk = %id, shard = i, node = client.url(), error = %e, "cannot store rebuilt shard");
                }
                result.map(|()| (node, len))
            })
        });
        let results = join_all(puts).await;
        let mut refilled = Vec::new();
        for (node, len) in results.into_iter().flatten() {
            out.rebuilt += 1;
            out.bytes += len;
            refilled.push(node);
        }
        // A rebuilt shard takes its chunk's retention hold along from the nodes that kept theirs.
        if !refilled.is_empty() {
            let holders: Vec<usize> = (0..total)
                .filter(|i| !bad.contains(i))
                .map(|i| placement[i])
                .collect();
            if let Err(e) = self.blobs.carry_hold(&chunk.id, &holders, &refilled).await {
                tracing::warn!(chunk = %chunk.id, error = %e, "retention hold not carried to rebuilt shards");
            }
        }
        out.failed = out.rebuilt < bad.len();
        out
    }
}

impl Repairer {
    /// Fetches from `sources` until `slots` hold k verified shards (or the sources run out).
    async fn fetch_more(
        &self,
        chunk: &ChunkRef,
        sources: &[ShardSource],
        slots: &mut [Option<Vec<u8>>],
    ) {
        let have = slots.iter().flatten().count();
        let need = chunk.params.k().saturating_sub(have);
        if need == 0 {
            return;
        }
        let fetched = self.blobs.fetch_for_repair(chunk, sources, need).await;
        for (slot, got) in slots.iter_mut().zip(fetched) {
            if slot.is_none() {
                *slot = got;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use floe_codec::{CodecParams, encode_chunk};

    use super::*;

    #[test]
    fn judging_heads() {
        let chunk = encode_chunk(CodecParams::new(2, 1).unwrap(), (0..100).collect())
            .unwrap()
            .chunk;
        let good = ShardInfo {
            len: chunk.shard_len() as u64,
            hash: chunk.shard_hashes[1],
        };
        assert_eq!(judge(&chunk, 1, Ok(Some(good))), ShardState::Healthy);
        // Right bytes for another shard are wrong for this one.
        assert_eq!(judge(&chunk, 0, Ok(Some(good))), ShardState::Corrupt);
        let short = ShardInfo { len: 3, ..good };
        assert_eq!(judge(&chunk, 1, Ok(Some(short))), ShardState::Corrupt);
        assert_eq!(judge(&chunk, 1, Ok(None)), ShardState::Missing);
        assert_eq!(
            judge(&chunk, 1, Err(ClientError::Corrupt)),
            ShardState::Corrupt
        );
        assert_eq!(
            judge(&chunk, 1, Err(ClientError::Timeout)),
            ShardState::Unreachable
        );
    }
}
