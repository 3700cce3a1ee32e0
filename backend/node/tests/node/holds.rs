//! Retention holds through `NodeClient` against a real in-process node: a held chunk's shards
//! refuse deletion (423) until the hold's date, even across a restart; a moved shard goes.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::common;

use common::{chunk, shard, start, start_in};
use floe_node::ClientError;
use floe_node::protocol::HoldItem;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn a_held_chunk_keeps_its_shards_until_the_date() {
    let node = start().await;
    let client = node.client();
    for c in [1, 2] {
        for index in 0..2 {
            let (bytes, hash) = shard(c + index, 1000);
            client
                .put_shard(&chunk(c), index.into(), &hash, bytes)
                .await
                .unwrap();
        }
    }
    let hour = now_ms() + 3_600_000;
    client
        .raise_holds(&[
            HoldItem {
                chunk: chunk(1),
                until: hour,
            },
            // Already over: holds nothing.
            HoldItem {
                chunk: chunk(2),
                until: now_ms() - 1,
            },
        ])
        .await
        .unwrap();
    // An earlier date never shortens a hold.
    client
        .raise_holds(&[HoldItem {
            chunk: chunk(1),
            until: now_ms() + 1000,
        }])
        .await
        .unwrap();
    assert_eq!(client.hold(&chunk(1)).await.unwrap(), Some(hour));
    assert_eq!(client.hold(&chunk(2)).await.unwrap(), None);

    let refused = client.delete_shard(&chunk(1), 0).await;
    match refused {
        Err(ClientError::Held(why)) => assert!(why.contains("retention hold"), "{why}"),
        other => panic!("a held shard was not refused: {other:?}"),
    }
    assert!(client.get_shard(&chunk(1), 0).await.is_ok(), "still there");
    assert!(
        client.delete_shard(&chunk(2), 0).await.unwrap(),
        "unheld chunks go"
    );

    // The hold survives a restart of the node.
    let dir = node.stop().await;
    let node = start_in(dir, 1 << 20).await;
    let client = node.client();
    assert_eq!(client.hold(&chunk(1)).await.unwrap(), Some(hour));
    assert!(client.delete_shard(&chunk(1), 1).await.is_err());
    // A shard whose hold moved with it to another node (drain) may go.
    assert!(client.delete_moved_shard(&chunk(1), 1).await.unwrap());
    node.stop().await;
}
