//! GetObjectAttributes: what a client asks of an object without reading it (ETag, checksum,
//! parts, storage class, size), parts paged by `max-parts` and `part-number-marker`.

use s3s::dto::{
    Checksum, GetObjectAttributesInput, GetObjectAttributesOutput, GetObjectAttributesParts,
    ObjectAttributes, ObjectPart, StorageClass,
};
use s3s::{S3Request, S3Response, S3Result};

use crate::objects::ObjectService;

use super::checksum::{ChecksumValues, set_checksum_values, stored_type};
use super::convert::{timestamp, version_id};

/// S3's default and largest page of parts.
const MAX_PARTS: i32 = 1000;

pub(super) async fn get_object_attributes(
    svc: &ObjectService,
    req: S3Request<GetObjectAttributesInput>,
) -> S3Result<S3Response<GetObjectAttributesOutput>> {
    let input = req.input;
    let version = version_id(input.version_id.as_deref())?;
    let (record, version) = svc
        .object_attributes(&input.bucket, &input.key, version)
        .await?;
    let asked = |a: &str| {
        input
            .object_attributes
            .iter()
            .any(|x| x.as_str().eq_ignore_ascii_case(a))
    };
    let mut out = GetObjectAttributesOutput {
        last_modified: Some(timestamp(record.modified)),
        version_id: version,
        ..Default::default()
    };
    if asked(ObjectAttributes::ETAG) {
        // S3 sends it unquoted here; s3s's ETag type quotes it, which SDKs accept.
        out.e_tag = Some(s3s::dto::ETag::Strong(record.etag.clone()));
    }
    if asked(ObjectAttributes::OBJECT_SIZE) {
        out.object_size = Some(record.size as i64);
    }
    if asked(ObjectAttributes::STORAGE_CLASS) {
        out.storage_class = Some(StorageClass::from_static(StorageClass::STANDARD));
    }
    let algorithm = record.checksum.as_ref().map(|c| c.algorithm);
    if asked(ObjectAttributes::CHECKSUM)
        && let Some(stored) = record.checksum.clone()
    {
        let mut checksum = Checksum {
            checksum_type: stored_type(Some(&stored)),
            ..Default::default()
        };
        set_checksum_values!(checksum, ChecksumValues::stored(Some(stored)));
        out.checksum = Some(checksum);
    }
    if asked(ObjectAttributes::OBJECT_PARTS) && !record.parts.is_empty() {
        let max = input.max_parts.unwrap_or(MAX_PARTS).clamp(1, MAX_PARTS) as usize;
        let after = input.part_number_marker.unwrap_or(0).max(0) as usize;
        let total = record.parts.len();
        let parts: Vec<ObjectPart> = record
            .parts
            .iter()
            .enumerate()
            .skip(after)
            .take(max)
            .map(|(i, part)| {
                let mut out = ObjectPart {
                    part_number: Some(i as i32 + 1),
                    size: Some(part.size as i64),
                    ..Default::default()
                };
                if let (Some(a), Some(v)) = (algorithm, part.checksum.clone()) {
                    set_checksum_values!(out, ChecksumValues::of(a, v));
                }
                out
            })
            .collect();
        let last = after + parts.len();
        out.object_parts = Some(GetObjectAttributesParts {
            is_truncated: Some(last < total),
            max_parts: Some(max as i32),
            next_part_number_marker: (last < total).then_some(last as i32),
            part_number_marker: input.part_number_marker,
            parts: Some(parts),
            total_parts_count: Some(total as i32),
        });
    }
    Ok(S3Response::new(out))
}
