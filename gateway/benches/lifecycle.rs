//! What the lifecycle engine costs, on a real index file (redb, fsync on every commit), through
//! the engine itself (`maintenance::lifecycle`):
//!
//! 1. **Expiring 100,000 noncurrent versions.** A versioned bucket holds 100,000 keys written
//!    twice (so 100,000 noncurrent versions, each with its own chunk) beside 100,000 keys
//!    written once; its rule expires noncurrent versions after a day. One engine run two days
//!    later: its wall time, keys examined and versions removed per second, and this process's
//!    CPU for it.
//! 2. **A run with nothing due** over the same 200,000-key bucket: its time, which must not
//!    grow with the bucket (the engine reads only due keys).
//! 3. **A rule change**: the walk of every key of the bucket that a new rule starts, keys per
//!    second.
//!
//! Prints its figures; asserts only that the work was done. Run:
//! `cargo bench -p floe-gateway --bench lifecycle`.

#[path = "../tests/gateway/support/measure.rs"]
mod measure;

use std::sync::Arc;
use std::time::{Duration, Instant};

use floe_codec::{CodecParams, Manifest, encode_chunk};
use floe_gateway::index::{
    BucketRecord, BucketSettings, Index, LifecycleFilter, LifecycleRule, NoncurrentExpiration,
    ObjectRecord, Versioning,
};
use floe_gateway::maintenance::lifecycle::Lifecycle;
use futures::StreamExt;

const KEYS: usize = 100_000;
const DAY: Duration = Duration::from_secs(1);

fn record(n: usize, modified: i64) -> ObjectRecord {
    ObjectRecord {
        size: 64,
        etag: format!("{n:032x}"),
        modified,
        headers: Default::default(),
        metadata: Vec::new(),
        checksum: None,
        parts: Vec::new(),
        tags: Vec::new(),
    }
}

/// A one-chunk manifest whose chunk is `n`'s own (no dedup between versions).
fn manifest(n: usize) -> Manifest {
    let data = format!("version {n} of the lifecycle benchmark").into_bytes();
    let chunk = encode_chunk(CodecParams::new(4, 2).expect("params"), data)
        .expect("encode")
        .chunk;
    Manifest::chunked(vec![chunk], 1 << 20)
}

/// Writes one version of each key `key-{i}` for `i` in `keys`, many in flight at once (the
/// index's writer groups them into shared commits, as under real load).
async fn write(index: &Arc<Index>, keys: std::ops::Range<usize>, generation: usize) {
    let now = floe_gateway::objects::now_millis();
    futures::stream::iter(keys)
        .map(|i| {
            let n = generation * 10 * KEYS + i;
            index.put_object_async(
                "b".into(),
                format!("key-{i:07}"),
                (record(n, now), manifest(n), None),
                |_| true,
                None,
            )
        })
        .buffer_unordered(512)
        .for_each(|written| async move {
            written.expect("put");
        })
        .await;
}

fn rule(id: &str, days: u32) -> LifecycleRule {
    LifecycleRule {
        id: id.into(),
        enabled: true,
        filter: LifecycleFilter::default(),
        noncurrent: Some(NoncurrentExpiration {
            days,
            keep_newer: 0,
        }),
        ..LifecycleRule::default()
    }
}

fn cpu() -> Duration {
    measure::cpu_of(std::process::id())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = Arc::new(Index::open(&dir.path().join("index.redb")).expect("index"));
    index.set_lifecycle_day(DAY).expect("day");
    let settings = BucketSettings {
        versioning: Versioning::Enabled,
        ..BucketSettings::default()
    };
    let bucket = BucketRecord {
        created: 0,
        region: String::new(),
    };
    index
        .create_bucket_with("b", &bucket, &settings)
        .expect("bucket");
    index
        .update_bucket_config("b", |c| c.lifecycle = Some(vec![rule("noncurrent", 1)]))
        .expect("rules");
    let engine = Lifecycle::new(index.clone(), DAY);
    // The walk the rule change queued finds nothing yet.
    engine.run_once(0).await.expect("run");

    let started = Instant::now();
    write(&index, 0..KEYS, 0).await;
    write(&index, 0..KEYS, 1).await;
    write(&index, KEYS..2 * KEYS, 0).await;
    println!(
        "setup: {} versions of {} keys written in {:.1} s",
        3 * KEYS,
        2 * KEYS,
        started.elapsed().as_secs_f64()
    );

    // 1. Two days later, every noncurrent version is due.
    let now = floe_gateway::objects::now_millis() + 2 * DAY.as_millis() as i64 + 1_000;
    let (cpu0, t0) = (cpu(), Instant::now());
    let report = engine.run_once(now).await.expect("run");
    let (secs, cpu_secs) = (t0.elapsed().as_secs_f64(), (cpu() - cpu0).as_secs_f64());
    let v = report.versions;
    assert_eq!(v.noncurrent_removed, KEYS as u64, "{report:?}");
    println!(
        "expire {KEYS} noncurrent versions: {secs:.2} s wall, {cpu_secs:.2} s CPU; \
         {:.0} keys examined/s, {:.0} versions removed/s ({} keys examined)",
        v.examined as f64 / secs,
        v.noncurrent_removed as f64 / secs,
        v.examined
    );

    // 2. Nothing due: the run reads no key of the 200,000.
    let mut quiet = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let report = engine.run_once(now).await.expect("run");
        assert_eq!(report.versions.examined, 0, "{report:?}");
        quiet.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "run with nothing due over {} keys: median {:.2} ms",
        2 * KEYS,
        measure::median(quiet)
    );

    // 3. A new rule: every key is walked once.
    index
        .update_bucket_config("b", |c| c.lifecycle = Some(vec![rule("noncurrent-30", 30)]))
        .expect("rules");
    let (cpu0, t0) = (cpu(), Instant::now());
    let report = engine.run_once(now).await.expect("run");
    let (secs, cpu_secs) = (t0.elapsed().as_secs_f64(), (cpu() - cpu0).as_secs_f64());
    assert_eq!(report.keys_walked, 2 * KEYS as u64, "{report:?}");
    println!(
        "walk after a rule change: {} keys in {secs:.2} s wall, {cpu_secs:.2} s CPU, \
         {:.0} keys/s",
        report.keys_walked,
        report.keys_walked as f64 / secs
    );
}
