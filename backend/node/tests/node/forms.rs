//! Packed shards and shard files side by side in one data directory, as a node finds them after
//! its pack threshold changed (or after an upgrade from files only): every read, listing, stat
//! and delete sees both, and a key held both ways counts once.

use crate::common;

use common::{key, shard};
use floe_node::{ShardStore, StoreError};

fn list_all(store: &ShardStore, limit: u32) -> Vec<floe_node::ShardKey> {
    let mut keys = Vec::new();
    let mut after = None;
    loop {
        let page = store.list(after.as_ref(), limit).unwrap();
        assert!(page.shards.len() <= limit as usize);
        keys.extend(page.shards.iter().map(|s| s.key));
        match page.next_after {
            Some(next) => after = Some(next),
            None => return keys,
        }
    }
}

#[test]
fn files_and_packs_are_one_store() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    // Files only: keys 1, 3 and 5.
    let store = ShardStore::open_with(&root, 0).unwrap();
    for n in [1u8, 3, 5] {
        let (bytes, hash) = shard(n, 1000 + usize::from(n));
        store.put(&key(n, 0), &hash, &bytes).unwrap();
    }
    drop(store);

    // Packing again: keys 2 and 4 are packed; 3 is already there as a file.
    let store = ShardStore::open(&root).unwrap();
    for n in [2u8, 3, 4] {
        let (bytes, hash) = shard(n, 1000 + usize::from(n));
        let outcome = store.put(&key(n, 0), &hash, &bytes).unwrap();
        assert_eq!(
            outcome == floe_node::store::PutOutcome::AlreadyPresent,
            n == 3
        );
    }
    assert!(
        store
            .on_disk(&key(2, 0))
            .unwrap()
            .path
            .starts_with(root.join("packs"))
    );
    assert!(
        store
            .on_disk(&key(3, 0))
            .unwrap()
            .path
            .starts_with(root.join("shards"))
    );
    // Key 5's file rots; a put of it writes a good packed copy in its place.
    let file = store.on_disk(&key(5, 0)).unwrap();
    common::flip(&file.path, file.payload_at + 3, 0x08);
    let (bytes, hash) = shard(5, 1005);
    store.put(&key(5, 0), &hash, &bytes).unwrap();
    assert!(
        store
            .on_disk(&key(5, 0))
            .unwrap()
            .path
            .starts_with(root.join("packs"))
    );
    assert!(!file.path.exists(), "the rotten file went");
    assert_eq!(store.get(&key(5, 0)).unwrap().payload, bytes);

    let all: Vec<_> = (1..=5).map(|n| key(n, 0)).collect();
    for limit in [1, 2, 3, 1000] {
        assert_eq!(list_all(&store, limit), all, "pages of {limit}");
    }
    let stats = store.stats().unwrap();
    assert_eq!(stats.shards, 5);

    for n in 1..=5u8 {
        let (bytes, _) = shard(n, 1000 + usize::from(n));
        assert_eq!(store.get(&key(n, 0)).unwrap().payload, bytes, "key {n}");
        assert_eq!(
            store.head(&key(n, 0)).unwrap().unwrap().len,
            bytes.len() as u64
        );
    }
    for n in [3u8, 4, 5] {
        assert!(store.delete(&key(n, 0)).unwrap());
        assert!(matches!(store.get(&key(n, 0)), Err(StoreError::NotFound)));
        assert_eq!(store.on_disk(&key(n, 0)), None, "key {n} left nowhere");
    }
    assert_eq!(list_all(&store, 2), [key(1, 0), key(2, 0)]);
    drop(store);
    let store = ShardStore::open(&root).unwrap();
    assert_eq!(list_all(&store, 1000), [key(1, 0), key(2, 0)]);
    assert_eq!(store.stats().unwrap().shards, 2);
}
