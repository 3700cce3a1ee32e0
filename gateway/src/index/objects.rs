//! Objects: the record and manifest of each (bucket, key), conditional replacement, deletion,
//! tags, and prefix listing.
//!
//! Record and manifest are written and removed together, and every change to the set of stored
//! manifests goes through a [`RefDelta`] so chunk refcounts move in the same transaction. Every
//! change is also noted in the journal (`journal`), for the copy of the metadata on the nodes.

use std::future::Future;
use std::ops::Bound;

use floe_codec::Manifest;

use super::batch::BatchOp;
use super::buckets::require_bucket;
use super::journal::{RecordKind, note_change};
use super::object_entry::{
    EncodedObject, decode_entry, decode_entry_record, load_object, replace_entry_record,
    separate_manifest, store_object,
};
use super::refcount::RefDelta;
use super::store::{BUCKETS, MANIFESTS, OBJECT_COUNTS, OBJECTS, Tables};
use super::{Index, IndexError, ObjectRecord, OwnedPrecondition, Precondition};

/// The current record of `bucket/key` in a write transaction.
fn current_record(
    t: &Tables<'_>,
    bucket: &str,
    key: &str,
) -> Result<Option<ObjectRecord>, IndexError> {
    t.objects
        .get((bucket, key))?
        .map(|v| decode_entry_record(bucket, key, v.value()))
        .transpose()
}

/// Adds `by` to the bucket's object count (kept so counting never scans the bucket).
fn count_objects(t: &mut Tables<'_>, bucket: &str, by: i64) -> Result<(), IndexError> {
    let old = t.object_counts.get(bucket)?.map(|v| v.value()).unwrap_or(0);
    t.object_counts
        .insert(bucket, old.saturating_add_signed(by))?;
    Ok(())
}

/// Replaces `bucket/key` with `object` if `precondition` holds on the current record, noting
/// the refcount changes in `delta`. Shared by PUT, multipart completion and the index rebuild.
/// The caller has checked the bucket exists.
pub(super) fn replace_object(
    t: &mut Tables<'_>,
    delta: &mut RefDelta,
    bucket: &str,
    key: &str,
    object: &EncodedObject,
    precondition: Precondition<'_>,
) -> Result<Option<ObjectRecord>, IndexError> {
    let previous = t
        .objects
        .get((bucket, key))?
        .map(|v| decode_entry(bucket, key, v.value()))
        .transpose()?;
    if !precondition(previous.as_ref().map(|(record, _)| record)) {
        return Err(IndexError::PreconditionFailed);
    }
    let had_separate_manifest = match &previous {
        Some((_, Some(beside))) => {
            delta.remove(beside);
            false
        }
        Some((_, None)) => {
            delta.remove(&separate_manifest(&t.manifests, bucket, key)?);
            true
        }
        None => {
            count_objects(t, bucket, 1)?;
            false
        }
    };
    delta.add(&object.manifest);
    store_object(
        &mut t.objects,
        &mut t.manifests,
        bucket,
        key,
        object,
        had_separate_manifest,
    )?;
    Ok(previous.map(|(record, _)| record))
}

/// Removes `bucket/key` (record and manifest), noting its chunks' release in `delta`; `None`
/// if there is no such object.
pub(super) fn remove_object(
    t: &mut Tables<'_>,
    delta: &mut RefDelta,
    bucket: &str,
    key: &str,
) -> Result<Option<ObjectRecord>, IndexError> {
    let Some(stored) = t.objects.remove((bucket, key))? else {
        return Ok(None);
    };
    let (previous, beside) = decode_entry(bucket, key, stored.value())?;
    drop(stored);
    let manifest = match beside {
        Some(manifest) => manifest,
        None => {
            let manifest = separate_manifest(&t.manifests, bucket, key)?;
            t.manifests.remove((bucket, key))?;
            manifest
        }
    };
    delta.remove(&manifest);
    count_objects(t, bucket, -1)?;
    Ok(Some(previous))
}

/// Whatever a write must keep alive until it has settled, committed or not, even if its caller
/// stopped waiting: for a PUT, the blob layer's pins on its new chunks, which must outlive the
/// commit that references them (else the collector could delete a chunk the commit then
/// references). The index only holds it; what it is belongs to the layer that made it.
pub struct HeldUntilSettled {
    /// Never read: held for its `Drop`.
    _held: Box<dyn Send>,
    /// The deletion number taken before the write sent its shards (see `deletion`), when
    /// several gateways share the index.
    written_after: Option<u64>,
}

impl HeldUntilSettled {
    pub fn new(held: impl Send + 'static) -> Self {
        Self {
            _held: Box::new(held),
            written_after: None,
        }
    }

    /// The write's shards went out after deletion number `epoch` ([`Index::deletion_epoch`]).
    pub fn written_after(mut self, epoch: Option<u64>) -> Self {
        self.written_after = epoch;
        self
    }
}

/// A PUT, owned so that it can run on the index's writer thread.
struct PutObject {
    bucket: String,
    key: String,
    object: EncodedObject,
    precondition: OwnedPrecondition,
    /// Dropped only once the write has settled (see [`HeldUntilSettled`]).
    _hold: Option<HeldUntilSettled>,
}

impl BatchOp for PutObject {
    type Output = Option<ObjectRecord>;

    fn check(&self, t: &Tables<'_>) -> Result<(), IndexError> {
        require_bucket(&t.buckets, &self.bucket)?;
        let current = current_record(t, &self.bucket, &self.key)?;
        match (self.precondition)(current.as_ref()) {
            true => Ok(()),
            false => Err(IndexError::PreconditionFailed),
        }
    }

    fn apply(&self, t: &mut Tables<'_>) -> Result<Self::Output, IndexError> {
        let (bucket, key) = (self.bucket.as_str(), self.key.as_str());
        let mut delta = RefDelta::written_after(self._hold.as_ref().and_then(|h| h.written_after));
        let previous =
            replace_object(t, &mut delta, bucket, key, &self.object, &self.precondition)?;
        note_change(t, RecordKind::Object, bucket, key, true)?;
        delta.apply(t)?;
        Ok(previous)
    }
}

/// A DELETE, owned so that it can run on the index's writer thread.
struct DeleteObject {
    bucket: String,
    key: String,
}

impl BatchOp for DeleteObject {
    type Output = Option<ObjectRecord>;

    fn check(&self, t: &Tables<'_>) -> Result<(), IndexError> {
        require_bucket(&t.buckets, &self.bucket)
    }

    fn apply(&self, t: &mut Tables<'_>) -> Result<Self::Output, IndexError> {
        let mut delta = RefDelta::default();
        let previous = remove_object(t, &mut delta, &self.bucket, &self.key)?;
        if previous.is_some() {
            note_change(t, RecordKind::Object, &self.bucket, &self.key, false)?;
        }
        delta.apply(t)?;
        Ok(previous)
    }
}

impl Index {
    /// The record of `bucket/key`, or `None`; `NoSuchBucket` if the bucket is absent.
    pub fn object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>, IndexError> {
        let txn = self.read()?;
        require_bucket(&txn.open_table(BUCKETS)?, bucket)?;
        let objects = txn.open_table(OBJECTS)?;
        let stored = objects.get((bucket, key))?;
        stored
            .map(|v| decode_entry_record(bucket, key, v.value()))
            .transpose()
    }

    /// Record and manifest read from one snapshot, so a concurrent overwrite can never pair one
    /// version's record with another's bytes.
    pub fn object_with_manifest(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<(ObjectRecord, Manifest)>, IndexError> {
        let txn = self.read()?;
        require_bucket(&txn.open_table(BUCKETS)?, bucket)?;
        let objects = txn.open_table(OBJECTS)?;
        let manifests = txn.open_table(MANIFESTS)?;
        load_object(&objects, &manifests, bucket, key)
    }

    /// Stores `bucket/key` atomically with its refcounts if `precondition` holds on the current
    /// record (else `PreconditionFailed`, nothing written). Returns the replaced record.
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        record: &ObjectRecord,
        manifest: &Manifest,
        precondition: impl Fn(Option<&ObjectRecord>) -> bool + Send + Sync + 'static,
    ) -> Result<Option<ObjectRecord>, IndexError> {
        self.write_batched(PutObject {
            bucket: bucket.into(),
            key: key.into(),
            object: EncodedObject::new(record, manifest.clone()),
            precondition: Box::new(precondition),
            _hold: None,
        })
    }

    /// [`Index::put_object`] for a write whose shards went out after deletion number `epoch`.
    pub fn put_object_written_after(
        &self,
        bucket: &str,
        key: &str,
        record: &ObjectRecord,
        manifest: &Manifest,
        epoch: u64,
    ) -> Result<Option<ObjectRecord>, IndexError> {
        self.write_batched(PutObject {
            bucket: bucket.into(),
            key: key.into(),
            object: EncodedObject::new(record, manifest.clone()),
            precondition: Box::new(|_| true),
            _hold: Some(HeldUntilSettled::new(()).written_after(Some(epoch))),
        })
    }

    /// [`Index::put_object`] for async callers: waits for the writer thread without holding a
    /// blocking thread. `hold` is dropped only once the write has settled, even if the returned
    /// future is dropped first (a client that went away).
    pub fn put_object_async(
        &self,
        bucket: String,
        key: String,
        (record, manifest): (ObjectRecord, Manifest),
        precondition: impl Fn(Option<&ObjectRecord>) -> bool + Send + Sync + 'static,
        hold: Option<HeldUntilSettled>,
    ) -> impl Future<Output = Result<Option<ObjectRecord>, IndexError>> + Send + 'static {
        // Encoded here, on the caller's task, not on the writer thread (see `EncodedObject`).
        let object = EncodedObject::new(&record, manifest);
        self.write_batched_async(PutObject {
            bucket,
            key,
            object,
            precondition: Box::new(precondition),
            _hold: hold,
        })
    }

    /// Removes `bucket/key` and releases its chunks. `Ok(None)` if there was no such object, as
    /// S3 deletes are idempotent.
    pub fn delete_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<ObjectRecord>, IndexError> {
        self.write_batched(DeleteObject {
            bucket: bucket.into(),
            key: key.into(),
        })
    }

    /// [`Index::delete_object`] for async callers.
    pub fn delete_object_async(
        &self,
        bucket: String,
        key: String,
    ) -> impl Future<Output = Result<Option<ObjectRecord>, IndexError>> + Send + 'static {
        self.write_batched_async(DeleteObject { bucket, key })
    }

    /// Replaces the tags of an existing object; `NoSuchKey` if there is none.
    pub fn set_tags(
        &self,
        bucket: &str,
        key: &str,
        tags: Vec<(String, String)>,
    ) -> Result<(), IndexError> {
        self.write(|t| {
            require_bucket(&t.buckets, bucket)?;
            let stored = t.objects.get((bucket, key))?.ok_or(IndexError::NoSuchKey)?;
            let mut record = decode_entry_record(bucket, key, stored.value())?;
            record.tags = tags.clone();
            // The manifest after the record, if any, is kept byte for byte.
            let value = replace_entry_record(bucket, key, stored.value(), &record)?;
            drop(stored);
            t.objects.insert((bucket, key), value.as_slice())?;
            note_change(t, RecordKind::Object, bucket, key, true)?;
            Ok(())
        })
    }

    /// Objects of `bucket` whose key starts with `prefix` and sorts strictly after `after`, in
    /// byte order, at most `limit`. One range scan: starts at the later of `prefix` and `after`
    /// and stops at the first key outside the prefix, since keys sharing a prefix are contiguous
    /// in byte order.
    pub fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, ObjectRecord)>, IndexError> {
        let txn = self.read()?;
        require_bucket(&txn.open_table(BUCKETS)?, bucket)?;
        let objects = txn.open_table(OBJECTS)?;
        let start = match after {
            Some(after) if after >= prefix => Bound::Excluded((bucket, after)),
            _ => Bound::Included((bucket, prefix)),
        };
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        for entry in objects.range((start, Bound::Unbounded))? {
            let (k, v) = entry?;
            let (b, key) = k.value();
            if b != bucket || !key.starts_with(prefix) {
                break;
            }
            out.push((key.to_owned(), decode_entry_record(bucket, key, v.value())?));
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    /// Number of objects in `bucket`; `NoSuchBucket` if it is absent.
    pub fn object_count(&self, bucket: &str) -> Result<u64, IndexError> {
        let txn = self.read()?;
        require_bucket(&txn.open_table(BUCKETS)?, bucket)?;
        let counts = txn.open_table(OBJECT_COUNTS)?;
        let count = counts.get(bucket)?.map(|v| v.value()).unwrap_or(0);
        Ok(count)
    }
}

#[cfg(test)]
mod tests;
