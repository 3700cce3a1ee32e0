//! A key's version chain: every version and delete marker of one (bucket, key), newest first.
//!
//! The chain lives in two places. The newest version, when it is an object, is the key's row in
//! `objects` (with its manifest in `manifests` if large): reads of the current object, ListObjects
//! and every unversioned bucket use only that table, exactly as before versioning. Every other
//! version — older objects and all delete markers — is a row of `object_versions` keyed by
//! (bucket, key, [`rank`]), newest first (large manifests in `version_manifests`). So:
//!
//! - a key has a row in `objects` exactly when its newest version is an object;
//! - with no row in `objects`, the first row of `object_versions`, if any, is a delete marker;
//! - `null_versions` holds the sequence number of the key's null version while that version
//!   sits in `object_versions` (in `objects`, its stamp says so).
//!
//! Versions move between the two places only whole, manifest and all, so the refcounts of
//! their chunks never change on a move: a chunk stays referenced while any version uses it.

use std::ops::Bound;

use floe_codec::Manifest;

use super::kv::bound::{BoundTable, Source};
use super::kv::key::Str;
use super::kv::table::Bytes;
use super::lock::Removal;
use super::object_entry::{
    EncodedObject, MARKER, StoredVersion, decode_version, encode_marker, separate_version_manifest,
    split_stamp,
};
use super::refcount::RefDelta;
use super::store::Tables;
use super::versioning::{MarkerRecord, VersionId, VersionStamp};
use super::{IndexError, ObjectRecord};

/// The `object_versions` key part of version `seq`: newest first.
pub(super) fn rank(seq: u64) -> u64 {
    u64::MAX - seq
}

/// Where a version sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// The key's row in `objects`.
    Current,
    /// A row of `object_versions`, at this sequence number.
    Noncurrent(u64),
}

/// The chain's tables, bound to a snapshot or a transaction `C`.
pub(super) struct ChainView<'t, 'c, C: Source + ?Sized> {
    pub objects: &'t BoundTable<'c, (Str, Str), Bytes, C>,
    pub manifests: &'t BoundTable<'c, (Str, Str), Bytes, C>,
    pub versions: &'t BoundTable<'c, (Str, Str, u64), Bytes, C>,
    pub version_manifests: &'t BoundTable<'c, (Str, Str, u64), Bytes, C>,
    pub null_versions: &'t BoundTable<'c, (Str, Str), u64, C>,
}

impl<C: Source + ?Sized> ChainView<'_, '_, C> {
    /// The key's current object, if its newest version is one.
    pub fn current(&self, bucket: &str, key: &str) -> Result<Option<StoredVersion>, IndexError> {
        self.objects
            .get((bucket, key))?
            .map(|v| decode_version(format_args!("object {bucket}/{key}"), v.value()))
            .transpose()
    }

    /// The version at `place`.
    pub fn at(
        &self,
        bucket: &str,
        key: &str,
        place: Place,
    ) -> Result<Option<StoredVersion>, IndexError> {
        match place {
            Place::Current => self.current(bucket, key),
            Place::Noncurrent(seq) => self
                .versions
                .get((bucket, key, rank(seq)))?
                .map(|v| decode_version(format_args!("version {seq} of {bucket}/{key}"), v.value()))
                .transpose(),
        }
    }

    /// The key's newest version (object or marker) and where it sits.
    pub fn latest(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<(Place, StoredVersion)>, IndexError> {
        if let Some(current) = self.current(bucket, key)? {
            return Ok(Some((Place::Current, current)));
        }
        let Some((seq, version)) = self.first_noncurrent(bucket, key)? else {
            return Ok(None);
        };
        Ok(Some((Place::Noncurrent(seq), version)))
    }

    /// The newest row of the key in `object_versions`.
    fn first_noncurrent(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<(u64, StoredVersion)>, IndexError> {
        let range = (bucket, key, 0)..=(bucket, key, u64::MAX);
        let Some(row) = self.versions.range(range)?.next().transpose()? else {
            return Ok(None);
        };
        let seq = u64::MAX - row.0.value().2;
        let version = decode_version(
            format_args!("version {seq} of {bucket}/{key}"),
            row.1.value(),
        )?;
        Ok(Some((seq, version)))
    }

    /// Where the version `id` of the key sits, if it exists.
    pub fn find(
        &self,
        bucket: &str,
        key: &str,
        id: VersionId,
    ) -> Result<Option<(Place, StoredVersion)>, IndexError> {
        if let Some(current) = self.current(bucket, key)?
            && current.stamp().id() == id
        {
            return Ok(Some((Place::Current, current)));
        }
        let seq = match id {
            VersionId::Seq(seq) => seq,
            VersionId::Null => match self.null_versions.get((bucket, key))? {
                Some(seq) => seq.value(),
                None => return Ok(None),
            },
        };
        let place = Place::Noncurrent(seq);
        Ok(self
            .at(bucket, key, place)?
            .filter(|v| v.stamp().id() == id)
            .map(|v| (place, v)))
    }

    /// The manifest of an object version, wherever it is stored.
    pub fn manifest(
        &self,
        bucket: &str,
        key: &str,
        place: Place,
        beside: Option<Manifest>,
    ) -> Result<Manifest, IndexError> {
        if let Some(manifest) = beside {
            return Ok(manifest);
        }
        match place {
            Place::Current => separate_version_manifest(
                self.manifests,
                (bucket, key),
                format_args!("{bucket}/{key}"),
            ),
            Place::Noncurrent(seq) => separate_version_manifest(
                self.version_manifests,
                (bucket, key, rank(seq)),
                format_args!("version {seq} of {bucket}/{key}"),
            ),
        }
    }
}

impl<'c> Tables<'c> {
    /// The chain's tables of this transaction.
    pub(super) fn chain(&self) -> ChainView<'_, 'c, super::kv::bound::WriteCell<'c>> {
        ChainView {
            objects: &self.objects,
            manifests: &self.manifests,
            versions: &self.object_versions,
            version_manifests: &self.version_manifests,
            null_versions: &self.null_versions,
        }
    }
}

/// Adds `by` to the bucket's count of current objects (so counting never scans the bucket).
pub(super) fn count_objects(t: &mut Tables<'_>, bucket: &str, by: i64) -> Result<(), IndexError> {
    let old = t.object_counts.get(bucket)?.map(|v| v.value()).unwrap_or(0);
    t.object_counts
        .insert(bucket, old.saturating_add_signed(by))?;
    Ok(())
}

/// A new version to put on top of a chain.
pub(super) enum NewVersion<'a> {
    Object(&'a EncodedObject, VersionStamp),
    Marker(VersionStamp, MarkerRecord),
}

/// Puts `new` on top of the key's chain: the current object, if any, becomes noncurrent.
pub(super) fn push(
    t: &mut Tables<'_>,
    delta: &mut RefDelta,
    bucket: &str,
    key: &str,
    new: NewVersion<'_>,
) -> Result<(), IndexError> {
    demote_current(t, bucket, key)?;
    match new {
        NewVersion::Object(object, stamp) => {
            t.objects
                .insert((bucket, key), object.stamped(stamp).as_slice())?;
            if let Some(bytes) = &object.separate {
                t.manifests.insert((bucket, key), bytes.as_slice())?;
            }
            delta.add(&object.manifest);
            count_objects(t, bucket, 1)?;
        }
        NewVersion::Marker(stamp, marker) => {
            place_noncurrent(t, bucket, key, stamp, &encode_marker(stamp, &marker), None)?;
        }
    }
    Ok(())
}

/// Stores a version's value (and separate manifest) in `object_versions`.
fn place_noncurrent(
    t: &mut Tables<'_>,
    bucket: &str,
    key: &str,
    stamp: VersionStamp,
    value: &[u8],
    separate: Option<&[u8]>,
) -> Result<(), IndexError> {
    let at = (bucket, key, rank(stamp.seq));
    t.object_versions.insert(at, value)?;
    if let Some(bytes) = separate {
        t.version_manifests.insert(at, bytes)?;
    }
    if stamp.null {
        t.null_versions.insert((bucket, key), stamp.seq)?;
    }
    Ok(())
}

/// Moves the key's current object, if any, into `object_versions`.
fn demote_current(t: &mut Tables<'_>, bucket: &str, key: &str) -> Result<(), IndexError> {
    let Some(stored) = t.objects.remove((bucket, key))? else {
        return Ok(());
    };
    let value = stored.into_owned();
    let (_, stamp, rest) = split_stamp(format_args!("object {bucket}/{key}"), &value)?;
    // A record with nothing after it has its manifest apart.
    let separate = match has_manifest_beside(bucket, key, rest)? {
        true => None,
        false => t.manifests.remove((bucket, key))?.map(|v| v.into_owned()),
    };
    place_noncurrent(t, bucket, key, stamp, &value, separate.as_deref())?;
    count_objects(t, bucket, -1)
}

/// Whether an object value's bytes after its stamp carry the manifest too.
fn has_manifest_beside(bucket: &str, key: &str, rest: &[u8]) -> Result<bool, IndexError> {
    let (_, after): (ObjectRecord, &[u8]) = super::records::decode_record_prefix(rest)
        .map_err(|e| IndexError::corrupt(format_args!("object {bucket}/{key}"), e))?;
    Ok(!after.is_empty())
}

/// Makes the newest noncurrent version current if it is an object and nothing is current.
fn promote_newest(t: &mut Tables<'_>, bucket: &str, key: &str) -> Result<(), IndexError> {
    if t.objects.get((bucket, key))?.is_some() {
        return Ok(());
    }
    let range = (bucket, key, 0)..=(bucket, key, u64::MAX);
    let Some((k, v)) = t.object_versions.range(range)?.next().transpose()? else {
        return Ok(());
    };
    let at_rank = k.value().2;
    let value = v.into_owned();
    let (tag, stamp, rest) = split_stamp(format_args!("object {bucket}/{key}"), &value)?;
    if tag == MARKER {
        return Ok(());
    }
    let beside = has_manifest_beside(bucket, key, rest)?;
    t.object_versions.remove((bucket, key, at_rank))?;
    if !beside && let Some(bytes) = t.version_manifests.remove((bucket, key, at_rank))? {
        t.manifests.insert((bucket, key), bytes.value())?;
    }
    if stamp.null {
        t.null_versions.remove((bucket, key))?;
    }
    t.objects.insert((bucket, key), value.as_slice())?;
    count_objects(t, bucket, 1)
}

/// Removes the version at `place` for good, releasing its chunks, and makes the version below
/// it current if the removed one was the newest. Returns what was removed. A version its lock
/// protects against `removal` stays, and the answer is `ObjectLocked`.
pub(super) fn remove_at(
    t: &mut Tables<'_>,
    delta: &mut RefDelta,
    bucket: &str,
    key: &str,
    place: Place,
    removal: Removal,
) -> Result<Option<StoredVersion>, IndexError> {
    if let Some(version) = t.chain().at(bucket, key, place)? {
        removal.check(&version.stamp().lock)?;
    }
    take_at(t, delta, bucket, key, place)
}

/// Takes the version at `place` out of the chain whatever its lock says: only for putting a
/// newer state of the very same version in its place (a rebuild from the nodes' records).
/// Everything else removes through [`remove_at`].
pub(super) fn take_at(
    t: &mut Tables<'_>,
    delta: &mut RefDelta,
    bucket: &str,
    key: &str,
    place: Place,
) -> Result<Option<StoredVersion>, IndexError> {
    let Some(version) = t.chain().at(bucket, key, place)? else {
        return Ok(None);
    };
    let mut separate = false;
    if let StoredVersion::Object(_, _, beside) = &version {
        separate = beside.is_none();
        let manifest = t.chain().manifest(bucket, key, place, beside.clone())?;
        delta.remove(&manifest);
    }
    match place {
        Place::Current => {
            t.objects.remove((bucket, key))?;
            if separate {
                t.manifests.remove((bucket, key))?;
            }
            count_objects(t, bucket, -1)?;
        }
        Place::Noncurrent(seq) => {
            t.object_versions.remove((bucket, key, rank(seq)))?;
            if separate {
                t.version_manifests.remove((bucket, key, rank(seq)))?;
            }
            if version.stamp().null {
                t.null_versions.remove((bucket, key))?;
            }
        }
    }
    promote_newest(t, bucket, key)?;
    Ok(Some(version))
}

/// Removes the key's null version, wherever it is; what was removed, if there was one.
pub(super) fn remove_null(
    t: &mut Tables<'_>,
    delta: &mut RefDelta,
    bucket: &str,
    key: &str,
    removal: Removal,
) -> Result<Option<StoredVersion>, IndexError> {
    match t.chain().find(bucket, key, VersionId::Null)? {
        Some((place, _)) => remove_at(t, delta, bucket, key, place, removal),
        None => Ok(None),
    }
}

/// Puts a version restored from a node copy where its sequence number says, which need not be
/// on top, and keeps the chain's rules (see the module docs).
pub(super) fn insert_restored(
    t: &mut Tables<'_>,
    delta: &mut RefDelta,
    bucket: &str,
    key: &str,
    new: NewVersion<'_>,
) -> Result<(), IndexError> {
    let stamp = match &new {
        NewVersion::Object(_, stamp) | NewVersion::Marker(stamp, _) => *stamp,
    };
    let newest = t.chain().latest(bucket, key)?.map(|(_, v)| v.stamp().seq);
    if newest.is_none_or(|seq| seq < stamp.seq) {
        return push(t, delta, bucket, key, new);
    }
    match new {
        NewVersion::Object(object, stamp) => {
            delta.add(&object.manifest);
            place_noncurrent(
                t,
                bucket,
                key,
                stamp,
                &object.stamped(stamp),
                object.separate.as_deref(),
            )
        }
        NewVersion::Marker(stamp, marker) => {
            place_noncurrent(t, bucket, key, stamp, &encode_marker(stamp, &marker), None)
        }
    }
}

/// Whether any version or marker of any key of `bucket` exists outside `objects`.
pub(super) fn has_noncurrent(t: &Tables<'_>, bucket: &str) -> Result<bool, IndexError> {
    let first = t
        .object_versions
        .range((Bound::Included((bucket, "", 0)), Bound::Unbounded))?
        .next()
        .transpose()?;
    Ok(first.is_some_and(|(k, _)| k.value().0 == bucket))
}
