//! Concurrency, judged by content hashes:
//! - 16 parallel PUTs of distinct bodies to one key leave exactly one of the written bodies,
//!   whole, with the ETag and length of that body (small inline-sized bodies and multi-MiB ones);
//! - readers running during repeated overwrites always see one whole version (full GETs and a
//!   range across a 4 MiB boundary), never a mix of two.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

use super::support::*;
use crate::target::Target;

const WRITERS: usize = 16;

pub async fn racing_puts(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("race").await?;
    for (key, size) in [("small", 8 * KIB), ("large", 6 * MIB + 5)] {
        let bodies: Vec<Arc<Vec<u8>>> = (0..WRITERS)
            .map(|i| Arc::new(data(1600 + (size + i) as u64, size)))
            .collect();
        let hashes: Vec<String> = bodies.iter().map(|b| md5_hex(b)).collect();
        let mut tasks = Vec::new();
        for body_bytes in &bodies {
            let (c, bucket, key, body_bytes) = (
                c.clone(),
                bucket.clone(),
                key.to_string(),
                body_bytes.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let put = c
                    .put_object()
                    .bucket(&bucket)
                    .key(&key)
                    .body(ByteStream::from(body_bytes.to_vec()));
                ok(put.send().await, "racing put").map(|out| out.e_tag().map(str::to_owned))
            }));
        }
        let mut acked = 0;
        for (i, task) in tasks.into_iter().enumerate() {
            let etag = task.await.context("join")??;
            ensure!(
                etag.as_deref() == Some(etag_of(&bodies[i]).as_str()),
                "writer {i} got ETag {etag:?}"
            );
            acked += 1;
        }
        ensure!(acked == WRITERS, "{acked} of {WRITERS} PUTs succeeded");

        let get = ok(
            c.get_object().bucket(&bucket).key(key).send().await,
            "get after the race",
        )?;
        let etag = get.e_tag().unwrap_or_default().to_string();
        let got = body(get).await?;
        let hash = md5_hex(&got);
        let Some(winner) = hashes.iter().position(|h| *h == hash) else {
            bail!(
                "{key}: the stored body (md5 {hash}, {} bytes) is none of the {WRITERS} written",
                got.len()
            );
        };
        ensure!(
            etag == etag_of(&bodies[winner]),
            "{key}: ETag {etag} does not belong to the stored body"
        );
        let head = ok(
            c.head_object().bucket(&bucket).key(key).send().await,
            "head",
        )?;
        ensure!(
            head.e_tag() == Some(etag.as_str()),
            "{key}: HEAD ETag {:?} differs from GET",
            head.e_tag()
        );
        let listed = ok(
            c.list_objects_v2().bucket(&bucket).prefix(key).send().await,
            "list",
        )?;
        let entries: Vec<(Option<&str>, Option<i64>)> = listed
            .contents()
            .iter()
            .map(|o| (o.key(), o.size()))
            .collect();
        ensure!(
            entries == [(Some(key), Some(size as i64))],
            "{key}: listing after the race {entries:?}"
        );
    }
    Ok(())
}

/// One reader: loops until `stop`, checking every body against the known versions.
async fn reader(
    c: Client,
    bucket: String,
    versions: Arc<Vec<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    reads: Arc<AtomicUsize>,
) -> anyhow::Result<()> {
    let hashes: Vec<String> = versions.iter().map(|v| md5_hex(v)).collect();
    let (lo, hi) = (4 * MIB - 100, 4 * MIB + 99);
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) {
        if n % 3 == 2 {
            let range = format!("bytes={lo}-{hi}");
            let out = ok(
                c.get_object()
                    .bucket(&bucket)
                    .key("hot")
                    .range(&range)
                    .send()
                    .await,
                "ranged read",
            )?;
            let etag = out.e_tag().unwrap_or_default().to_string();
            let got = body(out).await?;
            let Some(v) = versions.iter().position(|v| v[lo..=hi] == got[..]) else {
                bail!("read {n}: range {range} matches no version: a torn read");
            };
            ensure!(
                etag == etag_of(&versions[v]),
                "read {n}: range of version {v} came with ETag {etag}"
            );
        } else {
            let out = ok(
                c.get_object().bucket(&bucket).key("hot").send().await,
                "read",
            )?;
            let etag = out.e_tag().unwrap_or_default().to_string();
            let got = body(out).await?;
            let hash = md5_hex(&got);
            let Some(v) = hashes.iter().position(|h| *h == hash) else {
                bail!(
                    "read {n}: body (md5 {hash}, {} bytes) is no version: a torn read",
                    got.len()
                );
            };
            ensure!(
                etag == etag_of(&versions[v]),
                "read {n}: body of version {v} came with ETag {etag}"
            );
        }
        n += 1;
        reads.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

pub async fn reads_during_overwrites(t: Target) -> anyhow::Result<()> {
    let c = t.client();
    let bucket = t.create_bucket("overwrite").await?;
    // Versions span three 4 MiB stripes, with different lengths so a mix would show.
    let versions: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..6)
            .map(|i| data(1700 + i as u64, 9 * MIB + i * 4099))
            .collect(),
    );
    let put = |v: usize| {
        c.put_object()
            .bucket(&bucket)
            .key("hot")
            .body(ByteStream::from(versions[v].clone()))
            .send()
    };
    ok(put(0).await, "first version")?;

    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            tokio::spawn(reader(
                c.clone(),
                bucket.clone(),
                versions.clone(),
                stop.clone(),
                reads.clone(),
            ))
        })
        .collect();
    let started = Instant::now();
    let mut overwrites = 0;
    let mut write_error = None;
    while overwrites < 18 || started.elapsed() < Duration::from_secs(3) {
        if let Err(e) = put(1 + overwrites % (versions.len() - 1)).await {
            write_error = Some(show(&e));
            break;
        }
        overwrites += 1;
        if started.elapsed() > Duration::from_secs(20) {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.await.context("join reader")??;
    }
    if let Some(e) = write_error {
        bail!("overwrite {overwrites} failed: {e}");
    }
    let reads = reads.load(Ordering::Relaxed);
    ensure!(
        reads >= 6,
        "only {reads} reads overlapped {overwrites} overwrites"
    );
    Ok(())
}
