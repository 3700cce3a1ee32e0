//! Streaming writes: bytes -> fixed-size chunks -> Reed-Solomon on a blocking thread -> k+m shard
//! uploads in parallel, acknowledged once `write_quorum` shards of every chunk are durable.
//! Small shards go through their node's lane (`shard_batches`), which sends the shards of
//! overlapping writes together.
//!
//! Memory is bounded by `write_ahead` chunks in flight, whatever the object size.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use floe_codec::{ChunkRef, Chunker, EncodedChunk, Manifest, encode_chunk};
use floe_node::{ShardItem, ShardKey};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, timeout_at};

use super::cluster::BlobStore;
use super::error::BlobError;
use super::health::ShardOp;
use super::pins::PinGuard;
use super::repair_queue::{RepairReason, ShardFault};
use super::shard_batches::BATCH_SHARD_MAX;

/// Writes one blob. Feed it with [`BlobWriter::write`], then call [`BlobWriter::finish`].
///
/// Dropping a writer without finishing abandons the blob: the shards already sent are garbage
/// that no manifest references, which the collector reclaims.
pub struct BlobWriter {
    store: Arc<BlobStore>,
    chunker: Chunker,
    in_flight: VecDeque<JoinHandle<Result<(ChunkRef, PinGuard), BlobError>>>,
    done: Vec<ChunkRef>,
    pins: Option<PinGuard>,
    bytes: u64,
}

impl BlobWriter {
    pub fn new(store: Arc<BlobStore>) -> Self {
        let chunker = Chunker::new(store.config().chunk_size);
        Self::with_chunker(store, chunker)
    }

    /// A writer for a blob announced as `len` bytes long, whose chunk buffers are allocated
    /// at their final size (see [`Chunker::expecting`]).
    pub fn expecting(store: Arc<BlobStore>, len: u64) -> Self {
        let chunker = Chunker::new(store.config().chunk_size).expecting(len);
        Self::with_chunker(store, chunker)
    }

    fn with_chunker(store: Arc<BlobStore>, chunker: Chunker) -> Self {
        Self {
            store,
            chunker,
            in_flight: VecDeque::new(),
            done: Vec::new(),
            pins: None,
            bytes: 0,
        }
    }

    /// Bytes accepted so far.
    pub fn len(&self) -> u64 {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// Appends bytes; waits when `write_ahead` chunks are already in flight.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
        self.bytes += bytes.len() as u64;
        for chunk in self.chunker.push(bytes) {
            self.submit(chunk).await?;
        }
        Ok(())
    }

    /// Flushes the last partial chunk, waits for every chunk's quorum, and returns the blob's
    /// manifest.
    pub async fn finish(self) -> Result<Manifest, BlobError> {
        self.finish_pinned().await.map(|(manifest, _)| manifest)
    }

    /// Like [`finish`](Self::finish), but keeps the chunks pinned against garbage collection
    /// until the returned guard is dropped: hold it until the manifest is committed.
    pub async fn finish_pinned(mut self) -> Result<(Manifest, Option<PinGuard>), BlobError> {
        let chunker = std::mem::replace(&mut self.chunker, Chunker::new(1));
        if let Some(last) = chunker.finish() {
            self.submit(last).await?;
        }
        while let Some(task) = self.in_flight.pop_front() {
            let done = join(task).await?;
            self.record(done);
        }
        let chunks = std::mem::take(&mut self.done);
        let manifest = Manifest::chunked(chunks, self.store.chunk_size_u32());
        Ok((manifest, self.pins.take()))
    }

    fn record(&mut self, (chunk, pin): (ChunkRef, PinGuard)) {
        self.done.push(chunk);
        match &mut self.pins {
            Some(all) => all.absorb(pin),
            None => self.pins = Some(pin),
        }
    }

    async fn submit(&mut self, chunk: Vec<u8>) -> Result<(), BlobError> {
        while self.in_flight.len() >= self.store.config().write_ahead {
            if let Some(task) = self.in_flight.pop_front() {
                let done = join(task).await?;
                self.record(done);
            }
        }
        let store = self.store.clone();
        self.in_flight.push_back(tokio::spawn(
            async move { store_chunk(&store, chunk).await },
        ));
        Ok(())
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // An abandoned write stops sending: nothing will reference these chunks.
        for task in &self.in_flight {
            task.abort();
        }
    }
}

async fn join(
    task: JoinHandle<Result<(ChunkRef, PinGuard), BlobError>>,
) -> Result<(ChunkRef, PinGuard), BlobError> {
    task.await.map_err(BlobError::from)?
}

/// Work on this many bytes or fewer is done on the request's own task: a chunk this small is
/// encoded there (about 0.1 ms of Reed-Solomon and blake3), and the ingest hashes a body this
/// small there (about 0.3 ms of MD5). Either costs less than the wake-ups of handing it to a
/// blocking thread and waiting for it (`docs/performance-log.md`).
pub const IN_PLACE_MAX: usize = 256 << 10;

/// Encodes one chunk and stores its shards; returns once the quorum is durable.
pub(super) async fn store_chunk(
    store: &BlobStore,
    data: Vec<u8>,
) -> Result<(ChunkRef, PinGuard), BlobError> {
    let params = store.config().params;
    let encoded = if data.len() <= IN_PLACE_MAX {
        encode_chunk(params, data)?
    } else {
        tokio::task::spawn_blocking(move || encode_chunk(params, data))
            .await
            .map_err(BlobError::from)??
    };
    store_encoded(store, encoded).await
}

/// Sends every shard of an encoded chunk to its node in parallel. The chunk is pinned first, so
/// a collector deleting an identical, unreferenced chunk finishes before these shards land.
pub(super) async fn store_encoded(
    store: &BlobStore,
    encoded: EncodedChunk,
) -> Result<(ChunkRef, PinGuard), BlobError> {
    let (chunk, data, parity) = encoded.into_parts();
    let pin = store.pins().pin([chunk.id]).await;
    let total = chunk.params.total();
    let placement = store.placement(&chunk.id, total)?;
    let shard_len = chunk.shard_len();
    let data = Bytes::from(data);
    let parity: Vec<Bytes> = parity.into_iter().map(Bytes::from).collect();
    let mut uploads = JoinSet::new();
    for (index, &node) in placement.iter().enumerate() {
        let body = if index < chunk.params.k() {
            data.slice(index * shard_len..(index + 1) * shard_len)
        } else {
            parity[index - chunk.params.k()].clone()
        };
        let client = store.nodes()[node].clone();
        let repairs = store.repairs().clone();
        let health = store.health().clone();
        let batches = store.batches().clone();
        let id = chunk.id;
        let hash = chunk.shard_hashes[index];
        uploads.spawn(async move {
            let result = if body.len() <= BATCH_SHARD_MAX {
                let key = ShardKey::new(id, index as u16);
                let item = ShardItem {
                    key,
                    hash,
                    payload: body,
                };
                batches.put(node, &client, item).await
            } else {
                client.put_shard(&id, index as u16, &hash, body).await
            };
            health.observe(node, ShardOp::Write, &result);
            if let Err(e) = &result {
                tracing::debug!(chunk = %id, shard = index, node = client.url(), error = %e, "shard put failed");
                repairs.report(ShardFault {
                    chunk: id,
                    shard: index as u16,
                    node: client.url().to_string(),
                    reason: RepairReason::WriteFailed,
                });
            }
            result.is_ok()
        });
    }
    drop((data, parity));

    let quorum = store.config().write_quorum;
    let (mut acked, mut finished) = (0usize, 0usize);
    let mut deadline: Option<Instant> = None;
    while finished < total {
        let next = match deadline {
            None => uploads.join_next().await,
            Some(at) => match timeout_at(at, uploads.join_next()).await {
                Ok(next) => next,
                Err(_) => break,
            },
        };
        let Some(outcome) = next else { break };
        finished += 1;
        if matches!(outcome, Ok(true)) {
            acked += 1;
        }
        if acked >= quorum && deadline.is_none() {
            deadline = Some(Instant::now() + store.config().straggler_grace);
        }
    }
    // Stragglers keep running after we return; they report to the repair queue if they fail.
    uploads.detach_all();
    if acked >= quorum {
        Ok((chunk, pin))
    } else {
        Err(BlobError::QuorumNotReached {
            chunk: chunk.id,
            acked,
            needed: quorum,
        })
    }
}
