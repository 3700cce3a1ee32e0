//! GetObject and HeadObject: conditions, `Range`, `partNumber`, and the body stream.

use std::sync::Arc;

use bytes::Bytes;
use floe_codec::{Body, ByteRange, Manifest};
use futures::StreamExt;

use crate::index::{IndexError, ObjectLock, ObjectRecord, Version, VersionId, VersionStamp};

use super::conditions::check_read;
use super::error::ObjectError;
use super::service::ObjectService;
use super::types::{ByteStream, GetRequest, ObjectBody, ObjectView, RangeSpec};

/// The object version a read found.
pub(super) struct Found {
    pub record: ObjectRecord,
    pub manifest: Manifest,
    /// The id to report in `x-amz-version-id` (none for an object of an unversioned bucket).
    pub version: Option<String>,
    /// Its retention and legal hold.
    pub lock: ObjectLock,
    /// Its lifecycle expiry (current versions only).
    pub expiration: Option<(i64, String)>,
}

/// The object version a lookup found, with its manifest when asked for.
pub(super) struct Located {
    pub record: ObjectRecord,
    pub manifest: Option<Manifest>,
    /// As [`Found::version`].
    pub version: Option<String>,
    pub lock: ObjectLock,
    pub expiration: Option<(i64, String)>,
}

impl ObjectService {
    pub async fn get_object(&self, req: GetRequest) -> Result<ObjectBody, ObjectError> {
        if let Some((record, bytes)) = self.sosapi_file(&req.bucket, &req.key).await? {
            let view = view(&req, record, None, ObjectLock::NONE)?;
            let (start, end) = match view.range {
                Some((first, last)) => (first as usize, last as usize + 1),
                None => (0, bytes.len()),
            };
            let start = start.min(bytes.len());
            let piece = bytes.slice(start..end.clamp(start, bytes.len()));
            let body = Box::pin(futures::stream::once(async move { Ok(piece) }));
            return Ok(ObjectBody { view, body });
        }
        let found = self.load(&req.bucket, &req.key, req.version).await?;
        let mut view = view(&req, found.record, found.version, found.lock)?;
        view.expiration = found.expiration;
        let range = match view.range {
            Some((first, last)) => ByteRange {
                start: first,
                end: last + 1,
            },
            None => ByteRange {
                start: 0,
                end: view.record.size,
            },
        };
        let body = self.body_stream(found.manifest, range).await;
        Ok(ObjectBody { view, body })
    }

    pub async fn head_object(&self, req: GetRequest) -> Result<ObjectView, ObjectError> {
        if let Some((record, _)) = self.sosapi_file(&req.bucket, &req.key).await? {
            return view(&req, record, None, ObjectLock::NONE);
        }
        let found = self.find(&req.bucket, &req.key, req.version, false).await?;
        let mut view = view(&req, found.record, found.version, found.lock)?;
        view.expiration = found.expiration;
        Ok(view)
    }

    /// Version `version` of an object, or its newest version (with its manifest when
    /// `with_manifest`); a delete marker is an error that says so.
    pub(super) async fn find(
        &self,
        bucket: &str,
        key: &str,
        version: Option<VersionId>,
        with_manifest: bool,
    ) -> Result<Located, ObjectError> {
        let (b, k) = (bucket.to_string(), key.to_string());
        let found = self
            .with_index(move |ix| ix.object_version(&b, &k, version, with_manifest))
            .await?;
        let Some(found) = found else {
            return Err(match version {
                Some(_) => ObjectError::NoSuchVersion,
                None => ObjectError::NoSuchKey,
            });
        };
        let reported = reported_version(found.version.stamp(), found.versioned);
        match found.version {
            Version::Object(stamp, record) => Ok(Located {
                record,
                manifest: found.manifest,
                version: reported,
                lock: stamp.lock,
                expiration: found.expiration,
            }),
            Version::Marker(..) => Err(ObjectError::DeleteMarker {
                version: reported,
                named: version.is_some(),
            }),
        }
    }

    /// Record and manifest of an existing object version (without `version`, the newest). An
    /// entry that fails its check (an inline body that no longer matches its hash) is never
    /// served: the current object is read from the nodes' copy of its record instead, and
    /// repaired.
    pub(super) async fn load(
        &self,
        bucket: &str,
        key: &str,
        version: Option<VersionId>,
    ) -> Result<Found, ObjectError> {
        match self.find(bucket, key, version, true).await {
            Ok(Located {
                record,
                manifest: Some(manifest),
                version,
                lock,
                expiration,
            }) => Ok(Found {
                record,
                manifest,
                version,
                lock,
                expiration,
            }),
            Ok(Located { manifest: None, .. }) => Err(ObjectError::Internal(
                "the index returned no manifest".into(),
            )),
            Err(ObjectError::Index(why @ IndexError::Corrupt(_))) if version.is_none() => {
                tracing::error!(
                    bucket,
                    key,
                    error = %why,
                    "object entry damaged; reading a node copy"
                );
                match self.recover_object(bucket, key).await {
                    // The node copy of a null version's record: the lock a rebuild would
                    // restore is the one the index lost, so report none rather than guess.
                    Some((record, manifest)) => Ok(Found {
                        record,
                        manifest,
                        version: None,
                        lock: ObjectLock::NONE,
                        expiration: None,
                    }),
                    None => Err(ObjectError::Index(why)),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Streams `range` of an object's bytes: inline bytes directly, chunks through the cache.
    pub(super) async fn body_stream(&self, manifest: Manifest, range: ByteRange) -> ByteStream {
        let manifest_size = manifest.size;
        match manifest.body {
            Body::Inline(data) | Body::VerifiedInline { data, .. } => {
                let data = Bytes::from(data);
                let end = (range.end as usize).min(data.len());
                let start = (range.start as usize).min(end);
                let piece = data.slice(start..end);
                Box::pin(futures::stream::once(async move { Ok(piece) }))
            }
            Body::Chunks(chunks) => {
                let chunks: Arc<[_]> = chunks.into();
                Box::pin(
                    self.reader
                        .read_range(chunks, range, manifest_size)
                        .await
                        .map(|r| {
                            r.map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
                        }),
                )
            }
        }
    }
}

/// The id S3 reports for a version: a null version only once its bucket has been versioned.
pub(super) fn reported_version(stamp: VersionStamp, versioned: bool) -> Option<String> {
    (!stamp.null || versioned).then(|| stamp.id().to_string())
}

/// Applies conditions, then narrows the view to the requested part or range.
fn view(
    req: &GetRequest,
    record: ObjectRecord,
    version: Option<String>,
    lock: ObjectLock,
) -> Result<ObjectView, ObjectError> {
    check_read(&req.conditions, &record)?;
    let size = record.size;
    // S3 reports the part count only to a request that names a part of a multipart object.
    let parts_count = req
        .part_number
        .filter(|_| !record.parts.is_empty())
        .map(|_| record.parts.len() as u32);
    let range = match (req.part_number, req.range) {
        (Some(_), Some(_)) => {
            return Err(ObjectError::InvalidRequest(
                "cannot specify both Range and partNumber".into(),
            ));
        }
        (Some(n), None) => Some(part_range(&record, n)?),
        (None, Some(spec)) => Some(resolve_range(spec, size)?),
        (None, None) => None,
    };
    let content_length = match range {
        Some((first, last)) if last >= first => last - first + 1,
        Some(_) => 0,
        None => size,
    };
    Ok(ObjectView {
        record,
        range,
        content_length,
        parts_count,
        version,
        lock,
        expiration: None,
    })
}

/// Inclusive byte range of part `n` (1-based). A single-part object has one part: itself.
fn part_range(record: &ObjectRecord, n: u32) -> Result<(u64, u64), ObjectError> {
    let invalid = || ObjectError::InvalidPart(format!("part number {n} does not exist"));
    if n == 0 {
        return Err(ObjectError::InvalidArgument(
            "part number must be at least 1".into(),
        ));
    }
    if record.parts.is_empty() {
        return if n == 1 {
            // An empty object still has part 1; its range is empty.
            Ok((0, record.size.saturating_sub(1)))
        } else {
            Err(invalid())
        };
    }
    let index = (n - 1) as usize;
    let part = record.parts.get(index).ok_or_else(invalid)?;
    let start: u64 = record.parts[..index].iter().map(|p| p.size).sum();
    Ok((start, (start + part.size).saturating_sub(1)))
}

/// Resolves a Range header against the object size; unsatisfiable ranges are 416.
pub(super) fn resolve_range(spec: RangeSpec, size: u64) -> Result<(u64, u64), ObjectError> {
    let invalid = Err(ObjectError::InvalidRange { size });
    match spec {
        RangeSpec::FromTo { first, last } => {
            if first >= size || last.is_some_and(|l| l < first) {
                return invalid;
            }
            Ok((first, last.map_or(size - 1, |l| l.min(size - 1))))
        }
        RangeSpec::Suffix(n) => {
            if n == 0 || size == 0 {
                return invalid;
            }
            Ok((size - n.min(size), size - 1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = |first, last| RangeSpec::FromTo { first, last };
        assert_eq!(resolve_range(r(0, Some(0)), 10).unwrap(), (0, 0));
        assert_eq!(resolve_range(r(5, None), 10).unwrap(), (5, 9));
        assert_eq!(resolve_range(r(5, Some(100)), 10).unwrap(), (5, 9));
        assert!(resolve_range(r(10, None), 10).is_err());
        assert!(resolve_range(r(0, None), 0).is_err());
        assert_eq!(resolve_range(RangeSpec::Suffix(3), 10).unwrap(), (7, 9));
        assert_eq!(resolve_range(RangeSpec::Suffix(30), 10).unwrap(), (0, 9));
        assert!(resolve_range(RangeSpec::Suffix(0), 10).is_err());
    }
}
