//! Conditional requests. GET and HEAD follow S3's precedence (If-Match → 412, If-None-Match →
//! 304, If-Modified-Since → 304, If-Unmodified-Since → 412); PUT takes `If-None-Match: *` and
//! `If-Match` (quoted or not); CopyObject takes `x-amz-copy-source-if-*`.

use std::time::Duration;

use anyhow::{Context, ensure};
use aws_sdk_s3::primitives::{ByteStream, DateTime};

use super::support::*;
use crate::target::Target;

const OTHER_ETAG: &str = "\"0123456789abcdef0123456789abcdef\"";

pub async fn reads(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("cond-read").await?;
    let bytes = data(801, 30 * KIB);
    ok(
        c.put_object()
            .bucket(&bucket)
            .key("k")
            .body(ByteStream::from(bytes.clone()))
            .send()
            .await,
        "put",
    )?;
    let head = ok(
        c.head_object().bucket(&bucket).key("k").send().await,
        "head",
    )?;
    let etag = head.e_tag().context("no ETag")?.to_string();
    let modified = *head.last_modified().context("no Last-Modified")?;
    let secs = modified.secs();
    let hour_before = DateTime::from_secs(secs - 3600);
    let hour_after = DateTime::from_secs(secs + 3600);
    let get = || c.get_object().bucket(&bucket).key("k");
    let head = || c.head_object().bucket(&bucket).key("k");

    // Each condition alone, true and false.
    let out = ok(get().if_match(&etag).send().await, "GET If-Match current")?;
    ensure_bytes(&body(out).await?, &bytes, "GET If-Match")?;
    ok(
        get().if_match(etag.trim_matches('"')).send().await,
        "GET If-Match unquoted",
    )?;
    ok(get().if_match("*").send().await, "GET If-Match *")?;
    expect_err(
        get().if_match(OTHER_ETAG).send().await,
        412,
        "PreconditionFailed",
        "GET If-Match other",
    )?;
    expect_status(
        get().if_none_match(&etag).send().await,
        304,
        "GET If-None-Match current",
    )?;
    ok(
        get().if_none_match(OTHER_ETAG).send().await,
        "GET If-None-Match other",
    )?;
    expect_status(
        get().if_modified_since(modified).send().await,
        304,
        "GET If-Modified-Since = Last-Modified",
    )?;
    ok(
        get().if_modified_since(hour_before).send().await,
        "GET If-Modified-Since an hour before",
    )?;
    expect_err(
        get().if_unmodified_since(hour_before).send().await,
        412,
        "PreconditionFailed",
        "GET If-Unmodified-Since an hour before",
    )?;
    ok(
        get().if_unmodified_since(hour_after).send().await,
        "GET If-Unmodified-Since an hour after",
    )?;

    // Precedence.
    ok(
        get()
            .if_match(&etag)
            .if_unmodified_since(hour_before)
            .send()
            .await,
        "If-Match true wins over If-Unmodified-Since false",
    )?;
    expect_err(
        get()
            .if_match(OTHER_ETAG)
            .if_unmodified_since(hour_after)
            .send()
            .await,
        412,
        "PreconditionFailed",
        "If-Match false fails even with If-Unmodified-Since true",
    )?;
    expect_status(
        get()
            .if_none_match(&etag)
            .if_modified_since(hour_before)
            .send()
            .await,
        304,
        "If-None-Match false is 304 even with If-Modified-Since true",
    )?;
    ok(
        get()
            .if_none_match(OTHER_ETAG)
            .if_modified_since(modified)
            .send()
            .await,
        "If-None-Match true wins over If-Modified-Since false",
    )?;

    // HEAD: the same answers, without bodies.
    expect_status(
        head().if_match(OTHER_ETAG).send().await,
        412,
        "HEAD If-Match other",
    )?;
    expect_status(
        head().if_none_match(&etag).send().await,
        304,
        "HEAD If-None-Match current",
    )?;
    expect_status(
        head().if_unmodified_since(hour_before).send().await,
        412,
        "HEAD If-Unmodified-Since",
    )?;
    expect_status(
        head().if_modified_since(modified).send().await,
        304,
        "HEAD If-Modified-Since",
    )?;
    ok(head().if_match(&etag).send().await, "HEAD If-Match current")?;
    Ok(())
}

pub async fn writes(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("cond-write").await?;
    let first = data(811, 2 * KIB);
    let put = |key: &str, bytes: &[u8]| {
        c.put_object()
            .bucket(&bucket)
            .key(key)
            .body(ByteStream::from(bytes.to_vec()))
    };
    ok(put("k", &first).send().await, "put")?;

    // If-None-Match: * creates only.
    let fresh = data(812, 5 * MIB + 1);
    let created = ok(
        put("fresh", &fresh).if_none_match("*").send().await,
        "If-None-Match: * on a new key",
    )?;
    ensure!(
        created.e_tag() == Some(etag_of(&fresh).as_str()),
        "created ETag"
    );
    expect_err(
        put("fresh", b"clobber").if_none_match("*").send().await,
        412,
        "PreconditionFailed",
        "If-None-Match: * on an existing key",
    )?;
    expect_err(
        put("k", &data(813, 5 * MIB))
            .if_none_match("*")
            .send()
            .await,
        412,
        "PreconditionFailed",
        "If-None-Match: * with a large body",
    )?;
    let got = body(ok(
        c.get_object().bucket(&bucket).key("k").send().await,
        "get",
    )?)
    .await?;
    ensure_bytes(&got, &first, "object after refused conditional PUTs")?;

    // If-Match: compare-and-swap.
    expect_err(
        put("k", b"lost update").if_match(OTHER_ETAG).send().await,
        412,
        "PreconditionFailed",
        "PUT If-Match with a stale ETag",
    )?;
    let second = data(814, 3 * KIB);
    let updated = ok(
        put("k", &second).if_match(etag_of(&first)).send().await,
        "PUT If-Match current",
    )?;
    ensure!(
        updated.e_tag() == Some(etag_of(&second).as_str()),
        "updated ETag"
    );
    expect_err(
        put("k", b"third").if_match(etag_of(&first)).send().await,
        412,
        "PreconditionFailed",
        "PUT If-Match with the replaced ETag",
    )?;
    ok(
        put("k", b"third").if_match(md5_hex(&second)).send().await,
        "PUT If-Match unquoted",
    )?;
    // AWS answers 404 NoSuchKey here, RFC 9110 412: either way nothing may be created.
    match put("absent", b"x").if_match(OTHER_ETAG).send().await {
        Ok(_) => anyhow::bail!("PUT If-Match on a missing key succeeded"),
        Err(e) => ensure!(
            matches!(
                (status(&e), code(&e).as_deref()),
                (Some(404), Some("NoSuchKey")) | (Some(412), Some("PreconditionFailed"))
            ),
            "PUT If-Match on a missing key: want 404 NoSuchKey or 412 PreconditionFailed, got {}",
            show(&e)
        ),
    }
    expect_status(
        c.head_object().bucket(&bucket).key("absent").send().await,
        404,
        "HEAD after the refused PUT",
    )?;

    // CopyObject source conditions.
    let source = format!("{bucket}/fresh");
    let copy = || {
        c.copy_object()
            .bucket(&bucket)
            .key("copy")
            .copy_source(&source)
    };
    expect_err(
        copy().copy_source_if_match(OTHER_ETAG).send().await,
        412,
        "PreconditionFailed",
        "copy-source-if-match other",
    )?;
    expect_err(
        copy()
            .copy_source_if_none_match(etag_of(&fresh))
            .send()
            .await,
        412,
        "PreconditionFailed",
        "copy-source-if-none-match current",
    )?;
    let far_past = DateTime::from(std::time::SystemTime::now() - Duration::from_secs(86_400));
    expect_err(
        copy()
            .copy_source_if_unmodified_since(far_past)
            .send()
            .await,
        412,
        "PreconditionFailed",
        "copy-source-if-unmodified-since yesterday",
    )?;
    expect_err(
        c.get_object().bucket(&bucket).key("copy").send().await,
        404,
        "NoSuchKey",
        "no copy after refused conditions",
    )?;
    ok(
        copy().copy_source_if_match(etag_of(&fresh)).send().await,
        "copy-source-if-match current",
    )?;
    let got = body(ok(
        c.get_object().bucket(&bucket).key("copy").send().await,
        "get copy",
    )?)
    .await?;
    ensure_bytes(&got, &fresh, "conditional copy")
}
