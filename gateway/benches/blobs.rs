//! Blob-layer throughput through 6 local `floe node` processes (k=4, m=2, 4 MiB chunks):
//! write, healthy read, and degraded read with 2 nodes killed. Prints MiB/s; asserts nothing
//! about speed. Run: `cargo bench -p floe-gateway --bench blobs`.

#[path = "../tests/gateway/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::Instant;

use floe_codec::ChunkRef;
use floe_gateway::blobs::{BlobStore, BlobWriter, whole};
use futures::StreamExt;
use support::cluster::{LocalCluster, pattern};

const MIB: usize = 1024 * 1024;
const BLOB: usize = 256 * MIB;
const ROUNDS: usize = 3;

async fn write(store: &Arc<BlobStore>, data: &[u8]) -> Vec<ChunkRef> {
    let mut writer = BlobWriter::new(store.clone());
    for piece in data.chunks(256 * 1024) {
        writer.write(piece).await.expect("write");
    }
    writer.finish().await.expect("finish").chunks().to_vec()
}

async fn read(store: &Arc<BlobStore>, chunks: &[ChunkRef], size: u64) -> usize {
    let mut stream = Box::pin(store.read_range(chunks.into(), whole(size)));
    let mut total = 0;
    while let Some(piece) = stream.next().await {
        total += piece.expect("read").len();
    }
    total
}

fn mib_per_s(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / MIB as f64 / secs
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut cluster = LocalCluster::start(6);
    let store = cluster.blob_store(4, 2);
    let data = pattern(BLOB, 42);
    println!(
        "blob layer: 6 local node processes, k=4 m=2, 4 MiB chunks, {ROUNDS} x {} MiB",
        BLOB / MIB
    );

    runtime.block_on(async {
        let mut written = Vec::new();
        let start = Instant::now();
        for round in 0..ROUNDS {
            // A different first byte per round: distinct content, so dedup cannot shortcut it.
            let mut round_data = data.clone();
            round_data[0] = round as u8;
            written.push(write(&store, &round_data).await);
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "write          {:8.1} MiB/s",
            mib_per_s(BLOB * ROUNDS, secs)
        );

        let start = Instant::now();
        for chunks in &written {
            assert_eq!(read(&store, chunks, BLOB as u64).await, BLOB);
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "read (healthy) {:8.1} MiB/s",
            mib_per_s(BLOB * ROUNDS, secs)
        );

        cluster.nodes[0].kill();
        cluster.nodes[3].kill();
        let start = Instant::now();
        for chunks in &written {
            assert_eq!(read(&store, chunks, BLOB as u64).await, BLOB);
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "read (2 down)  {:8.1} MiB/s",
            mib_per_s(BLOB * ROUNDS, secs)
        );
    });
}
