//! What Veeam Backup & Replication checks of a bucket before it writes immutable backups, and
//! its Smart Object Storage API: the lock configuration and versioning, a version id on every
//! upload response (PUT and multipart), ListObjectVersions paged by key and version markers
//! over a prefix of many `.blk` objects, and the `system.xml` / `capacity.xml` files.

use std::collections::BTreeSet;

use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    BucketVersioningStatus, CompletedMultipartUpload, CompletedPart, ObjectLockEnabled,
    ObjectLockMode,
};

use crate::s3_api::harness::*;

const SOSAPI: &str = ".system-d26a9498-cb7c-4a87-a44a-8ae204f5ba6c";
const PREFIX: &str = "Veeam/Archive/Backups/7f3c/Blocks/";

/// The number between `<tag>` and `</tag>` in `xml`.
fn field(xml: &str, tag: &str) -> u64 {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"))
        + open.len();
    let end = start + xml[start..].find('<').unwrap();
    xml[start..end].parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn veeam_finds_lock_versions_and_capacity() {
    let gw = TestGateway::start().await;
    ok(
        gw.client
            .create_bucket()
            .bucket("veeam")
            .object_lock_enabled_for_bucket(true)
            .send()
            .await,
        "create the repository bucket",
    );
    let versioning = ok(
        gw.client
            .get_bucket_versioning()
            .bucket("veeam")
            .send()
            .await,
        "versioning",
    );
    assert_eq!(versioning.status(), Some(&BucketVersioningStatus::Enabled));
    let lock = ok(
        gw.client
            .get_object_lock_configuration()
            .bucket("veeam")
            .send()
            .await,
        "lock configuration",
    );
    assert_eq!(
        lock.object_lock_configuration()
            .and_then(|c| c.object_lock_enabled()),
        Some(&ObjectLockEnabled::Enabled)
    );

    // SOSAPI: system.xml announces capacity reporting; capacity.xml adds up.
    let system = ok(
        gw.client
            .get_object()
            .bucket("veeam")
            .key(format!("{SOSAPI}/system.xml"))
            .send()
            .await,
        "system.xml",
    );
    assert_eq!(system.content_type(), Some("application/xml"));
    let system = String::from_utf8(body(system).await).unwrap();
    assert!(
        system.contains("<ProtocolVersion>\"1.0\"</ProtocolVersion>"),
        "{system}"
    );
    assert!(
        system.contains("<CapacityInfo>true</CapacityInfo>"),
        "{system}"
    );
    let capacity = ok(
        gw.client
            .get_object()
            .bucket("veeam")
            .key(format!("{SOSAPI}/capacity.xml"))
            .send()
            .await,
        "capacity.xml",
    );
    let capacity = String::from_utf8(body(capacity).await).unwrap();
    let (total, free, used) = (
        field(&capacity, "Capacity"),
        field(&capacity, "Available"),
        field(&capacity, "Used"),
    );
    assert!(total > 0 && free > 0 && free <= total, "{capacity}");
    assert_eq!(used, total - free, "{capacity}");
    let head = ok(
        gw.client
            .head_object()
            .bucket("veeam")
            .key(format!("{SOSAPI}/capacity.xml"))
            .send()
            .await,
        "head capacity.xml",
    );
    assert!(head.content_length().unwrap() > 0);
    // Only in buckets that exist, and only those two files.
    expect_err(
        gw.client
            .get_object()
            .bucket("missing")
            .key(format!("{SOSAPI}/system.xml"))
            .send()
            .await,
        404,
        "NoSuchBucket",
    );
    expect_err(
        gw.client
            .get_object()
            .bucket("veeam")
            .key(format!("{SOSAPI}/other.xml"))
            .send()
            .await,
        404,
        "NoSuchKey",
    );

    // Blocks with retention, some written twice: every response carries its version id.
    let until = DateTime::from_secs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + 3600,
    );
    let mut written = BTreeSet::new();
    for i in 0..90 {
        let key = format!("{PREFIX}{i:05}.blk");
        for round in 0..(1 + usize::from(i % 3 == 0)) {
            let out = ok(
                gw.client
                    .put_object()
                    .bucket("veeam")
                    .key(&key)
                    .object_lock_mode(ObjectLockMode::Governance)
                    .object_lock_retain_until_date(until)
                    .body(ByteStream::from(data(i * 10 + round as u64, 700)))
                    .send()
                    .await,
                "put a block",
            );
            let version = out.version_id().expect("every upload reports its version");
            written.insert((key.clone(), version.to_owned()));
        }
    }
    let upload = ok(
        gw.client
            .create_multipart_upload()
            .bucket("veeam")
            .key(format!("{PREFIX}meta.vbm"))
            .object_lock_mode(ObjectLockMode::Governance)
            .object_lock_retain_until_date(until)
            .send()
            .await,
        "create upload",
    );
    let part = ok(
        gw.client
            .upload_part()
            .bucket("veeam")
            .key(format!("{PREFIX}meta.vbm"))
            .upload_id(upload.upload_id().unwrap())
            .part_number(1)
            .body(ByteStream::from(data(7, 1000)))
            .send()
            .await,
        "part",
    );
    let done = ok(
        gw.client
            .complete_multipart_upload()
            .bucket("veeam")
            .key(format!("{PREFIX}meta.vbm"))
            .upload_id(upload.upload_id().unwrap())
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .parts(
                        CompletedPart::builder()
                            .part_number(1)
                            .e_tag(part.e_tag().unwrap())
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await,
        "complete",
    );
    let version = done
        .version_id()
        .expect("a completed upload reports its version");
    written.insert((format!("{PREFIX}meta.vbm"), version.to_owned()));
    gw.put("veeam", "elsewhere.blk", b"outside the prefix")
        .await;

    // Paged by key-marker and version-id-marker, 25 at a time: every version exactly once.
    let mut listed = Vec::new();
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    loop {
        let page = ok(
            gw.client
                .list_object_versions()
                .bucket("veeam")
                .prefix(PREFIX)
                .max_keys(25)
                .set_key_marker(key_marker.clone())
                .set_version_id_marker(version_marker.clone())
                .send()
                .await,
            "list versions",
        );
        assert!(page.versions().len() <= 25);
        for v in page.versions() {
            listed.push((
                v.key().unwrap().to_owned(),
                v.version_id().unwrap().to_owned(),
            ));
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
    }
    let unique: BTreeSet<_> = listed.iter().cloned().collect();
    assert_eq!(unique.len(), listed.len(), "a version was listed twice");
    assert_eq!(unique, written);
    gw.stop().await;
}
