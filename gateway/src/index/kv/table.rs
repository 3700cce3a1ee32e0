//! Typed tables over the one keyspace: a table is a one-byte prefix, a key type (encoded by
//! [`key`](super::key)) and a value type. What a redb `TableDefinition` gave the index, any
//! [`KvStore`](super::KvStore) now gives it.

use std::marker::PhantomData;

use super::key::{KeyType, successor};
use super::{KvRead, KvTxn};
use crate::index::IndexError;

/// How a value is stored.
pub trait ValueType {
    type Ref<'a>: Copy;
    type Owned;

    fn encode(value: Self::Ref<'_>, out: &mut Vec<u8>);
    fn decode(bytes: &[u8]) -> Option<Self::Owned>;
    /// A decoded value, borrowed as callers pass it.
    fn view(owned: &Self::Owned) -> Self::Ref<'_>;
}

/// Opaque bytes (records, manifests).
pub struct Bytes;

impl ValueType for Bytes {
    type Ref<'a> = &'a [u8];
    type Owned = Vec<u8>;

    fn encode(value: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(value);
    }

    fn decode(bytes: &[u8]) -> Option<Vec<u8>> {
        Some(bytes.to_vec())
    }

    fn view(owned: &Vec<u8>) -> &[u8] {
        owned
    }
}

/// Nothing: the key is the whole fact (index entries).
pub struct Unit;

impl ValueType for Unit {
    type Ref<'a> = ();
    type Owned = ();

    fn encode((): (), _out: &mut Vec<u8>) {}

    fn decode(bytes: &[u8]) -> Option<()> {
        bytes.is_empty().then_some(())
    }

    fn view((): &()) {}
}

macro_rules! int_value {
    ($($t:ty),+) => {
        $(
            impl ValueType for $t {
                type Ref<'a> = $t;
                type Owned = $t;

                fn encode(value: $t, out: &mut Vec<u8>) {
                    out.extend_from_slice(&value.to_be_bytes());
                }

                fn decode(bytes: &[u8]) -> Option<$t> {
                    Some(<$t>::from_be_bytes(bytes.try_into().ok()?))
                }

                fn view(owned: &$t) -> $t {
                    *owned
                }
            }
        )+
    };
}

int_value!(u8, u64, i64);

/// Two `u16`s (a chunk's k and m).
pub struct U16Pair;

impl ValueType for U16Pair {
    type Ref<'a> = (u16, u16);
    type Owned = (u16, u16);

    fn encode((a, b): (u16, u16), out: &mut Vec<u8>) {
        out.extend_from_slice(&a.to_be_bytes());
        out.extend_from_slice(&b.to_be_bytes());
    }

    fn view(owned: &(u16, u16)) -> (u16, u16) {
        *owned
    }

    fn decode(bytes: &[u8]) -> Option<(u16, u16)> {
        let [a0, a1, b0, b1] = <[u8; 4]>::try_from(bytes).ok()?;
        Some((u16::from_be_bytes([a0, a1]), u16::from_be_bytes([b0, b1])))
    }
}

/// A table: keys of type `K` holding values of type `V`, all under the prefix byte `id`.
pub struct Table<K, V> {
    id: u8,
    name: &'static str,
    types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> Clone for Table<K, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, V> Copy for Table<K, V> {}

/// One row of a scan.
pub type Row<K, V> = (<K as KeyType>::Owned, <V as ValueType>::Owned);

impl<K: KeyType, V: ValueType> Table<K, V> {
    pub const fn new(id: u8, name: &'static str) -> Self {
        Self {
            id,
            name,
            types: PhantomData,
        }
    }

    pub fn id(&self) -> u8 {
        self.id
    }

    /// The stored key of `key`.
    pub fn key(&self, key: K::Ref<'_>) -> Vec<u8> {
        let mut out = vec![self.id];
        K::encode(key, &mut out);
        out
    }

    pub fn get(
        &self,
        txn: &mut dyn KvRead,
        key: K::Ref<'_>,
    ) -> Result<Option<V::Owned>, IndexError> {
        match txn.get(&self.key(key))? {
            None => Ok(None),
            Some(bytes) => self.value(&bytes).map(Some),
        }
    }

    pub fn insert(
        &self,
        txn: &mut dyn KvTxn,
        key: K::Ref<'_>,
        value: V::Ref<'_>,
    ) -> Result<(), IndexError> {
        let mut bytes = Vec::new();
        V::encode(value, &mut bytes);
        txn.put(&self.key(key), &bytes)
    }

    /// Removes `key` and returns its value.
    pub fn take(
        &self,
        txn: &mut dyn KvTxn,
        key: K::Ref<'_>,
    ) -> Result<Option<V::Owned>, IndexError> {
        let stored = self.key(key);
        let Some(bytes) = txn.get(&stored)? else {
            return Ok(None);
        };
        txn.delete(&stored)?;
        self.value(&bytes).map(Some)
    }

    /// Up to `limit` rows with stored keys in `[lo, hi)` (whole stored keys, as from
    /// [`key`](Self::key); `None`: the table's own bounds), in key order or reversed.
    pub fn range(
        &self,
        txn: &mut dyn KvRead,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<Row<K, V>>, IndexError> {
        let start = [self.id];
        let end = successor(&start);
        let lo = lo.unwrap_or(&start);
        let hi = hi.or(end.as_deref());
        txn.range(lo, hi, limit, reverse)?
            .into_iter()
            .map(|(k, v)| Ok((self.decode_key(&k)?, self.value(&v)?)))
            .collect()
    }

    pub(crate) fn just_after(stored: &[u8]) -> Vec<u8> {
        let mut out = stored.to_vec();
        out.push(0);
        out
    }

    /// The first row, if any.
    pub fn first(&self, txn: &mut dyn KvRead) -> Result<Option<Row<K, V>>, IndexError> {
        Ok(self.range(txn, None, None, 1, false)?.pop())
    }

    /// The last row, if any.
    pub fn last(&self, txn: &mut dyn KvRead) -> Result<Option<Row<K, V>>, IndexError> {
        Ok(self.range(txn, None, None, 1, true)?.pop())
    }

    pub fn is_empty(&self, txn: &mut dyn KvRead) -> Result<bool, IndexError> {
        Ok(self.first(txn)?.is_none())
    }

    /// Rows in the table, counted page by page (for status and tests, not for the request path).
    pub fn count(&self, txn: &mut dyn KvRead) -> Result<u64, IndexError> {
        const PAGE: usize = 10_000;
        let mut total = 0;
        let mut from: Option<Vec<u8>> = None;
        loop {
            let start = [self.id];
            let lo = from.as_deref().unwrap_or(&start);
            let end = successor(&start);
            let page = txn.range(lo, end.as_deref(), PAGE, false)?;
            total += page.len() as u64;
            match page.last() {
                Some((k, _)) if page.len() == PAGE => from = Some(Self::just_after(k)),
                _ => return Ok(total),
            }
        }
    }

    pub(crate) fn decode_key(&self, stored: &[u8]) -> Result<K::Owned, IndexError> {
        let mut rest = stored.get(1..).unwrap_or_default();
        let key = K::decode(&mut rest).map_err(|e| IndexError::corrupt(self.name, e))?;
        if !rest.is_empty() {
            return Err(IndexError::corrupt(self.name, "trailing bytes in a key"));
        }
        Ok(key)
    }

    pub(crate) fn value(&self, bytes: &[u8]) -> Result<V::Owned, IndexError> {
        V::decode(bytes).ok_or_else(|| IndexError::corrupt(self.name, "a value of the wrong size"))
    }
}
