//! What the index knows of the cluster it describes: the cluster's id, whether the index's view
//! of the cluster is complete, and the newest record version it has handed out.
//!
//! A view is complete when the index saw every change of the cluster: it was built by this
//! gateway from the cluster's first write, or rebuilt from the records of every node. Only a
//! complete view may decide that nothing references a chunk, so garbage collection and the
//! orphan sweep delete nothing while the view is incomplete (see `recovery::view`).

use super::journal::LAST_VERSION;
use super::store::META;
use super::{Index, IndexError};

/// Keys in `meta`: the cluster id as two halves, and the completeness flag.
const CLUSTER_HI: &str = "cluster_id_hi";
const CLUSTER_LO: &str = "cluster_id_lo";
const VIEW_COMPLETE: &str = "view_complete";

/// A cluster's id: 128 random bits, written as 32 lowercase hex characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClusterId(pub u128);

impl ClusterId {
    /// A new id, unique with overwhelming probability.
    pub fn generate() -> Self {
        use std::hash::{BuildHasher, RandomState};
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let hi = RandomState::new().hash_one((now, std::process::id(), 1u8));
        let lo = RandomState::new().hash_one((now, std::process::id(), 2u8));
        Self((u128::from(hi) << 64) | u128::from(lo))
    }

    pub fn to_hex(self) -> String {
        format!("{:032x}", self.0)
    }

    pub fn parse(text: &str) -> Option<Self> {
        floe_node::membership::valid_cluster_id(text)
            .then(|| u128::from_str_radix(text, 16).ok().map(Self))
            .flatten()
    }
}

impl std::fmt::Display for ClusterId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Index {
    fn meta_value(&self, key: &str) -> Result<Option<u64>, IndexError> {
        let txn = self.read()?;
        let meta = txn.open_table(META)?;
        Ok(meta.get(key)?.map(|v| v.value()))
    }

    /// The cluster this index describes, once known.
    pub fn cluster_id(&self) -> Result<Option<ClusterId>, IndexError> {
        let hi = self.meta_value(CLUSTER_HI)?;
        let lo = self.meta_value(CLUSTER_LO)?;
        Ok(hi
            .zip(lo)
            .map(|(hi, lo)| ClusterId((u128::from(hi) << 64) | u128::from(lo))))
    }

    /// Records the cluster this index describes (durably, before any node is told).
    pub fn set_cluster_id(&self, id: ClusterId) -> Result<(), IndexError> {
        self.write(|t| {
            t.meta.insert(CLUSTER_HI, (id.0 >> 64) as u64)?;
            t.meta.insert(CLUSTER_LO, id.0 as u64)?;
            Ok(())
        })
    }

    /// Whether the view is complete; `None` for an index that never recorded it (written
    /// before the flag existed).
    pub fn view_complete(&self) -> Result<Option<bool>, IndexError> {
        Ok(self.meta_value(VIEW_COMPLETE)?.map(|v| v == 1))
    }

    pub fn set_view_complete(&self, complete: bool) -> Result<(), IndexError> {
        self.write(|t| {
            t.meta.insert(VIEW_COMPLETE, u64::from(complete))?;
            Ok(())
        })
    }

    /// The newest record version this index handed out or restored (0 for a new index).
    pub fn last_record_version(&self) -> Result<u64, IndexError> {
        Ok(self.meta_value(LAST_VERSION)?.unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testkit::file_index;

    #[test]
    fn the_cluster_view_persists() {
        let (dir, index) = file_index();
        assert_eq!(index.cluster_id().unwrap(), None);
        assert_eq!(index.view_complete().unwrap(), None);
        assert_eq!(index.last_record_version().unwrap(), 0);
        let id = ClusterId::generate();
        assert_ne!(id, ClusterId::generate());
        assert_eq!(ClusterId::parse(&id.to_hex()), Some(id));
        assert_eq!(ClusterId::parse("xyz"), None);
        index.set_cluster_id(id).unwrap();
        index.set_view_complete(false).unwrap();
        drop(index);
        let index = Index::open(&dir.path().join("index.redb")).unwrap();
        assert_eq!(index.cluster_id().unwrap(), Some(id));
        assert_eq!(index.view_complete().unwrap(), Some(false));
    }
}
