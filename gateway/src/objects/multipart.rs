//! Multipart uploads: create, upload a part (or copy one), abort, and list uploads and parts.
//! Completion lives in `complete`.

use floe_codec::ByteRange;

use crate::index::{ChecksumAlgorithm, ChecksumType, PartRecord, StoredChecksum, UploadRecord};

use super::conditions::check_copy_source;
use super::error::ObjectError;
use super::get::Found;
use super::ingest::{IngestLimits, Ingested, ingest};
use super::put::{parse_content_md5, verify_digests};
use super::service::{ObjectService, now_millis};
use super::types::{
    ByteStream, ChecksumClaim, ClaimedValue, CreateUploadRequest, PartInfo, PartOutcome, PartsPage,
    UploadPartCopyRequest, UploadPartRequest, UploadsPage, UploadsRequest,
};

/// S3's part numbers run from 1 to 10,000.
pub const MAX_PART_NUMBER: u32 = 10_000;

/// A fresh, unguessable-enough upload id (uniqueness is what matters).
fn new_upload_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = blake3::Hasher::new();
    hasher.update(&now_millis().to_le_bytes());
    hasher.update(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    hasher.update(&std::process::id().to_le_bytes());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    hasher.update(&nanos.to_le_bytes());
    hasher.finalize().to_hex()[..32].to_string()
}

fn check_checksum_type(
    algorithm: Option<ChecksumAlgorithm>,
    kind: Option<ChecksumType>,
) -> Result<Option<ChecksumType>, ObjectError> {
    use ChecksumAlgorithm::*;
    match (algorithm, kind) {
        (None, Some(_)) => Err(ObjectError::InvalidRequest(
            "a checksum type needs a checksum algorithm".into(),
        )),
        (None, None) => Ok(None),
        (Some(Crc64Nvme), Some(ChecksumType::Composite)) => Err(ObjectError::InvalidRequest(
            "the COMPOSITE checksum type cannot be used with CRC64NVME".into(),
        )),
        (Some(Sha1 | Sha256), Some(ChecksumType::FullObject)) => Err(ObjectError::InvalidRequest(
            "the FULL_OBJECT checksum type cannot be used with SHA algorithms".into(),
        )),
        // S3's defaults: CRC64NVME is always full-object, the others composite.
        (Some(Crc64Nvme), None) => Ok(Some(ChecksumType::FullObject)),
        (Some(_), None) => Ok(Some(ChecksumType::Composite)),
        (Some(_), Some(kind)) => Ok(Some(kind)),
    }
}

impl ObjectService {
    pub async fn create_upload(&self, req: CreateUploadRequest) -> Result<String, ObjectError> {
        self.check_key(&req.key)?;
        self.check_attributes(&req.attributes)?;
        let checksum_type = check_checksum_type(req.checksum_algorithm, req.checksum_type)?;
        let record = UploadRecord {
            bucket: req.bucket,
            key: req.key,
            initiated: now_millis(),
            headers: req.attributes.headers,
            metadata: req.attributes.metadata,
            tags: req.attributes.tags,
            checksum_algorithm: req.checksum_algorithm,
            checksum_type,
        };
        let id = new_upload_id();
        let upload_id = id.clone();
        let lock = req.attributes.lock;
        self.with_index(move |ix| ix.create_upload_locked(&upload_id, &record, lock))
            .await?;
        Ok(id)
    }

    /// The upload, checked to belong to `bucket`/`key`.
    pub(super) async fn upload_for(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<UploadRecord, ObjectError> {
        let id = upload_id.to_string();
        let upload = self
            .with_index(move |ix| ix.upload(&id))
            .await?
            .ok_or(ObjectError::NoSuchUpload)?;
        if upload.bucket != bucket || upload.key != key {
            return Err(ObjectError::NoSuchUpload);
        }
        Ok(upload)
    }

    pub async fn upload(&self, upload_id: &str) -> Result<UploadRecord, ObjectError> {
        let id = upload_id.to_string();
        self.with_index(move |ix| ix.upload(&id))
            .await?
            .ok_or(ObjectError::NoSuchUpload)
    }

    pub async fn upload_part(&self, req: UploadPartRequest) -> Result<PartOutcome, ObjectError> {
        let upload = self
            .upload_for(&req.bucket, &req.key, &req.upload_id)
            .await?;
        let content_md5 = parse_content_md5(req.content_md5.as_deref())?;
        let claim = ChecksumClaim {
            algorithm: req.checksum.algorithm.or(upload.checksum_algorithm),
            value: req.checksum.value,
        };
        self.store_part(
            &req.upload_id,
            req.part_number,
            req.body,
            content_md5,
            claim,
            req.content_length,
        )
        .await
    }

    pub async fn upload_part_copy(
        &self,
        req: UploadPartCopyRequest,
    ) -> Result<PartOutcome, ObjectError> {
        let upload = self
            .upload_for(&req.bucket, &req.key, &req.upload_id)
            .await?;
        let Found {
            record: source,
            manifest,
            ..
        } = self
            .load(&req.source_bucket, &req.source_key, req.source_version)
            .await?;
        check_copy_source(&req.source_conditions, &source)?;
        let (first, last) = match req.source_range {
            // Unlike a GET range, a copy-source range is never clamped: it must lie within the
            // source.
            Some((first, last)) if first > last || last >= source.size => {
                return Err(ObjectError::InvalidArgument(format!(
                    "Range specified is not valid for source object of size: {}",
                    source.size
                )));
            }
            Some(range) => range,
            None if source.size == 0 => (0, 0),
            None => (0, source.size - 1),
        };
        let end = if source.size == 0 { 0 } else { last + 1 };
        let body = self
            .body_stream(manifest, ByteRange { start: first, end })
            .await;
        let claim = ChecksumClaim {
            algorithm: upload.checksum_algorithm,
            value: ClaimedValue::None,
        };
        self.store_part(
            &req.upload_id,
            req.part_number,
            body,
            None,
            claim,
            Some(end - first),
        )
        .await
    }

    async fn store_part(
        &self,
        upload_id: &str,
        part_number: u32,
        body: ByteStream,
        content_md5: Option<[u8; 16]>,
        claim: ChecksumClaim,
        content_length: Option<u64>,
    ) -> Result<PartOutcome, ObjectError> {
        let max = self.config.max_part_number;
        if !(1..=max).contains(&part_number) {
            return Err(ObjectError::InvalidArgument(format!(
                "part number must be an integer between 1 and {max}, inclusive"
            )));
        }
        let epoch = self.write_epoch().await?;
        let Ingested {
            manifest,
            digests,
            pins,
        } = ingest(
            self.blobs(),
            body,
            claim.algorithm,
            IngestLimits {
                // Parts are concatenated into one chunk list: never inline them.
                inline_threshold: 0,
                max_size: self.config.max_put_size,
                expected_len: content_length,
            },
        )
        .await?;
        let checksum = verify_digests(&digests, content_md5, claim.value)?;
        let part = PartRecord {
            size: digests.len,
            etag: hex::encode(digests.md5),
            modified: now_millis(),
            checksum: checksum.as_ref().map(|c| c.value.clone()),
            manifest,
        };
        let outcome = PartOutcome {
            etag: part.etag.clone(),
            modified: part.modified,
            checksum: checksum.map(|c| StoredChecksum {
                kind: ChecksumType::FullObject,
                ..c
            }),
        };
        let id = upload_id.to_string();
        self.with_index(move |ix| ix.put_part_written_after(&id, part_number, &part, epoch))
            .await?;
        // Committed: the part's index reference now protects the chunks.
        drop(pins);
        Ok(outcome)
    }

    pub async fn abort_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), ObjectError> {
        self.upload_for(bucket, key, upload_id).await?;
        let id = upload_id.to_string();
        self.with_index(move |ix| ix.abort_upload(&id)).await
    }

    /// Parts numbered above `after`, at most `max_parts`.
    pub async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        after: u32,
        max_parts: usize,
    ) -> Result<PartsPage, ObjectError> {
        let upload = self.upload_for(bucket, key, upload_id).await?;
        let max_parts = max_parts.min(1000);
        let id = upload_id.to_string();
        let mut parts = self
            .with_index(move |ix| ix.list_parts(&id, after, max_parts + 1))
            .await?;
        let is_truncated = parts.len() > max_parts;
        parts.truncate(max_parts);
        let next_marker = if is_truncated {
            parts.last().map(|(n, _)| *n)
        } else {
            None
        };
        Ok(PartsPage {
            upload,
            parts: parts
                .into_iter()
                .map(|(part_number, p)| PartInfo {
                    part_number,
                    etag: p.etag,
                    size: p.size,
                    modified: p.modified,
                    checksum: p.checksum,
                })
                .collect(),
            is_truncated,
            next_marker,
        })
    }

    pub async fn list_uploads(&self, req: UploadsRequest) -> Result<UploadsPage, ObjectError> {
        self.head_bucket(&req.bucket).await?;
        let max = req.max_uploads.min(1000);
        let UploadsRequest {
            bucket,
            prefix,
            key_marker,
            upload_id_marker,
            ..
        } = req;
        let mut uploads = self
            .with_index(move |ix| {
                ix.list_uploads(
                    &bucket,
                    &prefix,
                    key_marker.as_deref(),
                    upload_id_marker.as_deref(),
                    max + 1,
                )
            })
            .await?;
        let is_truncated = uploads.len() > max;
        uploads.truncate(max);
        let (next_key_marker, next_upload_id_marker) = match (is_truncated, uploads.last()) {
            (true, Some((id, u))) => (Some(u.key.clone()), Some(id.clone())),
            _ => (None, None),
        };
        Ok(UploadsPage {
            uploads,
            is_truncated,
            next_key_marker,
            next_upload_id_marker,
        })
    }
}
