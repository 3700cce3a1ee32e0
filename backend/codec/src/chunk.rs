//! One chunk (stripe) of an object: its content-derived id, the reference a manifest stores for
//! it, and the shard geometry shared by encoding and decoding.
//!
//! The code is systematic: data shard i is bytes `[i * shard_len, (i + 1) * shard_len)` of the
//! chunk, zero-padded at the end, so a healthy read is just k fetches and a concatenation.
//!
//! - `encode`: [`encode_chunk`] and the [`EncodedChunk`] it returns.
//! - `decode`: [`reconstruct_data`], [`restore_data`], [`decode_chunk`], [`reconstruct_all`].
//! - `recovery`: the cached linear plans degraded decoding runs on.

mod decode;
mod encode;
mod recovery;

pub use decode::{decode_chunk, reconstruct_all, reconstruct_data, restore_data};
pub use encode::{EncodedChunk, encode_chunk};

use serde::{Deserialize, Serialize};

use crate::{ChunkId, CodecParams, ShardHash};

/// Version of the chunk encoding (shard layout, padding, id derivation). It is committed into
/// every chunk id, so a future layout can never collide with, or be mistaken for, this one.
pub const FORMAT_VERSION: u8 = 1;

/// Domain separation: a chunk id can never equal a blake3 hash computed for any other purpose.
const CHUNK_ID_TAG: &[u8] = b"floe.chunk";

/// What a reader needs to fetch, verify and decode one chunk; stored in manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef {
    pub id: ChunkId,
    pub params: CodecParams,
    /// Chunk length in bytes, without padding.
    pub len: u32,
    /// One hash per shard, data shards first, then parity.
    pub shard_hashes: Vec<ShardHash>,
}

impl ChunkRef {
    /// Length of every shard of this chunk.
    pub fn shard_len(&self) -> usize {
        shard_len_for(self.len as usize, self.params.k())
    }

    /// Whether `bytes` are exactly shard `index` of this chunk. Checks the cheap length first so
    /// a truncated download is rejected without hashing.
    pub fn verify_shard(&self, index: usize, bytes: &[u8]) -> bool {
        match self.shard_hashes.get(index) {
            Some(hash) => bytes.len() == self.shard_len() && hash.matches(bytes),
            None => false,
        }
    }

    /// Whether the id really commits to these parameters, length and hashes. A reference that
    /// fails this came from a bug or from tampering, and none of its shards can be trusted.
    pub fn is_consistent(&self) -> bool {
        self.params.is_valid()
            && self.len > 0
            && self.shard_hashes.len() == self.params.total()
            && self.id == chunk_id(self.params, self.len, &self.shard_hashes)
    }

    /// Shape checks every decode path needs before indexing by shard: valid params and one hash
    /// per shard. The id itself is not rechecked here; manifests are checked once when read.
    pub(crate) fn check_shape(&self) -> Result<(), crate::CodecError> {
        if !self.params.is_valid() {
            return Err(crate::CodecError::InvalidParams(format!(
                "chunk reference carries {}",
                self.params
            )));
        }
        if self.shard_hashes.len() != self.params.total() {
            return Err(crate::CodecError::InvalidParams(format!(
                "{} shard hashes for {} shards",
                self.shard_hashes.len(),
                self.params.total()
            )));
        }
        Ok(())
    }
}

/// Shard length for a chunk of `len` bytes split k ways: `ceil(len / k)`, rounded up to even
/// (reed-solomon-simd works on 16-bit symbols), and at least 2.
pub fn shard_len_for(len: usize, k: usize) -> usize {
    // k = 0 only reaches here from a hand-built, invalid CodecParams; never divide by it.
    let per_shard = len.div_ceil(k.max(1));
    per_shard.next_multiple_of(2).max(2)
}

/// The content-derived id of a chunk: blake3 over a domain tag, `FORMAT_VERSION`, k and m
/// (little-endian u16), the length (little-endian u64) and every shard hash in order.
///
/// Hashing the shard hashes instead of the data lets any holder of a `ChunkRef` check the id
/// without the chunk bytes, and lets a node verify its one shard on its own.
pub fn chunk_id(params: CodecParams, len: u32, shard_hashes: &[ShardHash]) -> ChunkId {
    let mut hasher = blake3::Hasher::new();
    hasher.update(CHUNK_ID_TAG);
    hasher.update(&[FORMAT_VERSION]);
    hasher.update(&params.data_shards.to_le_bytes());
    hasher.update(&params.parity_shards.to_le_bytes());
    hasher.update(&u64::from(len).to_le_bytes());
    for hash in shard_hashes {
        hasher.update(hash.as_bytes());
    }
    ChunkId::from_bytes(*hasher.finalize().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_len_rounds_up_to_even() {
        assert_eq!(shard_len_for(0, 4), 2);
        assert_eq!(shard_len_for(1, 4), 2);
        assert_eq!(shard_len_for(8, 4), 2);
        assert_eq!(shard_len_for(9, 4), 4);
        assert_eq!(shard_len_for(12, 4), 4);
        assert_eq!(shard_len_for(13, 4), 4);
        assert_eq!(shard_len_for(17, 4), 6);
        assert_eq!(shard_len_for(7, 1), 8);
        assert_eq!(shard_len_for(4 * 1024 * 1024, 4), 1024 * 1024);
        assert_eq!(shard_len_for(5, 0), 6);
    }

    #[test]
    fn padding_never_exceeds_max() {
        for k in 1..=crate::MAX_TOTAL_SHARDS {
            for len in 1..600 {
                let padded = k * shard_len_for(len, k);
                assert!(padded >= len);
                assert!(padded - len <= crate::MAX_PADDING, "k={k} len={len}");
            }
        }
    }

    #[test]
    fn id_commits_to_every_field() {
        let p = CodecParams::new(2, 1).unwrap();
        let hashes = [
            ShardHash::of(b"a"),
            ShardHash::of(b"b"),
            ShardHash::of(b"c"),
        ];
        let id = chunk_id(p, 10, &hashes);
        assert_eq!(id, chunk_id(p, 10, &hashes));
        assert_ne!(id, chunk_id(p, 11, &hashes));
        assert_ne!(id, chunk_id(CodecParams::new(1, 2).unwrap(), 10, &hashes));
        let mut swapped = hashes;
        swapped.swap(0, 1);
        assert_ne!(id, chunk_id(p, 10, &swapped));
    }

    #[test]
    fn consistency_checks_shape_and_id() {
        let p = CodecParams::new(2, 1).unwrap();
        let hashes = vec![ShardHash::of(b"a"); 3];
        let good = ChunkRef {
            id: chunk_id(p, 10, &hashes),
            params: p,
            len: 10,
            shard_hashes: hashes.clone(),
        };
        assert!(good.is_consistent());
        let mut short = good.clone();
        short.shard_hashes.pop();
        assert!(!short.is_consistent());
        let mut relabelled = good.clone();
        relabelled.len = 11;
        assert!(!relabelled.is_consistent());
        let zero = CodecParams {
            data_shards: 0,
            parity_shards: 0,
        };
        let degenerate = ChunkRef {
            id: chunk_id(zero, 10, &[]),
            params: zero,
            len: 10,
            shard_hashes: vec![],
        };
        assert!(!degenerate.is_consistent());
        assert!(degenerate.check_shape().is_err());
        assert!(!good.verify_shard(3, b"a"));
    }
}
