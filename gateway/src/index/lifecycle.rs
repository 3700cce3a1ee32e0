//! Lifecycle rules as the index keeps them (in a bucket's configuration), and what the
//! lifecycle engine reads and remembers: the buckets that have rules, the multipart uploads
//! initiated in a time window (oldest first, through `upload_times`, so the cost follows the
//! uploads that are old, not the bucket's size), and its cursor.
//!
//! The cursor is an initiation time before which every upload has been settled for good under
//! the current rules (aborted, or matched by no rule). Any change of any bucket's rules resets
//! it, so a new rule sees old uploads.

use std::ops::Bound;

use serde::{Deserialize, Serialize};

use super::store::{BUCKET_CONFIG, META, UPLOAD_TIMES, UPLOADS, decode};
use super::uploads::decode_upload;
use super::{BucketConfig, Index, IndexError, UnixMillis};

/// Key in `meta` of the lifecycle engine's upload cursor (ms).
const UPLOAD_CURSOR: &str = "lifecycle_upload_cursor";

/// Which objects (or uploads) a rule applies to: all of these must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleFilter {
    pub prefix: String,
    pub tags: Vec<(String, String)>,
    pub size_greater_than: Option<u64>,
    pub size_less_than: Option<u64>,
}

/// One rule, as PutBucketLifecycleConfiguration gave it (after S3's validation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleRule {
    pub id: String,
    pub enabled: bool,
    pub filter: LifecycleFilter,
    /// AbortIncompleteMultipartUpload's DaysAfterInitiation.
    pub abort_upload_days: Option<u32>,
}

/// An upload the engine looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgedUpload {
    pub id: String,
    pub initiated: UnixMillis,
    pub bucket: String,
    pub key: String,
}

impl Index {
    /// Every bucket with lifecycle rules, and its rules.
    pub fn lifecycle_rules(&self) -> Result<Vec<(String, Vec<LifecycleRule>)>, IndexError> {
        let txn = self.read()?;
        let table = txn.open_table(BUCKET_CONFIG)?;
        let mut out = Vec::new();
        for entry in table.range(..)? {
            let (name, value) = entry?;
            let name = name.value().to_owned();
            let config: BucketConfig = decode(
                format_args!("configuration of bucket {name}"),
                value.value(),
            )?;
            if let Some(rules) = config.lifecycle.filter(|r| !r.is_empty()) {
                out.push((name, rules));
            }
        }
        Ok(out)
    }

    /// Up to `limit` uploads initiated at `from` or later and before `before`, oldest first.
    pub fn uploads_initiated(
        &self,
        from: UnixMillis,
        before: UnixMillis,
        limit: usize,
    ) -> Result<Vec<AgedUpload>, IndexError> {
        let txn = self.read()?;
        let times = txn.open_table(UPLOAD_TIMES)?;
        let uploads = txn.open_table(UPLOADS)?;
        let range = (Bound::Included((from, "")), Bound::Excluded((before, "")));
        let mut out = Vec::new();
        for entry in times.range(range)?.take(limit) {
            let (k, _) = entry?;
            let (initiated, id) = k.value();
            let Some(stored) = uploads.get(id)? else {
                continue;
            };
            let (record, _) = decode_upload(id, stored.value())?;
            out.push(AgedUpload {
                id: id.to_owned(),
                initiated,
                bucket: record.bucket,
                key: record.key,
            });
        }
        Ok(out)
    }

    /// The engine's upload cursor (0 at first, and after any rule change).
    pub fn lifecycle_upload_cursor(&self) -> Result<UnixMillis, IndexError> {
        let txn = self.read()?;
        let meta = txn.open_table(META)?;
        let value = meta.get(UPLOAD_CURSOR)?.map(|v| v.value()).unwrap_or(0);
        Ok(i64::try_from(value).unwrap_or(i64::MAX))
    }

    /// Moves the cursor to `at` (never back: a reset is [`Index::reset_lifecycle_cursor`]).
    pub fn advance_lifecycle_cursor(&self, at: UnixMillis) -> Result<(), IndexError> {
        let at = u64::try_from(at).unwrap_or(0);
        self.write(|t| {
            let now = t.meta.get(UPLOAD_CURSOR)?.map(|v| v.value()).unwrap_or(0);
            if at > now {
                t.meta.insert(UPLOAD_CURSOR, at)?;
            }
            Ok(())
        })
    }

    /// Back to the start: rules changed, so settled uploads may match now.
    pub fn reset_lifecycle_cursor(&self) -> Result<(), IndexError> {
        self.write(|t| {
            t.meta.insert(UPLOAD_CURSOR, 0)?;
            Ok(())
        })
    }
}
