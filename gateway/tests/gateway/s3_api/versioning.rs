//! Bucket versioning through aws-sdk-s3: bucket states, version ids on every write, reads of
//! any version (ranges, parts, conditions), delete markers and their 404/405, removal by id,
//! DeleteObjects' reports, copies of old versions, tags per version, ListObjectVersions paging,
//! and suspended buckets' null version.

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    BucketVersioningStatus, Delete, MfaDeleteStatus, ObjectIdentifier, VersioningConfiguration,
};

use crate::s3_api::harness::*;

async fn set_versioning(client: &Client, bucket: &str, status: BucketVersioningStatus) {
    ok(
        client
            .put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(VersioningConfiguration::builder().status(status).build())
            .send()
            .await,
        "put bucket versioning",
    );
}

async fn versioned_bucket(gw: &TestGateway, bucket: &str) {
    gw.create_bucket(bucket).await;
    set_versioning(&gw.client, bucket, BucketVersioningStatus::Enabled).await;
}

async fn get_version(gw: &TestGateway, bucket: &str, key: &str, version: &str) -> Vec<u8> {
    let out = ok(
        gw.client
            .get_object()
            .bucket(bucket)
            .key(key)
            .version_id(version)
            .send()
            .await,
        "get a version",
    );
    assert_eq!(out.version_id(), Some(version));
    body(out).await
}

/// Every version and marker of the bucket: (key, version id, is latest, is a marker), walked
/// `page` at a time through the markers each page returns, sorted by key and id (the SDK hands
/// versions and markers back in two lists, so their interleaving is not visible here; the
/// index's model test checks the order itself).
async fn all_versions(
    gw: &TestGateway,
    bucket: &str,
    page: i32,
) -> Vec<(String, String, bool, bool)> {
    let mut out = Vec::new();
    let (mut key_marker, mut version_marker) = (None, None);
    loop {
        let listed = ok(
            gw.client
                .list_object_versions()
                .bucket(bucket)
                .max_keys(page)
                .set_key_marker(key_marker.clone())
                .set_version_id_marker(version_marker.clone())
                .send()
                .await,
            "list object versions",
        );
        let mut entries: Vec<(String, String, bool, bool)> = listed
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id(), v.is_latest(), false))
            .chain(
                listed
                    .delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id(), m.is_latest(), true)),
            )
            .map(|(k, v, latest, marker)| {
                (
                    k.unwrap().to_owned(),
                    v.unwrap().to_owned(),
                    latest.unwrap(),
                    marker,
                )
            })
            .collect();
        assert!(entries.len() <= page as usize);
        out.append(&mut entries);
        if listed.is_truncated() != Some(true) {
            break;
        }
        key_marker = listed.next_key_marker().map(str::to_owned);
        version_marker = listed.next_version_id_marker().map(str::to_owned);
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_states_and_mfa_delete() {
    let gw = TestGateway::start().await;
    gw.create_bucket("states").await;
    let state = async |gw: &TestGateway| {
        let got = ok(
            gw.client
                .get_bucket_versioning()
                .bucket("states")
                .send()
                .await,
            "get versioning",
        );
        (got.status().cloned(), got.mfa_delete().cloned())
    };
    assert_eq!(state(&gw).await, (None, None));
    set_versioning(&gw.client, "states", BucketVersioningStatus::Enabled).await;
    assert_eq!(
        state(&gw).await,
        (
            Some(BucketVersioningStatus::Enabled),
            Some(MfaDeleteStatus::Disabled)
        )
    );
    set_versioning(&gw.client, "states", BucketVersioningStatus::Suspended).await;
    assert_eq!(state(&gw).await.0, Some(BucketVersioningStatus::Suspended));

    let mfa = gw
        .client
        .put_bucket_versioning()
        .bucket("states")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .mfa_delete(aws_sdk_s3::types::MfaDelete::Enabled)
                .build(),
        )
        .send()
        .await;
    expect_err(mfa, 400, "InvalidRequest");
    let with_token = gw
        .client
        .put_bucket_versioning()
        .bucket("states")
        .mfa("20899872 301749")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await;
    expect_err(with_token, 501, "NotImplemented");
    // Neither refusal changed anything.
    assert_eq!(state(&gw).await.0, Some(BucketVersioningStatus::Suspended));
    let missing = gw
        .client
        .put_bucket_versioning()
        .bucket("missing")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await;
    expect_err(missing, 404, "NoSuchBucket");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_version_is_kept_readable_and_removable() {
    let gw = TestGateway::start().await;
    gw.create_bucket("ver").await;
    // Written before versioning: the null version, reported by no id until versioning is on.
    let before = gw.put("ver", "k", b"null version").await;
    assert_eq!(before.version_id(), None);
    set_versioning(&gw.client, "ver", BucketVersioningStatus::Enabled).await;
    let contents: Vec<Vec<u8>> = (0..3).map(|i| data(i, 20_000 + i as usize)).collect();
    let mut ids = Vec::new();
    for c in &contents {
        let put = gw.put("ver", "k", c).await;
        ids.push(put.version_id().expect("a version id").to_owned());
    }
    assert!(ids[0] < ids[1] && ids[1] < ids[2], "time-ordered: {ids:?}");
    for (id, c) in ids.iter().zip(&contents) {
        assert_bytes(&get_version(&gw, "ver", "k", id).await, c, "a version");
    }
    assert_eq!(get_version(&gw, "ver", "k", "null").await, b"null version");
    let latest = ok(
        gw.client.get_object().bucket("ver").key("k").send().await,
        "get latest",
    );
    assert_eq!(latest.version_id(), Some(ids[2].as_str()));

    // Range, HEAD and conditions on an old version.
    let ranged = ok(
        gw.client
            .get_object()
            .bucket("ver")
            .key("k")
            .version_id(&ids[0])
            .range("bytes=10-19")
            .send()
            .await,
        "range of an old version",
    );
    assert_eq!(body(ranged).await, contents[0][10..20]);
    let head = ok(
        gw.client
            .head_object()
            .bucket("ver")
            .key("k")
            .version_id(&ids[1])
            .send()
            .await,
        "head an old version",
    );
    assert_eq!(head.content_length(), Some(contents[1].len() as i64));
    assert_eq!(head.e_tag(), Some(etag_of(&contents[1]).as_str()));
    let wrong = gw
        .client
        .get_object()
        .bucket("ver")
        .key("k")
        .version_id(&ids[0])
        .if_match(etag_of(&contents[2]))
        .send()
        .await;
    expect_err(wrong, 412, "PreconditionFailed");

    // Ids Floe never handed out, and ids that name nothing.
    let bad = gw
        .client
        .get_object()
        .bucket("ver")
        .key("k")
        .version_id("3HL4kqtJlcpXroDTDmJ")
        .send()
        .await;
    expect_err(bad, 400, "InvalidArgument");
    let gone = gw
        .client
        .get_object()
        .bucket("ver")
        .key("k")
        .version_id("0000000000000001")
        .send()
        .await;
    expect_err(gone, 404, "NoSuchVersion");

    // DELETE adds a marker; the key reads as gone, with the marker's headers.
    let marker = ok(
        gw.client
            .delete_object()
            .bucket("ver")
            .key("k")
            .send()
            .await,
        "delete",
    );
    assert_eq!(marker.delete_marker(), Some(true));
    let marker_id = marker.version_id().expect("marker id").to_owned();
    let missing = gw.client.get_object().bucket("ver").key("k").send().await;
    let err = expect_err(missing, 404, "NoSuchKey");
    let headers = err.raw_response().unwrap().headers();
    assert_eq!(headers.get("x-amz-delete-marker"), Some("true"));
    assert_eq!(headers.get("x-amz-version-id"), Some(marker_id.as_str()));
    expect_status(
        gw.client.head_object().bucket("ver").key("k").send().await,
        404,
    );
    let named = gw
        .client
        .get_object()
        .bucket("ver")
        .key("k")
        .version_id(&marker_id)
        .send()
        .await;
    let err = expect_err(named, 405, "MethodNotAllowed");
    let headers = err.raw_response().unwrap().headers();
    assert_eq!(headers.get("x-amz-delete-marker"), Some("true"));
    // ListObjects no longer shows the key; every version is still there.
    let listed = ok(
        gw.client.list_objects_v2().bucket("ver").send().await,
        "list",
    );
    assert!(listed.contents().is_empty());
    let versions = all_versions(&gw, "ver", 1000).await;
    let mut expected = vec![("k".to_owned(), marker_id.clone(), true, true)];
    for id in ids.iter().rev() {
        expected.push(("k".to_owned(), id.clone(), false, false));
    }
    expected.push(("k".to_owned(), "null".to_owned(), false, false));
    expected.sort();
    assert_eq!(versions, expected);
    // A bucket holding only versions is not empty.
    let not_empty = gw.client.delete_bucket().bucket("ver").send().await;
    expect_err(not_empty, 409, "BucketNotEmpty");

    // Undelete: removing the marker makes the newest version current again.
    let removed = ok(
        gw.client
            .delete_object()
            .bucket("ver")
            .key("k")
            .version_id(&marker_id)
            .send()
            .await,
        "remove the marker",
    );
    assert_eq!(removed.delete_marker(), Some(true));
    assert_eq!(removed.version_id(), Some(marker_id.as_str()));
    assert_bytes(&gw.get("ver", "k").await, &contents[2], "undeleted");

    // A conditional delete of a version checks that version's ETag.
    let wrong = gw
        .client
        .delete_object()
        .bucket("ver")
        .key("k")
        .version_id(&ids[0])
        .if_match(etag_of(&contents[1]))
        .send()
        .await;
    expect_err(wrong, 412, "PreconditionFailed");
    ok(
        gw.client
            .delete_object()
            .bucket("ver")
            .key("k")
            .version_id(&ids[0])
            .if_match(etag_of(&contents[0]))
            .send()
            .await,
        "conditional delete of a version",
    );
    let gone = gw
        .client
        .get_object()
        .bucket("ver")
        .key("k")
        .version_id(&ids[0])
        .send()
        .await;
    expect_err(gone, 404, "NoSuchVersion");
    // Removing the current version for good makes the one below it current.
    ok(
        gw.client
            .delete_object()
            .bucket("ver")
            .key("k")
            .version_id(&ids[2])
            .send()
            .await,
        "delete the current version",
    );
    assert_bytes(
        &gw.get("ver", "k").await,
        &contents[1],
        "older version current",
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_multipart_tags_and_batch_deletes_work_on_versions() {
    let gw = TestGateway::start().await;
    versioned_bucket(&gw, "vcopy").await;
    let v1 = gw
        .put("vcopy", "src", b"first")
        .await
        .version_id()
        .unwrap()
        .to_owned();
    gw.put("vcopy", "src", b"second").await;

    // Copy of an old version: the source's version id comes back, the copy is a new version.
    let copied = ok(
        gw.client
            .copy_object()
            .bucket("vcopy")
            .key("src")
            .copy_source(format!("vcopy/src?versionId={v1}"))
            .send()
            .await,
        "copy an old version onto its key",
    );
    assert_eq!(copied.copy_source_version_id(), Some(v1.as_str()));
    let restored = copied.version_id().expect("the copy's version").to_owned();
    assert_ne!(restored, v1);
    assert_eq!(gw.get("vcopy", "src").await, b"first");

    // A multipart completion creates a version; partNumber reads of it work once it is old.
    let parts = [data(7, 5 << 20), data(8, 1000)];
    let done = gw.multipart("vcopy", "big", &[&parts[0], &parts[1]]).await;
    let big_id = done.version_id().expect("completion's version").to_owned();
    gw.put("vcopy", "big", b"small now").await;
    let part = ok(
        gw.client
            .get_object()
            .bucket("vcopy")
            .key("big")
            .version_id(&big_id)
            .part_number(2)
            .send()
            .await,
        "a part of an old version",
    );
    assert_eq!(part.parts_count(), Some(2));
    assert_eq!(body(part).await, parts[1]);

    // Tags belong to a version.
    let tagging = aws_sdk_s3::types::Tagging::builder()
        .tag_set(
            aws_sdk_s3::types::Tag::builder()
                .key("era")
                .value("old")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    ok(
        gw.client
            .put_object_tagging()
            .bucket("vcopy")
            .key("src")
            .version_id(&v1)
            .tagging(tagging)
            .send()
            .await,
        "tag an old version",
    );
    let old_tags = ok(
        gw.client
            .get_object_tagging()
            .bucket("vcopy")
            .key("src")
            .version_id(&v1)
            .send()
            .await,
        "tags of the old version",
    );
    assert_eq!(old_tags.tag_set().len(), 1);
    assert_eq!(old_tags.version_id(), Some(v1.as_str()));
    let current_tags = ok(
        gw.client
            .get_object_tagging()
            .bucket("vcopy")
            .key("src")
            .send()
            .await,
        "tags of the current version",
    );
    assert!(current_tags.tag_set().is_empty());

    // DeleteObjects: a marker for a key, a removal for a version, an error for a bad id.
    let delete = Delete::builder()
        .objects(ObjectIdentifier::builder().key("big").build().unwrap())
        .objects(
            ObjectIdentifier::builder()
                .key("src")
                .version_id(&v1)
                .build()
                .unwrap(),
        )
        .objects(
            ObjectIdentifier::builder()
                .key("src")
                .version_id("not-a-version")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let out = ok(
        gw.client
            .delete_objects()
            .bucket("vcopy")
            .delete(delete)
            .send()
            .await,
        "delete objects",
    );
    let deleted = out.deleted();
    assert_eq!(deleted.len(), 2, "{deleted:?}");
    let big = deleted.iter().find(|d| d.key() == Some("big")).unwrap();
    assert_eq!(big.delete_marker(), Some(true));
    let big_marker = big.delete_marker_version_id().expect("marker id");
    let src = deleted.iter().find(|d| d.key() == Some("src")).unwrap();
    assert_eq!(src.version_id(), Some(v1.as_str()));
    assert_eq!(src.delete_marker(), None);
    assert_eq!(out.errors().len(), 1);
    assert_eq!(out.errors()[0].code(), Some("InvalidArgument"));
    expect_err(
        gw.client
            .get_object()
            .bucket("vcopy")
            .key("big")
            .send()
            .await,
        404,
        "NoSuchKey",
    );
    // Removing a marker through DeleteObjects reports it as a marker.
    let delete = Delete::builder()
        .objects(
            ObjectIdentifier::builder()
                .key("big")
                .version_id(big_marker)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let out = ok(
        gw.client
            .delete_objects()
            .bucket("vcopy")
            .delete(delete)
            .send()
            .await,
        "remove a marker in a batch",
    );
    assert_eq!(out.deleted()[0].delete_marker(), Some(true));
    assert_eq!(
        out.deleted()[0].delete_marker_version_id(),
        Some(big_marker)
    );
    assert_eq!(gw.get("vcopy", "big").await, b"small now");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_listing_pages_through_versions_markers_and_prefixes() {
    let gw = TestGateway::start().await;
    versioned_bucket(&gw, "vlist").await;
    for key in ["a", "d/x", "d/y", "k/", "z"] {
        for i in 0..3u8 {
            gw.put("vlist", key, &[i]).await;
        }
    }
    ok(
        gw.client
            .delete_object()
            .bucket("vlist")
            .key("a")
            .send()
            .await,
        "marker on a",
    );
    let everything = all_versions(&gw, "vlist", 1000).await;
    assert_eq!(everything.len(), 16);
    // Exactly one latest per key: the newest (ids are time-ordered).
    for key in ["a", "d/x", "d/y", "k/", "z"] {
        let of_key: Vec<_> = everything.iter().filter(|v| v.0 == key).collect();
        let latest: Vec<_> = of_key.iter().filter(|v| v.2).collect();
        assert_eq!(latest.len(), 1, "{key}: {of_key:?}");
        assert_eq!(
            latest[0].1,
            of_key.iter().map(|v| v.1.clone()).max().unwrap()
        );
    }
    assert!(
        everything.iter().any(|v| v.0 == "a" && v.2 && v.3),
        "a's latest is its marker"
    );
    // Any page size walks the same versions, page boundaries inside keys included.
    for page in [1, 2, 5] {
        assert_eq!(
            all_versions(&gw, "vlist", page).await,
            everything,
            "page {page}"
        );
    }

    // Delimiter: d/ rolls up, and a key ending in "/" is an ordinary key with its versions.
    let rolled = ok(
        gw.client
            .list_object_versions()
            .bucket("vlist")
            .delimiter("/")
            .prefix("")
            .send()
            .await,
        "versions with a delimiter",
    );
    let prefixes: Vec<_> = rolled
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, ["d/", "k/"]);
    let under_k = ok(
        gw.client
            .list_object_versions()
            .bucket("vlist")
            .prefix("k/")
            .delimiter("/")
            .send()
            .await,
        "versions under k/",
    );
    assert_eq!(under_k.versions().len(), 3);
    assert!(
        under_k
            .versions()
            .iter()
            .all(|v| v.version_id() != Some("null"))
    );
    assert!(
        under_k.common_prefixes().is_empty(),
        "no synthesized dir entries"
    );

    // key-marker alone skips every version of that key.
    let after_a = ok(
        gw.client
            .list_object_versions()
            .bucket("vlist")
            .key_marker("a")
            .max_keys(1)
            .send()
            .await,
        "after a",
    );
    assert_eq!(after_a.versions()[0].key(), Some("d/x"));
    let without_key = gw
        .client
        .list_object_versions()
        .bucket("vlist")
        .version_id_marker("null")
        .send()
        .await;
    expect_err(without_key, 400, "InvalidArgument");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspended_buckets_write_the_null_version() {
    let gw = TestGateway::start().await;
    versioned_bucket(&gw, "sus").await;
    let kept = gw
        .put("sus", "k", b"kept")
        .await
        .version_id()
        .unwrap()
        .to_owned();
    set_versioning(&gw.client, "sus", BucketVersioningStatus::Suspended).await;
    let first = gw.put("sus", "k", b"null 1").await;
    assert_eq!(first.version_id(), Some("null"));
    gw.put("sus", "k", b"null 2").await;
    let versions = all_versions(&gw, "sus", 1000).await;
    let ids: Vec<(&str, bool)> = versions.iter().map(|v| (v.1.as_str(), v.2)).collect();
    assert_eq!(ids, [(kept.as_str(), false), ("null", true)]);
    assert_eq!(get_version(&gw, "sus", "k", "null").await, b"null 2");
    let marker = ok(
        gw.client
            .delete_object()
            .bucket("sus")
            .key("k")
            .send()
            .await,
        "suspended delete",
    );
    assert_eq!(
        (marker.delete_marker(), marker.version_id()),
        (Some(true), Some("null"))
    );
    assert_eq!(get_version(&gw, "sus", "k", &kept).await, b"kept");
    gw.stop().await;
}
