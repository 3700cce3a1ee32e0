//! A `BTreeMap` store for unit tests: transactions run one at a time under a lock, on a copy
//! of the map that replaces it on commit, so a failed transaction leaves nothing behind.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{KvRead, KvStore, KvTxn, Pair};
use crate::index::IndexError;

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// An in-memory ordered map. Clones share the same map.
#[derive(Clone, Debug, Default)]
pub struct MemoryKv {
    map: Arc<Mutex<Arc<Map>>>,
}

impl MemoryKv {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Arc<Map>> {
        // A panic in a transaction left the committed map untouched (it worked on a copy).
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A transaction's working copy.
struct Working<'a> {
    map: &'a mut Map,
}

/// A snapshot: the map as of the start.
struct Snapshot {
    map: Arc<Map>,
}

fn get(map: &Map, key: &[u8]) -> Option<Vec<u8>> {
    map.get(key).cloned()
}

fn range(map: &Map, lo: &[u8], hi: Option<&[u8]>, limit: usize, reverse: bool) -> Vec<Pair> {
    let upper = hi.map_or(Bound::Unbounded, Bound::Excluded);
    if hi.is_some_and(|hi| hi <= lo) {
        return Vec::new();
    }
    let iter = map.range::<[u8], _>((Bound::Included(lo), upper));
    let pairs = |(k, v): (&Vec<u8>, &Vec<u8>)| (k.clone(), v.clone());
    if reverse {
        iter.rev().take(limit).map(pairs).collect()
    } else {
        iter.take(limit).map(pairs).collect()
    }
}

impl KvRead for Working<'_> {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, IndexError> {
        Ok(get(self.map, key))
    }

    fn range(
        &mut self,
        lo: &[u8],
        hi: Option<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<Pair>, IndexError> {
        Ok(range(self.map, lo, hi, limit, reverse))
    }
}

impl KvTxn for Working<'_> {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), IndexError> {
        self.map.insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<bool, IndexError> {
        Ok(self.map.remove(key).is_some())
    }
}

impl KvRead for Snapshot {
    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, IndexError> {
        Ok(get(&self.map, key))
    }

    fn range(
        &mut self,
        lo: &[u8],
        hi: Option<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<Pair>, IndexError> {
        Ok(range(&self.map, lo, hi, limit, reverse))
    }
}

impl KvStore for MemoryKv {
    fn transact_dyn(
        &self,
        body: &mut dyn FnMut(&mut dyn KvTxn) -> Result<(), IndexError>,
    ) -> Result<(), IndexError> {
        let mut committed = self.lock();
        let mut copy = Map::clone(&committed);
        body(&mut Working { map: &mut copy })?;
        *committed = Arc::new(copy);
        Ok(())
    }

    fn begin_read(&self) -> Result<Box<dyn KvRead + Send>, IndexError> {
        Ok(Box::new(Snapshot {
            map: self.lock().clone(),
        }))
    }

    fn snapshot_dyn(
        &self,
        body: &mut dyn FnMut(&mut dyn KvRead) -> Result<(), IndexError>,
    ) -> Result<(), IndexError> {
        let map = self.lock().clone();
        body(&mut Snapshot { map })
    }
}
