//! The hot-object cache: verified chunk bytes keyed by chunk id.
//!
//! Chunk ids are content commitments, so a cached chunk can never be stale: an overwrite or a
//! delete changes which chunk ids an object points to, never what an id means. The cache is
//! bounded in bytes (moka's weigher) and coalesces concurrent misses, so a burst of readers of a
//! cold object fetches each chunk once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use floe_codec::{ByteRange, ChunkId, ChunkRef, chunk_slices};
use futures::{Stream, StreamExt};

use crate::blobs::{BlobError, BlobStore};

/// Hit, miss and size counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub entries: u64,
    pub bytes: u64,
}

/// Reads chunks through a byte-bounded cache; with capacity 0 it reads straight from the blobs.
#[derive(Debug)]
pub struct CachedBlobs {
    blobs: Arc<BlobStore>,
    cache: Option<moka::future::Cache<ChunkId, Bytes>>,
    /// Objects larger than this are read around the cache (never admitted).
    max_object: u64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl CachedBlobs {
    /// A cache of `capacity_bytes` that admits chunks of objects up to `max_object` bytes.
    pub fn new(blobs: Arc<BlobStore>, capacity_bytes: u64, max_object: u64) -> Self {
        let cache = (capacity_bytes > 0).then(|| {
            moka::future::Cache::builder()
                .max_capacity(capacity_bytes)
                .weigher(|_, v: &Bytes| u32::try_from(v.len()).unwrap_or(u32::MAX))
                .build()
        });
        Self {
            blobs,
            cache,
            max_object,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub fn blobs(&self) -> &Arc<BlobStore> {
        &self.blobs
    }

    pub fn stats(&self) -> CacheStats {
        let (entries, bytes) = self
            .cache
            .as_ref()
            .map(|c| (c.entry_count(), c.weighted_size()))
            .unwrap_or_default();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries,
            bytes,
        }
    }

    /// Streams bytes `range` of a blob, `read_ahead` chunks at a time. The chunks stay pinned
    /// (safe from the garbage collector) for as long as the stream lives.
    pub async fn read_range(
        self: &Arc<Self>,
        chunks: Arc<[ChunkRef]>,
        range: ByteRange,
        object_size: u64,
    ) -> impl Stream<Item = Result<Bytes, BlobError>> + Send + 'static {
        // A large object streamed once would only push hot small objects out of the cache.
        let admit = object_size <= self.max_object;
        let lens: Vec<u32> = chunks.iter().map(|c| c.len).collect();
        let slices = chunk_slices(&lens, range);
        let ids: Vec<ChunkId> = slices.iter().map(|s| chunks[s.chunk_index].id).collect();
        let this = self.clone();
        let ahead = self.blobs.config().read_ahead;
        let pins = self.blobs.pins().clone();
        let bytes = futures::stream::iter(slices)
            .map(move |slice| {
                let this = this.clone();
                let chunks = chunks.clone();
                async move {
                    let chunk = &chunks[slice.chunk_index];
                    this.read_pieces(chunk, slice.offset, slice.len, admit)
                        .await
                }
            })
            .buffered(ahead)
            // One frame per piece: a chunk read around the cache is sent as its shard buffers,
            // never copied into one.
            .flat_map(|pieces| {
                futures::stream::iter(match pieces {
                    Ok(pieces) => pieces.into_iter().map(Ok).collect::<Vec<_>>(),
                    Err(e) => vec![Err(e)],
                })
            });
        let guard = pins.pin(ids).await;
        bytes.map(move |item| {
            let _held = &guard;
            item
        })
    }

    /// A slice of one chunk, as pieces in order: from the cache when the chunk is there, or read
    /// and cached when the slice is the whole chunk and `admit` allows it. Read around the cache
    /// (a partial slice of a cold chunk, or a chunk not admitted) it is one piece per shard
    /// touched, fetching only those shards.
    async fn read_pieces(
        &self,
        chunk: &ChunkRef,
        offset: usize,
        len: usize,
        admit: bool,
    ) -> Result<Vec<Bytes>, BlobError> {
        let Some(cache) = &self.cache else {
            return self.blobs.read_pieces(chunk, offset, len).await;
        };
        let whole = offset == 0 && len >= chunk.len as usize;
        if let Some(bytes) = cache.get(&chunk.id).await {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(vec![slice(&bytes, offset, len)]);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        if !whole || !admit {
            return self.blobs.read_pieces(chunk, offset, len).await;
        }
        let bytes = cache
            .try_get_with(chunk.id, self.blobs.read_chunk(chunk))
            .await
            .map_err(|e: Arc<BlobError>| clone_error(&e))?;
        Ok(vec![slice(&bytes, offset, len)])
    }
}

fn slice(bytes: &Bytes, offset: usize, len: usize) -> Bytes {
    let start = offset.min(bytes.len());
    let end = start.saturating_add(len).min(bytes.len());
    bytes.slice(start..end)
}

/// Coalesced loads share one error: each caller gets it behind the same `Arc`.
fn clone_error(e: &Arc<BlobError>) -> BlobError {
    BlobError::Shared(e.clone())
}
