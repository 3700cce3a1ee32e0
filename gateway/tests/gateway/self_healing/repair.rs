//! Kill 2 nodes and replace them with empty ones; a repair sweep restores all k+m shards of
//! every chunk; then 2 *other* nodes die and every object still reads back byte for byte.

use std::process::Command;
use std::time::Instant;

use crate::support::cluster::{LocalCluster, pattern};
use crate::support::gateway::{
    ADMIN_TOKEN, ClusterGateway, assert_fully_redundant, catalog, clients, get, placement, put,
    retained_objects,
};

const MIB: usize = 1024 * 1024;

/// Sizes from inline to several chunks (1 MiB chunks), about 32 MiB in all.
fn sizes() -> Vec<usize> {
    let mut sizes = vec![3_000, 200_000, MIB - 1, MIB + 7];
    sizes.extend((0..10).map(|i| 2 * MIB + i * 300_000 + 11));
    sizes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_nodes_are_refilled_and_survive_two_more_losses() {
    let mut cluster = LocalCluster::start(6);
    let tmp = tempfile::tempdir().unwrap();
    let gw = ClusterGateway::start(&cluster, tmp.path(), "chunk_size = 1048576").await;
    gw.s3.create_bucket().bucket("heal").send().await.unwrap();
    let sizes = sizes();
    for (i, &size) in sizes.iter().enumerate() {
        put(
            &gw.s3,
            "heal",
            &format!("obj-{i}"),
            pattern(size, 7 + 2 * i as u64),
        )
        .await;
    }
    let chunks = catalog(gw.index());
    assert!(chunks.len() >= 30, "{} chunks", chunks.len());

    // Lose two nodes for good; empty replacements come up on the same addresses.
    let (lost_a, lost_b) = (1, 4);
    cluster.nodes[lost_a]
        .replace_with_empty()
        .expect("empty node starts");
    cluster.nodes[lost_b]
        .replace_with_empty()
        .expect("empty node starts");
    let urls = cluster.urls();
    let lost_shards: usize = chunks
        .iter()
        .map(|c| {
            let p = placement(c, &urls);
            p.iter().filter(|&&n| n == lost_a || n == lost_b).count()
        })
        .sum();

    let started = Instant::now();
    let report = gw.admin.repair().await.expect("repair");
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(report.chunks_failed, 0, "{report:?}");
    assert_eq!(report.chunks_checked, chunks.len() as u64);
    assert_eq!(report.shards_rebuilt, lost_shards as u64, "{report:?}");
    let mib = report.bytes_rebuilt as f64 / MIB as f64;
    println!(
        "repair: {} chunks checked, {} shards ({mib:.1} MiB) rebuilt in {secs:.2} s = {:.1} MiB/s",
        report.chunks_checked,
        report.shards_rebuilt,
        mib / secs
    );

    // Full redundancy again: every shard of every chunk at its placement node, verified.
    let (checked, shards) = assert_fully_redundant(&chunks, &cluster, &[0, 1, 2, 3, 4, 5]).await;
    assert_eq!(shards, checked * 6);
    let again = gw.admin.repair().await.expect("second repair");
    assert_eq!(again.shards_rebuilt, 0, "{again:?}");

    // The CLI sees the healthy cluster.
    let status = Command::new(floe_testkit::floe_binary())
        .args([
            "admin",
            "--gateway",
            gw.admin.url(),
            "--token",
            ADMIN_TOKEN,
            "status",
        ])
        .output()
        .expect("floe admin status");
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{text}");
    assert!(text.contains("6 of 6 nodes up"), "{text}");
    assert!(text.contains("Repair backlog: 0"), "{text}");

    // Two other nodes die: still everything reads back.
    cluster.nodes[0].kill();
    cluster.nodes[2].kill();
    for (i, &size) in sizes.iter().enumerate() {
        let got = get(&gw.s3, "heal", &format!("obj-{i}")).await;
        assert!(got == pattern(size, 7 + 2 * i as u64), "obj-{i} differs");
    }
    let status = gw.admin.status().await.expect("status");
    assert_eq!(status.nodes.iter().filter(|n| n.up).count(), 4);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_wants_the_token_and_gc_sweeps_orphans() {
    let cluster = LocalCluster::start(6);
    let tmp = tempfile::tempdir().unwrap();
    let gw = ClusterGateway::start(&cluster, tmp.path(), "").await;
    let intruder = floe_gateway::admin::AdminClient::new(gw.admin.url(), "wrong").unwrap();
    let err = intruder.status().await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    let status = gw.admin.status().await.expect("status");
    assert_eq!(status.erasure_code, "4+2");
    assert_eq!(status.nodes.len(), 6);
    assert!(status.nodes.iter().all(|n| n.up && n.stats.is_some()));
    let gc = gw.admin.gc(Some(0)).await.expect("gc");
    assert_eq!(gc.collected.deleted, 0);

    // A shard of no committed chunk: kept while young, deleted once past the grace period.
    let stray = floe_codec::ChunkId::from_bytes([7; 32]);
    let body = bytes::Bytes::from_static(b"orphaned shard");
    let hash = floe_codec::ShardHash::of(&body);
    let node = &crate::support::gateway::clients(&cluster)[2];
    node.put_shard(&stray, 1, &hash, body).await.unwrap();
    let young = gw.admin.gc(Some(3600)).await.expect("gc");
    assert_eq!(
        (young.orphans.young_skipped, young.orphans.shards_deleted),
        (1, 0)
    );
    let old = gw.admin.gc(Some(0)).await.expect("gc");
    assert_eq!(
        (old.orphans.shards_deleted, old.orphans.chunks_deleted),
        (1, 1)
    );
    assert!(node.head_shard(&stray, 1).await.unwrap().is_none());
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_reported_by_writes_and_reads_are_repaired_from_the_queue() {
    let mut cluster = LocalCluster::start(6);
    let tmp = tempfile::tempdir().unwrap();
    let gw = ClusterGateway::start(&cluster, tmp.path(), "chunk_size = 1048576").await;
    gw.s3.create_bucket().bucket("queue").send().await.unwrap();

    // A write with one node down succeeds (quorum 5 of 6) and reports the missed shards.
    cluster.nodes[2].kill();
    put(&gw.s3, "queue", "written", pattern(3 * MIB, 21)).await;
    // Every chunk has a shard on every node: one fault per chunk. The PUT may return before the
    // failed shard writes have run out of retries, so the count is awaited.
    let chunks = catalog(gw.index()).len();
    assert_eq!(chunks, 3);
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    let queued = loop {
        let queued = gw.admin.status().await.unwrap().repair.queued;
        if queued >= chunks as u64 || Instant::now() > deadline {
            break queued;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(queued, chunks as u64, "one missed shard per chunk");
    cluster.nodes[2].restart().expect("node restarts");
    let report = gw
        .gateway()
        .repairer
        .drain_queue()
        .await
        .expect("queue round");
    assert_eq!(report.shards_rebuilt, queued, "{report:?}");
    assert_eq!(gw.admin.status().await.unwrap().repair.queued, 0);

    // A read that meets a missing shard reports it, and the next round puts it back.
    put(&gw.s3, "queue", "read", pattern(MIB, 23)).await;
    let chunks = catalog(gw.index());
    let urls = cluster.urls();
    // The chunk of "read" itself (the 3 MiB object's chunks are 1 MiB long too).
    let (_, manifest) = gw
        .index()
        .object_with_manifest("queue", "read")
        .expect("index")
        .expect("object");
    let chunk = &manifest.chunks()[0];
    let node = placement(chunk, &urls)[0];
    // Lost from the node's disk, packed or a file: the node's own delete, as the gateway is not
    // told of it.
    let deleted = clients(&cluster)[node]
        .delete_shard(&chunk.id, 0)
        .await
        .expect("delete data shard 0");
    assert!(deleted, "data shard 0 was on its node");
    assert!(get(&gw.s3, "queue", "read").await == pattern(MIB, 23));
    let report = gw
        .gateway()
        .repairer
        .drain_queue()
        .await
        .expect("queue round");
    assert_eq!(report.shards_rebuilt, 1, "{report:?}");
    assert_fully_redundant(&chunks, &cluster, &[0, 1, 2, 3, 4, 5]).await;
    gw.stop().await;
}

/// A node replaced by an empty one and refilled by repair gets back the retention holds of the
/// chunks it now holds shards of, from the nodes that kept theirs: its shards refuse deletion
/// as the lost node's did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refilled_node_takes_the_retention_holds_back() {
    let mut cluster = LocalCluster::start(6);
    let tmp = tempfile::tempdir().unwrap();
    let gw = ClusterGateway::start(&cluster, tmp.path(), "chunk_size = 1048576").await;
    let bodies = (0..3).map(|i| pattern(2 * MIB + 5, 70 + i)).collect();
    let until = retained_objects(&gw.s3, "vault", bodies).await;
    gw.wait_for_records().await;
    let lost = 2;
    cluster.nodes[lost]
        .replace_with_empty()
        .expect("empty node starts");
    let report = gw.admin.repair().await.expect("repair");
    assert_eq!(report.chunks_failed, 0, "{report:?}");
    let nodes = crate::support::gateway::clients(&cluster);
    let urls = cluster.urls();
    let chunks = catalog(gw.index());
    assert!(chunks.len() >= 3, "{} chunks", chunks.len());
    for chunk in &chunks {
        for n in placement(chunk, &urls) {
            assert_eq!(
                nodes[n].hold(&chunk.id).await.unwrap(),
                Some(until),
                "node {n}, chunk {}",
                chunk.id
            );
        }
        let refused = nodes[lost].delete_shard(&chunk.id, 0).await;
        assert!(
            !matches!(refused, Ok(true)),
            "the refilled node let a held shard go"
        );
    }
    gw.stop().await;
}
