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
    #[error("codec: {0}")]
    Codec(#[from] CodecError),
    /// A blocking worker (encode/decode) panicked or was cancelled.
    #[error("internal: {0}")]
    Internal(String),
}

impl BlobError {
    /// Whether the failure comes from missing storage capacity (nodes down), which S3 reports
    /// as 503 so that clients retry later.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::QuorumNotReached { .. } | Self::Unreadable { .. }
        )
    }
}
