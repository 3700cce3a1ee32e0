//! The gateway's index is lost: `floe admin rebuild-index` (and `floe serve --rebuild-index`)
//! bring back every bucket and object from the records on the nodes, with key, size, ETag,
//! content type and user metadata, and every object reads back. Deleted objects stay deleted.

use std::collections::BTreeMap;
use std::process::Command;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use floe_gateway::runtime::config::GatewayOverrides;

use crate::support::cluster::{LocalCluster, pattern};
use crate::support::gateway::{ADMIN_TOKEN, ClusterGateway, get};

const MIB: usize = 1024 * 1024;

/// What a client sees of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    size: i64,
    etag: String,
    content_type: Option<String>,
    metadata: BTreeMap<String, String>,
    tags: Vec<(String, String)>,
}

async fn seen(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Seen {
    let head = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("HEAD {bucket}/{key}: {e:?}"));
    let tags = s3
        .get_object_tagging()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    Seen {
        size: head.content_length().unwrap_or(-1),
        etag: head.e_tag().unwrap_or_default().to_string(),
        content_type: head.content_type().map(str::to_string),
        metadata: head
            .metadata()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        tags,
    }
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: Vec<u8>, kind: &str) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type(kind)
        .metadata("origin", format!("{bucket}-{key}"))
        .metadata("colour", "blue")
        .body(ByteStream::from(body))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PUT {key}: {e:?}"));
}

/// Everything listed in every bucket, with what a client sees of it and its bytes.
async fn snapshot(s3: &aws_sdk_s3::Client) -> BTreeMap<(String, String), (Seen, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let buckets = s3.list_buckets().send().await.unwrap();
    for bucket in buckets.buckets() {
        let name = bucket.name().unwrap().to_string();
        let listed = s3.list_objects_v2().bucket(&name).send().await.unwrap();
        for object in listed.contents() {
            let key = object.key().unwrap().to_string();
            let state = (seen(s3, &name, &key).await, get(s3, &name, &key).await);
            out.insert((name.clone(), key), state);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_index_is_rebuilt_from_the_nodes() {
    let cluster = LocalCluster::start(6);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("gateway");
    let gw = ClusterGateway::start(&cluster, &data, "chunk_size = 1048576").await;
    let s3 = gw.s3.clone();
    for bucket in ["photos", "docs", "empty"] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    put(&s3, "photos", "cat.jpg", pattern(3_000, 1), "image/jpeg").await;
    put(
        &s3,
        "photos",
        "raw/dog.bin",
        pattern(2 * MIB + 5, 3),
        "application/x-raw",
    )
    .await;
    put(&s3, "docs", "readme.txt", pattern(900, 5), "text/plain").await;
    put(
        &s3,
        "docs",
        "readme.txt",
        pattern(1_500_000, 7),
        "text/markdown",
    )
    .await;
    put(&s3, "docs", "gone.txt", pattern(100, 9), "text/plain").await;
    s3.delete_object()
        .bucket("docs")
        .key("gone.txt")
        .send()
        .await
        .unwrap();
    s3.create_bucket().bucket("dropped").send().await.unwrap();
    s3.delete_bucket().bucket("dropped").send().await.unwrap();
    let tags = aws_sdk_s3::types::Tagging::builder()
        .tag_set(
            aws_sdk_s3::types::Tag::builder()
                .key("project")
                .value("floe")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    s3.put_object_tagging()
        .bucket("photos")
        .key("cat.jpg")
        .tagging(tags)
        .send()
        .await
        .unwrap();
    let upload = s3
        .create_multipart_upload()
        .bucket("docs")
        .key("big/multi.dat")
        .content_type("application/x-multi")
        .metadata("parts", "two")
        .send()
        .await
        .unwrap();
    let id = upload.upload_id().unwrap();
    let mut parts = Vec::new();
    for (n, body) in [(1, pattern(5 * MIB, 11)), (2, pattern(MIB / 2, 13))] {
        let part = s3
            .upload_part()
            .bucket("docs")
            .key("big/multi.dat")
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap();
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(part.e_tag().unwrap())
                .build(),
        );
    }
    s3.complete_multipart_upload()
        .bucket("docs")
        .key("big/multi.dat")
        .upload_id(id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap();

    let before = snapshot(&s3).await;
    assert_eq!(before.len(), 4);
    let chunks_before = gw.index().chunk_count().unwrap();
    gw.wait_for_records().await;
    let index_path = gw.index_path();
    gw.stop().await;

    // The gateway's disk is lost.
    std::fs::remove_file(&index_path).unwrap();
    let gw = ClusterGateway::start(&cluster, &data, "chunk_size = 1048576").await;
    // The gateway saw that its index was behind the nodes and rebuilt it before serving.
    assert_eq!(gw.admin.status().await.unwrap().objects, 4);
    assert_eq!(snapshot(&gw.s3).await, before);
    // Rebuilding again, by hand, changes nothing.
    let out = Command::new(floe_testkit::floe_binary())
        .args([
            "admin",
            "--gateway",
            gw.admin.url(),
            "--token",
            ADMIN_TOKEN,
            "rebuild-index",
        ])
        .output()
        .expect("floe admin rebuild-index");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("restored"), "{text}");
    assert_eq!(snapshot(&gw.s3).await, before);
    assert_eq!(gw.index().chunk_count().unwrap(), chunks_before);
    let names: Vec<String> = gw
        .s3
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .map(|b| b.name().unwrap().to_string())
        .collect();
    assert_eq!(names, ["docs", "empty", "photos"]);

    // Life goes on: a new write wins over everything restored, and is published in turn.
    put(&gw.s3, "docs", "readme.txt", pattern(10, 15), "text/plain").await;
    gw.wait_for_records().await;
    let expected = snapshot(&gw.s3).await;
    gw.stop().await;

    // Once more, through `floe serve --rebuild-index` on an empty data directory.
    std::fs::remove_file(&index_path).unwrap();
    let overrides = GatewayOverrides {
        rebuild_index: true,
        ..GatewayOverrides::default()
    };
    let gw = ClusterGateway::start_with(&cluster, &data, "chunk_size = 1048576", overrides).await;
    assert_eq!(snapshot(&gw.s3).await, expected);
    gw.stop().await;
}

/// Every version and delete marker of a bucket, as ListObjectVersions shows them: (key, version
/// id, is latest, ETag or `None` for a marker).
async fn versions_of(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> Vec<(String, String, bool, Option<String>)> {
    let listed = s3
        .list_object_versions()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let mut out: Vec<_> = listed
        .versions()
        .iter()
        .map(|v| {
            (
                v.key().unwrap().to_owned(),
                v.version_id().unwrap().to_owned(),
                v.is_latest().unwrap(),
                v.e_tag().map(str::to_owned),
            )
        })
        .chain(listed.delete_markers().iter().map(|m| {
            (
                m.key().unwrap().to_owned(),
                m.version_id().unwrap().to_owned(),
                m.is_latest().unwrap(),
                None,
            )
        }))
        .collect();
    out.sort();
    out
}

/// The bytes of every object version in `listed` (markers have none), in order.
async fn bodies_of(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    listed: &[(String, String, bool, Option<String>)],
) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (key, id, _, etag) in listed {
        if etag.is_some() {
            let got = s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .version_id(id)
                .send()
                .await
                .unwrap();
            out.push(got.body.collect().await.unwrap().into_bytes().to_vec());
        }
    }
    out
}

/// Versions and markers travel to the nodes with their chain: a lost index comes back with
/// every version of every key readable, markers where they were, and the bucket still
/// versioned. Losing the index must never lose a version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_index_comes_back_with_every_version_and_marker() {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    let cluster = LocalCluster::start(6);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("gateway");
    let gw = ClusterGateway::start(&cluster, &data, "chunk_size = 1048576").await;
    let s3 = gw.s3.clone();
    s3.create_bucket().bucket("archive").send().await.unwrap();
    put(&s3, "archive", "k", pattern(1_000, 1), "text/plain").await;
    s3.put_bucket_versioning()
        .bucket("archive")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    for seed in 2..5 {
        put(
            &s3,
            "archive",
            "k",
            pattern(MIB + seed, seed as u64),
            "text/plain",
        )
        .await;
    }
    put(&s3, "archive", "gone", pattern(500, 9), "text/plain").await;
    s3.delete_object()
        .bucket("archive")
        .key("gone")
        .send()
        .await
        .unwrap();
    // A version removed for good stays removed.
    let listed = versions_of(&s3, "archive").await;
    let removed = listed
        .iter()
        .find(|v| v.0 == "k" && !v.2 && v.1 != "null")
        .unwrap()
        .1
        .clone();
    s3.delete_object()
        .bucket("archive")
        .key("k")
        .version_id(&removed)
        .send()
        .await
        .unwrap();
    let before = versions_of(&s3, "archive").await;
    assert_eq!(before.len(), 5, "{before:?}");
    let bodies = bodies_of(&s3, "archive", &before).await;
    gw.wait_for_records().await;
    let index_path = gw.index_path();
    gw.stop().await;

    std::fs::remove_file(&index_path).unwrap();
    let gw = ClusterGateway::start(&cluster, &data, "chunk_size = 1048576").await;
    let s3 = gw.s3.clone();
    assert_eq!(versions_of(&s3, "archive").await, before);
    let after = bodies_of(&s3, "archive", &before).await;
    assert!(after == bodies, "every version reads back byte-identical");
    let state = s3
        .get_bucket_versioning()
        .bucket("archive")
        .send()
        .await
        .unwrap();
    assert_eq!(state.status(), Some(&BucketVersioningStatus::Enabled));
    let gone = s3.get_object().bucket("archive").key("gone").send().await;
    let err = gone.expect_err("the marker is back");
    assert_eq!(
        err.raw_response()
            .and_then(|r| r.headers().get("x-amz-delete-marker")),
        Some("true")
    );
    // `floe admin versions` shows the same chain, newest first.
    let lines = gw.admin.versions("archive", "k").await.unwrap();
    let mut ids: Vec<_> = lines.iter().map(|l| l.version_id.clone()).collect();
    let listed: Vec<_> = before
        .iter()
        .filter(|v| v.0 == "k")
        .map(|v| v.1.clone())
        .collect();
    assert!(lines[0].is_latest);
    assert!(lines[1..].iter().all(|l| !l.is_latest && !l.delete_marker));
    assert_eq!(
        ids.last().map(String::as_str),
        Some("null"),
        "the oldest is the null version"
    );
    ids.sort();
    assert_eq!(ids, listed);
    let gone = gw.admin.versions("archive", "gone").await.unwrap();
    assert!(gone[0].delete_marker && gone[0].is_latest && !gone[1].delete_marker);
    // New versions after the rebuild sort after the restored ones.
    let new = s3
        .put_object()
        .bucket("archive")
        .key("k")
        .body(ByteStream::from(b"after".to_vec()))
        .send()
        .await
        .unwrap();
    let newest = before
        .iter()
        .map(|v| v.1.clone())
        .filter(|id| id != "null")
        .max();
    assert!(new.version_id().map(str::to_owned) > newest);
    gw.stop().await;
}
