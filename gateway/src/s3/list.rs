//! ListObjects (V1) and ListObjectsV2 onto the service's single listing call.
//!
//! Both map their resume point onto `ListRequest::after`: V1's `marker`; V2's `start-after` and
//! opaque continuation token (base64url of the last key or prefix returned), whichever is later.
//! `encoding-type=url` (always sent by `aws s3 sync`) is applied here, on the way out.
//!
//! ListObjectVersions pages by `key-marker` and `version-id-marker`; the service does the walk
//! (`objects/versions.rs`) and this splits its entries into versions and delete markers.

use s3s::dto::{
    CommonPrefix, DeleteMarkerEntry, ListObjectVersionsInput, ListObjectVersionsOutput,
    ListObjectsInput, ListObjectsOutput, ListObjectsV2Input, ListObjectsV2Output, Object,
    ObjectStorageClass, ObjectVersion, ObjectVersionStorageClass,
};
use s3s::{S3Request, S3Response, S3Result};

use crate::objects::{
    ListPage, ListRequest, ObjectError, ObjectRecord, ObjectService, Version, VersionsRequest,
};

use super::checksum::{algorithm_out, stored_type};
use super::convert::{
    decode_token, encode_token, etag, owner, page_limit, size, timestamp, url_encode, version_id,
    wants_url_encoding,
};

pub(super) async fn list_objects_v2(
    svc: &ObjectService,
    req: S3Request<ListObjectsV2Input>,
) -> S3Result<S3Response<ListObjectsV2Output>> {
    let input = req.input;
    let url = wants_url_encoding(input.encoding_type.as_ref())?;
    let max_keys = page_limit(input.max_keys, "max-keys")?;
    let from_token = input
        .continuation_token
        .as_deref()
        .map(decode_token)
        .transpose()?;
    let start_after = input.start_after.clone().filter(|s| !s.is_empty());
    // Option orders None first, so this is "the later of the two bounds, if any".
    let after = from_token.max(start_after);
    let prefix = input.prefix.unwrap_or_default();
    let delimiter = input.delimiter.filter(|d| !d.is_empty());

    let page = list(
        svc,
        ListRequest {
            bucket: input.bucket.clone(),
            prefix: prefix.clone(),
            delimiter: delimiter.clone(),
            after,
            max_keys,
        },
    )
    .await?;

    let encode = |s: String| if url { url_encode(&s) } else { s };
    let with_owner = input.fetch_owner.unwrap_or(false);
    let next_continuation_token = page
        .next_after
        .as_deref()
        .filter(|_| page.is_truncated)
        .map(encode_token);
    let contents = entries(page.objects, with_owner, &encode);
    let common_prefixes = prefixes(page.common_prefixes, &encode);
    let key_count = i32::try_from(contents.len() + common_prefixes.len()).unwrap_or(i32::MAX);

    Ok(S3Response::new(ListObjectsV2Output {
        name: Some(input.bucket),
        prefix: Some(encode(prefix)),
        delimiter: delimiter.map(encode),
        start_after: input.start_after.map(encode),
        max_keys: Some(i32::try_from(max_keys).unwrap_or(i32::MAX)),
        key_count: Some(key_count),
        continuation_token: input.continuation_token,
        next_continuation_token,
        is_truncated: Some(page.is_truncated),
        contents: Some(contents),
        common_prefixes: Some(common_prefixes),
        encoding_type: input.encoding_type,
        ..Default::default()
    }))
}

pub(super) async fn list_objects(
    svc: &ObjectService,
    req: S3Request<ListObjectsInput>,
) -> S3Result<S3Response<ListObjectsOutput>> {
    let input = req.input;
    let url = wants_url_encoding(input.encoding_type.as_ref())?;
    let max_keys = page_limit(input.max_keys, "max-keys")?;
    let prefix = input.prefix.unwrap_or_default();
    let delimiter = input.delimiter.filter(|d| !d.is_empty());

    let page = list(
        svc,
        ListRequest {
            bucket: input.bucket.clone(),
            prefix: prefix.clone(),
            delimiter: delimiter.clone(),
            after: input.marker.clone().filter(|m| !m.is_empty()),
            max_keys,
        },
    )
    .await?;

    let encode = |s: String| if url { url_encode(&s) } else { s };
    // Without a delimiter clients resume from their last key; S3 sends NextMarker only with one.
    let next_marker = page
        .next_after
        .filter(|_| page.is_truncated && delimiter.is_some())
        .map(encode);

    Ok(S3Response::new(ListObjectsOutput {
        name: Some(input.bucket),
        prefix: Some(encode(prefix)),
        delimiter: delimiter.map(encode),
        marker: Some(encode(input.marker.unwrap_or_default())),
        next_marker,
        max_keys: Some(i32::try_from(max_keys).unwrap_or(i32::MAX)),
        is_truncated: Some(page.is_truncated),
        contents: Some(entries(page.objects, true, &encode)),
        common_prefixes: Some(prefixes(page.common_prefixes, &encode)),
        encoding_type: input.encoding_type,
        ..Default::default()
    }))
}

pub(super) async fn list_object_versions(
    svc: &ObjectService,
    req: S3Request<ListObjectVersionsInput>,
) -> S3Result<S3Response<ListObjectVersionsOutput>> {
    let input = req.input;
    let url = wants_url_encoding(input.encoding_type.as_ref())?;
    let max_keys = page_limit(input.max_keys, "max-keys")?;
    let prefix = input.prefix.unwrap_or_default();
    let delimiter = input.delimiter.filter(|d| !d.is_empty());
    let key_marker = input.key_marker.clone().filter(|m| !m.is_empty());
    let version_marker = input.version_id_marker.clone().filter(|m| !m.is_empty());
    if key_marker.is_none() && version_marker.is_some() {
        return Err(s3s::s3_error!(
            InvalidArgument,
            "A version-id marker cannot be specified without a key marker."
        ));
    }
    let page = svc
        .list_versions(VersionsRequest {
            bucket: input.bucket.clone(),
            prefix: prefix.clone(),
            delimiter: delimiter.clone(),
            key_marker,
            version_marker: version_id(version_marker.as_deref())?,
            max_keys,
        })
        .await?;

    let encode = |s: String| if url { url_encode(&s) } else { s };
    let mut versions = Vec::new();
    let mut delete_markers = Vec::new();
    for listed in page.versions {
        let key = Some(encode(listed.key));
        let is_latest = Some(listed.is_latest);
        match listed.version {
            Version::Object(stamp, record) => versions.push(ObjectVersion {
                key,
                version_id: Some(stamp.id().to_string()),
                is_latest,
                last_modified: Some(timestamp(record.modified)),
                e_tag: Some(etag(record.etag)),
                size: Some(size(record.size)),
                storage_class: Some(ObjectVersionStorageClass::from_static(
                    ObjectVersionStorageClass::STANDARD,
                )),
                owner: Some(owner()),
                checksum_type: stored_type(record.checksum.as_ref()),
                checksum_algorithm: record.checksum.map(|c| vec![algorithm_out(c.algorithm)]),
                ..Default::default()
            }),
            Version::Marker(stamp, marker) => delete_markers.push(DeleteMarkerEntry {
                key,
                version_id: Some(stamp.id().to_string()),
                is_latest,
                last_modified: Some(timestamp(marker.modified)),
                owner: Some(owner()),
            }),
        }
    }
    Ok(S3Response::new(ListObjectVersionsOutput {
        name: Some(input.bucket),
        prefix: Some(encode(prefix)),
        delimiter: delimiter.map(encode),
        key_marker: Some(encode(input.key_marker.unwrap_or_default())),
        version_id_marker: Some(input.version_id_marker.unwrap_or_default()),
        next_key_marker: page.next_key_marker.map(encode),
        next_version_id_marker: page.next_version_marker,
        max_keys: Some(i32::try_from(max_keys).unwrap_or(i32::MAX)),
        is_truncated: Some(page.is_truncated),
        versions: Some(versions),
        delete_markers: Some(delete_markers),
        common_prefixes: Some(prefixes(page.common_prefixes, &encode)),
        encoding_type: input.encoding_type,
        ..Default::default()
    }))
}

/// One page from the service; `max-keys=0` is a valid, empty, untruncated page of an existing
/// bucket, which the service need not special-case.
async fn list(svc: &ObjectService, req: ListRequest) -> Result<ListPage, ObjectError> {
    if req.max_keys == 0 {
        svc.head_bucket(&req.bucket).await?;
        return Ok(ListPage::default());
    }
    svc.list_objects(req).await
}

fn entries(
    objects: Vec<(String, ObjectRecord)>,
    with_owner: bool,
    encode: &impl Fn(String) -> String,
) -> Vec<Object> {
    objects
        .into_iter()
        .map(|(key, record)| Object {
            key: Some(encode(key)),
            last_modified: Some(timestamp(record.modified)),
            e_tag: Some(etag(record.etag)),
            size: Some(size(record.size)),
            storage_class: Some(ObjectStorageClass::from_static(
                ObjectStorageClass::STANDARD,
            )),
            owner: with_owner.then(owner),
            checksum_type: stored_type(record.checksum.as_ref()),
            checksum_algorithm: record.checksum.map(|c| vec![algorithm_out(c.algorithm)]),
            ..Default::default()
        })
        .collect()
}

fn prefixes(prefixes: Vec<String>, encode: &impl Fn(String) -> String) -> Vec<CommonPrefix> {
    prefixes
        .into_iter()
        .map(|p| CommonPrefix {
            prefix: Some(encode(p)),
        })
        .collect()
}
