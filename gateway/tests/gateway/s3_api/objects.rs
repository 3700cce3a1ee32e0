//! Objects: PUT/GET/HEAD round trips across the inline threshold and the 4 MiB chunk size,
//! ETag = quoted hex MD5, Content-Length, DeleteObject (present and missing), DeleteObjects, and
//! keys that must stay byte-exact (spaces, `+`, `%`, `//`, leading and trailing `/`, unicode,
//! 1024 bytes) or be refused (1025 bytes).

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

use crate::s3_api::harness::*;

async fn round_trip(gw: &TestGateway, bucket: &str, size: usize, seed: u64) {
    let key = format!("size-{size}");
    let want = data(seed, size);
    let put = gw.put(bucket, &key, &want).await;
    assert_eq!(
        put.e_tag(),
        Some(etag_of(&want).as_str()),
        "PUT ETag of {size} bytes"
    );

    let out = ok(
        gw.client.get_object().bucket(bucket).key(&key).send().await,
        "get",
    );
    assert_eq!(
        out.e_tag(),
        Some(etag_of(&want).as_str()),
        "GET ETag of {size} bytes"
    );
    assert_eq!(
        out.content_length(),
        Some(size as i64),
        "GET Content-Length"
    );
    assert!(out.last_modified().is_some(), "GET Last-Modified");
    assert_bytes(&body(out).await, &want, &key);

    let head = ok(
        gw.client
            .head_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await,
        "head",
    );
    assert_eq!(
        head.e_tag(),
        Some(etag_of(&want).as_str()),
        "HEAD ETag of {size} bytes"
    );
    assert_eq!(
        head.content_length(),
        Some(size as i64),
        "HEAD Content-Length"
    );
    assert_eq!(
        head.parts_count(),
        None,
        "a single-part object has no parts count"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_small_sizes() {
    let gw = TestGateway::start().await;
    gw.create_bucket("small").await;
    for (i, size) in [0, 1, 16 * KIB, 16 * KIB + 1].into_iter().enumerate() {
        round_trip(&gw, "small", size, i as u64 + 1).await;
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_large_sizes() {
    let gw = TestGateway::start().await;
    gw.create_bucket("large").await;
    for (i, size) in [MIB, 9 * MIB + 3].into_iter().enumerate() {
        round_trip(&gw, "large", size, i as u64 + 10).await;
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrite_changes_size_and_etag() {
    let gw = TestGateway::start().await;
    gw.create_bucket("over").await;
    let first = data(1, 5 * MIB);
    let second = data(2, 100);
    gw.put("over", "k", &first).await;
    gw.put("over", "k", &second).await;
    let head = ok(
        gw.client.head_object().bucket("over").key("k").send().await,
        "head",
    );
    assert_eq!(head.content_length(), Some(100));
    assert_eq!(head.e_tag(), Some(etag_of(&second).as_str()));
    assert_bytes(&gw.get("over", "k").await, &second, "overwritten");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_then_get_is_no_such_key() {
    let gw = TestGateway::start().await;
    gw.create_bucket("del").await;
    gw.put("del", "small", b"tiny").await;
    gw.put("del", "big", &data(3, 5 * MIB)).await;
    for key in ["small", "big"] {
        ok(
            gw.client
                .delete_object()
                .bucket("del")
                .key(key)
                .send()
                .await,
            "delete",
        );
        let get = gw.client.get_object().bucket("del").key(key).send().await;
        expect_err(get, 404, "NoSuchKey");
        let head = gw.client.head_object().bucket("del").key(key).send().await;
        let err = expect_status(head, 404);
        assert!(err.into_service_error().is_not_found());
    }
    let listed = ok(
        gw.client.list_objects_v2().bucket("del").send().await,
        "list",
    );
    assert!(listed.contents().is_empty(), "{listed:?}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_missing_key_is_204() {
    let gw = TestGateway::start().await;
    gw.create_bucket("del-missing").await;
    ok(
        gw.client
            .delete_object()
            .bucket("del-missing")
            .key("never")
            .send()
            .await,
        "delete missing key",
    );
    // The status itself, through a presigned DELETE.
    let presigned = gw
        .client
        .delete_object()
        .bucket("del-missing")
        .key("never/either")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .expect("presign delete");
    let raw = send_presigned(gw.addr, &presigned, Vec::new()).await;
    assert_eq!(raw.status, 204, "{}", raw.text());
    // A missing bucket is still an error.
    let del = gw
        .client
        .delete_object()
        .bucket("no-bucket")
        .key("k")
        .send()
        .await;
    expect_err(del, 404, "NoSuchBucket");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_objects_reports_every_key() {
    let gw = TestGateway::start().await;
    gw.create_bucket("multi").await;
    let present = ["a", "b/c", "big", "d e+f"];
    for key in present {
        let size = if key == "big" { 5 * MIB } else { 10 };
        gw.put("multi", key, &data(4, size)).await;
    }
    gw.put("multi", "keep", b"keep me").await;
    let asked = ["a", "b/c", "big", "d e+f", "missing-1", "missing/2"];
    let objects = asked
        .iter()
        .map(|k| ObjectIdentifier::builder().key(*k).build().unwrap())
        .collect::<Vec<_>>();
    let out = ok(
        gw.client
            .delete_objects()
            .bucket("multi")
            .delete(
                Delete::builder()
                    .set_objects(Some(objects))
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
        "delete objects",
    );
    assert!(out.errors().is_empty(), "{:?}", out.errors());
    let mut deleted: Vec<&str> = out.deleted().iter().filter_map(|d| d.key()).collect();
    deleted.sort();
    let mut want = asked.to_vec();
    want.sort();
    assert_eq!(deleted, want);

    let listed = ok(
        gw.client.list_objects_v2().bucket("multi").send().await,
        "list",
    );
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["keep"]);

    // Quiet mode reports only errors.
    gw.put("multi", "q", b"q").await;
    let quiet = ok(
        gw.client
            .delete_objects()
            .bucket("multi")
            .delete(
                Delete::builder()
                    .objects(ObjectIdentifier::builder().key("q").build().unwrap())
                    .quiet(true)
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
        "quiet delete",
    );
    assert!(
        quiet.deleted().is_empty() && quiet.errors().is_empty(),
        "{quiet:?}"
    );
    expect_err(
        gw.client.get_object().bucket("multi").key("q").send().await,
        404,
        "NoSuchKey",
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_bucket_is_no_such_bucket() {
    let gw = TestGateway::start().await;
    let get = gw.client.get_object().bucket("ghost").key("k").send().await;
    expect_err(get, 404, "NoSuchBucket");
    let put = gw
        .client
        .put_object()
        .bucket("ghost")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    expect_err(put, 404, "NoSuchBucket");
    gw.stop().await;
}

/// Keys S3 keeps byte-exact; none may be normalised.
fn odd_keys() -> Vec<String> {
    vec![
        "with space".into(),
        "plus+sign".into(),
        "percent%20literal".into(),
        "100%".into(),
        "double//slash".into(),
        "/leading-slash".into(),
        "trailing-slash/".into(),
        "//".into(),
        "unicode-é-日本-😀".into(),
        "query?x=1&y=2".into(),
        "hash#fragment".into(),
        "tilde~star*quote'paren()".into(),
        "a/b".into(),
        "a/b/c".into(),
        "k".repeat(1024),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_round_trip_byte_exact() {
    let gw = TestGateway::start().await;
    gw.create_bucket("keys").await;
    let keys = odd_keys();
    for key in &keys {
        gw.put("keys", key, key.as_bytes()).await;
    }
    for key in &keys {
        assert_eq!(gw.get("keys", key).await, key.as_bytes(), "GET {key:?}");
    }
    let listed = ok(
        gw.client.list_objects_v2().bucket("keys").send().await,
        "list",
    );
    let got: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key())
        .map(String::from)
        .collect();
    let mut want = keys.clone();
    want.sort();
    assert_eq!(got, want, "listing returns the exact keys in byte order");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_of_1025_bytes_is_too_long() {
    let gw = TestGateway::start().await;
    gw.create_bucket("long").await;
    let put = gw
        .client
        .put_object()
        .bucket("long")
        .key("k".repeat(1025))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    expect_err(put, 400, "KeyTooLongError");
    // Multi-byte characters count as bytes: 513 x "é" is 1026 bytes.
    let put = gw
        .client
        .put_object()
        .bucket("long")
        .key("é".repeat(513))
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    expect_err(put, 400, "KeyTooLongError");
    let listed = ok(
        gw.client.list_objects_v2().bucket("long").send().await,
        "list",
    );
    assert_eq!(listed.key_count(), Some(0));
    gw.stop().await;
}
