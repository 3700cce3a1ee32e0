//! Listings: ListObjectsV2 with prefix and delimiter (CommonPrefixes, KeyCount), UTF-8 byte
//! order, `encoding-type=url` (decoded as botocore does), ListObjects V1 with `NextMarker`;
//! pagination by max-keys with continuation tokens, start-after and V1 markers.

use anyhow::ensure;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::EncodingType;

use super::support::*;
use crate::target::Target;

async fn put_keys(c: &Client, bucket: &str, keys: &[&str]) -> anyhow::Result<()> {
    for (i, key) in keys.iter().enumerate() {
        let bytes = data(500 + i as u64, 10 + i);
        ok(
            c.put_object()
                .bucket(bucket)
                .key(*key)
                .body(ByteStream::from(bytes))
                .send()
                .await,
            &format!("put {key:?}"),
        )?;
    }
    Ok(())
}

pub async fn list(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("list").await?;
    let keys = [
        "a.txt",
        "dir/one",
        "dir/two",
        "dir/sub/three",
        "other/x",
        "Zed",
        "é-accent",
        "\u{10348}-astral",
        "space key",
        "plus+key",
    ];
    put_keys(&c, &bucket, &keys).await?;

    // Everything, in UTF-8 byte order.
    let all = ok(c.list_objects_v2().bucket(&bucket).send().await, "list all")?;
    let got: Vec<&str> = all.contents().iter().filter_map(|o| o.key()).collect();
    let mut want: Vec<&str> = keys.to_vec();
    want.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    ensure!(
        got == want,
        "ListObjectsV2 order: got {got:?}, want {want:?}"
    );
    ensure!(
        all.key_count() == Some(keys.len() as i32),
        "KeyCount {:?}",
        all.key_count()
    );
    let sized = all.contents().iter().find(|o| o.key() == Some("dir/one"));
    ensure!(
        sized.and_then(|o| o.size()) == Some(11),
        "size of dir/one in the listing"
    );
    ensure!(
        sized.and_then(|o| o.e_tag()) == Some(etag_of(&data(501, 11)).as_str()),
        "ETag of dir/one in the listing"
    );

    // Delimiter at the root: files and the common prefixes.
    let root = ok(
        c.list_objects_v2()
            .bucket(&bucket)
            .delimiter("/")
            .send()
            .await,
        "list with delimiter",
    )?;
    let files: Vec<&str> = root.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = root
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    ensure!(
        files
            == [
                "Zed",
                "a.txt",
                "plus+key",
                "space key",
                "é-accent",
                "\u{10348}-astral"
            ],
        "files at the root: {files:?}"
    );
    ensure!(
        prefixes == ["dir/", "other/"],
        "common prefixes: {prefixes:?}"
    );
    ensure!(
        root.key_count() == Some(8),
        "KeyCount counts keys and prefixes: {:?}",
        root.key_count()
    );

    let dir = ok(
        c.list_objects_v2()
            .bucket(&bucket)
            .prefix("dir/")
            .delimiter("/")
            .send()
            .await,
        "list dir/",
    )?;
    let files: Vec<&str> = dir.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<&str> = dir
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    ensure!(
        files == ["dir/one", "dir/two"] && prefixes == ["dir/sub/"],
        "dir/: {files:?} {prefixes:?}"
    );

    // encoding-type=url, as `aws s3 sync` always asks.
    let encoded = ok(
        c.list_objects_v2()
            .bucket(&bucket)
            .encoding_type(EncodingType::Url)
            .send()
            .await,
        "list with encoding-type=url",
    )?;
    let mut decoded = Vec::new();
    for key in encoded.contents().iter().filter_map(|o| o.key()) {
        decoded.push(url_decode_plus(key)?);
    }
    ensure!(
        decoded == want,
        "url-encoded keys decode to {decoded:?}, want {want:?}"
    );

    // V1.
    let v1 = ok(
        c.list_objects().bucket(&bucket).prefix("dir/").send().await,
        "list v1",
    )?;
    let got: Vec<&str> = v1.contents().iter().filter_map(|o| o.key()).collect();
    ensure!(
        got == ["dir/one", "dir/sub/three", "dir/two"],
        "V1 listing: {got:?}"
    );
    Ok(())
}

pub async fn pagination(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("pages").await?;
    let owned: Vec<String> = (0..23).map(|i| format!("p/{i:03}")).collect();
    let keys: Vec<&str> = owned.iter().map(String::as_str).collect();
    put_keys(&c, &bucket, &keys).await?;

    // V2: pages of 5 by continuation token.
    let (mut seen, mut token, mut pages) = (Vec::new(), None, 0);
    loop {
        let page = ok(
            c.list_objects_v2()
                .bucket(&bucket)
                .max_keys(5)
                .set_continuation_token(token.take())
                .send()
                .await,
            "list page",
        )?;
        pages += 1;
        ensure!(
            page.max_keys() == Some(5),
            "MaxKeys echoed: {:?}",
            page.max_keys()
        );
        seen.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key())
                .map(str::to_owned),
        );
        if page.is_truncated() == Some(true) {
            ensure!(
                page.key_count() == Some(5),
                "a full page has KeyCount 5: {:?}",
                page.key_count()
            );
            token = page.next_continuation_token().map(str::to_owned);
            ensure!(
                token.is_some(),
                "a truncated page has a NextContinuationToken"
            );
        } else {
            break;
        }
        ensure!(pages < 20, "pagination does not end");
    }
    ensure!(
        seen == owned && pages == 5,
        "paged listing: {pages} pages, keys {seen:?}"
    );

    // The paginator the SDK users rely on.
    let mut stream = c
        .list_objects_v2()
        .bucket(&bucket)
        .max_keys(7)
        .into_paginator()
        .send();
    let mut via_paginator = Vec::new();
    while let Some(page) = stream.next().await {
        let page = ok(page, "paginator page")?;
        via_paginator.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key())
                .map(str::to_owned),
        );
    }
    ensure!(via_paginator == owned, "paginator: {via_paginator:?}");

    let after = ok(
        c.list_objects_v2()
            .bucket(&bucket)
            .start_after("p/019")
            .send()
            .await,
        "start-after",
    )?;
    let got: Vec<&str> = after.contents().iter().filter_map(|o| o.key()).collect();
    ensure!(
        got == ["p/020", "p/021", "p/022"],
        "start-after p/019: {got:?}"
    );

    // V1: marker; NextMarker only comes with a delimiter, else the last key is the marker.
    let first = ok(
        c.list_objects().bucket(&bucket).max_keys(10).send().await,
        "v1 page 1",
    )?;
    ensure!(first.is_truncated() == Some(true), "V1 page 1 is truncated");
    let last = first
        .contents()
        .last()
        .and_then(|o| o.key())
        .unwrap_or_default()
        .to_string();
    ensure!(last == "p/009", "V1 page 1 ends at {last}");
    let second = ok(
        c.list_objects()
            .bucket(&bucket)
            .max_keys(10)
            .marker(&last)
            .send()
            .await,
        "v1 page 2",
    )?;
    let got: Vec<&str> = second.contents().iter().filter_map(|o| o.key()).collect();
    ensure!(
        got.first() == Some(&"p/010") && got.len() == 10,
        "V1 page 2: {got:?}"
    );
    let delimited = ok(
        c.list_objects()
            .bucket(&bucket)
            .delimiter("/")
            .prefix("p/")
            .max_keys(4)
            .send()
            .await,
        "v1 with delimiter",
    )?;
    ensure!(
        delimited.next_marker() == Some("p/003"),
        "V1 NextMarker with a delimiter: {:?}",
        delimited.next_marker()
    );
    Ok(())
}
