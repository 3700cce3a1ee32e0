//! Tables bound to an open transaction or snapshot, with the calls the index logic makes:
//! `get`, `insert`, `remove`, `range`, `iter`, `len`. They have the shape of redb's typed
//! tables, in which the index was first written, so its logic reads the same over every store.
//!
//! A transaction is shared by all of its tables through a `RefCell` (each call borrows it for
//! that call only), the way one redb transaction opened many tables. Scans are lazy: a
//! [`RangeIter`] fetches a page of rows at a time, so `take(n)` costs about n rows.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::ops::{Bound as Edge, RangeBounds};

use super::key::{KeyType, successor};
use super::table::{Table, ValueType};
use super::{KvRead, KvTxn, Pair};
use crate::index::IndexError;

/// Rows fetched per round trip by a scan.
const PAGE: usize = 128;

/// Read access to whatever the tables are bound to.
pub trait Source {
    fn read<R>(&self, f: impl FnOnce(&mut dyn KvRead) -> R) -> R;
}

/// Write access too.
pub trait Sink: Source {
    fn write<R>(&self, f: impl FnOnce(&mut dyn KvTxn) -> R) -> R;
}

/// An open transaction, shared by its tables.
pub struct WriteCell<'a>(RefCell<&'a mut dyn KvTxn>);

impl<'a> WriteCell<'a> {
    pub fn new(txn: &'a mut dyn KvTxn) -> Self {
        Self(RefCell::new(txn))
    }
}

impl Source for WriteCell<'_> {
    fn read<R>(&self, f: impl FnOnce(&mut dyn KvRead) -> R) -> R {
        let mut txn = self.0.borrow_mut();
        f(&mut **txn)
    }
}

impl Sink for WriteCell<'_> {
    fn write<R>(&self, f: impl FnOnce(&mut dyn KvTxn) -> R) -> R {
        let mut txn = self.0.borrow_mut();
        f(&mut **txn)
    }
}

/// An open snapshot, shared by its tables.
pub struct ReadCell(RefCell<Box<dyn KvRead + Send>>);

impl ReadCell {
    pub fn new(snapshot: Box<dyn KvRead + Send>) -> Self {
        Self(RefCell::new(snapshot))
    }

    /// Binds `table` to this snapshot (redb's `open_table`).
    pub fn open_table<K: KeyType, V: ValueType>(
        &self,
        table: Table<K, V>,
    ) -> Result<BoundTable<'_, K, V, Self>, IndexError> {
        Ok(BoundTable::new(table, self))
    }
}

impl Source for ReadCell {
    fn read<R>(&self, f: impl FnOnce(&mut dyn KvRead) -> R) -> R {
        let mut snapshot = self.0.borrow_mut();
        f(&mut **snapshot)
    }
}

/// A decoded key, read back with [`value`](Self::value).
pub struct KeyGuard<K: KeyType>(K::Owned);

impl<K: KeyType> KeyGuard<K> {
    pub fn value(&self) -> K::Ref<'_> {
        K::view(&self.0)
    }
}

/// A decoded value, read back with [`value`](Self::value).
pub struct ValueGuard<V: ValueType>(V::Owned);

impl<V: ValueType> ValueGuard<V> {
    pub fn value(&self) -> V::Ref<'_> {
        V::view(&self.0)
    }

    pub fn into_owned(self) -> V::Owned {
        self.0
    }
}

/// One decoded row.
pub type GuardedRow<K, V> = (KeyGuard<K>, ValueGuard<V>);

/// A table bound to a transaction or a snapshot `C`.
pub struct BoundTable<'c, K, V, C: ?Sized> {
    table: Table<K, V>,
    cell: &'c C,
}

impl<'c, K: KeyType, V: ValueType, C: Source + ?Sized> BoundTable<'c, K, V, C> {
    pub fn new(table: Table<K, V>, cell: &'c C) -> Self {
        Self { table, cell }
    }

    pub fn get(&self, key: K::Ref<'_>) -> Result<Option<ValueGuard<V>>, IndexError> {
        Ok(self.cell.read(|r| self.table.get(r, key))?.map(ValueGuard))
    }

    /// Rows with keys in `range`, in key order (or reversed with [`RangeIter::rev`]).
    pub fn range<'k>(
        &self,
        range: impl RangeBounds<K::Ref<'k>>,
    ) -> Result<RangeIter<'c, K, V, C>, IndexError> {
        let lo = match range.start_bound() {
            Edge::Included(k) => self.table.key(*k),
            Edge::Excluded(k) => Table::<K, V>::just_after(&self.table.key(*k)),
            Edge::Unbounded => vec![self.table.id()],
        };
        let hi = match range.end_bound() {
            Edge::Included(k) => Some(Table::<K, V>::just_after(&self.table.key(*k))),
            Edge::Excluded(k) => Some(self.table.key(*k)),
            Edge::Unbounded => successor(&[self.table.id()]),
        };
        Ok(RangeIter {
            table: self.table,
            cell: self.cell,
            lo,
            hi,
            reverse: false,
            buffer: VecDeque::new(),
            exhausted: false,
        })
    }

    /// Every row, in key order.
    pub fn iter(&self) -> Result<RangeIter<'c, K, V, C>, IndexError> {
        self.range(..)
    }

    /// Rows in the table (a scan: for status and tests, not for the request path).
    pub fn len(&self) -> Result<u64, IndexError> {
        self.cell.read(|r| self.table.count(r))
    }

    pub fn is_empty(&self) -> Result<bool, IndexError> {
        self.cell.read(|r| self.table.is_empty(r))
    }

    /// The last row, if any.
    pub fn last(&self) -> Result<Option<GuardedRow<K, V>>, IndexError> {
        Ok(self
            .cell
            .read(|r| self.table.last(r))?
            .map(|(k, v)| (KeyGuard(k), ValueGuard(v))))
    }

    /// The first row, if any.
    pub fn first(&self) -> Result<Option<GuardedRow<K, V>>, IndexError> {
        Ok(self
            .cell
            .read(|r| self.table.first(r))?
            .map(|(k, v)| (KeyGuard(k), ValueGuard(v))))
    }
}

impl<K: KeyType, V: ValueType, C: Sink + ?Sized> BoundTable<'_, K, V, C> {
    pub fn insert(&mut self, key: K::Ref<'_>, value: V::Ref<'_>) -> Result<(), IndexError> {
        self.cell.write(|w| self.table.insert(w, key, value))
    }

    /// Removes `key`; its value, if it was there.
    pub fn remove(&mut self, key: K::Ref<'_>) -> Result<Option<ValueGuard<V>>, IndexError> {
        Ok(self
            .cell
            .write(|w| self.table.take(w, key))?
            .map(ValueGuard))
    }
}

/// A lazy scan over a bound table, a page at a time.
pub struct RangeIter<'c, K, V, C: ?Sized> {
    table: Table<K, V>,
    cell: &'c C,
    lo: Vec<u8>,
    hi: Option<Vec<u8>>,
    reverse: bool,
    buffer: VecDeque<Pair>,
    exhausted: bool,
}

impl<K: KeyType, V: ValueType, C: Source + ?Sized> RangeIter<'_, K, V, C> {
    /// The same scan from the other end (call before taking any row).
    pub fn rev(mut self) -> Self {
        self.reverse = !self.reverse;
        self
    }

    fn refill(&mut self) -> Result<(), IndexError> {
        let page = self
            .cell
            .read(|r| r.range(&self.lo, self.hi.as_deref(), PAGE, self.reverse))?;
        if page.len() < PAGE {
            self.exhausted = true;
        }
        if let Some((last, _)) = page.last() {
            if self.reverse {
                self.hi = Some(last.clone());
            } else {
                self.lo = Table::<K, V>::just_after(last);
            }
        }
        self.buffer.extend(page);
        Ok(())
    }
}

impl<K: KeyType, V: ValueType, C: Source + ?Sized> Iterator for RangeIter<'_, K, V, C> {
    type Item = Result<GuardedRow<K, V>, IndexError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buffer.is_empty()
            && !self.exhausted
            && let Err(e) = self.refill()
        {
            self.exhausted = true;
            return Some(Err(e));
        }
        let (k, v) = self.buffer.pop_front()?;
        Some(
            self.table
                .decode_key(&k)
                .and_then(|key| Ok((KeyGuard(key), ValueGuard(self.table.value(&v)?)))),
        )
    }
}
