//! Lost nodes. A workload of readers (full and partial-range GETs of seeded objects, checked
//! byte for byte) and a writer (new objects, alternating inline-sized and 2 MiB) runs while two
//! nodes are SIGKILLed one after the other; then a third node dies; then all three come back on
//! their old ports and data. Every client call is a single attempt: an SDK retry would hide a
//! failed read.
//!
//! This module runs the whole sequence and judges the workload; `degraded` holds the checks of the
//! three-nodes-down and restart stages.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

use super::degraded::{restart, three_down_reads, three_down_writes};
use super::{Seeded, bounded, record};
use crate::cluster::Cluster;
use crate::report::Report;
use crate::sdk::support::*;
use crate::target::Target;

pub async fn seed(t: &Target) -> anyhow::Result<Seeded> {
    let c = t.client();
    let bucket = t.create_bucket("failure").await?;
    let sizes = [
        4 * KIB,
        9 * KIB,
        12 * KIB,
        MIB + 3,
        2 * MIB + 5,
        3 * MIB + 7,
        9 * MIB + 11,
    ];
    let mut objects = Vec::new();
    for (i, size) in sizes.into_iter().enumerate() {
        let key = format!("seed/{i}");
        let bytes = data(5000 + i as u64, size);
        let put = c
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .body(ByteStream::from(bytes.clone()));
        ok(put.send().await, &format!("seed {key}"))?;
        objects.push((key, bytes));
    }
    Ok(Seeded { bucket, objects })
}

#[derive(Default)]
pub struct Tally {
    pub reads: usize,
    pub reads_two_down: usize,
    pub read_failures: Vec<String>,
    /// (key, seed, size, nodes down when it was acknowledged)
    pub writes: Vec<(String, u64, usize, usize)>,
    pub write_failures: Vec<String>,
}

struct Shared {
    stop: AtomicBool,
    down: AtomicUsize,
    tally: Mutex<Tally>,
}

async fn read_once(
    c: &Client,
    bucket: &str,
    key: &str,
    bytes: &[u8],
    n: usize,
) -> anyhow::Result<()> {
    let len = bytes.len();
    if n.is_multiple_of(2) || len < 4 {
        let out = ok(c.get_object().bucket(bucket).key(key).send().await, "GET")?;
        return ensure_bytes(&body(out).await?, bytes, "GET");
    }
    // A partial range of one stripe: never served whole from a chunk cache, so it reaches nodes.
    let first = 1 + (n * 7919) % (len / 2);
    let last = (first + 300 * KIB).min(len - 2);
    let range = format!("bytes={first}-{last}");
    let out = ok(
        c.get_object()
            .bucket(bucket)
            .key(key)
            .range(&range)
            .send()
            .await,
        &range,
    )?;
    ensure_bytes(&body(out).await?, &bytes[first..=last], &range)
}

async fn reader(c: Client, seeded: Arc<Seeded>, shared: Arc<Shared>, worker: usize) {
    let mut n = worker;
    while !shared.stop.load(Ordering::Relaxed) {
        let (key, bytes) = &seeded.objects[n % seeded.objects.len()];
        let down = shared.down.load(Ordering::Relaxed);
        let result = read_once(&c, &seeded.bucket, key, bytes, n).await;
        let mut tally = shared.tally.lock().expect("tally");
        tally.reads += 1;
        if down >= 2 {
            tally.reads_two_down += 1;
        }
        if let Err(e) = result {
            tally
                .read_failures
                .push(format!("{key} (read {n}, {down} nodes down): {e:#}"));
        }
        n += 3;
    }
}

async fn writer(c: Client, bucket: String, shared: Arc<Shared>) {
    let mut n = 0usize;
    while !shared.stop.load(Ordering::Relaxed) {
        let size = if n.is_multiple_of(2) {
            8 * KIB + n
        } else {
            2 * MIB + n
        };
        let seed = 6000 + n as u64;
        let key = format!("workload/{n}");
        let before = shared.down.load(Ordering::Relaxed);
        let put = c
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .body(ByteStream::from(data(seed, size)));
        let result = put.send().await;
        let after = shared.down.load(Ordering::Relaxed);
        let mut tally = shared.tally.lock().expect("tally");
        match result {
            Ok(_) => tally.writes.push((key, seed, size, after)),
            Err(e) => {
                let clean =
                    status(&e) == Some(503) && code(&e).as_deref() == Some("ServiceUnavailable");
                if !clean || after < 2 {
                    tally.write_failures.push(format!(
                        "{key} ({size} bytes, {before}->{after} nodes down): {}",
                        show(&e)
                    ));
                }
                // A clean 503 with 2 nodes down is the expected refusal: not a failure.
                if clean && after >= 2 {
                    tally.writes.push((key, seed, 0, usize::MAX));
                }
            }
        }
        n += 1;
    }
}

pub async fn run(cluster: &mut Cluster, t: &Target, seeded: &Seeded, report: &mut Report) {
    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        down: AtomicUsize::new(0),
        tally: Mutex::new(Tally::default()),
    });
    let seeded_arc = Arc::new(Seeded {
        bucket: seeded.bucket.clone(),
        objects: seeded.objects.clone(),
    });
    let c = t.client_no_retry();
    let mut tasks: Vec<_> = (0..3)
        .map(|w| tokio::spawn(reader(c.clone(), seeded_arc.clone(), shared.clone(), w)))
        .collect();
    tasks.push(tokio::spawn(writer(
        c.clone(),
        seeded.bucket.clone(),
        shared.clone(),
    )));

    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    println!("  killing node 0 ({}) with SIGKILL", cluster.nodes[0].addr);
    cluster.nodes[0].kill();
    shared.down.store(1, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    println!("  killing node 1 ({}) with SIGKILL", cluster.nodes[1].addr);
    cluster.nodes[1].kill();
    shared.down.store(2, Ordering::Relaxed);
    // At least 2.5 s with 2 nodes down, and long enough for the verdict's 5 reads on a slow
    // machine (bounded, so a stuck gateway still ends the run).
    let two_down = Instant::now();
    while two_down.elapsed() < Duration::from_millis(2500)
        || (shared.tally.lock().expect("tally").reads_two_down < 5
            && two_down.elapsed() < Duration::from_secs(60))
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    shared.stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(60), task).await;
    }
    let tally = std::mem::take(&mut *shared.tally.lock().expect("tally"));

    let verdict = || -> anyhow::Result<String> {
        if let Some(first) = tally.read_failures.first() {
            bail!(
                "{} of {} reads failed; first: {first}",
                tally.read_failures.len(),
                tally.reads
            );
        }
        ensure!(
            tally.reads_two_down >= 5,
            "only {} reads ran with 2 nodes down",
            tally.reads_two_down
        );
        Ok(format!(
            "{} reads (full and partial ranges), {} of them with 2 nodes down, all byte-exact",
            tally.reads, tally.reads_two_down
        ))
    };
    record(report, "kill 2 nodes: no read fails", started, verdict());

    let started_writes = Instant::now();
    let result = bounded(
        Duration::from_secs(60),
        check_writes(t, &seeded.bucket, &tally),
    )
    .await;
    record(
        report,
        "kill 2 nodes: writes ok or clean 503",
        started_writes,
        result,
    );

    shared.down.store(3, Ordering::Relaxed);
    println!("  killing node 2 ({}) with SIGKILL", cluster.nodes[2].addr);
    cluster.nodes[2].kill();
    let started = Instant::now();
    let result = bounded(Duration::from_secs(60), three_down_writes(t, seeded)).await;
    record(
        report,
        "kill 3rd node: writes fail 503, nothing visible",
        started,
        result,
    );
    let started = Instant::now();
    let result = bounded(Duration::from_secs(60), three_down_reads(t, seeded)).await;
    record(
        report,
        "kill 3rd node: earlier objects readable",
        started,
        result,
    );

    let started = Instant::now();
    let result = bounded(Duration::from_secs(90), restart(cluster, t, seeded, &tally)).await;
    record(report, "restart nodes: new writes succeed", started, result);
}

/// Writes failed only as clean 503s with 2 nodes down; every acknowledged write reads back.
async fn check_writes(t: &Target, bucket: &str, tally: &Tally) -> anyhow::Result<String> {
    if let Some(first) = tally.write_failures.first() {
        bail!(
            "{} writes failed other than with a clean 503 under 2 lost nodes; first: {first}",
            tally.write_failures.len()
        );
    }
    let acked: Vec<_> = tally.writes.iter().filter(|w| w.3 != usize::MAX).collect();
    let refused = tally.writes.len() - acked.len();
    let with_one = acked.iter().filter(|w| w.3 == 1).count();
    ensure!(
        with_one > 0,
        "no write was acknowledged with 1 node down (quorum 5 of 6 is reachable)"
    );
    let c = t.client_no_retry();
    for (key, seed, size, _) in &acked {
        let out = ok(
            c.get_object().bucket(bucket).key(key).send().await,
            &format!("read back {key}"),
        )?;
        ensure_bytes(
            &body(out).await?,
            &data(*seed, *size),
            &format!("acknowledged write {key}"),
        )?;
    }
    Ok(format!(
        "{} writes acknowledged ({with_one} with 1 node down, {} with 2 down), all read back byte-exact; \
         {refused} refused with 503 ServiceUnavailable with 2 nodes down",
        acked.len(),
        acked.iter().filter(|w| w.3 >= 2).count()
    ))
}
