//! Chunk reference counts and the garbage queue.
//!
//! Every manifest stored in the index (an object's, or a pending part's) holds one reference per
//! chunk occurrence. Identical content has an identical chunk id, so two objects with the same
//! bytes share chunks and the count says how many manifests still need them. A chunk whose count
//! drops to zero is queued as garbage with the time it happened; the collector deletes its shards
//! and then calls [`Index::forget_garbage`]. A chunk referenced again while queued (a re-upload of
//! the same bytes) leaves the queue in the same transaction, so it is never collected while used.
//!
//! The chunk catalog (`catalog`) moves in the same transactions: a chunk enters it with its first
//! reference and leaves it only when the collector has deleted its shards.

use std::collections::BTreeMap;

use floe_codec::{ChunkId, ChunkRef, CodecParams, Manifest};

use super::catalog::{chunk_page, forget_chunk, remember_chunk};
use super::store::{CHUNK_REFS, GARBAGE_QUEUE, Tables, now_millis};
use super::{Index, IndexError, UnixMillis};

/// A chunk nothing references any more, waiting for the collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GarbageChunk {
    pub id: ChunkId,
    /// Needed to address the chunk's k + m shards.
    pub params: CodecParams,
    /// When its count reached zero.
    pub since: UnixMillis,
}

/// The net refcount change of one write transaction, applied once at its end.
///
/// Netting first means an overwrite with the same content (or a completed upload reusing its
/// parts' chunks) never takes a shared chunk through zero, so it never touches the garbage queue.
#[derive(Debug, Default)]
pub(super) struct RefDelta {
    changes: BTreeMap<ChunkId, (i64, ChunkRef)>,
    /// The deletion number before the write sent its shards (see `deletion`): a chunk it
    /// references again must not have been deleted since. `None`: nothing was sent (or one
    /// gateway's pins guard it).
    written_after: Option<u64>,
}

impl RefDelta {
    /// A delta for a write whose shards went out after deletion number `epoch`.
    pub fn written_after(epoch: Option<u64>) -> Self {
        Self {
            written_after: epoch,
            ..Self::default()
        }
    }

    /// One more reference for every chunk occurrence in `manifest`.
    pub fn add(&mut self, manifest: &Manifest) {
        self.shift(manifest, 1);
    }

    /// One reference fewer for every chunk occurrence in `manifest`.
    pub fn remove(&mut self, manifest: &Manifest) {
        self.shift(manifest, -1);
    }

    fn shift(&mut self, manifest: &Manifest, by: i64) {
        for chunk in manifest.chunks() {
            self.changes
                .entry(chunk.id)
                .or_insert_with(|| (0, chunk.clone()))
                .0 += by;
        }
    }

    /// Writes the new counts, queues chunks that reached zero and unqueues revived ones.
    pub fn apply(self, t: &mut Tables<'_>) -> Result<(), IndexError> {
        let now = now_millis();
        for (id, (delta, chunk)) in self.changes {
            if delta == 0 {
                continue;
            }
            let key = id.as_bytes();
            let old = t.chunk_refs.get(key)?.map(|v| v.value()).unwrap_or(0);
            if delta < 0 && delta.unsigned_abs() > old {
                // Only a bug or a hand-edited file gets here, and then the count was already too
                // low: other manifests may use this chunk uncounted. Refusing would make the
                // object undeletable and queueing could collect live data, so the chunk is
                // leaked (uncounted, unqueued) and the mismatch reported loudly.
                tracing::error!(chunk = %id, old, delta, "chunk refcount underflow; chunk leaked");
                t.chunk_refs.remove(key)?;
                continue;
            }
            let new = old.saturating_add_signed(delta);
            if let (Some(epoch), true) = (self.written_after, old == 0 && new > 0) {
                super::deletion::check_not_deleted(t, &id, epoch)?;
            }
            if new > 0 {
                t.chunk_refs.insert(key, new)?;
                if old == 0 {
                    unqueue_garbage(t, &id)?;
                    remember_chunk(t, &chunk)?;
                }
            } else {
                t.chunk_refs.remove(key)?;
                queue_garbage(t, &id, chunk.params, now)?;
            }
        }
        Ok(())
    }
}

fn queue_garbage(
    t: &mut Tables<'_>,
    id: &ChunkId,
    params: CodecParams,
    now: UnixMillis,
) -> Result<(), IndexError> {
    // Keep the original time if it is somehow already queued: "oldest first" stays honest.
    if t.garbage.get(id.as_bytes())?.is_none() {
        t.garbage.insert(id.as_bytes(), now)?;
        t.garbage_queue.insert(
            (now, id.as_bytes()),
            (params.data_shards, params.parity_shards),
        )?;
    }
    Ok(())
}

/// Removes `id` from the garbage table and queue; true if it was there.
/// Takes `id` out of the garbage queue (for `deletion`).
pub(super) fn unqueue(t: &mut Tables<'_>, id: &ChunkId) -> Result<bool, IndexError> {
    unqueue_garbage(t, id)
}

fn unqueue_garbage(t: &mut Tables<'_>, id: &ChunkId) -> Result<bool, IndexError> {
    let since = t.garbage.remove(id.as_bytes())?.map(|v| v.value());
    if let Some(since) = since {
        t.garbage_queue.remove((since, id.as_bytes()))?;
    }
    Ok(since.is_some())
}

impl Index {
    /// Puts garbage chunk `id`, whose shards could not all be deleted (a node down, or one
    /// keeping them under a retention hold), at the back of the queue as of `now`, and releases
    /// the collector's claim on it: it is tried again after another grace period, and chunks
    /// that cannot go yet never keep the others from their turn.
    pub fn defer_garbage(&self, id: &ChunkId, now: UnixMillis) -> Result<(), IndexError> {
        self.write(|t| {
            t.deleting.remove(id.as_bytes())?;
            let Some(since) = t.garbage.get(id.as_bytes())?.map(|v| v.value()) else {
                return Ok(());
            };
            let Some(params) = t
                .garbage_queue
                .get((since, id.as_bytes()))?
                .map(|v| v.value())
            else {
                return Ok(());
            };
            unqueue_garbage(t, id)?;
            let later = now.max(since);
            t.garbage.insert(id.as_bytes(), later)?;
            t.garbage_queue.insert((later, id.as_bytes()), params)?;
            Ok(())
        })
    }

    /// How many stored manifests reference chunk `id` (0 if none).
    pub fn chunk_refs(&self, id: &ChunkId) -> Result<u64, IndexError> {
        let txn = self.read()?;
        let refs = txn.open_table(CHUNK_REFS)?;
        let count = refs.get(id.as_bytes())?.map(|v| v.value()).unwrap_or(0);
        Ok(count)
    }

    /// Unreferenced chunks, oldest first, at most `limit`.
    pub fn garbage(&self, limit: usize) -> Result<Vec<GarbageChunk>, IndexError> {
        let txn = self.read()?;
        let queue = txn.open_table(GARBAGE_QUEUE)?;
        let mut out = Vec::new();
        for entry in queue.range(..)?.take(limit) {
            let (key, value) = entry?;
            let (since, id) = key.value();
            let id = ChunkId::from_bytes(*id);
            let (k, m) = value.value();
            let params = CodecParams::new(k, m)
                .map_err(|e| IndexError::corrupt(format_args!("garbage entry {id}"), e))?;
            out.push(GarbageChunk { id, params, since });
        }
        Ok(out)
    }

    /// Drops `id` from the garbage queue once the collector has deleted its shards. Returns true
    /// if the chunk is still unreferenced, and then it leaves the chunk catalog too; false means
    /// it was referenced again meanwhile (the entry is dropped all the same: it is no longer
    /// garbage), so a collector that already deleted shards should have them repaired.
    pub fn forget_garbage(&self, id: &ChunkId) -> Result<bool, IndexError> {
        self.write(|t| {
            unqueue_garbage(t, id)?;
            let referenced = t.chunk_refs.get(id.as_bytes())?.is_some();
            if !referenced {
                forget_chunk(t, id)?;
            }
            Ok(!referenced)
        })
    }

    /// Chunk ids with a refcount above zero, in id order, strictly after `after`, at most
    /// `limit`: pages of the live set for GC sweeps and admin tools.
    pub fn referenced_chunks(
        &self,
        after: Option<&ChunkId>,
        limit: usize,
    ) -> Result<Vec<ChunkId>, IndexError> {
        let txn = self.read()?;
        let refs = txn.open_table(CHUNK_REFS)?;
        chunk_page(&refs, after, limit, |id, _| Ok(id))
    }
}

#[cfg(test)]
mod tests {
    use crate::index::testkit::*;

    #[test]
    fn repeated_chunk_counts_every_occurrence() {
        let (_dir, index) = index_with_bucket();
        index
            .put_object("b", "k", &object_record("e"), &manifest(&[1, 1, 2]), always)
            .unwrap();
        assert_eq!((refs(&index, 1), refs(&index, 2)), (2, 1));
        index.delete_object("b", "k").unwrap();
        assert_eq!((refs(&index, 1), refs(&index, 2)), (0, 0));
        // Queued once each, whatever the occurrence count was.
        assert_eq!(garbage_ids(&index).len(), 2);
    }

    #[test]
    fn garbage_is_oldest_first_and_carries_params() {
        let (_dir, index) = index_with_bucket();
        index
            .put_object("b", "old", &object_record("e"), &manifest(&[1]), always)
            .unwrap();
        index
            .put_object("b", "new", &object_record("e"), &manifest(&[2]), always)
            .unwrap();
        index.delete_object("b", "old").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(3));
        index.delete_object("b", "new").unwrap();
        let garbage = index.garbage(10).unwrap();
        assert_eq!(
            garbage.iter().map(|g| g.id).collect::<Vec<_>>(),
            [chunk(1, 32).id, chunk(2, 32).id]
        );
        assert!(garbage[0].since < garbage[1].since);
        assert_eq!(garbage[0].params, chunk(1, 32).params);
        assert_eq!(index.garbage(1).unwrap().len(), 1);
    }

    #[test]
    fn forget_garbage_reports_revived_chunks() {
        let (_dir, index) = index_with_bucket();
        index
            .put_object("b", "k", &object_record("e"), &manifest(&[1, 2]), always)
            .unwrap();
        index.delete_object("b", "k").unwrap();
        assert!(index.forget_garbage(&chunk(1, 32).id).unwrap());
        assert_eq!(garbage_ids(&index), [chunk(2, 32).id]);

        // A chunk that is referenced is not garbage, whatever the collector thinks.
        index
            .put_object("b", "k", &object_record("e"), &manifest(&[3]), always)
            .unwrap();
        assert!(!index.forget_garbage(&chunk(3, 32).id).unwrap());
        assert_eq!(refs(&index, 3), 1);
    }

    #[test]
    fn referenced_chunks_pages_by_id() {
        let (_dir, index) = index_with_bucket();
        let seeds: Vec<u8> = (1..=7).collect();
        index
            .put_object("b", "k", &object_record("e"), &manifest(&seeds), always)
            .unwrap();
        let mut expected: Vec<_> = seeds.iter().map(|&s| chunk(s, 32).id).collect();
        expected.sort();
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = index.referenced_chunks(after.as_ref(), 3).unwrap();
            if page.is_empty() {
                break;
            }
            after = page.last().copied();
            seen.extend(page);
        }
        assert_eq!(seen, expected);
        index.delete_object("b", "k").unwrap();
        assert!(index.referenced_chunks(None, 10).unwrap().is_empty());
    }
}
