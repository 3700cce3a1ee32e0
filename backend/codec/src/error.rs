//! The error enums of the codec's two boundaries: coding chunks (`CodecError`) and reading
//! persisted manifests (`ManifestError`).
//!
//! Callers branch on the variants (a `ShardHashMismatch` means "queue that shard for repair",
//! `TooFewShards` means "fetch more"), so they carry indices and counts rather than prose.

/// Why a chunk could not be encoded, verified or rebuilt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("invalid codec parameters: {0}")]
    InvalidParams(String),
    /// An empty object has zero chunks; an empty chunk would be a shard of pure padding.
    #[error("a chunk must hold at least one byte")]
    EmptyChunk,
    #[error("chunk of {0} bytes exceeds the 4 GiB limit")]
    ChunkTooLarge(usize),
    #[error("only {have} shards available, {need} needed to decode")]
    TooFewShards { have: usize, need: usize },
    #[error("shard {index} is {got} bytes, expected {expected}")]
    ShardLength {
        index: usize,
        expected: usize,
        got: usize,
    },
    /// A rebuilt shard does not hash to the committed value: one of the inputs was corrupt.
    #[error("shard {index} does not match its committed hash")]
    ShardHashMismatch { index: usize },
    #[error("expected {expected} shard slots, got {got}")]
    WrongShardCount { expected: usize, got: usize },
    #[error("reed-solomon: {0}")]
    ReedSolomon(String),
}

impl From<reed_solomon_simd::Error> for CodecError {
    fn from(e: reed_solomon_simd::Error) -> Self {
        Self::ReedSolomon(e.to_string())
    }
}

/// Why stored manifest bytes were refused. Every variant means "do not trust this record".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is empty")]
    Empty,
    /// Written by a newer (or foreign) format; refuse rather than misread it.
    #[error("unknown manifest format {0}")]
    UnknownFormat(u8),
    #[error("malformed manifest: {0}")]
    Malformed(String),
    #[error("malformed manifest encoding: {0}")]
    Encoding(#[from] postcard::Error),
    /// Well-formed bytes whose contents contradict themselves (size, ids, params).
    #[error("inconsistent manifest: {0}")]
    Inconsistent(String),
    /// An inline body whose bytes no longer match the hash stored with them.
    #[error("inline object body does not match its hash")]
    InlineCorrupt,
}
