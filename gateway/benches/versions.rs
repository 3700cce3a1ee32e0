//! What versioning and object lock cost: 4 KiB PUT rates into an unversioned and a versioned
//! bucket of the same `floe serve` (6 embedded nodes, 4+2), alternating, with the server's CPU
//! per PUT; 256 KiB PUTs (one chunk each, so each gets a retention hold on its 6 nodes) into a
//! versioned bucket and a lock bucket with a default retention, the same way; and
//! ListObjectVersions times for one key with 10,000 versions and a bucket with 100,000 versions,
//! first page and a deep page (which must not scan what it skips). Prints medians; asserts only
//! that every page is full. Run: `cargo bench -p floe-gateway --bench versions`.

#[path = "../tests/gateway/support/mod.rs"]
mod support;

use std::future::Future;
use std::time::Instant;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketVersioningStatus, DefaultRetention, ObjectLockConfiguration, ObjectLockEnabled,
    ObjectLockRetentionMode, ObjectLockRule, VersioningConfiguration,
};
use futures::StreamExt;
use support::cluster::pattern;
use support::measure::{cpu_of, median};
use support::serve::ServeProcess;

const PUTS: usize = 2000;
const LOCK_PUTS: usize = 600;
const LOCK_SIZE: usize = 256 * 1024;
const CONCURRENCY: usize = 16;
const ROUNDS: usize = 3;

/// PUTs of `keys`, `CONCURRENCY` at a time; the `n`th key's body is `body(n)`.
async fn put_many(
    client: &Client,
    bucket: &str,
    keys: impl Iterator<Item = String>,
    body: impl Fn(usize) -> Vec<u8> + Copy,
) {
    futures::stream::iter(keys.enumerate())
        .map(|(n, key)| async move {
            client
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(body(n)))
                .send()
                .await
                .expect("put");
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
}

async fn versioned(client: &Client, bucket: &str) {
    client
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket");
    client
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("versioning");
}

/// Median milliseconds of 5 ListObjectVersions calls of 1000 entries from the given markers.
async fn list_ms(
    client: &Client,
    bucket: &str,
    key_marker: Option<&str>,
    version: Option<&str>,
) -> f64 {
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let page = client
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.map(str::to_owned))
            .set_version_id_marker(version.map(str::to_owned))
            .send()
            .await
            .expect("list");
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(page.versions().len(), 1000, "a full page");
    }
    median(times)
}

/// The version id `depth` entries into the listing of `bucket` (walking pages to find it).
async fn marker_at(client: &Client, bucket: &str, depth: usize) -> (String, String) {
    let (mut key, mut version) = (None, None);
    for _ in 0..depth / 1000 {
        let page = client
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key)
            .set_version_id_marker(version)
            .send()
            .await
            .expect("list");
        key = page.next_key_marker().map(str::to_owned);
        version = page.next_version_id_marker().map(str::to_owned);
    }
    (key.expect("key marker"), version.expect("version marker"))
}

/// PUTs per second of `puts` PUTs, and the server's CPU µs per PUT, while `work` runs.
async fn timed(pid: u32, puts: usize, work: impl Future<Output = ()>) -> (f64, f64) {
    let (started, cpu_before) = (Instant::now(), cpu_of(pid));
    work.await;
    let elapsed = started.elapsed().as_secs_f64();
    let used = (cpu_of(pid) - cpu_before).as_secs_f64();
    (puts as f64 / elapsed, used / puts as f64 * 1e6)
}

/// A lock bucket whose versions get a GOVERNANCE retention of one day by default.
async fn lock_bucket(client: &Client, bucket: &str) {
    client
        .create_bucket()
        .bucket(bucket)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("lock bucket");
    let rule = DefaultRetention::builder()
        .mode(ObjectLockRetentionMode::Governance)
        .days(1)
        .build();
    client
        .put_object_lock_configuration()
        .bucket(bucket)
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(ObjectLockRule::builder().default_retention(rule).build())
                .build(),
        )
        .send()
        .await
        .expect("default retention");
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let tmp = tempfile::tempdir().expect("tempdir");
    let gateway = ServeProcess::start(&tmp.path().join("data"), &[]);
    let pid = gateway.pid().expect("pid");
    let client = gateway.client();
    runtime.block_on(async {
        client.create_bucket().bucket("plain").send().await.expect("bucket");
        versioned(&client, "versioned").await;
        let warm = (0..200).map(|i| format!("warm/{i}"));
        put_many(&client, "plain", warm, |_| pattern(1024, 7)).await;

        // Alternating rounds, each bucket overwriting its own keys (a versioned overwrite keeps
        // the old version; an unversioned one replaces it).
        let mut rates: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut cpu: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for round in 0..ROUNDS {
            for (i, bucket) in ["plain", "versioned"].into_iter().enumerate() {
                let keys = (0..PUTS).map(|k| format!("obj/{k}"));
                let work = put_many(&client, bucket, keys, |_| pattern(4096, 7));
                let (rate, us) = timed(pid, PUTS, work).await;
                rates[i].push(rate);
                cpu[i].push(us);
                eprintln!("round {round} {bucket}: {rate:.0} PUT/s");
            }
        }
        println!("4 KiB PUT, {PUTS} per round, concurrency {CONCURRENCY}, medians of {ROUNDS} alternating rounds");
        println!("| bucket      | PUT ops/s | server CPU µs/PUT |");
        println!("|-------------|-----------|-------------------|");
        for (i, bucket) in ["unversioned", "versioned"].into_iter().enumerate() {
            println!(
                "| {bucket:<11} | {:>9.0} | {:>17.0} |",
                median(rates[i].clone()),
                median(cpu[i].clone())
            );
        }

        // What object lock adds to a chunked write: the retention holds on the nodes.
        versioned(&client, "chunked").await;
        lock_bucket(&client, "locked").await;
        let mut rates: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut cpu: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for round in 0..ROUNDS + 2 {
            for (i, bucket) in ["chunked", "locked"].into_iter().enumerate() {
                // Bytes of their own: dedup must not hide the chunk writes.
                let seed = (round * 2 + i) * LOCK_PUTS;
                let keys = (0..LOCK_PUTS).map(|k| format!("obj/{k}"));
                let work = put_many(&client, bucket, keys, |n| {
                    pattern(LOCK_SIZE, (seed + n) as u64)
                });
                let (rate, us) = timed(pid, LOCK_PUTS, work).await;
                rates[i].push(rate);
                cpu[i].push(us);
                eprintln!("round {round} {bucket}: {rate:.0} PUT/s");
            }
        }
        println!();
        println!(
            "256 KiB PUT, {LOCK_PUTS} per round, concurrency {CONCURRENCY}, medians of {} \
             alternating rounds",
            ROUNDS + 2
        );
        println!("| bucket                          | PUT ops/s | MiB/s | server CPU µs/PUT |");
        println!("|---------------------------------|-----------|-------|-------------------|");
        for (i, name) in ["versioned", "lock, default GOVERNANCE 1 day"]
            .into_iter()
            .enumerate()
        {
            let rate = median(rates[i].clone());
            let mib = rate * LOCK_SIZE as f64 / (1024.0 * 1024.0);
            let us = median(cpu[i].clone());
            println!("| {name:<31} | {rate:>9.0} | {mib:>5.0} | {us:>17.0} |");
        }

        // One key with 10,000 versions.
        versioned(&client, "one-key").await;
        put_many(&client, "one-key", (0..10_000).map(|_| "hot".to_owned()), |_| Vec::new()).await;
        let first = list_ms(&client, "one-key", None, None).await;
        let (key, version) = marker_at(&client, "one-key", 9000).await;
        let deep = list_ms(&client, "one-key", Some(&key), Some(&version)).await;
        println!();
        println!("ListObjectVersions, 1000 entries per page, median of 5");
        println!("| bucket                             | first page ms | page at 9,000 / 99,000 ms |");
        println!("|------------------------------------|---------------|---------------------------|");
        println!("| one key, 10,000 versions           | {first:>13.1} | {deep:>25.1} |");

        // 10,000 keys with 10 versions each.
        versioned(&client, "many").await;
        for _ in 0..10 {
            put_many(&client, "many", (0..10_000).map(|k| format!("k/{k:05}")), |_| Vec::new()).await;
        }
        let first = list_ms(&client, "many", None, None).await;
        let (key, version) = marker_at(&client, "many", 99_000).await;
        let deep = list_ms(&client, "many", Some(&key), Some(&version)).await;
        println!("| 10,000 keys x 10 = 100,000 versions | {first:>13.1} | {deep:>25.1} |");
    });
}
