//! Range arithmetic checked against a naive byte-by-byte model: map every requested byte to its
//! (chunk, offset) or (shard, offset) one at a time, group consecutive bytes, and compare.

use floe_codec::{ByteRange, ChunkSlice, ShardSlice, chunk_slices, shard_slices};
use proptest::prelude::*;

/// Groups a byte-by-byte list of (unit, offset) into maximal runs within one unit.
fn group(bytes: impl IntoIterator<Item = (usize, usize)>) -> Vec<(usize, usize, usize)> {
    let mut runs: Vec<(usize, usize, usize)> = Vec::new();
    for (unit, offset) in bytes {
        match runs.last_mut() {
            Some((u, start, len)) if *u == unit && *start + *len == offset => *len += 1,
            _ => runs.push((unit, offset, 1)),
        }
    }
    runs
}

fn naive_chunk_slices(lens: &[u32], range: ByteRange) -> Vec<ChunkSlice> {
    let mut owner = Vec::new();
    for (chunk, &len) in lens.iter().enumerate() {
        owner.extend((0..len as usize).map(|offset| (chunk, offset)));
    }
    let bytes = (range.start..range.end)
        .map_while(|b| owner.get(b as usize).copied())
        .collect::<Vec<_>>();
    group(bytes)
        .into_iter()
        .map(|(chunk_index, offset, len)| ChunkSlice {
            chunk_index,
            offset,
            len,
        })
        .collect()
}

fn naive_shard_slices(shard_len: usize, offset: usize, len: usize) -> Vec<ShardSlice> {
    group((offset..offset + len).map(|b| (b / shard_len, b % shard_len)))
        .into_iter()
        .map(|(shard_index, offset, len)| ShardSlice {
            shard_index,
            offset,
            len,
        })
        .collect()
}

proptest! {
    #[test]
    fn chunk_slices_match_model(
        lens in prop::collection::vec(prop_oneof![Just(0u32), 1..=5u32, 1..=300u32], 0..20),
        a in 0..3000u64,
        b in 0..3000u64,
    ) {
        let total: u64 = lens.iter().map(|&l| u64::from(l)).sum();
        // Keep most ranges inside or near the object so the interesting cases dominate.
        let (a, b) = (a % (total + 10), b % (total + 10));
        let range = ByteRange { start: a.min(b), end: a.max(b) };
        let got = chunk_slices(&lens, range);
        prop_assert_eq!(&got, &naive_chunk_slices(&lens, range));
        let covered: u64 = got.iter().map(|s| s.len as u64).sum();
        prop_assert_eq!(covered, range.end.min(total).saturating_sub(range.start));
    }

    #[test]
    fn inverted_ranges_are_empty(lens in prop::collection::vec(1..=50u32, 0..5), a in 0..300u64, b in 0..300u64) {
        let range = ByteRange { start: a.max(b), end: a.min(b) };
        prop_assert!(chunk_slices(&lens, range).is_empty());
    }

    #[test]
    fn shard_slices_match_model(half in 1..=64usize, offset in 0..600usize, len in 0..600usize) {
        let shard_len = 2 * half;
        let got = shard_slices(shard_len, offset, len);
        prop_assert_eq!(&got, &naive_shard_slices(shard_len, offset, len));
        prop_assert_eq!(got.iter().map(|s| s.len).sum::<usize>(), len);
    }
}

#[test]
fn huge_offsets_do_not_overflow() {
    let slices = shard_slices(4, usize::MAX - 2, 10);
    assert_eq!(slices.iter().map(|s| s.len).sum::<usize>(), 2);
    let lens = vec![u32::MAX; 3];
    let all = chunk_slices(&lens, ByteRange::new(0, u64::MAX));
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|s| s.len == u32::MAX as usize));
}
