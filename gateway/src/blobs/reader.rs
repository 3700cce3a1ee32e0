//! Verified reads: fetch the data shards a byte range needs, verify each against its blake3 hash,
//! and fall back to parity plus a Reed-Solomon decode when a shard is missing, rotten or slow.
//!
//! The code is systematic, so a healthy read never decodes: it only checks hashes and slices.
//! A shard that has not arrived after `hedge_after` is hedged by asking parity nodes too; the
//! first k verified shards win.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use floe_codec::{ByteRange, ChunkRef, chunk_slices, restore_data, shard_slices};
use floe_node::ClientError;
use futures::stream::{FuturesUnordered, Stream, StreamExt};

use super::cluster::BlobStore;
use super::error::BlobError;
use super::health::ShardOp;
use super::repair_queue::{RepairReason, ShardFault};

impl BlobStore {
    /// Streams bytes `range` of the blob made of `chunks`, `read_ahead` chunks at a time, so memory
    /// stays bounded whatever the blob size.
    pub fn read_range(
        self: &Arc<Self>,
        chunks: Arc<[ChunkRef]>,
        range: ByteRange,
    ) -> impl Stream<Item = Result<Bytes, BlobError>> + Send + 'static {
        let lens: Vec<u32> = chunks.iter().map(|c| c.len).collect();
        let slices = chunk_slices(&lens, range);
        let store = self.clone();
        let ahead = self.config().read_ahead;
        futures::stream::iter(slices)
            .map(move |slice| {
                let store = store.clone();
                let chunks = chunks.clone();
                async move {
                    store
                        .read_slice(&chunks[slice.chunk_index], slice.offset, slice.len)
                        .await
                }
            })
            .buffered(ahead)
    }

    /// The whole verified content of one chunk.
    pub async fn read_chunk(&self, chunk: &ChunkRef) -> Result<Bytes, BlobError> {
        self.read_slice(chunk, 0, chunk.len as usize).await
    }

    /// Bytes `[offset, offset + len)` of a chunk, fetching only the data shards that cover them.
    pub async fn read_slice(
        &self,
        chunk: &ChunkRef,
        offset: usize,
        len: usize,
    ) -> Result<Bytes, BlobError> {
        let mut pieces = self.read_pieces(chunk, offset, len).await?;
        if pieces.len() <= 1 {
            return Ok(pieces.pop().unwrap_or_default());
        }
        let mut out = BytesMut::with_capacity(pieces.iter().map(Bytes::len).sum());
        for piece in &pieces {
            out.extend_from_slice(piece);
        }
        Ok(out.freeze())
    }

    /// Like [`read_slice`](Self::read_slice), but as one piece per shard touched, in order: views
    /// of the fetched (or rebuilt) shard buffers, so a streamed read copies nothing here.
    pub async fn read_pieces(
        &self,
        chunk: &ChunkRef,
        offset: usize,
        len: usize,
    ) -> Result<Vec<Bytes>, BlobError> {
        let len = len.min((chunk.len as usize).saturating_sub(offset));
        if len == 0 {
            return Ok(Vec::new());
        }
        let slices = shard_slices(chunk.shard_len(), offset, len);
        let wanted: Vec<usize> = slices.iter().map(|s| s.shard_index).collect();
        let shards = self.fetch_shards(chunk, &wanted).await?;
        slices
            .iter()
            .map(|s| {
                let shard = shards[s.shard_index]
                    .as_ref()
                    .ok_or_else(|| BlobError::Internal("fetched shard set lacks a wanted shard"))?;
                Ok(shard.slice(s.offset..s.offset + s.len))
            })
            .collect()
    }

    /// Returns a shard set (k+m slots) in which every `wanted` data shard is present and verified.
    async fn fetch_shards(
        &self,
        chunk: &ChunkRef,
        wanted: &[usize],
    ) -> Result<Vec<Option<Bytes>>, BlobError> {
        let k = chunk.params.k();
        let total = chunk.params.total();
        let placement = self.placement(&chunk.id, total)?;
        let previous = self.previous_placement(&chunk.id, total, &placement);
        let launch = |index: usize| {
            let client = self.nodes()[placement[index]].clone();
            // While a node drains, a shard not yet moved is still where it was placed before.
            let moved_from = previous
                .as_ref()
                .filter(|p| p[index] != placement[index])
                .map(|p| self.nodes()[p[index]].clone());
            let id = chunk.id;
            async move {
                let result = client.get_shard(&id, index as u16).await;
                match (result, moved_from) {
                    (Err(ClientError::NotFound), Some(old)) => {
                        (index, old.get_shard(&id, index as u16).await)
                    }
                    (result, _) => (index, result),
                }
            }
        };

        let health = self.health();
        let down = |index: usize| health.is_down(placement[index]);
        let mut shards: Vec<Option<Bytes>> = vec![None; total];
        let mut pending = FuturesUnordered::new();
        // Once something goes wrong we need any k shards: keep this many fetched or in flight.
        let mut target: Option<usize> = None;
        for &index in wanted {
            if down(index) {
                // Known down: go straight to the fallbacks instead of waiting for it to fail.
                target = Some(k);
            } else {
                pending.push(launch(index));
            }
        }
        // Other data shards first: with them a range read may still avoid decoding parity.
        // Shards on nodes known to be down go last: tried only if nothing else is left.
        let mut spare: VecDeque<usize> = (0..total)
            .filter(|i| !wanted.contains(i) && !down(*i))
            .chain((0..total).filter(|i| down(*i)))
            .collect();
        let hedge = tokio::time::sleep(self.config().hedge_after);
        tokio::pin!(hedge);
        let mut hedged = false;
        let mut searched = false;

        loop {
            let have = shards.iter().flatten().count();
            if wanted.iter().all(|&i| shards[i].is_some()) {
                return Ok(shards);
            }
            if have >= k {
                return self.decode(chunk, shards).await;
            }
            if let Some(target) = target {
                while have + pending.len() < target {
                    let Some(index) = spare.pop_front() else {
                        break;
                    };
                    pending.push(launch(index));
                }
            }
            if pending.is_empty() {
                // Last resort, once: after nodes joined, shards may sit off their placement.
                if !searched {
                    searched = true;
                    self.search_elsewhere(chunk, &placement, &mut shards).await;
                    continue;
                }
                return Err(BlobError::Unreadable {
                    chunk: chunk.id,
                    have,
                    need: k,
                });
            }
            tokio::select! {
                Some((index, result)) = pending.next() => {
                    health.observe(placement[index], ShardOp::Read, &result);
                    let fault = match result {
                        Ok(bytes) if chunk.verify_shard(index, &bytes) => {
                            shards[index] = Some(bytes);
                            None
                        }
                        // The node verified it, yet it fails here: rot in transit or a lying node.
                        Ok(_) => Some(RepairReason::Corrupt),
                        Err(ClientError::NotFound) => Some(RepairReason::Missing),
                        Err(ClientError::Corrupt) => Some(RepairReason::Corrupt),
                        Err(_) => Some(RepairReason::Unreachable),
                    };
                    if let Some(reason) = fault {
                        self.repairs().report(ShardFault {
                            chunk: chunk.id,
                            shard: index as u16,
                            node: self.nodes()[placement[index]].url().to_string(),
                            reason,
                        });
                        target = Some(target.unwrap_or(k).max(k));
                    }
                }
                () = &mut hedge, if !hedged => {
                    // Whatever is still outstanding is slow: ask for as many extra shards.
                    hedged = true;
                    target = Some(k + pending.len());
                }
            }
        }
    }

    /// Rebuilds the missing data shards from any k verified shards, on a blocking thread. The
    /// fetched shards are decoded in place (no copy); only the rebuilt ones are new buffers.
    async fn decode(
        &self,
        chunk: &ChunkRef,
        shards: Vec<Option<Bytes>>,
    ) -> Result<Vec<Option<Bytes>>, BlobError> {
        let chunk = chunk.clone();
        tokio::task::spawn_blocking(move || {
            let mut shards = shards;
            for (index, bytes) in restore_data(&chunk, &shards)? {
                shards[index] = Some(Bytes::from(bytes));
            }
            Ok(shards)
        })
        .await
        .map_err(BlobError::from)?
    }
}

/// The byte range of a whole blob of `size` bytes.
pub fn whole(size: u64) -> ByteRange {
    ByteRange {
        start: 0,
        end: size,
    }
}
