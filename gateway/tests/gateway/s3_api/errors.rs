//! Authentication and the shape of errors: wrong secret (SignatureDoesNotMatch), unknown access
//! key (InvalidAccessKeyId), anonymous requests (AccessDenied), clock skew
//! (RequestTimeTooSkewed), the XML error body, HEAD errors without a body, and
//! `x-amz-request-id` on every response.

use std::time::Duration;

use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::presigning::PresigningConfig;
use sha2::{Digest, Sha256};

use crate::s3_api::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_key() {
    let gw = TestGateway::start().await;
    gw.create_bucket("auth").await;
    gw.put("auth", "k", b"secret stuff").await;
    let bad = gw.client_with(&gw.config.access_key, "not-the-secret");
    expect_err(
        bad.list_objects_v2().bucket("auth").send().await,
        403,
        "SignatureDoesNotMatch",
    );
    expect_err(
        bad.get_object().bucket("auth").key("k").send().await,
        403,
        "SignatureDoesNotMatch",
    );
    let put = bad
        .put_object()
        .bucket("auth")
        .key("k")
        .body(b"overwrite".to_vec().into())
        .send()
        .await;
    expect_err(put, 403, "SignatureDoesNotMatch");
    expect_status(bad.head_object().bucket("auth").key("k").send().await, 403);
    assert_eq!(gw.get("auth", "k").await, b"secret stuff");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_access_key() {
    let gw = TestGateway::start().await;
    gw.create_bucket("auth").await;
    let bad = gw.client_with("AKIDNOTAREALKEY", &gw.config.secret_key);
    expect_err(bad.list_buckets().send().await, 403, "InvalidAccessKeyId");
    expect_err(
        bad.get_object().bucket("auth").key("k").send().await,
        403,
        "InvalidAccessKeyId",
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_requests_are_denied() {
    let gw = TestGateway::start().await;
    gw.create_bucket("auth").await;
    gw.put("auth", "k", b"private").await;
    for (method, path) in [
        ("GET", "/auth/k"),
        ("GET", "/auth"),
        ("GET", "/"),
        ("PUT", "/auth/new"),
    ] {
        let raw = raw_request(gw.addr, method, path, &[], Vec::new()).await;
        assert_eq!(raw.status, 403, "{method} {path}: {}", raw.text());
        let text = raw.text();
        assert!(
            text.contains("<Code>AccessDenied</Code>"),
            "{method} {path}: {text}"
        );
        assert!(
            raw.header("x-amz-request-id")
                .is_some_and(|v| !v.is_empty()),
            "{method} {path}"
        );
    }
    expect_err(
        gw.client
            .get_object()
            .bucket("auth")
            .key("new")
            .send()
            .await,
        404,
        "NoSuchKey",
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_body_and_request_ids() {
    let gw = TestGateway::start().await;
    gw.create_bucket("errs").await;
    // An SDK error carries the request id (from the header or the body).
    let err = expect_err(
        gw.client
            .get_object()
            .bucket("errs")
            .key("none")
            .send()
            .await,
        404,
        "NoSuchKey",
    );
    assert!(
        err.request_id().is_some_and(|id| !id.is_empty()),
        "request id on an error"
    );
    let raw = err.raw_response().unwrap();
    assert!(raw.headers().get("x-amz-request-id").is_some());
    // Successful responses carry one too, and ids differ between requests.
    let a = ok(gw.client.list_buckets().send().await, "list");
    let b = ok(gw.client.list_buckets().send().await, "list");
    let (a, b) = (
        a.request_id().expect("request id"),
        b.request_id().expect("request id"),
    );
    assert_ne!(a, b);

    // The raw error document: <Error><Code/><Message/>...<RequestId/></Error>, as XML.
    let presign = PresigningConfig::expires_in(Duration::from_secs(300)).unwrap();
    let get = gw
        .client
        .get_object()
        .bucket("errs")
        .key("none")
        .presigned(presign.clone())
        .await
        .unwrap();
    let raw = send_presigned(gw.addr, &get, Vec::new()).await;
    assert_eq!(raw.status, 404);
    let text = raw.text();
    assert!(
        raw.header("content-type")
            .is_some_and(|t| t.contains("xml")),
        "{:?}",
        raw.headers
    );
    for part in [
        "<Error>",
        "<Code>NoSuchKey</Code>",
        "<Message>",
        "<RequestId>",
    ] {
        assert!(text.contains(part), "{part} missing from {text}");
    }
    let id = raw.header("x-amz-request-id").expect("x-amz-request-id");
    assert!(
        text.contains(&format!("<RequestId>{id}</RequestId>")),
        "{text}"
    );

    // HEAD errors have no body.
    let head = gw
        .client
        .head_object()
        .bucket("errs")
        .key("none")
        .presigned(presign)
        .await
        .unwrap();
    let raw = send_presigned(gw.addr, &head, Vec::new()).await;
    assert_eq!(raw.status, 404);
    assert!(raw.body.is_empty(), "HEAD error body: {}", raw.text());
    assert!(raw.header("x-amz-request-id").is_some());
    gw.stop().await;
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().to_vec()
}

/// Headers of a SigV4 header-signed GET of `path` (no query, empty body) dated `when`.
fn sigv4_get(gw: &TestGateway, path: &str, when: time::OffsetDateTime) -> Vec<(String, String)> {
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        when.year(),
        when.month() as u8,
        when.day(),
        when.hour(),
        when.minute(),
        when.second()
    );
    let day = &stamp[..8];
    let host = gw.addr.to_string();
    let payload = hex::encode(Sha256::digest(b""));
    let signed = "host;x-amz-content-sha256;x-amz-date";
    let canonical = format!(
        "GET\n{path}\n\nhost:{host}\nx-amz-content-sha256:{payload}\nx-amz-date:{stamp}\n\n{signed}\n{payload}"
    );
    let scope = format!("{day}/us-east-1/s3/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical))
    );
    let mut key = hmac(
        format!("AWS4{}", gw.config.secret_key).as_bytes(),
        day.as_bytes(),
    );
    for part in ["us-east-1", "s3", "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex::encode(hmac(&key, to_sign.as_bytes()));
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
        gw.config.access_key
    );
    vec![
        ("host".into(), host),
        ("x-amz-content-sha256".into(), payload),
        ("x-amz-date".into(), stamp),
        ("authorization".into(), auth),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clock_skew_over_15_minutes() {
    let gw = TestGateway::start().await;
    gw.create_bucket("skew").await;
    gw.put("skew", "k", b"on time").await;
    let now = time::OffsetDateTime::now_utc();
    // The hand-made signature is right: a request dated now succeeds.
    let raw = raw_request(
        gw.addr,
        "GET",
        "/skew/k",
        &sigv4_get(&gw, "/skew/k", now),
        Vec::new(),
    )
    .await;
    assert_eq!(
        (raw.status, raw.body.as_ref()),
        (200, &b"on time"[..]),
        "{}",
        raw.text()
    );
    // Within 15 minutes is tolerated.
    let close = now - time::Duration::minutes(5);
    let raw = raw_request(
        gw.addr,
        "GET",
        "/skew/k",
        &sigv4_get(&gw, "/skew/k", close),
        Vec::new(),
    )
    .await;
    assert_eq!(raw.status, 200, "{}", raw.text());
    for skewed in [
        now - time::Duration::minutes(20),
        now + time::Duration::minutes(20),
    ] {
        let headers = sigv4_get(&gw, "/skew/k", skewed);
        let raw = raw_request(gw.addr, "GET", "/skew/k", &headers, Vec::new()).await;
        assert_eq!(raw.status, 403, "{}", raw.text());
        assert!(
            raw.text().contains("<Code>RequestTimeTooSkewed</Code>"),
            "{}",
            raw.text()
        );
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_operation_is_not_implemented() {
    let gw = TestGateway::start().await;
    gw.create_bucket("ops").await;
    // Bucket website hosting is not part of Floe: the answer must be a clean S3 error, not a
    // hang or a 500.
    let err = gw
        .client
        .get_bucket_website()
        .bucket("ops")
        .send()
        .await
        .expect_err("no website hosting");
    let status = status_of(&err);
    assert_eq!(
        status,
        Some(501),
        "{}",
        aws_sdk_s3::error::DisplayErrorContext(&err)
    );
    assert_eq!(code_of(&err).as_deref(), Some("NotImplemented"));
    gw.stop().await;
}

#[tokio::test]
async fn put_into_a_missing_bucket_is_no_such_bucket_small_or_large() {
    let gw = TestGateway::start().await;
    // Small bodies (inline, or sharded up to 256 KiB) skip the early index look and are
    // refused at the commit; a large one is refused before its body is stored. None leaves an
    // object behind (the shards a sharded one stored are garbage for the collector).
    for len in [10, 100 * KIB, 300 * KIB] {
        let put = gw
            .client
            .put_object()
            .bucket("nowhere")
            .key("k")
            .body(aws_sdk_s3::primitives::ByteStream::from(data(7, len)))
            .send()
            .await;
        expect_err(put, 404, "NoSuchBucket");
    }
    gw.create_bucket("nowhere").await;
    let listed = ok(
        gw.client.list_objects_v2().bucket("nowhere").send().await,
        "list",
    );
    assert_eq!(listed.key_count(), Some(0));
    gw.stop().await;
}
