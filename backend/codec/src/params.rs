//! Erasure-coding parameters: how many data shards (k) and parity shards (m) a chunk is split into.
//!
//! `CodecParams` is validated everywhere it can be created, including deserialization, so code
//! holding one may rely on `k >= 1`, `m >= 1` and `k + m <= MAX_TOTAL_SHARDS`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::CodecError;

/// Upper bound on `k + m`. Reed-Solomon would allow far more, but every shard lives on its own
/// node, and a bound keeps padding (`< 2 * total`) and per-chunk metadata small.
pub const MAX_TOTAL_SHARDS: usize = 256;

/// Most zero bytes `encode_chunk` may append to a chunk: each of the k shards is rounded up by at
/// most one byte for the division and one more to make it even. Buffers reserved with this much
/// slack are padded in place, without a reallocation.
pub const MAX_PADDING: usize = 2 * MAX_TOTAL_SHARDS;

/// k data shards and m parity shards; any k of the k + m shards rebuild the chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawCodecParams")]
pub struct CodecParams {
    pub data_shards: u16,
    pub parity_shards: u16,
}

/// Unvalidated wire form; deserialization goes through it so a manifest can never smuggle in
/// `k = 0` (a division by zero later) or an absurd shard count.
#[derive(Deserialize)]
struct RawCodecParams {
    data_shards: u16,
    parity_shards: u16,
}

impl TryFrom<RawCodecParams> for CodecParams {
    type Error = CodecError;

    fn try_from(raw: RawCodecParams) -> Result<Self, CodecError> {
        Self::new(raw.data_shards, raw.parity_shards)
    }
}

impl CodecParams {
    /// Validates `k >= 1`, `m >= 1` and `k + m <= MAX_TOTAL_SHARDS`.
    pub fn new(k: u16, m: u16) -> Result<Self, CodecError> {
        if k == 0 {
            return Err(CodecError::InvalidParams(
                "need at least one data shard".into(),
            ));
        }
        // m = 0 would be valid maths but no redundancy at all, which defeats the whole store.
        if m == 0 {
            return Err(CodecError::InvalidParams(
                "need at least one parity shard".into(),
            ));
        }
        let total = usize::from(k) + usize::from(m);
        if total > MAX_TOTAL_SHARDS {
            return Err(CodecError::InvalidParams(format!(
                "{k}+{m} has {total} shards, more than the maximum {MAX_TOTAL_SHARDS}"
            )));
        }
        Ok(Self {
            data_shards: k,
            parity_shards: m,
        })
    }

    /// Whether the (public) fields still satisfy the invariants of [`CodecParams::new`]; a struct
    /// literal can bypass them.
    pub fn is_valid(&self) -> bool {
        Self::new(self.data_shards, self.parity_shards).is_ok()
    }

    /// Number of data shards (k).
    pub fn k(&self) -> usize {
        usize::from(self.data_shards)
    }

    /// Number of parity shards (m).
    pub fn m(&self) -> usize {
        usize::from(self.parity_shards)
    }

    /// k + m.
    pub fn total(&self) -> usize {
        self.k() + self.m()
    }
}

impl fmt::Display for CodecParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}+{}", self.data_shards, self.parity_shards)
    }
}

impl FromStr for CodecParams {
    type Err = CodecError;

    /// Parses the `k+m` notation used in configuration, e.g. `"4+2"`.
    fn from_str(s: &str) -> Result<Self, CodecError> {
        let bad = || CodecError::InvalidParams(format!("expected k+m such as 4+2, got {s:?}"));
        let (k, m) = s.trim().split_once('+').ok_or_else(bad)?;
        let k = k.trim().parse::<u16>().map_err(|_| bad())?;
        let m = m.trim().parse::<u16>().map_err(|_| bad())?;
        Self::new(k, m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays() {
        let p: CodecParams = "4+2".parse().unwrap();
        assert_eq!((p.k(), p.m(), p.total()), (4, 2, 6));
        assert_eq!(p.to_string(), "4+2");
        assert_eq!(" 8 + 4 ".parse::<CodecParams>().unwrap().to_string(), "8+4");
    }

    #[test]
    fn rejects_nonsense() {
        for s in [
            "", "4", "4+", "+2", "0+2", "4+0", "4-2", "a+b", "200+57", "70000+1", "4+2+1",
        ] {
            assert!(
                s.parse::<CodecParams>().is_err(),
                "{s:?} should be rejected"
            );
        }
        assert!("200+56".parse::<CodecParams>().is_ok());
    }

    #[test]
    fn deserialization_validates() {
        let good = postcard::to_allocvec(&CodecParams::new(4, 2).unwrap()).unwrap();
        assert_eq!(
            postcard::from_bytes::<CodecParams>(&good).unwrap(),
            CodecParams::new(4, 2).unwrap()
        );
        let bad = postcard::to_allocvec(&CodecParams {
            data_shards: 0,
            parity_shards: 2,
        })
        .unwrap();
        assert!(postcard::from_bytes::<CodecParams>(&bad).is_err());
        assert!(
            !CodecParams {
                data_shards: 300,
                parity_shards: 2
            }
            .is_valid()
        );
    }
}
