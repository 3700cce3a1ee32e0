//! Multipart uploads: the upload records, their parts, listing, abort, expiry and the atomic
//! completion that turns parts into an object.
//!
//! Each part holds references on its chunks like an object does, so a part's data is never
//! collected while the upload may still use it, and whatever the upload leaves behind (aborted,
//! replaced or parts left out of the completed object) becomes garbage in the same transaction.

use std::ops::Bound;

use floe_codec::Manifest;

use super::buckets::{bucket_settings, require_bucket};
use super::lock::ObjectLock;
use super::object_entry::EncodedObject;
use super::objects::{Written, write_object};
use super::records::decode_record_prefix;
use super::refcount::RefDelta;
use super::store::{PARTS, Tables, UPLOAD_KEYS, UPLOAD_TIMES, UPLOADS, decode};
use super::{
    Index, IndexError, ObjectRecord, PartRecord, Precondition, UnixMillis, UploadRecord,
    encode_record,
};

/// An upload's stored value: its record, then the object lock its CreateMultipartUpload asked
/// for, if it asked.
fn encode_upload(record: &UploadRecord, lock: Option<ObjectLock>) -> Vec<u8> {
    let mut out = encode_record(record);
    if let Some(lock) = lock {
        out.extend_from_slice(&encode_record(&lock));
    }
    out
}

pub(super) fn decode_upload(
    upload_id: &str,
    value: &[u8],
) -> Result<(UploadRecord, Option<ObjectLock>), IndexError> {
    let what = format_args!("upload {upload_id}");
    let (record, rest) = decode_record_prefix(value).map_err(|e| IndexError::corrupt(what, e))?;
    let lock = match rest.is_empty() {
        true => None,
        false => Some(decode(what, rest)?),
    };
    Ok((record, lock))
}

/// The upload record and asked-for lock, from a write transaction.
fn current_upload(
    t: &Tables<'_>,
    upload_id: &str,
) -> Result<Option<(UploadRecord, Option<ObjectLock>)>, IndexError> {
    t.uploads
        .get(upload_id)?
        .map(|v| decode_upload(upload_id, v.value()))
        .transpose()
}

/// Removes an upload, its listing entries and all its parts, releasing the parts' chunks into
/// `delta`. `NoSuchUpload` if it is absent.
fn remove_upload(
    t: &mut Tables<'_>,
    delta: &mut RefDelta,
    upload_id: &str,
) -> Result<UploadRecord, IndexError> {
    let (upload, _) = current_upload(t, upload_id)?.ok_or(IndexError::NoSuchUpload)?;
    t.uploads.remove(upload_id)?;
    t.upload_keys
        .remove((upload.bucket.as_str(), upload.key.as_str(), upload_id))?;
    t.upload_times.remove((upload.initiated, upload_id))?;
    let mut numbers = Vec::new();
    for entry in t.parts.range((upload_id, 0)..=(upload_id, u32::MAX))? {
        let (k, v) = entry?;
        let number = k.value().1;
        let part: PartRecord = decode(format_args!("part {number} of {upload_id}"), v.value())?;
        delta.remove(&part.manifest);
        numbers.push(number);
    }
    for number in numbers {
        t.parts.remove((upload_id, number))?;
    }
    Ok(upload)
}

impl Index {
    /// Records a new multipart upload; `NoSuchBucket` if `record.bucket` is absent.
    pub fn create_upload(&self, upload_id: &str, record: &UploadRecord) -> Result<(), IndexError> {
        self.create_upload_locked(upload_id, record, None)
    }

    /// Records a new multipart upload whose object will get the lock `lock` asks for (see
    /// `write_object`); `LockNotEnabled` if it asks on a bucket without object lock.
    pub fn create_upload_locked(
        &self,
        upload_id: &str,
        record: &UploadRecord,
        lock: Option<ObjectLock>,
    ) -> Result<(), IndexError> {
        self.write(|t| {
            let settings = bucket_settings(&t.buckets, &record.bucket)?;
            if lock.is_some() && settings.lock.is_none() {
                return Err(IndexError::LockNotEnabled);
            }
            // Upload ids are random, so a clash is a caller bug; replacing the record must not
            // leave the old one's listing entries pointing at the new one.
            if let Some((old, _)) = current_upload(t, upload_id)? {
                t.upload_keys
                    .remove((old.bucket.as_str(), old.key.as_str(), upload_id))?;
                t.upload_times.remove((old.initiated, upload_id))?;
            }
            t.uploads
                .insert(upload_id, encode_upload(record, lock).as_slice())?;
            t.upload_keys
                .insert((record.bucket.as_str(), record.key.as_str(), upload_id), ())?;
            t.upload_times.insert((record.initiated, upload_id), ())?;
            Ok(())
        })
    }

    pub fn upload(&self, upload_id: &str) -> Result<Option<UploadRecord>, IndexError> {
        let txn = self.read()?;
        let uploads = txn.open_table(UPLOADS)?;
        let stored = uploads.get(upload_id)?;
        stored
            .map(|v| Ok(decode_upload(upload_id, v.value())?.0))
            .transpose()
    }

    /// Stores or replaces part `part_number`, moving refcounts from the replaced part's chunks to
    /// the new one's. `NoSuchUpload` if the upload was completed or aborted meanwhile.
    pub fn put_part(
        &self,
        upload_id: &str,
        part_number: u32,
        part: &PartRecord,
    ) -> Result<(), IndexError> {
        self.put_part_written_after(upload_id, part_number, part, None)
    }

    /// [`Index::put_part`] for a part whose shards went out after deletion number `epoch` (see
    /// `deletion`).
    pub fn put_part_written_after(
        &self,
        upload_id: &str,
        part_number: u32,
        part: &PartRecord,
        epoch: Option<u64>,
    ) -> Result<(), IndexError> {
        self.write(|t| {
            if t.uploads.get(upload_id)?.is_none() {
                return Err(IndexError::NoSuchUpload);
            }
            let mut delta = RefDelta::written_after(epoch);
            let old: Option<PartRecord> = t
                .parts
                .get((upload_id, part_number))?
                .map(|v| decode(format_args!("part {part_number} of {upload_id}"), v.value()))
                .transpose()?;
            if let Some(old) = old {
                delta.remove(&old.manifest);
            }
            delta.add(&part.manifest);
            t.parts
                .insert((upload_id, part_number), encode_record(part).as_slice())?;
            delta.apply(t)
        })
    }

    pub fn part(
        &self,
        upload_id: &str,
        part_number: u32,
    ) -> Result<Option<PartRecord>, IndexError> {
        let txn = self.read()?;
        let parts = txn.open_table(PARTS)?;
        let stored = parts.get((upload_id, part_number))?;
        stored
            .map(|v| decode(format_args!("part {part_number} of {upload_id}"), v.value()))
            .transpose()
    }

    /// Parts numbered above `after`, ascending, at most `limit`.
    pub fn list_parts(
        &self,
        upload_id: &str,
        after: u32,
        limit: usize,
    ) -> Result<Vec<(u32, PartRecord)>, IndexError> {
        let Some(first) = after.checked_add(1) else {
            return Ok(Vec::new());
        };
        let txn = self.read()?;
        let parts = txn.open_table(PARTS)?;
        let mut out = Vec::new();
        for entry in parts
            .range((upload_id, first)..=(upload_id, u32::MAX))?
            .take(limit)
        {
            let (k, v) = entry?;
            let number = k.value().1;
            let part = decode(format_args!("part {number} of {upload_id}"), v.value())?;
            out.push((number, part));
        }
        Ok(out)
    }

    /// In-progress uploads of `bucket` whose key starts with `prefix`, ordered by (key, upload
    /// id), strictly after (`key_marker`, `upload_id_marker`); without an upload id marker,
    /// strictly after means key > `key_marker`, and as in S3 the upload id marker means nothing
    /// without a key marker. At most `limit`.
    pub fn list_uploads(
        &self,
        bucket: &str,
        prefix: &str,
        key_marker: Option<&str>,
        upload_id_marker: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, UploadRecord)>, IndexError> {
        let txn = self.read()?;
        let keys = txn.open_table(UPLOAD_KEYS)?;
        let uploads = txn.open_table(UPLOADS)?;
        // Keys sharing the prefix are contiguous, so start at the later of prefix and marker and
        // stop at the first key outside the prefix.
        let start: Bound<(&str, &str, &str)> = match (key_marker, upload_id_marker) {
            (Some(marker), Some(id)) if marker >= prefix => Bound::Excluded((bucket, marker, id)),
            (Some(marker), None) if marker >= prefix => Bound::Included((bucket, marker, "")),
            _ => Bound::Included((bucket, prefix, "")),
        };
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        for entry in keys.range((start, Bound::Unbounded))? {
            let (k, _) = entry?;
            let (b, key, upload_id) = k.value();
            if b != bucket || !key.starts_with(prefix) {
                break;
            }
            // Without an upload id marker every upload of the marker key itself is skipped.
            if upload_id_marker.is_none() && key_marker == Some(key) {
                continue;
            }
            let stored = uploads.get(upload_id)?.ok_or_else(|| {
                IndexError::Corrupt(format!("listed upload {upload_id} has no record"))
            })?;
            let (record, _) = decode_upload(upload_id, stored.value())?;
            out.push((upload_id.to_owned(), record));
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    /// Removes an upload and all its parts; their chunks lose a reference each.
    pub fn abort_upload(&self, upload_id: &str) -> Result<(), IndexError> {
        self.write(|t| {
            let mut delta = RefDelta::default();
            remove_upload(t, &mut delta, upload_id)?;
            delta.apply(t)
        })
    }

    /// Turns an upload into its object in one transaction: checks the upload exists, evaluates
    /// `precondition` on the current object, stores `record` + `manifest` at the upload's
    /// bucket and key, and removes the upload with all its parts. Chunks the final manifest
    /// reuses keep their references (netted in one delta); chunks of parts left out become
    /// garbage. Returns the replaced object record.
    pub fn complete_upload(
        &self,
        upload_id: &str,
        record: &ObjectRecord,
        manifest: &Manifest,
        precondition: Precondition<'_>,
    ) -> Result<Written, IndexError> {
        let object = EncodedObject::new(record, manifest.clone());
        self.write(|t| {
            let (upload, lock) = current_upload(t, upload_id)?.ok_or(IndexError::NoSuchUpload)?;
            require_bucket(&t.buckets, &upload.bucket)?;
            let mut delta = RefDelta::default();
            let written = write_object(
                t,
                &mut delta,
                &upload.bucket,
                &upload.key,
                &object,
                lock,
                precondition,
            )?;
            remove_upload(t, &mut delta, upload_id)?;
            delta.apply(t)?;
            Ok(written)
        })
    }

    /// Ids of uploads initiated before `cutoff`, oldest first, at most `limit`, for expiry.
    pub fn stale_uploads(
        &self,
        cutoff: UnixMillis,
        limit: usize,
    ) -> Result<Vec<String>, IndexError> {
        let txn = self.read()?;
        let times = txn.open_table(UPLOAD_TIMES)?;
        let mut out = Vec::new();
        let range = (Bound::Unbounded, Bound::Excluded((cutoff, "")));
        for entry in times.range(range)?.take(limit) {
            let (k, _) = entry?;
            out.push(k.value().1.to_owned());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
