//! Encoding one chunk: pad it into k data shards, compute m parity shards, hash all of them and
//! derive the chunk id.
//!
//! The caller's buffer becomes the data shards in place (systematic code), so the only copies of
//! chunk bytes are the parity shards the encoder produces.

use std::sync::Mutex;

use reed_solomon_simd::ReedSolomonEncoder;

use super::recovery::lock;
use super::{ChunkRef, chunk_id, shard_len_for};
use crate::{CodecError, CodecParams, ShardHash};

/// An encoded chunk ready to send: data shards are slices of `data` (padded to k * shard_len).
#[derive(Debug, Clone)]
pub struct EncodedChunk {
    pub chunk: ChunkRef,
    pub data: Vec<u8>,
    pub parity: Vec<Vec<u8>>,
}

impl EncodedChunk {
    /// Bytes of shard `index`: a slice of `data` for a data shard, else a parity shard.
    ///
    /// # Panics
    /// If `index >= k + m`, like slice indexing; use [`EncodedChunk::get_shard`] to avoid that.
    pub fn shard(&self, index: usize) -> &[u8] {
        match self.get_shard(index) {
            Some(bytes) => bytes,
            None => panic!(
                "shard index {index} out of range for {} shards",
                self.chunk.params.total()
            ),
        }
    }

    /// Bytes of shard `index`, or `None` if there is no such shard.
    pub fn get_shard(&self, index: usize) -> Option<&[u8]> {
        let k = self.chunk.params.k();
        if index < k {
            let shard_len = self.chunk.shard_len();
            self.data.get(index * shard_len..(index + 1) * shard_len)
        } else {
            self.parity.get(index - k).map(Vec::as_slice)
        }
    }

    /// Splits into the reference, the padded data buffer and the parity shards.
    pub fn into_parts(self) -> (ChunkRef, Vec<u8>, Vec<Vec<u8>>) {
        (self.chunk, self.data, self.parity)
    }
}

/// Encodes one chunk of 1 ..= `u32::MAX` bytes.
///
/// Takes ownership so the buffer becomes the data shards without a copy: it is zero-padded to
/// k * shard_len in place, which does not reallocate if the caller reserved
/// [`MAX_PADDING`](crate::MAX_PADDING) spare bytes (as [`Chunker`](crate::Chunker) does).
pub fn encode_chunk(params: CodecParams, mut data: Vec<u8>) -> Result<EncodedChunk, CodecError> {
    if !params.is_valid() {
        return Err(CodecError::InvalidParams(format!("{params}")));
    }
    if data.is_empty() {
        return Err(CodecError::EmptyChunk);
    }
    let len = u32::try_from(data.len()).map_err(|_| CodecError::ChunkTooLarge(data.len()))?;
    let (k, m) = (params.k(), params.m());
    let shard_len = shard_len_for(data.len(), k);
    data.resize(k * shard_len, 0);

    let parity = with_encoder(k, m, shard_len, |encoder| {
        for shard in data.chunks_exact(shard_len) {
            encoder.add_original_shard(shard)?;
        }
        let parity: Vec<Vec<u8>> = encoder
            .encode()?
            .recovery_iter()
            .map(<[u8]>::to_vec)
            .collect();
        Ok(parity)
    })?;
    // The encoder was configured for m recovery shards; anything else is a library bug, but it
    // would silently break every later decode, so refuse it here.
    if parity.len() != m {
        return Err(CodecError::ReedSolomon(format!(
            "encoder produced {} parity shards, expected {m}",
            parity.len()
        )));
    }

    let shard_hashes: Vec<ShardHash> = data
        .chunks_exact(shard_len)
        .chain(parity.iter().map(Vec::as_slice))
        .map(ShardHash::of)
        .collect();
    let chunk = ChunkRef {
        id: chunk_id(params, len, &shard_hashes),
        params,
        len,
        shard_hashes,
    };
    Ok(EncodedChunk {
        chunk,
        data,
        parity,
    })
}

/// Encoders kept for reuse. A new one allocates and zeroes a work area as big as the chunk,
/// which page-faults it in again for every chunk; a reset one keeps its area. Bounded, so idle
/// encoders hold at most a few chunks' worth of memory.
const KEPT_ENCODERS: usize = 4;

/// Runs `f` on an encoder set up for (k, m, shard_len), reusing a kept one when there is one.
fn with_encoder<T>(
    k: usize,
    m: usize,
    shard_len: usize,
    f: impl FnOnce(&mut ReedSolomonEncoder) -> Result<T, CodecError>,
) -> Result<T, CodecError> {
    static KEPT: Mutex<Vec<ReedSolomonEncoder>> = Mutex::new(Vec::new());
    let kept = lock(&KEPT).pop();
    let mut encoder = match kept {
        Some(mut encoder) => {
            encoder.reset(k, m, shard_len)?;
            encoder
        }
        None => ReedSolomonEncoder::new(k, m, shard_len)?,
    };
    let result = f(&mut encoder);
    let mut kept = lock(&KEPT);
    if kept.len() < KEPT_ENCODERS {
        kept.push(encoder);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(k: u16, m: u16) -> CodecParams {
        CodecParams::new(k, m).unwrap()
    }

    #[test]
    fn data_shards_are_the_padded_input() {
        let input: Vec<u8> = (0..=9).collect();
        let enc = encode_chunk(params(3, 2), input.clone()).unwrap();
        assert_eq!(enc.chunk.len, 10);
        assert_eq!(enc.chunk.shard_len(), 4);
        assert_eq!(enc.data.len(), 12);
        assert_eq!(enc.shard(0), &[0, 1, 2, 3]);
        assert_eq!(enc.shard(2), &[8, 9, 0, 0]);
        assert_eq!(enc.parity.len(), 2);
        assert!(enc.chunk.is_consistent());
        for i in 0..5 {
            assert!(enc.chunk.verify_shard(i, enc.shard(i)));
        }
        assert!(enc.get_shard(5).is_none());
    }

    #[test]
    fn identical_content_gives_identical_ids() {
        let a = encode_chunk(params(4, 2), b"hello floe".to_vec()).unwrap();
        let b = encode_chunk(params(4, 2), b"hello floe".to_vec()).unwrap();
        let c = encode_chunk(params(4, 3), b"hello floe".to_vec()).unwrap();
        let d = encode_chunk(params(4, 2), b"hello floe!".to_vec()).unwrap();
        assert_eq!(a.chunk, b.chunk);
        assert_ne!(a.chunk.id, c.chunk.id);
        assert_ne!(a.chunk.id, d.chunk.id);
    }

    #[test]
    fn pads_in_place_when_capacity_was_reserved() {
        let mut buf = Vec::with_capacity(1000 + crate::MAX_PADDING);
        buf.extend(std::iter::repeat_n(7u8, 1000));
        let ptr = buf.as_ptr();
        let enc = encode_chunk(params(7, 3), buf).unwrap();
        assert_eq!(enc.data.as_ptr(), ptr);
    }

    #[test]
    fn rejects_empty_and_invalid() {
        assert_eq!(
            encode_chunk(params(4, 2), Vec::new()).unwrap_err(),
            CodecError::EmptyChunk
        );
        let zero = CodecParams {
            data_shards: 0,
            parity_shards: 1,
        };
        assert!(matches!(
            encode_chunk(zero, vec![1]),
            Err(CodecError::InvalidParams(_))
        ));
    }

    #[test]
    fn into_parts_round_trips() {
        let enc = encode_chunk(params(2, 1), vec![1, 2, 3]).unwrap();
        let chunk = enc.chunk.clone();
        let (c, data, parity) = enc.into_parts();
        assert_eq!(c, chunk);
        assert_eq!(data, vec![1, 2, 3, 0]);
        assert_eq!(parity.len(), 1);
    }
}
