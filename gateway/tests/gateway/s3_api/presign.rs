//! Presigned URLs used by a plain HTTP client (hyper-util): GET, PUT, HEAD, expiry and tampering;
//! and virtual-hosted-style requests (`bucket.localhost:PORT`) through presigned URLs sent with
//! the right Host header, so no DNS is needed.

use std::time::{Duration, SystemTime};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::presigning::PresigningConfig;

use crate::s3_api::harness::*;

fn five_minutes() -> PresigningConfig {
    PresigningConfig::expires_in(Duration::from_secs(300)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_get_and_put() {
    let gw = TestGateway::start().await;
    gw.create_bucket("pre").await;
    for (key, size) in [("small file.txt", 1000), ("big/é+1", 5 * MIB + 1)] {
        let bytes = data(141 + size as u64, size);
        let put = gw
            .client
            .put_object()
            .bucket("pre")
            .key(key)
            .presigned(five_minutes())
            .await;
        let put = put.expect("presign put");
        let raw = send_presigned(gw.addr, &put, bytes.clone()).await;
        assert_eq!(raw.status, 200, "presigned PUT: {}", raw.text());
        assert_eq!(raw.header("etag"), Some(etag_of(&bytes).as_str()));
        assert!(raw.header("x-amz-request-id").is_some());
        assert_bytes(
            &gw.get("pre", key).await,
            &bytes,
            "object stored by a presigned PUT",
        );

        let get = gw
            .client
            .get_object()
            .bucket("pre")
            .key(key)
            .presigned(five_minutes())
            .await;
        let raw = send_presigned(gw.addr, &get.expect("presign get"), Vec::new()).await;
        assert_eq!(raw.status, 200, "presigned GET: {}", raw.text());
        assert_eq!(
            raw.header("content-length"),
            Some(size.to_string().as_str())
        );
        assert_eq!(raw.header("etag"), Some(etag_of(&bytes).as_str()));
        assert!(raw.header("last-modified").is_some());
        assert_bytes(&raw.body, &bytes, "presigned GET body");

        let head = gw
            .client
            .head_object()
            .bucket("pre")
            .key(key)
            .presigned(five_minutes())
            .await;
        let raw = send_presigned(gw.addr, &head.expect("presign head"), Vec::new()).await;
        assert_eq!(raw.status, 200);
        assert_eq!(
            raw.header("content-length"),
            Some(size.to_string().as_str())
        );
        assert!(raw.body.is_empty());
    }
    // A presigned ranged GET: the Range header is sent alongside.
    let get = gw
        .client
        .get_object()
        .bucket("pre")
        .key("small file.txt")
        .range("bytes=5-9");
    let get = get
        .presigned(five_minutes())
        .await
        .expect("presign ranged get");
    let raw = send_presigned(gw.addr, &get, Vec::new()).await;
    assert_eq!(raw.status, 206, "{}", raw.text());
    assert_eq!(raw.header("content-range"), Some("bytes 5-9/1000"));
    assert_eq!(raw.header("accept-ranges"), Some("bytes"));
    assert_eq!(raw.body.as_ref(), &data(1141, 1000)[5..10]);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_presigned_url_is_denied() {
    let gw = TestGateway::start().await;
    gw.create_bucket("pre").await;
    gw.put("pre", "k", b"x").await;
    let config = PresigningConfig::builder()
        .start_time(SystemTime::now() - Duration::from_secs(7200))
        .expires_in(Duration::from_secs(60))
        .build()
        .unwrap();
    let get = gw
        .client
        .get_object()
        .bucket("pre")
        .key("k")
        .presigned(config)
        .await
        .unwrap();
    let raw = send_presigned(gw.addr, &get, Vec::new()).await;
    assert_eq!(raw.status, 403, "{}", raw.text());
    assert!(
        raw.text().contains("<Code>AccessDenied</Code>"),
        "{}",
        raw.text()
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_presigned_url_is_rejected() {
    let gw = TestGateway::start().await;
    gw.create_bucket("pre").await;
    gw.put("pre", "k", b"x").await;
    gw.put("pre", "other", b"y").await;
    let get = gw
        .client
        .get_object()
        .bucket("pre")
        .key("k")
        .presigned(five_minutes())
        .await
        .unwrap();
    let uri: http::Uri = get.uri().parse().unwrap();
    let pq = uri.path_and_query().unwrap().as_str().to_string();
    // Another key with the same signature.
    let moved = pq.replacen("/pre/k?", "/pre/other?", 1);
    let raw = raw_request(gw.addr, "GET", &moved, &[], Vec::new()).await;
    assert_eq!(raw.status, 403, "{}", raw.text());
    assert!(
        raw.text().contains("<Code>SignatureDoesNotMatch</Code>"),
        "{}",
        raw.text()
    );
    // A flipped signature character.
    let at = pq.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let mut bytes = pq.into_bytes();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(bytes).unwrap();
    let raw = raw_request(gw.addr, "GET", &flipped, &[], Vec::new()).await;
    assert_eq!(raw.status, 403, "{}", raw.text());
    assert!(
        raw.text().contains("<Code>SignatureDoesNotMatch</Code>"),
        "{}",
        raw.text()
    );
    gw.stop().await;
}

/// A client that addresses buckets as `bucket.localhost:PORT`.
fn virtual_host_client(gw: &TestGateway) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .endpoint_url(format!("http://localhost:{}", gw.addr.port()))
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            &gw.config.access_key,
            &gw.config.secret_key,
            None,
            None,
            "test",
        ))
        .force_path_style(false)
        .behavior_version(BehaviorVersion::latest())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_hosted_style() {
    let gw = TestGateway::start_with(|c| c.domains = vec!["localhost".into()]).await;
    gw.create_bucket("vhost").await;
    let vc = virtual_host_client(&gw);
    let bytes = data(150, 3000);

    let put = vc
        .put_object()
        .bucket("vhost")
        .key("dir/v h.txt")
        .presigned(five_minutes())
        .await
        .unwrap();
    assert!(
        put.uri()
            .starts_with(&format!("http://vhost.localhost:{}/", gw.addr.port())),
        "{}",
        put.uri()
    );
    let raw = send_presigned(gw.addr, &put, bytes.clone()).await;
    assert_eq!(raw.status, 200, "virtual-hosted PUT: {}", raw.text());
    // Path style still works on the same gateway.
    assert_bytes(
        &gw.get("vhost", "dir/v h.txt").await,
        &bytes,
        "path-style read",
    );

    let get = vc
        .get_object()
        .bucket("vhost")
        .key("dir/v h.txt")
        .presigned(five_minutes())
        .await
        .unwrap();
    let raw = send_presigned(gw.addr, &get, Vec::new()).await;
    assert_eq!(raw.status, 200, "virtual-hosted GET: {}", raw.text());
    assert_bytes(&raw.body, &bytes, "virtual-hosted GET");

    let del = vc
        .delete_object()
        .bucket("vhost")
        .key("dir/v h.txt")
        .presigned(five_minutes())
        .await
        .unwrap();
    let raw = send_presigned(gw.addr, &del, Vec::new()).await;
    assert_eq!(raw.status, 204, "virtual-hosted DELETE: {}", raw.text());
    expect_err(
        gw.client
            .get_object()
            .bucket("vhost")
            .key("dir/v h.txt")
            .send()
            .await,
        404,
        "NoSuchKey",
    );
    gw.stop().await;
}
