//! Restoring the index from journal entries read back from the storage nodes (the other half
//! of `journal`): buckets, objects with their manifests, refcounts and the chunk catalog.
//!
//! An entry is applied only if it is newer than what the index already knows of its bucket or
//! key (live version, or a change still waiting in the outbox), so restoring into an index
//! that kept working meanwhile never rolls it back, and restoring twice changes nothing.

use serde::{Deserialize, Serialize};

use super::buckets::{bucket_is_empty, encode_bucket};
use super::chain::{NewVersion, insert_restored, remove_at, take_at};
use super::clock::raise_watermark;
use super::journal::{JournalEntry, JournalState, RecordKind, observe_version};
use super::lifecycle_due::{Made, schedule_write};
use super::lock::Removal;
use super::object_entry::EncodedObject;
use super::refcount::RefDelta;
use super::store::{Tables, now_millis};
use super::users_journal::restore_identity;
use super::versioning::VersionId;
use super::{BucketRecord, Index, IndexError, UnixMillis, encode_record};

/// What one call to [`Index::restore`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreCounts {
    pub buckets: u64,
    pub objects: u64,
    /// Objects and buckets removed by a newer tombstone.
    pub deleted: u64,
    /// Entries not newer than what the index holds, or deletions of what it does not hold.
    pub skipped: u64,
    /// Users, access keys and stored policies put in place or removed.
    #[serde(default)]
    pub identities: u64,
}

/// Buckets before the objects in them, bucket deletions after them.
fn phase(entry: &JournalEntry) -> u8 {
    match (entry.kind, &entry.state) {
        (RecordKind::Bucket, JournalState::Deleted) => 2,
        (RecordKind::Bucket, _) => 0,
        (RecordKind::Object | RecordKind::Version | RecordKind::Identity, _) => 1,
    }
}

/// Whether the index already knows `entry` at its version or later: its live version, or a
/// change still waiting in an outbox.
fn known(t: &Tables<'_>, entry: &JournalEntry) -> Result<bool, IndexError> {
    let (bucket, key) = (entry.bucket.as_str(), entry.key.as_str());
    let known = match entry.kind {
        RecordKind::Version => t
            .version_outbox
            .get((bucket, key, entry.seq))?
            .map(|v| v.value()),
        kind => {
            let id = (kind as u8, bucket, key);
            let live = t.versions.get(id)?.map(|v| v.value());
            let queued = t.record_outbox.get(id)?.map(|v| v.value());
            live.max(queued)
        }
    };
    Ok(known.is_some_and(|known| known >= entry.version))
}

/// Keeps an object's bucket: when its bucket's own record was lost, under a stand-in.
fn ensure_bucket(t: &mut Tables<'_>, bucket: &str, created: UnixMillis) -> Result<(), IndexError> {
    if t.buckets.get(bucket)?.is_none() {
        let stand_in = BucketRecord {
            created,
            region: String::new(),
        };
        t.buckets
            .insert(bucket, encode_record(&stand_in).as_slice())?;
    }
    Ok(())
}

fn apply(
    t: &mut Tables<'_>,
    delta: &mut RefDelta,
    entry: &JournalEntry,
    counts: &mut RestoreCounts,
) -> Result<(), IndexError> {
    let (bucket, key) = (entry.bucket.as_str(), entry.key.as_str());
    if known(t, entry)? {
        counts.skipped += 1;
        return Ok(());
    }
    // The version this entry is about, which the restored state replaces.
    let id = match entry.kind {
        RecordKind::Version => VersionId::Seq(entry.seq),
        _ => VersionId::Null,
    };
    let journal_id = (entry.kind as u8, bucket, key);
    match &entry.state {
        JournalState::Bucket(record, settings) => {
            t.buckets
                .insert(bucket, encode_bucket(record, settings).as_slice())?;
            if let Some(access) = &settings.access {
                t.bucket_access
                    .insert(bucket, encode_record(access).as_slice())?;
            } else {
                t.bucket_access.remove(bucket)?;
            }
            if let Some(config) = &settings.config {
                if config.lifecycle.is_some() {
                    // Restored rules may differ from what the engine's cursor was for.
                    super::lifecycle::rules_changed(t, bucket, config.lifecycle.as_deref())?;
                }
                t.bucket_config.insert(
                    bucket,
                    super::bucket_config::encode_config(config).as_slice(),
                )?;
            } else {
                t.bucket_config.remove(bucket)?;
            }
            t.versions.insert(journal_id, entry.version)?;
            counts.buckets += 1;
        }
        JournalState::User(_) | JournalState::Key(_) | JournalState::Policy(_) => {
            restore_identity(t, key, &entry.state)?;
            t.versions.insert(journal_id, entry.version)?;
            counts.identities += 1;
        }
        JournalState::Object(stamp, record, manifest) => {
            ensure_bucket(t, bucket, record.modified)?;
            raise_watermark(t, record.modified)?;
            take_version(t, delta, bucket, key, id)?;
            let object = EncodedObject::new(record, manifest.clone());
            insert_restored(t, delta, bucket, key, NewVersion::Object(&object, *stamp))?;
            // Its bucket's rules look at it soon: a walk queued by the bucket's record may
            // already have passed its key.
            schedule_write(t, bucket, key, now_millis(), Made::Changed)?;
            if entry.kind == RecordKind::Object {
                t.versions.insert(journal_id, entry.version)?;
            }
            counts.objects += 1;
        }
        JournalState::Marker(stamp, marker) => {
            ensure_bucket(t, bucket, marker.modified)?;
            raise_watermark(t, marker.modified)?;
            take_version(t, delta, bucket, key, id)?;
            let new = NewVersion::Marker(*stamp, marker.clone());
            insert_restored(t, delta, bucket, key, new)?;
            schedule_write(t, bucket, key, now_millis(), Made::Changed)?;
            if entry.kind == RecordKind::Object {
                t.versions.insert(journal_id, entry.version)?;
            }
            counts.objects += 1;
        }
        JournalState::Deleted => match entry.kind {
            RecordKind::Identity => {
                restore_identity(t, key, &entry.state)?;
                t.versions.remove(journal_id)?;
                counts.identities += 1;
            }
            RecordKind::Object | RecordKind::Version => {
                if t.buckets.get(bucket)?.is_some() && remove_version(t, delta, bucket, key, id)? {
                    counts.deleted += 1;
                } else {
                    counts.skipped += 1;
                }
                if entry.kind == RecordKind::Object {
                    t.versions.remove(journal_id)?;
                }
            }
            RecordKind::Bucket => {
                if t.buckets.get(bucket)?.is_some() && bucket_is_empty(t, bucket)? {
                    t.buckets.remove(bucket)?;
                    t.object_counts.remove(bucket)?;
                    t.bucket_access.remove(bucket)?;
                    t.bucket_config.remove(bucket)?;
                    t.versions.remove(journal_id)?;
                    counts.deleted += 1;
                } else {
                    counts.skipped += 1;
                }
            }
        },
    }
    observe_version(t, entry.version)?;
    if let JournalState::Object(stamp, ..) | JournalState::Marker(stamp, _) = &entry.state {
        // Version ids come from the same counter: a new one must never repeat a restored one.
        observe_version(t, stamp.seq)?;
    }
    Ok(())
}

/// Takes out the key's version `id`, if the index holds it, for its newer state to replace.
fn take_version(
    t: &mut Tables<'_>,
    delta: &mut RefDelta,
    bucket: &str,
    key: &str,
    id: VersionId,
) -> Result<(), IndexError> {
    if let Some((place, _)) = t.chain().find(bucket, key, id)? {
        take_at(t, delta, bucket, key, place)?;
    }
    Ok(())
}

/// Removes the key's version `id` if the index holds it; whether it did. A removal replayed
/// from the nodes passed the lock check when it was made, with a bypass at most: a version the
/// index holds under COMPLIANCE or a legal hold stays (keeping data is the safe misreading).
fn remove_version(
    t: &mut Tables<'_>,
    delta: &mut RefDelta,
    bucket: &str,
    key: &str,
    id: VersionId,
) -> Result<bool, IndexError> {
    let replay = Removal {
        now: now_millis(),
        bypass_governance: true,
    };
    match t.chain().find(bucket, key, id)? {
        Some((place, _)) => match remove_at(t, delta, bucket, key, place, replay) {
            Ok(removed) => Ok(removed.is_some()),
            Err(IndexError::ObjectLocked(_)) => Ok(false),
            Err(e) => Err(e),
        },
        None => Ok(false),
    }
}

impl Index {
    /// Applies `entries` (the newest known version of each bucket and key) in one transaction.
    pub fn restore(&self, entries: &[JournalEntry]) -> Result<RestoreCounts, IndexError> {
        let mut ordered: Vec<&JournalEntry> = entries.iter().collect();
        ordered.sort_by_key(|e| phase(e));
        self.write(|t| {
            let mut counts = RestoreCounts::default();
            let mut delta = RefDelta::default();
            for entry in &ordered {
                apply(t, &mut delta, entry, &mut counts)?;
            }
            delta.apply(t)?;
            Ok(counts)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::index::testkit::*;

    #[test]
    fn restore_rebuilds_objects_refcounts_and_catalog_and_is_idempotent() {
        let (_dir, source) = index_with_bucket();
        source
            .put_object("b", "keep", &object_record("1"), &manifest(&[1, 2]), always)
            .unwrap();
        source
            .put_object("b", "gone", &object_record("2"), &manifest(&[3]), always)
            .unwrap();
        source.delete_object("b", "gone").unwrap();
        let entries = source.pending_records(100).unwrap();

        let (_dir2, target) = temp_index();
        let counts = target.restore(&entries).unwrap();
        assert_eq!((counts.buckets, counts.objects, counts.deleted), (1, 1, 0));
        assert_eq!(
            target.object("b", "keep").unwrap(),
            Some(object_record("1"))
        );
        assert_eq!(target.object("b", "gone").unwrap(), None);
        assert_eq!(
            (refs(&target, 1), refs(&target, 2), refs(&target, 3)),
            (1, 1, 0)
        );
        assert_eq!(target.chunk_count().unwrap(), 2);
        assert_eq!(target.object_count("b").unwrap(), 1);
        // Nothing to publish: the nodes already hold these.
        assert_eq!(target.pending_record_count().unwrap(), 0);
        let again = target.restore(&entries).unwrap();
        assert_eq!(again.skipped, entries.len() as u64);

        // New changes after a restore get newer versions than anything restored.
        target
            .put_object("b", "new", &object_record("3"), &manifest(&[4]), always)
            .unwrap();
        let newest = target.pending_records(10).unwrap();
        let max_restored = entries.iter().map(|e| e.version).max().unwrap();
        assert!(newest.iter().all(|e| e.version > max_restored));
    }

    #[test]
    fn newer_local_state_wins_and_tombstones_delete() {
        let (_dir, index) = index_with_bucket();
        index
            .put_object("b", "k", &object_record("1"), &manifest(&[1]), always)
            .unwrap();
        let old = index.pending_records(10).unwrap();
        index
            .put_object("b", "k", &object_record("2"), &manifest(&[2]), always)
            .unwrap();
        let counts = index.restore(&old).unwrap();
        assert_eq!(counts.skipped, 2);
        assert_eq!(index.object("b", "k").unwrap(), Some(object_record("2")));

        let mut tombstone = index.pending_records(10).unwrap()[1].clone();
        tombstone.version += 1_000_000;
        tombstone.state = JournalState::Deleted;
        index.records_published(&[]).unwrap();
        let counts = index.restore(&[tombstone]).unwrap();
        assert_eq!(counts.deleted, 1);
        assert_eq!(index.object("b", "k").unwrap(), None);
        assert_eq!(refs(&index, 2), 0);
    }
}
