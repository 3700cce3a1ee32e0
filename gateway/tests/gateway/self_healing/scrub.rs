//! 1,000 random byte flips in the payloads of shards on disk, packed or files (at most m = 2
//! damaged shards per chunk, so every chunk stays recoverable): one scrub finds every damaged
//! shard, the repair behind it rebuilds them, a second scrub finds nothing, and every object
//! reads back intact.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::support::cluster::{LocalCluster, flip_byte, pattern};
use crate::support::gateway::{ClusterGateway, catalog, get, placement, put};
use floe_testkit::Rng;

const FLIPS: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrub_finds_and_repairs_a_thousand_flipped_bytes() {
    let cluster = LocalCluster::start(6);
    let tmp = tempfile::tempdir().unwrap();
    // Small chunks: many shards to spread the damage over. Quorum 6: a PUT returns once
    // all six shards are on disk (not five plus a straggler), so the shards below exist.
    let gw = ClusterGateway::start(
        &cluster,
        tmp.path(),
        "chunk_size = 262144\nwrite_quorum = 6",
    )
    .await;
    gw.s3.create_bucket().bucket("rot").send().await.unwrap();
    let sizes: Vec<usize> = (0..8).map(|i| 2_500_000 + i * 77_777).collect();
    for (i, &size) in sizes.iter().enumerate() {
        put(
            &gw.s3,
            "rot",
            &format!("obj-{i}"),
            pattern(size, 41 + 2 * i as u64),
        )
        .await;
    }
    let chunks = catalog(gw.index());
    let urls = cluster.urls();

    // Two shards of each chunk may be damaged: the candidates, wherever their nodes keep them
    // (a pack segment or a file), as (file, payload offset, payload length).
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let mut candidates: Vec<(PathBuf, u64, u64)> = Vec::new();
    for chunk in &chunks {
        let nodes = placement(chunk, &urls);
        let first = rng.below(6) as usize;
        let second = (first + 1 + rng.below(5) as usize) % 6;
        for index in [first, second] {
            let key = floe_node::ShardKey::new(chunk.id, index as u16);
            let place = floe_node::inspect::shard(&cluster.nodes[nodes[index]].data_dir(), &key)
                .expect("read the node's data directory")
                .expect("the shard is on its node");
            candidates.push((place.path, place.payload_at, chunk.shard_len() as u64));
        }
    }
    // Flipped bytes per shard (file and payload offset).
    let mut flipped: BTreeMap<(PathBuf, u64), BTreeSet<u64>> = BTreeMap::new();
    let mut flips = 0;
    while flips < FLIPS {
        let (path, payload_at, payload_len) =
            &candidates[rng.below(candidates.len() as u64) as usize];
        let offset = payload_at + rng.below(*payload_len);
        // A second flip of the same byte could undo the first: one flip per byte.
        if !flipped
            .entry((path.clone(), *payload_at))
            .or_default()
            .insert(offset)
        {
            continue;
        }
        flip_byte(path, offset, 1 + (rng.below(255) as u8));
        flips += 1;
    }
    let damaged = flipped.len() as u64;
    println!(
        "{FLIPS} byte flips in {damaged} shards of {} chunks",
        chunks.len()
    );

    let report = gw.admin.scrub(Some(0)).await.expect("scrub");
    let mib = report.bytes_checked as f64 / (1024.0 * 1024.0);
    println!(
        "scrub: {} shards ({mib:.1} MiB) verified on {} nodes in {:.2} s = {:.1} MiB/s; \
         {} corrupt; {} shards rebuilt in {} ms",
        report.shards_checked,
        report.nodes_scrubbed,
        report.elapsed_ms as f64 / 1000.0,
        report.mib_per_sec(),
        report.corrupt_shards,
        report.repair.shards_rebuilt,
        report.repair.elapsed_ms
    );
    assert_eq!(report.nodes_scrubbed, 6, "{report:?}");
    assert_eq!(report.shards_checked, chunks.len() as u64 * 6);
    assert_eq!(report.corrupt_shards, damaged, "{report:?}");
    assert_eq!(report.corrupt_unknown, 0);
    assert_eq!(report.repair.shards_rebuilt, damaged, "{report:?}");
    assert_eq!(report.repair.chunks_failed, 0);

    let again = gw.admin.scrub(Some(0)).await.expect("second scrub");
    assert_eq!(again.corrupt_shards, 0, "{again:?}");
    assert_eq!(again.shards_checked, chunks.len() as u64 * 6);
    for (i, &size) in sizes.iter().enumerate() {
        let got = get(&gw.s3, "rot", &format!("obj-{i}")).await;
        assert!(got == pattern(size, 41 + 2 * i as u64), "obj-{i} differs");
    }
    gw.stop().await;
}
