//! `ShardPacks`: small shards packed into a segment log (see [`crate::segments`]) instead of a
//! file each.
//!
//! ```text
//! DATA/packs/<seq as 16 hex>.seg    "FLSPAK" segments of shard entries
//! ```
//!
//! A file per shard costs a create, a rename and two fsyncs (file and directory), and on ext4
//! an inode allocation that profiles showed as about a third of a node's CPU on 1 MiB PUTs.
//! A packed shard is one append, and concurrent puts share one `fdatasync`: the first writer
//! to reach the log takes every change queued behind it and commits them together (group
//! commit), so a put returns only once its shard is durable. An entry's version is the unix
//! second it was written, which listing reports as the shard's modification time. Deleted
//! shards leave tombstones, which are not synced on their own (a delete a crash undoes leaves
//! an orphan the garbage collector deletes again, as with a shard file's unsynced unlink);
//! mostly dead segments are compacted after commits.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use floe_codec::ShardHash;

use crate::direct_io::MIN_DIRECT_BYTES;
use crate::protocol::{ShardEntry, ShardKey};
use crate::segments::log::{Change, Log, LogOptions, SEGMENT_TARGET, WrittenPages};
use crate::segments::reader::Located;
use crate::store::StoreError;

/// The packs' directory under the data directory.
pub const PACK_DIR: &str = "packs";
/// Shards of fewer payload bytes than this are packed. A 4 MiB chunk's shards (1 MiB at 4+2)
/// stay files, written around the page cache by direct I/O.
pub const DEFAULT_PACK_BELOW: u64 = 1 << 20;

/// Zeros written ahead of the appends (see `LogOptions::preextend`): one size change and block
/// allocation per 4 MiB of shards instead of one per commit.
const PREEXTEND: u64 = 4 << 20;

/// The outcome a group commit leaves for each change it carried.
type Outcome = Arc<Mutex<Option<Result<(), String>>>>;

/// Changes of one caller waiting for the next group commit, which carries them all or none.
struct Pending {
    changes: Vec<Change<ShardKey>>,
    outcome: Outcome,
}

/// The packed shards of one data directory (the shard store holds the directory lock).
pub struct ShardPacks {
    dir: PathBuf,
    log: Mutex<Log<ShardKey>>,
    /// Changes queued for the next commit; taken whole by whoever commits next.
    queue: Mutex<Vec<Pending>>,
    /// Group commits made, and the changes they carried: their ratio is the batching.
    commits: AtomicU64,
    changes: AtomicU64,
}

impl std::fmt::Debug for ShardPacks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardPacks")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// What the packs hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PackFigures {
    pub shards: u64,
    pub payload_bytes: u64,
    /// Bytes of all pack segments, superseded entries and tombstones included.
    pub log_bytes: u64,
    /// Bytes of the entries (headers included) of the shards held.
    pub live_bytes: u64,
    /// Group commits since the node started, and the puts and deletes they carried.
    pub commits: u64,
    pub changes: u64,
}

impl ShardPacks {
    /// Opens (creating if need be) the packs under `root` and replays them.
    pub fn open(root: &Path) -> Result<ShardPacks, StoreError> {
        Self::open_with(root, SEGMENT_TARGET)
    }

    /// Opens with segments of `segment_target` bytes (small ones let tests reach compaction).
    pub fn open_with(root: &Path, segment_target: u64) -> Result<ShardPacks, StoreError> {
        let dir = root.join(PACK_DIR);
        let options = LogOptions {
            target: segment_target,
            // The page cache keeps what it kept when every shard was a file: small shards,
            // not those that direct I/O wrote around it.
            written: WrittenPages::KeepBelow(MIN_DIRECT_BYTES as u64),
            preextend: PREEXTEND,
            // A delete a crash undoes leaves an unreferenced shard, which the garbage collector
            // deletes again (as a shard file's unlink is not synced either).
            sync_tombstones: false,
        };
        let log = Log::open(&dir, options)?;
        Ok(ShardPacks {
            dir,
            log: Mutex::new(log),
            queue: Mutex::new(Vec::new()),
            commits: AtomicU64::new(0),
            changes: AtomicU64::new(0),
        })
    }

    fn log(&self) -> MutexGuard<'_, Log<ShardKey>> {
        // Every change to the log either completes or is cut back before the lock is released.
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `payload` (whose blake3 the caller has checked is `hash`) as shard `key` and
    /// returns once it is durable.
    pub fn put(&self, key: &ShardKey, hash: &ShardHash, payload: Bytes) -> Result<(), StoreError> {
        self.put_many(vec![(*key, *hash, payload)])
    }

    /// Appends every `(key, hash, payload)` (each payload's blake3 checked by the caller) in
    /// one group commit, and returns once all of them are durable.
    pub fn put_many(&self, shards: Vec<(ShardKey, ShardHash, Bytes)>) -> Result<(), StoreError> {
        self.commit(changes_of(shards))
    }

    /// [`put_many`](Self::put_many) on the calling thread, when that is one write and one sync
    /// of these shards alone: no other commit is running (its `fdatasync` would be waited for),
    /// none is queued (it would join ours), no compaction is due, the append needs no new
    /// segment and no zeros written ahead, and no key is in the packs already (the caller's
    /// checks for a present copy read the disk). Otherwise nothing is written (`None`), and
    /// the caller goes to `put_many` on a blocking thread.
    ///
    /// For an async worker: handing each put to a blocking thread and back cost a node more
    /// CPU in thread wake-ups than the append itself, while this commit blocks the worker only
    /// for its own bytes.
    pub fn put_many_if_idle(
        &self,
        shards: &[(ShardKey, ShardHash, Bytes)],
    ) -> Option<Result<(), StoreError>> {
        let log = match self.log.try_lock() {
            Ok(log) => log,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        if !lock(&self.queue).is_empty()
            || log.compaction_due()
            || shards.iter().any(|(key, _, _)| log.get(key).is_some())
        {
            return None;
        }
        let payload: usize = shards.iter().map(|(_, _, payload)| payload.len()).sum();
        if !log.plain_append(shards.len(), payload as u64) {
            return None;
        }
        let outcome = self.enqueue(changes_of(shards.to_vec()));
        // The queue was empty with the log held, so this commit carries our changes alone.
        Some(self.finish(log, &outcome, false))
    }

    /// Holds the log as a running commit does, for tests of what must not wait for one.
    #[cfg(test)]
    pub(crate) fn hold(&self) -> MutexGuard<'_, Log<ShardKey>> {
        self.log()
    }

    /// Logs the deletion of shard `key`; returns whether it was there.
    pub fn delete(&self, key: &ShardKey) -> Result<bool, StoreError> {
        if self.log().get(key).is_none() {
            return Ok(false);
        }
        self.commit(vec![Change::Tombstone { id: *key }])?;
        Ok(true)
    }

    /// Drops shard `key` if its newest put is still the rotten one at `rotten` (a put since may
    /// have replaced it with a good copy); returns whether it did.
    pub fn drop_rotten(&self, rotten: &Located<ShardKey>) -> Result<bool, StoreError> {
        let mut log = self.log();
        if log.get(&rotten.id) != Some(rotten.loc) {
            return Ok(false);
        }
        log.commit(&[Change::Tombstone { id: rotten.id }])?;
        Ok(true)
    }

    /// Where shard `key` is packed, to read outside the lock; `None` if it is not.
    pub fn locate(&self, key: &ShardKey) -> Option<Located<ShardKey>> {
        let log = self.log();
        let loc = log.get(key)?;
        log.locate(key, &loc)
    }

    /// Up to `limit` packed shards with keys after `after`, in key order.
    pub fn page(&self, after: Option<&ShardKey>, limit: usize) -> Vec<ShardEntry> {
        self.log()
            .after(after)
            .take(limit)
            .map(|(key, loc)| ShardEntry {
                key: *key,
                len: u64::from(loc.len),
                modified: loc.version,
            })
            .collect()
    }

    pub fn figures(&self) -> PackFigures {
        let log = self.log();
        let (shards, log_bytes, live_bytes) = log.figures();
        PackFigures {
            shards,
            payload_bytes: log.live_payload(),
            log_bytes,
            live_bytes,
            commits: self.commits.load(Ordering::Relaxed),
            changes: self.changes.load(Ordering::Relaxed),
        }
    }

    /// Queues `changes` and waits until a commit that carries them is done: ours, if no commit
    /// is running, else the next one, which takes everything queued meanwhile in one append and
    /// one sync.
    fn commit(&self, changes: Vec<Change<ShardKey>>) -> Result<(), StoreError> {
        let outcome = self.enqueue(changes);
        let log = self.log();
        self.finish(log, &outcome, true)
    }

    /// Queues `changes` for the next commit; the outcome is where that commit leaves its result.
    fn enqueue(&self, changes: Vec<Change<ShardKey>>) -> Outcome {
        let outcome: Outcome = Arc::new(Mutex::new(None));
        lock(&self.queue).push(Pending {
            changes,
            outcome: Arc::clone(&outcome),
        });
        outcome
    }

    /// With the log held: the outcome of the commit that carried our queued change, if one
    /// did while we waited for the log; else commits everything queued, ours included, and
    /// then, if `compact`, compacts one mostly dead segment.
    fn finish(
        &self,
        mut log: MutexGuard<'_, Log<ShardKey>>,
        outcome: &Outcome,
        compact: bool,
    ) -> Result<(), StoreError> {
        // A commit that ran while we waited for the log may have carried our change: its
        // outcome was set before that commit released the lock.
        if let Some(done) = lock(outcome).take() {
            return done.map_err(|e| self.failed(e));
        }
        let batch = std::mem::take(&mut *lock(&self.queue));
        // Not there only if a commit took it and never set its outcome (it panicked).
        let carried = batch.iter().any(|p| Arc::ptr_eq(&p.outcome, outcome));
        let changes: Vec<Change<ShardKey>> = batch
            .iter()
            .flat_map(|p| p.changes.iter().cloned())
            .collect();
        let result = log.commit(&changes).map_err(|e| e.to_string());
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.changes
            .fetch_add(changes.len() as u64, Ordering::Relaxed);
        for pending in &batch {
            *lock(&pending.outcome) = Some(result.clone());
        }
        if compact
            && result.is_ok()
            && let Err(e) = log.compact_one()
        {
            // The changes are durable already; compaction is tried again after a rest.
            tracing::warn!(error = %e, "shard pack compaction failed");
        }
        drop(log);
        if !carried {
            // Never written, so never acknowledged.
            return Err(self.failed("the commit carrying this change did not finish".into()));
        }
        let done = lock(outcome).take().unwrap_or(result);
        done.map_err(|e| self.failed(e))
    }

    fn failed(&self, message: String) -> StoreError {
        StoreError::Io {
            context: "cannot append to shard pack",
            path: self.dir.clone(),
            source: io::Error::other(message),
        }
    }
}

/// Puts of `shards`, versioned with the current unix second.
fn changes_of(shards: Vec<(ShardKey, ShardHash, Bytes)>) -> Vec<Change<ShardKey>> {
    let version = unix_now();
    shards
        .into_iter()
        .map(|(id, hash, payload)| Change::Put {
            id,
            version,
            hash,
            payload,
        })
        .collect()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_codec::ChunkId;

    fn key(n: u32) -> ShardKey {
        let mut id = [0u8; 32];
        id[..4].copy_from_slice(&n.to_be_bytes());
        ShardKey::new(ChunkId::from_bytes(id), (n % 6) as u16)
    }

    fn body(n: u32) -> Bytes {
        Bytes::from(floe_testkit::pattern(2000 + n as usize % 97, u64::from(n)))
    }

    fn put(packs: &ShardPacks, n: u32) {
        let bytes = body(n);
        packs.put(&key(n), &ShardHash::of(&bytes), bytes).unwrap();
    }

    fn read(packs: &ShardPacks, n: u32) -> Option<Bytes> {
        let located = packs.locate(&key(n))?;
        let (hash, payload) = located.read().unwrap().expect("intact");
        assert_eq!(hash, ShardHash::of(&payload));
        Some(payload)
    }

    /// Packs in 64 KiB segments holding shards 0..200.
    fn two_hundred_in_small_segments(dir: &Path) -> ShardPacks {
        let packs = ShardPacks::open_with(dir, 64 << 10).unwrap();
        for n in 0..200 {
            put(&packs, n);
        }
        packs
    }

    fn shard(n: u32) -> (ShardKey, ShardHash, Bytes) {
        let bytes = body(n);
        (key(n), ShardHash::of(&bytes), bytes)
    }

    #[test]
    fn an_idle_put_commits_on_the_calling_thread_and_a_busy_one_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let packs = ShardPacks::open(dir.path()).unwrap();
        // The first commit starts a segment (a file created, zeros written ahead): not quick.
        assert!(packs.put_many_if_idle(&[shard(1), shard(2)]).is_none());
        put(&packs, 0);
        let done = packs.put_many_if_idle(&[shard(1), shard(2)]);
        assert!(matches!(done, Some(Ok(()))), "{done:?}");
        assert_eq!(read(&packs, 1), Some(body(1)));
        assert_eq!(read(&packs, 2), Some(body(2)));
        assert_eq!(packs.figures().commits, 2);

        // Another commit holds the log: nothing is queued behind it, nothing written.
        let held = packs.log();
        assert!(packs.put_many_if_idle(&[shard(3)]).is_none());
        drop(held);
        assert!(
            lock(&packs.queue).is_empty(),
            "a busy put left a change queued"
        );
        assert_eq!(read(&packs, 3), None);
        assert_eq!(packs.figures().commits, 2);

        // A key already packed needs its stored copy read first: not quick.
        assert!(packs.put_many_if_idle(&[shard(4), shard(1)]).is_none());
        assert_eq!(read(&packs, 4), None);
        packs.put_many(vec![shard(3)]).unwrap();
        assert_eq!(read(&packs, 3), Some(body(3)));
    }

    #[test]
    fn an_idle_put_never_carries_or_waits_for_other_work() {
        let dir = tempfile::tempdir().unwrap();
        let packs = ShardPacks::open(dir.path()).unwrap();
        put(&packs, 0);

        // A change queued by a thread about to take the log: the quick put leaves it to that
        // thread's commit, which then carries it alone.
        let (key7, hash7, body7) = shard(7);
        let queued = packs.enqueue(changes_of(vec![(key7, hash7, body7)]));
        assert!(packs.put_many_if_idle(&[shard(8)]).is_none());
        packs.finish(packs.log(), &queued, true).unwrap();
        assert_eq!(read(&packs, 7), Some(body(7)));
        assert_eq!(read(&packs, 8), None);

        // More than the zeros written ahead hold: the commit would write zeros again.
        let big: Vec<_> = (0..5u32)
            .map(|n| {
                let payload = Bytes::from(floe_testkit::pattern(1 << 20, u64::from(n)));
                (key(100 + n), ShardHash::of(&payload), payload)
            })
            .collect();
        assert!(packs.put_many_if_idle(&big).is_none());
        packs.put_many(big.clone()).unwrap();

        // A commit that panicked poisoned the log; a quick put still goes (as `log()` does).
        let poisoner = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let _held = packs.hold();
                    panic!("a commit that panicked");
                })
                .join()
        });
        assert!(poisoner.is_err());
        assert!(matches!(packs.put_many_if_idle(&[shard(9)]), Some(Ok(()))));
        assert_eq!(read(&packs, 9), Some(body(9)));
        for (key, _, payload) in &big {
            let (_, stored) = packs.locate(key).unwrap().read().unwrap().unwrap();
            assert_eq!(&stored, payload);
        }
    }

    #[test]
    fn an_idle_put_leaves_a_due_compaction_to_a_blocking_commit() {
        let dir = tempfile::tempdir().unwrap();
        let packs = two_hundred_in_small_segments(dir.path());
        // Tombstones logged without the compaction a delete runs after its commit.
        let tombstones: Vec<_> = (0..200)
            .filter(|n| n % 4 != 0)
            .map(|n| Change::Tombstone { id: key(n) })
            .collect();
        packs.log().commit(&tombstones).unwrap();
        assert!(packs.log().compaction_due());
        let before = packs.figures().log_bytes;

        assert!(packs.put_many_if_idle(&[shard(500)]).is_none());
        assert_eq!(packs.figures().log_bytes, before, "nothing written");
        packs.put_many(vec![shard(500)]).unwrap();
        assert!(
            packs.figures().log_bytes < before,
            "the blocking commit compacted"
        );
        assert_eq!(read(&packs, 500), Some(body(500)));
        for n in (0..200).step_by(4) {
            assert_eq!(read(&packs, n), Some(body(n)), "shard {n}");
        }
    }

    #[test]
    fn deletes_are_compacted_away_and_a_reopen_replays_what_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let packs = two_hundred_in_small_segments(dir.path());
        let full = packs.figures();
        assert_eq!(full.shards, 200);
        for n in (0..200).filter(|n| n % 4 != 0) {
            assert!(packs.delete(&key(n)).unwrap());
        }
        assert!(!packs.delete(&key(1)).unwrap(), "already gone");
        let left = packs.figures();
        assert_eq!(left.shards, 50);
        assert_eq!(
            left.payload_bytes,
            (0..200)
                .filter(|n| n % 4 == 0)
                .map(|n| body(n).len() as u64)
                .sum::<u64>()
        );
        // Sealed segments that are mostly dead were rewritten as deletes went by.
        assert!(
            left.log_bytes < full.log_bytes / 2,
            "{left:?} after {full:?}"
        );
        drop(packs);

        let packs = ShardPacks::open_with(dir.path(), 64 << 10).unwrap();
        assert_eq!(packs.figures().shards, 50);
        for n in 0..200 {
            let expected = (n % 4 == 0).then(|| body(n));
            assert_eq!(read(&packs, n), expected, "shard {n}");
        }
        let listed: Vec<ShardKey> = packs.page(None, 1000).iter().map(|e| e.key).collect();
        let mut expected: Vec<ShardKey> = (0..200).filter(|n| n % 4 == 0).map(key).collect();
        expected.sort();
        assert_eq!(listed, expected);
    }

    #[test]
    fn concurrent_puts_and_deletes_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let packs = std::sync::Arc::new(ShardPacks::open(dir.path()).unwrap());
        let threads: Vec<_> = (0..8u32)
            .map(|t| {
                let packs = packs.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        put(&packs, t * 1000 + i);
                        if i % 5 == 4 {
                            assert!(packs.delete(&key(t * 1000 + i - 2)).unwrap());
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let kept = |n: u32| n % 5 != 2;
        for t in 0..8u32 {
            for i in 0..50 {
                let n = t * 1000 + i;
                assert_eq!(read(&packs, n), kept(i).then(|| body(n)), "shard {n}");
            }
        }
        assert_eq!(packs.figures().shards, 8 * 40);
    }

    fn segments(dir: &Path) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir.join(PACK_DIR))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        paths
    }

    fn file_len(path: &Path) -> u64 {
        std::fs::metadata(path).unwrap().len()
    }

    #[test]
    fn a_torn_append_is_cut_off_and_the_rest_stays() {
        let dir = tempfile::tempdir().unwrap();
        let packs = ShardPacks::open(dir.path()).unwrap();
        for n in 0..10 {
            put(&packs, n);
        }
        // One segment: its entries end here, and zeros written ahead follow.
        let end = packs.figures().log_bytes;
        drop(packs);
        let segment = segments(dir.path()).pop().unwrap();
        assert!(
            file_len(&segment) > end + PREEXTEND / 2,
            "zeros follow the entries"
        );
        // What a crash mid-append leaves right after the entries: the start of an entry (its
        // header damaged) and part of its payload.
        let bytes = std::fs::read(&segment).unwrap();
        let mut torn = bytes[40..40 + 500].to_vec();
        torn[5] ^= 0xff;
        use std::os::unix::fs::FileExt;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&segment)
            .unwrap()
            .write_all_at(&torn, end)
            .unwrap();

        let packs = ShardPacks::open(dir.path()).unwrap();
        assert_eq!(file_len(&segment), end, "torn bytes and zeros cut off");
        for n in 0..10 {
            assert_eq!(read(&packs, n), Some(body(n)));
        }
        put(&packs, 10);
        assert_eq!(read(&packs, 10), Some(body(10)));
    }

    #[test]
    fn sealed_segments_keep_no_zeros() {
        let dir = tempfile::tempdir().unwrap();
        let packs = ShardPacks::open_with(dir.path(), 64 << 10).unwrap();
        for n in 0..100 {
            put(&packs, n);
        }
        let log_bytes = packs.figures().log_bytes;
        let files = segments(dir.path());
        assert!(files.len() > 2, "{files:?}");
        // Sealed segments were trimmed as the next one started; only the newest has zeros.
        let (newest, sealed) = files.split_last().unwrap();
        let sealed_len: u64 = sealed.iter().map(|p| file_len(p)).sum();
        assert!(file_len(newest) > log_bytes - sealed_len);
        drop(packs);

        // A crash that kept the zeros on a segment that is no longer the newest: they are cut
        // off at open, and every entry before them counts.
        let newest_len = file_len(newest);
        let next = newest.with_file_name(format!("{:016x}.seg", sealed.len() + 5));
        let mut header = b"FLSPAK\x00\x01".to_vec();
        header.extend_from_slice(&[3; 32]);
        std::fs::write(&next, header).unwrap();
        let packs = ShardPacks::open_with(dir.path(), 64 << 10).unwrap();
        assert!(file_len(newest) < newest_len);
        assert_eq!(packs.figures().log_bytes, log_bytes + 40);
        for n in 0..100 {
            assert_eq!(read(&packs, n), Some(body(n)), "shard {n}");
        }
    }
}
