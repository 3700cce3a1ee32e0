//! Batch shard puts (`POST /v1/shards`) against a real in-process node: every shard of a batch
//! gets its own outcome, the packed ones share one group commit, a damaged payload fails alone,
//! and a table that does not match its signed hash stores nothing.

use crate::common;

use bytes::Bytes;
use common::{key, raw, secret, shard, start};
use floe_codec::ShardHash;
use floe_node::auth::unix_now;
use floe_node::protocol::encode_shard_batch;
use floe_node::{ClientError, ShardItem, sign};

fn item(n: u8, len: usize) -> ShardItem {
    let (payload, hash) = shard(n, len);
    ShardItem {
        key: key(n, u16::from(n) % 6),
        hash,
        payload,
    }
}

#[tokio::test]
async fn every_shard_of_a_batch_gets_its_own_outcome() {
    let node = start().await;
    let client = node.client();
    let present = item(1, 3000);
    client
        .put_shard(
            &present.key.chunk,
            present.key.index,
            &present.hash,
            present.payload.clone(),
        )
        .await
        .unwrap();
    let mut damaged = item(2, 5000);
    damaged.hash = ShardHash::of(b"something else");
    // Past the pack threshold: a file of its own, in the same batch.
    let large = item(3, (1 << 20) + 17);
    let small: Vec<ShardItem> = (10..16u8).map(|n| item(n, 1000 * usize::from(n))).collect();
    let mut batch = vec![present.clone(), damaged.clone(), large.clone()];
    batch.extend(small.iter().cloned());

    let commits_before = node.state.store().pack_figures().commits;
    let outcomes = client.put_shards(&batch).await.unwrap();
    assert_eq!(outcomes.len(), batch.len());
    for (item, outcome) in batch.iter().zip(&outcomes) {
        if item.key == damaged.key {
            assert!(
                matches!(outcome, Err(ClientError::HashMismatch)),
                "{outcome:?}"
            );
        } else {
            assert!(outcome.is_ok(), "{:?}: {outcome:?}", item.key);
        }
    }
    // The six new small shards went into the packs together.
    assert_eq!(
        node.state.store().pack_figures().commits,
        commits_before + 1
    );

    for item in small.iter().chain([&present, &large]) {
        let read = client
            .get_shard(&item.key.chunk, item.key.index)
            .await
            .unwrap();
        assert_eq!(read, item.payload, "{:?}", item.key);
    }
    assert!(matches!(
        client
            .get_shard(&damaged.key.chunk, damaged.key.index)
            .await,
        Err(ClientError::NotFound)
    ));
    let large_place = node.state.store().on_disk(&large.key).unwrap();
    assert!(
        large_place
            .path
            .starts_with(node.dir.path().join("data/shards"))
    );
    let stats = client.stats().await.unwrap();
    assert_eq!(stats.shards, 8, "present, large and six small");

    // The same batch again: all there already (the damaged one still refused), nothing new.
    let again = client.put_shards(&batch).await.unwrap();
    assert_eq!(again.iter().filter(|o| o.is_ok()).count(), batch.len() - 1);
    assert_eq!(client.stats().await.unwrap().shards, 8);
    node.stop().await;
}

/// A raw `POST /v1/shards` of `body`, signed with `claimed` as its table's hash.
async fn post_signed(node: &common::TestNode, claimed: &ShardHash, body: &[u8]) -> (u16, String) {
    let date = unix_now();
    let claimed = claimed.to_hex();
    let signature = sign(&secret(), "POST", "/v1/shards", date, Some(&claimed));
    let head = format!(
        "POST /v1/shards HTTP/1.1\r\nx-floe-date: {date}\r\nx-floe-signature: {signature}\r\n\
         x-floe-shard-hash: {claimed}\r\n"
    );
    raw(node.addr, &head, body).await
}

#[tokio::test]
async fn a_table_that_does_not_match_its_signed_hash_stores_nothing() {
    let node = start().await;
    let items: Vec<ShardItem> = (1..4u8).map(|n| item(n, 2000)).collect();
    let (_, body) = encode_shard_batch(&items);
    // Signed for another table: the swap of a hash or key in transit.
    let (other, _) = encode_shard_batch(&items[..2]);
    let (status, text) = post_signed(&node, &other, &body).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("signed"), "{text}");
    assert_eq!(node.client().stats().await.unwrap().shards, 0);

    // Garbage under a valid signature of its own hash is refused as malformed.
    let garbage = b"\x00\x00\x00\x05short";
    let (status, text) = post_signed(&node, &ShardHash::of(garbage), garbage).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("malformed batch"), "{text}");
    assert_eq!(node.client().stats().await.unwrap().shards, 0);
    node.stop().await;
}

#[tokio::test]
async fn a_batch_over_the_nodes_body_cap_goes_shard_by_shard() {
    let node = common::start_in(tempfile::tempdir().unwrap(), 10_000).await;
    let client = node.client();
    // 20 KB together, each under the node's 10 KB cap.
    let items: Vec<ShardItem> = (1..6u8).map(|n| item(n, 4000)).collect();
    let outcomes = client.put_shards(&items).await.unwrap();
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    for item in &items {
        let read = client
            .get_shard(&item.key.chunk, item.key.index)
            .await
            .unwrap();
        assert_eq!(read, item.payload);
    }
    node.stop().await;
}

#[test]
fn the_store_commits_a_batch_once_and_refuses_a_damaged_shard_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = floe_node::ShardStore::open(dir.path()).unwrap();
    let mut items: Vec<ShardItem> = (1..9u8).map(|n| item(n, 700 * usize::from(n))).collect();
    items[3].payload = Bytes::from(vec![0u8; items[3].payload.len()]);
    let before = store.pack_figures();
    let outcomes = store.put_batch(&items);
    for (i, outcome) in outcomes.iter().enumerate() {
        assert_eq!(outcome.is_err(), i == 3, "{i}: {outcome:?}");
    }
    let after = store.pack_figures();
    assert_eq!(after.commits, before.commits + 1);
    assert_eq!(after.changes, before.changes + 7);
    for (i, item) in items.iter().enumerate() {
        match store.get(&item.key) {
            Ok(read) if i != 3 => assert_eq!(read.payload, item.payload),
            Err(floe_node::StoreError::NotFound) if i == 3 => {}
            other => panic!("{i}: {other:?}"),
        }
    }
}

/// Puts and batches that overlap on a two-worker runtime: some are committed on the worker
/// that received them, the rest, finding a commit running, on blocking threads. Every shard
/// lands once, byte-exact, and the commits carried them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_puts_and_batches_all_land_whichever_thread_commits_them() {
    let node = start().await;
    let client = node.client();
    let before = node.state.store().pack_figures();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..48u8 {
        let client = client.clone();
        tasks.spawn(async move {
            let shard = item(n, 1000 + usize::from(n) * 300);
            client
                .put_shard(
                    &shard.key.chunk,
                    shard.key.index,
                    &shard.hash,
                    shard.payload,
                )
                .await
                .map(|_| ())
        });
    }
    for b in 0..8u8 {
        let client = client.clone();
        tasks.spawn(async move {
            let items: Vec<ShardItem> = (0..4).map(|i| item(100 + b * 4 + i, 2000)).collect();
            for outcome in client.put_shards(&items).await? {
                outcome?;
            }
            Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    let ids: Vec<(u8, usize)> = (0..48u8)
        .map(|n| (n, 1000 + usize::from(n) * 300))
        .chain((100..132).map(|n| (n, 2000)))
        .collect();
    for (n, len) in &ids {
        let expected = item(*n, *len);
        let got = client
            .get_shard(&expected.key.chunk, expected.key.index)
            .await
            .unwrap();
        assert_eq!(got, expected.payload, "shard {n}");
    }
    let after = node.state.store().pack_figures();
    assert_eq!(after.shards - before.shards, ids.len() as u64);
    assert_eq!(after.changes - before.changes, ids.len() as u64);
    // At most one commit per request: 48 puts and 8 batches.
    assert!(after.commits > before.commits);
    assert!(after.commits - before.commits <= 48 + 8);
    node.stop().await;
}
