//! Membership changes. Draining a node of a 7-node cluster (4+2): reads keep working during the
//! move, afterwards the node holds no shard and no record, every chunk is complete on the other
//! six, the drain survives a gateway restart, and the drained node plus one more can die with
//! nothing lost. Adding a node: new writes use it, and repair + gc rebalance onto it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::support::cluster::{LocalCluster, pattern};
use crate::support::gateway::{
    ClusterGateway, assert_fully_redundant, catalog, clients, get, placement_among, put,
    retained_objects,
};

const MIB: usize = 1024 * 1024;
const DRAINED: usize = 3;

fn sizes() -> Vec<usize> {
    (0..8).map(|i| MIB + i * 250_000 + 3).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drained_node_ends_up_empty_while_reads_go_on() {
    let mut cluster = LocalCluster::start(7);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("gateway");
    let gw = ClusterGateway::start(&cluster, &data, "chunk_size = 524288").await;
    gw.s3.create_bucket().bucket("move").send().await.unwrap();
    for (i, &size) in sizes().iter().enumerate() {
        put(
            &gw.s3,
            "move",
            &format!("obj-{i}"),
            pattern(size, 3 + 2 * i as u64),
        )
        .await;
    }
    gw.wait_for_records().await;
    let nodes = clients(&cluster);
    let before = nodes[DRAINED].stats().await.unwrap();
    assert!(before.shards > 0);
    let records = nodes[DRAINED]
        .list_records(None, 100)
        .await
        .unwrap()
        .records
        .len();

    // Readers run through the whole drain.
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let reader = {
        let (s3, stop, reads) = (gw.s3.clone(), stop.clone(), reads.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                for (i, &size) in sizes().iter().enumerate() {
                    let got = get(&s3, "move", &format!("obj-{i}")).await;
                    assert!(
                        got == pattern(size, 3 + 2 * i as u64),
                        "obj-{i} differs mid-drain"
                    );
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    let url = cluster.urls()[DRAINED].clone();
    let report = gw.admin.drain(&url).await.expect("drain");
    stop.store(true, Ordering::Relaxed);
    reader.await.expect("reads during the drain");
    println!(
        "drain: {report:?}; {} reads meanwhile",
        reads.load(Ordering::Relaxed)
    );
    assert!(reads.load(Ordering::Relaxed) > 0);
    assert_eq!(report.shards_kept, 0, "{report:?}");
    assert_eq!(report.repair.chunks_failed, 0, "{report:?}");
    assert_eq!(report.shards_removed, before.shards, "{report:?}");
    assert_eq!(report.records_moved, records as u64, "{report:?}");

    // Nothing left on the node; everything complete where it now belongs.
    let after = nodes[DRAINED].stats().await.unwrap();
    assert_eq!(after.shards, 0);
    assert!(
        nodes[DRAINED]
            .list_records(None, 10)
            .await
            .unwrap()
            .records
            .is_empty()
    );
    let active: Vec<usize> = (0..7).filter(|&n| n != DRAINED).collect();
    let chunks = catalog(gw.index());
    assert_fully_redundant(&chunks, &cluster, &active).await;
    // No stale copies either: exactly k + m shards per chunk in the whole cluster.
    let mut stored = 0;
    for &n in &active {
        stored += nodes[n].stats().await.unwrap().shards;
    }
    assert_eq!(stored, chunks.len() as u64 * 6, "{report:?}");
    let status = gw.admin.status().await.unwrap();
    assert!(status.nodes[DRAINED].draining);
    assert_eq!(status.nodes.iter().filter(|n| n.draining).count(), 1);

    // New writes skip the draining node, and the mark survives a restart.
    put(&gw.s3, "move", "late", pattern(3 * MIB, 99)).await;
    gw.stop().await;
    let gw = ClusterGateway::start(&cluster, &data, "chunk_size = 524288").await;
    assert!(gw.admin.status().await.unwrap().nodes[DRAINED].draining);
    let urls = cluster.urls();
    for chunk in catalog(gw.index()) {
        assert!(!placement_among(&chunk, &urls, &active).contains(&DRAINED));
    }
    assert_eq!(nodes[DRAINED].stats().await.unwrap().shards, 0);

    // The drained node and one more die: nothing is lost.
    cluster.nodes[DRAINED].kill();
    cluster.nodes[0].kill();
    for (i, &size) in sizes().iter().enumerate() {
        let got = get(&gw.s3, "move", &format!("obj-{i}")).await;
        assert!(got == pattern(size, 3 + 2 * i as u64), "obj-{i} differs");
    }
    assert!(get(&gw.s3, "move", "late").await == pattern(3 * MIB, 99));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_node_is_filled_by_repair_and_gc_removes_old_copies() {
    let mut cluster = LocalCluster::start(6);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("gateway");
    let gw = ClusterGateway::start(&cluster, &data, "chunk_size = 524288").await;
    gw.s3.create_bucket().bucket("grow").send().await.unwrap();
    for (i, &size) in sizes().iter().enumerate() {
        put(
            &gw.s3,
            "grow",
            &format!("obj-{i}"),
            pattern(size, 5 + 2 * i as u64),
        )
        .await;
    }
    gw.stop().await;

    cluster.add_node();
    let gw = ClusterGateway::start(&cluster, &data, "chunk_size = 524288").await;
    // Before any rebalance, shards sit where the 6-node placement put them: still readable.
    for (i, &size) in sizes().iter().enumerate() {
        let got = get(&gw.s3, "grow", &format!("obj-{i}")).await;
        assert!(
            got == pattern(size, 5 + 2 * i as u64),
            "obj-{i} unreadable after the join"
        );
    }
    let repaired = gw.admin.repair().await.expect("repair");
    assert_eq!(repaired.chunks_failed, 0, "{repaired:?}");
    assert!(repaired.shards_rebuilt > 0, "{repaired:?}");
    let gc = gw.admin.gc(Some(0)).await.expect("gc");
    println!("rebalance: {repaired:?}\n{gc:?}");
    assert_eq!(gc.orphans.misplaced_kept, 0, "{gc:?}");
    assert_eq!(
        gc.orphans.misplaced_deleted, repaired.shards_rebuilt,
        "{gc:?}"
    );

    let chunks = catalog(gw.index());
    let all: Vec<usize> = (0..7).collect();
    assert_fully_redundant(&chunks, &cluster, &all).await;
    let mut stored = 0;
    for node in clients(&cluster) {
        stored += node.stats().await.unwrap().shards;
    }
    assert_eq!(stored, chunks.len() as u64 * 6);
    assert!(clients(&cluster)[6].stats().await.unwrap().shards > 0);
    for (i, &size) in sizes().iter().enumerate() {
        let got = get(&gw.s3, "grow", &format!("obj-{i}")).await;
        assert!(got == pattern(size, 5 + 2 * i as u64), "obj-{i} differs");
    }
    gw.stop().await;
}

/// Draining a node that holds shards of chunks under retention: the drain finishes (the old
/// copies go, as moved), and every node that now holds a shard of such a chunk holds the
/// retention hold too, so the move never weakens a lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_carries_retention_holds_to_the_new_nodes() {
    let cluster = LocalCluster::start(7);
    let tmp = tempfile::tempdir().unwrap();
    let gw =
        ClusterGateway::start(&cluster, &tmp.path().join("gateway"), "chunk_size = 524288").await;
    let bodies = (0..4).map(|i| pattern(sizes()[i], 50 + i as u64)).collect();
    let until = retained_objects(&gw.s3, "vault", bodies).await;
    gw.wait_for_records().await;
    let nodes = clients(&cluster);
    let chunks = catalog(gw.index());
    let urls = cluster.urls();
    let all: Vec<usize> = (0..7).collect();
    for chunk in &chunks {
        for n in placement_among(chunk, &urls, &all) {
            assert_eq!(nodes[n].hold(&chunk.id).await.unwrap(), Some(until));
        }
    }

    let report = gw.admin.drain(&urls[DRAINED]).await.expect("drain");
    assert_eq!(report.shards_kept, 0, "{report:?}");
    assert_eq!(nodes[DRAINED].stats().await.unwrap().shards, 0);
    let active: Vec<usize> = (0..7).filter(|&n| n != DRAINED).collect();
    assert_fully_redundant(&chunks, &cluster, &active).await;
    for chunk in &chunks {
        for n in placement_among(chunk, &urls, &active) {
            assert_eq!(
                nodes[n].hold(&chunk.id).await.unwrap(),
                Some(until),
                "node {n} took a shard of {} without its hold",
                chunk.id
            );
        }
    }
    gw.stop().await;
}
