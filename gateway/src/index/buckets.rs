//! Buckets: creation, lookup, listing and deletion of empty buckets.
//!
//! A bucket is "empty" for deletion only when it holds neither objects nor in-progress multipart
//! uploads: deleting it under a live upload would leave that upload's parts unreachable.
//!
//! A bucket's value is its [`BucketRecord`], followed by its [`BucketSettings`] once any was
//! set (versioning), and then by its [`BucketLock`] once object lock is enabled; no bytes after
//! the record mean the defaults. Writes read the settings from
//! the row they read anyway to check the bucket exists.

use std::ops::Bound;

use super::chain::has_noncurrent;
use super::journal::{RecordKind, note_change};
use super::kv::bound::{BoundTable, Source};
use super::kv::key::Str;
use super::kv::table::Bytes;
use super::lock::BucketLock;
use super::records::decode_record_prefix;
use super::store::{BUCKETS, Tables, decode};
use super::versioning::{BucketSettings, Versioning};
use super::{BucketRecord, Index, IndexError, encode_record};

/// A bucket's record and settings from its stored value.
pub(super) fn decode_bucket(
    name: &str,
    value: &[u8],
) -> Result<(BucketRecord, BucketSettings), IndexError> {
    let what = format_args!("bucket {name}");
    let (record, rest) = decode_record_prefix(value).map_err(|e| IndexError::corrupt(what, e))?;
    if rest.is_empty() {
        return Ok((record, BucketSettings::default()));
    }
    let (mut settings, lock): (BucketSettings, _) =
        decode_record_prefix(rest).map_err(|e| IndexError::corrupt(what, e))?;
    if !lock.is_empty() {
        settings.lock = Some(decode(what, lock)?);
    }
    Ok((record, settings))
}

/// A bucket's stored value.
pub(super) fn encode_bucket(record: &BucketRecord, settings: &BucketSettings) -> Vec<u8> {
    let mut out = encode_record(record);
    if *settings != BucketSettings::default() {
        out.extend_from_slice(&encode_record(settings));
        if let Some(lock) = &settings.lock {
            out.extend_from_slice(&encode_record(lock));
        }
    }
    out
}

/// The settings of bucket `name`; `NoSuchBucket` if it is absent.
pub(super) fn bucket_settings<C: Source + ?Sized>(
    buckets: &BoundTable<'_, Str, Bytes, C>,
    name: &str,
) -> Result<BucketSettings, IndexError> {
    match buckets.get(name)? {
        Some(v) => Ok(decode_bucket(name, v.value())?.1),
        None => Err(IndexError::NoSuchBucket),
    }
}

/// `NoSuchBucket` unless `name` exists; works on read and write tables alike.
pub(super) fn require_bucket<C: Source + ?Sized>(
    buckets: &BoundTable<'_, Str, Bytes, C>,
    name: &str,
) -> Result<(), IndexError> {
    match buckets.get(name)? {
        Some(_) => Ok(()),
        None => Err(IndexError::NoSuchBucket),
    }
}

/// Whether bucket `name` holds neither objects nor in-progress uploads.
pub(super) fn bucket_is_empty(t: &Tables<'_>, name: &str) -> Result<bool, IndexError> {
    // Both tables are keyed by bucket first, so the first entry at or after (name, "") tells
    // whether the bucket has any.
    let first_object = t
        .objects
        .range((Bound::Included((name, "")), Bound::Unbounded))?
        .next()
        .transpose()?;
    if first_object.is_some_and(|(k, _)| k.value().0 == name) || has_noncurrent(t, name)? {
        return Ok(false);
    }
    let first_upload = t
        .upload_keys
        .range((Bound::Included((name, "", "")), Bound::Unbounded))?
        .next()
        .transpose()?;
    Ok(first_upload.is_none_or(|(k, _)| k.value().0 != name))
}

impl Index {
    /// Creates a bucket; `BucketAlreadyExists` if the name is taken.
    pub fn create_bucket(&self, name: &str, record: &BucketRecord) -> Result<(), IndexError> {
        self.create_bucket_with(name, record, &BucketSettings::default())
    }

    /// Creates a bucket with `settings` from the start (object lock can only be enabled on a
    /// versioned bucket, and CreateBucket may ask for both at once).
    pub fn create_bucket_with(
        &self,
        name: &str,
        record: &BucketRecord,
        settings: &BucketSettings,
    ) -> Result<(), IndexError> {
        self.create_owned_bucket(name, record, settings, None)
    }

    /// Creates a bucket owned by user `owner` (`None`: the root key's).
    pub fn create_owned_bucket(
        &self,
        name: &str,
        record: &BucketRecord,
        settings: &BucketSettings,
        owner: Option<&str>,
    ) -> Result<(), IndexError> {
        self.write(|t| {
            if t.buckets.get(name)?.is_some() {
                return Err(IndexError::BucketAlreadyExists);
            }
            t.buckets
                .insert(name, encode_bucket(record, settings).as_slice())?;
            if let Some(owner) = owner {
                let access = super::BucketAccess {
                    owner: Some(owner.to_owned()),
                    ..Default::default()
                };
                t.bucket_access
                    .insert(name, encode_record(&access).as_slice())?;
            }
            note_change(t, RecordKind::Bucket, name, "", true)?;
            Ok(())
        })
    }

    pub fn bucket(&self, name: &str) -> Result<Option<BucketRecord>, IndexError> {
        let txn = self.read()?;
        let buckets = txn.open_table(BUCKETS)?;
        let stored = buckets.get(name)?;
        stored
            .map(|v| Ok(decode_bucket(name, v.value())?.0))
            .transpose()
    }

    /// The settings of bucket `name`; `NoSuchBucket` if it is absent.
    pub fn bucket_settings(&self, name: &str) -> Result<BucketSettings, IndexError> {
        let txn = self.read()?;
        bucket_settings(&txn.open_table(BUCKETS)?, name)
    }

    /// Enables or suspends versioning of bucket `name`. A bucket never returns to unversioned.
    pub fn set_versioning(&self, name: &str, versioning: Versioning) -> Result<(), IndexError> {
        if versioning == Versioning::Unversioned {
            return Err(IndexError::InvalidBucketState(
                "a bucket cannot return to unversioned".into(),
            ));
        }
        self.change_settings(name, |settings| {
            if settings.lock.is_some() && versioning != Versioning::Enabled {
                return Err(IndexError::InvalidBucketState(
                    "an Object Lock configuration is present on this bucket, so versioning \
                     cannot be suspended"
                        .into(),
                ));
            }
            settings.versioning = versioning;
            Ok(())
        })
    }

    /// Enables object lock on bucket `name` (never undone) with `lock`'s default retention.
    /// The bucket's versioning must be enabled, as S3 requires.
    pub fn set_object_lock(&self, name: &str, lock: BucketLock) -> Result<(), IndexError> {
        self.change_settings(name, |settings| {
            if settings.versioning != Versioning::Enabled {
                return Err(IndexError::InvalidBucketState(
                    "versioning must be 'Enabled' on the bucket to apply an Object Lock \
                     configuration"
                        .into(),
                ));
            }
            settings.lock = Some(lock);
            Ok(())
        })
    }

    /// Applies `change` to the settings of bucket `name`, storing and journaling them only if
    /// they changed.
    fn change_settings(
        &self,
        name: &str,
        change: impl Fn(&mut BucketSettings) -> Result<(), IndexError>,
    ) -> Result<(), IndexError> {
        self.write(|t| {
            let stored = t.buckets.get(name)?.ok_or(IndexError::NoSuchBucket)?;
            let (record, settings) = decode_bucket(name, stored.value())?;
            drop(stored);
            let mut changed = settings.clone();
            change(&mut changed)?;
            if changed == settings {
                return Ok(());
            }
            t.buckets
                .insert(name, encode_bucket(&record, &changed).as_slice())?;
            note_change(t, RecordKind::Bucket, name, "", true)?;
            Ok(())
        })
    }

    /// Every bucket, sorted by name (byte order).
    pub fn list_buckets(&self) -> Result<Vec<(String, BucketRecord)>, IndexError> {
        let txn = self.read()?;
        let buckets = txn.open_table(BUCKETS)?;
        let mut out = Vec::with_capacity(usize::try_from(buckets.len()?).unwrap_or(0));
        for entry in buckets.range(..)? {
            let (name, record) = entry?;
            let name = name.value();
            out.push((name.to_owned(), decode_bucket(name, record.value())?.0));
        }
        Ok(out)
    }

    /// Deletes an empty bucket: `NoSuchBucket`, or `BucketNotEmpty` while it holds an object or
    /// an in-progress upload.
    pub fn delete_bucket(&self, name: &str) -> Result<(), IndexError> {
        self.write(|t| {
            require_bucket(&t.buckets, name)?;
            if !bucket_is_empty(t, name)? {
                return Err(IndexError::BucketNotEmpty);
            }
            t.buckets.remove(name)?;
            t.object_counts.remove(name)?;
            t.bucket_access.remove(name)?;
            t.bucket_config.remove(name)?;
            note_change(t, RecordKind::Bucket, name, "", false)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::index::testkit::*;

    #[test]
    fn create_duplicate_and_lookup() {
        let (_dir, index) = temp_index();
        assert_eq!(index.bucket("photos").unwrap(), None);
        index.create_bucket("photos", &bucket_record()).unwrap();
        assert_eq!(index.bucket("photos").unwrap(), Some(bucket_record()));
        let again = BucketRecord {
            created: 5,
            region: "eu-west-1".into(),
        };
        assert!(matches!(
            index.create_bucket("photos", &again),
            Err(IndexError::BucketAlreadyExists)
        ));
        // The losing create changed nothing.
        assert_eq!(index.bucket("photos").unwrap(), Some(bucket_record()));
    }

    #[test]
    fn list_is_sorted_by_name() {
        let (_dir, index) = temp_index();
        for name in ["zeta", "alpha", "mid-1", "mid", "Alpha"] {
            index.create_bucket(name, &bucket_record()).unwrap();
        }
        let names: Vec<String> = index
            .list_buckets()
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["Alpha", "alpha", "mid", "mid-1", "zeta"]);
    }

    #[test]
    fn delete_refuses_objects_and_uploads() {
        let (_dir, index) = temp_index();
        assert!(matches!(
            index.delete_bucket("nope"),
            Err(IndexError::NoSuchBucket)
        ));
        // Neighbouring buckets must not count as contents.
        for name in ["a", "b", "c"] {
            index.create_bucket(name, &bucket_record()).unwrap();
        }
        index
            .put_object("a", "k", &object_record("e"), &manifest(&[1]), always)
            .unwrap();
        index
            .put_object("c", "k", &object_record("e"), &manifest(&[1]), always)
            .unwrap();

        index
            .put_object("b", "x", &object_record("e"), &manifest(&[2]), always)
            .unwrap();
        assert!(matches!(
            index.delete_bucket("b"),
            Err(IndexError::BucketNotEmpty)
        ));
        index.delete_object("b", "x").unwrap();

        index
            .create_upload("u1", &upload_record("b", "big", 10))
            .unwrap();
        assert!(matches!(
            index.delete_bucket("b"),
            Err(IndexError::BucketNotEmpty)
        ));
        index.abort_upload("u1").unwrap();

        index.delete_bucket("b").unwrap();
        assert_eq!(index.bucket("b").unwrap(), None);
        assert!(matches!(
            index.object("b", "x"),
            Err(IndexError::NoSuchBucket)
        ));
        let names: Vec<String> = index
            .list_buckets()
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["a", "c"]);
    }

    #[test]
    fn corrupt_bucket_record_is_reported() {
        let (_dir, index) = temp_index();
        index
            .write(|t| {
                t.buckets.insert("bad", [0xff, 1, 2].as_slice())?;
                Ok(())
            })
            .unwrap();
        assert!(matches!(index.bucket("bad"), Err(IndexError::Corrupt(_))));
        assert!(matches!(index.list_buckets(), Err(IndexError::Corrupt(_))));
    }
}
