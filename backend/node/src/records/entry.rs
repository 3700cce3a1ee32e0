//! One entry of the record log: a put (id, version, payload) or a tombstone (id).
//!
//! ```text
//! magic "FLRE" | kind u8 | id [32] | version u64 BE | len u32 BE | payload blake3 [32] | check [8] | payload
//! ```
//!
//! `check` is the first 8 bytes of the blake3, keyed with the segment's random key, of
//! everything before it. So a torn or rotten header is never mistaken for an entry, a scan that
//! lost its place can find the next entry again, and bytes that merely look like an entry
//! (inside a payload, say a backup of a segment file) never pass: they lack the key. The
//! payload has its own hash, checked on every read.

use floe_codec::ShardHash;

use crate::protocol::RecordId;

const MAGIC: [u8; 4] = *b"FLRE";
const PUT: u8 = 1;
const TOMBSTONE: u8 = 2;
/// Bytes covered by the check: magic, kind, id, version, len, payload hash.
const CHECKED_LEN: usize = 4 + 1 + 32 + 8 + 4 + 32;
/// Bytes before an entry's payload.
pub const ENTRY_HEADER_LEN: usize = CHECKED_LEN + 8;

/// The key of a segment's header checks.
pub type SegmentKey = [u8; 32];

/// What an entry says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// Version `version` of the record is the payload that follows.
    Put {
        version: u64,
        len: u32,
        hash: ShardHash,
    },
    /// The record was deleted (or found rotten): older puts of it no longer count.
    Tombstone,
}

/// A parsed entry header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryHeader {
    pub id: RecordId,
    pub kind: EntryKind,
}

impl EntryHeader {
    /// Bytes of payload after the header.
    pub fn payload_len(&self) -> usize {
        match self.kind {
            EntryKind::Put { len, .. } => len as usize,
            EntryKind::Tombstone => 0,
        }
    }
}

/// Appends a put entry to `out` and returns its header; `None` (nothing appended) if the
/// payload is too large for an entry.
pub fn encode_put(
    out: &mut Vec<u8>,
    key: &SegmentKey,
    id: &RecordId,
    version: u64,
    payload: &[u8],
) -> Option<EntryHeader> {
    let len = u32::try_from(payload.len()).ok()?;
    let hash = ShardHash::of(payload);
    encode_header(out, key, PUT, id, version, len, &hash);
    out.extend_from_slice(payload);
    Some(EntryHeader {
        id: *id,
        kind: EntryKind::Put { version, len, hash },
    })
}

/// Appends a tombstone entry to `out` and returns its header.
pub fn encode_tombstone(out: &mut Vec<u8>, key: &SegmentKey, id: &RecordId) -> EntryHeader {
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

fn encode_header(
    out: &mut Vec<u8>,
    key: &SegmentKey,
    kind: u8,
    id: &RecordId,
    version: u64,
    len: u32,
    hash: &ShardHash,
) {
    let start = out.len();
    out.extend_from_slice(&MAGIC);
    out.push(kind);
    out.extend_from_slice(&id.0);
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

/// Parses an entry header; `None` unless all `ENTRY_HEADER_LEN` bytes are there and intact
/// under `key`.
pub fn parse_header(key: &SegmentKey, bytes: &[u8]) -> Option<EntryHeader> {
    let bytes = bytes.get(..ENTRY_HEADER_LEN)?;
    let (checked, sum) = bytes.split_at(CHECKED_LEN);
    if checked[..4] != MAGIC || check(key, checked) != *sum {
        return None;
    }
    let id = RecordId(checked[5..37].try_into().ok()?);
    let version = u64::from_be_bytes(checked[37..45].try_into().ok()?);
    let len = u32::from_be_bytes(checked[45..49].try_into().ok()?);
    let hash = ShardHash::from_bytes(checked[49..81].try_into().ok()?);
    let kind = match checked[4] {
        PUT => EntryKind::Put { version, len, hash },
        TOMBSTONE if len == 0 => EntryKind::Tombstone,
        _ => return None,
    };
    Some(EntryHeader { id, kind })
}

/// Where the next header intact under `key` starts in `bytes`, searching from `from`.
pub fn find_header(key: &SegmentKey, bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(found) = bytes
        .get(at..)?
        .windows(MAGIC.len())
        .position(|w| w == MAGIC)
    {
        let candidate = at + found;
        if parse_header(key, &bytes[candidate..]).is_some() {
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

    const KEY: SegmentKey = [9; 32];

    #[test]
    fn put_and_tombstone_round_trip() {
        let mut out = Vec::new();
        encode_put(&mut out, &KEY, &RecordId([7; 32]), 42, b"payload").unwrap();
        let put_len = out.len();
        encode_tombstone(&mut out, &KEY, &RecordId([8; 32]));
        let put = parse_header(&KEY, &out).unwrap();
        assert_eq!(put.id, RecordId([7; 32]));
        assert_eq!(
            put.kind,
            EntryKind::Put {
                version: 42,
                len: 7,
                hash: ShardHash::of(b"payload")
            }
        );
        assert_eq!(&out[ENTRY_HEADER_LEN..put_len], b"payload");
        let tomb = parse_header(&KEY, &out[put_len..]).unwrap();
        assert_eq!(
            (tomb.id, tomb.kind),
            (RecordId([8; 32]), EntryKind::Tombstone)
        );
        assert_eq!(find_header(&KEY, &out, 1), Some(put_len));
        // The same bytes under another segment's key are no entries at all.
        assert!(parse_header(&[1; 32], &out).is_none());
        assert_eq!(find_header(&[1; 32], &out, 0), None);
    }

    proptest! {
        /// A flipped bit anywhere in a header is caught, and random bytes never parse.
        #[test]
        fn damaged_headers_are_refused(
            version in any::<u64>(),
            at in 0..ENTRY_HEADER_LEN,
            xor in 1..=255u8,
            noise in prop::collection::vec(any::<u8>(), 0..256),
        ) {
            let mut out = Vec::new();
            encode_put(&mut out, &KEY, &RecordId([3; 32]), version, b"x").unwrap();
            out[at] ^= xor;
            prop_assert!(parse_header(&KEY, &out).is_none());
            prop_assert!(parse_header(&KEY, &noise).is_none());
            prop_assert!(find_header(&KEY, &noise, 0).is_none());
        }
    }
}
