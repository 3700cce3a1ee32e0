//! The embedded store: the whole keyspace in one redb table (`kv`, bytes to bytes) of the
//! index file, which keeps redb's order (bytewise, as the key encoding needs).
//!
//! A transaction commits without an fsync and then waits in the group commit for a durable one
//! made after it (`index/group_commit.rs`), so concurrent writers share the fsync. A conflict
//! cannot happen: redb runs one write transaction at a time.

use std::path::Path;
use std::sync::Arc;

use redb::{
    ConcurrencyMode, Database, Durability, ReadableDatabase, ReadableTable, Table, TableDefinition,
    WriteTransaction,
};

use super::{KvRead, KvStore, KvTxn, Pair};
use crate::index::IndexError;
use crate::index::filled_file::FilledFile;
use crate::index::group_commit::GroupCommit;

/// The one table.
pub(crate) const KV: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kv");

/// An index file.
pub struct RedbKv {
    db: Arc<Database>,
    group: GroupCommit,
}

impl std::fmt::Debug for RedbKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbKv").finish_non_exhaustive()
    }
}

impl RedbKv {
    /// Opens (or creates) the file at `path`. One writing process at a time: the file's
    /// watermark (`filled_file`) is this process's alone.
    pub fn open(path: &Path) -> Result<Self, IndexError> {
        let db = Database::builder()
            .set_concurrency_mode(ConcurrencyMode::ExclusiveWriter)
            .create_with_backend(FilledFile::open(path)?)?;
        Ok(Self {
            db: Arc::new(db),
            group: GroupCommit::default(),
        })
    }

    /// The database, for the upgrade of older files (`index/legacy.rs`).
    pub(crate) fn database(&self) -> &Arc<Database> {
        &self.db
    }

    /// An empty durable commit: redb then persists every non-durable commit before it.
    fn flush(&self) -> Result<(), IndexError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        txn.commit()?;
        Ok(())
    }
}

/// Runs `body` against the `kv` table of `txn` (the table closes before the caller commits).
fn run_in(
    txn: &WriteTransaction,
    body: &mut dyn FnMut(&mut dyn KvTxn) -> Result<(), IndexError>,
) -> Result<(), IndexError> {
    let mut table = Writable {
        table: txn.open_table(KV)?,
    };
    body(&mut table)
}

/// The `kv` table of `txn`, as a transaction of the keyspace (for the upgrade, which writes
/// it in the same redb transaction as it reads the old tables).
pub(crate) fn writable(txn: &WriteTransaction) -> Result<Writable<'_>, IndexError> {
    Ok(Writable {
        table: txn.open_table(KV)?,
    })
}

pub(crate) struct Writable<'txn> {
    table: Table<'txn, &'static [u8], &'static [u8]>,
}

struct Readable {
    table: Option<redb::ReadOnlyTable<&'static [u8], &'static [u8]>>,
}

/// One entry of a redb range scan.
type Entry<'a> = Result<
    (
        redb::AccessGuard<'a, &'static [u8]>,
        redb::AccessGuard<'a, &'static [u8]>,
    ),
    redb::StorageError,
>;

fn collect<'a>(
    iter: impl DoubleEndedIterator<Item = Entry<'a>>,
    limit: usize,
    reverse: bool,
) -> Result<Vec<Pair>, IndexError> {
    let pair = |r: Entry<'a>| {
        r.map(|(k, v)| (k.value().to_vec(), v.value().to_vec()))
            .map_err(IndexError::from)
    };
    if reverse {
        iter.rev().take(limit).map(pair).collect()
    } else {
        iter.take(limit).map(pair).collect()
    }
}

fn range_of<T: ReadableTable<&'static [u8], &'static [u8]>>(
    table: &T,
    lo: &[u8],
    hi: Option<&[u8]>,
    limit: usize,
    reverse: bool,
) -> Result<Vec<Pair>, IndexError> {
    if hi.is_some_and(|hi| hi <= lo) || limit == 0 {
        return Ok(Vec::new());
    }
    match hi {
        Some(hi) => collect(table.range::<&[u8]>(lo..hi)?, limit, reverse),
        None => collect(table.range::<&[u8]>(lo..)?, limit, reverse),
    }
}

impl KvRead for Writable<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, IndexError> {
        Ok(self.table.get(key)?.map(|v| v.value().to_vec()))
    }

    fn range(
        &mut self,
        lo: &[u8],
        hi: Option<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<Pair>, IndexError> {
        range_of(&self.table, lo, hi, limit, reverse)
    }
}

impl KvTxn for Writable<'_> {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), IndexError> {
        self.table.insert(key, value)?;
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<bool, IndexError> {
        Ok(self.table.remove(key)?.is_some())
    }
}

impl KvRead for Readable {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, IndexError> {
        match &self.table {
            Some(table) => Ok(table.get(key)?.map(|v| v.value().to_vec())),
            None => Ok(None),
        }
    }

    fn range(
        &mut self,
        lo: &[u8],
        hi: Option<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<Pair>, IndexError> {
        match &self.table {
            Some(table) => range_of(table, lo, hi, limit, reverse),
            None => Ok(Vec::new()),
        }
    }
}

impl KvStore for RedbKv {
    fn transact_dyn(
        &self,
        body: &mut dyn FnMut(&mut dyn KvTxn) -> Result<(), IndexError>,
    ) -> Result<(), IndexError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::None)?;
        match run_in(&txn, body) {
            Ok(()) => {
                // Numbered before the commit, while this transaction still holds redb's write
                // lock: a reader can only see this commit after the number exists, so a `sync`
                // after that read covers it.
                let seq = self.group.committed();
                txn.commit()?;
                self.group.wait_durable(seq, || self.flush())
            }
            Err(e) => {
                // The operation's own error is the one worth reporting.
                let _ = txn.abort();
                Err(e)
            }
        }
    }

    /// One durable commit of its own: the batch is already many writers sharing one commit, so
    /// the group commit's second (flushing) commit would only add to it.
    fn transact_batch_dyn(
        &self,
        body: &mut dyn FnMut(&mut dyn KvTxn) -> Result<(), IndexError>,
    ) -> Result<(), IndexError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        match run_in(&txn, body) {
            Ok(()) => {
                txn.commit()?;
                Ok(())
            }
            Err(e) => {
                let _ = txn.abort();
                Err(e)
            }
        }
    }

    fn snapshot_dyn(
        &self,
        body: &mut dyn FnMut(&mut dyn KvRead) -> Result<(), IndexError>,
    ) -> Result<(), IndexError> {
        body(&mut *self.begin_read()?)
    }

    fn begin_read(&self) -> Result<Box<dyn KvRead + Send>, IndexError> {
        let txn = self.db.begin_read()?;
        let table = match txn.open_table(KV) {
            Ok(table) => Some(table),
            // Nothing was ever written.
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(e.into()),
        };
        Ok(Box::new(Readable { table }))
    }

    fn sync(&self) -> Result<(), IndexError> {
        let seq = self.group.latest();
        self.group.wait_durable(seq, || self.flush())
    }
}
