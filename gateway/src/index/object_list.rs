//! Listing the current objects of a bucket, and counting them.

use std::ops::Bound;

use super::buckets::require_bucket;
use super::object_entry::decode_entry_record;
use super::store::{BUCKETS, OBJECT_COUNTS, OBJECTS};
use super::{Index, IndexError, ObjectRecord};

impl Index {
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
