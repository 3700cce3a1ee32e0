//! `GET /admin/versions?bucket=B&key=K`: every version and delete marker of one key, newest
//! first, with its lock, for `floe admin versions` (what an operator looks at before removing
//! anything); and `DELETE /admin/versions?...&version=V`, `floe admin delete-version`, which
//! removes one version as S3 would, so a retention or legal hold refuses it here too.

use serde::{Deserialize, Serialize};

use crate::index::{Index, IndexError, Version, VersionCursor, VersionId};

/// One version of a key, as the admin API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionLine {
    pub version_id: String,
    pub is_latest: bool,
    pub delete_marker: bool,
    /// Zero for a marker.
    pub size: u64,
    /// Empty for a marker.
    pub etag: String,
    pub modified: i64,
    /// `GOVERNANCE` or `COMPLIANCE`, with a retention.
    #[serde(default)]
    pub retention_mode: Option<String>,
    /// Retained until (ms since the epoch), with a retention.
    #[serde(default)]
    pub retain_until: Option<i64>,
    #[serde(default)]
    pub legal_hold: bool,
}

/// What `DELETE /admin/versions` removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedVersion {
    pub version_id: String,
    /// Whether anything was there to remove.
    pub removed: bool,
    pub delete_marker: bool,
}

/// Versions fetched per index read.
const PAGE: usize = 1000;

/// Every version of `bucket/key`, newest first.
pub fn versions_of(index: &Index, bucket: &str, key: &str) -> Result<Vec<VersionLine>, IndexError> {
    let mut out = Vec::new();
    let mut cursor = VersionCursor::Start;
    loop {
        // The listing walks keys from `key` on: what follows it under the same prefix is
        // another key.
        let page = index.list_versions(bucket, key, &cursor, PAGE)?;
        let full = page.len() == PAGE;
        let mut last = None;
        for listed in page {
            last = Some((listed.key.clone(), listed.version.stamp().seq));
            if listed.key != key {
                return Ok(out);
            }
            let stamp = listed.version.stamp();
            let retention = stamp.lock.retention;
            let mut line = VersionLine {
                version_id: stamp.id().to_string(),
                is_latest: listed.is_latest,
                delete_marker: false,
                size: 0,
                etag: String::new(),
                modified: 0,
                retention_mode: retention.map(|r| r.mode.as_str().to_owned()),
                retain_until: retention.map(|r| r.until),
                legal_hold: stamp.lock.legal_hold,
            };
            match listed.version {
                Version::Object(_, record) => {
                    line.size = record.size;
                    line.etag = record.etag;
                    line.modified = record.modified;
                }
                Version::Marker(_, marker) => {
                    line.delete_marker = true;
                    line.modified = marker.modified;
                }
            }
            out.push(line);
        }
        match (full, last) {
            (true, Some((k, seq))) => cursor = VersionCursor::AfterSeq(k, seq),
            _ => return Ok(out),
        }
    }
}

/// Removes version `version` of `bucket/key` for good, unless its lock forbids it.
pub fn delete_version(
    index: &Index,
    bucket: &str,
    key: &str,
    version: &str,
    bypass_governance: bool,
) -> Result<DeletedVersion, IndexError> {
    let id: VersionId = version.parse().map_err(|_| IndexError::NoSuchVersion)?;
    let removed = index.delete_version(bucket, key, id, bypass_governance)?;
    Ok(DeletedVersion {
        version_id: id.to_string(),
        removed: removed.record.is_some() || removed.marker,
        delete_marker: removed.marker,
    })
}
