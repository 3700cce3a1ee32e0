//! Random-input tests for every codec entry point that reads bytes or text from outside the
//! process: manifests (read from the index file and, on a rebuild, from storage nodes), chunk
//! references and parameters in postcard form, hex ids (URLs, file names), `k+m` strings
//! (configuration), shard slots handed to the decoder (bytes fetched from nodes) and range
//! arithmetic (client ranges over manifest lengths).
//!
//! Each must answer with a value or an error and never panic. Pure random bytes rarely get past
//! the first length prefix, so most strategies start from a valid encoding and damage it
//! (flip, insert, delete, overwrite, truncate), which walks the decoder much deeper.
//! `tests/object.rs` already covers small random and single-byte-flip manifests; these go
//! further (several edits, larger inputs, nested types, the decode paths).

use floe_codec::{
    ByteRange, ChunkId, ChunkRef, CodecParams, EncodedChunk, IdError, MANIFEST_FORMAT,
    MAX_TOTAL_SHARDS, Manifest, ShardHash, chunk_slices, decode_chunk, encode_chunk,
    reconstruct_all, reconstruct_data, shard_slices,
};
use floe_testkit::mutation::{self, Edit, apply, wild_bytes};
use proptest::prelude::*;

/// Up to 7 edits; inserted and overwritten fragments make varints long and lengths huge.
fn edits() -> impl Strategy<Value = Vec<Edit>> {
    mutation::edits(wild_bytes())
}

fn chunk(k: u16, m: u16, data: Vec<u8>) -> EncodedChunk {
    encode_chunk(CodecParams::new(k, m).unwrap(), data).unwrap()
}

/// Valid manifests of every shape: inline (empty or not), chunked with 0..4 chunks of mixed
/// parameters and lengths.
fn manifest() -> impl Strategy<Value = Manifest> {
    let data = prop::collection::vec(any::<u8>(), 0..2048);
    let chunk_spec = (1..=6u16, 1..=3u16, 1..=600usize, any::<u8>());
    prop_oneof![
        (data, any::<u32>()).prop_map(|(d, cs)| Manifest::inline(d, cs)),
        (prop::collection::vec(chunk_spec, 0..4), any::<u32>()).prop_map(|(specs, cs)| {
            let chunks = specs
                .into_iter()
                .map(|(k, m, len, seed)| {
                    let data = (0..len).map(|i| (i as u8).wrapping_mul(seed | 1)).collect();
                    chunk(k, m, data).chunk
                })
                .collect();
            Manifest::chunked(chunks, cs)
        }),
    ]
}

/// Whatever a decoder accepted must be internally consistent and survive its own round trip.
fn check_accepted(m: &Manifest) -> Result<(), TestCaseError> {
    let body_len: u64 = match &m.body {
        floe_codec::Body::Inline(d) | floe_codec::Body::VerifiedInline { data: d, .. } => {
            d.len() as u64
        }
        floe_codec::Body::Chunks(c) => c.iter().map(|c| u64::from(c.len)).sum(),
    };
    prop_assert_eq!(m.size, body_len);
    prop_assert!(m.chunks().iter().all(ChunkRef::is_consistent));
    prop_assert_eq!(&Manifest::decode(&m.encode()).unwrap(), m);
    Ok(())
}

/// Hex-ish strings: mostly the right alphabet and length, with the characters a path attack or
/// a sloppy client would use mixed in.
fn hexish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f]{60,68}",
        "[0-9a-fA-F]{64}",
        "[0-9a-f./\\\\%+-]{0,70}",
        any::<String>(),
        // Multi-byte characters can make a 64-byte string of fewer than 64 characters.
        "[0-9a-fé€\u{0}]{30,64}",
    ]
}

// The default 256 cases per property; `PROPTEST_CASES=100000` digs deeper.
proptest! {
    #[test]
    fn random_manifest_bytes_never_panic(
        mut bytes in prop::collection::vec(any::<u8>(), 0..4096),
        tagged in any::<bool>(),
    ) {
        if tagged && !bytes.is_empty() {
            bytes[0] = MANIFEST_FORMAT;
        }
        if let Ok(m) = Manifest::decode(&bytes) {
            check_accepted(&m)?;
        }
    }

    #[test]
    fn mutated_manifests_never_panic(manifest in manifest(), edits in edits()) {
        let mut bytes = manifest.encode();
        apply(&mut bytes, &edits);
        if let Ok(m) = Manifest::decode(&bytes) {
            check_accepted(&m)?;
        }
    }

    /// The postcard forms of the codec's own types, as the gateway's index stores a `ChunkRef`
    /// per catalog entry: parameters are validated on the way in, whatever the bytes say.
    #[test]
    fn mutated_chunk_refs_and_params_never_panic(
        k in 1..=8u16, m in 1..=4u16, len in 1..=300usize, edits in edits(),
    ) {
        let chunk = chunk(k, m, vec![0x5a; len]).chunk;
        let mut bytes = postcard::to_allocvec(&chunk).unwrap();
        apply(&mut bytes, &edits);
        if let Ok(decoded) = postcard::from_bytes::<ChunkRef>(&bytes) {
            prop_assert!(decoded.params.is_valid());
            // Not necessarily consistent (postcard does not check ids): the decoders below must
            // cope with such references too.
            let _ = decoded.is_consistent();
            let _ = decoded.shard_len();
        }
        let mut params = postcard::to_allocvec(&chunk.params).unwrap();
        apply(&mut params, &edits);
        if let Ok(p) = postcard::from_bytes::<CodecParams>(&params) {
            prop_assert!(p.is_valid());
        }
    }

    #[test]
    fn ids_parse_only_canonical_hex(s in hexish()) {
        for parsed in [ChunkId::from_hex(&s).map(|c| c.to_hex()), s.parse::<ShardHash>().map(|h| h.to_hex())] {
            match parsed {
                Ok(hex) => prop_assert_eq!(hex, s.clone()),
                Err(IdError::Length { expected, got }) => {
                    prop_assert_eq!(expected, 64);
                    prop_assert_eq!(got, s.len());
                }
                Err(IdError::NotHex) => prop_assert_eq!(s.len(), 64),
            }
        }
    }

    #[test]
    fn mutated_ids_never_panic(bytes in any::<[u8; 32]>(), edits in edits()) {
        let mut text = ChunkId::from_bytes(bytes).to_hex().into_bytes();
        apply(&mut text, &edits);
        let s = String::from_utf8_lossy(&text);
        if let Ok(id) = ChunkId::from_hex(&s) {
            prop_assert_eq!(id.to_hex(), s.into_owned());
        }
    }

    #[test]
    fn params_strings_never_panic(s in prop_oneof![
        "[ 0-9+-]{0,16}",
        "[0-9]{1,7}\\+[0-9]{1,7}",
        " *[0-9]{1,3} *\\+ *[0-9]{1,3} *",
        any::<String>(),
    ]) {
        if let Ok(p) = s.parse::<CodecParams>() {
            prop_assert!(p.is_valid());
            prop_assert!(p.total() <= MAX_TOTAL_SHARDS);
            prop_assert_eq!(p.to_string().parse::<CodecParams>().unwrap(), p);
        }
    }

    /// Shard slots as a node might return them: right or wrong lengths, random or damaged
    /// bytes, missing, too many or too few slots, against valid and hand-built references.
    #[test]
    fn decoding_arbitrary_shards_never_panics(
        k in 1..=5u16, m in 1..=3u16, len in 1..=200usize,
        plan in prop::collection::vec((0..5u8, any::<u8>(), 0..8usize), 0..10),
        slot_delta in -2..=2i32,
        tamper in 0..6u8,
    ) {
        let enc = chunk(k, m, (0..len).map(|i| i as u8).collect());
        let mut reference = enc.chunk.clone();
        // Hand-built references bypass the constructors, as a decoded catalog entry may.
        match tamper {
            0 => reference.params.data_shards = 0,
            1 => reference.params.parity_shards = MAX_TOTAL_SHARDS as u16,
            2 => { reference.shard_hashes.pop(); }
            3 => reference.len = u32::MAX,
            4 => reference.len = 0,
            _ => {}
        }
        let total = usize::from(k + m);
        let slots = usize::try_from(total as i32 + slot_delta).unwrap_or(0);
        let mut shards: Vec<Option<Vec<u8>>> = (0..slots)
            .map(|i| enc.get_shard(i).map(<[u8]>::to_vec))
            .collect();
        for (i, (what, byte, extra)) in plan.iter().enumerate() {
            let Some(slot) = shards.get_mut(i % slots.max(1)) else { break };
            match (what, slot.as_mut()) {
                (0, _) => *slot = None,
                // An earlier step may have truncated this slot to nothing.
                (1, Some(s)) if !s.is_empty() => { let n = s.len(); s[extra % n] ^= byte | 1; }
                (2, Some(s)) => s.truncate(s.len().saturating_sub(extra + 1)),
                (3, Some(s)) => s.extend(std::iter::repeat_n(*byte, extra + 1)),
                (1..=3, _) => {}
                _ => *slot = Some(vec![*byte; enc.chunk.shard_len()]),
            }
        }
        let decoded = decode_chunk(&reference, shards.clone());
        let mut data_slots = shards.clone();
        let data = reconstruct_data(&reference, &mut data_slots);
        let mut all_slots = shards.clone();
        let _ = reconstruct_all(&reference, &mut all_slots);
        if tamper == 5 {
            // Present slots are the caller's to verify and pass through untouched; a slot the
            // decoder fills in must be the true shard, however damaged the other inputs were.
            if data.is_ok() {
                for i in 0..usize::from(k) {
                    let expected = shards[i].as_deref().unwrap_or(enc.shard(i));
                    prop_assert_eq!(data_slots[i].as_deref(), Some(expected));
                }
            } else {
                prop_assert_eq!(&data_slots, &shards);
            }
            if let Ok(out) = decoded {
                prop_assert_eq!(out.len(), len);
            }
        }
    }

    #[test]
    fn range_math_never_panics(
        lens in prop::collection::vec(prop_oneof![Just(0u32), Just(u32::MAX), any::<u32>()], 0..16),
        start in prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>()],
        end in prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>()],
        shard_len in prop_oneof![Just(0usize), Just(1), Just(usize::MAX), 0..1_000_000usize],
        offset in prop_oneof![Just(usize::MAX), 0..10_000_000usize],
        len in prop_oneof![Just(usize::MAX), 0..10_000_000usize],
    ) {
        let range = ByteRange::new(start, end);
        let slices = chunk_slices(&lens, range);
        let covered: u64 = slices.iter().map(|s| s.len as u64).sum();
        prop_assert!(covered <= range.len());
        for s in &slices {
            prop_assert!(s.offset as u64 + s.len as u64 <= u64::from(lens[s.chunk_index]));
        }
        // Bounded so a huge (offset, len) with a tiny shard length does not build a giant Vec.
        if shard_len == 0 || len / shard_len.max(1) < 100_000 {
            let pieces = shard_slices(shard_len, offset, len);
            prop_assert!(pieces.iter().all(|p| p.offset + p.len <= shard_len));
        }
    }
}
