//! The chunk catalog: every chunk whose shards the cluster holds on the index's behalf, with the
//! full [`ChunkRef`] needed to check and rebuild it (parameters, length, shard hashes).
//!
//! Manifests already carry these references, but repair, scrub and the orphan sweep work chunk
//! by chunk, not object by object: the catalog answers "what is this chunk" and "what chunks
//! exist" without scanning manifests. A chunk enters it in the transaction that gives it its
//! first reference ([`RefDelta`](super::refcount::RefDelta)) and leaves it in the transaction
//! that records the collector's deletion ([`Index::forget_garbage`]), so a chunk that has shards
//! on the nodes is always in it, referenced or waiting in the garbage queue.

use std::ops::Bound;

use floe_codec::{ChunkId, ChunkRef};

use super::kv::bound::{BoundTable, Source, ValueGuard};
use super::kv::key::Id32;
use super::kv::table::ValueType;
use super::store::{BUCKETS, CHUNKS, GARBAGE_QUEUE, OBJECT_COUNTS, Tables, decode};
use super::{Index, IndexError, encode_record};

/// One page of a table keyed by chunk id: entries in id order, strictly after `after`, at most
/// `limit`, each turned into a `T` by `each`. The catalog and the refcounts are both walked this
/// way by sweeps that resume where the last page ended.
pub(super) fn chunk_page<V: ValueType, T, C: Source + ?Sized>(
    table: &BoundTable<'_, Id32, V, C>,
    after: Option<&ChunkId>,
    limit: usize,
    mut each: impl FnMut(ChunkId, ValueGuard<V>) -> Result<T, IndexError>,
) -> Result<Vec<T>, IndexError> {
    let start = match after {
        Some(id) => Bound::Excluded(id.as_bytes()),
        None => Bound::Unbounded,
    };
    let mut out = Vec::new();
    for entry in table.range((start, Bound::Unbounded))?.take(limit) {
        let (key, value) = entry?;
        out.push(each(ChunkId::from_bytes(*key.value()), value)?);
    }
    Ok(out)
}

/// Adds (or rewrites, identically) the catalog entry of `chunk`.
pub(super) fn remember_chunk(t: &mut Tables<'_>, chunk: &ChunkRef) -> Result<(), IndexError> {
    t.chunks
        .insert(chunk.id.as_bytes(), encode_record(chunk).as_slice())?;
    Ok(())
}

/// Removes the catalog entry of `id` (for `deletion`).
pub(super) fn forget(t: &mut Tables<'_>, id: &ChunkId) -> Result<(), IndexError> {
    forget_chunk(t, id)
}

/// Removes the catalog entry of `id`, if any.
pub(super) fn forget_chunk(t: &mut Tables<'_>, id: &ChunkId) -> Result<(), IndexError> {
    t.chunks.remove(id.as_bytes())?;
    Ok(())
}

/// Decodes a catalog entry and checks that it really describes `id`: a reference whose id does
/// not commit to its contents would make repair write shards no reader accepts.
fn decode_entry(id: &ChunkId, bytes: &[u8]) -> Result<ChunkRef, IndexError> {
    let chunk: ChunkRef = decode(format_args!("catalog entry {id}"), bytes)?;
    if chunk.id != *id || !chunk.is_consistent() {
        return Err(IndexError::Corrupt(format!(
            "catalog entry {id} does not match its id"
        )));
    }
    Ok(chunk)
}

impl Index {
    /// The catalog entry of chunk `id`: present while the cluster is meant to hold its shards.
    pub fn chunk(&self, id: &ChunkId) -> Result<Option<ChunkRef>, IndexError> {
        let txn = self.read()?;
        let chunks = txn.open_table(CHUNKS)?;
        let stored = chunks.get(id.as_bytes())?;
        stored.map(|v| decode_entry(id, v.value())).transpose()
    }

    /// For each id, whether the catalog holds it (one snapshot for the whole batch).
    pub fn has_chunks(&self, ids: &[ChunkId]) -> Result<Vec<bool>, IndexError> {
        let txn = self.read()?;
        let chunks = txn.open_table(CHUNKS)?;
        ids.iter()
            .map(|id| Ok(chunks.get(id.as_bytes())?.is_some()))
            .collect()
    }

    /// Catalog entries in chunk id order, strictly after `after`, at most `limit`: the pages a
    /// repair sweep walks.
    pub fn chunks(
        &self,
        after: Option<&ChunkId>,
        limit: usize,
    ) -> Result<Vec<ChunkRef>, IndexError> {
        let txn = self.read()?;
        let chunks = txn.open_table(CHUNKS)?;
        chunk_page(&chunks, after, limit, |id, value| {
            decode_entry(&id, value.value())
        })
    }

    /// Number of chunks in the catalog.
    pub fn chunk_count(&self) -> Result<u64, IndexError> {
        let txn = self.read()?;
        txn.open_table(CHUNKS)?.len()
    }

    /// Numbers of buckets and of objects in all of them, for status reports.
    pub fn totals(&self) -> Result<(u64, u64), IndexError> {
        let txn = self.read()?;
        let buckets = txn.open_table(BUCKETS)?.len()?;
        let mut objects = 0u64;
        for entry in txn.open_table(OBJECT_COUNTS)?.range(..)? {
            objects = objects.saturating_add(entry?.1.value());
        }
        Ok((buckets, objects))
    }

    /// Number of chunks waiting in the garbage queue.
    pub fn garbage_count(&self) -> Result<u64, IndexError> {
        let txn = self.read()?;
        txn.open_table(GARBAGE_QUEUE)?.len()
    }
}

#[cfg(test)]
mod tests {
    use crate::index::testkit::*;

    fn catalog_ids(index: &Index) -> Vec<floe_codec::ChunkId> {
        index
            .chunks(None, 1000)
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect()
    }

    #[test]
    fn chunks_enter_with_first_reference_and_leave_when_collected() {
        let (_dir, index) = index_with_bucket();
        assert_eq!(index.chunk_count().unwrap(), 0);
        index
            .put_object("b", "a", &object_record("e"), &manifest(&[1, 2]), always)
            .unwrap();
        index
            .put_object("b", "c", &object_record("e"), &manifest(&[2]), always)
            .unwrap();
        assert_eq!(index.chunk_count().unwrap(), 2);
        assert_eq!(index.chunk(&chunk(1, 32).id).unwrap(), Some(chunk(1, 32)));

        // Unreferenced but not yet collected: still in the catalog, and in the garbage queue.
        index.delete_object("b", "a").unwrap();
        assert_eq!(index.chunk_count().unwrap(), 2);
        assert_eq!(index.garbage_count().unwrap(), 1);
        assert!(index.forget_garbage(&chunk(1, 32).id).unwrap());
        assert_eq!(index.chunk(&chunk(1, 32).id).unwrap(), None);
        assert_eq!(catalog_ids(&index), [chunk(2, 32).id]);
        assert_eq!(
            index
                .has_chunks(&[chunk(1, 32).id, chunk(2, 32).id])
                .unwrap(),
            [false, true]
        );

        // A chunk revived before the collector got to it keeps its entry.
        index.delete_object("b", "c").unwrap();
        index
            .put_object("b", "d", &object_record("e"), &manifest(&[2]), always)
            .unwrap();
        assert!(!index.forget_garbage(&chunk(2, 32).id).unwrap());
        assert_eq!(catalog_ids(&index), [chunk(2, 32).id]);
    }

    #[test]
    fn parts_enter_the_catalog_and_pages_follow_id_order() {
        let (_dir, index) = index_with_bucket();
        index
            .create_upload("u", &upload_record("b", "k", 1))
            .unwrap();
        let seeds: Vec<u8> = (1..=9).collect();
        index
            .put_part("u", 1, &part_record("p", manifest(&seeds)))
            .unwrap();
        let mut expected: Vec<_> = seeds.iter().map(|&s| chunk(s, 32).id).collect();
        expected.sort();
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = index.chunks(after.as_ref(), 4).unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            seen.extend(page.into_iter().map(|c| c.id));
        }
        assert_eq!(seen, expected);
    }

    #[test]
    fn entry_for_another_id_is_corrupt() {
        let (_dir, index) = index_with_bucket();
        let wrong = chunk(2, 32);
        index
            .write(|t| {
                t.chunks
                    .insert(chunk(1, 32).id.as_bytes(), encode_record(&wrong).as_slice())?;
                Ok(())
            })
            .unwrap();
        assert!(matches!(
            index.chunk(&chunk(1, 32).id),
            Err(IndexError::Corrupt(_))
        ));
    }
}
