//! Retention holds: "no shard of this chunk may be deleted before this time". The gateway
//! places one on every chunk of an object version under retention, on each node holding a
//! shard of it, so a node refuses to delete such a shard even when the gateway's garbage
//! collector, orphan sweep or an operator command asks it to by mistake (a damaged or partial
//! index, a bug). A node knows nothing of objects: a hold is a chunk id and a date.
//!
//! A hold only ever grows (the later date wins) and ends by itself at its date, judged by the
//! node's own clock; nothing releases it early. A shard that moves to another node (drain) is
//! deleted with an explicit "moved" flag, once the gateway has copied the hold to its new node.
//!
//! Holds live in memory and in one append-only log, `DATA/holds.log`: a batch of holds costs
//! one append and one `fdatasync`, however many chunks a bucket's default retention covers.
//! Each entry is the chunk id (32 bytes), the date (8 bytes, big-endian milliseconds since the
//! epoch) and the first 8 bytes of a blake3 hash over both. At startup the log is read back
//! (a torn tail, from a crash mid-append, was never acknowledged and is cut off), ended holds
//! are dropped, and the log is rewritten when most of it is dead.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use floe_codec::ChunkId;

use crate::store::{StoreError, io_err, sync_dir};

pub const HOLDS_LOG: &str = "holds.log";
/// Chunk id, date, check.
const ENTRY_LEN: usize = 32 + 8 + 8;

/// The node's clock, in milliseconds since the epoch (0 before 1970).
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn check(chunk: &ChunkId, until: i64) -> [u8; 8] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(chunk.as_bytes());
    hasher.update(&until.to_be_bytes());
    let mut out = [0; 8];
    out.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    out
}

fn entry(chunk: &ChunkId, until: i64) -> [u8; ENTRY_LEN] {
    let mut out = [0; ENTRY_LEN];
    out[..32].copy_from_slice(chunk.as_bytes());
    out[32..40].copy_from_slice(&until.to_be_bytes());
    out[40..].copy_from_slice(&check(chunk, until));
    out
}

/// The holds in force, by chunk, from a log's bytes; and how many whole entries it has.
fn read_log(bytes: &[u8]) -> (HashMap<ChunkId, i64>, usize) {
    let mut holds = HashMap::new();
    let mut count = 0;
    for raw in bytes.chunks_exact(ENTRY_LEN) {
        count += 1;
        let mut id = [0; 32];
        id.copy_from_slice(&raw[..32]);
        let chunk = ChunkId::from_bytes(id);
        let mut date = [0; 8];
        date.copy_from_slice(&raw[32..40]);
        let until = i64::from_be_bytes(date);
        if raw[40..] != check(&chunk, until) {
            // Rotten: whose hold it was cannot be known, so it cannot be honoured; the entry
            // for the same chunk in the other nodes' logs still is.
            tracing::error!("a damaged retention hold entry was skipped");
            continue;
        }
        let held = holds.entry(chunk).or_insert(until);
        *held = (*held).max(until);
    }
    (holds, count)
}

/// The holds of one data directory.
#[derive(Debug)]
pub struct Holds {
    path: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    until: HashMap<ChunkId, i64>,
    log: File,
}

impl Holds {
    /// Opens (creating if needed) `root/holds.log`, keeping every hold still in force at `now`.
    pub fn open(root: &Path, now: i64) -> Result<Self, StoreError> {
        let path = root.join(HOLDS_LOG);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_err("cannot read holds", &path)(e)),
        };
        let (mut until, entries) = read_log(&bytes);
        until.retain(|_, &mut date| date > now);
        // Rewrite when the log is mostly dead (or ends in a torn entry): only live holds stay.
        if bytes.len() != entries * ENTRY_LEN || entries > 2 * until.len() + 1024 {
            let tmp = root.join(format!("{HOLDS_LOG}.tmp"));
            let mut out = Vec::with_capacity(until.len() * ENTRY_LEN);
            for (chunk, date) in &until {
                out.extend_from_slice(&entry(chunk, *date));
            }
            let write = || -> std::io::Result<()> {
                let mut file = File::create(&tmp)?;
                file.write_all(&out)?;
                file.sync_all()?;
                fs::rename(&tmp, &path)
            };
            write().map_err(io_err("cannot rewrite holds", &path))?;
            sync_dir(root)?;
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_err("cannot open holds", &path))?;
        sync_dir(root)?;
        Ok(Self {
            path,
            state: Mutex::new(State { until, log }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When the hold on `chunk` ends, if one is in force at `now`.
    pub fn until(&self, chunk: &ChunkId, now: i64) -> Option<i64> {
        self.state()
            .until
            .get(chunk)
            .copied()
            .filter(|&until| until > now)
    }

    /// Holds each chunk until at least its date; earlier dates than those in force change
    /// nothing. One append and one sync for the batch; durable when it returns.
    pub fn raise(&self, holds: &[(ChunkId, i64)]) -> Result<(), StoreError> {
        let mut state = self.state();
        let mut wanted: HashMap<ChunkId, i64> = HashMap::new();
        for &(chunk, until) in holds {
            if state.until.get(&chunk).is_some_and(|&held| held >= until) {
                continue;
            }
            let want = wanted.entry(chunk).or_insert(until);
            *want = (*want).max(until);
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let mut out = Vec::with_capacity(wanted.len() * ENTRY_LEN);
        for (chunk, until) in &wanted {
            out.extend_from_slice(&entry(chunk, *until));
        }
        let append = |log: &mut File| -> std::io::Result<()> {
            log.write_all(&out)?;
            log.sync_data()
        };
        append(&mut state.log).map_err(io_err("cannot append holds", &self.path))?;
        state.until.extend(wanted);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(seed: u8) -> ChunkId {
        ChunkId::from_bytes([seed; 32])
    }

    #[test]
    fn holds_only_grow_end_at_their_date_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let holds = Holds::open(dir.path(), 0).unwrap();
        assert_eq!(holds.until(&chunk(1), 0), None);
        holds.raise(&[(chunk(1), 1_000), (chunk(1), 400)]).unwrap();
        holds.raise(&[(chunk(1), 500)]).unwrap();
        assert_eq!(holds.until(&chunk(1), 0), Some(1_000));
        assert_eq!(holds.until(&chunk(1), 999), Some(1_000));
        assert_eq!(holds.until(&chunk(1), 1_000), None, "ends at its date");
        holds
            .raise(&[(chunk(2), 2_000), (chunk(3), 3_000)])
            .unwrap();
        drop(holds);
        // Reopened at 1_500: the first has ended, the others hold.
        let holds = Holds::open(dir.path(), 1_500).unwrap();
        assert_eq!(holds.until(&chunk(1), 1_500), None);
        assert_eq!(holds.until(&chunk(2), 1_500), Some(2_000));
        assert_eq!(holds.until(&chunk(3), 1_500), Some(3_000));
    }

    #[test]
    fn a_torn_tail_is_cut_and_a_rotten_entry_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let holds = Holds::open(dir.path(), 0).unwrap();
        holds.raise(&[(chunk(1), 1_000)]).unwrap();
        holds.raise(&[(chunk(2), 2_000)]).unwrap();
        drop(holds);
        let path = dir.path().join(HOLDS_LOG);
        let mut bytes = fs::read(&path).unwrap();
        // The second entry rots; a crash left half of a third.
        bytes[ENTRY_LEN + 33] ^= 1;
        bytes.extend_from_slice(&entry(&chunk(3), 3_000)[..20]);
        fs::write(&path, &bytes).unwrap();
        let holds = Holds::open(dir.path(), 0).unwrap();
        assert_eq!(holds.until(&chunk(1), 0), Some(1_000));
        assert_eq!(holds.until(&chunk(2), 0), None);
        assert_eq!(holds.until(&chunk(3), 0), None);
        // The log was rewritten whole: new appends land on an entry boundary.
        assert_eq!(fs::metadata(&path).unwrap().len() as usize % ENTRY_LEN, 0);
        holds.raise(&[(chunk(4), 4_000)]).unwrap();
        drop(holds);
        let holds = Holds::open(dir.path(), 0).unwrap();
        assert_eq!(holds.until(&chunk(4), 0), Some(4_000));
    }
}
