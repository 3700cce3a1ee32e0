//! The batch shard put: `POST /v1/shards` carries several shards in one request, so a gateway
//! writing many small shards to one node pays one request, and on the node one group commit,
//! for all of them.
//!
//! The body is a table, then the payloads back to back in table order. The table is the
//! shard count (u32 big-endian), then per shard its chunk id (32 bytes), index (u16
//! big-endian), blake3 hash (32 bytes) and payload length (u32 big-endian).
//!
//! The blake3 of the table alone rides in the signed `x-floe-shard-hash` header. So the
//! signature covers the table, the table binds each payload to its hash, and the node checks
//! each payload against that hash as it stores it, as it does for a single put: no payload byte
//! is hashed twice.
//!
//! The answer is a JSON [`ShardBatchReply`]: one outcome per shard, in order.

use bytes::Bytes;
use floe_codec::{ChunkId, ShardHash};
use serde::{Deserialize, Serialize};

use super::{ProtocolError, ShardKey};

/// Most shards one batch may carry.
pub const MAX_BATCH_SHARDS: usize = 1024;
/// Bytes of the count before the table's rows.
const COUNT: usize = 4;
/// Bytes of one table row: chunk id, index, hash, length.
const ROW: usize = 32 + 2 + 32 + 4;

/// One shard of a batch put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardItem {
    pub key: ShardKey,
    /// The blake3 of `payload`, as the chunk id commits to it.
    pub hash: ShardHash,
    pub payload: Bytes,
}

/// A batch put's body and the hash of its table, which the request's signed
/// `x-floe-shard-hash` header must carry.
pub fn encode_shard_batch(items: &[ShardItem]) -> (ShardHash, Vec<u8>) {
    let table = COUNT + ROW * items.len();
    let len = table + items.iter().map(|i| i.payload.len()).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    // The gateway sends at most a few hundred shards, each far under 4 GiB.
    out.extend_from_slice(&u32::try_from(items.len()).unwrap_or(u32::MAX).to_be_bytes());
    for item in items {
        out.extend_from_slice(item.key.chunk.as_bytes());
        out.extend_from_slice(&item.key.index.to_be_bytes());
        out.extend_from_slice(item.hash.as_bytes());
        let payload_len = u32::try_from(item.payload.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&payload_len.to_be_bytes());
    }
    let hash = ShardHash::of(&out[..table]);
    for item in items {
        out.extend_from_slice(&item.payload);
    }
    (hash, out)
}

/// Parses a batch body into its shards and the hash of its table (for the caller to compare
/// with the signed header). Any truncation, trailing byte or excess count is an error; the
/// payloads are slices of `body`, not copies.
pub fn decode_shard_batch(body: &Bytes) -> Result<(ShardHash, Vec<ShardItem>), ProtocolError> {
    let bad = |why: &str| ProtocolError::Batch(why.to_owned());
    let count = body
        .get(..COUNT)
        .ok_or_else(|| bad("truncated shard count"))?;
    let count = u32::from_be_bytes([count[0], count[1], count[2], count[3]]) as usize;
    if count == 0 || count > MAX_BATCH_SHARDS {
        return Err(bad("a shard batch carries 1 to 1024 shards"));
    }
    let table = COUNT + ROW * count;
    let rows = body
        .get(COUNT..table)
        .ok_or_else(|| bad("truncated shard table"))?;
    let mut items = Vec::with_capacity(count);
    let mut at = table;
    for row in rows.chunks_exact(ROW) {
        let (chunk, rest) = row.split_at(32);
        let (index, rest) = rest.split_at(2);
        let (hash, len) = rest.split_at(32);
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let end = at
            .checked_add(len)
            .filter(|&end| end <= body.len())
            .ok_or_else(|| bad("truncated shard payload"))?;
        items.push(ShardItem {
            key: ShardKey::new(
                ChunkId::from_bytes(chunk.try_into().map_err(|_| bad("short chunk id"))?),
                u16::from_be_bytes([index[0], index[1]]),
            ),
            hash: ShardHash::from_bytes(hash.try_into().map_err(|_| bad("short hash"))?),
            payload: body.slice(at..end),
        });
        at = end;
    }
    if at != body.len() {
        return Err(bad("bytes after the last shard payload"));
    }
    Ok((ShardHash::of(&body[..table]), items))
}

/// What became of one shard of a batch.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ShardOutcome {
    /// Written and durable.
    Stored,
    /// An intact copy was already there.
    Present,
    /// The payload does not hash to the hash its row claims: nothing was stored.
    HashMismatch,
    /// The node could not store it (its disk failed); the reason.
    Failed(String),
}

/// The answer to a batch put: one outcome per shard, in the batch's order.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct ShardBatchReply {
    pub outcomes: Vec<ShardOutcome>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<ShardItem> {
        (0..5u8)
            .map(|i| {
                let payload = Bytes::from(vec![i; usize::from(i) * 7]);
                ShardItem {
                    key: ShardKey::new(ChunkId::from_bytes([i; 32]), u16::from(i) * 300),
                    hash: ShardHash::of(&payload),
                    payload,
                }
            })
            .collect()
    }

    #[test]
    fn batches_round_trip_with_the_hash_of_their_table() {
        let items = items();
        let (hash, body) = encode_shard_batch(&items);
        let (decoded_hash, decoded) = decode_shard_batch(&Bytes::from(body.clone())).unwrap();
        assert_eq!(decoded, items);
        assert_eq!(decoded_hash, hash);
        assert_eq!(hash, ShardHash::of(&body[..COUNT + ROW * items.len()]));
    }

    #[test]
    fn a_damaged_table_changes_its_hash_and_a_damaged_payload_does_not() {
        let items = items();
        let (hash, body) = encode_shard_batch(&items);
        let mut table_flipped = body.clone();
        table_flipped[COUNT + 40] ^= 1;
        let (h, _) = decode_shard_batch(&Bytes::from(table_flipped)).unwrap();
        assert_ne!(h, hash, "the signature covers the table");
        let mut payload_flipped = body.clone();
        let last = payload_flipped.len() - 1;
        payload_flipped[last] ^= 1;
        let (h, decoded) = decode_shard_batch(&Bytes::from(payload_flipped)).unwrap();
        assert_eq!(h, hash);
        // The row's hash no longer matches: the store refuses that shard alone.
        let bad = decoded.last().unwrap();
        assert_ne!(ShardHash::of(&bad.payload), bad.hash);
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let (_, body) = encode_shard_batch(&items());
        for cut in [0, 3, COUNT + ROW - 1, body.len() - 1] {
            assert!(
                decode_shard_batch(&Bytes::from(body[..cut].to_vec())).is_err(),
                "cut at {cut}"
            );
        }
        let mut trailing = body.clone();
        trailing.push(0);
        assert!(decode_shard_batch(&Bytes::from(trailing)).is_err());
        for count in [0u32, MAX_BATCH_SHARDS as u32 + 1, u32::MAX] {
            let mut wrong = body.clone();
            wrong[..COUNT].copy_from_slice(&count.to_be_bytes());
            assert!(decode_shard_batch(&Bytes::from(wrong)).is_err(), "{count}");
        }
        let mut huge = body.clone();
        huge[COUNT + ROW - 4..COUNT + ROW].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode_shard_batch(&Bytes::from(huge)).is_err());
    }
}
