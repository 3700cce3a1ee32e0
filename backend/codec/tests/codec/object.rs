//! Property tests for whole objects: the chunker cuts any stream losslessly, manifests round-trip
//! and refuse garbage without panicking, and a range read assembled from chunk and shard slices
//! returns exactly the requested bytes — the same path the gateway takes.

use floe_codec::{
    ByteRange, Chunker, CodecParams, EncodedChunk, MANIFEST_FORMAT, Manifest, chunk_slices,
    encode_chunk, shard_slices,
};
use proptest::prelude::*;

/// Object lengths around the chunk size: empty, tiny, arbitrary, and exact multiples ± 1.
fn object(chunk_size: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(0usize),
        1..=3usize,
        0..=3 * chunk_size,
        (1..=3usize).prop_map(move |n| n * chunk_size),
        (1..=3usize).prop_map(move |n| n * chunk_size + 1),
        (1..=3usize).prop_map(move |n| n * chunk_size - 1),
    ]
    .prop_flat_map(|len| prop::collection::vec(any::<u8>(), len))
}

/// (chunk size, object bytes, push sizes used to feed it).
fn stream() -> impl Strategy<Value = (usize, Vec<u8>, Vec<usize>)> {
    (64..=4096usize).prop_flat_map(|chunk_size| {
        (
            Just(chunk_size),
            object(chunk_size),
            prop::collection::vec(0..=2 * chunk_size, 1..16),
        )
    })
}

/// Pushes `data` through a chunker in pieces of the given sizes (cycled), checking each chunk.
/// A zero piece pushes an empty slice (which must be harmless) and then advances by one byte.
fn cut(chunk_size: usize, data: &[u8], pieces: &[usize]) -> Vec<Vec<u8>> {
    let mut chunker = Chunker::new(chunk_size);
    let mut chunks = Vec::new();
    let mut rest = data;
    for &piece in pieces.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        if piece == 0 {
            assert!(chunker.push(&[]).is_empty());
        }
        let (head, tail) = rest.split_at(piece.clamp(1, rest.len()));
        let done = chunker.push(head);
        assert!(done.iter().all(|c| c.len() == chunk_size));
        chunks.extend(done);
        rest = tail;
    }
    assert!(chunker.buffered() < chunk_size);
    chunks.extend(chunker.finish());
    chunks
}

fn encode_object(params: CodecParams, chunks: Vec<Vec<u8>>) -> Vec<EncodedChunk> {
    chunks
        .into_iter()
        .map(|c| encode_chunk(params, c).unwrap())
        .collect()
}

proptest! {
    #[test]
    fn chunker_is_lossless((chunk_size, data, pieces) in stream()) {
        let chunks = cut(chunk_size, &data, &pieces);
        prop_assert!(chunks.iter().all(|c| !c.is_empty()));
        prop_assert_eq!(chunks.len(), data.len().div_ceil(chunk_size));
        prop_assert_eq!(chunks.concat(), data);
    }

    #[test]
    fn range_reads_from_data_shards(
        (chunk_size, data, pieces) in stream(),
        k in 1..=10u16,
        m in 1..=6u16,
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
    ) {
        let params = CodecParams::new(k, m).unwrap();
        let encoded = encode_object(params, cut(chunk_size, &data, &pieces));
        let manifest = Manifest::chunked(
            encoded.iter().map(|e| e.chunk.clone()).collect(),
            chunk_size as u32,
        );
        let manifest = Manifest::decode(&manifest.encode()).unwrap();
        prop_assert_eq!(manifest.size, data.len() as u64);

        // Ranges may run past the end; they are clamped.
        let span = data.len() + 8;
        let (x, y) = (a.index(span + 1), b.index(span + 1));
        let range = ByteRange { start: x.min(y) as u64, end: x.max(y) as u64 };
        let lens: Vec<u32> = manifest.chunks().iter().map(|c| c.len).collect();
        let mut got = Vec::new();
        for slice in chunk_slices(&lens, range) {
            let chunk = &manifest.chunks()[slice.chunk_index];
            let enc = &encoded[slice.chunk_index];
            for s in shard_slices(chunk.shard_len(), slice.offset, slice.len) {
                prop_assert!(s.shard_index < usize::from(k));
                got.extend_from_slice(&enc.shard(s.shard_index)[s.offset..s.offset + s.len]);
            }
        }
        let end = (range.end as usize).min(data.len());
        let start = (range.start as usize).min(end);
        prop_assert_eq!(got, &data[start..end]);
    }

    #[test]
    fn manifests_round_trip(
        (chunk_size, data, pieces) in stream(),
        k in 1..=4u16,
        m in 1..=3u16,
        inline in any::<bool>(),
    ) {
        let manifest = if inline {
            Manifest::inline(data.clone(), chunk_size as u32)
        } else {
            let params = CodecParams::new(k, m).unwrap();
            let chunks = encode_object(params, cut(chunk_size, &data, &pieces));
            Manifest::chunked(chunks.into_iter().map(|e| e.chunk).collect(), chunk_size as u32)
        };
        prop_assert_eq!(manifest.size, data.len() as u64);
        let bytes = manifest.encode();
        prop_assert_eq!(bytes[0], MANIFEST_FORMAT);
        prop_assert_eq!(Manifest::decode(&bytes).unwrap(), manifest);
        // postcard is prefix-free, so no truncation can parse as a whole manifest.
        for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            prop_assert!(Manifest::decode(&bytes[..cut.min(bytes.len() - 1)]).is_err());
        }
    }

    #[test]
    fn garbage_manifests_never_panic(mut bytes in prop::collection::vec(any::<u8>(), 0..512), fmt in any::<bool>()) {
        if fmt && !bytes.is_empty() {
            bytes[0] = MANIFEST_FORMAT;
        }
        if let Ok(m) = Manifest::decode(&bytes) {
            // Whatever parses passed validation, so it must survive its own round trip.
            prop_assert_eq!(Manifest::decode(&m.encode()).unwrap(), m);
        }
    }

    #[test]
    fn mutated_manifests_never_panic(pos in any::<prop::sample::Index>(), xor in 1..=255u8) {
        let params = CodecParams::new(3, 2).unwrap();
        let chunks = encode_object(params, vec![vec![7u8; 100], vec![9u8; 33]]);
        let manifest = Manifest::chunked(chunks.into_iter().map(|e| e.chunk).collect(), 100);
        let mut bytes = manifest.encode();
        let i = pos.index(bytes.len());
        bytes[i] ^= xor;
        // A change to the format byte, a size, a length, a parameter or a hash must be refused.
        // Only the informational chunk_size may change without the decoder noticing.
        if let Ok(decoded) = Manifest::decode(&bytes) {
            prop_assert_eq!(decoded.size, manifest.size);
            prop_assert_eq!(decoded.body, manifest.body);
        }
    }
}

#[test]
fn unknown_format_is_refused() {
    let mut bytes = Manifest::inline(b"x".to_vec(), 64).encode();
    for format in [0u8, 3, 255] {
        bytes[0] = format;
        assert!(matches!(
            Manifest::decode(&bytes),
            Err(floe_codec::ManifestError::UnknownFormat(f)) if f == format
        ));
    }
}
