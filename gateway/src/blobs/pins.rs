//! Pins keep the garbage collector away from chunks that are in use but not (yet) referenced by
//! the index: chunks a write has sent but not committed, and chunks a read is streaming.
//!
//! The collector deletes a chunk only after `try_begin_delete` succeeds (nobody holds a pin); a
//! writer that pins a chunk under deletion waits until the deletion is over and then writes the
//! shards again. With the index's reference count checked inside that window, a chunk is never
//! deleted while an acknowledged object points at it.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex};

use floe_codec::ChunkId;
use tokio::sync::Notify;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PinState {
    Pinned(usize),
    Deleting,
}

/// The registry of pinned chunks.
#[derive(Debug, Default)]
pub struct ChunkPins {
    state: Mutex<HashMap<ChunkId, PinState>>,
    deleted: Notify,
}

impl ChunkPins {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ChunkId, PinState>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pins every chunk in `ids`, waiting for any deletion in progress to end first.
    pub async fn pin(self: &Arc<Self>, ids: impl IntoIterator<Item = ChunkId>) -> PinGuard {
        let mut guard = PinGuard {
            pins: self.clone(),
            ids: Vec::new(),
        };
        for id in ids {
            loop {
                let notified = self.deleted.notified();
                {
                    let mut state = self.lock();
                    match state.entry(id) {
                        Entry::Vacant(e) => {
                            e.insert(PinState::Pinned(1));
                            break;
                        }
                        Entry::Occupied(mut e) => match *e.get() {
                            PinState::Pinned(n) => {
                                e.insert(PinState::Pinned(n + 1));
                                break;
                            }
                            PinState::Deleting => {}
                        },
                    }
                }
                notified.await;
            }
            guard.ids.push(id);
        }
        guard
    }

    /// Marks `id` as being deleted, unless it is pinned.
    pub fn try_begin_delete(&self, id: ChunkId) -> bool {
        match self.lock().entry(id) {
            Entry::Vacant(e) => {
                e.insert(PinState::Deleting);
                true
            }
            Entry::Occupied(_) => false,
        }
    }

    /// Ends a deletion and wakes writers waiting to pin the chunk.
    pub fn end_delete(&self, id: ChunkId) {
        {
            let mut state = self.lock();
            if state.get(&id) == Some(&PinState::Deleting) {
                state.remove(&id);
            }
        }
        self.deleted.notify_waiters();
    }

    pub fn is_pinned(&self, id: &ChunkId) -> bool {
        matches!(self.lock().get(id), Some(PinState::Pinned(_)))
    }

    fn unpin(&self, id: &ChunkId) {
        let mut state = self.lock();
        if let Some(PinState::Pinned(n)) = state.get(id).copied() {
            if n <= 1 {
                state.remove(id);
            } else {
                state.insert(*id, PinState::Pinned(n - 1));
            }
        }
    }
}

/// Holds pins until dropped.
#[derive(Debug)]
pub struct PinGuard {
    pins: Arc<ChunkPins>,
    ids: Vec<ChunkId>,
}

impl PinGuard {
    /// Moves another guard's pins into this one.
    pub fn absorb(&mut self, mut other: PinGuard) {
        self.ids.append(&mut other.ids);
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

impl Drop for PinGuard {
    fn drop(&mut self) {
        for id in &self.ids {
            self.pins.unpin(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pins_block_deletion_and_deletion_blocks_pins() {
        let pins = Arc::new(ChunkPins::default());
        let id = ChunkId::from_bytes([7; 32]);
        let guard = pins.pin([id, id]).await;
        assert!(!pins.try_begin_delete(id));
        drop(guard);
        assert!(!pins.is_pinned(&id));
        assert!(pins.try_begin_delete(id));
        let waiter = {
            let pins = pins.clone();
            tokio::spawn(async move { pins.pin([id]).await.len() })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        pins.end_delete(id);
        assert_eq!(waiter.await.unwrap(), 1);
    }
}
