//! The exact error codes (HTTP status and S3 code) for buckets, objects and multipart uploads.
//! Authentication errors and the shape of error responses are in `auth`.

use anyhow::Context;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use super::multipart::upload_parts;
use super::support::*;
use crate::target::Target;

pub async fn buckets(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("err-buckets").await?;
    let missing = t.bucket_name("never-created");
    expect_err(
        c.list_objects_v2().bucket(&missing).send().await,
        404,
        "NoSuchBucket",
        "list a missing bucket",
    )?;
    expect_err(
        c.get_object().bucket(&missing).key("k").send().await,
        404,
        "NoSuchBucket",
        "GET in a missing bucket",
    )?;
    let put = c
        .put_object()
        .bucket(&missing)
        .key("k")
        .body(ByteStream::from_static(b"x"));
    expect_err(
        put.send().await,
        404,
        "NoSuchBucket",
        "PUT into a missing bucket",
    )?;
    expect_err(
        c.delete_bucket().bucket(&missing).send().await,
        404,
        "NoSuchBucket",
        "delete a missing bucket",
    )?;
    expect_status(
        c.head_bucket().bucket(&missing).send().await,
        404,
        "HEAD a missing bucket",
    )?;
    expect_err(
        c.create_bucket().bucket(&bucket).send().await,
        409,
        "BucketAlreadyOwnedByYou",
        "create a bucket twice",
    )?;
    ok(
        c.put_object()
            .bucket(&bucket)
            .key("k")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        "put",
    )?;
    expect_err(
        c.delete_bucket().bucket(&bucket).send().await,
        409,
        "BucketNotEmpty",
        "delete a non-empty bucket",
    )?;
    for bad in ["ab", "Upper-Case-Bucket", "under_score", "-leading-dash"] {
        expect_err(
            c.create_bucket().bucket(bad).send().await,
            400,
            "InvalidBucketName",
            &format!("bucket {bad:?}"),
        )?;
    }
    Ok(())
}

pub async fn objects(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("err-objects").await?;
    expect_err(
        c.get_object().bucket(&bucket).key("nope").send().await,
        404,
        "NoSuchKey",
        "GET a missing key",
    )?;
    expect_status(
        c.head_object().bucket(&bucket).key("nope").send().await,
        404,
        "HEAD a missing key",
    )?;
    let source = format!("{bucket}/nope");
    expect_err(
        c.copy_object()
            .bucket(&bucket)
            .key("dst")
            .copy_source(&source)
            .send()
            .await,
        404,
        "NoSuchKey",
        "copy from a missing key",
    )?;
    let long = "k".repeat(1025);
    let put = c
        .put_object()
        .bucket(&bucket)
        .key(&long)
        .body(ByteStream::from_static(b"x"));
    expect_err(put.send().await, 400, "KeyTooLongError", "a 1025-byte key")?;
    let put = c
        .put_object()
        .bucket(&bucket)
        .key("meta")
        .metadata("big", "v".repeat(2100));
    expect_err(
        put.body(ByteStream::from_static(b"x")).send().await,
        400,
        "MetadataTooLarge",
        "2.1 KB of metadata",
    )?;
    let put = c
        .put_object()
        .bucket(&bucket)
        .key("md5")
        .content_md5("not base64!");
    expect_err(
        put.body(ByteStream::from_static(b"x")).send().await,
        400,
        "InvalidDigest",
        "malformed Content-MD5",
    )?;
    ok(
        c.put_object()
            .bucket(&bucket)
            .key("k")
            .body(ByteStream::from_static(b"0123456789"))
            .send()
            .await,
        "put",
    )?;
    expect_err(
        c.get_object()
            .bucket(&bucket)
            .key("k")
            .range("bytes=10-")
            .send()
            .await,
        416,
        "InvalidRange",
        "range past the end",
    )?;
    expect_err(
        c.get_object()
            .bucket(&bucket)
            .key("k")
            .if_match("\"0000\"")
            .send()
            .await,
        412,
        "PreconditionFailed",
        "If-Match mismatch",
    )?;
    expect_err(
        c.list_objects_v2()
            .bucket(&bucket)
            .max_keys(-1)
            .send()
            .await,
        400,
        "InvalidArgument",
        "max-keys=-1",
    )
}

pub async fn multipart(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("err-multipart").await?;
    let key = "mp";
    let bogus = "bm90LWFuLXVwbG9hZA";
    let part = c
        .upload_part()
        .bucket(&bucket)
        .key(key)
        .upload_id(bogus)
        .part_number(1);
    expect_err(
        part.body(ByteStream::from_static(b"x")).send().await,
        404,
        "NoSuchUpload",
        "part of a missing upload",
    )?;
    expect_err(
        c.abort_multipart_upload()
            .bucket(&bucket)
            .key(key)
            .upload_id(bogus)
            .send()
            .await,
        404,
        "NoSuchUpload",
        "abort a missing upload",
    )?;

    let create = ok(
        c.create_multipart_upload()
            .bucket(&bucket)
            .key(key)
            .send()
            .await,
        "create",
    )?;
    let id = create.upload_id().context("no UploadId")?.to_string();
    let part = c
        .upload_part()
        .bucket(&bucket)
        .key(key)
        .upload_id(&id)
        .part_number(0);
    expect_err(
        part.body(ByteStream::from_static(b"x")).send().await,
        400,
        "InvalidArgument",
        "part number 0",
    )?;
    let part = c
        .upload_part()
        .bucket(&bucket)
        .key(key)
        .upload_id(&id)
        .part_number(10_001);
    expect_err(
        part.body(ByteStream::from_static(b"x")).send().await,
        400,
        "InvalidArgument",
        "part number 10001",
    )?;

    let (first, last) = (data(1200, 5 * MIB), data(1201, 10 * KIB));
    let parts = upload_parts(&c, &bucket, key, &id, &[&first, &last]).await?;
    let complete = |id: &str, parts: Vec<CompletedPart>| {
        c.complete_multipart_upload()
            .bucket(&bucket)
            .key(key)
            .upload_id(id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
    };
    let wrong_etag = vec![
        parts[0].clone(),
        CompletedPart::builder()
            .part_number(2)
            .e_tag("\"00000000000000000000000000000000\"")
            .build(),
    ];
    expect_err(
        complete(&id, wrong_etag).await,
        400,
        "InvalidPart",
        "complete with a wrong ETag",
    )?;
    let unknown = vec![
        parts[0].clone(),
        CompletedPart::builder()
            .part_number(7)
            .set_e_tag(parts[1].e_tag().map(str::to_owned))
            .build(),
    ];
    expect_err(
        complete(&id, unknown).await,
        400,
        "InvalidPart",
        "complete with a part never uploaded",
    )?;
    let reversed = vec![parts[1].clone(), parts[0].clone()];
    expect_err(
        complete(&id, reversed).await,
        400,
        "InvalidPartOrder",
        "complete with parts out of order",
    )?;

    // Every part but the last must be at least 5 MiB.
    let create = ok(
        c.create_multipart_upload()
            .bucket(&bucket)
            .key(key)
            .send()
            .await,
        "create",
    )?;
    let small_id = create.upload_id().context("no UploadId")?.to_string();
    let small = data(1202, 100 * KIB);
    let small_parts = upload_parts(&c, &bucket, key, &small_id, &[&small, &last]).await?;
    expect_err(
        complete(&small_id, small_parts).await,
        400,
        "EntityTooSmall",
        "a 100 KiB part that is not the last",
    )?;
    ok(
        c.abort_multipart_upload()
            .bucket(&bucket)
            .key(key)
            .upload_id(&small_id)
            .send()
            .await,
        "abort",
    )?;
    ok(
        c.abort_multipart_upload()
            .bucket(&bucket)
            .key(key)
            .upload_id(&id)
            .send()
            .await,
        "abort",
    )?;
    expect_err(
        c.get_object().bucket(&bucket).key(key).send().await,
        404,
        "NoSuchKey",
        "no object after failures",
    )
}
