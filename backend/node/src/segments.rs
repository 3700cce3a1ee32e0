//! Segment logs: numbered, append-only files of keyed entries with one `fdatasync` per batch,
//! an in-memory map from each key to its newest put, verified reads and compaction.
//!
//! Two logs use it: the gateway's metadata records (keyed by [`RecordId`], see
//! [`crate::records`]) and the packed small shards (keyed by [`ShardKey`], see
//! [`crate::packs`]). What tells their files apart is [`LogKey::SEGMENT_MAGIC`]; the entry
//! format is the same, with keys of [`LogKey::LEN`] bytes.

pub mod compaction;
pub mod entry;
pub mod log;
pub mod reader;
mod vectored;

use std::fmt::{Debug, Display};

use floe_codec::ChunkId;

use crate::protocol::{RecordId, ShardKey};

/// What a segment log is keyed by.
pub trait LogKey: Copy + Ord + Debug + Display + Send + Sync + 'static {
    /// Bytes of a key inside an entry header.
    const LEN: usize;
    /// Segment file magic; the last two bytes are the format version.
    const SEGMENT_MAGIC: [u8; 8];
    /// Appends exactly `LEN` bytes.
    fn write(&self, out: &mut Vec<u8>);
    /// The key from exactly `LEN` bytes; `None` if they are no valid key.
    fn read(bytes: &[u8]) -> Option<Self>;
}

impl LogKey for RecordId {
    const LEN: usize = 32;
    const SEGMENT_MAGIC: [u8; 8] = *b"FLRLOG\x00\x01";

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }

    fn read(bytes: &[u8]) -> Option<Self> {
        Some(RecordId(bytes.try_into().ok()?))
    }
}

impl LogKey for ShardKey {
    /// Chunk id, then the shard index big-endian, so byte order is key order.
    const LEN: usize = 34;
    const SEGMENT_MAGIC: [u8; 8] = *b"FLSPAK\x00\x01";

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.chunk.as_bytes());
        out.extend_from_slice(&self.index.to_be_bytes());
    }

    fn read(bytes: &[u8]) -> Option<Self> {
        let (chunk, index) = bytes.split_at_checked(32)?;
        Some(ShardKey::new(
            ChunkId::from_bytes(chunk.try_into().ok()?),
            u16::from_be_bytes(index.try_into().ok()?),
        ))
    }
}
