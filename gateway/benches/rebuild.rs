//! What rebuilding the index from the nodes costs: N small objects (inline, 1 KiB) written
//! through a gateway over 6 local `floe node` processes (4+2), then the index is deleted and a new
//! gateway rebuilds it before serving. Prints the rebuild's time and records per second, and the
//! extrapolation to a million objects; asserts nothing about speed. Run:
//! `FLOE_REBUILD_OBJECTS=20000 cargo bench -p floe-gateway --bench rebuild`.

#[path = "../tests/gateway/support/mod.rs"]
mod support;

use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use futures::StreamExt;
use support::cluster::{LocalCluster, pattern};
use support::gateway::ClusterGateway;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let objects: usize = std::env::var("FLOE_REBUILD_OBJECTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let cluster = LocalCluster::start(6);
    let tmp = tempfile::tempdir().expect("tempdir");
    let gw = ClusterGateway::start(&cluster, tmp.path(), "").await;
    gw.s3
        .create_bucket()
        .bucket("bench")
        .send()
        .await
        .expect("bucket");
    let started = Instant::now();
    let s3 = gw.s3.clone();
    futures::stream::iter(0..objects)
        .map(|i| {
            let s3 = s3.clone();
            async move {
                s3.put_object()
                    .bucket("bench")
                    .key(format!("obj-{i:07}"))
                    .body(ByteStream::from(pattern(1024, i as u64 + 1)))
                    .send()
                    .await
                    .expect("put");
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    println!(
        "rebuild: wrote {objects} objects of 1 KiB in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let index = gw.index_path();
    gw.stop().await;
    std::fs::remove_file(&index).expect("lose the index");

    let started = Instant::now();
    let gw = ClusterGateway::start(&cluster, tmp.path(), "").await;
    let secs = started.elapsed().as_secs_f64();
    let restored = gw.admin.status().await.expect("status").objects;
    println!(
        "rebuild: {restored} objects restored in {secs:.1} s = {:.0} records/s; a million \
         objects would take about {:.0} min at this rate (one record fetch per object, 8 at a \
         time, on this 2-core machine)",
        restored as f64 / secs,
        1e6 / (restored as f64 / secs) / 60.0
    );
    gw.stop().await;
}
