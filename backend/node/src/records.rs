//! `RecordStore`: opaque, versioned records on local disk, kept apart from the shards.
//!
//! ```text
//! DATA/records/<first 2 hex>/<record_hex>     one file per record
//! ```
//!
//! A record file is `MAGIC` (8 bytes, format version included) + the version (u64 big-endian) +
//! the blake3 hash of the payload (32 bytes) + the payload. Writes go through a temp file in
//! `DATA/tmp` (swept at startup), fsync and rename, like shards; a put never replaces a newer
//! version, checked and renamed under one lock. A record that fails its hash is quarantined.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use floe_codec::ShardHash;

use crate::layout::{Layout, is_prefix_name};
use crate::protocol::{LIST_MAX_LIMIT, RecordEntry, RecordId, RecordItem, RecordPage};
use crate::store::{StoreError, io_err, sync_dir};
use crate::walk::read_names;

/// File magic; the last two bytes are the format version.
pub const RECORD_MAGIC: [u8; 8] = *b"FLRECD\x00\x01";
/// Bytes before the payload: magic + version + hash.
pub const RECORD_HEADER_LEN: usize = 8 + 8 + 32;
pub const RECORDS_DIR: &str = "records";

/// What a record put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordPut {
    Stored,
    /// The node holds a newer version, which it kept.
    Newer(u64),
}

/// Flushes the whole filesystem holding `dir` (`syncfs`): one device flush for a batch.
fn sync_filesystem(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| rustix::fs::syncfs(&d).map_err(io::Error::from))
        .map_err(io_err("cannot sync filesystem of", dir))
}

/// A verified record.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub version: u64,
    pub payload: Bytes,
}

/// The records of one data directory (the shard store holds the directory lock).
#[derive(Debug)]
pub struct RecordStore {
    root: PathBuf,
    tmp: PathBuf,
    quarantine: PathBuf,
    /// Serialises version check + rename, so an older put can never overtake a newer one.
    install: Mutex<()>,
    seq: AtomicU64,
}

impl RecordStore {
    pub fn open(layout: &Layout) -> Result<RecordStore, StoreError> {
        let root = layout.root().join(RECORDS_DIR);
        fs::create_dir_all(&root).map_err(io_err("cannot create directory", &root))?;
        Ok(RecordStore {
            root,
            tmp: layout.tmp_dir(),
            quarantine: layout.quarantine_dir(),
            install: Mutex::new(()),
            seq: AtomicU64::new(0),
        })
    }

    fn prefix_dir(&self, id: &RecordId) -> PathBuf {
        self.root.join(hex::encode(&id.0[..1]))
    }

    fn path(&self, id: &RecordId) -> PathBuf {
        self.prefix_dir(id).join(id.to_hex())
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
        let tmp = self.write_temp(id, version, &actual, payload)?;
        let synced = File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(io_err("cannot sync temp file", &tmp));
        if let Err(e) = synced {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        let outcome = self.install(id, version, &tmp)?;
        sync_dir(&self.prefix_dir(id))?;
        Ok(outcome)
    }

    /// Stores many records with two filesystem syncs in all instead of two fsyncs each: every
    /// temp file is written, one `syncfs` makes them durable, they are renamed into place, and a
    /// second `syncfs` makes the renames durable. Outcomes come in `batch` order. (`syncfs`
    /// reports writeback errors from Linux 5.8 on; older kernels could hide one.)
    pub fn put_batch(&self, batch: &[RecordItem]) -> Result<Vec<RecordPut>, StoreError> {
        let mut temps = Vec::with_capacity(batch.len());
        for item in batch {
            let hash = ShardHash::of(&item.payload);
            match self.write_temp(&item.id, item.version, &hash, &item.payload) {
                Ok(tmp) => temps.push(tmp),
                Err(e) => {
                    for tmp in &temps {
                        let _ = fs::remove_file(tmp);
                    }
                    return Err(e);
                }
            }
        }
        let synced = sync_filesystem(&self.tmp);
        if let Err(e) = synced {
            for tmp in &temps {
                let _ = fs::remove_file(tmp);
            }
            return Err(e);
        }
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut failure = None;
        for (item, tmp) in batch.iter().zip(&temps) {
            if failure.is_some() {
                let _ = fs::remove_file(tmp);
                continue;
            }
            match self.install(&item.id, item.version, tmp) {
                Ok(outcome) => outcomes.push(outcome),
                Err(e) => failure = Some(e),
            }
        }
        // Renames done before a failure are made durable too; the caller retries the batch.
        sync_filesystem(&self.root)?;
        match failure {
            Some(e) => Err(e),
            None => Ok(outcomes),
        }
    }

    /// Writes a record file under a fresh temp name, without syncing it.
    fn write_temp(
        &self,
        id: &RecordId,
        version: u64,
        hash: &ShardHash,
        payload: &[u8],
    ) -> Result<PathBuf, StoreError> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let tmp = self.tmp.join(format!("record-{id}.{seq}.tmp"));
        let written = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .and_then(|mut file| {
                // One write: records are small, and a syscall costs more than the copy.
                let mut bytes = Vec::with_capacity(RECORD_HEADER_LEN + payload.len());
                bytes.extend_from_slice(&RECORD_MAGIC);
                bytes.extend_from_slice(&version.to_be_bytes());
                bytes.extend_from_slice(hash.as_bytes());
                bytes.extend_from_slice(payload);
                file.write_all(&bytes)
            });
        match written {
            Ok(()) => Ok(tmp),
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(io_err("cannot write temp file", &tmp)(e))
            }
        }
    }

    /// Renames a durable temp file into place unless a newer version is stored (then the temp
    /// file is removed). The caller makes the rename durable.
    fn install(&self, id: &RecordId, version: u64, tmp: &Path) -> Result<RecordPut, StoreError> {
        let prefix = self.prefix_dir(id);
        let path = self.path(id);
        let outcome = (|| {
            let _guard = self.install.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(stored) = self.stored_version(&path)?
                && stored > version
            {
                return Ok(RecordPut::Newer(stored));
            }
            // The prefix directory exists for all but the first record of its 256th of the id
            // space: try the rename first instead of paying a mkdir and a stat every time.
            match fs::rename(tmp, &path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound && tmp.exists() => {
                    fs::create_dir_all(&prefix)
                        .map_err(io_err("cannot create directory", &prefix))?;
                    fs::rename(tmp, &path)
                }
                other => other,
            }
            .map_err(io_err("cannot rename into place", &path))?;
            Ok(RecordPut::Stored)
        })();
        if !matches!(outcome, Ok(RecordPut::Stored)) {
            let _ = fs::remove_file(tmp);
        }
        outcome
    }

    /// The version in a record file's header; `None` if there is no (readable) record.
    fn stored_version(&self, path: &Path) -> Result<Option<u64>, StoreError> {
        let mut header = [0u8; 16];
        match File::open(path).and_then(|mut f| f.read_exact(&mut header)) {
            Ok(()) if header[..8] == RECORD_MAGIC => {
                let mut version = [0u8; 8];
                version.copy_from_slice(&header[8..16]);
                Ok(Some(u64::from_be_bytes(version)))
            }
            // Damaged: a good copy may replace it.
            Ok(()) => Ok(None),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::UnexpectedEof
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(io_err("cannot read record", path)(e)),
        }
    }

    /// Reads and verifies record `id`; a damaged one is quarantined and reported `NotFound`
    /// after logging, as the caller has other copies to turn to.
    pub fn get(&self, id: &RecordId) -> Result<StoredRecord, StoreError> {
        let path = self.path(id);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StoreError::NotFound),
            Err(e) => return Err(io_err("cannot read record", &path)(e)),
        };
        if let Some(record) = decode(&bytes) {
            return Ok(record);
        }
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dest = self.quarantine.join(format!("record-{id}.{stamp}"));
        if fs::rename(&path, &dest).is_err() {
            let _ = fs::remove_file(&path);
        }
        tracing::warn!(record = %id, "corrupt record quarantined");
        Err(StoreError::NotFound)
    }

    /// Removes record `id`; returns whether it existed.
    pub fn delete(&self, id: &RecordId) -> Result<bool, StoreError> {
        let path = self.path(id);
        let _guard = self.install.lock().unwrap_or_else(|e| e.into_inner());
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err("cannot delete record", &path)(e)),
        }
    }

    /// Up to `limit` records with ids after `after`, in id order, with their versions.
    pub fn list(&self, after: Option<&RecordId>, limit: u32) -> Result<RecordPage, StoreError> {
        let limit = limit.clamp(1, LIST_MAX_LIMIT) as usize;
        let start = after.map(|a| hex::encode(&a.0[..1]));
        let mut prefixes: Vec<String> = read_names(&self.root)?
            .into_iter()
            .filter(|n| is_prefix_name(n) && start.as_ref().is_none_or(|s| n >= s))
            .collect();
        prefixes.sort();
        let mut page = RecordPage::default();
        for prefix in prefixes {
            let mut ids: Vec<RecordId> = read_names(&self.root.join(&prefix))?
                .iter()
                .filter_map(|n| n.parse().ok())
                .filter(|id: &RecordId| after.is_none_or(|a| id > a))
                .collect();
            ids.sort();
            for id in ids {
                if page.records.len() == limit {
                    page.next_after = page.records.last().map(|r| r.id);
                    return Ok(page);
                }
                let path = self.path(&id);
                let Some(version) = self.stored_version(&path)? else {
                    continue;
                };
                let len = fs::metadata(&path).map_or(0, |m| m.len());
                page.records.push(RecordEntry {
                    id,
                    version,
                    len: len.saturating_sub(RECORD_HEADER_LEN as u64),
                });
            }
        }
        Ok(page)
    }
}

/// Parses and verifies a record file.
fn decode(bytes: &[u8]) -> Option<StoredRecord> {
    let header = bytes.get(..RECORD_HEADER_LEN)?;
    if header[..8] != RECORD_MAGIC {
        return None;
    }
    let mut version = [0u8; 8];
    version.copy_from_slice(&header[8..16]);
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&header[16..48]);
    let payload = &bytes[RECORD_HEADER_LEN..];
    ShardHash::from_bytes(hash)
        .matches(payload)
        .then(|| StoredRecord {
            version: u64::from_be_bytes(version),
            payload: Bytes::copy_from_slice(payload),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, RecordStore) {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        fs::create_dir_all(layout.tmp_dir()).unwrap();
        fs::create_dir_all(layout.quarantine_dir()).unwrap();
        let store = RecordStore::open(&layout).unwrap();
        (dir, store)
    }

    fn put(store: &RecordStore, id: u8, version: u64, body: &[u8]) -> RecordPut {
        store
            .put(&RecordId([id; 32]), version, &ShardHash::of(body), body)
            .unwrap()
    }

    #[test]
    fn newest_version_wins_and_lists_in_order() {
        let (_dir, store) = store();
        assert_eq!(put(&store, 9, 5, b"five"), RecordPut::Stored);
        assert_eq!(put(&store, 9, 3, b"three"), RecordPut::Newer(5));
        assert_eq!(put(&store, 9, 5, b"five again"), RecordPut::Stored);
        assert_eq!(put(&store, 1, 1, b"one"), RecordPut::Stored);
        let got = store.get(&RecordId([9; 32])).unwrap();
        assert_eq!((got.version, got.payload.as_ref()), (5, &b"five again"[..]));
        let page = store.list(None, 10).unwrap();
        let ids: Vec<u8> = page.records.iter().map(|r| r.id.0[0]).collect();
        assert_eq!(ids, [1, 9]);
        assert_eq!(page.records[1].len, 10);
        let second = store.list(Some(&RecordId([1; 32])), 1).unwrap();
        assert_eq!(second.records.len(), 1);
        assert_eq!(second.next_after, None);
        assert!(store.delete(&RecordId([1; 32])).unwrap());
        assert!(!store.delete(&RecordId([1; 32])).unwrap());
        let bad = store.put(&RecordId([2; 32]), 1, &ShardHash::of(b"x"), b"y");
        assert!(matches!(bad, Err(StoreError::HashMismatch { .. })));
    }

    #[test]
    fn rotten_record_is_quarantined() {
        let (_dir, store) = store();
        put(&store, 4, 1, b"payload");
        let path = store.path(&RecordId([4; 32]));
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, bytes).unwrap();
        assert!(matches!(
            store.get(&RecordId([4; 32])),
            Err(StoreError::NotFound)
        ));
        assert!(!path.exists());
    }
}

/// Record files come back from disk, where anything can happen to them: `decode` must refuse
/// every damaged file without panicking and accept only bytes whose payload matches its hash.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    fn file(version: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = RECORD_MAGIC.to_vec();
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(ShardHash::of(payload).as_bytes());
        out.extend_from_slice(payload);
        out
    }

    proptest! {
        #[test]
        fn random_record_files_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
            if let Some(record) = decode(&bytes) {
                prop_assert!(ShardHash::of(&record.payload).as_bytes() == &bytes[16..48]);
            }
        }

        #[test]
        fn damaged_record_files_are_refused(
            version in any::<u64>(),
            payload in prop::collection::vec(any::<u8>(), 0..2048),
            at in any::<prop::sample::Index>(),
            xor in 1..=255u8,
            cut in any::<prop::sample::Index>(),
            extra in prop::collection::vec(any::<u8>(), 0..16),
            how in 0..4u8,
        ) {
            let good = file(version, &payload);
            let decoded = decode(&good).unwrap();
            prop_assert_eq!((decoded.version, decoded.payload.as_ref()), (version, &payload[..]));
            let mut bad = good.clone();
            match how {
                // A flip in the version field is the one damage the hash cannot see, and the
                // version only orders copies of the same record.
                0 => { let i = at.index(bad.len()); bad[i] ^= xor; }
                1 => bad.truncate(cut.index(bad.len())),
                2 => bad.extend_from_slice(&extra),
                _ => { let i = at.index(bad.len() + 1); bad.splice(i..i, extra.iter().copied()); }
            }
            match decode(&bad) {
                Some(record) => {
                    prop_assert!(bad == good || (how == 0 && (8..16).contains(&at.index(good.len())))
                        || ((how == 2 || how == 3) && extra.is_empty()));
                    prop_assert!(ShardHash::of(&record.payload).as_bytes() == &bad[16..48]);
                }
                None => prop_assert!(bad != good),
            }
        }
    }
}
