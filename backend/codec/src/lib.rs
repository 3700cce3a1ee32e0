//! Floe's pure erasure-coding core. No tokio, no I/O: async callers use `spawn_blocking`.
//!
//! - [`ids`]: content-derived ids (`ChunkId`, `ShardHash`).
//! - [`params`]: k + m coding parameters (`CodecParams`).
//! - [`chunk`]: chunk ids, `ChunkRef`, encoding and reconstruction of one chunk.
//! - [`chunker`]: cutting a byte stream into fixed-size chunks.
//! - [`manifest`]: an object's persisted description and its versioned encoding.
//! - [`placement`]: which nodes hold which shards (rendezvous hashing).
//! - [`range`]: which chunks and shards a byte range touches.
//!
//! Everything public is re-exported at the crate root.

pub mod chunk;
pub mod chunker;
mod error;
pub mod ids;
pub mod manifest;
pub mod params;
pub mod placement;
pub mod range;

pub use chunk::{
    ChunkRef, EncodedChunk, FORMAT_VERSION, chunk_id, decode_chunk, encode_chunk, reconstruct_all,
    reconstruct_data, restore_data, shard_len_for,
};
pub use chunker::{Chunker, DEFAULT_CHUNK_SIZE};
pub use error::{CodecError, ManifestError};
pub use ids::{ChunkId, ID_LEN, IdError, ShardHash};
pub use manifest::{Body, MANIFEST_FORMAT, Manifest};
pub use params::{CodecParams, MAX_PADDING, MAX_TOTAL_SHARDS};
pub use placement::{PlacementError, place, rank};
pub use range::{ByteRange, ChunkSlice, ShardSlice, chunk_slices, shard_slices};
