//! Property tests for the erasure code itself: any k of k + m shards give the chunk back, lost
//! parity is rebuilt exactly, and corruption is caught rather than decoded into wrong bytes.

use floe_codec::{
    CodecError, CodecParams, EncodedChunk, decode_chunk, encode_chunk, reconstruct_all,
    reconstruct_data,
};
use proptest::prelude::*;

/// Chunk lengths that exercise the padding edges for `k`: tiny, arbitrary (often odd), and exact
/// multiples of an even stripe (no padding at all) plus and minus one.
fn chunk_len(k: usize) -> impl Strategy<Value = usize> {
    let stripe = 2 * k;
    prop_oneof![
        1..=8usize,
        1..=4096usize,
        (1..=64usize).prop_map(move |n| n * stripe),
        (1..=64usize).prop_map(move |n| n * stripe + 1),
        (1..=64usize).prop_map(move |n| n * stripe - 1),
    ]
}

/// (k, m, data, shuffled shard indices): the shuffle picks which shards go missing.
fn case() -> impl Strategy<Value = (u16, u16, Vec<u8>, Vec<usize>)> {
    (1..=10u16, 1..=6u16).prop_flat_map(|(k, m)| {
        let total = usize::from(k + m);
        (
            Just(k),
            Just(m),
            chunk_len(usize::from(k)).prop_flat_map(|len| prop::collection::vec(any::<u8>(), len)),
            Just((0..total).collect::<Vec<_>>()).prop_shuffle(),
        )
    })
}

fn encode(k: u16, m: u16, data: &[u8]) -> EncodedChunk {
    encode_chunk(CodecParams::new(k, m).unwrap(), data.to_vec()).unwrap()
}

fn all_slots(enc: &EncodedChunk) -> Vec<Option<Vec<u8>>> {
    (0..enc.chunk.params.total())
        .map(|i| Some(enc.shard(i).to_vec()))
        .collect()
}

proptest! {
    /// Codes wider than one 32-symbol block of the field, where degraded decoding derives its
    /// coefficients from multi-block probes; lengths cross the 64-byte block edge too.
    #[test]
    fn wide_codes_decode(
        (k, m) in prop_oneof![Just((33u16, 3u16)), Just((40, 8)), Just((100, 20))],
        len in 1..=20_000usize,
        seed in any::<u64>(),
    ) {
        let data: Vec<u8> = (0..len as u64).map(|i| (i.wrapping_mul(seed | 1) >> 7) as u8).collect();
        let enc = encode(k, m, &data);
        let mut slots = all_slots(&enc);
        // Lose the first m/2 data shards and parity from the back, so inputs mix both kinds.
        let lost = usize::from(m.div_ceil(2));
        let step = (seed as usize % (usize::from(k) / lost)).max(1);
        for i in 0..lost {
            slots[i * step] = None;
        }
        for slot in slots.iter_mut().rev().take(usize::from(m) - lost) {
            *slot = None;
        }
        prop_assert_eq!(decode_chunk(&enc.chunk, slots).unwrap(), data);
    }

    #[test]
    fn any_k_shards_decode((k, m, data, order) in case(), lose in 0..=6usize) {
        let enc = encode(k, m, &data);
        prop_assert!(enc.chunk.is_consistent());
        prop_assert_eq!(enc.chunk.len as usize, data.len());
        let mut slots = all_slots(&enc);
        for &i in order.iter().take(lose.min(usize::from(m))) {
            slots[i] = None;
        }
        prop_assert_eq!(decode_chunk(&enc.chunk, slots.clone()).unwrap(), data);
        reconstruct_data(&enc.chunk, &mut slots).unwrap();
        for (i, slot) in slots.iter().enumerate().take(usize::from(k)) {
            prop_assert_eq!(slot.as_deref(), Some(enc.shard(i)));
        }
    }

    #[test]
    fn exactly_m_lost_rebuilds_every_shard((k, m, data, order) in case()) {
        let enc = encode(k, m, &data);
        let full = all_slots(&enc);
        let mut slots = full.clone();
        for &i in order.iter().take(usize::from(m)) {
            slots[i] = None;
        }
        reconstruct_all(&enc.chunk, &mut slots).unwrap();
        prop_assert_eq!(&slots, &full);
    }

    #[test]
    fn more_than_m_lost_is_too_few((k, m, data, order) in case()) {
        let enc = encode(k, m, &data);
        let mut slots = all_slots(&enc);
        for &i in order.iter().take(usize::from(m) + 1) {
            slots[i] = None;
        }
        let need = usize::from(k);
        let expected = CodecError::TooFewShards { have: need - 1, need };
        prop_assert_eq!(decode_chunk(&enc.chunk, slots.clone()).unwrap_err(), expected.clone());
        prop_assert_eq!(reconstruct_all(&enc.chunk, &mut slots).unwrap_err(), expected);
    }

    #[test]
    fn every_bit_flip_is_detected(
        (k, m, data, order) in case(),
        corrupt in any::<prop::sample::Index>(),
        bit in any::<prop::sample::Index>(),
    ) {
        let enc = encode(k, m, &data);
        let (k, m) = (usize::from(k), usize::from(m));
        let c = corrupt.index(k + m);
        let mut bad = enc.shard(c).to_vec();
        let bit = bit.index(bad.len() * 8);
        bad[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(!enc.chunk.verify_shard(c, &bad));
        prop_assert!(enc.chunk.verify_shard(c, enc.shard(c)));

        // Feed the corrupt shard to a decode that must use it: exactly k shards present, one of
        // them corrupt, at least one data shard missing. With k = 1 and the data shard itself
        // corrupt there is nothing to decode, so only verify_shard can (and did) catch it.
        let Some(&lost_data) = order.iter().find(|&&i| i < k && i != c) else {
            return Ok(());
        };
        let mut slots = all_slots(&enc);
        slots[c] = Some(bad);
        slots[lost_data] = None;
        for &i in order.iter().filter(|&&i| i != c && i != lost_data).take(m - 1) {
            slots[i] = None;
        }
        let before = slots.clone();
        let decoded = decode_chunk(&enc.chunk, slots.clone());
        prop_assert!(matches!(decoded, Err(CodecError::ShardHashMismatch { .. })), "{:?}", decoded);
        let rebuilt = reconstruct_all(&enc.chunk, &mut slots);
        prop_assert!(matches!(rebuilt, Err(CodecError::ShardHashMismatch { .. })), "{:?}", rebuilt);
        prop_assert_eq!(slots, before);
    }

    #[test]
    fn wrong_length_shards_are_refused((k, m, data, order) in case(), extra in 1..4usize) {
        let enc = encode(k, m, &data);
        let mut slots = all_slots(&enc);
        let victim = order[0];
        if let Some(bytes) = slots[victim].as_mut() {
            bytes.resize(bytes.len() + extra, 0);
        }
        let is_shard_length = matches!(
            reconstruct_data(&enc.chunk, &mut slots),
            Err(CodecError::ShardLength { index, .. }) if index == victim
        );
        prop_assert!(is_shard_length);
    }
}

#[test]
fn single_byte_chunks_for_every_shape() {
    for k in 1..=10 {
        for m in 1..=6 {
            let enc = encode(k, m, &[0xab]);
            let mut slots = all_slots(&enc);
            // Lose the only data shard that holds the byte, plus whatever else is allowed.
            for slot in slots.iter_mut().take(usize::from(m)) {
                *slot = None;
            }
            assert_eq!(
                decode_chunk(&enc.chunk, slots).unwrap(),
                vec![0xab],
                "{k}+{m}"
            );
        }
    }
}
