//! `GET /admin/versions?bucket=B&key=K`: every version and delete marker of one key, newest
//! first, for `floe admin versions` (what an operator looks at before removing anything).

use serde::{Deserialize, Serialize};

use crate::index::{Index, IndexError, Version, VersionCursor};

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
            out.push(match listed.version {
                Version::Object(_, record) => VersionLine {
                    version_id: stamp.id().to_string(),
                    is_latest: listed.is_latest,
                    delete_marker: false,
                    size: record.size,
                    etag: record.etag,
                    modified: record.modified,
                },
                Version::Marker(_, marker) => VersionLine {
                    version_id: stamp.id().to_string(),
                    is_latest: listed.is_latest,
                    delete_marker: true,
                    size: 0,
                    etag: String::new(),
                    modified: marker.modified,
                },
            });
        }
        match (full, last) {
            (true, Some((k, seq))) => cursor = VersionCursor::AfterSeq(k, seq),
            _ => return Ok(out),
        }
    }
}
