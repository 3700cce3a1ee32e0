//! Rotten disks. Two fresh objects are written (1 MiB: one stripe; 9 MiB: three), their shards
//! are found on the nodes' disks (chunk ids that did not exist before the writes), and
//! payload bytes are flipped in place: in data shard 0 of every new chunk and also in data
//! shard 1 of every other one (two bad shards = m, still decodable). The first reads (a
//! partial range, then whole objects) must return the original bytes, and the gateway's log
//! must carry a `shard needs repair` warning naming each rotten shard.
//!
//! Where each shard lies (a node's pack segment or its own file, and where its payload starts)
//! comes from `floe node --list-shards`, which reads a running node's data directory.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use aws_sdk_s3::primitives::ByteStream;

use super::{Seeded, bounded, record};
use crate::cluster::Cluster;
use crate::cluster::ShardOnDisk;
use crate::report::{Column, Report};
use crate::sdk::support::*;
use crate::target::Target;

/// One shard whose bytes were flipped.
struct Rotten {
    chunk: String,
    index: u32,
    node: usize,
}

/// (node, shard) for every shard in the cluster, packed or a file.
fn shard_files(cluster: &Cluster) -> anyhow::Result<Vec<(usize, ShardOnDisk)>> {
    let mut out = Vec::new();
    for i in 0..cluster.nodes.len() {
        out.extend(cluster.shards_on_disk(i)?.into_iter().map(|s| (i, s)));
    }
    Ok(out)
}

/// Flips a byte a third of the way into the payload and its last byte, in place: the rest of
/// the file (a pack segment other shards share) stays as it is.
fn flip_payload(place: &ShardOnDisk) -> anyhow::Result<()> {
    let len = place.len;
    use std::os::unix::fs::FileExt;
    ensure!(
        len > 2,
        "{} holds a payload too short to damage",
        place.path.display()
    );
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&place.path)
        .with_context(|| format!("opening {}", place.path.display()))?;
    for (at, xor) in [
        (place.payload_at + len / 3, 0xFF),
        (place.payload_at + len - 1, 0x01),
    ] {
        let mut byte = [0u8; 1];
        file.read_exact_at(&mut byte, at)
            .and_then(|()| file.write_all_at(&[byte[0] ^ xor], at))
            .with_context(|| format!("flipping byte {at} of {}", place.path.display()))?;
    }
    Ok(())
}

pub async fn run(cluster: &mut Cluster, t: &Target, seeded: &Seeded, report: &mut Report) {
    let started = Instant::now();
    let result = bounded(
        Duration::from_secs(90),
        corrupt_and_read(cluster, t, &seeded.bucket),
    )
    .await;
    let rotten = match result {
        Ok((detail, rotten)) => {
            record(
                report,
                "flipped shard bytes: reads correct",
                started,
                Ok(detail),
            );
            rotten
        }
        Err(e) => {
            record(
                report,
                "flipped shard bytes: reads correct",
                started,
                Err(e),
            );
            report.record(
                Column::Failure,
                "flipped shard bytes: reported",
                Err("not reached".into()),
                Duration::ZERO,
            );
            return;
        }
    };
    let started = Instant::now();
    let result = reported(cluster, &rotten).await;
    record(report, "flipped shard bytes: reported", started, result);
}

async fn corrupt_and_read(
    cluster: &Cluster,
    t: &Target,
    bucket: &str,
) -> anyhow::Result<(String, Vec<Rotten>)> {
    let c = t.client();
    let before: HashSet<String> = shard_files(cluster)?
        .into_iter()
        .map(|f| f.1.chunk)
        .collect();
    let objects = [
        ("corrupt/one-stripe", data(9000, MIB + 1)),
        ("corrupt/three-stripes", data(9001, 9 * MIB + 3)),
    ];
    for (key, bytes) in &objects {
        let put = c
            .put_object()
            .bucket(bucket)
            .key(*key)
            .body(ByteStream::from(bytes.clone()));
        ok(put.send().await, &format!("put {key}"))?;
    }
    // A write is acknowledged at quorum (5 of 6 shards): the last shard of each new chunk (4
    // chunks: 1 + 3 stripes) may land a little later, so the files are awaited.
    let deadline = Instant::now() + Duration::from_secs(30);
    let files = loop {
        let files: Vec<_> = shard_files(cluster)?
            .into_iter()
            .filter(|f| !before.contains(&f.1.chunk))
            .collect();
        if files.len() >= 4 * 6 || Instant::now() > deadline {
            break files;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut chunks: Vec<&String> = files
        .iter()
        .map(|f| &f.1.chunk)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    chunks.sort();
    ensure!(
        chunks.len() >= 4,
        "expected the 4 new chunks of 1 + 3 stripes on disk, found {}",
        chunks.len()
    );

    let mut rotten = Vec::new();
    for (n, chunk) in chunks.iter().enumerate() {
        let indexes: &[u32] = if n.is_multiple_of(2) { &[0, 1] } else { &[0] };
        for index in indexes {
            let Some((node, shard)) = files
                .iter()
                .find(|f| &f.1.chunk == *chunk && f.1.index == *index)
            else {
                bail!("shard {index} of chunk {chunk} is on no node");
            };
            flip_payload(shard)?;
            rotten.push(Rotten {
                chunk: (*chunk).clone(),
                index: *index,
                node: *node,
            });
        }
    }
    println!(
        "  flipped payload bytes in {} shards of {} chunks (shard 0 of each, shard 1 of every other)",
        rotten.len(),
        chunks.len()
    );

    // A partial range first (read shard by shard, never from the cache), then whole objects.
    let (key, bytes) = &objects[1];
    let (first, last) = (4 * MIB + 10, 4 * MIB + 100_000);
    let range = format!("bytes={first}-{last}");
    let out = ok(
        c.get_object()
            .bucket(bucket)
            .key(*key)
            .range(&range)
            .send()
            .await,
        &range,
    )?;
    ensure_bytes(
        &body(out).await?,
        &bytes[first..=last],
        &format!("{key} {range}"),
    )?;
    for (key, bytes) in &objects {
        let out = ok(
            c.get_object().bucket(bucket).key(*key).send().await,
            &format!("get {key}"),
        )?;
        ensure_bytes(&body(out).await?, bytes, key)?;
    }
    let detail = format!(
        "{} rotten shards in {} chunks: a partial range and both whole objects (1 MiB, 9 MiB) byte-exact",
        rotten.len(),
        chunks.len()
    );
    Ok((detail, rotten))
}

/// Every rotten shard appears in a `shard needs repair` warning of the gateway's log.
async fn reported(cluster: &Cluster, rotten: &[Rotten]) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = cluster.gateway_log_text();
        let warnings: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("shard needs repair"))
            .collect();
        let mut missing = Vec::new();
        let mut reasons = Vec::new();
        for r in rotten {
            let (chunk, shard) = (format!("chunk={}", r.chunk), format!("shard={}", r.index));
            match warnings
                .iter()
                .find(|l| l.contains(&chunk) && l.contains(&shard))
            {
                Some(line) => reasons.push(
                    line.split_whitespace()
                        .find_map(|w| w.strip_prefix("reason="))
                        .unwrap_or("?")
                        .to_string(),
                ),
                None => missing.push(format!(
                    "{}.{} (node {})",
                    &r.chunk[..16.min(r.chunk.len())],
                    r.index,
                    r.node
                )),
            }
        }
        if missing.is_empty() {
            reasons.sort();
            reasons.dedup();
            return Ok(format!(
                "all {} rotten shards reported in {} (reason {})",
                rotten.len(),
                cluster.gateway_log().display(),
                reasons.join(", ")
            ));
        }
        if Instant::now() > deadline {
            bail!(
                "no `shard needs repair` warning in {} for {} of {} rotten shards: {}",
                cluster.gateway_log().display(),
                missing.len(),
                rotten.len(),
                missing.join(", ")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
