//! How an object is laid out in the index: its record in `objects`, followed in the same value
//! by its manifest when that manifest is small, else its manifest alone in `manifests`.
//!
//! Why not always apart: a small object's manifest carries its whole body (up to the inline
//! threshold), so its B-tree leaf is a page of its own. In a second tree, every small PUT also
//! paid that tree's leaf and branch path in each commit; beside the record, a 4 KiB PUT writes
//! 41 KiB to disk instead of 45 (whole machine, index and node copies together; issue 6). Why
//! not always together: a chunked manifest grows with the object (a reference per chunk), and
//! listing reads every value it passes. [`MAX_MANIFEST_BESIDE_RECORD`] bounds what a listing
//! can be made to read.
//!
//! Every object has its manifest in exactly one place. Readers never need to know which rule
//! placed it: bytes after the record are the manifest, and no bytes mean "look in `manifests`".
//!
//! Versions (see `chain`) are laid out the same way, in `object_versions` and
//! `version_manifests`. Each value starts with its version's stamp: a tag byte ([`STAMPED`] or
//! [`MARKER`]), the sequence number (8 bytes, big-endian) and the null flag (1 byte). A locked
//! object version's tag is [`LOCKED`] instead, and its lock follows the null flag: retention
//! mode (0 none, 1 GOVERNANCE, 2 COMPLIANCE), retained-until (8 bytes, big-endian
//! milliseconds) and the legal hold flag. A value that starts with the record's own format byte
//! instead was written before versioning, and is the null version at [`VersionStamp::LEGACY`].

use std::fmt::Display;

use floe_codec::Manifest;

use super::kv::bound::{BoundTable, Source};
use super::kv::key::{KeyType, Str};
use super::kv::table::Bytes;
use super::lock::{ObjectLock, Retention, RetentionMode};
use super::records::{decode_record, decode_record_prefix, encode_record};
use super::store::WriteTable;
use super::versioning::{MarkerRecord, VersionStamp};
use super::{IndexError, ObjectRecord};

/// Tag of a stamped object version.
pub(super) const STAMPED: u8 = 2;
/// Tag of a delete marker.
pub(super) const MARKER: u8 = 3;
/// Tag of a stamped object version under a retention or legal hold.
const LOCKED: u8 = 4;
/// Tag byte, sequence number, null flag.
const STAMP_LEN: usize = 10;
/// Mode, retained-until, legal hold.
const LOCK_LEN: usize = 10;

/// The largest encoded manifest stored beside its record: covers bodies up to the default inline
/// threshold (16 KiB) and chunk lists of a few dozen chunks.
pub(super) const MAX_MANIFEST_BESIDE_RECORD: usize = 20 * 1024;

/// Key of an object in `objects` and `manifests`.
/// A table keyed by (bucket, key) holding bytes, bound to a snapshot or a transaction `C`.
type ObjectTable<'c, C> = BoundTable<'c, (Str, Str), Bytes, C>;

/// An object's record and manifest in their stored form, encoded before the write is queued:
/// PUTs encode on their own tasks, in parallel, and the index's writer thread, which every
/// write waits on in turn, only copies the bytes in.
pub(super) struct EncodedObject {
    /// The manifest itself, for the refcount changes.
    pub manifest: Manifest,
    /// The `objects` value: the record, then the manifest when it is small.
    value: Vec<u8>,
    /// The manifest's bytes for `manifests`, when it is too large to go beside the record.
    pub separate: Option<Vec<u8>>,
    /// What lifecycle rules look at in the record (size, creation, tags).
    size: u64,
    modified: super::UnixMillis,
    tags: Vec<(String, String)>,
}

impl EncodedObject {
    pub fn new(record: &ObjectRecord, manifest: Manifest) -> Self {
        let mut value = encode_record(record);
        let bytes = manifest.encode();
        let separate = if bytes.len() > MAX_MANIFEST_BESIDE_RECORD {
            Some(bytes)
        } else {
            value.extend_from_slice(&bytes);
            None
        };
        Self {
            manifest,
            value,
            separate,
            size: record.size,
            modified: record.modified,
            tags: record.tags.clone(),
        }
    }

    /// What lifecycle rules look at in this object.
    pub fn facts(&self) -> super::lifecycle_rules::VersionFacts<'_> {
        super::lifecycle_rules::VersionFacts {
            size: self.size,
            modified: self.modified,
            tags: &self.tags,
        }
    }

    /// The stored value of this object as the version `stamp`.
    pub fn stamped(&self, stamp: VersionStamp) -> Vec<u8> {
        let mut out = Vec::with_capacity(STAMP_LEN + LOCK_LEN + self.value.len());
        push_stamp(&mut out, STAMPED, stamp);
        out.extend_from_slice(&self.value);
        out
    }
}

fn push_stamp(out: &mut Vec<u8>, tag: u8, stamp: VersionStamp) {
    let locked = tag == STAMPED && !stamp.lock.is_none();
    out.push(if locked { LOCKED } else { tag });
    out.extend_from_slice(&stamp.seq.to_be_bytes());
    out.push(u8::from(stamp.null));
    if locked {
        let (mode, until) = match stamp.lock.retention {
            None => (0, 0),
            Some(Retention { mode, until }) => (
                match mode {
                    RetentionMode::Governance => 1,
                    RetentionMode::Compliance => 2,
                },
                until,
            ),
        };
        out.push(mode);
        out.extend_from_slice(&until.to_be_bytes());
        out.push(u8::from(stamp.lock.legal_hold));
    }
}

/// How many bytes the stamp at the start of `value` takes (none for a legacy value).
fn stamp_len(value: &[u8]) -> usize {
    match value.first() {
        Some(&(STAMPED | MARKER)) => STAMP_LEN,
        Some(&LOCKED) => STAMP_LEN + LOCK_LEN,
        _ => 0,
    }
}

/// `value` (an object version's) with its stamp replaced by `stamp`: how a retention or legal
/// hold change is stored, record and manifest kept byte for byte.
pub(super) fn restamp(value: &[u8], stamp: VersionStamp) -> Vec<u8> {
    let rest = &value[stamp_len(value).min(value.len())..];
    let mut out = Vec::with_capacity(STAMP_LEN + LOCK_LEN + rest.len());
    push_stamp(&mut out, STAMPED, stamp);
    out.extend_from_slice(rest);
    out
}

fn flag(what: &impl Display, name: &str, byte: u8) -> Result<bool, IndexError> {
    match byte {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(IndexError::Corrupt(format!(
            "{what}: {name} flag {other} in its version stamp"
        ))),
    }
}

fn decode_lock(what: &impl Display, bytes: &[u8]) -> Result<ObjectLock, IndexError> {
    let mut until = [0; 8];
    until.copy_from_slice(&bytes[1..9]);
    let until = i64::from_be_bytes(until);
    let retention = match bytes[0] {
        0 => None,
        1 => Some(Retention {
            mode: RetentionMode::Governance,
            until,
        }),
        2 => Some(Retention {
            mode: RetentionMode::Compliance,
            until,
        }),
        other => {
            return Err(IndexError::Corrupt(format!(
                "{what}: retention mode {other} in its version stamp"
            )));
        }
    };
    Ok(ObjectLock {
        retention,
        legal_hold: flag(what, "legal hold", bytes[9])?,
    })
}

/// The stored value of a delete marker.
pub(super) fn encode_marker(stamp: VersionStamp, marker: &MarkerRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(STAMP_LEN + 16);
    push_stamp(&mut out, MARKER, stamp);
    out.extend_from_slice(&encode_record(marker));
    out
}

/// A value's stamp and tag ([`STAMPED`] or [`MARKER`]), and the bytes after them. A value
/// written before versioning has none of its own: it is the legacy null version.
pub(super) fn split_stamp(
    what: impl Display,
    value: &[u8],
) -> Result<(u8, VersionStamp, &[u8]), IndexError> {
    let len = stamp_len(value);
    if len == 0 {
        return Ok((STAMPED, VersionStamp::LEGACY, value));
    }
    let (head, rest) = value
        .split_at_checked(len)
        .ok_or_else(|| IndexError::Corrupt(format!("{what}: short version stamp")))?;
    let mut seq = [0; 8];
    seq.copy_from_slice(&head[1..9]);
    let mut stamp = VersionStamp::new(u64::from_be_bytes(seq), flag(&what, "null", head[9])?);
    let tag = match head[0] {
        LOCKED => {
            stamp.lock = decode_lock(&what, &head[STAMP_LEN..])?;
            STAMPED
        }
        tag => tag,
    };
    Ok((tag, stamp, rest))
}

/// One version as stored: an object (its manifest too when it sits beside the record) or a
/// delete marker.
#[derive(Debug, Clone, PartialEq, Eq)]
// Markers are the rare case: boxing the object variant would cost every read an allocation.
#[allow(clippy::large_enum_variant)]
pub(super) enum StoredVersion {
    Object(VersionStamp, ObjectRecord, Option<Manifest>),
    Marker(VersionStamp, MarkerRecord),
}

impl StoredVersion {
    pub fn stamp(&self) -> VersionStamp {
        match self {
            Self::Object(stamp, ..) | Self::Marker(stamp, _) => *stamp,
        }
    }
}

/// Decodes a stored version of `what`.
pub(super) fn decode_version(
    what: impl Display,
    value: &[u8],
) -> Result<StoredVersion, IndexError> {
    let (tag, stamp, rest) = split_stamp(&what, value)?;
    if tag == MARKER {
        let marker = decode_record(rest).map_err(|e| IndexError::corrupt(&what, e))?;
        return Ok(StoredVersion::Marker(stamp, marker));
    }
    let (record, rest) = decode_record_prefix(rest).map_err(|e| IndexError::corrupt(&what, e))?;
    let manifest = match rest.is_empty() {
        true => None,
        false => Some(
            Manifest::decode(rest)
                .map_err(|e| IndexError::corrupt(format_args!("manifest of {what}"), e))?,
        ),
    };
    Ok(StoredVersion::Object(stamp, record, manifest))
}

/// A stored version without its manifest (listing reads many and needs none).
pub(super) fn decode_version_head(
    what: impl Display,
    value: &[u8],
) -> Result<super::objects::Version, IndexError> {
    use super::objects::Version;
    let (tag, stamp, rest) = split_stamp(&what, value)?;
    if tag == MARKER {
        let marker = decode_record(rest).map_err(|e| IndexError::corrupt(&what, e))?;
        return Ok(Version::Marker(stamp, marker));
    }
    let (record, _) = decode_record_prefix(rest).map_err(|e| IndexError::corrupt(&what, e))?;
    Ok(Version::Object(stamp, record))
}

/// The manifest of a version whose value held none, from its manifests table.
pub(super) fn separate_version_manifest<K: KeyType, C: Source + ?Sized>(
    manifests: &BoundTable<'_, K, Bytes, C>,
    key: K::Ref<'_>,
    what: impl Display,
) -> Result<Manifest, IndexError> {
    let stored = manifests
        .get(key)?
        .ok_or_else(|| IndexError::Corrupt(format!("{what} has no manifest")))?;
    Manifest::decode(stored.value())
        .map_err(|e| IndexError::corrupt(format_args!("manifest of {what}"), e))
}

/// The record at the start of an `objects` value; whatever follows it is not looked at.
pub(super) fn decode_entry_record(
    bucket: &str,
    key: &str,
    value: &[u8],
) -> Result<ObjectRecord, IndexError> {
    Ok(split_entry(bucket, key, value)?.0)
}

/// `value` with its record replaced by `record`, keeping what follows it (the manifest) as is.
pub(super) fn replace_entry_record(
    bucket: &str,
    key: &str,
    value: &[u8],
    record: &ObjectRecord,
) -> Result<Vec<u8>, IndexError> {
    let (_, rest) = split_entry(bucket, key, value)?;
    // The stamp, if any, is kept as it was.
    let mut out = value[..stamp_len(value)].to_vec();
    out.extend_from_slice(&encode_record(record));
    out.extend_from_slice(rest);
    Ok(out)
}

/// The record and, if it is stored beside it, the manifest of an `objects` value.
pub(super) fn decode_entry(
    bucket: &str,
    key: &str,
    value: &[u8],
) -> Result<(ObjectRecord, Option<Manifest>), IndexError> {
    let (record, rest) = split_entry(bucket, key, value)?;
    let manifest = match rest.is_empty() {
        true => None,
        false => Some(decode_manifest(bucket, key, rest)?),
    };
    Ok((record, manifest))
}

pub(super) fn split_entry<'v>(
    bucket: &str,
    key: &str,
    value: &'v [u8],
) -> Result<(ObjectRecord, &'v [u8]), IndexError> {
    let what = format_args!("object {bucket}/{key}");
    let (tag, _, rest) = split_stamp(what, value)?;
    if tag == MARKER {
        return Err(IndexError::Corrupt(format!(
            "object {bucket}/{key}: a delete marker where an object belongs"
        )));
    }
    decode_record_prefix(rest).map_err(|e| IndexError::corrupt(what, e))
}

/// Decodes manifest bytes of `bucket/key`.
fn decode_manifest(bucket: &str, key: &str, bytes: &[u8]) -> Result<Manifest, IndexError> {
    Manifest::decode(bytes)
        .map_err(|e| IndexError::corrupt(format_args!("manifest {bucket}/{key}"), e))
}

/// The manifest of `bucket/key`, whose `objects` value held none, from `manifests`. Missing
/// means a half-written entry, which a single transaction can never produce.
pub(super) fn separate_manifest<C: Source + ?Sized>(
    manifests: &ObjectTable<'_, C>,
    bucket: &str,
    key: &str,
) -> Result<Manifest, IndexError> {
    let stored = manifests
        .get((bucket, key))?
        .ok_or_else(|| IndexError::Corrupt(format!("object {bucket}/{key} has no manifest")))?;
    decode_manifest(bucket, key, stored.value())
}

/// Record and manifest of `bucket/key`, wherever the manifest is; `None` if there is no such
/// object. Works on a read snapshot and inside a write transaction alike.
pub(super) fn load_object<C: Source + ?Sized>(
    objects: &ObjectTable<'_, C>,
    manifests: &ObjectTable<'_, C>,
    bucket: &str,
    key: &str,
) -> Result<Option<(ObjectRecord, Manifest)>, IndexError> {
    let Some(stored) = objects.get((bucket, key))? else {
        return Ok(None);
    };
    let (record, beside) = decode_entry(bucket, key, stored.value())?;
    let manifest = match beside {
        Some(manifest) => manifest,
        None => separate_manifest(manifests, bucket, key)?,
    };
    Ok(Some((record, manifest)))
}

/// Stores `bucket/key` as `value` (an [`EncodedObject::stamped`]) with its `separate`
/// manifest if it has one, removing a copy the previous version left in `manifests`.
pub(super) fn store_object(
    objects: &mut WriteTable<'_, (Str, Str), Bytes>,
    manifests: &mut WriteTable<'_, (Str, Str), Bytes>,
    bucket: &str,
    key: &str,
    value: &[u8],
    separate: Option<&[u8]>,
    had_separate_manifest: bool,
) -> Result<(), IndexError> {
    objects.insert((bucket, key), value)?;
    match separate {
        Some(bytes) => {
            manifests.insert((bucket, key), bytes)?;
        }
        None if had_separate_manifest => {
            manifests.remove((bucket, key))?;
        }
        None => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests;
