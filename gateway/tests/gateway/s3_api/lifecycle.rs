//! Bucket lifecycle configuration through aws-sdk-s3: stored and returned, S3's validation
//! errors, actions Floe does not carry out yet refused rather than ignored, and incomplete
//! uploads aborted by `floe admin lifecycle run` with one-second lifecycle days.

use std::time::Duration;

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, Tag, Transition,
    TransitionStorageClass,
};

use crate::s3_api::harness::*;

fn abort_rule(id: &str, prefix: &str, days: i32) -> LifecycleRule {
    LifecycleRule::builder()
        .id(id)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(days)
                .build(),
        )
        .build()
        .unwrap()
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
        c.get_bucket_lifecycle_configuration()
            .bucket("lcb")
            .send()
            .await,
        404,
        "NoSuchLifecycleConfiguration",
    );
    let put = |rules: Vec<LifecycleRule>| {
        c.put_bucket_lifecycle_configuration()
            .bucket("lcb")
            .lifecycle_configuration(config(rules))
            .send()
    };
    // Refused: duplicate ids, zero days, tags with abort, no action, transitions, and the
    // expiration actions Floe does not carry out yet.
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
    let tagged = LifecycleRule::builder()
        .id("t")
        .status(ExpirationStatus::Enabled)
        .filter(
            LifecycleRuleFilter::builder()
                .tag(Tag::builder().key("k").value("v").build().unwrap())
                .build(),
        )
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(1)
                .build(),
        )
        .build()
        .unwrap();
    expect_err(put(vec![tagged]).await, 400, "InvalidArgument");
    // An upload has no size yet: a size filter with an abort is refused, not half-applied.
    let sized = LifecycleRule::builder()
        .id("s")
        .status(ExpirationStatus::Enabled)
        .filter(
            LifecycleRuleFilter::builder()
                .object_size_greater_than(1 << 30)
                .build(),
        )
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(1)
                .build(),
        )
        .build()
        .unwrap();
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
    let expire = LifecycleRule::builder()
        .id("ex")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .expiration(LifecycleExpiration::builder().days(1).build())
        .build()
        .unwrap();
    expect_err(put(vec![expire]).await, 501, "NotImplemented");
    expect_err(
        c.get_bucket_lifecycle_configuration()
            .bucket("lcb")
            .send()
            .await,
        404,
        "NoSuchLifecycleConfiguration",
    );

    // Stored and returned.
    ok(
        put(vec![abort_rule("tmp-uploads", "tmp/", 1)]).await,
        "put lifecycle",
    );
    let got = ok(
        c.get_bucket_lifecycle_configuration()
            .bucket("lcb")
            .send()
            .await,
        "get lifecycle",
    );
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
        c.get_bucket_lifecycle_configuration()
            .bucket("lcb")
            .send()
            .await,
        404,
        "NoSuchLifecycleConfiguration",
    );
    let report = gw.admin().lifecycle_run().await.unwrap();
    assert_eq!((report.buckets, report.uploads_aborted), (0, 0));
    gw.stop().await;
}
