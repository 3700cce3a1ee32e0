//! [`Index`]: its store (a [`KvStore`]: redb embedded, PostgreSQL shared), the table layout and
//! format marker, and the transaction plumbing every operation goes through.
//!
//! Each table is a one-byte prefix of the store's one keyspace, its keys encoded so that they
//! order as their parts (`kv/key.rs`), so listings are range scans in every store. Layout:
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
//! | `leases` | name | `LeaseRecord` — who runs a cluster-wide job (see `lease`) |
//! | `gateways` | gateway id | `GatewayRecord` — gateways seen lately |
//! | `deleting` | chunk id | claimed by the collector at (see `deletion`) |
//! | `tombstones` | chunk id | deletion number of its last deletion (kept a day) |
//! | `tombstone_times` | (deleted at, chunk id) | () — tombstone pruning order |
//! | `object_versions` | (bucket, key, rank) | every version but a current object (see `chain`) |
//! | `version_manifests` | (bucket, key, rank) | `Manifest::encode` of those whose manifest is large |
//! | `null_versions` | (bucket, key) | seq of the null version while it is in `object_versions` |
//! | `version_outbox` | (bucket, key, seq) | journal version of a change of a non-null version |
//! | `users`, `access_keys`, `user_keys`, `policies` | see `users` | identities |
//! | `bucket_access`, `bucket_config` | bucket | access settings; tags, CORS, lifecycle rules |
//! | `lifecycle_due` | (when, bucket, key) | () — when to look at a key's versions (see `lifecycle_due`) |
//! | `lifecycle_due_keys` | (bucket, key) | when — the key's one row in `lifecycle_due` |
//! | `lifecycle_backfill` | bucket | walk of a bucket whose rules changed: the last key walked |
//!
//! Large manifests live apart from object records so listing never loads long chunk lists;
//! small ones (the bodies of small objects) sit beside the record (see `object_entry`).

use std::fmt::Display;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;

use super::batch::WriteBatcher;
use super::kv::bound::{BoundTable, ReadCell, WriteCell};
use super::kv::key::{Id32, Str};
use super::kv::table::{Bytes, Table, U16Pair, Unit};
use super::kv::{KvStore, RedbKv};
use super::{IndexError, UnixMillis, decode_record};

/// Version of the table layout above. The `meta` table's `format` row is the one thing every
/// future layout must keep, so that an old build refuses a newer store instead of misreading it.
/// Format 2 added the chunk catalog; format 3 moved small manifests beside their records;
/// format 4 put every table in one ordered keyspace, so that PostgreSQL can hold it too. Older
/// redb files are upgraded when opened (`legacy`).
pub const INDEX_FORMAT: u64 = 4;

/// Key of the format marker in `meta`.
pub(super) const FORMAT_KEY: &str = "format";

pub(super) const META: Table<Str, u64> = Table::new(1, "meta");
pub(super) const BUCKETS: Table<Str, Bytes> = Table::new(2, "buckets");
pub(super) const OBJECT_COUNTS: Table<Str, u64> = Table::new(3, "object_counts");
pub(super) const OBJECTS: Table<(Str, Str), Bytes> = Table::new(4, "objects");
pub(super) const MANIFESTS: Table<(Str, Str), Bytes> = Table::new(5, "manifests");
pub(super) const UPLOADS: Table<Str, Bytes> = Table::new(6, "uploads");
pub(super) const UPLOAD_KEYS: Table<(Str, Str, Str), Unit> = Table::new(7, "upload_keys");
pub(super) const UPLOAD_TIMES: Table<(i64, Str), Unit> = Table::new(8, "upload_times");
pub(super) const PARTS: Table<(Str, u32), Bytes> = Table::new(9, "parts");
pub(super) const CHUNK_REFS: Table<Id32, u64> = Table::new(10, "chunk_refs");
pub(super) const CHUNKS: Table<Id32, Bytes> = Table::new(11, "chunks");
pub(super) const VERSIONS: Table<(u8, Str, Str), u64> = Table::new(12, "versions");
pub(super) const RECORD_OUTBOX: Table<(u8, Str, Str), u64> = Table::new(13, "record_outbox");
pub(super) const NODE_STATES: Table<Str, u8> = Table::new(14, "node_states");
pub(super) const GARBAGE: Table<Id32, i64> = Table::new(15, "garbage");
pub(super) const GARBAGE_QUEUE: Table<(i64, Id32), U16Pair> = Table::new(16, "garbage_queue");
pub(super) const LEASES: Table<Str, Bytes> = Table::new(17, "leases");
pub(super) const GATEWAYS: Table<Str, Bytes> = Table::new(18, "gateways");
pub(super) const DELETING: Table<Id32, i64> = Table::new(19, "deleting");
pub(super) const TOMBSTONES: Table<Id32, u64> = Table::new(20, "tombstones");
pub(super) const TOMBSTONE_TIMES: Table<(i64, Id32), Unit> = Table::new(21, "tombstone_times");
pub(super) const OBJECT_VERSIONS: Table<(Str, Str, u64), Bytes> = Table::new(22, "object_versions");
pub(super) const VERSION_MANIFESTS: Table<(Str, Str, u64), Bytes> =
    Table::new(23, "version_manifests");
pub(super) const NULL_VERSIONS: Table<(Str, Str), u64> = Table::new(24, "null_versions");
pub(super) const VERSION_OUTBOX: Table<(Str, Str, u64), u64> = Table::new(25, "version_outbox");
pub(super) const USERS: Table<Str, Bytes> = Table::new(26, "users");
pub(super) const ACCESS_KEYS: Table<Str, Bytes> = Table::new(27, "access_keys");
pub(super) const USER_KEYS: Table<(Str, Str), Unit> = Table::new(28, "user_keys");
pub(super) const POLICIES: Table<Str, Bytes> = Table::new(29, "policies");
pub(super) const BUCKET_ACCESS: Table<Str, Bytes> = Table::new(30, "bucket_access");
pub(super) const BUCKET_CONFIG: Table<Str, Bytes> = Table::new(31, "bucket_config");
pub(super) const LIFECYCLE_DUE: Table<(i64, Str, Str), Unit> = Table::new(32, "lifecycle_due");
pub(super) const LIFECYCLE_BACKFILL: Table<Str, Bytes> = Table::new(33, "lifecycle_backfill");
pub(super) const LIFECYCLE_DUE_KEYS: Table<(Str, Str), i64> = Table::new(34, "lifecycle_due_keys");

/// The metadata index. Cheap to share in an `Arc`. All methods block; async callers use
/// [`Index::call`], except for the `_async` object writes, which only wait for the writer
/// thread (see `batch`).
pub struct Index {
    pub(super) kv: Arc<dyn KvStore>,
    pub(super) batch: WriteBatcher,
    /// The file behind `kv` when it is one, for tests that hold its write lock.
    #[cfg(test)]
    pub(super) file: Option<Arc<RedbKv>>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").finish_non_exhaustive()
    }
}

/// A table bound to the open write transaction.
pub(super) type WriteTable<'c, K, V> = BoundTable<'c, K, V, WriteCell<'c>>;

/// Every table, bound to one write transaction, as operations that touch several concepts
/// share it.
pub(super) struct Tables<'c> {
    pub meta: WriteTable<'c, Str, u64>,
    pub buckets: WriteTable<'c, Str, Bytes>,
    pub object_counts: WriteTable<'c, Str, u64>,
    pub objects: WriteTable<'c, (Str, Str), Bytes>,
    pub manifests: WriteTable<'c, (Str, Str), Bytes>,
    pub uploads: WriteTable<'c, Str, Bytes>,
    pub upload_keys: WriteTable<'c, (Str, Str, Str), Unit>,
    pub upload_times: WriteTable<'c, (i64, Str), Unit>,
    pub parts: WriteTable<'c, (Str, u32), Bytes>,
    pub chunk_refs: WriteTable<'c, Id32, u64>,
    pub chunks: WriteTable<'c, Id32, Bytes>,
    pub versions: WriteTable<'c, (u8, Str, Str), u64>,
    pub record_outbox: WriteTable<'c, (u8, Str, Str), u64>,
    pub node_states: WriteTable<'c, Str, u8>,
    pub garbage: WriteTable<'c, Id32, i64>,
    pub garbage_queue: WriteTable<'c, (i64, Id32), U16Pair>,
    pub leases: WriteTable<'c, Str, Bytes>,
    pub gateways: WriteTable<'c, Str, Bytes>,
    pub deleting: WriteTable<'c, Id32, i64>,
    pub tombstones: WriteTable<'c, Id32, u64>,
    pub tombstone_times: WriteTable<'c, (i64, Id32), Unit>,
    pub object_versions: WriteTable<'c, (Str, Str, u64), Bytes>,
    pub version_manifests: WriteTable<'c, (Str, Str, u64), Bytes>,
    pub null_versions: WriteTable<'c, (Str, Str), u64>,
    pub version_outbox: WriteTable<'c, (Str, Str, u64), u64>,
    pub users: WriteTable<'c, Str, Bytes>,
    pub access_keys: WriteTable<'c, Str, Bytes>,
    pub user_keys: WriteTable<'c, (Str, Str), Unit>,
    pub policies: WriteTable<'c, Str, Bytes>,
    pub bucket_access: WriteTable<'c, Str, Bytes>,
    pub bucket_config: WriteTable<'c, Str, Bytes>,
    pub lifecycle_due: WriteTable<'c, (i64, Str, Str), Unit>,
    pub lifecycle_backfill: WriteTable<'c, Str, Bytes>,
    pub lifecycle_due_keys: WriteTable<'c, (Str, Str), i64>,
}

impl<'c> Tables<'c> {
    /// Every table, bound to `cell`'s transaction.
    pub(super) fn bind(cell: &'c WriteCell<'c>) -> Self {
        Self {
            meta: BoundTable::new(META, cell),
            buckets: BoundTable::new(BUCKETS, cell),
            object_counts: BoundTable::new(OBJECT_COUNTS, cell),
            objects: BoundTable::new(OBJECTS, cell),
            manifests: BoundTable::new(MANIFESTS, cell),
            uploads: BoundTable::new(UPLOADS, cell),
            upload_keys: BoundTable::new(UPLOAD_KEYS, cell),
            upload_times: BoundTable::new(UPLOAD_TIMES, cell),
            parts: BoundTable::new(PARTS, cell),
            chunk_refs: BoundTable::new(CHUNK_REFS, cell),
            chunks: BoundTable::new(CHUNKS, cell),
            versions: BoundTable::new(VERSIONS, cell),
            record_outbox: BoundTable::new(RECORD_OUTBOX, cell),
            node_states: BoundTable::new(NODE_STATES, cell),
            garbage: BoundTable::new(GARBAGE, cell),
            garbage_queue: BoundTable::new(GARBAGE_QUEUE, cell),
            leases: BoundTable::new(LEASES, cell),
            gateways: BoundTable::new(GATEWAYS, cell),
            deleting: BoundTable::new(DELETING, cell),
            tombstones: BoundTable::new(TOMBSTONES, cell),
            tombstone_times: BoundTable::new(TOMBSTONE_TIMES, cell),
            object_versions: BoundTable::new(OBJECT_VERSIONS, cell),
            version_manifests: BoundTable::new(VERSION_MANIFESTS, cell),
            null_versions: BoundTable::new(NULL_VERSIONS, cell),
            version_outbox: BoundTable::new(VERSION_OUTBOX, cell),
            users: BoundTable::new(USERS, cell),
            access_keys: BoundTable::new(ACCESS_KEYS, cell),
            user_keys: BoundTable::new(USER_KEYS, cell),
            policies: BoundTable::new(POLICIES, cell),
            bucket_access: BoundTable::new(BUCKET_ACCESS, cell),
            bucket_config: BoundTable::new(BUCKET_CONFIG, cell),
            lifecycle_due: BoundTable::new(LIFECYCLE_DUE, cell),
            lifecycle_backfill: BoundTable::new(LIFECYCLE_BACKFILL, cell),
            lifecycle_due_keys: BoundTable::new(LIFECYCLE_DUE_KEYS, cell),
        }
    }
}

/// Runs `body` with every table bound to `txn`.
pub(super) fn with_tables<T>(
    txn: &mut dyn super::kv::KvTxn,
    body: impl FnOnce(&mut Tables<'_>) -> Result<T, IndexError>,
) -> Result<T, IndexError> {
    let cell = WriteCell::new(txn);
    let mut tables = Tables::bind(&cell);
    body(&mut tables)
}

impl Index {
    /// Opens the embedded index file at `path`, creating it if needed and upgrading a file of
    /// an older format. Refuses a file written in a newer format, or a redb file that is not a
    /// Floe index at all.
    pub fn open(path: &Path) -> Result<Index, IndexError> {
        let kv = Arc::new(RedbKv::open(path)?);
        super::legacy::upgrade(&kv)?;
        #[cfg(test)]
        {
            let mut index = Self::on(kv.clone())?;
            index.file = Some(kv);
            Ok(index)
        }
        #[cfg(not(test))]
        Self::on(kv)
    }

    /// The index in `kv` (a shared database, or a store for tests), set up if empty.
    pub fn on(kv: Arc<dyn KvStore>) -> Result<Index, IndexError> {
        check_format(kv.as_ref())?;
        Ok(Index {
            batch: WriteBatcher::start(kv.clone())?,
            kv,
            #[cfg(test)]
            file: None,
        })
    }

    /// A snapshot for reading: consistent across every table it opens.
    pub(super) fn read(&self) -> Result<ReadCell, IndexError> {
        Ok(ReadCell::new(self.kv.begin_read()?))
    }

    /// Runs `body` in one write transaction: committed if it returns `Ok`, rolled back entirely
    /// (nothing written) if it returns `Err`. Returns once the commit is durable (an acknowledged
    /// PUT must survive kill -9). A conflict with another gateway runs `body` again.
    pub(super) fn write<T>(
        &self,
        mut body: impl FnMut(&mut Tables<'_>) -> Result<T, IndexError>,
    ) -> Result<T, IndexError> {
        match self.kv.transact(|txn| with_tables(txn, &mut body)) {
            Err(IndexError::PreconditionFailed) => {
                // The record that failed the check may be a commit not yet durable; a 412 must
                // not be answered on the strength of something a crash could still undo.
                self.sync()?;
                Err(IndexError::PreconditionFailed)
            }
            other => other,
        }
    }
}

impl Index {
    /// Runs `f` on a blocking thread, for async callers: every store's calls block (redb waits
    /// for its fsync, PostgreSQL for the network), which must not stall a runtime worker.
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
        self.kv.sync()
    }
}

/// Verifies the format marker, or writes it into a new, empty store.
fn check_format(kv: &dyn KvStore) -> Result<(), IndexError> {
    kv.transact(|txn| {
        with_tables(txn, |t| match t.meta.get(FORMAT_KEY)?.map(|v| v.value()) {
            Some(INDEX_FORMAT) => Ok(()),
            Some(other) => Err(IndexError::Corrupt(format!(
                "index format {other}, this build reads format {INDEX_FORMAT}"
            ))),
            None => {
                // A new store is empty; anything else was written by someone else.
                let cell_empty =
                    t.buckets.is_empty()? && t.objects.is_empty()? && t.chunks.is_empty()?;
                if !cell_empty {
                    return Err(IndexError::Corrupt(
                        "not a Floe index (data without a format marker)".into(),
                    ));
                }
                t.meta.insert(FORMAT_KEY, INDEX_FORMAT)
            }
        })
    })
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
        let index = Index::open(&path).unwrap();
        index.write(|t| t.meta.insert(FORMAT_KEY, 99)).unwrap();
        drop(index);
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
        }
        // What format 1 wrote: every manifest apart, no catalog table.
        super::super::legacy::downgrade_for_tests(&path, 1);
        let index = Index::open(&path).unwrap();
        assert_eq!(index.chunk_count().unwrap(), 3);
        assert_eq!(index.chunk(&chunk(3, 32).id).unwrap(), Some(chunk(3, 32)));
        assert_eq!(
            index.object_with_manifest("b", "k").unwrap().unwrap().1,
            manifest(&[1, 2])
        );
    }

    #[test]
    fn refuses_foreign_redb_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.redb");
        {
            let db = redb::Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            let other: redb::TableDefinition<&str, &str> = redb::TableDefinition::new("something");
            txn.open_table(other).unwrap().insert("a", "b").unwrap();
            txn.commit().unwrap();
        }
        assert!(matches!(Index::open(&path), Err(IndexError::Corrupt(_))));
    }

    #[test]
    fn the_same_index_logic_runs_on_postgres() {
        let table = floe_testkit::postgres::fresh_table("index_store");
        let kv =
            super::super::kv::PostgresKv::connect_table(&floe_testkit::postgres::url(), &table)
                .unwrap();
        let index = Index::on(Arc::new(kv)).unwrap();
        index.create_bucket("b", &bucket_record()).unwrap();
        index
            .put_object("b", "k", &object_record("e"), &manifest(&[1, 2]), always)
            .unwrap();
        assert!(matches!(
            index.put_object("b", "k", &object_record("f"), &manifest(&[4]), |old| old
                .is_none()),
            Err(IndexError::PreconditionFailed)
        ));
        assert_eq!(
            index.object_with_manifest("b", "k").unwrap().unwrap().1,
            manifest(&[1, 2])
        );
        assert_eq!(index.chunk_count().unwrap(), 2);
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
