//! CompleteMultipartUpload: checks the part list (order, ETags, sizes, checksums), derives the
//! multipart ETag and checksum, and commits the object in one index transaction that also
//! retires the upload and releases parts that were left out.

use std::collections::BTreeMap;

use crate::index::{
    ChecksumType, ObjectRecord, PartRecord, PartSummary, StoredChecksum, UploadRecord,
};

use super::checksum::{b64, combine_full_object, composite, multipart_etag, unb64};
use super::conditions::{normalize_etag, write_allowed};
use super::error::ObjectError;
use super::multipart::MAX_PART_NUMBER;
use super::service::{ObjectService, now_millis};
use super::types::{ClaimedValue, CompleteRequest, CompletedPart, PutOutcome};

impl ObjectService {
    pub async fn complete_upload(&self, req: CompleteRequest) -> Result<PutOutcome, ObjectError> {
        let upload = self
            .upload_for(&req.bucket, &req.key, &req.upload_id)
            .await?;
        if req.parts.is_empty() {
            return Err(ObjectError::InvalidRequest(
                "you must specify at least one part".into(),
            ));
        }
        if req
            .parts
            .windows(2)
            .any(|w| w[0].part_number >= w[1].part_number)
        {
            return Err(ObjectError::InvalidPartOrder);
        }
        self.check_write_conditions(&req.bucket, &req.key, &req.conditions)
            .await?;
        let id = req.upload_id.clone();
        let stored: BTreeMap<u32, PartRecord> = self
            .with_index(move |ix| ix.list_parts(&id, 0, MAX_PART_NUMBER as usize + 1))
            .await?
            .into_iter()
            .collect();

        let chosen = choose_parts(&req.parts, &stored, self.config.min_part_size)?;
        let checksum = part_checksums(&upload, &req.parts, &chosen, req.checksum.value)?;
        let md5s = chosen
            .iter()
            .map(|p| {
                let mut md5 = [0u8; 16];
                hex::decode_to_slice(&p.etag, &mut md5)
                    .map_err(|_| ObjectError::Internal("stored part ETag is not hex".into()))?;
                Ok(md5)
            })
            .collect::<Result<Vec<_>, ObjectError>>()?;
        let manifest = self
            .blobs()
            .joined_manifest(chosen.iter().map(|p| &p.manifest));
        let record = ObjectRecord {
            size: chosen.iter().map(|p| p.size).sum(),
            etag: multipart_etag(&md5s),
            modified: now_millis(),
            headers: upload.headers.clone(),
            metadata: upload.metadata.clone(),
            checksum,
            parts: chosen
                .iter()
                .map(|p| PartSummary {
                    size: p.size,
                    checksum: p.checksum.clone(),
                })
                .collect(),
            tags: upload.tags.clone(),
        };
        if record.size > self.config.max_object_size {
            return Err(ObjectError::EntityTooLarge);
        }
        let mut outcome = PutOutcome {
            etag: record.etag.clone(),
            size: record.size,
            modified: record.modified,
            checksum: record.checksum.clone(),
            version: None,
            expiration: None,
        };
        let (id, conditions) = (req.upload_id, req.conditions);
        let written = self
            .with_index(move |ix| {
                ix.complete_upload(&id, &record, &manifest, &|current| {
                    write_allowed(&conditions, current)
                })
            })
            .await?;
        outcome.version = written.reported_version();
        outcome.expiration = written.expiration;
        self.replicated().await?;
        Ok(outcome)
    }
}

/// The stored parts the client listed, checked against S3's rules.
fn choose_parts<'a>(
    listed: &[CompletedPart],
    stored: &'a BTreeMap<u32, PartRecord>,
    min_part_size: u64,
) -> Result<Vec<&'a PartRecord>, ObjectError> {
    let mut chosen = Vec::with_capacity(listed.len());
    for (i, want) in listed.iter().enumerate() {
        let part = stored.get(&want.part_number).ok_or_else(|| {
            ObjectError::InvalidPart(format!("part {} was not uploaded", want.part_number))
        })?;
        if normalize_etag(&want.etag) != part.etag {
            return Err(ObjectError::InvalidPart(format!(
                "part {}'s ETag does not match",
                want.part_number
            )));
        }
        let last = i + 1 == listed.len();
        if !last && part.size < min_part_size {
            return Err(ObjectError::EntityTooSmall);
        }
        chosen.push(part);
    }
    Ok(chosen)
}

/// Verifies the per-part checksums the client sent and derives the object's checksum.
fn part_checksums(
    upload: &UploadRecord,
    listed: &[CompletedPart],
    chosen: &[&PartRecord],
    claimed_full: ClaimedValue,
) -> Result<Option<StoredChecksum>, ObjectError> {
    let (Some(algorithm), Some(kind)) = (upload.checksum_algorithm, upload.checksum_type) else {
        return Ok(None);
    };
    let mut raws = Vec::with_capacity(chosen.len());
    for (want, part) in listed.iter().zip(chosen) {
        let stored = part.checksum.as_deref().ok_or_else(|| {
            ObjectError::InvalidPart(format!(
                "part {} was uploaded without a {algorithm:?} checksum",
                want.part_number
            ))
        })?;
        match want.checksum.as_deref() {
            Some(sent) if sent.trim() != stored => {
                return Err(ObjectError::BadDigest(format!(
                    "the {algorithm:?} checksum of part {} does not match",
                    want.part_number
                )));
            }
            None if kind == ChecksumType::Composite => {
                return Err(ObjectError::InvalidRequest(format!(
                    "the upload was created with a {algorithm:?} checksum; part {} lacks it",
                    want.part_number
                )));
            }
            _ => {}
        }
        let raw = unb64(stored)
            .ok_or_else(|| ObjectError::Internal("stored part checksum is not base64".into()))?;
        raws.push((raw, part.size));
    }
    let value = match kind {
        ChecksumType::Composite => composite(
            algorithm,
            &raws.into_iter().map(|(r, _)| r).collect::<Vec<_>>(),
        ),
        ChecksumType::FullObject => {
            let raw = combine_full_object(algorithm, &raws).ok_or_else(|| {
                ObjectError::InvalidRequest(format!(
                    "{algorithm:?} cannot be a FULL_OBJECT checksum"
                ))
            })?;
            let value = b64(&raw);
            let claimed = match claimed_full {
                ClaimedValue::Known(v) => Some(v),
                ClaimedValue::Deferred(read) => read(),
                ClaimedValue::None => None,
            };
            if let Some(claimed) = claimed
                && claimed.trim() != value
            {
                return Err(ObjectError::BadDigest(
                    "the full-object checksum does not match the parts".into(),
                ));
            }
            value
        }
    };
    Ok(Some(StoredChecksum {
        algorithm,
        kind,
        value,
    }))
}
