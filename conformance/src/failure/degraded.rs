//! The stages after the workload: with a third node down, writes of stored (non-inline) objects
//! fail with a clean 503 and leave nothing behind, and earlier objects stay readable (inline
//! ones always, larger ones from the hot-object cache) or answer a clean 503; after the killed
//! nodes restart on their old ports and data, new writes succeed and nothing was lost.
//!
//! Floe facts used here: objects of at most 16 KiB are stored inline in the gateway's index
//! (readable and writable with no node at all); larger ones need k=4 shards to read and 5 (the
//! write quorum) to write.

use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;

use super::Seeded;
use super::outage::Tally;
use crate::cluster::Cluster;
use crate::sdk::support::*;
use crate::target::Target;

/// Floe's default inline threshold.
const INLINE: usize = 16 * KIB;

type ErrorParts = (Option<u16>, Option<String>, String);

/// (status, code, whole error) of a failed call; None when it succeeded.
fn err_of<T, E>(result: Result<T, SdkError<E, HttpResponse>>) -> Option<ErrorParts>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    result.err().map(|e| (status(&e), code(&e), show(&e)))
}

pub async fn three_down_writes(t: &Target, seeded: &Seeded) -> anyhow::Result<String> {
    let c = t.client_no_retry();
    let bucket = &seeded.bucket;
    let put = |key: &str, bytes: Vec<u8>| {
        c.put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
    };
    let expect_503 = |what: &str, e: Option<ErrorParts>| -> anyhow::Result<()> {
        let Some((s, code, text)) = e else {
            bail!("{what} succeeded with 3 of 6 nodes down")
        };
        ensure!(
            s == Some(503) && code.as_deref() == Some("ServiceUnavailable"),
            "{what}: expected 503 ServiceUnavailable, got {text}"
        );
        Ok(())
    };

    expect_503(
        "PUT of 1 MiB",
        err_of(put("three-down/new", data(7000, MIB)).await),
    )?;
    expect_status(
        c.head_object()
            .bucket(bucket)
            .key("three-down/new")
            .send()
            .await,
        404,
        "HEAD of the refused key",
    )?;
    expect_err(
        c.get_object()
            .bucket(bucket)
            .key("three-down/new")
            .send()
            .await,
        404,
        "NoSuchKey",
        "GET of the refused key",
    )?;
    let listed = ok(
        c.list_objects_v2()
            .bucket(bucket)
            .prefix("three-down/")
            .send()
            .await,
        "list",
    )?;
    ensure!(
        listed.contents().is_empty(),
        "the refused key is listed: {:?}",
        listed.contents()
    );

    // A refused overwrite keeps the old object (an inline one, readable with any nodes down).
    let (small_key, small_bytes) = seeded
        .objects
        .iter()
        .find(|(_, b)| b.len() <= INLINE)
        .context("no small seed")?;
    expect_503(
        "overwrite with 1 MiB",
        err_of(put(small_key, data(7001, MIB)).await),
    )?;
    let out = ok(
        c.get_object().bucket(bucket).key(small_key).send().await,
        "GET after the refused overwrite",
    )?;
    ensure_bytes(
        &body(out).await?,
        small_bytes,
        "object after a refused overwrite",
    )?;

    // Multipart: the part is refused, and completing nothing leaves nothing.
    let create = ok(
        c.create_multipart_upload()
            .bucket(bucket)
            .key("three-down/mp")
            .send()
            .await,
        "create upload",
    )?;
    let id = create.upload_id().context("no UploadId")?.to_string();
    let part = c
        .upload_part()
        .bucket(bucket)
        .key("three-down/mp")
        .upload_id(&id)
        .part_number(1);
    expect_503(
        "UploadPart of 5 MiB",
        err_of(
            part.body(ByteStream::from(data(7002, 5 * MIB)))
                .send()
                .await,
        ),
    )?;
    ok(
        c.abort_multipart_upload()
            .bucket(bucket)
            .key("three-down/mp")
            .upload_id(&id)
            .send()
            .await,
        "abort",
    )?;
    expect_status(
        c.head_object()
            .bucket(bucket)
            .key("three-down/mp")
            .send()
            .await,
        404,
        "HEAD after the refused part",
    )?;
    Ok("PUT and overwrite of 1 MiB and UploadPart of 5 MiB answer 503 ServiceUnavailable; the new key \
        is neither listed nor HEAD-able, the overwritten object keeps its old bytes"
        .into())
}

pub async fn three_down_reads(t: &Target, seeded: &Seeded) -> anyhow::Result<String> {
    let c = t.client_no_retry();
    let (mut small, mut large_ok, mut large_503) = (0, 0, 0);
    for (key, bytes) in &seeded.objects {
        match c.get_object().bucket(&seeded.bucket).key(key).send().await {
            Ok(out) => {
                ensure_bytes(&body(out).await?, bytes, key)?;
                if bytes.len() <= INLINE {
                    small += 1;
                } else {
                    large_ok += 1;
                }
            }
            Err(e)
                if bytes.len() > INLINE
                    && status(&e) == Some(503)
                    && code(&e).as_deref() == Some("ServiceUnavailable") =>
            {
                large_503 += 1;
            }
            Err(e) => bail!(
                "{key} ({} bytes) with 3 nodes down: {}",
                bytes.len(),
                show(&e)
            ),
        }
    }
    Ok(format!(
        "{small} inline objects byte-exact; of the larger ones {large_ok} byte-exact (hot-object cache) and \
         {large_503} answered a clean 503 (3 shards left, k=4 needed)"
    ))
}

pub async fn restart(
    cluster: &mut Cluster,
    t: &Target,
    seeded: &Seeded,
    tally: &Tally,
) -> anyhow::Result<String> {
    for i in 0..3 {
        tokio::task::block_in_place(|| cluster.restart_node(i))?;
        println!("  restarted node {i} on {}", cluster.nodes[i].addr);
    }
    let c = t.client();
    let back = Instant::now();
    let mut attempts = 0;
    for (i, size) in [2 * MIB + 1, 9 * MIB + 2].into_iter().enumerate() {
        let key = format!("after-restart/{i}");
        let bytes = data(8000 + i as u64, size);
        loop {
            attempts += 1;
            let put = c
                .put_object()
                .bucket(&seeded.bucket)
                .key(&key)
                .body(ByteStream::from(bytes.clone()));
            match put.send().await {
                Ok(_) => break,
                Err(e) if back.elapsed() < Duration::from_secs(20) => {
                    println!("  write after restart not accepted yet: {}", show(&e));
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => bail!("{key} still refused 20s after the restart: {}", show(&e)),
            }
        }
        let out = ok(
            c.get_object().bucket(&seeded.bucket).key(&key).send().await,
            "read back",
        )?;
        ensure_bytes(&body(out).await?, &bytes, &key)?;
    }
    let first_ok = back.elapsed();
    for (key, bytes) in &seeded.objects {
        let out = ok(
            c.get_object().bucket(&seeded.bucket).key(key).send().await,
            key,
        )?;
        ensure_bytes(&body(out).await?, bytes, key)?;
    }
    for (key, seed, size, down) in &tally.writes {
        if *down != usize::MAX {
            let out = ok(
                c.get_object().bucket(&seeded.bucket).key(key).send().await,
                key,
            )?;
            ensure_bytes(&body(out).await?, &data(*seed, *size), key)?;
        }
    }
    Ok(format!(
        "nodes 0-2 back on their ports; 2 MiB and 9 MiB writes accepted ({attempts} attempts for 2 writes, \
         {:.1}s) and read back; all {} seeded objects and every acknowledged workload write still byte-exact",
        first_ok.as_secs_f64(),
        seeded.objects.len()
    ))
}
