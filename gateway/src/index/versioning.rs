//! Versioning's vocabulary: a bucket's versioning state, the stamp every object version and delete
//! marker carries, and the version id S3 clients see.
//!
//! A version's sequence number comes from the journal's version counter (`journal`), the one
//! counter every change of the index already takes a number from: it rises with time, and since
//! every gateway sharing an index takes it inside the same serializable transaction as the write,
//! two gateways never hand out the same number and their order is the commit order. The id a
//! client sees is that number in hex, and `null` for the version S3 calls null.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::UnixMillis;
use super::lock::{BucketLock, ObjectLock};

/// A bucket's versioning state. Unversioned → Enabled ⇄ Suspended: there is no way back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Versioning {
    #[default]
    Unversioned,
    Enabled,
    Suspended,
}

/// A bucket's configuration beyond its creation record, stored after that record (see
/// `buckets`) and copied to the nodes with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketSettings {
    pub versioning: Versioning,
    /// Object lock, once enabled (never disabled). Stored after the settings record and sent to
    /// the nodes in a record variant of its own, so settings written before it still decode.
    #[serde(skip)]
    pub lock: Option<BucketLock>,
    /// Owner, policy, ACL and public access block, when any is set. Kept in a table of its own
    /// (`bucket_access`), so `None` on reads of the bucket table; filled in only for the record
    /// sent to the nodes, and restored from it.
    #[serde(skip)]
    pub access: Option<super::BucketAccess>,
    /// Tags, ownership and CORS rules, when any is set: as `access`, from a table of their own
    /// (`bucket_config`).
    #[serde(skip)]
    pub config: Option<super::BucketConfig>,
}

/// Which version of a key a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VersionId {
    /// The `null` version: written while the bucket was unversioned or suspended.
    Null,
    /// A version written while versioning was enabled.
    Seq(u64),
}

/// The id could not have been handed out by Floe.
#[derive(Debug, thiserror::Error)]
#[error("invalid version id")]
pub struct BadVersionId;

impl FromStr for VersionId {
    type Err = BadVersionId;

    fn from_str(s: &str) -> Result<Self, BadVersionId> {
        if s == "null" {
            return Ok(Self::Null);
        }
        if s.len() != 16 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(BadVersionId);
        }
        u64::from_str_radix(s, 16)
            .map(Self::Seq)
            .map_err(|_| BadVersionId)
    }
}

impl fmt::Display for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            // Fixed width, so that ids sort as they were handed out.
            Self::Seq(seq) => write!(f, "{seq:016x}"),
        }
    }
}

/// Where a version sits in its key's history, whether it is the null version, and its object
/// lock, which travels with it wherever it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionStamp {
    /// Larger is newer; unique within the index.
    pub seq: u64,
    pub null: bool,
    /// Encoded in the stamp's own bytes (`object_entry`) and in a record variant of its own on
    /// the nodes, so stamps serialized before object lock still decode.
    #[serde(skip)]
    pub lock: ObjectLock,
}

impl VersionStamp {
    /// The stamp of an entry written before versioning existed: the null version, older than
    /// every version written since.
    pub const LEGACY: Self = Self::new(0, true);

    /// An unlocked version's stamp.
    pub const fn new(seq: u64, null: bool) -> Self {
        Self {
            seq,
            null,
            lock: ObjectLock::NONE,
        }
    }

    pub fn id(&self) -> VersionId {
        match self.null {
            true => VersionId::Null,
            false => VersionId::Seq(self.seq),
        }
    }
}

/// A delete marker: a version that says "deleted".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkerRecord {
    pub modified: UnixMillis,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids_round_trip_and_sort_as_handed_out() {
        for id in [VersionId::Null, VersionId::Seq(0), VersionId::Seq(u64::MAX)] {
            assert_eq!(id.to_string().parse::<VersionId>().unwrap(), id);
        }
        assert!(VersionId::Seq(9).to_string() < VersionId::Seq(10).to_string());
        for bad in [
            "",
            "NULL",
            "0123",
            "000000000000000g",
            "00000000000000000",
            "+00000000000000f",
        ] {
            assert!(bad.parse::<VersionId>().is_err(), "{bad}");
        }
    }
}
