//! The ordered, transactional key-value interface the index is written on, and its stores.
//!
//! The shape is the one JuiceFS uses over TiKV, FoundationDB and etcd: one ordered keyspace of
//! byte strings, [`KvStore::transact`] (serializable, retried on conflict) and
//! [`KvStore::snapshot`], and inside them `get`, `range` (forward or reverse, with a limit),
//! `put` and `delete`. Anything a SQL database, an embedded B-tree or a map can do well; nothing
//! that needs SQL of the index logic.
//!
//! - [`key`]: the order-preserving encoding of tuple keys;
//! - [`table`]: typed tables (a one-byte prefix each) over the keyspace;
//! - [`bound`]: tables bound to an open transaction or snapshot, as the index logic uses them;
//! - [`memory`]: a `BTreeMap` store for unit tests;
//! - `redb_kv`: the embedded default, one redb table, commits shared by concurrent writers;
//! - `postgres`: PostgreSQL, SERIALIZABLE transactions retried on serialization failures.

pub mod bound;
pub mod key;
pub mod memory;
mod postgres;
pub(crate) mod redb_kv;
pub mod table;
#[cfg(test)]
mod tests;

pub use memory::MemoryKv;
pub use postgres::PostgresKv;
pub(crate) use postgres::is_conflict as postgres_conflict;
pub use redb_kv::RedbKv;

use super::IndexError;

/// One key-value pair of a scan.
pub type Pair = (Vec<u8>, Vec<u8>);

/// Reads, inside a transaction or a snapshot.
pub trait KvRead {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, IndexError>;

    /// Up to `limit` pairs with `lo <= key < hi` (`hi` = `None`: to the end), in key order, or
    /// in reverse order when `reverse` (then the largest keys below `hi` come first).
    fn range(
        &mut self,
        lo: &[u8],
        hi: Option<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<Pair>, IndexError>;
}

/// Reads and writes inside a transaction.
pub trait KvTxn: KvRead {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), IndexError>;

    /// Removes `key`; whether it was there.
    fn delete(&mut self, key: &[u8]) -> Result<bool, IndexError>;
}

/// A store. Its methods block; async callers use `Index::call`.
pub trait KvStore: Send + Sync + 'static {
    /// Runs `body` in one serializable transaction: committed durably if it returns `Ok`,
    /// rolled back if it returns `Err`. A conflict with a concurrent transaction runs `body`
    /// again from the start, so it must not have effects outside the transaction.
    fn transact_dyn(
        &self,
        body: &mut dyn FnMut(&mut dyn KvTxn) -> Result<(), IndexError>,
    ) -> Result<(), IndexError>;

    /// [`transact_dyn`](Self::transact_dyn) for a transaction that carries many callers' writes
    /// (the index's writer thread): a store that has a cheaper way to commit one transaction
    /// durably on its own, rather than through its group commit, uses it here.
    fn transact_batch_dyn(
        &self,
        body: &mut dyn FnMut(&mut dyn KvTxn) -> Result<(), IndexError>,
    ) -> Result<(), IndexError> {
        self.transact_dyn(body)
    }

    /// Runs `body` on a consistent snapshot.
    fn snapshot_dyn(
        &self,
        body: &mut dyn FnMut(&mut dyn KvRead) -> Result<(), IndexError>,
    ) -> Result<(), IndexError>;

    /// Opens a snapshot that stays consistent until dropped.
    fn begin_read(&self) -> Result<Box<dyn KvRead + Send>, IndexError>;

    /// Whether other gateways may share this store (their pins are not visible here).
    fn is_shared(&self) -> bool {
        false
    }

    /// Makes every commit visible so far durable (stores that commit durably do nothing).
    fn sync(&self) -> Result<(), IndexError> {
        Ok(())
    }
}

impl dyn KvStore {
    /// [`KvStore::transact_dyn`] with a result.
    pub fn transact<T>(
        &self,
        mut body: impl FnMut(&mut dyn KvTxn) -> Result<T, IndexError>,
    ) -> Result<T, IndexError> {
        let mut out = None;
        self.transact_dyn(&mut |txn| {
            out = Some(body(txn)?);
            Ok(())
        })?;
        out.ok_or(IndexError::Writer(
            "a transaction committed without running".into(),
        ))
    }

    /// [`KvStore::snapshot_dyn`] with a result.
    pub fn snapshot<T>(
        &self,
        mut body: impl FnMut(&mut dyn KvRead) -> Result<T, IndexError>,
    ) -> Result<T, IndexError> {
        let mut out = None;
        self.snapshot_dyn(&mut |txn| {
            out = Some(body(txn)?);
            Ok(())
        })?;
        out.ok_or(IndexError::Writer(
            "a snapshot ended without running".into(),
        ))
    }
}
