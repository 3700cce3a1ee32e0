//! ListObjectVersions' walk: every version and delete marker of a bucket's keys under a prefix,
//! keys in byte order, each key's versions newest first.
//!
//! A key's versions sit in two tables (see `chain`): its current object in `objects`, the rest
//! in `object_versions`, both ordered by (bucket, key, ...). The walk merges one range scan of
//! each, so a page costs what it returns: it starts right after the cursor in both tables and
//! never reads the versions it skips.

use std::iter::Peekable;
use std::ops::Bound;

use super::buckets::require_bucket;
use super::chain::rank;
use super::kv::bound::{KeyGuard, RangeIter, ReadCell};
use super::kv::key::{KeyType, Str};
use super::kv::table::Bytes;
use super::object_entry::decode_version_head;
use super::objects::{Version, read_chain};
use super::store::BUCKETS;
use super::versioning::VersionId;
use super::{Index, IndexError};

/// Where a listing resumes: strictly after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionCursor {
    Start,
    /// After every version of this key (S3's `key-marker` alone).
    AfterKey(String),
    /// After this version of this key (`key-marker` with `version-id-marker`).
    AfterVersion(String, VersionId),
    /// After the version of this key with this sequence number (where a page ended).
    AfterSeq(String, u64),
}

/// One entry of a version listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedVersion {
    pub key: String,
    pub version: Version,
    /// The key's newest version (exactly one per key).
    pub is_latest: bool,
}

type Scan<'c, K> = Peekable<RangeIter<'c, K, Bytes, ReadCell>>;

/// The key of the next row of `scan` that is still in `bucket` under `prefix`.
fn peek_key<K: KeyType>(
    scan: &mut Scan<'_, K>,
    bucket: &str,
    prefix: &str,
    key_of: impl Fn(&KeyGuard<K>) -> (&str, &str),
) -> Result<Option<String>, IndexError> {
    match scan.peek() {
        None => Ok(None),
        Some(Err(_)) => match scan.next() {
            Some(Err(e)) => Err(e),
            _ => Ok(None),
        },
        Some(Ok((k, _))) => {
            let (b, key) = key_of(k);
            Ok((b == bucket && key.starts_with(prefix)).then(|| key.to_owned()))
        }
    }
}

impl Index {
    /// Up to `limit` versions and markers of `bucket` whose keys start with `prefix`, strictly
    /// after `after`, in ListObjectVersions order.
    pub fn list_versions(
        &self,
        bucket: &str,
        prefix: &str,
        after: &VersionCursor,
        limit: usize,
    ) -> Result<Vec<ListedVersion>, IndexError> {
        let txn = self.read()?;
        require_bucket(&txn.open_table(BUCKETS)?, bucket)?;
        read_chain!(txn, chain);
        // Resuming after a version of a key: where that version sits, by sequence number. A
        // null version since removed leaves nothing to resume within: the key is done.
        let after = match after {
            VersionCursor::AfterVersion(key, VersionId::Null) => {
                match chain.find(bucket, key, VersionId::Null)? {
                    Some((_, found)) => Some((key.as_str(), Some(found.stamp().seq))),
                    None => Some((key.as_str(), None)),
                }
            }
            VersionCursor::AfterVersion(key, VersionId::Seq(seq)) => {
                Some((key.as_str(), Some(*seq)))
            }
            VersionCursor::AfterSeq(key, seq) => Some((key.as_str(), Some(*seq))),
            VersionCursor::AfterKey(key) => Some((key.as_str(), None)),
            VersionCursor::Start => None,
        }
        .filter(|(key, _)| *key >= prefix);
        let (objects_from, versions_from) = match after {
            None => (
                Bound::Included((bucket, prefix)),
                Bound::Included((bucket, prefix, 0)),
            ),
            Some((key, None)) => (
                Bound::Excluded((bucket, key)),
                Bound::Excluded((bucket, key, u64::MAX)),
            ),
            // The current object is the newest version: always before any version resumed after.
            Some((key, Some(seq))) => (
                Bound::Excluded((bucket, key)),
                Bound::Excluded((bucket, key, rank(seq))),
            ),
        };
        let resumed_key = after.map(|(key, _)| key);
        let mut objects: Scan<'_, (Str, Str)> = chain
            .objects
            .range((objects_from, Bound::Unbounded))?
            .peekable();
        let mut versions: Scan<'_, (Str, Str, u64)> = chain
            .versions
            .range((versions_from, Bound::Unbounded))?
            .peekable();
        let mut out: Vec<ListedVersion> = Vec::new();
        while out.len() < limit {
            let next_object = peek_key(&mut objects, bucket, prefix, |k| k.value())?;
            let next_version = peek_key(&mut versions, bucket, prefix, |k| {
                let (b, key, _) = k.value();
                (b, key)
            })?;
            // A key's current object comes before its other versions.
            let from_objects = match (&next_object, &next_version) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some(o), Some(v)) => o <= v,
            };
            let (key, value) = match from_objects {
                true => (next_object, objects.next().map(|row| row.map(|(_, v)| v))),
                false => (next_version, versions.next().map(|row| row.map(|(_, v)| v))),
            };
            let (Some(key), Some(value)) = (key, value.transpose()?) else {
                break;
            };
            let what = format_args!("a version of {bucket}/{key}");
            let version = decode_version_head(what, value.value())?;
            let is_latest = from_objects
                || (out.last().is_none_or(|last| last.key != key)
                    && resumed_key != Some(key.as_str()));
            out.push(ListedVersion {
                key,
                version,
                is_latest,
            });
        }
        Ok(out)
    }
}
