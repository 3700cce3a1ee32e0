//! Self-healing throughput through 6 local `floe node` processes (k=4, m=2, 4 MiB chunks):
//! a scrub of every shard (no rate cap), and a repair after 2 nodes are replaced by empty ones.
//! Prints MiB/s; asserts nothing about speed. Run: `cargo bench -p floe-gateway --bench
//! self_healing`. The shards were just written, so the scrub reads from the page cache: it
//! measures what a node spends verifying, not what a disk delivers.

#[path = "../tests/gateway/support/mod.rs"]
mod support;

use std::time::Instant;

use support::cluster::{LocalCluster, pattern};
use support::gateway::{ClusterGateway, put};

const MIB: usize = 1024 * 1024;
const OBJECTS: usize = 24;
const OBJECT: usize = 8 * MIB;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let mut cluster = LocalCluster::start(6);
    let tmp = tempfile::tempdir().expect("tempdir");
    let gw = ClusterGateway::start(&cluster, tmp.path(), "").await;
    gw.s3
        .create_bucket()
        .bucket("bench")
        .send()
        .await
        .expect("bucket");
    for i in 0..OBJECTS {
        put(
            &gw.s3,
            "bench",
            &format!("obj-{i}"),
            pattern(OBJECT, 2 * i as u64 + 1),
        )
        .await;
    }
    let data = OBJECTS * OBJECT;
    println!(
        "self_healing: {} MiB of objects = {} MiB of shards on 6 nodes",
        data / MIB,
        data * 6 / 4 / MIB
    );

    for round in 1..=2 {
        let started = Instant::now();
        let scrub = gw.admin.scrub(Some(0)).await.expect("scrub");
        let secs = started.elapsed().as_secs_f64();
        println!(
            "scrub (round {round}): {} shards, {:.0} MiB verified in {secs:.2} s = {:.0} MiB/s \
             (all nodes together, no rate cap), {} corrupt",
            scrub.shards_checked,
            scrub.bytes_checked as f64 / MIB as f64,
            scrub.bytes_checked as f64 / MIB as f64 / secs,
            scrub.corrupt_shards
        );
    }

    cluster.nodes[1]
        .replace_with_empty()
        .expect("empty node starts");
    cluster.nodes[4]
        .replace_with_empty()
        .expect("empty node starts");
    let started = Instant::now();
    let repair = gw.admin.repair().await.expect("repair");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "repair: {} chunks checked, {} shards ({:.0} MiB) rebuilt in {secs:.2} s = {:.0} MiB/s \
         rebuilt ({} chunks failed)",
        repair.chunks_checked,
        repair.shards_rebuilt,
        repair.bytes_rebuilt as f64 / MIB as f64,
        repair.bytes_rebuilt as f64 / MIB as f64 / secs,
        repair.chunks_failed
    );
    let started = Instant::now();
    let again = gw.admin.repair().await.expect("repair");
    println!(
        "repair of a healthy cluster: {} chunks checked in {:.2} s",
        again.chunks_checked,
        started.elapsed().as_secs_f64()
    );
    gw.stop().await;
}
