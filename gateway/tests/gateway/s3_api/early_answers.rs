//! Answers given before the request body is read must reach the client. The aws-sdk-s3 client
//! sends no `Expect: 100-continue`, so it is still writing a large body when the gateway
//! refuses it; if the gateway then hung up, the client would report a broken pipe (and retry
//! the upload) instead of the S3 error. Bodies here are far larger than socket buffers.

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::s3_api::harness::*;

/// Larger than the kernel's socket buffers on both ends, smaller than the read-out limit.
const BIG: usize = 24 * MIB;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_large_puts_get_their_error() {
    let gw = TestGateway::start().await;
    gw.create_bucket("early").await;
    gw.put("early", "taken", b"first").await;
    let big = data(41, BIG);
    let put_big = |bucket: &str, key: &str| {
        gw.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(big.clone()))
    };
    for round in 0..3 {
        let missing_bucket = put_big("ghost", "k").send().await;
        expect_err(missing_bucket, 404, "NoSuchBucket");
        let taken = put_big("early", "taken").if_none_match("*").send().await;
        expect_err(taken, 412, "PreconditionFailed");
        let bad_key = put_big("early", &"x".repeat(1025)).send().await;
        expect_err(bad_key, 400, "KeyTooLongError");
        // The same client (and its pooled connections) still works afterwards.
        gw.put("early", &format!("after-{round}"), b"fine").await;
        assert_eq!(gw.get("early", &format!("after-{round}")).await, b"fine");
    }
    assert_eq!(gw.get("early", "taken").await, b"first", "never clobbered");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_large_parts_and_bad_signatures_get_their_error() {
    let gw = TestGateway::start().await;
    gw.create_bucket("early").await;
    let big = data(43, BIG);
    let no_upload = gw
        .client
        .upload_part()
        .bucket("early")
        .key("k")
        .upload_id("no-such-upload")
        .part_number(1)
        .body(ByteStream::from(big.clone()))
        .send()
        .await;
    expect_err(no_upload, 404, "NoSuchUpload");
    let forged = gw
        .client_with(&gw.config.access_key, "not-the-secret")
        .put_object()
        .bucket("early")
        .key("k")
        .body(ByteStream::from(big))
        .send()
        .await;
    expect_err(forged, 403, "SignatureDoesNotMatch");
    let nothing = gw
        .client
        .head_object()
        .bucket("early")
        .key("k")
        .send()
        .await;
    expect_status(nothing, 404);
    gw.stop().await;
}

/// Two requests on one connection, the first refused before its body is read: the connection
/// must carry the second (the refused body is read out, not left to break the stream).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_body_does_not_cost_the_connection() {
    let gw = TestGateway::start().await;
    gw.create_bucket("early").await;
    let body = data(47, 4 * MIB);
    let mut first = presigned_put_head(&gw.client, "ghost", "k", body.len()).await;
    first.push_str("\r\n");
    let mut second = presigned_put_head(&gw.client, "early", "second", 3).await;
    second.push_str("Connection: close\r\n\r\nabc");

    let stream = TcpStream::connect(gw.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let sender = tokio::spawn(async move {
        // Errors are the failure under test (the gateway hung up); the reader reports them.
        let _ = writer.write_all(first.as_bytes()).await;
        let _ = writer.write_all(&body).await;
        let _ = writer.write_all(second.as_bytes()).await;
        writer
    });
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), reader.read_to_end(&mut received))
        .await
        .expect("the gateway answers both requests and closes");
    let _writer = sender.await.unwrap();
    let text = String::from_utf8_lossy(&received);
    // Status lines, wherever they start (the first answer's XML body has no final newline).
    let statuses: Vec<&str> = text
        .match_indices("HTTP/1.1 ")
        .filter_map(|(at, _)| text.get(at + 9..at + 12))
        .collect();
    assert_eq!(
        statuses,
        ["404", "200"],
        "both answers on one connection (read result {read:?}):\n{text}"
    );
    assert!(text.contains("<Code>NoSuchBucket</Code>"), "{text}");
    assert_eq!(gw.get("early", "second").await, b"abc");
    gw.stop().await;
}
