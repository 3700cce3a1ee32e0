//! What the node does with bad bytes: refused puts, rotten files, crash debris, restarts.

use crate::common;

use std::fs;

use common::{Form, chunk, damage_payload, flip, key, shard, start, start_in, start_storing};
use floe_node::{ClientError, ShardStore, StoreError};

fn names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn wrong_hash_is_refused_and_nothing_stored() {
    let node = start().await;
    let client = node.client();
    let (bytes, _) = shard(1, 512);
    let (_, other_hash) = shard(2, 512);
    let err = client
        .put_shard(&chunk(1), 0, &other_hash, bytes)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::HashMismatch), "{err:?}");
    assert!(!err.is_transient());
    assert!(matches!(
        client.get_shard(&chunk(1), 0).await,
        Err(ClientError::NotFound)
    ));
    assert_eq!(client.stats().await.unwrap().shards, 0);
    let layout = node.state.store().layout();
    assert!(names(&layout.tmp_dir()).is_empty());
    assert_eq!(node.state.store().on_disk(&key(1, 0)), None);
    node.stop().await;
}

#[tokio::test]
async fn rotten_packed_shard_is_quarantined_and_never_served() {
    rotten_shard_is_quarantined_and_never_served(Form::Default).await;
}

#[tokio::test]
async fn rotten_shard_file_is_quarantined_and_never_served() {
    rotten_shard_is_quarantined_and_never_served(Form::Files).await;
}

async fn rotten_shard_is_quarantined_and_never_served(form: Form) {
    let node = start_storing(tempfile::tempdir().unwrap(), u64::MAX, form).await;
    let client = node.client();
    let (bytes, hash) = shard(9, 2048);
    client.put_shard(&chunk(6), 3, &hash, bytes).await.unwrap();
    let place = node.state.store().on_disk(&key(6, 3)).unwrap();
    assert_eq!(
        place
            .path
            .starts_with(node.state.store().layout().shards_dir()),
        form == Form::Files
    );
    damage_payload(&node, &key(6, 3), 1000, 0x01);

    assert!(matches!(
        client.get_shard(&chunk(6), 3).await,
        Err(ClientError::Corrupt)
    ));
    assert_eq!(
        node.state.store().on_disk(&key(6, 3)),
        None,
        "rotten copy must be dropped"
    );
    let quarantine = names(&node.state.store().layout().quarantine_dir());
    assert_eq!(quarantine.len(), 1);
    assert!(
        quarantine[0].starts_with(&key(6, 3).to_string()),
        "{quarantine:?}"
    );

    assert!(matches!(
        client.get_shard(&chunk(6), 3).await,
        Err(ClientError::NotFound)
    ));
    let stats = client.stats().await.unwrap();
    assert_eq!(stats.quarantined, 1);
    assert_eq!(stats.corrupt_reads, 1);
    assert_eq!((stats.shards, stats.bytes), (0, 0));

    // The quarantine count survives a restart (corrupt_reads is per process), and the dropped
    // copy stays dropped.
    let dir = node.stop().await;
    let node = start_storing(dir, u64::MAX, form).await;
    let stats = node.client().stats().await.unwrap();
    assert_eq!((stats.quarantined, stats.corrupt_reads), (1, 0));
    assert_eq!((stats.shards, stats.bytes), (0, 0));
    assert!(matches!(
        node.client().get_shard(&chunk(6), 3).await,
        Err(ClientError::NotFound)
    ));
    node.stop().await;
}

#[tokio::test]
async fn damaged_header_is_caught_by_head() {
    for form in [Form::Default, Form::Files] {
        let node = start_storing(tempfile::tempdir().unwrap(), u64::MAX, form).await;
        let client = node.client();
        let (bytes, hash) = shard(4, 300);
        client.put_shard(&chunk(7), 0, &hash, bytes).await.unwrap();
        let place = node.state.store().on_disk(&key(7, 0)).unwrap();
        flip(&place.path, place.header_at + 2, 0x20); // inside the magic
        assert!(
            matches!(
                client.head_shard(&chunk(7), 0).await,
                Err(ClientError::Corrupt)
            ),
            "{form:?}"
        );
        assert_eq!(client.head_shard(&chunk(7), 0).await.unwrap(), None);
        node.stop().await;
    }
}

#[tokio::test]
async fn re_put_repairs_a_rotten_copy() {
    for form in [Form::Default, Form::Files] {
        let node = start_storing(tempfile::tempdir().unwrap(), u64::MAX, form).await;
        let client = node.client();
        let (bytes, hash) = shard(5, 1024);
        client
            .put_shard(&chunk(8), 1, &hash, bytes.clone())
            .await
            .unwrap();
        damage_payload(&node, &key(8, 1), 0, 0xff);

        client
            .put_shard(&chunk(8), 1, &hash, bytes.clone())
            .await
            .unwrap();
        assert_eq!(client.get_shard(&chunk(8), 1).await.unwrap(), bytes);
        let stats = client.stats().await.unwrap();
        assert_eq!(
            (stats.shards, stats.bytes, stats.corrupt_reads),
            (1, 1024, 0),
            "{form:?}"
        );
        node.stop().await;
    }
}

#[tokio::test]
async fn restart_sweeps_temp_debris_and_recounts() {
    for form in [Form::Default, Form::Files] {
        let node = start_storing(tempfile::tempdir().unwrap(), u64::MAX, form).await;
        let client = node.client();
        for i in 0..3u16 {
            let (bytes, hash) = shard(i as u8, 100 * (i as usize + 1));
            client.put_shard(&chunk(2), i, &hash, bytes).await.unwrap();
        }
        let layout = node.state.store().layout().clone();
        let dir = node.stop().await;

        // What a kill -9 mid-write leaves behind: a half-written temp file, never renamed.
        fs::write(
            layout.tmp_dir().join(format!("{}.0.tmp", key(2, 9))),
            b"FLSHRD\0\x01partial",
        )
        .unwrap();
        // And a stray non-shard file in the tree, which must not be counted.
        fs::create_dir_all(layout.shards_dir().join("02")).unwrap();
        fs::write(layout.shards_dir().join("02").join("notes.txt"), b"x").unwrap();

        let node = start_storing(dir, u64::MAX, form).await;
        assert!(
            names(&layout.tmp_dir()).is_empty(),
            "temp debris must be swept"
        );
        let stats = node.client().stats().await.unwrap();
        assert_eq!((stats.shards, stats.bytes), (3, 600), "{form:?}");
        let page = node.client().list_shards(None, 10).await.unwrap();
        assert_eq!(page.shards.len(), 3);
        node.stop().await;
    }
}

#[tokio::test]
async fn a_data_dir_serves_one_node_at_a_time() {
    let node = start().await;
    let root = node.state.store().layout().root().to_path_buf();
    assert!(matches!(
        ShardStore::open(&root),
        Err(StoreError::Locked(_))
    ));
    let dir = node.stop().await;
    drop(ShardStore::open(&dir.path().join("data")).unwrap());
}

#[tokio::test]
async fn oversize_put_is_refused_with_413() {
    let node = start_in(tempfile::tempdir().unwrap(), 1000).await;
    let client = node.client();
    let (big, big_hash) = shard(1, 1001);
    let err = client
        .put_shard(&chunk(1), 0, &big_hash, big.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Protocol(ref m) if m.contains("413")),
        "{err:?}"
    );

    // Also when the size is not announced up front (chunked body).
    let pq = key(1, 0).path();
    let mut head = format!(
        "PUT {pq} HTTP/1.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\nx-floe-shard-hash: {big_hash}\r\n"
    );
    let date = floe_node::auth::unix_now();
    let sig = floe_node::sign(
        &common::secret(),
        "PUT",
        &pq,
        date,
        Some(&big_hash.to_hex()),
    );
    head.push_str(&format!(
        "x-floe-date: {date}\r\nx-floe-signature: {sig}\r\n\r\n"
    ));
    let mut body = format!("{:x}\r\n", big.len()).into_bytes();
    body.extend_from_slice(&big);
    body.extend_from_slice(b"\r\n0\r\n\r\n");
    let mut stream = tokio::net::TcpStream::connect(node.addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(head.as_bytes()).await.unwrap();
    let _ = stream.write_all(&body).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    assert!(
        response.starts_with(b"HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&response)
    );

    let (small, small_hash) = shard(1, 1000);
    client
        .put_shard(&chunk(1), 0, &small_hash, small)
        .await
        .unwrap();
    node.stop().await;
}
