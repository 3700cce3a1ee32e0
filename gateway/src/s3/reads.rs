//! Object reads: GetObject and HeadObject, which answer with the same representation headers.
//!
//! Status codes are s3s's doing: GetObject becomes 206 when `content_range` is set; HeadObject
//! is fixed up to 206 in `request_id` (s3s 0.14 ignores `S3Response::status`). Conditional
//! failures come back from the service as errors (304 / 412) and are shaped in `errors`.

use http::HeaderMap;
use s3s::dto::{
    ChecksumMode, GetObjectInput, GetObjectOutput, HeadObjectInput, HeadObjectOutput, Metadata,
    Timestamp,
};
use s3s::{S3Request, S3Response, S3Result};

use crate::objects::{GetRequest, ObjectBody, ObjectService, ObjectView};

use super::body::response_body;
use super::checksum::{ChecksumValues, set_checksum_values, stored_type};
use super::convert::{
    etag, extra_headers, metadata_out, part_number, range_spec, read_conditions, size, timestamp,
    version_id,
};
use super::lock::{LockHeaders, lock_out};

/// S3's answer for objects stored without a Content-Type.
const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// GetObject and HeadObject inputs share these fields; this builds the service request.
macro_rules! get_request {
    ($input:expr) => {{
        let input = $input;
        GetRequest {
            version: version_id(input.version_id.as_deref())?,
            range: input.range.map(range_spec),
            part_number: input.part_number.map(part_number).transpose()?,
            conditions: read_conditions(
                input.if_match,
                input.if_none_match,
                input.if_modified_since,
                input.if_unmodified_since,
            ),
            bucket: input.bucket,
            key: input.key,
        }
    }};
}

pub(super) async fn get_object(
    svc: &ObjectService,
    req: S3Request<GetObjectInput>,
) -> S3Result<S3Response<GetObjectOutput>> {
    let with_checksum = checksum_enabled(req.input.checksum_mode.as_ref());
    let ObjectBody { view, body } = svc.get_object(get_request!(req.input)).await?;
    let tag_count = i32::try_from(view.record.tags.len()).unwrap_or(i32::MAX);
    let length = view.content_length;
    let r = Representation::of(view, with_checksum);
    let mut out = GetObjectOutput {
        body: Some(response_body(body, length)),
        tag_count: (tag_count > 0).then_some(tag_count),
        accept_ranges: Some("bytes".to_owned()),
        cache_control: r.cache_control,
        content_disposition: r.content_disposition,
        content_encoding: r.content_encoding,
        content_language: r.content_language,
        content_length: Some(r.content_length),
        content_range: r.content_range,
        content_type: Some(r.content_type),
        e_tag: Some(r.e_tag),
        last_modified: Some(r.last_modified),
        metadata: r.metadata,
        parts_count: r.parts_count,
        checksum_type: r.checksum_type,
        version_id: r.version_id,
        expiration: r.expiration,
        object_lock_mode: r.lock.mode,
        object_lock_retain_until_date: r.lock.until,
        object_lock_legal_hold_status: r.lock.legal_hold,
        ..Default::default()
    };
    set_checksum_values!(out, r.checksum);
    Ok(S3Response::with_headers(out, r.extra))
}

pub(super) async fn head_object(
    svc: &ObjectService,
    req: S3Request<HeadObjectInput>,
) -> S3Result<S3Response<HeadObjectOutput>> {
    let with_checksum = checksum_enabled(req.input.checksum_mode.as_ref());
    let view = svc.head_object(get_request!(req.input)).await?;
    let r = Representation::of(view, with_checksum);
    let mut out = HeadObjectOutput {
        accept_ranges: Some("bytes".to_owned()),
        cache_control: r.cache_control,
        content_disposition: r.content_disposition,
        content_encoding: r.content_encoding,
        content_language: r.content_language,
        content_length: Some(r.content_length),
        content_range: r.content_range,
        content_type: Some(r.content_type),
        e_tag: Some(r.e_tag),
        last_modified: Some(r.last_modified),
        metadata: r.metadata,
        parts_count: r.parts_count,
        checksum_type: r.checksum_type,
        version_id: r.version_id,
        expiration: r.expiration,
        object_lock_mode: r.lock.mode,
        object_lock_retain_until_date: r.lock.until,
        object_lock_legal_hold_status: r.lock.legal_hold,
        ..Default::default()
    };
    set_checksum_values!(out, r.checksum);
    Ok(S3Response::with_headers(out, r.extra))
}

fn checksum_enabled(mode: Option<&ChecksumMode>) -> bool {
    mode.is_some_and(|m| m.as_str().eq_ignore_ascii_case(ChecksumMode::ENABLED))
}

/// The headers GetObject and HeadObject have in common, in DTO types.
struct Representation {
    cache_control: Option<String>,
    content_disposition: Option<String>,
    content_encoding: Option<String>,
    content_language: Option<String>,
    content_length: i64,
    content_range: Option<String>,
    content_type: String,
    e_tag: s3s::dto::ETag,
    last_modified: Timestamp,
    metadata: Option<Metadata>,
    parts_count: Option<i32>,
    checksum: ChecksumValues,
    checksum_type: Option<s3s::dto::ChecksumType>,
    version_id: Option<String>,
    lock: LockHeaders,
    /// `x-amz-expiration`.
    expiration: Option<String>,
    /// Headers without a typed field (the raw `Expires`).
    extra: HeaderMap,
}

impl Representation {
    fn of(view: ObjectView, with_checksum: bool) -> Self {
        let record = view.record;
        let extra = extra_headers(&record.headers);
        let headers = record.headers;
        // A checksum describes the whole object: never attach it to a slice.
        let checksum = record
            .checksum
            .filter(|_| with_checksum && view.range.is_none());
        Self {
            cache_control: headers.cache_control,
            content_disposition: headers.content_disposition,
            content_encoding: headers.content_encoding,
            content_language: headers.content_language,
            content_length: size(view.content_length),
            content_range: view
                .range
                .map(|(first, last)| format!("bytes {first}-{last}/{}", record.size)),
            content_type: headers
                .content_type
                .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_owned()),
            e_tag: etag(record.etag),
            last_modified: timestamp(record.modified),
            metadata: metadata_out(record.metadata),
            parts_count: view
                .parts_count
                .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
            checksum_type: stored_type(checksum.as_ref()),
            checksum: ChecksumValues::stored(checksum),
            version_id: view.version,
            lock: lock_out(view.lock),
            expiration: super::lifecycle::expiration_header(view.expiration),
            extra,
        }
    }
}
