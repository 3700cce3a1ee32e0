//! Lifecycle rules as the index keeps them (in a bucket's configuration), and what the
//! lifecycle engine reads and remembers: the buckets that have rules, the multipart uploads
//! initiated in a time window (oldest first, through `upload_times`, so the cost follows the
//! uploads that are old, not the bucket's size), and its cursor.
//!
//! The cursor is an initiation time before which every upload has been settled for good under
//! the current rules (aborted, or matched by no rule). Any change of any bucket's rules resets
//! it, so a new rule sees old uploads.

use std::ops::Bound;

use super::store::{BUCKET_CONFIG, META, UPLOAD_TIMES, UPLOADS};
use super::uploads::decode_upload;
use super::{Index, IndexError, LifecycleRule, UnixMillis};

/// Key in `meta` of the lifecycle engine's upload cursor (ms).
const UPLOAD_CURSOR: &str = "lifecycle_upload_cursor";
/// Key in `meta` of the rules' generation: bumped, and the cursor reset, in the transaction
/// that changes any bucket's rules, so a run under older rules cannot move the cursor.
const GENERATION: &str = "lifecycle_generation";

/// Starts the engine over in `t`'s transaction: `bucket`'s rules changed to `rules`. Uploads
/// are looked at again from the oldest, and the bucket's keys walked again.
pub(super) fn rules_changed(
    t: &mut super::store::Tables<'_>,
    bucket: &str,
    rules: Option<&[LifecycleRule]>,
) -> Result<(), IndexError> {
    super::lifecycle_due::rules_changed(t, bucket, rules)?;
    let generation = t.meta.get(GENERATION)?.map(|v| v.value()).unwrap_or(0);
    t.meta.insert(GENERATION, generation.wrapping_add(1))?;
    t.meta.insert(UPLOAD_CURSOR, 0)?;
    Ok(())
}

/// What a run starts from, read from one snapshot.
#[derive(Debug, Clone, Default)]
pub struct LifecycleState {
    pub rules: Vec<(String, Vec<LifecycleRule>)>,
    pub generation: u64,
    pub cursor: UnixMillis,
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
    /// Every bucket's rules, the rules' generation and the cursor, as of one snapshot.
    pub fn lifecycle_state(&self) -> Result<LifecycleState, IndexError> {
        let txn = self.read()?;
        let meta = txn.open_table(META)?;
        let value =
            |key| -> Result<u64, IndexError> { Ok(meta.get(key)?.map(|v| v.value()).unwrap_or(0)) };
        let generation = value(GENERATION)?;
        let cursor = i64::try_from(value(UPLOAD_CURSOR)?).unwrap_or(i64::MAX);
        let table = txn.open_table(BUCKET_CONFIG)?;
        let mut out = Vec::new();
        for entry in table.range(..)? {
            let (name, value) = entry?;
            let name = name.value().to_owned();
            let config = super::bucket_config::decode_config(&name, value.value())?;
            if let Some(rules) = config.lifecycle.filter(|r| !r.is_empty()) {
                out.push((name, rules));
            }
        }
        Ok(LifecycleState {
            rules: out,
            generation,
            cursor,
        })
    }

    /// Up to `limit` uploads initiated before `before`, oldest first, from `from` on: a time
    /// (inclusive), or after a time and upload id (the last of the previous page).
    pub fn uploads_initiated(
        &self,
        from: (UnixMillis, Option<&str>),
        before: UnixMillis,
        limit: usize,
    ) -> Result<Vec<AgedUpload>, IndexError> {
        let txn = self.read()?;
        let times = txn.open_table(UPLOAD_TIMES)?;
        let uploads = txn.open_table(UPLOADS)?;
        let start = match from {
            (at, Some(id)) => Bound::Excluded((at, id)),
            (at, None) => Bound::Included((at, "")),
        };
        let range = (start, Bound::Excluded((before, "")));
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

    /// Moves the cursor forward to `at`, if the rules are still those of `generation` (a run
    /// under rules changed meanwhile must not move it); whether it moved.
    pub fn advance_lifecycle_cursor(
        &self,
        at: UnixMillis,
        generation: u64,
    ) -> Result<bool, IndexError> {
        let at = u64::try_from(at).unwrap_or(0);
        self.write(|t| {
            let current = t.meta.get(GENERATION)?.map(|v| v.value()).unwrap_or(0);
            let now = t.meta.get(UPLOAD_CURSOR)?.map(|v| v.value()).unwrap_or(0);
            if current != generation || at <= now {
                return Ok(false);
            }
            t.meta.insert(UPLOAD_CURSOR, at)?;
            Ok(true)
        })
    }
}
