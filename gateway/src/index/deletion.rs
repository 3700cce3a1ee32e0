//! Deleting a chunk's shards safely when several gateways share the index.
//!
//! In one gateway, pins (`blobs/pins.rs`) keep the collector off a chunk that a PUT is writing
//! or deduplicating onto. Pins are per process, so across gateways the index itself arbitrates:
//!
//! 1. The collector *claims* a garbage chunk in a transaction that also checks its refcount is
//!    still zero (`deleting` row), then deletes the shards, then *finishes*: the chunk leaves
//!    the garbage queue and the catalog, and gets a *tombstone* stamped with the next deletion
//!    number.
//! 2. A write notes the deletion number before it sends any shard (its *epoch*). Its commit, in
//!    the same transaction that would make such a chunk referenced again, refuses
//!    ([`IndexError::ChunkDeleted`]) if the chunk is claimed now, or was deleted after the
//!    epoch: its shards may be gone. The client is told to retry (503), and the retry writes
//!    the shards again.
//!
//! A deletion finished before the epoch cannot have touched shards written after it, and one
//! claimed after the commit sees the new reference and does not happen. Tombstones are kept a
//! day, far longer than any write takes from its first shard to its commit.

use floe_codec::ChunkId;

use super::store::{TOMBSTONE_TIMES, Tables};
use super::{Index, IndexError, UnixMillis};

/// The `meta` row counting finished deletions.
const DELETIONS: &str = "deletions";
/// How long a tombstone is kept.
pub const TOMBSTONE_MS: i64 = 24 * 3600 * 1000;

/// Whether chunk `id`, about to be referenced again by a write whose shards went out after
/// deletion number `epoch`, may be: refused if it is being deleted now, or was deleted since.
pub(super) fn check_not_deleted(
    t: &Tables<'_>,
    id: &ChunkId,
    epoch: u64,
) -> Result<(), IndexError> {
    if t.deleting.get(id.as_bytes())?.is_some() {
        return Err(IndexError::ChunkDeleted(*id));
    }
    match t.tombstones.get(id.as_bytes())?.map(|v| v.value()) {
        Some(deleted) if deleted > epoch => Err(IndexError::ChunkDeleted(*id)),
        _ => Ok(()),
    }
}

impl Index {
    /// Whether other gateways share this index, so a write must take its deletion epoch.
    pub fn is_shared(&self) -> bool {
        self.kv.is_shared()
    }

    /// The deletion epoch a write takes before sending shards: `None` when this gateway is
    /// alone (its pins guard its writes).
    pub fn write_epoch(&self) -> Result<Option<u64>, IndexError> {
        if self.is_shared() {
            self.deletion_epoch().map(Some)
        } else {
            Ok(None)
        }
    }

    /// The number of deletions finished so far: a write takes it before sending shards.
    pub fn deletion_epoch(&self) -> Result<u64, IndexError> {
        let txn = self.read()?;
        let meta = txn.open_table(super::store::META)?;
        Ok(meta.get(DELETIONS)?.map_or(0, |v| v.value()))
    }

    /// Claims garbage chunk `id` for deletion: true if claimed; false if it is referenced again
    /// (it then leaves the garbage queue, revived).
    pub fn claim_for_deletion(&self, id: &ChunkId) -> Result<bool, IndexError> {
        self.write(|t| {
            if t.chunk_refs.get(id.as_bytes())?.is_some() {
                super::refcount::unqueue(t, id)?;
                return Ok(false);
            }
            t.deleting
                .insert(id.as_bytes(), super::store::now_millis())?;
            Ok(true)
        })
    }

    /// Claims chunk `id`, which the catalog does not know, for deleting its shards as an
    /// orphan: false if it is catalogued (a write committed it) or claimed already.
    pub fn claim_orphan(&self, id: &ChunkId) -> Result<bool, IndexError> {
        self.write(|t| {
            if t.chunks.get(id.as_bytes())?.is_some()
                || t.chunk_refs.get(id.as_bytes())?.is_some()
                || t.deleting.get(id.as_bytes())?.is_some()
            {
                return Ok(false);
            }
            t.deleting
                .insert(id.as_bytes(), super::store::now_millis())?;
            Ok(true)
        })
    }

    /// Gives a claim up without deleting (a node could not be reached): the chunk stays queued.
    pub fn release_claim(&self, id: &ChunkId) -> Result<(), IndexError> {
        self.write(|t| {
            t.deleting.remove(id.as_bytes())?;
            Ok(())
        })
    }

    /// After the shards of claimed chunk `id` are deleted: out of the garbage queue and the
    /// catalog, with a tombstone for writes that began before.
    pub fn finish_deletion(&self, id: &ChunkId, now: UnixMillis) -> Result<(), IndexError> {
        self.write(|t| {
            t.deleting.remove(id.as_bytes())?;
            super::refcount::unqueue(t, id)?;
            if t.chunk_refs.get(id.as_bytes())?.is_none() {
                super::catalog::forget(t, id)?;
            }
            let number = t.meta.get(DELETIONS)?.map_or(0, |v| v.value()) + 1;
            t.meta.insert(DELETIONS, number)?;
            t.tombstones.insert(id.as_bytes(), number)?;
            t.tombstone_times.insert((now, id.as_bytes()), ())?;
            Ok(())
        })
    }

    /// Drops tombstones older than a day; how many.
    pub fn prune_tombstones(&self, now: UnixMillis) -> Result<usize, IndexError> {
        let cutoff = now - TOMBSTONE_MS;
        let txn = self.read()?;
        let old: Vec<(i64, [u8; 32])> = txn
            .open_table(TOMBSTONE_TIMES)?
            .range(..(cutoff, &[0u8; 32]))?
            .take(1000)
            .map(|e| e.map(|(k, _)| (k.value().0, *k.value().1)))
            .collect::<Result<_, _>>()?;
        drop(txn);
        if old.is_empty() {
            return Ok(0);
        }
        self.write(|t| {
            for (time, id) in &old {
                t.tombstone_times.remove((*time, id))?;
                t.tombstones.remove(id)?;
            }
            Ok(())
        })?;
        Ok(old.len())
    }
}

#[cfg(test)]
mod tests {
    use crate::index::IndexError;
    use crate::index::testkit::*;

    #[test]
    fn a_write_older_than_a_deletion_is_refused_and_a_newer_one_is_not() {
        let (_dir, index) = index_with_bucket();
        let id = chunk(1, 32).id;
        index
            .put_object("b", "k", &object_record("e"), &manifest(&[1]), always)
            .unwrap();
        index.delete_object("b", "k").unwrap();
        // A write starts (epoch), the collector deletes the chunk, the write commits.
        let epoch = index.deletion_epoch().unwrap();
        assert!(index.claim_for_deletion(&id).unwrap());
        let during =
            index.put_object_written_after("b", "k2", &object_record("e"), &manifest(&[1]), epoch);
        assert!(matches!(during, Err(IndexError::ChunkDeleted(c)) if c == id));
        index.finish_deletion(&id, 1_000).unwrap();
        let after =
            index.put_object_written_after("b", "k2", &object_record("e"), &manifest(&[1]), epoch);
        assert!(matches!(after, Err(IndexError::ChunkDeleted(_))));
        // A write that began after the deletion finished rewrote the shards: accepted.
        let fresh = index.deletion_epoch().unwrap();
        assert_eq!(fresh, epoch + 1);
        index
            .put_object_written_after("b", "k2", &object_record("e"), &manifest(&[1]), fresh)
            .unwrap();
        assert_eq!(refs(&index, 1), 1);
        // A referenced chunk is never claimed.
        assert!(!index.claim_for_deletion(&id).unwrap());
        // Tombstones older than a day go.
        assert_eq!(
            index
                .prune_tombstones(1_000 + super::TOMBSTONE_MS + 1)
                .unwrap(),
            1
        );
    }

    #[test]
    fn an_orphan_is_claimed_only_while_nothing_references_it() {
        let (_dir, index) = index_with_bucket();
        let known = chunk(2, 32).id;
        let stray = chunk(3, 32).id;
        index
            .put_object("b", "k", &object_record("e"), &manifest(&[2]), always)
            .unwrap();
        assert!(!index.claim_orphan(&known).unwrap(), "catalogued");
        // A write began, its shards look orphaned elsewhere, the sweep deletes them.
        let epoch = index.deletion_epoch().unwrap();
        assert!(index.claim_orphan(&stray).unwrap());
        assert!(!index.claim_orphan(&stray).unwrap(), "claimed once");
        index.finish_deletion(&stray, 5_000).unwrap();
        let late = index.put_object_written_after(
            "b",
            "late",
            &object_record("e"),
            &manifest(&[3]),
            epoch,
        );
        assert!(matches!(late, Err(IndexError::ChunkDeleted(c)) if c == stray));
        assert!(index.object("b", "late").unwrap().is_none());
    }
}
