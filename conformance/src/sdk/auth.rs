//! Authentication errors (wrong secret, unknown key, a clock 20 minutes late, anonymous
//! requests) and the shape of an error: an XML body with Code, Message and RequestId, no body on
//! HEAD, and `x-amz-request-id` on every response.

use std::time::{Duration, SystemTime};

use anyhow::ensure;
use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

use super::support::*;
use crate::target::Target;

/// A clock that runs `behind` late: requests are signed in the past.
#[derive(Debug)]
struct LateClock(Duration);

impl aws_smithy_async::time::TimeSource for LateClock {
    fn now(&self) -> SystemTime {
        SystemTime::now() - self.0
    }
}

pub async fn auth(t: Target) -> anyhow::Result<()> {
    let bucket = t.create_bucket("err-auth").await?;
    let good = t.client();
    ok(
        good.put_object()
            .bucket(&bucket)
            .key("k")
            .body(ByteStream::from_static(b"private"))
            .send()
            .await,
        "put",
    )?;
    let wrong_secret = t.client_with(&t.access_key, "definitely-not-the-secret");
    expect_err(
        wrong_secret
            .get_object()
            .bucket(&bucket)
            .key("k")
            .send()
            .await,
        403,
        "SignatureDoesNotMatch",
        "wrong secret key",
    )?;
    let put = wrong_secret
        .put_object()
        .bucket(&bucket)
        .key("k")
        .body(ByteStream::from_static(b"overwrite"));
    expect_err(
        put.send().await,
        403,
        "SignatureDoesNotMatch",
        "PUT with a wrong secret key",
    )?;
    let unknown = t.client_with("AKIDCONFORMANCEUNKNOWN", &t.secret_key);
    expect_err(
        unknown.list_buckets().send().await,
        403,
        "InvalidAccessKeyId",
        "unknown access key",
    )?;

    // Signed 20 minutes in the past, one attempt (a retry would correct the clock).
    let late = aws_sdk_s3::Config::builder()
        .endpoint_url(&t.endpoint)
        .region(aws_sdk_s3::config::Region::new(t.region.clone()))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            &t.access_key,
            &t.secret_key,
            None,
            None,
            "late",
        ))
        .force_path_style(true)
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .time_source(LateClock(Duration::from_secs(20 * 60)))
        .build();
    let late = aws_sdk_s3::Client::from_conf(late);
    expect_err(
        late.list_buckets().send().await,
        403,
        "RequestTimeTooSkewed",
        "clock 20 minutes late",
    )?;

    for (method, path) in [
        ("GET", format!("/{bucket}/k")),
        ("GET", format!("/{bucket}")),
        ("PUT", format!("/{bucket}/anon")),
    ] {
        let raw = raw_request(method, &format!("{}{path}", t.endpoint), &[], Vec::new()).await?;
        ensure!(
            raw.status == 403 && raw.text().contains("<Code>AccessDenied</Code>"),
            "anonymous {method} {path}: {} {}",
            raw.status,
            raw.text()
        );
    }
    let got = body(ok(
        good.get_object().bucket(&bucket).key("k").send().await,
        "get",
    )?)
    .await?;
    ensure_bytes(&got, b"private", "object after refused requests")
}

pub async fn shape(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("err-shape").await?;
    let config = PresigningConfig::expires_in(Duration::from_secs(300))?;
    let url = c
        .get_object()
        .bucket(&bucket)
        .key("missing")
        .presigned(config.clone())
        .await?;
    let raw = raw_request("GET", url.uri(), &[], Vec::new()).await?;
    let text = raw.text();
    ensure!(
        raw.status == 404,
        "GET a missing key: status {}",
        raw.status
    );
    for part in [
        "<Error>",
        "<Code>NoSuchKey</Code>",
        "<Message>",
        "<RequestId>",
    ] {
        ensure!(text.contains(part), "error body lacks {part}: {text}");
    }
    ensure!(
        raw.header("content-type")
            .is_some_and(|v| v.contains("xml")),
        "error Content-Type {:?}",
        raw.header("content-type")
    );
    ensure!(
        raw.header("x-amz-request-id")
            .is_some_and(|v| !v.is_empty()),
        "error without x-amz-request-id"
    );

    let url = c
        .head_object()
        .bucket(&bucket)
        .key("missing")
        .presigned(config)
        .await?;
    let raw = raw_request("HEAD", url.uri(), &[], Vec::new()).await?;
    ensure!(
        raw.status == 404 && raw.body.is_empty(),
        "HEAD error: {} with {} body bytes",
        raw.status,
        raw.body.len()
    );

    let a = ok(c.list_buckets().send().await, "list buckets")?;
    let b = ok(
        c.list_objects_v2().bucket(&bucket).send().await,
        "list objects",
    )?;
    let (a, b) = (
        a.request_id().unwrap_or_default(),
        b.request_id().unwrap_or_default(),
    );
    ensure!(
        !a.is_empty() && !b.is_empty() && a != b,
        "request ids {a:?} and {b:?}"
    );
    Ok(())
}
