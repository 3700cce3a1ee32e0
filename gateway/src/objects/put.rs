//! PutObject and the digest checks shared with UploadPart: Content-MD5 and `x-amz-checksum-*`
//! are verified before anything is committed, so a body that arrived damaged is never visible.

use crate::blobs::IN_PLACE_MAX;
use crate::index::{ChecksumType, HeldUntilSettled, ObjectRecord, StoredChecksum};

use super::checksum::{Digests, b64, digest_len, unb64};
use super::conditions::write_allowed;
use super::error::ObjectError;
use super::ingest::{IngestLimits, ingest};
use super::service::{ObjectService, now_millis};
use super::types::{ClaimedValue, PutOutcome, PutRequest, WriteConditions};

/// Unconditional PUTs of bodies declared longer than this look the bucket up before reading
/// the body, so that a PUT to a missing bucket fails before it stores much: the small bodies
/// whose work stays on the request's task skip the look, a read on a blocking thread.
const EARLY_LOOK_ABOVE: usize = IN_PLACE_MAX;

impl ObjectService {
    pub async fn put_object(&self, req: PutRequest) -> Result<PutOutcome, ObjectError> {
        self.check_key(&req.key)?;
        self.check_attributes(&req.attributes)?;
        let content_md5 = parse_content_md5(req.content_md5.as_deref())?;
        // Fail before reading the body when the answer is already known; the commit re-checks
        // the conditions (and the bucket) atomically. An unconditional PUT of a small body
        // skips the early look: reading and storing a few hundred KiB costs less than the
        // extra index round trip on a blocking thread, and the commit gives the same
        // NoSuchBucket (the garbage collector takes the chunks it never referenced).
        let small = req
            .content_length
            .is_some_and(|n| n <= EARLY_LOOK_ABOVE.max(self.config.inline_threshold) as u64);
        if !(small && req.conditions.is_empty()) {
            self.check_write_conditions(&req.bucket, &req.key, &req.conditions)
                .await?;
        }

        let epoch = self.write_epoch().await?;
        let ingested = ingest(
            self.blobs(),
            req.body,
            req.checksum.algorithm,
            IngestLimits {
                inline_threshold: self.config.inline_threshold,
                max_size: self.config.max_put_size,
                expected_len: req.content_length,
            },
        )
        .await?;
        let checksum = verify_digests(&ingested.digests, content_md5, req.checksum.value)?;
        let lock = req.attributes.lock;
        let record = ObjectRecord {
            size: ingested.digests.len,
            etag: hex::encode(ingested.digests.md5),
            modified: now_millis(),
            headers: req.attributes.headers,
            metadata: req.attributes.metadata,
            checksum,
            parts: Vec::new(),
            tags: req.attributes.tags,
        };
        let mut outcome = PutOutcome {
            etag: record.etag.clone(),
            size: record.size,
            modified: record.modified,
            checksum: record.checksum.clone(),
            version: None,
            expiration: None,
        };
        let conditions = req.conditions;
        // Straight to the index's writer thread: no blocking thread is needed to wait for it.
        // The pins go with the write, and are released once the index reference protects the
        // chunks, even if this request is dropped while it waits.
        let written = self
            .index
            .put_object_async(
                req.bucket,
                req.key,
                (record, ingested.manifest, lock),
                move |current| write_allowed(&conditions, current),
                Some(HeldUntilSettled::new(ingested.pins).written_after(epoch)),
            )
            .await?;
        outcome.version = written.reported_version();
        outcome.expiration = written.expiration;
        self.replicated().await?;
        Ok(outcome)
    }

    /// Early check of write conditions (also confirms the bucket exists).
    pub(super) async fn check_write_conditions(
        &self,
        bucket: &str,
        key: &str,
        conditions: &WriteConditions,
    ) -> Result<(), ObjectError> {
        let (b, k) = (bucket.to_string(), key.to_string());
        let current = self.with_index(move |ix| ix.object(&b, &k)).await?;
        if !conditions.is_empty() && !write_allowed(conditions, current.as_ref()) {
            return Err(ObjectError::PreconditionFailed);
        }
        Ok(())
    }
}

/// Decodes a Content-MD5 header: base64 of exactly 16 bytes.
pub(super) fn parse_content_md5(value: Option<&str>) -> Result<Option<[u8; 16]>, ObjectError> {
    let Some(value) = value else { return Ok(None) };
    let raw = unb64(value).ok_or(ObjectError::InvalidDigest)?;
    let md5: [u8; 16] = raw.try_into().map_err(|_| ObjectError::InvalidDigest)?;
    Ok(Some(md5))
}

/// Compares what arrived with what the client claimed; returns the checksum to store.
pub(super) fn verify_digests(
    digests: &Digests,
    content_md5: Option<[u8; 16]>,
    claimed: ClaimedValue,
) -> Result<Option<StoredChecksum>, ObjectError> {
    if let Some(md5) = content_md5
        && md5 != digests.md5
    {
        return Err(ObjectError::BadDigest(
            "Content-MD5 does not match the body".into(),
        ));
    }
    let Some((algorithm, raw)) = &digests.checksum else {
        return Ok(None);
    };
    let claimed = match claimed {
        ClaimedValue::None => None,
        ClaimedValue::Known(v) => Some(v),
        ClaimedValue::Deferred(read) => read(),
    };
    if let Some(claimed) = claimed {
        let claimed_raw = unb64(&claimed)
            .filter(|r| r.len() == digest_len(*algorithm))
            .ok_or_else(|| {
                ObjectError::InvalidRequest(format!(
                    "value for x-amz-checksum-{algorithm:?} is invalid"
                ))
            })?;
        if &claimed_raw != raw {
            return Err(ObjectError::BadDigest(format!(
                "the {algorithm:?} you specified did not match the calculated checksum"
            )));
        }
    }
    Ok(Some(StoredChecksum {
        algorithm: *algorithm,
        kind: ChecksumType::FullObject,
        value: b64(raw),
    }))
}
