//! Objects: the record and manifest of each (bucket, key), conditional replacement, deletion,
//! tags and locks (prefix listing is in `object_list`).
//!
//! Record and manifest are written and removed together, and every change to the set of stored
//! manifests goes through a [`RefDelta`] so chunk refcounts move in the same transaction. Every
//! change is also noted in the journal (`journal`), for the copy of the metadata on the nodes.

use std::future::Future;

use floe_codec::Manifest;

use super::batch::BatchOp;
use super::buckets::{bucket_settings, require_bucket};
use super::chain::{NewVersion, Place, count_objects, push, rank, remove_at, remove_null};
use super::journal::{RecordKind, next_version, note_change, note_version};
use super::lifecycle_due::{Made, clock as lifecycle_clock, expiring_rules, schedule_write};
use super::lifecycle_rules::current_expiry;
use super::lock::{LockChange, ObjectLock, Removal};
use super::object_entry::{
    EncodedObject, StoredVersion, decode_entry, decode_entry_record, load_object,
    replace_entry_record, restamp, separate_manifest, store_object,
};
use super::refcount::RefDelta;
use super::store::{BUCKET_CONFIG, BUCKETS, MANIFESTS, META, OBJECTS, Tables, now_millis};
use super::versioning::{MarkerRecord, VersionId, VersionStamp, Versioning};
use super::{Index, IndexError, ObjectRecord, OwnedPrecondition, Precondition, UnixMillis};

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

/// Replaces the current object of `bucket/key`, which is its null version or absent, with
/// `object` as the null version `stamp`, if `precondition` holds on the current record; the
/// refcount changes go to `delta`. The write of an unversioned bucket, and of a suspended one
/// whose current object is null. The caller has checked the bucket exists.
pub(super) fn replace_object(
    t: &mut Tables<'_>,
    delta: &mut RefDelta,
    bucket: &str,
    key: &str,
    object: &EncodedObject,
    stamp: VersionStamp,
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
        &object.stamped(stamp),
        object.separate.as_deref(),
        had_separate_manifest,
    )?;
    Ok(previous.map(|(record, _)| record))
}

/// Removes the current object of `bucket/key` (record and manifest), noting its chunks'
/// release in `delta`; `None` if there is none. The delete of an unversioned bucket, whose
/// keys have no other versions.
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

/// What a write of an object made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The current object it replaced (as a version, or for good).
    pub previous: Option<ObjectRecord>,
    /// The new version's id: `null` unless the bucket's versioning is enabled.
    pub version: VersionId,
    /// Whether the bucket has ever been versioned (S3 then reports even a null version's id).
    pub versioned: bool,
    /// When a lifecycle rule expires the new version, and the rule's id (`x-amz-expiration`).
    pub expiration: Option<(UnixMillis, String)>,
}

impl Written {
    /// The id S3 reports in `x-amz-version-id`: none for an unversioned bucket.
    pub fn reported_version(&self) -> Option<String> {
        (self.versioned || self.version != VersionId::Null).then(|| self.version.to_string())
    }
}

/// Writes `object` as the newest version of `bucket/key`, as the bucket's versioning says:
/// replacing the null version (unversioned, suspended) or on top of the others (enabled).
/// The version gets the lock `asked` (`None`: its request had no lock headers) with the
/// bucket's default retention when it asked for none; asking on a bucket without object lock
/// is `LockNotEnabled`. `precondition` sees the current object. Shared by PUT, copy and
/// multipart completion.
pub(super) fn write_object(
    t: &mut Tables<'_>,
    delta: &mut RefDelta,
    bucket: &str,
    key: &str,
    object: &EncodedObject,
    asked: Option<ObjectLock>,
    precondition: Precondition<'_>,
) -> Result<Written, IndexError> {
    let settings = bucket_settings(&t.buckets, bucket)?;
    let versioning = settings.versioning;
    let now = now_millis();
    let lock = match (&settings.lock, asked) {
        (None, Some(_)) => return Err(IndexError::LockNotEnabled),
        (None, None) => ObjectLock::NONE,
        (Some(bucket_lock), asked) => bucket_lock.lock_for(asked.unwrap_or_default(), now),
    };
    let seq = next_version(t)?;
    let stamp = VersionStamp {
        lock,
        ..VersionStamp::new(seq, versioning != Versioning::Enabled)
    };
    // Only a plain write replaces a version: never one its lock protects.
    let removal = Removal {
        now,
        bypass_governance: false,
    };
    let current = t.chain().current(bucket, key)?;
    // In place when what is current is the null version this write replaces anyway.
    let in_place = match versioning {
        Versioning::Unversioned => true,
        Versioning::Suspended => current.as_ref().is_some_and(|c| c.stamp().null),
        Versioning::Enabled => false,
    };
    let previous = if in_place {
        if let Some(current) = &current {
            removal.check(&current.stamp().lock)?;
        }
        replace_object(t, delta, bucket, key, object, stamp, precondition)?
    } else {
        let previous = match current {
            Some(StoredVersion::Object(_, record, _)) => Some(record),
            _ => None,
        };
        if !precondition(previous.as_ref()) {
            return Err(IndexError::PreconditionFailed);
        }
        if stamp.null {
            remove_null(t, delta, bucket, key, removal)?;
        }
        push(t, delta, bucket, key, NewVersion::Object(object, stamp))?;
        previous
    };
    note_version(t, bucket, key, stamp.id(), true, seq)?;
    let expiration = schedule_write(t, bucket, key, now, Made::Object(object.facts()))?;
    Ok(Written {
        previous,
        version: stamp.id(),
        versioned: versioning != Versioning::Unversioned,
        expiration,
    })
}

/// What a DELETE did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    /// The version removed or, with `marker`, the delete marker made or removed.
    pub version: Option<VersionId>,
    /// Whether `version` is a delete marker.
    pub marker: bool,
    /// The record of the object version removed for good, if one was.
    pub record: Option<ObjectRecord>,
}

/// Deletes `bucket/key` as S3 does: without `version`, the current object goes (unversioned) or
/// a delete marker goes on top (versioned); with it, that version goes for good.
/// `precondition` sees the object version that would go (none for a marker).
pub(super) fn delete_version(
    t: &mut Tables<'_>,
    delta: &mut RefDelta,
    bucket: &str,
    key: &str,
    version: Option<VersionId>,
    precondition: Option<Precondition<'_>>,
    removal: Removal,
) -> Result<Removed, IndexError> {
    let versioning = bucket_settings(&t.buckets, bucket)?.versioning;
    let allowed = |record: Option<&ObjectRecord>| precondition.is_none_or(|p| p(record));
    if let Some(id) = version {
        let Some((place, found)) = t.chain().find(bucket, key, id)? else {
            if !allowed(None) {
                return Err(IndexError::PreconditionFailed);
            }
            return Ok(Removed {
                version: Some(id),
                ..Removed::default()
            });
        };
        let record = match &found {
            StoredVersion::Object(_, record, _) => Some(record),
            StoredVersion::Marker(..) => None,
        };
        if !allowed(record) {
            return Err(IndexError::PreconditionFailed);
        }
        remove_at(t, delta, bucket, key, place, removal)?;
        let journal = next_version(t)?;
        note_version(t, bucket, key, id, false, journal)?;
        schedule_write(t, bucket, key, removal.now, Made::Changed)?;
        return Ok(removed(id, found));
    }
    if versioning == Versioning::Unversioned {
        if !allowed(current_record(t, bucket, key)?.as_ref()) {
            return Err(IndexError::PreconditionFailed);
        }
        // Only a lock bucket (always versioned) can lock a version; but a bucket restored
        // from a damaged record is a stand-in without settings, and its versions keep theirs.
        if let Some(current) = t.chain().current(bucket, key)? {
            removal.check(&current.stamp().lock)?;
        }
        let record = remove_object(t, delta, bucket, key)?;
        if record.is_some() {
            note_change(t, RecordKind::Object, bucket, key, false)?;
        }
        return Ok(Removed {
            record,
            ..Removed::default()
        });
    }
    if !allowed(current_record(t, bucket, key)?.as_ref()) {
        return Err(IndexError::PreconditionFailed);
    }
    let seq = next_version(t)?;
    // Delete markers are never locked.
    let stamp = VersionStamp::new(seq, versioning == Versioning::Suspended);
    let mut outcome = Removed {
        version: Some(stamp.id()),
        marker: true,
        record: None,
    };
    if stamp.null
        && let Some(StoredVersion::Object(_, record, _)) =
            remove_null(t, delta, bucket, key, removal)?
    {
        outcome.record = Some(record);
    }
    let marker = MarkerRecord {
        modified: removal.now,
    };
    push(t, delta, bucket, key, NewVersion::Marker(stamp, marker))?;
    note_version(t, bucket, key, stamp.id(), true, seq)?;
    schedule_write(t, bucket, key, removal.now, Made::Marker)?;
    Ok(outcome)
}

fn removed(id: VersionId, found: StoredVersion) -> Removed {
    match found {
        StoredVersion::Object(_, record, _) => Removed {
            version: Some(id),
            marker: false,
            record: Some(record),
        },
        StoredVersion::Marker(..) => Removed {
            version: Some(id),
            marker: true,
            record: None,
        },
    }
}

/// A version a read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundVersion {
    pub version: Version,
    /// The object version's manifest, when asked for.
    pub manifest: Option<Manifest>,
    /// Whether the bucket has ever been versioned (S3 then reports even the null version's id).
    pub versioned: bool,
    /// For the current object: when a lifecycle rule expires it, and the rule's id.
    pub expiration: Option<(UnixMillis, String)>,
}

/// One version of a key as readers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
// Markers are the rare case: boxing the object variant would cost every listed version an
// allocation.
#[allow(clippy::large_enum_variant)]
pub enum Version {
    Object(VersionStamp, ObjectRecord),
    Marker(VersionStamp, MarkerRecord),
}

impl Version {
    pub fn stamp(&self) -> VersionStamp {
        match self {
            Self::Object(stamp, _) | Self::Marker(stamp, _) => *stamp,
        }
    }
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
    /// The lock its request asked for.
    lock: Option<ObjectLock>,
    precondition: OwnedPrecondition,
    /// Dropped only once the write has settled (see [`HeldUntilSettled`]).
    _hold: Option<HeldUntilSettled>,
}

impl BatchOp for PutObject {
    type Output = Written;

    fn check(&self, t: &Tables<'_>) -> Result<(), IndexError> {
        // Refusals found here leave the batch's other writes alone (see `batch`); `apply`
        // decides again inside the transaction.
        // Only a write asking for a lock needs the settings decoded; the others (every plain
        // PUT) only need the bucket to exist.
        match self.lock {
            Some(_) if bucket_settings(&t.buckets, &self.bucket)?.lock.is_none() => {
                return Err(IndexError::LockNotEnabled);
            }
            Some(_) => {}
            None => require_bucket(&t.buckets, &self.bucket)?,
        }
        let current = current_record(t, &self.bucket, &self.key)?;
        match (self.precondition)(current.as_ref()) {
            true => Ok(()),
            false => Err(IndexError::PreconditionFailed),
        }
    }

    fn apply(&self, t: &mut Tables<'_>) -> Result<Self::Output, IndexError> {
        let (bucket, key) = (self.bucket.as_str(), self.key.as_str());
        let mut delta = RefDelta::written_after(self._hold.as_ref().and_then(|h| h.written_after));
        let written = write_object(
            t,
            &mut delta,
            bucket,
            key,
            &self.object,
            self.lock,
            &self.precondition,
        )?;
        delta.apply(t)?;
        Ok(written)
    }
}

/// A DELETE, owned so that it can run on the index's writer thread.
struct DeleteObject {
    bucket: String,
    key: String,
    version: Option<VersionId>,
    precondition: Option<OwnedPrecondition>,
    bypass_governance: bool,
}

impl BatchOp for DeleteObject {
    type Output = Removed;

    fn check(&self, t: &Tables<'_>) -> Result<(), IndexError> {
        require_bucket(&t.buckets, &self.bucket)?;
        // A protected version is refused before the batch's transaction, so a stream of
        // refused deletes never rolls back the writes that share it (see `batch`).
        if let Some(id) = self.version
            && let Some((_, found)) = t.chain().find(&self.bucket, &self.key, id)?
        {
            let removal = Removal {
                now: now_millis(),
                bypass_governance: self.bypass_governance,
            };
            removal.check(&found.stamp().lock)?;
        }
        Ok(())
    }

    fn apply(&self, t: &mut Tables<'_>) -> Result<Self::Output, IndexError> {
        let mut delta = RefDelta::default();
        let precondition = self.precondition.as_deref().map(|p| p as Precondition<'_>);
        let removed = delete_version(
            t,
            &mut delta,
            &self.bucket,
            &self.key,
            self.version,
            precondition,
            Removal {
                now: now_millis(),
                bypass_governance: self.bypass_governance,
            },
        )?;
        delta.apply(t)?;
        Ok(removed)
    }
}

/// Where the object version `id` of `bucket/key` (without `id`: the current object) sits, its
/// stamp and its stored value; for changes of its tags or lock.
fn object_version_value(
    t: &Tables<'_>,
    bucket: &str,
    key: &str,
    id: Option<VersionId>,
) -> Result<(Place, VersionStamp, Vec<u8>), IndexError> {
    let (place, stamp) = match id {
        None => match t.chain().current(bucket, key)? {
            Some(current) => (Place::Current, current.stamp()),
            None => return Err(IndexError::NoSuchKey),
        },
        Some(id) => match t.chain().find(bucket, key, id)? {
            Some((place, StoredVersion::Object(stamp, ..))) => (place, stamp),
            Some((_, StoredVersion::Marker(..))) => return Err(IndexError::IsDeleteMarker),
            None => return Err(IndexError::NoSuchVersion),
        },
    };
    let stored = match place {
        Place::Current => t.objects.get((bucket, key))?,
        Place::Noncurrent(seq) => t.object_versions.get((bucket, key, rank(seq)))?,
    }
    .ok_or(IndexError::NoSuchKey)?;
    Ok((place, stamp, stored.value().to_vec()))
}

/// Stores the changed `value` of the version at `place` and journals it, so the node copy of
/// the version follows.
fn store_version_value(
    t: &mut Tables<'_>,
    bucket: &str,
    key: &str,
    place: Place,
    stamp: VersionStamp,
    value: &[u8],
) -> Result<(), IndexError> {
    match place {
        Place::Current => t.objects.insert((bucket, key), value)?,
        Place::Noncurrent(seq) => t.object_versions.insert((bucket, key, rank(seq)), value)?,
    }
    let journal = next_version(t)?;
    note_version(t, bucket, key, stamp.id(), true, journal)
}

/// Opens the chain's tables of a read snapshot as `$chain`.
macro_rules! read_chain {
    ($txn:expr, $chain:ident) => {
        let objects = $txn.open_table($crate::index::store::OBJECTS)?;
        let manifests = $txn.open_table($crate::index::store::MANIFESTS)?;
        let versions = $txn.open_table($crate::index::store::OBJECT_VERSIONS)?;
        let version_manifests = $txn.open_table($crate::index::store::VERSION_MANIFESTS)?;
        let null_versions = $txn.open_table($crate::index::store::NULL_VERSIONS)?;
        let $chain = super::chain::ChainView {
            objects: &objects,
            manifests: &manifests,
            versions: &versions,
            version_manifests: &version_manifests,
            null_versions: &null_versions,
        };
    };
}
pub(super) use read_chain;

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

    /// The version `id` of `bucket/key` (without `id`: its newest version, object or marker),
    /// with the manifest of an object version when `with_manifest`; all from one snapshot.
    pub fn object_version(
        &self,
        bucket: &str,
        key: &str,
        id: Option<VersionId>,
        with_manifest: bool,
    ) -> Result<Option<FoundVersion>, IndexError> {
        let txn = self.read()?;
        let versioning = bucket_settings(&txn.open_table(BUCKETS)?, bucket)?.versioning;
        read_chain!(txn, chain);
        let found = match id {
            Some(id) => chain.find(bucket, key, id)?,
            None => chain.latest(bucket, key)?,
        };
        let Some((place, found)) = found else {
            return Ok(None);
        };
        let mut expiration = None;
        let (version, manifest) = match found {
            StoredVersion::Object(stamp, record, beside) => {
                let manifest = match with_manifest {
                    true => Some(chain.manifest(bucket, key, place, beside)?),
                    false => None,
                };
                if place == Place::Current
                    && let Some(rules) = expiring_rules(&txn.open_table(BUCKET_CONFIG)?, bucket)?
                {
                    let clock = lifecycle_clock(&txn.open_table(META)?)?;
                    expiration = current_expiry(&rules, key, (&record).into(), clock)
                        .map(|(at, rule)| (at, rule.to_owned()));
                }
                (Version::Object(stamp, record), manifest)
            }
            StoredVersion::Marker(stamp, marker) => (Version::Marker(stamp, marker), None),
        };
        Ok(Some(FoundVersion {
            version,
            manifest,
            versioned: versioning != Versioning::Unversioned,
            expiration,
        }))
    }

    /// Stores `bucket/key` atomically with its refcounts if `precondition` holds on the current
    /// record (else `PreconditionFailed`, nothing written).
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        record: &ObjectRecord,
        manifest: &Manifest,
        precondition: impl Fn(Option<&ObjectRecord>) -> bool + Send + Sync + 'static,
    ) -> Result<Written, IndexError> {
        self.write_batched(PutObject {
            bucket: bucket.into(),
            key: key.into(),
            object: EncodedObject::new(record, manifest.clone()),
            lock: None,
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
    ) -> Result<Written, IndexError> {
        self.write_batched(PutObject {
            bucket: bucket.into(),
            key: key.into(),
            object: EncodedObject::new(record, manifest.clone()),
            lock: None,
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
        (record, manifest, lock): (ObjectRecord, Manifest, Option<ObjectLock>),
        precondition: impl Fn(Option<&ObjectRecord>) -> bool + Send + Sync + 'static,
        hold: Option<HeldUntilSettled>,
    ) -> impl Future<Output = Result<Written, IndexError>> + Send + 'static {
        // Encoded here, on the caller's task, not on the writer thread (see `EncodedObject`).
        let object = EncodedObject::new(&record, manifest);
        self.write_batched_async(PutObject {
            bucket,
            key,
            object,
            lock,
            precondition: Box::new(precondition),
            _hold: hold,
        })
    }

    /// Deletes `bucket/key` as its bucket's versioning says (see [`Removed`]) and releases
    /// the chunks of what goes for good. Deleting what is not there succeeds, as in S3.
    pub fn delete_object(&self, bucket: &str, key: &str) -> Result<Removed, IndexError> {
        self.write_batched(DeleteObject {
            bucket: bucket.into(),
            key: key.into(),
            version: None,
            precondition: None,
            bypass_governance: false,
        })
    }

    /// Removes version `id` of `bucket/key` for good, as its lock allows (GOVERNANCE only with
    /// `bypass_governance`): the admin API's removal, judged like any other.
    pub fn delete_version(
        &self,
        bucket: &str,
        key: &str,
        id: VersionId,
        bypass_governance: bool,
    ) -> Result<Removed, IndexError> {
        self.write_batched(DeleteObject {
            bucket: bucket.into(),
            key: key.into(),
            version: Some(id),
            precondition: None,
            bypass_governance,
        })
    }

    /// Deletes version `version` of `bucket/key` (or, without it, as [`Index::delete_object`])
    /// if `precondition` holds on the object version that would go and its lock allows it
    /// (GOVERNANCE only with `bypass_governance`); for async callers.
    pub fn delete_object_async(
        &self,
        bucket: String,
        key: String,
        version: Option<VersionId>,
        precondition: Option<OwnedPrecondition>,
        bypass_governance: bool,
    ) -> impl Future<Output = Result<Removed, IndexError>> + Send + 'static {
        self.write_batched_async(DeleteObject {
            bucket,
            key,
            version,
            precondition,
            bypass_governance,
        })
    }

    /// Replaces the tags of an existing object version (without `id`, the current object);
    /// `NoSuchKey` if there is none, `NoSuchVersion` if `id` names none.
    pub fn set_tags(
        &self,
        bucket: &str,
        key: &str,
        id: Option<VersionId>,
        tags: Vec<(String, String)>,
    ) -> Result<(), IndexError> {
        self.write(|t| {
            require_bucket(&t.buckets, bucket)?;
            let (place, stamp, value) = object_version_value(t, bucket, key, id)?;
            let mut record = decode_entry_record(bucket, key, &value)?;
            record.tags = tags.clone();
            // The stamp before the record and the manifest after it are kept byte for byte.
            let value = replace_entry_record(bucket, key, &value, &record)?;
            store_version_value(t, bucket, key, place, stamp, &value)?;
            // Rules filtering by tag look at the key again with its new tags.
            schedule_write(t, bucket, key, now_millis(), Made::Changed)?;
            Ok(())
        })
    }

    /// Changes the retention or legal hold of an existing object version (without `id`, the
    /// current object) at `now`, as the lock rules allow (`ObjectLocked` otherwise); returns
    /// the version's lock after the change. `LockNotEnabled` on a bucket without object lock.
    pub fn set_lock(
        &self,
        bucket: &str,
        key: &str,
        id: Option<VersionId>,
        change: LockChange,
        now: UnixMillis,
    ) -> Result<ObjectLock, IndexError> {
        self.write(|t| {
            if bucket_settings(&t.buckets, bucket)?.lock.is_none() {
                return Err(IndexError::LockNotEnabled);
            }
            let (place, mut stamp, value) = object_version_value(t, bucket, key, id)?;
            stamp.lock = change.apply(stamp.lock, now)?;
            store_version_value(t, bucket, key, place, stamp, &restamp(&value, stamp))?;
            Ok(stamp.lock)
        })
    }
}

#[cfg(test)]
mod tests;
