//! What versioning costs: 4 KiB PUT rates into an unversioned and a versioned bucket of the same
//! `floe serve` (6 embedded nodes, 4+2), alternating, with the server's CPU per PUT; and
//! ListObjectVersions times for one key with 10,000 versions and a bucket with 100,000 versions,
//! first page and a deep page (which must not scan what it skips). Prints medians; asserts only
//! that every page is full. Run: `cargo bench -p floe-gateway --bench versions`.

#[path = "../tests/gateway/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use futures::StreamExt;
use support::cluster::pattern;
use support::serve::ServeProcess;

const PUTS: usize = 2000;
const CONCURRENCY: usize = 16;
const ROUNDS: usize = 3;

/// CPU time (user + system) the process has used so far.
fn cpu_of(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // CLK_TCK is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

async fn put_many(client: &Client, bucket: &str, keys: impl Iterator<Item = String>, size: usize) {
    futures::stream::iter(keys)
        .map(|key| async move {
            client
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(pattern(size, 7)))
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
        put_many(&client, "plain", (0..200).map(|i| format!("warm/{i}")), 1024).await;

        // Alternating rounds, each bucket overwriting its own keys (a versioned overwrite keeps
        // the old version; an unversioned one replaces it).
        let mut rates: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut cpu: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for round in 0..ROUNDS {
            for (i, bucket) in ["plain", "versioned"].into_iter().enumerate() {
                let (started, cpu_before) = (Instant::now(), cpu_of(pid));
                let keys = (0..PUTS).map(|k| format!("obj/{k}"));
                put_many(&client, bucket, keys, 4096).await;
                let elapsed = started.elapsed().as_secs_f64();
                let used = (cpu_of(pid) - cpu_before).as_secs_f64();
                rates[i].push(PUTS as f64 / elapsed);
                cpu[i].push(used / PUTS as f64 * 1e6);
                eprintln!("round {round} {bucket}: {:.0} PUT/s", PUTS as f64 / elapsed);
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

        // One key with 10,000 versions.
        versioned(&client, "one-key").await;
        put_many(&client, "one-key", (0..10_000).map(|_| "hot".to_owned()), 0).await;
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
            put_many(&client, "many", (0..10_000).map(|k| format!("k/{k:05}")), 0).await;
        }
        let first = list_ms(&client, "many", None, None).await;
        let (key, version) = marker_at(&client, "many", 99_000).await;
        let deep = list_ms(&client, "many", Some(&key), Some(&version)).await;
        println!("| 10,000 keys x 10 = 100,000 versions | {first:>13.1} | {deep:>25.1} |");
    });
}
