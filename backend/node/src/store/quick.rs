//! Shard puts finished on the async worker that received them, when that is quick.
//!
//! A node used to hand every put to a blocking thread and wait for it. With the small shards of
//! small objects, those hand-offs (a blocking thread woken, the worker parked, then woken
//! again) cost a node more CPU than the append itself. A put (a single put is a batch of one)
//! now stays on its worker when it is one uncontended append to the packs: payloads small
//! enough to hash there, packed, with no copy of their keys on disk, and no other commit
//! running or queued (see
//! [`ShardPacks::put_many_if_idle`](crate::packs::ShardPacks::put_many_if_idle)). The worker
//! then blocks only for the write and sync of its own bytes. Anything else (a file shard, a
//! re-put that must read the stored copy, a commit running or queued, a compaction due, an
//! append that starts a segment or writes zeros ahead) goes to a blocking thread as before,
//! with the hash checks already done kept.

use super::{PutOutcome, ShardStore, StoreError, check_hash};
use crate::protocol::{ShardItem, ShardKey};

/// Most payload bytes (of a put, or of a batch in total) hashed on the async worker: about
/// 65 µs of blake3. Anything larger goes to a blocking thread whole.
pub const QUICK_MAX_BYTES: usize = 256 << 10;
/// Most shards of a batch put on the async worker, which looks up each one's file.
const QUICK_MAX_SHARDS: usize = 64;

/// What [`ShardStore::put_batch_quick`] did.
#[derive(Debug)]
pub enum QuickBatch {
    /// Finished: one outcome per shard, in order.
    Done(Vec<Result<PutOutcome, StoreError>>),
    /// Not quick: [`ShardStore::put_batch_slow`] finishes it on a blocking thread.
    Slow(SlowBatch),
}

/// A batch left for a blocking thread.
#[derive(Debug)]
pub struct SlowBatch {
    items: Vec<ShardItem>,
    /// Each item's hash check, when done on the worker.
    checks: Option<Vec<Result<(), StoreError>>>,
}

impl ShardStore {
    /// [`put_batch`](Self::put_batch) on the calling async worker, if it is quick (see the
    /// module docs): every shard whose hash checks out is packed in one commit. A single put
    /// is a batch of one.
    pub fn put_batch_quick(&self, items: Vec<ShardItem>) -> QuickBatch {
        let total: usize = items.iter().map(|item| item.payload.len()).sum();
        if total > QUICK_MAX_BYTES || items.len() > QUICK_MAX_SHARDS {
            return QuickBatch::Slow(SlowBatch {
                items,
                checks: None,
            });
        }
        let checks: Vec<Result<(), StoreError>> = items
            .iter()
            .map(|item| check_hash(&item.hash, &item.payload))
            .collect();
        let good = || items.iter().zip(&checks).filter(|(_, c)| c.is_ok());
        if !good().all(|(item, _)| self.may_pack_quickly(&item.key, &item.payload)) {
            return QuickBatch::Slow(SlowBatch {
                items,
                checks: Some(checks),
            });
        }
        let shards: Vec<_> = good()
            .map(|(item, _)| (item.key, item.hash, item.payload.clone()))
            .collect();
        let committed = if shards.is_empty() {
            Ok(())
        } else {
            match self.packs.put_many_if_idle(&shards) {
                Some(result) => result,
                None => {
                    return QuickBatch::Slow(SlowBatch {
                        items,
                        checks: Some(checks),
                    });
                }
            }
        };
        QuickBatch::Done(
            checks
                .into_iter()
                .map(|check| {
                    check?;
                    match &committed {
                        Ok(()) => Ok(PutOutcome::Stored),
                        Err(e) => Err(e.for_another()),
                    }
                })
                .collect(),
        )
    }

    /// Finishes on a blocking thread a batch [`put_batch_quick`](Self::put_batch_quick) left.
    pub fn put_batch_slow(&self, batch: SlowBatch) -> Vec<Result<PutOutcome, StoreError>> {
        match batch.checks {
            Some(checks) => self.put_batch_checked(&batch.items, checks),
            None => self.put_batch(&batch.items),
        }
    }

    /// Whether shard `key` is packed and has no file that a put must look at first. A file
    /// present (or a lookup that failed) sends the put the slow way, which reads or removes it.
    fn may_pack_quickly(&self, key: &ShardKey, payload: &[u8]) -> bool {
        (payload.len() as u64) < self.pack_below
            && matches!(
                std::fs::symlink_metadata(self.layout.shard_path(key)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use floe_codec::{ChunkId, ShardHash};

    /// Shards under this are packed in these tests.
    const PACK_BELOW: u64 = 64 << 10;

    /// A store whose packs have a segment with room: a node's first packed put starts one,
    /// which is never quick.
    fn store() -> (tempfile::TempDir, ShardStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = ShardStore::open_with(dir.path(), PACK_BELOW).unwrap();
        let first = item(200, 100);
        store
            .put_bytes(&first.key, &first.hash, first.payload)
            .unwrap();
        (dir, store)
    }

    fn key(n: u8) -> ShardKey {
        ShardKey::new(ChunkId::from_bytes([n; 32]), u16::from(n % 6))
    }

    fn payload(n: u8, len: usize) -> Bytes {
        Bytes::from(floe_testkit::pattern(len, u64::from(n)))
    }

    fn item(n: u8, len: usize) -> ShardItem {
        let payload = payload(n, len);
        ShardItem {
            key: key(n),
            hash: ShardHash::of(&payload),
            payload,
        }
    }

    fn damaged(n: u8, len: usize) -> ShardItem {
        let mut item = item(n, len);
        item.hash = ShardHash::of(b"something else");
        item
    }

    fn stored(store: &ShardStore, n: u8) -> Option<Bytes> {
        match store.get(&key(n)) {
            Ok(shard) => Some(shard.payload),
            Err(StoreError::NotFound) => None,
            Err(e) => panic!("{e}"),
        }
    }

    fn packed(store: &ShardStore, n: u8) -> bool {
        store.packs.locate(&key(n)).is_some()
    }

    /// A single put the quick way: its outcome, or what it left for a blocking thread.
    fn quick(
        store: &ShardStore,
        item: ShardItem,
    ) -> Result<Result<PutOutcome, StoreError>, SlowBatch> {
        match store.put_batch_quick(vec![item]) {
            QuickBatch::Done(mut outcomes) => Ok(outcomes.pop().expect("one outcome")),
            QuickBatch::Slow(rest) => Err(rest),
        }
    }

    /// Finishes a single put on the blocking path.
    fn slow(store: &ShardStore, rest: SlowBatch) -> Result<PutOutcome, StoreError> {
        store.put_batch_slow(rest).pop().expect("one outcome")
    }

    #[test]
    fn a_new_small_shard_is_packed_on_the_calling_thread() {
        let (_dir, store) = store();
        let put = quick(&store, item(1, 16 << 10));
        assert!(matches!(put, Ok(Ok(PutOutcome::Stored))), "{put:?}");
        assert_eq!(stored(&store, 1), Some(payload(1, 16 << 10)));
        assert!(packed(&store, 1));

        let put = quick(&store, damaged(2, 1000));
        assert!(
            matches!(put, Ok(Err(StoreError::HashMismatch { .. }))),
            "{put:?}"
        );
        assert_eq!(stored(&store, 2), None);
    }

    #[test]
    fn what_is_not_one_quick_append_goes_to_a_blocking_thread_and_lands_there() {
        let (_dir, store) = store();
        // Packed once already: the slow way reads it and finds it identical.
        assert!(matches!(quick(&store, item(1, 1000)), Ok(Ok(_))));
        // A file shard, a payload too large to hash on a worker, a shard whose key has a
        // file, and a put while another commit runs.
        let file_key_item = item(4, 1000);
        std::fs::create_dir_all(store.layout.prefix_dir(&key(4))).unwrap();
        std::fs::write(store.layout.shard_path(&key(4)), b"a damaged file").unwrap();
        let cases = [
            (1, item(1, 1000), PutOutcome::AlreadyPresent),
            (2, item(2, PACK_BELOW as usize), PutOutcome::Stored),
            (3, item(3, QUICK_MAX_BYTES + 1), PutOutcome::Stored),
            (4, file_key_item, PutOutcome::Stored),
        ];
        for (n, item, outcome) in cases {
            let Err(rest) = quick(&store, item) else {
                panic!("shard {n} went the quick way");
            };
            assert_eq!(slow(&store, rest).unwrap(), outcome, "shard {n}");
        }
        let held = store.packs.hold();
        let busy = quick(&store, item(5, 1000));
        drop(held);
        let Err(rest) = busy else {
            panic!("a put waited for another commit on the worker");
        };
        assert!(rest.checks.is_some());
        assert_eq!(slow(&store, rest).unwrap(), PutOutcome::Stored);

        for (n, len) in [(1, 1000), (2, PACK_BELOW as usize), (5, 1000)] {
            assert_eq!(stored(&store, n), Some(payload(n, len)), "shard {n}");
        }
        assert_eq!(stored(&store, 3), Some(payload(3, QUICK_MAX_BYTES + 1)));
        assert_eq!(stored(&store, 4), Some(payload(4, 1000)));
        assert!(!packed(&store, 2) && !packed(&store, 3), "file shards");
        assert!(packed(&store, 4) && !store.shard_path(&key(4)).exists());
    }

    #[test]
    fn what_is_too_large_for_the_worker_is_checked_on_a_blocking_thread() {
        let (_dir, store) = store();
        let many: Vec<ShardItem> = (0..=QUICK_MAX_SHARDS as u8).map(|n| item(n, 100)).collect();
        let QuickBatch::Slow(rest) = store.put_batch_quick(many) else {
            panic!("a batch of many shards went the quick way");
        };
        assert!(rest.checks.is_none());
        assert!(store.put_batch_slow(rest).iter().all(Result::is_ok));

        let bad = damaged(201, QUICK_MAX_BYTES + 1);
        let Err(rest) = quick(&store, bad) else {
            panic!("a large put went the quick way");
        };
        assert!(rest.checks.is_none());
        assert!(matches!(
            slow(&store, rest),
            Err(StoreError::HashMismatch { .. })
        ));
        assert_eq!(stored(&store, 201), None);
    }

    #[test]
    fn a_quick_batch_gives_each_shard_its_own_outcome_in_one_commit() {
        let (_dir, store) = store();
        let commits = store.packs.figures().commits;
        let QuickBatch::Done(outcomes) =
            store.put_batch_quick(vec![item(1, 1000), damaged(2, 1000), item(3, 4000)])
        else {
            panic!("an idle batch of small new shards went the slow way");
        };
        assert!(matches!(outcomes[0], Ok(PutOutcome::Stored)));
        assert!(matches!(outcomes[1], Err(StoreError::HashMismatch { .. })));
        assert!(matches!(outcomes[2], Ok(PutOutcome::Stored)));
        assert_eq!(store.packs.figures().commits, commits + 1);
        assert_eq!(stored(&store, 1), Some(payload(1, 1000)));
        assert_eq!(stored(&store, 2), None);
        assert_eq!(stored(&store, 3), Some(payload(3, 4000)));
    }

    #[test]
    fn a_batch_that_is_not_quick_keeps_its_checks_on_the_blocking_thread() {
        let (_dir, store) = store();
        store
            .put_bytes(&key(1), &item(1, 1000).hash, payload(1, 1000))
            .unwrap();
        // One shard already packed: the batch goes the slow way whole.
        let batch = vec![item(1, 1000), damaged(2, 1000), item(3, 1000)];
        let QuickBatch::Slow(rest) = store.put_batch_quick(batch) else {
            panic!("a batch with a present shard went the quick way");
        };
        assert!(rest.checks.is_some());
        let outcomes = store.put_batch_slow(rest);
        assert!(matches!(outcomes[0], Ok(PutOutcome::AlreadyPresent)));
        assert!(matches!(outcomes[1], Err(StoreError::HashMismatch { .. })));
        assert!(matches!(outcomes[2], Ok(PutOutcome::Stored)));

        // Too many bytes to hash on a worker: nothing checked there, all checked after.
        let big = vec![
            item(4, QUICK_MAX_BYTES / 2),
            damaged(5, QUICK_MAX_BYTES / 2 + 1),
        ];
        let QuickBatch::Slow(rest) = store.put_batch_quick(big) else {
            panic!("a large batch went the quick way");
        };
        assert!(rest.checks.is_none());
        let outcomes = store.put_batch_slow(rest);
        assert!(matches!(outcomes[0], Ok(PutOutcome::Stored)));
        assert!(matches!(outcomes[1], Err(StoreError::HashMismatch { .. })));
        assert_eq!(stored(&store, 4), Some(payload(4, QUICK_MAX_BYTES / 2)));
        assert_eq!(stored(&store, 5), None);
    }
}
