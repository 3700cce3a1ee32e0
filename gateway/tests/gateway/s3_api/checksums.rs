//! Flexible checksums and Content-MD5: each algorithm (CRC32, CRC32C, CRC64NVME, SHA1, SHA256)
//! sent by the SDK as an aws-chunked trailer is verified, stored, echoed and returned with
//! `x-amz-checksum-mode: ENABLED` (not on ranged GETs); wrong checksum headers and Content-MD5
//! are BadDigest (malformed ones InvalidDigest). Multipart checksums are in `multipart`.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ChecksumType};

use crate::s3_api::harness::*;

/// The `x-amz-checksum-*` field of `algorithm` in any output (or input builder) type.
macro_rules! checksum_of {
    ($out:expr, $algorithm:expr) => {
        match $algorithm {
            ChecksumAlgorithm::Crc32 => $out.checksum_crc32(),
            ChecksumAlgorithm::Crc32C => $out.checksum_crc32_c(),
            ChecksumAlgorithm::Crc64Nvme => $out.checksum_crc64_nvme(),
            ChecksumAlgorithm::Sha1 => $out.checksum_sha1(),
            ChecksumAlgorithm::Sha256 => $out.checksum_sha256(),
            other => panic!("untested algorithm {other:?}"),
        }
    };
}

/// Every checksum field that is set.
macro_rules! present_checksums {
    ($out:expr) => {
        [
            $out.checksum_crc32(),
            $out.checksum_crc32_c(),
            $out.checksum_crc64_nvme(),
            $out.checksum_sha1(),
            $out.checksum_sha256(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<&str>>()
    };
}

mod multipart;

async fn single_put_round_trip(algorithm: ChecksumAlgorithm) {
    let gw = TestGateway::start().await;
    let c = &gw.client;
    gw.create_bucket("sums").await;
    // Kept in the index; hashed on the request's task, then encoded there too (the largest
    // such body, too); hashed on a thread beside the encode.
    let sizes = [
        ("inline", 1000),
        ("in-place", 200 * 1024 + 3),
        ("in-place-largest", 256 * 1024),
        ("chunked", 5 * MIB + 7),
    ];
    for (key, size) in sizes {
        let body_bytes = data(61 + size as u64, size);
        let want = checksum_b64(&algorithm, &body_bytes);
        let put = ok(
            c.put_object()
                .bucket("sums")
                .key(key)
                .checksum_algorithm(algorithm.clone())
                .body(ByteStream::from(body_bytes.clone()))
                .send()
                .await,
            &format!("put {algorithm:?} {key}"),
        );
        assert_eq!(
            checksum_of!(put, &algorithm),
            Some(want.as_str()),
            "PUT echoes {algorithm:?}"
        );
        assert_eq!(
            put.checksum_type(),
            Some(&ChecksumType::FullObject),
            "PUT checksum type"
        );
        assert_eq!(put.e_tag(), Some(etag_of(&body_bytes).as_str()));

        let get = ok(
            c.get_object()
                .bucket("sums")
                .key(key)
                .checksum_mode(ChecksumMode::Enabled)
                .send()
                .await,
            "get with checksum mode",
        );
        assert_eq!(
            checksum_of!(get, &algorithm),
            Some(want.as_str()),
            "GET {algorithm:?} {key}"
        );
        assert_eq!(get.checksum_type(), Some(&ChecksumType::FullObject));
        assert_bytes(&body(get).await, &body_bytes, key);

        let head = ok(
            c.head_object()
                .bucket("sums")
                .key(key)
                .checksum_mode(ChecksumMode::Enabled)
                .send()
                .await,
            "head with checksum mode",
        );
        assert_eq!(
            checksum_of!(head, &algorithm),
            Some(want.as_str()),
            "HEAD {algorithm:?} {key}"
        );
        assert_eq!(head.checksum_type(), Some(&ChecksumType::FullObject));

        let ranged = ok(
            c.get_object()
                .bucket("sums")
                .key(key)
                .range("bytes=10-99")
                .checksum_mode(ChecksumMode::Enabled)
                .send()
                .await,
            "ranged get",
        );
        assert!(
            present_checksums!(ranged).is_empty(),
            "a ranged GET carries no full-object checksum"
        );
        assert_bytes(&body(ranged).await, &body_bytes[10..100], "range");
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_crc32() {
    single_put_round_trip(ChecksumAlgorithm::Crc32).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_crc32c() {
    single_put_round_trip(ChecksumAlgorithm::Crc32C).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_crc64nvme() {
    single_put_round_trip(ChecksumAlgorithm::Crc64Nvme).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_sha1() {
    single_put_round_trip(ChecksumAlgorithm::Sha1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_sha256() {
    single_put_round_trip(ChecksumAlgorithm::Sha256).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_default_put_stores_crc32() {
    let gw = TestGateway::start().await;
    gw.create_bucket("sums").await;
    let body_bytes = data(62, 70 * KIB);
    let put = gw.put("sums", "default", &body_bytes).await;
    let want = checksum_b64(&ChecksumAlgorithm::Crc32, &body_bytes);
    assert_eq!(put.checksum_crc32(), Some(want.as_str()));
    let head = ok(
        gw.client
            .head_object()
            .bucket("sums")
            .key("default")
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await,
        "head",
    );
    assert_eq!(head.checksum_crc32(), Some(want.as_str()));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_checksum_headers_are_bad_digest() {
    let gw = TestGateway::start().await;
    let c = &gw.client;
    gw.create_bucket("sums").await;
    for (key, size) in [("small", 100), ("large", 5 * MIB)] {
        let body_bytes = data(63, size);
        let put = c
            .put_object()
            .bucket("sums")
            .key(key)
            .checksum_crc32("AAAAAA==");
        let put = put.body(ByteStream::from(body_bytes.clone())).send().await;
        expect_err(put, 400, "BadDigest");
        let wrong_sha = checksum_b64(&ChecksumAlgorithm::Sha256, b"other bytes");
        let put = c
            .put_object()
            .bucket("sums")
            .key(key)
            .checksum_sha256(wrong_sha);
        let put = put.body(ByteStream::from(body_bytes.clone())).send().await;
        expect_err(put, 400, "BadDigest");
        let wrong_crc64 = checksum_b64(&ChecksumAlgorithm::Crc64Nvme, b"other bytes");
        let put = c
            .put_object()
            .bucket("sums")
            .key(key)
            .checksum_crc64_nvme(wrong_crc64);
        let put = put.body(ByteStream::from(body_bytes.clone())).send().await;
        expect_err(put, 400, "BadDigest");
        // Nothing was stored.
        expect_err(
            c.get_object().bucket("sums").key(key).send().await,
            404,
            "NoSuchKey",
        );
        // The right value is accepted.
        let right = checksum_b64(&ChecksumAlgorithm::Crc32, &body_bytes);
        let put = c
            .put_object()
            .bucket("sums")
            .key(key)
            .checksum_crc32(&right);
        let put = ok(
            put.body(ByteStream::from(body_bytes.clone())).send().await,
            "right crc32",
        );
        assert_eq!(put.checksum_crc32(), Some(right.as_str()));
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_md5() {
    let gw = TestGateway::start().await;
    let c = &gw.client;
    gw.create_bucket("sums").await;
    let body_bytes = data(64, 40 * KIB);
    let put = |md5: String| {
        c.put_object()
            .bucket("sums")
            .key("md5")
            .content_md5(md5)
            .body(ByteStream::from(body_bytes.clone()))
            .send()
    };
    expect_err(put(md5_b64(b"a different body")).await, 400, "BadDigest");
    expect_err(
        c.get_object().bucket("sums").key("md5").send().await,
        404,
        "NoSuchKey",
    );
    expect_err(put("not base64!".into()).await, 400, "InvalidDigest");
    expect_err(put(b64(b"short")).await, 400, "InvalidDigest");
    let out = ok(put(md5_b64(&body_bytes)).await, "right Content-MD5");
    assert_eq!(out.e_tag(), Some(etag_of(&body_bytes).as_str()));
    gw.stop().await;
}
