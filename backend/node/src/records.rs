//! `RecordStore`: opaque, versioned records on local disk, kept apart from the shards.
//!
//! Records live in an append-only log (see [`log`]): a batch of puts is one write and one
//! `fdatasync`, where a file per record cost a create, a rename and a filesystem sync each. A
//! put never replaces a newer version: the check and the append happen under one lock. Every
//! read verifies the payload's blake3; a rotten record is dropped (a tombstone is logged) and
//! reported missing, as the gateway holds other copies. Mostly dead segments are compacted
//! (see [`compaction`]); a data directory still in the first, file-per-record format is
//! imported at startup (see [`legacy`]).

mod legacy;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, TryLockError};

use bytes::Bytes;
use floe_codec::ShardHash;

use crate::layout::Layout;
use crate::protocol::{LIST_MAX_LIMIT, RecordEntry, RecordId, RecordItem, RecordPage};
use crate::store::{QUICK_MAX_BYTES, StoreError};

use crate::segments::log::{Change, Log, LogOptions, SEGMENT_TARGET, WrittenPages};

/// The log's directory under the data directory.
pub const LOG_DIR: &str = "record-log";

/// What a record put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordPut {
    Stored,
    /// The node holds a newer version, which it kept.
    Newer(u64),
}

/// A verified record.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub version: u64,
    pub payload: Bytes,
}

/// What the record store holds, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordFigures {
    pub records: u64,
    /// Bytes of all log segments, superseded entries included.
    pub log_bytes: u64,
    /// Bytes of the entries that are each record's newest version.
    pub live_bytes: u64,
}

/// The records of one data directory (the shard store holds the directory lock).
pub struct RecordStore {
    log: Mutex<Log<RecordId>>,
}

impl std::fmt::Debug for RecordStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordStore").finish_non_exhaustive()
    }
}

impl RecordStore {
    pub fn open(layout: &Layout) -> Result<RecordStore, StoreError> {
        Self::open_with(layout, SEGMENT_TARGET)
    }

    /// Opens with segments of `segment_target` bytes (small ones let tests reach compaction).
    pub fn open_with(layout: &Layout, segment_target: u64) -> Result<RecordStore, StoreError> {
        let options = LogOptions {
            target: segment_target,
            // Records are read again only by a restart, a rebuild or compaction.
            written: WrittenPages::Drop,
            preextend: 0,
            // A record delete must not come undone: a rebuilt index would bring the object back.
            sync_tombstones: true,
        };
        let mut log = Log::open(&layout.root().join(LOG_DIR), options)?;
        legacy::import(layout.root(), &layout.quarantine_dir(), &mut log)?;
        Ok(RecordStore {
            log: Mutex::new(log),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Log<RecordId>> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores version `version` of record `id` after checking `payload` hashes to `claimed`.
    pub fn put(
        &self,
        id: &RecordId,
        version: u64,
        claimed: &ShardHash,
        payload: &[u8],
    ) -> Result<RecordPut, StoreError> {
        let actual = ShardHash::of(payload);
        if actual != *claimed {
            return Err(StoreError::HashMismatch {
                claimed: *claimed,
                actual,
            });
        }
        let item = RecordItem {
            id: *id,
            version,
            payload: Bytes::copy_from_slice(payload),
        };
        let mut outcomes = self.put_batch(std::slice::from_ref(&item))?;
        Ok(outcomes.pop().unwrap_or(RecordPut::Stored))
    }

    /// Stores many records with one append and one sync. Outcomes come in `batch` order; a
    /// record given twice keeps the newer of the two versions, as if they came one by one.
    pub fn put_batch(&self, batch: &[RecordItem]) -> Result<Vec<RecordPut>, StoreError> {
        let mut log = self.lock();
        let outcomes = put_all(&mut log, batch)?;
        compact(&mut log);
        Ok(outcomes)
    }

    /// [`put_batch`](Self::put_batch) on the calling async worker, if the batch is small (at
    /// most [`QUICK_MAX_BYTES`] of payload), no other commit is running (its `fdatasync` would
    /// be waited for), no compaction is due and the append needs no new segment; `None` leaves
    /// it, untouched, for a blocking thread. A hand-off to a blocking thread and back cost more
    /// CPU than the append (see `crate::store::quick`).
    pub fn put_batch_if_idle(
        &self,
        batch: &[RecordItem],
    ) -> Option<Result<Vec<RecordPut>, StoreError>> {
        let bytes: usize = batch.iter().map(|item| item.payload.len()).sum();
        if bytes > QUICK_MAX_BYTES {
            return None;
        }
        let mut log = match self.log.try_lock() {
            Ok(log) => log,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        if log.compaction_due() || !log.plain_append(batch.len(), bytes as u64) {
            return None;
        }
        Some(put_all(&mut log, batch))
    }

    /// Reads and verifies record `id`; a rotten one is dropped and reported `NotFound` after
    /// logging, as the caller has other copies to turn to.
    pub fn get(&self, id: &RecordId) -> Result<StoredRecord, StoreError> {
        let mut log = self.lock();
        let loc = log.get(id).ok_or(StoreError::NotFound)?;
        if let Some(payload) = log.read(id, &loc)? {
            return Ok(StoredRecord {
                version: loc.version,
                payload,
            });
        }
        tracing::warn!(record = %id, "corrupt record dropped");
        log.commit(&[Change::Tombstone { id: *id }])?;
        Err(StoreError::NotFound)
    }

    /// Removes record `id`; returns whether it existed.
    pub fn delete(&self, id: &RecordId) -> Result<bool, StoreError> {
        let mut log = self.lock();
        if log.get(id).is_none() {
            return Ok(false);
        }
        log.commit(&[Change::Tombstone { id: *id }])?;
        compact(&mut log);
        Ok(true)
    }

    /// How many records there are and how much of the log they fill.
    pub fn figures(&self) -> RecordFigures {
        let (records, log_bytes, live_bytes) = self.lock().figures();
        RecordFigures {
            records,
            log_bytes,
            live_bytes,
        }
    }

    /// The newest record version this node has stored (0 with none), kept up to date by the
    /// log: how far the index that wrote them had gone, as far as this node knows.
    pub fn newest_version(&self) -> u64 {
        self.lock().newest_version()
    }

    /// Up to `limit` records with ids after `after`, in id order, with their versions.
    pub fn list(&self, after: Option<&RecordId>, limit: u32) -> Result<RecordPage, StoreError> {
        let limit = limit.clamp(1, LIST_MAX_LIMIT) as usize;
        let log = self.lock();
        let mut rows = log.after(after);
        let records: Vec<RecordEntry> = rows
            .by_ref()
            .take(limit)
            .map(|(id, loc)| RecordEntry {
                id: *id,
                version: loc.version,
                len: u64::from(loc.len),
            })
            .collect();
        let next_after = rows.next().and_then(|_| records.last().map(|r| r.id));
        Ok(RecordPage {
            records,
            next_after,
        })
    }
}

/// Appends the records of `batch` that are not older than what `log` holds, in one commit.
fn put_all(log: &mut Log<RecordId>, batch: &[RecordItem]) -> Result<Vec<RecordPut>, StoreError> {
    let mut in_batch: HashMap<RecordId, u64> = HashMap::new();
    let mut changes = Vec::with_capacity(batch.len());
    let outcomes = batch
        .iter()
        .map(|item| {
            let stored = in_batch
                .get(&item.id)
                .copied()
                .or_else(|| log.get(&item.id).map(|loc| loc.version));
            match stored {
                Some(stored) if stored > item.version => RecordPut::Newer(stored),
                _ => {
                    in_batch.insert(item.id, item.version);
                    changes.push(Change::Put {
                        id: item.id,
                        version: item.version,
                        hash: ShardHash::of(&item.payload),
                        payload: item.payload.clone(),
                    });
                    RecordPut::Stored
                }
            }
        })
        .collect();
    log.commit(&changes)?;
    Ok(outcomes)
}

/// Compacts one mostly dead segment, if there is one. The change that triggered it is already
/// durable, so a failure here is logged and left for the next try.
fn compact(log: &mut Log<RecordId>) {
    if let Err(e) = log.compact_one() {
        tracing::warn!(error = %e, "record log compaction failed");
    }
}

#[cfg(test)]
mod tests;
