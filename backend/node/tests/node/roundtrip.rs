//! Put/get/head/delete/list through `NodeClient` against a real in-process node.

use crate::common;

use common::{chunk, key, raw, shard, start};
use floe_codec::ChunkId;
use floe_node::{ClientError, ShardEntry, ShardInfo, ShardKey};

#[tokio::test]
async fn put_get_head_delete_round_trip() {
    let node = start().await;
    let client = node.client();
    let (bytes, hash) = shard(1, 4096);

    assert_eq!(client.head_shard(&chunk(1), 0).await.unwrap(), None);
    assert!(matches!(
        client.get_shard(&chunk(1), 0).await,
        Err(ClientError::NotFound)
    ));

    client
        .put_shard(&chunk(1), 0, &hash, bytes.clone())
        .await
        .unwrap();
    assert_eq!(client.get_shard(&chunk(1), 0).await.unwrap(), bytes);
    assert_eq!(
        client.head_shard(&chunk(1), 0).await.unwrap(),
        Some(ShardInfo { len: 4096, hash })
    );
    // Same chunk, other index: a different shard.
    assert!(matches!(
        client.get_shard(&chunk(1), 1).await,
        Err(ClientError::NotFound)
    ));

    // Idempotent re-put: succeeds, still one shard.
    client
        .put_shard(&chunk(1), 0, &hash, bytes.clone())
        .await
        .unwrap();
    let stats = client.stats().await.unwrap();
    assert_eq!((stats.shards, stats.bytes), (1, 4096));
    assert!(stats.total_bytes > 0 && stats.free_bytes <= stats.total_bytes);

    assert!(client.delete_shard(&chunk(1), 0).await.unwrap());
    assert!(
        !client.delete_shard(&chunk(1), 0).await.unwrap(),
        "delete is idempotent"
    );
    assert!(matches!(
        client.get_shard(&chunk(1), 0).await,
        Err(ClientError::NotFound)
    ));
    let stats = client.stats().await.unwrap();
    assert_eq!((stats.shards, stats.bytes), (0, 0));
    node.stop().await;
}

#[tokio::test]
async fn overwrite_with_different_content_keeps_counts_exact() {
    let node = start().await;
    let client = node.client();
    let (a, ha) = shard(1, 100);
    let (b, hb) = shard(2, 60);
    client.put_shard(&chunk(3), 2, &ha, a).await.unwrap();
    client
        .put_shard(&chunk(3), 2, &hb, b.clone())
        .await
        .unwrap();
    assert_eq!(client.get_shard(&chunk(3), 2).await.unwrap(), b);
    let stats = client.stats().await.unwrap();
    assert_eq!((stats.shards, stats.bytes), (1, 60));
    node.stop().await;
}

#[tokio::test]
async fn ranges() {
    let node = start().await;
    let client = node.client();
    let (bytes, hash) = shard(7, 1000);
    client
        .put_shard(&chunk(2), 5, &hash, bytes.clone())
        .await
        .unwrap();

    let got = client.get_shard_range(&chunk(2), 5, 10, 19).await.unwrap();
    assert_eq!(got, bytes.slice(10..20));
    let tail = client
        .get_shard_range(&chunk(2), 5, 990, 5000)
        .await
        .unwrap();
    assert_eq!(tail, bytes.slice(990..));
    let one = client.get_shard_range(&chunk(2), 5, 0, 0).await.unwrap();
    assert_eq!(one, bytes.slice(0..1));
    assert!(matches!(
        client.get_shard_range(&chunk(2), 5, 1000, 1001).await,
        Err(ClientError::Protocol(_))
    ));
    assert!(matches!(
        client.get_shard_range(&chunk(2), 5, 5, 4).await,
        Err(ClientError::Protocol(_))
    ));
    assert!(matches!(
        client.get_shard_range(&chunk(9), 5, 0, 4).await,
        Err(ClientError::NotFound)
    ));

    // The headers, seen raw: 206 with Content-Range, open-ended and suffix forms.
    let pq = key(2, 5).path();
    let head = format!(
        "GET {pq} HTTP/1.1\r\nRange: bytes=-4\r\n{}",
        common::signed_lines("GET", &pq)
    );
    let (status, text) = raw(node.addr, &head, b"").await;
    assert_eq!(status, 206);
    assert!(
        text.to_ascii_lowercase()
            .contains("content-range: bytes 996-999/1000"),
        "{text}"
    );
    let head = format!(
        "GET {pq} HTTP/1.1\r\nRange: bytes=2000-\r\n{}",
        common::signed_lines("GET", &pq)
    );
    let (status, text) = raw(node.addr, &head, b"").await;
    assert_eq!(status, 416);
    assert!(
        text.to_ascii_lowercase()
            .contains("content-range: bytes */1000"),
        "{text}"
    );
    node.stop().await;
}

#[tokio::test]
async fn empty_shard_is_a_valid_shard() {
    let node = start().await;
    let client = node.client();
    let (bytes, hash) = shard(0, 0);
    client.put_shard(&chunk(4), 0, &hash, bytes).await.unwrap();
    assert!(client.get_shard(&chunk(4), 0).await.unwrap().is_empty());
    assert_eq!(
        client
            .head_shard(&chunk(4), 0)
            .await
            .unwrap()
            .map(|i| i.len),
        Some(0)
    );
    node.stop().await;
}

#[tokio::test]
async fn list_paginates_in_key_order() {
    let node = start().await;
    let client = node.client();
    let mut expected = Vec::new();
    // Indices past 9 check numeric, not textual, order; two chunks share the "10" prefix dir.
    let mut sibling = [0x10; 32];
    sibling[31] = 0x11;
    let chunks = [
        chunk(0x10),
        chunk(0x01),
        chunk(0xff),
        ChunkId::from_bytes(sibling),
    ];
    for id in chunks {
        for index in [0u16, 2, 10, 11, 3, 1] {
            let (bytes, hash) = shard(index as u8, 10 + index as usize);
            client.put_shard(&id, index, &hash, bytes).await.unwrap();
            expected.push(ShardEntry {
                key: ShardKey::new(id, index),
                len: 10 + index as u64,
                modified: 0,
            });
        }
    }
    expected.sort_by_key(|e| e.key);
    assert_eq!(expected.len(), 24);

    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = client.list_shards(after.as_ref(), 7).await.unwrap();
        assert!(page.shards.len() <= 7);
        pages += 1;
        // Modification times are checked in tests/scrub.rs; here only keys and lengths.
        seen.extend(
            page.shards
                .into_iter()
                .map(|e| ShardEntry { modified: 0, ..e }),
        );
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 4);
    assert_eq!(seen, expected);

    let all = client.list_shards(None, 100).await.unwrap();
    assert!(all.shards.iter().all(|e| e.modified > 0));
    let all_keys: Vec<_> = all.shards.iter().map(|e| (e.key, e.len)).collect();
    let expected_keys: Vec<_> = expected.iter().map(|e| (e.key, e.len)).collect();
    assert_eq!(all_keys, expected_keys);
    assert_eq!(all.next_after, None);
    let after_last = client
        .list_shards(Some(&expected[23].key), 10)
        .await
        .unwrap();
    assert!(after_last.shards.is_empty() && after_last.next_after.is_none());
    node.stop().await;
}

#[tokio::test]
async fn health_needs_no_signature() {
    let node = start().await;
    let (status, text) = raw(node.addr, "GET /v1/health HTTP/1.1\r\n", b"").await;
    assert_eq!(status, 200);
    assert!(text.ends_with("ok"), "{text}");
    node.client().health().await.unwrap();
    node.stop().await;
}

#[tokio::test]
async fn head_reports_length_without_body() {
    let node = start().await;
    let (bytes, hash) = shard(3, 777);
    node.client()
        .put_shard(&chunk(5), 1, &hash, bytes)
        .await
        .unwrap();
    let pq = key(5, 1).path();
    let head = format!(
        "HEAD {pq} HTTP/1.1\r\n{}",
        common::signed_lines("HEAD", &pq)
    );
    let (status, text) = raw(node.addr, &head, b"").await;
    assert_eq!(status, 200);
    let lower = text.to_ascii_lowercase();
    assert!(lower.contains("content-length: 777"), "{text}");
    assert!(
        lower.contains(&format!("x-floe-shard-hash: {hash}")),
        "{text}"
    );
    assert!(
        text.ends_with("\r\n\r\n"),
        "HEAD must not carry a body: {text}"
    );
    node.stop().await;
}

/// A node tells its clock (the `Date` of its answers), which a gateway compares with its own
/// before it judges object lock retention by it.
#[tokio::test]
async fn the_node_tells_its_clock() {
    let node = start().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let clock = node.client().clock().await.unwrap().expect("a Date header");
    assert!(
        (clock - now).abs() <= 2,
        "node says {clock}, this machine {now}"
    );
    node.stop().await;
}
