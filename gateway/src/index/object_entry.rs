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

use floe_codec::Manifest;

use super::kv::bound::{BoundTable, Source};
use super::kv::key::Str;
use super::kv::table::Bytes;
use super::records::{decode_record_prefix, encode_record};
use super::store::WriteTable;
use super::{IndexError, ObjectRecord};

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
    separate: Option<Vec<u8>>,
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
        }
    }
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
    let mut out = encode_record(record);
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
    decode_record_prefix(value)
        .map_err(|e| IndexError::corrupt(format_args!("object {bucket}/{key}"), e))
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

/// Stores `bucket/key` as `object`, its manifest where its size says, removing a copy the
/// previous version left in the other place.
pub(super) fn store_object(
    objects: &mut WriteTable<'_, (Str, Str), Bytes>,
    manifests: &mut WriteTable<'_, (Str, Str), Bytes>,
    bucket: &str,
    key: &str,
    object: &EncodedObject,
    had_separate_manifest: bool,
) -> Result<(), IndexError> {
    objects.insert((bucket, key), object.value.as_slice())?;
    match &object.separate {
        Some(bytes) => {
            manifests.insert((bucket, key), bytes.as_slice())?;
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
