//! Errors of the blob layer, one enum for its callers.

use floe_codec::{ChunkId, CodecError};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// Fewer shards than the write quorum were acknowledged: the chunk is not durable.
    #[error("write quorum not reached for chunk {chunk}: {acked} of {needed} shards acknowledged")]
    QuorumNotReached {
        chunk: ChunkId,
        acked: usize,
        needed: usize,
    },
    /// Too few healthy shards could be fetched to rebuild a chunk.
    #[error("chunk {chunk} unreadable: {have} verified shards of {need} needed")]
    Unreadable {
        chunk: ChunkId,
        have: usize,
        need: usize,
    },
    /// Some nodes could not be told to delete their shard of a chunk.
    #[error("chunk {chunk}: {failed} shard deletions failed")]
    DeleteIncomplete { chunk: ChunkId, failed: usize },
    /// The cluster configuration cannot work (e.g. k+m larger than the node count).
    #[error("invalid cluster configuration: {0}")]
    Config(String),
    /// No placement for a chunk (fewer usable nodes than shards).
    #[error("placement: {0}")]
    Placement(#[from] floe_codec::PlacementError),
    #[error("codec: {0}")]
    Codec(#[from] CodecError),
    /// A worker (encode, decode, a chunk's store) panicked or was cancelled.
    #[error("worker task: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// One failure shared by the readers a cache load coalesced.
    #[error("{0}")]
    Shared(#[source] std::sync::Arc<BlobError>),
    /// A broken invariant of the blob layer itself.
    #[error("internal: {0}")]
    Internal(&'static str),
}

impl BlobError {
    /// Whether the failure comes from missing storage capacity (nodes down), which S3 reports
    /// as 503 so that clients retry later.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::QuorumNotReached { .. } | Self::Unreadable { .. } => true,
            Self::Shared(inner) => inner.is_unavailable(),
            _ => false,
        }
    }
}
