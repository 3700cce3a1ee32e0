//! The exact error codes (HTTP status and S3 code) for buckets, objects, multipart and
//! authentication, and the shape of an error: an XML body with Code, Message and RequestId, no
//! body on HEAD, and `x-amz-request-id` on every response.

use std::time::{Duration, SystemTime};

use anyhow::{Context, ensure};
use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use super::multipart::upload_parts;
use super::support::*;
use crate::target::Target;

pub async fn buckets(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("err-buckets").await?;
    let missing = t.bucket_name("never-created");
    expect_err(c.list_objects_v2().bucket(&missing).send().await, 404, "NoSuchBucket", "list a missing bucket")?;
    expect_err(c.get_object().bucket(&missing).key("k").send().await, 404, "NoSuchBucket", "GET in a missing bucket")?;
    let put = c.put_object().bucket(&missing).key("k").body(ByteStream::from_static(b"x"));
    expect_err(put.send().await, 404, "NoSuchBucket", "PUT into a missing bucket")?;
    expect_err(c.delete_bucket().bucket(&missing).send().await, 404, "NoSuchBucket", "delete a missing bucket")?;
    expect_status(c.head_bucket().bucket(&missing).send().await, 404, "HEAD a missing bucket")?;
    expect_err(
        c.create_bucket().bucket(&bucket).send().await,
        409,
        "BucketAlreadyOwnedByYou",
        "create a bucket twice",
    )?;
    ok(c.put_object().bucket(&bucket).key("k").body(ByteStream::from_static(b"x")).send().await, "put")?;
    expect_err(c.delete_bucket().bucket(&bucket).send().await, 409, "BucketNotEmpty", "delete a non-empty bucket")?;
    for bad in ["ab", "Upper-Case-Bucket", "under_score", "-leading-dash"] {
        expect_err(c.create_bucket().bucket(bad).send().await, 400, "InvalidBucketName", &format!("bucket {bad:?}"))?;
    }
    Ok(())
}

pub async fn objects(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("err-objects").await?;
    expect_err(c.get_object().bucket(&bucket).key("nope").send().await, 404, "NoSuchKey", "GET a missing key")?;
    expect_status(c.head_object().bucket(&bucket).key("nope").send().await, 404, "HEAD a missing key")?;
    let source = format!("{bucket}/nope");
    expect_err(
        c.copy_object().bucket(&bucket).key("dst").copy_source(&source).send().await,
        404,
        "NoSuchKey",
        "copy from a missing key",
    )?;
    let long = "k".repeat(1025);
    let put = c.put_object().bucket(&bucket).key(&long).body(ByteStream::from_static(b"x"));
    expect_err(put.send().await, 400, "KeyTooLongError", "a 1025-byte key")?;
    let put = c.put_object().bucket(&bucket).key("meta").metadata("big", "v".repeat(2100));
    expect_err(put.body(ByteStream::from_static(b"x")).send().await, 400, "MetadataTooLarge", "2.1 KB of metadata")?;
    let put = c.put_object().bucket(&bucket).key("md5").content_md5("not base64!");
    expect_err(put.body(ByteStream::from_static(b"x")).send().await, 400, "InvalidDigest", "malformed Content-MD5")?;
    ok(c.put_object().bucket(&bucket).key("k").body(ByteStream::from_static(b"0123456789")).send().await, "put")?;
    expect_err(
        c.get_object().bucket(&bucket).key("k").range("bytes=10-").send().await,
        416,
        "InvalidRange",
        "range past the end",
    )?;
    expect_err(
        c.get_object().bucket(&bucket).key("k").if_match("\"0000\"").send().await,
        412,
        "PreconditionFailed",
        "If-Match mismatch",
    )?;
    expect_err(c.list_objects_v2().bucket(&bucket).max_keys(-1).send().await, 400, "InvalidArgument", "max-keys=-1")
}

pub async fn multipart(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("err-multipart").await?;
    let key = "mp";
    let bogus = "bm90LWFuLXVwbG9hZA";
    let part = c.upload_part().bucket(&bucket).key(key).upload_id(bogus).part_number(1);
    expect_err(part.body(ByteStream::from_static(b"x")).send().await, 404, "NoSuchUpload", "part of a missing upload")?;
    expect_err(
        c.abort_multipart_upload().bucket(&bucket).key(key).upload_id(bogus).send().await,
        404,
        "NoSuchUpload",
        "abort a missing upload",
    )?;

    let create = ok(c.create_multipart_upload().bucket(&bucket).key(key).send().await, "create")?;
    let id = create.upload_id().context("no UploadId")?.to_string();
    let part = c.upload_part().bucket(&bucket).key(key).upload_id(&id).part_number(0);
    expect_err(part.body(ByteStream::from_static(b"x")).send().await, 400, "InvalidArgument", "part number 0")?;
    let part = c.upload_part().bucket(&bucket).key(key).upload_id(&id).part_number(10_001);
    expect_err(part.body(ByteStream::from_static(b"x")).send().await, 400, "InvalidArgument", "part number 10001")?;

    let (small, last) = (data(1200, 100 * KIB), data(1201, 10 * KIB));
    let parts = upload_parts(&c, &bucket, key, &id, &[&small, &last]).await?;
    let complete = |parts: Vec<CompletedPart>| {
        c.complete_multipart_upload()
            .bucket(&bucket)
            .key(key)
            .upload_id(&id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
    };
    let wrong_etag = vec![
        parts[0].clone(),
        CompletedPart::builder().part_number(2).e_tag("\"00000000000000000000000000000000\"").build(),
    ];
    expect_err(complete(wrong_etag).await, 400, "InvalidPart", "complete with a wrong ETag")?;
    let unknown = vec![
        parts[0].clone(),
        CompletedPart::builder().part_number(7).set_e_tag(parts[1].e_tag().map(str::to_owned)).build(),
    ];
    expect_err(complete(unknown).await, 400, "InvalidPart", "complete with a part never uploaded")?;
    let reversed = vec![parts[1].clone(), parts[0].clone()];
    expect_err(complete(reversed).await, 400, "InvalidPartOrder", "complete with parts out of order")?;
    expect_err(complete(parts).await, 400, "EntityTooSmall", "a 100 KiB part that is not the last")?;
    ok(c.abort_multipart_upload().bucket(&bucket).key(key).upload_id(&id).send().await, "abort")?;
    expect_err(c.get_object().bucket(&bucket).key(key).send().await, 404, "NoSuchKey", "no object after failures")
}

/// A clock that runs `behind` late: requests are signed in the past.
#[derive(Debug)]
struct LateClock(Duration);

impl aws_smithy_async::time::TimeSource for LateClock {
    fn now(&self) -> SystemTime {
        SystemTime::now() - self.0
    }
}

pub async fn auth(t: Target) -> anyhow::Result<()> {
    let bucket = t.create_bucket("err-auth").await?;
    let good = t.client();
    ok(good.put_object().bucket(&bucket).key("k").body(ByteStream::from_static(b"private")).send().await, "put")?;
    let wrong_secret = t.client_with(&t.access_key, "definitely-not-the-secret");
    expect_err(
        wrong_secret.get_object().bucket(&bucket).key("k").send().await,
        403,
        "SignatureDoesNotMatch",
        "wrong secret key",
    )?;
    let put = wrong_secret.put_object().bucket(&bucket).key("k").body(ByteStream::from_static(b"overwrite"));
    expect_err(put.send().await, 403, "SignatureDoesNotMatch", "PUT with a wrong secret key")?;
    let unknown = t.client_with("AKIDCONFORMANCEUNKNOWN", &t.secret_key);
    expect_err(unknown.list_buckets().send().await, 403, "InvalidAccessKeyId", "unknown access key")?;

    // Signed 20 minutes in the past, one attempt (a retry would correct the clock).
    let late = aws_sdk_s3::Config::builder()
        .endpoint_url(&t.endpoint)
        .region(aws_sdk_s3::config::Region::new(t.region.clone()))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(&t.access_key, &t.secret_key, None, None, "late"))
        .force_path_style(true)
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .time_source(LateClock(Duration::from_secs(20 * 60)))
        .build();
    let late = aws_sdk_s3::Client::from_conf(late);
    expect_err(late.list_buckets().send().await, 403, "RequestTimeTooSkewed", "clock 20 minutes late")?;

    for (method, path) in [("GET", format!("/{bucket}/k")), ("GET", format!("/{bucket}")), ("PUT", format!("/{bucket}/anon"))] {
        let raw = raw_request(method, &format!("{}{path}", t.endpoint), &[], Vec::new()).await?;
        ensure!(
            raw.status == 403 && raw.text().contains("<Code>AccessDenied</Code>"),
            "anonymous {method} {path}: {} {}",
            raw.status,
            raw.text()
        );
    }
    let got = body(ok(good.get_object().bucket(&bucket).key("k").send().await, "get")?).await?;
    ensure_bytes(&got, b"private", "object after refused requests")
}

pub async fn shape(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("err-shape").await?;
    let config = PresigningConfig::expires_in(Duration::from_secs(300))?;
    let url = c.get_object().bucket(&bucket).key("missing").presigned(config.clone()).await?;
    let raw = raw_request("GET", url.uri(), &[], Vec::new()).await?;
    let text = raw.text();
    ensure!(raw.status == 404, "GET a missing key: status {}", raw.status);
    for part in ["<Error>", "<Code>NoSuchKey</Code>", "<Message>", "<RequestId>"] {
        ensure!(text.contains(part), "error body lacks {part}: {text}");
    }
    ensure!(
        raw.header("content-type").is_some_and(|v| v.contains("xml")),
        "error Content-Type {:?}",
        raw.header("content-type")
    );
    ensure!(raw.header("x-amz-request-id").is_some_and(|v| !v.is_empty()), "error without x-amz-request-id");

    let url = c.head_object().bucket(&bucket).key("missing").presigned(config).await?;
    let raw = raw_request("HEAD", url.uri(), &[], Vec::new()).await?;
    ensure!(raw.status == 404 && raw.body.is_empty(), "HEAD error: {} with {} body bytes", raw.status, raw.body.len());

    let a = ok(c.list_buckets().send().await, "list buckets")?;
    let b = ok(c.list_objects_v2().bucket(&bucket).send().await, "list objects")?;
    let (a, b) = (a.request_id().unwrap_or_default(), b.request_id().unwrap_or_default());
    ensure!(!a.is_empty() && !b.is_empty() && a != b, "request ids {a:?} and {b:?}");
    Ok(())
}
