//! One entry of the record log: a put (id, version, payload) or a tombstone (id).
//!
//! ```text
//! magic "FLRE" | kind u8 | id [32] | version u64 BE | len u32 BE | payload blake3 [32] | check [8] | payload
//! ```
//!
//! `check` is the first 8 bytes of the blake3 of everything before it, so a torn or rotten
//! header is never mistaken for an entry, and a scan that lost its place can find the next
//! entry again. The payload has its own hash, checked on every read.

use floe_codec::ShardHash;

use crate::protocol::RecordId;

const MAGIC: [u8; 4] = *b"FLRE";
const PUT: u8 = 1;
const TOMBSTONE: u8 = 2;
/// Bytes covered by the check: magic, kind, id, version, len, payload hash.
const CHECKED_LEN: usize = 4 + 1 + 32 + 8 + 4 + 32;
/// Bytes before an entry's payload.
pub const ENTRY_HEADER_LEN: usize = CHECKED_LEN + 8;

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
    id: &RecordId,
    version: u64,
    payload: &[u8],
) -> Option<EntryHeader> {
    let len = u32::try_from(payload.len()).ok()?;
    let hash = ShardHash::of(payload);
    encode_header(out, PUT, id, version, len, &hash);
    out.extend_from_slice(payload);
    Some(EntryHeader {
        id: *id,
        kind: EntryKind::Put { version, len, hash },
    })
}

/// Appends a tombstone entry to `out` and returns its header.
pub fn encode_tombstone(out: &mut Vec<u8>, id: &RecordId) -> EntryHeader {
    encode_header(out, TOMBSTONE, id, 0, 0, &ShardHash::from_bytes([0; 32]));
    EntryHeader {
        id: *id,
        kind: EntryKind::Tombstone,
    }
}

fn encode_header(
    out: &mut Vec<u8>,
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
    let check = ShardHash::of(&out[start..]);
    out.extend_from_slice(&check.as_bytes()[..8]);
}

/// Parses an entry header; `None` unless all `ENTRY_HEADER_LEN` bytes are there and intact.
pub fn parse_header(bytes: &[u8]) -> Option<EntryHeader> {
    let bytes = bytes.get(..ENTRY_HEADER_LEN)?;
    let (checked, check) = bytes.split_at(CHECKED_LEN);
    if checked[..4] != MAGIC || ShardHash::of(checked).as_bytes()[..8] != *check {
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

/// Where the next intact header starts in `bytes`, searching from `from`.
pub fn find_header(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(found) = bytes
        .get(at..)?
        .windows(MAGIC.len())
        .position(|w| w == MAGIC)
    {
        let candidate = at + found;
        if parse_header(&bytes[candidate..]).is_some() {
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

    #[test]
    fn put_and_tombstone_round_trip() {
        let mut out = Vec::new();
        encode_put(&mut out, &RecordId([7; 32]), 42, b"payload").unwrap();
        let put_len = out.len();
        encode_tombstone(&mut out, &RecordId([8; 32]));
        let put = parse_header(&out).unwrap();
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
        let tomb = parse_header(&out[put_len..]).unwrap();
        assert_eq!(
            (tomb.id, tomb.kind),
            (RecordId([8; 32]), EntryKind::Tombstone)
        );
        assert_eq!(find_header(&out, 1), Some(put_len));
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
            encode_put(&mut out, &RecordId([3; 32]), version, b"x").unwrap();
            out[at] ^= xor;
            prop_assert!(parse_header(&out).is_none());
            prop_assert!(parse_header(&noise).is_none());
            prop_assert!(find_header(&noise, 0).is_none());
        }
    }
}
