//! Bucket versioning and ListObjectVersions: the service's side of S3 versioning. Writes,
//! reads and deletes of versions go through the same calls as unversioned ones (`put`, `get`,
//! `delete`), which take a version id; the index decides what a write or delete does from the
//! bucket's state (`index/chain.rs`).

use crate::index::{ListedVersion, VersionCursor, VersionId, Versioning};

use super::error::ObjectError;
use super::list::{MAX_KEYS, after_all_with, common_prefix};
use super::service::ObjectService;

/// Versions fetched from the index per round trip.
const BATCH: usize = 1000;

/// ListObjectVersions in Floe's terms.
#[derive(Debug, Clone, Default)]
pub struct VersionsRequest {
    pub bucket: String,
    pub prefix: String,
    pub delimiter: Option<String>,
    pub key_marker: Option<String>,
    /// Only with `key_marker`.
    pub version_marker: Option<VersionId>,
    pub max_keys: usize,
}

/// One page of versions, delete markers and common prefixes.
#[derive(Debug, Clone, Default)]
pub struct VersionsPage {
    pub versions: Vec<ListedVersion>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    pub next_key_marker: Option<String>,
    /// Absent when the page ended on a common prefix.
    pub next_version_marker: Option<String>,
}

impl ObjectService {
    pub async fn versioning(&self, bucket: &str) -> Result<Versioning, ObjectError> {
        let b = bucket.to_string();
        Ok(self
            .with_index(move |ix| ix.bucket_settings(&b))
            .await?
            .versioning)
    }

    /// Enables or suspends versioning; a bucket never returns to unversioned.
    pub async fn set_versioning(
        &self,
        bucket: &str,
        versioning: Versioning,
    ) -> Result<(), ObjectError> {
        let b = bucket.to_string();
        self.with_index(move |ix| ix.set_versioning(&b, versioning))
            .await?;
        // The bucket's record changed: on the nodes before it is answered.
        self.replicated().await
    }

    pub async fn list_versions(&self, req: VersionsRequest) -> Result<VersionsPage, ObjectError> {
        self.head_bucket(&req.bucket).await?;
        let max_keys = req.max_keys.min(MAX_KEYS);
        let mut page = VersionsPage::default();
        if max_keys == 0 {
            return Ok(page);
        }
        let delimiter = req.delimiter.clone().filter(|d| !d.is_empty());
        let mut cursor = match (req.key_marker.clone(), req.version_marker) {
            (None, _) => VersionCursor::Start,
            (Some(key), Some(id)) => VersionCursor::AfterVersion(key, id),
            // Resuming after a common prefix means skipping everything under it.
            (Some(key), None) => match &delimiter {
                Some(d) if common_prefix(&key, &req.prefix, d) == Some(key.as_str()) => {
                    VersionCursor::AfterKey(after_all_with(&key))
                }
                _ => VersionCursor::AfterKey(key),
            },
        };
        let mut returned = 0usize;
        loop {
            let batch = self.versions_batch(&req, cursor.clone(), BATCH).await?;
            let exhausted = batch.len() < BATCH;
            let mut iter = batch.into_iter();
            for entry in iter.by_ref() {
                if returned == max_keys {
                    page.is_truncated = true;
                    return Ok(page);
                }
                match delimiter
                    .as_deref()
                    .and_then(|d| common_prefix(&entry.key, &req.prefix, d))
                {
                    Some(cp) => {
                        let cp = cp.to_string();
                        cursor = VersionCursor::AfterKey(after_all_with(&cp));
                        page.next_key_marker = Some(cp.clone());
                        page.next_version_marker = None;
                        page.common_prefixes.push(cp);
                        returned += 1;
                        // The rest of this batch may sit under the same prefix: re-seek past it.
                        break;
                    }
                    None => {
                        let stamp = entry.version.stamp();
                        cursor = VersionCursor::AfterSeq(entry.key.clone(), stamp.seq);
                        page.next_key_marker = Some(entry.key.clone());
                        page.next_version_marker = Some(stamp.id().to_string());
                        page.versions.push(entry);
                        returned += 1;
                    }
                }
            }
            let drained = iter.next().is_none();
            if exhausted && drained {
                if returned == max_keys {
                    page.is_truncated = !self.versions_batch(&req, cursor, 1).await?.is_empty();
                }
                if !page.is_truncated {
                    page.next_key_marker = None;
                    page.next_version_marker = None;
                }
                return Ok(page);
            }
        }
    }

    async fn versions_batch(
        &self,
        req: &VersionsRequest,
        cursor: VersionCursor,
        limit: usize,
    ) -> Result<Vec<ListedVersion>, ObjectError> {
        let (bucket, prefix) = (req.bucket.clone(), req.prefix.clone());
        self.with_index(move |ix| ix.list_versions(&bucket, &prefix, &cursor, limit))
            .await
    }
}
