//! ListObjects (V1 and V2 share it): prefix, delimiter with common prefixes, and paging by an
//! exclusive lower bound. Keys come from the index in UTF-8 byte order.

use crate::index::ObjectRecord;

use super::error::ObjectError;
use super::service::ObjectService;
use super::types::{ListPage, ListRequest};

/// S3 returns at most 1000 keys per page.
pub const MAX_KEYS: usize = 1000;

/// Keys fetched from the index per round trip.
const BATCH: usize = 1000;

/// The smallest string above every string that starts with `prefix` (as far as UTF-8 keys go):
/// used to jump past a whole common prefix in one index seek.
pub(super) fn after_all_with(prefix: &str) -> String {
    format!("{prefix}{}", char::MAX)
}

/// The common prefix `key` rolls up into, if the delimiter occurs after `prefix`.
pub(super) fn common_prefix<'k>(key: &'k str, prefix: &str, delimiter: &str) -> Option<&'k str> {
    let rest = key.get(prefix.len()..)?;
    let at = rest.find(delimiter)?;
    key.get(..prefix.len() + at + delimiter.len())
}

impl ObjectService {
    pub async fn list_objects(&self, req: ListRequest) -> Result<ListPage, ObjectError> {
        self.head_bucket(&req.bucket).await?;
        let max_keys = req.max_keys.min(MAX_KEYS);
        let mut page = ListPage::default();
        if max_keys == 0 {
            return Ok(page);
        }
        let delimiter = req.delimiter.clone().filter(|d| !d.is_empty());
        // Resuming after a common prefix means skipping everything under it.
        let mut after = req.after.clone().map(|a| match &delimiter {
            Some(d) if a.starts_with(&req.prefix) && a.ends_with(d.as_str()) => {
                match common_prefix(&a, &req.prefix, d) {
                    Some(cp) if cp == a => after_all_with(&a),
                    _ => a,
                }
            }
            _ => a,
        });
        let mut returned = 0usize;
        loop {
            let batch = self.batch(&req, after.clone()).await?;
            let exhausted = batch.len() < BATCH;
            let mut iter = batch.into_iter();
            for (key, record) in iter.by_ref() {
                if returned == max_keys {
                    page.is_truncated = true;
                    return Ok(page);
                }
                match delimiter
                    .as_deref()
                    .and_then(|d| common_prefix(&key, &req.prefix, d))
                {
                    Some(cp) if page.common_prefixes.last().map(String::as_str) == Some(cp) => {
                        // A key past the seek target that still rolls up into the last prefix.
                        after = Some(key.clone());
                    }
                    Some(cp) => {
                        let cp = cp.to_string();
                        after = Some(after_all_with(&cp));
                        page.next_after = Some(cp.clone());
                        page.common_prefixes.push(cp);
                        returned += 1;
                        // The rest of this batch may sit under the same prefix: re-seek past it.
                        break;
                    }
                    None => {
                        after = Some(key.clone());
                        page.next_after = Some(key.clone());
                        page.objects.push((key, record));
                        returned += 1;
                    }
                }
            }
            let drained = iter.next().is_none();
            if exhausted && drained {
                // Peek: is anything left after the last entry?
                if returned == max_keys {
                    page.is_truncated = !self.batch_peek(&req, after.clone()).await?;
                }
                if !page.is_truncated {
                    page.next_after = None;
                }
                return Ok(page);
            }
        }
    }

    async fn batch(
        &self,
        req: &ListRequest,
        after: Option<String>,
    ) -> Result<Vec<(String, ObjectRecord)>, ObjectError> {
        let (bucket, prefix) = (req.bucket.clone(), req.prefix.clone());
        self.with_index(move |ix| ix.list_objects(&bucket, &prefix, after.as_deref(), BATCH))
            .await
    }

    /// True when nothing follows `after`.
    async fn batch_peek(
        &self,
        req: &ListRequest,
        after: Option<String>,
    ) -> Result<bool, ObjectError> {
        let (bucket, prefix) = (req.bucket.clone(), req.prefix.clone());
        let next = self
            .with_index(move |ix| ix.list_objects(&bucket, &prefix, after.as_deref(), 1))
            .await?;
        Ok(next.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefixes() {
        assert_eq!(common_prefix("a/b/c", "", "/"), Some("a/"));
        assert_eq!(common_prefix("a/b/c", "a/", "/"), Some("a/b/"));
        assert_eq!(common_prefix("a/b", "a/b", "/"), None);
        assert_eq!(common_prefix("photos//x", "photos/", "/"), Some("photos//"));
        assert!(after_all_with("a/").as_str() > "a/zzz");
        assert!(after_all_with("a/").as_str() < "a0");
    }
}
