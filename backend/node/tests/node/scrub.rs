//! The scrub call: it re-verifies every stored shard page by page, quarantines rotten ones and
//! reports them, honours its rate cap, and a second pass finds nothing.

use crate::common;

use std::time::Instant;

use common::{chunk, damage_payload, key, shard, start};
use floe_node::{ClientError, ShardKey};

#[tokio::test]
async fn scrub_finds_every_rotten_shard_once() {
    let node = start().await;
    let client = node.client();
    for n in 0..20u8 {
        for index in 0..3u16 {
            let (bytes, hash) = shard(n.wrapping_add(index as u8), 4096);
            client
                .put_shard(&chunk(n), index, &hash, bytes)
                .await
                .unwrap();
        }
    }
    let rotten = [key(3, 0), key(3, 2), key(11, 1), key(19, 2)];
    for k in &rotten {
        damage_payload(&node, k, 17, 0x40);
    }

    let (mut checked, mut bytes, mut corrupt, mut after, mut calls) = (0, 0, Vec::new(), None, 0);
    loop {
        let report = client.scrub(after.as_ref(), 7, 0).await.unwrap();
        calls += 1;
        checked += report.checked;
        bytes += report.bytes;
        corrupt.extend(report.corrupt);
        match report.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(calls, 9);
    assert_eq!(checked, 60);
    assert_eq!(bytes, 56 * 4096);
    corrupt.sort();
    assert_eq!(corrupt, rotten);
    for k in &rotten {
        assert!(matches!(
            client.get_shard(&k.chunk, k.index).await,
            Err(ClientError::NotFound)
        ));
    }
    let again = client.scrub(None, 1000, 0).await.unwrap();
    assert_eq!((again.checked, again.corrupt.len()), (56, 0));
    assert_eq!(client.stats().await.unwrap().quarantined, 4);

    // Listing entries carry the file's age.
    let page = client.list_shards(None, 1).await.unwrap();
    let now = floe_node::auth::unix_now();
    assert!(page.shards[0].modified + 60 > now && page.shards[0].modified <= now);
    node.stop().await;
}

#[tokio::test]
async fn scrub_respects_its_rate_cap() {
    let node = start().await;
    let client = node.client();
    for n in 0..4u8 {
        let (bytes, hash) = shard(n, 100_000);
        client.put_shard(&chunk(n), 0, &hash, bytes).await.unwrap();
    }
    let started = Instant::now();
    let report = client.scrub(None, 100, 200_000).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(report.checked, 4);
    assert_eq!(report.next_after, None::<ShardKey>);
    // 400 kB at 200 kB/s: the last shard is read at 1.5 s (pacing applies before each read).
    assert!(secs >= 1.4, "{secs}");
    node.stop().await;
}
