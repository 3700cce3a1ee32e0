//! Odd keys stay byte-exact through PUT, HEAD, GET, listing, CopyObject (as source and
//! destination) and DELETE: spaces, `+`, `%`, `//`, leading and trailing `/`, unicode, and
//! 1024-byte keys (ASCII and multi-byte); `a/b` and `a/b/c` coexist.

use anyhow::ensure;
use aws_sdk_s3::primitives::ByteStream;

use super::support::*;
use crate::target::Target;

fn key_list() -> Vec<String> {
    let mut keys: Vec<String> = [
        "with space",
        "  two leading spaces",
        "a+b",
        "a + b",
        "100%",
        "%2F-encoded-looking",
        "%",
        "a//b",
        "//leading",
        "/single-leading",
        "trailing/",
        "dir//",
        "a/b",
        "a/b/c",
        "unicode-日本語-é",
        "emoji 🚀 rocket",
        "combining e\u{301}",
        "q?uery&x=1#frag",
        "semi;colon,comma",
        "tilde~star*paren(s)",
        "quote's",
        "equals=and@at",
        "brackets[]{}",
        "caret^pipe|backtick`",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    keys.push("x".repeat(1024));
    keys.push("é".repeat(512)); // 1024 bytes in UTF-8
    keys.push(format!("{}/", "d".repeat(1023)));
    keys
}

pub async fn odd_keys(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("keys").await?;
    let keys = key_list();
    for (i, key) in keys.iter().enumerate() {
        ensure!(key.len() <= 1024, "test key too long");
        let bytes = data(1300 + i as u64, 100 + i);
        let put = c
            .put_object()
            .bucket(&bucket)
            .key(key)
            .body(ByteStream::from(bytes.clone()));
        ok(put.send().await, &format!("put {key:?}"))?;
        let head = ok(
            c.head_object().bucket(&bucket).key(key).send().await,
            &format!("head {key:?}"),
        )?;
        ensure!(
            head.content_length() == Some(bytes.len() as i64),
            "HEAD {key:?} length"
        );
        let got = ok(
            c.get_object().bucket(&bucket).key(key).send().await,
            &format!("get {key:?}"),
        )?;
        ensure_bytes(&body(got).await?, &bytes, &format!("GET {key:?}"))?;
    }

    // The listing holds exactly these keys, byte for byte, in byte order.
    let mut listed = Vec::new();
    let mut pages = c.list_objects_v2().bucket(&bucket).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = ok(page, "list")?;
        listed.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key())
                .map(str::to_owned),
        );
    }
    let mut want = keys.clone();
    want.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    if listed != want {
        let missing: Vec<&String> = want.iter().filter(|k| !listed.contains(k)).collect();
        let extra: Vec<&String> = listed.iter().filter(|k| !want.contains(k)).collect();
        anyhow::bail!(
            "listing differs: missing {missing:?}, unexpected {extra:?} (or order differs)"
        );
    }
    for key in &keys {
        let one = ok(
            c.list_objects_v2().bucket(&bucket).prefix(key).send().await,
            "list by prefix",
        )?;
        ensure!(
            one.contents().first().and_then(|o| o.key()) == Some(key.as_str()),
            "prefix {key:?} lists {:?}",
            one.contents().first().and_then(|o| o.key())
        );
    }

    // Copies, both ways.
    for (i, key) in keys.iter().enumerate().filter(|(_, k)| k.len() < 1000) {
        let source = format!("{bucket}/{}", url_encode_path(key));
        let dst = format!("copy/{key}");
        ok(
            c.copy_object()
                .bucket(&bucket)
                .key(&dst)
                .copy_source(&source)
                .send()
                .await,
            &format!("copy {key:?}"),
        )?;
        let got = ok(
            c.get_object().bucket(&bucket).key(&dst).send().await,
            &format!("get copy of {key:?}"),
        )?;
        ensure_bytes(
            &body(got).await?,
            &data(1300 + i as u64, 100 + i),
            &format!("copy of {key:?}"),
        )?;
    }

    for key in &keys {
        ok(
            c.delete_object().bucket(&bucket).key(key).send().await,
            &format!("delete {key:?}"),
        )?;
        expect_err(
            c.get_object().bucket(&bucket).key(key).send().await,
            404,
            "NoSuchKey",
            &format!("GET {key:?} after delete"),
        )?;
    }
    let left = ok(
        c.list_objects_v2()
            .bucket(&bucket)
            .prefix("copy/")
            .send()
            .await,
        "list copies",
    )?;
    ensure!(
        left.key_count() == Some(keys.iter().filter(|k| k.len() < 1000).count() as i32),
        "the copies survive the deletes: {:?}",
        left.key_count()
    );
    Ok(())
}
