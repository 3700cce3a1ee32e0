//! Object writes and deletes: PutObject, CopyObject, DeleteObject, DeleteObjects.
//!
//! Reads (GetObject, HeadObject) live in `reads`.

use s3s::dto::{
    CopyObjectInput, CopyObjectOutput, CopyObjectResult, DeleteObjectInput, DeleteObjectOutput,
    DeleteObjectsInput, DeleteObjectsOutput, DeletedObject, Error as DeleteError,
    MetadataDirective as DtoMetadataDirective, PutObjectInput, PutObjectOutput, TaggingDirective,
};
use s3s::{S3Request, S3Response, S3Result};

use crate::objects::{
    CopyOutcome, CopyRequest, DeleteRequest, EtagMatch, MetadataDirective, ObjectAttributes,
    ObjectError, ObjectService, PutRequest,
};

use super::body::request_body;
use super::checksum::{
    ChecksumValues, algorithm_in, checksum_values, claim, set_checksum_values, stored_type,
};
use super::convert::{
    content_headers, copy_source, etag, length, metadata_in, parse_tagging, read_conditions,
    timestamp, version_id, write_conditions,
};
use super::errors::code_and_message;
use super::lock::lock_in;

pub(super) async fn put_object(
    svc: &ObjectService,
    req: S3Request<PutObjectInput>,
) -> S3Result<S3Response<PutObjectOutput>> {
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
        lock: lock_in(
            input.object_lock_mode,
            input.object_lock_retain_until_date,
            input.object_lock_legal_hold_status,
        )?,
    };
    // As S3: a write that sets a lock must prove its body arrived whole.
    if attributes.lock.is_some() && input.content_md5.is_none() && checksum.algorithm.is_none() {
        return Err(ObjectError::InvalidRequest(
            "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests \
             with Object Lock parameters"
                .into(),
        )
        .into());
    }
    let outcome = svc
        .put_object(PutRequest {
            bucket: input.bucket,
            key: input.key,
            attributes,
            content_md5: input.content_md5,
            checksum,
            conditions: write_conditions(input.if_match, input.if_none_match),
            // For aws-chunked bodies s3s has already put x-amz-decoded-content-length here.
            content_length: length(input.content_length),
            body: request_body(input.body),
        })
        .await?;

    let mut out = PutObjectOutput {
        e_tag: Some(etag(outcome.etag)),
        checksum_type: stored_type(outcome.checksum.as_ref()),
        version_id: outcome.version,
        expiration: super::lifecycle::expiration_header(outcome.expiration),
        ..Default::default()
    };
    set_checksum_values!(out, ChecksumValues::stored(outcome.checksum));
    Ok(S3Response::new(out))
}

pub(super) async fn copy_object(
    svc: &ObjectService,
    req: S3Request<CopyObjectInput>,
) -> S3Result<S3Response<CopyObjectOutput>> {
    let S3Request { input, headers, .. } = req;
    let (source_bucket, source_key, source_version) = copy_source(&input.copy_source)?;
    let metadata_directive = match input.metadata_directive.as_ref().map(|d| d.as_str()) {
        None => MetadataDirective::Copy,
        Some(d) if d.eq_ignore_ascii_case(DtoMetadataDirective::COPY) => MetadataDirective::Copy,
        Some(d) if d.eq_ignore_ascii_case(DtoMetadataDirective::REPLACE) => {
            MetadataDirective::Replace
        }
        Some(_) => {
            return Err(ObjectError::InvalidArgument("Unknown metadata directive.".into()).into());
        }
    };
    let replace_tags = match input.tagging_directive.as_ref().map(|d| d.as_str()) {
        None => None,
        Some(d) if d.eq_ignore_ascii_case(TaggingDirective::COPY) => None,
        Some(d) if d.eq_ignore_ascii_case(TaggingDirective::REPLACE) => {
            Some(parse_tagging(input.tagging.as_deref())?)
        }
        Some(_) => {
            return Err(ObjectError::InvalidArgument("Unknown tagging directive.".into()).into());
        }
    };
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
        tags: Vec::new(),
        lock: lock_in(
            input.object_lock_mode,
            input.object_lock_retain_until_date,
            input.object_lock_legal_hold_status,
        )?,
    };
    // Copying an object onto itself without REPLACE is refused by the service.
    let outcome = svc
        .copy_object(CopyRequest {
            source_bucket,
            source_key,
            source_version,
            source_conditions: read_conditions(
                input.copy_source_if_match,
                input.copy_source_if_none_match,
                input.copy_source_if_modified_since,
                input.copy_source_if_unmodified_since,
            ),
            bucket: input.bucket,
            key: input.key,
            metadata_directive,
            attributes,
            replace_tags,
            checksum_algorithm: input
                .checksum_algorithm
                .as_ref()
                .map(algorithm_in)
                .transpose()?,
        })
        .await?;

    let CopyOutcome {
        written: outcome,
        source_version,
    } = outcome;
    let mut result = CopyObjectResult {
        e_tag: Some(etag(outcome.etag)),
        last_modified: Some(timestamp(outcome.modified)),
        checksum_type: stored_type(outcome.checksum.as_ref()),
        ..Default::default()
    };
    set_checksum_values!(result, ChecksumValues::stored(outcome.checksum));
    Ok(S3Response::new(CopyObjectOutput {
        copy_object_result: Some(result),
        version_id: outcome.version,
        expiration: super::lifecycle::expiration_header(outcome.expiration),
        copy_source_version_id: source_version,
        ..Default::default()
    }))
}

pub(super) async fn delete_object(
    svc: &ObjectService,
    req: S3Request<DeleteObjectInput>,
) -> S3Result<S3Response<DeleteObjectOutput>> {
    let input = req.input;
    if input.if_match_last_modified_time.is_some() || input.if_match_size.is_some() {
        return Err(ObjectError::NotImplemented(
            "x-amz-if-match-last-modified-time and x-amz-if-match-size are not implemented".into(),
        )
        .into());
    }
    let request = DeleteRequest {
        key: input.key,
        version: version_id(input.version_id.as_deref())?,
        if_match: write_conditions(input.if_match, None).if_match,
        bypass_governance: input.bypass_governance_retention.unwrap_or(false),
    };
    let outcome = svc.delete_object(&input.bucket, request).await?;
    Ok(S3Response::new(DeleteObjectOutput {
        delete_marker: outcome.marker.then_some(true),
        version_id: outcome.version,
        ..Default::default()
    }))
}

/// DeleteObjects. s3s has parsed the XML (and accepts Content-MD5 or `x-amz-checksum-*`);
/// every key gets its own Deleted or Error entry, and `Quiet` drops the Deleted ones.
pub(super) async fn delete_objects(
    svc: &ObjectService,
    req: S3Request<DeleteObjectsInput>,
) -> S3Result<S3Response<DeleteObjectsOutput>> {
    let denied = req
        .extensions
        .get::<super::authorize::DeniedKeys>()
        .cloned()
        .unwrap_or_default();
    let input = req.input;
    let quiet = input.delete.quiet.unwrap_or(false);
    let bypass_governance = input.bypass_governance_retention.unwrap_or(false);

    let mut errors: Vec<DeleteError> = denied
        .0
        .into_iter()
        .map(|(key, version)| {
            let why = ObjectError::AccessDenied("Access Denied".into());
            error_entry(key, version, why)
        })
        .collect();
    let mut requests = Vec::with_capacity(input.delete.objects.len());
    for object in input.delete.objects {
        let version = match object.last_modified_time.is_some() || object.size.is_some() {
            true => Err(ObjectError::NotImplemented(
                "LastModifiedTime and Size conditions are not implemented".into(),
            )),
            false => version_id(object.version_id.as_deref()),
        };
        let if_match = object
            .e_tag
            .map(|tag| EtagMatch::Tags(vec![tag.into_value()]));
        match version {
            Ok(version) => requests.push(DeleteRequest {
                key: object.key,
                version,
                if_match,
                bypass_governance,
            }),
            Err(e) => errors.push(error_entry(object.key, object.version_id, e)),
        }
    }
    let results = if requests.is_empty() {
        Vec::new()
    } else {
        svc.delete_objects(&input.bucket, requests).await?
    };

    let mut deleted = Vec::new();
    for (request, result) in results {
        let asked = request.version.map(|v| v.to_string());
        match result {
            Ok(_) if quiet => {}
            // A version removed by id is reported as asked; a marker made, as the marker.
            Ok(outcome) => deleted.push(match &asked {
                Some(_) => DeletedObject {
                    key: Some(request.key),
                    version_id: asked,
                    delete_marker: outcome.marker.then_some(true),
                    delete_marker_version_id: outcome.marker.then_some(outcome.version).flatten(),
                },
                None => DeletedObject {
                    key: Some(request.key),
                    version_id: None,
                    delete_marker: outcome.marker.then_some(true),
                    delete_marker_version_id: outcome.version,
                },
            }),
            Err(e) => errors.push(error_entry(request.key, asked, e)),
        }
    }
    Ok(S3Response::new(DeleteObjectsOutput {
        deleted: Some(deleted),
        errors: Some(errors),
        ..Default::default()
    }))
}

fn error_entry(key: String, version_id: Option<String>, err: ObjectError) -> DeleteError {
    let (code, message) = code_and_message(err);
    DeleteError {
        code: Some(code),
        key: Some(key),
        message: Some(message),
        version_id,
    }
}
