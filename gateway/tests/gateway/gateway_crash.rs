//! kill -9 of a `floe serve` process in the middle of concurrent uploads: after a restart every
//! acknowledged object reads back intact and no half-written object is listed; `admin gc` with
//! no grace then removes the orphaned shards of the interrupted uploads and nothing else.

use crate::support;

use std::collections::HashMap;
use std::time::Duration;

use floe_codec::ChunkId;
use floe_gateway::index::Index;
use support::serve::ServeProcess;
use support::uploads::{Uploads, assert_acked_intact, assert_listed_whole, body, index_of};

const UPLOADS: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_mid_upload_loses_no_acknowledged_object() {
    let tmp = tempfile::tempdir().unwrap();
    let mut gateway = ServeProcess::start(tmp.path(), &[]);
    let client = gateway.client();
    client.create_bucket().bucket("crash").send().await.unwrap();

    let uploads = Uploads::start(&client, "crash", UPLOADS);
    // Let some uploads finish and others be mid-flight, with shards on the nodes that no
    // acknowledged object owns yet (a margin of 3 chunks covers an ack racing the count).
    let mut waited = 0;
    loop {
        let acked = uploads.acked();
        let acked_chunks: usize = acked.keys().map(|k| chunks_of(k)).sum();
        // Acknowledged chunked objects too, so the GC below has live shards to spare.
        let mid_flight = acked_chunks > 0 && shard_files(tmp.path()).len() > 6 * (acked_chunks + 3);
        if (acked.len() >= UPLOADS / 4 && mid_flight) || waited >= 600 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    gateway.kill();
    let acked = uploads.finish().await;
    assert!(
        !acked.is_empty(),
        "some uploads were acknowledged before the kill"
    );
    assert!(acked.len() < UPLOADS, "the kill interrupted some uploads");

    let gateway = ServeProcess::start(tmp.path(), &[]);
    let client = gateway.client();
    assert_acked_intact(&client, "crash", &acked).await;
    assert_listed_whole(&client, "crash").await;
    gc_leaves_no_orphans(gateway, &acked).await;
}

/// After `admin gc` (grace 0): every acknowledged object still reads back, and every shard on
/// every embedded node belongs to a chunk of the catalog (checked with the gateway stopped).
async fn gc_leaves_no_orphans(mut gateway: ServeProcess, acked: &HashMap<String, String>) {
    let report = gateway.admin().gc(Some(0)).await.expect("admin gc");
    println!("after the crash: {report:?}");
    assert!(report.orphans.nodes_failed.is_empty(), "{report:?}");
    // The interrupted uploads had sent shards that no committed object owns.
    assert!(report.orphans.shards_deleted > 0, "{report:?}");
    let client = gateway.client();
    assert_acked_intact(&client, "crash", acked).await;
    gateway.kill();

    let index = Index::open(&gateway.data.join("index.redb")).expect("index");
    let shards = shard_files(&gateway.data);
    let known = index.has_chunks(&shards).unwrap();
    let orphans = known.iter().filter(|k| !**k).count();
    assert_eq!(
        orphans,
        0,
        "{orphans} of {} shards belong to no chunk",
        shards.len()
    );
    assert_eq!(index.garbage_count().unwrap(), 0);
}

/// Chunk ids of every shard the embedded nodes under `data` hold, packed or a file, one per
/// shard (read while they run).
fn shard_files(data: &std::path::Path) -> Vec<ChunkId> {
    let mut shards = Vec::new();
    for node in std::fs::read_dir(data.join("nodes"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let found = floe_node::inspect::shards(&node.path()).unwrap_or_default();
        shards.extend(found.iter().map(|s| s.key.chunk));
    }
    shards
}

/// Chunks (4 MiB) of the object stored at `key`; inline objects have none.
fn chunks_of(key: &str) -> usize {
    let size = body(index_of(key)).len();
    if size <= 16 * 1024 {
        0
    } else {
        size.div_ceil(4 * 1024 * 1024)
    }
}
