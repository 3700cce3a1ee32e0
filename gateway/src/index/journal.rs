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
//! Versions (see `chain`): a bucket's null version is the key's record (kind `Object`), as an
//! unversioned bucket's objects always were; every other version is a record of its own (kind
//! `Version`, identified by its sequence number), queued in `version_outbox`. A version never
//! changes but for its tags, so a version's record is written when it is made, retagged or
//! removed.
//!
//! The same file keeps the drain flags of storage nodes (`node_states`), the other piece of
//! cluster state the index persists.

use floe_codec::Manifest;

use super::batch::BatchOp;
use super::buckets::decode_bucket;
use super::chain::ChainView;
use super::kv::bound::Source;
use super::object_entry::StoredVersion;
use super::objects::read_chain;
use super::store::{
    BUCKET_ACCESS, BUCKET_CONFIG, BUCKETS, NODE_STATES, RECORD_OUTBOX, Tables, VERSION_OUTBOX,
    decode, now_millis,
};
use super::users_journal::identity_state;
use super::versioning::{BucketSettings, MarkerRecord, VersionId, VersionStamp};
use super::{BucketRecord, Index, IndexError, KeyRecord, ObjectRecord, UserRecord};

/// Key in `meta` of the last version handed out.
pub(super) const LAST_VERSION: &str = "record_version";

/// What a journal entry is about; the number is its key in the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    Bucket = 0,
    /// A key's null version.
    Object = 1,
    /// A key's version other than null.
    Version = 2,
    /// A user, access key or stored policy (`users_journal`); the bucket is empty.
    Identity = 3,
}

impl RecordKind {
    fn from_u8(value: u8) -> Option<Self> {
        match value {
            0 => Some(Self::Bucket),
            1 => Some(Self::Object),
            2 => Some(Self::Version),
            3 => Some(Self::Identity),
            _ => None,
        }
    }
}

/// The state a journal entry publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalState {
    Bucket(BucketRecord, BucketSettings),
    /// Boxed: records are large, and most entries are small.
    Object(VersionStamp, Box<ObjectRecord>, Manifest),
    Marker(VersionStamp, MarkerRecord),
    User(UserRecord),
    Key(KeyRecord),
    /// A stored policy's JSON.
    Policy(String),
    /// Deleted: published as a tombstone, so an older copy cannot bring it back.
    Deleted,
}

/// One bucket, null version or other version at one journal version. For a bucket, `key` is
/// empty; `seq` names the version of kind `Version` and is 0 for the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub kind: RecordKind,
    pub bucket: String,
    pub key: String,
    pub seq: u64,
    pub version: u64,
    pub state: JournalState,
}

/// A published change, as [`Index::records_published`] takes it back:
/// (kind, bucket, key, seq, journal version).
pub type Published = (RecordKind, String, String, u64, u64);

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
    note_at(t, kind, bucket, key, live, version)?;
    Ok(version)
}

/// [`note_change`] at a version already taken.
fn note_at(
    t: &mut Tables<'_>,
    kind: RecordKind,
    bucket: &str,
    key: &str,
    live: bool,
    version: u64,
) -> Result<(), IndexError> {
    let id = (kind as u8, bucket, key);
    if live {
        t.versions.insert(id, version)?;
    } else {
        t.versions.remove(id)?;
    }
    t.record_outbox.insert(id, version)?;
    Ok(())
}

/// Records a change of the key's version `id` (made, retagged, removed) at journal `version`.
pub(super) fn note_version(
    t: &mut Tables<'_>,
    bucket: &str,
    key: &str,
    id: VersionId,
    live: bool,
    version: u64,
) -> Result<(), IndexError> {
    match id {
        VersionId::Null => note_at(t, RecordKind::Object, bucket, key, live, version),
        VersionId::Seq(seq) => {
            t.version_outbox.insert((bucket, key, seq), version)?;
            Ok(())
        }
    }
}

/// The state to publish for the key's version `id`, read from `chain`.
fn version_state<C: Source + ?Sized>(
    chain: &ChainView<'_, '_, C>,
    bucket: &str,
    key: &str,
    id: VersionId,
) -> Result<JournalState, IndexError> {
    Ok(match chain.find(bucket, key, id)? {
        Some((place, StoredVersion::Object(stamp, record, beside))) => {
            let manifest = chain.manifest(bucket, key, place, beside)?;
            JournalState::Object(stamp, Box::new(record), manifest)
        }
        Some((_, StoredVersion::Marker(stamp, marker))) => JournalState::Marker(stamp, marker),
        None => JournalState::Deleted,
    })
}

/// Removes published changes from the outbox (see [`Index::records_published`]).
struct OutboxCleanup {
    done: Vec<Published>,
}

impl BatchOp for OutboxCleanup {
    type Output = ();

    fn check(&self, _: &Tables<'_>) -> Result<(), IndexError> {
        Ok(())
    }

    fn apply(&self, t: &mut Tables<'_>) -> Result<(), IndexError> {
        for (kind, bucket, key, seq, version) in &self.done {
            if *kind == RecordKind::Version {
                let id = (bucket.as_str(), key.as_str(), *seq);
                if t.version_outbox.get(id)?.map(|v| v.value()) == Some(*version) {
                    t.version_outbox.remove(id)?;
                }
                continue;
            }
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
        let version_outbox = txn.open_table(VERSION_OUTBOX)?;
        let buckets = txn.open_table(BUCKETS)?;
        let bucket_access = txn.open_table(BUCKET_ACCESS)?;
        let bucket_config = txn.open_table(BUCKET_CONFIG)?;
        read_chain!(txn, chain);
        let mut out = Vec::new();
        for entry in outbox.range(..)?.take(limit) {
            let (id, version) = entry?;
            let (kind, bucket, key) = id.value();
            let kind = RecordKind::from_u8(kind)
                .ok_or_else(|| IndexError::Corrupt(format!("journal entry of kind {kind}")))?;
            let state = match kind {
                RecordKind::Bucket => match buckets.get(bucket)? {
                    Some(v) => {
                        let (record, mut settings) = decode_bucket(bucket, v.value())?;
                        settings.access = bucket_access
                            .get(bucket)?
                            .map(|v| decode(format_args!("access of bucket {bucket}"), v.value()))
                            .transpose()?;
                        settings.config = bucket_config
                            .get(bucket)?
                            .map(|v| super::bucket_config::decode_config(bucket, v.value()))
                            .transpose()?;
                        JournalState::Bucket(record, settings)
                    }
                    None => JournalState::Deleted,
                },
                RecordKind::Identity => identity_state(&txn, key)?,
                RecordKind::Object => version_state(&chain, bucket, key, VersionId::Null)?,
                RecordKind::Version => {
                    return Err(IndexError::Corrupt(format!(
                        "version entry of {bucket}/{key} in the record outbox"
                    )));
                }
            };
            out.push(JournalEntry {
                kind,
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                seq: 0,
                version: version.value(),
                state,
            });
        }
        let left = limit - out.len();
        for entry in version_outbox.range(..)?.take(left) {
            let (id, version) = entry?;
            let (bucket, key, seq) = id.value();
            out.push(JournalEntry {
                kind: RecordKind::Version,
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                seq,
                version: version.value(),
                state: version_state(&chain, bucket, key, VersionId::Seq(seq))?,
            });
        }
        Ok(out)
    }

    /// Drops published changes from the outbox, each only if no newer change of the same bucket
    /// or key has been queued since (that one still needs publishing).
    pub fn records_published(&self, done: &[Published]) -> Result<(), IndexError> {
        // Joins the object writes' shared transaction: under load, a round of publication
        // then costs no commit of its own.
        self.write_batched(OutboxCleanup {
            done: done.to_vec(),
        })
    }

    /// Changes not yet copied to the nodes.
    pub fn pending_record_count(&self) -> Result<u64, IndexError> {
        let txn = self.read()?;
        Ok(txn.open_table(RECORD_OUTBOX)?.len()? + txn.open_table(VERSION_OUTBOX)?.len()?)
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

    fn pending(index: &Index) -> Vec<Published> {
        index
            .pending_records(100)
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, e.bucket, e.key, e.seq, e.version))
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
        assert!(queued[1].4 > queued[0].4);
        let entries = index.pending_records(10).unwrap();
        let JournalState::Object(stamp, record, manifest_2) = &entries[1].state else {
            panic!("{:?}", entries[1].state);
        };
        assert!(stamp.null);
        assert_eq!(
            (&**record, manifest_2),
            (&object_record("2"), &manifest(&[2]))
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
