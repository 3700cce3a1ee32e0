//! Conditional requests: If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since on
//! GET and HEAD with S3's precedence, and conditional writes (`If-None-Match: *`, `If-Match`) on
//! PutObject and CompleteMultipartUpload.

use std::time::{Duration, SystemTime};

use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use crate::s3_api::harness::*;

fn day_ago() -> DateTime {
    DateTime::from(SystemTime::now() - Duration::from_secs(86_400))
}

fn day_ahead() -> DateTime {
    DateTime::from(SystemTime::now() + Duration::from_secs(86_400))
}

/// A bucket "cond" with object "k"; returns its quoted ETag.
async fn setup(gw: &TestGateway) -> String {
    gw.create_bucket("cond").await;
    let put = gw.put("cond", "k", b"conditional body").await;
    put.e_tag().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_match() {
    let gw = TestGateway::start().await;
    let etag = setup(&gw).await;
    let get = |tag: String| {
        gw.client
            .get_object()
            .bucket("cond")
            .key("k")
            .if_match(tag)
            .send()
    };
    ok(get(etag.clone()).await, "If-Match with the quoted ETag");
    ok(
        get(etag.trim_matches('"').to_string()).await,
        "If-Match with the unquoted ETag",
    );
    ok(get("*".into()).await, "If-Match: *");
    expect_err(
        get("\"0123456789abcdef0123456789abcdef\"".into()).await,
        412,
        "PreconditionFailed",
    );

    let head = |tag: &str| {
        gw.client
            .head_object()
            .bucket("cond")
            .key("k")
            .if_match(tag)
            .send()
    };
    ok(head(&etag).await, "HEAD If-Match");
    expect_status(head("\"nope\"").await, 412);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_none_match() {
    let gw = TestGateway::start().await;
    let etag = setup(&gw).await;
    let get = |tag: String| {
        gw.client
            .get_object()
            .bucket("cond")
            .key("k")
            .if_none_match(tag)
            .send()
    };
    let err = expect_status(get(etag.clone()).await, 304);
    let raw = err.raw_response().unwrap();
    assert_eq!(
        raw.headers().get("etag"),
        Some(etag.as_str()),
        "304 carries the ETag"
    );
    expect_status(get(etag.trim_matches('"').to_string()).await, 304);
    expect_status(get("*".into()).await, 304);
    let out = ok(
        get("\"other\"".into()).await,
        "If-None-Match that does not match",
    );
    assert_eq!(body(out).await, b"conditional body");

    let head = |tag: &str| {
        gw.client
            .head_object()
            .bucket("cond")
            .key("k")
            .if_none_match(tag)
            .send()
    };
    expect_status(head(&etag).await, 304);
    ok(
        head("\"other\"").await,
        "HEAD If-None-Match that does not match",
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modified_since_and_unmodified_since() {
    let gw = TestGateway::start().await;
    setup(&gw).await;
    let c = &gw.client;
    let get = || c.get_object().bucket("cond").key("k");
    let head = || c.head_object().bucket("cond").key("k");
    expect_status(get().if_modified_since(day_ahead()).send().await, 304);
    expect_status(head().if_modified_since(day_ahead()).send().await, 304);
    ok(
        get().if_modified_since(day_ago()).send().await,
        "modified since yesterday",
    );
    ok(
        head().if_modified_since(day_ago()).send().await,
        "HEAD modified since yesterday",
    );

    expect_err(
        get().if_unmodified_since(day_ago()).send().await,
        412,
        "PreconditionFailed",
    );
    expect_status(head().if_unmodified_since(day_ago()).send().await, 412);
    ok(
        get().if_unmodified_since(day_ahead()).send().await,
        "unmodified since tomorrow",
    );

    // Last-Modified itself is a boundary that satisfies "unmodified since" and "not modified".
    let modified = *ok(head().send().await, "head").last_modified().unwrap();
    ok(
        get().if_unmodified_since(modified).send().await,
        "unmodified since Last-Modified",
    );
    expect_status(get().if_modified_since(modified).send().await, 304);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn precedence() {
    let gw = TestGateway::start().await;
    let etag = setup(&gw).await;
    let c = &gw.client;
    let get = || c.get_object().bucket("cond").key("k");
    let head = || c.head_object().bucket("cond").key("k");
    // If-Match true wins over a failing If-Unmodified-Since.
    ok(
        get()
            .if_match(&etag)
            .if_unmodified_since(day_ago())
            .send()
            .await,
        "If-Match + IUS",
    );
    ok(
        head()
            .if_match(&etag)
            .if_unmodified_since(day_ago())
            .send()
            .await,
        "HEAD If-Match + IUS",
    );
    // If-None-Match false (no match) wins over If-Modified-Since saying "not modified".
    ok(
        get()
            .if_none_match("\"other\"")
            .if_modified_since(day_ahead())
            .send()
            .await,
        "INM + IMS",
    );
    ok(
        head()
            .if_none_match("\"other\"")
            .if_modified_since(day_ahead())
            .send()
            .await,
        "HEAD INM + IMS",
    );
    // If-Match false fails even when If-Unmodified-Since would pass.
    expect_err(
        get()
            .if_match("\"other\"")
            .if_unmodified_since(day_ahead())
            .send()
            .await,
        412,
        "PreconditionFailed",
    );
    // If-None-Match true is 304 even when If-Modified-Since would pass.
    expect_status(
        get()
            .if_none_match(&etag)
            .if_modified_since(day_ago())
            .send()
            .await,
        304,
    );
    // If-Match true and If-None-Match true: 304.
    expect_status(get().if_match(&etag).if_none_match(&etag).send().await, 304);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_if_none_match_star() {
    let gw = TestGateway::start().await;
    setup(&gw).await;
    let put = |key: &str, body: &'static [u8]| {
        gw.client
            .put_object()
            .bucket("cond")
            .key(key)
            .if_none_match("*")
            .body(ByteStream::from_static(body))
            .send()
    };
    expect_err(put("k", b"clobber").await, 412, "PreconditionFailed");
    assert_eq!(
        gw.get("cond", "k").await,
        b"conditional body",
        "the object is unchanged"
    );
    let created = ok(put("fresh", b"new").await, "If-None-Match: * on a new key");
    assert_eq!(created.e_tag(), Some(etag_of(b"new").as_str()));
    expect_err(put("fresh", b"again").await, 412, "PreconditionFailed");
    assert_eq!(gw.get("cond", "fresh").await, b"new");
    // Large bodies too (the check must not depend on the inline path).
    let big = data(31, 5 * MIB);
    let put_big = gw
        .client
        .put_object()
        .bucket("cond")
        .key("fresh")
        .if_none_match("*")
        .body(ByteStream::from(big))
        .send()
        .await;
    expect_err(put_big, 412, "PreconditionFailed");
    assert_eq!(gw.get("cond", "fresh").await, b"new");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_if_match() {
    let gw = TestGateway::start().await;
    let etag = setup(&gw).await;
    let put = |tag: &str, body: &'static [u8]| {
        gw.client
            .put_object()
            .bucket("cond")
            .key("k")
            .if_match(tag)
            .body(ByteStream::from_static(body))
            .send()
    };
    expect_err(
        put("\"0123456789abcdef0123456789abcdef\"", b"lost update").await,
        412,
        "PreconditionFailed",
    );
    assert_eq!(gw.get("cond", "k").await, b"conditional body");
    let updated = ok(
        put(&etag, b"second version").await,
        "If-Match with the current ETag",
    );
    assert_eq!(updated.e_tag(), Some(etag_of(b"second version").as_str()));
    // The old ETag is stale now.
    expect_err(
        put(&etag, b"third version").await,
        412,
        "PreconditionFailed",
    );
    let current = etag_of(b"second version");
    ok(
        put(current.trim_matches('"'), b"third version").await,
        "If-Match unquoted",
    );
    assert_eq!(gw.get("cond", "k").await, b"third version");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_multipart_if_none_match_star() {
    let gw = TestGateway::start().await;
    setup(&gw).await;
    let c = &gw.client;
    for (key, exists) in [("k", true), ("new-key", false)] {
        let upload = ok(
            c.create_multipart_upload()
                .bucket("cond")
                .key(key)
                .send()
                .await,
            "create",
        );
        let id = upload.upload_id().unwrap();
        let part = ok(
            c.upload_part()
                .bucket("cond")
                .key(key)
                .upload_id(id)
                .part_number(1)
                .body(ByteStream::from_static(b"only part"))
                .send()
                .await,
            "upload part",
        );
        let parts = CompletedMultipartUpload::builder()
            .parts(
                CompletedPart::builder()
                    .part_number(1)
                    .e_tag(part.e_tag().unwrap())
                    .build(),
            )
            .build();
        let complete = c
            .complete_multipart_upload()
            .bucket("cond")
            .key(key)
            .upload_id(id)
            .if_none_match("*")
            .multipart_upload(parts)
            .send()
            .await;
        if exists {
            expect_err(complete, 412, "PreconditionFailed");
            assert_eq!(gw.get("cond", key).await, b"conditional body");
        } else {
            ok(complete, "complete onto a new key");
            assert_eq!(gw.get("cond", key).await, b"only part");
        }
    }
    gw.stop().await;
}
