//! `RecordStore`: opaque, versioned records on local disk, kept apart from the shards.
//!
//! ```text
//! DATA/records.redb     table `records`: record id -> version (u64 BE) + blake3 (32) + payload
//! ```
//!
//! Records are small (a bucket or object description) and come in batches, one per publishing
//! round of the gateway. They live in one redb file, so a batch costs one durable transaction:
//! a file per record (create, write, rename, and two filesystem syncs per batch) cost a node
//! more CPU than every shard it stored during small-object PUTs. Each value keeps the payload's
//! blake3, checked on every read, and a put never replaces a newer version (checked inside the
//! write transaction). A record that fails its hash is moved to `DATA/quarantine` and removed.
//! Records of the earlier file-per-record layout (`DATA/records/`) are imported at startup
//! (`legacy`).

mod legacy;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use floe_codec::ShardHash;
use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, TableHandle,
    WriteTransaction,
};

use crate::layout::Layout;
use crate::protocol::{LIST_MAX_LIMIT, RecordEntry, RecordId, RecordItem, RecordPage};
use crate::store::StoreError;

pub use legacy::{RECORD_HEADER_LEN, RECORD_MAGIC, RECORDS_DIR};

/// The record database, in the data directory.
pub const RECORDS_FILE: &str = "records.redb";
/// Version of the table layout; kept in `meta` so an old build refuses a newer file.
pub const RECORDS_FORMAT: u64 = 1;

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const RECORDS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("records");
const FORMAT_KEY: &str = "format";
/// Bytes of a stored value before the payload: version + hash.
const VALUE_HEADER_LEN: usize = 8 + 32;

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

/// The records of one data directory (the shard store holds the directory lock).
#[derive(Debug)]
pub struct RecordStore {
    db: Database,
    path: PathBuf,
    quarantine: PathBuf,
}

impl RecordStore {
    /// Opens (creating if needed) the record database, and imports the records of the older
    /// file-per-record layout if any are left.
    pub fn open(layout: &Layout) -> Result<RecordStore, StoreError> {
        let path = layout.root().join(RECORDS_FILE);
        let db = Database::create(&path).map_err(db_err("cannot open record database", &path))?;
        let store = RecordStore {
            db,
            path,
            quarantine: layout.quarantine_dir(),
        };
        store.write(|txn| check_format(txn))?;
        legacy::import(&store, &layout.root().join(RECORDS_DIR))?;
        Ok(store)
    }

    /// Runs `body` in one durable write transaction (committed only if it returns `Ok`).
    fn write<T>(
        &self,
        body: impl FnOnce(&WriteTransaction) -> Result<T, redb::Error>,
    ) -> Result<T, StoreError> {
        let run = || -> Result<T, redb::Error> {
            let mut txn = self.db.begin_write()?;
            txn.set_durability(Durability::Immediate)?;
            let value = body(&txn)?;
            txn.commit()?;
            Ok(value)
        };
        run().map_err(db_err("cannot write record database", &self.path))
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
        Ok(self.put_batch(std::slice::from_ref(&item))?.remove(0))
    }

    /// Stores many records in one durable transaction. Outcomes come in `batch` order; a later
    /// item of the same id is judged against the earlier one.
    pub fn put_batch(&self, batch: &[RecordItem]) -> Result<Vec<RecordPut>, StoreError> {
        // Hashed before the write lock is taken: the transaction only compares and copies.
        let values: Vec<Vec<u8>> = batch
            .iter()
            .map(|item| encode_value(item.version, &ShardHash::of(&item.payload), &item.payload))
            .collect();
        self.write(|txn| {
            let mut table = txn.open_table(RECORDS)?;
            let mut outcomes = Vec::with_capacity(batch.len());
            for (item, value) in batch.iter().zip(&values) {
                let stored = table
                    .get(&item.id.0)?
                    .and_then(|v| value_version(v.value()));
                match stored {
                    Some(stored) if stored > item.version => {
                        outcomes.push(RecordPut::Newer(stored));
                    }
                    _ => {
                        table.insert(&item.id.0, value.as_slice())?;
                        outcomes.push(RecordPut::Stored);
                    }
                }
            }
            Ok(outcomes)
        })
    }

    /// Reads and verifies record `id`; a damaged one is quarantined and reported `NotFound`
    /// after logging, as the caller has other copies to turn to.
    pub fn get(&self, id: &RecordId) -> Result<StoredRecord, StoreError> {
        let read = || -> Result<Option<Vec<u8>>, redb::Error> {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(RECORDS)?;
            Ok(table.get(&id.0)?.map(|v| v.value().to_vec()))
        };
        let bytes = read()
            .map_err(db_err("cannot read record database", &self.path))?
            .ok_or(StoreError::NotFound)?;
        if let Some(record) = decode_value(&bytes) {
            return Ok(record);
        }
        self.quarantine(id, &bytes)?;
        tracing::warn!(record = %id, "corrupt record quarantined");
        Err(StoreError::NotFound)
    }

    /// Keeps the damaged bytes of `id` for forensics and removes the entry (unless a good copy
    /// replaced it meanwhile).
    fn quarantine(&self, id: &RecordId, bytes: &[u8]) -> Result<(), StoreError> {
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dest = self.quarantine.join(format!("record-{id}.{stamp}"));
        if let Err(e) = fs::write(&dest, bytes) {
            tracing::warn!(record = %id, error = %e, "cannot keep a corrupt record");
        }
        self.write(|txn| {
            let mut table = txn.open_table(RECORDS)?;
            let still_bad = table
                .get(&id.0)?
                .is_some_and(|v| decode_value(v.value()).is_none());
            if still_bad {
                table.remove(&id.0)?;
            }
            Ok(())
        })
    }

    /// Removes record `id`; returns whether it existed.
    pub fn delete(&self, id: &RecordId) -> Result<bool, StoreError> {
        self.write(|txn| Ok(txn.open_table(RECORDS)?.remove(&id.0)?.is_some()))
    }

    /// Up to `limit` records with ids after `after`, in id order, with their versions.
    pub fn list(&self, after: Option<&RecordId>, limit: u32) -> Result<RecordPage, StoreError> {
        let limit = limit.clamp(1, LIST_MAX_LIMIT) as usize;
        let read = || -> Result<RecordPage, redb::Error> {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(RECORDS)?;
            let range = match after {
                Some(after) => table.range::<&[u8; 32]>((
                    std::ops::Bound::Excluded(&after.0),
                    std::ops::Bound::Unbounded,
                ))?,
                None => table.range::<&[u8; 32]>(..)?,
            };
            let mut page = RecordPage::default();
            for entry in range {
                let (id, value) = entry?;
                if page.records.len() == limit {
                    page.next_after = page.records.last().map(|r| r.id);
                    break;
                }
                let value = value.value();
                // A damaged entry is skipped here and quarantined when read.
                let Some(version) = value_version(value) else {
                    continue;
                };
                page.records.push(RecordEntry {
                    id: RecordId(*id.value()),
                    version,
                    len: value.len().saturating_sub(VALUE_HEADER_LEN) as u64,
                });
            }
            Ok(page)
        };
        read().map_err(db_err("cannot read record database", &self.path))
    }
}

/// Verifies the format marker, or writes it into a new file.
fn check_format(txn: &WriteTransaction) -> Result<(), redb::Error> {
    let mut meta = txn.open_table(META)?;
    let stored = meta.get(FORMAT_KEY)?.map(|v| v.value());
    match stored {
        Some(RECORDS_FORMAT) => {}
        Some(other) => {
            return Err(redb::Error::Io(io::Error::other(format!(
                "record database format {other}, this build reads format {RECORDS_FORMAT}"
            ))));
        }
        None => {
            let foreign = txn
                .list_tables()?
                .any(|t| t.name() != META.name() && t.name() != RECORDS.name());
            if foreign {
                return Err(redb::Error::Io(io::Error::other(
                    "not a Floe record database",
                )));
            }
            meta.insert(FORMAT_KEY, RECORDS_FORMAT)?;
        }
    }
    drop(meta);
    txn.open_table(RECORDS)?;
    Ok(())
}

fn encode_value(version: u64, hash: &ShardHash, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(VALUE_HEADER_LEN + payload.len());
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(hash.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// The version of a stored value; `None` if it is too short to hold one.
fn value_version(value: &[u8]) -> Option<u64> {
    let version: [u8; 8] = value.get(..8)?.try_into().ok()?;
    Some(u64::from_be_bytes(version))
}

/// Parses and verifies a stored value.
fn decode_value(value: &[u8]) -> Option<StoredRecord> {
    let version = value_version(value)?;
    let hash: [u8; 32] = value.get(8..VALUE_HEADER_LEN)?.try_into().ok()?;
    let payload = &value[VALUE_HEADER_LEN..];
    ShardHash::from_bytes(hash)
        .matches(payload)
        .then(|| StoredRecord {
            version,
            payload: Bytes::copy_from_slice(payload),
        })
}

/// Maps a redb failure on `path` into the store's I/O error.
fn db_err<E: Into<redb::Error>>(context: &'static str, path: &Path) -> impl Fn(E) -> StoreError {
    let path = path.to_path_buf();
    move |e| StoreError::Io {
        context,
        path: path.clone(),
        source: match e.into() {
            redb::Error::Io(io) => io,
            other => io::Error::other(other),
        },
    }
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
        let (dir, store) = store();
        put(&store, 4, 1, b"payload");
        let id = RecordId([4; 32]);
        {
            // Flip a payload bit behind the store's back.
            let txn = store.db.begin_write().unwrap();
            {
                let mut table = txn.open_table(RECORDS).unwrap();
                let mut bytes = table.get(&id.0).unwrap().unwrap().value().to_vec();
                let last = bytes.len() - 1;
                bytes[last] ^= 1;
                table.insert(&id.0, bytes.as_slice()).unwrap();
            }
            txn.commit().unwrap();
        }
        assert!(matches!(store.get(&id), Err(StoreError::NotFound)));
        assert!(store.list(None, 10).unwrap().records.is_empty());
        let kept = fs::read_dir(dir.path().join("quarantine")).unwrap().count();
        assert_eq!(kept, 1);
    }

    #[test]
    fn records_survive_reopen_and_an_unknown_format_is_refused() {
        let (dir, store) = store();
        put(&store, 7, 3, b"kept");
        drop(store);
        let layout = Layout::new(dir.path());
        let store = RecordStore::open(&layout).unwrap();
        assert_eq!(store.get(&RecordId([7; 32])).unwrap().version, 3);
        store
            .write(|txn| {
                txn.open_table(META)?.insert(FORMAT_KEY, 99)?;
                Ok(())
            })
            .unwrap();
        drop(store);
        let err = RecordStore::open(&layout).unwrap_err();
        assert!(err.to_string().contains("99"), "{err}");
    }

    #[test]
    fn files_of_the_old_layout_are_imported_once() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        fs::create_dir_all(layout.quarantine_dir()).unwrap();
        let old = dir.path().join(RECORDS_DIR);
        let file = |id: u8, version: u64, payload: &[u8]| {
            let id = RecordId([id; 32]);
            let prefix = old.join(hex::encode(&id.0[..1]));
            fs::create_dir_all(&prefix).unwrap();
            let mut bytes = RECORD_MAGIC.to_vec();
            bytes.extend_from_slice(&version.to_be_bytes());
            bytes.extend_from_slice(ShardHash::of(payload).as_bytes());
            bytes.extend_from_slice(payload);
            fs::write(prefix.join(id.to_hex()), bytes).unwrap();
        };
        file(1, 10, b"bucket");
        file(2, 20, b"object");
        // Damaged: its hash is of other bytes.
        file(3, 30, b"rot");
        let path = old.join("03").join(RecordId([3; 32]).to_hex());
        let mut rotten = fs::read(&path).unwrap();
        *rotten.last_mut().unwrap() ^= 1;
        fs::write(&path, rotten).unwrap();

        let store = RecordStore::open(&layout).unwrap();
        let got = store.get(&RecordId([2; 32])).unwrap();
        assert_eq!((got.version, got.payload.as_ref()), (20, &b"object"[..]));
        assert_eq!(store.list(None, 10).unwrap().records.len(), 2);
        assert!(!old.exists());
        assert_eq!(fs::read_dir(layout.quarantine_dir()).unwrap().count(), 1);
        drop(store);
        let store = RecordStore::open(&layout).unwrap();
        assert_eq!(store.list(None, 10).unwrap().records.len(), 2);
    }
}
