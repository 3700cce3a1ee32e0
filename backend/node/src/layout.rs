//! The on-disk layout of a node's data directory and the stored shard file format.
//!
//! ```text
//! DATA/LOCK                                   flock'd while a node owns the directory
//! DATA/shards/<first 2 hex>/<chunk_hex>.<index> shard files
//! DATA/tmp/                                   writes in progress; emptied at startup
//! DATA/quarantine/                            shards that failed verification, kept for forensics
//! DATA/record-log/<seq>.seg                   the gateway's metadata records (see `records`)
//! DATA/holds.log                              retention holds on chunks (see `holds`)
//! ```
//!
//! A shard file is `MAGIC` (8 bytes, format version included) + the 32-byte blake3 hash of the
//! payload + the payload, so any read can verify the bytes without outside knowledge.
//! Every path here is built from a validated [`ShardKey`], never from request text.

use std::path::{Path, PathBuf};

use floe_codec::ShardHash;

use crate::protocol::ShardKey;

/// File magic; the last two bytes are the format version (big-endian), bumped on any change.
pub const MAGIC: [u8; 8] = *b"FLSHRD\x00\x01";
/// Bytes before the payload: magic + shard hash.
pub const HEADER_LEN: usize = MAGIC.len() + 32;

pub const SHARDS_DIR: &str = "shards";
pub const TMP_DIR: &str = "tmp";
pub const QUARANTINE_DIR: &str = "quarantine";
pub const LOCK_FILE: &str = "LOCK";

/// Paths inside one data directory.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn shards_dir(&self) -> PathBuf {
        self.root.join(SHARDS_DIR)
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join(TMP_DIR)
    }

    pub fn quarantine_dir(&self) -> PathBuf {
        self.root.join(QUARANTINE_DIR)
    }

    pub fn lock_file(&self) -> PathBuf {
        self.root.join(LOCK_FILE)
    }

    /// Two hex characters of fan-out keep directories small (256 of them) without deep trees.
    pub fn prefix_dir(&self, key: &ShardKey) -> PathBuf {
        self.shards_dir().join(prefix_of(key))
    }

    pub fn shard_path(&self, key: &ShardKey) -> PathBuf {
        self.prefix_dir(key).join(key.to_string())
    }

    /// A temp name unique within this process; the data-dir lock rules out other processes.
    pub fn tmp_path(&self, key: &ShardKey, seq: u64) -> PathBuf {
        self.tmp_dir().join(format!("{key}.{seq}.tmp"))
    }

    /// Quarantined copies keep their key and gain a timestamp and sequence number, so a shard
    /// that rots twice does not overwrite the evidence of the first time.
    pub fn quarantine_path(&self, key: &ShardKey, stamp: u64, seq: u64) -> PathBuf {
        self.quarantine_dir().join(format!("{key}.{stamp}.{seq}"))
    }
}

pub fn prefix_of(key: &ShardKey) -> String {
    hex::encode(&key.chunk.as_bytes()[..1])
}

/// Whether a directory name under `shards/` is a prefix directory.
pub fn is_prefix_name(name: &str) -> bool {
    name.len() == 2
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The file header for a payload with hash `hash`.
pub fn encode_header(hash: &ShardHash) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[..MAGIC.len()].copy_from_slice(&MAGIC);
    out[MAGIC.len()..].copy_from_slice(hash.as_bytes());
    out
}

/// Why a stored file's header is unusable; either way the file is treated as corrupt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("file shorter than the {HEADER_LEN}-byte header")]
    Short,
    #[error("bad magic or unsupported format version")]
    Magic,
}

/// Reads the stored hash from the start of a shard file.
pub fn decode_header(bytes: &[u8]) -> Result<ShardHash, HeaderError> {
    let header = bytes.get(..HEADER_LEN).ok_or(HeaderError::Short)?;
    if header[..MAGIC.len()] != MAGIC {
        return Err(HeaderError::Magic);
    }
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&header[MAGIC.len()..]);
    Ok(ShardHash::from_bytes(hash))
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_codec::ChunkId;

    #[test]
    fn paths_are_derived_from_the_key_only() {
        let layout = Layout::new("/data");
        let key = ShardKey::new(ChunkId::from_bytes([0x5c; 32]), 12);
        let path = layout.shard_path(&key);
        assert_eq!(
            path,
            Path::new("/data/shards/5c").join(format!("{}.12", "5c".repeat(32)))
        );
        assert!(path.starts_with(layout.shards_dir()));
        assert!(layout.tmp_path(&key, 3).starts_with("/data/tmp"));
        assert!(is_prefix_name("5c"));
        assert!(!is_prefix_name("5C") && !is_prefix_name("..") && !is_prefix_name("abc"));
    }

    #[test]
    fn header_round_trip_and_rejections() {
        let hash = ShardHash::of(b"payload");
        let mut file = encode_header(&hash).to_vec();
        file.extend_from_slice(b"payload");
        assert_eq!(decode_header(&file), Ok(hash));
        assert_eq!(decode_header(&file[..10]), Err(HeaderError::Short));
        file[7] = 2; // a future format version is not ours to read
        assert_eq!(decode_header(&file), Err(HeaderError::Magic));
    }
}
