//! What travels with an object besides its bytes: ~2 KiB of user metadata (through PUT, HEAD,
//! GET, CopyObject and multipart), the standard content headers and `response-*` overrides,
//! and object tagging.

use std::collections::HashMap;

use anyhow::{Context, ensure};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, Tag, Tagging};

use super::multipart::upload_parts;
use super::support::*;
use crate::target::Target;

/// Ten entries, 2,020 bytes of names and values: just under S3's 2 KiB (2,048) limit.
fn large_metadata() -> HashMap<String, String> {
    (0..10)
        .map(|i| {
            let name = format!("meta-{i:02}"); // 7 bytes
            let fill: String = (0..192)
                .map(|j| (b'a' + ((i + j) % 26) as u8) as char)
                .collect();
            (name, format!("{fill}-{i:02}"))
        })
        .collect()
}

fn ensure_metadata(
    got: Option<&HashMap<String, String>>,
    want: &HashMap<String, String>,
    what: &str,
) -> anyhow::Result<()> {
    let got = got.with_context(|| format!("{what}: no metadata"))?;
    for (k, v) in want {
        ensure!(
            got.get(k) == Some(v),
            "{what}: metadata {k} is {:?}",
            got.get(k)
        );
    }
    ensure!(
        got.len() == want.len(),
        "{what}: {} entries, want {}",
        got.len(),
        want.len()
    );
    Ok(())
}

pub async fn large(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("metadata").await?;
    let meta = large_metadata();
    let total: usize = meta.iter().map(|(k, v)| k.len() + v.len()).sum();
    ensure!(
        (1900..=2048).contains(&total),
        "test metadata is {total} bytes"
    );
    for (key, size) in [("small", 100), ("large", 5 * MIB + 1)] {
        let bytes = data(1400 + size as u64, size);
        let put = c
            .put_object()
            .bucket(&bucket)
            .key(key)
            .set_metadata(Some(meta.clone()));
        ok(
            put.body(ByteStream::from(bytes.clone())).send().await,
            &format!("put {key} with {total} bytes of metadata"),
        )?;
        let head = ok(
            c.head_object().bucket(&bucket).key(key).send().await,
            "head",
        )?;
        ensure_metadata(head.metadata(), &meta, &format!("HEAD {key}"))?;
        let get = ok(c.get_object().bucket(&bucket).key(key).send().await, "get")?;
        ensure_metadata(get.metadata(), &meta, &format!("GET {key}"))?;
        ensure_bytes(&body(get).await?, &bytes, key)?;
    }
    let source = format!("{bucket}/large");
    ok(
        c.copy_object()
            .bucket(&bucket)
            .key("copied")
            .copy_source(&source)
            .send()
            .await,
        "copy",
    )?;
    let head = ok(
        c.head_object().bucket(&bucket).key("copied").send().await,
        "head copy",
    )?;
    ensure_metadata(head.metadata(), &meta, "HEAD copy")?;

    let create = c
        .create_multipart_upload()
        .bucket(&bucket)
        .key("multi")
        .set_metadata(Some(meta.clone()));
    let create = ok(create.send().await, "create upload with metadata")?;
    let id = create.upload_id().context("no UploadId")?.to_string();
    let part = data(1450, 50 * KIB);
    let parts = upload_parts(&c, &bucket, "multi", &id, &[&part]).await?;
    let done = CompletedMultipartUpload::builder()
        .set_parts(Some(parts))
        .build();
    let complete = c
        .complete_multipart_upload()
        .bucket(&bucket)
        .key("multi")
        .upload_id(&id);
    ok(complete.multipart_upload(done).send().await, "complete")?;
    let head = ok(
        c.head_object().bucket(&bucket).key("multi").send().await,
        "head multipart",
    )?;
    ensure_metadata(head.metadata(), &meta, "HEAD multipart")
}

pub async fn content_headers(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("headers").await?;
    let bytes = data(1500, 4 * KIB);
    let put = c
        .put_object()
        .bucket(&bucket)
        .key("page.html")
        .content_type("text/html; charset=utf-8")
        .cache_control("max-age=60, public")
        .content_disposition("attachment; filename=\"page.html\"")
        .content_encoding("identity")
        .content_language("en-GB");
    ok(
        put.body(ByteStream::from(bytes.clone())).send().await,
        "put with content headers",
    )?;
    let head = ok(
        c.head_object()
            .bucket(&bucket)
            .key("page.html")
            .send()
            .await,
        "head",
    )?;
    let got = [
        head.content_type(),
        head.cache_control(),
        head.content_disposition(),
        head.content_encoding(),
        head.content_language(),
    ];
    let want = [
        Some("text/html; charset=utf-8"),
        Some("max-age=60, public"),
        Some("attachment; filename=\"page.html\""),
        Some("identity"),
        Some("en-GB"),
    ];
    ensure!(got == want, "HEAD content headers: {got:?}");
    let get = c
        .get_object()
        .bucket(&bucket)
        .key("page.html")
        .response_content_type("application/json")
        .response_cache_control("no-store")
        .response_content_disposition("inline");
    let get = ok(get.send().await, "get with response-* overrides")?;
    let got = [
        get.content_type(),
        get.cache_control(),
        get.content_disposition(),
    ];
    ensure!(
        got == [Some("application/json"), Some("no-store"), Some("inline")],
        "response-* overrides: {got:?}"
    );
    ensure_bytes(&body(get).await?, &bytes, "body")?;
    // Without a type, S3 stores a default one rather than nothing.
    ok(
        c.put_object()
            .bucket(&bucket)
            .key("untyped")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await,
        "put",
    )?;
    let head = ok(
        c.head_object().bucket(&bucket).key("untyped").send().await,
        "head untyped",
    )?;
    ensure!(
        head.content_type().is_some_and(|v| !v.is_empty()),
        "no default Content-Type"
    );
    Ok(())
}

fn tags(pairs: &[(&str, &str)]) -> anyhow::Result<Tagging> {
    let set = pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Tagging::builder().set_tag_set(Some(set)).build()?)
}

async fn tag_pairs(
    c: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let out = ok(
        c.get_object_tagging().bucket(bucket).key(key).send().await,
        "get tagging",
    )?;
    let mut pairs: Vec<(String, String)> = out
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    pairs.sort();
    Ok(pairs)
}

pub async fn tagging(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("tagging").await?;
    let put = c
        .put_object()
        .bucket(&bucket)
        .key("k")
        .tagging("project=floe&tier=hot%20data");
    ok(
        put.body(ByteStream::from_static(b"tagged")).send().await,
        "put with tags",
    )?;
    let pairs = tag_pairs(&c, &bucket, "k").await?;
    ensure!(
        pairs
            == [
                ("project".into(), "floe".into()),
                ("tier".into(), "hot data".into())
            ],
        "tags from PUT: {pairs:?}"
    );
    let get = ok(c.get_object().bucket(&bucket).key("k").send().await, "get")?;
    ensure!(
        get.tag_count() == Some(2),
        "x-amz-tagging-count {:?}",
        get.tag_count()
    );

    let replace = c
        .put_object_tagging()
        .bucket(&bucket)
        .key("k")
        .tagging(tags(&[("env", "test"), ("owner", "ç")])?);
    ok(replace.send().await, "put tagging")?;
    let pairs = tag_pairs(&c, &bucket, "k").await?;
    ensure!(
        pairs == [("env".into(), "test".into()), ("owner".into(), "ç".into())],
        "replaced tags: {pairs:?}"
    );
    ok(
        c.delete_object_tagging()
            .bucket(&bucket)
            .key("k")
            .send()
            .await,
        "delete tagging",
    )?;
    let pairs = tag_pairs(&c, &bucket, "k").await?;
    ensure!(pairs.is_empty(), "tags after delete: {pairs:?}");
    expect_err(
        c.get_object_tagging()
            .bucket(&bucket)
            .key("missing")
            .send()
            .await,
        404,
        "NoSuchKey",
        "tagging of a missing key",
    )
}
