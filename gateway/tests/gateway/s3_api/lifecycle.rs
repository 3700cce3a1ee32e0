//! Bucket lifecycle configuration through aws-sdk-s3: stored and returned, S3's validation
//! errors, transitions refused rather than ignored, incomplete uploads aborted and versions
//! expired by `floe admin lifecycle run` with one-second lifecycle days, and the
//! `x-amz-expiration` header.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_bucket_lifecycle_configuration::{
    GetBucketLifecycleConfigurationError as GetRulesError,
    GetBucketLifecycleConfigurationOutput as GotRules,
};
use aws_sdk_s3::primitives::DateTime;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketVersioningStatus,
    ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
    NoncurrentVersionExpiration, Tag, Transition, TransitionStorageClass, VersioningConfiguration,
};

use crate::s3_api::harness::*;

fn abort_rule(id: &str, prefix: &str, days: i32) -> LifecycleRule {
    abort_rule_with(
        id,
        LifecycleRuleFilter::builder().prefix(prefix).build(),
        days,
    )
}

fn abort_rule_with(id: &str, filter: LifecycleRuleFilter, days: i32) -> LifecycleRule {
    LifecycleRule::builder()
        .id(id)
        .status(ExpirationStatus::Enabled)
        .filter(filter)
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(days)
                .build(),
        )
        .build()
        .unwrap()
}

/// GetBucketLifecycleConfiguration of `bucket`.
async fn rules_of(c: &Client, bucket: &str) -> Result<GotRules, SdkError<GetRulesError>> {
    c.get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
}

fn config(rules: Vec<LifecycleRule>) -> BucketLifecycleConfiguration {
    BucketLifecycleConfiguration::builder()
        .set_rules(Some(rules))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_configuration_is_validated_stored_and_carried_out() {
    let gw = TestGateway::start_with(|c| c.lifecycle_day = Duration::from_secs(1)).await;
    gw.create_bucket("lcb").await;
    let c = &gw.client;
    expect_err(
        rules_of(c, "lcb").await,
        404,
        "NoSuchLifecycleConfiguration",
    );
    let put = |rules: Vec<LifecycleRule>| {
        c.put_bucket_lifecycle_configuration()
            .bucket("lcb")
            .lifecycle_configuration(config(rules))
            .send()
    };
    // Refused: duplicate ids, zero days, tags with abort, no action, transitions.
    expect_err(
        put(vec![abort_rule("a", "x/", 1), abort_rule("a", "y/", 1)]).await,
        400,
        "InvalidArgument",
    );
    expect_err(
        put(vec![abort_rule("a", "x/", 0)]).await,
        400,
        "InvalidArgument",
    );
    let tag = Tag::builder().key("k").value("v").build().unwrap();
    let tagged = abort_rule_with("t", LifecycleRuleFilter::builder().tag(tag).build(), 1);
    expect_err(put(vec![tagged]).await, 400, "InvalidArgument");
    // An upload has no size yet: a size filter with an abort is refused, not half-applied.
    let large = LifecycleRuleFilter::builder()
        .object_size_greater_than(1 << 30)
        .build();
    let sized = abort_rule_with("s", large, 1);
    expect_err(put(vec![sized]).await, 400, "InvalidRequest");
    let nothing = LifecycleRule::builder()
        .id("n")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .build()
        .unwrap();
    expect_err(put(vec![nothing]).await, 400, "InvalidArgument");
    let transition = LifecycleRule::builder()
        .id("tr")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .transitions(
            Transition::builder()
                .days(30)
                .storage_class(TransitionStorageClass::Glacier)
                .build(),
        )
        .build()
        .unwrap();
    expect_err(put(vec![transition]).await, 400, "InvalidStorageClass");
    // Expiration's own rules: positive days, one of Days, Date and ExpiredObjectDeleteMarker,
    // dates at midnight UTC, at most 100 newer noncurrent versions kept.
    let expiring = |expiration: Option<LifecycleExpiration>,
                    noncurrent: Option<NoncurrentVersionExpiration>| {
        LifecycleRule::builder()
            .id("ex")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("").build())
            .set_expiration(expiration)
            .set_noncurrent_version_expiration(noncurrent)
            .build()
            .unwrap()
    };
    let days = |n| Some(LifecycleExpiration::builder().days(n).build());
    let refused = [
        expiring(days(0), None),
        expiring(
            Some(
                LifecycleExpiration::builder()
                    .days(1)
                    .expired_object_delete_marker(true)
                    .build(),
            ),
            None,
        ),
        expiring(
            Some(
                LifecycleExpiration::builder()
                    .date(DateTime::from_secs(1_900_000_000))
                    .build(),
            ),
            None,
        ),
        expiring(
            None,
            Some(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(0)
                    .build(),
            ),
        ),
        expiring(
            None,
            Some(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(1)
                    .newer_noncurrent_versions(101)
                    .build(),
            ),
        ),
    ];
    for rule in refused {
        expect_err(put(vec![rule.clone()]).await, 400, "InvalidArgument");
    }
    expect_err(
        rules_of(c, "lcb").await,
        404,
        "NoSuchLifecycleConfiguration",
    );

    // A rule filtered by one tag alone comes back as a filter a PUT takes again.
    let by_tag = LifecycleRule::builder()
        .id("by-tag")
        .status(ExpirationStatus::Enabled)
        .filter(
            LifecycleRuleFilter::builder()
                .tag(Tag::builder().key("class").value("tmp").build().unwrap())
                .build(),
        )
        .expiration(LifecycleExpiration::builder().days(3).build())
        .build()
        .unwrap();
    ok(put(vec![by_tag]).await, "put a tag rule");
    let got = ok(rules_of(c, "lcb").await, "get lifecycle");
    let filter = got.rules()[0].filter().unwrap();
    assert_eq!(
        (filter.prefix(), filter.tag().map(|t| t.key())),
        (None, Some("class"))
    );
    ok(put(got.rules().to_vec()).await, "the rules got, put back");

    // Stored and returned.
    ok(
        put(vec![abort_rule("tmp-uploads", "tmp/", 1)]).await,
        "put lifecycle",
    );
    let got = ok(rules_of(c, "lcb").await, "get lifecycle");
    let rule = &got.rules()[0];
    assert_eq!(rule.id(), Some("tmp-uploads"));
    assert_eq!(
        rule.filter().and_then(|f| f.prefix()),
        Some("tmp/"),
        "{rule:?}"
    );
    assert_eq!(
        rule.abort_incomplete_multipart_upload()
            .and_then(|a| a.days_after_initiation()),
        Some(1)
    );

    // Carried out: after a lifecycle day, the upload under tmp/ goes, the other stays.
    let start = |key: &'static str| c.create_multipart_upload().bucket("lcb").key(key).send();
    let doomed = ok(start("tmp/part-upload").await, "upload")
        .upload_id()
        .unwrap()
        .to_owned();
    let kept = ok(start("keep/upload").await, "upload")
        .upload_id()
        .unwrap()
        .to_owned();
    let report = gw.admin().lifecycle_run().await.unwrap();
    assert_eq!(report.uploads_aborted, 0, "not a day old yet: {report:?}");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let report = gw.admin().lifecycle_run().await.unwrap();
    assert_eq!(report.uploads_aborted, 1, "{report:?}");
    assert_eq!(report.buckets, 1);
    // `floe admin status` shows the engine: buckets with rules and the last run.
    let status = gw.admin().status().await.unwrap().lifecycle;
    assert_eq!(status.buckets, 1);
    assert_eq!(status.last_run, Some(report));
    assert!(status.last_run_at.is_some());
    let listed = ok(
        c.list_multipart_uploads().bucket("lcb").send().await,
        "list uploads",
    );
    let ids: Vec<&str> = listed
        .uploads()
        .iter()
        .filter_map(|u| u.upload_id())
        .collect();
    assert_eq!(ids, [kept.as_str()]);
    expect_err(
        c.list_parts()
            .bucket("lcb")
            .key("tmp/part-upload")
            .upload_id(&doomed)
            .send()
            .await,
        404,
        "NoSuchUpload",
    );

    // Deleted: nothing more is aborted.
    ok(
        c.delete_bucket_lifecycle().bucket("lcb").send().await,
        "delete lifecycle",
    );
    expect_err(
        rules_of(c, "lcb").await,
        404,
        "NoSuchLifecycleConfiguration",
    );
    let report = gw.admin().lifecycle_run().await.unwrap();
    assert_eq!((report.buckets, report.uploads_aborted), (0, 0));
    gw.stop().await;
}

/// Versions expire through the SDK: the header names the rule and the day, the current version
/// gets a delete marker a day after its creation, the noncurrent one goes a day later, and the
/// marker left alone goes with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_expire_by_their_rules_and_the_header_says_when() {
    let gw = TestGateway::start_with(|c| c.lifecycle_day = Duration::from_secs(1)).await;
    gw.create_bucket("lce").await;
    let c = &gw.client;
    ok(
        c.put_bucket_versioning()
            .bucket("lce")
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await,
        "versioning",
    );
    let logs = LifecycleRule::builder()
        .id("logs-expire")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("logs/").build())
        .expiration(LifecycleExpiration::builder().days(1).build())
        .noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(1)
                .build(),
        )
        .build()
        .unwrap();
    let markers = LifecycleRule::builder()
        .id("markers")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .expiration(
            LifecycleExpiration::builder()
                .expired_object_delete_marker(true)
                .build(),
        )
        .build()
        .unwrap();
    ok(
        c.put_bucket_lifecycle_configuration()
            .bucket("lce")
            .lifecycle_configuration(config(vec![logs, markers]))
            .send()
            .await,
        "put lifecycle",
    );
    let got = ok(rules_of(c, "lce").await, "get lifecycle");
    let rule = &got.rules()[0];
    assert_eq!(rule.expiration().and_then(|e| e.days()), Some(1));
    assert_eq!(
        rule.noncurrent_version_expiration()
            .and_then(|n| n.noncurrent_days()),
        Some(1)
    );
    assert_eq!(
        got.rules()[1]
            .expiration()
            .and_then(|e| e.expired_object_delete_marker()),
        Some(true)
    );

    let put = |key: &'static str| {
        c.put_object()
            .bucket("lce")
            .key(key)
            .body(floe_testkit::pattern(100, 10).into())
            .send()
    };
    let written = ok(put("logs/a").await, "put");
    let header = written.expiration().expect("x-amz-expiration").to_owned();
    assert!(
        header.starts_with("expiry-date=\"") && header.ends_with("rule-id=\"logs-expire\""),
        "{header}"
    );
    let head = ok(
        c.head_object().bucket("lce").key("logs/a").send().await,
        "head",
    );
    assert_eq!(head.expiration(), Some(header.as_str()));
    let kept = ok(put("data/b").await, "put");
    assert_eq!(kept.expiration(), None, "no rule expires data/");

    // A day later: logs/a is behind a delete marker; data/b is untouched.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let report = gw.admin().lifecycle_run().await.unwrap();
    assert_eq!(report.versions.expired, 1, "{report:?}");
    expect_err(
        c.head_object().bucket("lce").key("logs/a").send().await,
        404,
        "NotFound",
    );
    ok(
        c.head_object().bucket("lce").key("data/b").send().await,
        "data/b stays",
    );
    let versions = ok(
        c.list_object_versions()
            .bucket("lce")
            .prefix("logs/")
            .send()
            .await,
        "versions",
    );
    assert_eq!(
        (versions.versions().len(), versions.delete_markers().len()),
        (1, 1)
    );

    // Another day: the noncurrent version goes, and the marker left alone with it.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let report = gw.admin().lifecycle_run().await.unwrap();
    assert_eq!(
        (
            report.versions.noncurrent_removed,
            report.versions.markers_removed
        ),
        (1, 1),
        "{report:?}"
    );
    let versions = ok(
        c.list_object_versions().bucket("lce").send().await,
        "versions",
    );
    assert_eq!(versions.versions().len(), 1, "only data/b is left");
    assert!(versions.delete_markers().is_empty());
    let status = gw.admin().status().await.unwrap().lifecycle;
    assert_eq!(status.backlog.due_now, 0, "{status:?}");
    gw.stop().await;
}
