//! Rebuilding shards of one chunk from any k of its k + m shards, and checking every rebuilt
//! shard against the hash the chunk id commits to.
//!
//! Inputs are "slots": `shards[i]` is `Some(bytes)` if shard i was fetched (and verified by the
//! caller), `None` if it is missing. A corrupt input that slips through yields rebuilt shards that
//! miss their hashes, so it surfaces as `ShardHashMismatch` instead of wrong bytes.

use std::sync::Arc;

use reed_solomon_simd::ReedSolomonEncoder;

use super::ChunkRef;
use super::recovery::Plan;
use crate::{CodecError, ShardHash};

/// Fills in every missing data shard (indices < k) from any k present shards.
///
/// `shards.len()` must be k + m. Present shards must already be verified by the caller but are
/// re-checked for length. After success `shards[0..k]` are all `Some`, and each rebuilt one has
/// matched its hash in `chunk.shard_hashes`. If all data shards are present this returns at once
/// without decoding. On error `shards` is left unchanged.
pub fn reconstruct_data(
    chunk: &ChunkRef,
    shards: &mut [Option<Vec<u8>>],
) -> Result<(), CodecError> {
    for (index, bytes) in restore_data(chunk, shards)? {
        shards[index] = Some(bytes);
    }
    Ok(())
}

/// The missing data shards, rebuilt from any k present shards and checked against their hashes,
/// as `(index, bytes)`; empty when no data shard is missing. Borrows the shards it is given (any
/// byte container), so a reader holding network buffers decodes without copying them first.
/// Same slot rules as [`reconstruct_data`].
pub fn restore_data<T: AsRef<[u8]>>(
    chunk: &ChunkRef,
    shards: &[Option<T>],
) -> Result<Vec<(usize, Vec<u8>)>, CodecError> {
    let shard_len = check_slots(chunk, shards)?;
    let k = chunk.params.k();
    if shards[..k].iter().all(Option::is_some) {
        return Ok(Vec::new());
    }
    let (plan, inputs) = plan_for(chunk, shards)?;
    plan.lost()
        .map(|index| {
            let mut bytes = vec![0u8; shard_len];
            rebuild_checked(chunk, &plan, index, &inputs, &mut bytes)?;
            Ok((index, bytes))
        })
        .collect()
}

/// Convenience for whole-chunk reads: [`reconstruct_data`], then the data shards concatenated and
/// truncated to `chunk.len` (dropping the padding).
pub fn decode_chunk(chunk: &ChunkRef, shards: Vec<Option<Vec<u8>>>) -> Result<Vec<u8>, CodecError> {
    let shard_len = check_slots(chunk, &shards)?;
    let k = chunk.params.k();
    let len = chunk.len as usize;

    if shards[..k].iter().all(Option::is_some) {
        // Healthy read: grow the first shard's buffer in place instead of copying it too.
        let mut data_shards = shards.into_iter().take(k).flatten();
        let mut out = data_shards.next().unwrap_or_default();
        out.reserve(len.saturating_sub(out.len()));
        for shard in data_shards {
            if out.len() >= len {
                break;
            }
            out.extend_from_slice(&shard);
        }
        out.truncate(len);
        return Ok(out);
    }

    // Degraded read: present shards are copied into the result and lost ones are rebuilt
    // straight into their place in it. Nothing is shared with the caller, so a hash failure
    // half-way only discards `out`.
    let (plan, inputs) = plan_for(chunk, &shards)?;
    let mut out = Vec::with_capacity(k * shard_len);
    for (index, slot) in shards[..k].iter().enumerate() {
        match slot {
            Some(bytes) => out.extend_from_slice(bytes),
            None => {
                let start = out.len();
                out.resize(start + shard_len, 0);
                rebuild_checked(chunk, &plan, index, &inputs, &mut out[start..])?;
            }
        }
    }
    out.truncate(len);
    Ok(out)
}

/// Rebuilds every missing shard, data and parity; repair uses it to recreate a lost shard.
///
/// Same contract as [`reconstruct_data`], except that afterwards all k + m slots are `Some`.
pub fn reconstruct_all(chunk: &ChunkRef, shards: &mut [Option<Vec<u8>>]) -> Result<(), CodecError> {
    reconstruct_data(chunk, shards)?;
    let k = chunk.params.k();
    if shards[k..].iter().all(Option::is_some) {
        return Ok(());
    }

    // Parity is a function of the data alone, so re-encoding the (now complete) data shards
    // regenerates exactly the lost parity.
    let shard_len = chunk.shard_len();
    let mut encoder = ReedSolomonEncoder::new(k, chunk.params.m(), shard_len)?;
    for shard in shards[..k].iter().flatten() {
        encoder.add_original_shard(shard)?;
    }
    let result = encoder.encode()?;
    let mut rebuilt = Vec::new();
    for (parity_index, slot) in shards[k..].iter().enumerate() {
        if slot.is_some() {
            continue;
        }
        let index = k + parity_index;
        let bytes = result.recovery(parity_index).ok_or_else(|| {
            CodecError::ReedSolomon(format!("encoder did not produce parity shard {index}"))
        })?;
        check_hash(&chunk.shard_hashes, index, bytes)?;
        rebuilt.push((index, bytes.to_vec()));
    }
    drop(result);
    for (index, bytes) in rebuilt {
        shards[index] = Some(bytes);
    }
    Ok(())
}

/// The recovery plan for the shards at hand, and its inputs: exactly k present shards, data
/// shards first. Any k suffice, and a surplus input could hide a corrupt shard from the hash
/// check without ever influencing the output.
fn plan_for<'a, T: AsRef<[u8]>>(
    chunk: &ChunkRef,
    shards: &'a [Option<T>],
) -> Result<(Arc<Plan>, Vec<&'a [u8]>), CodecError> {
    let k = chunk.params.k();
    let (indices, inputs): (Vec<usize>, Vec<&[u8]>) = shards
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.as_ref().map(|bytes| (i, bytes.as_ref())))
        .take(k)
        .unzip();
    let plan = Plan::for_inputs(k, chunk.params.m(), &indices)?;
    Ok((plan, inputs))
}

/// Rebuilds lost data shard `index` into the zeroed `dst` and checks it against its hash.
fn rebuild_checked(
    chunk: &ChunkRef,
    plan: &Plan,
    index: usize,
    inputs: &[&[u8]],
    dst: &mut [u8],
) -> Result<(), CodecError> {
    plan.rebuild(index, inputs, dst)?;
    check_hash(&chunk.shard_hashes, index, dst)
}

/// Validates the reference and the slots; returns the shard length.
fn check_slots<T: AsRef<[u8]>>(
    chunk: &ChunkRef,
    shards: &[Option<T>],
) -> Result<usize, CodecError> {
    chunk.check_shape()?;
    let total = chunk.params.total();
    if shards.len() != total {
        return Err(CodecError::WrongShardCount {
            expected: total,
            got: shards.len(),
        });
    }
    let shard_len = chunk.shard_len();
    let mut have = 0;
    for (index, bytes) in shards.iter().enumerate() {
        if let Some(bytes) = bytes {
            let bytes = bytes.as_ref();
            if bytes.len() != shard_len {
                return Err(CodecError::ShardLength {
                    index,
                    expected: shard_len,
                    got: bytes.len(),
                });
            }
            have += 1;
        }
    }
    let need = chunk.params.k();
    if have < need {
        return Err(CodecError::TooFewShards { have, need });
    }
    Ok(shard_len)
}

fn check_hash(hashes: &[ShardHash], index: usize, bytes: &[u8]) -> Result<(), CodecError> {
    match hashes.get(index) {
        Some(hash) if hash.matches(bytes) => Ok(()),
        _ => Err(CodecError::ShardHashMismatch { index }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CodecParams, encode_chunk};

    fn slots(enc: &crate::EncodedChunk) -> Vec<Option<Vec<u8>>> {
        (0..enc.chunk.params.total())
            .map(|i| Some(enc.shard(i).to_vec()))
            .collect()
    }

    fn sample() -> (Vec<u8>, crate::EncodedChunk) {
        let input: Vec<u8> = (0..1001u32).map(|i| (i * 7 % 251) as u8).collect();
        let enc = encode_chunk(CodecParams::new(4, 2).unwrap(), input.clone()).unwrap();
        (input, enc)
    }

    #[test]
    fn healthy_read_needs_no_decode() {
        let (input, enc) = sample();
        let mut s = slots(&enc);
        s[4] = None;
        s[5] = None;
        assert_eq!(decode_chunk(&enc.chunk, s).unwrap(), input);
    }

    #[test]
    fn rebuilds_lost_data_and_parity() {
        let (input, enc) = sample();
        let full = slots(&enc);
        let mut s = full.clone();
        s[0] = None;
        s[5] = None;
        reconstruct_all(&enc.chunk, &mut s).unwrap();
        assert_eq!(s, full);
        let mut s = full.clone();
        s[1] = None;
        s[3] = None;
        assert_eq!(decode_chunk(&enc.chunk, s).unwrap(), input);
    }

    #[test]
    fn reports_bad_slots() {
        let (_, enc) = sample();
        let mut s = slots(&enc);
        s.pop();
        assert!(matches!(
            reconstruct_data(&enc.chunk, &mut s),
            Err(CodecError::WrongShardCount {
                expected: 6,
                got: 5
            })
        ));
        let mut s = slots(&enc);
        s[0] = None;
        s[1] = None;
        s[2] = None;
        assert_eq!(
            reconstruct_data(&enc.chunk, &mut s),
            Err(CodecError::TooFewShards { have: 3, need: 4 })
        );
        let mut s = slots(&enc);
        s[0] = None;
        if let Some(bytes) = s[4].as_mut() {
            bytes.push(0);
        }
        assert!(matches!(
            reconstruct_data(&enc.chunk, &mut s),
            Err(CodecError::ShardLength { index: 4, .. })
        ));
    }

    #[test]
    fn corrupt_input_is_caught_and_slots_untouched() {
        let (_, enc) = sample();
        let mut s = slots(&enc);
        s[0] = None;
        if let Some(bytes) = s[4].as_mut() {
            bytes[3] ^= 0x10;
        }
        s[5] = None;
        let before = s.clone();
        assert_eq!(
            reconstruct_data(&enc.chunk, &mut s),
            Err(CodecError::ShardHashMismatch { index: 0 })
        );
        assert_eq!(s, before);
    }
}
