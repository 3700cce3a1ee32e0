//! Retention holds: "no shard of this chunk may be deleted before this time". The gateway
//! places one on every chunk of an object version under retention, on each node holding a
//! shard of it, so a node refuses to delete such a shard even when the gateway's garbage
//! collector, orphan sweep or an operator command asks it to by mistake (a damaged or partial
//! index, a bug). A node knows nothing of objects: a hold is a chunk id and a date.
//!
//! A hold only ever grows (the later date wins) and ends by itself at its date, judged by the
//! node's own clock; nothing releases it early. A shard that moves to another node (drain)
//! is deleted with an explicit "moved" flag, once the gateway has copied the hold to its new
//! node. One small file per held chunk, `DATA/holds/<chunk hex>`, holding the date as 8
//! big-endian bytes of milliseconds since the epoch, written atomically.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use floe_codec::ChunkId;

use crate::store::{StoreError, io_err, sync_dir};

pub const HOLDS_DIR: &str = "holds";

/// The node's clock, in milliseconds since the epoch (0 before 1970).
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The holds of one data directory, all in memory (there are few) and each on disk.
#[derive(Debug)]
pub struct Holds {
    dir: PathBuf,
    until: Mutex<HashMap<ChunkId, i64>>,
}

impl Holds {
    /// Opens (creating if needed) `root/holds` and reads every hold still in force at `now`;
    /// expired ones are removed.
    pub fn open(root: &Path, now: i64) -> Result<Self, StoreError> {
        let dir = root.join(HOLDS_DIR);
        fs::create_dir_all(&dir).map_err(io_err("cannot create directory", &dir))?;
        let mut until = HashMap::new();
        for entry in fs::read_dir(&dir).map_err(io_err("cannot list holds", &dir))? {
            let entry = entry.map_err(io_err("cannot list holds", &dir))?;
            let path = entry.path();
            let name = entry.file_name();
            let Some(chunk) = name.to_str().and_then(|n| ChunkId::from_hex(n).ok()) else {
                // A temp file of an interrupted write, or a stranger: not a hold.
                continue;
            };
            let bytes = fs::read(&path).map_err(io_err("cannot read hold", &path))?;
            let date = <[u8; 8]>::try_from(bytes.as_slice())
                .map(i64::from_be_bytes)
                // A damaged hold file is kept as a hold forever rather than guessed away.
                .unwrap_or(i64::MAX);
            if date > now {
                until.insert(chunk, date);
            } else {
                let _ = fs::remove_file(&path);
            }
        }
        Ok(Self {
            dir,
            until: Mutex::new(until),
        })
    }

    /// When the hold on `chunk` ends, if one is in force at `now`.
    pub fn until(&self, chunk: &ChunkId, now: i64) -> Option<i64> {
        let holds = self.until.lock().unwrap_or_else(|p| p.into_inner());
        holds.get(chunk).copied().filter(|&until| until > now)
    }

    /// Holds `chunk` until at least `until`; an earlier date than the one in force changes
    /// nothing. Durable when it returns.
    pub fn raise(&self, chunk: &ChunkId, until: i64) -> Result<(), StoreError> {
        let mut holds = self.until.lock().unwrap_or_else(|p| p.into_inner());
        if holds.get(chunk).is_some_and(|&held| held >= until) {
            return Ok(());
        }
        let path = self.dir.join(chunk.to_hex());
        let tmp = self.dir.join(format!("{}.tmp", chunk.to_hex()));
        let write = || -> std::io::Result<()> {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(&until.to_be_bytes())?;
            file.sync_all()?;
            fs::rename(&tmp, &path)
        };
        write().map_err(io_err("cannot write hold", &path))?;
        sync_dir(&self.dir)?;
        holds.insert(*chunk, until);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(seed: u8) -> ChunkId {
        ChunkId::from_hex(&format!("{seed:02x}").repeat(32)).unwrap()
    }

    #[test]
    fn holds_only_grow_end_at_their_date_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let holds = Holds::open(dir.path(), 0).unwrap();
        assert_eq!(holds.until(&chunk(1), 0), None);
        holds.raise(&chunk(1), 1_000).unwrap();
        holds.raise(&chunk(1), 500).unwrap();
        assert_eq!(holds.until(&chunk(1), 0), Some(1_000));
        assert_eq!(holds.until(&chunk(1), 999), Some(1_000));
        assert_eq!(holds.until(&chunk(1), 1_000), None, "ends at its date");
        holds.raise(&chunk(2), 2_000).unwrap();
        drop(holds);
        // Reopened at 1_500: the first has ended (and is cleaned up), the second holds.
        let holds = Holds::open(dir.path(), 1_500).unwrap();
        assert_eq!(holds.until(&chunk(1), 1_500), None);
        assert_eq!(holds.until(&chunk(2), 1_500), Some(2_000));
        assert!(!dir.path().join(HOLDS_DIR).join(chunk(1).to_hex()).exists());
    }

    #[test]
    fn a_damaged_hold_file_holds_forever() {
        let dir = tempfile::tempdir().unwrap();
        drop(Holds::open(dir.path(), 0).unwrap());
        fs::write(dir.path().join(HOLDS_DIR).join(chunk(3).to_hex()), b"bad").unwrap();
        let holds = Holds::open(dir.path(), 0).unwrap();
        assert_eq!(holds.until(&chunk(3), i64::MAX - 1), Some(i64::MAX));
    }
}
