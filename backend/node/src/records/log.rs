//! The record log: numbered, append-only segment files, and the in-memory map from each record
//! id to its newest put.
//!
//! ```text
//! DATA/record-log/<seq as 16 hex>.seg    "FLRLOG" + format version (8 bytes), then entries
//! ```
//!
//! A batch of changes is one write at the end of the newest segment and one `fdatasync`: no
//! file is created, renamed or looked up per record. Later entries override earlier ones, so
//! replaying the segments in order rebuilds the map. A crash mid-write leaves a torn tail on the
//! newest segment, which the next open cuts off (that batch was never acknowledged); a rotten
//! header elsewhere costs only the entries it hides, as the scan finds the next intact one.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::entry::{
    ENTRY_HEADER_LEN, EntryHeader, EntryKind, encode_put, encode_tombstone, find_header,
    parse_header,
};
use crate::protocol::RecordId;
use crate::store::{StoreError, io_err, sync_dir};
use crate::walk::read_names;

pub const LOG_DIR: &str = "record-log";
/// Segment file magic; the last two bytes are the format version.
const SEGMENT_MAGIC: [u8; 8] = *b"FLRLOG\x00\x01";
const SEGMENT_HEADER_LEN: u64 = SEGMENT_MAGIC.len() as u64;
/// A segment takes appends until it reaches this size; then a new one starts.
pub const SEGMENT_TARGET: u64 = 64 << 20;

/// Where the newest put of a record lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    pub segment: u64,
    pub offset: u64,
    pub version: u64,
    pub len: u32,
}

impl Loc {
    fn entry_len(&self) -> u64 {
        ENTRY_HEADER_LEN as u64 + u64::from(self.len)
    }
}

/// One change to append.
#[derive(Debug, Clone)]
pub enum Change {
    Put {
        id: RecordId,
        version: u64,
        payload: Bytes,
    },
    Tombstone {
        id: RecordId,
    },
}

pub(super) struct Segment {
    pub(super) file: File,
    pub(super) path: PathBuf,
    /// Bytes in the file that belong to it (a torn tail is cut off).
    pub(super) size: u64,
    /// Bytes of puts that are still the newest of their record.
    pub(super) live: u64,
}

/// The segments and the map; callers serialise access (the store holds it in a mutex).
pub struct Log {
    pub(super) dir: PathBuf,
    pub(super) segments: BTreeMap<u64, Segment>,
    map: BTreeMap<RecordId, Loc>,
    target: u64,
    /// Number of the next segment: past every segment file found, even one left alone.
    next_seq: u64,
    /// A failed append left the newest segment in doubt: the next append starts a new one.
    seal_active: bool,
}

/// How a scan of one segment ended.
pub(super) struct ScanEnd {
    /// End of the last intact entry.
    pub(super) intact: u64,
    /// Bytes skipped over between intact entries (rot).
    pub(super) skipped: u64,
}

impl Log {
    /// Opens (creating if need be) the log in `dir` and replays it.
    pub fn open(dir: &Path, target: u64) -> Result<Log, StoreError> {
        fs::create_dir_all(dir).map_err(io_err("cannot create directory", dir))?;
        let mut seqs: Vec<u64> = read_names(dir)?
            .iter()
            .filter_map(|n| segment_seq(n))
            .collect();
        seqs.sort_unstable();
        let mut log = Log {
            dir: dir.to_path_buf(),
            segments: BTreeMap::new(),
            map: BTreeMap::new(),
            target,
            next_seq: seqs.last().map_or(1, |s| s + 1),
            seal_active: false,
        };
        let last = seqs.last().copied();
        for seq in seqs {
            log.replay(seq, Some(seq) == last)?;
        }
        if log.active().is_none() {
            log.start_segment()?;
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

    /// Reads segment `seq` into the map. The newest segment's torn tail is cut off; a segment
    /// without a valid header is left alone (and a new one takes the appends).
    fn replay(&mut self, seq: u64, newest: bool) -> Result<(), StoreError> {
        let path = self.segment_path(seq);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io_err("cannot open record segment", &path))?;
        let len = file
            .metadata()
            .map_err(io_err("cannot stat record segment", &path))?
            .len();
        let mut magic = [0u8; SEGMENT_MAGIC.len()];
        if len < SEGMENT_HEADER_LEN
            || file.read_exact_at(&mut magic, 0).is_err()
            || magic != SEGMENT_MAGIC
        {
            if newest && len <= SEGMENT_HEADER_LEN {
                // Created, but the crash came before its header was durable: nothing in it.
                fs::remove_file(&path).map_err(io_err("cannot remove record segment", &path))?;
            } else {
                tracing::warn!(segment = %path.display(), "record segment has no valid header; left alone");
            }
            return Ok(());
        }
        self.segments.insert(
            seq,
            Segment {
                file,
                path: path.clone(),
                size: len,
                live: 0,
            },
        );
        let file = &self.segments[&seq].file;
        let mut found = Vec::new();
        let end = scan(file, len, &path, |offset, header| {
            found.push((offset, header))
        })?;
        for (offset, header) in found {
            self.apply(seq, offset, &header);
        }
        if end.skipped > 0 {
            tracing::warn!(segment = %path.display(), bytes = end.skipped, "rotten bytes in a record segment skipped");
        }
        if end.intact < len {
            if newest {
                tracing::info!(segment = %path.display(), bytes = len - end.intact, "torn tail of the record log cut off");
                let segment = self.segments.get_mut(&seq).expect("inserted above");
                segment
                    .file
                    .set_len(end.intact)
                    .and_then(|()| segment.file.sync_all())
                    .map_err(io_err("cannot truncate record segment", &path))?;
                segment.size = end.intact;
            } else {
                tracing::warn!(segment = %path.display(), bytes = len - end.intact, "unreadable end of a record segment skipped");
            }
        }
        Ok(())
    }

    /// Records an entry at `offset` of segment `seq` in the map and the live counts.
    fn apply(&mut self, seq: u64, offset: u64, header: &EntryHeader) {
        let previous = match header.kind {
            EntryKind::Put { version, len, .. } => {
                let loc = Loc {
                    segment: seq,
                    offset,
                    version,
                    len,
                };
                if let Some(segment) = self.segments.get_mut(&seq) {
                    segment.live += loc.entry_len();
                }
                self.map.insert(header.id, loc)
            }
            EntryKind::Tombstone => self.map.remove(&header.id),
        };
        if let Some(old) = previous
            && let Some(segment) = self.segments.get_mut(&old.segment)
        {
            segment.live = segment.live.saturating_sub(old.entry_len());
        }
    }

    /// Starts a new, empty segment after the newest one and makes it durable (the file and its
    /// name) before anything is appended to it.
    fn start_segment(&mut self) -> Result<(), StoreError> {
        let seq = self.next_seq;
        let path = self.segment_path(seq);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|f| {
                f.write_all_at(&SEGMENT_MAGIC, 0)?;
                f.sync_all()?;
                Ok(f)
            })
            .map_err(io_err("cannot create record segment", &path))?;
        sync_dir(&self.dir)?;
        self.next_seq = seq + 1;
        self.segments.insert(
            seq,
            Segment {
                file,
                path,
                size: SEGMENT_HEADER_LEN,
                live: 0,
            },
        );
        Ok(())
    }

    /// Appends `changes` as one write, makes them durable, then applies them to the map. On
    /// an error nothing is applied and the segment is cut back to where it was.
    pub fn commit(&mut self, changes: &[Change]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        if self.seal_active
            || self
                .active()
                .is_none_or(|seq| self.segments[&seq].size >= self.target)
        {
            self.start_segment()?;
            self.seal_active = false;
        }
        let seq = self.active().expect("a segment was just started");
        let segment = &self.segments[&seq];
        let start = segment.size;
        let mut bytes = Vec::new();
        let mut placed = Vec::with_capacity(changes.len());
        for change in changes {
            let offset = start + bytes.len() as u64;
            let header = match change {
                Change::Put {
                    id,
                    version,
                    payload,
                } => encode_put(&mut bytes, id, *version, payload)
                    .ok_or_else(|| too_large(&segment.path))?,
                Change::Tombstone { id } => encode_tombstone(&mut bytes, id),
            };
            placed.push((offset, header));
        }
        let written = segment
            .file
            .write_all_at(&bytes, start)
            .and_then(|()| segment.file.sync_data());
        if let Err(e) = written {
            // Nothing of this batch counts. Cut it off if the file lets us, and append no more to
            // this segment either way: entries written after a leftover could be followed, on
            // replay, by stale ones of this batch.
            let _ = segment.file.set_len(start);
            let err = io_err("cannot append to record segment", &segment.path)(e);
            self.seal_active = true;
            return Err(err);
        }
        self.segments.get_mut(&seq).expect("active").size = start + bytes.len() as u64;
        for (offset, header) in placed {
            self.apply(seq, offset, &header);
        }
        Ok(())
    }

    /// Records held, and the bytes of the segments and of their live entries.
    pub fn figures(&self) -> (u64, u64, u64) {
        let (size, live) = self
            .segments
            .values()
            .fold((0, 0), |(size, live), s| (size + s.size, live + s.live));
        (self.map.len() as u64, size, live)
    }

    /// The newest put of `id`.
    pub fn get(&self, id: &RecordId) -> Option<Loc> {
        self.map.get(id).copied()
    }

    /// Records with ids after `after`, in id order.
    pub fn after<'a>(
        &'a self,
        after: Option<&RecordId>,
    ) -> impl Iterator<Item = (&'a RecordId, &'a Loc)> {
        use std::ops::Bound;
        let from = after.map_or(Bound::Unbounded, |a| Bound::Excluded(*a));
        self.map.range((from, Bound::Unbounded))
    }

    /// Reads the payload at `loc` and checks it against its entry; `Ok(None)` if it is rotten.
    pub fn read(&self, id: &RecordId, loc: &Loc) -> Result<Option<Bytes>, StoreError> {
        let Some(segment) = self.segments.get(&loc.segment) else {
            return Ok(None);
        };
        let mut bytes = vec![0u8; loc.entry_len() as usize];
        match segment.file.read_exact_at(&mut bytes, loc.offset) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(io_err("cannot read record segment", &segment.path)(e)),
        }
        let intact = parse_header(&bytes).is_some_and(|h| match h.kind {
            EntryKind::Put { hash, .. } => h.id == *id && hash.matches(&bytes[ENTRY_HEADER_LEN..]),
            EntryKind::Tombstone => false,
        });
        Ok(intact.then(|| Bytes::from(bytes).slice(ENTRY_HEADER_LEN..)))
    }
}

/// Visits every intact entry of a segment file of `len` bytes in order, skipping rotten bytes.
pub(super) fn scan(
    file: &File,
    len: u64,
    path: &Path,
    mut visit: impl FnMut(u64, EntryHeader),
) -> Result<ScanEnd, StoreError> {
    let mut at = SEGMENT_HEADER_LEN;
    let mut end = ScanEnd {
        intact: at,
        skipped: 0,
    };
    let mut head = [0u8; ENTRY_HEADER_LEN];
    while at < len {
        let fits = len - at >= ENTRY_HEADER_LEN as u64
            && file
                .read_exact_at(&mut head, at)
                .map_err(io_err("cannot read record segment", path))
                .map(|()| true)?;
        let entry = fits
            .then(|| parse_header(&head))
            .flatten()
            .filter(|h| at + (ENTRY_HEADER_LEN + h.payload_len()) as u64 <= len);
        match entry {
            Some(header) => {
                visit(at, header);
                at += (ENTRY_HEADER_LEN + header.payload_len()) as u64;
                end.intact = at;
            }
            None => {
                // Lost our place: look for the next intact header in the rest of the file.
                let mut rest = vec![0u8; (len - at) as usize];
                file.read_exact_at(&mut rest, at)
                    .map_err(io_err("cannot read record segment", path))?;
                match find_header(&rest, 1) {
                    Some(next) => {
                        end.skipped += next as u64;
                        at += next as u64;
                    }
                    None => break,
                }
            }
        }
    }
    Ok(end)
}

fn segment_seq(name: &str) -> Option<u64> {
    let hex = name.strip_suffix(".seg")?;
    (hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u64::from_str_radix(hex, 16).ok())
        .flatten()
}

fn too_large(path: &Path) -> StoreError {
    io_err("record too large for", path)(io::Error::new(
        io::ErrorKind::InvalidInput,
        "payload of 4 GiB or more",
    ))
}
