//! `[limits]`: every limit, lowered in the config, refuses what passes it with S3's answer and
//! lets what fits through: concurrent requests (503 SlowDown), header bytes (431), XML bodies
//! (MaxMessageLengthExceeded), keys, metadata, part numbers and sizes, object size.

use std::time::Duration;

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use floe_gateway::runtime::limits::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::s3_api::harness::*;

/// A presigned PUT sent by hand: headers and half the body, then nothing. The gateway is
/// serving it (reading the body) until the rest comes.
async fn stalled_put(gw: &TestGateway, key: &str, body: &[u8]) -> TcpStream {
    let mut head = presigned_put_head(&gw.client, "lim", key, body.len()).await;
    head.push_str("\r\n");
    let mut stream = TcpStream::connect(gw.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..body.len() / 2]).await.unwrap();
    stream
}

/// Sends the rest of a stalled PUT's body and returns the response's status line.
async fn finish(mut stream: TcpStream, body: &[u8]) -> String {
    stream.write_all(&body[body.len() / 2..]).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn requests_past_the_concurrency_limit_get_slow_down() {
    let gw = TestGateway::start_with(|c| {
        c.limits = Limits {
            max_concurrent_requests: 2,
            ..Limits::default()
        }
    })
    .await;
    gw.create_bucket("lim").await;
    let body = data(1, 64 * KIB);
    let first = stalled_put(&gw, "a", &body).await;
    let second = stalled_put(&gw, "b", &body).await;
    // Wait until the server has admitted both: then every other request is refused.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while raw_request(gw.addr, "GET", "/lim", &[], vec![])
        .await
        .status
        != 503
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the stalled PUTs were never admitted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let no_retry = aws_sdk_s3::Client::from_conf(
        gw.client
            .config()
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    expect_err(
        no_retry.list_objects_v2().bucket("lim").send().await,
        503,
        "SlowDown",
    );
    let refused = raw_request(gw.addr, "GET", "/lim", &[], vec![]).await;
    assert_eq!(refused.status, 503);
    assert!(
        refused.text().contains("<Code>SlowDown</Code>"),
        "{}",
        refused.text()
    );
    assert!(refused.header("x-amz-request-id").is_some());

    // The admitted PUTs complete, and their permits come back.
    assert!(finish(first, &body).await.contains("200"));
    assert!(finish(second, &body).await.contains("200"));
    assert_bytes(&gw.get("lim", "a").await, &body, "a");
    assert_bytes(&gw.get("lim", "b").await, &body, "b");
    // With the SDK's standard retries, a burst wider than the limit still all succeeds (more
    // attempts than the default 3, so that a slow machine cannot exhaust them).
    let patient = aws_sdk_s3::Client::from_conf(
        gw.client
            .config()
            .to_builder()
            .retry_config(RetryConfig::standard().with_max_attempts(20))
            .build(),
    );
    let puts = (0..8).map(|i| {
        let client = patient.clone();
        async move {
            client
                .put_object()
                .bucket("lim")
                .key(format!("burst/{i}"))
                .body(ByteStream::from(data(i, 256 * KIB)))
                .send()
                .await
        }
    });
    for result in futures::future::join_all(puts).await {
        ok(result, "burst PUT");
    }
    gw.stop().await;
}

#[tokio::test]
async fn oversized_headers_get_431() {
    let gw = TestGateway::start_with(|c| {
        c.limits = Limits {
            max_header_bytes: 16 * 1024,
            ..Limits::default()
        }
    })
    .await;
    gw.create_bucket("lim").await;
    let big = vec![("x-filler".to_string(), "a".repeat(20 * 1024))];
    let resp = raw_request(gw.addr, "GET", "/lim/k", &big, vec![]).await;
    assert_eq!(resp.status, 431);
    // A normal signed request still works.
    gw.put("lim", "k", b"fine").await;
    gw.stop().await;
}

#[tokio::test]
async fn object_layer_limits_use_s3_error_codes() {
    let gw = TestGateway::start_with(|c| {
        c.limits = Limits {
            max_key_bytes: 100,
            max_metadata_bytes: 64,
            max_xml_body_bytes: 4096,
            max_part_count: 3,
            min_part_bytes: 64 * KIB as u64,
            max_part_bytes: 256 * KIB as u64,
            max_object_bytes: 512 * KIB as u64,
            ..Limits::default()
        }
    })
    .await;
    gw.create_bucket("lim").await;
    let s3 = &gw.client;

    // Keys and metadata.
    gw.put("lim", &"k".repeat(100), b"x").await;
    expect_err(
        s3.put_object()
            .bucket("lim")
            .key("k".repeat(101))
            .send()
            .await,
        400,
        "KeyTooLongError",
    );
    ok(
        s3.put_object()
            .bucket("lim")
            .key("m")
            .metadata("note", "a".repeat(40))
            .send()
            .await,
        "metadata within the limit",
    );
    expect_err(
        s3.put_object()
            .bucket("lim")
            .key("m")
            .metadata("note", "a".repeat(80))
            .send()
            .await,
        400,
        "MetadataTooLarge",
    );

    // A single PUT above max_part_bytes.
    expect_err(
        s3.put_object()
            .bucket("lim")
            .key("big")
            .body(ByteStream::from(data(2, 300 * KIB)))
            .send()
            .await,
        400,
        "EntityTooLarge",
    );

    // XML bodies: a DeleteObjects of 200 keys is over 4 KiB.
    let many: Vec<ObjectIdentifier> = (0..200)
        .map(|i| {
            ObjectIdentifier::builder()
                .key(format!("some/longish/key/{i:05}"))
                .build()
                .unwrap()
        })
        .collect();
    let delete = Delete::builder().set_objects(Some(many)).build().unwrap();
    expect_err(
        s3.delete_objects()
            .bucket("lim")
            .delete(delete)
            .send()
            .await,
        400,
        "MaxMessageLengthExceeded",
    );

    // Parts: numbers past max_part_count, and a completed object past max_object_bytes.
    let upload = ok(
        s3.create_multipart_upload()
            .bucket("lim")
            .key("mp")
            .send()
            .await,
        "create upload",
    );
    let id = upload.upload_id().unwrap();
    expect_err(
        s3.upload_part()
            .bucket("lim")
            .key("mp")
            .upload_id(id)
            .part_number(4)
            .body(ByteStream::from(data(3, 64 * KIB)))
            .send()
            .await,
        400,
        "InvalidArgument",
    );
    let mut parts = Vec::new();
    for n in 1..=3 {
        let out = ok(
            s3.upload_part()
                .bucket("lim")
                .key("mp")
                .upload_id(id)
                .part_number(n)
                .body(ByteStream::from(data(n as u64, 200 * KIB)))
                .send()
                .await,
            "upload part",
        );
        parts.push(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().unwrap())
                .build(),
        );
    }
    expect_err(
        s3.complete_multipart_upload()
            .bucket("lim")
            .key("mp")
            .upload_id(id)
            .multipart_upload(
                aws_sdk_s3::types::CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await,
        400,
        "EntityTooLarge",
    );
    expect_status(s3.head_object().bucket("lim").key("mp").send().await, 404);
    gw.stop().await;
}

#[tokio::test]
async fn a_streaming_get_holds_its_permit_until_the_body_is_read() {
    let gw = TestGateway::start_with(|c| {
        c.limits = Limits {
            max_concurrent_requests: 1,
            ..Limits::default()
        }
    })
    .await;
    gw.create_bucket("lim").await;
    let big = data(9, 24 * MIB);
    gw.put("lim", "big", &big).await;

    // Headers are back, the 24 MiB body is not read: far more than the socket buffers hold.
    let out = ok(
        gw.client.get_object().bucket("lim").key("big").send().await,
        "get",
    );
    let refused = raw_request(gw.addr, "GET", "/lim", &[], vec![]).await;
    assert_eq!(refused.status, 503, "{}", refused.text());

    assert_bytes(&body(out).await, &big, "streamed body");
    // The permit came back with the end of the body.
    let mut status = 0;
    for _ in 0..50 {
        status = raw_request(gw.addr, "GET", "/lim", &[], vec![])
            .await
            .status;
        if status != 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Unsigned, so refused by auth (403) rather than by admission.
    assert_eq!(status, 403);
    gw.stop().await;
}
