//! One entry of a segment log: a put (key, version, payload) or a tombstone (key).
//!
//! ```text
//! magic "FLRE" | kind u8 | key [K::LEN] | version u64 BE | len u32 BE | payload blake3 [32] | check [8] | payload
//! ```
//!
//! `check` is the first 8 bytes of the blake3, keyed with the segment's random key, of
//! everything before it. So a torn or rotten header is never mistaken for an entry, a scan that
//! lost its place can find the next entry again, and bytes that merely look like an entry
//! (inside a payload, say a backup of a segment file) never pass: they lack the key. The
//! payload has its own hash, checked on every read.

use floe_codec::ShardHash;

use super::LogKey;

const MAGIC: [u8; 4] = *b"FLRE";
const PUT: u8 = 1;
const TOMBSTONE: u8 = 2;

/// Bytes covered by the check for keys of `key_len` bytes: magic, kind, key, version, len,
/// payload hash.
const fn checked_len(key_len: usize) -> usize {
    4 + 1 + key_len + 8 + 4 + 32
}

/// Bytes before an entry's payload in a log keyed by `K`.
pub const fn header_len<K: LogKey>() -> usize {
    checked_len(K::LEN) + 8
}

/// The key of a segment's header checks.
pub type SegmentKey = [u8; 32];

/// What an entry says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// Version `version` of the key is the payload that follows.
    Put {
        version: u64,
        len: u32,
        hash: ShardHash,
    },
    /// The key was deleted (or found rotten): older puts of it no longer count.
    Tombstone,
}

/// A parsed entry header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryHeader<K> {
    pub id: K,
    pub kind: EntryKind,
}

impl<K> EntryHeader<K> {
    /// Bytes of payload after the header.
    pub fn payload_len(&self) -> usize {
        match self.kind {
            EntryKind::Put { len, .. } => len as usize,
            EntryKind::Tombstone => 0,
        }
    }
}

/// Appends a put entry of `payload`, whose blake3 the caller has computed as `hash`, to `out`
/// and returns its header; `None` (nothing appended) if the payload is too large for an entry.
pub fn encode_put<K: LogKey>(
    out: &mut Vec<u8>,
    key: &SegmentKey,
    id: &K,
    version: u64,
    hash: &ShardHash,
    payload: &[u8],
) -> Option<EntryHeader<K>> {
    let header = encode_put_header(out, key, id, version, hash, payload.len())?;
    out.extend_from_slice(payload);
    Some(header)
}

/// Appends the header of a put entry whose `len` payload bytes the caller writes right after
/// it; `None` if the payload is too large for an entry.
pub fn encode_put_header<K: LogKey>(
    out: &mut Vec<u8>,
    key: &SegmentKey,
    id: &K,
    version: u64,
    hash: &ShardHash,
    len: usize,
) -> Option<EntryHeader<K>> {
    let len = u32::try_from(len).ok()?;
    encode_header(out, key, PUT, id, version, len, hash);
    Some(EntryHeader {
        id: *id,
        kind: EntryKind::Put {
            version,
            len,
            hash: *hash,
        },
    })
}

/// Appends a tombstone entry to `out` and returns its header.
pub fn encode_tombstone<K: LogKey>(out: &mut Vec<u8>, key: &SegmentKey, id: &K) -> EntryHeader<K> {
    encode_header(
        out,
        key,
        TOMBSTONE,
        id,
        0,
        0,
        &ShardHash::from_bytes([0; 32]),
    );
    EntryHeader {
        id: *id,
        kind: EntryKind::Tombstone,
    }
}

fn encode_header<K: LogKey>(
    out: &mut Vec<u8>,
    key: &SegmentKey,
    kind: u8,
    id: &K,
    version: u64,
    len: u32,
    hash: &ShardHash,
) {
    let start = out.len();
    out.extend_from_slice(&MAGIC);
    out.push(kind);
    id.write(out);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(hash.as_bytes());
    out.extend_from_slice(&check(key, &out[start..]));
}

fn check(key: &SegmentKey, checked: &[u8]) -> [u8; 8] {
    let hash = blake3::keyed_hash(key, checked);
    let mut out = [0u8; 8];
    out.copy_from_slice(&hash.as_bytes()[..8]);
    out
}

/// Parses an entry header; `None` unless all `header_len::<K>()` bytes are there and intact
/// under `key`.
pub fn parse_header<K: LogKey>(key: &SegmentKey, bytes: &[u8]) -> Option<EntryHeader<K>> {
    let bytes = bytes.get(..header_len::<K>())?;
    let (checked, sum) = bytes.split_at(checked_len(K::LEN));
    if checked[..4] != MAGIC || check(key, checked) != *sum {
        return None;
    }
    let (id, rest) = checked[5..].split_at(K::LEN);
    let id = K::read(id)?;
    let version = u64::from_be_bytes(rest[..8].try_into().ok()?);
    let len = u32::from_be_bytes(rest[8..12].try_into().ok()?);
    let hash = ShardHash::from_bytes(rest[12..44].try_into().ok()?);
    let kind = match checked[4] {
        PUT => EntryKind::Put { version, len, hash },
        TOMBSTONE if len == 0 => EntryKind::Tombstone,
        _ => return None,
    };
    Some(EntryHeader { id, kind })
}

/// Where the next header intact under `key` starts in `bytes`, searching from `from`.
pub fn find_header<K: LogKey>(key: &SegmentKey, bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(found) = bytes
        .get(at..)?
        .windows(MAGIC.len())
        .position(|w| w == MAGIC)
    {
        let candidate = at + found;
        if parse_header::<K>(key, &bytes[candidate..]).is_some() {
            return Some(candidate);
        }
        at = candidate + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::protocol::RecordId;

    const KEY: SegmentKey = [9; 32];
    const LEN: usize = header_len::<RecordId>();

    fn put(out: &mut Vec<u8>, id: RecordId, version: u64, payload: &[u8]) {
        encode_put(out, &KEY, &id, version, &ShardHash::of(payload), payload).unwrap();
    }

    #[test]
    fn put_and_tombstone_round_trip() {
        let mut out = Vec::new();
        put(&mut out, RecordId([7; 32]), 42, b"payload");
        let put_len = out.len();
        encode_tombstone(&mut out, &KEY, &RecordId([8; 32]));
        let put = parse_header::<RecordId>(&KEY, &out).unwrap();
        assert_eq!(put.id, RecordId([7; 32]));
        assert_eq!(
            put.kind,
            EntryKind::Put {
                version: 42,
                len: 7,
                hash: ShardHash::of(b"payload")
            }
        );
        assert_eq!(&out[LEN..put_len], b"payload");
        let tomb = parse_header::<RecordId>(&KEY, &out[put_len..]).unwrap();
        assert_eq!(
            (tomb.id, tomb.kind),
            (RecordId([8; 32]), EntryKind::Tombstone)
        );
        assert_eq!(find_header::<RecordId>(&KEY, &out, 1), Some(put_len));
        // The same bytes under another segment's key are no entries at all.
        assert!(parse_header::<RecordId>(&[1; 32], &out).is_none());
        assert_eq!(find_header::<RecordId>(&[1; 32], &out, 0), None);
    }

    proptest! {
        /// A flipped bit anywhere in a header is caught, and random bytes never parse.
        #[test]
        fn damaged_headers_are_refused(
            version in any::<u64>(),
            at in 0..LEN,
            xor in 1..=255u8,
            noise in prop::collection::vec(any::<u8>(), 0..256),
        ) {
            let mut out = Vec::new();
            put(&mut out, RecordId([3; 32]), version, b"x");
            out[at] ^= xor;
            prop_assert!(parse_header::<RecordId>(&KEY, &out).is_none());
            prop_assert!(parse_header::<RecordId>(&KEY, &noise).is_none());
            prop_assert!(find_header::<RecordId>(&KEY, &noise, 0).is_none());
        }
    }
}
