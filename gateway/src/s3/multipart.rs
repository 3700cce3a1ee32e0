//! Multipart uploads: create, upload part (and part copy), complete, abort, list parts and
//! list uploads.
//!
//! CompleteMultipartUpload may take a while on large uploads; if it has not finished within
//! [`KEEP_ALIVE_AFTER`], the answer becomes s3s's keep-alive body (200 headers, whitespace
//! until done, then the result or an `<Error>` document), which SDKs expect from S3.
//! The threshold is well under SDK read timeouts (30 s and up) but long enough that nearly all
//! errors still get a proper status: s3s 0.14.1 writes an XML declaration twice in a keep-alive
//! *error* body, which clients then fail to parse (they see a retryable 500).

use std::time::Duration;

use futures::future::BoxFuture;
use s3s::dto::{
    AbortMultipartUploadInput, AbortMultipartUploadOutput, CompleteMultipartUploadInput,
    CompleteMultipartUploadOutput, CopyPartResult, CreateMultipartUploadInput,
    CreateMultipartUploadOutput, Initiator, ListMultipartUploadsInput, ListMultipartUploadsOutput,
    ListPartsInput, ListPartsOutput, MultipartUpload, Part, StorageClass, UploadPartCopyInput,
    UploadPartCopyOutput, UploadPartInput, UploadPartOutput,
};
use s3s::{S3Error, S3Request, S3Response, S3Result};

use crate::objects::{
    CompleteRequest, CompletedPart, CreateUploadRequest, ObjectAttributes, ObjectService,
    PutOutcome, UploadPartCopyRequest, UploadPartRequest, UploadsRequest,
};

use super::body::request_body;
use super::checksum::{
    ChecksumValues, algorithm_in, algorithm_out, checksum_values, claim, known_claim,
    set_checksum_values, stored_type, type_in, type_out,
};
use super::convert::{
    OWNER, content_headers, copy_range, copy_source, etag, length, metadata_in, owner, page_limit,
    parse_tagging, part_number, read_conditions, size, timestamp, url_encode, wants_url_encoding,
    write_conditions,
};
use super::errors::malformed_xml;
use crate::front::RequestId;

/// How long CompleteMultipartUpload may run before the response switches to keep-alive.
const KEEP_ALIVE_AFTER: Duration = Duration::from_secs(10);

pub(super) async fn create_multipart_upload(
    svc: &ObjectService,
    req: S3Request<CreateMultipartUploadInput>,
) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
    let S3Request { input, headers, .. } = req;
    let attributes = ObjectAttributes {
        headers: content_headers(
            input.content_type,
            input.content_encoding,
            input.cache_control,
            input.content_disposition,
            input.content_language,
            &headers,
        ),
        metadata: metadata_in(input.metadata),
        tags: parse_tagging(input.tagging.as_deref())?,
        lock: super::lock::lock_in(
            input.object_lock_mode,
            input.object_lock_retain_until_date,
            input.object_lock_legal_hold_status,
        )?,
    };
    let upload_id = svc
        .create_upload(CreateUploadRequest {
            bucket: input.bucket.clone(),
            key: input.key.clone(),
            attributes,
            checksum_algorithm: input
                .checksum_algorithm
                .as_ref()
                .map(algorithm_in)
                .transpose()?,
            checksum_type: input.checksum_type.as_ref().map(type_in).transpose()?,
        })
        .await?;
    // Echo what the service settled on (it fills in S3's default checksum type).
    let record = svc.upload(&upload_id).await?;
    Ok(S3Response::new(CreateMultipartUploadOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(upload_id),
        checksum_algorithm: record.checksum_algorithm.map(algorithm_out),
        checksum_type: record.checksum_type.map(type_out),
        ..Default::default()
    }))
}

pub(super) async fn upload_part(
    svc: &ObjectService,
    req: S3Request<UploadPartInput>,
) -> S3Result<S3Response<UploadPartOutput>> {
    let S3Request {
        input,
        headers,
        trailing_headers,
        ..
    } = req;
    let checksum = claim(
        checksum_values!(input),
        input.checksum_algorithm.as_ref(),
        &headers,
        trailing_headers,
    )?;
    let outcome = svc
        .upload_part(UploadPartRequest {
            bucket: input.bucket,
            key: input.key,
            upload_id: input.upload_id,
            part_number: part_number(input.part_number)?,
            content_md5: input.content_md5,
            checksum,
            content_length: length(input.content_length),
            body: request_body(input.body),
        })
        .await?;
    let mut out = UploadPartOutput {
        e_tag: Some(etag(outcome.etag)),
        ..Default::default()
    };
    set_checksum_values!(out, ChecksumValues::stored(outcome.checksum));
    Ok(S3Response::new(out))
}

pub(super) async fn upload_part_copy(
    svc: &ObjectService,
    req: S3Request<UploadPartCopyInput>,
) -> S3Result<S3Response<UploadPartCopyOutput>> {
    let input = req.input;
    let (source_bucket, source_key, source_version) = copy_source(&input.copy_source)?;
    let outcome = svc
        .upload_part_copy(UploadPartCopyRequest {
            source_bucket,
            source_key,
            source_version,
            source_conditions: read_conditions(
                input.copy_source_if_match,
                input.copy_source_if_none_match,
                input.copy_source_if_modified_since,
                input.copy_source_if_unmodified_since,
            ),
            source_range: copy_range(input.copy_source_range.as_deref())?,
            bucket: input.bucket,
            key: input.key,
            upload_id: input.upload_id,
            part_number: part_number(input.part_number)?,
        })
        .await?;
    let mut result = CopyPartResult {
        e_tag: Some(etag(outcome.etag)),
        last_modified: Some(timestamp(outcome.modified)),
        ..Default::default()
    };
    set_checksum_values!(result, ChecksumValues::stored(outcome.checksum));
    Ok(S3Response::new(UploadPartCopyOutput {
        copy_part_result: Some(result),
        ..Default::default()
    }))
}

pub(super) async fn complete_multipart_upload(
    svc: &ObjectService,
    req: S3Request<CompleteMultipartUploadInput>,
) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
    let id = RequestId::of(&req.extensions);
    let input = req.input;
    // An empty part list, or a part without number or ETag, is a schema violation.
    let parts = input
        .multipart_upload
        .and_then(|m| m.parts)
        .filter(|parts| !parts.is_empty())
        .ok_or_else(malformed_xml)?
        .into_iter()
        .map(|p| {
            let (Some(number), Some(tag)) = (p.part_number, p.e_tag.as_ref()) else {
                return Err(malformed_xml());
            };
            Ok(CompletedPart {
                part_number: part_number(number)?,
                etag: tag.value().to_owned(),
                checksum: checksum_values!(p).any(),
            })
        })
        .collect::<S3Result<Vec<_>>>()?;
    let request = CompleteRequest {
        bucket: input.bucket.clone(),
        key: input.key.clone(),
        upload_id: input.upload_id,
        parts,
        conditions: write_conditions(input.if_match, input.if_none_match),
        checksum: known_claim(checksum_values!(input))?,
    };

    let svc = svc.clone();
    let (bucket, key) = (input.bucket, input.key);
    let mut work: BoxFuture<'static, S3Result<CompleteMultipartUploadOutput>> =
        Box::pin(async move {
            match svc.complete_upload(request).await {
                Ok(outcome) => Ok(completed(bucket, key, outcome)),
                // Inside the keep-alive body this error never passes through the trait wrapper.
                Err(e) => Err(RequestId::stamp(id.as_ref(), S3Error::from(e))),
            }
        });
    let output = match tokio::time::timeout(KEEP_ALIVE_AFTER, &mut work).await {
        Ok(result) => result?,
        Err(_elapsed) => CompleteMultipartUploadOutput {
            future: Some(work),
            ..Default::default()
        },
    };
    Ok(S3Response::new(output))
}

fn completed(bucket: String, key: String, outcome: PutOutcome) -> CompleteMultipartUploadOutput {
    let mut out = CompleteMultipartUploadOutput {
        location: Some(format!("/{}/{}", url_encode(&bucket), url_encode(&key))),
        bucket: Some(bucket),
        key: Some(key),
        e_tag: Some(etag(outcome.etag)),
        checksum_type: stored_type(outcome.checksum.as_ref()),
        // Lost if the answer went keep-alive (its headers are sent before the outcome is
        // known); a completion takes that long only for uploads of many thousand parts.
        version_id: outcome.version,
        expiration: super::lifecycle::expiration_header(outcome.expiration),
        ..Default::default()
    };
    set_checksum_values!(out, ChecksumValues::stored(outcome.checksum));
    out
}

pub(super) async fn abort_multipart_upload(
    svc: &ObjectService,
    req: S3Request<AbortMultipartUploadInput>,
) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
    let input = req.input;
    svc.abort_upload(&input.bucket, &input.key, &input.upload_id)
        .await?;
    Ok(S3Response::new(AbortMultipartUploadOutput::default()))
}

pub(super) async fn list_parts(
    svc: &ObjectService,
    req: S3Request<ListPartsInput>,
) -> S3Result<S3Response<ListPartsOutput>> {
    let input = req.input;
    let max_parts = page_limit(input.max_parts, "max-parts")?;
    let after = input.part_number_marker.map(part_number).transpose()?;
    let page = svc
        .list_parts(
            &input.bucket,
            &input.key,
            &input.upload_id,
            after.unwrap_or(0),
            max_parts,
        )
        .await?;
    let algorithm = page.upload.checksum_algorithm;
    let parts = page
        .parts
        .into_iter()
        .map(|p| {
            let mut part = Part {
                part_number: Some(i32::try_from(p.part_number).unwrap_or(i32::MAX)),
                e_tag: Some(etag(p.etag)),
                size: Some(size(p.size)),
                last_modified: Some(timestamp(p.modified)),
                ..Default::default()
            };
            if let (Some(a), Some(v)) = (algorithm, p.checksum) {
                set_checksum_values!(part, ChecksumValues::of(a, v));
            }
            part
        })
        .collect();
    Ok(S3Response::new(ListPartsOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(input.upload_id),
        parts: Some(parts),
        is_truncated: Some(page.is_truncated),
        part_number_marker: input.part_number_marker,
        next_part_number_marker: page.next_marker.and_then(|n| i32::try_from(n).ok()),
        max_parts: Some(i32::try_from(max_parts).unwrap_or(i32::MAX)),
        initiator: Some(initiator()),
        owner: Some(owner()),
        storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
        checksum_algorithm: algorithm.map(algorithm_out),
        checksum_type: page.upload.checksum_type.map(type_out),
        ..Default::default()
    }))
}

pub(super) async fn list_multipart_uploads(
    svc: &ObjectService,
    req: S3Request<ListMultipartUploadsInput>,
) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
    let input = req.input;
    let url = wants_url_encoding(input.encoding_type.as_ref())?;
    let encode = |s: String| if url { url_encode(&s) } else { s };
    let max_uploads = page_limit(input.max_uploads, "max-uploads")?;
    let prefix = input.prefix.unwrap_or_default();
    let page = svc
        .list_uploads(UploadsRequest {
            bucket: input.bucket.clone(),
            prefix: prefix.clone(),
            key_marker: input.key_marker.clone().filter(|m| !m.is_empty()),
            upload_id_marker: input.upload_id_marker.clone().filter(|m| !m.is_empty()),
            max_uploads,
        })
        .await?;
    let uploads = page
        .uploads
        .into_iter()
        .map(|(upload_id, record)| MultipartUpload {
            key: Some(encode(record.key)),
            upload_id: Some(upload_id),
            initiated: Some(timestamp(record.initiated)),
            initiator: Some(initiator()),
            owner: Some(owner()),
            storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
            checksum_algorithm: record.checksum_algorithm.map(algorithm_out),
            checksum_type: record.checksum_type.map(type_out),
        })
        .collect();
    Ok(S3Response::new(ListMultipartUploadsOutput {
        bucket: Some(input.bucket),
        prefix: Some(encode(prefix)),
        delimiter: input.delimiter.map(encode),
        key_marker: input.key_marker.map(encode),
        upload_id_marker: input.upload_id_marker,
        next_key_marker: page.next_key_marker.map(encode),
        next_upload_id_marker: page.next_upload_id_marker,
        max_uploads: Some(i32::try_from(max_uploads).unwrap_or(i32::MAX)),
        is_truncated: Some(page.is_truncated),
        uploads: Some(uploads),
        encoding_type: input.encoding_type,
        ..Default::default()
    }))
}

fn initiator() -> Initiator {
    Initiator {
        display_name: Some(OWNER.to_owned()),
        id: Some(OWNER.to_owned()),
    }
}
