//! A node's packed shards under kill -9: eight writers put shards of many sizes (most packed,
//! some of 1 MiB or more in files of their own) and delete some of them again, all at once,
//! until the node is killed. After it restarts every put it acknowledged reads back byte-exact
//! unless an acknowledged delete followed, no acknowledged delete came back, the listing and
//! the stats agree with what is there, and the node takes writes again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use floe_codec::{ChunkId, ShardHash};
use floe_node::NodeClient;

use crate::support::cluster::{LocalCluster, no_retry_options, pattern};

const WRITERS: u64 = 8;

fn chunk(n: u64) -> ChunkId {
    let mut id = [0u8; 32];
    id[..8].copy_from_slice(&n.to_be_bytes());
    ChunkId::from_bytes(id)
}

/// Shard `n`'s bytes: derived from `n`, so whatever is found can be checked. Every 16th is
/// 1 MiB or more (a file); the rest are packed, from 1 byte up.
fn body(n: u64) -> Bytes {
    let len = if n % 16 == 15 {
        (1 << 20) + (n as usize % 3000)
    } else {
        1 + (n as usize * 7919) % 300_000
    };
    Bytes::from(pattern(len, n))
}

/// What the node acknowledged about shard `n`: stored, stored with a delete in flight, or
/// deleted after it was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Acked {
    Stored,
    Deleting,
    Deleted,
}

async fn write(client: NodeClient, writer: u64, acked: Arc<Mutex<HashMap<u64, Acked>>>) {
    for round in 0u64.. {
        let n = round * WRITERS + writer;
        let bytes = body(n);
        let hash = ShardHash::of(&bytes);
        if client.put_shard(&chunk(n), 0, &hash, bytes).await.is_err() {
            return;
        }
        acked.lock().unwrap().insert(n, Acked::Stored);
        // Every third shard goes again, two puts later.
        if round >= 2 && (round - 2) % 3 == 0 {
            let gone = (round - 2) * WRITERS + writer;
            acked.lock().unwrap().insert(gone, Acked::Deleting);
            if client.delete_shard(&chunk(gone), 0).await.is_err() {
                return;
            }
            acked.lock().unwrap().insert(gone, Acked::Deleted);
        }
    }
    unreachable!("the node is killed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_shards_survive_kill_9_and_deletes_stay_deleted() {
    let mut cluster = LocalCluster::start(1);
    let acked: Arc<Mutex<HashMap<u64, Acked>>> = Arc::default();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let client = cluster.clients(no_retry_options()).remove(0);
            tokio::spawn(write(client, w, acked.clone()))
        })
        .collect();
    // About 120 MB: past the first pack segment (64 MiB) into the next.
    while acked.lock().unwrap().len() < 800 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    cluster.nodes[0].kill();
    // Each writer stops at its first failed request.
    for writer in writers {
        writer.await.unwrap();
    }

    cluster.nodes[0].restart().expect("node restarts");
    let client = cluster.clients(no_retry_options()).remove(0);
    let acked = acked.lock().unwrap().clone();
    let (mut stored, mut deleting, mut deleted) = (0, 0, 0);
    for (&n, &state) in &acked {
        match (state, client.get_shard(&chunk(n), 0).await) {
            (Acked::Stored | Acked::Deleting, Ok(bytes)) => {
                assert!(bytes == body(n), "shard {n} differs");
                stored += usize::from(state == Acked::Stored);
                deleting += usize::from(state == Acked::Deleting);
            }
            // A delete the kill interrupted may or may not have been made durable.
            (Acked::Deleting, Err(floe_node::ClientError::NotFound)) => {}
            (Acked::Stored, Err(e)) => panic!("acknowledged shard {n} lost: {e}"),
            (Acked::Deleted, Err(floe_node::ClientError::NotFound)) => deleted += 1,
            (_, other) => panic!("deleted shard {n} came back: {other:?}"),
        }
    }
    println!(
        "after kill -9: {stored} acknowledged shards intact, {deleted} acknowledged deletes kept"
    );
    assert!(deleted > 50, "only {deleted} deletes acknowledged");

    // Listing and stats count the same shards: the acknowledged ones, plus puts and deletes in
    // flight at the kill that made it to disk (never an acknowledged delete, checked above).
    let mut listed = Vec::new();
    let mut after = None;
    loop {
        let page = client.list_shards(after.as_ref(), 1000).await.unwrap();
        listed.extend(page.shards.iter().map(|s| s.key));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert!(
        listed.windows(2).all(|w| w[0] < w[1]),
        "listed in key order, once each"
    );
    let stats = client.stats().await.unwrap();
    assert_eq!(stats.shards, listed.len() as u64);
    assert!(listed.len() >= stored + deleting);
    assert!(listed.len() <= stored + deleting + WRITERS as usize);

    // And it takes writes again.
    let bytes = body(1_000_000);
    let hash = ShardHash::of(&bytes);
    client
        .put_shard(&chunk(1_000_000), 0, &hash, bytes.clone())
        .await
        .unwrap();
    assert!(client.get_shard(&chunk(1_000_000), 0).await.unwrap() == bytes);
}
