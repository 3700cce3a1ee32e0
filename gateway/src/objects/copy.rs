//! CopyObject. Chunks are content-addressed, so a copy writes no data: the new object points at
//! the source's chunks (their reference counts go up) and only the record is new.

use floe_codec::ChunkId;
use futures::StreamExt;

use crate::index::{ChecksumType, HeldUntilSettled, ObjectRecord, StoredChecksum};

use super::checksum::{BodyDigest, b64};
use super::conditions::check_copy_source;
use super::error::ObjectError;
use super::get::Found;
use super::service::{ObjectService, now_millis};
use super::types::{CopyOutcome, CopyRequest, MetadataDirective, PutOutcome};

impl ObjectService {
    pub async fn copy_object(&self, req: CopyRequest) -> Result<CopyOutcome, ObjectError> {
        self.check_key(&req.key)?;
        // Taken before the source's chunks are looked up: another gateway may delete the source
        // and collect its chunks meanwhile (`index/deletion.rs`).
        let epoch = self.write_epoch().await?;
        let Found {
            record: source,
            manifest,
            version: source_version,
            ..
        } = self
            .load(&req.source_bucket, &req.source_key, req.source_version)
            .await?;
        check_copy_source(&req.source_conditions, &source)?;
        // The source may be deleted while we copy: keep its chunks until our reference commits.
        let ids: Vec<ChunkId> = manifest.chunks().iter().map(|c| c.id).collect();
        let pins = self.blobs().pins().pin(ids).await;
        // A copy of an older version onto its own key restores it: that changes something.
        let onto_itself = req.source_bucket == req.bucket
            && req.source_key == req.key
            && req.source_version.is_none();
        if onto_itself
            && req.metadata_directive == MetadataDirective::Copy
            && req.replace_tags.is_none()
            && req.checksum_algorithm.is_none()
        {
            return Err(ObjectError::InvalidRequest(
                "This copy request is illegal because it is trying to copy an object to itself \
                 without changing the object's metadata, storage class, website redirect location \
                 or encryption attributes."
                    .into(),
            ));
        }
        let (headers, metadata) = match req.metadata_directive {
            MetadataDirective::Copy => (source.headers.clone(), source.metadata.clone()),
            MetadataDirective::Replace => {
                self.check_attributes(&req.attributes)?;
                (req.attributes.headers, req.attributes.metadata)
            }
        };
        let checksum = match req.checksum_algorithm {
            Some(wanted) if source.checksum.as_ref().map(|c| c.algorithm) != Some(wanted) => {
                // A new algorithm needs the bytes: stream them once through the hasher.
                let mut body = self
                    .body_stream(
                        manifest.clone(),
                        floe_codec::ByteRange {
                            start: 0,
                            end: source.size,
                        },
                    )
                    .await;
                let mut digest = BodyDigest::new(Some(wanted));
                while let Some(piece) = body.next().await {
                    digest.update(&piece.map_err(ObjectError::SourceRead)?);
                }
                digest
                    .finish()
                    .checksum
                    .map(|(algorithm, raw)| StoredChecksum {
                        algorithm,
                        kind: ChecksumType::FullObject,
                        value: b64(&raw),
                    })
            }
            _ => source.checksum.clone(),
        };
        let record = ObjectRecord {
            size: source.size,
            etag: source.etag.clone(),
            modified: now_millis(),
            headers,
            metadata,
            checksum,
            parts: source.parts.clone(),
            tags: req.replace_tags.unwrap_or(source.tags),
        };
        let mut outcome = PutOutcome {
            etag: record.etag.clone(),
            size: record.size,
            modified: record.modified,
            checksum: record.checksum.clone(),
            version: None,
            expiration: None,
        };
        // The pins are released once the write has settled (see `put_object`).
        let written = self
            .index
            .put_object_async(
                req.bucket,
                req.key,
                (record, manifest, req.attributes.lock),
                |_| true,
                Some(HeldUntilSettled::new(pins).written_after(epoch)),
            )
            .await?;
        outcome.version = written.reported_version();
        outcome.expiration = written.expiration;
        self.replicated().await?;
        Ok(CopyOutcome {
            written: outcome,
            source_version,
        })
    }
}
