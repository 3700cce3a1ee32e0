//! The retention and legal hold of a version through aws-sdk-s3: PutObjectRetention's one-way
//! rules (extend always, COMPLIANCE never weakened, GOVERNANCE only with the bypass), legal
//! holds on and off, retention XML without a namespace, the refusals on buckets without lock
//! and on delete markers; and the clock retention is judged by.

use crate::s3_api::harness::*;
use crate::s3_api::object_lock::{DAY, hold, in_secs, lock_bucket, now_secs, retention};

use aws_sdk_s3::types::{ObjectLockLegalHoldStatus, ObjectLockRetentionMode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_and_legal_hold_change_only_the_allowed_ways() {
    let gw = TestGateway::start().await;
    gw.create_bucket("plain").await;
    gw.put("plain", "k", b"x").await;
    lock_bucket(&gw, "locked").await;
    let version = gw
        .put("locked", "k", b"x")
        .await
        .version_id()
        .unwrap()
        .to_owned();

    let get_retention = async || {
        gw.client
            .get_object_retention()
            .bucket("locked")
            .key("k")
            .version_id(&version)
            .send()
            .await
    };
    let put_retention = async |mode, until, bypass: bool| {
        gw.client
            .put_object_retention()
            .bucket("locked")
            .key("k")
            .version_id(&version)
            .retention(retention(mode, until))
            .bypass_governance_retention(bypass)
            .send()
            .await
    };
    expect_err(get_retention().await, 404, "NoSuchObjectLockConfiguration");

    let (hour, two_hours, minute) = (in_secs(3600), in_secs(7200), in_secs(60));
    use ObjectLockRetentionMode::{Compliance, Governance};
    ok(
        put_retention(Governance, hour, false).await,
        "set GOVERNANCE",
    );
    ok(
        put_retention(Governance, two_hours, false).await,
        "extend GOVERNANCE",
    );
    expect_err(
        put_retention(Governance, minute, false).await,
        403,
        "AccessDenied",
    );
    ok(
        put_retention(Governance, minute, true).await,
        "shorten with bypass",
    );
    ok(
        put_retention(Compliance, hour, false).await,
        "GOVERNANCE becomes COMPLIANCE",
    );
    for bypass in [false, true] {
        expect_err(
            put_retention(Compliance, minute, bypass).await,
            403,
            "AccessDenied",
        );
        expect_err(
            put_retention(Governance, two_hours, bypass).await,
            403,
            "AccessDenied",
        );
    }
    ok(
        put_retention(Compliance, two_hours, false).await,
        "extend COMPLIANCE",
    );
    let got = ok(get_retention().await, "get retention");
    let got = got.retention().unwrap();
    assert_eq!(got.mode(), Some(&Compliance));
    assert_eq!(got.retain_until_date(), Some(&two_hours));
    expect_err(
        put_retention(Compliance, in_secs(-10), false).await,
        400,
        "InvalidArgument",
    );

    // Legal hold: OFF until set, independent of retention, no bypass needed either way.
    let get_hold = async || {
        ok(
            gw.client
                .get_object_legal_hold()
                .bucket("locked")
                .key("k")
                .send()
                .await,
            "get legal hold",
        )
        .legal_hold()
        .and_then(|h| h.status())
        .cloned()
    };
    assert_eq!(get_hold().await, Some(ObjectLockLegalHoldStatus::Off));
    for on in [true, false] {
        ok(
            gw.client
                .put_object_legal_hold()
                .bucket("locked")
                .key("k")
                .legal_hold(hold(on))
                .send()
                .await,
            "set legal hold",
        );
        let want = match on {
            true => ObjectLockLegalHoldStatus::On,
            false => ObjectLockLegalHoldStatus::Off,
        };
        assert_eq!(get_hold().await, Some(want));
    }

    // Retention XML without a namespace, as some clients send it: the SDK's request with its
    // body swapped (and its checksum headers dropped) before it is signed.
    let three_hours = in_secs(3 * 3600);
    let xml = format!(
        "<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>{}</RetainUntilDate></Retention>",
        three_hours
            .fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime)
            .unwrap()
    );
    ok(
        gw.client
            .put_object_retention()
            .bucket("locked")
            .key("k")
            .version_id(&version)
            // What the swapped body says wins: the assertion below tells them apart.
            .retention(retention(Compliance, in_secs(4 * 3600)))
            .customize()
            .mutate_request(move |req| {
                let names: Vec<String> = req
                    .headers()
                    .iter()
                    .map(|(n, _)| n.to_owned())
                    .filter(|n| n.starts_with("x-amz-checksum-") || n == "content-md5")
                    .collect();
                for name in names {
                    req.headers_mut().remove(name);
                }
                req.headers_mut()
                    .insert("content-length", xml.len().to_string());
                *req.body_mut() = aws_sdk_s3::primitives::SdkBody::from(xml.clone());
            })
            .send()
            .await,
        "retention XML without a namespace",
    );
    let got = ok(get_retention().await, "get retention");
    assert_eq!(
        got.retention().unwrap().retain_until_date(),
        Some(&three_hours)
    );

    // No lock calls on a bucket without lock; none on a delete marker.
    let plain = gw
        .client
        .put_object_retention()
        .bucket("plain")
        .key("k")
        .retention(retention(Governance, hour))
        .send()
        .await;
    expect_err(plain, 400, "InvalidRequest");
    let plain = gw
        .client
        .get_object_legal_hold()
        .bucket("plain")
        .key("k")
        .send()
        .await;
    expect_err(plain, 400, "InvalidRequest");
    let marker = ok(
        gw.client
            .delete_object()
            .bucket("locked")
            .key("k")
            .send()
            .await,
        "marker",
    );
    let on_marker = gw
        .client
        .put_object_legal_hold()
        .bucket("locked")
        .key("k")
        .version_id(marker.version_id().unwrap())
        .legal_hold(hold(true))
        .send()
        .await;
    expect_status(on_marker, 405);
    gw.stop().await;
}

/// Retention is judged by the gateway's clock: a gateway whose clock reads earlier than the
/// cluster has already seen (here: a day behind the index's watermark) refuses to start, until
/// an operator resets the watermark to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_whose_clock_went_back_refuses_to_start() {
    use floe_gateway::runtime::config::{GatewayConfig, GatewayOverrides};
    let dir = tempfile::tempdir().unwrap();
    let mut config = GatewayConfig::resolve(
        None,
        GatewayOverrides {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            data_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        },
    )
    .unwrap();
    let index = floe_gateway::index::Index::open(&dir.path().join("index.redb")).unwrap();
    // Read once: two readings of the clock may straddle a second.
    let ahead = (now_secs() + DAY) * 1000;
    index.raise_clock_watermark(ahead).unwrap();
    drop(index);
    let refused = floe_gateway::runtime::launch::Gateway::start(&config).await;
    let err = refused.err().expect("a clock a day behind is refused");
    assert!(err.to_string().contains("fix the clock"), "{err}");
    // The refused start left the watermark (and everything else) as it was.
    let index = floe_gateway::index::Index::open(&dir.path().join("index.redb")).unwrap();
    assert_eq!(
        index.clock_watermark().unwrap(),
        ahead,
        "a refused start changed nothing"
    );
    drop(index);
    // The operator checked this clock: the reset brings the watermark back to it.
    config.reset_clock_watermark = true;
    let gateway = floe_gateway::runtime::launch::Gateway::start(&config)
        .await
        .expect("starts after the reset");
    assert!(gateway.service.index().clock_watermark().unwrap() <= (now_secs() + 1) * 1000);
    gateway.stop().await;
}
