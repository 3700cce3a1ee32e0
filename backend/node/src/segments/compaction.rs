//! Compaction: a sealed segment that is mostly superseded puts is copied forward and removed.
//!
//! Its live puts are appended to the newest segment (same id, same version) and made durable
//! before the old file goes, so a crash at any point replays to the same keys: the copies
//! come later in the log than the originals and win. Tombstones are carried forward too while
//! an older segment file exists that may still hold a put they cancel, unless a newer put of
//! the key exists (a tombstone moved past it would delete it). The same copy-and-remove
//! rewrites, at open, a newest segment with entries that failed verification.

use std::fs;
use std::time::{Duration, Instant};

use super::LogKey;
use super::entry::EntryKind;
use super::log::{Change, Log, scan};
use crate::store::{StoreError, io_err, sync_dir};

/// Bytes of copied payload per append while compacting, so memory stays bounded.
const COPY_BYTES: usize = 8 << 20;
/// How long compaction rests after a failure.
const RETRY_AFTER: Duration = Duration::from_secs(60);

impl<K: LogKey> Log<K> {
    /// Compacts the sealed segment with the smallest live share, if that share is under half;
    /// returns whether it did. After a failure it rests for a minute.
    pub fn compact_one(&mut self) -> Result<bool, StoreError> {
        if self.compaction_resting() {
            return Ok(false);
        }
        let Some(seq) = self.emptiest() else {
            return Ok(false);
        };
        let outcome = self.rewrite(seq);
        self.compaction_paused_until = outcome.is_err().then(|| Instant::now() + RETRY_AFTER);
        outcome.map(|()| true)
    }

    /// Whether [`compact_one`](Self::compact_one) would rewrite a segment now. A commit made
    /// where a long stall must not happen (on an async worker) leaves the log alone when it
    /// would, so the compaction runs with the next commit made on a blocking thread.
    pub fn compaction_due(&self) -> bool {
        !self.compaction_resting() && self.emptiest().is_some()
    }

    fn compaction_resting(&self) -> bool {
        self.compaction_paused_until
            .is_some_and(|until| Instant::now() < until)
    }

    /// The sealed segment with the smallest live share, if that share is under half.
    fn emptiest(&self) -> Option<u64> {
        let newest = self.segments.keys().next_back().copied();
        self.segments
            .iter()
            .filter(|(seq, segment)| Some(**seq) != newest && segment.live * 2 < segment.size)
            .min_by(|(_, a), (_, b)| {
                // live_a / size_a against live_b / size_b, without floats.
                (u128::from(a.live) * u128::from(b.size))
                    .cmp(&(u128::from(b.live) * u128::from(a.size)))
            })
            .map(|(seq, _)| *seq)
    }

    /// Copies what still counts in segment `seq` to the newest segment, then removes it. The
    /// caller makes sure `seq` does not take appends.
    pub(super) fn rewrite(&mut self, seq: u64) -> Result<(), StoreError> {
        let oldest = self.segments.keys().chain(&self.left_alone).min().copied();
        let Some(segment) = self.segments.get(&seq) else {
            return Ok(());
        };
        let mut entries = Vec::new();
        scan::<K>(segment, segment.size, false, |offset, header| {
            entries.push((offset, header))
        })?;
        let mut changes = Vec::new();
        let mut pending = 0;
        for (offset, header) in entries {
            let id = header.id;
            match header.kind {
                EntryKind::Put { .. } => {
                    let Some(loc) = self
                        .get(&id)
                        .filter(|loc| loc.segment == seq && loc.offset == offset)
                    else {
                        continue;
                    };
                    let EntryKind::Put { hash, .. } = header.kind else {
                        continue;
                    };
                    match self.read(&id, &loc)? {
                        Some(payload) => {
                            pending += payload.len();
                            changes.push(Change::Put {
                                id,
                                version: loc.version,
                                hash,
                                payload,
                            });
                        }
                        None => {
                            tracing::warn!(key = %id, "rotten entry dropped while compacting");
                            changes.push(Change::Tombstone { id });
                        }
                    }
                }
                EntryKind::Tombstone => {
                    if Some(seq) != oldest && self.get(&id).is_none() {
                        changes.push(Change::Tombstone { id });
                    }
                }
            }
            if pending >= COPY_BYTES {
                self.commit(&changes)?;
                changes.clear();
                pending = 0;
            }
        }
        self.commit(&changes)?;
        changes.clear();
        // Records whose newest put the scan could not reach (rot hid its header since the
        // open) go with the segment; a tombstone keeps an older put of theirs from coming back.
        for id in self.ids_in(seq) {
            tracing::warn!(key = %id, "entry lost to a rotten header");
            changes.push(Change::Tombstone { id });
        }
        self.commit(&changes)?;
        let path = self.segments[&seq].path.clone();
        fs::remove_file(&path).map_err(io_err("cannot remove log segment", &path))?;
        sync_dir(&self.dir)?;
        self.segments.remove(&seq);
        tracing::debug!(segment = %path.display(), "log segment rewritten and removed");
        Ok(())
    }
}
