//! Buckets: CreateBucket (twice, invalid names), ListBuckets, HeadBucket, GetBucketLocation and
//! DeleteBucket (empty, non-empty, missing).

use crate::s3_api::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_list_head_delete() {
    let gw = TestGateway::start().await;
    for name in ["beta.bucket", "alpha-bucket", "gamma0"] {
        gw.create_bucket(name).await;
    }
    let listed = ok(gw.client.list_buckets().send().await, "list buckets");
    let names: Vec<&str> = listed.buckets().iter().filter_map(|b| b.name()).collect();
    // S3 lists buckets in name order.
    assert_eq!(names, ["alpha-bucket", "beta.bucket", "gamma0"]);
    assert!(
        listed.buckets().iter().all(|b| b.creation_date().is_some()),
        "{listed:?}"
    );

    ok(
        gw.client.head_bucket().bucket("beta.bucket").send().await,
        "head existing bucket",
    );
    ok(
        gw.client.delete_bucket().bucket("beta.bucket").send().await,
        "delete empty bucket",
    );
    expect_status(
        gw.client.head_bucket().bucket("beta.bucket").send().await,
        404,
    );

    let listed = ok(gw.client.list_buckets().send().await, "list buckets");
    let names: Vec<&str> = listed.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, ["alpha-bucket", "gamma0"]);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_twice_is_already_owned() {
    let gw = TestGateway::start().await;
    gw.create_bucket("twice").await;
    let again = gw.client.create_bucket().bucket("twice").send().await;
    expect_err(again, 409, "BucketAlreadyOwnedByYou");
    // The existing bucket and its contents are untouched.
    gw.put("twice", "k", b"v").await;
    let again = gw.client.create_bucket().bucket("twice").send().await;
    expect_err(again, 409, "BucketAlreadyOwnedByYou");
    assert_eq!(gw.get("twice", "k").await, b"v");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_bucket_names() {
    let gw = TestGateway::start().await;
    let long = "a".repeat(64);
    for name in [
        "ab",
        "Uppercase",
        "under_score",
        "-leading-hyphen",
        "trailing-hyphen-",
        "double..dot",
        "dot.-hyphen",
        "192.168.1.1",
        "xn--punycode",
        "name-s3alias",
        long.as_str(),
    ] {
        let result = gw.client.create_bucket().bucket(name).send().await;
        let err = match result {
            Ok(out) => panic!("bucket name {name:?} was accepted: {out:?}"),
            Err(e) => e,
        };
        assert_eq!(
            (status_of(&err), code_of(&err).as_deref()),
            (Some(400), Some("InvalidBucketName")),
            "bucket name {name:?}: {}",
            aws_sdk_s3::error::DisplayErrorContext(&err)
        );
    }
    let listed = ok(gw.client.list_buckets().send().await, "list buckets");
    assert!(listed.buckets().is_empty(), "{listed:?}");
    // Boundary lengths are fine.
    gw.create_bucket("abc").await;
    gw.create_bucket(&"b".repeat(63)).await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_missing_bucket_is_404() {
    let gw = TestGateway::start().await;
    let err = expect_status(gw.client.head_bucket().bucket("nope").send().await, 404);
    assert!(err.into_service_error().is_not_found());
    gw.stop().await;
}

/// A bucket never versioned answers an empty versioning configuration (no Status), as S3
/// does (`versioning.rs` covers the rest).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versioning_of_a_never_versioned_bucket_is_empty() {
    let gw = TestGateway::start().await;
    gw.create_bucket("plain").await;
    let got = ok(
        gw.client
            .get_bucket_versioning()
            .bucket("plain")
            .send()
            .await,
        "get bucket versioning",
    );
    assert_eq!(got.status(), None);
    assert_eq!(got.mfa_delete(), None);
    let missing = gw
        .client
        .get_bucket_versioning()
        .bucket("missing")
        .send()
        .await;
    expect_err(missing, 404, "NoSuchBucket");
    gw.stop().await;
}

/// ListObjectVersions of a bucket never versioned: each key once, as the latest `null` version,
/// no delete markers; pages resume from the key marker (with or without the `null` version
/// marker), and delimiters roll keys up as in ListObjects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_versions_of_a_never_versioned_bucket_are_its_null_versions() {
    let gw = TestGateway::start().await;
    gw.create_bucket("plain").await;
    for key in ["a", "b", "dir/x", "dir/y", "e"] {
        gw.put("plain", key, key.as_bytes()).await;
    }
    let all = ok(
        gw.client
            .list_object_versions()
            .bucket("plain")
            .send()
            .await,
        "list object versions",
    );
    let keys: Vec<&str> = all.versions().iter().filter_map(|v| v.key()).collect();
    assert_eq!(keys, ["a", "b", "dir/x", "dir/y", "e"]);
    assert!(
        all.versions()
            .iter()
            .all(|v| v.version_id() == Some("null") && v.is_latest() == Some(true))
    );
    assert_eq!(all.versions()[0].e_tag(), Some(etag_of(b"a").as_str()));
    assert!(all.delete_markers().is_empty());
    assert_eq!(all.is_truncated(), Some(false));

    // Two at a time, resuming from the markers the previous page gave.
    let mut seen = Vec::new();
    let (mut key_marker, mut version_marker): (Option<String>, Option<String>) = (None, None);
    loop {
        let page = ok(
            gw.client
                .list_object_versions()
                .bucket("plain")
                .max_keys(2)
                .set_key_marker(key_marker.clone())
                .set_version_id_marker(version_marker.clone())
                .send()
                .await,
            "a page of versions",
        );
        seen.extend(
            page.versions()
                .iter()
                .filter_map(|v| v.key().map(str::to_owned)),
        );
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
        assert_eq!(version_marker.as_deref(), Some("null"));
    }
    assert_eq!(seen, ["a", "b", "dir/x", "dir/y", "e"]);

    let rolled = ok(
        gw.client
            .list_object_versions()
            .bucket("plain")
            .delimiter("/")
            .send()
            .await,
        "versions with a delimiter",
    );
    let keys: Vec<&str> = rolled.versions().iter().filter_map(|v| v.key()).collect();
    assert_eq!(keys, ["a", "b", "e"]);
    let prefixes: Vec<&str> = rolled
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, ["dir/"]);

    let bad = gw
        .client
        .list_object_versions()
        .bucket("plain")
        .key_marker("a")
        .version_id_marker("3HL4kqtJlcpXroDTDmJ")
        .send()
        .await;
    expect_err(bad, 400, "InvalidArgument");
    let missing = gw
        .client
        .list_object_versions()
        .bucket("missing")
        .send()
        .await;
    expect_err(missing, 404, "NoSuchBucket");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn location_of_us_east_1_is_empty() {
    let gw = TestGateway::start().await;
    gw.create_bucket("located").await;
    let loc = ok(
        gw.client
            .get_bucket_location()
            .bucket("located")
            .send()
            .await,
        "get bucket location",
    );
    let constraint = loc.location_constraint().map(|c| c.as_str()).unwrap_or("");
    assert_eq!(
        constraint, "",
        "us-east-1 answers an empty LocationConstraint"
    );
    let missing = gw
        .client
        .get_bucket_location()
        .bucket("missing")
        .send()
        .await;
    expect_err(missing, 404, "NoSuchBucket");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_non_empty_then_empty() {
    let gw = TestGateway::start().await;
    gw.create_bucket("full").await;
    gw.put("full", "a/b", b"x").await;
    let del = gw.client.delete_bucket().bucket("full").send().await;
    expect_err(del, 409, "BucketNotEmpty");
    ok(
        gw.client.head_bucket().bucket("full").send().await,
        "bucket still there",
    );

    ok(
        gw.client
            .delete_object()
            .bucket("full")
            .key("a/b")
            .send()
            .await,
        "delete object",
    );
    ok(
        gw.client.delete_bucket().bucket("full").send().await,
        "delete emptied bucket",
    );
    expect_status(gw.client.head_bucket().bucket("full").send().await, 404);
    // The name can be reused and the new bucket is empty.
    gw.create_bucket("full").await;
    let listed = ok(
        gw.client.list_objects_v2().bucket("full").send().await,
        "list",
    );
    assert_eq!(listed.key_count(), Some(0));
    assert!(listed.contents().is_empty());
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_missing_bucket() {
    let gw = TestGateway::start().await;
    let del = gw.client.delete_bucket().bucket("never-made").send().await;
    expect_err(del, 404, "NoSuchBucket");
    gw.stop().await;
}
