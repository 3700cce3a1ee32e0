//! A segment log: numbered, append-only segment files, and the in-memory map from each key to
//! its newest put.
//!
//! ```text
//! DIR/<seq as 16 hex>.seg    the log's segment magic with its format version (8 bytes), the
//!                            segment's random key (32 bytes), then entries
//! ```
//!
//! A batch of changes is one write at the end of the newest segment and one `fdatasync`: no
//! file is created, renamed or looked up per entry. Later entries override earlier ones, so
//! replaying the segments in order rebuilds the map. Only the segment that was newest when the
//! node stopped can hold a batch a crash interrupted: its payloads are verified at open, an
//! entry that fails is not replayed (it must not shadow an older, acknowledged version), and
//! the torn tail is cut off. A node that opens appends to a new segment, never after a tail it
//! did not write itself. A rotten header elsewhere costs only the entries it hides, as the scan
//! finds the next intact one.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::num::NonZeroU64;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use floe_codec::ShardHash;
use rustix::fs::Advice;

use super::LogKey;
use super::entry::{
    EntryHeader, EntryKind, SegmentKey, encode_put_header, encode_tombstone, find_header,
    header_len, parse_header,
};
use super::reader::Located;
use super::vectored::write_all_parts_at;
use crate::store::{StoreError, io_err, sync_dir};
use crate::walk::read_names;

/// Magic and key.
pub(super) const SEGMENT_HEADER_LEN: u64 = 8 + 32;
/// Bytes read at a time while looking for the next intact entry past rot.
const RESYNC_WINDOW: usize = 1 << 20;
/// A segment takes appends until it reaches this size; then a new one starts.
pub const SEGMENT_TARGET: u64 = 64 << 20;

/// Where the newest put of a key lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    pub segment: u64,
    pub offset: u64,
    pub version: u64,
    pub len: u32,
}

impl Loc {
    /// Bytes of the whole entry, header included, in a log keyed by `K`.
    pub fn entry_len<K: LogKey>(&self) -> u64 {
        header_len::<K>() as u64 + u64::from(self.len)
    }

    /// Where the put `header` at `offset` of segment `seq` lies; `None` for a tombstone.
    pub(super) fn of_put<K>(seq: u64, offset: u64, header: &EntryHeader<K>) -> Option<Loc> {
        match header.kind {
            EntryKind::Put { version, len, .. } => Some(Loc {
                segment: seq,
                offset,
                version,
                len,
            }),
            EntryKind::Tombstone => None,
        }
    }

    /// Where the payload starts in its segment file, in a log keyed by `K`.
    pub fn payload_at<K: LogKey>(&self) -> u64 {
        self.offset + header_len::<K>() as u64
    }
}

/// One change to append.
#[derive(Debug, Clone)]
pub enum Change<K> {
    Put {
        id: K,
        version: u64,
        /// The payload's blake3, computed by the caller (who has checked it already).
        hash: ShardHash,
        payload: Bytes,
    },
    Tombstone {
        id: K,
    },
}

/// How a log writes; fixed when it opens, since the open itself may write (see [`Log::open`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOptions {
    /// A segment takes appends until it reaches this size; then a new one starts.
    pub target: u64,
    pub written: WrittenPages,
    /// Zeros written past each append that reaches the end of its file, so that the appends
    /// after it overwrite blocks the file has and their fdatasync writes no metadata (0: none).
    /// A sealed segment is trimmed back to its entries.
    pub preextend: u64,
    /// Whether a batch of tombstones alone is synced. `false` for a log whose deletes may come
    /// undone in a crash (the next synced batch, or the kernel's writeback, makes them durable).
    pub sync_tombstones: bool,
}

/// Whether the page cache keeps what a commit wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrittenPages {
    /// Hand the pages back at once: the entries are read again only by compaction or a restart.
    Drop,
    /// Leave them to the kernel: entries are read back soon and often.
    Keep,
    /// Keep the pages of payloads under this many bytes; drop the whole pages of larger ones,
    /// as direct I/O would never have cached them.
    KeepBelow(u64),
}

pub(super) struct Segment {
    /// Shared with readers, who read outside the log's lock (see [`Located`]).
    pub(super) file: Arc<File>,
    pub(super) key: SegmentKey,
    pub(super) path: PathBuf,
    /// Bytes in the file that belong to it (a torn tail is cut off).
    pub(super) size: u64,
    /// Length of the file: `size` plus the zeros written ahead of the appends (see
    /// [`Log::preextend`]).
    pub(super) allocated: u64,
    /// Bytes of puts that are still the newest of their record.
    pub(super) live: u64,
}

/// The segments and the map; callers serialise access (the store holds it in a mutex).
pub struct Log<K: LogKey> {
    pub(super) dir: PathBuf,
    pub(super) segments: BTreeMap<u64, Segment>,
    map: BTreeMap<K, Loc>,
    /// Payload bytes of the entries in the map.
    live_payload: u64,
    options: LogOptions,
    /// The newest version stored since the log was opened (replay included), deleted or not:
    /// what a gateway compares with its own, kept here so that asking costs nothing.
    newest_version: u64,
    /// Number of the next segment: past every segment file found, even one left alone.
    next_seq: u64,
    /// Segment files found without a valid header: not replayed, but still on disk.
    pub(super) left_alone: Vec<u64>,
    /// The next append starts a new segment: after an open (the newest segment's tail is not
    /// ours to extend) and after a failed append (the segment is in doubt).
    seal_active: bool,
    /// After a failed compaction, none is tried before this instant (so a segment that cannot
    /// be removed is not rescanned on every request).
    pub(super) compaction_paused_until: Option<std::time::Instant>,
}

/// How a scan of one segment ended.
pub(super) struct ScanEnd {
    /// End of the last intact entry.
    pub(super) intact: u64,
    /// Bytes skipped over between intact entries (rot).
    pub(super) skipped: u64,
    /// Where the puts whose payload failed verification start (only when verifying).
    pub(super) failed: Vec<u64>,
}

impl<K: LogKey> Log<K> {
    /// Opens (creating if need be) the log in `dir` and replays it.
    pub fn open(dir: &Path, options: LogOptions) -> Result<Self, StoreError> {
        fs::create_dir_all(dir).map_err(io_err("cannot create directory", dir))?;
        if let Some(parent) = dir.parent() {
            sync_dir(parent)?;
        }
        let mut seqs: Vec<u64> = read_names(dir)?
            .iter()
            .filter_map(|n| segment_seq(n))
            .collect();
        seqs.sort_unstable();
        let mut log = Log {
            dir: dir.to_path_buf(),
            segments: BTreeMap::new(),
            map: BTreeMap::new(),
            live_payload: 0,
            options,
            newest_version: 0,
            next_seq: match seqs.last() {
                None => 1,
                Some(last) => last.checked_add(1).ok_or_else(|| {
                    io_err("segment numbers exhausted in", dir)(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a segment is numbered ffffffffffffffff",
                    ))
                })?,
            },
            left_alone: Vec::new(),
            seal_active: true,
            compaction_paused_until: None,
        };
        let last = seqs.last().copied();
        let mut doubtful = None;
        for seq in seqs {
            let newest = Some(seq) == last;
            if log.replay(seq, newest)? && newest {
                doubtful = Some(seq);
            }
        }
        // Entries of the newest segment that failed verification were not replayed; once
        // another segment follows it they would be, unverified. So its good entries move to a
        // new segment now and it goes.
        if let Some(seq) = doubtful {
            log.rewrite(seq)?;
        }
        Ok(log)
    }

    fn segment_path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:016x}.seg"))
    }

    /// The segment taking appends: the newest one, if it has a valid header.
    fn active(&self) -> Option<u64> {
        self.segments.keys().next_back().copied()
    }

    /// Reads segment `seq` into the map; returns whether it skipped anything. The newest
    /// segment's payloads are verified and its torn tail is cut off; a segment without a valid
    /// header is left alone.
    fn replay(&mut self, seq: u64, newest: bool) -> Result<bool, StoreError> {
        let path = self.segment_path(seq);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io_err("cannot open log segment", &path))?;
        let len = file
            .metadata()
            .map_err(io_err("cannot stat log segment", &path))?
            .len();
        if newest && len < SEGMENT_HEADER_LEN {
            // Created, but the crash came before its header was durable: nothing in it.
            fs::remove_file(&path).map_err(io_err("cannot remove log segment", &path))?;
            return Ok(false);
        }
        let mut header = [0u8; SEGMENT_HEADER_LEN as usize];
        if len >= SEGMENT_HEADER_LEN {
            file.read_exact_at(&mut header, 0)
                .map_err(io_err("cannot read log segment", &path))?;
        }
        if len < SEGMENT_HEADER_LEN || header[..K::SEGMENT_MAGIC.len()] != K::SEGMENT_MAGIC {
            tracing::warn!(segment = %path.display(), "log segment has no valid header; left alone");
            self.left_alone.push(seq);
            return Ok(false);
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&header[K::SEGMENT_MAGIC.len()..]);
        self.segments.insert(
            seq,
            Segment {
                file: Arc::new(file),
                key,
                path: path.clone(),
                size: len,
                allocated: len,
                live: 0,
            },
        );
        let segment = &self.segments[&seq];
        let mut found = Vec::new();
        let end = scan(segment, len, newest, |offset, header| {
            found.push((offset, header))
        })?;
        for (offset, header) in found {
            self.apply(seq, offset, &header);
        }
        if end.skipped > 0 {
            tracing::warn!(segment = %path.display(), bytes = end.skipped, "rotten entries or bytes in a log segment skipped");
        }
        if !end.failed.is_empty() {
            // Blanked for good before anything else is written: once another segment follows
            // this one it is replayed unverified, and a put a crash cut short must never shadow
            // an older, acknowledged one, even if the rewrite below is interrupted.
            let segment = &self.segments[&seq];
            end.failed
                .iter()
                .try_for_each(|&at| segment.file.write_all_at(&[0; 4], at))
                .and_then(|()| segment.file.sync_data())
                .map_err(io_err("cannot blank a failed entry in log segment", &path))?;
        }
        if end.intact < len {
            // A sealed segment's zeros written ahead of appends, which a crash kept from being
            // trimmed, are nothing of the log's either.
            let zero_tail = !newest
                && self.options.preextend > 0
                && zeros(&self.segments[&seq], end.intact, len)?;
            if newest || zero_tail {
                if newest {
                    tracing::info!(segment = %path.display(), bytes = len - end.intact, "torn tail of a segment log cut off");
                }
                let segment = self.segments.get_mut(&seq).expect("inserted above");
                segment
                    .file
                    .set_len(end.intact)
                    .and_then(|()| segment.file.sync_all())
                    .map_err(io_err("cannot truncate log segment", &path))?;
                segment.size = end.intact;
                segment.allocated = end.intact;
            } else {
                tracing::warn!(segment = %path.display(), bytes = len - end.intact, "unreadable end of a log segment skipped");
            }
        }
        Ok(end.skipped > 0)
    }

    /// Records an entry at `offset` of segment `seq` in the map and the live counts.
    fn apply(&mut self, seq: u64, offset: u64, header: &EntryHeader<K>) {
        let previous = match Loc::of_put(seq, offset, header) {
            Some(loc) => {
                if let Some(segment) = self.segments.get_mut(&seq) {
                    segment.live += loc.entry_len::<K>();
                }
                self.live_payload += u64::from(loc.len);
                self.newest_version = self.newest_version.max(loc.version);
                self.map.insert(header.id, loc)
            }
            None => self.map.remove(&header.id),
        };
        if let Some(old) = previous {
            self.live_payload = self.live_payload.saturating_sub(u64::from(old.len));
            if let Some(segment) = self.segments.get_mut(&old.segment) {
                segment.live = segment.live.saturating_sub(old.entry_len::<K>());
            }
        }
    }

    /// Starts a new, empty segment after the newest one and makes it durable (the file and its
    /// name) before anything is appended to it.
    fn start_segment(&mut self) -> Result<(), StoreError> {
        let seq = self.next_seq;
        let path = self.segment_path(seq);
        // Taken even if the creation fails, so a leftover file cannot block the next try.
        self.next_seq = seq.checked_add(1).ok_or_else(|| {
            io_err("segment numbers exhausted in", &self.dir)(io::Error::new(
                io::ErrorKind::InvalidData,
                "no segment number left",
            ))
        })?;
        let key = fresh_key(seq);
        let mut header = K::SEGMENT_MAGIC.to_vec();
        header.extend_from_slice(&key);
        let created = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|f| {
                f.write_all_at(&header, 0)?;
                f.sync_all()?;
                Ok(f)
            })
            .map_err(io_err("cannot create log segment", &path))
            .and_then(|f| sync_dir(&self.dir).map(|()| f));
        let file = match created {
            Ok(file) => file,
            Err(e) => {
                let _ = fs::remove_file(&path);
                return Err(e);
            }
        };
        self.segments.insert(
            seq,
            Segment {
                file: Arc::new(file),
                key,
                path,
                size: SEGMENT_HEADER_LEN,
                allocated: SEGMENT_HEADER_LEN,
                live: 0,
            },
        );
        Ok(())
    }

    /// Whether a [`commit`](Self::commit) of `entries` changes carrying `payload_bytes` in all
    /// would be one write and one sync of their own bytes: no segment to seal and start, no
    /// zeros to write ahead of them.
    pub fn plain_append(&self, entries: usize, payload_bytes: u64) -> bool {
        let Some(segment) = self.active().map(|seq| &self.segments[&seq]) else {
            return false;
        };
        let bytes = (entries * header_len::<K>()) as u64 + payload_bytes;
        !self.seal_active
            && segment.size < self.options.target
            && (self.options.preextend == 0 || segment.size + bytes <= segment.allocated)
    }

    /// Appends `changes` as one write, makes them durable, then applies them to the map. On
    /// an error nothing is applied and the segment is cut back to where it was.
    pub fn commit(&mut self, changes: &[Change<K>]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        if self.seal_active
            || self
                .active()
                .is_none_or(|seq| self.segments[&seq].size >= self.options.target)
        {
            self.trim_active();
            self.start_segment()?;
            self.seal_active = false;
        }
        let seq = self.active().expect("a segment was just started");
        let segment = &self.segments[&seq];
        let start = segment.size;
        // The headers go into one buffer; the payloads are written from where they are.
        let mut heads = Vec::new();
        let mut head_ends = Vec::with_capacity(changes.len());
        let mut placed = Vec::with_capacity(changes.len());
        let mut offset = start;
        for change in changes {
            let (header, payload) = match change {
                Change::Put {
                    id,
                    version,
                    hash,
                    payload,
                } => {
                    let header = encode_put_header(
                        &mut heads,
                        &segment.key,
                        id,
                        *version,
                        hash,
                        payload.len(),
                    )
                    .ok_or_else(|| too_large(&segment.path))?;
                    (header, &payload[..])
                }
                Change::Tombstone { id } => {
                    (encode_tombstone(&mut heads, &segment.key, id), &[][..])
                }
            };
            head_ends.push((heads.len(), payload));
            placed.push((offset, header));
            offset += (header_len::<K>() + payload.len()) as u64;
        }
        let end = offset;
        let mut parts = Vec::with_capacity(2 * changes.len());
        let mut head_start = 0;
        for (head_end, payload) in head_ends {
            parts.push(&heads[head_start..head_end]);
            parts.push(payload);
            head_start = head_end;
        }
        // Past the file's end, zeros go ahead of the batch: the appends that follow then only
        // overwrite blocks the file already has, so their fdatasync writes data and no
        // metadata (no size change, no block allocation). Measured on this machine's ext4:
        // 16 KiB appends 67-105 -> 46-49 us CPU each, 256 KiB 122-145 -> 91-100.
        let mut ahead = (self.options.preextend > 0 && end > segment.allocated)
            .then(|| end + self.options.preextend);
        let sync =
            self.options.sync_tombstones || changes.iter().any(|c| matches!(c, Change::Put { .. }));
        let written = write_all_parts_at(&segment.file, &parts, start).and_then(|()| {
            // Best effort: on a full disk the batch still goes, only without zeros ahead.
            if let Some(to) = ahead
                && write_zeros(&segment.file, end, to).is_err()
            {
                ahead = None;
                segment.file.set_len(end)?;
            }
            if sync {
                segment.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            // Nothing of this batch counts. Cut it off, durably, so that no part of it can come
            // back in a segment replayed unverified, and append no more to this segment either
            // way: entries written after a leftover could be followed, on replay, by stale ones
            // of this batch.
            if let Err(cut) = segment
                .file
                .set_len(start)
                .and_then(|()| segment.file.sync_all())
            {
                tracing::error!(segment = %segment.path.display(), error = %cut, "cannot cut a failed batch off a log segment");
            }
            let err = io_err("cannot append to log segment", &segment.path)(e);
            let segment = self.segments.get_mut(&seq).expect("active");
            segment.allocated = start;
            self.seal_active = true;
            return Err(err);
        }
        // The batch is on disk and is read again only by compaction, a rebuild or a restart:
        // its page-cache pages go straight back to the kernel. The next batches then write into
        // pages just freed instead of never-used ones, which on a VM cost a first-touch fault
        // each (4 KiB PUT, issue 6: 3539-3821 -> 3791-3889 op/s). Advice only: a refusal, or
        // tmpfs, where it does nothing, changes nothing.
        if self.options.written == WrittenPages::Drop
            && let Some(len) = NonZeroU64::new(end - start)
        {
            let _ = rustix::fs::fadvise(&segment.file, start, Some(len), Advice::DontNeed);
        }
        if let WrittenPages::KeepBelow(limit) = self.options.written {
            for (offset, header) in &placed {
                let len = header.payload_len() as u64;
                if len >= limit
                    && let Some(len) = NonZeroU64::new(len)
                {
                    // Only the pages wholly inside the payload go; those it shares with its
                    // neighbours stay, so the next append never reads one back from disk.
                    let at = offset + header_len::<K>() as u64;
                    let _ = rustix::fs::fadvise(&segment.file, at, Some(len), Advice::DontNeed);
                }
            }
        }
        let segment = self.segments.get_mut(&seq).expect("active");
        segment.size = end;
        segment.allocated = segment.allocated.max(ahead.unwrap_or(end));
        for (offset, header) in placed {
            self.apply(seq, offset, &header);
        }
        Ok(())
    }

    /// Cuts the zeros written ahead off the newest segment, which is being sealed. A failure
    /// only leaves them for the next open to trim.
    fn trim_active(&mut self) {
        let Some(segment) = self.segments.values_mut().next_back() else {
            return;
        };
        if segment.allocated <= segment.size {
            return;
        }
        match segment
            .file
            .set_len(segment.size)
            .and_then(|()| segment.file.sync_all())
        {
            Ok(()) => segment.allocated = segment.size,
            Err(e) => {
                tracing::warn!(segment = %segment.path.display(), error = %e, "cannot trim a sealed log segment");
            }
        }
    }

    /// Payload bytes of the keys held.
    pub fn live_payload(&self) -> u64 {
        self.live_payload
    }

    /// Keys held, and the bytes of the segments and of their live entries.
    pub fn figures(&self) -> (u64, u64, u64) {
        let (size, live) = self
            .segments
            .values()
            .fold((0, 0), |(size, live), s| (size + s.size, live + s.live));
        (self.map.len() as u64, size, live)
    }

    /// Keys whose newest put is in segment `seq`.
    pub(super) fn ids_in(&self, seq: u64) -> Vec<K> {
        self.map
            .iter()
            .filter(|(_, loc)| loc.segment == seq)
            .map(|(id, _)| *id)
            .collect()
    }

    /// See the field: the newest version stored since open.
    pub fn newest_version(&self) -> u64 {
        self.newest_version
    }

    /// The newest put of `id`.
    pub fn get(&self, id: &K) -> Option<Loc> {
        self.map.get(id).copied()
    }

    /// Keys after `after`, in key order.
    pub fn after<'a>(&'a self, after: Option<&K>) -> impl Iterator<Item = (&'a K, &'a Loc)> {
        use std::ops::Bound;
        let from = after.map_or(Bound::Unbounded, |a| Bound::Excluded(*a));
        self.map.range((from, Bound::Unbounded))
    }

    /// Reads the payload at `loc` and checks it against its entry; `Ok(None)` if it is rotten.
    pub fn read(&self, id: &K, loc: &Loc) -> Result<Option<Bytes>, StoreError> {
        match self.locate(id, loc) {
            Some(located) => Ok(located.read()?.map(|(_, payload)| payload)),
            None => Ok(None),
        }
    }

    /// A handle to read the entry at `loc` with once the log's lock is released; `None` if its
    /// segment is gone. A segment removed meanwhile stays readable through the handle.
    pub fn locate(&self, id: &K, loc: &Loc) -> Option<Located<K>> {
        let segment = self.segments.get(&loc.segment)?;
        Some(Located {
            id: *id,
            loc: *loc,
            file: Arc::clone(&segment.file),
            key: segment.key,
            path: segment.path.clone(),
        })
    }
}

/// Writes zeros over `from..to` of `file`.
fn write_zeros(file: &File, from: u64, to: u64) -> io::Result<()> {
    static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
    let mut at = from;
    while at < to {
        let n = (to - at).min(ZEROS.len() as u64);
        file.write_all_at(&ZEROS[..n as usize], at)?;
        at += n;
    }
    Ok(())
}

/// Whether bytes `from..to` of `segment` are all zeros.
fn zeros(segment: &Segment, from: u64, to: u64) -> Result<bool, StoreError> {
    let mut buf = vec![0u8; RESYNC_WINDOW];
    let mut at = from;
    while at < to {
        let n = (to - at).min(buf.len() as u64) as usize;
        segment
            .file
            .read_exact_at(&mut buf[..n], at)
            .map_err(io_err("cannot read log segment", &segment.path))?;
        if buf[..n].iter().any(|&b| b != 0) {
            return Ok(false);
        }
        at += n as u64;
    }
    Ok(true)
}

/// Visits every intact entry of the first `len` bytes of `segment` in order, skipping rotten
/// bytes. With `verify`, a put whose payload fails its hash is skipped too (a batch a crash
/// cut short may have its headers on disk but not its payloads). An entry whose payload would
/// run past `len` ends the scan: that is a torn write, not rot.
pub(super) fn scan<K: LogKey>(
    segment: &Segment,
    len: u64,
    verify: bool,
    mut visit: impl FnMut(u64, EntryHeader<K>),
) -> Result<ScanEnd, StoreError> {
    let read_err = || io_err("cannot read log segment", &segment.path);
    let mut at = SEGMENT_HEADER_LEN;
    let mut end = ScanEnd {
        intact: at,
        skipped: 0,
        failed: Vec::new(),
    };
    let header_len = header_len::<K>();
    let mut head = vec![0u8; header_len];
    while at < len {
        let fits = len - at >= header_len as u64;
        if fits {
            segment
                .file
                .read_exact_at(&mut head, at)
                .map_err(read_err())?;
        }
        match fits
            .then(|| parse_header::<K>(&segment.key, &head))
            .flatten()
        {
            Some(header) => {
                let next = at + (header_len + header.payload_len()) as u64;
                if next > len {
                    break;
                }
                if verify && !payload_intact(segment, at, &header)? {
                    end.skipped += next - at;
                    end.failed.push(at);
                } else {
                    visit(at, header);
                    end.intact = next;
                }
                at = next;
            }
            None => match resync::<K>(segment, at + 1, len)? {
                Some(next) => {
                    end.skipped += next - at;
                    at = next;
                }
                None => break,
            },
        }
    }
    Ok(end)
}

/// Whether the payload of the put at `at` matches its hash (a tombstone has none).
fn payload_intact<K: LogKey>(
    segment: &Segment,
    at: u64,
    header: &EntryHeader<K>,
) -> Result<bool, StoreError> {
    let EntryKind::Put { hash, .. } = header.kind else {
        return Ok(true);
    };
    let mut payload = vec![0u8; header.payload_len()];
    segment
        .file
        .read_exact_at(&mut payload, at + header_len::<K>() as u64)
        .map_err(io_err("cannot read log segment", &segment.path))?;
    Ok(hash.matches(&payload))
}

/// The offset of the next intact header at or after `from`, read a window at a time.
fn resync<K: LogKey>(segment: &Segment, from: u64, len: u64) -> Result<Option<u64>, StoreError> {
    let header_len = header_len::<K>();
    let mut pos = from;
    while pos < len {
        let window = RESYNC_WINDOW.min((len - pos) as usize);
        // Overlap the next window by a header, so none is missed across the seam.
        let read = (window + header_len - 1).min((len - pos) as usize);
        let mut bytes = vec![0u8; read];
        segment
            .file
            .read_exact_at(&mut bytes, pos)
            .map_err(io_err("cannot read log segment", &segment.path))?;
        if let Some(found) = find_header::<K>(&segment.key, &bytes, 0).filter(|&i| i < window) {
            return Ok(Some(pos + found as u64));
        }
        pos += window as u64;
    }
    Ok(None)
}

/// A key no other segment shares: process-random hasher state, the time, the process and the
/// segment number, hashed.
fn fresh_key(seq: u64) -> SegmentKey {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = blake3::Hasher::new();
    for _ in 0..4 {
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        hasher.update(&random.to_le_bytes());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.update(&now.to_le_bytes());
    hasher.update(&u64::from(std::process::id()).to_le_bytes());
    hasher.update(&seq.to_le_bytes());
    *hasher.finalize().as_bytes()
}

pub(super) fn segment_seq(name: &str) -> Option<u64> {
    let hex = name.strip_suffix(".seg")?;
    // Lowercase only: the name must be the one `segment_path` gives that number.
    (hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then(|| u64::from_str_radix(hex, 16).ok())
        .flatten()
}

fn too_large(path: &Path) -> StoreError {
    io_err("entry too large for", path)(io::Error::new(
        io::ErrorKind::InvalidInput,
        "payload of 4 GiB or more",
    ))
}
