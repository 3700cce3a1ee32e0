//! The blob layer against 6 real `floe node` processes (k=4, m=2): lost nodes, rotten shards,
//! writes below quorum, and the batching of overlapping small writes.

use crate::support;

use std::sync::Arc;

use floe_codec::{ByteRange, ChunkRef};
use floe_gateway::blobs::{BlobError, BlobStore, BlobWriter, RepairReason, whole};
use futures::StreamExt;
use support::cluster::{LocalCluster, flip_byte, pattern, shards_on_disk};
use support::scrape::{get, sample};

const MIB: usize = 1024 * 1024;

async fn write_blob(store: &Arc<BlobStore>, data: &[u8]) -> Result<Vec<ChunkRef>, BlobError> {
    let mut writer = BlobWriter::new(store.clone());
    // Feed it the way an HTTP body arrives: in small, uneven frames.
    for piece in data.chunks(61 * 1024 + 7) {
        writer.write(piece).await?;
    }
    Ok(writer.finish().await?.chunks().to_vec())
}

async fn read_blob(
    store: &Arc<BlobStore>,
    chunks: &[ChunkRef],
    range: ByteRange,
) -> Result<Vec<u8>, BlobError> {
    let mut stream = Box::pin(store.read_range(chunks.into(), range));
    let mut out = Vec::new();
    while let Some(piece) = stream.next().await {
        out.extend_from_slice(&piece?);
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_mib_blob_survives_any_two_lost_nodes() {
    let mut cluster = LocalCluster::start(6);
    let store = cluster.blob_store(4, 2);
    let data = pattern(100 * MIB + 12_345, 7);
    let chunks = write_blob(&store, &data).await.expect("write");
    assert_eq!(chunks.len(), 26);
    let size = data.len() as u64;
    let expected = blake3::hash(&data);

    let healthy = read_blob(&store, &chunks, whole(size)).await.expect("read");
    assert_eq!(blake3::hash(&healthy), expected);
    drop(healthy);

    for a in 0..6 {
        for b in (a + 1)..6 {
            cluster.nodes[a].kill();
            cluster.nodes[b].kill();
            let back = read_blob(&store, &chunks, whole(size))
                .await
                .unwrap_or_else(|e| panic!("read with nodes {a} and {b} down: {e}"));
            assert_eq!(back.len(), data.len(), "nodes {a},{b} down");
            assert!(
                blake3::hash(&back) == expected,
                "nodes {a},{b} down: bytes differ"
            );
            cluster.nodes[a].restart().expect("node restarts");
            cluster.nodes[b].restart().expect("node restarts");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_read_only_what_they_cover_and_survive_lost_nodes() {
    let mut cluster = LocalCluster::start(6);
    let store = cluster.blob_store(4, 2);
    let data = pattern(9 * MIB + 3, 11);
    let chunks = write_blob(&store, &data).await.expect("write");
    let ranges = [
        (0u64, 1u64),
        (5, 4096),
        (4 * MIB as u64 - 10, 4 * MIB as u64 + 10),
        (MIB as u64 + 1, 7 * MIB as u64),
        (data.len() as u64 - 1, data.len() as u64),
    ];
    for round in 0..2 {
        if round == 1 {
            cluster.nodes[1].kill();
            cluster.nodes[4].kill();
        }
        for &(start, end) in &ranges {
            let got = read_blob(&store, &chunks, ByteRange { start, end })
                .await
                .expect("range read");
            assert_eq!(got, &data[start as usize..end as usize], "{start}..{end}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_byte_on_disk_is_read_around_and_reported() {
    let cluster = LocalCluster::start(6);
    let store = cluster.blob_store(4, 2);
    let data = pattern(6 * MIB, 3);
    let chunks = write_blob(&store, &data).await.expect("write");

    // Rot one data shard (index < k) of the first chunk, wherever it landed.
    let (node, shard) = cluster
        .nodes
        .iter()
        .enumerate()
        .flat_map(|(i, n)| shards_on_disk(n).into_iter().map(move |s| (i, s)))
        .find(|(_, s)| s.key.chunk == chunks[0].id && s.key.index == 0)
        .expect("shard 0 of chunk 0 is on some node");
    // The payload's last byte.
    flip_byte(
        &shard.place.path,
        shard.place.payload_at + shard.len - 1,
        0x20,
    );

    let back = read_blob(&store, &chunks, whole(data.len() as u64))
        .await
        .expect("read");
    assert!(back == data, "bytes differ after a flipped shard");

    let faults = store.repairs().snapshot();
    let fault = faults
        .iter()
        .find(|f| f.chunk == chunks[0].id && f.shard == 0)
        .expect("the rotten shard was reported for repair");
    assert_eq!(fault.reason, RepairReason::Corrupt);
    assert_eq!(fault.node, cluster.nodes[node].url());

    let stats = store.nodes()[node].stats().await.expect("stats");
    assert_eq!(
        stats.quarantined, 1,
        "the node quarantined the rotten shard"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_with_three_nodes_down_fails_clearly() {
    let mut cluster = LocalCluster::start(6);
    let store = cluster.blob_store(4, 2);
    for i in [0, 2, 5] {
        cluster.nodes[i].kill();
    }
    let err = write_blob(&store, &pattern(5 * MIB, 5))
        .await
        .expect_err("a write needs 5 of 6 shards");
    assert!(
        matches!(
            err,
            BlobError::QuorumNotReached {
                acked: 3,
                needed: 5,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.is_unavailable());
    assert!(
        err.to_string().contains("write quorum not reached"),
        "{err}"
    );

    // One node down is within k+m-write_quorum: writes still succeed, and the miss is recorded.
    cluster.nodes[0].restart().expect("node restarts");
    cluster.nodes[2].restart().expect("node restarts");
    let data = pattern(3 * MIB, 9);
    let chunks = write_blob(&store, &data)
        .await
        .expect("write with one node down");
    assert!(
        store
            .repairs()
            .snapshot()
            .iter()
            .any(|f| f.reason == RepairReason::WriteFailed),
        "missed shards are queued for repair"
    );
    let back = read_blob(&store, &chunks, whole(data.len() as u64))
        .await
        .expect("read");
    assert!(back == data);
}

/// Many small blobs written at once, `writers` at a time; blob `n` is `pattern(len(n), n)`.
async fn write_small_blobs(
    store: &Arc<BlobStore>,
    first: u64,
    count: u64,
    writers: u64,
) -> Vec<(u64, Vec<ChunkRef>)> {
    let len = |n: u64| 1 + (n as usize * 7919) % (200 * 1024);
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut written = Vec::new();
                for n in (first + w..first + count).step_by(writers as usize) {
                    let chunks = write_blob(&store, &pattern(len(n), n))
                        .await
                        .unwrap_or_else(|e| panic!("blob {n}: {e}"));
                    written.push((n, chunks));
                }
                written
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("writer"));
    }
    for (n, chunks) in &all {
        let size = chunks.iter().map(|c| u64::from(c.len)).sum::<u64>();
        assert_eq!(size as usize, len(*n));
    }
    all
}

/// The shards that overlapping small writes send one node travel in batches (one request and
/// one group commit for several), every blob reads back byte-exact, and a node killed between
/// rounds costs only its own shards: the writes still reach quorum, its misses are queued for
/// repair, and the blobs read back around it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_small_writes_travel_in_batches() {
    let mut cluster = LocalCluster::start(6);
    let store = cluster.blob_store(4, 2);
    let mut written = write_small_blobs(&store, 0, 400, 32).await;

    let node = cluster.nodes[0].url();
    let (status, metrics) = get(&node, "/metrics");
    assert_eq!(status, 200);
    let batches = sample(
        &metrics,
        "floe_node_requests_total{route=\"shard_put_batch\",status=\"200\"}",
    );
    let commits = sample(&metrics, "floe_node_pack_commits_total");
    let changes = sample(&metrics, "floe_node_pack_changes_total");
    assert!(batches > 0.0, "no batch requests:\n{metrics}");
    assert!(changes > commits, "{changes} changes in {commits} commits");

    cluster.nodes[3].kill();
    let down = cluster.nodes[3].url();
    written.extend(write_small_blobs(&store, 400, 200, 32).await);
    let faults = store.repairs().snapshot();
    assert!(
        faults
            .iter()
            .any(|f| f.node == down && f.reason == RepairReason::WriteFailed),
        "the dead node's shards are queued for repair"
    );
    assert!(faults.iter().all(|f| f.node == down), "{faults:?}");

    for (n, chunks) in &written {
        let size = chunks.iter().map(|c| u64::from(c.len)).sum::<u64>();
        let back = read_blob(&store, chunks, whole(size))
            .await
            .unwrap_or_else(|e| panic!("blob {n}: {e}"));
        assert!(back == pattern(size as usize, *n), "blob {n} differs");
    }
}
