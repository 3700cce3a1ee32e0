//! Presigned URLs used by a plain HTTP client (hyper-util), the way browsers and `curl` use
//! them: GET (whole and ranged, expired, tampered) and PUT (then read back through the SDK).

use std::time::{Duration, SystemTime};

use anyhow::ensure;
use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use aws_sdk_s3::primitives::ByteStream;

use super::support::*;
use crate::target::Target;

fn five_minutes() -> anyhow::Result<PresigningConfig> {
    Ok(PresigningConfig::expires_in(Duration::from_secs(300))?)
}

async fn send(presigned: &PresignedRequest, body: Vec<u8>) -> anyhow::Result<RawResponse> {
    let headers: Vec<(String, String)> = presigned
        .headers()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    raw_request(presigned.method(), presigned.uri(), &headers, body).await
}

pub async fn get(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("presign-get").await?;
    for (key, size) in [("small file.txt", 1000), ("dir/große+1.bin", 5 * MIB + 1)] {
        let bytes = data(1000 + size as u64, size);
        ok(
            c.put_object()
                .bucket(&bucket)
                .key(key)
                .body(ByteStream::from(bytes.clone()))
                .send()
                .await,
            "put",
        )?;
        let url = c
            .get_object()
            .bucket(&bucket)
            .key(key)
            .presigned(five_minutes()?)
            .await?;
        let raw = send(&url, Vec::new()).await?;
        ensure!(
            raw.status == 200,
            "presigned GET {key}: {} {}",
            raw.status,
            raw.text()
        );
        ensure!(
            raw.header("etag") == Some(etag_of(&bytes).as_str()),
            "presigned GET ETag {:?}",
            raw.header("etag")
        );
        ensure_bytes(&raw.body, &bytes, &format!("presigned GET {key}"))?;
    }
    // Ranged: the Range header travels next to the URL.
    let url = c
        .get_object()
        .bucket(&bucket)
        .key("small file.txt")
        .range("bytes=5-9")
        .presigned(five_minutes()?)
        .await?;
    let raw = send(&url, Vec::new()).await?;
    ensure!(
        raw.status == 206,
        "presigned ranged GET: {} {}",
        raw.status,
        raw.text()
    );
    ensure!(
        raw.header("content-range") == Some("bytes 5-9/1000"),
        "Content-Range {:?}",
        raw.header("content-range")
    );
    ensure_bytes(&raw.body, &data(2000, 1000)[5..10], "presigned range")?;

    // Expired two hours ago.
    let old = PresigningConfig::builder()
        .start_time(SystemTime::now() - Duration::from_secs(7200))
        .expires_in(Duration::from_secs(60))
        .build()?;
    let url = c
        .get_object()
        .bucket(&bucket)
        .key("small file.txt")
        .presigned(old)
        .await?;
    let raw = send(&url, Vec::new()).await?;
    ensure!(
        raw.status == 403 && raw.text().contains("<Code>AccessDenied</Code>"),
        "expired presigned GET: {} {}",
        raw.status,
        raw.text()
    );

    // The signature does not cover another key.
    let url = c
        .get_object()
        .bucket(&bucket)
        .key("small file.txt")
        .presigned(five_minutes()?)
        .await?;
    let moved = url
        .uri()
        .replacen("small%20file.txt", "dir/gro%C3%9Fe%2B1.bin", 1);
    ensure!(moved != url.uri(), "could not rewrite {}", url.uri());
    let raw = raw_request("GET", &moved, &[], Vec::new()).await?;
    ensure!(
        raw.status == 403 && raw.text().contains("<Code>SignatureDoesNotMatch</Code>"),
        "tampered presigned GET: {} {}",
        raw.status,
        raw.text()
    );
    Ok(())
}

pub async fn put(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("presign-put").await?;
    for (key, size) in [
        ("up load.txt", 777),
        ("dir/ünï+côdé.bin", 5 * MIB + 3),
        ("empty", 0),
    ] {
        let bytes = data(1100 + size as u64, size);
        let url = c
            .put_object()
            .bucket(&bucket)
            .key(key)
            .presigned(five_minutes()?)
            .await?;
        let raw = send(&url, bytes.clone()).await?;
        ensure!(
            raw.status == 200,
            "presigned PUT {key}: {} {}",
            raw.status,
            raw.text()
        );
        ensure!(
            raw.header("etag") == Some(etag_of(&bytes).as_str()),
            "presigned PUT ETag {:?}",
            raw.header("etag")
        );
        let got = ok(c.get_object().bucket(&bucket).key(key).send().await, "get")?;
        ensure_bytes(
            &body(got).await?,
            &bytes,
            &format!("object from presigned PUT {key}"),
        )?;
    }
    // A presigned PUT with a content type signs it: the stored object carries it.
    let url = c
        .put_object()
        .bucket(&bucket)
        .key("typed")
        .content_type("text/plain")
        .presigned(five_minutes()?)
        .await?;
    let raw = send(&url, b"hello".to_vec()).await?;
    ensure!(
        raw.status == 200,
        "presigned PUT with content type: {} {}",
        raw.status,
        raw.text()
    );
    let head = ok(
        c.head_object().bucket(&bucket).key("typed").send().await,
        "head",
    )?;
    ensure!(
        head.content_type() == Some("text/plain"),
        "stored Content-Type {:?}",
        head.content_type()
    );
    Ok(())
}
