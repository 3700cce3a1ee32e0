//! [`Index`]: the redb file, its table layout and format marker, and the transaction plumbing
//! every operation goes through.
//!
//! Layout (all keys order as their bytes, so listings are range scans):
//!
//! | table | key | value |
//! |---|---|---|
//! | `meta` | name | u64 (`format` = [`INDEX_FORMAT`]) |
//! | `buckets` | bucket | `BucketRecord` |
//! | `object_counts` | bucket | number of objects |
//! | `objects` | (bucket, key) | `ObjectRecord`, then `Manifest::encode` if that is small |
//! | `manifests` | (bucket, key) | `Manifest::encode` of the objects whose manifest is large |
//! | `uploads` | upload id | `UploadRecord` |
//! | `upload_keys` | (bucket, key, upload id) | () — ordered multipart listing |
//! | `upload_times` | (initiated, upload id) | () — expiry scan |
//! | `parts` | (upload id, part number) | `PartRecord` |
//! | `chunk_refs` | chunk id | refcount, only while > 0 |
//! | `chunks` | chunk id | `ChunkRef` — the catalog: every chunk whose shards are kept |
//! | `versions` | (kind, bucket, key) | version of the live bucket or object record |
//! | `record_outbox` | (kind, bucket, key) | version not yet copied to the nodes |
//! | `node_states` | node key | 1 while the node is draining |
//! | `garbage` | chunk id | since (UnixMillis) |
//! | `garbage_queue` | (since, chunk id) | (k, m) — oldest-first GC order |
//!
//! Large manifests live apart from object records so listing never loads long chunk lists;
//! small ones (the bodies of small objects) sit beside the record (see `object_entry`).

use std::fmt::Display;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use redb::{
    ConcurrencyMode, Database, Durability, ReadTransaction, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, Table, TableDefinition, TableHandle, WriteTransaction,
};
use serde::de::DeserializeOwned;

use super::batch::WriteBatcher;
use super::catalog::fill_catalog;
use super::filled_file::FilledFile;
use super::group_commit::GroupCommit;
use super::object_entry::move_small_manifests;
use super::{IndexError, UnixMillis, decode_record};

/// Version of the table layout above. The `meta` table (`&str -> u64`) is the one thing every
/// future layout must keep, so that an old build refuses a newer file instead of misreading it.
/// Format 2 added the chunk catalog; format 3 moved small manifests beside their records. Older
/// files are upgraded in place when opened.
pub const INDEX_FORMAT: u64 = 3;

/// Key of the format marker in `meta`.
const FORMAT_KEY: &str = "format";

pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub(super) const BUCKETS: TableDefinition<&str, &[u8]> = TableDefinition::new("buckets");
pub(super) const OBJECT_COUNTS: TableDefinition<&str, u64> = TableDefinition::new("object_counts");
pub(super) const OBJECTS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("objects");
pub(super) const MANIFESTS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("manifests");
pub(super) const UPLOADS: TableDefinition<&str, &[u8]> = TableDefinition::new("uploads");
pub(super) const UPLOAD_KEYS: TableDefinition<(&str, &str, &str), ()> =
    TableDefinition::new("upload_keys");
pub(super) const UPLOAD_TIMES: TableDefinition<(i64, &str), ()> =
    TableDefinition::new("upload_times");
pub(super) const PARTS: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("parts");
pub(super) const CHUNK_REFS: TableDefinition<&[u8; 32], u64> = TableDefinition::new("chunk_refs");
pub(super) const CHUNKS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("chunks");
pub(super) const VERSIONS: TableDefinition<(u8, &str, &str), u64> =
    TableDefinition::new("versions");
pub(super) const RECORD_OUTBOX: TableDefinition<(u8, &str, &str), u64> =
    TableDefinition::new("record_outbox");
pub(super) const NODE_STATES: TableDefinition<&str, u8> = TableDefinition::new("node_states");
pub(super) const GARBAGE: TableDefinition<&[u8; 32], i64> = TableDefinition::new("garbage");
pub(super) const GARBAGE_QUEUE: TableDefinition<(i64, &[u8; 32]), (u16, u16)> =
    TableDefinition::new("garbage_queue");

/// The metadata index. Cheap to share in an `Arc`: redb serializes writers internally and lets
/// readers run against snapshots concurrently. All methods block; async callers use
/// `spawn_blocking`, except for the `_async` object writes, which only wait for the writer
/// thread (see `batch`).
pub struct Index {
    /// Shared with the writer thread of `batch`.
    pub(super) db: Arc<Database>,
    group: GroupCommit,
    pub(super) batch: WriteBatcher,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").finish_non_exhaustive()
    }
}

/// Every table, opened once in a write transaction: redb refuses to open a table twice in one
/// transaction, so operations that touch several concepts share this instead.
pub(super) struct Tables<'txn> {
    pub meta: Table<'txn, &'static str, u64>,
    pub buckets: Table<'txn, &'static str, &'static [u8]>,
    pub object_counts: Table<'txn, &'static str, u64>,
    pub objects: Table<'txn, (&'static str, &'static str), &'static [u8]>,
    pub manifests: Table<'txn, (&'static str, &'static str), &'static [u8]>,
    pub uploads: Table<'txn, &'static str, &'static [u8]>,
    pub upload_keys: Table<'txn, (&'static str, &'static str, &'static str), ()>,
    pub upload_times: Table<'txn, (i64, &'static str), ()>,
    pub parts: Table<'txn, (&'static str, u32), &'static [u8]>,
    pub chunk_refs: Table<'txn, &'static [u8; 32], u64>,
    pub chunks: Table<'txn, &'static [u8; 32], &'static [u8]>,
    pub versions: Table<'txn, (u8, &'static str, &'static str), u64>,
    pub record_outbox: Table<'txn, (u8, &'static str, &'static str), u64>,
    pub node_states: Table<'txn, &'static str, u8>,
    pub garbage: Table<'txn, &'static [u8; 32], i64>,
    pub garbage_queue: Table<'txn, (i64, &'static [u8; 32]), (u16, u16)>,
}

impl<'txn> Tables<'txn> {
    /// Opens (creating on first use) every table.
    pub(super) fn open(txn: &'txn WriteTransaction) -> Result<Self, IndexError> {
        Ok(Self {
            meta: txn.open_table(META)?,
            buckets: txn.open_table(BUCKETS)?,
            object_counts: txn.open_table(OBJECT_COUNTS)?,
            objects: txn.open_table(OBJECTS)?,
            manifests: txn.open_table(MANIFESTS)?,
            uploads: txn.open_table(UPLOADS)?,
            upload_keys: txn.open_table(UPLOAD_KEYS)?,
            upload_times: txn.open_table(UPLOAD_TIMES)?,
            parts: txn.open_table(PARTS)?,
            chunk_refs: txn.open_table(CHUNK_REFS)?,
            chunks: txn.open_table(CHUNKS)?,
            versions: txn.open_table(VERSIONS)?,
            record_outbox: txn.open_table(RECORD_OUTBOX)?,
            node_states: txn.open_table(NODE_STATES)?,
            garbage: txn.open_table(GARBAGE)?,
            garbage_queue: txn.open_table(GARBAGE_QUEUE)?,
        })
    }
}

impl Index {
    /// Opens the index at `path`, creating the file and its tables if needed. Refuses a file
    /// written in another index format, or a redb file that is not a Floe index at all.
    pub fn open(path: &Path) -> Result<Index, IndexError> {
        // One writing process at a time: `FilledFile`'s watermark is this process's alone.
        let db = Database::builder()
            .set_concurrency_mode(ConcurrencyMode::ExclusiveWriter)
            .create_with_backend(FilledFile::open(path)?)?;
        let db = Arc::new(db);
        let index = Index {
            batch: WriteBatcher::start(db.clone())?,
            db,
            group: GroupCommit::default(),
        };
        let txn = index.db.begin_write()?;
        // Checked before any typed table is opened: a newer layout may type them differently.
        check_format(&txn)?;
        drop(Tables::open(&txn)?);
        txn.commit()?;
        Ok(index)
    }

    /// A snapshot for reading: consistent across every table it opens.
    pub(super) fn read(&self) -> Result<ReadTransaction, IndexError> {
        Ok(self.db.begin_read()?)
    }

    /// Runs `body` in one write transaction: committed if it returns `Ok`, rolled back entirely
    /// (nothing written) if it returns `Err`. Returns once the commit is durable (an acknowledged
    /// PUT must survive kill -9); concurrent writers share the fsync (see `group_commit`).
    pub(super) fn write<T>(
        &self,
        body: impl FnOnce(&mut Tables<'_>) -> Result<T, IndexError>,
    ) -> Result<T, IndexError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::None)?;
        let outcome = {
            let mut tables = Tables::open(&txn)?;
            body(&mut tables)
        };
        match outcome {
            Ok(value) => {
                // Numbered before the commit, while this transaction still holds redb's write
                // lock: a reader can only see this commit after the number exists, so a `sync`
                // after that read covers it (a flush's own transaction waits for this one).
                let seq = self.group.committed();
                txn.commit()?;
                self.group.wait_durable(seq, || self.flush())?;
                Ok(value)
            }
            Err(IndexError::PreconditionFailed) => {
                let _ = txn.abort();
                // The record that failed the check may be a commit not yet durable; a 412 must
                // not be answered on the strength of something a crash could still undo.
                self.sync()?;
                Err(IndexError::PreconditionFailed)
            }
            Err(e) => {
                // The operation's own error is the one worth reporting; a failing abort leaves
                // nothing committed either way.
                let _ = txn.abort();
                Err(e)
            }
        }
    }
}

impl Index {
    /// Runs `f` on a blocking thread, for async callers: redb is synchronous and a commit waits
    /// for its fsync, which must not stall a runtime worker.
    pub async fn call<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Index) -> Result<T, IndexError> + Send + 'static,
    ) -> Result<T, IndexError> {
        let index = self.clone();
        tokio::task::spawn_blocking(move || f(&index)).await?
    }

    /// Makes every commit visible so far durable. Called before acting irreversibly (deleting
    /// shards) on what a read showed: a reader can see a commit whose writer is still waiting
    /// for its fsync.
    pub fn sync(&self) -> Result<(), IndexError> {
        let seq = self.group.latest();
        self.group.wait_durable(seq, || self.flush())
    }

    /// An empty durable commit: redb then persists every non-durable commit before it.
    fn flush(&self) -> Result<(), IndexError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        txn.commit()?;
        Ok(())
    }
}

/// Verifies the format marker (upgrading a format 1 or 2 file), or writes it into a brand-new
/// file.
fn check_format(txn: &WriteTransaction) -> Result<(), IndexError> {
    let mut meta = txn.open_table(META)?;
    let stored = meta.get(FORMAT_KEY)?.map(|v| v.value());
    match stored {
        Some(INDEX_FORMAT) => Ok(()),
        Some(old @ (1 | 2)) => {
            if old == 1 {
                // Same tables plus the catalog, which is derived from the manifests. Runs
                // first: it reads every manifest from `manifests`, where format 1 kept them all.
                let added = fill_catalog(txn)?;
                tracing::info!(chunks = added, "index upgraded to format 2 (chunk catalog)");
            }
            let moved = move_small_manifests(txn)?;
            meta.insert(FORMAT_KEY, INDEX_FORMAT)?;
            tracing::info!(
                moved,
                "index upgraded to format 3 (small manifests beside records)"
            );
            Ok(())
        }
        Some(other) => Err(IndexError::Corrupt(format!(
            "index format {other}, this build reads format {INDEX_FORMAT}"
        ))),
        None => {
            // A new file has no tables but `meta`; anything else was written by someone else.
            let foreign = txn.list_tables()?.any(|t| t.name() != META.name());
            if foreign || !meta.is_empty()? {
                return Err(IndexError::Corrupt(
                    "not a Floe index (tables without a format marker)".into(),
                ));
            }
            meta.insert(FORMAT_KEY, INDEX_FORMAT)?;
            Ok(())
        }
    }
}

/// Decodes a stored record; a failure names `what` in the resulting `Corrupt`.
pub(super) fn decode<T: DeserializeOwned>(
    what: impl Display,
    bytes: &[u8],
) -> Result<T, IndexError> {
    decode_record(bytes).map_err(|e| IndexError::corrupt(what, e))
}

/// Wall-clock time for garbage timestamps; a clock before 1970 counts as 0 rather than failing a
/// delete.
pub(super) fn now_millis() -> UnixMillis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testkit::*;

    #[test]
    fn index_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Index>();
    }

    #[test]
    fn reopen_keeps_format_and_refuses_unknown_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.redb");
        drop(Index::open(&path).unwrap());
        drop(Index::open(&path).unwrap());
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(META)
                .unwrap()
                .insert(FORMAT_KEY, 99)
                .unwrap();
            txn.commit().unwrap();
        }
        let err = Index::open(&path).unwrap_err();
        assert!(
            matches!(err, IndexError::Corrupt(ref m) if m.contains("99")),
            "{err}"
        );
    }

    #[test]
    fn format_1_file_gains_the_catalog() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.redb");
        {
            let index = Index::open(&path).unwrap();
            index.create_bucket("b", &bucket_record()).unwrap();
            index
                .put_object("b", "k", &object_record("e"), &manifest(&[1, 2]), always)
                .unwrap();
            index
                .create_upload("u", &upload_record("b", "m", 1))
                .unwrap();
            index
                .put_part("u", 1, &part_record("p", manifest(&[3])))
                .unwrap();
            // Turn it back into what format 1 wrote: every manifest apart, no catalog table.
            store_manifests_apart(&index);
            let txn = index.db.begin_write().unwrap();
            txn.delete_table(CHUNKS).unwrap();
            txn.open_table(META).unwrap().insert(FORMAT_KEY, 1).unwrap();
            txn.commit().unwrap();
        }
        let index = Index::open(&path).unwrap();
        assert_eq!(index.chunk_count().unwrap(), 3);
        assert_eq!(index.chunk(&chunk(3, 32).id).unwrap(), Some(chunk(3, 32)));
    }

    #[test]
    fn refuses_foreign_redb_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.redb");
        {
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            let other: TableDefinition<&str, &str> = TableDefinition::new("something");
            txn.open_table(other).unwrap().insert("a", "b").unwrap();
            txn.commit().unwrap();
        }
        assert!(matches!(Index::open(&path), Err(IndexError::Corrupt(_))));
    }

    #[test]
    fn failed_write_rolls_back() {
        let (_dir, index) = temp_index();
        let result: Result<(), IndexError> = index.write(|t| {
            t.buckets
                .insert("half", encode_record(&bucket_record()).as_slice())?;
            Err(IndexError::PreconditionFailed)
        });
        assert!(matches!(result, Err(IndexError::PreconditionFailed)));
        assert_eq!(index.bucket("half").unwrap(), None);
    }
}
