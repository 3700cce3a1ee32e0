//! Content-derived identifiers: the blake3 hash of a shard and the id of a chunk.
//!
//! Both are 32-byte blake3 outputs. They travel as lowercase hex (64 characters) in URLs and file
//! names, so parsing is strict: anything else is rejected before it can reach a path.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Length of every id in bytes.
pub const ID_LEN: usize = 32;

/// Why a hex id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("id must be {expected} lowercase hex characters, got {got}")]
    Length { expected: usize, got: usize },
    #[error("id must be lowercase hex")]
    NotHex,
}

fn parse_hex(s: &str) -> Result<[u8; ID_LEN], IdError> {
    if s.len() != ID_LEN * 2 {
        return Err(IdError::Length {
            expected: ID_LEN * 2,
            got: s.len(),
        });
    }
    // Lowercase only: one spelling per id keeps file names and cache keys canonical.
    if !s
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(IdError::NotHex);
    }
    let mut out = [0u8; ID_LEN];
    hex::decode_to_slice(s, &mut out).map_err(|_| IdError::NotHex)?;
    Ok(out)
}

macro_rules! hash_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name([u8; ID_LEN]);

        impl $name {
            pub const fn from_bytes(bytes: [u8; ID_LEN]) -> Self {
                Self(bytes)
            }

            pub const fn as_bytes(&self) -> &[u8; ID_LEN] {
                &self.0
            }

            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// Parses exactly 64 lowercase hex characters.
            pub fn from_hex(s: &str) -> Result<Self, IdError> {
                parse_hex(s).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), &self.to_hex()[..16])
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::from_hex(s)
            }
        }
    };
}

hash_id!(
    /// blake3 hash of one shard's bytes (padding included).
    ShardHash
);

hash_id!(
    /// Commitment to a whole encoded chunk: format version, k, m, length and every shard hash.
    /// Identical content under identical parameters gives an identical id.
    ChunkId
);

impl ShardHash {
    /// Hashes shard bytes.
    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }

    /// Whether `bytes` hash to this value.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        Self::of(bytes) == *self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let h = ShardHash::of(b"floe");
        assert_eq!(ShardHash::from_hex(&h.to_hex()).unwrap(), h);
        assert!(h.matches(b"floe"));
        assert!(!h.matches(b"floe!"));
    }

    #[test]
    fn rejects_paths_and_uppercase() {
        assert!(ChunkId::from_hex("../etc/passwd").is_err());
        let upper = "A".repeat(64);
        assert_eq!(ChunkId::from_hex(&upper), Err(IdError::NotHex));
        let slashy = format!("{}/{}", "a".repeat(31), "b".repeat(32));
        assert_eq!(ChunkId::from_hex(&slashy), Err(IdError::NotHex));
    }
}
