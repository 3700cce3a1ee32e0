//! The journal: what of the index must be copied to the storage nodes, so that the index can be
//! rebuilt from them if the gateway's disk is lost.
//!
//! Every change of a bucket or an object (create, overwrite, tags, delete) gets a version in
//! the same transaction: larger than every version before it and, as far as the clock allows,
//! than every version an earlier, lost index handed out (`max(last + 1, now in µs)`). The live
//! version sits in `versions`, and the change is queued in `record_outbox` until a publisher
//! has copied the current state (or a tombstone) to the nodes. The outbox keeps one entry per
//! bucket or key, so a key overwritten ten times before publication is published once.
//!
//! The same file keeps the drain flags of storage nodes (`node_states`), the other piece of
//! cluster state the index persists.

use floe_codec::Manifest;

use super::batch::BatchOp;
use super::object_entry::load_object;
use super::store::{
    BUCKETS, MANIFESTS, NODE_STATES, OBJECTS, RECORD_OUTBOX, Tables, decode, now_millis,
};
use super::{BucketRecord, Index, IndexError, ObjectRecord};

/// Key in `meta` of the last version handed out.
pub(super) const LAST_VERSION: &str = "record_version";

/// What a journal entry is about; the number is its key in the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    Bucket = 0,
    Object = 1,
}

impl RecordKind {
    fn from_u8(value: u8) -> Option<Self> {
        match value {
            0 => Some(Self::Bucket),
            1 => Some(Self::Object),
            _ => None,
        }
    }
}

/// The state a journal entry publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalState {
    Bucket(BucketRecord),
    /// Boxed: records are large, and most entries are small.
    Object(Box<ObjectRecord>, Manifest),
    /// Deleted: published as a tombstone, so an older copy cannot bring it back.
    Deleted,
}

/// One bucket or object at one version. For a bucket, `key` is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub kind: RecordKind,
    pub bucket: String,
    pub key: String,
    pub version: u64,
    pub state: JournalState,
}

/// Hands out the next version (see the module docs).
pub(super) fn next_version(t: &mut Tables<'_>) -> Result<u64, IndexError> {
    let last = t.meta.get(LAST_VERSION)?.map(|v| v.value()).unwrap_or(0);
    let now_micros = u64::try_from(now_millis())
        .unwrap_or(0)
        .saturating_mul(1000);
    let version = last.saturating_add(1).max(now_micros);
    t.meta.insert(LAST_VERSION, version)?;
    Ok(version)
}

/// Raises the version counter to at least `version` (after restoring records that carry it).
pub(super) fn observe_version(t: &mut Tables<'_>, version: u64) -> Result<(), IndexError> {
    let last = t.meta.get(LAST_VERSION)?.map(|v| v.value()).unwrap_or(0);
    if version > last {
        t.meta.insert(LAST_VERSION, version)?;
    }
    Ok(())
}

/// Records a change of a bucket (`key` empty) or object: a new version, live or deleted, queued
/// for publication. Returns the version.
pub(super) fn note_change(
    t: &mut Tables<'_>,
    kind: RecordKind,
    bucket: &str,
    key: &str,
    live: bool,
) -> Result<u64, IndexError> {
    let version = next_version(t)?;
    let id = (kind as u8, bucket, key);
    if live {
        t.versions.insert(id, version)?;
    } else {
        t.versions.remove(id)?;
    }
    t.record_outbox.insert(id, version)?;
    Ok(version)
}

/// Removes published changes from the outbox (see [`Index::records_published`]).
struct OutboxCleanup {
    done: Vec<(RecordKind, String, String, u64)>,
}

impl BatchOp for OutboxCleanup {
    type Output = ();

    fn check(&self, _: &Tables<'_>) -> Result<(), IndexError> {
        Ok(())
    }

    fn apply(&self, t: &mut Tables<'_>) -> Result<(), IndexError> {
        for (kind, bucket, key, version) in &self.done {
            let id = (*kind as u8, bucket.as_str(), key.as_str());
            let queued = t.record_outbox.get(id)?.map(|v| v.value());
            if queued == Some(*version) {
                t.record_outbox.remove(id)?;
            }
        }
        Ok(())
    }
}

impl Index {
    /// Up to `limit` changes waiting for publication, each with the current state of its
    /// bucket or object, all read from one snapshot.
    pub fn pending_records(&self, limit: usize) -> Result<Vec<JournalEntry>, IndexError> {
        let txn = self.read()?;
        let outbox = txn.open_table(RECORD_OUTBOX)?;
        let buckets = txn.open_table(BUCKETS)?;
        let objects = txn.open_table(OBJECTS)?;
        let manifests = txn.open_table(MANIFESTS)?;
        let mut out = Vec::new();
        for entry in outbox.range(..)?.take(limit) {
            let (id, version) = entry?;
            let (kind, bucket, key) = id.value();
            let kind = RecordKind::from_u8(kind)
                .ok_or_else(|| IndexError::Corrupt(format!("journal entry of kind {kind}")))?;
            let state = match kind {
                RecordKind::Bucket => match buckets.get(bucket)? {
                    Some(v) => {
                        JournalState::Bucket(decode(format_args!("bucket {bucket}"), v.value())?)
                    }
                    None => JournalState::Deleted,
                },
                RecordKind::Object => match load_object(&objects, &manifests, bucket, key)? {
                    Some((record, manifest)) => JournalState::Object(Box::new(record), manifest),
                    None => JournalState::Deleted,
                },
            };
            out.push(JournalEntry {
                kind,
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                version: version.value(),
                state,
            });
        }
        Ok(out)
    }

    /// Drops published changes from the outbox, each only if no newer change of the same bucket
    /// or key has been queued since (that one still needs publishing).
    pub fn records_published(
        &self,
        done: &[(RecordKind, String, String, u64)],
    ) -> Result<(), IndexError> {
        // Joins the object writes' shared transaction: under load, a round of publication
        // then costs no commit of its own.
        self.write_batched(OutboxCleanup {
            done: done.to_vec(),
        })
    }

    /// Changes not yet copied to the nodes.
    pub fn pending_record_count(&self) -> Result<u64, IndexError> {
        let txn = self.read()?;
        txn.open_table(RECORD_OUTBOX)?.len()
    }

    /// Keys of the nodes marked draining.
    pub fn draining_nodes(&self) -> Result<Vec<String>, IndexError> {
        let txn = self.read()?;
        let states = txn.open_table(NODE_STATES)?;
        let mut out = Vec::new();
        for entry in states.range(..)? {
            let (key, state) = entry?;
            if state.value() == 1 {
                out.push(key.value().to_owned());
            }
        }
        Ok(out)
    }

    /// Marks node `key` draining, or active again.
    pub fn set_node_draining(&self, key: &str, draining: bool) -> Result<(), IndexError> {
        self.write(|t| {
            if draining {
                t.node_states.insert(key, 1)?;
            } else {
                t.node_states.remove(key)?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::index::testkit::*;

    fn pending(index: &Index) -> Vec<(RecordKind, String, String, u64)> {
        index
            .pending_records(100)
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, e.bucket, e.key, e.version))
            .collect()
    }

    #[test]
    fn every_change_is_queued_once_per_key_with_rising_versions() {
        let (_dir, index) = index_with_bucket();
        index
            .put_object("b", "k", &object_record("1"), &manifest(&[1]), always)
            .unwrap();
        index
            .put_object("b", "k", &object_record("2"), &manifest(&[2]), always)
            .unwrap();
        let queued = pending(&index);
        assert_eq!(queued.len(), 2, "{queued:?}");
        assert_eq!(queued[0].0, RecordKind::Bucket);
        assert!(queued[1].3 > queued[0].3);
        let entries = index.pending_records(10).unwrap();
        assert_eq!(
            entries[1].state,
            JournalState::Object(Box::new(object_record("2")), manifest(&[2]))
        );

        // Publishing an old version leaves a newer change queued.
        let old = queued[1].clone();
        index.delete_object("b", "k").unwrap();
        index.records_published(&[old]).unwrap();
        let entries = index.pending_records(10).unwrap();
        assert_eq!(entries[1].state, JournalState::Deleted);
        index.records_published(&pending(&index)).unwrap();
        assert_eq!(index.pending_record_count().unwrap(), 0);
    }

    #[test]
    fn drain_flags_persist() {
        let (_dir, index) = temp_index();
        assert!(index.draining_nodes().unwrap().is_empty());
        index.set_node_draining("http://n3", true).unwrap();
        assert_eq!(index.draining_nodes().unwrap(), ["http://n3"]);
        index.set_node_draining("http://n3", false).unwrap();
        assert!(index.draining_nodes().unwrap().is_empty());
    }
}
