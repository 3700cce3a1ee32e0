//! CopyObject: to another key and bucket (same bytes and ETag), metadata directive COPY and
//! REPLACE, tagging directive, copying onto itself (InvalidRequest without REPLACE),
//! `x-amz-copy-source-if-*`, and missing sources.

use std::time::{Duration, SystemTime};

use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{MetadataDirective, TaggingDirective};

use crate::s3_api::harness::*;

/// Bucket "src" holding `key` with a content type, metadata and a tag.
async fn source(gw: &TestGateway, key: &str, bytes: &[u8]) -> String {
    gw.create_bucket("src").await;
    let put = gw
        .client
        .put_object()
        .bucket("src")
        .key(key)
        .content_type("image/png")
        .cache_control("no-cache")
        .metadata("origin", "camera")
        .tagging("kind=photo")
        .body(ByteStream::from(bytes.to_vec()))
        .send()
        .await;
    ok(put, "put source").e_tag().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_to_other_key_and_bucket() {
    let gw = TestGateway::start().await;
    for (key, size) in [("dir/small file+1.png", 3000), ("big", 9 * MIB + 3)] {
        let bytes = data(91 + size as u64, size);
        if size == 3000 {
            gw.create_bucket("dst").await;
        }
        let etag = if size == 3000 {
            source(&gw, key, &bytes).await
        } else {
            gw.put("src", key, &bytes)
                .await
                .e_tag()
                .unwrap()
                .to_string()
        };
        let copy_source = format!("src/{}", url_encode_path(key));
        for (bucket, dest) in [("src", "copy-same-bucket"), ("dst", "copy/other bucket")] {
            let out = ok(
                gw.client
                    .copy_object()
                    .bucket(bucket)
                    .key(dest)
                    .copy_source(&copy_source)
                    .send()
                    .await,
                "copy",
            );
            let result = out.copy_object_result().expect("CopyObjectResult");
            assert_eq!(
                result.e_tag(),
                Some(etag.as_str()),
                "copy of {key} keeps the ETag"
            );
            assert!(result.last_modified().is_some());
            let get = ok(
                gw.client.get_object().bucket(bucket).key(dest).send().await,
                "get copy",
            );
            assert_eq!(get.e_tag(), Some(etag.as_str()));
            assert_eq!(get.content_length(), Some(size as i64));
            assert_bytes(&body(get).await, &bytes, dest);
        }
    }
    // The source is untouched.
    assert_eq!(gw.get("src", "big").await.len(), 9 * MIB + 3);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_directive_copy_and_replace() {
    let gw = TestGateway::start().await;
    source(&gw, "k", b"bytes").await;
    let c = &gw.client;
    ok(
        c.copy_object()
            .bucket("src")
            .key("copied")
            .copy_source("src/k")
            .send()
            .await,
        "copy",
    );
    let head = ok(
        c.head_object().bucket("src").key("copied").send().await,
        "head",
    );
    assert_eq!(head.content_type(), Some("image/png"));
    assert_eq!(head.cache_control(), Some("no-cache"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("origin"))
            .map(String::as_str),
        Some("camera")
    );

    let replaced = c
        .copy_object()
        .bucket("src")
        .key("replaced")
        .copy_source("src/k")
        .metadata_directive(MetadataDirective::Replace)
        .content_type("text/plain")
        .metadata("editor", "me")
        .send()
        .await;
    ok(replaced, "copy with REPLACE");
    let head = ok(
        c.head_object().bucket("src").key("replaced").send().await,
        "head",
    );
    assert_eq!(head.content_type(), Some("text/plain"));
    assert_eq!(head.cache_control(), None, "REPLACE drops the old headers");
    let meta = head.metadata().cloned().unwrap_or_default();
    assert_eq!(meta.get("editor").map(String::as_str), Some("me"));
    assert!(
        !meta.contains_key("origin"),
        "REPLACE drops the old metadata: {meta:?}"
    );
    assert_eq!(gw.get("src", "replaced").await, b"bytes");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tagging_directive() {
    let gw = TestGateway::start().await;
    source(&gw, "k", b"bytes").await;
    let c = &gw.client;
    let tags = |key: &'static str| async move {
        let out = ok(
            c.get_object_tagging().bucket("src").key(key).send().await,
            "tagging",
        );
        out.tag_set()
            .iter()
            .map(|t| format!("{}={}", t.key(), t.value()))
            .collect::<Vec<_>>()
    };
    ok(
        c.copy_object()
            .bucket("src")
            .key("same-tags")
            .copy_source("src/k")
            .send()
            .await,
        "copy",
    );
    assert_eq!(tags("same-tags").await, ["kind=photo"]);
    let replaced = c
        .copy_object()
        .bucket("src")
        .key("new-tags")
        .copy_source("src/k")
        .tagging_directive(TaggingDirective::Replace)
        .tagging("kind=thumbnail")
        .send()
        .await;
    ok(replaced, "copy with tagging REPLACE");
    assert_eq!(tags("new-tags").await, ["kind=thumbnail"]);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_onto_itself() {
    let gw = TestGateway::start().await;
    let etag = source(&gw, "self", b"self bytes").await;
    let c = &gw.client;
    let same = c
        .copy_object()
        .bucket("src")
        .key("self")
        .copy_source("src/self")
        .send()
        .await;
    expect_err(same, 400, "InvalidRequest");

    let replaced = c
        .copy_object()
        .bucket("src")
        .key("self")
        .copy_source("src/self")
        .metadata_directive(MetadataDirective::Replace)
        .content_type("application/json")
        .metadata("version", "2")
        .send()
        .await;
    let out = ok(replaced, "self-copy with REPLACE");
    assert_eq!(
        out.copy_object_result().and_then(|r| r.e_tag()),
        Some(etag.as_str())
    );
    let head = ok(
        c.head_object().bucket("src").key("self").send().await,
        "head",
    );
    assert_eq!(head.content_type(), Some("application/json"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("version"))
            .map(String::as_str),
        Some("2")
    );
    assert_eq!(head.e_tag(), Some(etag.as_str()));
    assert_eq!(gw.get("src", "self").await, b"self bytes");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_source_conditions() {
    let gw = TestGateway::start().await;
    let etag = source(&gw, "k", b"conditional").await;
    let c = &gw.client;
    let copy = || {
        c.copy_object()
            .bucket("src")
            .key("dest")
            .copy_source("src/k")
    };
    expect_err(
        copy().copy_source_if_match("\"0000\"").send().await,
        412,
        "PreconditionFailed",
    );
    expect_err(
        c.get_object().bucket("src").key("dest").send().await,
        404,
        "NoSuchKey",
    );
    ok(
        copy().copy_source_if_match(&etag).send().await,
        "copy-source-if-match right",
    );
    expect_err(
        copy().copy_source_if_none_match(&etag).send().await,
        412,
        "PreconditionFailed",
    );
    ok(
        copy().copy_source_if_none_match("\"0000\"").send().await,
        "if-none-match other",
    );
    let past = DateTime::from(SystemTime::now() - Duration::from_secs(86_400));
    let future = DateTime::from(SystemTime::now() + Duration::from_secs(86_400));
    expect_err(
        copy().copy_source_if_unmodified_since(past).send().await,
        412,
        "PreconditionFailed",
    );
    expect_err(
        copy().copy_source_if_modified_since(future).send().await,
        412,
        "PreconditionFailed",
    );
    ok(
        copy().copy_source_if_modified_since(past).send().await,
        "modified since yesterday",
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_missing_source() {
    let gw = TestGateway::start().await;
    gw.create_bucket("src").await;
    let c = &gw.client;
    let missing = c
        .copy_object()
        .bucket("src")
        .key("dest")
        .copy_source("src/none")
        .send()
        .await;
    expect_err(missing, 404, "NoSuchKey");
    let bucket = c
        .copy_object()
        .bucket("src")
        .key("dest")
        .copy_source("ghost/none")
        .send()
        .await;
    expect_err(bucket, 404, "NoSuchBucket");
    gw.put("src", "k", b"x").await;
    let dest_bucket = c
        .copy_object()
        .bucket("ghost")
        .key("dest")
        .copy_source("src/k")
        .send()
        .await;
    expect_err(dest_bucket, 404, "NoSuchBucket");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_of_multipart_object() {
    let gw = TestGateway::start().await;
    gw.create_bucket("src").await;
    let (p1, p2) = (data(92, 5 * MIB), data(93, 2 * MIB + 1));
    gw.multipart("src", "mp", &[&p1, &p2]).await;
    let out = gw
        .client
        .copy_object()
        .bucket("src")
        .key("flat")
        .copy_source("src/mp")
        .send()
        .await;
    ok(out, "copy multipart object");
    assert_bytes(
        &gw.get("src", "flat").await,
        &[p1, p2].concat(),
        "copy of a multipart object",
    );
    gw.stop().await;
}
