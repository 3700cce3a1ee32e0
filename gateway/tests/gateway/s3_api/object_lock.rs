//! Object lock through aws-sdk-s3, to the rules in `docs/s3-behaviours.md`: the bucket's lock
//! configuration, lock headers on every kind of write and on reads, default retention, what a
//! retention or legal hold refuses (alone and in DeleteObjects). The retention and legal hold
//! calls, and the clock they are judged by, are in `retention`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    BucketVersioningStatus, CompletedMultipartUpload, CompletedPart, DefaultRetention, Delete,
    ObjectIdentifier, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockLegalHold,
    ObjectLockLegalHoldStatus, ObjectLockMode, ObjectLockRetention, ObjectLockRetentionMode,
    ObjectLockRule, VersioningConfiguration,
};

use crate::s3_api::harness::*;

pub(super) const DAY: i64 = 86_400;

pub(super) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A date `secs` from now.
pub(super) fn in_secs(secs: i64) -> DateTime {
    DateTime::from_secs(now_secs() + secs)
}

pub(super) async fn lock_bucket(gw: &TestGateway, bucket: &str) {
    ok(
        gw.client
            .create_bucket()
            .bucket(bucket)
            .object_lock_enabled_for_bucket(true)
            .send()
            .await,
        "create a lock bucket",
    );
}

pub(super) fn retention(mode: ObjectLockRetentionMode, until: DateTime) -> ObjectLockRetention {
    ObjectLockRetention::builder()
        .mode(mode)
        .retain_until_date(until)
        .build()
}

pub(super) fn hold(on: bool) -> ObjectLockLegalHold {
    let status = match on {
        true => ObjectLockLegalHoldStatus::On,
        false => ObjectLockLegalHoldStatus::Off,
    };
    ObjectLockLegalHold::builder().status(status).build()
}

fn default_rule(
    mode: ObjectLockRetentionMode,
    days: Option<i32>,
    years: Option<i32>,
) -> ObjectLockConfiguration {
    ObjectLockConfiguration::builder()
        .object_lock_enabled(ObjectLockEnabled::Enabled)
        .rule(
            ObjectLockRule::builder()
                .default_retention(
                    DefaultRetention::builder()
                        .mode(mode)
                        .set_days(days)
                        .set_years(years)
                        .build(),
                )
                .build(),
        )
        .build()
}

/// PutObject with a retention (and optionally a legal hold); returns the version id.
async fn put_locked(
    gw: &TestGateway,
    bucket: &str,
    key: &str,
    mode: Option<(ObjectLockMode, DateTime)>,
    legal_hold: bool,
) -> String {
    let mut put = gw
        .client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(key.as_bytes().to_vec()));
    if let Some((mode, until)) = mode {
        put = put
            .object_lock_mode(mode)
            .object_lock_retain_until_date(until);
    }
    if legal_hold {
        put = put.object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On);
    }
    let out = ok(put.send().await, "put with lock headers");
    out.version_id()
        .expect("a lock bucket reports versions")
        .to_owned()
}

async fn delete_version(
    gw: &TestGateway,
    bucket: &str,
    key: &str,
    version: &str,
    bypass: bool,
) -> Result<
    aws_sdk_s3::operation::delete_object::DeleteObjectOutput,
    aws_sdk_s3::error::SdkError<
        aws_sdk_s3::operation::delete_object::DeleteObjectError,
        aws_sdk_s3::config::http::HttpResponse,
    >,
> {
    let mut delete = gw
        .client
        .delete_object()
        .bucket(bucket)
        .key(key)
        .version_id(version);
    if bypass {
        delete = delete.bypass_governance_retention(true);
    }
    delete.send().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_configuration_is_enabled_once_and_keeps_versioning_on() {
    let gw = TestGateway::start().await;
    gw.create_bucket("plain").await;
    let missing = gw
        .client
        .get_object_lock_configuration()
        .bucket("plain")
        .send()
        .await;
    expect_err(missing, 404, "ObjectLockConfigurationNotFoundError");
    // Lock needs versioning: refused on an unversioned bucket, accepted once it is enabled.
    let early = gw
        .client
        .put_object_lock_configuration()
        .bucket("plain")
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .build(),
        )
        .send()
        .await;
    expect_err(early, 409, "InvalidBucketState");

    lock_bucket(&gw, "locked").await;
    let versioning = ok(
        gw.client
            .get_bucket_versioning()
            .bucket("locked")
            .send()
            .await,
        "versioning of a lock bucket",
    );
    assert_eq!(versioning.status(), Some(&BucketVersioningStatus::Enabled));
    let config = ok(
        gw.client
            .get_object_lock_configuration()
            .bucket("locked")
            .send()
            .await,
        "get lock configuration",
    );
    let config = config.object_lock_configuration().unwrap();
    assert_eq!(
        config.object_lock_enabled(),
        Some(&ObjectLockEnabled::Enabled)
    );
    assert!(config.rule().is_none(), "no default retention, no <Rule>");

    // A rule must hold a default retention.
    let empty_rule = gw
        .client
        .put_object_lock_configuration()
        .bucket("locked")
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(ObjectLockRule::builder().build())
                .build(),
        )
        .send()
        .await;
    expect_err(empty_rule, 400, "MalformedXML");
    // A default retention: Days or Years, never both, never zero.
    let both = gw
        .client
        .put_object_lock_configuration()
        .bucket("locked")
        .object_lock_configuration(default_rule(
            ObjectLockRetentionMode::Governance,
            Some(1),
            Some(1),
        ))
        .send()
        .await;
    expect_err(both, 400, "MalformedXML");
    let zero = gw
        .client
        .put_object_lock_configuration()
        .bucket("locked")
        .object_lock_configuration(default_rule(
            ObjectLockRetentionMode::Governance,
            Some(0),
            None,
        ))
        .send()
        .await;
    expect_err(zero, 400, "InvalidArgument");
    ok(
        gw.client
            .put_object_lock_configuration()
            .bucket("locked")
            .object_lock_configuration(default_rule(
                ObjectLockRetentionMode::Compliance,
                None,
                Some(2),
            ))
            .send()
            .await,
        "set a default retention",
    );
    let config = ok(
        gw.client
            .get_object_lock_configuration()
            .bucket("locked")
            .send()
            .await,
        "get lock configuration",
    );
    let rule = config
        .object_lock_configuration()
        .and_then(|c| c.rule())
        .and_then(|r| r.default_retention())
        .expect("the default retention");
    assert_eq!(rule.mode(), Some(&ObjectLockRetentionMode::Compliance));
    assert_eq!((rule.days(), rule.years()), (None, Some(2)));
    // Clearing the rule leaves lock enabled.
    ok(
        gw.client
            .put_object_lock_configuration()
            .bucket("locked")
            .object_lock_configuration(
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::Enabled)
                    .build(),
            )
            .send()
            .await,
        "clear the default retention",
    );
    let config = ok(
        gw.client
            .get_object_lock_configuration()
            .bucket("locked")
            .send()
            .await,
        "get lock configuration",
    );
    assert!(config.object_lock_configuration().unwrap().rule().is_none());

    // Versioning cannot be suspended under lock.
    let suspend = gw
        .client
        .put_bucket_versioning()
        .bucket("locked")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await;
    expect_err(suspend, 409, "InvalidBucketState");

    // Enabling lock later on a versioned bucket works.
    ok(
        gw.client
            .put_bucket_versioning()
            .bucket("plain")
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await,
        "enable versioning",
    );
    ok(
        gw.client
            .put_object_lock_configuration()
            .bucket("plain")
            .object_lock_configuration(default_rule(
                ObjectLockRetentionMode::Governance,
                Some(1),
                None,
            ))
            .send()
            .await,
        "enable lock on a versioned bucket",
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_take_lock_headers_and_reads_echo_them() {
    let gw = TestGateway::start().await;
    gw.create_bucket("plain").await;
    lock_bucket(&gw, "locked").await;
    let until = in_secs(DAY);

    // Lock headers on a bucket without lock, half a retention, a date in the past.
    let put = |bucket: &str| {
        gw.client
            .put_object()
            .bucket(bucket)
            .key("k")
            .body(ByteStream::from_static(b"x"))
    };
    let refused = put("plain")
        .object_lock_mode(ObjectLockMode::Compliance)
        .object_lock_retain_until_date(until)
        .send()
        .await;
    expect_err(refused, 400, "InvalidRequest");
    let half = put("locked")
        .object_lock_mode(ObjectLockMode::Compliance)
        .send()
        .await;
    expect_err(half, 400, "InvalidArgument");
    let past = put("locked")
        .object_lock_mode(ObjectLockMode::Governance)
        .object_lock_retain_until_date(in_secs(-60))
        .send()
        .await;
    expect_err(past, 400, "InvalidArgument");
    // Without Content-MD5 or a checksum (a presigned PUT carries neither), refused.
    let presigned = gw
        .client
        .put_object()
        .bucket("locked")
        .key("k")
        .object_lock_mode(ObjectLockMode::Governance)
        .object_lock_retain_until_date(until)
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    let unproven = send_presigned(gw.addr, &presigned, b"x".to_vec()).await;
    assert_eq!(unproven.status, 400, "{}", unproven.text());
    assert!(
        unproven.text().contains("InvalidRequest"),
        "{}",
        unproven.text()
    );
    assert!(
        gw.client
            .list_object_versions()
            .bucket("locked")
            .send()
            .await
            .unwrap()
            .versions()
            .is_empty(),
        "no refused write left a version"
    );

    // A retained version and a held one; GET and HEAD echo each one's lock.
    let retained = put_locked(
        &gw,
        "locked",
        "k",
        Some((ObjectLockMode::Compliance, until)),
        false,
    )
    .await;
    let held = put_locked(&gw, "locked", "k", None, true).await;
    let head = ok(
        gw.client
            .head_object()
            .bucket("locked")
            .key("k")
            .version_id(&retained)
            .send()
            .await,
        "head the retained version",
    );
    assert_eq!(head.object_lock_mode(), Some(&ObjectLockMode::Compliance));
    assert_eq!(head.object_lock_retain_until_date(), Some(&until));
    assert_eq!(head.object_lock_legal_hold_status(), None);
    let get = ok(
        gw.client
            .get_object()
            .bucket("locked")
            .key("k")
            .send()
            .await,
        "get the newest (held) version",
    );
    assert_eq!(get.version_id(), Some(held.as_str()));
    assert_eq!(get.object_lock_mode(), None);
    assert_eq!(
        get.object_lock_legal_hold_status(),
        Some(&ObjectLockLegalHoldStatus::On)
    );

    // The default retention reaches PUT, CopyObject and CompleteMultipartUpload; an upload's
    // own legal hold is kept until it completes.
    ok(
        gw.client
            .put_object_lock_configuration()
            .bucket("locked")
            .object_lock_configuration(default_rule(
                ObjectLockRetentionMode::Governance,
                Some(1),
                None,
            ))
            .send()
            .await,
        "default retention",
    );
    let before = now_secs();
    let plain = gw.put("locked", "plain", b"plain").await;
    let copied = ok(
        gw.client
            .copy_object()
            .bucket("locked")
            .key("copied")
            .copy_source("locked/plain")
            .send()
            .await,
        "copy",
    );
    assert!(copied.version_id().is_some());
    let upload = ok(
        gw.client
            .create_multipart_upload()
            .bucket("locked")
            .key("multi")
            .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On)
            .send()
            .await,
        "create upload",
    );
    let upload_id = upload.upload_id().unwrap();
    let part = ok(
        gw.client
            .upload_part()
            .bucket("locked")
            .key("multi")
            .upload_id(upload_id)
            .part_number(1)
            .body(ByteStream::from_static(b"part"))
            .send()
            .await,
        "upload part",
    );
    let completed = ok(
        gw.client
            .complete_multipart_upload()
            .bucket("locked")
            .key("multi")
            .upload_id(upload_id)
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
        "complete upload",
    );
    assert!(completed.version_id().is_some());
    assert!(plain.version_id().is_some());
    for key in ["plain", "copied", "multi"] {
        let head = ok(
            gw.client
                .head_object()
                .bucket("locked")
                .key(key)
                .send()
                .await,
            "head",
        );
        assert_eq!(
            head.object_lock_mode(),
            Some(&ObjectLockMode::Governance),
            "{key}"
        );
        let until = head.object_lock_retain_until_date().unwrap().secs();
        assert!(
            (before + DAY..=now_secs() + DAY).contains(&until),
            "{key}: retained until {until}"
        );
        let held = head.object_lock_legal_hold_status() == Some(&ObjectLockLegalHoldStatus::On);
        assert_eq!(held, key == "multi", "{key}");
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_versions_cannot_be_deleted_but_keys_move_on() {
    let gw = TestGateway::start().await;
    lock_bucket(&gw, "locked").await;
    let hour = in_secs(3600);
    let compliance = put_locked(
        &gw,
        "locked",
        "k",
        Some((ObjectLockMode::Compliance, hour)),
        false,
    )
    .await;
    let governance = put_locked(
        &gw,
        "locked",
        "k",
        Some((ObjectLockMode::Governance, hour)),
        false,
    )
    .await;
    let held = put_locked(&gw, "locked", "k", None, true).await;

    for bypass in [false, true] {
        for version in [&compliance, &held] {
            let refused = delete_version(&gw, "locked", "k", version, bypass).await;
            expect_err(refused, 403, "AccessDenied");
        }
    }
    let refused = delete_version(&gw, "locked", "k", &governance, false).await;
    expect_err(refused, 403, "AccessDenied");

    // A delete without a version is a marker; an overwrite is a new version.
    let marker = ok(
        gw.client
            .delete_object()
            .bucket("locked")
            .key("k")
            .send()
            .await,
        "delete without a version",
    );
    assert_eq!(marker.delete_marker(), Some(true));
    let newer = gw.put("locked", "k", b"newer").await;
    assert_eq!(gw.get("locked", "k").await, b"newer");
    // The marker and the unlocked version go as always.
    ok(
        delete_version(&gw, "locked", "k", marker.version_id().unwrap(), false).await,
        "delete the marker",
    );
    ok(
        delete_version(&gw, "locked", "k", newer.version_id().unwrap(), false).await,
        "delete an unlocked version",
    );

    // DeleteObjects: a per-key AccessDenied for each protected version; the bypass removes the
    // GOVERNANCE one only.
    let batch = |bypass: bool| {
        let objects = [&compliance, &governance, &held]
            .into_iter()
            .map(|v| {
                ObjectIdentifier::builder()
                    .key("k")
                    .version_id(v.as_str())
                    .build()
                    .unwrap()
            })
            .collect::<Vec<_>>();
        gw.client
            .delete_objects()
            .bucket("locked")
            .bypass_governance_retention(bypass)
            .delete(
                Delete::builder()
                    .set_objects(Some(objects))
                    .build()
                    .unwrap(),
            )
            .send()
    };
    let out = ok(batch(false).await, "batch delete without bypass");
    assert!(out.deleted().is_empty());
    assert_eq!(out.errors().len(), 3);
    assert!(
        out.errors()
            .iter()
            .all(|e| e.code() == Some("AccessDenied"))
    );
    let out = ok(batch(true).await, "batch delete with bypass");
    let deleted: Vec<_> = out
        .deleted()
        .iter()
        .filter_map(|d| d.version_id())
        .collect();
    assert_eq!(deleted, [governance.as_str()]);
    assert_eq!(out.errors().len(), 2);

    // Every protected version still reads back, and the bucket cannot go.
    for version in [&compliance, &held] {
        let got = ok(
            gw.client
                .get_object()
                .bucket("locked")
                .key("k")
                .version_id(version.as_str())
                .send()
                .await,
            "read a protected version",
        );
        assert_eq!(body(got).await, b"k");
    }
    expect_err(
        gw.client.delete_bucket().bucket("locked").send().await,
        409,
        "BucketNotEmpty",
    );
    // Releasing the legal hold frees that version.
    ok(
        gw.client
            .put_object_legal_hold()
            .bucket("locked")
            .key("k")
            .version_id(&held)
            .legal_hold(hold(false))
            .send()
            .await,
        "release the hold",
    );
    ok(
        delete_version(&gw, "locked", "k", &held, false).await,
        "delete the released version",
    );
    gw.stop().await;
}
